//! The capture file's pages, kept ahead of the reader and dropped behind it by a thread
//! of its own: the reader then takes no page fault on the mapping and spends no time
//! unmapping, and the resident size of the file stays a few megabytes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::capture::PcapFile;

/// Bytes mapped ahead of the reader's position.
const AHEAD: usize = 8 << 20;
/// Bytes mapped per request.
const CHUNK: usize = 2 << 20;
/// Bytes dropped per request, once they are this far behind the reader (plus `lag`).
const STEP: usize = 4 << 20;
/// Wait when the reader needs nothing: far less than it takes to read [`AHEAD`] bytes.
const IDLE: Duration = Duration::from_micros(100);

/// Runs while `reading` is set, following the reader's byte offset in `position`;
/// `lag` bytes behind the reader stay resident (packets queued for workers).
pub(super) fn run(file: &PcapFile, position: &AtomicUsize, reading: &AtomicBool, lag: usize) {
    let len = file.bytes().len();
    let mut populated = 0usize;
    let mut released = 0usize;
    while reading.load(Ordering::Relaxed) {
        let at = position.load(Ordering::Relaxed);
        if populated < len && populated < at + AHEAD {
            // Never behind the reader: what it has passed needs no mapping any more.
            let start = populated.max(at);
            let end = (start + CHUNK).min(len);
            file.populate(start, end);
            populated = end;
        } else if at > released + STEP + lag {
            let to = at - lag;
            file.release(released, to);
            released = to;
        } else {
            std::thread::sleep(IDLE);
        }
    }
}
