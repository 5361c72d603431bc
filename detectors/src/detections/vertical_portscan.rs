//! `VERTICAL_PORT_SCAN`: one source reaching many ports of the same host, with
//! connections that were never established.
//!
//! As Slips does it (`modules/network_discovery/vertical_portscan.py:check`,
//! `set_evidence_vertical_portscan`; the counters in
//! `scan_detections_db.py:_store_vertical_portscan_info`): only TCP and UDP flows the
//! profile started, in a state Slips calls "Not Established" ([`is_established`]); per
//! profile, time window, transport and destination host the distinct destination ports
//! are counted. A scan is reported when it reaches
//! `network_discovery.port_scan_minimum_dports` ports (5) and again, in the same window,
//! each time the log10 bucket of the count grows (10, 100, 1000, 10000 ports): one
//! evidence per scan episode with the count growing. Multicast and limited-broadcast
//! sources and destinations are ignored. Threat level high; confidence from the packets
//! sent ([`confidence_from_packets`]); the scanned host is the victim.
//!
//! Where Slips' versions differ: the latest one buckets the packet count instead of the
//! port count and drops the minimum of ports; this follows the port count with the
//! minimum, as the reference table states. "Total packets sent" counts the packets the
//! scanner sent (`orig_pkts`). At most [`MAX_EVIDENCE_UIDS`] flows are named.
//!
//! Also from Zeek's own scan detection when reading Zeek logs: a `Scan::Port_Scan`
//! notice is reported as Slips' `set_evidence.py:vertical_portscan` does (confidence 1,
//! the victim taken from the message).
//!
//! [`MAX_EVIDENCE_UIDS`]: super::scan_groups::MAX_EVIDENCE_UIDS

use std::net::IpAddr;

use dissectors::notice::NoticeRecord;
use dissectors::{ConnRecord, Record, Transport};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::slips::is_established;

use super::horizontal_portscan::is_scannable;
use super::scan_groups::{confidence_from_packets, ScanGroups};

pub const NAME: &str = "vertical_portscan";

pub struct VerticalPortscan {
    /// Per (profile, window, transport, destination host): destination ports.
    groups: ScanGroups<IpAddr, u16>,
}

impl VerticalPortscan {
    pub fn new(config: &Config) -> Self {
        VerticalPortscan {
            groups: ScanGroups::new(config.network_discovery.port_scan_minimum_dports),
        }
    }

    fn flow(&mut self, ctx: &Context<'_>, c: &ConnRecord, out: &mut EvidenceSink) {
        if !matches!(c.id.proto, Transport::Tcp | Transport::Udp)
            || is_established(c)
            || !is_scannable(c.id.orig_h)
            || !is_scannable(c.id.resp_h)
        {
            return;
        }
        let profile = ctx.profile_ip;
        let victim = c.id.resp_h;
        let Some(group) = self.groups.observe(
            profile,
            ctx.timewindow.number,
            c.id.proto,
            victim,
            c.id.resp_p,
            c.orig_pkts,
            c.ts,
            c.uid,
        ) else {
            return;
        };
        let confidence = confidence_from_packets(group.packets);
        let mut e = Evidence::new(
            EvidenceType::VerticalPortScan,
            Ioc::src_ip(profile),
            ThreatLevel::High,
            confidence,
            format!(
                "new vertical port scan to IP {victim} from {profile}. Total {} {} ports were scanned. Total packets sent to all ports: {}. Confidence: {confidence}. by Slips",
                group.members.len(),
                c.id.proto.as_str().to_ascii_uppercase(),
                group.packets,
            ),
            profile,
            ctx.timewindow.number,
            group.first_ts,
        );
        e.victim = Some(Ioc::dst_ip(victim));
        e.uids.extend_from_slice(&group.uids);
        e.proto = Some(c.id.proto);
        out.push(e);
    }

    fn notice(&mut self, ctx: &Context<'_>, n: &NoticeRecord, out: &mut EvidenceSink) {
        if !n.note.contains("Port_Scan") {
            return;
        }
        let msg = n.msg.as_deref().unwrap_or("");
        let scanner = n.src.unwrap_or(ctx.profile_ip);
        let mut e = Evidence::new(
            EvidenceType::VerticalPortScan,
            Ioc::src_ip(scanner),
            ThreatLevel::High,
            1.0,
            format!("vertical port scan by Zeek engine. {msg}"),
            scanner,
            ctx.timewindow.number,
            n.ts,
        );
        // "10.0.0.1 has scanned 60 ports of host 10.0.0.2 in 0m2s"
        e.victim = msg
            .rsplit("ports of host ")
            .next()
            .and_then(|rest| rest.split(" in").next())
            .and_then(|ip| ip.trim().parse().ok())
            .or(n.dst)
            .map(Ioc::dst_ip);
        e.uids.extend(n.uid);
        e.proto = n.proto;
        out.push(e);
    }
}

