//! `CN_URL_MISMATCH`: a TLS certificate whose common name does not cover the server
//! name the client asked for, when the two names have different owners, as Slips does
//! it (`modules/flow_alerts/ssl.py:detect_cn_url_mismatch`,
//! `domains_belong_to_same_org`, `set_evidence.py:cn_url_mismatch`):
//!
//! * the CN is the first `CN=` value of the subject; it is used as a pattern (`*`
//!   matches anything) that must match the start of the SNI, as Python's `re.match`;
//! * if not, the two names are the same owner's when their registered domains are equal,
//!   or when whois knows both registrants and they are equal or share a word other than
//!   LLC, Corp, Inc, Ltd, Org; when whois does not know one of them nothing is reported
//!   (Slips' `ValueError`);
//! * else two related evidence, confidence 0.8: the client (low, the SNI as victim) and
//!   the SNI as attacker in the server's profile (medium).
//!
//! Registrants come from [`DomainInfoSource`](crate::online::DomainInfoSource)
//! (`enrichment.whois_database`); without that file only names under the same
//! registered domain are told apart, and nothing is reported. Slips finds the registered
//! domain with the public suffix list (`tldextract`); slipstream takes the last two
//! labels, or three under a two-letter country domain whose second level is a generic
//! one (`co.uk`, `com.au` ...).

use std::sync::Arc;

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Direction, Evidence, EvidenceType, Ioc, IocValue, ThreatLevel};
use crate::online::DomainInfoSource;

pub const NAME: &str = "cn_url_mismatch";

/// Words of organisation names that do not make two organisations the same.
const LEGAL_WORDS: [&str; 5] = ["LLC", "Corp", "Inc", "Ltd", "Org"];

pub struct CnUrlMismatch {
    domains: Arc<dyn DomainInfoSource>,
}

impl CnUrlMismatch {
    pub fn new(config: &Config) -> Self {
        Self::with_source(crate::online::shared_domain_info(config))
    }

    pub fn with_source(domains: Arc<dyn DomainInfoSource>) -> Self {
        CnUrlMismatch { domains }
    }

    /// Slips' `domains_belong_to_same_org`; `None` when whois lacks one of them.
    fn same_owner(&self, a: &str, b: &str) -> Option<bool> {
        if registered_domain(a) == registered_domain(b) {
            return Some(true);
        }
        let org_a = self.domains.domain_info(a)?.organization.as_deref()?;
        let org_b = self.domains.domain_info(b)?.organization.as_deref()?;
        if org_a.eq_ignore_ascii_case(org_b) {
            return Some(true);
        }
        let words_b: Vec<&str> = org_b.split(' ').collect();
        Some(
            org_a
                .split(' ')
                .any(|w| !LEGAL_WORDS.contains(&w) && words_b.contains(&w)),
        )
    }
}

/// The first `CN=` value of a certificate subject.
pub fn common_name(subject: &str) -> Option<&str> {
    let start = subject.find("CN=")? + 3;
    let cn = subject[start..].split(',').next()?;
    (!cn.is_empty()).then_some(cn)
}

