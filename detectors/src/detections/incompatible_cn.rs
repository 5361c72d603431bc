//! `INCOMPATIBLE_CN`: a TLS certificate whose subject names a well-known organisation
//! (Google, Microsoft, Apple, Facebook, Twitter) served from an address and for a server
//! name that belong to none of it, as Slips does it
//! (`modules/flow_alerts/ssl.py:detect_incompatible_cn`,
//! `set_evidence.py:incompatible_cn`): for every supported organisation whose name is in
//! the lower-cased subject, the server address is looked up in the organisation's IP
//! ranges and the SNI in its domains (`organizations_info/`, read through
//! [`Organizations`], the whitelist's loader); if either matches there is no evidence,
//! else the last organisation named is reported. Medium threat, confidence 0.9.

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::whitelist::{Organizations, SUPPORTED_ORGS};

pub const NAME: &str = "incompatible_cn";

pub struct IncompatibleCn {
    orgs: Organizations,
}

impl IncompatibleCn {
    pub fn new(config: &Config) -> Self {
        let dir = config.resolve(&config.whitelists.organizations_info_path);
        IncompatibleCn {
            orgs: Organizations::load(dir.as_deref()),
        }
    }
}

/// Python's `str.capitalize`, for the organisation names (ASCII).
fn capitalize(s: &str) -> String {
    let mut out = s.to_ascii_lowercase();
    if let Some(first) = out.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    out
}

impl Detector for IncompatibleCn {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Ssl(s) = record else { return };
        let Some(subject) = s.subject.as_deref().filter(|x| !x.is_empty()) else {
            return;
        };
        let subject = subject.to_ascii_lowercase();
        let (saddr, daddr) = (s.id.orig_h, s.id.resp_h);
        let server_name = s.server_name.as_deref().unwrap_or("");
        let mut claimed = None;
        for org in SUPPORTED_ORGS {
            if !subject.contains(org) {
                continue;
            }
            claimed = Some(org);
            if self.orgs.ip_in_org(daddr, org)
                || (!server_name.is_empty() && self.orgs.domain_in_org(server_name, org))
            {
                return;
            }
        }
        let Some(org) = claimed else { return };
        let description = format!(
            "Incompatible certificate CN to IP: {daddr} domain: {server_name}. The certificate is claiming to belong to {}.",
            capitalize(org)
        );
        let mut e = Evidence::new(
            EvidenceType::IncompatibleCn,
            Ioc::src_ip(saddr),
            ThreatLevel::Medium,
            0.9,
            description,
            saddr,
            ctx.timewindow.number,
            s.ts,
        );
        e.victim = Some(Ioc::dst_ip(daddr));
        e.uids.push(s.uid);
        e.src_port = Some(s.id.orig_p);
        e.dst_port = Some(s.id.resp_p);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ssl, Harness};
    use std::path::Path;

    fn harness() -> Harness {
        let config = Config {
            base_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../config"),
            ..Config::default()
        };
        Harness::new(config)
    }

    fn cert(dst: &str, sni: Option<&str>, subject: &str) -> dissectors::ssl::SslRecord {
        let mut s = ssl("10.0.0.2", dst, sni, 1_700_000_000.0);
        s.subject = Some(subject.to_string());
        s
    }

    #[test]
    fn a_google_certificate_elsewhere_fires() {
        let mut h = harness();
        let mut d = IncompatibleCn::new(&h.config);
        let out = h.feed(
            &mut d,
            cert(
                "5.6.7.8",
                Some("login.example.net"),
                "CN=*.google.com,O=Google LLC",
            ),
        );
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::IncompatibleCn);
        assert_eq!((e.threat_level, e.confidence), (ThreatLevel::Medium, 0.9));
        assert_eq!(
            e.description,
            "Incompatible certificate CN to IP: 5.6.7.8 domain: login.example.net. The certificate is claiming to belong to Google."
        );
        assert_eq!(e.victim, Some(Ioc::dst_ip("5.6.7.8".parse().unwrap())));
    }

    #[test]
    fn the_organisations_own_servers_and_other_names_do_not_fire() {
        let mut h = harness();
        let mut d = IncompatibleCn::new(&h.config);
        // a Google address
        assert!(h
            .feed(&mut d, cert("8.8.8.8", None, "CN=dns.google,O=Google LLC"))
            .is_empty());
        // a Google domain on another address
        assert!(h
            .feed(
                &mut d,
                cert(
                    "5.6.7.8",
                    Some("www.google.com"),
                    "CN=*.google.com,O=Google LLC"
                )
            )
            .is_empty());
        // no known organisation in the subject
        assert!(h
            .feed(
                &mut d,
                cert("5.6.7.8", Some("example.org"), "CN=example.org,O=Example")
            )
            .is_empty());
        let mut s = cert("5.6.7.8", None, "");
        s.subject = None;
        assert!(h.feed(&mut d, s).is_empty());
    }
}
