//! `SELF_SIGNED_CERTIFICATE`: a TLS server presenting a self-signed certificate, as
//! Slips does it (`modules/flow_alerts/ssl.py:check_self_signed_certs`,
//! `set_evidence.py:self_signed_certificates`): two related evidence, the client and
//! the server (in its own profile), both low threat, confidence 0.5.
//!
//! Slips reads Zeek's `validation_status` ("self signed certificate", from OpenSSL
//! against a trust store). slipstream validates against no trust store; it reports a
//! server whose certificate names itself as its issuer (subject equal to issuer), which
//! is the chain OpenSSL reports as self signed when that certificate is not trusted.

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "self_signed_certificate";

#[derive(Default)]
pub struct SelfSignedCertificate;

impl SelfSignedCertificate {
    pub fn new(_config: &Config) -> Self {
        SelfSignedCertificate
    }
}

impl Detector for SelfSignedCertificate {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Ssl(s) = record else { return };
        let (Some(subject), Some(issuer)) = (s.subject.as_deref(), s.issuer.as_deref()) else {
            return;
        };
        if subject.is_empty() || subject != issuer {
            return;
        }
        let (saddr, daddr) = (s.id.orig_h, s.id.resp_h);
        let mut description = format!("Self-signed certificate. Destination IP: {daddr}.");
        if let Some(sni) = s.server_name.as_deref().filter(|n| !n.is_empty()) {
            description.push_str(&format!(" SNI: {sni}."));
        }
        let mut client = Evidence::new(
            EvidenceType::SelfSignedCertificate,
            Ioc::src_ip(saddr),
            ThreatLevel::Low,
            0.5,
            description,
            saddr,
            ctx.timewindow.number,
            s.ts,
        );
        client.uids.push(s.uid);
        client.src_port = Some(s.id.orig_p);
        client.dst_port = Some(s.id.resp_p);
        let mut server = client.clone();
        server.attacker = Ioc::dst_ip(daddr);
        server.profile = daddr;
        out.push(client);
        out.push(server);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ssl, Harness};

    #[test]
    fn self_issued_certificate_fires_for_both_ends() {
        let mut h = Harness::new(Config::default());
        let mut d = SelfSignedCertificate::new(&h.config);
        let mut s = ssl("10.0.0.2", "1.2.3.4", Some("self.example"), 1.0);
        s.subject = Some("CN=self.example,O=Me".into());
        s.issuer = s.subject.clone();
        let out = h.feed(&mut d, s);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].description,
            "Self-signed certificate. Destination IP: 1.2.3.4. SNI: self.example."
        );
        assert_eq!(
            (out[0].threat_level, out[0].confidence),
            (ThreatLevel::Low, 0.5)
        );
        assert_eq!(out[1].attacker, Ioc::dst_ip("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn ca_issued_or_unknown_certificates_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = SelfSignedCertificate::new(&h.config);
        let mut s = ssl("10.0.0.2", "1.2.3.4", None, 1.0);
        s.subject = Some("CN=www.example.com".into());
        s.issuer = Some("CN=Example CA,O=Example".into());
        assert!(h.feed(&mut d, s).is_empty());
        assert!(h
            .feed(&mut d, ssl("10.0.0.2", "1.2.3.4", None, 2.0))
            .is_empty());
    }
}
