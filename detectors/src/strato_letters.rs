//! Stratosphere behavioural letters: every connection a profile makes to one
//! destination tuple (address, port, protocol) in a time window becomes one symbol, and
//! the symbols of a tuple, in order, are its behavioural model (Slips' `OutTuples`).
//!
//! The rules are Slips' (`slips_files/core/helpers/symbols_handler.py`: `compute`,
//! `compute_periodicity`, `compute_duration`, `compute_size`, `compute_letter`,
//! `compute_timechar`):
//!
//! * periodicity, from the gaps between the start times of the last three connections
//!   of the tuple, `T1` (previous gap) and `T2` (this gap): the larger over the smaller
//!   is at most 1.05 (1, strongly periodic), 1.3 (2, weakly periodic), 5 (3, weakly not
//!   periodic) or more (4, strongly not periodic); -1 while fewer than two earlier
//!   connections are known;
//! * duration: at most 0.1 s (1), at most 10 s (2), longer (3);
//! * size (bytes both ways): at most 250 (1), at most 1100 (2), more (3);
//! * the letter: `1`-`9` for unknown periodicity, then `a`-`i`, `A`-`I`, `r`-`z`,
//!   `R`-`Z` for periodicity 1 to 4, ordered by size then duration;
//! * before the letter, one `0` per whole hour of `T2`; after it, a time character for
//!   `T2`: `.` (up to 5 s), `,` (1 min), `+` (5 min), `*` (1 h).
//!
//! [`LetterTracker`] keeps the letters of every tuple of every profile's current time
//! window (bounded: [`MAX_PROFILES`], [`MAX_TUPLES`], [`MAX_LETTERS`]). The C&C detection
//! (`detections/command_and_control_channel.rs`) reads them; [`StratoLettersExporter`]
//! writes them to `strato_letters.tsv` when `parameters.export_strato_letters` is on, as
//! Slips' `modules/rnn_cc_detection/strato_letters_exporter.py` does.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use dissectors::{ConnRecord, Record, Transport, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::error::Error;
use crate::profile::Hosts;
use crate::subscriber::Subscriber;
use crate::timewindow::TimeWindow;
use dissectors::net::PrefixSet;

/// Profiles whose letters are kept at once.
pub const MAX_PROFILES: usize = 65_536;
/// Tuples kept per profile and window.
pub const MAX_TUPLES: usize = 4096;
/// Bytes of letters kept per tuple (Slips' RNN reads the first 500).
pub const MAX_LETTERS: usize = 2048;

/// Name of the exported file in the output folder (Slips' name).
pub const EXPORT_FILE: &str = "strato_letters.tsv";

const HOUR: f64 = 3600.0;

/// A destination of a profile: Slips' `tupleid`, `daddr-dport-proto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TupleKey {
    pub daddr: IpAddr,
    pub dport: u16,
    pub proto: Transport,
}

impl TupleKey {
    pub fn of(c: &ConnRecord) -> Self {
        TupleKey {
            daddr: c.id.resp_h,
            dport: c.id.resp_p,
            proto: c.id.proto,
        }
    }
}

impl std::fmt::Display for TupleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.daddr, self.dport, self.proto.as_str())
    }
}

/// The letters of one tuple in one window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TupleLetters {
    pub letters: String,
    /// Start time (seconds) of the last connection and of the one before it.
    last_ts: Option<f64>,
    last_last_ts: Option<f64>,
    /// Symbols added (also those beyond [`MAX_LETTERS`]).
    pub symbols: u32,
    /// Uid of the last connection.
    pub last_uid: Option<Uid>,
    /// Symbols per periodicity class: unknown, then 1 (strongly periodic) to 4.
    pub periodicity_counts: [u32; 5],
    /// Symbols per size and duration class (`(size - 1) * 3 + duration - 1`).
    pub shape_counts: [u32; 9],
    /// Set by a detection that reported this tuple in this window.
    pub reported: bool,
}

