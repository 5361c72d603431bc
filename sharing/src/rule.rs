//! Slips' alert rule on the server, shared by every sensor: each evidence's threat is
//! added to its profile's window there (`scripts::ACCUMULATE`), atomically, so evidence
//! that different sensors see for one attacker adds up, and the one evidence that
//! crosses the threshold gets the alert, once.
//!
//! Threat is counted in millionths (integers), so the sum does not depend on the order
//! in which sensors' evidence arrives.
//!
//! While Redis is unreachable the evidence waits (in memory, then in a spill file) and
//! is settled when Redis is back: the alert it raises comes late but is raised, with the
//! same evidence. The local outputs get every evidence at once either way.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use detectors::alert::{SharedAlertRule, SharedDecision, SharedEvidence};
use detectors::evidence::EventId;
use dissectors::Timestamp;

use crate::link::{Handler, Link, Report, Target};
use crate::ops::{parse_uid_token, uid_token, Op};
use crate::{keys, scripts};

/// Threat in millionths, as the server adds it.
pub fn micros(threat: f64) -> i64 {
    (threat * 1e6).round() as i64
}

pub(crate) struct Decisions {
    pub tx: Sender<SharedDecision>,
}

impl Handler for Decisions {
    type Item = ();

    fn ops(&mut self, _item: (), _out: &mut Vec<Op>) {}

    fn reply(&mut self, op: &Op, reply: redis::Value) -> Result<(), String> {
        let Op::Accumulate {
            profile,
            timewindow,
            ..
        } = op
        else {
            return Ok(());
        };
        let text = format!("{reply:?}");
        match parse_reply(reply) {
            Some(Some(d)) => {
                let _ = self.tx.send(SharedDecision {
                    profile: *profile,
                    timewindow: *timewindow,
                    ..d
                });
                Ok(())
            }
            Some(None) => Ok(()),
            None => Err(format!("the alert rule answered {text}")),
        }
    }
}

/// `None`: not a reply of the script; `Some(None)`: no alert.
fn parse_reply(reply: redis::Value) -> Option<Option<SharedDecision>> {
    let parts: Vec<String> = redis::from_redis_value(reply).ok()?;
    match parts.first().map(String::as_str) {
        Some("none") => Some(None),
        Some("alert") => parse_decision(parts.get(1)?).map(Some),
        _ => None,
    }
}

/// `accumulated ts\nid uid uid\n...` (see `scripts::ACCUMULATE`); profile and window are
/// the caller's.
fn parse_decision(text: &str) -> Option<SharedDecision> {
    let mut lines = text.lines();
    let mut head = lines.next()?.split(' ');
    let accumulated: f64 = head.next()?.parse().ok()?;
    let ts: i64 = head.next()?.parse().ok()?;
    let mut evidence_ids = Vec::new();
    let mut uids = Vec::new();
    for line in lines {
        let mut words = line.split(' ');
        evidence_ids.push(EventId(u128::from_str_radix(words.next()?, 16).ok()?));
        for w in words {
            uids.push(parse_uid_token(w)?);
        }
    }
    Some(SharedDecision {
        profile: std::net::Ipv4Addr::UNSPECIFIED.into(),
        timewindow: 0,
        last_evidence_ts: Timestamp(ts),
        accumulated_threat_level: accumulated / 1e6,
        evidence_ids,
        uids,
    })
}

pub struct RedisAlertRule {
    link: Link<()>,
    decisions: Receiver<SharedDecision>,
    target: Target,
    threshold: i64,
    finish_wait: Duration,
    report: Option<Report>,
}

impl RedisAlertRule {
    pub(crate) fn new(
        link: Link<()>,
        decisions: Receiver<SharedDecision>,
        target: Target,
        threshold: f64,
        finish_wait: Duration,
    ) -> Self {
        RedisAlertRule {
            link,
            decisions,
            target,
            threshold: micros(threshold),
            finish_wait,
            report: None,
        }
    }

    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }
}

/// Asks the server for window 1's start, offering `first`.
pub fn agree_on_origin(target: &Target, first: Timestamp) -> redis::RedisResult<Timestamp> {
    let mut conn = target.connect()?;
    let mut c = redis::cmd("EVAL");
    c.arg(scripts::ORIGIN)
        .arg(1)
        .arg(keys::WINDOW_ORIGIN)
        .arg(first.0);
    let replies = conn.run(vec![c])?;
    let v: i64 = redis::from_redis_value(replies.into_iter().next().unwrap_or(redis::Value::Nil))?;
    Ok(Timestamp(v))
}

impl SharedAlertRule for RedisAlertRule {
    fn window_origin(&mut self, first: Timestamp) -> Timestamp {
        match agree_on_origin(&self.target, first) {
            Ok(t) => t,
            Err(e) => {
                // Without the server the windows start at this sensor's first flow; its
                // evidence is still settled on the server when it is back.
                eprintln!(
                    "slipstream: warning: Redis {}: cannot agree on the start of the time windows ({e}); using this sensor's first flow",
                    self.target
                );
                first
            }
        }
    }

    fn add(&mut self, e: SharedEvidence) {
        self.link.send(Op::Accumulate {
            profile: e.profile,
            timewindow: e.timewindow,
            id: format!("{:x}", e.id.0),
            threat: micros(e.weighted_threat),
            counts: e.counts,
            threshold: self.threshold,
            ts: e.timestamp.0,
            uids: e.uids.iter().map(uid_token).collect(),
        });
    }

    fn decided(&mut self, out: &mut Vec<SharedDecision>) {
        out.extend(self.decisions.try_iter());
    }

    fn finish(&mut self, out: &mut Vec<SharedDecision>) -> Result<(), detectors::Error> {
        let report = self.link.finish(self.finish_wait);
        out.extend(self.decisions.try_iter());
        crate::report_note(&report, "the shared alert rule");
        let r = crate::report_error(&report, "the shared alert rule");
        self.report = Some(report);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_parse() {
        let d = parse_decision("15200000 77\nff C1f C20\n10").unwrap();
        assert!((d.accumulated_threat_level - 15.2).abs() < 1e-12);
        assert_eq!(d.last_evidence_ts, Timestamp(77));
        assert_eq!(d.evidence_ids, vec![EventId(0xff), EventId(0x10)]);
        assert_eq!(
            d.uids,
            vec![
                dissectors::Uid::connection(0x1f),
                dissectors::Uid::connection(0x20)
            ]
        );
        assert!(parse_decision("x 1\nff").is_none());
        assert_eq!(micros(0.8 * 0.7), 560_000);
    }
}
