//! Getting jobs to the flow tables: inline when there is one worker, otherwise in batches
//! over bounded queues to N worker threads, with watermark ticks so that the merge can
//! release records of quiet workers too.

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use dissectors::{Record, Timestamp};

use super::reader::{Bytes, Job};
use super::PipelineConfig;
use crate::flow::{ConnTable, Emitted, TableStats, TrackerConfig};
use crate::merge::Merger;

/// Jobs for one worker, with the buffer holding copies of live packets.
pub(super) struct Batch<'a> {
    data: Vec<u8>,
    jobs: Vec<Job<'a>>,
}

impl<'a> Batch<'a> {
    fn with_capacity(jobs: usize) -> Self {
        Batch {
            data: Vec::new(),
            jobs: Vec::with_capacity(jobs),
        }
    }
}

enum Message<'a> {
    Batch(Batch<'a>),
    /// Everything up to this network time has been sent.
    Tick(Timestamp),
}

pub(super) struct Threads<'a> {
    senders: Vec<Sender<Message<'a>>>,
    /// The receiving ends, used to take the oldest batch out of a full queue.
    heads: Vec<Receiver<Message<'a>>>,
    recycle: Receiver<Batch<'a>>,
    pending: Vec<Batch<'a>>,
}

/// Records of one flow table on their way to the merge: the table's index, the records in
/// the order it produced them, and its watermark.
type ToMerge = (usize, Vec<Emitted>, Timestamp);

pub(super) enum Mode<'a> {
    /// One flow table, run on the reader's thread; its records go to the merge thread.
    Inline {
        table: Box<ConnTable>,
        out: Sender<ToMerge>,
        /// The table's index among the merge's sources.
        source: usize,
        /// Whether the records are completed (files' digests) here before they are handed
        /// over, rather than on a finishing thread on the way to the merge.
        finish_here: bool,
        emitted: Vec<Emitted>,
        batch: Vec<u8>,
    },
    Threads(Threads<'a>),
}

/// Records gathered before they are handed to the merge thread: enough to make the
/// hand-over cheap, few enough to keep them in cache.
const INLINE_HANDOVER: usize = 256;
/// Hand-overs the finishing thread completes together at most, when they are waiting.
const FINISH_TOGETHER: usize = 8;

pub(super) struct Dispatcher<'a> {
    mode: Mode<'a>,
    workers: usize,
    batch_size: usize,
    tick_micros: i64,
    last_tick: Timestamp,
    /// The latest network time seen.
    latest: Timestamp,
    /// Packets dropped because a worker fell behind.
    pub(super) dropped: u64,
}

impl<'a> Dispatcher<'a> {
    fn new(mode: Mode<'a>, config: &PipelineConfig) -> Self {
        Dispatcher {
            mode,
            workers: config.workers.max(1),
            batch_size: config.batch,
            tick_micros: config.tick_micros,
            last_tick: Timestamp(i64::MIN),
            latest: Timestamp(i64::MIN),
            dropped: 0,
        }
    }

    /// Hands a job to its flow table: run at once by an inline dispatcher; queued for
    /// its worker thread otherwise (live capture), its bytes, only borrowed for this call,
    /// copied into the worker's batch buffer.
    pub(super) fn push(&mut self, job: Job<'_>) {
        if self.run_inline(&job) {
            return;
        }
        if let Mode::Threads(threads) = &mut self.mode {
            let w = job.shard(self.workers);
            let pending = &mut threads.pending[w];
            let bytes = match job.bytes {
                Bytes::Borrowed(b) => {
                    let start = pending.data.len() as u32;
                    pending.data.extend_from_slice(b);
                    Bytes::InBatch(start, b.len() as u32)
                }
                Bytes::Owned(b) => Bytes::Owned(b),
                Bytes::InBatch(start, len) => Bytes::InBatch(start, len),
            };
            pending.jobs.push(Job { bytes, ..job });
            if pending.jobs.len() >= self.batch_size {
                self.send(w);
            }
        }
    }

