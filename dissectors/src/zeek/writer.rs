//! A Zeek log file: header lines, rows, footer.

use std::io::{self, Write};

use super::{Row, ZeekRecord};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Zeek's default ASCII format: tab-separated values with `#` meta lines.
    #[default]
    Tsv,
    /// One JSON object per line (`LogAscii::use_json=T`).
    Json,
}

/// Writes one Zeek log (conn.log, dns.log ...) to `sink`. Rows are formatted into a
/// reused buffer and flushed in large writes.
pub struct LogWriter<W: Write> {
    sink: W,
    format: LogFormat,
    buf: Vec<u8>,
    rows: u64,
}

const FLUSH_AT: usize = 1 << 16;

impl<W: Write> LogWriter<W> {
    /// Opens the log, writing the TSV header (`#separator` ... `#types`); `open_time` is
    /// the wall-clock time Zeek prints in `#open`.
    pub fn new<R: ZeekRecord>(
        sink: W,
        format: LogFormat,
        open_time: std::time::SystemTime,
    ) -> io::Result<Self> {
        let mut writer = LogWriter {
            sink,
            format,
            buf: Vec::with_capacity(FLUSH_AT * 2),
            rows: 0,
        };
        if format == LogFormat::Tsv {
            let b = &mut writer.buf;
            b.extend_from_slice(
                b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n",
            );
            b.extend_from_slice(format!("#path\t{}\n", R::PATH).as_bytes());
            b.extend_from_slice(format!("#open\t{}\n", zeek_wall_time(open_time)).as_bytes());
            b.extend_from_slice(b"#fields");
            for f in R::FIELDS {
                b.push(b'\t');
                b.extend_from_slice(f.name.as_bytes());
            }
            b.extend_from_slice(b"\n#types");
            for f in R::FIELDS {
                b.push(b'\t');
                b.extend_from_slice(f.ty.zeek_name().as_bytes());
            }
            b.push(b'\n');
        }
        Ok(writer)
    }

    pub fn write<R: ZeekRecord>(&mut self, record: &R) -> io::Result<()> {
        let mut row = Row::new(&mut self.buf, self.format, R::FIELDS);
        record.write_row(&mut row);
        row.finish();
        self.rows += 1;
        if self.buf.len() >= FLUSH_AT {
            self.sink.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the `#close` footer (TSV) and flushes; returns the sink.
    pub fn close(mut self, close_time: std::time::SystemTime) -> io::Result<W> {
        if self.format == LogFormat::Tsv {
            self.buf
                .extend_from_slice(format!("#close\t{}\n", zeek_wall_time(close_time)).as_bytes());
        }
        self.sink.write_all(&self.buf)?;
        self.sink.flush()?;
        Ok(self.sink)
    }
}

/// Renders one record as a single line (TSV row or JSON object, with its newline) into
/// `out`, without a log header: for stores that keep records outside a log file.
pub fn write_record_line<R: ZeekRecord>(out: &mut Vec<u8>, format: LogFormat, record: &R) {
    let mut row = Row::new(out, format, R::FIELDS);
    record.write_row(&mut row);
    row.finish();
}

/// `%Y-%m-%d-%H-%M-%S` of a wall-clock time, in UTC.
pub fn zeek_wall_time(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = crate::time::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}-{:02}-{:02}-{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn wall_time_format() {
        let t = UNIX_EPOCH + Duration::from_secs(1_300_475_167);
        assert_eq!(zeek_wall_time(t), "2011-03-18-19-06-07");
        assert_eq!(zeek_wall_time(UNIX_EPOCH), "1970-01-01-00-00-00");
    }
}
