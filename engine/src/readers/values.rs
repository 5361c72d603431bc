//! Parsing of single values as other tools print them: Zeek's times, uids and enums,
//! decimal seconds, addresses. Shared by every reader so each format maps a value the
//! same way.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};

use dissectors::conn::{ConnId, ConnState, Transport};
use dissectors::uid::{mix96, Uid};
use dissectors::{Interval, Timestamp};

/// Seconds with an optional fraction (`1601998366.034324`, `-0.5`, `12`, `1e-05`) to
/// microseconds, exactly for plain decimals (digits past the sixth are rounded).
pub fn parse_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (negative, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() {
        return None;
    }
    let mut whole: i64 = 0;
    let mut i = 0;
    while i < digits.len() && digits[i].is_ascii_digit() {
        whole = whole
            .checked_mul(10)?
            .checked_add(i64::from(digits[i] - b'0'))?;
        i += 1;
    }
    let mut frac: i64 = 0;
    let mut frac_digits = 0;
    let mut round_up = false;
    if i < digits.len() && digits[i] == b'.' {
        i += 1;
        let start = i;
        while i < digits.len() && digits[i].is_ascii_digit() {
            if frac_digits < 6 {
                frac = frac * 10 + i64::from(digits[i] - b'0');
                frac_digits += 1;
            } else if i == start + 6 {
                round_up = digits[i] >= b'5';
            }
            i += 1;
        }
        if i == start && start == 1 {
            return None;
        }
    }
    if i != digits.len() {
        // Exponent or other forms: rare (JSON writers), parsed as a double.
        return s
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && v.abs() < 9.0e12)
            .map(|v| (v * 1_000_000.0).round() as i64);
    }
    for _ in frac_digits..6 {
        frac *= 10;
    }
    let micros = whole
        .checked_mul(1_000_000)?
        .checked_add(frac + i64::from(round_up))?;
    Some(if negative { -micros } else { micros })
}

pub fn parse_time(s: &str) -> Option<Timestamp> {
    parse_micros(s).map(Timestamp)
}

pub fn parse_interval(s: &str) -> Option<Interval> {
    parse_micros(s).map(Interval)
}