/// Whether `pattern` (`*` matching any run of characters) matches the start of `text`.
fn matches_start(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in parts {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The registered domain of a host name (see the module documentation).
fn registered_domain(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = name.rsplit('.').collect();
    let generic_second = ["co", "com", "net", "org", "gov", "edu", "ac"];
    let keep = if labels.len() >= 3 && labels[0].len() == 2 && generic_second.contains(&labels[1]) {
        3
    } else {
        2
    };
    let mut kept: Vec<&str> = labels.into_iter().take(keep).collect();
    kept.reverse();
    kept.join(".")
}

impl Detector for CnUrlMismatch {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Ssl(s) = record else { return };
        let (Some(subject), Some(sni)) = (s.subject.as_deref(), s.server_name.as_deref()) else {
            return;
        };
        let Some(cn) = common_name(subject) else {
            return;
        };
        if sni.is_empty() || matches_start(cn, sni) {
            return;
        }
        if self.same_owner(cn, sni) != Some(false) {
            return;
        }
        let (saddr, daddr) = (s.id.orig_h, s.id.resp_h);
        let description = format!(
            "a CN mismatch. The common name (CN) '{cn}' in the SSL certificate for the domain '{sni}' does not match the server's domain."
        );
        let sni_ioc = |direction| Ioc {
            value: IocValue::Domain(sni.to_string()),
            direction,
        };
        let mut client = Evidence::new(
            EvidenceType::CnUrlMismatch,
            Ioc::src_ip(saddr),
            ThreatLevel::Low,
            0.8,
            description,
            saddr,
            ctx.timewindow.number,
            s.ts,
        );
        client.victim = Some(sni_ioc(Direction::Dst));
        client.uids.push(s.uid);
        client.src_port = Some(s.id.orig_p);
        client.dst_port = Some(s.id.resp_p);
        let mut server = client.clone();
        server.attacker = sni_ioc(Direction::Dst);
        server.victim = Some(Ioc::src_ip(saddr));
        server.threat_level = ThreatLevel::Medium;
        server.profile = daddr;
        out.push(client);
        out.push(server);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::LocalDomainInfo;
    use crate::testutil::{ssl, Harness};

    fn detector() -> CnUrlMismatch {
        CnUrlMismatch::with_source(Arc::new(LocalDomainInfo::parse(
            "bank.example,2001-01-01,Example Bank Inc\n\
             phish.test,2024-01-01,Bulletproof Hosting Ltd\n\
             bank-cdn.net,2010-01-01,Example Bank Inc\n",
            "test",
        )))
    }

    fn cert(sni: &str, subject: &str) -> dissectors::ssl::SslRecord {
        let mut s = ssl("10.0.0.2", "5.6.7.8", Some(sni), 1_700_000_000.0);
        s.subject = Some(subject.to_string());
        s
    }

    #[test]
    fn a_certificate_of_another_owner_fires_twice() {
        let mut h = Harness::new(Config::default());
        let mut d = detector();
        let out = h.feed(&mut d, cert("bank.example", "CN=phish.test,O=Bulletproof"));
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].description,
            "a CN mismatch. The common name (CN) 'phish.test' in the SSL certificate for the domain 'bank.example' does not match the server's domain."
        );
        assert_eq!(
            (out[0].threat_level, out[0].confidence),
            (ThreatLevel::Low, 0.8)
        );
        assert_eq!(out[1].threat_level, ThreatLevel::Medium);
        assert_eq!(
            out[1].attacker.value,
            IocValue::Domain("bank.example".into())
        );
        assert_eq!(
            out[1].profile,
            "5.6.7.8".parse::<std::net::IpAddr>().unwrap()
        );
    }

    #[test]
    fn matching_names_same_owners_and_unknown_owners_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = detector();
        for (sni, subject) in [
            ("www.bank.example", "CN=*.bank.example,O=Bank"),
            ("bank.example", "CN=bank.example"),
            // re.match only anchors the start
            ("bank.example.other", "CN=bank.example"),
            // same registered domain
            ("login.bank.example", "CN=www.bank.example"),
            // same registrant
            ("bank.example", "CN=static.bank-cdn.net"),
            // whois does not know one of them
            ("bank.example", "CN=unknown.test"),
            // no CN
            ("bank.example", "O=Someone"),
        ] {
            assert!(
                h.feed(&mut d, cert(sni, subject)).is_empty(),
                "{sni} {subject}"
            );
        }
    }

    #[test]
    fn helpers_follow_slips() {
        assert_eq!(common_name("C=US,CN=a.b.c,O=x"), Some("a.b.c"));
        assert_eq!(common_name("O=x"), None);
        assert!(matches_start("*.google.com", "www.google.com"));
        assert!(!matches_start("*.google.com", "www.google.net"));
        assert!(matches_start("a*c", "abbbc-more"));
        assert_eq!(registered_domain("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(registered_domain("a.b.example.com."), "example.com");
    }
}
