//! What the fuzz targets and the seed extractor share: how a fuzz input is cut into
//! packets or into deliveries of a connection, how seeds are written in the same shapes,
//! and the checks every rendered record must pass.
//!
//! Input shapes (the seed extractor writes them, the targets read them):
//! - packet sequence: `link selector: u8`, then repeated `delta: u8, len: u16 BE, bytes`;
//!   the clock advances by `delta² × 10 ms` before each packet, so timers can fire.
//! - connection schedule: `count: u8`, `count` entries `u16 BE` (bit 15: from the
//!   responder, bit 14: a gap instead of data, bits 0-13: length), then the data the
//!   entries consume in order; what is left after the last entry is one more delivery
//!   from the originator.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use dissectors::output::OutputStage;
use dissectors::zeek::{LogFormat, LogSet};
use dissectors::{ConnId, Context, Dissector, Record, Timestamp, Transport, Uid, Verdict};
use engine::capture::LinkType;

/// Link types a selector byte picks from (selector modulo the length).
pub const LINKS: [LinkType; 10] = [
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::RAW_DLT12,
    LinkType::RAW_DLT14,
];

pub fn link_for(selector: u8) -> LinkType {
    LINKS[usize::from(selector) % LINKS.len()]
}

pub fn selector_for(link: LinkType) -> Option<u8> {
    LINKS.iter().position(|&l| l == link).map(|i| i as u8)
}

/// Network time of the first packet of a packet sequence.
pub const START: Timestamp = Timestamp(1_600_000_000_000_000);

/// Splits a packet sequence (after its selector byte) into timed packets.
pub struct PacketSeq<'a> {
    rest: &'a [u8],
    now: Timestamp,
}

impl<'a> PacketSeq<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        PacketSeq {
            rest: data,
            now: START,
        }
    }
}

impl<'a> Iterator for PacketSeq<'a> {
    type Item = (Timestamp, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (&delta, rest) = self.rest.split_first()?;
        let len = match rest {
            [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => return None,
        };
        let body = &rest[2..];
        let take = len.min(body.len());
        let (packet, rest) = body.split_at(take);
        self.rest = rest;
        let step = i64::from(delta) * i64::from(delta) * 10_000;
        self.now = Timestamp(self.now.0 + step);
        Some((self.now, packet))
    }
}

/// Appends one packet to a packet sequence being written.
pub fn push_packet(out: &mut Vec<u8>, delta: u8, packet: &[u8]) {
    let packet = &packet[..packet.len().min(usize::from(u16::MAX))];
    out.push(delta);
    out.extend_from_slice(&(packet.len() as u16).to_be_bytes());
    out.extend_from_slice(packet);
}

/// The smallest delta byte whose step covers `micros` (capped at the largest step).
pub fn delta_for(micros: i64) -> u8 {
    (0u8..=255)
        .find(|&d| i64::from(d) * i64::from(d) * 10_000 >= micros)
        .unwrap_or(255)
}

/// One event of a connection as a dissector sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    Data { from_orig: bool, bytes: &'a [u8] },
    Gap { from_orig: bool, len: u64 },
}

const FROM_RESP: u16 = 0x8000;
const GAP: u16 = 0x4000;
const LEN_MASK: u16 = 0x3fff;

/// Reads a connection schedule.
pub fn schedule(data: &[u8]) -> Vec<Delivery<'_>> {
    let Some((&count, rest)) = data.split_first() else {
        return Vec::new();
    };
    let table_len = (usize::from(count) * 2).min(rest.len());
    let (table, mut body) = rest.split_at(table_len);
    let mut out = Vec::with_capacity(usize::from(count) + 1);
    for entry in table.chunks_exact(2) {
        let e = u16::from_be_bytes([entry[0], entry[1]]);
        let from_orig = e & FROM_RESP == 0;
        let len = usize::from(e & LEN_MASK);
        if e & GAP != 0 {
            out.push(Delivery::Gap {
                from_orig,
                len: len as u64,
            });
        } else {
            let (bytes, rest) = body.split_at(len.min(body.len()));
            body = rest;
            out.push(Delivery::Data { from_orig, bytes });
        }
    }
    if !body.is_empty() {
        out.push(Delivery::Data {
            from_orig: true,
            bytes: body,
        });
    }
    out
}

