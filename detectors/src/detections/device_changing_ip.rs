//! `DEVICE_CHANGING_IP`: a device (a MAC address) seen with a new private IPv4 address,
//! as Slips does it (`modules/flow_alerts/conn.py:check_device_changing_ips`,
//! `set_evidence.py:device_changing_ips`). Checked once per source address, at its first
//! connection: when the source's MAC was bound earlier to another IPv4 address (not
//! 0.0.0.0, broadcast or link-local), it is reported. Medium threat, confidence 0.8.
//!
//! Slips reads the source MAC from each flow; slipstream knows MACs from DHCP and ARP
//! (`Host::mac`, `Host::other_ips`), and takes as the original address the one of the
//! same MAC that was seen first.

use std::net::IpAddr;

use dissectors::Record;
use hashbrown::HashSet;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::slips::{is_link_local, is_private, is_special_v4};

pub const NAME: &str = "device_changing_ip";

const MAX_SEEN: usize = 1 << 20;

#[derive(Default)]
pub struct DeviceChangingIp {
    seen: HashSet<IpAddr>,
}

impl DeviceChangingIp {
    pub fn new(_config: &Config) -> Self {
        Self::default()
    }
}

fn ok_to_change(ip: IpAddr) -> bool {
    is_special_v4(ip) || is_link_local(ip)
}

impl Detector for DeviceChangingIp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        let saddr = c.id.orig_h;
        if !saddr.is_ipv4() || !is_private(saddr) || ok_to_change(saddr) {
            return;
        }
        if self.seen.contains(&saddr) || self.seen.len() >= MAX_SEEN {
            return;
        }
        self.seen.insert(saddr);
        let me = ctx.profile;
        let Some(mac) = me.mac else { return };
        let original = me
            .other_ips
            .iter()
            .copied()
            .filter(|ip| ip.is_ipv4() && !ok_to_change(*ip))
            .filter_map(|ip| ctx.hosts.get(ip))
            .filter(|h| h.mac == Some(mac) && h.first_seen < me.first_seen)
            .min_by_key(|h| h.first_seen);
        let Some(old) = original else { return };
        let old_ip = old.ip;
        let mut e = Evidence::new(
            EvidenceType::DeviceChangingIp,
            Ioc::src_ip(saddr),
            ThreatLevel::Medium,
            0.8,
            format!(
                "A device changing IPs. IP {saddr} was found with MAC address {mac} but the MAC \
                 belongs originally to IP: {old_ip}. "
            ),
            saddr,
            ctx.timewindow.number,
            c.ts,
        );
        e.uids.push(c.uid);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, Harness};
    use dissectors::arp::ArpOperation;

    fn arp_from(h: &mut Harness, d: &mut DeviceChangingIp, ip: &str, ts: f64) {
        let mac = "08:00:27:aa:bb:cc";
        let a = crate::testutil::arp(
            ArpOperation::Request,
            (mac, "ff:ff:ff:ff:ff:ff"),
            (ip, "192.168.1.1"),
            (mac, "00:00:00:00:00:00"),
            ts,
        );
        h.feed(d, a);
    }

    #[test]
    fn a_mac_moving_to_a_new_address_fires_once() {
        let mut h = Harness::new(Config::default());
        let mut d = DeviceChangingIp::new(&h.config);
        arp_from(&mut h, &mut d, "192.168.1.10", 1.0);
        assert!(h
            .feed(&mut d, conn("192.168.1.10", 1, "8.8.8.8", 53, 2.0))
            .is_empty());
        arp_from(&mut h, &mut d, "192.168.1.77", 3.0);
        let out = h.feed(&mut d, conn("192.168.1.77", 1, "8.8.8.8", 443, 4.0));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "A device changing IPs. IP 192.168.1.77 was found with MAC address 08:00:27:aa:bb:cc \
             but the MAC belongs originally to IP: 192.168.1.10. "
        );
        assert!(h
            .feed(&mut d, conn("192.168.1.77", 2, "8.8.8.8", 443, 5.0))
            .is_empty());
    }

    #[test]
    fn unknown_macs_and_public_sources_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = DeviceChangingIp::new(&h.config);
        assert!(h
            .feed(&mut d, conn("192.168.1.10", 1, "8.8.8.8", 53, 2.0))
            .is_empty());
        assert!(h
            .feed(&mut d, conn("93.1.1.1", 1, "8.8.8.8", 53, 2.0))
            .is_empty());
    }
}
