//! `CONNECTION_TO_PRIVATE_IP`: a connection from a private address to another private
//! address, as Slips does it (`modules/flow_alerts/conn.py:check_connection_to_local_ip`,
//! `set_evidence.py:conn_to_private_ip`). DNS queries (UDP to port 53), DHCPv6 (ports
//! 546/547) and DHCP to the network's DHCP server (67/68 UDP; Slips checks the
//! gateway, here the host seen answering DHCP) are skipped. Info threat, confidence 1.
//!
//! Slips also skips UDP replies from port 53 of a resolver it has identified; slipstream
//! does not identify resolvers, so those are reported like other flows.

use dissectors::{Record, Transport};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::slips::is_private;

pub const NAME: &str = "connection_to_private_ip";

#[derive(Default)]
pub struct ConnectionToPrivateIp;

impl ConnectionToPrivateIp {
    pub fn new(_config: &Config) -> Self {
        ConnectionToPrivateIp
    }
}

impl Detector for ConnectionToPrivateIp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        let (sport, dport) = (c.id.orig_p, c.id.resp_p);
        if c.id.proto == Transport::Udp {
            let to_dhcp_server =
                matches!(dport, 67 | 68) && ctx.hosts.get(daddr).is_some_and(|h| h.dhcp_server);
            if to_dhcp_server
                || dport == 53
                || matches!(sport, 546 | 547)
                || matches!(dport, 546 | 547)
            {
                return;
            }
        }
        if !(is_private(saddr) && is_private(daddr)) {
            return;
        }
        let description = match c.id.proto {
            Transport::Icmp => format!("Connecting to private IP: {daddr} protocol: ICMP"),
            _ => format!("Connecting to private IP: {daddr} on destination port: {dport}"),
        };
        let mut e = Evidence::new(
            EvidenceType::ConnectionToPrivateIp,
            Ioc::src_ip(saddr),
            ThreatLevel::Info,
            1.0,
            description,
            saddr,
            ctx.timewindow.number,
            c.ts,
        );
        e.victim = Some(Ioc::dst_ip(daddr));
        e.from_connection(c.uid, &c.id);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, Harness};

    #[test]
    fn private_to_private_fires() {
        let mut h = Harness::new(Config::default());
        let mut d = ConnectionToPrivateIp::new(&h.config);
        let out = h.feed(&mut d, conn("192.168.1.5", 40000, "192.168.1.9", 445, 1.0));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].threat_level, ThreatLevel::Info);
        assert_eq!(out[0].confidence, 1.0);
        assert_eq!(
            out[0].description,
            "Connecting to private IP: 192.168.1.9 on destination port: 445"
        );
        let mut icmp = conn("10.0.0.1", 8, "10.0.0.2", 0, 2.0);
        icmp.id.proto = Transport::Icmp;
        assert_eq!(
            h.feed(&mut d, icmp)[0].description,
            "Connecting to private IP: 10.0.0.2 protocol: ICMP"
        );
    }

    #[test]
    fn public_ends_dns_and_dhcpv6_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = ConnectionToPrivateIp::new(&h.config);
        assert!(h
            .feed(&mut d, conn("192.168.1.5", 1, "8.8.8.8", 443, 1.0))
            .is_empty());
        assert!(h
            .feed(&mut d, conn("8.8.8.8", 1, "192.168.1.5", 443, 1.0))
            .is_empty());
        let mut dns = conn("192.168.1.5", 5353, "192.168.1.1", 53, 1.0);
        dns.id.proto = Transport::Udp;
        assert!(h.feed(&mut d, dns).is_empty());
        let mut dhcp6 = conn("fe80::1", 546, "fe80::2", 547, 1.0);
        dhcp6.id.proto = Transport::Udp;
        assert!(h.feed(&mut d, dhcp6).is_empty());
    }
}
