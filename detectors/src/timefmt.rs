//! Timestamps as Slips prints them: ISO 8601 (`2021-09-14T13:07:06.123456+00:00`,
//! Python's `isoformat()`, which leaves the fraction out when it is zero), in UTC.

use dissectors::time::civil_from_days;
use dissectors::Timestamp;

/// Appends the ISO 8601 form of `ts` to `out`.
pub fn write_iso(out: &mut String, ts: Timestamp) {
    let micros = ts.0.rem_euclid(1_000_000);
    let secs = ts.0.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // Digits by hand: every evidence writes two of these, and `write!` with widths took
    // a fifth of the instructions of an evidence's JSON.
    match u32::try_from(y) {
        Ok(y) if y <= 9999 => push_digits(out, y, 4),
        _ => {
            use std::fmt::Write;
            let _ = write!(out, "{y:04}");
        }
    }
    out.push('-');
    push_digits(out, m, 2);
    out.push('-');
    push_digits(out, d, 2);
    out.push('T');
    push_digits(out, (sod / 3600) as u32, 2);
    out.push(':');
    push_digits(out, (sod / 60 % 60) as u32, 2);
    out.push(':');
    push_digits(out, (sod % 60) as u32, 2);
    if micros != 0 {
        out.push('.');
        push_digits(out, micros as u32, 6);
    }
    out.push_str("+00:00");
}

/// The last `width` (at most 10) decimal digits of `v`, zero-padded.
fn push_digits(out: &mut String, mut v: u32, width: usize) {
    let mut text = [b'0'; 10];
    for digit in text[..width].iter_mut().rev() {
        *digit = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend(text[..width].iter().map(|&b| char::from(b)));
}

pub fn iso(ts: Timestamp) -> String {
    let mut s = String::with_capacity(32);
    write_iso(&mut s, ts);
    s
}

/// A calendar date `YYYY-MM-DD` (anything after the day, e.g. a time, is ignored) to
/// the timestamp of its midnight, UTC.
pub fn parse_date(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(Timestamp(days_from_civil(y, m, d) * 86_400 * 1_000_000))
}

/// (year, month, day) to days since 1970-01-01: the inverse of `civil_from_days`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_like_python() {
        assert_eq!(iso(Timestamp(0)), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            iso(Timestamp(1_631_624_826_123_456)),
            "2021-09-14T13:07:06.123456+00:00"
        );
        assert_eq!(
            iso(Timestamp(951_782_400_000_001)),
            "2000-02-29T00:00:00.000001+00:00"
        );
        assert_eq!(iso(Timestamp(-1_000_000)), "1969-12-31T23:59:59+00:00");
    }

    #[test]
    fn digits_by_hand_match_the_formatter() {
        let by_format = |ts: Timestamp| {
            let micros = ts.0.rem_euclid(1_000_000);
            let secs = ts.0.div_euclid(1_000_000);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            let mut s = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                sod / 3600,
                sod / 60 % 60,
                sod % 60
            );
            if micros != 0 {
                s += &format!(".{micros:06}");
            }
            s + "+00:00"
        };
        let mut ts: i64 = -80_000_000_000_000_000;
        while ts < 300_000_000_000_000_000 {
            for t in [ts, ts + 1, ts + 999_999, ts + 86_399_000_000] {
                assert_eq!(iso(Timestamp(t)), by_format(Timestamp(t)));
            }
            ts += 7_777_777_777_777;
        }
    }

    #[test]
    fn dates_parse_to_midnight() {
        assert_eq!(parse_date("1970-01-01"), Some(Timestamp(0)));
        assert_eq!(
            parse_date("2000-02-29T10:00:00Z").map(iso).as_deref(),
            Some("2000-02-29T00:00:00+00:00")
        );
        for days in [-800_000, -1, 0, 59, 11_016, 19_723, 400_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!(parse_date("2000-13-01"), None);
        assert_eq!(parse_date("20000101"), None);
        assert_eq!(parse_date("soon"), None);
    }
}
