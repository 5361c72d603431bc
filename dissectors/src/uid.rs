//! Zeek-shaped unique ids: a prefix letter (`C` for connections, `F` for files) and the
//! base62 digits of 96 bits, least significant digit first, as `src/UID.cc` renders them.

use std::fmt;

/// 96 bits of identity. Rendering is deferred to log-writing time so the hot path never
/// formats strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uid {
    pub prefix: u8,
    pub bits: u128,
}

const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl Uid {
    pub fn connection(bits: u128) -> Self {
        Uid { prefix: b'C', bits }
    }

    pub fn file(bits: u128) -> Self {
        Uid { prefix: b'F', bits }
    }

    /// Writes the uid into `out` (at most 19 bytes).
    pub fn write_to(&self, out: &mut String) {
        let mut buf = [0u8; UID_TEXT_MAX];
        out.push_str(self.text(&mut buf));
    }

    /// The uid's text, written into `buf`.
    pub fn text<'b>(&self, buf: &'b mut [u8; UID_TEXT_MAX]) -> &'b str {
        std::str::from_utf8(self.ascii(buf)).unwrap_or_default()
    }

    /// The uid's text as the ASCII bytes it is made of (the prefix letter and base-62
    /// digits), written into `buf`: a log line takes them as they are, without checking
    /// that they are text.
    pub fn ascii<'b>(&self, buf: &'b mut [u8; UID_TEXT_MAX]) -> &'b [u8] {
        // A prefix outside ASCII (never made here) would not be text: none is printed.
        if !self.prefix.is_ascii() {
            return &[];
        }
        buf[0] = self.prefix;
        let mut n = 1;
        // Zeek keeps 96 bits as two 64-bit words, the first shifted to its top 32 bits, and
        // appends each word's digits separately.
        let high = ((self.bits >> 64) as u64) & 0xffff_ffff;
        let low = self.bits as u64;
        n = push_base62_lsd_first(buf, n, high);
        n = push_base62_lsd_first(buf, n, low);
        &buf[..n]
    }
}

/// Longest uid text: the prefix, 6 digits for the high word and 11 for the low one.
pub const UID_TEXT_MAX: usize = 24;

fn push_base62_lsd_first(buf: &mut [u8; UID_TEXT_MAX], mut n: usize, mut v: u64) -> usize {
    if v == 0 {
        buf[n] = b'0';
        return n + 1;
    }
    // Two digits per division while at least three remain: half the divisions (a log
    // line's uid was a twentieth of the merge thread's work).
    while v >= 62 * 62 {
        let pair = (v % (62 * 62)) as usize;
        v /= 62 * 62;
        buf[n] = ALPHABET[pair % 62];
        buf[n + 1] = ALPHABET[pair / 62];
        n += 2;
    }
    let v = v as usize;
    if v >= 62 {
        buf[n] = ALPHABET[v % 62];
        buf[n + 1] = ALPHABET[v / 62];
        n + 2
    } else {
        buf[n] = ALPHABET[v];
        n + 1
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; UID_TEXT_MAX];
        f.write_str(self.text(&mut buf))
    }
}

/// A 96-bit mix of `parts`, used to derive uids deterministically from what identifies
/// the connection (so logs do not depend on thread scheduling or worker count).
pub fn mix96(parts: &[u64]) -> u128 {
    let mut a: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut b: u64 = 0xc2b2_ae3d_27d4_eb4f;
    for &p in parts {
        a = splitmix(a ^ p);
        b = splitmix(b.wrapping_add(p).rotate_left(23));
    }
    ((u128::from(a) << 64) | u128::from(b)) & ((1u128 << 96) - 1)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_matches_zeek() {
        let uid = Uid::connection(mix96(&[1, 2, 3]));
        let s = uid.to_string();
        assert!(s.starts_with('C'));
        assert!((3..=19).contains(&s.len()), "{s}");
        assert!(s[1..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    /// The bytes a log line takes, the text and the string written are the same; a
    /// prefix that is no ASCII gives nothing in all three.
    #[test]
    fn ascii_text_and_written_uid_agree() {
        let mut buf = [0u8; UID_TEXT_MAX];
        for uid in [
            Uid::connection(mix96(&[1, 2, 3])),
            Uid::file(u128::MAX),
            Uid::connection(0),
        ] {
            let ascii = uid.ascii(&mut buf).to_vec();
            let mut written = String::new();
            uid.write_to(&mut written);
            assert_eq!(written.as_bytes(), ascii.as_slice());
            assert_eq!(uid.to_string().as_bytes(), ascii.as_slice());
            assert!(ascii.iter().all(u8::is_ascii_alphanumeric));
        }
        let odd = Uid {
            prefix: 0xc3,
            bits: 5,
        };
        let mut written = String::new();
        odd.write_to(&mut written);
        assert_eq!(
            (
                odd.ascii(&mut buf),
                written.as_str(),
                odd.to_string().as_str()
            ),
            (&[][..], "", "")
        );
    }

    /// Two digits at a time give what one at a time gives, at every length.
    #[test]
    fn paired_digits_match_single_digits() {
        fn single(mut v: u64) -> Vec<u8> {
            let mut out = Vec::new();
            loop {
                out.push(ALPHABET[(v % 62) as usize]);
                v /= 62;
                if v == 0 {
                    return out;
                }
            }
        }
        let mut values = vec![0, 1, 61, 62, 63, 3843, 3844, 3845, u64::MAX, u64::MAX - 1];
        let mut p = 1u64;
        while let Some(next) = p.checked_mul(62) {
            values.extend([p - 1, p, p + 1, next - 1]);
            p = next;
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 64));
        }
        for v in values {
            let mut buf = [0u8; UID_TEXT_MAX];
            let n = push_base62_lsd_first(&mut buf, 0, v);
            assert_eq!(buf[..n], single(v)[..], "{v}");
        }
    }

    #[test]
    fn digits_are_least_significant_first() {
        let uid = Uid::connection((1u128 << 64) | 63);
        // high word 1 -> "1"; low word 63 = 1*62 + 1 -> "11"
        assert_eq!(uid.to_string(), "C111");
    }

    #[test]
    fn mixing_is_deterministic_and_spreads() {
        assert_eq!(mix96(&[5, 6]), mix96(&[5, 6]));
        assert_ne!(mix96(&[5, 6]), mix96(&[6, 5]));
        assert!(mix96(&[0]) < (1u128 << 96));
    }
}
