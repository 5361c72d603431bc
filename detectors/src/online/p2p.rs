//! Reports of Slips' P2P network about IPs, behind [`PeerReportSource`], and the
//! reports we would share, in [`P2pOutbox`].
//!
//! In Slips (`modules/p2p_trust/`), peers send each other score/confidence reports
//! about IPs; each report received becomes a `P2P_REPORT` evidence
//! (`go_director.py:set_evidence_p2p_report`), and the reports about an IP seen in the
//! traffic are combined by the trust model (`trust/base_model.py`) into the network's
//! opinion, which gives `MALICIOUS_IP_FROM_P2P_NETWORK` when `score * confidence > 0`
//! (`p2p_trust.py:process_network_response`).
//!
//! [`LocalPeerReports`] (`enrichment.p2p_reports`) reads the reports from a file, one
//! JSON object per line:
//!
//! ```text
//! {"reporter": "QmPeerA", "reporter_ip": "192.0.2.10", "reliability": 0.9,
//!  "ip": "198.51.100.7", "score": 0.9, "confidence": 0.8, "time": 1700000000.5}
//! ```
//!
//! * `reporter`: the reporting peer's id; `reporter_ip` (optional): its address;
//! * `reliability` (optional, default 1): how much the P2P layer trusts the peer (Slips'
//!   `go_reliability`); `reporter_score`, `reporter_confidence` (optional, default 0):
//!   what we think of the peer's address (Slips' `slips_reputation`);
//! * `ip`: the reported address; `score` -1 (benign) .. 1 (malicious); `confidence`
//!   0..1; `time`: when the report was received, Unix seconds.
//!
//! Lines with another shape or values out of range are skipped with a warning naming
//! the file and the line (Slips drops such reports too), and so are reports of a peer
//! about its own address. Every report counts in the opinion, whatever its time: the
//! file stands for Slips' trust database, which keeps reports across runs.
//!
//! The opinion (Slips' `assemble_peer_opinion`): each peer's reports are summed; the
//! peer's trust is `(reliability * 0.7 + reporter_score * reporter_confidence) / 2`,
//! its weight `(trust + 1) / 2`; score = Σ(score sum × weight) / Σ(weight × reports),
//! confidence = Σ max(0, confidence sum × trust) / reports, both clamped to 0..1.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use dissectors::Timestamp;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Error;
use crate::evidence::{Evidence, EvidenceType, ThreatLevel};
use crate::profile::Hosts;
use crate::subscriber::Subscriber;

/// Warnings kept per load; more are counted.
const MAX_WARNINGS: usize = 50;
/// Slips' weight of a peer's reliability in its trust.
const RELIABILITY_WEIGHT: f64 = 0.7;

/// One report of a peer about an IP.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerReport {
    pub reporter: Box<str>,
    pub reporter_ip: Option<IpAddr>,
    pub reliability: f64,
    pub reporter_score: f64,
    pub reporter_confidence: f64,
    pub ip: IpAddr,
    pub score: f64,
    pub confidence: f64,
    pub time: Timestamp,
}

/// The network's combined opinion about an IP, both in 0..=1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Opinion {
    pub score: f64,
    pub confidence: f64,
}

/// Reports of P2P peers.
pub trait PeerReportSource: Send + Sync {
    /// Every report, oldest first.
    fn reports(&self) -> &[PeerReport];
    /// The peers' combined opinion about `ip`; `None` when no peer reported it.
    fn opinion(&self, ip: IpAddr) -> Option<Opinion>;
}

