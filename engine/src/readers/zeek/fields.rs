//! Column values of one Zeek log line, looked up by column name, for the two formats:
//! a TSV row under its `#fields` header, and a JSON object. The typed getters report a
//! value that does not parse as a [`FieldError`] naming the column.

use std::borrow::Cow;
use std::cell::Cell;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::readers::values::{parse_addr, parse_interval, parse_time, parse_uid};
use dissectors::{Interval, Timestamp, Uid};

/// Why a line could not become a record.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldError {
    Missing(&'static str),
    Bad {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldError::Missing(name) => write!(f, "required column `{name}` is unset"),
            FieldError::Bad {
                field,
                value,
                expected,
            } => write!(f, "column `{field}`: `{value}` is not {expected}"),
        }
    }
}

pub type FieldResult<T> = Result<T, FieldError>;

/// One line's values. `None` is an absent or unset (`-`) column.
pub trait Fields {
    /// A scalar column as text (numbers and bools in their printed form).
    fn text(&self, name: &str) -> Option<Cow<'_, str>>;
    /// The elements of a set or vector column; an empty container is `Some(vec![])`.
    fn list(&self, name: &str) -> Option<Vec<Cow<'_, str>>>;
}

/// Separators and markers from a TSV log's header.
#[derive(Clone, Debug)]
pub struct TsvFormat {
    pub separator: u8,
    pub set_separator: u8,
    pub empty: Vec<u8>,
    pub unset: Vec<u8>,
}

impl Default for TsvFormat {
    fn default() -> Self {
        TsvFormat {
            separator: b'\t',
            set_separator: b',',
            empty: b"(empty)".to_vec(),
            unset: b"-".to_vec(),
        }
    }
}

/// A TSV row: cell ranges into the line, named by the header's `#fields`.
pub struct TsvFields<'a> {
    pub line: &'a [u8],
    pub cells: &'a [(usize, usize)],
    pub names: &'a [String],
    pub format: &'a TsvFormat,
    /// Where the previous lookup matched: builders ask in column order, so the next
    /// column is almost always the one after it.
    hint: Cell<usize>,
}

impl<'a> TsvFields<'a> {
    pub fn new(
        line: &'a [u8],
        cells: &'a [(usize, usize)],
        names: &'a [String],
        format: &'a TsvFormat,
    ) -> Self {
        TsvFields {
            line,
            cells,
            names,
            format,
            hint: Cell::new(0),
        }
    }

    fn raw(&self, name: &str) -> Option<&'a [u8]> {
        let n = self.names.len();
        if n == 0 {
            return None;
        }
        let start = self.hint.get() % n;
        let mut i = start;
        loop {
            if self.names[i] == name {
                self.hint.set(i + 1);
                let &(s, e) = self.cells.get(i)?;
                let cell = &self.line[s..e];
                return (cell != self.format.unset.as_slice()).then_some(cell);
            }
            i = (i + 1) % n;
            if i == start {
                return None;
            }
        }
    }
}

