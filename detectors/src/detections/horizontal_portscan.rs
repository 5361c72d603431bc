//! `HORIZONTAL_PORT_SCAN`: one source reaching the same port on many hosts, with
//! connections that were never established.
//!
//! As Slips does it (`modules/network_discovery/horizontal_portscan.py:check`,
//! `set_evidence_horizontal_portscan`; the counters in
//! `scan_detections_db.py:_store_horizontal_portscan_info`): only TCP and UDP flows the
//! profile started, in a state Slips calls "Not Established" ([`is_established`]), and
//! not flipped by Zeek (`^` in the history: a benign host changing network redoes many
//! connections that look like a scan); per profile, time window, transport and
//! destination port the distinct destination hosts are counted. A scan is reported
//! when it reaches `network_discovery.port_scan_minimum_dips` hosts (5) and again,
//! in the same window, each time the log10 bucket of the count grows (10, 100, 1000
//! hosts): one evidence per scan episode with the count growing. Sources and
//! destinations that are multicast or the limited broadcast are ignored, and so is
//! port 0. Threat level high; confidence from the packets sent
//! ([`confidence_from_packets`]).
//!
//! Where Slips' versions differ: the latest one buckets the packet count instead of the
//! host count and drops the minimum of hosts; this follows the host count with the
//! minimum, as the reference table states. "Total packets sent" counts the packets the
//! scanner sent (`orig_pkts`). At most [`MAX_EVIDENCE_UIDS`] flows are named.
//!
//! Also from Zeek's own scan detection when reading Zeek logs: a `Scan::Address_Scan`
//! notice is reported as Slips' `set_evidence.py:horizontal_portscan` does (confidence 1).
//!
//! [`MAX_EVIDENCE_UIDS`]: super::scan_groups::MAX_EVIDENCE_UIDS

use std::net::IpAddr;

use dissectors::notice::NoticeRecord;
use dissectors::{ConnRecord, Record, Transport};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::ports::PortsInfo;
use crate::slips::is_established;

use super::scan_groups::{confidence_from_packets, ScanGroups};

pub const NAME: &str = "horizontal_portscan";

pub struct HorizontalPortscan {
    /// Per (profile, window, transport, destination port): destination hosts.
    groups: ScanGroups<u16, IpAddr>,
}

impl HorizontalPortscan {
    pub fn new(config: &Config) -> Self {
        HorizontalPortscan {
            groups: ScanGroups::new(config.network_discovery.port_scan_minimum_dips),
        }
    }

    fn flow(&mut self, ctx: &Context<'_>, c: &ConnRecord, out: &mut EvidenceSink) {
        if !matches!(c.id.proto, Transport::Tcp | Transport::Udp)
            || c.id.resp_p == 0
            || is_established(c)
            || c.history.as_deref().is_some_and(|h| h.contains('^'))
            || !is_scannable(c.id.orig_h)
            || !is_scannable(c.id.resp_h)
        {
            return;
        }
        let profile = ctx.profile_ip;
        let Some(group) = self.groups.observe(
            profile,
            ctx.timewindow.number,
            c.id.proto,
            c.id.resp_p,
            c.id.resp_h,
            c.orig_pkts,
            c.ts,
            c.uid,
        ) else {
            return;
        };
        let proto = c.id.proto.as_str();
        let port = c.id.resp_p;
        let service = PortsInfo::shipped().service(port, c.id.proto).unwrap_or("");
        let confidence = confidence_from_packets(group.packets);
        let mut e = Evidence::new(
            EvidenceType::HorizontalPortScan,
            Ioc::src_ip(profile),
            ThreatLevel::High,
            confidence,
            format!(
                "Horizontal port scan to port {service} {port}/{proto}. From {profile} to {} unique destination IPs. Total packets sent: {}. Confidence: {confidence}. by Slips",
                group.members.len(),
                group.packets,
            ),
            profile,
            ctx.timewindow.number,
            group.first_ts,
        );
        e.uids.extend_from_slice(&group.uids);
        e.proto = Some(c.id.proto);
        e.dst_port = Some(port);
        out.push(e);
    }