/// Slips' `threat_level_to_string`: the lowest level whose value is at least `score`.
pub fn threat_level_of(score: f64) -> ThreatLevel {
    ThreatLevel::ALL
        .iter()
        .copied()
        .find(|t| score <= t.value())
        .unwrap_or(ThreatLevel::Critical)
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Line {
    reporter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reporter_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reliability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reporter_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reporter_confidence: Option<f64>,
    ip: IpAddr,
    score: f64,
    confidence: f64,
    time: f64,
}

/// Reports read from a local JSON-lines file (see the module documentation).
#[derive(Debug, Default)]
pub struct LocalPeerReports {
    reports: Vec<PeerReport>,
    opinions: HashMap<IpAddr, Opinion>,
    warnings: Vec<String>,
}

impl LocalPeerReports {
    pub fn empty() -> Self {
        LocalPeerReports::default()
    }

    /// Reads `path`; an unreadable file or a bad line becomes a warning.
    pub fn load(path: &Path) -> Self {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(
                &String::from_utf8_lossy(&bytes),
                &path.display().to_string(),
            ),
            Err(e) => LocalPeerReports {
                warnings: vec![format!("{}: {e}; no P2P reports", path.display())],
                ..LocalPeerReports::default()
            },
        }
    }

    /// Parses JSON lines; `source` names them in warnings.
    pub fn parse(text: &str, source: &str) -> Self {
        let mut out = LocalPeerReports::default();
        let mut dropped = 0usize;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let problem = match serde_json::from_str::<Line>(line) {
                Err(e) => Some(e.to_string()),
                Ok(l) => match Self::report(l) {
                    Ok(Some(r)) => {
                        out.reports.push(r);
                        None
                    }
                    Ok(None) => None,
                    Err(m) => Some(m.to_string()),
                },
            };
            if let Some(m) = problem {
                if out.warnings.len() < MAX_WARNINGS {
                    out.warnings
                        .push(format!("{source}: line {}: {m}; report skipped", n + 1));
                } else {
                    dropped += 1;
                }
            }
        }
        if dropped > 0 {
            out.warnings
                .push(format!("{source}: {dropped} more bad lines"));
        }
        out.reports.sort_by_key(|r| r.time);
        out.opinions = opinions(&out.reports);
        out
    }

    /// A checked report; `Ok(None)` for a peer reporting its own address.
    fn report(l: Line) -> Result<Option<PeerReport>, &'static str> {
        let in_01 = |v: f64| (0.0..=1.0).contains(&v);
        if !(-1.0..=1.0).contains(&l.score) {
            return Err("score out of -1..1");
        }
        if !in_01(l.confidence) {
            return Err("confidence out of 0..1");
        }
        let reliability = l.reliability.unwrap_or(1.0);
        let reporter_score = l.reporter_score.unwrap_or(0.0);
        let reporter_confidence = l.reporter_confidence.unwrap_or(0.0);
        if !in_01(reliability)
            || !in_01(reporter_confidence)
            || !(-1.0..=1.0).contains(&reporter_score)
        {
            return Err("reliability, reporter_score or reporter_confidence out of range");
        }
        if !l.time.is_finite() || l.reporter.is_empty() {
            return Err("expected a reporter and a time");
        }
        if l.reporter_ip == Some(l.ip) {
            return Ok(None);
        }
        Ok(Some(PeerReport {
            reporter: l.reporter.into_boxed_str(),
            reporter_ip: l.reporter_ip,
            reliability,
            reporter_score,
            reporter_confidence,
            ip: l.ip,
            score: l.score,
            confidence: l.confidence,
            time: Timestamp::from_secs_f64(l.time),
        }))
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn len(&self) -> usize {
        self.reports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }
}

/// Slips' trust model over every report (see the module documentation).
fn opinions(reports: &[PeerReport]) -> HashMap<IpAddr, Opinion> {
    struct Group {
        count: f64,
        score_sum: f64,
        confidence_sum: f64,
        trust: f64,
    }
    let mut by_ip: HashMap<IpAddr, HashMap<(&str, Option<IpAddr>), Group>> = HashMap::new();
    for r in reports {
        let trust =
            (r.reliability * RELIABILITY_WEIGHT + r.reporter_score * r.reporter_confidence) / 2.0;
        let g = by_ip
            .entry(r.ip)
            .or_default()
            .entry((&*r.reporter, r.reporter_ip))
            .or_insert(Group {
                count: 0.0,
                score_sum: 0.0,
                confidence_sum: 0.0,
                trust,
            });
        g.count += 1.0;
        g.score_sum += r.score;
        g.confidence_sum += r.confidence;
        // the peer's latest standing counts
        g.trust = trust;
    }
    by_ip
        .into_iter()
        .map(|(ip, groups)| {
            let weight = |g: &Group| (g.trust + 1.0) / 2.0;
            let weights: f64 = groups.values().map(|g| weight(g) * g.count).sum();
            let reports: f64 = groups.values().map(|g| g.count).sum();
            let score: f64 = if weights > 0.0 {
                groups
                    .values()
                    .map(|g| g.score_sum * weight(g) / weights)
                    .sum()
            } else {
                0.0
            };
            let confidence: f64 = groups
                .values()
                .map(|g| (g.confidence_sum * g.trust).max(0.0))
                .sum::<f64>()
                / reports;
            (
                ip,
                Opinion {
                    score: score.clamp(0.0, 1.0),
                    confidence: confidence.clamp(0.0, 1.0),
                },
            )
        })
        .collect()
}

impl PeerReportSource for LocalPeerReports {
    fn reports(&self) -> &[PeerReport] {
        &self.reports
    }

    fn opinion(&self, ip: IpAddr) -> Option<Opinion> {
        if self.opinions.is_empty() {
            return None;
        }
        self.opinions.get(&ip).copied()
    }
}