/// Undoes the escapes Zeek's TSV writer adds for its own syntax: a separator (or set
/// separator inside a container) written as `\xHH`, and a value equal to the unset or
/// empty marker written with its first byte as `\xHH`. Other `\xHH` sequences are Zeek's
/// rendering of non-printable content and stay as they are, as the native dissectors
/// keep them (`dissectors::zeek::escape_bytes_lossy`).
fn unescape<'b>(cell: &'b [u8], format: &TsvFormat, in_container: bool) -> Cow<'b, str> {
    let has_escape = cell.windows(2).any(|w| w == b"\\x");
    if !has_escape {
        return String::from_utf8_lossy(cell);
    }
    let mut out = Vec::with_capacity(cell.len());
    let mut i = 0;
    while i < cell.len() {
        if cell[i] == b'\\' && cell.len() >= i + 4 && cell[i + 1] == b'x' {
            if let Some(b) = hex_byte(cell[i + 2], cell[i + 3]) {
                let rest = &cell[i + 4..];
                let syntax = b == format.separator
                    || (in_container && b == format.set_separator)
                    || (i == 0 && marker_escape(b, rest, format));
                if syntax {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(cell[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Whether `first` + `rest` spells the unset or empty marker (escaped so it reads as a value).
fn marker_escape(first: u8, rest: &[u8], format: &TsvFormat) -> bool {
    let is = |m: &[u8]| m.first() == Some(&first) && &m[1..] == rest;
    is(&format.unset) || is(&format.empty)
}

fn hex_byte(h: u8, l: u8) -> Option<u8> {
    let v = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    Some(v(h)? << 4 | v(l)?)
}

impl Fields for TsvFields<'_> {
    fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        let cell = self.raw(name)?;
        if cell == self.format.empty.as_slice() {
            return Some(Cow::Borrowed(""));
        }
        Some(unescape(cell, self.format, false))
    }

    fn list(&self, name: &str) -> Option<Vec<Cow<'_, str>>> {
        let cell = self.raw(name)?;
        if cell == self.format.empty.as_slice() {
            return Some(Vec::new());
        }
        Some(
            cell.split(|&b| b == self.format.set_separator)
                .map(|item| unescape(item, self.format, true))
                .collect(),
        )
    }
}

/// A JSON line of Zeek's JSON writer: flat keys (`id.orig_h`), or nested objects when
/// the writer was not told to flatten.
pub struct JsonFields<'a> {
    pub obj: &'a Map<String, Value>,
}

impl JsonFields<'_> {
    fn value(&self, name: &str) -> Option<&Value> {
        if let Some(v) = self.obj.get(name) {
            return Some(v);
        }
        let mut parts = name.split('.');
        let mut v = self.obj.get(parts.next()?)?;
        for p in parts {
            v = v.as_object()?.get(p)?;
        }
        Some(v)
    }
}

fn scalar_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "T" } else { "F" })),
        Value::Array(_) | Value::Object(_) => Some(Cow::Owned(v.to_string())),
    }
}

impl Fields for JsonFields<'_> {
    fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        scalar_text(self.value(name)?)
    }

    fn list(&self, name: &str) -> Option<Vec<Cow<'_, str>>> {
        match self.value(name)? {
            Value::Array(items) => Some(items.iter().filter_map(scalar_text).collect()),
            Value::Null => None,
            other => Some(scalar_text(other).into_iter().collect()),
        }
    }
}

fn bad(field: &'static str, value: &str, expected: &'static str) -> FieldError {
    FieldError::Bad {
        field,
        value: value.chars().take(80).collect(),
        expected,
    }
}

/// Typed access on top of [`Fields`].
pub trait TypedFields: Fields {
    fn opt_string(&self, name: &'static str) -> Option<String> {
        self.text(name).map(Cow::into_owned)
    }

    fn opt_parsed<T>(
        &self,
        name: &'static str,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> FieldResult<Option<T>> {
        match self.text(name) {
            None => Ok(None),
            Some(t) => parse(&t).map(Some).ok_or_else(|| bad(name, &t, expected)),
        }
    }

    fn time(&self, name: &'static str) -> FieldResult<Timestamp> {
        self.opt_time(name)?.ok_or(FieldError::Missing(name))
    }

    fn opt_time(&self, name: &'static str) -> FieldResult<Option<Timestamp>> {
        self.opt_parsed(name, "a time", parse_time)
    }

    fn opt_interval(&self, name: &'static str) -> FieldResult<Option<Interval>> {
        self.opt_parsed(name, "an interval", parse_interval)
    }

    fn opt_count(&self, name: &'static str) -> FieldResult<Option<u64>> {
        self.opt_parsed(name, "a count", |s| s.parse::<u64>().ok())
    }

    fn count_or_zero(&self, name: &'static str) -> FieldResult<u64> {
        Ok(self.opt_count(name)?.unwrap_or(0))
    }

    /// A count that must fit a narrower type (`u16` transaction ids, `u8` codes).
    fn opt_small<T: TryFrom<u64>>(&self, name: &'static str) -> FieldResult<Option<T>> {
        self.opt_parsed(name, "a count in range", |s| {
            s.parse::<u64>().ok().and_then(|v| T::try_from(v).ok())
        })
    }

    fn opt_int(&self, name: &'static str) -> FieldResult<Option<i64>> {
        self.opt_parsed(name, "an integer", |s| s.parse::<i64>().ok())
    }

    fn opt_double(&self, name: &'static str) -> FieldResult<Option<f64>> {
        self.opt_parsed(name, "a number", |s| {
            s.parse::<f64>().ok().filter(|v| v.is_finite())
        })
    }

