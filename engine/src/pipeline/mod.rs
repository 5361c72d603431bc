//! The per-core pipeline: packets are sharded by a symmetric flow hash to N workers, each
//! owning its flow table; their records are merged into one stream ordered by the network
//! time they were produced at, identical for any number of workers (see `merge`), and
//! handed to a sink as they become final. A capture file is read by every worker at once,
//! each keeping its own shard's packets; live packets are read by one thread and sent to
//! the workers over queues.

mod dispatch;
mod pager;
mod reader;

use std::collections::BTreeMap;
use std::path::Path;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dissectors::{Record, Timestamp};

use crate::capture::{
    open_live, wall_clock, CaptureError, KernelStats, LiveError, LiveOptions, LiveSource, PcapFile,
    RawPacket,
};
use crate::decode::{FragmentLimits, FragmentStats};
use crate::flow::{TableStats, TrackerConfig};
use dispatch::{with_dispatcher, with_sharded_dispatchers, Dispatcher};
use reader::Reader;

#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub workers: usize,
    pub tracker: TrackerConfig,
    pub fragments: FragmentLimits,
    /// Packets per batch handed to a worker.
    pub batch: usize,
    /// Batches of live packets queued per worker before the oldest is dropped.
    pub queue_depth: usize,
    /// Decode problems reported individually (the rest are only counted).
    pub max_reported_errors: usize,
    /// Network time between watermark ticks sent to every worker, so that records of
    /// quiet workers are released too (bounds the memory of the merge).
    pub tick_micros: i64,
    /// Pin the reader to the first core and worker `i` to core `i + 1` (wrapping), so that
    /// a flow's state stays in one core's caches.
    pub pin: bool,
    /// Where the reader reports how far into a capture file it is (a progress bar).
    pub progress: Option<Arc<FileProgress>>,
}

/// How far the reader is into a capture file, updated every few thousand packets
/// (atomics: read from another thread without holding up the reader).
#[derive(Debug, Default)]
pub struct FileProgress {
    pub total_bytes: AtomicU64,
    pub bytes_read: AtomicU64,
    pub packets: AtomicU64,
}

impl FileProgress {
    /// Share of the file read, 0..1 (0 when the size is unknown).
    pub fn fraction(&self) -> f64 {
        let total = self.total_bytes.load(Ordering::Relaxed);
        if total == 0 {
            return 0.0;
        }
        (self.bytes_read.load(Ordering::Relaxed) as f64 / total as f64).min(1.0)
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: 1,
            tracker: TrackerConfig::default(),
            fragments: FragmentLimits::default(),
            batch: 512,
            queue_depth: 8,
            max_reported_errors: 100,
            tick_micros: 1_000_000,
            pin: false,
            progress: None,
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
    /// Packets dropped because a worker fell behind (live capture only).
    pub queue_drops: u64,
    /// Dissectors that failed (panicked) and were dropped from their connection.
    pub dissector_failures: u64,
}

impl RunStats {
    pub fn decode_error_total(&self) -> u64 {
        self.decode_errors.values().sum()
    }
}

/// How far ahead of the packet being decoded the capture's bytes are prefetched into the
/// CPU's cache: a few packets' worth, so they arrive before the reader gets there.
const PREFETCH_AHEAD: usize = 8 << 10;

/// Reads a capture file through the pipeline, handing every record to `sink` as soon as
/// it is final; returns what the run saw.
pub fn run_file(
    path: &Path,
    config: &PipelineConfig,
    sink: &mut (dyn FnMut(Record) + Send),
) -> Result<RunStats, CaptureError> {
    run_file_until(path, config, &AtomicBool::new(false), sink)
}

/// Like [`run_file`], stopping early (with every open connection flushed and logged)
/// once `stop` is set, e.g. by SIGTERM.
pub fn run_file_until(
    path: &Path,
    config: &PipelineConfig,
    stop: &AtomicBool,
    sink: &mut (dyn FnMut(Record) + Send),
) -> Result<RunStats, CaptureError> {
    let file = PcapFile::open(path)?;
    // Fails here, before any thread starts, on a header that is not a capture's.
    file.packets()?;
    let name = path.display().to_string();
    let workers = config.workers.max(1);
    let run = FileRun {
        file: &file,
        name: &name,
        config,
        stop,
        positions: pager::Positions::new(workers),
        released: pager::Released::new(),
    };
    let reading = AtomicBool::new(true);
    if let Some(pr) = config.progress.as_deref() {
        pr.total_bytes
            .store(file.bytes().len() as u64, Ordering::Relaxed);
    }
    let (reader, tables) = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("pager".into())
            .spawn_scoped(scope, || {
                pager::run(&file, &run.positions, &run.released, &reading)
            })
            .expect("cannot start the pager thread");
        let read = if workers == 1 {
            let (reader, tables, _) =
                with_dispatcher(config, sink, |dispatcher| run.read(0, dispatcher));
            (reader, tables)
        } else {
            let (mut readers, tables) =
                with_sharded_dispatchers(config, sink, |index, dispatcher| {
                    run.read(index, dispatcher)
                });
            // Every worker read the same packets: the first one's counters are the run's.
            (readers.swap_remove(0), tables)
        };
        reading.store(false, Ordering::Relaxed);
        read
    });
    if let Some(pr) = config
        .progress
        .as_deref()
        .filter(|_| !stop.load(Ordering::Relaxed))
    {
        pr.bytes_read
            .store(pr.total_bytes.load(Ordering::Relaxed), Ordering::Relaxed);
        pr.packets.store(reader.stats.packets, Ordering::Relaxed);
    }
    Ok(finish_stats(reader, tables, 0))
}

