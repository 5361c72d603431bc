//! files.log: one record per file seen in network traffic, with Zeek's `Files::Info`
//! columns as the default (base) scripts log them, including the `md5`/`sha1`/`sha256`
//! columns of `base/files/hash` and the `extracted*` columns of `base/files/extract`.
//!
//! [`FileTracker`] follows one file's bytes as a protocol dissector delivers them: it
//! counts seen/missing bytes, sniffs the MIME type from the first bytes ([`magic`]) and
//! hashes the content the way Zeek's hash file analyzers do (a capture gap invalidates
//! the hashes). Any protocol that carries files (HTTP today; FTP, SMTP later) can use it.

pub mod digests;
pub mod magic;
pub mod md5_lanes;

pub use digests::PendingDigests;
use digests::{Digests, Outcome};

use crate::buffer::extend_with_room;
use crate::conn::ConnId;
use crate::time::{Interval, Timestamp};
use crate::uid::Uid;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

#[derive(Clone, Debug, PartialEq)]
pub struct FileRecord {
    /// When the file's first byte was seen.
    pub ts: Timestamp,
    pub fuid: Uid,
    pub uid: Option<Uid>,
    pub id: Option<ConnId>,
    /// Protocol that carried the file (`HTTP`, `FTP_DATA`, `SMTP` ...).
    pub source: Option<&'static str>,
    pub depth: u64,
    /// File analyzers that ran (`MD5`, `SHA1` ...).
    pub analyzers: Vec<&'static str>,
    pub mime_type: Option<&'static str>,
    pub filename: Option<String>,
    pub duration: Interval,
    pub local_orig: Option<bool>,
    pub is_orig: Option<bool>,
    pub seen_bytes: u64,
    pub total_bytes: Option<u64>,
    pub missing_bytes: u64,
    pub overflow_bytes: u64,
    pub timedout: bool,
    pub parent_fuid: Option<Uid>,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub extracted: Option<String>,
    pub extracted_cutoff: Option<bool>,
    pub extracted_size: Option<u64>,
    /// Digests still to compute (see [`digests`]); `md5`/`sha1`/`sha256` are filled by
    /// [`FileRecord::finish_digests`], which must run before the record is written.
    pub pending_digests: Option<PendingDigests>,
}

impl FileRecord {
    /// Computes the digests left for later, if any.
    pub fn finish_digests(&mut self) {
        if let Some(pending) = self.pending_digests.take() {
            self.set_digests(pending.compute());
        }
    }

    fn set_digests(&mut self, [md5, sha1, sha256]: [Option<String>; 3]) {
        self.md5 = md5;
        self.sha1 = sha1;
        self.sha256 = sha256;
    }

    /// [`FileRecord::finish_digests`] for many records at once, their MD5s computed side
    /// by side: what the thread that completes a batch of records calls.
    pub fn finish_digests_all<'a>(records: impl IntoIterator<Item = &'a mut FileRecord>) {
        let mut waiting: Vec<(&'a mut FileRecord, PendingDigests)> = records
            .into_iter()
            .filter_map(|r| r.pending_digests.take().map(|p| (r, p)))
            .collect();
        let pending: Vec<&PendingDigests> = waiting.iter().map(|(_, p)| p).collect();
        let digests = PendingDigests::compute_all(&pending);
        for ((record, _), computed) in waiting.iter_mut().zip(digests) {
            record.set_digests(computed);
        }
    }
}

