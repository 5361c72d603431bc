//! One sensor's line to Redis: a thread that sends operations in order, in pipelined
//! batches, and survives Redis going away. While it is away the operations wait in
//! memory, then in a spill file; the thread reconnects with backoff and replays them in
//! order. A batch cut off half-way is sent again whole: every operation is idempotent on
//! the server (see `scripts`), so nothing is lost and nothing counts twice.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use redis::Value;

use crate::ops::Op;

/// Operations sent in one round trip.
const BATCH: usize = 512;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A server that stops answering (a network partition) counts as gone after this.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where Redis is: one server, or the seed nodes of a cluster.
#[derive(Clone, Debug)]
pub struct Target {
    urls: Vec<String>,
    cluster: bool,
}

impl Target {
    /// `redis://host:port/db`, or several comma-separated URLs (a cluster's seeds).
    pub fn parse(spec: &str, cluster: bool) -> Result<Target, String> {
        let urls: Vec<String> = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if urls.is_empty() {
            return Err("no Redis URL given".into());
        }
        for u in &urls {
            redis::Client::open(u.as_str()).map_err(|e| format!("{u}: {e}"))?;
        }
        let cluster = cluster || urls.len() > 1;
        Ok(Target { urls, cluster })
    }

    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    pub fn connect(&self) -> redis::RedisResult<Conn> {
        if self.cluster {
            let client =
                redis::cluster::ClusterClient::builder(self.urls.iter().map(String::as_str))
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(IO_TIMEOUT)
                    .retries(0)
                    .build()?;
            Ok(Conn::Cluster(Box::new(client.get_connection()?)))
        } else {
            let client = redis::Client::open(self.urls[0].as_str())?;
            let c = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
            c.set_read_timeout(Some(IO_TIMEOUT))?;
            c.set_write_timeout(Some(IO_TIMEOUT))?;
            Ok(Conn::Single(c))
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.urls.join(","))
    }
}

pub enum Conn {
    Single(redis::Connection),
    Cluster(Box<redis::cluster::ClusterConnection>),
}

impl Conn {
    /// Sends `commands` in one pipeline; a reply per command.
    pub fn run(&mut self, commands: Vec<redis::Cmd>) -> redis::RedisResult<Vec<Value>> {
        match self {
            Conn::Single(c) => {
                let mut p = redis::pipe();
                for cmd in commands {
                    p.add_command(cmd);
                }
                p.query(c)
            }
            Conn::Cluster(c) => {
                let mut p = redis::cluster::cluster_pipe();
                for cmd in commands {
                    p.add_command(cmd);
                }
                p.query(c.as_mut())
            }
        }
    }
}

/// Whether sending again (after reconnecting) can succeed: connection trouble and the
/// server's transient states, not a command the server refuses.
fn transient(e: &redis::RedisError) -> bool {
    !matches!(e.retry_method(), redis::RetryMethod::NoRetry)
        || e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
}

/// The operations not sent yet, in order: in memory up to a cap, then in a spill file.
/// Once something is spilled, everything after it is spilled too until the file is
/// read back, which keeps the order.
pub struct Backlog {
    mem: VecDeque<Op>,
    cap: usize,
    path: PathBuf,
    spill: Option<Spill>,
}

struct Spill {
    writer: BufWriter<File>,
    reader: BufReader<File>,
    written: u64,
    read: u64,
}

impl Backlog {
    pub fn new(cap: usize, path: PathBuf) -> Self {
        Backlog {
            mem: VecDeque::new(),
            cap: cap.max(1),
            path,
            spill: None,
        }
    }