/// Slips' periodicity class of a gap `t2` after a gap `t1`.
fn periodicity(t1: f64, t2: f64) -> i8 {
    let (big, small) = if t2 >= t1 { (t2, t1) } else { (t1, t2) };
    // Python raises ZeroDivisionError, which Slips turns into 1.
    let ratio = if small == 0.0 { 1.0 } else { big / small };
    if ratio <= 1.05 {
        1
    } else if ratio <= 1.3 {
        2
    } else if ratio <= 5.0 {
        3
    } else {
        4
    }
}

fn duration_class(secs: f64) -> u8 {
    if secs <= 0.1 {
        1
    } else if secs <= 10.0 {
        2
    } else {
        3
    }
}

fn size_class(bytes: u64) -> u8 {
    if bytes <= 250 {
        1
    } else if bytes <= 1100 {
        2
    } else {
        3
    }
}

/// The letter of a periodicity (-1, 1..=4), size and duration class (1..=3 each).
fn letter(periodicity: i8, size: u8, duration: u8) -> char {
    let offset = (size - 1) * 3 + (duration - 1);
    let first = match periodicity {
        1 => b'a',
        2 => b'A',
        3 => b'r',
        4 => b'R',
        _ => b'1',
    };
    char::from(first + offset)
}

fn time_char(t2: Option<f64>) -> Option<char> {
    // Slips tests `if t2`: no gap and a zero gap give no character.
    let t2 = t2.filter(|t| *t != 0.0)?;
    [(5.0, '.'), (60.0, ','), (300.0, '+'), (HOUR, '*')]
        .iter()
        .find(|(limit, _)| t2 <= *limit)
        .map(|(_, c)| *c)
}

/// What one symbol says, read back from a letter (see [`decode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SymbolClass {
    /// -1 (unknown), 1 (strongly periodic) .. 4 (strongly not periodic).
    pub periodicity: i8,
    pub size: u8,
    pub duration: u8,
}

/// The class of a letter; `None` for zeros and time characters.
pub fn decode(c: char) -> Option<SymbolClass> {
    let (periodicity, first) = match c {
        'a'..='i' => (1, 'a'),
        'A'..='I' => (2, 'A'),
        'r'..='z' => (3, 'r'),
        'R'..='Z' => (4, 'R'),
        '1'..='9' => (-1, '1'),
        _ => return None,
    };
    let offset = c as u8 - first as u8;
    Some(SymbolClass {
        periodicity,
        size: offset / 3 + 1,
        duration: offset % 3 + 1,
    })
}

impl TupleLetters {
    /// Adds the symbol of a connection starting at `now` (seconds) that lasted
    /// `duration` seconds and carried `bytes` bytes both ways.
    pub fn add(&mut self, now: f64, duration: f64, bytes: u64) {
        let (class, t2) = match (self.last_last_ts, self.last_ts) {
            (Some(last_last), Some(last)) => {
                let t1 = last - last_last;
                let t2 = now - last;
                (periodicity(t1, t2), Some(t2))
            }
            _ => (-1, None),
        };
        let zeros = match t2 {
            Some(t) if t >= HOUR => (t / HOUR) as usize,
            _ => 0,
        };
        let (size, dur) = (size_class(bytes), duration_class(duration));
        self.periodicity_counts[usize::try_from(class).unwrap_or(0)] += 1;
        self.shape_counts[usize::from((size - 1) * 3 + dur - 1)] += 1;
        let symbol_len = zeros + 2;
        if self.letters.len() + symbol_len <= MAX_LETTERS {
            self.letters.extend(std::iter::repeat_n('0', zeros));
            self.letters.push(letter(class, size, dur));
            if let Some(c) = time_char(t2) {
                self.letters.push(c);
            }
        }
        self.symbols = self.symbols.saturating_add(1);
        self.last_last_ts = self.last_ts;
        self.last_ts = Some(now);
    }
}