impl ZeekRecord for FileRecord {
    const PATH: &'static str = "files";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("fuid", T::String),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("source", T::String),
        field("depth", T::Count),
        field("analyzers", T::SetString),
        field("mime_type", T::String),
        field("filename", T::String),
        field("duration", T::Interval),
        field("local_orig", T::Bool),
        field("is_orig", T::Bool),
        field("seen_bytes", T::Count),
        field("total_bytes", T::Count),
        field("missing_bytes", T::Count),
        field("overflow_bytes", T::Count),
        field("timedout", T::Bool),
        field("parent_fuid", T::String),
        field("md5", T::String),
        field("sha1", T::String),
        field("sha256", T::String),
        field("extracted", T::String),
        field("extracted_cutoff", T::Bool),
        field("extracted_size", T::Count),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(Some(self.fuid));
        row.uid(self.uid);
        match &self.id {
            Some(id) => id.write_columns(row),
            None => {
                row.addr(None);
                row.port(None);
                row.addr(None);
                row.port(None);
            }
        }
        row.str(self.source);
        row.count(Some(self.depth));
        row.strings(Some(self.analyzers.iter().copied()));
        row.str(self.mime_type);
        row.str(self.filename.as_deref());
        row.interval(Some(self.duration));
        row.bool(self.local_orig);
        row.bool(self.is_orig);
        row.count(Some(self.seen_bytes));
        row.count(self.total_bytes);
        row.count(Some(self.missing_bytes));
        row.count(Some(self.overflow_bytes));
        row.bool(Some(self.timedout));
        row.uid(self.parent_fuid);
        row.str(self.md5.as_deref());
        row.str(self.sha1.as_deref());
        row.str(self.sha256.as_deref());
        row.str(self.extracted.as_deref());
        row.bool(self.extracted_cutoff);
        row.count(self.extracted_size);
    }
}

/// Which digests to compute for every file. Zeek's base scripts define the columns but
/// hash nothing by themselves; `policy/frameworks/files/hash-all-files.zeek` (loaded by
/// the stock `local.zeek`) adds the MD5 and SHA1 analyzers, newer releases SHA256 too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hashes {
    pub md5: bool,
    pub sha1: bool,
    pub sha256: bool,
    /// Bytes of each file kept to be hashed later, off the packet path (0: hashed as
    /// they come). See [`digests`].
    pub defer_up_to: u32,
}

impl Hashes {
    pub const NONE: Hashes = Hashes {
        md5: false,
        sha1: false,
        sha256: false,
        defer_up_to: 0,
    };
    /// `hash-all-files.zeek`: MD5 and SHA1.
    pub const MD5_SHA1: Hashes = Hashes {
        md5: true,
        sha1: true,
        sha256: false,
        defer_up_to: 0,
    };

    /// The same digests, computed later for files up to `bytes` long.
    pub const fn deferred(self, bytes: u32) -> Hashes {
        Hashes {
            defer_up_to: bytes,
            ..self
        }
    }
}

impl Default for Hashes {
    fn default() -> Self {
        Hashes::MD5_SHA1
    }
}

/// Outcome of feeding bytes to a [`FileTracker`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniff {
    /// The beginning-of-file buffer is still filling: no MIME verdict yet.
    Pending,
    /// The verdict was reached by this call (Zeek's `file_sniff` event); `None` when no
    /// signature matched.
    Now(Option<&'static str>),
    /// The verdict was reached earlier.
    Done,
}

/// One file in flight: counts, beginning-of-file buffer, running digests.
pub struct FileTracker {
    fuid: Uid,
    source: &'static str,
    is_orig: bool,
    depth: u64,
    first_ts: Timestamp,
    last_active: Timestamp,
    bof: Vec<u8>,
    sniffed: bool,
    mime_type: Option<&'static str>,
    filename: Option<String>,
    seen_bytes: u64,
    total_bytes: Option<u64>,
    missing_bytes: u64,
    hashes: Hashes,
    digests: Digests,
    analyzers: Vec<&'static str>,
}

impl FileTracker {
    /// A file whose first data arrives at `ts` (Zeek's `file_new`).
    pub fn new(
        fuid: Uid,
        source: &'static str,
        is_orig: bool,
        ts: Timestamp,
        hashes: Hashes,
    ) -> Self {
        let mut analyzers = Vec::new();
        if hashes.md5 {
            analyzers.push("MD5");
        }
        if hashes.sha1 {
            analyzers.push("SHA1");
        }
        if hashes.sha256 {
            analyzers.push("SHA256");
        }
        FileTracker {
            fuid,
            source,
            is_orig,
            depth: 0,
            first_ts: ts,
            last_active: ts,
            bof: Vec::new(),
            sniffed: false,
            mime_type: None,
            filename: None,
            seen_bytes: 0,
            total_bytes: None,
            missing_bytes: 0,
            hashes,
            digests: Digests::new(hashes),
            analyzers,
        }
    }

