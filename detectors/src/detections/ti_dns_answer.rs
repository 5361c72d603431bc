//! `THREAT_INTELLIGENCE_BLACKLISTED_DNS_ANSWER`: a DNS reply answers with an address or
//! a CNAME a threat-intelligence feed lists.
//!
//! As Slips does it (`profile_handler.py:add_out_dns` sends every non-TXT answer;
//! `modules/threat_intelligence/threat_intelligence.py:is_malicious_ip` with
//! `is_dns_response`, `set_evidence_malicious_ip_in_dns_response`, `is_malicious_cname`,
//! `set_evidence_malicious_cname_in_dns_response`):
//!
//! * a listed address: two evidence with the feed's threat level and confidence 1, the
//!   address as attacker in its own profile and the querying profile as attacker;
//! * a listed CNAME (or a listed parent of it): one evidence for the querying profile,
//!   confidence 1 (0.7 for a parent), threat level the feed's (high when none).
//!
//! Difference: Slips reports an answer inside a listed range as a connection to a
//! blacklisted IP; we report it as this DNS-answer evidence, which is what it is.

use std::net::IpAddr;
use std::sync::Arc;

use dissectors::dns::{DnsRecord, RData};
use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Direction, Evidence, EvidenceType, Ioc, IocValue};
use crate::profile::is_public;
use crate::threat_intel::ThreatIntel;

pub const NAME: &str = "ti_dns_answer";

pub struct TiDnsAnswer {
    ti: Arc<ThreatIntel>,
}

impl TiDnsAnswer {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        TiDnsAnswer { ti }
    }

    fn listed_ip(&self, ctx: &Context<'_>, d: &DnsRecord, ip: IpAddr, out: &mut EvidenceSink) {
        if !is_public(ip) {
            return;
        }
        let Some(info) = self.ti.ip(ip).or_else(|| self.ti.ip_range(ip)) else {
            return;
        };
        let saddr = d.id.orig_h;
        let query = d.query.as_deref().unwrap_or("");
        let description = format!(
            "DNS answer with a blacklisted IP: {ip} for query: {query} Description: {} Source: {}.",
            info.description, info.source
        );
        let kind = EvidenceType::ThreatIntelligenceBlacklistedDnsAnswer;
        let tw = ctx.timewindow.number;
        let mut e = Evidence::new(
            kind,
            Ioc::dst_ip(ip),
            info.threat_level,
            1.0,
            description.clone(),
            ip,
            tw,
            d.ts,
        );
        e.victim = Some(Ioc::src_ip(saddr));
        e.uids.push(d.uid);
        out.push(e);
        let mut e = Evidence::new(
            kind,
            Ioc::src_ip(saddr),
            info.threat_level,
            1.0,
            description,
            saddr,
            tw,
            d.ts,
        );
        e.victim = Some(Ioc::dst_ip(ip));
        e.uids.push(d.uid);
        out.push(e);
    }

    fn listed_cname(&self, ctx: &Context<'_>, d: &DnsRecord, cname: &str, out: &mut EvidenceSink) {
        let Some(m) = self.ti.domain(cname) else {
            return;
        };
        let query = d.query.as_deref().unwrap_or("");
        let confidence = m.confidence();
        let mut description = format!(
            "blacklisted CNAME: {cname} when resolving {query} Description: {}, Found in feed: {}, Confidence: {confidence} ",
            m.info.description, m.info.source
        );
        if !m.info.tags.is_empty() {
            description.push_str(&format!("with tags: {}. ", m.info.tags));
        }
        let saddr = d.id.orig_h;
        let mut e = Evidence::new(
            EvidenceType::ThreatIntelligenceBlacklistedDnsAnswer,
            Ioc::src_ip(saddr),
            m.info.threat_level,
            confidence,
            description,
            saddr,
            ctx.timewindow.number,
            d.ts,
        );
        e.victim = Some(Ioc {
            value: IocValue::Domain(query.to_string()),
            direction: Direction::Dst,
        });
        e.uids.push(d.uid);
        out.push(e);
    }
}

impl Detector for TiDnsAnswer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Dns(d) = record else { return };
        let Some(answers) = &d.answers else { return };
        for a in answers {
            match &a.data {
                RData::Addr(ip) if self.ti.has_ips() => self.listed_ip(ctx, d, *ip, out),
                RData::Name(name) if a.rtype == 5 && self.ti.has_domains() => {
                    self.listed_cname(ctx, d, name, out)
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::ThreatLevel;
    use crate::testutil::{dns, Harness};

    fn detector() -> TiDnsAnswer {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_iocs(
            "54.192.46.116, high, FusionCore\nfacedomaintv.com, high, Rana Malware IRAN\n",
            &"own_malicious_iocs.csv".into(),
        );
        TiDnsAnswer::with_feeds(Arc::new(ti.finished()))
    }

    fn addr(s: &str) -> RData {
        RData::Addr(s.parse().unwrap())
    }

    #[test]
    fn listed_address_in_an_answer() {
        let mut h = Harness::new(Config::default());
        let r = dns(
            "10.0.0.2",
            "cdn.example.com",
            vec![addr("93.184.216.34"), addr("54.192.46.116")],
            5.0,
        );
        let out = h.feed(&mut detector(), r);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].attacker,
            Ioc::dst_ip("54.192.46.116".parse().unwrap())
        );
        assert_eq!(out[0].profile, "54.192.46.116".parse::<IpAddr>().unwrap());
        assert_eq!(out[1].attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(out[1].threat_level, ThreatLevel::High);
        assert_eq!(
            out[1].description,
            "DNS answer with a blacklisted IP: 54.192.46.116 for query: cdn.example.com Description: FusionCore Source: own_malicious_iocs.csv."
        );
    }

    #[test]
    fn listed_cname_in_an_answer() {
        let mut h = Harness::new(Config::default());
        let r = dns(
            "10.0.0.2",
            "innocent.example",
            vec![RData::Name("edge.facedomaintv.com".into())],
            5.0,
        );
        let out = h.feed(&mut detector(), r);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, 0.7);
        assert!(out[0].description.starts_with(
            "blacklisted CNAME: edge.facedomaintv.com when resolving innocent.example "
        ));
    }

    #[test]
    fn silent_for_clean_answers() {
        let mut h = Harness::new(Config::default());
        let r = dns(
            "10.0.0.2",
            "example.com",
            vec![addr("93.184.216.34"), RData::Name("example.net".into())],
            5.0,
        );
        assert!(h.feed(&mut detector(), r).is_empty());
        let r = dns("10.0.0.2", "facedomaintv.com", vec![], 5.0);
        assert!(h.feed(&mut detector(), r).is_empty());
    }
}
