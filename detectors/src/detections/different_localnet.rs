//! `DIFFERENT_LOCALNET`: a connection that involves a private address outside the
//! local network in use, as Slips does it
//! (`modules/flow_alerts/conn.py:check_different_localnet_usage`,
//! `utils.py:should_check_different_localnet`, `set_evidence.py:different_localnet_usage`).
//!
//! The local network is the first `parameters.home_network` prefix when one is
//! configured (Slips' `client_ips`), else the private block (10/8, 172.16/12,
//! 192.168/16) of the first private IPv4 source seen (Slips' `get_cidr_of_private_ip`).
//! Flows between private addresses, or from a public address to a private one, of the
//! same IP version, none special (0.0.0.0, broadcast, loopback, multicast,
//! link-local), and not DNS (UDP to 53) are checked: the destination first (attacker:
//! the destination, high threat, counted in its profile), then the source (low
//! threat). Confidence 1.
//!
//! Slips skips resolvers it has identified on port 53 and checks DNS flows separately
//! in `dns.py`; slipstream identifies no resolvers and leaves DNS flows out.

use std::net::IpAddr;

use dissectors::net::Cidr;
use dissectors::{ConnRecord, Record, Transport};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::slips::{is_link_local, is_private, is_special_v4, proto_name};

pub const NAME: &str = "different_localnet";

pub struct DifferentLocalnet {
    local_net: Option<Cidr>,
    configured: bool,
}

impl DifferentLocalnet {
    pub fn new(config: &Config) -> Self {
        let local_net = config.home_networks().into_iter().next();
        DifferentLocalnet {
            configured: local_net.is_some(),
            local_net,
        }
    }
}

/// Slips' `get_cidr_of_private_ip`.
fn private_block(ip: IpAddr) -> Option<Cidr> {
    let IpAddr::V4(a) = ip else { return None };
    let o = a.octets();
    let block = match o[0] {
        10 => "10.0.0.0/8",
        172 if (o[1] & 0xf0) == 16 => "172.16.0.0/12",
        192 if o[1] == 168 => "192.168.0.0/16",
        _ => return None,
    };
    block.parse().ok()
}

fn is_ignored_localnet_ip(ip: IpAddr) -> bool {
    is_special_v4(ip) || ip.is_loopback() || ip.is_multicast() || is_link_local(ip)
}

fn should_check(c: &ConnRecord) -> bool {
    let (s, d) = (c.id.orig_h, c.id.resp_h);
    if c.id.proto == Transport::Udp && c.id.resp_p == 53 {
        return false;
    }
    if s.is_ipv4() != d.is_ipv4() || is_ignored_localnet_ip(s) || is_ignored_localnet_ip(d) {
        return false;
    }
    is_private(d)
}

impl Detector for DifferentLocalnet {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        if !self.configured && self.local_net.is_none() {
            self.local_net = private_block(c.id.orig_h);
        }
        let Some(local) = self.local_net else { return };
        if !should_check(c) {
            return;
        }
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        let dport = c.id.resp_p;
        let proto = proto_name(c);
        let outside = |ip: IpAddr| {
            !is_ignored_localnet_ip(ip)
                && is_private(ip)
                && ip.is_ipv4() == local.addr.is_ipv4()
                && !local.contains(ip)
        };
        let tw = ctx.timewindow.number;
        let mut push = |attacker: Ioc, victim: Ioc, level, description: String| {
            let profile = attacker.value.ip().unwrap_or(saddr);
            let mut e = Evidence::new(
                EvidenceType::DifferentLocalnet,
                attacker,
                level,
                1.0,
                description,
                profile,
                tw,
                c.ts,
            );
            e.victim = Some(victim);
            e.from_connection(c.uid, &c.id);
            out.push(e);
        };
        if outside(daddr) {
            push(
                Ioc::dst_ip(daddr),
                Ioc::src_ip(saddr),
                ThreatLevel::High,
                format!(
                    "A connection to a private IP ({daddr}) on port {dport}/{proto} outside of \
                     the used local network {}/{}. From IP: {saddr} on destination port: \
                     {dport}/{}",
                    local.addr,
                    local.len,
                    proto.to_ascii_uppercase()
                ),
            );
        }
        if outside(saddr) {
            push(
                Ioc::src_ip(saddr),
                Ioc::dst_ip(daddr),
                ThreatLevel::Low,
                format!(
                    "A connection from a private IP ({saddr}) on port {dport}/{proto} outside \
                     of the used local network {}/{}. To IP: {daddr} ",
                    local.addr, local.len
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, Harness};

    #[test]
    fn destination_outside_the_learned_local_net() {
        let mut h = Harness::new(Config::default());
        let mut d = DifferentLocalnet::new(&h.config);
        // The first private source fixes 192.168.0.0/16.
        assert!(h
            .feed(&mut d, conn("192.168.1.5", 1, "192.168.1.9", 80, 1.0))
            .is_empty());
        let out = h.feed(&mut d, conn("192.168.1.5", 2, "10.1.1.1", 445, 2.0));
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.threat_level, ThreatLevel::High);
        assert_eq!(e.attacker, Ioc::dst_ip("10.1.1.1".parse().unwrap()));
        assert_eq!(e.profile, "10.1.1.1".parse::<IpAddr>().unwrap());
        assert_eq!(
            e.description,
            "A connection to a private IP (10.1.1.1) on port 445/tcp outside of the used local \
             network 192.168.0.0/16. From IP: 192.168.1.5 on destination port: 445/TCP"
        );
        // Both ends outside: two evidence.
        let out = h.feed(&mut d, conn("10.2.2.2", 3, "172.16.0.1", 22, 3.0));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].threat_level, ThreatLevel::Low);
        assert_eq!(
            out[1].description,
            "A connection from a private IP (10.2.2.2) on port 22/tcp outside of the used local \
             network 192.168.0.0/16. To IP: 172.16.0.1 "
        );
    }

    #[test]
    fn inside_public_dns_and_special_do_not_fire() {
        let mut config = Config::default();
        config.parameters.home_network = vec!["10.0.0.0/8".into()];
        let mut h = Harness::new(config);
        let mut d = DifferentLocalnet::new(&h.config);
        assert!(h
            .feed(&mut d, conn("10.0.0.5", 1, "10.9.9.9", 80, 1.0))
            .is_empty());
        assert!(h
            .feed(&mut d, conn("10.0.0.5", 1, "8.8.8.8", 80, 1.0))
            .is_empty());
        let mut dns = conn("10.0.0.5", 1, "192.168.1.1", 53, 1.0);
        dns.id.proto = Transport::Udp;
        assert!(h.feed(&mut d, dns).is_empty());
        assert!(h
            .feed(&mut d, conn("10.0.0.5", 1, "224.0.0.1", 80, 1.0))
            .is_empty());
        // Public to a private address outside: reported.
        assert_eq!(
            h.feed(&mut d, conn("8.8.8.8", 1, "192.168.1.1", 80, 1.0))
                .len(),
            1
        );
    }
}
