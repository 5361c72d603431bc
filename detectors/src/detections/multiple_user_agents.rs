//! `MULTIPLE_USER_AGENT`: a profile sends HTTP requests with a User-Agent of another
//! operating system than the first one it used.
//!
//! As Slips does it (`modules/http_analyzer/http_analyzer.py:check_multiple_user_agents_in_a_row`,
//! `set_evidence.py:multiple_user_agents_in_a_row`): the profile's first User-Agent
//! (Zeek's `server-bag[...]` agents aside) is kept with its operating system; a later
//! request whose User-Agent does not name that system gives an evidence, threat level
//! info, confidence 1. Slips learns the system from an online service
//! (useragentstring.com); we classify locally (`crate::useragent`), and compare the
//! systems the two agents name. A first agent naming no system (curl, scripts) decides
//! nothing, as Slips without its online answer. One evidence per profile, window and new
//! agent.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use dissectors::Record;
use hashbrown::HashSet;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::useragent;

pub const NAME: &str = "multiple_user_agents";

/// Most (profile, agent) pairs remembered per window.
const MAX_REPORTED: usize = 65_536;

pub struct MultipleUserAgents {
    window: i64,
    reported: HashSet<(IpAddr, u64)>,
}

impl MultipleUserAgents {
    pub fn new(_config: &Config) -> Self {
        MultipleUserAgents {
            window: i64::MIN,
            reported: HashSet::new(),
        }
    }
}

fn hash_of(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl Detector for MultipleUserAgents {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Http(h) = record else { return };
        let Some(ua) = h.user_agent.as_deref().filter(|u| !u.is_empty()) else {
            return;
        };
        let Some(first) = ctx
            .profile
            .user_agents
            .iter()
            .find(|u| !u.ua.contains("server-bag"))
        else {
            return;
        };
        let Some(first_os) = first.os else { return };
        if first.ua == ua || useragent::classify(ua).0 == Some(first_os) {
            return;
        }
        if ctx.timewindow.number != self.window {
            self.window = ctx.timewindow.number;
            self.reported.clear();
        }
        let saddr = h.id.orig_h;
        let key = (saddr, hash_of(ua));
        if self.reported.contains(&key) {
            return;
        }
        if self.reported.len() < MAX_REPORTED {
            self.reported.insert(key);
        }
        let mut e = Evidence::new(
            EvidenceType::MultipleUserAgent,
            Ioc::src_ip(saddr),
            ThreatLevel::Info,
            1.0,
            format!("Using multiple user-agents: \"{}\" then \"{ua}\"", first.ua),
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

    const WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const WINDOWS_FIREFOX: &str =
        "Mozilla/5.0 (Windows NT 10.0; rv:115.0) Gecko/20100101 Firefox/115.0";
    const LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0";

    fn req(ua: &str, ts: f64) -> dissectors::http::HttpRecord {
        let mut r = http("10.0.0.2", "1.2.3.4", "a.example", "/", ts);
        r.user_agent = Some(ua.into());
        r
    }

    #[test]
    fn another_system_fires_once() {
        let mut h = Harness::new(Config::default());
        let mut d = MultipleUserAgents::new(&Config::default());
        assert!(h.feed(&mut d, req(WINDOWS, 1.0)).is_empty());
        let out = h.feed(&mut d, req(LINUX, 2.0));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            format!("Using multiple user-agents: \"{WINDOWS}\" then \"{LINUX}\"")
        );
        assert_eq!(out[0].threat_level, ThreatLevel::Info);
        assert!(h.feed(&mut d, req(LINUX, 3.0)).is_empty());
    }

    #[test]
    fn same_system_or_unknown_first_agent_is_silent() {
        let mut h = Harness::new(Config::default());
        let mut d = MultipleUserAgents::new(&Config::default());
        assert!(h.feed(&mut d, req(WINDOWS, 1.0)).is_empty());
        assert!(h.feed(&mut d, req(WINDOWS_FIREFOX, 2.0)).is_empty());
        let mut r = req("curl/8.4.0", 1.0);
        r.id.orig_h = "10.0.0.9".parse().unwrap();
        assert!(h.feed(&mut d, r).is_empty());
        let mut r = req(LINUX, 2.0);
        r.id.orig_h = "10.0.0.9".parse().unwrap();
        assert!(h.feed(&mut d, r).is_empty());
    }
}