impl Detector for VerticalPortscan {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        match record {
            Record::Conn(c) => self.flow(ctx, c, out),
            Record::Notice(n) => self.notice(ctx, n, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, notice, Harness};
    use dissectors::ConnState;

    fn rej(dst: &str, dport: u16, ts: f64) -> ConnRecord {
        let mut c = conn("192.168.1.50", 41000, dst, dport, ts);
        c.conn_state = ConnState::REJ;
        c.history = Some("Sr".into());
        c.orig_pkts = 2;
        c.resp_pkts = 1;
        c
    }

    fn setup(config: Config) -> (Harness, VerticalPortscan) {
        let d = VerticalPortscan::new(&config);
        (Harness::new(config), d)
    }

    #[test]
    fn fires_at_five_ports_then_at_each_power_of_ten() {
        let (mut h, mut d) = setup(Config::default());
        for p in 1..5 {
            assert!(h.feed(&mut d, rej("192.168.1.1", p, 10.0)).is_empty());
        }
        let out = h.feed(&mut d, rej("192.168.1.1", 5, 11.0));
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::VerticalPortScan);
        assert_eq!(e.threat_level, ThreatLevel::High);
        assert_eq!(e.confidence, 1.0);
        assert_eq!(
            e.description,
            "new vertical port scan to IP 192.168.1.1 from 192.168.1.50. Total 5 TCP ports were scanned. Total packets sent to all ports: 10. Confidence: 1. by Slips"
        );
        assert_eq!(e.victim, Some(Ioc::dst_ip("192.168.1.1".parse().unwrap())));
        assert_eq!(e.attacker, Ioc::src_ip("192.168.1.50".parse().unwrap()));
        assert_eq!(e.proto, Some(Transport::Tcp));
        assert_eq!(e.uids.len(), 5);

        let mut reported = Vec::new();
        for p in 6..=1000 {
            for e in h.feed(&mut d, rej("192.168.1.1", p, 12.0)) {
                reported.push(e.description.split("Total ").nth(1).unwrap().to_string());
            }
        }
        assert_eq!(
            reported,
            [
                "10 TCP ports were scanned. ",
                "100 TCP ports were scanned. ",
                "1000 TCP ports were scanned. "
            ]
        );
    }

    #[test]
    fn does_not_fire_for_open_ports_other_hosts_or_repeats() {
        let (mut h, mut d) = setup(Config::default());
        let mut quiet = |c: ConnRecord| assert!(h.feed(&mut d, c).is_empty());
        for p in 1..50 {
            // Established connections to many ports of a server.
            quiet(conn("192.168.1.50", 41000, "192.168.1.2", p, 10.0));
            // One port per host.
            quiet(rej(&format!("192.168.2.{p}"), p, 10.0));
            // The same port again and again.
            quiet(rej("192.168.1.3", 22, 10.0));
            // Multicast.
            quiet(rej("224.0.0.251", p, 10.0));
        }
        // Four ports of a host, four more over UDP: neither reaches five.
        for p in 1..5 {
            quiet(rej("192.168.1.4", p, 10.0));
            let mut c = rej("192.168.1.4", 100 + p, 10.0);
            c.id.proto = Transport::Udp;
            c.conn_state = ConnState::S0;
            quiet(c);
        }
    }

    #[test]
    fn udp_scan_of_unanswered_ports() {
        let mut config = Config::default();
        config.network_discovery.port_scan_minimum_dports = 3;
        let (mut h, mut d) = setup(config);
        let mut out = Vec::new();
        for p in [53, 123, 161] {
            let mut c = rej("192.168.1.1", p, 10.0);
            c.id.proto = Transport::Udp;
            c.conn_state = ConnState::S0;
            c.orig_pkts = 1;
            out.extend(h.feed(&mut d, c));
        }
        assert_eq!(out.len(), 1);
        assert!(out[0].description.contains(
            "Total 3 UDP ports were scanned. Total packets sent to all ports: 3. Confidence: 0.3."
        ));
    }

    #[test]
    fn zeek_port_scan_notice() {
        let (mut h, mut d) = setup(Config::default());
        let n = notice(
            "192.168.1.200",
            "Scan::Port_Scan",
            "192.168.1.200 has scanned 60 ports of host 192.168.1.102 in 0m2s",
            5.0,
        );
        let out = h.feed(&mut d, n);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, 1.0);
        assert_eq!(
            out[0].victim,
            Some(Ioc::dst_ip("192.168.1.102".parse().unwrap()))
        );
        assert_eq!(
            out[0].description,
            "vertical port scan by Zeek engine. 192.168.1.200 has scanned 60 ports of host 192.168.1.102 in 0m2s"
        );
        assert!(h
            .feed(
                &mut d,
                notice("192.168.1.200", "Scan::Address_Scan", "x", 6.0)
            )
            .is_empty());
    }
}
