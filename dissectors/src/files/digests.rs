//! A file's MD5/SHA1/SHA256, computed either as its bytes arrive or later, off the packet
//! path.
//!
//! Hashing is the costliest thing the dissectors do on HTTP traffic (MD5 alone runs at
//! well under a gigabyte per second and cannot be split within one file). A file whose
//! hashes are deferred keeps its bytes (up to a per-file limit, and within a budget shared
//! by the whole process); its record leaves the dissector with [`PendingDigests`], and
//! whoever hands the record on (the engine, on another thread) calls
//! [`FileRecord::finish_digests`](super::FileRecord::finish_digests) before it is written.
//! A file that outgrows the limit or the budget is hashed as its bytes come, from then on:
//! either way the digests are the same.

use std::sync::atomic::{AtomicUsize, Ordering};

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

use super::Hashes;

/// Bytes kept for deferred hashing by every file of the process together; a file that
/// would go beyond it is hashed as it comes instead. Bounds the memory a flood of
/// concurrent downloads can hold this way.
const DEFERRED_BUDGET: usize = 32 << 20;

static DEFERRED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Bytes currently reserved for deferred hashing (for tests and statistics).
pub fn deferred_bytes() -> usize {
    DEFERRED_BYTES.load(Ordering::Relaxed)
}

/// A file's bytes kept to be hashed later. What it has reserved (its capacity, not only
/// the bytes in it) counts against [`DEFERRED_BUDGET`] for as long as it is held, so that
/// sizes announced and never sent cannot hold memory past the budget either.
pub struct DeferredContent(Vec<u8>);

impl DeferredContent {
    fn new() -> Self {
        DeferredContent(Vec::new())
    }

    /// Reserves room for `want` bytes in all if the budget allows it.
    fn reserve_total(&mut self, want: usize) -> bool {
        let held = self.0.capacity();
        if want <= held {
            return true;
        }
        let extra = want - held;
        let before = DEFERRED_BYTES.fetch_add(extra, Ordering::Relaxed);
        if before + extra > DEFERRED_BUDGET {
            DEFERRED_BYTES.fetch_sub(extra, Ordering::Relaxed);
            return false;
        }
        self.0.reserve_exact(want - self.0.len());
        // The allocator may hand out more than asked for: count what is held.
        DEFERRED_BYTES.fetch_add(self.0.capacity() - want, Ordering::Relaxed);
        true
    }

    /// Room for a file announced as `total` bytes long, reserved at once instead of
    /// grown into (each growth copies what is kept); nothing when it exceeds `limit`.
    fn expect(&mut self, total: usize, limit: usize) {
        if total <= limit {
            self.reserve_total(total);
        }
    }

    /// Appends `data` if the file stays within `limit` and the budget has room.
    fn try_extend(&mut self, data: &[u8], limit: usize) -> bool {
        let need = self.0.len() + data.len();
        if need > limit {
            return false;
        }
        if need > self.0.capacity() {
            let doubled = (self.0.capacity() * 2).clamp(need, limit);
            if !self.reserve_total(doubled) {
                return false;
            }
        }
        self.0.extend_from_slice(data);
        true
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Clone for DeferredContent {
    fn clone(&self) -> Self {
        // A copy holds its own bytes: counted even beyond the budget, so that the count
        // stays exact when both are dropped.
        let copy = self.0.clone();
        DEFERRED_BYTES.fetch_add(copy.capacity(), Ordering::Relaxed);
        DeferredContent(copy)
    }
}

impl Drop for DeferredContent {
    fn drop(&mut self) {
        DEFERRED_BYTES.fetch_sub(self.0.capacity(), Ordering::Relaxed);
    }
}

/// Digests of a finished file not computed yet: its whole content and which digests
/// are wanted.
#[derive(Clone)]
pub struct PendingDigests {
    content: DeferredContent,
    hashes: Hashes,
}

impl PendingDigests {
    /// The hex digests (MD5, SHA1, SHA256), each when wanted.
    pub fn compute(&self) -> [Option<String>; 3] {
        let mut running = Running::new(self.hashes);
        running.update(self.content.bytes());
        running.finish()
    }

    /// The digests of several files at once: their MD5s side by side (see
    /// [`super::md5_lanes`]), the other digests one file after the other.
    pub fn compute_all(pending: &[&PendingDigests]) -> Vec<[Option<String>; 3]> {
        let md5_inputs: Vec<&[u8]> = pending
            .iter()
            .filter(|p| p.hashes.md5)
            .map(|p| p.content.bytes())
            .collect();
        let mut md5s = super::md5_lanes::md5_all(&md5_inputs).into_iter();
        pending
            .iter()
            .map(|p| {
                let md5 = if p.hashes.md5 {
                    md5s.next().map(|d| hex(&d))
                } else {
                    None
                };
                let mut others = Running::new(Hashes {
                    md5: false,
                    ..p.hashes
                });
                others.update(p.content.bytes());
                let [_, sha1, sha256] = others.finish();
                [md5, sha1, sha256]
            })
            .collect()
    }
}

impl std::fmt::Debug for PendingDigests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PendingDigests({} bytes, {:?})",
            self.content.0.len(),
            self.hashes
        )
    }
}

