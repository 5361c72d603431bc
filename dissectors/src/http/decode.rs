//! Streaming decompression of `Content-Encoding: gzip|x-gzip|deflate` bodies, as Zeek's
//! ZIP support analyzer does it: zlib auto-detection of a gzip or zlib header, a restart
//! as raw deflate when the very first bytes are not a valid header, and silence after
//! the end of the first compressed stream or after an error.

use flate2::{Decompress, FlushDecompress, Status};

/// Cap on a gzip header (its optional name/comment fields are unbounded on the wire).
const MAX_GZIP_HEADER: usize = 16 * 1024;
const OUT_CHUNK: usize = 4096;

enum State {
    /// Collecting the first bytes to decide the framing.
    Start(Vec<u8>),
    Inflate(Box<Decompress>),
    Done,
}

pub struct Inflater {
    state: State,
    out: Vec<u8>,
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

/// Length of a complete gzip header at the start of `b`: `Ok(None)` if more bytes are
/// needed, `Err` if it is malformed.
fn gzip_header_len(b: &[u8]) -> Result<Option<usize>, ()> {
    if b.len() < 10 {
        return Ok(None);
    }
    if b[2] != 8 {
        return Err(());
    }
    let flags = b[3];
    let mut i = 10;
    if flags & 0x04 != 0 {
        let Some(x) = b.get(i..i + 2) else {
            return Ok(None);
        };
        i += 2 + usize::from(u16::from_le_bytes([x[0], x[1]]));
        if i > b.len() {
            return Ok(None);
        }
    }
    for bit in [0x08u8, 0x10] {
        if flags & bit != 0 {
            match b[i..].iter().position(|&c| c == 0) {
                Some(p) => i += p + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & 0x02 != 0 {
        i += 2;
        if i > b.len() {
            return Ok(None);
        }
    }
    Ok(Some(i))
}

impl Inflater {
    pub fn new() -> Self {
        Inflater {
            state: State::Start(Vec::new()),
            out: vec![0; OUT_CHUNK],
        }
    }

    /// Feeds compressed bytes; `sink` receives the decompressed output in pieces.
    pub fn feed(&mut self, data: &[u8], sink: &mut dyn FnMut(&[u8])) {
        if data.is_empty() {
            return;
        }
        let mut owned;
        let mut input: &[u8] = data;
        if let State::Start(buf) = &mut self.state {
            buf.extend_from_slice(data);
            let header = if buf.starts_with(b"\x1f\x8b") {
                match gzip_header_len(buf) {
                    Ok(Some(n)) => Some((n, false)),
                    Ok(None) if buf.len() < MAX_GZIP_HEADER => return,
                    _ => None,
                }
            } else if buf.len() < 2 {
                return;
            } else {
                let (cmf, flg) = (buf[0], buf[1]);
                let zlib = cmf & 0x0f == 8 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
                Some((0, zlib))
            };
            owned = std::mem::take(buf);
            match header {
                Some((skip, zlib)) => {
                    self.state = State::Inflate(Box::new(Decompress::new(zlib)));
                    owned.drain(..skip);
                }
                None => {
                    // Invalid gzip header: zlib reports a data error, Zeek restarts raw.
                    self.state = State::Inflate(Box::new(Decompress::new(false)));
                }
            }
            input = &owned;
        }
        let State::Inflate(z) = &mut self.state else {
            return;
        };
        loop {
            let before_in = z.total_in();
            let before_out = z.total_out();
            let status = z.decompress(input, &mut self.out, FlushDecompress::Sync);
            let consumed = (z.total_in() - before_in) as usize;
            let produced = (z.total_out() - before_out) as usize;
            if produced > 0 {
                sink(&self.out[..produced]);
            }
            input = input.get(consumed..).unwrap_or_default();
            match status {
                Ok(Status::StreamEnd) | Err(_) => {
                    self.state = State::Done;
                    return;
                }
                Ok(_) => {
                    if input.is_empty() && produced < self.out.len() {
                        return;
                    }
                    if consumed == 0 && produced == 0 {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn inflate_in_pieces(data: &[u8], piece: usize) -> Vec<u8> {
        let mut inf = Inflater::new();
        let mut out = Vec::new();
        for chunk in data.chunks(piece.max(1)) {
            inf.feed(chunk, &mut |b| out.extend_from_slice(b));
        }
        out
    }

    #[test]
    fn gzip_zlib_and_raw() {
        let text: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        let mut zl = ZlibEncoder::new(Vec::new(), Compression::default());
        zl.write_all(&text).unwrap();
        let zl = zl.finish().unwrap();
        let mut raw = DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(&text).unwrap();
        let raw = raw.finish().unwrap();
        for piece in [1, 7, 1000, 100_000] {
            assert_eq!(inflate_in_pieces(&gz, piece), text);
            assert_eq!(inflate_in_pieces(&zl, piece), text);
            assert_eq!(inflate_in_pieces(&raw, piece), text);
        }
    }

    #[test]
    fn x_gzip_trace_body() {
        let body = b"\x1f\x8b\x08\x00'\x85\xcdW\x02\xffs\xcdK\xceOIMQH\xaf\xca,P\xc8HMLI-\x02\x00\x9c>\xe6\x02\x13\x00\x00\x00";
        assert_eq!(inflate_in_pieces(body, 3), b"Encoded gzip header");
    }

    #[test]
    fn garbage_is_harmless() {
        let mut seed = 7u32;
        for len in 0..500usize {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = inflate_in_pieces(&data, 13);
            let mut g = b"\x1f\x8b\x08\xff".to_vec();
            g.extend_from_slice(&data);
            let _ = inflate_in_pieces(&g, 5);
        }
    }
}
