//! `YOUNG_DOMAIN`: a DNS query for a domain registered less than 60 days before, as
//! Slips does it (`modules/flow_alerts/dns.py:detect_young_domains`,
//! `set_evidence.py:young_domain`): names under `.local` and `.arpa` are skipped; one
//! evidence per address in the answer (the address as attacker in its own profile, low)
//! and one for the querying profile (info), all confidence 1.
//!
//! Slips takes the age from an online whois look-up, counted to the wall clock;
//! slipstream reads the creation date from a local file through
//! [`DomainInfoSource`](crate::online::DomainInfoSource) (`enrichment.whois_database`)
//! and counts the age to the time of the query, so a capture gives the same answer
//! whenever it is analysed.

use std::sync::Arc;

use dissectors::dns::RData;
use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::online::DomainInfoSource;

pub const NAME: &str = "young_domain";

/// Domains younger than this many days are young (Slips' `age_threshold`).
pub const AGE_THRESHOLD_DAYS: i64 = 60;

pub struct YoungDomain {
    domains: Arc<dyn DomainInfoSource>,
}

impl YoungDomain {
    pub fn new(config: &Config) -> Self {
        Self::with_source(crate::online::shared_domain_info(config))
    }

    pub fn with_source(domains: Arc<dyn DomainInfoSource>) -> Self {
        YoungDomain { domains }
    }
}

impl Detector for YoungDomain {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Dns(d) = record else { return };
        let Some(query) = d.query.as_deref().filter(|q| !q.is_empty()) else {
            return;
        };
        if query.ends_with(".local") || query.ends_with(".arpa") {
            return;
        }
        let Some(age) = self
            .domains
            .domain_info(query)
            .and_then(|i| i.age_days(d.ts))
        else {
            return;
        };
        if age >= AGE_THRESHOLD_DAYS {
            return;
        }
        let saddr = d.id.orig_h;
        let tw = ctx.timewindow.number;
        let description =
            format!("connection to a young domain: {query} registered {age} days ago.");
        let answers = d.answers.iter().flatten().filter_map(|a| match a.data {
            RData::Addr(ip) => Some(ip),
            _ => None,
        });
        for ip in answers {
            let mut e = Evidence::new(
                EvidenceType::YoungDomain,
                Ioc::dst_ip(ip),
                ThreatLevel::Low,
                1.0,
                description.clone(),
                ip,
                tw,
                d.ts,
            );
            e.uids.push(d.uid);
            out.push(e);
        }
        let mut e = Evidence::new(
            EvidenceType::YoungDomain,
            Ioc::src_ip(saddr),
            ThreatLevel::Info,
            1.0,
            description,
            saddr,
            tw,
            d.ts,
        );
        e.uids.push(d.uid);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::LocalDomainInfo;
    use crate::testutil::{dns, Harness};
    use crate::timefmt::parse_date;
    use std::net::IpAddr;

    fn detector() -> YoungDomain {
        YoungDomain::with_source(Arc::new(LocalDomainInfo::parse(
            "fresh-login.net,2024-01-20,\nold.example,1995-08-14,IANA\n",
            "test",
        )))
    }

    fn query(name: &str, day: &str) -> dissectors::dns::DnsRecord {
        let ts = parse_date(day).unwrap().as_secs_f64() + 3600.0;
        dns(
            "10.0.0.2",
            name,
            vec![RData::Addr("5.6.7.8".parse().unwrap())],
            ts,
        )
    }

    #[test]
    fn a_domain_younger_than_60_days_fires_for_the_answer_and_the_client() {
        let mut h = Harness::new(Config::default());
        let mut d = detector();
        let out = h.feed(&mut d, query("fresh-login.net", "2024-03-01"));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].attacker, Ioc::dst_ip("5.6.7.8".parse().unwrap()));
        assert_eq!(out[0].profile, "5.6.7.8".parse::<IpAddr>().unwrap());
        assert_eq!(out[0].threat_level, ThreatLevel::Low);
        assert_eq!(out[1].attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(out[1].threat_level, ThreatLevel::Info);
        assert_eq!(out[1].confidence, 1.0);
        assert_eq!(
            out[1].description,
            "connection to a young domain: fresh-login.net registered 41 days ago."
        );
    }

    #[test]
    fn old_unknown_and_local_domains_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = detector();
        // 60 days old: no longer young
        assert!(h
            .feed(&mut d, query("fresh-login.net", "2024-03-20"))
            .is_empty());
        assert!(h
            .feed(&mut d, query("old.example", "2024-03-01"))
            .is_empty());
        assert!(h
            .feed(&mut d, query("unknown.example", "2024-03-01"))
            .is_empty());
        assert!(h
            .feed(&mut d, query("printer.local", "2024-03-01"))
            .is_empty());
        // no whois data configured
        let mut d = YoungDomain::new(&Config::default());
        assert!(h
            .feed(&mut d, query("fresh-login.net", "2024-03-01"))
            .is_empty());
    }
}
