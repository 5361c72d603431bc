//! Inputs other than packets: Zeek logs, Suricata EVE JSON, Argus binetflow and nfdump
//! files, turned into the same [`Record`]s the native dissectors produce, so everything
//! downstream works the same whatever the input.
//!
//! [`detect`] tells what a path is by its content; [`open`] gives a [`RecordSource`]: an
//! iterator of records and per-line errors. A malformed line is an error naming the file
//! and line; reading goes on with the next line.

pub mod argus;
pub mod detect;
pub mod follow;
pub mod lines;
pub mod merge;
pub mod nfdump;
pub mod suricata;
pub mod values;
pub mod zeek;
pub mod zeek_run;

use std::fmt;
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

use dissectors::Record;

pub use detect::{detect, detect_bytes, DetectError, InputKind};
pub use follow::follow_folder;

/// Where in an input a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// 1-based line number of a text input.
    Line(u64),
    /// Byte offset in a binary input.
    Offset(u64),
    /// The input as a whole.
    Whole,
}

/// A line or record that could not be read, and why. Reading goes on after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// The file (or `<stdin>`).
    pub source: Arc<str>,
    pub place: Place,
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Line(n) => write!(f, "{}:{n}: {}", self.source, self.message),
            Place::Offset(o) => write!(f, "{}: byte {o}: {}", self.source, self.message),
            Place::Whole => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

impl std::error::Error for ReadError {}

/// A stream of records from one input.
pub trait RecordSource: Iterator<Item = Result<Record, ReadError>> + Send {
    /// What was left out and why (log types not used, files that are not logs).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether the source ends by itself once the run's stop flag is set, after
    /// handing what was written until then (a followed folder, a live Zeek): the reader
    /// must then drain it instead of breaking off at the stop.
    fn drains_on_stop(&self) -> bool {
        false
    }
}

/// Why an input could not be opened at all.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Detect(#[from] DetectError),
    #[error("{0}: a packet capture; read it with the native engine (pipeline::run_file)")]
    Pcap(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Empty(String),
    #[error("{0}")]
    Unsupported(String),
}

/// Opens `path` as whatever [`detect`] says it is.
pub fn open(path: &Path) -> Result<Box<dyn RecordSource>, OpenError> {
    let kind = detect(path)?;
    open_as(path, kind)
}

/// Opens `path` as `kind` (when the caller already knows it).
pub fn open_as(path: &Path, kind: InputKind) -> Result<Box<dyn RecordSource>, OpenError> {
    let shown: Arc<str> = Arc::from(path.display().to_string().as_str());
    let text = || {
        lines::open_text(path)
            .map(lines::Lines::new)
            .map_err(|e| OpenError::Io(format!("{shown}: {e}")))
    };
    Ok(match kind {
        InputKind::Pcap => return Err(OpenError::Pcap(shown.to_string())),
        InputKind::ZeekFolder => zeek::open_folder(path)?,
        InputKind::ZeekTsv | InputKind::ZeekJson => {
            Box::new(zeek::ZeekLogReader::new(shown.clone(), text()?))
        }
        InputKind::Suricata => Box::new(suricata::SuricataReader::new(shown.clone(), text()?)),
        InputKind::Argus => Box::new(argus::ArgusReader::new(shown.clone(), text()?, None)),
        InputKind::Nfdump => nfdump::open(path)?,
    })
}

/// Line formats that can come on standard input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFormat {
    /// Zeek logs, TSV (with header) or JSON lines.
    Zeek,
    /// Suricata EVE JSON lines.
    Suricata,
    /// Argus binetflow lines; a header line is used when there is one, else `ra`'s
    /// default column order is assumed.
    Argus,
}

/// Reads `format` lines from `input` (standard input, a pipe) until its end.
pub fn open_stream(
    input: Box<dyn BufRead + Send>,
    format: StreamFormat,
    name: &str,
) -> Box<dyn RecordSource> {
    let source: Arc<str> = Arc::from(name);
    let lines = lines::Lines::new(input);
    match format {
        StreamFormat::Zeek => Box::new(zeek::ZeekLogReader::new(source, lines)),
        StreamFormat::Suricata => Box::new(suricata::SuricataReader::new(source, lines)),
        StreamFormat::Argus => Box::new(argus::ArgusReader::new(
            source,
            lines,
            Some(argus::Columns::ra_default()),
        )),
    }
}

/// [`open_stream`] on this process's standard input.
pub fn open_stdin(format: StreamFormat) -> Box<dyn RecordSource> {
    open_stream(Box::new(io::BufReader::new(io::stdin())), format, "<stdin>")
}
