//! Several record streams as one, in timestamp order (each input is assumed to be in
//! roughly ascending order, as logs and flow files are written).

use crate::readers::{ReadError, RecordSource};
use dissectors::Record;

pub struct MergeByTime {
    sources: Vec<Box<dyn RecordSource>>,
    heads: Vec<Option<Record>>,
    exhausted: Vec<bool>,
    notes: Vec<String>,
}

impl MergeByTime {
    pub fn new(sources: Vec<Box<dyn RecordSource>>, notes: Vec<String>) -> Self {
        let n = sources.len();
        MergeByTime {
            sources,
            heads: vec![None; n],
            exhausted: vec![false; n],
            notes,
        }
    }
}

impl Iterator for MergeByTime {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Refill empty heads; errors go out as soon as they are met.
        for i in 0..self.sources.len() {
            if self.heads[i].is_none() && !self.exhausted[i] {
                match self.sources[i].next() {
                    Some(Ok(r)) => self.heads[i] = Some(r),
                    Some(Err(e)) => return Some(Err(e)),
                    None => self.exhausted[i] = true,
                }
            }
        }
        let earliest = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref().map(|r| (r.ts(), i)))
            .min()?
            .1;
        self.heads[earliest].take().map(Ok)
    }
}

impl RecordSource for MergeByTime {
    fn notes(&self) -> Vec<String> {
        let mut notes = self.notes.clone();
        for s in &self.sources {
            notes.extend(s.notes());
        }
        notes
    }
}
