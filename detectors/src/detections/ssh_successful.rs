//! `SSH_SUCCESSFUL`: an SSH login that succeeded, as Slips does it
//! (`modules/flow_alerts/ssh.py:check_successful_ssh`,
//! `set_evidence.py:ssh_successful`). Each `ssh.log` session is joined with its
//! `conn.log` connection (same uid): when Zeek saw the authentication succeed
//! (`auth_success` true) the login is reported "by Zeek"; otherwise Slips' own model
//! decides from the size: more than `flow_alerts.ssh_succesful_detection_threshold`
//! bytes sent and received in total is a login "by Slips". Threat level info,
//! confidence 0.8.
//!
//! The session and its connection come in either order: whichever arrives first waits
//! (bounded: at most [`MAX_WAITING`] of each, dropped after [`WAIT`] of capture time,
//! as Slips gives up on a session whose connection never shows).

use std::collections::VecDeque;
use std::net::IpAddr;

use dissectors::{Interval, Record, Timestamp, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "ssh_successful";

/// Sessions or connections kept waiting for their other half.
const MAX_WAITING: usize = 4096;
/// How long (capture time) one half waits for the other.
const WAIT: Interval = Interval(3_600_000_000);
const CONFIDENCE: f64 = 0.8;

struct Session {
    ts: Timestamp,
    saddr: IpAddr,
    daddr: IpAddr,
    auth_success: bool,
    timewindow: i64,
}

/// Entries keyed by uid, forgotten oldest first past the cap or the wait.
struct Waiting<T> {
    by_uid: HashMap<Uid, T>,
    order: VecDeque<(Timestamp, Uid)>,
}

impl<T> Default for Waiting<T> {
    fn default() -> Self {
        Waiting {
            by_uid: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<T> Waiting<T> {
    fn insert(&mut self, ts: Timestamp, uid: Uid, v: T) {
        while self.order.len() >= MAX_WAITING {
            if let Some((_, old)) = self.order.pop_front() {
                self.by_uid.remove(&old);
            }
        }
        self.by_uid.insert(uid, v);
        self.order.push_back((ts, uid));
    }

    fn take(&mut self, uid: &Uid) -> Option<T> {
        self.by_uid.remove(uid)
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(&(ts, uid)) = self.order.front() {
            if now.saturating_sub(ts) <= WAIT {
                break;
            }
            self.order.pop_front();
            self.by_uid.remove(&uid);
        }
    }
}

pub struct SshSuccessful {
    threshold: u64,
    sessions: Waiting<Session>,
    /// Bytes (sent + received) of SSH connections whose session was not seen yet.
    conns: Waiting<u64>,
}

impl SshSuccessful {
    pub fn new(config: &Config) -> Self {
        SshSuccessful {
            threshold: config.flow_alerts.ssh_succesful_detection_threshold,
            sessions: Waiting::default(),
            conns: Waiting::default(),
        }
    }

    fn report(&self, uid: Uid, s: &Session, size: u64, out: &mut EvidenceSink) {
        let by = if s.auth_success {
            "Zeek"
        } else if size > self.threshold {
            "Slips"
        } else {
            return;
        };
        let (saddr, daddr) = (s.saddr, s.daddr);
        let mut e = Evidence::new(
            EvidenceType::SshSuccessful,
            Ioc::src_ip(saddr),
            ThreatLevel::Info,
            CONFIDENCE,
            format!(
                "SSH successful to IP {daddr}. From IP {saddr}. Sent bytes: {size}. \
                 Detection model {by}. Confidence {CONFIDENCE}"
            ),
            saddr,
            s.timewindow,
            s.ts,
        );
        e.victim = Some(Ioc::dst_ip(daddr));
        e.uids.push(uid);
        out.push(e);
    }
}

impl Detector for SshSuccessful {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        match record {
            Record::Ssh(s) => {
                self.sessions.expire(s.ts);
                self.conns.expire(s.ts);
                let session = Session {
                    ts: s.ts,
                    saddr: s.id.orig_h,
                    daddr: s.id.resp_h,
                    auth_success: s.auth_success == Some(true),
                    timewindow: ctx.timewindow.number,
                };
                match self.conns.take(&s.uid) {
                    Some(size) => self.report(s.uid, &session, size, out),
                    None => self.sessions.insert(s.ts, s.uid, session),
                }
            }
            Record::Conn(c) => {
                let size = c
                    .orig_bytes
                    .unwrap_or(0)
                    .saturating_add(c.resp_bytes.unwrap_or(0));
                if let Some(session) = self.sessions.take(&c.uid) {
                    self.report(c.uid, &session, size, out);
                } else if crate::slips::has_service(c, "ssh") {
                    self.conns.insert(c.ts, c.uid, size);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, ssh, Harness};

    fn pair(success: Option<bool>, bytes: (u64, u64)) -> (Record, Record) {
        let s = ssh("192.168.2.1", "192.168.2.158", 22, success, 1, 100.0);
        let mut c = conn("192.168.2.1", 50000, "192.168.2.158", 22, 100.0);
        c.uid = s.uid;
        c.service = Some("ssh".into());
        c.orig_bytes = Some(bytes.0);
        c.resp_bytes = Some(bytes.1);
        (Record::from(s), Record::from(c))
    }

    #[test]
    fn zeek_auth_success_is_reported_once_the_connection_is_seen() {
        let mut h = Harness::new(Config::default());
        let mut d = SshSuccessful::new(&h.config);
        let (s, c) = pair(Some(true), (5253, 3489));
        assert!(h.feed(&mut d, s).is_empty());
        let out = h.feed(&mut d, c);
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::SshSuccessful);
        assert_eq!(e.threat_level, ThreatLevel::Info);
        assert_eq!(e.confidence, 0.8);
        assert_eq!(
            e.description,
            "SSH successful to IP 192.168.2.158. From IP 192.168.2.1. Sent bytes: 8742. \
             Detection model Zeek. Confidence 0.8"
        );
        assert_eq!(
            e.victim,
            Some(Ioc::dst_ip("192.168.2.158".parse().unwrap()))
        );
        assert_eq!(e.uids.len(), 1);
    }

    #[test]
    fn sizes_decide_without_auth_success_in_either_order() {
        let mut h = Harness::new(Config::default());
        let mut d = SshSuccessful::new(&h.config);
        // Connection first, then the session: 4291 bytes > 4290.
        let (s, c) = pair(None, (4000, 291));
        assert!(h.feed(&mut d, c).is_empty());
        let out = h.feed(&mut d, s);
        assert_eq!(out.len(), 1);
        assert!(out[0].description.contains("Detection model Slips"));
        // Exactly the threshold is not a login.
        let (s, c) = pair(Some(false), (4000, 290));
        assert!(h.feed(&mut d, s).is_empty());
        assert!(h.feed(&mut d, c).is_empty());
    }

    #[test]
    fn an_unrelated_connection_does_not_complete_a_session() {
        let mut h = Harness::new(Config::default());
        let mut d = SshSuccessful::new(&h.config);
        let (s, _) = pair(Some(true), (1, 1));
        assert!(h.feed(&mut d, s).is_empty());
        let other = conn("192.168.2.1", 1, "192.168.2.158", 22, 101.0);
        assert!(h.feed(&mut d, other).is_empty());
        assert_eq!(d.sessions.by_uid.len(), 1);
    }

    #[test]
    fn waiting_halves_are_bounded() {
        let mut w: Waiting<u8> = Waiting::default();
        for i in 0..(MAX_WAITING as u128 + 10) {
            w.insert(Timestamp(0), Uid::connection(i), 0);
        }
        assert_eq!(w.by_uid.len(), MAX_WAITING);
        w.expire(Timestamp(WAIT.0 + 1));
        assert!(w.by_uid.is_empty());
    }
}
