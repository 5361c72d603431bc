//! `HIGH_ENTROPY_DNS_ANSWER`: a DNS TXT answer whose text has a Shannon entropy of at
//! least `flow_alerts.entropy_threshold` (encoded or encrypted data), as Slips does it
//! (`modules/flow_alerts/dns.py:check_high_entropy_dns_answers`,
//! `set_evidence.py:suspicious_dns_answer`). The entropy is taken over the answer as
//! Zeek logs it (`TXT <len> <text>`). Two evidence per answer: the DNS server (medium
//! threat, in its profile) and the client (low threat); confidence 0.6. Answers to
//! multicast sources (mDNS announcements) are skipped.

use dissectors::dns::RData;
use dissectors::Record;

use crate::config::Config;
use crate::detections::dns_answers::shannon_entropy;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "high_entropy_dns_answer";

pub struct HighEntropyDnsAnswer {
    threshold: f64,
}

impl HighEntropyDnsAnswer {
    pub fn new(config: &Config) -> Self {
        HighEntropyDnsAnswer {
            threshold: config.flow_alerts.entropy_threshold,
        }
    }
}

impl Detector for HighEntropyDnsAnswer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Dns(d) = record else { return };
        let (saddr, daddr) = (d.id.orig_h, d.id.resp_h);
        if saddr.is_multicast() {
            return;
        }
        for a in d.answers.iter().flatten() {
            // A TXT answer read back from a Zeek log is its text (`TXT <len> <text>`).
            let txt = match a.data {
                RData::Txt(_) => true,
                RData::Text(_) => a.rtype == 16,
                _ => false,
            };
            if !txt {
                continue;
            }
            let answer = a.data.render();
            let entropy = shannon_entropy(&answer);
            if entropy < self.threshold {
                continue;
            }
            let rounded = (entropy * 100.0).round() / 100.0;
            let query = d.query.as_deref().unwrap_or("");
            let description = format!(
                "A DNS TXT answer with high entropy. query: {query} answer: \"{answer}\" \
                 entropy: {} ",
                crate::slips::py_float(rounded)
            );
            let tw = ctx.timewindow.number;
            let mut server = Evidence::new(
                EvidenceType::HighEntropyDnsAnswer,
                Ioc::dst_ip(daddr),
                ThreatLevel::Medium,
                0.6,
                description.clone(),
                daddr,
                tw,
                d.ts,
            );
            server.uids.push(d.uid);
            let mut client = server.clone();
            client.attacker = Ioc::src_ip(saddr);
            client.threat_level = ThreatLevel::Low;
            client.profile = saddr;
            client.description = description;
            out.push(server);
            out.push(client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{dns, Harness};

    fn txt(s: &str) -> RData {
        RData::Txt(vec![s.as_bytes().to_vec()])
    }

    #[test]
    fn encoded_txt_answers_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = HighEntropyDnsAnswer::new(&h.config);
        let blob = "aGVsbG8gd29ybGQgdGhpcyBpcyBleGZpbHRyYXRlZCBkYXRhIFhZWjEyMzQ1Njc4OQ==";
        let out = h.feed(
            &mut d,
            dns("10.0.0.2", "x.evil.example", vec![txt(blob)], 1.0),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].threat_level, ThreatLevel::Medium);
        assert_eq!(
            out[0].profile,
            "192.168.1.1".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(out[1].threat_level, ThreatLevel::Low);
        assert_eq!(out[1].confidence, 0.6);
        assert!(out[1].description.starts_with(&format!(
            "A DNS TXT answer with high entropy. query: x.evil.example answer: \"TXT {} {blob}\" entropy: ",
            blob.len()
        )));
    }

    #[test]
    fn txt_answers_read_from_zeek_logs_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = HighEntropyDnsAnswer::new(&h.config);
        let blob = "aGVsbG8gd29ybGQgdGhpcyBpcyBleGZpbHRyYXRlZCBkYXRhIFhZWjEyMzQ1Njc4OQ==";
        let text = RData::Text(format!("TXT {} {blob}", blob.len()));
        let mut r = dns("10.0.0.2", "x.evil.example", vec![text], 1.0);
        assert_eq!(h.feed(&mut d, r.clone()).len(), 0, "not a TXT record");
        r.answers.as_mut().unwrap()[0].rtype = 16;
        assert_eq!(h.feed(&mut d, r).len(), 2);
    }

    #[test]
    fn plain_txt_and_other_answers_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = HighEntropyDnsAnswer::new(&h.config);
        let spf = "v=spf1 include:_spf.example.com ~all";
        assert!(h
            .feed(&mut d, dns("10.0.0.2", "example.com", vec![txt(spf)], 1.0))
            .is_empty());
        let a = RData::Addr("93.184.216.34".parse().unwrap());
        assert!(h
            .feed(&mut d, dns("10.0.0.2", "example.com", vec![a], 1.0))
            .is_empty());
    }
}
