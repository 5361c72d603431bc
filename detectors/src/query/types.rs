//! What the query layer returns: plain rows, ready to render or serialise.

use serde::Serialize;

pub use crate::online::virustotal::VtScores;

/// A page of a long list: `limit` rows starting at row `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Page {
    pub offset: u64,
    pub limit: u32,
}

impl Page {
    /// Most rows one page may ask for.
    pub const MAX_LIMIT: u32 = 1000;

    pub fn new(offset: u64, limit: u32) -> Self {
        Page {
            offset,
            limit: limit.clamp(1, Self::MAX_LIMIT),
        }
    }

    /// The first `limit` rows.
    pub fn first(limit: u32) -> Self {
        Page::new(0, limit)
    }

    pub fn next(self) -> Self {
        Page::new(self.offset + u64::from(self.limit), self.limit)
    }

    /// The page before (the first page stays the first).
    pub fn previous(self) -> Self {
        Page::new(
            self.offset.saturating_sub(u64::from(self.limit)),
            self.limit,
        )
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::first(100)
    }
}

/// One page of rows and whether more follow it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: Page,
    pub has_more: bool,
}

/// Which flows of a host: those it started (`Out`: it is the source, the flows of its
/// profile) or those it received (`In`: it is the destination).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Out,
    In,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "out" => Some(Direction::Out),
            "in" => Some(Direction::In),
            _ => None,
        }
    }
}

/// The whole output folder at a glance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overview {
    pub path: String,
    /// The run ended: hosts and windows are written and indexes built. While it runs,
    /// lists are derived from the flows, evidence and alerts written so far.
    pub finished: bool,
    pub flows: u64,
    pub profiles: u64,
    pub evidence: u64,
    pub alerts: u64,
    pub first_ts: Option<f64>,
    pub last_ts: Option<f64>,
}

/// A profile in the list of profiles.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProfileRow {
    pub ip: String,
    /// Current threat level (Slips' profile threat level), or while the run goes on the
    /// highest level of its evidence.
    pub threat_level: Option<String>,
    pub max_threat_level: Option<String>,
    pub confidence: Option<f64>,
    pub flows_out: u64,
    pub flows_in: u64,
    pub evidence: u64,
    pub alerts: u64,
    /// An alert was raised for it: shown in colour.
    pub alerted: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct UserAgent {
    pub user_agent: String,
    pub os: Option<String>,
    pub browser: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Software {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub version_major: Option<u64>,
    pub version_minor: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Certificate {
    pub fingerprint: Option<String>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub cn: Option<String>,
    #[serde(default)]
    pub san_dns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ThreatChange {
    pub ts: String,
    pub timewindow: i64,
    pub threat_level: String,
    pub confidence: f64,
}

/// Everything known about one address: the top of its profile page.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HostInfo {
    pub ip: String,
    /// Written at the end of the run; while it runs only the first and last flow times,
    /// flow counts and threat-intelligence hits are known.
    pub complete: bool,
    pub profiled: bool,
    pub first_seen: Option<f64>,
    pub last_seen: Option<f64>,
    pub mac: Option<String>,
    pub vendor: Option<String>,
    pub hostname: Option<String>,
    pub dhcp_server: bool,
    pub asn: Option<u32>,
    pub as_org: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub rdns: Option<String>,
    pub threat_level: Option<String>,
    pub max_threat_level: Option<String>,
    pub confidence: Option<f64>,
    pub flows_out: u64,
    pub flows_in: u64,
    pub other_ips: Vec<String>,
    pub domains: Vec<String>,
    pub snis: Vec<String>,
    pub user_agents: Vec<UserAgent>,
    pub software: Vec<Software>,
    pub certificates: Vec<Certificate>,
    pub threat_history: Vec<ThreatChange>,
    /// Threat-intelligence evidence (blacklisted IPs, domains, ASNs, JA3, certificates,
    /// files) where this address is the attacker or the victim.
    pub threat_intel: Vec<EvidenceRow>,
    /// VirusTotal's scores of this address, as Slips keeps them in its IP info; `None`:
    /// no report (or the run is still going).
    pub virustotal: Option<VtScores>,
    /// VirusTotal's scores of the domains and TLS server names above that have a report.
    pub domains_virustotal: Vec<DomainScores>,
}

/// VirusTotal's scores of a domain, as Slips keeps them in its domain info.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DomainScores {
    pub domain: String,
    pub virustotal: VtScores,
}

/// One time window of a profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowRow {
    pub twid: i64,
    pub start: f64,
    /// `None`: the only window of an `only_one_tw` run.
    pub end: Option<f64>,
    pub flows_out: u64,
    pub flows_in: u64,
    pub evidence: u64,
    pub alerts: u64,
    pub total_threat: f64,
    pub max_threat_level: Option<String>,
}

