//! `MALICIOUS_SSL_CERT`: a TLS server presented a certificate whose SHA1 a feed lists
//! (abuse.ch's SSL blacklist and the like, `SSL_feeds.csv`).
//!
//! As Slips does it (`modules/flow_alerts/downloaded_file.py:check_malicious_ssl`,
//! `set_evidence.py:malicious_ssl`): files.log entries carried by SSL with a SHA1 are
//! looked up; a listed one gives the server as attacker in its own profile (the feed's
//! threat level) and the client as attacker (threat level low), confidence 1.
//!
//! Input: the certificate entries of files.log, which Zeek writes and which Zeek log
//! folders given to slipstream carry. Our TLS dissector writes x509.log (SHA-256
//! fingerprints) but no files.log entries for certificates yet, so on capture files this
//! fires once the dissector emits them (source `SSL`, analyzers with `SHA1`).

use std::sync::Arc;

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::threat_intel::ThreatIntel;

pub const NAME: &str = "malicious_ssl_cert";

pub struct MaliciousSslCert {
    ti: Arc<ThreatIntel>,
}

impl MaliciousSslCert {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        MaliciousSslCert { ti }
    }
}

impl Detector for MaliciousSslCert {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Files(f) = record else { return };
        if !f.source.is_some_and(|s| s.contains("SSL")) || !f.analyzers.contains(&"SHA1") {
            return;
        }
        let (Some(sha1), Some(id)) = (f.sha1.as_deref(), f.id) else {
            return;
        };
        let Some(info) = self.ti.ssl_sha1(sha1) else {
            return;
        };
        // The certificate's sender is the server.
        let (server, client) = if f.is_orig == Some(true) {
            (id.orig_h, id.resp_h)
        } else {
            (id.resp_h, id.orig_h)
        };
        let mut description = format!(
            "Malicious SSL certificate to server {server}. description: {}",
            info.description
        );
        if !info.tags.is_empty() {
            description.push(' ');
            description.push_str(&info.tags);
        }
        let tw = ctx.timewindow.number;
        let uid = f.uid;
        let mut e = Evidence::new(
            EvidenceType::MaliciousSslCert,
            Ioc::dst_ip(server),
            info.threat_level,
            1.0,
            description.clone(),
            server,
            tw,
            f.ts,
        );
        e.uids.extend(uid);
        out.push(e);
        let mut e = Evidence::new(
            EvidenceType::MaliciousSslCert,
            Ioc::src_ip(client),
            ThreatLevel::Low,
            1.0,
            description,
            client,
            tw,
            f.ts,
        );
        e.uids.extend(uid);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{files, Harness};
    use crate::threat_intel::FeedMeta;

    fn detector() -> MaliciousSslCert {
        let mut ti = ThreatIntel::empty();
        ti.parse_ssl_feed(
            "# Listingdate,SHA1,Listingreason\n2022-02-06 07:58:29,6cec09bcb575352785d313c7e978f26bfbd528ab,AsyncRAT C&C\n",
            &FeedMeta {
                file_name: "sslblacklist.csv".into(),
                threat_level: ThreatLevel::High,
                tags: "malicious".into(),
            },
        );
        MaliciousSslCert::with_feeds(Arc::new(ti.finished()))
    }

    fn cert(sha1: &str) -> dissectors::files::FileRecord {
        let mut f = files("10.0.0.2", "1.2.3.4", 1.0);
        f.source = Some("SSL");
        f.analyzers = vec!["MD5", "SHA1", "X509"];
        f.is_orig = Some(false);
        f.sha1 = Some(sha1.into());
        f
    }

    #[test]
    fn listed_certificate() {
        let mut h = Harness::new(Config::default());
        let out = h.feed(
            &mut detector(),
            cert("6CEC09BCB575352785D313C7E978F26BFBD528AB"),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].attacker, Ioc::dst_ip("1.2.3.4".parse().unwrap()));
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(out[1].attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(out[1].threat_level, ThreatLevel::Low);
        assert_eq!(
            out[0].description,
            "Malicious SSL certificate to server 1.2.3.4. description: AsyncRAT C&C malicious"
        );
    }

    #[test]
    fn silent_for_other_certificates_and_other_files() {
        let mut h = Harness::new(Config::default());
        let sha = "0000000000000000000000000000000000000000";
        assert!(h.feed(&mut detector(), cert(sha)).is_empty());
        let mut f = cert("6cec09bcb575352785d313c7e978f26bfbd528ab");
        f.source = Some("HTTP");
        assert!(h.feed(&mut detector(), f).is_empty());
    }
}