    pub fn len(&self) -> u64 {
        self.mem.len() as u64 + self.spill.as_ref().map_or(0, |s| s.written - s.read)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    pub fn push(&mut self, op: Op) -> std::io::Result<()> {
        if self.spill.is_none() && self.mem.len() < self.cap {
            self.mem.push_back(op);
            return Ok(());
        }
        if self.spill.is_none() {
            let writer = File::create(&self.path)?;
            let reader = File::open(&self.path)?;
            self.spill = Some(Spill {
                writer: BufWriter::new(writer),
                reader: BufReader::new(reader),
                written: 0,
                read: 0,
            });
        }
        let s = self.spill.as_mut().expect("just set");
        serde_json::to_writer(&mut s.writer, &op)?;
        s.writer.write_all(b"\n")?;
        s.written += 1;
        Ok(())
    }

    /// Moves up to `n` operations, oldest first, into `out`.
    pub fn take(&mut self, out: &mut Vec<Op>, n: usize) -> std::io::Result<()> {
        while out.len() < n {
            if let Some(op) = self.mem.pop_front() {
                out.push(op);
                continue;
            }
            let Some(s) = self.spill.as_mut() else {
                break;
            };
            if s.read == s.written {
                self.spill = None;
                fs::remove_file(&self.path)?;
                break;
            }
            s.writer.flush()?;
            let mut line = String::new();
            if s.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other(format!(
                    "{}: ends before its {} operations",
                    self.path.display(),
                    s.written
                )));
            }
            s.read += 1;
            let op = serde_json::from_str(line.trim_end()).map_err(|e| {
                std::io::Error::other(format!(
                    "{}: operation {}: {e}",
                    self.path.display(),
                    s.read
                ))
            })?;
            out.push(op);
        }
        Ok(())
    }

    /// Writes every operation left, after `first`, to `path` (one JSON line each) and
    /// empties the backlog; returns how many were written.
    pub fn keep_in(&mut self, first: &[Op], path: &Path) -> std::io::Result<u64> {
        let mut out = BufWriter::new(File::create(path)?);
        let mut n = 0;
        for op in first {
            serde_json::to_writer(&mut out, op)?;
            out.write_all(b"\n")?;
            n += 1;
        }
        for op in self.mem.drain(..) {
            serde_json::to_writer(&mut out, &op)?;
            out.write_all(b"\n")?;
            n += 1;
        }
        if let Some(mut s) = self.spill.take() {
            s.writer.flush()?;
            let mut file = s.reader.into_inner();
            file.seek(SeekFrom::Start(0))?;
            let mut reader = BufReader::new(file);
            let mut line = String::new();
            for _ in 0..s.read {
                line.clear();
                reader.read_line(&mut line)?;
            }
            n += s.written - s.read;
            std::io::copy(&mut reader, &mut out)?;
            fs::remove_file(&self.path)?;
        }
        out.flush()?;
        Ok(n)
    }
}

/// What the thread is told.
pub enum Msg<T> {
    /// Something to turn into operations on the thread (formatting off the analysis
    /// thread).
    Item(T),
    Op(Op),
    /// The end of the run: deliver what is left, waiting at most this long for Redis.
    Finish(Duration),
}

/// How a run of the line ended.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub sent: u64,
    /// Operations the server refused (a bug, never expected), with the first reason.
    pub refused: u64,
    pub first_refusal: Option<String>,
    /// Times the connection was lost and made again.
    pub reconnects: u64,
    /// Operations that went through the spill file.
    pub spilled: bool,
    /// Operations still undelivered at the end, kept in `kept_in`.
    pub undelivered: u64,
    pub kept_in: Option<PathBuf>,
    /// Items dropped because the line fell behind (live feed only).
    pub dropped: u64,
    /// A problem with the spill file.
    pub io_error: Option<String>,
}

/// Turns items into operations, and replies into whatever the owner wants.
pub trait Handler: Send + 'static {
    type Item: Send + 'static;
    fn ops(&mut self, item: Self::Item, out: &mut Vec<Op>);
    /// Takes the reply to `op`; an error is a reply that makes no sense (counted as a
    /// refusal).
    fn reply(&mut self, op: &Op, reply: Value) -> Result<(), String>;
}

/// The sending side, owned by the analysis thread.
pub struct Link<T> {
    tx: Sender<Msg<T>>,
    thread: Option<JoinHandle<Report>>,
    dropped: u64,
}

pub struct LinkOptions {
    pub target: Target,
    pub queue: usize,
    pub buffer: usize,
    pub spill: PathBuf,
    pub undelivered: PathBuf,
    pub name: &'static str,
}

