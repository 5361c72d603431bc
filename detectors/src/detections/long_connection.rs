//! `LONG_CONNECTION`: a connection that lasted longer than
//! `flow_alerts.long_connection_threshold` seconds (25 minutes by default).
//!
//! As Slips does it (`modules/flow_alerts/conn.py:check_long_connection`,
//! `set_evidence.py:long_connection`): connections from or to a multicast address are
//! skipped; the duration must be strictly above the threshold; the threat level is low
//! and the confidence grows with the duration, reaching 1 at 24 hours
//! (`min(1, dur / 86400)`, rounded to two decimals).

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "long_connection";

const DAY_SECS: f64 = 86_400.0;

pub struct LongConnection {
    threshold_secs: f64,
}

impl LongConnection {
    pub fn new(config: &Config) -> Self {
        LongConnection {
            threshold_secs: config.flow_alerts.long_connection_threshold,
        }
    }
}

/// Slips' `1 / (3600 * 24) * (dur - 3600 * 24) + 1`, capped at 1, two decimals.
fn confidence(duration_secs: f64) -> f64 {
    let c = (1.0 / DAY_SECS * (duration_secs - DAY_SECS) + 1.0).min(1.0);
    (c * 100.0).round() / 100.0
}

impl Detector for LongConnection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        let Some(duration) = c.duration else { return };
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        if saddr.is_multicast() || daddr.is_multicast() {
            return;
        }
        let secs = duration.as_secs_f64();
        if secs <= self.threshold_secs {
            return;
        }
        let minutes = (secs / 60.0) as u64;
        let mut e = Evidence::new(
            EvidenceType::LongConnection,
            Ioc::src_ip(saddr),
            ThreatLevel::Low,
            confidence(secs),
            format!(
                "Long Connection. Connection from {saddr} to destination address: {daddr} took {minutes} mins"
            ),
            saddr,
            ctx.timewindow.number,
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
    use crate::profile::Hosts;
    use crate::testutil::conn;
    use crate::timewindow::TimeWindow;
    use dissectors::{Interval, Timestamp};

    fn run(config: &Config, record: &Record) -> EvidenceSink {
        let mut hosts = Hosts::for_tests();
        let Record::Conn(c) = record else { panic!() };
        hosts.profile_mut(c.id.orig_h, c.ts);
        let ctx = Context {
            config,
            profile_ip: c.id.orig_h,
            profile: hosts.get(c.id.orig_h).unwrap(),
            timewindow: TimeWindow {
                number: 3,
                start: Timestamp(0),
                end: Timestamp(1),
            },
            hosts: &hosts,
        };
        let mut d = LongConnection::new(config);
        let mut out = Vec::new();
        d.process(&ctx, record, &mut out);
        out
    }

    fn with_duration(secs: f64) -> Record {
        let mut c = conn("10.0.0.2", 49152, "93.184.216.34", 443, 1_700_000_000.0);
        c.duration = Some(Interval::from_secs_f64(secs));
        Record::from(c)
    }

    #[test]
    fn fires_above_the_threshold() {
        let config = Config::default();
        let out = run(&config, &with_duration(1501.0));
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::LongConnection);
        assert_eq!(e.threat_level, ThreatLevel::Low);
        assert_eq!(e.confidence, 0.02);
        assert_eq!(
            e.description,
            "Long Connection. Connection from 10.0.0.2 to destination address: 93.184.216.34 took 25 mins"
        );
        assert_eq!(e.attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(
            e.victim,
            Some(Ioc::dst_ip("93.184.216.34".parse().unwrap()))
        );
        assert_eq!(e.profile, "10.0.0.2".parse::<std::net::IpAddr>().unwrap());
        assert_eq!(e.timewindow, 3);
        assert_eq!((e.src_port, e.dst_port), (Some(49152), Some(443)));
        assert_eq!(e.uids.len(), 1);
        assert_eq!(e.timestamp, Timestamp::from_secs_f64(1_700_000_000.0));
    }

    #[test]
    fn confidence_reaches_one_at_a_day() {
        assert_eq!(confidence(43_200.0), 0.5);
        assert_eq!(confidence(86_400.0), 1.0);
        assert_eq!(confidence(200_000.0), 1.0);
        let out = run(&Config::default(), &with_duration(2.0 * 86_400.0));
        assert_eq!(out[0].confidence, 1.0);
        assert!(out[0].description.ends_with("took 2880 mins"));
    }

    #[test]
    fn does_not_fire_at_or_below_the_threshold_nor_for_multicast() {
        let config = Config::default();
        assert!(run(&config, &with_duration(1500.0)).is_empty());
        assert!(run(&config, &with_duration(30.0)).is_empty());
        let mut c = conn("10.0.0.2", 5353, "224.0.0.251", 5353, 0.0);
        c.duration = Some(Interval::from_secs(7200));
        assert!(run(&config, &Record::from(c)).is_empty());
        let mut c = conn("10.0.0.2", 1, "10.0.0.3", 2, 0.0);
        c.duration = None;
        assert!(run(&config, &Record::from(c)).is_empty());
    }

    #[test]
    fn threshold_comes_from_the_config() {
        let mut config = Config::default();
        config.flow_alerts.long_connection_threshold = 60.0;
        assert_eq!(run(&config, &with_duration(61.0)).len(), 1);
        assert!(run(&config, &with_duration(59.0)).is_empty());
    }
}
