//! Timestamps as Slips prints them: ISO 8601 (`2021-09-14T13:07:06.123456+00:00`,
//! Python's `isoformat()`, which leaves the fraction out when it is zero), in UTC.

use dissectors::Timestamp;

/// Appends the ISO 8601 form of `ts` to `out`.
pub fn write_iso(out: &mut String, ts: Timestamp) {
    let micros = ts.0.rem_euclid(1_000_000);
    let secs = ts.0.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    use std::fmt::Write;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if micros != 0 {
        let _ = write!(out, ".{micros:06}");
    }
    out.push_str("+00:00");
}

pub fn iso(ts: Timestamp) -> String {
    let mut s = String::with_capacity(32);
    write_iso(&mut s, ts);
    s
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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
}
