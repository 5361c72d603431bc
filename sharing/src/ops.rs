//! What a sensor writes to Redis, one operation at a time: plain data that can wait in
//! memory or in a spill file while Redis is away, and becomes one script call when sent.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::keys::{self, WindowKeys};
use crate::scripts;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// One kept evidence for the shared alert rule.
    Accumulate {
        profile: IpAddr,
        timewindow: i64,
        /// `EventId` bits in hex.
        id: String,
        /// `threat_level * confidence` in millionths (0: it does not count).
        threat: i64,
        /// Whether an alert of its window carries it.
        counts: bool,
        threshold: i64,
        /// Evidence time, µs since the epoch.
        ts: i64,
        /// The flows behind it (`uid_token`).
        uids: Vec<String>,
    },
    /// An evidence or an alert for its stream and channel.
    Feed {
        alert: bool,
        id: String,
        profile: IpAddr,
        timewindow: i64,
        json: String,
    },
    /// A record of a profile.
    Record {
        profile: IpAddr,
        timewindow: i64,
        start: i64,
        end: i64,
        /// The connection's uid for a flow; empty for other records.
        flow: String,
        channel: String,
        message: String,
    },
    /// A profile seen for the first time by this sensor.
    Profile { profile: IpAddr, first_seen: i64 },
}

impl Op {
    fn command(&self) -> redis::Cmd {
        match self {
            Op::Accumulate {
                profile,
                timewindow,
                id,
                threat,
                counts,
                threshold,
                ts,
                uids,
            } => {
                let k = WindowKeys::new(*profile, *timewindow);
                let mut entry = id.clone();
                for u in uids {
                    entry.push(' ');
                    entry.push_str(u);
                }
                let mut c = eval(
                    scripts::ACCUMULATE,
                    &[&k.state, &k.pending, &k.seen, &k.decisions],
                );
                c.arg(id)
                    .arg(threat)
                    .arg(if *counts { "1" } else { "0" })
                    .arg(threshold)
                    .arg(entry)
                    .arg(ts);
                c
            }
            Op::Feed {
                alert,
                id,
                profile,
                timewindow,
                json,
            } => {
                let (stream, channel) = if *alert {
                    (keys::ALERT_STREAM, keys::ALERT_CHANNEL)
                } else {
                    (keys::EVIDENCE_STREAM, keys::EVIDENCE_CHANNEL)
                };
                let mut c = eval(scripts::FEED, &[stream, keys::FEED_IDS]);
                c.arg(id)
                    .arg(channel)
                    .arg(json)
                    .arg(keys::profile_id(*profile))
                    .arg(keys::window_id(*timewindow));
                c
            }
            Op::Record {
                profile,
                timewindow,
                start,
                end,
                flow,
                channel,
                message,
            } => {
                let k = WindowKeys::new(*profile, *timewindow);
                let w = keys::windows(*profile);
                let mut c = eval(scripts::RECORD, &[&k.state, &k.flows, &w]);
                c.arg(timewindow)
                    .arg(start)
                    .arg(end)
                    .arg(flow)
                    .arg(channel)
                    .arg(message);
                c
            }
            Op::Profile { profile, .. } => {
                let mut c = redis::cmd("SADD");
                c.arg(keys::PROFILES).arg(profile.to_string());
                c
            }
        }
    }

    /// The commands that carry the operation: `command` and, for a profile, its own hash
    /// (in another slot than the set of profiles, so not in the same script; both are
    /// idempotent). The first one's reply is the operation's.
    pub fn commands(&self) -> Vec<redis::Cmd> {
        let mut v = vec![self.command()];
        if let Op::Profile {
            profile,
            first_seen,
        } = self
        {
            let mut c = redis::cmd("HSETNX");
            c.arg(keys::profile(*profile))
                .arg("first_seen")
                .arg(first_seen);
            v.push(c);
        }
        v
    }
}

fn eval(script: &str, keys: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd("EVAL");
    c.arg(script).arg(keys.len());
    for k in keys {
        c.arg(*k);
    }
    c
}

/// A uid as the server keeps it: prefix letter and the 96 bits in hex, which reads back
/// exactly (the log form does not).
pub fn uid_token(u: &dissectors::Uid) -> String {
    format!("{}{:x}", u.prefix as char, u.bits)
}

pub fn parse_uid_token(s: &str) -> Option<dissectors::Uid> {
    let prefix = *s.as_bytes().first()?;
    if !prefix.is_ascii_alphabetic() {
        return None;
    }
    let bits = u128::from_str_radix(&s[1..], 16).ok()?;
    Some(dissectors::Uid { prefix, bits })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_tokens_round_trip() {
        for u in [
            dissectors::Uid::connection(0),
            dissectors::Uid::connection(u128::from(u64::MAX) << 20),
            dissectors::Uid::file(12345),
        ] {
            assert_eq!(parse_uid_token(&uid_token(&u)), Some(u));
        }
        assert_eq!(parse_uid_token(""), None);
        assert_eq!(parse_uid_token("Cxyz"), None);
        assert_eq!(parse_uid_token("7ab"), None);
    }

    #[test]
    fn ops_survive_a_spill_file() {
        let op = Op::Accumulate {
            profile: "2001:db8::1".parse().unwrap(),
            timewindow: -2,
            id: "ff".into(),
            threat: 800_000,
            counts: true,
            threshold: 15_000_000,
            ts: 1_700_000_000_000_000,
            uids: vec!["C1f".into()],
        };
        let line = serde_json::to_string(&op).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<Op>(&line).unwrap(), op);
    }
}