    pub fn fuid(&self) -> Uid {
        self.fuid
    }

    pub fn mime_type(&self) -> Option<&'static str> {
        self.mime_type
    }

    pub fn set_total_bytes(&mut self, n: u64) {
        self.total_bytes = Some(n);
    }

    /// The whole file is announced as `n` bytes (a Content-Length): room for its deferred
    /// digests is taken at once.
    pub fn expect_bytes(&mut self, n: u64) {
        self.digests.expect(self.hashes, n);
    }

    pub fn set_filename(&mut self, name: String) {
        self.filename = Some(name);
    }

    pub fn set_depth(&mut self, depth: u64) {
        self.depth = depth;
    }

    fn sniff_now(&mut self) -> Sniff {
        self.sniffed = true;
        self.mime_type = magic::sniff(&self.bof);
        self.bof = Vec::new();
        Sniff::Now(self.mime_type)
    }

    /// The next bytes of the file, in order.
    pub fn data(&mut self, ts: Timestamp, data: &[u8]) -> Sniff {
        self.last_active = ts;
        self.seen_bytes = self.seen_bytes.saturating_add(data.len() as u64);
        self.digests.update(self.hashes, data);
        if self.sniffed {
            return Sniff::Done;
        }
        if self.bof.is_empty() && data.len() >= magic::BOF_BUFFER_SIZE {
            // The beginning of the file lies whole in this piece: sniffed where it lies.
            self.sniffed = true;
            self.mime_type = magic::sniff(&data[..magic::BOF_BUFFER_SIZE]);
            return Sniff::Now(self.mime_type);
        }
        // Room for what the buffer will hold: the beginning, or the whole announced file.
        let expected = self
            .total_bytes
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let room = magic::BOF_BUFFER_SIZE.saturating_sub(self.bof.len());
        extend_with_room(
            &mut self.bof,
            &data[..data.len().min(room)],
            magic::BOF_BUFFER_SIZE.min(expected),
        );
        if self.bof.len() >= magic::BOF_BUFFER_SIZE {
            self.sniff_now()
        } else {
            Sniff::Pending
        }
    }

    /// `len` bytes of the file were lost: they count as missing, the digests are dropped
    /// (Zeek's hash analyzers give up at a gap) and the MIME type is decided on what came
    /// before.
    pub fn gap(&mut self, ts: Timestamp, len: u64) -> Sniff {
        self.last_active = ts;
        self.missing_bytes = self.missing_bytes.saturating_add(len);
        self.digests.give_up();
        if self.sniffed {
            Sniff::Done
        } else {
            self.sniff_now()
        }
    }

    /// The file is complete; sniffs now if the buffer never filled.
    pub fn end(&mut self, ts: Timestamp) -> Sniff {
        self.last_active = self.last_active.max(ts);
        if self.sniffed {
            Sniff::Done
        } else {
            self.sniff_now()
        }
    }

    /// The files.log record; `conn` is the connection that carried the file.
    pub fn into_record(self, conn: Option<(Uid, ConnId)>) -> FileRecord {
        let (digests, pending_digests) = match self.digests.finish(self.hashes) {
            Outcome::Done(d) => (d, None),
            Outcome::Pending(p) => ([None, None, None], Some(p)),
        };
        let [md5, sha1, sha256] = digests;
        let local_orig = conn.map(|(_, id)| {
            crate::net::is_local_addr(if self.is_orig { id.orig_h } else { id.resp_h })
        });
        FileRecord {
            ts: self.first_ts,
            fuid: self.fuid,
            uid: conn.map(|(u, _)| u),
            id: conn.map(|(_, id)| id),
            source: Some(self.source),
            depth: self.depth,
            analyzers: self.analyzers,
            mime_type: self.mime_type,
            filename: self.filename,
            duration: self.last_active.saturating_sub(self.first_ts),
            local_orig,
            is_orig: Some(self.is_orig),
            seen_bytes: self.seen_bytes,
            total_bytes: self.total_bytes,
            missing_bytes: self.missing_bytes,
            overflow_bytes: 0,
            timedout: false,
            parent_fuid: None,
            md5,
            sha1,
            sha256,
            extracted: None,
            extracted_cutoff: None,
            extracted_size: None,
            pending_digests,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::digests::hex;
    use super::*;
    use crate::conn::Transport;
    use crate::zeek::{LogFormat, LogWriter};
    use md5::{Digest, Md5};
    use sha1::Sha1;

    fn conn() -> (Uid, ConnId) {
        (
            Uid::connection(7),
            ConnId {
                orig_h: "192.168.1.2".parse().unwrap(),
                orig_p: 1234,
                resp_h: "1.2.3.4".parse().unwrap(),
                resp_p: 80,
                proto: Transport::Tcp,
            },
        )
    }

    #[test]
    fn hashes_counts_and_mime() {
        let mut f = FileTracker::new(
            Uid::file(1),
            "HTTP",
            false,
            Timestamp(1_000_000),
            Hashes::default(),
        );
        assert_eq!(f.data(Timestamp(1_000_000), b"Encoded "), Sniff::Pending);
        assert_eq!(
            f.data(Timestamp(1_500_000), b"with gzip!\n"),
            Sniff::Pending
        );
        assert_eq!(f.end(Timestamp(1_500_000)), Sniff::Now(Some("text/plain")));
        let r = f.into_record(Some(conn()));
        assert_eq!(r.seen_bytes, 19);
        assert_eq!(r.duration, Interval(500_000));
        assert_eq!(r.local_orig, Some(false));
        assert_eq!(r.mime_type, Some("text/plain"));
        // md5/sha1 of "Encoded with gzip!\n"
        assert_eq!(
            r.md5.as_deref(),
            Some(&*hex(&Md5::digest(b"Encoded with gzip!\n")))
        );
        assert_eq!(
            r.sha1.as_deref(),
            Some(&*hex(&Sha1::digest(b"Encoded with gzip!\n")))
        );
        assert_eq!(r.sha256, None);
        assert_eq!(r.analyzers, vec!["MD5", "SHA1"]);
    }

    /// The MIME type is decided on the first 4096 bytes whether they come in one piece
    /// (sniffed where they lie) or in many (gathered first), and at the same byte.
    #[test]
    fn the_beginning_of_a_file_is_sniffed_the_same_in_one_piece_or_many() {
        let mut content =
            b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\">".to_vec();
        content.resize(9000, b' ');
        let mut verdicts = Vec::new();
        for chunk in [9000, 4096, 5000, 1448, 100, 1] {
            let mut f =
                FileTracker::new(Uid::file(3), "HTTP", false, Timestamp(0), Hashes::default());
            f.set_total_bytes(content.len() as u64);
            let mut fed = 0;
            let mut decided = None;
            for piece in content.chunks(chunk) {
                fed += piece.len();
                if let Sniff::Now(m) = f.data(Timestamp(0), piece) {
                    assert!(decided.is_none());
                    decided = Some((m, fed.min(4096)));
                }
            }
            let r = f.into_record(None);
            assert_eq!(r.seen_bytes, 9000);
            verdicts.push((decided, r.mime_type));
        }
        assert!(verdicts[0].1.is_some(), "{verdicts:?}");
        assert!(verdicts.iter().all(|v| *v == verdicts[0]), "{verdicts:?}");
    }

    /// The digests of `content` fed in `chunk`-byte pieces with `hashes`, finished.
    fn digests_of(content: &[u8], chunk: usize, hashes: Hashes) -> FileRecord {
        let mut f = FileTracker::new(Uid::file(9), "HTTP", false, Timestamp(0), hashes);
        for piece in content.chunks(chunk) {
            f.data(Timestamp(0), piece);
        }
        f.end(Timestamp(0));
        f.into_record(Some(conn()))
    }

    #[test]
    fn deferred_digests_equal_the_ones_computed_as_bytes_come() {
        let content: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let inline = digests_of(&content, 700, Hashes::MD5_SHA1);
        assert!(inline.pending_digests.is_none());
        assert!(inline.md5.is_some() && inline.sha1.is_some());
        // Within the limit: kept, hashed when finished.
        let mut kept = digests_of(&content, 700, Hashes::MD5_SHA1.deferred(1 << 20));
        assert!(kept.pending_digests.is_some());
        assert_eq!((kept.md5.as_ref(), kept.sha1.as_ref()), (None, None));
        kept.finish_digests();
        assert!(kept.pending_digests.is_none());
        assert_eq!((&kept.md5, &kept.sha1), (&inline.md5, &inline.sha1));
        // Beyond the limit half-way: hashed as it comes from then on, same result.
        let switched = digests_of(&content, 700, Hashes::MD5_SHA1.deferred(4_000));
        assert!(switched.pending_digests.is_none());
        assert_eq!((&switched.md5, &switched.sha1), (&inline.md5, &inline.sha1));
    }

    #[test]
    fn digests_finished_together_equal_the_ones_finished_one_by_one() {
        let content: Vec<u8> = (0..70_000u32).map(|i| (i * 13 % 251) as u8).collect();
        // Files of many lengths, one without MD5 and one hashed inline among them.
        let mut records: Vec<FileRecord> = [0usize, 1, 55, 56, 64, 119, 1000, 4097, 69_999]
            .iter()
            .map(|&n| digests_of(&content[..n], 700, Hashes::MD5_SHA1.deferred(1 << 20)))
            .collect();
        let sha1_only = Hashes {
            md5: false,
            ..Hashes::MD5_SHA1
        };
        records.push(digests_of(
            &content[..3000],
            700,
            sha1_only.deferred(1 << 20),
        ));
        records.push(digests_of(&content[..3000], 700, Hashes::MD5_SHA1));
        let mut one_by_one = records.clone();
        for r in &mut one_by_one {
            r.finish_digests();
        }
        FileRecord::finish_digests_all(records.iter_mut());
        assert_eq!(records, one_by_one);
        assert!(records
            .iter()
            .all(|r| r.sha1.is_some() && r.pending_digests.is_none()));
        assert_eq!(records[9].md5, None);
    }

    #[test]
    fn a_gap_drops_deferred_digests_too() {
        let hashes = Hashes::MD5_SHA1.deferred(1 << 20);
        let mut f = FileTracker::new(Uid::file(2), "HTTP", true, Timestamp(0), hashes);
        f.data(Timestamp(0), b"GIF89a....");
        f.gap(Timestamp(1), 100);
        f.data(Timestamp(2), b"more");
        let mut r = f.into_record(Some(conn()));
        assert!(r.pending_digests.is_none());
        r.finish_digests();
        assert_eq!((r.md5, r.sha1), (None, None));
    }

    #[test]
    fn kept_bytes_are_counted_while_held() {
        let hashes = Hashes::MD5_SHA1.deferred(1 << 20);
        let mut f = FileTracker::new(Uid::file(5), "HTTP", true, Timestamp(0), hashes);
        // Other tests run at the same time and move the count: look for our share only.
        f.data(Timestamp(0), &[1u8; 300_000]);
        assert!(digests::deferred_bytes() >= 300_000);
        let r = f.into_record(None);
        let copy = r.clone();
        assert!(digests::deferred_bytes() >= 600_000);
        drop((r, copy));
    }

    #[test]
    fn an_announced_size_is_reserved_at_once_and_the_digests_agree() {
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let hashes = Hashes::MD5_SHA1.deferred(1 << 20);
        let mut f = FileTracker::new(Uid::file(6), "HTTP", true, Timestamp(0), hashes);
        f.expect_bytes(content.len() as u64);
        // Other tests run at the same time and move the count: look for our share only.
        assert!(digests::deferred_bytes() >= 300_000);
        for chunk in content.chunks(1460) {
            f.data(Timestamp(0), chunk);
        }
        let mut r = f.into_record(None);
        assert!(r.pending_digests.is_some());
        r.finish_digests();
        assert_eq!(r.md5, Some(hex(&Md5::digest(&content))));
        assert_eq!(r.sha1, Some(hex(&Sha1::digest(&content))));
    }

    #[test]
    fn a_size_over_the_limit_reserves_nothing_and_hashes_as_it_comes() {
        let content = vec![7u8; 5_000];
        let mut f = FileTracker::new(
            Uid::file(7),
            "HTTP",
            true,
            Timestamp(0),
            Hashes::MD5_SHA1.deferred(4_000),
        );
        f.expect_bytes(1 << 40);
        for chunk in content.chunks(1000) {
            f.data(Timestamp(0), chunk);
        }
        let r = f.into_record(None);
        assert!(r.pending_digests.is_none());
        assert_eq!(r.md5, Some(hex(&Md5::digest(&content))));
    }

    #[test]
    fn md5_of_known_string() {
        assert_eq!(
            hex(&Md5::digest(b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex(&Sha1::digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn gap_drops_hashes_and_sniffs() {
        let mut f = FileTracker::new(Uid::file(2), "HTTP", true, Timestamp(0), Hashes::default());
        f.data(Timestamp(0), b"GIF89a....");
        assert_eq!(f.gap(Timestamp(1), 100), Sniff::Now(Some("image/gif")));
        assert_eq!(f.data(Timestamp(2), b"more"), Sniff::Done);
        f.end(Timestamp(3));
        let r = f.into_record(Some(conn()));
        assert_eq!((r.seen_bytes, r.missing_bytes), (14, 100));
        assert_eq!((r.md5, r.sha1), (None, None));
        assert_eq!(r.local_orig, Some(true));
    }

    #[test]
    fn large_file_sniffs_when_buffer_fills() {
        let mut f = FileTracker::new(Uid::file(3), "HTTP", false, Timestamp(0), Hashes::NONE);
        let chunk = [b'a'; 1000];
        for _ in 0..4 {
            assert_eq!(f.data(Timestamp(0), &chunk), Sniff::Pending);
        }
        assert_eq!(f.data(Timestamp(0), &chunk), Sniff::Now(Some("text/plain")));
        assert_eq!(f.end(Timestamp(0)), Sniff::Done);
        assert!(f.into_record(None).analyzers.is_empty());
    }

    #[test]
    fn renders_like_zeek() {
        let mut f = FileTracker::new(
            Uid::file(4),
            "HTTP",
            false,
            Timestamp(1_000_000),
            Hashes::default(),
        );
        f.data(Timestamp(1_000_000), b"x");
        f.end(Timestamp(1_000_000));
        let rec = f.into_record(Some(conn()));
        let t0 = std::time::SystemTime::UNIX_EPOCH;
        let mut w = LogWriter::new::<FileRecord>(Vec::new(), LogFormat::Tsv, t0).unwrap();
        w.write(&rec).unwrap();
        let out = w.close(t0).unwrap();
        let text = String::from_utf8(out).unwrap();
        let line = text.lines().find(|l| !l.starts_with('#')).unwrap();
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), FileRecord::FIELDS.len());
        assert_eq!(
            &cols[7..],
            &[
                "HTTP",
                "0",
                "MD5,SHA1",
                "-",
                "-",
                "0.000000",
                "F",
                "F",
                "1",
                "-",
                "0",
                "0",
                "F",
                "-",
                "9dd4e461268c8034f5c8564e155c67a6",
                "11f6ad8ec52a2984abaafd7c3b516503785c2072",
                "-",
                "-",
                "-",
                "-"
            ]
        );
    }
}
