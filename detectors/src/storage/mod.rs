//! `flows.sqlite`: every flow with its label, the other records as Zeek JSON, the
//! hosts and profiles, their time windows, the evidence and the alerts.
//!
//! Rows are gathered in batches on the analysis thread (plain values and one byte
//! arena for text, no formatting) and written by a writer thread, one transaction per
//! batch, with prepared statements. Batches are recycled, so steady-state analysis does
//! not allocate for storage. Indexes (by profile and window, by uid) are built at the
//! end, and the flows behind alerts are labelled `malicious` then (the rest stay
//! `benign`), as Slips labels flows causing an alert.

use dissectors::net::{push_ip, push_ip_str};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};
use dissectors::uid::UID_TEXT_MAX;
use dissectors::zeek::LogFormat;
use dissectors::{ConnRecord, ConnState, Interval, Record, Timestamp, Uid};
use rusqlite::{params, Connection};

use crate::alert::Alert;
use crate::error::Error;
use crate::evidence::Evidence;
use crate::online::virustotal::{ReputationSource, VtScores};
use crate::profile::Hosts;
use crate::timefmt::iso;

mod insert;
pub mod sqlite_memory;
use insert::{Insert, Value};

const SCHEMA: &str = "
CREATE TABLE flows (
    uid TEXT NOT NULL, ts REAL NOT NULL, profile TEXT NOT NULL, twid INTEGER NOT NULL,
    saddr TEXT NOT NULL, sport INTEGER NOT NULL, daddr TEXT NOT NULL, dport INTEGER NOT NULL,
    proto TEXT NOT NULL, service TEXT, duration REAL, orig_bytes INTEGER, resp_bytes INTEGER,
    conn_state TEXT NOT NULL, local_orig INTEGER, local_resp INTEGER,
    missed_bytes INTEGER NOT NULL, history TEXT, orig_pkts INTEGER NOT NULL,
    orig_ip_bytes INTEGER NOT NULL, resp_pkts INTEGER NOT NULL, resp_ip_bytes INTEGER NOT NULL,
    label TEXT NOT NULL DEFAULT 'benign', interface TEXT
);
CREATE TABLE records (
    kind TEXT NOT NULL, uid TEXT, ts REAL NOT NULL, profile TEXT, twid INTEGER,
    json TEXT NOT NULL
);
CREATE TABLE evidence (
    id TEXT NOT NULL, profile TEXT NOT NULL, twid INTEGER NOT NULL, ts REAL NOT NULL,
    evidence_type TEXT NOT NULL, threat_level TEXT NOT NULL, confidence REAL NOT NULL,
    description TEXT NOT NULL, attacker TEXT NOT NULL, attacker_kind TEXT NOT NULL,
    attacker_direction TEXT NOT NULL, victim TEXT, victim_kind TEXT, victim_direction TEXT,
    proto TEXT, src_port INTEGER, dst_port INTEGER, accumulated_threat_level REAL NOT NULL,
    interface TEXT
);
CREATE TABLE evidence_flows (evidence_id TEXT NOT NULL, uid TEXT NOT NULL);
CREATE TABLE alerts (
    id TEXT PRIMARY KEY, profile TEXT NOT NULL, twid INTEGER NOT NULL, ts REAL NOT NULL,
    tw_start REAL NOT NULL, tw_end REAL, accumulated_threat_level REAL NOT NULL,
    threat_level TEXT NOT NULL, confidence REAL NOT NULL
);
CREATE TABLE alert_evidence (alert_id TEXT NOT NULL, evidence_id TEXT NOT NULL);
CREATE TABLE hosts (
    ip TEXT PRIMARY KEY, profiled INTEGER NOT NULL, first_seen REAL NOT NULL,
    last_seen REAL NOT NULL, mac TEXT, vendor TEXT, hostname TEXT, dhcp_server INTEGER NOT NULL,
    asn INTEGER, as_org TEXT, country TEXT, city TEXT, rdns TEXT,
    threat_level TEXT, confidence REAL, max_threat_level TEXT,
    flows_out INTEGER, flows_in INTEGER, other_ips TEXT NOT NULL, domains TEXT NOT NULL,
    snis TEXT NOT NULL, user_agents TEXT NOT NULL, software TEXT NOT NULL,
    certificates TEXT NOT NULL, threat_history TEXT NOT NULL,
    gateway INTEGER NOT NULL, dns_server INTEGER NOT NULL,
    vt_url REAL, vt_down_file REAL, vt_ref_file REAL, vt_com_file REAL
);
CREATE VIEW profiles AS SELECT * FROM hosts WHERE profiled = 1;
CREATE TABLE domain_info (
    domain TEXT PRIMARY KEY, vt_url REAL NOT NULL, vt_down_file REAL NOT NULL,
    vt_ref_file REAL NOT NULL, vt_com_file REAL NOT NULL
);
CREATE TABLE timewindows (
    profile TEXT NOT NULL, twid INTEGER NOT NULL, start REAL NOT NULL, end REAL,
    flows_out INTEGER NOT NULL, flows_in INTEGER NOT NULL, evidence INTEGER NOT NULL,
    alerts INTEGER NOT NULL, total_threat REAL NOT NULL,
    max_threat_level TEXT, PRIMARY KEY (profile, twid)
);
";

