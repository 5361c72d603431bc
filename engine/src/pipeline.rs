//! The per-core pipeline: one reader decodes packets and shards them by a symmetric flow
//! hash to N workers, each owning its flow table; their records are merged into one
//! stream ordered by the network time they were produced at, identical for any number
//! of workers (see `merge`), and handed to a sink as they become final.

use std::collections::BTreeMap;
use std::path::Path;

use crossbeam_channel::{bounded, Receiver, Sender};
use dissectors::{teredo, ConnId, Record, Timestamp, Transport};

use crate::capture::{CaptureError, PcapFile, RawPacket};
use crate::decode::{
    decode, decode_ip, DecodeError, Decoded, FragmentLimits, FragmentStats, FragmentTable, Outcome,
    L4,
};
use crate::flow::{ConnTable, Emitted, FlowKey, TableStats, TrackerConfig, TunnelRole};
use crate::merge::Merger;

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
    /// Network time between watermark ticks sent to every worker, so that records of
    /// quiet workers are released too (bounds the memory of the merge).
    pub tick_micros: i64,
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
            tick_micros: 1_000_000,
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
    /// Network time: the latest packet time seen so far, never going back.
    clock: Timestamp,
    ts: Timestamp,
    decoded: Decoded,
    bytes: Bytes<'a>,
    tunnel: TunnelRole,
}

impl Job<'_> {
    fn shard(&self, workers: usize) -> usize {
        (FlowKey::of(&self.decoded).shard_hash() % workers as u64) as usize
    }

    fn run(&self, table: &mut ConnTable) {
        table.process(
            self.clock,
            self.ts,
            &self.decoded,
            self.bytes.as_slice(),
            self.tunnel,
        );
    }
}