/// Writes deliveries as a connection schedule (at most 255 entries: what does not fit
/// is dropped).
pub fn write_schedule(deliveries: &[Delivery<'_>]) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut body = Vec::new();
    for d in deliveries {
        match *d {
            Delivery::Data { from_orig, bytes } => {
                for piece in bytes.chunks(usize::from(LEN_MASK)) {
                    let dir = if from_orig { 0 } else { FROM_RESP };
                    entries.push(dir | piece.len() as u16);
                    body.extend_from_slice(piece);
                }
            }
            Delivery::Gap { from_orig, len } => {
                let dir = if from_orig { 0 } else { FROM_RESP };
                entries.push(dir | GAP | len.min(u64::from(LEN_MASK)) as u16);
            }
        }
        if entries.len() >= 255 {
            break;
        }
    }
    entries.truncate(255);
    let body_len: usize = entries
        .iter()
        .filter(|e| *e & GAP == 0)
        .map(|e| usize::from(e & LEN_MASK))
        .sum();
    body.truncate(body_len);
    let mut out = Vec::with_capacity(1 + entries.len() * 2 + body.len());
    out.push(entries.len() as u8);
    for e in entries {
        out.extend_from_slice(&e.to_be_bytes());
    }
    out.extend_from_slice(&body);
    out
}

/// A connection between two fixed hosts to `resp_port`.
pub fn conn_id(proto: Transport, orig_port: u16, resp_port: u16) -> ConnId {
    ConnId {
        orig_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        orig_p: orig_port,
        resp_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        resp_p: resp_port,
        proto,
    }
}

/// Runs one dissector over a schedule the way the engine does: the roles question before
/// the first datagram (UDP), one delivery at a time, dropped at its first violation,
/// `finish` at the end. Returns the records it emitted.
pub fn drive(
    mut dissector: Box<dyn Dissector>,
    id: ConnId,
    deliveries: &[Delivery<'_>],
) -> Vec<Record> {
    let uid = Uid::connection(0x5eed);
    let udp = id.proto == Transport::Udp;
    let mut out = Vec::new();
    let mut flipped = false;
    let mut ts = START;
    for (i, d) in deliveries.iter().enumerate() {
        ts = Timestamp(ts.0 + 1_000);
        let mut cx = Context::new(uid, &id, ts, &mut out);
        match *d {
            Delivery::Data { from_orig, bytes } => {
                if bytes.is_empty() {
                    continue;
                }
                if udp && i == 0 && dissector.roles_reversed(&id, from_orig, bytes) {
                    flipped = true;
                }
                dissector.deliver(&mut cx, from_orig != flipped, bytes);
            }
            // UDP has no stream to miss bytes of.
            Delivery::Gap { .. } if udp => continue,
            Delivery::Gap { from_orig, len } => dissector.gap(&mut cx, from_orig != flipped, len),
        }
        if cx.verdict() == Verdict::Violation {
            return out;
        }
    }
    let mut cx = Context::new(uid, &id, ts, &mut out);
    dissector.finish(&mut cx);
    out
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes records as Zeek logs in memory: log path -> bytes.
pub fn render(records: &[Record], format: LogFormat) -> BTreeMap<String, Vec<u8>> {
    let files: Arc<Mutex<BTreeMap<String, SharedBuf>>> = Arc::default();
    let sinks = files.clone();
    let mut logs = LogSet::new(
        format,
        Box::new(move |name| {
            let buf = SharedBuf::default();
            sinks
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .insert(name.to_string(), buf.clone());
            Ok(Box::new(buf) as Box<dyn Write + Send>)
        }),
    );
    for r in records {
        r.write_to(&mut logs)
            .expect("writing to memory cannot fail");
    }
    logs.close().expect("closing in-memory logs cannot fail");
    let files = files.lock().expect("not poisoned");
    files
        .iter()
        .map(|(k, v)| (k.clone(), v.0.lock().expect("not poisoned").clone()))
        .collect()
}

/// Passes records through the output stage (sorted by time, as the pipeline does), writes
/// them in both formats and checks that every line reads back: a TSV row has exactly the
/// columns its header names, a JSON row is one JSON object.
pub fn check_rendering(mut records: Vec<Record>) {
    records.sort_by_key(Record::ts);
    let mut stage = OutputStage::new();
    let mut ready = Vec::new();
    for r in records {
        stage.push(r, &mut ready);
    }
    stage.finish(&mut ready);
    for (path, text) in render(&ready, LogFormat::Tsv) {
        check_tsv(&path, &text);
    }
    for (path, text) in render(&ready, LogFormat::Json) {
        check_json(&path, &text);
    }
}

/// Every row of a Zeek TSV log has as many columns as its `#fields` line.
pub fn check_tsv(path: &str, text: &[u8]) {
    let mut columns = None;
    for line in text.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        if let Some(names) = line.strip_prefix(b"#fields\t") {
            columns = Some(names.split(|&b| b == b'\t').count());
            continue;
        }
        if line.starts_with(b"#") {
            continue;
        }
        let want = columns.unwrap_or_else(|| panic!("{path}: row before #fields"));
        let got = line.split(|&b| b == b'\t').count();
        assert_eq!(
            got,
            want,
            "{path}: row has {got} columns, header has {want}: {:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// Every line of a JSON log is one JSON object.
pub fn check_json(path: &str, text: &[u8]) {
    for line in text.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_else(|e| {
            panic!(
                "{path}: not JSON ({e}): {:?}",
                String::from_utf8_lossy(line)
            )
        });
        assert!(v.is_object(), "{path}: JSON line is not an object");
    }
}

/// Drains a log reader: every error names the source (`fuzz`) and a place, no reader
/// yields more items than its input has lines (plus one), and the records render.
pub fn check_source(
    source: impl Iterator<Item = Result<Record, engine::readers::ReadError>>,
    input: &[u8],
) {
    let limit = input.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut records = Vec::new();
    for (i, item) in source.enumerate() {
        assert!(i < limit, "more items than input lines");
        match item {
            Ok(r) => records.push(r),
            Err(e) => {
                assert_eq!(&*e.source, "fuzz", "error does not name its source");
                assert!(e.to_string().starts_with("fuzz"), "{e}");
            }
        }
    }
    check_rendering(records);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_round_trips() {
        let big = vec![7u8; 20_000];
        let d = [
            Delivery::Data {
                from_orig: true,
                bytes: b"hello",
            },
            Delivery::Gap {
                from_orig: false,
                len: 3,
            },
            Delivery::Data {
                from_orig: false,
                bytes: &big,
            },
        ];
        let bytes = write_schedule(&d);
        let back = schedule(&bytes);
        assert_eq!(back[0], d[0]);
        assert_eq!(back[1], d[1]);
        let joined: Vec<u8> = back[2..]
            .iter()
            .flat_map(|x| match x {
                Delivery::Data { bytes, .. } => bytes.to_vec(),
                Delivery::Gap { .. } => Vec::new(),
            })
            .collect();
        assert_eq!(joined, big);
    }

    #[test]
    fn packet_sequence_round_trips() {
        let mut seq = Vec::new();
        push_packet(&mut seq, 0, b"abc");
        push_packet(&mut seq, 10, b"");
        push_packet(&mut seq, 255, b"xy");
        let got: Vec<_> = PacketSeq::new(&seq).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (START, &b"abc"[..]));
        assert_eq!(got[1].0, Timestamp(START.0 + 1_000_000));
        assert_eq!(got[2].1, b"xy");
        assert_eq!(delta_for(1_000_000), 10);
    }
}