/// Indexes of the tables that are complete once the traffic ends (most of the work).
const FLOW_INDEXES: &str = "
CREATE INDEX flows_profile_tw ON flows (profile, twid, ts);
CREATE INDEX flows_uid ON flows (uid);
CREATE INDEX flows_daddr ON flows (daddr, twid, ts);
CREATE INDEX records_profile_tw ON records (profile, twid, ts);
CREATE INDEX records_uid ON records (uid);
";

/// Indexes of the tables the end of the analysis still adds to. The evidence ids (random
/// UUIDs) get their unique index here too rather than being the table's primary key,
/// which kept a B-tree of random keys up to date through the run: 3 % of the wall time of
/// a run with the analysis on the benchmark capture (8 alternating runs).
const OTHER_INDEXES: &str = "
CREATE UNIQUE INDEX evidence_id ON evidence (id);
CREATE INDEX evidence_profile_tw ON evidence (profile, twid);
CREATE INDEX evidence_flows_uid ON evidence_flows (uid);
CREATE INDEX evidence_flows_evidence ON evidence_flows (evidence_id);
CREATE INDEX alerts_profile_tw ON alerts (profile, twid);
CREATE INDEX alert_evidence_alert ON alert_evidence (alert_id);
";

/// Flows and bytes per profile per minute (profile `''`: every flow), and per profile:
/// what the viewers plot (flows over time, top talkers), so a plot reads a few rows
/// instead of every flow. The writer sums them as it inserts the flows (`FlowSummaries`)
/// and writes them when the flows are complete: the same rows as
/// `SELECT profile, CAST(ts / 60 AS INTEGER), COUNT(*), SUM(orig_ip_bytes + resp_ip_bytes)
/// FROM flows GROUP BY 1, 2` (then by minute for `''`, and by profile), without reading
/// the flows back at the end.
const SUMMARY_TABLES: &str = "
CREATE TABLE flows_per_minute (profile TEXT, minute INT, flows, bytes);
CREATE TABLE flows_per_profile (profile TEXT, flows, bytes);
";

/// A span of a batch's byte arena.
#[derive(Clone, Copy, Debug, Default)]
struct Span(u32, u32);

struct FlowRow {
    uid: Uid,
    ts: Timestamp,
    profile: IpAddr,
    twid: i64,
    conn: ConnFields,
    service: Option<Span>,
    history: Option<Span>,
    interface: Option<std::sync::Arc<str>>,
}

/// The fixed-size part of a conn record.
struct ConnFields {
    id: dissectors::ConnId,
    duration: Option<Interval>,
    orig_bytes: Option<u64>,
    resp_bytes: Option<u64>,
    conn_state: ConnState,
    local_orig: Option<bool>,
    local_resp: Option<bool>,
    missed_bytes: u64,
    orig_pkts: u64,
    orig_ip_bytes: u64,
    resp_pkts: u64,
    resp_ip_bytes: u64,
}

struct RecordRow {
    kind: &'static str,
    uid: Option<Uid>,
    ts: Timestamp,
    profile: Option<IpAddr>,
    twid: Option<i64>,
    json: Span,
}

struct EvidenceRow {
    evidence: Evidence,
    accumulated: f64,
}

#[derive(Default)]
struct Batch {
    arena: Vec<u8>,
    flows: Vec<FlowRow>,
    records: Vec<RecordRow>,
    evidence: Vec<EvidenceRow>,
    alerts: Vec<Alert>,
}

impl Batch {
    /// A batch sized for `rows` rows, mostly flows: one grown row by row was copied a
    /// dozen times over when the writer had none to hand back.
    fn with_capacity(rows: usize) -> Self {
        Batch {
            arena: Vec::with_capacity(rows * 64),
            flows: Vec::with_capacity(rows),
            records: Vec::with_capacity(rows / 2),
            evidence: Vec::new(),
            alerts: Vec::new(),
        }
    }

    fn rows(&self) -> usize {
        self.flows.len() + self.records.len() + self.evidence.len() + self.alerts.len()
    }

    fn clear(&mut self) {
        self.arena.clear();
        self.flows.clear();
        self.records.clear();
        self.evidence.clear();
        self.alerts.clear();
    }

    fn push_text(&mut self, s: &str) -> Span {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(s.as_bytes());
        Span(start, self.arena.len() as u32)
    }

    /// The text at `s`, as SQLite takes it: UTF-8 bytes, since spans only ever cover
    /// whole strings or whole rendered lines pushed as UTF-8 (so it is not checked again).
    fn text(&self, s: Span) -> Value<'_> {
        Value::Utf8(&self.arena[s.0 as usize..s.1 as usize])
    }
}

enum Msg {
    Batch(Batch),
    /// No flow or record comes any more: their indexes and summaries can be built while
    /// the analysis finishes.
    FlowsComplete,
    /// Some of the hosts, their windows and domains: the analysis is over.
    Hosts(Box<FinalRows>),
    /// Every host has been sent: the last indexes and the flows' labels.
    Finish,
}