/// How far one reader of a capture file may run ahead of the slowest, when several read
/// it at once: the merge holds the leader's records until every worker has passed their
/// time, and the mapping stays resident from the slowest reader on.
const MAX_READER_SPREAD: usize = 8 << 20;

/// Moves a reader to the end of the file when it stops, also when it unwinds from a
/// panic: a reader that stopped must hold back neither the others (which wait for the
/// slowest) nor the pager.
struct AtTheEnd<'p> {
    positions: &'p pager::Positions,
    reader: usize,
    end: usize,
}

impl Drop for AtTheEnd<'_> {
    fn drop(&mut self) {
        self.positions.set(self.reader, self.end);
    }
}

/// A capture file being read by one thread or by each of several workers.
struct FileRun<'r> {
    file: &'r PcapFile,
    name: &'r str,
    config: &'r PipelineConfig,
    stop: &'r AtomicBool,
    positions: pager::Positions,
    released: pager::Released,
}

impl<'r> FileRun<'r> {
    /// Reads every packet of the file into `dispatcher`, as reader `index`; returns the
    /// reader with its counters.
    fn read(&self, index: usize, dispatcher: &mut Dispatcher<'r>) -> Reader<'r> {
        let file = self.file;
        let workers = self.config.workers.max(1);
        let mut reader = if workers == 1 {
            Reader::new(self.name, self.config)
        } else {
            Reader::sharing(self.name, self.config, index, workers)
        };
        let Ok(packets) = file.packets() else {
            return reader;
        };
        let progress = self.config.progress.as_deref().filter(|_| index == 0);
        let _at_the_end = AtTheEnd {
            positions: &self.positions,
            reader: index,
            end: file.bytes().len(),
        };
        let mut prefetched = 0usize;
        for p in packets {
            if reader.stats.packets.is_multiple_of(1024) {
                if self.stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(p) = &p {
                    let at = file.offset_of(p.data).unwrap_or(0);
                    self.wait_for_the_slowest(index, at);
                    self.released.reader_at(file, self.positions.slowest());
                    if let Some(pr) = progress {
                        pr.bytes_read.store(at as u64, Ordering::Relaxed);
                        pr.packets.store(reader.stats.packets, Ordering::Relaxed);
                    }
                }
            }
            // The packet is used where the iterator left it: moved out of the `Result`,
            // it was copied in 16-byte pieces over the 8-byte stores that had just written
            // it, a store-forwarding stall on every packet.
            let packet = match &p {
                Ok(packet) => packet,
                Err(_) => {
                    reader.stats.capture_error = p.err();
                    continue;
                }
            };
            if let Some(at) = file.offset_of(packet.data) {
                self.positions.set(index, at);
                let want = at + PREFETCH_AHEAD;
                if want > prefetched {
                    file.prefetch(prefetched.max(at), want);
                    prefetched = want;
                }
            }
            reader.decode(packet, &mut |job| dispatcher.push(job));
            dispatcher.clock(reader.clock);
        }
        reader
    }

    /// Holds reader `index`, at byte `at`, while it is too far ahead of the slowest.
    fn wait_for_the_slowest(&self, index: usize, at: usize) {
        if self.config.workers <= 1 {
            return;
        }
        self.positions.set(index, at);
        while at > self.positions.slowest() + MAX_READER_SPREAD
            && !self.stop.load(Ordering::Relaxed)
        {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

fn finish_stats(reader: Reader<'_>, tables: Vec<TableStats>, queue_drops: u64) -> RunStats {
    let mut stats = reader.stats;
    for t in tables {
        stats.table.packets += t.packets;
        stats.table.connections += t.connections;
        stats.table.evicted += t.evicted;
    }
    stats.fragments = reader.frags.stats;
    stats.queue_drops = queue_drops;
    stats.dissector_failures = crate::flow::DISSECTOR_FAILURES.load(Ordering::Relaxed);
    stats
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

/// Counters of one live interface, for the status line and `stats.json`.
#[derive(Clone, Debug, Default)]
pub struct InterfaceStatus {
    pub interface: String,
    /// How it is captured (`pcap`, `af_xdp skb copy`, with the number of queues when
    /// there are several).
    pub method: String,
    pub packets: u64,
    pub bytes: u64,
    /// What the kernel counted (libpcap's statistics, or the AF_XDP rings' summed over
    /// the queues), including its drops.
    pub kernel: KernelStats,
}

/// A periodic report of a live run.
#[derive(Clone, Debug, Default)]
pub struct LiveStatus {
    pub interfaces: Vec<InterfaceStatus>,
    pub decode_errors: u64,
    /// Packets dropped because a worker fell behind.
    pub queue_drops: u64,
}

/// Packets read from one source before the next one gets its turn, so that several
/// interfaces and queues are served fairly.
const LIVE_BATCH: usize = 64;

/// Captures from live interfaces until `stop` is set (Ctrl+C, SIGTERM), then flushes
/// every open connection. `status` is called once the capture is open, then every
/// `status_every`, with the counters.
pub fn run_live(
    interfaces: &[String],
    options: &LiveOptions,
    config: &PipelineConfig,
    stop: &AtomicBool,
    status_every: Duration,
    status: &mut dyn FnMut(&LiveStatus),
    sink: &mut (dyn FnMut(Record) + Send),
) -> Result<RunStats, LiveError> {
    // Connections are tagged with the interface they were seen on.
    let mut tracker = config.tracker.clone();
    tracker.interfaces = interfaces.iter().map(|i| Arc::from(i.as_str())).collect();
    let config = &PipelineConfig {
        tracker,
        ..config.clone()
    };
    let mut sources: Vec<Box<dyn LiveSource>> = Vec::new();
    // The interface (index into `interfaces`) each source captures on.
    let mut owner = Vec::new();
    let mut counters = Vec::with_capacity(interfaces.len());
    for (i, name) in interfaces.iter().enumerate() {
        let opened = open_live(name, options)?;
        let method = match opened.len() {
            1 => opened[0].method().to_string(),
            n => format!("{}, {n} queues", opened[0].method()),
        };
        counters.push(InterfaceStatus {
            interface: name.clone(),
            method,
            ..InterfaceStatus::default()
        });
        owner.extend(std::iter::repeat_n(i, opened.len()));
        sources.extend(opened);
    }
    let mut poll_fds: Vec<libc::pollfd> = sources
        .iter()
        .map(|s| libc::pollfd {
            fd: s.wait_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let label = interfaces.join(",");
    let mut reader = Reader::new(&label, config);
    let mut failure = None;
    read_kernel_stats(&sources, &owner, &mut counters);
    status(&LiveStatus {
        interfaces: counters.clone(),
        ..LiveStatus::default()
    });
    let ((), tables, dropped) = with_dispatcher(config, sink, |dispatcher| {
        let mut next_status = Instant::now() + status_every;
        let mut number = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let mut idle = true;
            for (source, &i) in sources.iter_mut().zip(&owner) {
                let link = source.link();
                let counter = &mut counters[i];
                let read = source.read_batch(LIVE_BATCH, &mut |p| {
                    number += 1;
                    counter.packets += 1;
                    counter.bytes += u64::from(p.wire_len);
                    let raw = RawPacket {
                        ts: p.ts,
                        link,
                        data: p.data,
                        wire_len: p.wire_len,
                        number,
                        interface: u16::try_from(i).ok(),
                    };
                    reader.decode(&raw, &mut |job| dispatcher.push(job));
                });
                match read {
                    Ok(0) => {}
                    Ok(_) => idle = false,
                    Err(e) => {
                        failure = Some(e);
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                }
            }
            if idle {
                wait_for_packets(&mut poll_fds, options.timeout_ms);
                // With no traffic, network time follows the wall clock, so connections
                // still time out and records are still released.
                reader.clock = reader.clock.max(wall_clock());
            }
            dispatcher.clock(reader.clock);
            if Instant::now() >= next_status {
                next_status += status_every;
                read_kernel_stats(&sources, &owner, &mut counters);
                status(&LiveStatus {
                    interfaces: counters.clone(),
                    decode_errors: reader.stats.decode_error_total(),
                    queue_drops: dispatcher.dropped,
                });
            }
        }
    });
    read_kernel_stats(&sources, &owner, &mut counters);
    status(&LiveStatus {
        interfaces: counters,
        decode_errors: reader.stats.decode_error_total(),
        queue_drops: dropped,
    });
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(finish_stats(reader, tables, dropped))
}

/// Each interface's kernel counters: the sum over its sources (AF_XDP: its queues).
fn read_kernel_stats(
    sources: &[Box<dyn LiveSource>],
    owner: &[usize],
    counters: &mut [InterfaceStatus],
) {
    for c in counters.iter_mut() {
        c.kernel = KernelStats::default();
    }
    for (source, &i) in sources.iter().zip(owner) {
        counters[i]
            .kernel
            .add(&source.kernel_stats().unwrap_or_default());
    }
}

/// Waits until a source has packets or `timeout_ms` has passed.
fn wait_for_packets(fds: &mut [libc::pollfd], timeout_ms: i32) {
    if fds.iter().all(|p| p.fd < 0) {
        std::thread::sleep(Duration::from_millis(timeout_ms.max(0) as u64));
        return;
    }
    // SAFETY: `fds` is a valid slice of initialised pollfd structs, which poll reads and
    // writes only within its length; negative descriptors are ignored by poll.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_that_panics_stops_holding_the_others_back() {
        let positions = pager::Positions::new(2);
        positions.set(1, 4096);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _at_the_end = AtTheEnd {
                positions: &positions,
                reader: 0,
                end: 1 << 20,
            };
            positions.set(0, 100);
            panic!("a reader's bug");
        }));
        assert!(unwound.is_err());
        // Reader 0 now stands at the end: the slowest is reader 1.
        assert_eq!(positions.slowest(), 4096);
    }
}
