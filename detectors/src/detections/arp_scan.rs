//! `ARP_SCAN`: a host asks ARP for five or more addresses within 30 seconds.
//!
//! As Slips does it (`modules/arp/arp.py:check_arp_scan`, `set_evidence_arp_scan`): ARP
//! requests whose target hardware address is `00:00:00:00:00:00`, from a sender that is
//! not `0.0.0.0`, grouped per profile and time window by target address; when there are
//! at least 5 targets and the first and the last were asked within 30 s, an evidence is
//! set (threat level low, confidence 0.8). Slips then forgets the group and merges the
//! evidence of the next 10 s into one; we keep the group and report again only when the
//! number of targets has doubled (5, 10, 20 ...), so one scan is a few evidence with
//! growing counts. Slips skips the gateway's requests; we do not know the gateway yet.
//! ARP has no connection uids, so the evidence has none (Slips makes random ones).
//!
//! Input: `Record::Arp`, from Slips' `arp.log` (Zeek folders given to slipstream); the
//! engine does not dissect ARP from captures yet.

use std::net::IpAddr;

use dissectors::arp::ArpOperation;
use dissectors::{Record, Timestamp};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "arp_scan";

const ARP_SCAN_THRESHOLD: usize = 5;
const SCAN_SECS: f64 = 30.0;
/// Targets kept per profile and window.
const MAX_TARGETS: usize = 4096;
/// Profiles followed per window.
const MAX_PROFILES: usize = 65_536;

#[derive(Default)]
struct Targets {
    /// Target -> time it was last asked, in first-asked order.
    order: Vec<IpAddr>,
    last_asked: HashMap<IpAddr, Timestamp>,
    reported_at: usize,
}

pub struct ArpScan {
    window: i64,
    profiles: HashMap<IpAddr, Targets>,
}

impl ArpScan {
    pub fn new(_config: &Config) -> Self {
        ArpScan {
            window: i64::MIN,
            profiles: HashMap::new(),
        }
    }
}

impl Detector for ArpScan {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Arp(a) = record else { return };
        if a.operation != ArpOperation::Request
            || !a.resp_hw.contains("00:00:00:00:00:00")
            || a.orig_h.is_unspecified()
        {
            return;
        }
        if ctx.timewindow.number != self.window {
            self.window = ctx.timewindow.number;
            self.profiles.clear();
        }
        if !self.profiles.contains_key(&a.orig_h) && self.profiles.len() >= MAX_PROFILES {
            return;
        }
        let t = self.profiles.entry(a.orig_h).or_default();
        if !t.last_asked.contains_key(&a.resp_h) {
            if t.order.len() >= MAX_TARGETS {
                return;
            }
            t.order.push(a.resp_h);
        }
        t.last_asked.insert(a.resp_h, a.ts);
        let n = t.order.len();
        if n < ARP_SCAN_THRESHOLD || n < t.reported_at * 2 {
            return;
        }
        let first = t.last_asked[&t.order[0]];
        let last = t.last_asked[&t.order[n - 1]];
        if last.saturating_sub(first).as_secs_f64() > SCAN_SECS {
            return;
        }
        t.reported_at = n;
        let saddr = a.orig_h;
        out.push(Evidence::new(
            EvidenceType::ArpScan,
            Ioc::src_ip(saddr),
            ThreatLevel::Low,
            0.8,
            format!("performing an arp scan. Confidence 0.8. Addresses asked: {n}."),
            saddr,
            ctx.timewindow.number,
            a.ts,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{arp, Harness};

    const ZERO: &str = "00:00:00:00:00:00";
    const MAC: &str = "08:00:27:aa:bb:cc";
    const BCAST: &str = "ff:ff:ff:ff:ff:ff";

    fn request(target: u8, ts: f64) -> dissectors::arp::ArpRecord {
        let target = format!("192.168.1.{target}");
        arp(
            ArpOperation::Request,
            (MAC, BCAST),
            ("192.168.1.5", &target),
            (MAC, ZERO),
            ts,
        )
    }

    #[test]
    fn five_targets_within_30_s() {
        let mut h = Harness::new(Config::default());
        let mut d = ArpScan::new(&Config::default());
        let mut counts = Vec::new();
        for i in 0..20u8 {
            counts.push(h.feed(&mut d, request(10 + i, f64::from(i))).len());
        }
        let fired: Vec<usize> = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(fired, [5, 10, 20]);
        let out = h.feed(&mut d, request(200, 25.0));
        assert!(out.is_empty());
    }

    #[test]
    fn slow_or_few_requests_are_not_a_scan() {
        let mut h = Harness::new(Config::default());
        let mut d = ArpScan::new(&Config::default());
        for i in 0..4u8 {
            assert!(h.feed(&mut d, request(10 + i, f64::from(i))).is_empty());
        }
        // the fifth comes 60 s after the first
        assert!(h.feed(&mut d, request(20, 60.0)).is_empty());
        // replies and requests to known hardware addresses are not scans
        let r = arp(
            ArpOperation::Reply,
            (MAC, BCAST),
            ("192.168.1.6", "192.168.1.7"),
            (MAC, ZERO),
            1.0,
        );
        assert!(h.feed(&mut d, r).is_empty());
    }
}