/// Hosts per [`Msg::Hosts`]: the rows of all 15,600 hosts of the benchmark capture at once
/// held 19 MB of the run's peak, at its end.
const HOSTS_PER_MESSAGE: usize = 1024;

/// What is written once, at the end, in pieces of [`HOSTS_PER_MESSAGE`] hosts.
#[derive(Default)]
struct FinalRows {
    hosts: Vec<HostRow>,
    windows: Vec<WindowRow>,
    /// The hosts' domains and TLS server names that VirusTotal has scores for.
    domains: Vec<(String, VtScores)>,
}

struct HostRow {
    ip: String,
    profiled: bool,
    first_seen: f64,
    last_seen: f64,
    mac: Option<String>,
    vendor: Option<String>,
    hostname: Option<String>,
    dhcp_server: bool,
    asn: Option<u32>,
    as_org: Option<String>,
    country: Option<String>,
    city: Option<String>,
    rdns: Option<String>,
    threat_level: Option<&'static str>,
    confidence: Option<f64>,
    max_threat_level: Option<&'static str>,
    flows_out: Option<u64>,
    flows_in: Option<u64>,
    other_ips: String,
    domains: String,
    snis: String,
    user_agents: String,
    software: String,
    certificates: String,
    gateway: bool,
    dns_server: bool,
    threat_history: String,
    virustotal: Option<VtScores>,
}

struct WindowRow {
    profile: String,
    twid: i64,
    start: f64,
    end: Option<f64>,
    flows_out: u64,
    flows_in: u64,
    evidence: u32,
    alerts: u32,
    total_threat: f64,
    max_threat_level: Option<&'static str>,
}

/// Rows written, per table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub flows: u64,
    pub records: u64,
    pub evidence: u64,
    pub alerts: u64,
    pub hosts: u64,
    pub malicious_flows: u64,
}

pub struct Storage {
    path: PathBuf,
    tx: Option<Sender<Msg>>,
    recycled: Receiver<Batch>,
    writer: Option<JoinHandle<Result<StoreStats, Error>>>,
    batch: Batch,
    batch_size: usize,
    line: Vec<u8>,
}

fn secs(ts: Timestamp) -> f64 {
    ts.as_secs_f64()
}

