//! Evidence: one detection about one attacker, in Slips' shape
//! (`slips_files/core/structures/evidence.py`), with typed values instead of strings.

use std::fmt;
use std::net::IpAddr;

use dissectors::{Timestamp, Transport, Uid};

use crate::mac::MacAddr;

macro_rules! evidence_types {
    ($($variant:ident => $name:literal,)*) => {
        /// What was detected; `as_str` is Slips' enum name (`EvidenceType` in Slips).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EvidenceType {
            $($variant,)*
        }

        impl EvidenceType {
            pub const ALL: &'static [EvidenceType] = &[$(EvidenceType::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EvidenceType::$variant => $name,)*
                }
            }

            /// Parses Slips' enum name (as used in `disabled_detections`).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(EvidenceType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

evidence_types! {
    ArpScan => "ARP_SCAN",
    ArpOutsideLocalnet => "ARP_OUTSIDE_LOCALNET",
    UnsolicitedArp => "UNSOLICITED_ARP",
    MitmArpAttack => "MITM_ARP_ATTACK",
    YoungDomain => "YOUNG_DOMAIN",
    MultipleSshVersions => "MULTIPLE_SSH_VERSIONS",
    DifferentLocalnet => "DIFFERENT_LOCALNET",
    DeviceChangingIp => "DEVICE_CHANGING_IP",
    NonHttpPort80Connection => "NON_HTTP_PORT_80_CONNECTION",
    NonSslPort443Connection => "NON_SSL_PORT_443_CONNECTION",
    WeirdHttpMethod => "WEIRD_HTTP_METHOD",
    IncompatibleCn => "INCOMPATIBLE_CN",
    CnUrlMismatch => "CN_URL_MISMATCH",
    DgaNxdomains => "DGA_NXDOMAINS",
    DnsWithoutConnection => "DNS_WITHOUT_CONNECTION",
    PastebinDownload => "PASTEBIN_DOWNLOAD",
    ConnectionWithoutDns => "CONNECTION_WITHOUT_DNS",
    DnsArpaScan => "DNS_ARPA_SCAN",
    UnknownPort => "UNKNOWN_PORT",
    PasswordGuessing => "PASSWORD_GUESSING",
    HorizontalPortScan => "HORIZONTAL_PORT_SCAN",
    ConnectionToPrivateIp => "CONNECTION_TO_PRIVATE_IP",
    GreTunnel => "GRE_TUNNEL",
    GreScan => "GRE_SCAN",
    VerticalPortScan => "VERTICAL_PORT_SCAN",
    SshSuccessful => "SSH_SUCCESSFUL",
    LongConnection => "LONG_CONNECTION",
    SelfSignedCertificate => "SELF_SIGNED_CERTIFICATE",
    MultipleReconnectionAttempts => "MULTIPLE_RECONNECTION_ATTEMPTS",
    ConnectionToMultiplePorts => "CONNECTION_TO_MULTIPLE_PORTS",
    HighEntropyDnsAnswer => "HIGH_ENTROPY_DNS_ANSWER",
    InvalidDnsResolution => "INVALID_DNS_RESOLUTION",
    Port0Connection => "PORT_0_CONNECTION",
    MaliciousJa3 => "MALICIOUS_JA3",
    MaliciousJa3s => "MALICIOUS_JA3S",
    DataUpload => "DATA_UPLOAD",
    BadSmtpLogin => "BAD_SMTP_LOGIN",
    SmtpLoginBruteforce => "SMTP_LOGIN_BRUTEFORCE",
    MaliciousSslCert => "MALICIOUS_SSL_CERT",
    MaliciousFlow => "MALICIOUS_FLOW",
    SuspiciousUserAgent => "SUSPICIOUS_USER_AGENT",
    EmptyConnections => "EMPTY_CONNECTIONS",
    IncompatibleUserAgent => "INCOMPATIBLE_USER_AGENT",
    ExecutableMimeType => "EXECUTABLE_MIME_TYPE",
    MultipleUserAgent => "MULTIPLE_USER_AGENT",
    HttpTraffic => "HTTP_TRAFFIC",
    MaliciousJarm => "MALICIOUS_JARM",
    NetworkGpsLocationLeaked => "NETWORK_GPS_LOCATION_LEAKED",
    IcmpTimestampScan => "ICMP_TIMESTAMP_SCAN",
    IcmpAddressScan => "ICMP_ADDRESS_SCAN",
    IcmpAddressMaskScan => "ICMP_ADDRESS_MASK_SCAN",
    DhcpScan => "DHCP_SCAN",
    MaliciousIpFromP2pNetwork => "MALICIOUS_IP_FROM_P2P_NETWORK",
    P2pReport => "P2P_REPORT",
    CommandAndControlChannel => "COMMAND_AND_CONTROL_CHANNEL",
    ThreatIntelligenceBlacklistedAsn => "THREAT_INTELLIGENCE_BLACKLISTED_ASN",
    ThreatIntelligenceFromBlacklistedIp => "THREAT_INTELLIGENCE_FROM_BLACKLISTED_IP",
    ThreatIntelligenceToBlacklistedIp => "THREAT_INTELLIGENCE_TO_BLACKLISTED_IP",
    ThreatIntelligenceBlacklistedDnsAnswer => "THREAT_INTELLIGENCE_BLACKLISTED_DNS_ANSWER",
    ThreatIntelligenceBlacklistedDomain => "THREAT_INTELLIGENCE_BLACKLISTED_DOMAIN",
    ThreatIntelligenceAnswerOfBlacklistedQuery => "THREAT_INTELLIGENCE_ANSWER_OF_BLACKLISTED_QUERY",
    MaliciousDownloadedFile => "MALICIOUS_DOWNLOADED_FILE",
    ThreatIntelligenceMaliciousUrl => "THREAT_INTELLIGENCE_MALICIOUS_URL",
    Login => "LOGIN",
    TorExitNode => "TOR_EXIT_NODE",
}