    fn notice(&mut self, ctx: &Context<'_>, n: &NoticeRecord, out: &mut EvidenceSink) {
        if !n.note.contains("Address_Scan") {
            return;
        }
        let msg = n.msg.as_deref().unwrap_or("");
        let mut e = Evidence::new(
            EvidenceType::HorizontalPortScan,
            Ioc::src_ip(ctx.profile_ip),
            ThreatLevel::High,
            1.0,
            format!("horizontal port scan by Zeek engine. {msg}"),
            ctx.profile_ip,
            ctx.timewindow.number,
            n.ts,
        );
        e.uids.extend(n.uid);
        e.proto = n.proto;
        e.dst_port = n.p;
        out.push(e);
    }
}

/// Slips' `is_valid_saddr`/`is_valid_daddr`: not multicast, not 255.255.255.255.
pub(super) fn is_scannable(ip: IpAddr) -> bool {
    !ip.is_multicast() && ip != IpAddr::V4(std::net::Ipv4Addr::BROADCAST)
}

impl Detector for HorizontalPortscan {
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

    fn s0(dst: &str, dport: u16, ts: f64) -> ConnRecord {
        let mut c = conn("10.0.0.9", 40000, dst, dport, ts);
        c.conn_state = ConnState::S0;
        c.history = Some("S".into());
        c.orig_pkts = 1;
        c.resp_pkts = 0;
        c
    }

    fn setup(config: Config) -> (Harness, HorizontalPortscan) {
        let d = HorizontalPortscan::new(&config);
        (Harness::new(config), d)
    }

    fn scan(h: &mut Harness, d: &mut HorizontalPortscan, hosts: u32, dport: u16) -> Vec<Evidence> {
        (0..hosts)
            .flat_map(|i| {
                let dst = format!("203.0.{}.{}", i / 250, i % 250 + 1);
                h.feed(d, s0(&dst, dport, 1000.0 + f64::from(i)))
            })
            .collect()
    }

    #[test]
    fn fires_at_five_hosts_then_at_ten_and_a_hundred() {
        let (mut h, mut d) = setup(Config::default());
        assert!(
            scan(&mut h, &mut d, 4, 80).is_empty(),
            "four hosts are no scan"
        );
        let out = h.feed(&mut d, s0("203.0.0.77", 80, 1100.0));
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::HorizontalPortScan);
        assert_eq!(e.threat_level, ThreatLevel::High);
        assert_eq!(e.confidence, 0.5);
        assert_eq!(
            e.description,
            "Horizontal port scan to port http 80/tcp. From 10.0.0.9 to 5 unique destination IPs. Total packets sent: 5. Confidence: 0.5. by Slips"
        );
        assert_eq!(e.attacker, Ioc::src_ip("10.0.0.9".parse().unwrap()));
        assert_eq!(e.profile, "10.0.0.9".parse::<IpAddr>().unwrap());
        assert_eq!(e.victim, None);
        assert_eq!((e.proto, e.dst_port), (Some(Transport::Tcp), Some(80)));
        assert_eq!(e.uids.len(), 5);
        assert_eq!(e.timestamp, dissectors::Timestamp::from_secs_f64(1000.0));