impl Storage {
    /// Creates (replacing) the database at `path` and starts its writer.
    pub fn create(path: &Path, batch_size: usize) -> Result<Storage, Error> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path, e)),
        }
        let conn = Connection::open(path).map_err(|e| Error::sqlite(path, e))?;
        // WAL while the run writes, so a viewer (`slipstream view -w`) reads without
        // ever making a commit wait; `finish` turns it back into a single file.
        // 16 KiB pages rather than 4: the rows (Zeek JSON of a few hundred bytes, flows of
        // two dozen columns) fill far fewer pages, so fewer B-tree splits and WAL frames:
        // the writer thread took 20 % less CPU time on the benchmark capture.
        conn.execute_batch(
            "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; \
             PRAGMA temp_store = MEMORY;",
        )
        .and_then(|_| conn.busy_timeout(std::time::Duration::from_secs(10)))
        .and_then(|_| conn.execute_batch(SCHEMA))
        .map_err(|e| Error::sqlite(path, e))?;
        let (tx, rx) = bounded::<Msg>(4);
        let (recycle_tx, recycled) = bounded::<Batch>(4);
        let wpath = path.to_path_buf();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_all(conn, &wpath, rx, recycle_tx))
            .map_err(|e| Error::io(path, e))?;
        Ok(Storage {
            path: path.to_path_buf(),
            tx: Some(tx),
            recycled,
            writer: Some(writer),
            batch: Batch::default(),
            batch_size: batch_size.max(1),
            line: Vec::with_capacity(1024),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn maybe_send(&mut self) -> Result<(), Error> {
        if self.batch.rows() < self.batch_size {
            return Ok(());
        }
        self.send()
    }

    fn send(&mut self) -> Result<(), Error> {
        let fresh = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Batch::with_capacity(self.batch_size));
        let full = std::mem::replace(&mut self.batch, fresh);
        self.to_writer(Msg::Batch(full))
    }

    fn to_writer(&self, msg: Msg) -> Result<(), Error> {
        match self.tx.as_ref().map(|tx| tx.send(msg)) {
            Some(Ok(())) => Ok(()),
            // The writer ended early: its error is reported by `finish`.
            _ => Err(Error::Storage(format!(
                "{}: the writer stopped",
                self.path.display()
            ))),
        }
    }

    /// Says that every flow and record has been stored, so that the writer builds their
    /// indexes while the analysis finishes (evidence may still come).
    pub fn flows_complete(&mut self) -> Result<(), Error> {
        if self.batch.rows() > 0 {
            self.send()?;
        }
        self.to_writer(Msg::FlowsComplete)
    }

    /// Stores a conn record as a flow of `profile` in window `twid`.
    pub fn flow(&mut self, c: &ConnRecord, profile: IpAddr, twid: i64) -> Result<(), Error> {
        let service = c.service.as_deref().map(|s| self.batch.push_text(s));
        let history = c.history.as_deref().map(|s| self.batch.push_text(s));
        self.batch.flows.push(FlowRow {
            uid: c.uid,
            ts: c.ts,
            profile,
            twid,
            conn: ConnFields {
                id: c.id,
                duration: c.duration,
                orig_bytes: c.orig_bytes,
                resp_bytes: c.resp_bytes,
                conn_state: c.conn_state,
                local_orig: c.local_orig,
                local_resp: c.local_resp,
                missed_bytes: c.missed_bytes,
                orig_pkts: c.orig_pkts,
                orig_ip_bytes: c.orig_ip_bytes,
                resp_pkts: c.resp_pkts,
                resp_ip_bytes: c.resp_ip_bytes,
            },
            service,
            history,
            interface: c.interface.clone(),
        });
        self.maybe_send()
    }

    /// Stores any other record as its Zeek JSON line.
    pub fn record(
        &mut self,
        r: &Record,
        profile: Option<IpAddr>,
        twid: Option<i64>,
    ) -> Result<(), Error> {
        // Connections have their own table.
        if matches!(r, Record::Conn(_)) {
            return Ok(());
        }
        self.line.clear();
        let Some(kind) = r.write_line(&mut self.line, LogFormat::Json) else {
            return Ok(());
        };
        let uid = match r {
            Record::Dns(x) => Some(x.uid),
            Record::Http(x) => Some(x.uid),
            Record::Ssl(x) => Some(x.uid),
            Record::Ssh(x) => Some(x.uid),
            Record::X509(x) => Some(x.uid),
            Record::Files(x) => x.uid,
            Record::Dhcp(x) => x.uids.first().copied(),
            Record::Notice(x) => x.uid,
            Record::Weird(x) => x.uid,
            Record::Smtp(x) => Some(x.uid),
            Record::Login(x) => Some(x.uid),
            Record::Tunnel(x) => Some(x.uid),
            Record::Software(_)
            | Record::Arp(_)
            | Record::Conn(_)
            | Record::SoftwareFound(_)
            | Record::DhcpMessage(_) => None,
        };
        while self.line.last() == Some(&b'\n') {
            self.line.pop();
        }
        // Zeek's JSON escapes every invalid byte, so the line is valid UTF-8 (checked here
        // the fast way; `from_utf8_lossy` alone walked it byte by byte).
        let json = match std::str::from_utf8(&self.line) {
            Ok(text) => self.batch.push_text(text),
            Err(_) => self.batch.push_text(&String::from_utf8_lossy(&self.line)),
        };
        self.batch.records.push(RecordRow {
            kind,
            uid,
            ts: r.ts(),
            profile,
            twid,
            json,
        });
        self.maybe_send()
    }

    pub fn evidence(&mut self, e: &Evidence, accumulated: f64) -> Result<(), Error> {
        self.batch.evidence.push(EvidenceRow {
            evidence: e.clone(),
            accumulated,
        });
        self.maybe_send()
    }

    pub fn alert(&mut self, a: &Alert) -> Result<(), Error> {
        self.batch.alerts.push(a.clone());
        self.maybe_send()
    }

    /// Hands the writer what is pending and the hosts (with the VirusTotal scores of them
    /// and their domains) and windows; it then builds the indexes, labels the flows behind
    /// alerts and closes the database, which [`Finishing::wait`] waits for. The caller may
    /// drop the hosts meanwhile.
    pub fn send_rest(mut self, hosts: &Hosts, virustotal: &dyn ReputationSource) -> Finishing {
        let sent = if self.batch.rows() > 0 {
            self.send()
        } else {
            Ok(())
        };
        let sent = sent.and_then(|_| {
            let Some(tx) = self.tx.take() else {
                return Ok(());
            };
            let stopped = |_| Error::Storage("the writer stopped".into());
            final_rows(hosts, virustotal, |rows| {
                tx.send(Msg::Hosts(Box::new(rows))).map_err(stopped)
            })?;
            tx.send(Msg::Finish).map_err(stopped)
        });
        Finishing {
            path: std::mem::take(&mut self.path),
            writer: self.writer.take(),
            sent,
        }
    }
}

/// A database whose writer has everything and is finishing it.
pub struct Finishing {
    path: PathBuf,
    writer: Option<JoinHandle<Result<StoreStats, Error>>>,
    sent: Result<(), Error>,
}

impl Finishing {
    /// Waits for the writer to close the database.
    pub fn wait(mut self) -> Result<StoreStats, Error> {
        let result = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::Storage(format!(
                "{}: the writer thread panicked",
                self.path.display()
            ))),
            None => Err(Error::Storage("no writer".into())),
        };
        // The writer's own error explains a failed send better than the send does.
        let stats = result?;
        std::mem::replace(&mut self.sent, Ok(()))?;
        Ok(stats)
    }
}

