//! `DNS_ARPA_SCAN`: a source resolving the names of many addresses (reverse lookups,
//! `*.in-addr.arpa`) within a couple of seconds, as network mappers do.
//!
//! As Slips does it (`modules/flow_alerts/dns.py:check_dns_arpa_scan`,
//! `set_evidence.py:dns_arpa_scan`): per profile, distinct `.in-addr.arpa` queries;
//! `network_discovery.arpa_scan_threshold` (10) of them within 2 seconds make a scan.
//! Threat level medium, confidence 0.7; the evidence names the queries' flows, and the
//! count starts again after it.
//!
//! Where this differs from Slips: Slips measures the 2 seconds from the profile's first
//! reverse lookup ever, so a host that did one lookup an hour earlier is never reported;
//! here the 2 seconds slide (the queries of the last 2 seconds are kept, at most
//! `arpa_scan_threshold` of them, since reaching it reports and clears them).

use std::hash::BuildHasher;
use std::net::IpAddr;

use dissectors::dns::DnsRecord;
use dissectors::{Interval, Record, Timestamp, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "dns_arpa_scan";

const WINDOW_SECS: i64 = 2;
const CONFIDENCE: f64 = 0.7;

/// One reverse lookup: when, which flow, and a hash of the name (distinctness only).
type Lookup = (Timestamp, Uid, u64);

pub struct DnsArpaScan {
    threshold: usize,
    /// Recent distinct lookups per profile, oldest first.
    recent: HashMap<IpAddr, Vec<Lookup>>,
    hasher: hashbrown::DefaultHashBuilder,
    /// Newest lookup time seen, to drop idle profiles now and then.
    newest: Timestamp,
    last_sweep: Timestamp,
}

impl DnsArpaScan {
    pub fn new(config: &Config) -> Self {
        DnsArpaScan {
            threshold: config.network_discovery.arpa_scan_threshold.max(1),
            recent: HashMap::new(),
            hasher: hashbrown::DefaultHashBuilder::default(),
            newest: Timestamp(i64::MIN),
            last_sweep: Timestamp(i64::MIN),
        }
    }

    fn dns(&mut self, ctx: &Context<'_>, r: &DnsRecord, out: &mut EvidenceSink) {
        let Some(query) = r.query.as_deref() else {
            return;
        };
        if !query.ends_with(".in-addr.arpa") {
            return;
        }
        let span = Interval::from_secs(WINDOW_SECS).0;
        self.newest = self.newest.max(r.ts);
        if self.newest.0.saturating_sub(self.last_sweep.0) > 60 * span {
            let newest = self.newest;
            self.recent.retain(|_, v| {
                v.last()
                    .is_some_and(|l| newest.0.saturating_sub(l.0 .0) <= span)
            });
            self.last_sweep = newest;
        }
        let name = self.hasher.hash_one(query);

        let profile = ctx.profile_ip;
        let lookups = self.recent.entry(profile).or_default();
        let latest = lookups.iter().map(|l| l.0).max().unwrap_or(r.ts).max(r.ts);
        lookups.retain(|l| latest.0.saturating_sub(l.0 .0) <= span);
        if lookups.iter().any(|l| l.2 == name) {
            return;
        }
        lookups.push((r.ts, r.uid, name));
        if lookups.len() < self.threshold {
            return;
        }
        let first = lookups.iter().map(|l| l.0).min().unwrap_or(r.ts);
        let mut e = Evidence::new(
            EvidenceType::DnsArpaScan,
            Ioc::src_ip(profile),
            ThreatLevel::Medium,
            CONFIDENCE,
            format!(
                "Doing DNS ARPA scan. Scanned {} hosts within 2 seconds.",
                self.threshold
            ),
            profile,
            ctx.timewindow.number,
            first,
        );
        e.uids.extend(lookups.iter().map(|l| l.1));
        lookups.clear();
        out.push(e);
    }
}

impl Detector for DnsArpaScan {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        if let Record::Dns(r) = record {
            self.dns(ctx, r, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{dns, Harness};

    fn ptr(i: u32, ts: f64) -> DnsRecord {
        let mut r = dns(
            "10.0.0.7",
            &format!("{i}.1.168.192.in-addr.arpa"),
            Vec::new(),
            ts,
        );
        r.qtype = Some(12);
        r.uid = Uid::connection(u128::from(i) << 8 | 1);
        r
    }

    fn setup() -> (Harness, DnsArpaScan) {
        let config = Config::default();
        let d = DnsArpaScan::new(&config);
        (Harness::new(config), d)
    }

    #[test]
    fn ten_reverse_lookups_within_two_seconds() {
        let (mut h, mut d) = setup();
        let mut out = Vec::new();
        for i in 0..25 {
            out.extend(h.feed(&mut d, ptr(i, 100.0 + f64::from(i) * 0.1)));
        }
        assert_eq!(out.len(), 2, "10 and 20, then the count starts over");
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::DnsArpaScan);
        assert_eq!(e.threat_level, ThreatLevel::Medium);
        assert_eq!(e.confidence, 0.7);
        assert_eq!(
            e.description,
            "Doing DNS ARPA scan. Scanned 10 hosts within 2 seconds."
        );
        assert_eq!(e.attacker, Ioc::src_ip("10.0.0.7".parse().unwrap()));
        assert_eq!(e.uids.len(), 10);
        assert_eq!(e.timestamp, Timestamp::from_secs_f64(100.0));
    }

    #[test]
    fn slow_repeated_or_forward_lookups_are_no_scan() {
        let (mut h, mut d) = setup();
        let mut quiet = |r: DnsRecord| assert!(h.feed(&mut d, r).is_empty());
        // One every 0.3 s: never ten within 2 s.
        for i in 0..40 {
            quiet(ptr(i, 100.0 + f64::from(i) * 0.3));
        }
        // The same name again and again.
        for _ in 0..20 {
            quiet(ptr(1, 200.0));
        }
        // Forward lookups and IPv6 reverse lookups.
        for i in 0..20 {
            quiet(dns(
                "10.0.0.7",
                &format!("host{i}.example.com"),
                Vec::new(),
                300.0,
            ));
            quiet(dns(
                "10.0.0.7",
                &format!("{i}.0.ip6.arpa"),
                Vec::new(),
                300.0,
            ));
        }
    }

    #[test]
    fn threshold_comes_from_the_config_and_profiles_are_apart() {
        let mut config = Config::default();
        config.network_discovery.arpa_scan_threshold = 3;
        let mut d = DnsArpaScan::new(&config);
        let mut h = Harness::new(config);
        let other = |i, ts| {
            let mut r = ptr(i, ts);
            r.id.orig_h = "10.0.0.8".parse().unwrap();
            r
        };
        assert!(h.feed(&mut d, ptr(1, 10.0)).is_empty());
        assert!(h.feed(&mut d, other(2, 10.1)).is_empty());
        assert!(h.feed(&mut d, ptr(3, 10.2)).is_empty());
        assert!(h.feed(&mut d, other(4, 10.3)).is_empty());
        let out = h.feed(&mut d, ptr(5, 10.4));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "Doing DNS ARPA scan. Scanned 3 hosts within 2 seconds."
        );
    }
}
