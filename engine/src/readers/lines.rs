//! Line-by-line reading of text inputs, plain or gzip-compressed (as Zeek's log rotation
//! leaves them), with line numbers for error reports.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` for reading, decompressing it when it is gzip (by its first bytes).
pub fn open_text(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let mut file = BufReader::with_capacity(1 << 16, File::open(path)?);
    let gz = file.fill_buf()?.starts_with(&GZIP_MAGIC);
    Ok(if gz {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

/// The first `n` bytes of the content of `path` (decompressed when gzip).
pub fn peek_content(path: &Path, n: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    open_text(path)?.take(n as u64).read_to_end(&mut out)?;
    Ok(out)
}

/// Lines of a text stream, reusing one buffer; the line terminator (`\n` or `\r\n`) is
/// stripped.
pub struct Lines {
    input: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line_no: u64,
}

impl Lines {
    pub fn new(input: Box<dyn BufRead + Send>) -> Self {
        Lines {
            input,
            buf: Vec::with_capacity(1024),
            line_no: 0,
        }
    }

    /// Number of the line last returned (1-based).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next line, or `None` at the end of the stream.
    pub fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        self.buf.clear();
        if self.input.read_until(b'\n', &mut self.buf)? == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        let mut end = self.buf.len();
        if end > 0 && self.buf[end - 1] == b'\n' {
            end -= 1;
        }
        if end > 0 && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        Ok(Some(&self.buf[..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_terminators_and_counts() {
        let mut l = Lines::new(Box::new(io::Cursor::new(b"a\r\nb\n\nc".to_vec())));
        assert_eq!(l.next_line().unwrap(), Some(&b"a"[..]));
        assert_eq!(l.next_line().unwrap(), Some(&b"b"[..]));
        assert_eq!(l.next_line().unwrap(), Some(&b""[..]));
        assert_eq!(l.next_line().unwrap(), Some(&b"c"[..]));
        assert_eq!(l.line_no(), 4);
        assert_eq!(l.next_line().unwrap(), None);
    }
}
