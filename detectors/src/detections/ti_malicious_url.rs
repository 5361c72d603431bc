//! `THREAT_INTELLIGENCE_MALICIOUS_URL`: an HTTP request for a URL a threat-intelligence
//! feed lists. Slips looks the URLs up online in URLhaus
//! (`modules/threat_intelligence/urlhaus.py:urlhaus_lookup`, `set_evidence_malicious_url`:
//! threat level medium unless URLhaus gives a VirusTotal score, confidence 0.7);
//! slipstream looks `host` + `uri` up in the URLs of the local feeds (see
//! [`crate::threat_intel`]), with the feed's threat level, confidence 0.7. The requesting
//! profile is the attacker, the URL the victim.

use std::sync::Arc;

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Direction, Evidence, EvidenceType, Ioc, IocValue};
use crate::threat_intel::ThreatIntel;

pub const NAME: &str = "ti_malicious_url";

pub struct TiMaliciousUrl {
    ti: Arc<ThreatIntel>,
}

impl TiMaliciousUrl {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        TiMaliciousUrl { ti }
    }
}

impl Detector for TiMaliciousUrl {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Http(h) = record else { return };
        let (Some(host), Some(uri)) = (h.host.as_deref(), h.uri.as_deref()) else {
            return;
        };
        let Some((url, info)) = self.ti.url(host, uri) else {
            return;
        };
        let saddr = h.id.orig_h;
        let description = format!(
            "Connecting to a malicious URL {url}. Detected by: {}. Description: {}",
            info.source, info.description
        );
        let mut e = Evidence::new(
            EvidenceType::ThreatIntelligenceMaliciousUrl,
            Ioc::src_ip(saddr),
            info.threat_level,
            0.7,
            description,
            saddr,
            ctx.timewindow.number,
            h.ts,
        );
        e.victim = Some(Ioc {
            value: IocValue::Url(url),
            direction: Direction::Dst,
        });
        e.uids.push(h.uid);
        e.src_port = Some(h.id.orig_p);
        e.dst_port = Some(h.id.resp_p);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::ThreatLevel;
    use crate::testutil::{http, Harness};

    fn detector() -> TiMaliciousUrl {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_iocs(
            "http://evil.example/payload.exe,high,dropper\n",
            &"own_malicious_iocs.csv".into(),
        );
        TiMaliciousUrl::with_feeds(Arc::new(ti.finished()))
    }

    #[test]
    fn a_listed_url_fires() {
        let mut h = Harness::new(Config::default());
        let mut d = detector();
        let out = h.feed(
            &mut d,
            http("10.0.0.2", "5.6.7.8", "evil.example", "/payload.exe", 1.0),
        );
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(
            e.evidence_type,
            EvidenceType::ThreatIntelligenceMaliciousUrl
        );
        assert_eq!((e.threat_level, e.confidence), (ThreatLevel::High, 0.7));
        assert_eq!(
            e.description,
            "Connecting to a malicious URL evil.example/payload.exe. Detected by: own_malicious_iocs.csv. Description: dropper"
        );
        assert_eq!(
            e.victim.as_ref().map(|v| &v.value),
            Some(&IocValue::Url("evil.example/payload.exe".into()))
        );
    }

    #[test]
    fn other_urls_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = detector();
        for (host, uri) in [
            ("evil.example", "/index.html"),
            ("good.example", "/payload.exe"),
        ] {
            assert!(h
                .feed(&mut d, http("10.0.0.2", "5.6.7.8", host, uri, 1.0))
                .is_empty());
        }
    }
}
