//! `MALICIOUS_JA3` and `MALICIOUS_JA3S`: a TLS client or server fingerprint a feed lists
//! (the user's `own_malicious_JA3.csv`, abuse.ch's JA3 blacklist ...).
//!
//! As Slips does it (`modules/flow_alerts/ssl.py:detect_malicious_ja3`,
//! `set_evidence.py:malicious_ja3`, `malicious_ja3s`): both the JA3 and the JA3S of each
//! ssl record are looked up in the JA3 feeds; confidence 1.
//!
//! * JA3: one evidence, the client as attacker, the feed's threat level;
//! * JA3S (a possible C&C server): the server as attacker in its own profile with the
//!   feed's threat level, and the client as attacker with threat level low.

use std::sync::Arc;

use dissectors::ssl::SslRecord;
use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::threat_intel::{IocInfo, ThreatIntel};

pub const NAME: &str = "malicious_ja3";

pub struct MaliciousJa3 {
    ti: Arc<ThreatIntel>,
}

impl MaliciousJa3 {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        MaliciousJa3 { ti }
    }
}

/// Slips' ` description: ...` and ` tags: ...` suffixes.
fn details(info: &IocInfo) -> String {
    let mut s = String::new();
    if !info.description.is_empty() && &*info.description != "None" {
        s.push_str(&format!(" description: {}.", info.description));
    }
    if !info.tags.is_empty() {
        s.push_str(&format!(" tags: {}", info.tags));
    }
    s
}

fn evidence(
    kind: EvidenceType,
    s: &SslRecord,
    attacker: Ioc,
    victim: Option<Ioc>,
    level: ThreatLevel,
    description: String,
    timewindow: i64,
) -> Evidence {
    let profile = attacker.value.ip().unwrap_or(s.id.orig_h);
    let mut e = Evidence::new(
        kind,
        attacker,
        level,
        1.0,
        description,
        profile,
        timewindow,
        s.ts,
    );
    e.victim = victim;
    e.uids.push(s.uid);
    e.src_port = Some(s.id.orig_p);
    e.dst_port = Some(s.id.resp_p);
    e
}

impl Detector for MaliciousJa3 {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Ssl(s) = record else { return };
        let (saddr, daddr) = (s.id.orig_h, s.id.resp_h);
        let tw = ctx.timewindow.number;
        if let Some(info) = s.ja3.as_deref().and_then(|h| self.ti.ja3(h)) {
            let ja3 = s.ja3.as_deref().unwrap_or("");
            let description = format!(
                "Malicious JA3: {ja3} from source address {saddr} to {daddr}.{}",
                details(info)
            );
            out.push(evidence(
                EvidenceType::MaliciousJa3,
                s,
                Ioc::src_ip(saddr),
                Some(Ioc::dst_ip(daddr)),
                info.threat_level,
                description,
                tw,
            ));
        }
        if let Some(info) = s.ja3s.as_deref().and_then(|h| self.ti.ja3(h)) {
            let ja3s = s.ja3s.as_deref().unwrap_or("");
            let description = format!(
                "Malicious JA3s: (possible C&C server): {ja3s} to server {daddr}.{}",
                details(info)
            );
            out.push(evidence(
                EvidenceType::MaliciousJa3s,
                s,
                Ioc::dst_ip(daddr),
                None,
                info.threat_level,
                description.clone(),
                tw,
            ));
            out.push(evidence(
                EvidenceType::MaliciousJa3s,
                s,
                Ioc::src_ip(saddr),
                None,
                ThreatLevel::Low,
                description,
                tw,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ssl, Harness};
    use std::net::IpAddr;

    const TRICKBOT: &str = "6734f37431670b3ab4292b8f60f29984";

    fn detector() -> MaliciousJa3 {
        let mut ti = ThreatIntel::empty();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/ti/local/own_malicious_JA3.csv");
        let text = std::fs::read_to_string(path).unwrap();
        ti.parse_local_ja3(&text, &"own_malicious_JA3.csv".into());
        MaliciousJa3::with_feeds(Arc::new(ti.finished()))
    }

    #[test]
    fn listed_client_fingerprint() {
        let mut r = ssl("10.0.0.2", "1.2.3.4", Some("x.example"), 1.0);
        r.ja3 = Some(TRICKBOT.into());
        let out = Harness::new(Config::default()).feed(&mut detector(), r);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence_type, EvidenceType::MaliciousJa3);
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(
            out[0].description,
            "Malicious JA3: 6734f37431670b3ab4292b8f60f29984 from source address 10.0.0.2 to 1.2.3.4. description: Trickbot Malware."
        );
    }

    #[test]
    fn listed_server_fingerprint_reports_both_sides() {
        let mut r = ssl("10.0.0.2", "1.2.3.4", None, 1.0);
        r.ja3s = Some("e7d705a3286e19ea42f587b344ee6865".into());
        let out = Harness::new(Config::default()).feed(&mut detector(), r);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].profile, "1.2.3.4".parse::<IpAddr>().unwrap());
        assert_eq!(out[0].threat_level, ThreatLevel::Medium);
        assert_eq!(out[1].threat_level, ThreatLevel::Low);
        assert!(out[1]
            .description
            .starts_with("Malicious JA3s: (possible C&C server): e7d705a3286e19ea42f587b344ee6865 to server 1.2.3.4."));
    }

    #[test]
    fn silent_for_unlisted_or_missing_fingerprints() {
        let mut h = Harness::new(Config::default());
        let mut r = ssl("10.0.0.2", "1.2.3.4", None, 1.0);
        assert!(h.feed(&mut detector(), r.clone()).is_empty());
        r.ja3 = Some("00000000000000000000000000000000".into());
        assert!(h.feed(&mut detector(), r).is_empty());
    }
}
