//! One stream of Zeek log lines: a TSV log with its `#` header, JSON lines, or several
//! logs one after another (a header starts the next TSV log; each JSON line is typed by
//! its keys).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::build::build;
use super::fields::{JsonFields, TsvFields, TsvFormat};
use super::schema::LogKind;
use crate::readers::lines::Lines;
use crate::readers::{Place, ReadError, RecordSource};
use dissectors::Record;

pub struct ZeekLogReader {
    source: Arc<str>,
    lines: Lines,
    format: TsvFormat,
    names: Vec<String>,
    /// Type of the TSV log being read; `None` with `skipping` set for a log type that is
    /// not read.
    tsv_kind: Option<LogKind>,
    skipping: Option<String>,
    cells: Vec<(usize, usize)>,
    json_kind: Option<LogKind>,
    unknown_json_lines: u64,
    notes: Vec<String>,
    finished: bool,
}

impl ZeekLogReader {
    pub fn new(source: Arc<str>, lines: Lines) -> Self {
        ZeekLogReader {
            source,
            lines,
            format: TsvFormat::default(),
            names: Vec::new(),
            tsv_kind: None,
            skipping: None,
            cells: Vec::with_capacity(32),
            json_kind: None,
            unknown_json_lines: 0,
            notes: Vec::new(),
            finished: false,
        }
    }

    fn error(&self, message: String) -> ReadError {
        ReadError {
            source: self.source.clone(),
            place: Place::Line(self.lines.line_no()),
            message,
        }
    }

    /// Applies one `#` header line.
    fn header(&mut self, line: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(line);
        if let Some(sep) = text.strip_prefix("#separator ") {
            self.format.separator =
                decode_separator(sep).ok_or_else(|| format!("unreadable #separator `{sep}`"))?;
            return Ok(());
        }
        let sep = self.format.separator as char;
        let mut parts = text.split(sep);
        let directive = parts.next().unwrap_or_default();
        let values: Vec<&str> = parts.collect();
        let first = values.first().copied().unwrap_or_default();
        match directive {
            "#set_separator" => {
                self.format.set_separator = decode_separator(first)
                    .ok_or_else(|| format!("unreadable #set_separator `{first}`"))?;
            }
            "#empty_field" => self.format.empty = first.as_bytes().to_vec(),
            "#unset_field" => self.format.unset = first.as_bytes().to_vec(),
            "#path" => {
                self.tsv_kind = LogKind::from_path(first);
                self.skipping = None;
                if self.tsv_kind.is_none() {
                    self.notes.push(format!(
                        "{}: skipped the `{first}` log: slipstream does not use this log type",
                        self.source
                    ));
                    self.skipping = Some(first.to_string());
                }
            }
            "#fields" => {
                self.names = values.iter().map(|s| s.to_string()).collect();
                if self.tsv_kind.is_none() && self.skipping.is_none() {
                    self.tsv_kind = LogKind::from_json_keys(self.names.iter().map(String::as_str));
                    if self.tsv_kind.is_none() {
                        self.notes.push(format!(
                            "{}: skipped a log without #path whose columns match no known log",
                            self.source
                        ));
                        self.skipping = Some("unknown".to_string());
                    }
                }
            }
            _ => {} // #types, #open, #close and comments carry nothing needed here.
        }
        Ok(())
    }

    fn json_line(&mut self, line: &[u8]) -> Option<Result<Record, ReadError>> {
        let obj: Map<String, Value> = match serde_json::from_slice(line) {
            Ok(o) => o,
            Err(e) => return Some(Err(self.error(format!("malformed JSON: {e}")))),
        };
        let kind = match self.json_kind {
            Some(k) if obj.contains_key(k.signature_key()) => k,
            _ => match LogKind::from_json_keys(obj.keys().map(String::as_str)) {
                Some(k) => {
                    self.json_kind = Some(k);
                    k
                }
                None => {
                    self.unknown_json_lines += 1;
                    return None;
                }
            },
        };
        Some(
            build(kind, &JsonFields { obj: &obj })
                .map_err(|e| self.error(format!("{} line: {e}", kind.path()))),
        )
    }
}

/// `\x09` or a literal character.
fn decode_separator(s: &str) -> Option<u8> {
    if let Some(hex) = s.strip_prefix("\\x") {
        return u8::from_str_radix(hex.get(..2)?, 16).ok();
    }
    (s.len() == 1).then(|| s.as_bytes()[0])
}

impl Iterator for ZeekLogReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            let line = match self.lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.finished = true;
                    break;
                }
                Err(e) => {
                    self.finished = true;
                    return Some(Err(self.error(format!("read failed: {e}"))));
                }
            };
            if line.is_empty() {
                continue;
            }
            // Some hand-edited logs in the wild indent the header with a tab.
            let meta = line.trim_ascii_start();
            if meta.first() == Some(&b'#') {
                let owned = meta.to_vec();
                if let Err(msg) = self.header(&owned) {
                    return Some(Err(self.error(msg)));
                }
                continue;
            }
            if line[0] == b'{' {
                let owned = line.to_vec();
                match self.json_line(&owned) {
                    Some(r) => return Some(r),
                    None => continue,
                }
            }
            if self.skipping.is_some() {
                continue;
            }
            let Some(kind) = self.tsv_kind else {
                let msg = "data line before any #fields header".to_string();
                return Some(Err(self.error(msg)));
            };
            self.cells.clear();
            let sep = self.format.separator;
            let mut start = 0;
            for (i, &b) in line.iter().enumerate() {
                if b == sep {
                    self.cells.push((start, i));
                    start = i + 1;
                }
            }
            self.cells.push((start, line.len()));
            if self.cells.len() != self.names.len() {
                let msg = format!(
                    "{} line has {} columns, the #fields header has {}",
                    kind.path(),
                    self.cells.len(),
                    self.names.len()
                );
                return Some(Err(ReadError {
                    source: self.source.clone(),
                    place: Place::Line(self.lines.line_no()),
                    message: msg,
                }));
            }
            let fields = TsvFields::new(line, &self.cells, &self.names, &self.format);
            let built = build(kind, &fields);
            return Some(built.map_err(|e| ReadError {
                source: self.source.clone(),
                place: Place::Line(self.lines.line_no()),
                message: format!("{} line: {e}", kind.path()),
            }));
        }
        None
    }
}

impl RecordSource for ZeekLogReader {
    fn notes(&self) -> Vec<String> {
        let mut notes = self.notes.clone();
        if self.unknown_json_lines > 0 {
            notes.push(format!(
                "{}: skipped {} JSON lines of a log type slipstream does not use",
                self.source, self.unknown_json_lines
            ));
        }
        notes
    }
}
