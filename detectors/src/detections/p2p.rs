//! What Slips' P2P network says about IPs (`modules/p2p_trust/`), from a
//! [`PeerReportSource`] (`enrichment.p2p_reports`, see [`crate::online::p2p`]).
//!
//! * `MALICIOUS_IP_FROM_P2P_NETWORK` (`p2p_trust.py:handle_data_request`,
//!   `process_network_response`, `set_evidence_malicious_ip`): Slips asks the peers
//!   about both addresses of every connection but those in state `OTH`
//!   (`_ask_modules_about_all_ips_in_flow`), at most once per 1000 s per address
//!   (`cache_age`), and reports when the combined opinion's `score * confidence > 0`:
//!   threat level from the score (Slips' `threat_level_to_string`), the opinion's
//!   confidence, the connection's uid. For a reported destination, two evidence (the
//!   destination and the source, both as attacker, "Connection to blacklisted IP ...");
//!   for a reported source, one ("Connection from blacklisted IP ..."). Slips puts both
//!   in the reported address's profile; slipstream puts each in its attacker's.
//! * `P2P_REPORT` (`go_director.py:set_evidence_p2p_report`): one per report, the
//!   reported IP as attacker in its own profile, the level from the report's score,
//!   its confidence, no uid, in the words of Slips' current version. Slips sets it when
//!   the report arrives; slipstream replays the reports on the traffic's clock: each
//!   when the traffic reaches its time (reports older than the first record come with
//!   it), those later than the last record when the run ends.

use std::net::IpAddr;
use std::sync::Arc;

use dissectors::{ConnState, Record, Timestamp};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink, FinishContext};
use crate::evidence::{Evidence, EvidenceType, Ioc};
use crate::online::p2p::{threat_level_of, PeerReport, PeerReportSource};
use crate::timewindow::TimeWindow;

pub const MALICIOUS_IP_NAME: &str = "malicious_ip_from_p2p_network";
pub const REPORT_NAME: &str = "p2p_report";

/// Microseconds an opinion is cached before the peers are asked again (Slips'
/// `cache_age`, 1000 s).
const ASK_AGAIN_AFTER: i64 = 1000 * 1_000_000;

pub struct MaliciousIpFromP2pNetwork {
    peers: Arc<dyn PeerReportSource>,
    /// When each reported address was last reported.
    last_asked: HashMap<IpAddr, Timestamp>,
}

impl MaliciousIpFromP2pNetwork {
    pub fn new(config: &Config) -> Self {
        Self::with_source(crate::online::p2p::shared_peer_reports(config))
    }

    pub fn with_source(peers: Arc<dyn PeerReportSource>) -> Self {
        MaliciousIpFromP2pNetwork {
            peers,
            last_asked: HashMap::new(),
        }
    }
}

impl Detector for MaliciousIpFromP2pNetwork {
    fn name(&self) -> &'static str {
        MALICIOUS_IP_NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        if c.conn_state == ConnState::OTH || self.peers.reports().is_empty() {
            return;
        }
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        for (is_source, ip) in [(true, saddr), (false, daddr)] {
            let Some(opinion) = self.peers.opinion(ip) else {
                continue;
            };
            if let Some(last) = self.last_asked.get(&ip) {
                if c.ts.0 - last.0 < ASK_AGAIN_AFTER {
                    continue;
                }
            }
            self.last_asked.insert(ip, c.ts);
            if opinion.score * opinion.confidence <= 0.0 {
                continue;
            }
            let description = if is_source {
                format!("Connection from blacklisted IP {ip} to {saddr} Source: Slips P2P network.")
            } else {
                format!("Connection to blacklisted IP {ip} from {saddr} Source: Slips P2P network.")
            };
            let attackers: &[IpAddr] = if is_source { &[ip] } else { &[saddr, ip] };
            for &attacker in attackers {
                let mut e = Evidence::new(
                    EvidenceType::MaliciousIpFromP2pNetwork,
                    Ioc::src_ip(attacker),
                    threat_level_of(opinion.score),
                    opinion.confidence,
                    description.clone(),
                    attacker,
                    ctx.timewindow.number,
                    c.ts,
                );
                e.from_connection(c.uid, &c.id);
                e.proto = Some(c.id.proto);
                out.push(e);
            }
        }
    }
}

