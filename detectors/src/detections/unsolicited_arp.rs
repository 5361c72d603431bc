//! `UNSOLICITED_ARP`: an ARP reply broadcast to everyone (a gratuitous announcement, a
//! way to poison neighbours' caches).
//!
//! As Slips does it (`modules/arp/arp.py:detect_unsolicited_arp`): a reply whose Ethernet
//! and ARP target hardware addresses are both `ff:ff:ff:ff:ff:ff` and whose Ethernet
//! and ARP sender hardware addresses are not all zeros; threat level low, confidence
//! 0.8. Slips sets one per such reply; we set one per profile and time window (hosts
//! repeat these announcements). Input: `Record::Arp` from Slips' `arp.log`; the engine
//! does not dissect ARP from captures yet.

use std::net::IpAddr;

use dissectors::arp::ArpOperation;
use dissectors::Record;
use hashbrown::HashSet;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "unsolicited_arp";

const BROADCAST: &str = "ff:ff:ff:ff:ff:ff";
const ZERO: &str = "00:00:00:00:00:00";
const MAX_REPORTED: usize = 65_536;

pub struct UnsolicitedArp {
    window: i64,
    reported: HashSet<IpAddr>,
}

impl UnsolicitedArp {
    pub fn new(_config: &Config) -> Self {
        UnsolicitedArp {
            window: i64::MIN,
            reported: HashSet::new(),
        }
    }
}

impl Detector for UnsolicitedArp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Arp(a) = record else { return };
        if a.operation != ArpOperation::Reply
            || a.dst_mac != BROADCAST
            || a.resp_hw != BROADCAST
            || a.src_mac == ZERO
            || a.orig_hw == ZERO
        {
            return;
        }
        if ctx.timewindow.number != self.window {
            self.window = ctx.timewindow.number;
            self.reported.clear();
        }
        if self.reported.contains(&a.orig_h) || self.reported.len() >= MAX_REPORTED {
            return;
        }
        self.reported.insert(a.orig_h);
        out.push(Evidence::new(
            EvidenceType::UnsolicitedArp,
            Ioc::src_ip(a.orig_h),
            ThreatLevel::Low,
            0.8,
            "broadcasting unsolicited ARP".into(),
            a.orig_h,
            ctx.timewindow.number,
            a.ts,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{arp, Harness};

    const MAC: &str = "2e:a4:18:f8:3d:02";

    #[test]
    fn broadcast_reply_fires_once_per_window() {
        let mut h = Harness::new(Config::default());
        let mut d = UnsolicitedArp::new(&Config::default());
        let r = arp(
            ArpOperation::Reply,
            (MAC, BROADCAST),
            ("172.20.7.40", "172.20.7.40"),
            (MAC, BROADCAST),
            1.0,
        );
        let out = h.feed(&mut d, r.clone());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].description, "broadcasting unsolicited ARP");
        assert_eq!(out[0].threat_level, ThreatLevel::Low);
        assert!(h.feed(&mut d, r).is_empty());
    }

    #[test]
    fn requests_and_directed_replies_are_silent() {
        let mut h = Harness::new(Config::default());
        let mut d = UnsolicitedArp::new(&Config::default());
        let r = arp(
            ArpOperation::Reply,
            (MAC, "08:00:27:00:00:01"),
            ("172.20.7.40", "172.20.7.1"),
            (MAC, "08:00:27:00:00:01"),
            1.0,
        );
        assert!(h.feed(&mut d, r).is_empty());
        let r = arp(
            ArpOperation::Request,
            (MAC, BROADCAST),
            ("172.20.7.40", "172.20.7.1"),
            (MAC, BROADCAST),
            1.0,
        );
        assert!(h.feed(&mut d, r).is_empty());
        let r = arp(
            ArpOperation::Reply,
            (MAC, BROADCAST),
            ("172.20.7.40", "172.20.7.40"),
            (ZERO, BROADCAST),
            1.0,
        );
        assert!(h.feed(&mut d, r).is_empty());
    }
}
