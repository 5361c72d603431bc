//! Lower-case hex text of bytes (digests, fingerprints, escapes), without `core::fmt`: these
//! are written for every file, TLS hello and escaped byte, where `{:02x}` was a visible cost.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The two lower-case hex digits of a byte, as ASCII.
pub fn hex_digits(b: u8) -> [u8; 2] {
    [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]]
}

/// Appends two lower-case hex digits per byte.
pub fn push_lower_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        for d in hex_digits(b) {
            out.push(char::from(d));
        }
    }
}

/// Two lower-case hex digits per byte.
pub fn lower_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_lower_hex(&mut s, bytes);
    s
}

/// Appends the four lower-case hex digits of `v` (`{v:04x}`).
pub fn push_hex4(out: &mut String, v: u16) {
    push_lower_hex(out, &v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_core_fmt_for_every_byte_and_word() {
        for b in 0..=255u8 {
            assert_eq!(lower_hex(&[b]), format!("{b:02x}"));
        }
        for v in (0..=u16::MAX).step_by(7).chain([u16::MAX]) {
            let mut s = String::new();
            push_hex4(&mut s, v);
            assert_eq!(s, format!("{v:04x}"));
        }
        assert_eq!(lower_hex(&[]), "");
        assert_eq!(lower_hex(&[0xde, 0xad, 0x0b]), "dead0b");
    }
}
