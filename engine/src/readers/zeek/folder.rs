//! A folder of Zeek logs: every log of a type slipstream reads (rotated and gzip files
//! included), merged into one stream in timestamp order.

use std::path::Path;
use std::sync::Arc;

use super::reader::ZeekLogReader;
use super::schema::LogKind;
use crate::readers::detect::{detect_bytes, InputKind};
use crate::readers::lines::{open_text, peek_content, Lines};
use crate::readers::merge::MergeByTime;
use crate::readers::{OpenError, RecordSource};

const PEEK: usize = 64 * 1024;

/// Opens every Zeek log in `dir` (not its subfolders). Files that are not Zeek logs, and
/// logs of types slipstream does not use, are skipped with a note.
pub fn open_folder(dir: &Path) -> Result<Box<dyn RecordSource>, OpenError> {
    let io_err = |e: std::io::Error| OpenError::Io(format!("{}: {e}", dir.display()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_err)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut sources: Vec<Box<dyn RecordSource>> = Vec::new();
    let mut notes = Vec::new();
    for path in entries {
        if !path.is_file() {
            continue;
        }
        let shown = path.display().to_string();
        let head = match peek_content(&path, PEEK) {
            Ok(h) => h,
            Err(e) => {
                notes.push(format!("skipped {shown}: {e}"));
                continue;
            }
        };
        match detect_bytes(&head) {
            Some(InputKind::ZeekTsv) | Some(InputKind::ZeekJson) => {}
            _ => {
                notes.push(format!("skipped {shown}: not a Zeek log"));
                continue;
            }
        }
        if let Some(unknown) = unused_log_type(&head) {
            notes.push(format!(
                "skipped {shown}: slipstream does not use the `{unknown}` log"
            ));
            continue;
        }
        match open_text(&path) {
            Ok(input) => sources.push(Box::new(ZeekLogReader::new(
                Arc::from(shown.as_str()),
                Lines::new(input),
            ))),
            Err(e) => notes.push(format!("skipped {shown}: {e}")),
        }
    }
    if sources.is_empty() {
        return Err(OpenError::Empty(format!(
            "{}: no Zeek log of a type slipstream reads{}",
            dir.display(),
            if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            }
        )));
    }
    Ok(Box::new(MergeByTime::new(sources, notes)))
}

/// The log type named by a TSV header's `#path` when slipstream does not read it, or a
/// description of a JSON log whose first line matches no known log.
fn unused_log_type(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    if first.starts_with('{') {
        // detect_bytes accepted it, so the first line's keys name a known log.
        return None;
    }
    let path = text
        .lines()
        .map(str::trim_start)
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("#path"))?
        .trim();
    LogKind::from_path(path).is_none().then(|| path.to_string())
}
