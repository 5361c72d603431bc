//! `THREAT_INTELLIGENCE_BLACKLISTED_DOMAIN`: a DNS query, HTTP `Host` or TLS SNI names a
//! domain a threat-intelligence feed lists, or a subdomain of one.
//!
//! As Slips does it (`modules/threat_intelligence/threat_intelligence.py:is_malicious_domain`,
//! `set_evidence_malicious_domain`; the domains come from `profile_handler.py:add_out_dns`,
//! `add_out_http` (hosts longer than 2 characters) and the SSL flows):
//!
//! * names under `.arpa` and `.local` are not looked up;
//! * an exact listing has confidence 1, a listed parent domain 0.7;
//! * the threat level is the feed's (high when it gives none);
//! * the profile gets an evidence with itself as attacker and the domain as victim; when
//!   the domain's address is known (the DNS answer, or the server of the HTTP/TLS flow,
//!   Slips' `get_domain_resolution`), that address's profile gets one with the domain as
//!   attacker.
//!
//! Hosts that are IP addresses are left to `ti_blacklisted_ip`, which sees their flow.

use std::net::IpAddr;
use std::sync::Arc;

use dissectors::dns::RData;
use dissectors::{Record, Timestamp, Uid};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Direction, Evidence, EvidenceType, Ioc, IocValue};
use crate::threat_intel::ThreatIntel;

pub const NAME: &str = "ti_blacklisted_domain";

pub struct TiBlacklistedDomain {
    ti: Arc<ThreatIntel>,
}

/// A host header without its port (`example.com:8080`).
fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') => {
            name
        }
        _ => host,
    }
}

impl TiBlacklistedDomain {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        TiBlacklistedDomain { ti }
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        ctx: &Context<'_>,
        domain: &str,
        saddr: IpAddr,
        resolution: Option<IpAddr>,
        uid: Uid,
        ts: Timestamp,
        out: &mut EvidenceSink,
    ) {
        if domain.parse::<IpAddr>().is_ok() {
            return;
        }
        let Some(m) = self.ti.domain(domain) else {
            return;
        };
        let confidence = m.confidence();
        let mut description = format!(
            "connection to a blacklisted domain {domain}. Description: {}, Found in feed: {}, Confidence: {confidence}. ",
            m.info.description, m.info.source
        );
        if !m.info.tags.is_empty() {
            description.push_str(&format!("with tags: {}. ", m.info.tags));
        }
        let domain_ioc = |direction| Ioc {
            value: IocValue::Domain(domain.to_string()),
            direction,
        };
        let mut e = Evidence::new(
            EvidenceType::ThreatIntelligenceBlacklistedDomain,
            Ioc::src_ip(saddr),
            m.info.threat_level,
            confidence,
            description.clone(),
            saddr,
            ctx.timewindow.number,
            ts,
        );
        e.victim = Some(domain_ioc(Direction::Dst));
        e.uids.push(uid);
        out.push(e);
        if let Some(ip) = resolution {
            let mut e = Evidence::new(
                EvidenceType::ThreatIntelligenceBlacklistedDomain,
                domain_ioc(Direction::Dst),
                m.info.threat_level,
                confidence,
                description,
                ip,
                ctx.timewindow.number,
                ts,
            );
            e.victim = Some(Ioc::src_ip(saddr));
            e.uids.push(uid);
            out.push(e);
        }
    }
}

impl Detector for TiBlacklistedDomain {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        if !self.ti.has_domains() {
            return;
        }
        match record {
            Record::Dns(d) => {
                let Some(query) = d.query.as_deref() else {
                    return;
                };
                let resolution = d.answers.iter().flatten().find_map(|a| match a.data {
                    RData::Addr(ip) => Some(ip),
                    _ => None,
                });
                self.check(ctx, query, d.id.orig_h, resolution, d.uid, d.ts, out);
            }
            Record::Http(h) => {
                let Some(host) = h.host.as_deref().filter(|h| h.len() > 2) else {
                    return;
                };
                let (s, d) = (h.id.orig_h, h.id.resp_h);
                self.check(ctx, host_name(host), s, Some(d), h.uid, h.ts, out);
            }
            Record::Ssl(s) => {
                let Some(sni) = s.server_name.as_deref() else {
                    return;
                };
                let (src, dst) = (s.id.orig_h, s.id.resp_h);
                self.check(ctx, sni, src, Some(dst), s.uid, s.ts, out);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::ThreatLevel;
    use crate::testutil::{dns, http, ssl, Harness};

    fn detector() -> TiBlacklistedDomain {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_iocs(
            "wheridomaintv.com, high, Rana Malware IRAN\nevil.example,critical,C2\n",
            &"own_malicious_iocs.csv".into(),
        );
        TiBlacklistedDomain::with_feeds(Arc::new(ti.finished()))
    }

    #[test]
    fn dns_query_for_a_listed_domain() {
        let mut h = Harness::new(Config::default());
        let answer = RData::Addr("93.184.216.34".parse().unwrap());
        let out = h.feed(
            &mut detector(),
            dns("10.0.0.2", "wheridomaintv.com", vec![answer], 10.0),
        );
        assert_eq!(out.len(), 2);
        let e = &out[0];
        assert_eq!(
            e.evidence_type,
            EvidenceType::ThreatIntelligenceBlacklistedDomain
        );
        assert_eq!(e.attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(e.threat_level, ThreatLevel::High);
        assert_eq!(e.confidence, 1.0);
        assert_eq!(
            e.description,
            "connection to a blacklisted domain wheridomaintv.com. Description: Rana Malware IRAN, Found in feed: own_malicious_iocs.csv, Confidence: 1. with tags: local TI file. "
        );
        assert_eq!(out[1].profile, "93.184.216.34".parse::<IpAddr>().unwrap());
        assert_eq!(out[1].attacker.direction, Direction::Dst);
    }

    #[test]
    fn subdomains_in_http_and_tls() {
        let mut h = Harness::new(Config::default());
        let out = h.feed(
            &mut detector(),
            http("10.0.0.2", "1.2.3.4", "cdn.evil.example:8080", "/", 10.0),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].confidence, 0.7);
        assert!(out[0].description.contains("Confidence: 0.7. "));
        assert_eq!(out[0].threat_level, ThreatLevel::Critical);
        let out = h.feed(
            &mut detector(),
            ssl("10.0.0.2", "1.2.3.4", Some("WWW.EVIL.EXAMPLE"), 11.0),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].profile, "1.2.3.4".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn silent_for_other_names() {
        let mut h = Harness::new(Config::default());
        let mut d = detector();
        assert!(h
            .feed(&mut d, dns("10.0.0.2", "example.com", vec![], 10.0))
            .is_empty());
        assert!(h
            .feed(&mut d, dns("10.0.0.2", "evil.example.local", vec![], 10.0))
            .is_empty());
        assert!(h
            .feed(
                &mut d,
                http("10.0.0.2", "1.2.3.4", "notevil.example", "/", 1.0)
            )
            .is_empty());
        assert!(h
            .feed(&mut d, ssl("10.0.0.2", "1.2.3.4", None, 1.0))
            .is_empty());
        assert_eq!(host_name("[::1]:80"), "[::1]:80");
        assert_eq!(host_name("a.b:80"), "a.b");
    }
}
