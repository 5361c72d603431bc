//! `SUSPICIOUS_USER_AGENT`: an HTTP request whose User-Agent contains a token malware
//! and attack tools are known to send.
//!
//! As Slips does it (`modules/http_analyzer/http_analyzer.py:check_suspicious_user_agents`,
//! `set_evidence.py:suspicious_user_agent`): the tokens `httpsend`, `chm_msdn`, `pb`,
//! `jndi` and `tesseract`, case-insensitive, anywhere in the User-Agent; threat level
//! high, confidence 1, one evidence per request.

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "suspicious_user_agent";

const SUSPICIOUS_TOKENS: &[&str] = &["httpsend", "chm_msdn", "pb", "jndi", "tesseract"];

pub struct SuspiciousUserAgent;

impl SuspiciousUserAgent {
    pub fn new(_config: &Config) -> Self {
        SuspiciousUserAgent
    }
}

/// Whether `haystack` contains `needle` (ASCII lower case) ignoring ASCII case.
pub(crate) fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

impl Detector for SuspiciousUserAgent {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Http(h) = record else { return };
        let Some(ua) = h.user_agent.as_deref() else {
            return;
        };
        if !SUSPICIOUS_TOKENS
            .iter()
            .any(|t| contains_ignore_case(ua, t))
        {
            return;
        }
        let saddr = h.id.orig_h;
        let mut e = Evidence::new(
            EvidenceType::SuspiciousUserAgent,
            Ioc::src_ip(saddr),
            ThreatLevel::High,
            1.0,
            format!(
                "Suspicious user-agent: {ua} while connecting to {}{}",
                h.host.as_deref().unwrap_or(""),
                h.uri.as_deref().unwrap_or("")
            ),
            saddr,
            ctx.timewindow.number,
            h.ts,
        );
        e.uids.push(h.uid);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{http, Harness};

    fn run(ua: Option<&str>) -> Vec<Evidence> {
        let mut r = http("10.0.0.2", "1.2.3.4", "example.com", "/a.exe", 1.0);
        r.user_agent = ua.map(String::from);
        Harness::new(Config::default()).feed(&mut SuspiciousUserAgent, r)
    }

    #[test]
    fn fires_on_known_tokens() {
        let out = run(Some("HttpSend/1.0"));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(
            out[0].description,
            "Suspicious user-agent: HttpSend/1.0 while connecting to example.com/a.exe"
        );
        assert_eq!(run(Some("${jndi:ldap://x}")).len(), 1);
    }

    #[test]
    fn silent_for_ordinary_agents() {
        assert!(run(Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0")).is_empty());
        assert!(run(Some("curl/8.4.0")).is_empty());
        assert!(run(None).is_empty());
    }
}
