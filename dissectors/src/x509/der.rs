//! A minimal, total DER reader: enough of X.690 to walk an X.509 certificate.

/// One DER element: its identifier octet(s), its contents, and its whole encoding.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    /// The first identifier octet (class, constructed bit, low tag number); for high tag
    /// numbers this is the `0x1f`-form octet and `tag_number` holds the number.
    pub tag: u8,
    pub tag_number: u32,
    pub content: &'a [u8],
    /// Identifier, length and contents together.
    pub raw: &'a [u8],
}

pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const BOOLEAN: u8 = 0x01;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;

impl<'a> Tlv<'a> {
    pub fn is_constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }

    /// Universal tag number (for string types), or `None` for other classes.
    pub fn universal_number(&self) -> Option<u32> {
        (self.tag & 0xc0 == 0).then_some(self.tag_number)
    }

    /// Reader over the contents of a constructed element.
    pub fn reader(&self) -> Reader<'a> {
        Reader::new(self.content)
    }
}

/// Sequential reader over concatenated DER elements.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { rest: data }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Tag octet of the next element, without consuming it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element; `None` on malformed or truncated input.
    pub fn next_tlv(&mut self) -> Option<Tlv<'a>> {
        let data = self.rest;
        let tag = *data.first()?;
        let mut pos = 1usize;
        let mut tag_number = u32::from(tag & 0x1f);
        if tag & 0x1f == 0x1f {
            tag_number = 0;
            loop {
                let b = *data.get(pos)?;
                pos += 1;
                tag_number = tag_number
                    .checked_mul(128)?
                    .checked_add(u32::from(b & 0x7f))?;
                if b & 0x80 == 0 {
                    break;
                }
                if pos > 6 {
                    return None;
                }
            }
        }
        let first = *data.get(pos)?;
        pos += 1;
        let len = if first & 0x80 == 0 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return None; // indefinite or absurd lengths are not DER
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | usize::from(*data.get(pos)?);
                pos += 1;
            }
            len
        };
        let end = pos.checked_add(len)?;
        let content = data.get(pos..end)?;
        let raw = data.get(..end)?;
        self.rest = data.get(end..)?;
        Some(Tlv {
            tag,
            tag_number,
            content,
            raw,
        })
    }

    /// The next element if it has tag `tag`.
    pub fn expect(&mut self, tag: u8) -> Option<Tlv<'a>> {
        if self.peek_tag()? != tag {
            return None;
        }
        self.next_tlv()
    }

    /// The next element only if its tag is `tag` (for OPTIONAL fields).
    pub fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        if self.peek_tag() == Some(tag) {
            self.next_tlv()
        } else {
            None
        }
    }
}

/// Dotted-decimal rendering of an OBJECT IDENTIFIER's contents.
pub fn oid_to_string(content: &[u8]) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::new();
    let mut value: u64 = 0;
    let mut first = true;
    if content.is_empty() || content.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    for &b in content {
        value = value.checked_mul(128)?.checked_add(u64::from(b & 0x7f))?;
        if b & 0x80 != 0 {
            continue;
        }
        if first {
            let (a, rest) = match value {
                0..=39 => (0, value),
                40..=79 => (1, value - 40),
                _ => (2, value - 80),
            };
            let _ = write!(out, "{a}.{rest}");
            first = false;
        } else {
            let _ = write!(out, ".{value}");
        }
        value = 0;
    }
    Some(out)
}

/// Two's-complement INTEGER contents as an i64 (`None` when it does not fit).
pub fn integer_i64(content: &[u8]) -> Option<i64> {
    if content.is_empty() || content.len() > 8 {
        return None;
    }
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let mut v: i64 = if negative { -1 } else { 0 };
    for &b in content {
        v = (v << 8) | i64::from(b);
    }
    Some(v)
}

/// Magnitude bytes of an INTEGER (no sign padding) and whether it is negative.
pub fn integer_magnitude(content: &[u8]) -> (Vec<u8>, bool) {
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let mut mag: Vec<u8> = if negative {
        // two's complement negation
        let mut v: Vec<u8> = content.iter().map(|b| !b).collect();
        for b in v.iter_mut().rev() {
            let (nb, carry) = b.overflowing_add(1);
            *b = nb;
            if !carry {
                break;
            }
        }
        v
    } else {
        content.to_vec()
    };
    let leading = mag.iter().take_while(|b| **b == 0).count();
    let keep_from = leading.min(mag.len().saturating_sub(1));
    mag.drain(..keep_from);
    (mag, negative)
}

/// Number of significant bits of an unsigned big-endian integer.
pub fn bit_length(magnitude: &[u8]) -> u64 {
    let mut iter = magnitude.iter().skip_while(|b| **b == 0);
    match iter.next() {
        None => 0,
        Some(&first) => {
            let rest = iter.count() as u64;
            rest * 8 + u64::from(8 - first.leading_zeros())
        }
    }
}

/// Decimal rendering of an unsigned big-endian integer.
pub fn to_decimal(magnitude: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new(); // little-endian base-10^9 limbs would be faster; sizes are tiny
    let mut num: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    if num.is_empty() {
        return "0".to_string();
    }
    while !num.is_empty() {
        let mut rem: u32 = 0;
        let mut next = Vec::with_capacity(num.len());
        for &b in &num {
            let cur = (rem << 8) | u32::from(b);
            let q = cur / 10;
            rem = cur % 10;
            if !(next.is_empty() && q == 0) {
                next.push(q as u8);
            }
        }
        digits.push(b'0' + rem as u8);
        num = next;
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_elements() {
        let data = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa];
        let mut r = Reader::new(&data);
        let seq = r.expect(SEQUENCE).unwrap();
        let mut inner = seq.reader();
        let int = inner.expect(INTEGER).unwrap();
        assert_eq!(integer_i64(int.content), Some(5));
        assert_eq!(inner.expect(OCTET_STRING).unwrap().content, &[0xaa]);
        assert!(inner.is_empty() && r.is_empty());
    }

    #[test]
    fn truncated_is_none() {
        assert!(Reader::new(&[0x30, 0x05, 0x02]).next_tlv().is_none());
        assert!(Reader::new(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff])
            .next_tlv()
            .is_none());
        assert!(Reader::new(&[0x30, 0x80]).next_tlv().is_none());
    }

    #[test]
    fn oids_and_numbers() {
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]).unwrap(),
            "1.2.840.113549.1.1.11"
        );
        assert_eq!(oid_to_string(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(to_decimal(&[0x01, 0x00, 0x01]), "65537");
        assert_eq!(to_decimal(&[0x00]), "0");
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(integer_magnitude(&[0x00, 0x99]), (vec![0x99], false));
        assert_eq!(integer_magnitude(&[0xff]), (vec![0x01], true));
        assert_eq!(integer_magnitude(&[0x00]), (vec![0x00], false));
    }
}
