//! `ARP_OUTSIDE_LOCALNET`: an ARP request for an address outside the local network
//! (ARP only resolves neighbours; asking for a remote address is odd).
//!
//! As Slips does it (`modules/arp/arp.py:check_dstip_outside_localnet`): requests where
//! neither address is `0.0.0.0` (probes), the target is not multicast or link-local, not
//! in the home networks (`parameters.home_network`; Slips' default, the private ranges,
//! when none is configured), and its first octet differs from the sender's; threat level
//! low, confidence 0.6, the target as victim. One evidence per profile, window and
//! target (Slips: per request). Slips compares the first octet as text (`10.` also
//! matches `100.`); we compare the number. Input: `Record::Arp` from Slips' `arp.log`.

use std::net::IpAddr;

use dissectors::arp::ArpOperation;
use dissectors::net::{Cidr, PrefixSet};
use dissectors::Record;
use hashbrown::HashSet;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "arp_outside_localnet";

const DEFAULT_HOME: &[&str] = &["192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/8"];
const MAX_REPORTED: usize = 65_536;

pub struct ArpOutsideLocalnet {
    home: PrefixSet,
    window: i64,
    reported: HashSet<(IpAddr, IpAddr)>,
}

impl ArpOutsideLocalnet {
    pub fn new(config: &Config) -> Self {
        let mut nets = config.home_networks();
        if nets.is_empty() {
            nets = DEFAULT_HOME
                .iter()
                .filter_map(|n| n.parse::<Cidr>().ok())
                .collect();
        }
        ArpOutsideLocalnet {
            home: PrefixSet::from_cidrs(nets),
            window: i64::MIN,
            reported: HashSet::new(),
        }
    }
}

impl Detector for ArpOutsideLocalnet {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Arp(a) = record else { return };
        if a.operation != ArpOperation::Request {
            return;
        }
        let (IpAddr::V4(saddr), IpAddr::V4(daddr)) = (a.orig_h, a.resp_h) else {
            return;
        };
        if saddr.is_unspecified()
            || daddr.is_unspecified()
            || daddr.is_multicast()
            || daddr.is_link_local()
            || self.home.contains(a.resp_h)
            || saddr.octets()[0] == daddr.octets()[0]
        {
            return;
        }
        if ctx.timewindow.number != self.window {
            self.window = ctx.timewindow.number;
            self.reported.clear();
        }
        let key = (a.orig_h, a.resp_h);
        if self.reported.contains(&key) || self.reported.len() >= MAX_REPORTED {
            return;
        }
        self.reported.insert(key);
        let mut e = Evidence::new(
            EvidenceType::ArpOutsideLocalnet,
            Ioc::src_ip(a.orig_h),
            ThreatLevel::Low,
            0.6,
            format!(
                "{saddr} sending ARP packet to a destination address outside of local network: {daddr}. "
            ),
            a.orig_h,
            ctx.timewindow.number,
            a.ts,
        );
        e.victim = Some(Ioc::dst_ip(a.resp_h));
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{arp, Harness};

    const MAC: &str = "08:00:27:aa:bb:cc";
    const ZERO: &str = "00:00:00:00:00:00";
    const BCAST: &str = "ff:ff:ff:ff:ff:ff";

    fn request(src: &str, dst: &str) -> dissectors::arp::ArpRecord {
        arp(
            ArpOperation::Request,
            (MAC, BCAST),
            (src, dst),
            (MAC, ZERO),
            1.0,
        )
    }

    #[test]
    fn request_for_a_remote_address() {
        let mut h = Harness::new(Config::default());
        let mut d = ArpOutsideLocalnet::new(&Config::default());
        let out = h.feed(&mut d, request("192.168.1.5", "8.8.8.8"));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "192.168.1.5 sending ARP packet to a destination address outside of local network: 8.8.8.8. "
        );
        assert_eq!(out[0].confidence, 0.6);
        assert!(h.feed(&mut d, request("192.168.1.5", "8.8.8.8")).is_empty());
    }

    #[test]
    fn local_probe_and_link_local_targets_are_silent() {
        let mut h = Harness::new(Config::default());
        let mut d = ArpOutsideLocalnet::new(&Config::default());
        assert!(h
            .feed(&mut d, request("192.168.1.5", "192.168.1.1"))
            .is_empty());
        assert!(h
            .feed(&mut d, request("192.168.1.5", "10.0.0.1"))
            .is_empty());
        assert!(h
            .feed(&mut d, request("192.168.1.5", "169.254.1.1"))
            .is_empty());
        assert!(h.feed(&mut d, request("192.168.1.5", "0.0.0.0")).is_empty());
        assert!(h.feed(&mut d, request("8.8.4.4", "8.8.8.8")).is_empty());
    }
}
