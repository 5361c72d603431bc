//! `HTTP_TRAFFIC`: unencrypted HTTP from a profile (information, threat level info).
//!
//! As Slips does it (`modules/http_analyzer/http_analyzer.py:main`,
//! `set_evidence.py:http_traffic`): confidence 1, the server as victim. Slips sets one
//! per HTTP request; to keep the evidence readable we set one per profile, time window
//! and server (the first request's uid), which changes nothing in the alert rule since
//! info evidence adds no threat.

use std::net::IpAddr;

use hashbrown::HashSet;

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "http_traffic";

/// Most (profile, server) pairs remembered per window; past it, every request reports.
const MAX_PAIRS: usize = 65_536;

pub struct HttpTraffic {
    window: i64,
    reported: HashSet<(IpAddr, IpAddr)>,
}

impl HttpTraffic {
    pub fn new(_config: &Config) -> Self {
        HttpTraffic {
            window: i64::MIN,
            reported: HashSet::new(),
        }
    }
}

impl Detector for HttpTraffic {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Http(h) = record else { return };
        if ctx.timewindow.number != self.window {
            self.window = ctx.timewindow.number;
            self.reported.clear();
        }
        let (saddr, daddr) = (h.id.orig_h, h.id.resp_h);
        if self.reported.contains(&(saddr, daddr)) {
            return;
        }
        if self.reported.len() < MAX_PAIRS {
            self.reported.insert((saddr, daddr));
        }
        let mut e = Evidence::new(
            EvidenceType::HttpTraffic,
            Ioc::src_ip(saddr),
            ThreatLevel::Info,
            1.0,
            format!("Unencrypted HTTP traffic from {saddr} to {daddr}."),
            saddr,
            ctx.timewindow.number,
            h.ts,
        );
        e.victim = Some(Ioc::dst_ip(daddr));
        e.uids.push(h.uid);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, http, Harness};

    #[test]
    fn once_per_server_and_window() {
        let mut h = Harness::new(Config::default());
        let mut d = HttpTraffic::new(&Config::default());
        let out = h.feed(&mut d, http("10.0.0.2", "1.2.3.4", "a.example", "/", 1.0));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "Unencrypted HTTP traffic from 10.0.0.2 to 1.2.3.4."
        );
        assert_eq!(out[0].threat_level, ThreatLevel::Info);
        assert!(h
            .feed(&mut d, http("10.0.0.2", "1.2.3.4", "a.example", "/b", 2.0))
            .is_empty());
        assert_eq!(
            h.feed(&mut d, http("10.0.0.2", "1.2.3.5", "b.example", "/", 3.0))
                .len(),
            1
        );
        // a later window reports again
        assert_eq!(
            h.feed(
                &mut d,
                http("10.0.0.2", "1.2.3.4", "a.example", "/", 3700.0)
            )
            .len(),
            1
        );
    }

    #[test]
    fn silent_for_non_http() {
        let mut h = Harness::new(Config::default());
        let mut d = HttpTraffic::new(&Config::default());
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 1, "1.2.3.4", 80, 1.0))
            .is_empty());
    }
}
