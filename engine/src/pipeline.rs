//! The per-core pipeline: one reader decodes packets and shards them by a symmetric flow
//! hash to N workers, each owning its flow table; records come back and are merged in
//! timestamp order, so the output is the same for any number of workers.

use std::collections::BTreeMap;
use std::path::Path;

use crossbeam_channel::{bounded, Receiver, Sender};
use dissectors::output::OutputStage;
use dissectors::{teredo, ConnId, Record, Timestamp, Transport, Uid};
use hashbrown::HashMap;

use crate::capture::{CaptureError, PcapFile, RawPacket};
use crate::decode::{
    decode, decode_ip, DecodeError, Decoded, FragmentLimits, FragmentStats, FragmentTable, Outcome,
    L4,
};
use crate::flow::{ConnTable, FlowKey, TableStats, TrackerConfig, TunnelLink};

#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub workers: usize,
    pub tracker: TrackerConfig,
    pub fragments: FragmentLimits,
    /// Packets per batch handed to a worker.
    pub batch: usize,
    /// Batches queued per worker before the reader waits.
    pub queue_depth: usize,
    /// Decode problems reported individually (the rest are only counted).
    pub max_reported_errors: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: 1,
            tracker: TrackerConfig::default(),
            fragments: FragmentLimits::default(),
            batch: 512,
            queue_depth: 64,
            max_reported_errors: 100,
        }
    }
}

/// What a run saw: counters, and every problem worth telling the user.
#[derive(Debug, Default)]
pub struct RunStats {
    pub packets: u64,
    pub bytes: u64,
    pub non_ip: u64,
    pub decode_errors: BTreeMap<String, u64>,
    /// The first problems, each naming the file and packet.
    pub messages: Vec<String>,
    /// A fault that ended reading the file early (what was read before it is kept).
    pub capture_error: Option<CaptureError>,
    pub fragments: FragmentStats,
    pub table: TableStats,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
}

impl RunStats {
    pub fn decode_error_total(&self) -> u64 {
        self.decode_errors.values().sum()
    }
}

enum Bytes<'a> {
    Borrowed(&'a [u8]),
    Owned(Box<[u8]>),
}

impl Bytes<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Borrowed(b) => b,
            Bytes::Owned(b) => b,
        }
    }
}

struct Job<'a> {
    ts: Timestamp,
    decoded: Decoded,
    bytes: Bytes<'a>,
    /// The outer flow, for a packet taken out of a tunnel.
    tunnel: Option<FlowKey>,
}

impl Job<'_> {
    fn shard(&self, workers: usize) -> usize {
        (FlowKey::of(&self.decoded).shard_hash() % workers as u64) as usize
    }
}

/// Decodes packets, reassembles fragments and keeps the counters.
struct Reader<'p> {
    path: &'p Path,
    frags: FragmentTable,
    stats: RunStats,
    max_reported: usize,
}

impl<'p> Reader<'p> {
    fn report(&mut self, packet: u64, err: DecodeError) {
        if err == DecodeError::NotIp {
            self.stats.non_ip += 1;
            return;
        }
        *self.stats.decode_errors.entry(err.to_string()).or_default() += 1;
        if self.stats.messages.len() < self.max_reported {
            self.stats.messages.push(format!(
                "{}: packet {packet}: {err}; skipped",
                self.path.display()
            ));
        }
    }

    /// Turns a raw packet into jobs for the flow tables: the packet itself when it
    /// carries a whole datagram, and the packet inside it when it is a tunnel.
    fn decode<'a>(&mut self, p: &RawPacket<'a>, emit: &mut dyn FnMut(Job<'a>)) {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(p.wire_len);
        if self.stats.first_ts.is_none() {
            self.stats.first_ts = Some(p.ts);
        }
        self.stats.last_ts = Some(p.ts);
        let (decoded, bytes) = match decode(p.link, p.data) {
            Ok(Outcome::Packet(decoded)) => (decoded, Bytes::Borrowed(p.data)),
            Ok(Outcome::Fragment(f)) => {
                let Some(whole) = self.frags.add(p.ts, p.data, &f) else {
                    return;
                };
                match whole.outcome {
                    Ok(Outcome::Packet(decoded)) => (decoded, Bytes::Owned(whole.bytes)),
                    Ok(Outcome::Fragment(_)) => return,
                    Err(e) => return self.report(p.number, e),
                }
            }
            Err(e) => return self.report(p.number, e),
        };
        let inner = self.decapsulate(&decoded, bytes.as_slice(), p.number);
        match inner {
            Some(inner) => {
                let inner_bytes = match &bytes {
                    Bytes::Borrowed(b) => Bytes::Borrowed(b),
                    Bytes::Owned(b) => Bytes::Owned(b.clone()),
                };
                let outer_key = FlowKey::of(&decoded);
                emit(Job {
                    ts: p.ts,
                    decoded,
                    bytes,
                    tunnel: None,
                });
                emit(Job {
                    ts: p.ts,
                    decoded: inner,
                    bytes: inner_bytes,
                    tunnel: Some(outer_key),
                });
            }
            None => emit(Job {
                ts: p.ts,
                decoded,
                bytes,
                tunnel: None,
            }),
        }
    }