impl fmt::Display for EvidenceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How important an evidence is; the numbers are Slips' and enter the alert rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThreatLevel {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl ThreatLevel {
    pub const ALL: [ThreatLevel; 5] = [
        ThreatLevel::Info,
        ThreatLevel::Low,
        ThreatLevel::Medium,
        ThreatLevel::High,
        ThreatLevel::Critical,
    ];

    pub fn value(self) -> f64 {
        match self {
            ThreatLevel::Info => 0.0,
            ThreatLevel::Low => 0.2,
            ThreatLevel::Medium => 0.5,
            ThreatLevel::High => 0.8,
            ThreatLevel::Critical => 1.0,
        }
    }

    /// Lower-case name, as Slips prints it (`threat level: low`).
    pub fn as_str(self) -> &'static str {
        match self {
            ThreatLevel::Info => "info",
            ThreatLevel::Low => "low",
            ThreatLevel::Medium => "medium",
            ThreatLevel::High => "high",
            ThreatLevel::Critical => "critical",
        }
    }

    /// IDMEFv2 `Severity`: every level maps to its own name except critical, which
    /// IDMEFv2 lacks and Slips maps to High.
    pub fn idmef_severity(self) -> &'static str {
        match self {
            ThreatLevel::Info => "Info",
            ThreatLevel::Low => "Low",
            ThreatLevel::Medium => "Medium",
            ThreatLevel::High | ThreatLevel::Critical => "High",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ThreatLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which end of the traffic an indicator was: the source (the profile acting) or the
/// destination (Slips' `Direction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Src,
    Dst,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Src => "SRC",
            Direction::Dst => "DST",
        }
    }
}

/// An indicator's value, typed by its kind (Slips' `IoCType` plus MAC).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IocValue {
    Ip(IpAddr),
    Domain(String),
    Url(String),
    Md5(String),
    Mac(MacAddr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IocKind {
    Ip,
    Domain,
    Url,
    Md5,
    Mac,
}

impl IocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Ip => "IP",
            IocKind::Domain => "DOMAIN",
            IocKind::Url => "URL",
            IocKind::Md5 => "MD5",
            IocKind::Mac => "MAC",
        }
    }

    /// The IDMEFv2 key naming a Source or Target of this kind.
    pub fn idmef_key(self) -> &'static str {
        match self {
            IocKind::Ip => "IP",
            IocKind::Domain => "Hostname",
            IocKind::Url => "URL",
            IocKind::Md5 => "Hash",
            IocKind::Mac => "MAC",
        }
    }
}