pub struct P2pReport {
    peers: Arc<dyn PeerReportSource>,
    /// Reports already replayed (they are sorted by time).
    next: usize,
}

impl P2pReport {
    pub fn new(config: &Config) -> Self {
        Self::with_source(crate::online::p2p::shared_peer_reports(config))
    }

    pub fn with_source(peers: Arc<dyn PeerReportSource>) -> Self {
        P2pReport { peers, next: 0 }
    }
}

/// The number of the window holding `ts`, counted from a known window `tw`.
fn window_number(tw: &TimeWindow, ts: Timestamp) -> i64 {
    let width = tw.end.0.saturating_sub(tw.start.0);
    if tw.end.0 == i64::MAX || width <= 0 {
        return tw.number;
    }
    tw.number + (ts.0 - tw.start.0).div_euclid(width)
}

/// A float as Python prints it (`1.0`, `0.85`).
fn py_float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn report_evidence(r: &PeerReport, timewindow: i64) -> Evidence {
    let reporter = match r.reporter_ip {
        Some(ip) => format!("{ip} ({})", r.reporter),
        None => format!("{} (IP unavailable)", r.reporter),
    };
    let description = format!(
        "Received from P2P peer {reporter}: reputation report about IP {}; maliciousness score {}, confidence {}. No victim or attack details were provided.",
        r.ip,
        py_float(r.score),
        py_float(r.confidence)
    );
    Evidence::new(
        EvidenceType::P2pReport,
        Ioc::src_ip(r.ip),
        threat_level_of(r.score),
        r.confidence,
        description,
        r.ip,
        timewindow,
        r.time,
    )
}