impl Drop for Finishing {
    fn drop(&mut self) {
        // Not waited for (an error elsewhere): the writer has been told to finish.
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        // Not finished (an error elsewhere): let the writer stop on the closed channel.
        self.tx.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

fn json_strings<'a, I: IntoIterator<Item = &'a str>>(items: I) -> String {
    let v: Vec<&str> = items.into_iter().collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

/// The rows of every host, handed to `send` a few hosts at a time.
fn final_rows(
    hosts: &Hosts,
    virustotal: &dyn ReputationSource,
    mut send: impl FnMut(FinalRows) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut rows = FinalRows::default();
    let mut scored_domains = hashbrown::HashSet::new();
    for h in hosts.iter() {
        if rows.hosts.len() == HOSTS_PER_MESSAGE {
            send(std::mem::take(&mut rows))?;
        }
        for d in h.domains.iter().chain(h.snis.iter()) {
            if let Some(scores) = virustotal.domain(d) {
                if scored_domains.insert(d.as_str()) {
                    rows.domains.push((d.clone(), *scores));
                }
            }
        }
        let p = h.profile.as_deref();
        let ip = h.ip.to_string();
        let user_agents: Vec<serde_json::Value> = h
            .user_agents
            .iter()
            .map(|u| serde_json::json!({"user_agent": u.ua, "os": u.os, "browser": u.browser}))
            .collect();
        let software: Vec<serde_json::Value> = h
            .software
            .iter()
            .map(|s| {
                serde_json::json!({"type": s.kind.as_str(), "name": s.name,
                    "version_major": s.major, "version_minor": s.minor})
            })
            .collect();
        let certificates: Vec<serde_json::Value> = h
            .certificates
            .iter()
            .map(|c| {
                serde_json::json!({"fingerprint": c.fingerprint, "subject": c.subject,
                    "issuer": c.issuer, "cn": c.cn, "san_dns": c.san_dns})
            })
            .collect();
        let history: Vec<serde_json::Value> = p
            .map(|p| {
                p.threat_history
                    .iter()
                    .map(|t| {
                        serde_json::json!({"ts": iso(t.ts), "timewindow": t.timewindow,
                            "threat_level": t.level.as_str(), "confidence": t.confidence})
                    })
                    .collect()
            })
            .unwrap_or_default();
        let other: Vec<String> = h.other_ips.iter().map(IpAddr::to_string).collect();
        rows.hosts.push(HostRow {
            ip: ip.clone(),
            profiled: p.is_some(),
            first_seen: secs(h.first_seen),
            last_seen: secs(h.last_seen),
            mac: h.mac.map(|m| m.to_string()),
            vendor: h.vendor.as_deref().map(str::to_owned),
            hostname: h.hostname.clone(),
            dhcp_server: h.dhcp_server,
            asn: h.geo.asn,
            as_org: h.geo.as_org.clone(),
            country: h.geo.country.clone(),
            city: h.geo.city.clone(),
            rdns: h.rdns.clone(),
            threat_level: p.and_then(|p| p.threat_level).map(|t| t.as_str()),
            confidence: p.filter(|p| p.threat_level.is_some()).map(|p| p.confidence),
            max_threat_level: p.and_then(|p| p.max_threat_level).map(|t| t.as_str()),
            flows_out: p.map(|p| p.flows_out),
            flows_in: p.map(|p| p.flows_in),
            other_ips: json_strings(other.iter().map(String::as_str)),
            domains: json_strings(h.domains.iter().map(String::as_str)),
            snis: json_strings(h.snis.iter().map(String::as_str)),
            user_agents: serde_json::Value::from(user_agents).to_string(),
            software: serde_json::Value::from(software).to_string(),
            certificates: serde_json::Value::from(certificates).to_string(),
            threat_history: serde_json::Value::from(history).to_string(),
            gateway: h.gateway,
            dns_server: h.dns_server,
            virustotal: virustotal.ip(h.ip).copied(),
        });
        if let Some(p) = p {
            for w in &p.windows {
                rows.windows.push(WindowRow {
                    profile: ip.clone(),
                    twid: w.number,
                    start: secs(w.start),
                    end: (w.end.0 != i64::MAX).then(|| secs(w.end)),
                    flows_out: w.flows_out,
                    flows_in: w.flows_in,
                    evidence: w.evidence,
                    alerts: w.alerts,
                    total_threat: w.total_threat,
                    max_threat_level: w.max_threat.map(|t| t.as_str()),
                });
            }
        }
    }
    if rows.hosts.is_empty() {
        Ok(())
    } else {
        send(rows)
    }
}

/// The sums behind `flows_per_minute` and `flows_per_profile` (see `SUMMARY_TABLES`).
#[derive(Default)]
struct FlowSummaries {
    /// (profile, minute) -> (flows, bytes).
    per_minute: std::collections::HashMap<(IpAddr, i64), (i64, i64)>,
}

impl FlowSummaries {
    fn add(&mut self, f: &FlowRow) {
        // The minute as SQLite's CAST(ts / 60 AS INTEGER) gives it from the stored REAL:
        // the same division of the same double, truncated toward zero.
        let minute = (secs(f.ts) / 60.0) as i64;
        let bytes = f.conn.orig_ip_bytes as i64 + f.conn.resp_ip_bytes as i64;
        let sums = self.per_minute.entry((f.profile, minute)).or_default();
        sums.0 += 1;
        sums.1 += bytes;
    }

    /// Writes both tables, rows in the order the GROUP BY queries produce them (by
    /// profile text, then minute), and the index the plots read by.
    fn write(&self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        let mut rows: Vec<(String, i64, i64, i64)> = self
            .per_minute
            .iter()
            .map(|(&(profile, minute), &(flows, bytes))| {
                let mut text = String::new();
                push_ip_str(&mut text, profile);
                (text, minute, flows, bytes)
            })
            .collect();
        rows.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(&b.1)));
        let mut every: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
        let mut per_profile: Vec<(&str, i64, i64)> = Vec::new();
        for (profile, minute, flows, bytes) in &rows {
            let e = every.entry(*minute).or_default();
            e.0 += flows;
            e.1 += bytes;
            match per_profile.last_mut() {
                Some(last) if last.0 == profile => {
                    last.1 += flows;
                    last.2 += bytes;
                }
                _ => per_profile.push((profile, *flows, *bytes)),
            }
        }
        tx.execute_batch(SUMMARY_TABLES)?;
        let mut minute = tx.prepare("INSERT INTO flows_per_minute VALUES (?1,?2,?3,?4)")?;
        for (profile, m, flows, bytes) in &rows {
            minute.execute(params![profile, m, flows, bytes])?;
        }
        for (m, (flows, bytes)) in &every {
            minute.execute(params!["", m, flows, bytes])?;
        }
        let mut profile = tx.prepare("INSERT INTO flows_per_profile VALUES (?1,?2,?3)")?;
        for (p, flows, bytes) in &per_profile {
            profile.execute(params![p, flows, bytes])?;
        }
        tx.execute_batch(
            "CREATE INDEX flows_per_minute_profile ON flows_per_minute (profile, minute);",
        )
    }
}

/// `ip` as text in `buf`, for binding as it is (no UTF-8 check: the text is ASCII).
fn ip_ascii(buf: &mut Vec<u8>, ip: IpAddr) -> &[u8] {
    buf.clear();
    push_ip(buf, ip);
    buf
}

/// The writer thread: one transaction per batch; at the end the hosts, windows,
/// indexes and labels.
fn write_all(
    conn: Connection,
    path: &Path,
    rx: Receiver<Msg>,
    recycle: Sender<Batch>,
) -> Result<StoreStats, Error> {
    let stats = write_rows(&conn, path, rx, recycle)?;
    // Back to a rollback journal: the finished database is one self-contained file. A
    // viewer still holding it open keeps it in WAL mode, which readers handle as well.
    let _ = conn.execute_batch("PRAGMA journal_mode = DELETE");
    conn.close().map_err(|(_, e)| Error::sqlite(path, e))?;
    Ok(stats)
}

/// The statements that insert the rows of a batch.
struct BatchInserts<'c> {
    flow: Insert<'c>,
    record: Insert<'c>,
    evidence: Insert<'c>,
    evidence_flow: Insert<'c>,
    alert: Insert<'c>,
    alert_evidence: Insert<'c>,
}