/// The tuples of one profile in its current window.
#[derive(Debug, Default)]
pub struct ProfileLetters {
    pub timewindow: i64,
    pub tuples: HashMap<TupleKey, TupleLetters>,
}

/// Letters of every profile's out-tuples in its current window.
#[derive(Debug, Default)]
pub struct LetterTracker {
    profiles: HashMap<IpAddr, ProfileLetters>,
}

impl LetterTracker {
    pub fn new() -> Self {
        LetterTracker::default()
    }

    /// The window `tw` of `profile` starts: the letters of its earlier window are
    /// returned (to export or forget).
    pub fn roll(&mut self, profile: IpAddr, tw: i64) -> Option<ProfileLetters> {
        if self
            .profiles
            .get(&profile)
            .is_some_and(|p| p.timewindow < tw)
        {
            return self.profiles.remove(&profile);
        }
        None
    }

    /// Adds the symbol of `c`, a connection from `profile` in window `tw`, and returns
    /// its tuple's letters; `None` when the record is not counted (a late record of an
    /// earlier window, or a cap reached). Call [`LetterTracker::roll`] first.
    pub fn add(&mut self, profile: IpAddr, tw: i64, c: &ConnRecord) -> Option<&mut TupleLetters> {
        if self.profiles.len() >= MAX_PROFILES && !self.profiles.contains_key(&profile) {
            return None;
        }
        let p = self
            .profiles
            .entry(profile)
            .or_insert_with(|| ProfileLetters {
                timewindow: tw,
                tuples: HashMap::new(),
            });
        if p.timewindow != tw {
            return None;
        }
        let key = TupleKey::of(c);
        if p.tuples.len() >= MAX_TUPLES && !p.tuples.contains_key(&key) {
            return None;
        }
        let t = p.tuples.entry(key).or_default();
        let duration = c.duration.map_or(0.0, |d| d.as_secs_f64());
        let bytes = c
            .orig_bytes
            .unwrap_or(0)
            .saturating_add(c.resp_bytes.unwrap_or(0));
        t.add(c.ts.as_secs_f64(), duration, bytes);
        t.last_uid = Some(c.uid);
        Some(t)
    }

    /// Every profile's letters, sorted by profile, emptying the tracker.
    pub fn drain_sorted(&mut self) -> Vec<(IpAddr, ProfileLetters)> {
        let mut all: Vec<(IpAddr, ProfileLetters)> = self.profiles.drain().collect();
        all.sort_by_key(|(ip, _)| *ip);
        all
    }
}

/// Writes every profile's letters per window to `strato_letters.tsv` (Slips' format:
/// a header `Outtuple<TAB>Letters`, then `saddr-daddr-dport-proto-timewindowN<TAB>letters`
/// per tuple), when a profile's window closes and at the end of the run.
pub struct StratoLettersExporter {
    path: PathBuf,
    out: BufWriter<File>,
    tracker: LetterTracker,
    home: Option<PrefixSet>,
    error: Option<std::io::Error>,
}

impl StratoLettersExporter {
    /// The exporter `config` asks for (`parameters.export_strato_letters`), as the
    /// analysis' subscribers.
    pub fn subscribers(
        config: &Config,
        output_dir: &Path,
    ) -> Result<Vec<Box<dyn Subscriber>>, Error> {
        if !config.parameters.export_strato_letters {
            return Ok(Vec::new());
        }
        let home = config.home_networks();
        let home = (!home.is_empty()).then(|| PrefixSet::from_cidrs(home));
        Ok(vec![Box::new(Self::create(
            &output_dir.join(EXPORT_FILE),
            home,
        )?)])
    }

