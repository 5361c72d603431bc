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
/// Bytes dropped per request, once they are this far behind the slowest reader.
const STEP: usize = 4 << 20;
/// Wait when the reader needs nothing: far less than it takes to read [`AHEAD`] bytes (5 ms
/// at 1.6 GB/s, the conn-only speed), and long enough not to spend a tenth of a core waking
/// up while a slower reader (every detector on) moves on: 100 µs did.
const IDLE: Duration = Duration::from_millis(1);
/// How far the slowest reader may get beyond the released pages before a reader drops them
/// itself. On a busy machine the pager can be kept off the CPU for tens of milliseconds while
/// the reader faults the pages in, and they stayed resident until it ran again: 40 to 200
/// MiB more peak RSS now and then on the benchmark capture.
const READER_RELEASES_BEYOND: usize = 8 << 20;
/// Bytes of progress between two sweeps of everything behind the release point. Pages read
/// again after their release (bytes a connection's state still borrows, read when it ends)
/// come back and were never dropped again: the mapping's resident size grew by 45 MB over
/// a 1 GB capture. One madvise over the whole prefix, mostly unmapped, is cheap.
const SWEEP_EVERY: usize = 64 << 20;

/// Where each thread reading the file is (a byte offset), each on a cache line of its own:
/// the pager maps ahead of the slowest and drops only what every one of them has passed.
pub(super) struct Positions(Box<[Slot]>);

#[repr(align(128))]
struct Slot(AtomicUsize);

impl Positions {
    pub(super) fn new(readers: usize) -> Self {
        Positions(
            (0..readers.max(1))
                .map(|_| Slot(AtomicUsize::new(0)))
                .collect(),
        )
    }

    pub(super) fn set(&self, reader: usize, at: usize) {
        self.0[reader].0.store(at, Ordering::Relaxed);
    }

    pub(super) fn slowest(&self) -> usize {
        self.0
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0)
    }
}

/// Everything before this byte offset has been dropped; the pager and, when the pager falls
/// behind, the reader move it forward.
pub(super) struct Released(AtomicUsize);

impl Released {
    pub(super) fn new() -> Self {
        Released(AtomicUsize::new(0))
    }

    /// Drops what lies between the current offset and `to`, once: whichever thread moves
    /// the offset drops exactly the range it moved it over.
    fn release_to(&self, file: &PcapFile, to: usize) {
        let from = self.0.fetch_max(to, Ordering::Relaxed);
        if from < to {
            file.release(from, to);
        }
    }

    /// The reader at byte `at`: drops the pages behind it if the pager has fallen far
    /// behind (cheap otherwise: one load).
    pub(super) fn reader_at(&self, file: &PcapFile, at: usize) {
        if at > self.offset() + READER_RELEASES_BEYOND {
            self.release_to(file, at);
        }
    }

    /// Drops everything behind the release point again once it is `every` bytes past the
    /// last sweep (`swept`).
    fn sweep(&self, file: &PcapFile, swept: &mut usize, every: usize) {
        let behind = self.offset();
        if behind >= *swept + every {
            file.release(0, behind);
            *swept = behind;
        }
    }

    fn offset(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs while `reading` is set, following the slowest reader in `positions`.
pub(super) fn run(
    file: &PcapFile,
    positions: &Positions,
    released: &Released,
    reading: &AtomicBool,
) {
    let len = file.bytes().len();
    let mut populated = 0usize;
    let mut swept = 0usize;
    while reading.load(Ordering::Relaxed) {
        let at = positions.slowest();
        if populated < len && populated < at + AHEAD {
            // Never behind the reader: what it has passed needs no mapping any more.
            let start = populated.max(at);
            let end = (start + CHUNK).min(len);
            file.populate(start, end);
            populated = end;
        } else if at > released.offset() + STEP {
            released.release_to(file, at);
            released.sweep(file, &mut swept, SWEEP_EVERY);
        } else {
            std::thread::sleep(IDLE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic pcap header followed by `len` bytes of filler, at a fresh path.
    fn big_file(name: &str, len: usize) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("{name}-{}.pcap", std::process::id()));
        let mut bytes = crate::capture::classic_header_for_tests();
        bytes.extend((0..len).map(|i| (i % 253) as u8));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn the_reader_drops_what_a_late_pager_left_behind() {
        let path = big_file("pager-late", 40 << 20);
        let file = PcapFile::open(&path).unwrap();
        let released = Released::new();
        // Within reach of the pager: the reader leaves it alone.
        released.reader_at(&file, 6 << 20);
        assert_eq!(released.offset(), 0);
        // Far beyond: the reader drops everything behind it.
        released.reader_at(&file, 37 << 20);
        assert_eq!(released.offset(), 37 << 20);
        released.reader_at(&file, 40 << 20);
        assert_eq!(released.offset(), 37 << 20);
        // The offset never moves back, whoever asks.
        released.release_to(&file, 4 << 20);
        assert_eq!(released.offset(), 37 << 20);
        // Sweeps come every `every` bytes of progress, over everything behind.
        let mut swept = 0;
        released.sweep(&file, &mut swept, 64 << 20);
        assert_eq!(swept, 0);
        released.sweep(&file, &mut swept, 16 << 20);
        assert_eq!(swept, 37 << 20);
        released.sweep(&file, &mut swept, 16 << 20);
        assert_eq!(swept, 37 << 20);
        // Dropped pages read back the same bytes from the file.
        let bytes = file.bytes();
        assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_le_bytes());
        assert!((0..40 << 20)
            .step_by(4093)
            .all(|i| bytes[24 + i] == (i % 253) as u8));
        drop(file);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_pager_follows_the_slowest_reader() {
        let positions = Positions::new(3);
        assert_eq!(positions.slowest(), 0);
        positions.set(0, 10);
        positions.set(1, 30);
        positions.set(2, 20);
        assert_eq!(positions.slowest(), 10);
        // A reader that is done stands at the end and holds nobody back.
        positions.set(0, usize::MAX);
        assert_eq!(positions.slowest(), 20);
    }
}
