//! JARM fingerprints of TLS servers (`MALICIOUS_JARM`), behind [`JarmSource`].
//!
//! * [`LocalJarm`] (the default) reads `enrichment.jarm_fingerprints`, a CSV file of
//!   what a JARM scanner found, one server per line:
//!
//!   ```text
//!   # ip,port,jarm
//!   203.0.113.7,443,07d14d16d21d21d07c42d41d00041d24a458a375eef0c576d23a7bab9a9fb1
//!   2001:db8::5,8443,2ad2ad0002ad2ad00042d42d000000ad9bf51cc3f5a1e29eecb81d0c7b06eb
//!   ```
//!
//!   Lines of salesforce's `jarm.py -o` (`host,ip,jarm`, port 443) are read too.
//! * [`ActiveJarm`] (opt-in: `enrichment.active_jarm`) probes servers itself, as Slips
//!   does (see [`super::jarm_probe`]), on background threads: each server once, at
//!   most [`QUEUE`] waiting, each connection bounded by [`PROBE_TIMEOUT`]. Servers the
//!   local file knows are not probed.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use hashbrown::HashMap;

use super::jarm_probe::{probe_server, Fingerprint};
use crate::config::Config;

/// Warnings kept per load; more are counted.
const MAX_WARNINGS: usize = 50;
/// Probe threads of an [`ActiveJarm`].
pub const WORKERS: usize = 2;
/// Servers waiting to be probed; more requests are refused (and asked again later).
pub const QUEUE: usize = 64;
/// Bound of each connect, write and read of a probe (Slips waits 20 s).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a source knows about a server's fingerprint right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JarmLookup {
    Known(Fingerprint),
    /// Not known and will not be.
    Unknown,
    /// Being computed: the answer comes later from [`JarmSource::ready`].
    Pending,
}

/// The JARM fingerprint of a TLS server (address and port).
pub trait JarmSource: Send {
    fn lookup(&mut self, server: SocketAddr) -> JarmLookup;

    /// Answers to lookups that were [`JarmLookup::Pending`], as they come in (`None`:
    /// no fingerprint). With `wait`, blocks until every pending lookup is answered.
    fn ready(&mut self, wait: bool) -> Vec<(SocketAddr, Option<Fingerprint>)>;
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 62 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Fingerprints read from a local CSV file (see the module documentation).
#[derive(Debug, Default)]
pub struct LocalJarm {
    servers: HashMap<SocketAddr, Fingerprint>,
    warnings: Vec<String>,
}

impl LocalJarm {
    pub fn empty() -> Self {
        LocalJarm::default()
    }

    /// Reads `path`; an unreadable file or a bad line becomes a warning.
    pub fn load(path: &Path) -> Self {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(
                &String::from_utf8_lossy(&bytes),
                &path.display().to_string(),
            ),
            Err(e) => LocalJarm {
                servers: HashMap::new(),
                warnings: vec![format!("{}: {e}; no JARM fingerprints", path.display())],
            },
        }
    }

    /// Parses CSV text; `source` names it in warnings.
    pub fn parse(text: &str, source: &str) -> Self {
        let mut jarm = LocalJarm::default();
        let mut dropped = 0usize;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line
                .split(',')
                .map(|c| c.trim().trim_matches('"'))
                .collect();
            let server = match cols.as_slice() {
                [ip, port, fp, ..] => ip.parse::<IpAddr>().ok().and_then(|ip| {
                    port.parse::<u16>()
                        .ok()
                        .map(|p| (SocketAddr::new(ip, p), *fp))
                }),
                _ => None,
            }
            .or_else(|| match cols.as_slice() {
                // salesforce's jarm.py output: host,ip,jarm
                [_, ip, fp, ..] => ip
                    .parse::<IpAddr>()
                    .ok()
                    .map(|ip| (SocketAddr::new(ip, 443), *fp)),
                _ => None,
            });
            match server.filter(|(_, fp)| is_fingerprint(fp)) {
                Some((addr, fp)) => {
                    jarm.servers
                        .insert(addr, fp.to_ascii_lowercase().into_boxed_str());
                }
                None if jarm.warnings.len() < MAX_WARNINGS => jarm.warnings.push(format!(
                    "{source}: line {}: expected ip,port,jarm (62 hex characters)",
                    n + 1
                )),
                None => dropped += 1,
            }
        }
        if dropped > 0 {
            jarm.warnings
                .push(format!("{source}: {dropped} more bad lines"));
        }
        jarm
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn len(&self) -> usize {
        self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    pub fn get(&self, server: SocketAddr) -> Option<&Fingerprint> {
        self.servers.get(&server)
    }
}

static CACHE: super::Cache<LocalJarm> = Mutex::new(Vec::new());

/// The fingerprints `config` names (`enrichment.jarm_fingerprints`), loaded once and
/// shared; empty when no file is configured.
pub fn shared_jarm(config: &Config) -> Arc<LocalJarm> {
    super::shared(
        &CACHE,
        config.resolve(&config.enrichment.jarm_fingerprints),
        LocalJarm::load,
        LocalJarm::empty,
    )
}

impl JarmSource for Arc<LocalJarm> {
    fn lookup(&mut self, server: SocketAddr) -> JarmLookup {
        match self.servers.get(&server) {
            Some(fp) => JarmLookup::Known(fp.clone()),
            None => JarmLookup::Unknown,
        }
    }