    /// With one worker, processes the job right away; returns false otherwise.
    fn run_inline(&mut self, job: &Job<'_>) -> bool {
        let Mode::Inline {
            table,
            out,
            source,
            finish_here,
            emitted,
            batch,
        } = &mut self.mode
        else {
            return false;
        };
        job.run(table, batch);
        table.take_emitted(emitted);
        if emitted.len() >= INLINE_HANDOVER {
            hand_over(out, *source, *finish_here, emitted, job.clock);
        }
        true
    }

    fn send(&mut self, w: usize) {
        let Mode::Threads(threads) = &mut self.mode else {
            return;
        };
        let fresh = threads
            .recycle
            .try_recv()
            .unwrap_or_else(|_| Batch::with_capacity(self.batch_size));
        let mut batch = std::mem::replace(&mut threads.pending[w], fresh);
        batch.data.shrink_to(1 << 20);
        // A full queue loses its oldest batch, counted: the workers serve live capture,
        // where waiting would only move the loss into the kernel, counted less precisely.
        let mut message = Message::Batch(batch);
        loop {
            match threads.senders[w].try_send(message) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(m)) => {
                    message = m;
                    if let Ok(Message::Batch(old)) = threads.heads[w].try_recv() {
                        self.dropped += old.jobs.len() as u64;
                    }
                }
            }
        }
    }

    /// Network time moved on: every `tick_micros`, all pending jobs are sent and every
    /// worker is told the time, so it can fire its timers and move its watermark.
    pub(super) fn clock(&mut self, clock: Timestamp) {
        self.latest = self.latest.max(clock);
        if clock.0.saturating_sub(self.last_tick.0) < self.tick_micros {
            return;
        }
        self.tick(clock);
    }

    /// End of input: every table is told the time of the last packet before it is
    /// flushed. A worker's table only sees its own packets between ticks, so the timers
    /// due in the last fraction of a tick were left to the flush, which emits at the end
    /// of time: the same connections came out in another order than with one table.
    fn final_tick(&mut self) {
        if self.latest > self.last_tick {
            self.tick(self.latest);
        }
    }

    fn tick(&mut self, clock: Timestamp) {
        self.last_tick = clock;
        match &mut self.mode {
            Mode::Inline {
                table,
                out,
                source,
                finish_here,
                emitted,
                ..
            } => {
                table.advance(clock);
                table.take_emitted(emitted);
                hand_over(out, *source, *finish_here, emitted, clock);
            }
            Mode::Threads(_) => {
                for w in 0..self.workers {
                    self.send(w);
                    if let Mode::Threads(threads) = &mut self.mode {
                        let _ = threads.senders[w].send(Message::Tick(clock));
                    }
                }
            }
        }
    }
}

/// The merge thread, with everything the sink does (writing logs, the analysis), beside the
/// flow tables; returns the sender for the tables' records.
fn spawn_merge<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    sources: usize,
    sink: &'scope mut (dyn FnMut(Record) + Send),
) -> (Sender<ToMerge>, std::thread::ScopedJoinHandle<'scope, ()>) {
    let (out_tx, out_rx) = bounded::<ToMerge>(sources * 4);
    let handle = std::thread::Builder::new()
        .name("merge".into())
        .spawn_scoped(scope, move || {
            let mut merger = Merger::new(sources, sink);
            for (source, mut records, watermark) in out_rx {
                merger.add(source, &mut records, watermark);
            }
            merger.finish();
        })
        .expect("cannot start the merge thread");
    (out_tx, handle)
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match handle.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A dispatcher that runs its jobs on the calling thread, in the table of merge source
/// `source`.
fn inline_dispatcher<'a>(
    config: &PipelineConfig,
    out: Sender<ToMerge>,
    source: usize,
    finish_here: bool,
) -> Dispatcher<'a> {
    Dispatcher::new(
        Mode::Inline {
            table: Box::new(ConnTable::new(config.tracker.clone())),
            out,
            source,
            finish_here,
            emitted: Vec::with_capacity(INLINE_HANDOVER * 2),
            batch: Vec::new(),
        },
        config,
    )
}