impl IocValue {
    pub fn kind(&self) -> IocKind {
        match self {
            IocValue::Ip(_) => IocKind::Ip,
            IocValue::Domain(_) => IocKind::Domain,
            IocValue::Url(_) => IocKind::Url,
            IocValue::Md5(_) => IocKind::Md5,
            IocValue::Mac(_) => IocKind::Mac,
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            IocValue::Ip(ip) => Some(*ip),
            _ => None,
        }
    }
}

impl IocValue {
    /// Appends the value as `Display` writes it, an address without `core::fmt` (a
    /// SQLite row per evidence wants two of them).
    pub fn push_text(&self, out: &mut String) {
        match self {
            IocValue::Ip(ip) => dissectors::net::push_ip_str(out, *ip),
            IocValue::Domain(s) | IocValue::Url(s) | IocValue::Md5(s) => out.push_str(s),
            IocValue::Mac(m) => {
                use fmt::Write;
                let _ = write!(out, "{m}");
            }
        }
    }
}

impl fmt::Display for IocValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IocValue::Ip(ip) => ip.fmt(f),
            IocValue::Domain(s) | IocValue::Url(s) | IocValue::Md5(s) => f.write_str(s),
            IocValue::Mac(m) => m.fmt(f),
        }
    }
}

/// The attacker or the victim of an evidence.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ioc {
    pub value: IocValue,
    pub direction: Direction,
}

impl Ioc {
    pub fn src_ip(ip: IpAddr) -> Self {
        Ioc {
            value: IocValue::Ip(ip),
            direction: Direction::Src,
        }
    }

    pub fn dst_ip(ip: IpAddr) -> Self {
        Ioc {
            value: IocValue::Ip(ip),
            direction: Direction::Dst,
        }
    }
}

/// How the evidence was detected (IDMEFv2 `Analyzer.Method`; Slips' `Method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Heuristic,
    Signature,
    Statistical,
    Threshold,
    Correlation,
    Ai,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Heuristic => "Heuristic",
            Method::Signature => "Signature",
            Method::Statistical => "Statistical",
            Method::Threshold => "Threshold",
            Method::Correlation => "Correlation",
            Method::Ai => "AI",
        }
    }
}

/// A 128-bit id printed as a version-4 UUID, as Slips' evidence and alert ids are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EventId(pub u128);

impl EventId {
    /// The uuid's 36 characters.
    fn text(self) -> [u8; 36] {
        // Version 4 and RFC 4122 variant bits, so the text is a valid uuid4.
        let v = (self.0 & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
        let mut text = [b'-'; 36];
        let mut at = 0;
        for (n, byte) in v.to_be_bytes().into_iter().enumerate() {
            if matches!(n, 4 | 6 | 8 | 10) {
                at += 1;
            }
            text[at..at + 2].copy_from_slice(&dissectors::hex::hex_digits(byte));
            at += 2;
        }
        text
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.text()).unwrap_or_default())
    }
}

/// Makes event ids: a per-run seed mixed with a counter (splitmix), unique within a run
/// and, through the seed, across runs.
#[derive(Clone, Debug)]
pub struct IdGenerator {
    seed: u64,
    counter: u64,
}

impl IdGenerator {
    pub fn new(seed: u64) -> Self {
        IdGenerator { seed, counter: 0 }
    }

