//! `THREAT_INTELLIGENCE_FROM_BLACKLISTED_IP` and `THREAT_INTELLIGENCE_TO_BLACKLISTED_IP`:
//! a connection from or to an address a threat-intelligence feed lists, exactly or
//! through a listed range.
//!
//! As Slips does it (`modules/threat_intelligence/threat_intelligence.py:main`,
//! `is_malicious_ip`, `ip_belongs_to_blacklisted_range`, `set_evidence_conn_from_malicious_ip`,
//! `set_evidence_conn_to_malicious_ip`; the look-ups are asked for by
//! `profile_handler.py:add_ips` for every flow whose state is not `OTH`):
//!
//! * both ends of the flow are looked up, except private, multicast and other non-public
//!   addresses, and except the destination of an ICMP flow;
//! * a listed source gives one evidence (attacker: the source, threat level and
//!   description from the feed, confidence 1);
//! * a listed destination gives two: the destination as attacker in its own profile
//!   (threat level from the feed) and the source as attacker (threat level low), both
//!   with confidence 1.
//!
//! Differences: Slips files the source case under the `TO` type; we use the `FROM` type
//! its name describes. Slips checks the exact address and the ranges independently (an
//! address listed both ways is reported twice); we report the exact listing, else the
//! range. One evidence per flow, as Slips.

use std::net::IpAddr;
use std::sync::Arc;

use dissectors::{ConnRecord, ConnState, Record, Transport};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::profile::is_public;
use crate::threat_intel::{IocInfo, ThreatIntel};

pub const NAME: &str = "ti_blacklisted_ip";

pub struct TiBlacklistedIp {
    ti: Arc<ThreatIntel>,
}

impl TiBlacklistedIp {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        TiBlacklistedIp { ti }
    }

    fn listing(&self, ip: IpAddr) -> Option<&IocInfo> {
        if !is_public(ip) {
            return None;
        }
        self.ti.ip(ip).or_else(|| self.ti.ip_range(ip))
    }
}

#[allow(clippy::too_many_arguments)]
fn evidence(
    kind: EvidenceType,
    c: &ConnRecord,
    attacker: Ioc,
    victim: Ioc,
    level: ThreatLevel,
    description: &str,
    profile: IpAddr,
    timewindow: i64,
) -> Evidence {
    let mut e = Evidence::new(
        kind,
        attacker,
        level,
        1.0,
        description.to_string(),
        profile,
        timewindow,
        c.ts,
    );
    e.victim = Some(victim);
    e.proto = Some(c.id.proto);
    e.from_connection(c.uid, &c.id);
    e
}

impl Detector for TiBlacklistedIp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        if !self.ti.has_ips() || c.conn_state == ConnState::OTH {
            return;
        }
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        let tw = ctx.timewindow.number;
        if let Some(info) = self.listing(saddr) {
            let description = format!(
                "connection from blacklisted IP: {saddr} to {daddr}. Description: {}. Source: {}.",
                info.description,
                info.source.trim()
            );
            out.push(evidence(
                EvidenceType::ThreatIntelligenceFromBlacklistedIp,
                c,
                Ioc::src_ip(saddr),
                Ioc::dst_ip(daddr),
                info.threat_level,
                &description,
                saddr,
                tw,
            ));
        }
        if c.id.proto == Transport::Icmp {
            return;
        }
        if let Some(info) = self.listing(daddr) {
            let description = format!(
                "connection to blacklisted IP: {daddr} from {saddr}. Description: {}. Source: {}.",
                info.description, info.source
            );
            let kind = EvidenceType::ThreatIntelligenceToBlacklistedIp;
            out.push(evidence(
                kind,
                c,
                Ioc::dst_ip(daddr),
                Ioc::src_ip(saddr),
                info.threat_level,
                &description,
                daddr,
                tw,
            ));
            out.push(evidence(
                kind,
                c,
                Ioc::src_ip(saddr),
                Ioc::dst_ip(daddr),
                ThreatLevel::Low,
                &description,
                saddr,
                tw,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Direction;
    use crate::testutil::{conn, Harness};

    fn feeds() -> Arc<ThreatIntel> {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_iocs(
            "23.253.126.58,high,Simda CC\n45.9.148.0/24,critical,bad hoster\n",
            &"own_malicious_iocs.csv".into(),
        );
        Arc::new(ti.finished())
    }

    fn run(record: ConnRecord) -> Vec<Evidence> {
        let mut h = Harness::new(Config::default());
        let mut d = TiBlacklistedIp::with_feeds(feeds());
        h.feed(&mut d, record)
    }

    #[test]
    fn connection_to_a_listed_ip_gives_both_sides() {
        let out = run(conn("10.0.0.2", 40000, "23.253.126.58", 443, 1000.0));
        assert_eq!(out.len(), 2);
        let (dst, src) = (&out[0], &out[1]);
        assert_eq!(
            dst.evidence_type,
            EvidenceType::ThreatIntelligenceToBlacklistedIp
        );
        assert_eq!(dst.attacker.direction, Direction::Dst);
        assert_eq!(dst.profile, "23.253.126.58".parse::<IpAddr>().unwrap());
        assert_eq!(dst.threat_level, ThreatLevel::High);
        assert_eq!(src.attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(src.threat_level, ThreatLevel::Low);
        assert_eq!(src.confidence, 1.0);
        assert_eq!(
            src.description,
            "connection to blacklisted IP: 23.253.126.58 from 10.0.0.2. Description: Simda CC. Source: own_malicious_iocs.csv."
        );
        assert_eq!(src.uids.len(), 1);
    }

    #[test]
    fn ranges_and_listed_sources() {
        let out = run(conn("10.0.0.2", 40000, "45.9.148.7", 80, 1000.0));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].threat_level, ThreatLevel::Critical);
        assert!(out[0].description.contains("bad hoster"));
        let out = run(conn("23.253.126.58", 40000, "10.0.0.2", 22, 1000.0));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].evidence_type,
            EvidenceType::ThreatIntelligenceFromBlacklistedIp
        );
        assert_eq!(out[0].attacker.direction, Direction::Src);
        assert_eq!(
            out[0].description,
            "connection from blacklisted IP: 23.253.126.58 to 10.0.0.2. Description: Simda CC. Source: own_malicious_iocs.csv."
        );
    }

    #[test]
    fn silent_for_unlisted_oth_and_icmp_destinations() {
        assert!(run(conn("10.0.0.2", 40000, "8.8.8.8", 53, 1000.0)).is_empty());
        assert!(run(conn("10.0.0.2", 40000, "45.9.149.1", 80, 1000.0)).is_empty());
        let mut c = conn("10.0.0.2", 40000, "23.253.126.58", 443, 1000.0);
        c.conn_state = ConnState::OTH;
        assert!(run(c).is_empty());
        let mut c = conn("10.0.0.2", 8, "23.253.126.58", 0, 1000.0);
        c.id.proto = Transport::Icmp;
        assert!(run(c).is_empty());
    }
}
