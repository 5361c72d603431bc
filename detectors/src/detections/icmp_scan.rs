//! `ICMP_ADDRESS_SCAN` (ping sweeps), `ICMP_TIMESTAMP_SCAN` and
//! `ICMP_ADDRESS_MASK_SCAN`: a source probing hosts with ICMP echo, timestamp or
//! address-mask requests.
//!
//! From flows, as Slips does it (`modules/network_discovery/network_discovery.py:
//! check_icmp_scan`, `set_evidence_icmp_scan`): ICMP flows the profile started are
//! grouped per time window and ICMP type (Zeek's conn.log puts the type in `id.orig_p`):
//! echo request (8) is an address scan, timestamp (13, 14) a timestamp scan, address
//! mask (17, 18) an address-mask scan. When the group has reached a single host, an
//! evidence is set every `network_discovery.pingscan_minimum_flows` flows to it (5, 10,
//! 15 ...); when it has reached several, every
//! `network_discovery.pingscan_minimum_scanned_ips` hosts (5, 10, 15 ...), counted per
//! scan type as Slips' cache does. Threat level medium; confidence from the packets
//! sent ([`confidence_from_packets`]); the single host is the victim.
//!
//! Where this differs from Slips: Slips' table writes the types as Argus prints them
//! (`0x0013` for 13) and its newest version reads them as decimal (19, 20, 23, 24),
//! which no timestamp or mask request carries; the ICMP types are used here. ICMPv6
//! echo requests (128) also count as an address scan (Slips only looks at ICMPv4
//! types). Slips' newest version counts packets instead of flows for a single host,
//! which reports every routine `ping -c 5`; the flow count is kept. At most
//! [`MAX_EVIDENCE_UIDS`] flows are named, at most [`MAX_MEMBERS_PER_PROFILE`] hosts are
//! tracked per profile, window and type, and at most [`MAX_GROUPS`] groups at once.
//!
//! From Zeek notices (`check_icmp_sweep`, Slips' own Zeek scripts raise
//! `ICMP::ICMPAddressScan`, `ICMP::TimestampScan`, `ICMP::AddressMaskScan`): the
//! notice's message is the description and the confidence grows with the hosts it
//! names, `1 / (255 - 5) * (hosts - 255) + 1` (0 at 5 hosts, 1 at 255).

use std::net::IpAddr;