/// A calendar date and time (`2019/04/04 16:24:47.672448`, `2021-06-06T15:57:39.661236+0200`,
/// `...Z`) to a timestamp; without a zone the time is taken as UTC. Plain epoch seconds
/// are accepted too.
pub fn parse_datetime(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19 || !(b[4] == b'/' || b[4] == b'-') {
        return parse_time(s);
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let rest = &s[19..];
    let frac_len = match rest.strip_prefix('.') {
        Some(digits) => 1 + digits.bytes().take_while(u8::is_ascii_digit).count(),
        None => 0,
    };
    let frac = if frac_len > 1 {
        parse_micros(&format!("0{}", &rest[..frac_len]))?
    } else {
        0
    };
    let zone = &rest[frac_len..];
    let offset_secs = match zone {
        "" | "Z" | "z" => 0,
        z if z.starts_with('+') || z.starts_with('-') => {
            let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let h: i64 = digits[..2].parse().ok()?;
            let m: i64 = digits[2..].parse().ok()?;
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(Timestamp(secs * 1_000_000 + frac))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An address, also in the bracketed (`[::1]`) form some tools print.
pub fn parse_addr(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    s.parse().ok()
}

pub fn parse_transport(s: &str) -> Option<Transport> {
    Some(match s.to_ascii_lowercase().as_str() {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        "icmp" | "ipv6-icmp" | "icmp6" | "ipv6_icmp" => Transport::Icmp,
        "unknown_transport" => Transport::Unknown,
        _ => return None,
    })
}

pub fn parse_conn_state(s: &str) -> Option<ConnState> {
    Some(match s {
        "S0" => ConnState::S0,
        "S1" => ConnState::S1,
        "SF" => ConnState::SF,
        "REJ" => ConnState::REJ,
        "S2" => ConnState::S2,
        "S3" => ConnState::S3,
        "RSTO" => ConnState::RSTO,
        "RSTR" => ConnState::RSTR,
        "RSTOS0" => ConnState::RSTOS0,
        "RSTRH" => ConnState::RSTRH,
        "SH" => ConnState::SH,
        "SHR" => ConnState::SHR,
        "OTH" => ConnState::OTH,
        _ => return None,
    })
}

const BASE62: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn base62_digit(c: u8) -> Option<u64> {
    BASE62.iter().position(|&d| d == c).map(|p| p as u64)
}

/// Digits of `Uid::write_to` (least significant first) back to a value; `None` when the
/// text is not the canonical rendering of a value below 2^`bits`.
fn base62_lsd_first(digits: &[u8], bits: u32) -> Option<u64> {
    if digits.is_empty() || (digits.len() > 1 && digits[digits.len() - 1] == b'0') {
        return None;
    }
    let mut v: u128 = 0;
    for &c in digits.iter().rev() {
        v = v * 62 + u128::from(base62_digit(c)?);
        if v >> bits != 0 {
            return None;
        }
    }
    Some(v as u64)
}

/// A uid as Zeek prints it (`CHhAvVGS1DHFjwGM9`): a prefix letter and the base62 digits
/// of a 32-bit and a 64-bit word. The digit string does not mark where the words meet;
/// the split giving the low word the most digits is taken, so a uid always maps to the
/// same value and renders back to the same text. Text that is no Zeek uid (Suricata's
/// numeric flow ids, labels) maps to a hash of itself under `default_prefix`.
pub fn parse_uid(s: &str, default_prefix: u8) -> Uid {
    let b = s.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_uppercase() {
        let digits = &b[1..];
        for low_len in (1..=digits.len().min(11)).rev() {
            let (high, low) = digits.split_at(digits.len() - low_len);
            if high.len() > 6 {
                break;
            }
            if let (Some(h), Some(l)) = (base62_lsd_first(high, 32), base62_lsd_first(low, 64)) {
                return Uid {
                    prefix: b[0],
                    bits: (u128::from(h) << 64) | u128::from(l),
                };
            }
        }
    }
    let words: Vec<u64> = b
        .chunks(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .chain(std::iter::once(b.len() as u64))
        .collect();
    Uid {
        prefix: default_prefix,
        bits: mix96(&words),
    }
}

/// A uid for a flow format without one, from what identifies the flow.
pub fn flow_uid(ts_micros: i64, id: &ConnId) -> Uid {
    let addr_word = |a: IpAddr| match a {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let v = u128::from(v6);
            (v >> 64) as u64 ^ v as u64
        }
    };
    Uid::connection(mix96(&[
        ts_micros as u64,
        addr_word(id.orig_h),
        addr_word(id.resp_h),
        (u64::from(id.orig_p) << 16) | u64::from(id.resp_p),
        id.proto as u64,
    ]))
}

/// Most distinct values [`intern`] keeps; a log with more distinct values in a column
/// of this kind is not a real Zeek log, and the rest share one marker value.
const MAX_INTERNED: usize = 4096;
const TOO_MANY: &str = "(too many distinct values)";

/// A `&'static str` for a value of a small vocabulary (MIME types, file analyzers, HTTP
/// tags, key types) that the record types keep as static text. Each distinct value is
/// allocated once for the life of the process, at most [`MAX_INTERNED`] of them.
pub fn intern(s: &str) -> &'static str {
    static SET: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let set = SET.get_or_init(|| Mutex::new(HashSet::new()));
    let mut set = match set.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(&v) = set.get(s) {
        return v;
    }
    if set.len() >= MAX_INTERNED {
        return TOO_MANY;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// Inverse of a `u16`/`u8`-coded name table: the code whose name is `name`.
pub fn code_of<F, S>(name: &str, max: u32, name_of: F) -> Option<u32>
where
    F: Fn(u32) -> S,
    S: AsRef<str>,
{
    (0..=max).find(|&c| name_of(c).as_ref() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds_are_exact() {
        assert_eq!(
            parse_micros("1601998366.034324"),
            Some(1_601_998_366_034_324)
        );
        assert_eq!(parse_micros("0.000435"), Some(435));
        assert_eq!(parse_micros("12"), Some(12_000_000));
        assert_eq!(parse_micros("-1.5"), Some(-1_500_000));
        assert_eq!(parse_micros("0.0962819999"), Some(96_282));
        assert_eq!(parse_micros("1e-05"), Some(10));
        assert_eq!(parse_micros("abc"), None);
        assert_eq!(parse_micros(""), None);
        assert_eq!(parse_micros("."), None);
        assert_eq!(parse_micros("1.2.3"), None);
        assert_eq!(parse_micros("99999999999999999999"), None);
    }

    #[test]
    fn calendar_times() {
        assert_eq!(
            parse_datetime("2019/04/04 16:24:47.672448"),
            Some(Timestamp(1_554_395_087_672_448))
        );
        assert_eq!(
            parse_datetime("2019-04-04T18:24:47.672448+0200"),
            Some(Timestamp(1_554_395_087_672_448))
        );
        assert_eq!(
            parse_datetime("1970-01-01T00:00:01Z"),
            Some(Timestamp(1_000_000))
        );
        assert_eq!(
            parse_datetime("1554395087.5"),
            Some(Timestamp(1_554_395_087_500_000))
        );
        assert_eq!(parse_datetime("2019/13/04 16:24:47"), None);
        assert_eq!(parse_datetime("2019/04/04 16:24:47+99"), None);
    }

    #[test]
    fn zeek_uids_render_back_to_the_same_text() {
        for bits in [
            0u128,
            1,
            (1 << 64) | 63,
            (u128::MAX >> 32),
            0x1234_5678_9abc_def0_1122_3344,
        ] {
            let uid = Uid::connection(bits);
            let text = uid.to_string();
            assert_eq!(parse_uid(&text, b'C').to_string(), text);
        }
        for text in [
            "CHhAvVGS1DHFjwGM9",
            "FqhaAy4xsmJ3AR63A3",
            "C6ce9q3xECAsonga21",
        ] {
            assert_eq!(parse_uid(text, b'C').to_string(), text);
        }
    }

    #[test]
    fn other_ids_hash_deterministically() {
        let a = parse_uid("1234567890123", b'C');
        assert_eq!(a, parse_uid("1234567890123", b'C'));
        assert_ne!(a, parse_uid("1234567890124", b'C'));
        assert_eq!(a.prefix, b'C');
    }

    #[test]
    fn interning_returns_one_allocation_per_value() {
        let a = intern("text/plain");
        let b = intern(&String::from("text/plain"));
        assert!(std::ptr::eq(a, b));
    }
}