        let (mut h, mut d) = setup(Config::default());
        let counts: Vec<String> = scan(&mut h, &mut d, 150, 80)
            .iter()
            .map(|e| e.description.split(" to ").nth(2).unwrap().to_string())
            .collect();
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!(counts[0].starts_with("5 unique"));
        assert!(counts[1].starts_with("10 unique"));
        assert!(counts[2].starts_with("100 unique"));
    }

    #[test]
    fn does_not_fire_for_established_flipped_repeated_or_spread_traffic() {
        let (mut h, mut d) = setup(Config::default());
        let mut quiet = |c: ConnRecord| assert!(h.feed(&mut d, c).is_empty());
        for i in 0..20u16 {
            let dst = format!("198.51.100.{i}");
            // Established connections to many hosts: browsing, not scanning.
            quiet(conn("10.0.0.9", 40000, &dst, 443, 1.0));
            // Flipped flows are left out.
            let mut c = s0(&dst, 8080, 1.0);
            c.history = Some("^S".into());
            quiet(c);
            // The same host many times, or each host on another port.
            quiet(s0("198.51.100.1", 22, 1.0));
            quiet(s0(&dst, 1000 + i, 1.0));
            // Multicast destinations and port 0 are not scanned.
            quiet(s0(&format!("239.0.0.{i}"), 1900, 1.0));
            quiet(s0(&dst, 0, 1.0));
        }
    }

    #[test]
    fn udp_is_counted_apart_and_windows_start_over() {
        let (mut h, mut d) = setup(Config::default());
        for i in 0..4 {
            let mut c = s0(&format!("198.51.100.{i}"), 53, 1.0);
            c.id.proto = Transport::Udp;
            assert!(h.feed(&mut d, c).is_empty());
        }
        // A fifth host on 53/tcp is another group.
        assert!(h.feed(&mut d, s0("198.51.100.9", 53, 1.0)).is_empty());
        let mut c = s0("198.51.100.9", 53, 1.0);
        c.id.proto = Transport::Udp;
        let out = h.feed(&mut d, c);
        assert_eq!(out.len(), 1);
        assert!(
            out[0].description.contains(" 53/udp. "),
            "{}",
            out[0].description
        );
        // The next window counts from zero.
        for i in 0..4 {
            let mut c = s0(&format!("198.51.100.{i}"), 53, 4000.0);
            c.id.proto = Transport::Udp;
            assert!(h.feed(&mut d, c).is_empty());
        }
    }

    #[test]
    fn minimum_comes_from_the_config() {
        let mut config = Config::default();
        config.network_discovery.port_scan_minimum_dips = 3;
        let (mut h, mut d) = setup(config);
        assert!(scan(&mut h, &mut d, 2, 6898).is_empty());
        let out = h.feed(&mut d, s0("198.51.100.200", 6898, 1100.0));
        assert_eq!(out.len(), 1);
        assert!(out[0]
            .description
            .starts_with("Horizontal port scan to port  6898/tcp."));
    }

    #[test]
    fn config_keys_are_read_and_checked() {
        let path = std::path::Path::new("t.yaml");
        let c = Config::parse("network_discovery:\n  port_scan_minimum_dips: 7\n", path).unwrap();
        assert_eq!(c.network_discovery.port_scan_minimum_dips, 7);
        assert_eq!(c.network_discovery.arpa_scan_threshold, 10);
        let e = Config::parse("network_discovery:\n  minimum_requested_addrs: 0\n", path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("network_discovery.minimum_requested_addrs"),
            "{e}"
        );
        let shipped = Config::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/slipstream.yaml"),
        )
        .unwrap();
        assert_eq!(shipped.network_discovery.port_scan_minimum_dports, 5);
    }

    #[test]
    fn zeek_address_scan_notice() {
        let (mut h, mut d) = setup(Config::default());
        let n = notice(
            "10.0.0.9",
            "Scan::Address_Scan",
            "10.0.0.9 scanned at least 25 unique hosts on port 23/tcp in 0m3s",
            5.0,
        );
        let out = h.feed(&mut d, n);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, 1.0);
        assert_eq!(out[0].attacker, Ioc::src_ip("10.0.0.9".parse().unwrap()));
        assert_eq!(
            out[0].description,
            "horizontal port scan by Zeek engine. 10.0.0.9 scanned at least 25 unique hosts on port 23/tcp in 0m3s"
        );
        assert!(h
            .feed(&mut d, notice("10.0.0.9", "Scan::Port_Scan", "x", 6.0))
            .is_empty());
    }
}