use dissectors::notice::NoticeRecord;
use dissectors::{ConnRecord, Record, Timestamp, Transport, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

use super::scan_groups::{
    confidence_from_packets, MAX_EVIDENCE_UIDS, MAX_GROUPS, MAX_MEMBERS_PER_PROFILE,
};

pub const NAME: &str = "icmp_scan";

/// The scan an ICMP request type belongs to.
fn attack_of(icmp_type: u16, v6: bool) -> Option<EvidenceType> {
    match (v6, icmp_type) {
        (false, 8) | (true, 128) => Some(EvidenceType::IcmpAddressScan),
        (false, 13 | 14) => Some(EvidenceType::IcmpTimestampScan),
        (false, 17 | 18) => Some(EvidenceType::IcmpAddressMaskScan),
        _ => None,
    }
}

#[derive(Debug, Default)]
struct HostStats {
    flows: u64,
    packets: u64,
    /// Flow count at the last single-host evidence.
    reported_flows: u64,
}

#[derive(Debug)]
struct TypeGroup {
    hosts: HashMap<IpAddr, HostStats>,
    flows: u64,
    packets: u64,
    first_ts: Timestamp,
    uids: Vec<Uid>,
}

pub struct IcmpScan {
    min_flows: u64,
    min_hosts: usize,
    /// Per (profile, window, ICMP type).
    groups: HashMap<(IpAddr, i64, u16), TypeGroup>,
    /// Hosts in the last several-hosts evidence, per (profile, window, scan type).
    reported_hosts: HashMap<(IpAddr, i64, EvidenceType), usize>,
    latest_window: i64,
    /// Hosts not tracked because a profile reached the cap.
    pub refused: u64,
}

impl IcmpScan {
    pub fn new(config: &Config) -> Self {
        IcmpScan {
            min_flows: config.network_discovery.pingscan_minimum_flows.max(1),
            min_hosts: config.network_discovery.pingscan_minimum_scanned_ips.max(1),
            groups: HashMap::new(),
            reported_hosts: HashMap::new(),
            latest_window: i64::MIN,
            refused: 0,
        }
    }

    fn forget_old_windows(&mut self, window: i64) {
        if window <= self.latest_window {
            return;
        }
        self.latest_window = window;
        let keep_from = window.saturating_sub(1);
        self.groups.retain(|k, _| k.1 >= keep_from);
        self.reported_hosts.retain(|k, _| k.1 >= keep_from);
    }

    fn flow(&mut self, ctx: &Context<'_>, c: &ConnRecord, out: &mut EvidenceSink) {
        if c.id.proto != Transport::Icmp {
            return;
        }
        let Some(attack) = attack_of(c.id.orig_p, c.id.orig_h.is_ipv6()) else {
            return;
        };
        let window = ctx.timewindow.number;
        self.forget_old_windows(window);
        let profile = ctx.profile_ip;
        let key = (profile, window, c.id.orig_p);
        if !self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS {
            self.refused += 1;
            return;
        }
        let group = self.groups.entry(key).or_insert_with(|| TypeGroup {
            hosts: HashMap::new(),
            flows: 0,
            packets: 0,
            first_ts: c.ts,
            uids: Vec::new(),
        });
        let dst = c.id.resp_h;
        let new_host = !group.hosts.contains_key(&dst);
        if new_host && group.hosts.len() >= MAX_MEMBERS_PER_PROFILE {
            self.refused += 1;
            return;
        }
        let scanned = group.hosts.len() + usize::from(new_host);
        let host = group.hosts.entry(dst).or_default();
        host.flows += 1;
        host.packets = host.packets.saturating_add(c.orig_pkts);
        let single_host_due =
            scanned == 1 && host.flows % self.min_flows == 0 && host.flows > host.reported_flows;
        if single_host_due {
            host.reported_flows = host.flows;
        }
        let (host_flows, host_packets) = (host.flows, host.packets);
        group.flows += 1;
        group.packets = group.packets.saturating_add(c.orig_pkts);
        group.first_ts = group.first_ts.min(c.ts);
        if group.uids.len() < MAX_EVIDENCE_UIDS {
            group.uids.push(c.uid);
        }

        let (description, packets, victim) = if scanned == 1 {
            if !single_host_due {
                return;
            }
            let packets = host_packets;
            let confidence = confidence_from_packets(packets);
            (
                format!(
                    "ICMP scanning {dst} ICMP scan type: {attack}. Total packets sent: {packets} over {host_flows} flows. Confidence: {confidence}. by Slips"
                ),
                packets,
                Some(Ioc::dst_ip(dst)),
            )
        } else {
            let reported = self
                .reported_hosts
                .entry((profile, window, attack))
                .or_insert(0);
            if !new_host || scanned % self.min_hosts != 0 || scanned <= *reported {
                return;
            }
            *reported = scanned;
            let packets = group.packets;
            let confidence = confidence_from_packets(packets);
            (
                format!(
                    "ICMP scanning {scanned} different IPs. ICMP scan type: {attack}. Total packets sent: {packets} over {} flows. Confidence: {confidence}. by Slips",
                    group.flows
                ),
                packets,
                None,
            )
        };
        let mut e = Evidence::new(
            attack,
            Ioc::src_ip(profile),
            ThreatLevel::Medium,
            confidence_from_packets(packets),
            description,
            profile,
            window,
            group.first_ts,
        );
        e.victim = victim;
        e.uids.extend_from_slice(&group.uids);
        e.proto = Some(Transport::Icmp);
        out.push(e);
    }

    fn notice(&mut self, ctx: &Context<'_>, n: &NoticeRecord, out: &mut EvidenceSink) {
        let attack = if n.note.contains("TimestampScan") {
            EvidenceType::IcmpTimestampScan
        } else if n.note.contains("ICMPAddressScan") {
            EvidenceType::IcmpAddressScan
        } else if n.note.contains("AddressMaskScan") {
            EvidenceType::IcmpAddressMaskScan
        } else {
            return;
        };
        let msg = n.msg.as_deref().unwrap_or("");
        // "192.168.1.15 performed ICMP address scan on 5 hosts"
        let hosts = msg
            .split_once("on ")
            .and_then(|(_, rest)| rest.split(" hosts").next())
            .and_then(|h| h.trim().parse::<u64>().ok())
            .or(n.n);
        let Some(hosts) = hosts else { return };
        let confidence = 1.0 / (255.0 - 5.0) * (hosts as f64 - 255.0) + 1.0;
        let attacker = n.src.unwrap_or(ctx.profile_ip);
        let mut e = Evidence::new(
            attack,
            Ioc::src_ip(attacker),
            ThreatLevel::Medium,
            confidence,
            msg.to_string(),
            attacker,
            ctx.timewindow.number,
            n.ts,
        );
        e.uids.extend(n.uid);
        out.push(e);
    }
}

impl Detector for IcmpScan {
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

    fn icmp(dst: &str, icmp_type: u16, ts: f64) -> ConnRecord {
        let mut c = conn("192.168.1.109", icmp_type, dst, 0, ts);
        c.id.proto = Transport::Icmp;
        c.conn_state = ConnState::OTH;
        c.history = None;
        c.orig_pkts = 1;
        c.resp_pkts = 1;
        c.ip_proto = Some(1);
        c
    }

    fn setup() -> (Harness, IcmpScan) {
        let config = Config::default();
        let d = IcmpScan::new(&config);
        (Harness::new(config), d)
    }

    #[test]
    fn ping_sweep_reported_every_five_hosts() {
        let (mut h, mut d) = setup();
        let mut out = Vec::new();
        for i in 1..=12 {
            out.extend(h.feed(
                &mut d,
                icmp(&format!("192.168.1.{i}"), 8, 100.0 + f64::from(i)),
            ));
            // A second ping to a host already counted changes nothing.
            out.extend(h.feed(&mut d, icmp("192.168.1.1", 8, 200.0)));
        }
        assert_eq!(out.len(), 2, "{out:?}");
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::IcmpAddressScan);
        assert_eq!(e.threat_level, ThreatLevel::Medium);
        assert_eq!(e.victim, None);
        assert_eq!(e.proto, Some(Transport::Icmp));
        assert_eq!(
            e.description,
            "ICMP scanning 5 different IPs. ICMP scan type: ICMP_ADDRESS_SCAN. Total packets sent: 9 over 9 flows. Confidence: 0.9. by Slips"
        );
        assert_eq!(e.confidence, 0.9);
        assert_eq!(e.uids.len(), 9);
        assert!(out[1]
            .description
            .starts_with("ICMP scanning 10 different IPs."));
    }

    #[test]
    fn one_host_reported_every_five_flows() {
        let (mut h, mut d) = setup();
        let mut out = Vec::new();
        for i in 0..11 {
            out.extend(h.feed(&mut d, icmp("10.1.1.1", 13, 100.0 + f64::from(i))));
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].evidence_type, EvidenceType::IcmpTimestampScan);
        assert_eq!(
            out[0].victim,
            Some(Ioc::dst_ip("10.1.1.1".parse().unwrap()))
        );
        assert_eq!(
            out[0].description,
            "ICMP scanning 10.1.1.1 ICMP scan type: ICMP_TIMESTAMP_SCAN. Total packets sent: 5 over 5 flows. Confidence: 0.5. by Slips"
        );
        assert!(out[1].description.contains("over 10 flows"));
    }

    #[test]
    fn no_scan_below_the_thresholds_or_for_other_icmp() {
        let (mut h, mut d) = setup();
        let mut quiet = |c: ConnRecord| assert!(h.feed(&mut d, c).is_empty());
        for i in 1..=4 {
            // Four hosts pinged; four address-mask requests to one host.
            quiet(icmp(&format!("10.0.0.{i}"), 8, 10.0));
            quiet(icmp("10.0.1.1", 17, 10.0));
        }
        for i in 1..=20 {
            // Echo replies, unreachables and UDP to many hosts are no ICMP scan.
            quiet(icmp(&format!("10.0.2.{i}"), 0, 10.0));
            quiet(icmp(&format!("10.0.2.{i}"), 3, 10.0));
            let mut c = icmp(&format!("10.0.2.{i}"), 8, 10.0);
            c.id.proto = Transport::Udp;
            quiet(c);
        }
        // The next window starts the count again.
        quiet(icmp("10.0.0.5", 8, 4000.0));
    }

    #[test]
    fn address_mask_and_icmpv6_sweeps() {
        let (mut h, mut d) = setup();
        let mut out = Vec::new();
        for i in 1..=5 {
            out.extend(h.feed(&mut d, icmp(&format!("10.0.0.{i}"), 18, 10.0)));
            let mut c = icmp(&format!("fe80::{i}"), 128, 10.0);
            c.id.orig_h = "fe80::99".parse().unwrap();
            out.extend(h.feed(&mut d, c));
        }
        let types: Vec<_> = out.iter().map(|e| e.evidence_type).collect();
        assert_eq!(
            types,
            [
                EvidenceType::IcmpAddressMaskScan,
                EvidenceType::IcmpAddressScan
            ]
        );
        assert_eq!(out[1].attacker, Ioc::src_ip("fe80::99".parse().unwrap()));
    }

    #[test]
    fn zeek_icmp_scan_notices() {
        let (mut h, mut d) = setup();
        let out = h.feed(
            &mut d,
            notice(
                "192.168.1.15",
                "ICMP::ICMPAddressScan",
                "192.168.1.15 performed ICMP address scan on 130 hosts",
                5.0,
            ),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence_type, EvidenceType::IcmpAddressScan);
        assert_eq!(out[0].confidence, 0.5);
        assert_eq!(
            out[0].description,
            "192.168.1.15 performed ICMP address scan on 130 hosts"
        );
        let out = h.feed(
            &mut d,
            notice(
                "192.168.1.15",
                "ICMP::TimestampScan",
                "192.168.1.15 performed ICMP timestamp scan on 255 hosts",
                6.0,
            ),
        );
        assert_eq!(out[0].evidence_type, EvidenceType::IcmpTimestampScan);
        assert_eq!(out[0].confidence, 1.0);
        let out = h.feed(
            &mut d,
            notice("192.168.1.15", "ICMP::AddressMaskScan", "on 5 hosts", 7.0),
        );
        assert_eq!(out[0].evidence_type, EvidenceType::IcmpAddressMaskScan);
        assert_eq!(out[0].confidence, 0.0);
        assert!(h
            .feed(&mut d, notice("192.168.1.15", "Scan::Port_Scan", "x", 8.0))
            .is_empty());
    }
}