impl PartialEq for PendingDigests {
    fn eq(&self, other: &Self) -> bool {
        self.hashes == other.hashes && self.content.bytes() == other.content.bytes()
    }
}

/// Digests computed as the bytes come.
pub(super) struct Running {
    md5: Option<Md5>,
    sha1: Option<Sha1>,
    sha256: Option<Sha256>,
}

impl Running {
    fn new(hashes: Hashes) -> Self {
        Running {
            md5: hashes.md5.then(Md5::new),
            sha1: hashes.sha1.then(Sha1::new),
            sha256: hashes.sha256.then(Sha256::new),
        }
    }

    fn update(&mut self, data: &[u8]) {
        if let Some(h) = self.md5.as_mut() {
            h.update(data);
        }
        if let Some(h) = self.sha1.as_mut() {
            h.update(data);
        }
        if let Some(h) = self.sha256.as_mut() {
            h.update(data);
        }
    }

    fn finish(self) -> [Option<String>; 3] {
        [
            self.md5.map(|h| hex(&h.finalize())),
            self.sha1.map(|h| hex(&h.finalize())),
            self.sha256.map(|h| hex(&h.finalize())),
        ]
    }
}

/// The digest state of a file in flight.
pub(super) enum Digests {
    /// No digest wanted, or given up after a gap (as Zeek's hash analyzers do).
    Off,
    Running(Box<Running>),
    Deferred(DeferredContent),
}

/// What a finished file's digests are.
pub(super) enum Outcome {
    Done([Option<String>; 3]),
    Pending(PendingDigests),
}

impl Digests {
    pub(super) fn new(hashes: Hashes) -> Self {
        if !(hashes.md5 || hashes.sha1 || hashes.sha256) {
            Digests::Off
        } else if hashes.defer_up_to > 0 {
            Digests::Deferred(DeferredContent::new())
        } else {
            Digests::Running(Box::new(Running::new(hashes)))
        }
    }

    pub(super) fn update(&mut self, hashes: Hashes, data: &[u8]) {
        match self {
            Digests::Off => {}
            Digests::Running(r) => r.update(data),
            Digests::Deferred(kept) => {
                if !kept.try_extend(data, hashes.defer_up_to as usize) {
                    let mut running = Running::new(hashes);
                    running.update(kept.bytes());
                    running.update(data);
                    *self = Digests::Running(Box::new(running));
                }
            }
        }
    }

    /// The file is announced as `total` bytes long.
    pub(super) fn expect(&mut self, hashes: Hashes, total: u64) {
        if let Digests::Deferred(kept) = self {
            let total = usize::try_from(total).unwrap_or(usize::MAX);
            kept.expect(total, hashes.defer_up_to as usize);
        }
    }

    pub(super) fn give_up(&mut self) {
        *self = Digests::Off;
    }

    pub(super) fn finish(self, hashes: Hashes) -> Outcome {
        match self {
            Digests::Off => Outcome::Done([None, None, None]),
            Digests::Running(r) => Outcome::Done(r.finish()),
            Digests::Deferred(content) => Outcome::Pending(PendingDigests { content, hashes }),
        }
    }
}

pub(super) use crate::hex::lower_hex as hex;
