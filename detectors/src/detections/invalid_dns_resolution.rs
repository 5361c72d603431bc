//! `INVALID_DNS_RESOLUTION`: a public name resolved to a private address (DNS rebinding,
//! or a Pi-hole style blocker), as Slips does it
//! (`modules/flow_alerts/dns.py:check_invalid_dns_answers`,
//! `set_evidence.py:invalid_dns_answer`). `localhost`, `.local` (mDNS) and `.arpa`
//! queries are skipped. One evidence per private address in the answers; info threat,
//! confidence 0.8.

use dissectors::Record;

use crate::config::Config;
use crate::detections::dns_answers::answer_ips;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Direction, Evidence, EvidenceType, Ioc, IocValue, ThreatLevel};
use crate::slips::is_private;

pub const NAME: &str = "invalid_dns_resolution";

#[derive(Default)]
pub struct InvalidDnsResolution;

impl InvalidDnsResolution {
    pub fn new(_config: &Config) -> Self {
        InvalidDnsResolution
    }
}

impl Detector for InvalidDnsResolution {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Dns(d) = record else { return };
        let Some(query) = d.query.as_deref() else {
            return;
        };
        if query == "localhost" || query.ends_with(".local") || query.ends_with(".arpa") {
            return;
        }
        for ip in answer_ips(d).filter(|ip| is_private(*ip)) {
            let saddr = d.id.orig_h;
            let mut e = Evidence::new(
                EvidenceType::InvalidDnsResolution,
                Ioc::src_ip(saddr),
                ThreatLevel::Info,
                0.8,
                format!(
                    "Invalid DNS answer. The DNS query {query} was resolved to the private IP: {ip}"
                ),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{dns, Harness};
    use dissectors::dns::RData;

    fn a(ip: &str) -> RData {
        RData::Addr(ip.parse().unwrap())
    }

    #[test]
    fn private_answer_fires() {
        let mut h = Harness::new(Config::default());
        let mut d = InvalidDnsResolution::new(&h.config);
        let out = h.feed(
            &mut d,
            dns(
                "10.0.0.2",
                "bank.example",
                vec![a("93.1.1.1"), a("10.0.0.66")],
                1.0,
            ),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "Invalid DNS answer. The DNS query bank.example was resolved to the private IP: 10.0.0.66"
        );
        assert_eq!(
            (out[0].threat_level, out[0].confidence),
            (ThreatLevel::Info, 0.8)
        );
    }

    #[test]
    fn public_local_and_arpa_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = InvalidDnsResolution::new(&h.config);
        assert!(h
            .feed(
                &mut d,
                dns("10.0.0.2", "a.example", vec![a("8.8.8.8")], 1.0)
            )
            .is_empty());
        assert!(h
            .feed(
                &mut d,
                dns("10.0.0.2", "printer.local", vec![a("10.0.0.9")], 1.0)
            )
            .is_empty());
        assert!(h
            .feed(
                &mut d,
                dns("10.0.0.2", "localhost", vec![a("127.0.0.1")], 1.0)
            )
            .is_empty());
    }
}