    /// Creates `path` with its header; only sources in `home` (when given) are exported.
    pub fn create(path: &Path, home: Option<PrefixSet>) -> Result<Self, Error> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut out = BufWriter::new(file);
        out.write_all(b"Outtuple\tLetters\n")
            .map_err(|e| Error::io(path, e))?;
        Ok(StratoLettersExporter {
            path: path.to_path_buf(),
            out,
            tracker: LetterTracker::new(),
            home,
            error: None,
        })
    }

    fn write(&mut self, saddr: IpAddr, p: ProfileLetters) {
        let mut tuples: Vec<(TupleKey, TupleLetters)> = p.tuples.into_iter().collect();
        tuples.sort_by_key(|(k, _)| *k);
        for (key, t) in tuples {
            let r = writeln!(
                self.out,
                "{saddr}-{key}-timewindow{}\t{}",
                p.timewindow, t.letters
            );
            if let Err(e) = r {
                self.error.get_or_insert(e);
            }
        }
    }
}

impl Subscriber for StratoLettersExporter {
    fn record(&mut self, record: &Record, profile: IpAddr, window: &TimeWindow) {
        let Record::Conn(c) = record else { return };
        if c.id.orig_h != profile || self.home.as_ref().is_some_and(|h| !h.contains(profile)) {
            return;
        }
        if let Some(closed) = self.tracker.roll(profile, window.number) {
            self.write(profile, closed);
        }
        self.tracker.add(profile, window.number, c);
    }