    fn ready(&mut self, _wait: bool) -> Vec<(SocketAddr, Option<Fingerprint>)> {
        Vec::new()
    }
}

/// Probes servers on background threads (see the module documentation).
pub struct ActiveJarm {
    known: Arc<LocalJarm>,
    /// Every server asked about: its fingerprint once probed, `None` while pending.
    probed: HashMap<SocketAddr, Option<Fingerprint>>,
    requests: Option<Sender<SocketAddr>>,
    answers: Receiver<(SocketAddr, Fingerprint)>,
    pending: usize,
    workers: Vec<JoinHandle<()>>,
}

impl ActiveJarm {
    /// Starts the probe threads; `known` answers first, without a probe.
    pub fn start(known: Arc<LocalJarm>) -> Self {
        Self::with_timeout(known, PROBE_TIMEOUT)
    }

    pub fn with_timeout(known: Arc<LocalJarm>, timeout: Duration) -> Self {
        let (requests, queue) = crossbeam_channel::bounded::<SocketAddr>(QUEUE);
        let (done, answers) = crossbeam_channel::unbounded();
        let workers = (0..WORKERS)
            .map(|i| {
                let queue = queue.clone();
                let done = done.clone();
                std::thread::Builder::new()
                    .name(format!("jarm-probe-{i}"))
                    .spawn(move || {
                        for server in queue {
                            let fp = probe_server(server, timeout);
                            if done.send((server, fp)).is_err() {
                                return;
                            }
                        }
                    })
            })
            .filter_map(Result::ok)
            .collect();
        ActiveJarm {
            known,
            probed: HashMap::new(),
            requests: Some(requests),
            answers,
            pending: 0,
            workers,
        }
    }
}

impl JarmSource for ActiveJarm {
    fn lookup(&mut self, server: SocketAddr) -> JarmLookup {
        if let Some(fp) = self.known.get(server) {
            return JarmLookup::Known(fp.clone());
        }
        match self.probed.get(&server) {
            Some(Some(fp)) => return JarmLookup::Known(fp.clone()),
            Some(None) => return JarmLookup::Pending,
            None => {}
        }
        let Some(requests) = &self.requests else {
            return JarmLookup::Unknown;
        };
        match requests.try_send(server) {
            Ok(()) => {
                self.probed.insert(server, None);
                self.pending += 1;
                JarmLookup::Pending
            }
            // the queue is full: not probed now, asked again next time
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => JarmLookup::Unknown,
        }
    }

    fn ready(&mut self, wait: bool) -> Vec<(SocketAddr, Option<Fingerprint>)> {
        let mut out = Vec::new();
        while self.pending > 0 {
            let answer = if wait {
                match self.answers.recv() {
                    Ok(a) => a,
                    Err(_) => break,
                }
            } else {
                match self.answers.try_recv() {
                    Ok(a) => a,
                    Err(_) => break,
                }
            };
            self.pending -= 1;
            let (server, fp) = answer;
            self.probed.insert(server, Some(fp.clone()));
            out.push((server, Some(fp)));
        }
        out
    }
}

impl Drop for ActiveJarm {
    fn drop(&mut self) {
        // closing the queue ends the threads once their current probe is done; they
        // are not waited for (each probe is bounded by its timeouts)
        self.requests = None;
        self.workers.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "07d14d16d21d21d07c42d41d00041d24a458a375eef0c576d23a7bab9a9fb1";

    #[test]
    fn reads_the_csv_and_reports_bad_lines() {
        let text = format!(
            "# ip,port,jarm\n203.0.113.7,443,{FP}\n\"2001:db8::5\",\"8443\",{}\n\
             example.com,198.51.100.1,{FP}\n203.0.113.8,443,tooshort\nnot,a,line,{FP}\n",
            FP.to_uppercase()
        );
        let mut j = Arc::new(LocalJarm::parse(&text, "jarm.csv"));
        assert_eq!(j.len(), 3);
        assert_eq!(j.warnings().len(), 2, "{:?}", j.warnings());
        assert!(j.warnings()[0].starts_with("jarm.csv: line 5:"));
        assert!(j.warnings()[1].starts_with("jarm.csv: line 6:"));
        let a: SocketAddr = "203.0.113.7:443".parse().unwrap();
        assert_eq!(j.lookup(a), JarmLookup::Known(FP.into()));
        let b: SocketAddr = "[2001:db8::5]:8443".parse().unwrap();
        assert_eq!(j.lookup(b), JarmLookup::Known(FP.into()));
        let c: SocketAddr = "198.51.100.1:443".parse().unwrap();
        assert_eq!(j.lookup(c), JarmLookup::Known(FP.into()));
        assert_eq!(
            j.lookup("203.0.113.7:8443".parse().unwrap()),
            JarmLookup::Unknown
        );
        assert!(j.ready(true).is_empty());
    }

    #[test]
    fn a_missing_file_is_a_warning() {
        let j = LocalJarm::load(Path::new("/nonexistent/jarm.csv"));
        assert!(j.is_empty());
        assert!(j.warnings()[0].starts_with("/nonexistent/jarm.csv"));
        assert!(shared_jarm(&Config::default()).is_empty());
    }

    #[test]
    fn active_probes_each_server_once_and_prefers_the_file() {
        let listed: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let known = Arc::new(LocalJarm::parse(&format!("127.0.0.1,9,{FP}\n"), "f"));
        // a closed local port: refused at once, fingerprint all zeros
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut a = ActiveJarm::with_timeout(known, Duration::from_secs(2));
        assert_eq!(a.lookup(listed), JarmLookup::Known(FP.into()));
        assert_eq!(a.lookup(closed), JarmLookup::Pending);
        assert_eq!(a.lookup(closed), JarmLookup::Pending);
        let got = a.ready(true);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, closed);
        let zeros = super::super::jarm_probe::NO_ANSWER;
        assert_eq!(got[0].1.as_deref(), Some(zeros));
        assert_eq!(a.lookup(closed), JarmLookup::Known(zeros.into()));
        assert!(a.ready(true).is_empty());
    }
}