/// Decodes packets, reassembles fragments and keeps the counters.
struct Reader<'p> {
    path: &'p Path,
    frags: FragmentTable,
    stats: RunStats,
    max_reported: usize,
    clock: Timestamp,
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
        self.clock = self.clock.max(p.ts);
        let clock = self.clock;
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
                    clock,
                    ts: p.ts,
                    decoded,
                    bytes,
                    tunnel: TunnelRole::Outer,
                });
                emit(Job {
                    clock,
                    ts: p.ts,
                    decoded: inner,
                    bytes: inner_bytes,
                    tunnel: TunnelRole::Inner(outer_key),
                });
            }
            None => emit(Job {
                clock,
                ts: p.ts,
                decoded,
                bytes,
                tunnel: TunnelRole::None,
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

/// Bytes of the capture released from memory at a time, and kept behind the reader when
/// workers may still be reading them.
const RELEASE_STEP: usize = 16 << 20;
const RELEASE_LAG: usize = 64 << 20;

/// Reads a capture file through the pipeline, handing every record to `sink` as soon as
/// it is final; returns what the run saw.
pub fn run_file(
    path: &Path,
    config: &PipelineConfig,
    sink: &mut (dyn FnMut(Record) + Send),
) -> Result<RunStats, CaptureError> {
    let file = PcapFile::open(path)?;
    let packets = file.packets()?;
    let mut reader = Reader {
        path,
        frags: FragmentTable::new(config.fragments),
        stats: RunStats::default(),
        max_reported: config.max_reported_errors,
        clock: Timestamp(i64::MIN),
    };
    let workers = config.workers.max(1);
    let mut tables = Vec::new();
    let mut released = 0usize;
    let lag = if workers == 1 { 0 } else { RELEASE_LAG };
    // Pages behind the read position are dropped in steps; the lag leaves the workers'
    // queued packets resident (touching a dropped page would only re-read it).
    let mut release = |p: &RawPacket<'_>| {
        if let Some(at) = file.offset_of(p.data) {
            if at > released + RELEASE_STEP + lag {
                released = at - lag;
                file.release_before(released);
            }
        }
    };

    if workers == 1 {
        let mut merger = Merger::new(1, sink);
        let mut table = ConnTable::new(config.tracker.clone());
        let mut emitted = Vec::new();
        for p in packets {
            match p {
                Ok(p) => {
                    reader.decode(&p, &mut |job| job.run(&mut table));
                    release(&p);
                }
                Err(e) => reader.stats.capture_error = Some(e),
            }
            table.take_emitted(&mut emitted);
            if !emitted.is_empty() {
                merger.add(0, &mut emitted, reader.clock);
            }
        }
        table.flush();
        table.take_emitted(&mut emitted);
        merger.add(0, &mut emitted, Timestamp(i64::MAX));
        merger.finish();
        tables.push(table.stats());
    } else {
        std::thread::scope(|scope| {
            let (out_tx, out_rx) = bounded::<(usize, Vec<Emitted>, Timestamp)>(workers * 4);
            let merger_thread = scope.spawn(move || {
                let mut merger = Merger::new(workers, sink);
                for (source, mut records, watermark) in out_rx {
                    merger.add(source, &mut records, watermark);
                }
                merger.finish();
            });
            let mut senders: Vec<Sender<Message<'_>>> = Vec::with_capacity(workers);
            let (recycle_tx, recycle_rx) =
                bounded::<Vec<Job<'_>>>(workers * config.queue_depth * 2);
            let mut handles = Vec::with_capacity(workers);
            for index in 0..workers {
                let (tx, rx) = bounded::<Message<'_>>(config.queue_depth);
                senders.push(tx);
                let tracker = config.tracker.clone();
                let recycle = recycle_tx.clone();
                let out = out_tx.clone();
                handles.push(scope.spawn(move || worker(index, rx, recycle, out, tracker)));
            }
            drop(recycle_tx);
            drop(out_tx);
            let mut pending: Vec<Vec<Job<'_>>> = (0..workers)
                .map(|_| Vec::with_capacity(config.batch))
                .collect();
            let mut last_tick = Timestamp(i64::MIN);
            for p in packets {
                match p {
                    Ok(p) => {
                        release(&p);
                        reader.decode(&p, &mut |job| {
                            let w = job.shard(workers);
                            pending[w].push(job);
                            if pending[w].len() >= config.batch {
                                let fresh = recycle_rx
                                    .try_recv()
                                    .unwrap_or_else(|_| Vec::with_capacity(config.batch));
                                let full = std::mem::replace(&mut pending[w], fresh);
                                let _ = senders[w].send(Message::Batch(full));
                            }
                        })
                    }
                    Err(e) => reader.stats.capture_error = Some(e),
                }
                // Every tick, all that came before has been sent: workers may move their
                // watermark to the reader's clock even if they got no packet.
                if reader.clock.0.saturating_sub(last_tick.0) >= config.tick_micros {
                    last_tick = reader.clock;
                    for (w, batch) in pending.iter_mut().enumerate() {
                        if !batch.is_empty() {
                            let fresh = recycle_rx
                                .try_recv()
                                .unwrap_or_else(|_| Vec::with_capacity(config.batch));
                            let _ =
                                senders[w].send(Message::Batch(std::mem::replace(batch, fresh)));
                        }
                        let _ = senders[w].send(Message::Tick(reader.clock));
                    }
                }
            }
            for (w, batch) in pending.into_iter().enumerate() {
                if !batch.is_empty() {
                    let _ = senders[w].send(Message::Batch(batch));
                }
            }
            drop(senders);
            drop(recycle_rx);
            for h in handles {
                match h.join() {
                    Ok(stats) => tables.push(stats),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            if let Err(panic) = merger_thread.join() {
                std::panic::resume_unwind(panic);
            }
        });
    }

    for t in tables {
        reader.stats.table.packets += t.packets;
        reader.stats.table.connections += t.connections;
        reader.stats.table.evicted += t.evicted;
    }
    reader.stats.fragments = reader.frags.stats;
    Ok(reader.stats)
}

/// Reads a capture file and returns every record in output order (for tests and tools
/// that want them all at once).
pub fn collect_file(
    path: &Path,
    config: &PipelineConfig,
) -> Result<(Vec<Record>, RunStats), CaptureError> {
    let mut records = Vec::new();
    let stats = run_file(path, config, &mut |r| records.push(r))?;
    Ok((records, stats))
}

enum Message<'a> {
    Batch(Vec<Job<'a>>),
    /// Everything up to this network time has been sent.
    Tick(Timestamp),
}

fn worker<'a>(
    index: usize,
    rx: Receiver<Message<'a>>,
    recycle: Sender<Vec<Job<'a>>>,
    out: Sender<(usize, Vec<Emitted>, Timestamp)>,
    tracker: TrackerConfig,
) -> TableStats {
    let mut table = ConnTable::new(tracker);
    let mut watermark = Timestamp(i64::MIN);
    for message in rx {
        match message {
            Message::Batch(mut batch) => {
                for job in batch.drain(..) {
                    watermark = job.clock;
                    job.run(&mut table);
                }
                let _ = recycle.try_send(batch);
            }
            Message::Tick(clock) => {
                table.advance(clock);
                watermark = clock;
            }
        }
        let mut emitted = Vec::new();
        table.take_emitted(&mut emitted);
        let _ = out.send((index, emitted, watermark));
    }
    table.flush();
    let mut emitted = Vec::new();
    table.take_emitted(&mut emitted);
    let _ = out.send((index, emitted, Timestamp(i64::MAX)));
    table.stats()
}
