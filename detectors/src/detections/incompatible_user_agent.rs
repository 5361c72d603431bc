//! `INCOMPATIBLE_USER_AGENT`: a profile's User-Agent names a system or browser its
//! network card's vendor does not make (Safari on a non-Apple device, Windows on an Apple
//! one ...).
//!
//! As Slips does it (`modules/http_analyzer/http_analyzer.py:check_incompatible_user_agent`,
//! `set_evidence.py:incompatible_user_agent`): needs the MAC vendor of the profile
//! (from DHCP or ARP and the OUI table) and its first User-Agent. Safari from a vendor
//! without `apple` is incompatible; otherwise the vendor picks one family of the keyword
//! groups (apple: `macos ios apple os x mac macintosh darwin`; microsoft: `microsoft
//! windows nt`; google: `android google`) and the agent's system naming a keyword of
//! another family is incompatible. Threat level high, confidence 1. Slips learns the
//! agent's system and browser online; we classify locally (`crate::useragent`). Slips
//! sets it on every request; we set it once per profile and window.

use std::net::IpAddr;

use dissectors::Record;
use hashbrown::HashSet;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "incompatible_user_agent";

const OS_KEYWORDS: &[&[&str]] = &[
    &[
        "macos",
        "ios",
        "apple",
        "os x",
        "mac",
        "macintosh",
        "darwin",
    ],
    &["microsoft", "windows", "nt"],
    &["android", "google"],
];

const MAX_REPORTED: usize = 65_536;

pub struct IncompatibleUserAgent {
    window: i64,
    reported: HashSet<IpAddr>,
}

impl IncompatibleUserAgent {
    pub fn new(_config: &Config) -> Self {
        IncompatibleUserAgent {
            window: i64::MIN,
            reported: HashSet::new(),
        }
    }
}

/// Whether a device of `vendor` (lower case) running `os` with `browser` (lower case)
/// is implausible.
fn incompatible(vendor: &str, os: &str, browser: &str) -> bool {
    if browser.contains("safari") && !vendor.contains("apple") {
        return true;
    }
    let Some(own) = OS_KEYWORDS
        .iter()
        .position(|family| family.iter().any(|k| vendor.contains(k)))
    else {
        return false;
    };
    let system = format!("{os} {os}");
    OS_KEYWORDS
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != own)
        .any(|(_, family)| family.iter().any(|k| system.contains(k)))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

impl Detector for IncompatibleUserAgent {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Http(h) = record else { return };
        let Some(vendor) = ctx.profile.vendor.as_deref() else {
            return;
        };
        let Some(ua) = ctx
            .profile
            .user_agents
            .iter()
            .find(|u| !u.ua.contains("server-bag"))
        else {
            return;
        };
        if ctx.timewindow.number != self.window {
            self.window = ctx.timewindow.number;
            self.reported.clear();
        }
        let saddr = h.id.orig_h;
        if self.reported.contains(&saddr) {
            return;
        }
        let vendor = vendor.to_lowercase();
        let os = ua.os.unwrap_or("").to_lowercase();
        let browser = ua.browser.unwrap_or("").to_lowercase();
        if !incompatible(&vendor, &os, &browser) {
            return;
        }
        if self.reported.len() < MAX_REPORTED {
            self.reported.insert(saddr);
        }
        let description = format!(
            "using incompatible user-agent ({}) that belongs to OS: {os} type: {os} browser: {browser}. while connecting to {}{}. IP has MAC vendor: {}",
            ua.ua,
            h.host.as_deref().unwrap_or(""),
            h.uri.as_deref().unwrap_or(""),
            capitalize(&vendor)
        );
        let mut e = Evidence::new(
            EvidenceType::IncompatibleUserAgent,
            Ioc::src_ip(saddr),
            ThreatLevel::High,
            1.0,
            description,
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
    use dissectors::Timestamp;

    const WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; rv:115.0) Gecko/20100101 Firefox/115.0";
    const MAC_SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15";

    fn run(vendor: Option<&str>, ua: &str) -> Vec<Evidence> {
        let mut h = Harness::new(Config::default());
        if let Some(v) = vendor {
            h.hosts
                .host_mut("10.0.0.2".parse().unwrap(), Timestamp(0))
                .vendor = Some(v.into());
        }
        let mut r = http("10.0.0.2", "1.2.3.4", "a.example", "/x", 1.0);
        r.user_agent = Some(ua.into());
        let mut d = IncompatibleUserAgent::new(&Config::default());
        let mut out = h.feed(&mut d, r.clone());
        out.extend(h.feed(&mut d, r));
        out
    }

    #[test]
    fn windows_on_an_apple_device() {
        let out = run(Some("Apple, Inc."), WINDOWS);
        assert_eq!(out.len(), 1, "once per window");
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(
            out[0].description,
            format!("using incompatible user-agent ({WINDOWS}) that belongs to OS: windows type: windows browser: firefox. while connecting to a.example/x. IP has MAC vendor: Apple, inc.")
        );
        assert_eq!(run(Some("Microsoft Corporation"), MAC_SAFARI).len(), 1);
    }

    #[test]
    fn compatible_or_unknown_vendor_is_silent() {
        assert!(run(Some("Apple, Inc."), MAC_SAFARI).is_empty());
        assert!(run(Some("Microsoft Corporation"), WINDOWS).is_empty());
        assert!(run(Some("PCS Systemtechnik GmbH"), WINDOWS).is_empty());
        assert!(run(None, MAC_SAFARI).is_empty());
    }
}
