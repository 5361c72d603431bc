//! Packet time as integer microseconds: Zeek prints times and intervals with exactly six
//! decimals, so integers keep every printed digit exact and make durations subtraction-safe.

/// Microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// A span of time in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval(pub i64);

impl Timestamp {
    pub const fn from_secs_micros(secs: i64, micros: i64) -> Self {
        Timestamp(secs * 1_000_000 + micros)
    }

    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp((secs * 1_000_000.0).round() as i64)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }

    pub fn saturating_sub(self, earlier: Timestamp) -> Interval {
        Interval(self.0.saturating_sub(earlier.0))
    }

    pub fn saturating_add(self, span: Interval) -> Timestamp {
        Timestamp(self.0.saturating_add(span.0))
    }
}

impl Interval {
    pub const fn from_secs(secs: i64) -> Self {
        Interval(secs * 1_000_000)
    }

    pub fn from_secs_f64(secs: f64) -> Self {
        Interval((secs * 1_000_000.0).round() as i64)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }
}

/// Writes `micros` as seconds with six decimals, the way Zeek's ASCII writer renders
/// `time` and `interval` values.
pub fn write_fixed6(out: &mut Vec<u8>, micros: i64) {
    let negative = micros < 0;
    let abs = micros.unsigned_abs();
    if negative {
        out.push(b'-');
    }
    let mut itoa_buf = itoa::Buffer::new();
    out.extend_from_slice(itoa_buf.format(abs / 1_000_000).as_bytes());
    out.push(b'.');
    let frac = (abs % 1_000_000) as u32;
    let digits = itoa_buf.format(frac).as_bytes();
    out.extend(std::iter::repeat_n(b'0', 6 - digits.len()));
    out.extend_from_slice(digits);
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(m: i64) -> String {
        let mut v = Vec::new();
        write_fixed6(&mut v, m);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn six_decimals() {
        assert_eq!(fixed(435), "0.000435");
        assert_eq!(fixed(120_000_000), "120.000000");
        assert_eq!(fixed(1_300_475_167_096_535), "1300475167.096535");
        assert_eq!(fixed(-1_500_000), "-1.500000");
    }
}
