//! `DGA_NXDOMAINS`: a source failing to resolve many different names (a domain
//! generation algorithm, or domain scanning), as Slips does it
//! (`modules/flow_alerts/dns.py:detect_dga`, `set_evidence.py:dga`). NXDOMAIN replies
//! for distinct names (not `.arpa`, not `.local`) are counted per time window; every
//! 5th name from the 10th on sets an evidence and the count starts again. High threat;
//! confidence `min(1, (n - 100) / 100 + 1)`, two decimals (0.1 at 10 names).

use std::net::IpAddr;

use dissectors::{Record, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "dga_nxdomains";

const THRESHOLD: usize = 10;
const NXDOMAIN: u8 = 3;
const MAX_SOURCES: usize = 65_536;

struct Failures {
    timewindow: i64,
    queries: Vec<String>,
    uids: Vec<Uid>,
}

#[derive(Default)]
pub struct DgaNxdomains {
    sources: HashMap<IpAddr, Failures>,
}

impl DgaNxdomains {
    pub fn new(_config: &Config) -> Self {
        Self::default()
    }
}

fn confidence(n: usize) -> f64 {
    let c = (1.0 / 100.0 * (n as f64 - 100.0) + 1.0).min(1.0);
    (c * 100.0).round() / 100.0
}

impl Detector for DgaNxdomains {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Dns(d) = record else { return };
        if d.rcode != Some(NXDOMAIN) {
            return;
        }
        let Some(query) = d.query.as_deref().filter(|q| !q.is_empty()) else {
            return;
        };
        if query.ends_with(".arpa") || query.ends_with(".local") {
            return;
        }
        let saddr = d.id.orig_h;
        let tw = ctx.timewindow.number;
        if self.sources.len() >= MAX_SOURCES && !self.sources.contains_key(&saddr) {
            self.sources.retain(|_, f| f.timewindow >= tw);
            if self.sources.len() >= MAX_SOURCES {
                self.sources.clear();
            }
        }
        let f = self.sources.entry(saddr).or_insert(Failures {
            timewindow: tw,
            queries: Vec::new(),
            uids: Vec::new(),
        });
        if f.timewindow != tw {
            f.timewindow = tw;
            f.queries.clear();
            f.uids.clear();
        }
        if f.queries.iter().any(|q| q == query) {
            return;
        }
        f.queries.push(query.to_string());
        f.uids.push(d.uid);
        let n = f.queries.len();
        if n % 5 != 0 || n < THRESHOLD {
            return;
        }
        let mut e = Evidence::new(
            EvidenceType::DgaNxdomains,
            Ioc::src_ip(saddr),
            ThreatLevel::High,
            confidence(n),
            format!(
                "Possible DGA or domain scanning. {saddr} failed to resolve {n} different domains"
            ),
            saddr,
            tw,
            d.ts,
        );
        e.uids = std::mem::take(&mut f.uids);
        f.queries.clear();
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{dns, Harness};

    fn nx(h: &mut Harness, d: &mut DgaNxdomains, name: &str, ts: f64) -> Vec<Evidence> {
        let mut r = dns("10.0.0.2", name, Vec::new(), ts);
        r.rcode = Some(NXDOMAIN);
        h.feed(d, r)
    }

    #[test]
    fn tenth_distinct_nxdomain_fires() {
        let mut h = Harness::new(Config::default());
        let mut d = DgaNxdomains::new(&h.config);
        for i in 0..9 {
            assert!(nx(&mut h, &mut d, &format!("q{i}.example"), 1.0).is_empty());
            // Repeats do not count.
            assert!(nx(&mut h, &mut d, &format!("q{i}.example"), 1.0).is_empty());
        }
        let out = nx(&mut h, &mut d, "q9.example", 2.0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(out[0].confidence, 0.1);
        assert_eq!(out[0].uids.len(), 10);
        assert_eq!(
            out[0].description,
            "Possible DGA or domain scanning. 10.0.0.2 failed to resolve 10 different domains"
        );
        assert_eq!(confidence(150), 1.0);
        assert_eq!(confidence(55), 0.55);
    }

    #[test]
    fn arpa_local_and_resolved_names_do_not_count() {
        let mut h = Harness::new(Config::default());
        let mut d = DgaNxdomains::new(&h.config);
        for i in 0..20 {
            assert!(nx(&mut h, &mut d, &format!("{i}.1.168.192.in-addr.arpa"), 1.0).is_empty());
            assert!(nx(&mut h, &mut d, &format!("h{i}.local"), 1.0).is_empty());
            assert!(h
                .feed(
                    &mut d,
                    dns("10.0.0.2", &format!("ok{i}.example"), Vec::new(), 1.0)
                )
                .is_empty());
        }
    }
}