impl<T: Send + 'static> Link<T> {
    pub fn start<H: Handler<Item = T>>(options: LinkOptions, handler: H) -> std::io::Result<Self> {
        let (tx, rx) = crossbeam_channel::bounded(options.queue.max(1));
        let worker = Worker {
            rx,
            target: options.target,
            conn: None,
            backlog: Backlog::new(options.buffer, options.spill),
            undelivered: options.undelivered,
            inflight: Vec::new(),
            handler,
            report: Report::default(),
            scratch: Vec::new(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("redis-{}", options.name))
            .spawn(move || worker.run())?;
        Ok(Link {
            tx,
            thread: Some(thread),
            dropped: 0,
        })
    }

    /// Queues an operation; waits only while the line's queue is full.
    pub fn send(&mut self, op: Op) {
        let _ = self.tx.send(Msg::Op(op));
    }

    pub fn send_item(&mut self, item: T) {
        let _ = self.tx.send(Msg::Item(item));
    }

    /// Queues an item of the live feed, or drops it (counted) when the line is behind:
    /// the analysis never waits for a live message.
    pub fn offer_item(&mut self, item: T) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Msg::Item(item)) {
            self.dropped += 1;
        }
    }

    /// Delivers what is queued (waiting at most `wait` for an unreachable Redis) and
    /// stops the thread.
    pub fn finish(&mut self, wait: Duration) -> Report {
        let _ = self.tx.send(Msg::Finish(wait));
        let mut report = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Report {
                io_error: Some("the Redis thread stopped unexpectedly".into()),
                ..Report::default()
            },
            None => Report::default(),
        };
        report.dropped += self.dropped;
        report
    }
}

struct Worker<H: Handler> {
    rx: Receiver<Msg<H::Item>>,
    target: Target,
    conn: Option<Conn>,
    backlog: Backlog,
    undelivered: PathBuf,
    /// The batch being sent; sent again whole until it goes through.
    inflight: Vec<Op>,
    handler: H,
    report: Report,
    scratch: Vec<Op>,
}

impl<H: Handler> Worker<H> {
    fn run(mut self) -> Report {
        let mut deadline: Option<Instant> = None;
        let mut backoff = FIRST_BACKOFF;
        let mut next_attempt = Instant::now();
        let mut open = true;
        loop {
            // Take everything queued, without blocking unless there is nothing to do.
            if open && deadline.is_none() && self.inflight.is_empty() && self.backlog.is_empty() {
                match self.rx.recv() {
                    Ok(m) => self.take(m, &mut deadline),
                    Err(_) => open = false,
                }
            }
            while open {
                match self.rx.try_recv() {
                    Ok(m) => self.take(m, &mut deadline),
                    Err(crossbeam_channel::TryRecvError::Empty) => break,
                    Err(crossbeam_channel::TryRecvError::Disconnected) => open = false,
                }
            }
            if self.report.io_error.is_some() {
                break;
            }
            let finishing = deadline.is_some() || !open;
            if finishing && self.inflight.is_empty() && self.backlog.is_empty() {
                break;
            }

            if self.conn.is_none() {
                let now = Instant::now();
                if finishing && deadline.is_some_and(|d| now >= d) {
                    break;
                }
                if now >= next_attempt {
                    match self.target.connect() {
                        Ok(c) => {
                            self.conn = Some(c);
                            backoff = FIRST_BACKOFF;
                        }
                        Err(_) => {
                            next_attempt = Instant::now() + backoff;
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                    }
                }
                if self.conn.is_none() {
                    // Keep taking work while waiting, so the analysis never waits on us.
                    let mut until = next_attempt;
                    if let Some(d) = deadline {
                        until = until.min(d);
                    }
                    let wait = until.saturating_duration_since(Instant::now());
                    if open {
                        match self.rx.recv_timeout(wait) {
                            Ok(m) => self.take(m, &mut deadline),
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Disconnected) => open = false,
                        }
                    } else {
                        std::thread::sleep(wait);
                    }
                    continue;
                }
            }

            if self.inflight.is_empty() {
                if let Err(e) = self.backlog.take(&mut self.inflight, BATCH) {
                    self.report.io_error = Some(e.to_string());
                    break;
                }
                if self.backlog.spilled() {
                    self.report.spilled = true;
                }
            }
            if self.inflight.is_empty() {
                continue;
            }
            self.send_inflight(&mut backoff, &mut next_attempt);
        }
        self.keep_undelivered();
        self.report
    }

    fn take(&mut self, m: Msg<H::Item>, deadline: &mut Option<Instant>) {
        let pushed = match m {
            Msg::Op(op) => self.backlog.push(op),
            Msg::Item(item) => {
                self.handler.ops(item, &mut self.scratch);
                let mut r = Ok(());
                for op in self.scratch.drain(..) {
                    if let Err(e) = self.backlog.push(op) {
                        r = Err(e);
                    }
                }
                r
            }
            Msg::Finish(wait) => {
                *deadline = Some(Instant::now() + wait);
                Ok(())
            }
        };
        if self.backlog.spilled() {
            self.report.spilled = true;
        }
        if let Err(e) = pushed {
            self.report
                .io_error
                .get_or_insert_with(|| format!("{}: {e}", self.backlog.path.display()));
        }
    }

