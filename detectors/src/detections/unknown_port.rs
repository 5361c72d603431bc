//! `UNKNOWN_PORT`: a connection to a destination port Slips does not know, as Slips does
//! it (`modules/flow_alerts/conn.py:check_unknown_port`, `set_evidence.py:unknown_port`).
//!
//! A port is known when `services.csv` names it, or when `ports_used_by_specific_orgs.csv`
//! lists it for an organisation and the destination is that organisation's (in its
//! listed prefixes, or the MAC vendor of either end, or a name the destination is known
//! by — resolution, reverse DNS, SNI, certificate — or its AS organisation, contains the
//! organisation's name). ICMP and unknown transports are skipped, and so is likely P2P
//! traffic (Slips' `is_p2p`: UDP to ports above 30000, once one destination took 6 such
//! flows or 5 destinations were seen). High threat when established, else medium;
//! confidence 1.
//!
//! Slips stops reporting unknown ports for a source Zeek flagged as a port scanner in
//! the time window (notices `Scan::Port_Scan`, `Scan::Address_Scan`), so that a scan is
//! not an "unknown port" flood. slipstream does the same with those notices, and also
//! flags a source itself when, in one window, its unestablished connections to unknown
//! ports reach more than 5 ports of one host or more than 5 hosts on one port (the
//! thresholds of Slips' vertical and horizontal scan detections). Slips also skips FTP
//! data ports learnt from `ftp.log`, which slipstream does not write.

use std::net::IpAddr;

use dissectors::{ConnRecord, Record, Transport};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::ports::PortsInfo;
use crate::profile::Host;
use crate::slips::is_established;

pub const NAME: &str = "unknown_port";

/// Distinct ports of one host, or hosts on one port, that make a scan (Slips' scan
/// thresholds: more than 5).
const SCAN_THRESHOLD: usize = 5;
/// Unestablished unknown-port targets remembered per source and window.
const MAX_TARGETS: usize = 64;
const MAX_SOURCES: usize = 65_536;
const MAX_P2P_DADDRS: usize = 65_536;

#[derive(Default)]
struct SourceWindow {
    timewindow: i64,
    scanner: bool,
    targets: Vec<(IpAddr, u16)>,
}

pub struct UnknownPort {
    ports: &'static PortsInfo,
    sources: HashMap<IpAddr, SourceWindow>,
    /// Slips' `p2p_daddrs`: UDP flows to ports above 30000 per destination, all sources.
    p2p_daddrs: HashMap<IpAddr, u32>,
}

impl UnknownPort {
    pub fn new(_config: &Config) -> Self {
        UnknownPort {
            ports: PortsInfo::shipped(),
            sources: HashMap::new(),
            p2p_daddrs: HashMap::new(),
        }
    }

    fn source(&mut self, ip: IpAddr, tw: i64) -> &mut SourceWindow {
        if self.sources.len() >= MAX_SOURCES && !self.sources.contains_key(&ip) {
            self.sources.retain(|_, s| s.timewindow >= tw);
            if self.sources.len() >= MAX_SOURCES {
                self.sources.clear();
            }
        }
        let s = self.sources.entry(ip).or_default();
        if s.timewindow != tw {
            *s = SourceWindow {
                timewindow: tw,
                ..SourceWindow::default()
            };
        }
        s
    }

    /// Slips' `is_p2p`.
    fn is_p2p(&mut self, c: &ConnRecord) -> bool {
        if c.id.proto != Transport::Udp || c.id.resp_p <= 30000 {
            return false;
        }
        let daddr = c.id.resp_h;
        let known = self.p2p_daddrs.len();
        match self.p2p_daddrs.get_mut(&daddr) {
            Some(n) if *n >= 6 => return true,
            Some(n) => *n += 1,
            None if known < MAX_P2P_DADDRS => {
                self.p2p_daddrs.insert(daddr, 1);
            }
            None => {}
        }
        self.p2p_daddrs.len() >= 5
    }

    /// Slips' `port_belongs_to_an_org`.
    fn belongs_to_an_org(&self, ctx: &Context<'_>, c: &ConnRecord) -> bool {
        let Some(info) = self.ports.organizations(c.id.resp_p, c.id.proto) else {
            return false;
        };
        let daddr = c.id.resp_h;
        if info.prefixes.iter().any(|p| p.contains(daddr)) {
            return true;
        }
        let dst: Option<&Host> = ctx.hosts.get(daddr);
        let lower = |s: &str| s.to_ascii_lowercase();
        let src_vendor = ctx.profile.vendor.as_deref().map(lower).unwrap_or_default();
        let dst_vendor = dst
            .and_then(|h| h.vendor.as_deref())
            .map(lower)
            .unwrap_or_default();
        info.orgs.iter().any(|org| {
            src_vendor.contains(org.as_str())
                || dst_vendor.contains(org.as_str())
                || dst.is_some_and(|h| {
                    h.known_names().any(|n| lower(n).contains(org.as_str()))
                        || h.geo
                            .as_org
                            .as_deref()
                            .is_some_and(|o| lower(o).contains(org.as_str()))
                })
        })
    }
}

