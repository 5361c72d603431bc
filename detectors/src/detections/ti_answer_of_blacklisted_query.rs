//! `THREAT_INTELLIGENCE_ANSWER_OF_BLACKLISTED_QUERY`: the addresses a DNS reply gives
//! for a domain a threat-intelligence feed lists (or a subdomain of one) are marked as
//! serving that domain.
//!
//! Slips names this in `modules/threat_intelligence/threat_intelligence.py`
//! (`is_dns_answer_of_a_malicious_query`); that function is not in the Slips sources we
//! could read, so this follows the evidence's name and its reference row: one evidence
//! per address answer of a listed query, the address as attacker (direction DST, in its
//! own profile, so it never counts towards the querying host's alert), the querying
//! host as victim, the feed's threat level (high when none), confidence 1 for an exact
//! listing and 0.7 for a listed parent domain.

use std::sync::Arc;

use dissectors::dns::RData;
use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc};
use crate::threat_intel::ThreatIntel;

pub const NAME: &str = "ti_answer_of_blacklisted_query";

pub struct TiAnswerOfBlacklistedQuery {
    ti: Arc<ThreatIntel>,
}

impl TiAnswerOfBlacklistedQuery {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        TiAnswerOfBlacklistedQuery { ti }
    }
}

impl Detector for TiAnswerOfBlacklistedQuery {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Dns(d) = record else { return };
        let (Some(query), Some(answers)) = (d.query.as_deref(), &d.answers) else {
            return;
        };
        if !self.ti.has_domains() {
            return;
        }
        let Some(m) = self.ti.domain(query) else {
            return;
        };
        let confidence = m.confidence();
        for a in answers {
            let RData::Addr(ip) = a.data else { continue };
            let description = format!(
                "{ip} is a DNS answer of the blacklisted query {query}. Description: {}, Found in feed: {}, Confidence: {confidence}.",
                m.info.description, m.info.source
            );
            let mut e = Evidence::new(
                EvidenceType::ThreatIntelligenceAnswerOfBlacklistedQuery,
                Ioc::dst_ip(ip),
                m.info.threat_level,
                confidence,
                description,
                ip,
                ctx.timewindow.number,
                d.ts,
            );
            e.victim = Some(Ioc::src_ip(d.id.orig_h));
            e.uids.push(d.uid);
            out.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Direction, ThreatLevel};
    use crate::testutil::{dns, Harness};

    fn detector() -> TiAnswerOfBlacklistedQuery {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_iocs("saveingone.com, high, Rana Malware IRAN\n", &"f.csv".into());
        TiAnswerOfBlacklistedQuery::with_feeds(Arc::new(ti.finished()))
    }

    #[test]
    fn every_address_answer_of_a_listed_query() {
        let mut h = Harness::new(Config::default());
        let answers = vec![
            RData::Addr("1.2.3.4".parse().unwrap()),
            RData::Name("alias.example".into()),
            RData::Addr("2001:db8::1".parse().unwrap()),
        ];
        let out = h.feed(
            &mut detector(),
            dns("10.0.0.2", "www.saveingone.com", answers, 1.0),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].attacker, Ioc::dst_ip("1.2.3.4".parse().unwrap()));
        assert_eq!(out[0].attacker.direction, Direction::Dst);
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(out[0].confidence, 0.7);
        assert_eq!(
            out[0].description,
            "1.2.3.4 is a DNS answer of the blacklisted query www.saveingone.com. Description: Rana Malware IRAN, Found in feed: f.csv, Confidence: 0.7."
        );
    }

    #[test]
    fn silent_for_unlisted_queries_and_empty_replies() {
        let mut h = Harness::new(Config::default());
        let a = vec![RData::Addr("1.2.3.4".parse().unwrap())];
        assert!(h
            .feed(&mut detector(), dns("10.0.0.2", "example.com", a, 1.0))
            .is_empty());
        assert!(h
            .feed(
                &mut detector(),
                dns("10.0.0.2", "saveingone.com", vec![], 1.0)
            )
            .is_empty());
    }
}