    fn opt_bool(&self, name: &'static str) -> FieldResult<Option<bool>> {
        self.opt_parsed(name, "a bool (T/F)", |s| match s {
            "T" | "true" => Some(true),
            "F" | "false" => Some(false),
            _ => None,
        })
    }

    fn bool_or_false(&self, name: &'static str) -> FieldResult<bool> {
        Ok(self.opt_bool(name)?.unwrap_or(false))
    }

    fn opt_addr(&self, name: &'static str) -> FieldResult<Option<IpAddr>> {
        self.opt_parsed(name, "an address", parse_addr)
    }

    fn addr(&self, name: &'static str) -> FieldResult<IpAddr> {
        self.opt_addr(name)?.ok_or(FieldError::Missing(name))
    }

    fn opt_port(&self, name: &'static str) -> FieldResult<Option<u16>> {
        // Zeek's JSON writer prints ports as numbers; some tools append `/tcp`.
        self.opt_parsed(name, "a port", |s| {
            s.split('/').next().and_then(|p| p.parse::<u16>().ok())
        })
    }

    fn port(&self, name: &'static str) -> FieldResult<u16> {
        self.opt_port(name)?.ok_or(FieldError::Missing(name))
    }

    fn opt_uid(&self, name: &'static str, prefix: u8) -> Option<Uid> {
        self.text(name).map(|t| parse_uid(&t, prefix))
    }

    fn uid(&self, name: &'static str, prefix: u8) -> FieldResult<Uid> {
        self.opt_uid(name, prefix).ok_or(FieldError::Missing(name))
    }

    fn opt_strings(&self, name: &'static str) -> Option<Vec<String>> {
        self.list(name)
            .map(|v| v.into_iter().map(Cow::into_owned).collect())
    }

    fn opt_list_of<T>(
        &self,
        name: &'static str,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> FieldResult<Option<Vec<T>>> {
        let Some(items) = self.list(name) else {
            return Ok(None);
        };
        items
            .iter()
            .map(|t| parse(t).ok_or_else(|| bad(name, t, expected)))
            .collect::<FieldResult<Vec<T>>>()
            .map(Some)
    }
}

impl<F: Fields + ?Sized> TypedFields for F {}

pub(crate) fn bad_value(field: &'static str, value: &str, expected: &'static str) -> FieldError {
    bad(field, value, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_cells_by_name_with_markers_and_escapes() {
        let line = b"1.5\t-\t(empty)\ta\\x2cb,c\t\\x2d\tx\\x00y";
        let mut cells = Vec::new();
        let mut start = 0;
        for (i, &b) in line.iter().enumerate() {
            if b == b'\t' {
                cells.push((start, i));
                start = i + 1;
            }
        }
        cells.push((start, line.len()));
        let names: Vec<String> = ["ts", "u", "e", "set", "dash", "raw"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let format = TsvFormat::default();
        let f = TsvFields::new(line, &cells, &names, &format);
        assert_eq!(f.time("ts").unwrap(), Timestamp(1_500_000));
        assert_eq!(f.text("u"), None);
        assert_eq!(f.text("e").as_deref(), Some(""));
        assert_eq!(f.list("e"), Some(vec![]));
        assert_eq!(
            f.opt_strings("set"),
            Some(vec!["a,b".to_string(), "c".to_string()])
        );
        assert_eq!(f.text("dash").as_deref(), Some("-"));
        assert_eq!(f.text("raw").as_deref(), Some("x\\x00y"));
        assert_eq!(f.text("nope"), None);
        assert!(matches!(
            f.opt_count("ts"),
            Err(FieldError::Bad { field: "ts", .. })
        ));
    }

    #[test]
    fn json_values_flat_and_nested() {
        let obj: Map<String, Value> =
            serde_json::from_str(r#"{"id.orig_p":80,"id":{"resp_h":"::1"},"b":true,"l":["a",1]}"#)
                .unwrap();
        let f = JsonFields { obj: &obj };
        assert_eq!(f.port("id.orig_p").unwrap(), 80);
        assert_eq!(f.addr("id.resp_h").unwrap().to_string(), "::1");
        assert_eq!(f.opt_bool("b").unwrap(), Some(true));
        assert_eq!(
            f.opt_strings("l"),
            Some(vec!["a".to_string(), "1".to_string()])
        );
    }
}
