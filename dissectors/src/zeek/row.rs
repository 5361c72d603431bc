//! One log line being written: typed values rendered for TSV or JSON.

use std::net::IpAddr;

use super::escape::{write_json_string, write_tsv_escaped};
use super::{Field, LogFormat};
use crate::time::{write_fixed6, Interval, Timestamp};

/// Renders the columns of one record in order. Each call writes the next column of the
/// schema; `None` is Zeek's unset value (`-` in TSV, an omitted key in JSON).
pub struct Row<'a> {
    out: &'a mut Vec<u8>,
    format: LogFormat,
    fields: &'static [Field],
    column: usize,
    json_keys_written: usize,
}

impl<'a> Row<'a> {
    pub(super) fn new(out: &'a mut Vec<u8>, format: LogFormat, fields: &'static [Field]) -> Self {
        if format == LogFormat::Json {
            out.push(b'{');
        }
        Row {
            out,
            format,
            fields,
            column: 0,
            json_keys_written: 0,
        }
    }

    pub(super) fn finish(self) {
        debug_assert_eq!(
            self.column,
            self.fields.len(),
            "record wrote a wrong column count"
        );
        if self.format == LogFormat::Json {
            self.out.push(b'}');
        }
        self.out.push(b'\n');
    }

    /// Starts the next column; returns false (after writing TSV's unset marker) when the
    /// value is absent. Always inlined, with the JSON keys written out of line: every
    /// column of every row starts here, and the call itself was two thirds of its cost.
    #[inline(always)]
    fn begin(&mut self, present: bool) -> bool {
        let column = self.column;
        self.column += 1;
        match self.format {
            LogFormat::Tsv => {
                if column > 0 {
                    self.out.push(b'\t');
                }
                if !present {
                    self.out.push(b'-');
                }
            }
            LogFormat::Json => {
                if present {
                    self.json_key(column);
                }
            }
        }
        present
    }

    fn json_key(&mut self, column: usize) {
        if self.json_keys_written > 0 {
            self.out.push(b',');
        }
        self.json_keys_written += 1;
        // Field names are plain (checked by `field`): no escaping needed.
        let name = self.fields.get(column).map_or("?", |f| f.name);
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// Starts the next column and yields the value when there is one.
    fn present<T>(&mut self, v: Option<T>) -> Option<T> {
        if self.begin(v.is_some()) {
            v
        } else {
            None
        }
    }

    fn push_decimal<T: itoa::Integer>(&mut self, v: T) {
        let mut buf = itoa::Buffer::new();
        self.out.extend_from_slice(buf.format(v).as_bytes());
    }

    fn push_seconds(&mut self, micros: i64) {
        match self.format {
            LogFormat::Tsv => write_fixed6(self.out, micros),
            LogFormat::Json => push_json_seconds(self.out, micros),
        }
    }

    pub fn time(&mut self, v: Option<Timestamp>) {
        if let Some(t) = self.present(v) {
            self.push_seconds(t.0);
        }
    }

    pub fn interval(&mut self, v: Option<Interval>) {
        if let Some(i) = self.present(v) {
            self.push_seconds(i.0);
        }
    }

    pub fn count(&mut self, v: Option<u64>) {
        if let Some(n) = self.present(v) {
            self.push_decimal(n);
        }
    }

    pub fn int(&mut self, v: Option<i64>) {
        if let Some(n) = self.present(v) {
            self.push_decimal(n);
        }
    }

    pub fn port(&mut self, v: Option<u16>) {
        self.count(v.map(u64::from));
    }

    pub fn double(&mut self, v: Option<f64>) {
        if let Some(d) = self.present(v) {
            match self.format {
                LogFormat::Tsv => {
                    let mut s = format!("{d}");
                    if s.contains('.') {
                        while s.ends_with('0') {
                            s.pop();
                        }
                        if s.ends_with('.') {
                            s.pop();
                        }
                    }
                    self.out.extend_from_slice(s.as_bytes());
                }
                LogFormat::Json => push_json_double(self.out, d),
            }
        }
    }

    pub fn bool(&mut self, v: Option<bool>) {
        if let Some(b) = self.present(v) {
            let text: &[u8] = match (self.format, b) {
                (LogFormat::Tsv, true) => b"T",
                (LogFormat::Tsv, false) => b"F",
                (LogFormat::Json, true) => b"true",
                (LogFormat::Json, false) => b"false",
            };
            self.out.extend_from_slice(text);
        }
    }

    /// Text that never needs escaping (an address, a uid): quoted in JSON, as is in TSV.
    fn unescaped_text(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let quoted = self.format == LogFormat::Json;
        if quoted {
            self.out.push(b'"');
        }
        write(self.out);
        if quoted {
            self.out.push(b'"');
        }
    }

    pub fn addr(&mut self, v: Option<IpAddr>) {
        if let Some(a) = self.present(v) {
            self.unescaped_text(|out| crate::net::push_ip(out, a));
        }
    }

    /// A uid (`string` column): alphanumeric, so never escaped.
    pub fn uid(&mut self, v: Option<crate::uid::Uid>) {
        if let Some(u) = self.present(v) {
            let mut buf = [0u8; crate::uid::UID_TEXT_MAX];
            let text = u.ascii(&mut buf);
            self.unescaped_text(|out| out.extend_from_slice(text));
        }
    }

    /// A `string` or `enum` column.
    pub fn str(&mut self, v: Option<&str>) {
        if let Some(s) = self.present(v) {
            match self.format {
                LogFormat::Tsv if s.is_empty() => self.out.extend_from_slice(b"(empty)"),
                LogFormat::Tsv => write_tsv_escaped(self.out, s, false),
                LogFormat::Json => write_json_string(self.out, s),
            }
        }
    }

    /// A `set[...]` or `vector[...]` of strings; `None` is unset, an empty iterator is
    /// Zeek's `(empty)`.
    pub fn strings<I>(&mut self, v: Option<I>)
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let Some(items) = v else {
            self.begin(false);
            return;
        };
        self.begin(true);
        let start = self.out.len();
        match self.format {
            LogFormat::Tsv => {
                for (i, s) in items.into_iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    write_tsv_escaped(self.out, s.as_ref(), true);
                }
                if self.out.len() == start {
                    self.out.extend_from_slice(b"(empty)");
                }
            }
            LogFormat::Json => {
                self.out.push(b'[');
                for (i, s) in items.into_iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    write_json_string(self.out, s.as_ref());
                }
                self.out.push(b']');
            }
        }
    }

    /// A `vector[interval]`; `None` is unset, an empty iterator is Zeek's `(empty)`.
    pub fn intervals<I: IntoIterator<Item = Interval>>(&mut self, v: Option<I>) {
        let Some(items) = v else {
            self.begin(false);
            return;
        };
        self.begin(true);
        let json = self.format == LogFormat::Json;
        if json {
            self.out.push(b'[');
        }
        let mut written = 0;
        for iv in items {
            if written > 0 {
                self.out.push(b',');
            }
            self.push_seconds(iv.0);
            written += 1;
        }
        if json {
            self.out.push(b']');
        } else if written == 0 {
            self.out.extend_from_slice(b"(empty)");
        }
    }
}

