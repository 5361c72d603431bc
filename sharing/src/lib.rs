//! State shared between sensors through Redis (one server or a Redis Cluster).
//!
//! * [`Publisher`], a `detectors::Subscriber`: profiles and time windows as keys,
//!   evidence and alerts on streams (`slipstream:{feed}:evidence`,
//!   `slipstream:{feed}:alerts`, for consumer groups) and on Slips' pub/sub channels
//!   (`evidence_added`, `new_alert`, `new_flow`, `new_dns` ...).
//! * [`RedisAlertRule`], a `detectors::alert::SharedAlertRule`: every sensor's evidence
//!   for a profile and time window accumulates on the server, and the alert is raised
//!   once, by the sensor whose evidence crossed the threshold.
//!
//! Each has its own thread and connection (`link`): the analysis thread only queues.
//! When Redis goes away, operations wait (memory, then a spill file in the output
//! folder) and are replayed in order when it comes back; every operation is idempotent
//! on the server, so a replay neither loses nor doubles anything.

pub mod keys;
pub mod link;
pub mod ops;
pub mod publisher;
pub mod rule;
pub mod scripts;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

pub use link::{Report, Target};
pub use publisher::Publisher;
pub use rule::RedisAlertRule;

use link::{Link, LinkOptions};

/// Items queued between the analysis thread and each line's thread.
const QUEUE: usize = 1 << 13;

/// The two parts a sensor plugs into its analysis.
pub struct Sharing {
    pub publisher: Publisher,
    pub rule: RedisAlertRule,
}

/// Connects to Redis as `settings` says (`url` overridden by `url_override`), checking
/// that it answers, and starts the two lines. Spill and undelivered files go to `out`.
pub fn connect(
    settings: &detectors::config::Redis,
    url_override: Option<&str>,
    threshold: f64,
    out: &Path,
) -> Result<Option<Sharing>, String> {
    let spec = url_override.unwrap_or(&settings.url);
    if spec.trim().is_empty() {
        return Ok(None);
    }
    let target = Target::parse(spec, settings.cluster)?;
    let mut conn = target
        .connect()
        .map_err(|e| format!("cannot reach Redis at {target}: {e}"))?;
    // A keyed command: a cluster pipeline refuses PING (it has no node to go to).
    let mut probe = redis::cmd("EXISTS");
    probe.arg(keys::WINDOW_ORIGIN);
    conn.run(vec![probe])
        .map_err(|e| format!("Redis at {target} does not answer: {e}"))?;
    let wait = Duration::from_secs_f64(settings.finish_timeout.max(0.0));
    let options = |name: &'static str| LinkOptions {
        target: target.clone(),
        queue: QUEUE,
        buffer: settings.buffer,
        spill: out.join(format!("redis_spill_{name}.jsonl")),
        undelivered: out.join(format!("redis_undelivered_{name}.jsonl")),
        name,
    };
    let io = |e: std::io::Error| format!("cannot start the Redis thread: {e}");
    let publisher = Link::start(
        options("feed"),
        publisher::RecordFormatter::new(settings.publish_flows),
    )
    .map_err(io)?;
    let (tx, rx) = crossbeam_channel::unbounded();
    let rule = Link::start(options("rule"), rule::Decisions { tx }).map_err(io)?;
    Ok(Some(Sharing {
        publisher: Publisher::new(publisher, wait),
        rule: RedisAlertRule::new(rule, rx, target, threshold, wait),
    }))
}

/// Tells what the user should know about a line's run that is not an error: the
/// connection was lost (and everything replayed), live messages were dropped.
pub(crate) fn report_note(report: &Report, what: &str) {
    if report.reconnects > 0 || report.spilled {
        eprintln!(
            "slipstream: note: Redis {what}: the connection was lost {} times; {} operations were delivered in order after it came back{}",
            report.reconnects,
            report.sent,
            if report.spilled { " (some through the spill file)" } else { "" }
        );
    }
    if report.dropped > 0 {
        eprintln!(
            "slipstream: note: Redis {what}: {} live messages dropped because Redis fell behind",
            report.dropped
        );
    }
}

/// The error a line's end is, if any: undelivered operations (and where they are),
/// refusals, spill file trouble.
pub(crate) fn report_error(report: &Report, what: &str) -> Result<(), detectors::Error> {
    let path = report
        .kept_in
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("redis"));
    let message = if let Some(e) = &report.io_error {
        format!("Redis {what}: {e}")
    } else if report.undelivered > 0 {
        format!(
            "Redis {what}: unreachable at the end of the run; {} operations not delivered are kept in this file (JSON lines, in order)",
            report.undelivered
        )
    } else if report.refused > 0 {
        format!(
            "Redis {what}: the server refused {} operations: {}",
            report.refused,
            report.first_refusal.as_deref().unwrap_or("")
        )
    } else {
        return Ok(());
    };
    Err(detectors::Error::io(&path, std::io::Error::other(message)))
}

/// Saves the server's data set as an RDB snapshot at `path`, as `redis-cli --rdb` does
/// (the replication handshake: `SYNC`, then the snapshot as one bulk payload). One
/// server only: a cluster keeps one snapshot per node.
pub fn save_rdb(url: &str, path: &Path) -> Result<u64, String> {
    let target = Target::parse(url, false)?;
    if target.is_cluster() {
        return Err("a Redis Cluster has one snapshot per node; save each node's".into());
    }
    let info = redis::Client::open(url)
        .map_err(|e| e.to_string())?
        .get_connection_info()
        .clone();
    let (host, port) = match info.addr() {
        redis::ConnectionAddr::Tcp(h, p) => (h.clone(), *p),
        other => return Err(format!("{other}: only TCP servers can be saved")),
    };
    let fail = |e: std::io::Error| format!("{host}:{port}: {e}");
    let mut s = TcpStream::connect((host.as_str(), port)).map_err(fail)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(fail)?;
    let redis_settings = info.redis_settings();
    if let Some(password) = redis_settings.password() {
        let user = redis_settings.username().unwrap_or("default");
        let cmd = format!(
            "*3\r\n$4\r\nAUTH\r\n${}\r\n{user}\r\n${}\r\n{password}\r\n",
            user.len(),
            password.len()
        );
        s.write_all(cmd.as_bytes()).map_err(fail)?;
        let line = read_line(&mut s).map_err(fail)?;
        if !line.starts_with('+') {
            return Err(format!("{host}:{port}: AUTH: {line}"));
        }
    }
    s.write_all(b"SYNC\r\n").map_err(fail)?;
    // The server may send empty lines while it prepares the snapshot.
    let header = loop {
        let line = read_line(&mut s).map_err(fail)?;
        if !line.is_empty() {
            break line;
        }
    };
    let len: u64 = header
        .strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{host}:{port}: SYNC: unexpected answer {header:?}"))?;
    let mut file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let copied = std::io::copy(&mut (&mut s).take(len), &mut file)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if copied != len {
        return Err(format!(
            "{host}:{port}: the snapshot ended after {copied} of {len} bytes"
        ));
    }
    file.sync_all()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(len)
}

/// One `\r\n`- or `\n`-terminated line, without its end.
fn read_line(s: &mut TcpStream) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        s.read_exact(&mut b)?;
        if b[0] == b'\n' {
            break;
        }
        line.push(b[0]);
        if line.len() > 4096 {
            return Err(std::io::Error::other("answer line too long"));
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}