static CACHE: super::Cache<LocalPeerReports> = Mutex::new(Vec::new());

/// The reports `config` names (`enrichment.p2p_reports`), loaded once and shared by the
/// detections that need them; empty when no file is configured.
pub fn shared_peer_reports(config: &Config) -> Arc<LocalPeerReports> {
    super::shared(
        &CACHE,
        config.resolve(&config.enrichment.p2p_reports),
        LocalPeerReports::load,
        LocalPeerReports::empty,
    )
}

/// The peer id our reports are written under.
pub const OUR_PEER_ID: &str = "slipstream";

/// Writes the reports Slips would send to its peers (`p2p_trust.py:should_share`,
/// `new_evidence_callback`): one per kept evidence whose attacker is an IP, with a
/// threat level above info and a confidence, about which the peers said nothing;
/// the score is the threat level's value. Not shared: `P2P_REPORT` evidence (the
/// peers' own words).
pub struct P2pOutbox {
    peers: Arc<dyn PeerReportSource>,
    out: std::io::BufWriter<std::fs::File>,
    path: std::path::PathBuf,
    error: Option<std::io::Error>,
}

impl P2pOutbox {
    /// The outbox `config` asks for (`enrichment.p2p_outbox`) in `output_dir`; `None`
    /// when none is asked for.
    pub fn from_config(config: &Config, output_dir: &Path) -> Result<Option<Self>, Error> {
        if config.enrichment.p2p_outbox.is_empty() {
            return Ok(None);
        }
        let path = output_dir.join(&config.enrichment.p2p_outbox);
        Self::create(&path, shared_peer_reports(config)).map(Some)
    }

    pub fn create(path: &Path, peers: Arc<dyn PeerReportSource>) -> Result<Self, Error> {
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(P2pOutbox {
            peers,
            out: std::io::BufWriter::new(file),
            path: path.to_path_buf(),
            error: None,
        })
    }
}

impl Subscriber for P2pOutbox {
    fn evidence(&mut self, e: &Evidence, _accumulated: f64, _hosts: &Hosts) {
        if e.evidence_type == EvidenceType::P2pReport
            || e.threat_level == ThreatLevel::Info
            || e.confidence <= 0.0
        {
            return;
        }
        let Some(ip) = e.attacker.value.ip() else {
            return;
        };
        if self.peers.opinion(ip).is_some() {
            return;
        }
        let line = Line {
            reporter: OUR_PEER_ID.into(),
            reporter_ip: None,
            reliability: None,
            reporter_score: None,
            reporter_confidence: None,
            ip,
            score: e.threat_level.value(),
            confidence: e.confidence,
            time: e.timestamp.as_secs_f64(),
        };
        let written = serde_json::to_writer(&mut self.out, &line)
            .map_err(std::io::Error::other)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(err) = written {
            self.error.get_or_insert(err);
        }
    }

