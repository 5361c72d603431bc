//! `COMMAND_AND_CONTROL_CHANNEL`: a profile's connections to one TCP destination
//! (address, port) that repeat at a steady rhythm with the same size and duration, as a
//! bot polling its C&C server does.
//!
//! Slips (`modules/rnn_cc_detection/rnn_cc_detection.py`) feeds the Stratosphere letters
//! of each TCP tuple (see [`crate::strato_letters`]) to a recurrent neural network and
//! reports a score above 0.99. slipstream does not run that network; it scores the same
//! letters with a statistical rule instead (method `Statistical`):
//!
//! * `periodic` = the share of the tuple's symbols with a known periodicity that are
//!   periodic (periodicity 1 or 2: letters `a`-`i`, `A`-`I`);
//! * `consistent` = the share of all its symbols in its most common size and duration
//!   class (the same position in the letter table);
//! * score = `periodic * consistent`; the tuple is reported when the score is at least
//!   [`SCORE_THRESHOLD`] and at least [`MIN_PERIODIC_SYMBOLS`] symbols have a known
//!   periodicity.
//!
//! As in Slips, only TCP tuples are scored, and only when the connection that added the
//! symbol was established; the confidence is the length of the letter string over 100
//! (1 from 100 characters on); two evidence are set, the client (attacker, high) and the
//! server (attacker in its own profile, high). Slips reports every time the network
//! scores a new symbol; slipstream reports a tuple once per time window.
//!
//! Validation (`tests/slips_samples.rs`, and every Slips sample run through the command
//! line): Slips' `dataset/test-cc/test-cc-capture-1.pcap` (a client polling
//! 141.193.213.21:443 every 2.2 s with 4.7 kB; letters `88h.h.h.` ...) fires with score
//! 1.0 once 12 connections are seen; so does the synthetic beacon in
//! `test3-mixed.binetflow` (12 identical SSH flows every 10 s, `88h,h,h,` ...). None of
//! the other samples fire (test7 and test12 captures, test2, test5, test6, test1, test9,
//! test10, test14, test18, test19: 5,453 tuple windows in all), and neither does
//! browsing-like traffic in the unit tests.

use std::net::IpAddr;

use dissectors::{Record, Transport};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, Method, ThreatLevel};
use crate::ports::PortsInfo;
use crate::slips::is_established;
use crate::strato_letters::{LetterTracker, TupleKey, TupleLetters};

pub const NAME: &str = "command_and_control_channel";

/// Score at or above which a tuple is a C&C channel.
pub const SCORE_THRESHOLD: f64 = 0.8;
/// Symbols with a known periodicity needed before a tuple is scored (three connections
/// give the first one).
pub const MIN_PERIODIC_SYMBOLS: u32 = 10;
/// Letters for full confidence (Slips' `threshold_confidence`).
const FULL_CONFIDENCE_LETTERS: f64 = 100.0;

pub struct CommandAndControlChannel {
    letters: LetterTracker,
}

impl CommandAndControlChannel {
    pub fn new(_config: &Config) -> Self {
        CommandAndControlChannel {
            letters: LetterTracker::new(),
        }
    }
}

/// The statistical score of a tuple's letters; `None` while too few are known.
pub fn score(t: &TupleLetters) -> Option<f64> {
    let known: u32 = t.periodicity_counts[1..].iter().sum();
    if known < MIN_PERIODIC_SYMBOLS {
        return None;
    }
    let periodic = f64::from(t.periodicity_counts[1] + t.periodicity_counts[2]) / f64::from(known);
    let total: u32 = t.shape_counts.iter().sum();
    let dominant = t.shape_counts.iter().copied().max().unwrap_or(0);
    let consistent = f64::from(dominant) / f64::from(total.max(1));
    Some(periodic * consistent)
}

fn confidence(letters: &str) -> f64 {
    (letters.len() as f64 / FULL_CONFIDENCE_LETTERS).min(1.0)
}

