//! `MULTIPLE_RECONNECTION_ATTEMPTS`, as Slips does it
//! (`modules/flow_alerts/conn.py:check_multiple_reconnection_attempts` and
//! `check_multiple_telnet_reconnection_attempts`, `set_evidence.py`):
//!
//! * rejected connections (Zeek state `REJ`) from one source to one destination and
//!   destination port are counted per time window; at 5 an evidence is set and the
//!   count starts again;
//! * unestablished TCP connections to telnet (23, 2323) from one source to one
//!   destination are counted the same way, reported at 4.
//!
//! Medium threat, confidence 0.5, the uids of the counted connections. State is per
//! time window and bounded ([`MAX_KEYS`]).

use std::net::IpAddr;

use dissectors::{ConnState, Record, Transport, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::slips::is_established;

pub const NAME: &str = "multiple_reconnection_attempts";

const THRESHOLD: usize = 5;
const TELNET_THRESHOLD: usize = 4;
const MAX_KEYS: usize = 65_536;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Port(u16),
    Telnet,
}

struct Attempts {
    timewindow: i64,
    uids: Vec<Uid>,
}

#[derive(Default)]
pub struct MultipleReconnectionAttempts {
    attempts: HashMap<(IpAddr, IpAddr, Target), Attempts>,
}

impl MultipleReconnectionAttempts {
    pub fn new(_config: &Config) -> Self {
        Self::default()
    }

    /// Counts one attempt; returns the uids when `threshold` is reached (and restarts).
    fn count(
        &mut self,
        key: (IpAddr, IpAddr, Target),
        tw: i64,
        uid: Uid,
        threshold: usize,
    ) -> Option<Vec<Uid>> {
        if self.attempts.len() >= MAX_KEYS && !self.attempts.contains_key(&key) {
            self.attempts.retain(|_, a| a.timewindow >= tw);
            if self.attempts.len() >= MAX_KEYS {
                self.attempts.clear();
            }
        }
        let a = self.attempts.entry(key).or_insert(Attempts {
            timewindow: tw,
            uids: Vec::new(),
        });
        if a.timewindow != tw {
            a.timewindow = tw;
            a.uids.clear();
        }
        a.uids.push(uid);
        (a.uids.len() >= threshold).then(|| std::mem::take(&mut a.uids))
    }
}

impl Detector for MultipleReconnectionAttempts {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        let tw = ctx.timewindow.number;
        let mut report = |uids: Vec<Uid>, description: String| {
            let mut e = Evidence::new(
                EvidenceType::MultipleReconnectionAttempts,
                Ioc::src_ip(saddr),
                ThreatLevel::Medium,
                0.5,
                description,
                saddr,
                tw,
                c.ts,
            );
            e.victim = Some(Ioc::dst_ip(daddr));
            e.uids = uids;
            out.push(e);
        };
        if c.conn_state == ConnState::REJ {
            let key = (saddr, daddr, Target::Port(c.id.resp_p));
            if let Some(uids) = self.count(key, tw, c.uid, THRESHOLD) {
                let n = uids.len();
                report(
                    uids,
                    format!(
                        "Multiple reconnection attempts from IP: {saddr} to destination IP: \
                         {daddr} reconnections: {n}."
                    ),
                );
            }
        }
        let telnet = c.id.proto == Transport::Tcp && matches!(c.id.resp_p, 23 | 2323);
        if telnet && !is_established(c) {
            if let Some(uids) =
                self.count((saddr, daddr, Target::Telnet), tw, c.uid, TELNET_THRESHOLD)
            {
                let n = uids.len();
                report(
                    uids,
                    format!(
                        "Multiple Telnet reconnection attempts from IP: {saddr} to Destination \
                         IP: {daddr}  reconnections: {n}"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, Harness};

    fn rejected(
        h: &mut Harness,
        d: &mut MultipleReconnectionAttempts,
        port: u16,
        ts: f64,
    ) -> Vec<Evidence> {
        let mut c = conn(
            "10.0.0.2",
            (ts as u16).wrapping_add(1000),
            "10.0.0.9",
            port,
            ts,
        );
        c.conn_state = ConnState::REJ;
        h.feed(d, c)
    }

    #[test]
    fn fifth_rejection_fires_and_restarts() {
        let mut h = Harness::new(Config::default());
        let mut d = MultipleReconnectionAttempts::new(&h.config);
        for i in 0..4 {
            assert!(rejected(&mut h, &mut d, 8080, 10.0 + f64::from(i)).is_empty());
        }
        // Another port is another count.
        assert!(rejected(&mut h, &mut d, 8081, 15.0).is_empty());
        let out = rejected(&mut h, &mut d, 8080, 16.0);
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::MultipleReconnectionAttempts);
        assert_eq!((e.threat_level, e.confidence), (ThreatLevel::Medium, 0.5));
        assert_eq!(
            e.description,
            "Multiple reconnection attempts from IP: 10.0.0.2 to destination IP: 10.0.0.9 \
             reconnections: 5."
        );
        assert_eq!(e.uids.len(), 5);
        assert!(rejected(&mut h, &mut d, 8080, 17.0).is_empty());
    }

    #[test]
    fn accepted_connections_and_other_windows_do_not_count() {
        let mut h = Harness::new(Config::default());
        let mut d = MultipleReconnectionAttempts::new(&h.config);
        for i in 0..10 {
            let c = conn("10.0.0.2", 2000 + i, "10.0.0.9", 8080, 10.0 + f64::from(i));
            assert!(h.feed(&mut d, c).is_empty());
        }
        for i in 0..4 {
            assert!(rejected(&mut h, &mut d, 8080, 20.0 + f64::from(i)).is_empty());
        }
        // The fifth comes in the next window.
        assert!(rejected(&mut h, &mut d, 8080, 3700.0).is_empty());
    }

    #[test]
    fn telnet_fires_at_four_unestablished() {
        let mut h = Harness::new(Config::default());
        let mut d = MultipleReconnectionAttempts::new(&h.config);
        let mut out = Vec::new();
        for i in 0..4 {
            let mut c = conn("10.0.0.2", 3000 + i, "10.0.0.9", 23, 10.0 + f64::from(i));
            c.conn_state = ConnState::S0;
            out = h.feed(&mut d, c);
            if i < 3 {
                assert!(out.is_empty());
            }
        }
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "Multiple Telnet reconnection attempts from IP: 10.0.0.2 to Destination IP: 10.0.0.9  \
             reconnections: 4"
        );
    }
}