    fn finish(&mut self, _hosts: &Hosts) -> Result<(), Error> {
        if let Some(e) = self.error.take() {
            return Err(Error::io(&self.path, e));
        }
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Ioc;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn reads_reports_and_skips_bad_lines() {
        let r = LocalPeerReports::parse(
            r#"# peer reports
{"reporter":"QmA","reporter_ip":"192.0.2.10","reliability":0.9,"ip":"198.51.100.7","score":0.9,"confidence":0.8,"time":1700000100}
{"reporter":"QmB","ip":"198.51.100.7","score":0.5,"confidence":1,"time":1700000000}
{"reporter":"QmC","ip":"198.51.100.7","score":1.5,"confidence":1,"time":1}
{"reporter":"QmC","ip":"not an ip","score":0.5,"confidence":1,"time":1}
{"reporter":"QmC","ip":"198.51.100.8","score":0.5,"confidence":1,"time":1,"extra":1}
{"reporter":"QmD","reporter_ip":"198.51.100.9","ip":"198.51.100.9","score":1,"confidence":1,"time":1}
not json
"#,
            "reports.jsonl",
        );
        assert_eq!(r.len(), 2);
        assert_eq!(r.warnings().len(), 4, "{:?}", r.warnings());
        assert!(r.warnings()[0].starts_with("reports.jsonl: line 4: score out of -1..1"));
        assert!(r.warnings()[1].starts_with("reports.jsonl: line 5:"));
        assert!(r.warnings()[2].starts_with("reports.jsonl: line 6:"));
        assert!(r.warnings()[3].starts_with("reports.jsonl: line 8:"));
        // oldest first
        assert_eq!(&*r.reports()[0].reporter, "QmB");
        assert_eq!(r.reports()[1].reliability, 0.9);
        assert!(r.opinion(ip("198.51.100.9")).is_none());
    }

    #[test]
    fn the_opinion_follows_slips_trust_model() {
        // one peer, reliability 1, no reputation of its address: trust 0.35
        let r = LocalPeerReports::parse(
            r#"{"reporter":"QmA","ip":"198.51.100.7","score":0.8,"confidence":1,"time":1}"#,
            "f",
        );
        let o = r.opinion(ip("198.51.100.7")).unwrap();
        assert!((o.score - 0.8).abs() < 1e-9);
        assert!((o.confidence - 0.35).abs() < 1e-9);
        // two peers: a trusted one says malicious, an untrusted one says benign
        let r = LocalPeerReports::parse(
            r#"{"reporter":"QmA","reliability":1,"reporter_score":1,"reporter_confidence":1,"ip":"198.51.100.7","score":1,"confidence":1,"time":1}
{"reporter":"QmB","reliability":0,"ip":"198.51.100.7","score":-1,"confidence":1,"time":2}"#,
            "f",
        );
        // trusts 0.85 and 0; weights 0.925 and 0.5
        let o = r.opinion(ip("198.51.100.7")).unwrap();
        let expected = (1.0 * 0.925 - 0.5) / (0.925 + 0.5);
        assert!((o.score - expected).abs() < 1e-9, "{o:?}");
        assert!((o.confidence - 0.85 / 2.0).abs() < 1e-9, "{o:?}");
        // a benign verdict clamps to 0
        let r = LocalPeerReports::parse(
            r#"{"reporter":"QmA","ip":"198.51.100.7","score":-0.9,"confidence":1,"time":1}"#,
            "f",
        );
        assert_eq!(r.opinion(ip("198.51.100.7")).unwrap().score, 0.0);
    }

    #[test]
    fn scores_map_to_threat_levels_as_slips() {
        assert_eq!(threat_level_of(-0.5), ThreatLevel::Info);
        assert_eq!(threat_level_of(0.0), ThreatLevel::Info);
        assert_eq!(threat_level_of(0.1), ThreatLevel::Low);
        assert_eq!(threat_level_of(0.2), ThreatLevel::Low);
        assert_eq!(threat_level_of(0.5), ThreatLevel::Medium);
        assert_eq!(threat_level_of(0.79), ThreatLevel::High);
        assert_eq!(threat_level_of(0.81), ThreatLevel::Critical);
    }

    #[test]
    fn a_missing_file_is_a_warning() {
        let r = LocalPeerReports::load(Path::new("/nonexistent/p2p.jsonl"));
        assert!(r.is_empty());
        assert!(r.warnings()[0].starts_with("/nonexistent/p2p.jsonl"));
        assert!(shared_peer_reports(&Config::default()).is_empty());
    }

    #[test]
    fn the_outbox_shares_what_the_peers_do_not_know() {
        let dir = std::env::temp_dir().join(format!("slipstream-p2p-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p2p_outbox.jsonl");
        let peers = Arc::new(LocalPeerReports::parse(
            r#"{"reporter":"QmA","ip":"198.51.100.7","score":0.8,"confidence":1,"time":1}"#,
            "f",
        ));
        let mut outbox = P2pOutbox::create(&path, peers).unwrap();
        let hosts = Hosts::for_tests();
        let ev = |attacker: &str, level, kind| {
            Evidence::new(
                kind,
                Ioc::src_ip(ip(attacker)),
                level,
                0.9,
                "x".into(),
                ip(attacker),
                1,
                Timestamp::from_secs_f64(1700000000.0),
            )
        };
        let scan = EvidenceType::HorizontalPortScan;
        outbox.evidence(&ev("203.0.113.5", ThreatLevel::High, scan), 0.0, &hosts);
        // known to the peers, info, or the peers' own report: not shared
        outbox.evidence(&ev("198.51.100.7", ThreatLevel::High, scan), 0.0, &hosts);
        outbox.evidence(&ev("203.0.113.6", ThreatLevel::Info, scan), 0.0, &hosts);
        let p2p = EvidenceType::P2pReport;
        outbox.evidence(&ev("203.0.113.7", ThreatLevel::High, p2p), 0.0, &hosts);
        outbox.finish(&hosts).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"reporter\":\"slipstream\",\"ip\":\"203.0.113.5\",\"score\":0.8,\"confidence\":0.9,\"time\":1700000000.0}\n"
        );
        // what we write reads back as reports
        let back = LocalPeerReports::parse(&text, "outbox");
        assert_eq!(back.len(), 1);
        assert!(back.warnings().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