    /// A seed from the clock and the process id, for runs whose ids must differ.
    pub fn seed_from_clock() -> u64 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ (u64::from(std::process::id()) << 32)
    }

    pub fn next_id(&mut self) -> EventId {
        self.counter += 1;
        let a = splitmix(self.seed ^ self.counter);
        let b = splitmix(a ^ self.counter.rotate_left(32));
        EventId((u128::from(a) << 64) | u128::from(b))
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One detection. `profile` is the IP whose time window the evidence counts in (the
/// attacker's, when the attacker is an IP).
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub id: EventId,
    pub evidence_type: EvidenceType,
    pub attacker: Ioc,
    pub victim: Option<Ioc>,
    pub threat_level: ThreatLevel,
    /// How sure the detection is, 0..=1.
    pub confidence: f64,
    pub description: String,
    pub profile: IpAddr,
    pub timewindow: i64,
    /// The flows behind the evidence.
    pub uids: Vec<Uid>,
    /// Time of the flow that caused it.
    pub timestamp: Timestamp,
    pub proto: Option<Transport>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub interface: Option<String>,
    pub method: Method,
    /// Related evidence (Slips' `rel_id`), e.g. both sides of a data upload.
    pub rel_id: Vec<EventId>,
}

impl Evidence {
    /// An evidence with the common fields; detections set the optional ones after.
    /// The id is assigned by the evidence handler.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        evidence_type: EvidenceType,
        attacker: Ioc,
        threat_level: ThreatLevel,
        confidence: f64,
        description: String,
        profile: IpAddr,
        timewindow: i64,
        timestamp: Timestamp,
    ) -> Self {
        Evidence {
            id: EventId(0),
            evidence_type,
            attacker,
            victim: None,
            threat_level,
            confidence: confidence.clamp(0.0, 1.0),
            description,
            profile,
            timewindow,
            uids: Vec::new(),
            timestamp,
            proto: None,
            src_port: None,
            dst_port: None,
            interface: None,
            method: Method::default(),
            rel_id: Vec::new(),
        }
    }

    /// Names the connection behind the evidence: its uid (its flow is labelled with the
    /// evidence) and its ports.
    pub fn from_connection(&mut self, uid: Uid, id: &dissectors::ConnId) {
        self.uids.push(uid);
        self.src_port = Some(id.orig_p);
        self.dst_port = Some(id.resp_p);
    }

    /// `threat_level * confidence`: what this evidence adds to its window's accumulated
    /// threat level.
    pub fn weighted_threat(&self) -> f64 {
        self.threat_level.value() * self.confidence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioc_text_is_what_display_writes() {
        for value in [
            IocValue::Ip("10.1.2.3".parse().unwrap()),
            IocValue::Ip("2001:db8::7".parse().unwrap()),
            IocValue::Domain("example.com".into()),
            IocValue::Url("http://example.com/a".into()),
            IocValue::Md5("d41d8cd98f00b204e9800998ecf8427e".into()),
            IocValue::Mac(MacAddr([0, 0x1b, 0x2c, 0x3d, 0x4e, 0xff])),
        ] {
            let mut text = String::from("x");
            value.push_text(&mut text);
            assert_eq!(text, format!("x{value}"));
        }
    }

    #[test]
    fn enum_names_round_trip() {
        assert_eq!(EvidenceType::ALL.len(), 65);
        for t in EvidenceType::ALL {
            assert_eq!(EvidenceType::from_name(t.as_str()), Some(*t));
        }
        assert_eq!(EvidenceType::LongConnection.as_str(), "LONG_CONNECTION");
        assert_eq!(EvidenceType::from_name("NOPE"), None);
    }

    #[test]
    fn threat_values_are_slips() {
        let v: Vec<f64> = ThreatLevel::ALL.iter().map(|t| t.value()).collect();
        assert_eq!(v, [0.0, 0.2, 0.5, 0.8, 1.0]);
        assert_eq!(ThreatLevel::Critical.idmef_severity(), "High");
    }

    #[test]
    fn id_text_is_the_uuid_layout_of_its_hex() {
        for raw in [0, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            let v = (raw & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
            let hex = format!("{v:032x}");
            let expected = format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            );
            assert_eq!(EventId(raw).to_string(), expected);
        }
    }

    #[test]
    fn ids_are_uuid4_and_unique() {
        let mut g = IdGenerator::new(7);
        let a = g.next_id();
        let b = g.next_id();
        assert_ne!(a, b);
        let s = a.to_string();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(s.matches('-').count(), 4);
        // The same seed gives the same ids (reproducible runs).
        let mut h = IdGenerator::new(7);
        assert_eq!(h.next_id(), a);
    }
}