/// End of input for an inline dispatcher: the last tick, then every connection still
/// open is flushed and its records handed over as final. Returns the table's statistics
/// and the packets dropped.
fn finish_inline(mut dispatcher: Dispatcher<'_>) -> (TableStats, u64) {
    dispatcher.final_tick();
    let Mode::Inline {
        mut table,
        out,
        source,
        finish_here,
        mut emitted,
        ..
    } = dispatcher.mode
    else {
        unreachable!("inline dispatcher");
    };
    table.flush();
    table.take_emitted(&mut emitted);
    hand_over(&out, source, finish_here, &mut emitted, Timestamp(i64::MAX));
    (table.stats(), dispatcher.dropped)
}

/// Runs `feed` on `config.workers` threads at once, each with an inline dispatcher to a
/// flow table of its own. Each `feed` reads the whole input and pushes only its own
/// shard's jobs (a sharing [`Reader`](super::reader::Reader)), so no packet crosses a
/// queue between threads: for a capture file, whose bytes every thread maps, decoding a
/// packet costs less than handing it over. Returns what each `feed` returned, in worker
/// order, and the tables' statistics.
pub(super) fn with_sharded_dispatchers<'a, R: Send>(
    config: &PipelineConfig,
    sink: &mut (dyn FnMut(Record) + Send),
    feed: impl Fn(usize, &mut Dispatcher<'a>) -> R + Sync,
) -> (Vec<R>, Vec<TableStats>) {
    let workers = config.workers.max(1);
    std::thread::scope(|scope| {
        let (out_tx, merger_thread) = spawn_merge(scope, workers, sink);
        let feed = &feed;
        let handles: Vec<_> = (0..workers)
            .map(|index| {
                let out = out_tx.clone();
                std::thread::Builder::new()
                    .name(format!("worker-{index}"))
                    .spawn_scoped(scope, move || {
                        if config.pin {
                            pin_current_thread(index);
                        }
                        let mut dispatcher = inline_dispatcher(config, out, index, true);
                        let result = feed(index, &mut dispatcher);
                        (result, finish_inline(dispatcher).0)
                    })
                    .expect("cannot start a worker thread")
            })
            .collect();
        drop(out_tx);
        let (results, stats) = handles.into_iter().map(join).unzip();
        join(merger_thread);
        (results, stats)
    })
}

/// Runs `feed` with a dispatcher to the flow tables, then flushes every table and
/// delivers the remaining records. Returns the tables' statistics and the packets
/// dropped for backpressure.
pub(super) fn with_dispatcher<'a, R>(
    config: &PipelineConfig,
    sink: &mut (dyn FnMut(Record) + Send),
    feed: impl FnOnce(&mut Dispatcher<'a>) -> R,
) -> (R, Vec<TableStats>, u64) {
    let workers = config.workers.max(1);
    std::thread::scope(|scope| {
        let (out_tx, merger_thread) = spawn_merge(scope, workers, sink);
        if workers == 1 {
            // The table's records are completed (files' digests) on a thread between the
            // table and the merge, so that the reader's thread only reads and dissects.
            let (table_tx, table_rx) = bounded::<ToMerge>(4);
            let finisher = std::thread::Builder::new()
                .name("finish".into())
                .spawn_scoped(scope, move || {
                    // The hand-overs already waiting are completed together, so that the
                    // files' MD5s fill the lanes (`md5_lanes`); none is waited for.
                    let mut held: Vec<ToMerge> = Vec::new();
                    while let Ok(first) = table_rx.recv() {
                        held.push(first);
                        while held.len() < FINISH_TOGETHER {
                            match table_rx.try_recv() {
                                Ok(next) => held.push(next),
                                Err(_) => break,
                            }
                        }
                        finish_deferred(held.iter_mut().flat_map(|(_, records, _)| records));
                        for message in held.drain(..) {
                            if out_tx.send(message).is_err() {
                                return;
                            }
                        }
                    }
                })
                .expect("cannot start the finishing thread");
            let mut dispatcher = inline_dispatcher(config, table_tx, 0, false);
            let result = feed(&mut dispatcher);
            let (stats, dropped) = finish_inline(dispatcher);
            join(finisher);
            join(merger_thread);
            return (result, vec![stats], dropped);
        }
        let (recycle_tx, recycle_rx) = bounded::<Batch<'a>>(workers * config.queue_depth * 2);
        let mut senders = Vec::with_capacity(workers);
        let mut heads = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for index in 0..workers {
            let (tx, rx) = bounded::<Message<'a>>(config.queue_depth);
            senders.push(tx);
            heads.push(rx.clone());
            let tracker = config.tracker.clone();
            let recycle = recycle_tx.clone();
            let out = out_tx.clone();
            let pin = config.pin;
            handles.push(scope.spawn(move || {
                if pin {
                    pin_current_thread(index + 1);
                }
                worker(index, rx, recycle, out, tracker)
            }));
        }
        drop(recycle_tx);
        drop(out_tx);
        // After the other threads exist, so that they do not inherit the reader's core.
        if config.pin {
            pin_current_thread(0);
        }
        let mut dispatcher = Dispatcher::new(
            Mode::Threads(Threads {
                senders,
                heads,
                recycle: recycle_rx,
                pending: (0..workers)
                    .map(|_| Batch::with_capacity(config.batch))
                    .collect(),
            }),
            config,
        );
        let result = feed(&mut dispatcher);
        dispatcher.final_tick();
        for w in 0..workers {
            dispatcher.send(w);
        }
        let dropped = dispatcher.dropped;
        drop(dispatcher);
        let stats = handles.into_iter().map(join).collect();
        join(merger_thread);
        (result, stats, dropped)
    })
}