    /// The packet inside a Teredo datagram, if this is one.
    fn decapsulate(&mut self, outer: &Decoded, bytes: &[u8], number: u64) -> Option<Decoded> {
        if outer.l4 != L4::Udp || outer.payload_captured < 40 {
            return None;
        }
        let payload = outer.payload(bytes);
        let id = ConnId {
            orig_h: outer.src,
            orig_p: outer.src_port,
            resp_h: outer.dst,
            resp_p: outer.dst_port,
            proto: Transport::Udp,
        };
        if !teredo::is_teredo(&id, payload) {
            return None;
        }
        let at = outer.payload_offset as usize + teredo::inner_ipv6_offset(payload)?;
        match decode_ip(bytes, at) {
            // A bubble (no next header) only keeps the tunnel open: no inner connection.
            Ok(Outcome::Packet(inner)) if inner.ip_proto != IPV6_NO_NEXT_HEADER => Some(inner),
            Ok(_) => None,
            Err(e) => {
                self.report(number, e);
                None
            }
        }
    }
}

const IPV6_NO_NEXT_HEADER: u8 = 59;

/// Reads a capture file through the pipeline and returns every record, ordered by
/// timestamp (then uid), plus what the run saw.
pub fn run_file(
    path: &Path,
    config: &PipelineConfig,
) -> Result<(Vec<Record>, RunStats), CaptureError> {
    let file = PcapFile::open(path)?;
    let packets = file.packets()?;
    let mut reader = Reader {
        path,
        frags: FragmentTable::new(config.fragments),
        stats: RunStats::default(),
        max_reported: config.max_reported_errors,
    };
    let mut records = Vec::new();
    let workers = config.workers.max(1);
    let mut tables = Vec::new();
    let mut links = Vec::new();

    if workers == 1 {
        let mut table = ConnTable::new(config.tracker.clone());
        for p in packets {
            match p {
                Ok(p) => reader.decode(&p, &mut |job| {
                    table.process(
                        job.ts,
                        &job.decoded,
                        job.bytes.as_slice(),
                        job.tunnel.as_ref(),
                        &mut records,
                    )
                }),
                Err(e) => reader.stats.capture_error = Some(e),
            }
        }
        table.flush(&mut records);
        links.append(&mut table.take_links());
        tables.push(table.stats());
    } else {
        std::thread::scope(|scope| {
            let mut senders: Vec<Sender<Vec<Job<'_>>>> = Vec::with_capacity(workers);
            let (recycle_tx, recycle_rx) =
                bounded::<Vec<Job<'_>>>(workers * config.queue_depth * 2);
            let mut handles = Vec::with_capacity(workers);
            for _ in 0..workers {
                let (tx, rx) = bounded::<Vec<Job<'_>>>(config.queue_depth);
                senders.push(tx);
                let tracker = config.tracker.clone();
                let recycle = recycle_tx.clone();
                handles.push(scope.spawn(move || worker(rx, recycle, tracker)));
            }
            drop(recycle_tx);
            let mut pending: Vec<Vec<Job<'_>>> = (0..workers)
                .map(|_| Vec::with_capacity(config.batch))
                .collect();
            for p in packets {
                match p {
                    Ok(p) => reader.decode(&p, &mut |job| {
                        let w = job.shard(workers);
                        pending[w].push(job);
                        if pending[w].len() >= config.batch {
                            let fresh = next_batch(&recycle_rx, config.batch);
                            let full = std::mem::replace(&mut pending[w], fresh);
                            let _ = senders[w].send(full);
                        }
                    }),
                    Err(e) => reader.stats.capture_error = Some(e),
                }
            }
            for (w, batch) in pending.into_iter().enumerate() {
                if !batch.is_empty() {
                    let _ = senders[w].send(batch);
                }
            }
            drop(senders);
            drop(recycle_rx);
            for h in handles {
                match h.join() {
                    Ok((mut recs, stats, mut worker_links)) => {
                        records.append(&mut recs);
                        links.append(&mut worker_links);
                        tables.push(stats);
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
    }

    for t in tables {
        reader.stats.table.packets += t.packets;
        reader.stats.table.connections += t.connections;
        reader.stats.table.evicted += t.evicted;
    }
    reader.stats.fragments = reader.frags.stats;
    resolve_tunnel_parents(&mut records, &links);
    records.sort_by(|a, b| {
        a.ts()
            .cmp(&b.ts())
            .then_with(|| record_tiebreak(a).cmp(&record_tiebreak(b)))
    });
    let mut stage = OutputStage::new();
    let mut written = Vec::with_capacity(records.len());
    for r in records {
        stage.push(r, &mut written);
    }
    stage.finish(&mut written);
    // Aggregated records (a DHCP transaction, say) carry the time they began.
    written.sort_by_key(Record::ts);
    Ok((written, reader.stats))
}

fn next_batch<'a>(recycle: &Receiver<Vec<Job<'a>>>, cap: usize) -> Vec<Job<'a>> {
    recycle
        .try_recv()
        .unwrap_or_else(|_| Vec::with_capacity(cap))
}

fn worker<'a>(
    rx: Receiver<Vec<Job<'a>>>,
    recycle: Sender<Vec<Job<'a>>>,
    tracker: TrackerConfig,
) -> (Vec<Record>, TableStats, Vec<TunnelLink>) {
    let mut table = ConnTable::new(tracker);
    let mut out = Vec::new();
    for mut batch in rx {
        for job in batch.drain(..) {
            table.process(
                job.ts,
                &job.decoded,
                job.bytes.as_slice(),
                job.tunnel.as_ref(),
                &mut out,
            );
        }
        let _ = recycle.try_send(batch);
    }
    table.flush(&mut out);
    (out, table.stats(), table.take_links())
}

/// Fills `tunnel_parents` of tunnelled connections with the uid of the outer connection
/// that was active when each came through it.
fn resolve_tunnel_parents(records: &mut [Record], links: &[TunnelLink]) {
    if links.is_empty() {
        return;
    }
    let mut outer: HashMap<FlowKey, Vec<(Timestamp, Timestamp, Uid)>> = HashMap::new();
    for r in records.iter() {
        if let Record::Conn(c) = r {
            let key = FlowKey::between(
                (c.id.orig_h, c.id.orig_p),
                (c.id.resp_h, c.id.resp_p),
                c.ip_proto.unwrap_or(0),
            );
            let end = c.ts.saturating_add(c.duration.unwrap_or_default());
            outer.entry(key).or_default().push((c.ts, end, c.uid));
        }
    }
    let mut parents: HashMap<Uid, Vec<Uid>> = HashMap::new();
    for link in links {
        let Some(candidates) = outer.get(&link.outer) else {
            continue;
        };
        // The latest outer connection that had started by then.
        let found = candidates
            .iter()
            .filter(|(start, _, _)| *start <= link.ts)
            .max_by_key(|(start, _, _)| *start);
        if let Some(&(_, _, uid)) = found {
            let list = parents.entry(link.inner).or_default();
            if !list.contains(&uid) {
                list.push(uid);
            }
        }
    }
    for r in records.iter_mut() {
        if let Record::Conn(c) = r {
            if let Some(p) = parents.remove(&c.uid) {
                c.tunnel_parents = Some(p);
            }
        }
    }
}

/// A stable order among records with the same timestamp, independent of which worker
/// produced them.
fn record_tiebreak(r: &Record) -> (u8, u128) {
    match r {
        Record::Conn(c) => (0, c.uid.bits),
        Record::Dns(d) => (1, d.uid.bits),
        Record::Http(h) => (2, h.uid.bits),
        Record::Ssl(s) => (3, s.uid.bits),
        Record::Ssh(s) => (4, s.uid.bits),
        Record::Files(_) | Record::X509(_) | Record::Software(_) => (5, 0),
        Record::SoftwareFound(_) | Record::Dhcp(_) | Record::DhcpMessage(_) => (6, 0),
    }
}
