//! `CONNECTION_TO_MULTIPLE_PORTS`: established TCP connections from one source to
//! several unknown ports of the same host (a backdoor or C&C trying its ports, or a
//! host probed successfully).
//!
//! As Slips does it (`modules/flow_alerts/conn.py:detect_connection_to_multiple_ports`,
//! `set_evidence.py:connection_to_multiple_ports`; the store in
//! `scan_detections_db.py:_store_conn_to_multiple_ports_info`): only established
//! ([`is_established`]) TCP flows whose service is unknown (Zeek recognised no protocol
//! and `services.csv` does not name the port) count; per profile, time window and
//! destination the ports are kept with the latest flow on each. Once a destination has
//! more than one such port an evidence lists them all, and a later one is set only when
//! it names more flows than the last evidence of the profile in that window (Slips
//! keeps that count per profile and window, not per destination). Threat level info,
//! confidence 0.5. At most [`MAX_PORTS`] ports are kept per destination.

use std::fmt::Write;
use std::net::IpAddr;

use dissectors::{ConnRecord, Record, Transport, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::ports::PortsInfo;
use crate::slips::is_established;

use super::scan_groups::MAX_GROUPS;

pub const NAME: &str = "connection_to_multiple_ports";

/// Ports kept per profile, window and destination.
pub const MAX_PORTS: usize = 64;

const CONFIDENCE: f64 = 0.5;

pub struct ConnectionToMultiplePorts {
    /// Per (profile, window, destination): each unknown port with its latest flow.
    ports: HashMap<(IpAddr, i64, IpAddr), Vec<(u16, Uid)>>,
    /// Flows named in the last evidence, per (profile, window).
    reported: HashMap<(IpAddr, i64), usize>,
    latest_window: i64,
}

impl ConnectionToMultiplePorts {
    pub fn new(_config: &Config) -> Self {
        ConnectionToMultiplePorts {
            ports: HashMap::new(),
            reported: HashMap::new(),
            latest_window: i64::MIN,
        }
    }

    fn flow(&mut self, ctx: &Context<'_>, c: &ConnRecord, out: &mut EvidenceSink) {
        if c.id.proto != Transport::Tcp
            || c.service.is_some()
            || !is_established(c)
            || PortsInfo::shipped()
                .service(c.id.resp_p, Transport::Tcp)
                .is_some()
        {
            return;
        }
        let window = ctx.timewindow.number;
        if window > self.latest_window {
            self.latest_window = window;
            let keep_from = window.saturating_sub(1);
            self.ports.retain(|k, _| k.1 >= keep_from);
            self.reported.retain(|k, _| k.1 >= keep_from);
        }
        let (profile, victim) = (ctx.profile_ip, c.id.resp_h);
        let key = (profile, window, victim);
        if !self.ports.contains_key(&key) && self.ports.len() >= MAX_GROUPS {
            return;
        }
        let ports = self.ports.entry(key).or_default();
        if let Some(entry) = ports.iter_mut().find(|(p, _)| *p == c.id.resp_p) {
            entry.1 = c.uid;
        } else if ports.len() < MAX_PORTS {
            ports.push((c.id.resp_p, c.uid));
        }
        if ports.len() <= 1 {
            return;
        }
        let reported = self.reported.entry((profile, window)).or_insert(0);
        if ports.len() <= *reported {
            return;
        }
        *reported = ports.len();
        // Slips prints the Python list of the port strings.
        let mut list = String::from("[");
        for (i, (p, _)) in ports.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(list, "{sep}'{p}'");
        }
        list.push(']');
        let mut e = Evidence::new(
            EvidenceType::ConnectionToMultiplePorts,
            Ioc::src_ip(profile),
            ThreatLevel::Info,
            CONFIDENCE,
            format!("Connection to multiple ports {list} from {profile} to {victim}. "),
            profile,
            window,
            c.ts,
        );
        e.victim = Some(Ioc::dst_ip(victim));
        e.uids.extend(ports.iter().map(|(_, u)| *u));
        e.proto = Some(Transport::Tcp);
        out.push(e);
    }
}

impl Detector for ConnectionToMultiplePorts {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        if let Record::Conn(c) = record {
            self.flow(ctx, c, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, Harness};
    use dissectors::ConnState;

    fn setup() -> (Harness, ConnectionToMultiplePorts) {
        let config = Config::default();
        let d = ConnectionToMultiplePorts::new(&config);
        (Harness::new(config), d)
    }

    #[test]
    fn second_unknown_port_of_a_host_is_reported_then_only_growth() {
        let (mut h, mut d) = setup();
        assert!(h
            .feed(&mut d, conn("10.0.0.5", 50000, "198.51.100.7", 4444, 10.0))
            .is_empty());
        let out = h.feed(&mut d, conn("10.0.0.5", 50001, "198.51.100.7", 5555, 11.0));
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::ConnectionToMultiplePorts);
        assert_eq!((e.threat_level, e.confidence), (ThreatLevel::Info, 0.5));
        assert_eq!(
            e.description,
            "Connection to multiple ports ['4444', '5555'] from 10.0.0.5 to 198.51.100.7. "
        );
        assert_eq!(e.victim, Some(Ioc::dst_ip("198.51.100.7".parse().unwrap())));
        assert_eq!(e.uids.len(), 2);
        // The same ports again: nothing new.
        assert!(h
            .feed(&mut d, conn("10.0.0.5", 50002, "198.51.100.7", 4444, 12.0))
            .is_empty());
        // A third port: reported again.
        let out = h.feed(&mut d, conn("10.0.0.5", 50003, "198.51.100.7", 6666, 13.0));
        assert_eq!(out.len(), 1);
        assert!(out[0].description.contains("['4444', '5555', '6666']"));
        // Another host with two ports names fewer flows than the last evidence.
        assert!(h
            .feed(&mut d, conn("10.0.0.5", 50004, "198.51.100.8", 4444, 14.0))
            .is_empty());
        assert!(h
            .feed(&mut d, conn("10.0.0.5", 50005, "198.51.100.8", 5555, 15.0))
            .is_empty());
    }

    #[test]
    fn known_services_failed_connections_and_udp_do_not_count() {
        let (mut h, mut d) = setup();
        let mut quiet = |c: ConnRecord| assert!(h.feed(&mut d, c).is_empty());
        for (i, port) in [22u16, 80, 443, 3389].into_iter().enumerate() {
            // Well-known ports.
            quiet(conn(
                "10.0.0.5",
                50000 + i as u16,
                "198.51.100.7",
                port,
                10.0,
            ));
        }
        for port in 7000..7010u16 {
            // A protocol Zeek recognised on an unusual port.
            let mut c = conn("10.0.0.5", port, "198.51.100.9", port, 10.0);
            c.service = Some("http".into());
            quiet(c);
            // Not established.
            let mut c = conn("10.0.0.5", port, "198.51.100.10", port, 10.0);
            c.conn_state = ConnState::S0;
            quiet(c);
            // UDP.
            let mut c = conn("10.0.0.5", port, "198.51.100.11", port, 10.0);
            c.id.proto = Transport::Udp;
            quiet(c);
        }
    }
}