/// `micros` as a JSON number of seconds, the text [`push_json_double`] gives for
/// `micros / 1e6`, without formatting a float. Below 2^32 seconds the double nearest to
/// the decimal `s.ffffff` is less than half a microsecond from its neighbours, so no
/// shorter decimal reads back as it: its shortest round-trip form is that decimal with
/// trailing zeros dropped. Float formatting was half the cost of a dns.log JSON line.
fn push_json_seconds(out: &mut Vec<u8>, micros: i64) {
    const EXACT_BELOW: u64 = (1 << 32) * 1_000_000;
    if micros.unsigned_abs() >= EXACT_BELOW {
        push_json_double(out, micros as f64 / 1_000_000.0);
        return;
    }
    write_fixed6(out, micros);
    // The fraction's trailing zeros dropped, one digit kept.
    while out.ends_with(b"0") && out[out.len() - 2] != b'.' {
        out.pop();
    }
}

/// JSON numbers as Zeek's rapidjson writes doubles: shortest round-trip form, and always
/// with a fractional part (`100.0`, not `100`).
fn push_json_double(out: &mut Vec<u8>, d: f64) {
    if !d.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    use std::io::Write;
    let start = out.len();
    let _ = write!(out, "{d}");
    if !out[start..].contains(&b'.') {
        out.extend_from_slice(b".0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zeek::{field, FieldType};

    #[test]
    #[should_panic(expected = "a field name needs no escaping")]
    fn a_field_name_that_would_need_escaping_is_refused() {
        let _ = field("bad\"name", FieldType::String);
    }

    #[test]
    fn json_keys_are_the_field_names() {
        static FIELDS: &[Field] = &[
            field("id.orig_h", FieldType::Addr),
            field("service", FieldType::String),
        ];
        let mut out = Vec::new();
        let mut row = Row::new(&mut out, LogFormat::Json, FIELDS);
        row.addr(Some("10.0.0.1".parse().unwrap()));
        row.str(Some("dns"));
        row.finish();
        assert_eq!(out, b"{\"id.orig_h\":\"10.0.0.1\",\"service\":\"dns\"}\n");
    }

    #[test]
    fn seconds_without_float_formatting_match_the_shortest_double() {
        let check = |micros: i64| {
            let mut fast = Vec::new();
            push_json_seconds(&mut fast, micros);
            let mut slow = Vec::new();
            push_json_double(&mut slow, micros as f64 / 1_000_000.0);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(slow).unwrap(),
                "{micros}"
            );
        };
        let edge: i64 = (1 << 32) * 1_000_000;
        for m in [
            0, 1, -1, 10, 999_999, 1_000_000, -1_000_000, 1_500_000, -500_000,
        ] {
            check(m);
        }
        for m in [
            edge - 1,
            edge,
            edge + 1,
            -edge + 1,
            -edge,
            1_795_000_596_293_123,
        ] {
            check(m);
        }
        // A spread of magnitudes and fractions, from microseconds to the edge.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let magnitude = 10i64.pow((x % 17) as u32).min(edge);
            let m = (x >> 8) as i64 % magnitude;
            check(m);
            check(-m);
            check(m - m % 1000);
        }
    }
}
