//! `EMPTY_CONNECTIONS`: four empty HTTP requests (`GET /`, no body) to a search engine or
//! webmail site, the way malware checks it is online.
//!
//! As Slips does it (`modules/http_analyzer/http_analyzer.py:check_multiple_empty_connections`,
//! `set_evidence.py:multiple_empty_connections`): the host must be one of `bing.com`,
//! `google.com`, `yandex.com`, `yahoo.com`, `duckduckgo.com`, `gmail.com` or its `www.`
//! name, the URI `/` and the request body empty; at the fourth such request the evidence
//! is set (threat level medium, confidence 1, the requests' uids) and the count starts
//! again. Slips counts per host across all profiles; we count per profile and host, and
//! forget counts when the time window changes (the evidence belongs to one profile and
//! window).

use std::net::IpAddr;

use dissectors::{Record, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "empty_connections";

const EMPTY_CONNECTIONS_THRESHOLD: usize = 4;

const EMPTY_CONNECTION_HOSTS: &[&str] = &[
    "bing.com",
    "google.com",
    "yandex.com",
    "yahoo.com",
    "duckduckgo.com",
    "gmail.com",
];

/// Most (profile, host) counters kept; more are ignored until the window changes.
const MAX_COUNTERS: usize = 65_536;

pub struct EmptyConnections {
    window: i64,
    counters: HashMap<(IpAddr, &'static str), Vec<Uid>>,
}

impl EmptyConnections {
    pub fn new(_config: &Config) -> Self {
        EmptyConnections {
            window: i64::MIN,
            counters: HashMap::new(),
        }
    }
}

fn checked_host(host: &str) -> Option<&'static str> {
    let bare = host.strip_prefix("www.").unwrap_or(host);
    EMPTY_CONNECTION_HOSTS.iter().copied().find(|h| *h == bare)
}

impl Detector for EmptyConnections {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Http(h) = record else { return };
        if h.uri.as_deref() != Some("/") || h.request_body_len != 0 {
            return;
        }
        let Some(host) = h.host.as_deref().and_then(checked_host) else {
            return;
        };
        if ctx.timewindow.number != self.window {
            self.window = ctx.timewindow.number;
            self.counters.clear();
        }
        let key = (h.id.orig_h, host);
        if !self.counters.contains_key(&key) && self.counters.len() >= MAX_COUNTERS {
            return;
        }
        let uids = self.counters.entry(key).or_default();
        uids.push(h.uid);
        if uids.len() < EMPTY_CONNECTIONS_THRESHOLD {
            return;
        }
        let saddr = h.id.orig_h;
        let mut e = Evidence::new(
            EvidenceType::EmptyConnections,
            Ioc::src_ip(saddr),
            ThreatLevel::Medium,
            1.0,
            format!("Multiple empty HTTP connections to {host}"),
            saddr,
            ctx.timewindow.number,
            h.ts,
        );
        e.uids = std::mem::take(uids);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{http, Harness};

    #[test]
    fn fourth_empty_request_fires_and_the_count_restarts() {
        let mut h = Harness::new(Config::default());
        let mut d = EmptyConnections::new(&Config::default());
        let mut fired = Vec::new();
        for i in 0..8 {
            let host = if i % 2 == 0 {
                "www.google.com"
            } else {
                "google.com"
            };
            let out = h.feed(
                &mut d,
                http("10.0.0.2", "142.250.1.1", host, "/", f64::from(i)),
            );
            fired.push(out.len());
            if i == 3 {
                assert_eq!(
                    out[0].description,
                    "Multiple empty HTTP connections to google.com"
                );
                assert_eq!(out[0].uids.len(), 4);
                assert_eq!(out[0].threat_level, ThreatLevel::Medium);
            }
        }
        assert_eq!(fired, [0, 0, 0, 1, 0, 0, 0, 1]);
    }

    #[test]
    fn silent_for_other_requests() {
        let mut h = Harness::new(Config::default());
        let mut d = EmptyConnections::new(&Config::default());
        for i in 0..6 {
            let t = f64::from(i);
            assert!(h
                .feed(
                    &mut d,
                    http("10.0.0.2", "1.1.1.1", "google.com", "/search", t)
                )
                .is_empty());
            assert!(h
                .feed(&mut d, http("10.0.0.2", "1.1.1.1", "example.com", "/", t))
                .is_empty());
            let mut post = http("10.0.0.2", "1.1.1.1", "bing.com", "/", t);
            post.request_body_len = 10;
            assert!(h.feed(&mut d, post).is_empty());
        }
        // three empty requests: below the threshold
        for i in 0..3 {
            assert!(h
                .feed(
                    &mut d,
                    http("10.0.0.3", "1.1.1.1", "yahoo.com", "/", f64::from(i))
                )
                .is_empty());
        }
    }
}