/// A flow (a conn record) as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flow {
    pub uid: String,
    pub ts: f64,
    pub profile: String,
    pub twid: i64,
    pub saddr: String,
    pub sport: u16,
    pub daddr: String,
    pub dport: u16,
    pub proto: String,
    pub service: Option<String>,
    pub duration: Option<f64>,
    pub orig_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub conn_state: String,
    pub history: Option<String>,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
    /// `benign`, or `malicious` for the flows behind an alert (set when the run ends).
    pub label: String,
}

/// An evidence with the flows behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvidenceRow {
    pub id: String,
    pub profile: String,
    pub twid: i64,
    pub ts: f64,
    pub evidence_type: String,
    pub threat_level: String,
    pub confidence: f64,
    pub description: String,
    pub attacker: String,
    pub attacker_kind: String,
    pub attacker_direction: String,
    pub victim: Option<String>,
    pub victim_kind: Option<String>,
    pub victim_direction: Option<String>,
    pub proto: Option<String>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub accumulated_threat_level: f64,
    pub uids: Vec<String>,
}

/// An alert and the ids of its evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertRow {
    pub id: String,
    pub profile: String,
    pub twid: i64,
    /// Time of its last evidence.
    pub ts: f64,
    pub tw_start: f64,
    pub tw_end: Option<f64>,
    pub accumulated_threat_level: f64,
    pub threat_level: String,
    pub confidence: f64,
    pub evidence_ids: Vec<String>,
}

/// An alert with its evidence and the flows behind them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertDetail {
    pub alert: AlertRow,
    pub evidence: Vec<EvidenceRow>,
    /// Up to [`crate::query::ALERT_FLOWS`] flows, in time order.
    pub flows: Vec<Flow>,
    /// More flows are behind the evidence than listed.
    pub flows_truncated: bool,
}

/// One line of a time window's timeline: what the host did, in words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub ts: f64,
    /// `YYYY-MM-DD HH:MM:SS` (UTC).
    pub time: String,
    pub uid: String,
    /// The whole line after the time: "resolved example.com -> 1.2.3.4",
    /// "HTTPS to example.com (1.2.3.4:443/tcp) 12 kB up, 340 kB down".
    pub text: String,
    /// Upper-case service (Slips' `dport_name`): `HTTPS`, `DNS`, `PING echo`, `????`.
    pub service: String,
    pub daddr: String,
    pub dport: u16,
    pub proto: String,
    /// Name of the destination: the SNI or HTTP host of the flow, else what the host
    /// resolved the address from.
    pub domain: Option<String>,
    pub conn_state: String,
    pub established: bool,
    pub sent: u64,
    pub received: u64,
    pub duration: Option<f64>,
    /// Slips' warnings: `No data exchange!`, `Protocol not recognized by Slips nor Zeek.`
    pub warnings: Vec<String>,
    /// What the flow's DNS, HTTP, TLS or SSH record adds, as (name, value) pairs.
    pub details: Vec<(String, String)>,
    pub label: String,
}

/// One bar of a histogram over time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeBucket {
    pub start: f64,
    pub flows: u64,
    /// IP bytes both ways.
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowsOverTime {
    pub bucket_secs: f64,
    /// Buckets in time order; empty buckets are left out.
    pub buckets: Vec<TimeBucket>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LevelCount {
    pub threat_level: String,
    pub evidence: u64,
}

/// A profile among those that sent the most.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Talker {
    pub ip: String,
    pub flows: u64,
    /// IP bytes of its outgoing flows, both ways.
    pub bytes: u64,
}