impl<'c> BatchInserts<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(BatchInserts {
            flow: Insert::prepare(
                conn,
                "INSERT INTO flows VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,'benign',?23)",
            )?,
            record: Insert::prepare(conn, "INSERT INTO records VALUES (?1,?2,?3,?4,?5,?6)")?,
            evidence: Insert::prepare(
                conn,
                "INSERT INTO evidence VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)",
            )?,
            evidence_flow: Insert::prepare(conn, "INSERT INTO evidence_flows VALUES (?1,?2)")?,
            alert: Insert::prepare(conn, "INSERT INTO alerts VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?,
            alert_evidence: Insert::prepare(conn, "INSERT INTO alert_evidence VALUES (?1,?2)")?,
        })
    }
}

fn write_rows(
    conn: &Connection,
    path: &Path,
    rx: Receiver<Msg>,
    recycle: Sender<Batch>,
) -> Result<StoreStats, Error> {
    let sql = |e| Error::sqlite(path, e);
    let mut inserts = BatchInserts::prepare(conn).map_err(sql)?;
    let mut stats = StoreStats::default();
    let mut malicious: Vec<Uid> = Vec::new();
    let mut attacker_text = String::with_capacity(64);
    let mut victim_text = String::with_capacity(64);
    let mut uid_ascii = [0u8; UID_TEXT_MAX];
    let (mut profile_ascii, mut orig_ascii, mut resp_ascii) = (Vec::new(), Vec::new(), Vec::new());
    let mut flows_indexed = false;
    let mut summaries = FlowSummaries::default();
    // The indexes are built once, over every row: cheaper than keeping them up to date
    // through the run. A larger page cache spares re-reading the tables for each index
    // (16 MiB: 32 held 16 MiB more at the end of the run for no measurable gain), and the
    // sorter may use a second thread.
    let index_flows = |conn: &Connection, summaries: &FlowSummaries| -> Result<(), Error> {
        conn.execute_batch("PRAGMA cache_size = -16384; PRAGMA threads = 2;")
            .map_err(sql)?;
        let tx = conn.unchecked_transaction().map_err(sql)?;
        tx.execute_batch(FLOW_INDEXES).map_err(sql)?;
        summaries.write(&tx).map_err(sql)?;
        tx.commit().map_err(sql)
    };
    for msg in rx {
        match msg {
            Msg::FlowsComplete => {
                if !flows_indexed {
                    index_flows(conn, &summaries)?;
                    flows_indexed = true;
                }
            }
            Msg::Batch(mut batch) => {
                let tx = conn.unchecked_transaction().map_err(sql)?;
                for f in &batch.flows {
                    let c = &f.conn;
                    summaries.add(f);
                    let uid = f.uid.ascii(&mut uid_ascii);
                    let profile = ip_ascii(&mut profile_ascii, f.profile);
                    let orig_h = ip_ascii(&mut orig_ascii, c.id.orig_h);
                    let resp_h = ip_ascii(&mut resp_ascii, c.id.resp_h);
                    let count = |v: u64| Value::Int(v as i64);
                    inserts
                        .flow
                        .execute(&[
                            Value::Utf8(uid),
                            Value::Real(secs(f.ts)),
                            Value::Utf8(profile),
                            Value::Int(f.twid),
                            Value::Utf8(orig_h),
                            c.id.orig_p.into(),
                            Value::Utf8(resp_h),
                            c.id.resp_p.into(),
                            Value::Text(c.id.proto.as_str()),
                            f.service.map_or(Value::Null, |s| batch.text(s)),
                            c.duration.map(|d| d.as_secs_f64()).into(),
                            c.orig_bytes.map_or(Value::Null, count),
                            c.resp_bytes.map_or(Value::Null, count),
                            Value::Text(c.conn_state.as_str()),
                            c.local_orig.into(),
                            c.local_resp.into(),
                            count(c.missed_bytes),
                            f.history.map_or(Value::Null, |s| batch.text(s)),
                            count(c.orig_pkts),
                            count(c.orig_ip_bytes),
                            count(c.resp_pkts),
                            count(c.resp_ip_bytes),
                            f.interface.as_deref().into(),
                        ])
                        .map_err(sql)?;
                }
                for r in &batch.records {
                    inserts
                        .record
                        .execute(&[
                            Value::Text(r.kind),
                            r.uid
                                .map_or(Value::Null, |u| Value::Utf8(u.ascii(&mut uid_ascii))),
                            Value::Real(secs(r.ts)),
                            r.profile.map_or(Value::Null, |p| {
                                Value::Utf8(ip_ascii(&mut profile_ascii, p))
                            }),
                            r.twid.into(),
                            batch.text(r.json),
                        ])
                        .map_err(sql)?;
                }
                for row in &batch.evidence {
                    let e = &row.evidence;
                    let id = e.id.to_string();
                    attacker_text.clear();
                    e.attacker.value.push_text(&mut attacker_text);
                    victim_text.clear();
                    if let Some(v) = &e.victim {
                        v.value.push_text(&mut victim_text);
                    }
                    let profile = ip_ascii(&mut profile_ascii, e.profile);
                    inserts
                        .evidence
                        .execute(&[
                            Value::Text(&id),
                            Value::Utf8(profile),
                            Value::Int(e.timewindow),
                            Value::Real(secs(e.timestamp)),
                            Value::Text(e.evidence_type.as_str()),
                            Value::Text(e.threat_level.as_str()),
                            Value::Real(e.confidence),
                            Value::Text(&e.description),
                            Value::Text(&attacker_text),
                            Value::Text(e.attacker.value.kind().as_str()),
                            Value::Text(e.attacker.direction.as_str()),
                            e.victim.as_ref().map(|_| victim_text.as_str()).into(),
                            e.victim.as_ref().map(|v| v.value.kind().as_str()).into(),
                            e.victim.as_ref().map(|v| v.direction.as_str()).into(),
                            e.proto.map(|p| p.as_str()).into(),
                            e.src_port.into(),
                            e.dst_port.into(),
                            Value::Real(row.accumulated),
                            e.interface.as_deref().into(),
                        ])
                        .map_err(sql)?;
                    for u in &e.uids {
                        inserts
                            .evidence_flow
                            .execute(&[Value::Text(&id), Value::Utf8(u.ascii(&mut uid_ascii))])
                            .map_err(sql)?;
                    }
                }
                for a in &batch.alerts {
                    let id = a.id.to_string();
                    let profile = ip_ascii(&mut profile_ascii, a.profile);
                    inserts
                        .alert
                        .execute(&[
                            Value::Text(&id),
                            Value::Utf8(profile),
                            Value::Int(a.timewindow.number),
                            Value::Real(secs(a.last_evidence_ts)),
                            Value::Real(secs(a.timewindow.start)),
                            (a.timewindow.end.0 != i64::MAX)
                                .then(|| secs(a.timewindow.end))
                                .into(),
                            Value::Real(a.accumulated_threat_level),
                            Value::Text(a.threat_level.as_str()),
                            Value::Real(a.confidence),
                        ])
                        .map_err(sql)?;
                    for e in &a.evidence_ids {
                        let evidence_id = e.to_string();
                        inserts
                            .alert_evidence
                            .execute(&[Value::Text(&id), Value::Text(&evidence_id)])
                            .map_err(sql)?;
                    }
                    malicious.extend_from_slice(&a.uids);
                }
                tx.commit().map_err(sql)?;
                stats.flows += batch.flows.len() as u64;
                stats.records += batch.records.len() as u64;
                stats.evidence += batch.evidence.len() as u64;
                stats.alerts += batch.alerts.len() as u64;
                batch.clear();
                let _ = recycle.try_send(batch);
            }
            Msg::Hosts(rows) => {
                if !flows_indexed {
                    index_flows(conn, &summaries)?;
                    flows_indexed = true;
                }
                let tx = conn.unchecked_transaction().map_err(sql)?;
                {
                    let mut h = Insert::prepare(
                        &tx,
                        "INSERT INTO hosts VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31)",
                    )
                    .map_err(sql)?;
                    let count = |v: u64| Value::Int(v as i64);
                    for r in &rows.hosts {
                        let vt = r.virustotal;
                        h.execute(&[
                            Value::Text(&r.ip),
                            r.profiled.into(),
                            Value::Real(r.first_seen),
                            Value::Real(r.last_seen),
                            r.mac.as_deref().into(),
                            r.vendor.as_deref().into(),
                            r.hostname.as_deref().into(),
                            r.dhcp_server.into(),
                            r.asn.into(),
                            r.as_org.as_deref().into(),
                            r.country.as_deref().into(),
                            r.city.as_deref().into(),
                            r.rdns.as_deref().into(),
                            r.threat_level.into(),
                            r.confidence.into(),
                            r.max_threat_level.into(),
                            r.flows_out.map_or(Value::Null, count),
                            r.flows_in.map_or(Value::Null, count),
                            Value::Text(&r.other_ips),
                            Value::Text(&r.domains),
                            Value::Text(&r.snis),
                            Value::Text(&r.user_agents),
                            Value::Text(&r.software),
                            Value::Text(&r.certificates),
                            Value::Text(&r.threat_history),
                            r.gateway.into(),
                            r.dns_server.into(),
                            vt.map(|v| v.url).into(),
                            vt.map(|v| v.down_file).into(),
                            vt.map(|v| v.ref_file).into(),
                            vt.map(|v| v.com_file).into(),
                        ])
                        .map_err(sql)?;
                    }
                    let mut d =
                        Insert::prepare(&tx, "INSERT INTO domain_info VALUES (?1,?2,?3,?4,?5)")
                            .map_err(sql)?;
                    for (domain, v) in &rows.domains {
                        d.execute(&[
                            Value::Text(domain),
                            Value::Real(v.url),
                            Value::Real(v.down_file),
                            Value::Real(v.ref_file),
                            Value::Real(v.com_file),
                        ])
                        .map_err(sql)?;
                    }
                    let mut w = Insert::prepare(
                        &tx,
                        "INSERT INTO timewindows VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                    )
                    .map_err(sql)?;
                    for r in &rows.windows {
                        w.execute(&[
                            Value::Text(&r.profile),
                            Value::Int(r.twid),
                            Value::Real(r.start),
                            r.end.into(),
                            count(r.flows_out),
                            count(r.flows_in),
                            r.evidence.into(),
                            r.alerts.into(),
                            Value::Real(r.total_threat),
                            r.max_threat_level.into(),
                        ])
                        .map_err(sql)?;
                    }
                }
                tx.commit().map_err(sql)?;
                stats.hosts += rows.hosts.len() as u64;
            }
            Msg::Finish => {
                if !flows_indexed {
                    index_flows(conn, &summaries)?;
                    flows_indexed = true;
                }
                let tx = conn.unchecked_transaction().map_err(sql)?;
                tx.execute_batch(OTHER_INDEXES).map_err(sql)?;
                {
                    let mut label = tx
                        .prepare("UPDATE flows SET label = 'malicious' WHERE uid = ?1")
                        .map_err(sql)?;
                    malicious.sort_unstable();
                    malicious.dedup();
                    for u in &malicious {
                        stats.malicious_flows +=
                            label.execute(params![u.to_string()]).map_err(sql)? as u64;
                    }
                }
                tx.commit().map_err(sql)?;
            }
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::virustotal::LocalVirusTotal;

    #[test]
    fn hosts_sent_in_pieces_are_all_written() {
        let dir = std::env::temp_dir().join(format!("slipstream-storage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flows.sqlite");
        let storage = Storage::create(&path, 64).unwrap();
        let mut hosts = Hosts::for_tests();
        // Two full pieces and a part of one.
        let count = HOSTS_PER_MESSAGE * 2 + 7;
        for i in 0..count as u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            hosts.profile_mut(ip, Timestamp(1_000_000));
        }
        let stats = storage
            .send_rest(&hosts, &LocalVirusTotal::default())
            .wait()
            .unwrap();
        assert_eq!(stats.hosts, count as u64);
        let conn = Connection::open(&path).unwrap();
        let (rows, distinct): (i64, i64) = conn
            .query_row("SELECT COUNT(*), COUNT(DISTINCT ip) FROM hosts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((rows, distinct), (count as i64, count as i64));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
