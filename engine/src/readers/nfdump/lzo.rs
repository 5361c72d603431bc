//! LZO1X decompression (what nfdump's `-z=lzo` writes), total on hostile input: every
//! length and distance is checked against the input, the output so far and an output
//! limit, so a crafted block is an error, never a panic or a memory bomb.
//!
//! The format: a first byte that may start with literals, then instructions, each a
//! match (copy from the output already written, possibly overlapping) followed by 0-3
//! literals whose count the instruction carries (the "state"); a far match of distance
//! exactly 16 KiB ends the stream.

/// Why a block does not decompress.
#[derive(Debug, PartialEq, Eq)]
pub enum LzoError {
    /// The input ends inside an instruction or a literal run.
    Truncated,
    /// A match reaches before the start of the output.
    BadDistance,
    /// The output would exceed the limit.
    TooLarge,
}

impl std::fmt::Display for LzoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LzoError::Truncated => "the stream ends early",
            LzoError::BadDistance => "a match reaches before the start of the output",
            LzoError::TooLarge => "the output exceeds the block limit",
        })
    }
}

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> Result<u8, LzoError> {
        let b = *self.data.get(self.pos).ok_or(LzoError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn le16(&mut self) -> Result<usize, LzoError> {
        let lo = self.byte()?;
        let hi = self.byte()?;
        Ok(usize::from(u16::from_le_bytes([lo, hi])))
    }

    /// A length extension: `base` plus 255 per zero byte, plus the first non-zero byte.
    fn long_length(&mut self, base: usize) -> Result<usize, LzoError> {
        let mut len = base;
        loop {
            match self.byte()? {
                0 => len = len.checked_add(255).ok_or(LzoError::TooLarge)?,
                b => return len.checked_add(usize::from(b)).ok_or(LzoError::TooLarge),
            }
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], LzoError> {
        let end = self.pos.checked_add(n).ok_or(LzoError::Truncated)?;
        let s = self.data.get(self.pos..end).ok_or(LzoError::Truncated)?;
        self.pos = end;
        Ok(s)
    }
}

fn literals(
    input: &mut Input<'_>,
    out: &mut Vec<u8>,
    n: usize,
    max: usize,
) -> Result<(), LzoError> {
    if out.len() + n > max {
        return Err(LzoError::TooLarge);
    }
    out.extend_from_slice(input.take(n)?);
    Ok(())
}

fn copy_match(out: &mut Vec<u8>, distance: usize, len: usize, max: usize) -> Result<(), LzoError> {
    if distance == 0 || distance > out.len() {
        return Err(LzoError::BadDistance);
    }
    if out.len() + len > max {
        return Err(LzoError::TooLarge);
    }
    let start = out.len() - distance;
    // Byte by byte: a match may overlap the bytes it produces (a run).
    for i in 0..len {
        let b = out[start + i];
        out.push(b);
    }
    Ok(())
}

/// Decompresses one LZO1X stream of at most `max_out` bytes.
pub fn decompress(data: &[u8], max_out: usize) -> Result<Vec<u8>, LzoError> {
    let mut input = Input { data, pos: 0 };
    let mut out = Vec::new();
    // Literals copied by the last instruction: 0, 1-3, or 4 for a long literal run.
    let mut state = 0usize;
    match data.first() {
        Some(&b) if b >= 22 => {
            input.pos = 1;
            literals(&mut input, &mut out, usize::from(b) - 17, max_out)?;
            state = 4;
        }
        Some(&b) if b >= 18 => {
            input.pos = 1;
            state = usize::from(b) - 17;
            literals(&mut input, &mut out, state, max_out)?;
        }
        _ => {}
    }
    loop {
        let inst = usize::from(input.byte()?);
        let (distance, len, next_state) = if inst >= 128 {
            let h = usize::from(input.byte()?);
            (
                (h << 3) + ((inst >> 2) & 7) + 1,
                5 + ((inst >> 5) & 3),
                inst & 3,
            )
        } else if inst >= 64 {
            let h = usize::from(input.byte()?);
            (
                (h << 3) + ((inst >> 2) & 7) + 1,
                3 + ((inst >> 5) & 1),
                inst & 3,
            )
        } else if inst >= 32 {
            let len = match inst & 31 {
                0 => input.long_length(31)? + 2,
                l => l + 2,
            };
            let v = input.le16()?;
            ((v >> 2) + 1, len, v & 3)
        } else if inst >= 16 {
            let len = match inst & 7 {
                0 => input.long_length(7)? + 2,
                l => l + 2,
            };
            let v = input.le16()?;
            let distance = 16384 + ((inst & 8) << 11) + (v >> 2);
            if distance == 16384 {
                return Ok(out);
            }
            (distance, len, v & 3)
        } else if state == 0 {
            let len = match inst {
                0 => input.long_length(15)? + 3,
                l => l + 3,
            };
            literals(&mut input, &mut out, len, max_out)?;
            state = 4;
            continue;
        } else {
            let h = usize::from(input.byte()?);
            let base = if state == 4 { 2049 } else { 1 };
            let len = if state == 4 { 3 } else { 2 };
            ((h << 2) + ((inst >> 2) & 3) + base, len, inst & 3)
        };
        copy_match(&mut out, distance, len, max_out)?;
        literals(&mut input, &mut out, next_state, max_out)?;
        state = next_state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const END: [u8; 3] = [0x11, 0, 0];

    #[test]
    fn literals_then_overlapping_match() {
        // 4 literals "abcd", then M2 (0x40 | D=3 <<2): length 3, distance 4; state 0.
        let mut s = vec![17 + 4, b'a', b'b', b'c', b'd', 0x40 | (3 << 2), 0];
        s.extend(END);
        assert_eq!(decompress(&s, 100).unwrap(), b"abcdabc");
        // A run: distance 1 repeats the last byte.
        let mut s = vec![17 + 4, b'w', b'x', b'y', b'z', 0x60, 0];
        s.extend(END);
        assert_eq!(decompress(&s, 100).unwrap(), b"wxyzzzzz");
    }

    #[test]
    fn hostile_streams_are_errors() {
        // One literal, then a match 2 041 bytes back (M2) or 16 384 back (M3).
        assert_eq!(
            decompress(&[0x12, b'a', 0x80, 0xff], 1 << 20),
            Err(LzoError::BadDistance)
        );
        assert_eq!(
            decompress(&[0x12, b'a', 0x21, 0xfc, 0xff], 1 << 20),
            Err(LzoError::BadDistance)
        );
        // Long lengths from zero runs stop at the output limit.
        let mut bomb = vec![17 + 4, 1, 2, 3, 4, 0x20];
        bomb.extend(std::iter::repeat_n(0u8, 10_000));
        bomb.extend([1, 0x04, 0x00]);
        assert_eq!(decompress(&bomb, 1 << 20), Err(LzoError::TooLarge));
        assert_eq!(decompress(&[0x12], 100), Err(LzoError::Truncated));
        assert_eq!(decompress(&[], 100), Err(LzoError::Truncated));
        assert_eq!(
            decompress(&[17 + 4, 1, 2, 3, 4], 100),
            Err(LzoError::Truncated)
        );
    }
}