/// Binds the calling thread to core `n` (modulo the number of cores); a failure only
/// leaves the thread unpinned.
pub(super) fn pin_current_thread(n: usize) {
    #[cfg(target_os = "linux")]
    {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let core = n % cores;
        // SAFETY: cpu_set_t is plain data that CPU_ZERO/CPU_SET initialise; the set lives on
        // this stack frame for the duration of the call, and pid 0 means this thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_ZERO(&mut set);
            libc::CPU_SET(core, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = n;
}

/// Sends the inline table's records gathered so far to the merge, with its watermark.
fn hand_over(
    out: &Sender<ToMerge>,
    source: usize,
    finish_here: bool,
    emitted: &mut Vec<Emitted>,
    watermark: Timestamp,
) {
    let mut records = std::mem::replace(emitted, Vec::with_capacity(INLINE_HANDOVER * 2));
    if finish_here {
        finish_deferred(&mut records);
    }
    let _ = out.send((source, records, watermark));
}

/// Completes the records the dissectors left work in (files' digests), on the calling
/// thread.
fn finish_deferred<'e>(records: impl IntoIterator<Item = &'e mut Emitted>) {
    Record::finish_deferred_all(records.into_iter().map(|e| &mut e.record));
}

fn worker<'a>(
    index: usize,
    rx: Receiver<Message<'a>>,
    recycle: Sender<Batch<'a>>,
    out: Sender<ToMerge>,
    tracker: TrackerConfig,
) -> TableStats {
    let mut table = ConnTable::new(tracker);
    let mut watermark = Timestamp(i64::MIN);
    for message in rx {
        match message {
            Message::Batch(mut batch) => {
                for job in batch.jobs.drain(..) {
                    watermark = job.clock;
                    job.run(&mut table, &batch.data);
                }
                batch.data.clear();
                let _ = recycle.try_send(batch);
            }
            Message::Tick(clock) => {
                table.advance(clock);
                watermark = watermark.max(clock);
            }
        }
        let mut emitted = Vec::new();
        table.take_emitted(&mut emitted);
        finish_deferred(&mut emitted);
        let _ = out.send((index, emitted, watermark));
    }
    table.flush();
    let mut emitted = Vec::new();
    table.take_emitted(&mut emitted);
    finish_deferred(&mut emitted);
    let _ = out.send((index, emitted, Timestamp(i64::MAX)));
    table.stats()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn pinning_binds_the_thread_to_one_core() {
        std::thread::spawn(|| {
            pin_current_thread(0);
            // SAFETY: as in pin_current_thread: a zeroed set filled by the kernel.
            let set = unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
                set
            };
            // SAFETY: reading bits of an initialised set.
            let count = (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
                .count();
            assert_eq!(count, 1);
            // SAFETY: as above.
            assert!(unsafe { libc::CPU_ISSET(0, &set) });
        })
        .join()
        .expect("thread");
    }
}
