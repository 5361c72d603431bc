//! The set of logs one run writes: one [`LogWriter`] per log path, opened on first use.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::SystemTime;

use super::{LogFormat, LogWriter, ZeekRecord};

/// Opens the destination of a log given its path (`conn`, `dns` ...).
pub type SinkFactory = Box<dyn FnMut(&str) -> io::Result<Box<dyn Write + Send>> + Send>;

pub struct LogSet {
    format: LogFormat,
    open: SinkFactory,
    writers: BTreeMap<&'static str, LogWriter<Box<dyn Write + Send>>>,
    /// Rows of logs closed by a rotation, per path.
    rotated_rows: BTreeMap<&'static str, u64>,
}

impl LogSet {
    pub fn new(format: LogFormat, open: SinkFactory) -> Self {
        LogSet {
            format,
            open,
            writers: BTreeMap::new(),
            rotated_rows: BTreeMap::new(),
        }
    }

    pub fn write<R: ZeekRecord>(&mut self, record: &R) -> io::Result<()> {
        if !self.writers.contains_key(R::PATH) {
            let sink = (self.open)(R::PATH)?;
            let writer = LogWriter::new::<R>(sink, self.format, SystemTime::now())?;
            self.writers.insert(R::PATH, writer);
        }
        match self.writers.get_mut(R::PATH) {
            Some(w) => w.write(record),
            None => Ok(()),
        }
    }

    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Rows written so far, per log path, rotated logs included.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        let mut counts = self.rotated_rows.clone();
        for (p, w) in &self.writers {
            *counts.entry(p).or_default() += w.rows();
        }
        counts.into_iter().collect()
    }

    /// Closes every open log (footer written, flushed), as at the end of a run; the next
    /// record of a path opens a new log through the factory. Returns the paths closed,
    /// for the caller to rename their files.
    pub fn rotate(&mut self) -> io::Result<Vec<&'static str>> {
        let now = SystemTime::now();
        let mut closed = Vec::with_capacity(self.writers.len());
        for (path, w) in std::mem::take(&mut self.writers) {
            *self.rotated_rows.entry(path).or_default() += w.rows();
            w.close(now)?;
            closed.push(path);
        }
        Ok(closed)
    }

    /// Writes every footer and flushes every log.
    pub fn close(self) -> io::Result<()> {
        let now = SystemTime::now();
        for (_, w) in self.writers {
            w.close(now)?;
        }
        Ok(())
    }
}
