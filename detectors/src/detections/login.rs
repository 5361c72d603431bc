//! `LOGIN`: a telnet, rlogin or rsh login attempt, as Slips reports it
//! (`modules/flow_alerts/login.py:set_evidence_login`): informational evidence for every
//! login.log entry, in the client's profile, the server as attacker (direction DST) and
//! the client as victim; its status (successful, confused or failed), protocol and user
//! in the description; confidence 1.
//!
//! The entries come from our telnet / rlogin / rsh dissector
//! (`dissectors::login_analyzer`) or from Zeek's login.log (Slips' Zeek script).

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "login";

pub struct Login;

impl Login {
    pub fn new(_config: &Config) -> Self {
        Login
    }
}

impl Detector for Login {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Login(l) = record else { return };
        let (saddr, daddr) = (l.id.orig_h, l.id.resp_h);
        if saddr != ctx.profile_ip {
            return;
        }
        let status = if l.success {
            "successful"
        } else if l.confused {
            "confused"
        } else {
            "failed"
        };
        let proto = l.proto.as_deref().unwrap_or("login");
        let user = l
            .user
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(|u| format!(" for user {u}"))
            .unwrap_or_default();
        let mut e = Evidence::new(
            EvidenceType::Login,
            Ioc::dst_ip(daddr),
            ThreatLevel::Info,
            1.0,
            format!("{status} {proto} login{user}. destination IP: {daddr}."),
            saddr,
            ctx.timewindow.number,
            l.ts,
        );
        e.victim = Some(Ioc::src_ip(saddr));
        e.from_connection(l.uid, &l.id);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Direction;
    use crate::testutil::{conn, Harness};
    use dissectors::login::LoginRecord;

    fn login(success: bool, confused: bool, user: Option<&str>) -> LoginRecord {
        let c = conn("10.0.0.5", 40000, "10.0.0.9", 23, 1.0);
        LoginRecord {
            ts: c.ts,
            uid: c.uid,
            id: c.id,
            proto: Some("telnet".into()),
            success,
            confused,
            user: user.map(str::to_string),
            client_user: None,
            password: None,
        }
    }

    #[test]
    fn every_attempt_is_informational_evidence_with_its_status() {
        let mut h = Harness::new(Config::default());
        let mut d = Login::new(&h.config);
        let out = h.feed(&mut d, login(true, false, Some("root")));
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::Login);
        assert_eq!(e.threat_level, ThreatLevel::Info);
        assert_eq!(e.confidence, 1.0);
        assert_eq!(
            e.description,
            "successful telnet login for user root. destination IP: 10.0.0.9."
        );
        assert_eq!(e.attacker.direction, Direction::Dst);
        assert_eq!(e.attacker, Ioc::dst_ip("10.0.0.9".parse().unwrap()));
        assert_eq!(e.victim, Some(Ioc::src_ip("10.0.0.5".parse().unwrap())));
        assert_eq!((e.src_port, e.dst_port), (Some(40000), Some(23)));

        let out = h.feed(&mut d, login(false, true, None));
        assert_eq!(
            out[0].description,
            "confused telnet login. destination IP: 10.0.0.9."
        );
        let mut failed = login(false, false, Some(""));
        failed.proto = None;
        let out = h.feed(&mut d, failed);
        assert_eq!(
            out[0].description,
            "failed login login. destination IP: 10.0.0.9."
        );
    }

    #[test]
    fn other_records_give_nothing() {
        let mut h = Harness::new(Config::default());
        let mut d = Login::new(&h.config);
        assert!(h
            .feed(&mut d, conn("10.0.0.5", 40000, "10.0.0.9", 23, 1.0))
            .is_empty());
    }
}
