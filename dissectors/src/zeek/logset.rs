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
}

impl LogSet {
    pub fn new(format: LogFormat, open: SinkFactory) -> Self {
        LogSet {
            format,
            open,
            writers: BTreeMap::new(),
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

    /// Rows written so far, per log path.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        self.writers.iter().map(|(p, w)| (*p, w.rows())).collect()
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
