//! `PORT_0_CONNECTION`: a TCP or UDP connection from or to port 0, as Slips does it
//! (`modules/flow_alerts/conn.py:check_conn_to_port_0`,
//! `set_evidence.py:port_0_connection`). ICMP and multicast destinations are skipped.
//! The side using port 0 is the attacker: the source when its port is 0, else the
//! destination (then reported against the profile acting, with direction DST). High
//! threat, confidence 0.8.

use dissectors::{Record, Transport};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "port_0_connection";

#[derive(Default)]
pub struct Port0Connection;

impl Port0Connection {
    pub fn new(_config: &Config) -> Self {
        Port0Connection
    }
}

impl Detector for Port0Connection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        if !matches!(c.id.proto, Transport::Tcp | Transport::Udp) || c.id.resp_h.is_multicast() {
            return;
        }
        let (sport, dport) = (c.id.orig_p, c.id.resp_p);
        if sport != 0 && dport != 0 {
            return;
        }
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        let (attacker, victim) = if sport == 0 {
            (Ioc::src_ip(saddr), Ioc::dst_ip(daddr))
        } else {
            (Ioc::dst_ip(daddr), Ioc::src_ip(saddr))
        };
        let mut e = Evidence::new(
            EvidenceType::Port0Connection,
            attacker,
            ThreatLevel::High,
            0.8,
            format!("Connection on port 0 from {saddr}:{sport} to {daddr}:{dport}."),
            ctx.profile_ip,
            ctx.timewindow.number,
            c.ts,
        );
        e.victim = Some(victim);
        e.proto = Some(c.id.proto);
        e.from_connection(c.uid, &c.id);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Direction;
    use crate::testutil::{conn, Harness};

    #[test]
    fn source_or_destination_port_zero() {
        let mut h = Harness::new(Config::default());
        let mut d = Port0Connection::new(&h.config);
        let out = h.feed(&mut d, conn("10.0.0.2", 0, "8.8.8.8", 80, 1.0));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(out[0].confidence, 0.8);
        assert_eq!(
            out[0].description,
            "Connection on port 0 from 10.0.0.2:0 to 8.8.8.8:80."
        );
        let out = h.feed(&mut d, conn("10.0.0.2", 5555, "8.8.8.8", 0, 2.0));
        assert_eq!(out[0].attacker.direction, Direction::Dst);
        assert_eq!(
            out[0].profile,
            "10.0.0.2".parse::<std::net::IpAddr>().unwrap()
        );
    }

    #[test]
    fn ordinary_icmp_and_multicast_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = Port0Connection::new(&h.config);
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 1234, "8.8.8.8", 80, 1.0))
            .is_empty());
        let mut icmp = conn("10.0.0.2", 0, "8.8.8.8", 0, 2.0);
        icmp.id.proto = Transport::Icmp;
        assert!(h.feed(&mut d, icmp).is_empty());
        let mut igmp = conn("10.0.0.2", 0, "224.0.0.22", 0, 3.0);
        igmp.id.proto = Transport::Udp;
        assert!(h.feed(&mut d, igmp).is_empty());
    }
}