impl Detector for UnknownPort {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        match record {
            Record::Notice(n)
                if n.note.contains("Port_Scan") || n.note.contains("Address_Scan") =>
            {
                if let Some(src) = n.src.or(n.id.map(|i| i.orig_h)) {
                    self.source(src, ctx.timewindow.number).scanner = true;
                }
            }
            Record::Conn(c) => self.check(ctx, c, out),
            _ => {}
        }
    }
}

impl UnknownPort {
    fn check(&mut self, ctx: &Context<'_>, c: &ConnRecord, out: &mut EvidenceSink) {
        if !matches!(c.id.proto, Transport::Tcp | Transport::Udp) {
            return;
        }
        let (saddr, daddr, dport) = (c.id.orig_h, c.id.resp_h, c.id.resp_p);
        let tw = ctx.timewindow.number;
        if self
            .sources
            .get(&saddr)
            .is_some_and(|s| s.timewindow == tw && s.scanner)
        {
            return;
        }
        if self.ports.service(dport, c.id.proto).is_some() || self.belongs_to_an_org(ctx, c) {
            return;
        }
        if self.is_p2p(c) {
            return;
        }
        let established = is_established(c);
        if !established {
            let s = self.source(saddr, tw);
            if !s.targets.contains(&(daddr, dport)) && s.targets.len() < MAX_TARGETS {
                s.targets.push((daddr, dport));
            }
            let ports_of_host = s.targets.iter().filter(|t| t.0 == daddr).count();
            let hosts_on_port = s.targets.iter().filter(|t| t.1 == dport).count();
            if ports_of_host > SCAN_THRESHOLD || hosts_on_port > SCAN_THRESHOLD {
                s.scanner = true;
                return;
            }
        }
        let proto = c.id.proto.as_str().to_ascii_uppercase();
        let mut e = Evidence::new(
            EvidenceType::UnknownPort,
            Ioc::src_ip(saddr),
            if established {
                ThreatLevel::High
            } else {
                ThreatLevel::Medium
            },
            1.0,
            format!(
                "Connection to unknown destination port {dport}/{proto} destination IP {daddr}."
            ),
            saddr,
            tw,
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
    use crate::testutil::{conn, notice, Harness};
    use dissectors::ConnState;

    #[test]
    fn unknown_ports_fire_by_state() {
        let mut h = Harness::new(Config::default());
        let mut d = UnknownPort::new(&h.config);
        let out = h.feed(&mut d, conn("10.0.0.2", 40000, "1.2.3.4", 31337, 1.0));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(out[0].confidence, 1.0);
        assert_eq!(
            out[0].description,
            "Connection to unknown destination port 31337/TCP destination IP 1.2.3.4."
        );
        let mut c = conn("10.0.0.2", 40001, "1.2.3.4", 31338, 2.0);
        c.conn_state = ConnState::S0;
        assert_eq!(h.feed(&mut d, c)[0].threat_level, ThreatLevel::Medium);
    }

    #[test]
    fn known_org_icmp_and_p2p_ports_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = UnknownPort::new(&h.config);
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 40000, "1.2.3.4", 22, 1.0))
            .is_empty());
        let mut teams = conn("10.0.0.2", 40000, "13.107.64.9", 3480, 1.0);
        teams.id.proto = Transport::Udp;
        assert!(h.feed(&mut d, teams).is_empty());
        let mut icmp = conn("10.0.0.2", 8, "1.2.3.4", 31337, 1.0);
        icmp.id.proto = Transport::Icmp;
        assert!(h.feed(&mut d, icmp).is_empty());
        // UDP high ports: reported until five destinations were seen.
        let mut reported = 0;
        for i in 0..8u8 {
            let mut c = conn("10.0.0.2", 40000, &format!("5.5.5.{i}"), 40000, 2.0);
            c.id.proto = Transport::Udp;
            reported += h.feed(&mut d, c).len();
        }
        assert_eq!(reported, 4);
    }

    #[test]
    fn scans_are_not_an_unknown_port_flood() {
        let mut h = Harness::new(Config::default());
        let mut d = UnknownPort::new(&h.config);
        let mut reported = 0;
        for port in 30000..30100 {
            let mut c = conn("10.0.0.2", 40000, "10.0.0.9", port, 1.0);
            c.conn_state = ConnState::REJ;
            reported += h.feed(&mut d, c).len();
        }
        assert_eq!(reported, SCAN_THRESHOLD);
        // A Zeek scan notice silences the source for the window.
        let mut d = UnknownPort::new(&h.config);
        h.feed(&mut d, notice("10.0.0.3", "Scan::Port_Scan", "scan", 2.0));
        assert!(h
            .feed(&mut d, conn("10.0.0.3", 1, "1.2.3.4", 31337, 3.0))
            .is_empty());
    }
}
