//! `MITM_ARP_ATTACK`: a gratuitous ARP reply claims, for a new address, a MAC that was
//! first seen with another address (ARP cache poisoning, or a device whose address
//! changed: Slips cannot tell, hence the low confidence).
//!
//! As Slips does it (`modules/arp/arp.py:detect_mitm_arp_attack`): gratuitous replies
//! (target hardware address broadcast or zero); the first address seen with the
//! sender's MAC (Slips' `get_ip_of_mac`; here the IPv4 address with that MAC seen first,
//! from ARP and DHCP) differs from the sender's address; threat level critical,
//! confidence 0.2, the original address as victim. Slips names the gateway in the
//! description when it is involved; we do not know the gateway yet. One evidence per
//! profile, window and original address. Input: `Record::Arp` from Slips' `arp.log`.

use std::net::IpAddr;

use dissectors::arp::ArpOperation;
use dissectors::Record;
use hashbrown::HashSet;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "mitm_arp";

const MAX_REPORTED: usize = 65_536;

pub struct MitmArp {
    window: i64,
    reported: HashSet<(IpAddr, IpAddr)>,
}

impl MitmArp {
    pub fn new(_config: &Config) -> Self {
        MitmArp {
            window: i64::MIN,
            reported: HashSet::new(),
        }
    }
}

impl Detector for MitmArp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Arp(a) = record else { return };
        let gratuitous = a.operation == ArpOperation::Reply
            && matches!(
                a.resp_hw.as_str(),
                "ff:ff:ff:ff:ff:ff" | "00:00:00:00:00:00"
            );
        if !gratuitous || !a.orig_h.is_ipv4() {
            return;
        }
        let me = ctx.profile;
        // The IPv4 address that had this MAC first (the profile itself included).
        let Some(original) = me
            .other_ips
            .iter()
            .filter(|ip| ip.is_ipv4())
            .filter_map(|ip| ctx.hosts.get(*ip))
            .filter(|h| h.mac == me.mac)
            .map(|h| (h.first_seen, h.ip))
            .chain(std::iter::once((me.first_seen, me.ip)))
            .min()
            .map(|(_, ip)| ip)
        else {
            return;
        };
        if original == a.orig_h {
            return;
        }
        if ctx.timewindow.number != self.window {
            self.window = ctx.timewindow.number;
            self.reported.clear();
        }
        let key = (a.orig_h, original);
        if self.reported.contains(&key) || self.reported.len() >= MAX_REPORTED {
            return;
        }
        self.reported.insert(key);
        let saddr = a.orig_h;
        let mut e = Evidence::new(
            EvidenceType::MitmArpAttack,
            Ioc::src_ip(saddr),
            ThreatLevel::Critical,
            0.2,
            format!(
                "{saddr} performing a MITM ARP attack. The MAC {}, now belonging to {saddr}, was seen before for IP {original}.",
                a.src_mac
            ),
            saddr,
            ctx.timewindow.number,
            a.ts,
        );
        e.victim = Some(Ioc::dst_ip(original));
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{arp, Harness};

    const MAC: &str = "2e:a4:18:f8:3d:02";
    const BCAST: &str = "ff:ff:ff:ff:ff:ff";
    const ZERO: &str = "00:00:00:00:00:00";

    fn announce(ip: &str, ts: f64) -> dissectors::arp::ArpRecord {
        arp(ArpOperation::Reply, (MAC, BCAST), (ip, ip), (MAC, ZERO), ts)
    }

    #[test]
    fn a_second_address_claims_the_mac() {
        // Slips' own example (arp.py): two replies for .40 then .41 from one MAC
        let mut h = Harness::new(Config::default());
        let mut d = MitmArp::new(&Config::default());
        assert!(h.feed(&mut d, announce("172.20.7.40", 1.0)).is_empty());
        let out = h.feed(&mut d, announce("172.20.7.41", 2.0));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "172.20.7.41 performing a MITM ARP attack. The MAC 2e:a4:18:f8:3d:02, now belonging to 172.20.7.41, was seen before for IP 172.20.7.40."
        );
        assert_eq!(out[0].threat_level, ThreatLevel::Critical);
        assert_eq!(out[0].confidence, 0.2);
        assert_eq!(
            out[0].victim,
            Some(Ioc::dst_ip("172.20.7.40".parse().unwrap()))
        );
        assert!(h.feed(&mut d, announce("172.20.7.41", 3.0)).is_empty());
    }

    #[test]
    fn the_original_address_and_requests_are_silent() {
        let mut h = Harness::new(Config::default());
        let mut d = MitmArp::new(&Config::default());
        assert!(h.feed(&mut d, announce("172.20.7.40", 1.0)).is_empty());
        assert!(h.feed(&mut d, announce("172.20.7.40", 2.0)).is_empty());
        let r = arp(
            ArpOperation::Request,
            (MAC, BCAST),
            ("172.20.7.42", "172.20.7.1"),
            (MAC, ZERO),
            3.0,
        );
        assert!(h.feed(&mut d, r).is_empty());
    }
}
