//! `DNS_WITHOUT_CONNECTION`: a name resolved that the host then never connected to, as
//! Slips does it (`modules/flow_alerts/dns.py:check_dns_without_connection`,
//! `set_evidence.py:dns_without_conn`).
//!
//! A/AAAA queries answered NOERROR with answers are checked, except reverse lookups,
//! `.local` names, wildcards, single-label names, `WPAD` and `cymru.com` look-ups. The
//! answer counts as contacted when the host (or another address of the same machine)
//! connected to one of its addresses, to an address the name resolved to before, or to
//! an address of one of its CNAMEs, from the start of the query's time window on. A
//! query still uncontacted 30 minutes later (capture time; or when the run ends) is
//! reported: info threat, confidence 0.8, in the query's window.
//!
//! Bounded state: contacts ([`MAX_CONTACTS`], forgotten after a window), names'
//! resolutions ([`MAX_NAMES`]) and queries waiting ([`MAX_PENDING`]).

use std::collections::VecDeque;
use std::net::IpAddr;

use dissectors::dns::{DnsRecord, RData};
use dissectors::{Interval, Record, Timestamp, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detections::dns_answers::answer_ips;
use crate::detector::{Context, Detector, EvidenceSink, FinishContext, FINISH_BATCH};
use crate::evidence::{Direction, Evidence, EvidenceType, Ioc, IocValue, ThreatLevel};
use crate::profile::Hosts;

pub const NAME: &str = "dns_without_connection";

const WAIT: Interval = Interval(30 * 60 * 1_000_000);
const MAX_CONTACTS: usize = 1 << 20;
const MAX_NAMES: usize = 1 << 16;
const MAX_PENDING: usize = 1 << 16;
const MAX_IPS_PER_NAME: usize = 16;

/// An answer waiting for a connection. Up to [`MAX_PENDING`] wait at once (every answer
/// of the last 30 minutes), so the names and addresses are boxed slices: 128 bytes an
/// answer instead of 160, 2 MB less at the benchmark capture's peak.
struct Pending {
    ts: Timestamp,
    window_start: Timestamp,
    timewindow: i64,
    saddr: IpAddr,
    query: Box<str>,
    ips: Box<[IpAddr]>,
    cnames: Box<[Box<str>]>,
    uid: Uid,
}

pub struct DnsWithoutConnection {
    /// Last time each (source, destination) pair connected.
    contacts: HashMap<(IpAddr, IpAddr), Timestamp>,
    /// Addresses each name resolved to.
    resolutions: HashMap<String, Vec<IpAddr>>,
    pending: VecDeque<Pending>,
    window_width: Interval,
}

impl DnsWithoutConnection {
    pub fn new(config: &Config) -> Self {
        DnsWithoutConnection {
            contacts: HashMap::new(),
            resolutions: HashMap::new(),
            pending: VecDeque::new(),
            window_width: Interval(config.window_width_micros().unwrap_or(i64::MAX)),
        }
    }

    fn should_check(d: &DnsRecord, query: &str) -> bool {
        !(query.contains("arpa")
            || query.contains(".local")
            || !matches!(d.qtype, Some(1 | 28))
            || query.contains('*')
            || query.ends_with(".cymru.com")
            || !query.contains('.')
            || query == "WPAD"
            || d.rcode != Some(0)
            || d.answers.as_ref().is_none_or(|a| a.is_empty()))
    }

    fn remember(&mut self, name: &str, ip: IpAddr) {
        if let Some(ips) = self.resolutions.get_mut(name) {
            if !ips.contains(&ip) && ips.len() < MAX_IPS_PER_NAME {
                ips.push(ip);
            }
            return;
        }
        if self.resolutions.len() >= MAX_NAMES {
            self.resolutions.clear();
        }
        self.resolutions.insert(name.to_string(), vec![ip]);
    }

    fn contacted(&self, hosts: &Hosts, p: &Pending) -> bool {
        let sources = std::iter::once(p.saddr).chain(
            hosts
                .get(p.saddr)
                .into_iter()
                .flat_map(|h| h.other_ips.iter().copied()),
        );
        let mut targets: Vec<IpAddr> = p.ips.to_vec();
        for name in std::iter::once(&p.query).chain(p.cnames.iter()) {
            if let Some(ips) = self.resolutions.get(&**name) {
                targets.extend_from_slice(ips);
            }
        }
        sources.into_iter().any(|s| {
            targets.iter().any(|t| {
                self.contacts
                    .get(&(s, *t))
                    .is_some_and(|last| *last >= p.window_start)
            })
        })
    }

    fn report(p: Pending, out: &mut EvidenceSink) {
        let mut e = Evidence::new(
            EvidenceType::DnsWithoutConnection,
            Ioc::src_ip(p.saddr),
            ThreatLevel::Info,
            0.8,
            format!("domain {} resolved with no connection", p.query),
            p.saddr,
            p.timewindow,
            p.ts,
        );
        e.victim = Some(Ioc {
            value: IocValue::Domain(p.query.into_string()),
            direction: Direction::Dst,
        });
        e.uids.push(p.uid);
        out.push(e);
    }

    fn check_due(&mut self, hosts: &Hosts, now: Timestamp, out: &mut EvidenceSink) {
        while self
            .pending
            .front()
            .is_some_and(|p| now.saturating_sub(p.ts) >= WAIT)
        {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            if !self.contacted(hosts, &p) {
                Self::report(p, out);
            }
        }
    }

    fn note_contact(&mut self, src: IpAddr, dst: IpAddr, ts: Timestamp) {
        if self.contacts.len() >= MAX_CONTACTS && !self.contacts.contains_key(&(src, dst)) {
            let horizon = Timestamp(ts.0.saturating_sub(self.window_width.0.max(WAIT.0)));
            self.contacts.retain(|_, last| *last >= horizon);
            if self.contacts.len() >= MAX_CONTACTS {
                self.contacts.clear();
            }
        }
        let last = self.contacts.entry((src, dst)).or_insert(ts);
        if ts > *last {
            *last = ts;
        }
    }
}

impl Detector for DnsWithoutConnection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let now = record.ts();
        if !self.pending.is_empty() {
            self.check_due(ctx.hosts, now, out);
        }
        match record {
            Record::Conn(c) => self.note_contact(c.id.orig_h, c.id.resp_h, c.ts),
            Record::Dns(d) => {
                let Some(query) = d.query.as_deref() else {
                    return;
                };
                if !Self::should_check(d, query) {
                    return;
                }
                let ips: Box<[IpAddr]> = answer_ips(d).collect();
                let cnames: Box<[Box<str>]> = d
                    .answers
                    .iter()
                    .flatten()
                    .filter_map(|a| match &a.data {
                        RData::Name(n) if a.rtype == 5 => Some(n.as_str().into()),
                        _ => None,
                    })
                    .collect();
                let p = Pending {
                    ts: d.ts,
                    window_start: ctx.timewindow.start,
                    timewindow: ctx.timewindow.number,
                    saddr: d.id.orig_h,
                    query: query.into(),
                    ips,
                    cnames,
                    uid: d.uid,
                };
                for ip in &p.ips {
                    self.remember(query, *ip);
                }
                if self.pending.len() >= MAX_PENDING {
                    if let Some(old) = self.pending.pop_front() {
                        if !self.contacted(ctx.hosts, &old) {
                            Self::report(old, out);
                        }
                    }
                }
                self.pending.push_back(p);
            }
            _ => {}
        }
    }

    fn finish(&mut self, ctx: &FinishContext<'_>, out: &mut EvidenceSink) -> bool {
        // Every answer of the last 30 minutes is still waiting: 38,900 evidence at the end
        // of the benchmark capture, 17 MB held at once before they were handled in batches.
        while let Some(p) = self.pending.pop_front() {
            if !self.contacted(ctx.hosts, &p) {
                Self::report(p, out);
                if out.len() >= FINISH_BATCH {
                    return !self.pending.is_empty();
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, dns, Harness};

    fn a(ip: &str) -> RData {
        RData::Addr(ip.parse().unwrap())
    }

    #[test]
    fn uncontacted_answer_is_reported_after_30_minutes() {
        let mut h = Harness::new(Config::default());
        let mut d = DnsWithoutConnection::new(&h.config);
        assert!(h
            .feed(
                &mut d,
                dns("10.0.0.2", "lonely.example", vec![a("5.5.5.5")], 10.0)
            )
            .is_empty());
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 1, "6.6.6.6", 443, 600.0))
            .is_empty());
        let out = h.feed(&mut d, conn("10.0.0.2", 2, "6.6.6.6", 443, 1811.0));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "domain lonely.example resolved with no connection"
        );
        assert_eq!(
            (out[0].threat_level, out[0].confidence),
            (ThreatLevel::Info, 0.8)
        );
        assert_eq!(out[0].timewindow, 1);
    }

    #[test]
    fn contacted_answers_cnames_and_skipped_queries_are_not_reported() {
        let mut h = Harness::new(Config::default());
        let mut d = DnsWithoutConnection::new(&h.config);
        h.feed(
            &mut d,
            dns("10.0.0.2", "used.example", vec![a("5.5.5.5")], 10.0),
        );
        h.feed(&mut d, conn("10.0.0.2", 1, "5.5.5.5", 443, 20.0));
        // A CNAME whose address was contacted.
        h.feed(
            &mut d,
            dns("10.0.0.2", "cdn.example", vec![a("7.7.7.7")], 11.0),
        );
        h.feed(
            &mut d,
            dns(
                "10.0.0.2",
                "www.example",
                vec![RData::Name("cdn.example".into())],
                12.0,
            ),
        );
        h.feed(&mut d, conn("10.0.0.2", 2, "7.7.7.7", 443, 30.0));
        // Skipped kinds.
        h.feed(
            &mut d,
            dns("10.0.0.2", "printer.local", vec![a("5.5.5.6")], 13.0),
        );
        h.feed(&mut d, dns("10.0.0.2", "wpad", vec![a("5.5.5.7")], 13.0));
        let mut nx = dns("10.0.0.2", "missing.example", Vec::new(), 14.0);
        nx.rcode = Some(3);
        h.feed(&mut d, nx);
        assert!(h.finish(&mut d).is_empty());
    }

    #[test]
    fn run_end_reports_what_is_still_waiting() {
        let mut h = Harness::new(Config::default());
        let mut d = DnsWithoutConnection::new(&h.config);
        h.feed(
            &mut d,
            dns("10.0.0.2", "late.example", vec![a("5.5.5.5")], 10.0),
        );
        assert_eq!(h.finish(&mut d).len(), 1);
    }

    #[test]
    fn run_end_reports_in_batches_and_loses_none() {
        let mut h = Harness::new(Config::default());
        let mut d = DnsWithoutConnection::new(&h.config);
        let waiting = FINISH_BATCH * 2 + 5;
        for i in 0..waiting {
            h.feed(
                &mut d,
                dns(
                    "10.0.0.2",
                    &format!("n{i}.example"),
                    vec![a("5.5.5.5")],
                    10.0 + i as f64 * 0.001,
                ),
            );
        }
        let ctx = FinishContext {
            config: &h.config,
            hosts: &h.hosts,
            last_window: None,
        };
        let mut out = Vec::new();
        assert!(d.finish(&ctx, &mut out));
        assert_eq!(out.len(), FINISH_BATCH);
        let mut names: Vec<String> = out.drain(..).map(|e| e.description).collect();
        while d.finish(&ctx, &mut out) {
            assert!(out.len() <= FINISH_BATCH);
            names.extend(out.drain(..).map(|e| e.description));
        }
        names.extend(out.drain(..).map(|e| e.description));
        assert_eq!(names.len(), waiting);
        // In the order the answers came.
        assert_eq!(names[0], "domain n0.example resolved with no connection");
        assert_eq!(
            names[waiting - 1],
            format!(
                "domain n{}.example resolved with no connection",
                waiting - 1
            )
        );
    }
}