    fn finish(&mut self, _hosts: &Hosts) -> Result<(), Error> {
        for (saddr, p) in self.tracker.drain_sorted() {
            self.write(saddr, p);
        }
        if let Err(e) = self.out.flush() {
            self.error.get_or_insert(e);
        }
        match self.error.take() {
            Some(e) => Err(Error::io(&self.path, e)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::conn;
    use dissectors::{Interval, Timestamp};

    fn letters_of(flows: &[(f64, f64, u64)]) -> String {
        let mut t = TupleLetters::default();
        for &(ts, dur, bytes) in flows {
            t.add(ts, dur, bytes);
        }
        t.letters
    }

    #[test]
    fn slips_letter_table() {
        assert_eq!(letter(-1, 1, 1), '1');
        assert_eq!(letter(-1, 3, 3), '9');
        assert_eq!(letter(1, 1, 2), 'b');
        assert_eq!(letter(1, 3, 2), 'h');
        assert_eq!(letter(2, 2, 1), 'D');
        assert_eq!(letter(3, 3, 3), 'z');
        assert_eq!(letter(4, 1, 3), 'T');
        for c in "123456789abcdefghiABCDEFGHIrstuvwxyzRSTUVWXYZ".chars() {
            let s = decode(c).unwrap();
            assert_eq!(letter(s.periodicity, s.size, s.duration), c);
        }
        assert_eq!(decode('.'), None);
        assert_eq!(decode('0'), None);
    }

    #[test]
    fn classes_follow_slips_thresholds() {
        assert_eq!(periodicity(10.0, 10.5), 1);
        assert_eq!(periodicity(10.0, 12.0), 2);
        assert_eq!(periodicity(10.0, 2.0), 3);
        assert_eq!(periodicity(10.0, 60.0), 4);
        assert_eq!(periodicity(0.0, 3.0), 1);
        assert_eq!(
            (
                duration_class(0.1),
                duration_class(10.0),
                duration_class(10.1)
            ),
            (1, 2, 3)
        );
        assert_eq!(
            (size_class(250), size_class(1100), size_class(1101)),
            (1, 2, 3)
        );
        assert_eq!(time_char(Some(5.0)), Some('.'));
        assert_eq!(time_char(Some(60.0)), Some(','));
        assert_eq!(time_char(Some(300.0)), Some('+'));
        assert_eq!(time_char(Some(3600.0)), Some('*'));
        assert_eq!(time_char(Some(3601.0)), None);
        assert_eq!(time_char(Some(0.0)), None);
        assert_eq!(time_char(None), None);
    }

    #[test]
    fn a_beacon_becomes_a_periodic_string() {
        // Every 2.2 s, 0.17 s, 4744 bytes: Slips writes 88h.h.h. ...
        let flows: Vec<(f64, f64, u64)> = (0..6)
            .map(|i| (100.0 + 2.2 * f64::from(i), 0.17, 4744))
            .collect();
        assert_eq!(letters_of(&flows), "88h.h.h.h.");
        // Irregular gaps, small and short: not periodic, then a two-hour gap adds zeros.
        assert_eq!(
            letters_of(&[
                (0.0, 0.05, 100),
                (10.0, 0.05, 100),
                (11.0, 0.05, 100),
                (200.0, 20.0, 2000),
                (7400.0, 0.05, 100)
            ]),
            "11R.Z+00R"
        );
    }

    #[test]
    fn tracker_keeps_tuples_per_profile_window() {
        let mut tr = LetterTracker::new();
        let p: IpAddr = "10.0.0.2".parse().unwrap();
        let mut c = conn("10.0.0.2", 40000, "1.2.3.4", 443, 10.0);
        c.duration = Some(Interval::from_secs_f64(0.05));
        c.orig_bytes = Some(50);
        c.resp_bytes = Some(50);
        assert_eq!(tr.add(p, 1, &c).unwrap().letters, "1");
        c.ts = Timestamp::from_secs_f64(20.0);
        assert_eq!(tr.add(p, 1, &c).unwrap().letters, "11");
        // another port is another tuple
        c.id.resp_p = 80;
        assert_eq!(tr.add(p, 1, &c).unwrap().letters, "1");
        // a late record of an earlier window is not counted
        assert!(tr.add(p, 0, &c).is_none());
        let closed = tr.roll(p, 2).unwrap();
        assert_eq!((closed.timewindow, closed.tuples.len()), (1, 2));
        assert!(tr.roll(p, 2).is_none());
        assert_eq!(tr.add(p, 2, &c).unwrap().letters, "1");
        let key = TupleKey::of(&c);
        assert_eq!(key.to_string(), "1.2.3.4-80-tcp");
    }

    #[test]
    fn letters_are_capped() {
        let mut t = TupleLetters::default();
        for i in 0..5000 {
            t.add(f64::from(i), 0.05, 10);
        }
        assert!(t.letters.len() <= MAX_LETTERS);
        assert_eq!(t.symbols, 5000);
        // the class counts go on past the cap
        assert_eq!(t.periodicity_counts, [2, 4998, 0, 0, 0]);
        assert_eq!(t.shape_counts[0], 5000);
    }

    #[test]
    fn exporter_writes_slips_rows() {
        let dir = std::env::temp_dir().join(format!("strato-letters-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(EXPORT_FILE);
        let mut ex = StratoLettersExporter::create(&path, None).unwrap();
        let tw = |n| TimeWindow {
            number: n,
            start: Timestamp(0),
            end: Timestamp(0),
        };
        let src: IpAddr = "10.0.0.2".parse().unwrap();
        for (i, n) in [(0, 1), (1, 1), (2, 1), (3, 2)] {
            let mut c = conn(
                "10.0.0.2",
                40000 + i,
                "1.2.3.4",
                443,
                10.0 + f64::from(i) * 3.0,
            );
            c.duration = Some(Interval::from_secs_f64(0.5));
            c.orig_bytes = Some(300);
            c.resp_bytes = Some(100);
            ex.record(&Record::from(c), src, &tw(n));
        }
        // not this profile's own connection: skipped
        let c = conn("10.0.0.9", 1, "1.2.3.4", 443, 20.0);
        ex.record(&Record::from(c), src, &tw(2));
        ex.finish(&Hosts::for_tests()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "Outtuple\tLetters\n10.0.0.2-1.2.3.4-443-tcp-timewindow1\t55e.\n10.0.0.2-1.2.3.4-443-tcp-timewindow2\t5\n"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
