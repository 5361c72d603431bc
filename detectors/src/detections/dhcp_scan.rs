//! `DHCP_SCAN`: a client requesting many different addresses over DHCP in one time
//! window.
//!
//! As Slips does it (`modules/network_discovery/network_discovery.py:check_dhcp_scan`,
//! `set_evidence_dhcp_scan`): only DHCP transactions with a requested address count;
//! per profile and time window the distinct requested addresses are kept with the first
//! flow of each, and an evidence is set every
//! `network_discovery.minimum_requested_addrs` addresses (4, 8, 12 ...). Threat level
//! medium, confidence 0.8; the evidence names the transaction's flows and the first flow
//! of each requested address. At most [`MAX_REQUESTED_ADDRS`] addresses are kept per
//! profile and window (a scan that large has been reported many times over).
//!
//! The profile of a DHCP transaction is its client address, else the address it was
//! assigned (the analysis' choice); a transaction from 0.0.0.0 that got no address has
//! no profile, so requests that all fail are not counted.

use std::net::IpAddr;

use dissectors::dhcp::DhcpRecord;
use dissectors::{Record, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "dhcp_scan";

/// Requested addresses kept per profile and window.
pub const MAX_REQUESTED_ADDRS: usize = 1024;

const CONFIDENCE: f64 = 0.8;

/// A requested address and the first flow that asked for it.
type Requested = (IpAddr, Option<Uid>);

pub struct DhcpScan {
    every: usize,
    /// Per (profile, window): each requested address with the first flow asking for it.
    requested: HashMap<(IpAddr, i64), Vec<Requested>>,
    latest_window: i64,
}

impl DhcpScan {
    pub fn new(config: &Config) -> Self {
        DhcpScan {
            every: config.network_discovery.minimum_requested_addrs.max(1),
            requested: HashMap::new(),
            latest_window: i64::MIN,
        }
    }

    fn dhcp(&mut self, ctx: &Context<'_>, r: &DhcpRecord, out: &mut EvidenceSink) {
        let Some(addr) = r.requested_addr else { return };
        let window = ctx.timewindow.number;
        if window > self.latest_window {
            self.latest_window = window;
            self.requested
                .retain(|k, _| k.1 >= window.saturating_sub(1));
        }
        let profile = ctx.profile_ip;
        let seen = self.requested.entry((profile, window)).or_default();
        if seen.len() >= MAX_REQUESTED_ADDRS || seen.iter().any(|(a, _)| *a == addr) {
            return;
        }
        seen.push((addr, r.uids.first().copied()));
        let n = seen.len();
        if n % self.every != 0 {
            return;
        }
        let mut e = Evidence::new(
            EvidenceType::DhcpScan,
            Ioc::src_ip(profile),
            ThreatLevel::Medium,
            CONFIDENCE,
            format!(
                "Performing a DHCP scan by requesting {n} different IP addresses. Confidence: {CONFIDENCE}. by Slips"
            ),
            profile,
            window,
            r.ts,
        );
        e.uids.extend_from_slice(&r.uids);
        for uid in seen.iter().filter_map(|(_, u)| *u) {
            if !e.uids.contains(&uid) {
                e.uids.push(uid);
            }
        }
        out.push(e);
    }
}

impl Detector for DhcpScan {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        if let Record::Dhcp(r) = record {
            self.dhcp(ctx, r, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Harness;
    use dissectors::{Interval, Timestamp};

    fn request(client: &str, requested: Option<&str>, ts: f64) -> DhcpRecord {
        DhcpRecord {
            ts: Timestamp::from_secs_f64(ts),
            uids: vec![Uid::connection((ts * 1000.0) as u128)],
            client_addr: Some(client.parse().unwrap()),
            server_addr: Some("192.168.1.1".parse().unwrap()),
            client_port: None,
            server_port: None,
            mac: Some("00:11:22:33:44:55".into()),
            host_name: None,
            client_fqdn: None,
            domain: None,
            requested_addr: requested.map(|a| a.parse().unwrap()),
            assigned_addr: None,
            lease_time: None,
            client_message: None,
            server_message: None,
            msg_types: vec![3, 5],
            duration: Interval::from_secs(0),
            client_chaddr: None,
            last_message_ts: Timestamp::from_secs_f64(ts),
        }
    }

    fn setup() -> (Harness, DhcpScan) {
        let config = Config::default();
        let d = DhcpScan::new(&config);
        (Harness::new(config), d)
    }

    #[test]
    fn fires_every_four_different_addresses() {
        let (mut h, mut d) = setup();
        let mut out = Vec::new();
        for i in 1..=9 {
            let addr = format!("192.168.1.{}", 100 + i);
            out.extend(h.feed(&mut d, request("192.168.1.50", Some(&addr), f64::from(i))));
        }
        assert_eq!(out.len(), 2);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::DhcpScan);
        assert_eq!(e.threat_level, ThreatLevel::Medium);
        assert_eq!(e.confidence, 0.8);
        assert_eq!(
            e.description,
            "Performing a DHCP scan by requesting 4 different IP addresses. Confidence: 0.8. by Slips"
        );
        assert_eq!(e.attacker, Ioc::src_ip("192.168.1.50".parse().unwrap()));
        assert_eq!(e.uids.len(), 4);
        assert!(out[1].description.contains("requesting 8 different"));
        assert_eq!(out[1].uids.len(), 8);
    }

    #[test]
    fn repeated_or_missing_requests_and_other_clients_do_not_count() {
        let (mut h, mut d) = setup();
        let mut quiet = |r: DhcpRecord| assert!(h.feed(&mut d, r).is_empty());
        for i in 1..=10 {
            quiet(request("192.168.1.50", Some("192.168.1.101"), f64::from(i)));
            quiet(request("192.168.1.50", None, f64::from(i)));
        }
        for i in 2..=4 {
            // Two more for this client (three in all), three for another one.
            let addr = format!("192.168.1.{}", 100 + i);
            if i < 4 {
                quiet(request("192.168.1.50", Some(&addr), 20.0));
            }
            quiet(request("192.168.1.51", Some(&addr), 20.0));
        }
        // A new window starts from zero: the fourth address there is the first.
        quiet(request("192.168.1.50", Some("192.168.1.200"), 4000.0));
    }
}
