//! The conn.log `history` string: one letter per kind of event, upper case from the
//! originator and lower case from the responder, recorded the way Zeek records them.

/// Letters kept inline; a connection that would need more is hostile or pathological,
/// and the excess is dropped rather than allocated.
const CAPACITY: usize = 40;

#[derive(Clone, Copy, Debug)]
pub struct History {
    letters: [u8; CAPACITY],
    len: u8,
    /// Which once-only events were already recorded (orig bits low, resp bits high).
    seen: u32,
}

impl Default for History {
    fn default() -> Self {
        History {
            letters: [0; CAPACITY],
            len: 0,
            seen: 0,
        }
    }
}

/// Event classes recorded at most once per direction (Zeek's `HIST_*` masks).
pub mod mask {
    pub const SYN: u32 = 0x1;
    pub const FIN: u32 = 0x2;
    pub const RST: u32 = 0x4;
    pub const FIN_RST: u32 = 0x8;
    pub const DATA: u32 = 0x10;
    pub const ACK: u32 = 0x20;
    pub const MULTI_FLAG: u32 = 0x40;
}

impl History {
    pub fn push(&mut self, letter: u8) {
        if (self.len as usize) < CAPACITY {
            self.letters[self.len as usize] = letter;
            self.len += 1;
        }
    }

    /// Records `code` (upper-case form) for the direction, the first time this class of
    /// event is seen. Returns whether it had been seen before.
    pub fn check(&mut self, is_orig: bool, mask: u32, code: u8) -> bool {
        let (mask, code) = if is_orig {
            (mask, code)
        } else {
            (mask << 16, code.to_ascii_lowercase())
        };
        if self.seen & mask == 0 {
            self.seen |= mask;
            self.push(code);
            false
        } else {
            true
        }
    }

    pub fn add(&mut self, is_orig: bool, code: u8) {
        self.push(if is_orig {
            code
        } else {
            code.to_ascii_lowercase()
        });
    }

    /// Logarithmic recording: the letter appears at the 1st, 10th, 100th ... occurrence.
    pub fn scaled(&mut self, is_orig: bool, code: u8, counter: &mut u32, threshold: &mut u32) {
        *counter += 1;
        if *counter == *threshold {
            self.add(is_orig, code);
            *threshold = threshold.checked_mul(10).unwrap_or(u32::MAX);
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.letters[..self.len as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }

    /// Whether the history matches `^\^?S[^HAFGIQ]*R.*` (Zeek's test for RSTOS0).
    pub fn is_syn_then_rst(&self) -> bool {
        let h = self.as_bytes();
        let h = h.strip_prefix(b"^").unwrap_or(h);
        let Some(rest) = h.strip_prefix(b"S") else {
            return false;
        };
        for &c in rest {
            match c {
                b'R' => return true,
                b'H' | b'A' | b'F' | b'G' | b'I' | b'Q' => return false,
                _ => {}
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_direction_and_case() {
        let mut h = History::default();
        assert!(!h.check(true, mask::ACK, b'A'));
        assert!(h.check(true, mask::ACK, b'A'));
        assert!(!h.check(false, mask::ACK, b'A'));
        assert_eq!(h.as_bytes(), b"Aa");
    }

    #[test]
    fn scaled_letters_are_logarithmic() {
        let mut h = History::default();
        let (mut c, mut t) = (0, 1);
        for _ in 0..150 {
            h.scaled(true, b'T', &mut c, &mut t);
        }
        assert_eq!(h.as_bytes(), b"TTT");
    }

    #[test]
    fn rstos0_pattern() {
        let mk = |s: &[u8]| {
            let mut h = History::default();
            s.iter().for_each(|&c| h.push(c));
            h
        };
        assert!(mk(b"SR").is_syn_then_rst());
        assert!(mk(b"^SdR").is_syn_then_rst());
        assert!(
            mk(b"ShR").is_syn_then_rst(),
            "lower-case letters are not excluded"
        );
        assert!(!mk(b"SFR").is_syn_then_rst());
        assert!(!mk(b"SAR").is_syn_then_rst());
    }
}