impl Detector for CommandAndControlChannel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        let saddr = ctx.profile_ip;
        if c.id.orig_h != saddr {
            return;
        }
        let tw = ctx.timewindow.number;
        self.letters.roll(saddr, tw);
        let Some(t) = self.letters.add(saddr, tw, c) else {
            return;
        };
        if t.reported || c.id.proto != Transport::Tcp || !is_established(c) {
            return;
        }
        let Some(score) = score(t).filter(|s| *s >= SCORE_THRESHOLD) else {
            return;
        };
        t.reported = true;
        let key = TupleKey::of(c);
        let port_info = PortsInfo::shipped()
            .service(key.dport, key.proto)
            .map(str::to_uppercase)
            .unwrap_or_default();
        let daddr: IpAddr = key.daddr;
        let description = format!(
            "C&C channel, client IP: {saddr} server IP: {daddr} port: {port_info} {}/{} score: {score:.4}.",
            key.dport,
            key.proto.as_str()
        );
        let mut client = Evidence::new(
            EvidenceType::CommandAndControlChannel,
            Ioc::src_ip(saddr),
            ThreatLevel::High,
            confidence(&t.letters),
            description,
            saddr,
            tw,
            c.ts,
        );
        client.victim = Some(Ioc::dst_ip(daddr));
        client.uids.push(c.uid);
        client.dst_port = Some(key.dport);
        client.proto = Some(key.proto);
        client.method = Method::Statistical;
        let mut server = client.clone();
        server.attacker = Ioc::dst_ip(daddr);
        server.victim = Some(Ioc::src_ip(saddr));
        server.profile = daddr;
        out.push(client);
        out.push(server);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, Harness};
    use dissectors::{ConnState, Interval};

    fn beacon(
        h: &mut Harness,
        d: &mut CommandAndControlChannel,
        n: u16,
        gap: impl Fn(u16) -> f64,
        bytes: impl Fn(u16) -> u64,
    ) -> Vec<Evidence> {
        let mut out = Vec::new();
        let mut ts = 1_700_000_000.0;
        for i in 0..n {
            let mut c = conn("10.0.0.2", 40000 + i, "141.193.213.21", 443, ts);
            c.duration = Some(Interval::from_secs_f64(0.17));
            c.orig_bytes = Some(841);
            c.resp_bytes = Some(bytes(i));
            out.extend(h.feed(d, c));
            ts += gap(i);
        }
        out
    }

    #[test]
    fn a_steady_beacon_fires_once_with_both_sides() {
        let mut h = Harness::new(Config::default());
        let mut d = CommandAndControlChannel::new(&h.config);
        let out = beacon(&mut h, &mut d, 40, |_| 2.2, |_| 3903);
        assert_eq!(out.len(), 2, "{out:?}");
        let (client, server) = (&out[0], &out[1]);
        assert_eq!(client.evidence_type, EvidenceType::CommandAndControlChannel);
        assert_eq!(client.threat_level, ThreatLevel::High);
        assert_eq!(
            client.description,
            "C&C channel, client IP: 10.0.0.2 server IP: 141.193.213.21 port: HTTPS 443/tcp score: 1.0000."
        );
        // 12 connections: "88h.h.h.h.h.h.h.h.h.h." is 22 letters
        assert_eq!(client.confidence, 0.22);
        assert_eq!(client.method, Method::Statistical);
        assert_eq!(client.attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(server.profile, "141.193.213.21".parse::<IpAddr>().unwrap());
        assert_eq!(server.attacker, Ioc::dst_ip(server.profile));
        assert_eq!(client.dst_port, Some(443));
    }

    #[test]
    fn irregular_or_varied_traffic_does_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = CommandAndControlChannel::new(&h.config);
        // browsing-like: gaps and sizes vary
        let gaps = [0.3, 7.0, 1.1, 40.0, 2.0, 0.5, 90.0, 3.0, 12.0, 0.2];
        let sizes = [120, 40_000, 900, 3000, 150, 70_000, 500, 2000, 300, 9000];
        let out = beacon(
            &mut h,
            &mut d,
            60,
            |i| gaps[usize::from(i) % 10],
            |i| sizes[usize::from(i) % 10],
        );
        assert!(out.is_empty(), "{out:?}");
        // periodic, but the size changes every time between classes
        let mut d = CommandAndControlChannel::new(&h.config);
        let out = beacon(
            &mut h,
            &mut d,
            60,
            |_| 2.2,
            |i| if i % 2 == 0 { 100 } else { 90_000 },
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn too_few_connections_or_not_tcp_established_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = CommandAndControlChannel::new(&h.config);
        assert!(beacon(&mut h, &mut d, 11, |_| 2.2, |_| 3903).is_empty());
        let mut d = CommandAndControlChannel::new(&h.config);
        for i in 0..40u16 {
            let mut c = conn(
                "10.0.0.2",
                40000 + i,
                "1.2.3.4",
                53,
                1_700_000_000.0 + 2.0 * f64::from(i),
            );
            c.id.proto = Transport::Udp;
            assert!(h.feed(&mut d, c).is_empty());
            let mut c = conn(
                "10.0.0.2",
                40000 + i,
                "1.2.3.4",
                8080,
                1_700_000_000.0 + 2.0 * f64::from(i),
            );
            c.conn_state = ConnState::S0;
            assert!(h.feed(&mut d, c).is_empty());
        }
    }

    #[test]
    fn the_score_is_periodicity_times_consistency() {
        let mut t = TupleLetters::default();
        for i in 0..12 {
            t.add(f64::from(i) * 10.0, 0.5, 400);
        }
        assert_eq!(score(&t), Some(1.0));
        let mut t = TupleLetters::default();
        for i in 0..11 {
            t.add(f64::from(i) * 10.0, 0.5, 400);
        }
        assert_eq!(score(&t), None);
    }
}
