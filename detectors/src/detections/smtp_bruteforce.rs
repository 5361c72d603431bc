//! `BAD_SMTP_LOGIN` and `SMTP_LOGIN_BRUTEFORCE`, as Slips does them
//! (`modules/flow_alerts/smtp.py:check_smtp_bruteforce`, `set_evidence.py:bad_smtp_login`,
//! `smtp_bruteforce`): every SMTP transaction whose last reply says
//! `bad smtp-auth user` is a bad login (high threat, confidence 1); three bad logins
//! from one source within 10 seconds are a brute force (high, 1), after which the count
//! starts again. Like Slips, the count belongs to the source across time windows; it
//! never holds more than three logins.

use std::collections::VecDeque;
use std::net::IpAddr;

use dissectors::{Record, Timestamp, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "smtp_bruteforce";

const THRESHOLD: usize = 3;
const WINDOW_SECS: f64 = 10.0;
const MAX_SOURCES: usize = 65_536;

#[derive(Default)]
pub struct SmtpBruteforce {
    logins: HashMap<IpAddr, VecDeque<(Timestamp, Uid)>>,
}

impl SmtpBruteforce {
    pub fn new(_config: &Config) -> Self {
        Self::default()
    }
}

impl Detector for SmtpBruteforce {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Smtp(s) = record else { return };
        if !s
            .last_reply
            .as_deref()
            .is_some_and(|r| r.contains("bad smtp-auth user"))
        {
            return;
        }
        let (saddr, daddr) = (s.id.orig_h, s.id.resp_h);
        let tw = ctx.timewindow.number;
        let mut bad = Evidence::new(
            EvidenceType::BadSmtpLogin,
            Ioc::src_ip(saddr),
            ThreatLevel::High,
            1.0,
            format!("doing bad SMTP login to {daddr} "),
            saddr,
            tw,
            s.ts,
        );
        bad.victim = Some(Ioc::dst_ip(daddr));
        bad.uids.push(s.uid);
        out.push(bad);

        if self.logins.len() >= MAX_SOURCES && !self.logins.contains_key(&saddr) {
            self.logins.clear();
        }
        let logins = self.logins.entry(saddr).or_default();
        logins.push_back((s.ts, s.uid));
        if logins.len() < THRESHOLD {
            return;
        }
        let first = logins.front().map_or(s.ts, |l| l.0);
        if s.ts.saturating_sub(first).as_secs_f64() > WINDOW_SECS {
            logins.pop_front();
            return;
        }
        let mut e = Evidence::new(
            EvidenceType::SmtpLoginBruteforce,
            Ioc::src_ip(saddr),
            ThreatLevel::High,
            1.0,
            format!("doing SMTP login bruteforce to {daddr}. {THRESHOLD} logins in 10 seconds. "),
            saddr,
            tw,
            s.ts,
        );
        e.victim = Some(Ioc::dst_ip(daddr));
        e.uids = logins.drain(..).map(|l| l.1).collect();
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{smtp, Harness};

    const BAD: &str = "535 5.7.8 Error: authentication failed: bad smtp-auth user";

    #[test]
    fn three_bad_logins_in_ten_seconds() {
        let mut h = Harness::new(Config::default());
        let mut d = SmtpBruteforce::new(&h.config);
        let out = h.feed(&mut d, smtp("10.0.0.2", "1.2.3.4", BAD, 1.0));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence_type, EvidenceType::BadSmtpLogin);
        assert_eq!(out[0].description, "doing bad SMTP login to 1.2.3.4 ");
        assert_eq!(
            h.feed(&mut d, smtp("10.0.0.2", "1.2.3.4", BAD, 5.0)).len(),
            1
        );
        let out = h.feed(&mut d, smtp("10.0.0.2", "1.2.3.4", BAD, 9.0));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].evidence_type, EvidenceType::SmtpLoginBruteforce);
        assert_eq!(
            out[1].description,
            "doing SMTP login bruteforce to 1.2.3.4. 3 logins in 10 seconds. "
        );
        assert_eq!(out[1].uids.len(), 3);
    }

    #[test]
    fn slow_or_good_logins_are_no_bruteforce() {
        let mut h = Harness::new(Config::default());
        let mut d = SmtpBruteforce::new(&h.config);
        assert!(h
            .feed(
                &mut d,
                smtp(
                    "10.0.0.2",
                    "1.2.3.4",
                    "235 2.7.0 Authentication successful",
                    1.0
                )
            )
            .is_empty());
        for ts in [1.0, 8.0, 16.0, 30.0] {
            let out = h.feed(&mut d, smtp("10.0.0.2", "1.2.3.4", BAD, ts));
            assert_eq!(out.len(), 1, "at {ts}");
        }
    }
}