impl Detector for P2pReport {
    fn name(&self) -> &'static str {
        REPORT_NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let reports = self.peers.reports();
        if self.next >= reports.len() {
            return;
        }
        let now = record.ts();
        while let Some(r) = reports.get(self.next).filter(|r| r.time <= now) {
            let tw = window_number(&ctx.timewindow, r.time).max(1);
            out.push(report_evidence(r, tw));
            self.next += 1;
        }
    }

    fn finish(&mut self, ctx: &FinishContext<'_>, out: &mut EvidenceSink) -> bool {
        for r in &self.peers.reports()[self.next..] {
            let tw = ctx
                .last_window
                .map_or(1, |w| window_number(&w, r.time).max(1));
            out.push(report_evidence(r, tw));
        }
        self.next = self.peers.reports().len();
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::ThreatLevel;
    use crate::online::p2p::LocalPeerReports;
    use crate::testutil::{conn, Harness};

    const T0: f64 = 1_700_000_000.0;

    fn peers() -> Arc<LocalPeerReports> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/online/p2p_reports.jsonl");
        let r = LocalPeerReports::load(&path);
        assert!(r.warnings().is_empty(), "{:?}", r.warnings());
        Arc::new(r)
    }

    #[test]
    fn traffic_to_an_ip_the_peers_call_malicious() {
        let mut h = Harness::new(Config::default());
        let mut d = MaliciousIpFromP2pNetwork::with_source(peers());
        let out = h.feed(&mut d, conn("10.0.0.2", 40000, "198.51.100.7", 443, T0));
        assert_eq!(out.len(), 2, "{out:?}");
        let (client, server) = (&out[0], &out[1]);
        assert_eq!(
            client.evidence_type,
            EvidenceType::MaliciousIpFromP2pNetwork
        );
        assert_eq!(client.attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(
            server.attacker,
            Ioc::src_ip("198.51.100.7".parse().unwrap())
        );
        assert_eq!(server.profile, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(
            server.description,
            "Connection to blacklisted IP 198.51.100.7 from 10.0.0.2 Source: Slips P2P network."
        );
        // two peers (trusts 0.35 and 0.315): score 0.85, confidence 0.26775
        assert_eq!(server.threat_level, ThreatLevel::Critical);
        assert!(
            (server.confidence - 0.26775).abs() < 1e-9,
            "{}",
            server.confidence
        );
        assert_eq!(server.uids.len(), 1);
        // asked again only after 1000 s
        let again = conn("10.0.0.2", 40001, "198.51.100.7", 443, T0 + 999.0);
        assert!(h.feed(&mut d, again).is_empty());
        let later = conn("10.0.0.2", 40002, "198.51.100.7", 443, T0 + 1000.0);
        assert_eq!(h.feed(&mut d, later).len(), 2);
    }

    #[test]
    fn a_reported_source_gives_one_evidence() {
        let mut h = Harness::new(Config::default());
        let mut d = MaliciousIpFromP2pNetwork::with_source(peers());
        let out = h.feed(&mut d, conn("198.51.100.7", 40000, "10.0.0.2", 22, T0));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "Connection from blacklisted IP 198.51.100.7 to 198.51.100.7 Source: Slips P2P network."
        );
    }

    #[test]
    fn silent_for_unreported_benign_and_oth_traffic() {
        let mut h = Harness::new(Config::default());
        let mut d = MaliciousIpFromP2pNetwork::with_source(peers());
        // not reported
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 40000, "203.0.113.1", 443, T0))
            .is_empty());
        // reported benign: score clamps to 0
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 40000, "198.51.100.20", 443, T0))
            .is_empty());
        // midstream traffic: the direction is not known
        let mut c = conn("10.0.0.2", 40000, "198.51.100.7", 443, T0);
        c.conn_state = ConnState::OTH;
        assert!(h.feed(&mut d, c).is_empty());
        // no reports configured
        let mut d = MaliciousIpFromP2pNetwork::new(&Config::default());
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 40000, "198.51.100.7", 443, T0))
            .is_empty());
    }

    #[test]
    fn each_report_once_on_the_traffic_clock() {
        let mut h = Harness::new(Config::default());
        let mut d = P2pReport::with_source(peers());
        // the file's reports: T0-60 (before the traffic), T0+5000, T0+5000, T0+90000
        let out = h.feed(&mut d, conn("10.0.0.2", 40000, "203.0.113.1", 443, T0));
        assert_eq!(out.len(), 1, "{out:?}");
        let first = &out[0];
        assert_eq!(first.evidence_type, EvidenceType::P2pReport);
        assert_eq!(
            first.attacker,
            Ioc::src_ip("198.51.100.20".parse().unwrap())
        );
        assert_eq!(first.profile, "198.51.100.20".parse::<IpAddr>().unwrap());
        assert_eq!(first.threat_level, ThreatLevel::Info);
        assert_eq!(first.timewindow, 1);
        assert_eq!(
            first.description,
            "Received from P2P peer QmPeerC (IP unavailable): reputation report about IP 198.51.100.20; maliciousness score -0.7, confidence 1.0. No victim or attack details were provided."
        );
        assert!(h
            .feed(
                &mut d,
                conn("10.0.0.2", 40000, "203.0.113.1", 443, T0 + 10.0)
            )
            .is_empty());
        let out = h.feed(
            &mut d,
            conn("10.0.0.2", 40000, "203.0.113.1", 443, T0 + 7300.0),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].timewindow, 2);
        assert_eq!(out[0].threat_level, ThreatLevel::Critical);
        assert_eq!(out[0].confidence, 0.9);
        assert!(out[0].description.starts_with(
            "Received from P2P peer 192.0.2.10 (QmPeerA): reputation report about IP 198.51.100.7; maliciousness score 0.9, confidence 0.9."
        ));
        let out = h.finish(&mut d);
        assert_eq!(out.len(), 1);
        // 90000 s after T0: window 26 of one hour
        assert_eq!(out[0].timewindow, 26);
        assert!(h.finish(&mut d).is_empty());
    }
}