    fn send_inflight(&mut self, backoff: &mut Duration, next_attempt: &mut Instant) {
        let conn = self.conn.as_mut().expect("connected");
        let mut commands = Vec::with_capacity(self.inflight.len());
        let mut firsts = Vec::with_capacity(self.inflight.len());
        for op in &self.inflight {
            firsts.push(commands.len());
            commands.extend(op.commands());
        }
        match conn.run(commands) {
            Ok(replies) => {
                let mut replies: Vec<Option<Value>> = replies.into_iter().map(Some).collect();
                for (op, first) in self.inflight.iter().zip(firsts) {
                    let reply = replies.get_mut(first).and_then(Option::take);
                    if let Err(e) = self.handler.reply(op, reply.unwrap_or(Value::Nil)) {
                        self.report.refused += 1;
                        self.report.first_refusal.get_or_insert(e);
                    }
                }
                self.report.sent += self.inflight.len() as u64;
                self.inflight.clear();
            }
            Err(e) if transient(&e) => {
                self.conn = None;
                self.report.reconnects += 1;
                *next_attempt = Instant::now() + *backoff;
                *backoff = (*backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => {
                // The server refuses the batch itself (never expected: our scripts and
                // arguments are fixed); sending it again would refuse it again.
                self.report.refused += self.inflight.len() as u64;
                self.report
                    .first_refusal
                    .get_or_insert_with(|| e.to_string());
                self.inflight.clear();
            }
        }
    }

    fn keep_undelivered(&mut self) {
        let left = self.inflight.len() as u64 + self.backlog.len();
        if left == 0 {
            return;
        }
        let inflight = std::mem::take(&mut self.inflight);
        match self.backlog.keep_in(&inflight, &self.undelivered) {
            Ok(n) => {
                self.report.undelivered = n;
                self.report.kept_in = Some(self.undelivered.clone());
            }
            Err(e) => {
                self.report.undelivered = left;
                self.report
                    .io_error
                    .get_or_insert_with(|| format!("{}: {e}", self.undelivered.display()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(i: i64) -> Op {
        Op::Profile {
            profile: "10.0.0.1".parse().unwrap(),
            first_seen: i,
        }
    }

    fn seen(ops: &[Op]) -> Vec<i64> {
        ops.iter()
            .map(|o| match o {
                Op::Profile { first_seen, .. } => *first_seen,
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn the_backlog_keeps_order_across_memory_and_its_spill_file() {
        let dir = std::env::temp_dir().join(format!("sharing-backlog-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let spill = dir.join("spill.jsonl");
        let mut b = Backlog::new(3, spill.clone());
        for i in 0..5 {
            b.push(op(i)).unwrap();
        }
        assert!(b.spilled() && spill.exists());
        assert_eq!(b.len(), 5);
        let mut out = Vec::new();
        b.take(&mut out, 4).unwrap();
        assert_eq!(seen(&out), [0, 1, 2, 3]);
        // Memory has room again, but order wins: new operations follow the spill.
        b.push(op(5)).unwrap();
        out.clear();
        b.take(&mut out, 10).unwrap();
        assert_eq!(seen(&out), [4, 5]);
        assert!(!b.spilled() && !spill.exists());
        assert!(b.is_empty());

        // What is left at the end goes to one file, in order, the batch in flight first.
        for i in 10..16 {
            b.push(op(i)).unwrap();
        }
        out.clear();
        b.take(&mut out, 4).unwrap();
        let kept = dir.join("undelivered.jsonl");
        let n = b.keep_in(&[op(9)], &kept).unwrap();
        assert_eq!(n, 3);
        let text = fs::read_to_string(&kept).unwrap();
        let back: Vec<Op> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(seen(&back), [9, 14, 15]);
        assert!(b.is_empty() && !spill.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn targets() {
        let t = Target::parse("redis://127.0.0.1:6379/2", false).unwrap();
        assert!(!t.is_cluster());
        let t = Target::parse("redis://a:1, redis://b:2", false).unwrap();
        assert!(t.is_cluster());
        assert_eq!(t.to_string(), "redis://a:1,redis://b:2");
        assert!(Target::parse("", false).is_err());
        assert!(Target::parse("http://x", false).is_err());
    }
}
