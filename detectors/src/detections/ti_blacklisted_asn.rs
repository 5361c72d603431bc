//! `THREAT_INTELLIGENCE_BLACKLISTED_ASN`: a connection to, or a DNS answer with, an
//! address of an autonomous system a feed lists (`AS39770,high,...` lines of
//! `own_malicious_iocs.csv`).
//!
//! As Slips does it (`modules/threat_intelligence/threat_intelligence.py:
//! ip_has_blacklisted_asn`, `set_evidence_malicious_asn`): confidence 0.8, the feed's
//! threat level (medium when none); the profile as attacker with the address as victim,
//! and the address as attacker in its own profile.
//!
//! Needs the address's ASN: known when an ASN database is configured
//! (`enrichment.asn_database`) and the address has a host record (it resolved through
//! DNS, or is a profile). Slips' descriptions swap the DNS and connection wording; ours
//! say which it was.

use std::net::IpAddr;
use std::sync::Arc;

use dissectors::dns::RData;
use dissectors::{ConnState, Record, Timestamp, Uid};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc};
use crate::profile::is_public;
use crate::threat_intel::ThreatIntel;

pub const NAME: &str = "ti_blacklisted_asn";

const CONFIDENCE: f64 = 0.8;

pub struct TiBlacklistedAsn {
    ti: Arc<ThreatIntel>,
}

impl TiBlacklistedAsn {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        TiBlacklistedAsn { ti }
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        ctx: &Context<'_>,
        saddr: IpAddr,
        ip: IpAddr,
        in_dns_answer: bool,
        uid: Uid,
        ts: Timestamp,
        out: &mut EvidenceSink,
    ) {
        if !is_public(ip) {
            return;
        }
        let Some(asn) = ctx.hosts.get(ip).and_then(|h| h.geo.asn) else {
            return;
        };
        let Some(info) = self.ti.asn(asn) else { return };
        let what = if in_dns_answer {
            "DNS response with IP"
        } else {
            "Connection to IP"
        };
        let description = format!(
            "{what}: {ip} with blacklisted ASN: AS{asn} Description: {}, Found in feed: {}, Confidence: {CONFIDENCE}. Tags: {} ",
            info.description, info.source, info.tags
        );
        let tw = ctx.timewindow.number;
        let mut e = Evidence::new(
            EvidenceType::ThreatIntelligenceBlacklistedAsn,
            Ioc::src_ip(saddr),
            info.threat_level,
            CONFIDENCE,
            description.clone(),
            saddr,
            tw,
            ts,
        );
        e.victim = Some(Ioc::dst_ip(ip));
        e.uids.push(uid);
        out.push(e);
        let mut e = Evidence::new(
            EvidenceType::ThreatIntelligenceBlacklistedAsn,
            Ioc::dst_ip(ip),
            info.threat_level,
            CONFIDENCE,
            description,
            ip,
            tw,
            ts,
        );
        e.victim = Some(Ioc::src_ip(saddr));
        e.uids.push(uid);
        out.push(e);
    }
}

impl Detector for TiBlacklistedAsn {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        if !self.ti.has_asns() {
            return;
        }
        match record {
            Record::Conn(c) if c.conn_state != ConnState::OTH => {
                self.check(ctx, c.id.orig_h, c.id.resp_h, false, c.uid, c.ts, out);
            }
            Record::Dns(d) => {
                for a in d.answers.iter().flatten() {
                    if let RData::Addr(ip) = a.data {
                        self.check(ctx, d.id.orig_h, ip, true, d.uid, d.ts, out);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::ThreatLevel;
    use crate::testutil::{conn, Harness};

    fn detector() -> TiBlacklistedAsn {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_iocs(
            "AS39770, high, ELITETEAM bulletproof hosting\n",
            &"f.csv".into(),
        );
        TiBlacklistedAsn::with_feeds(Arc::new(ti.finished()))
    }

    #[test]
    fn connection_to_an_address_of_a_listed_as() {
        let mut h = Harness::new(Config::default());
        let dst: IpAddr = "5.188.10.1".parse().unwrap();
        h.hosts.host_mut(dst, Timestamp(0)).geo.asn = Some(39770);
        let out = h.feed(&mut detector(), conn("10.0.0.2", 1, "5.188.10.1", 80, 1.0));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(out[0].confidence, 0.8);
        assert!(out[0].description.starts_with(
            "Connection to IP: 5.188.10.1 with blacklisted ASN: AS39770 Description: ELITETEAM"
        ));
        assert_eq!(out[1].profile, dst);
    }

    #[test]
    fn silent_for_other_or_unknown_ases() {
        let mut h = Harness::new(Config::default());
        let out = h.feed(&mut detector(), conn("10.0.0.2", 1, "5.188.10.1", 80, 1.0));
        assert!(out.is_empty());
        let dst: IpAddr = "5.188.10.2".parse().unwrap();
        h.hosts.host_mut(dst, Timestamp(0)).geo.asn = Some(15169);
        assert!(h
            .feed(&mut detector(), conn("10.0.0.2", 1, "5.188.10.2", 80, 1.0))
            .is_empty());
    }
}
