//! `TOR_EXIT_NODE`: a connection to a Tor exit node, as Slips does it
//! (`modules/flow_alerts/conn.py:check_tor_exit_node`, `set_evidence.py:tor_exit_node`):
//! every flow whose destination is listed; the exit node is the attacker (in the
//! client's profile), the client the victim; info, confidence 1.
//!
//! Slips asks its database (`is_tor_node`); slipstream reads the exit nodes from the
//! local list `threatintelligence.tor_exit_nodes` (see [`crate::threat_intel`]).

use std::sync::Arc;

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::threat_intel::ThreatIntel;

pub const NAME: &str = "tor_exit_node";

pub struct TorExitNode {
    ti: Arc<ThreatIntel>,
}

impl TorExitNode {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        TorExitNode { ti }
    }
}

impl Detector for TorExitNode {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        if saddr != ctx.profile_ip || !self.ti.is_tor_exit_node(daddr) {
            return;
        }
        let mut e = Evidence::new(
            EvidenceType::TorExitNode,
            Ioc::dst_ip(daddr),
            ThreatLevel::Info,
            1.0,
            format!("A connection to TOR exit node {daddr}."),
            saddr,
            ctx.timewindow.number,
            c.ts,
        );
        e.victim = Some(Ioc::src_ip(saddr));
        e.from_connection(c.uid, &c.id);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, Harness};

    fn detector() -> TorExitNode {
        let mut ti = ThreatIntel::empty();
        ti.parse_tor_exit_nodes("185.220.101.7\n");
        TorExitNode::with_feeds(Arc::new(ti.finished()))
    }

    #[test]
    fn a_connection_to_an_exit_node_fires() {
        let mut h = Harness::new(Config::default());
        let mut d = detector();
        let out = h.feed(&mut d, conn("10.0.0.2", 40000, "185.220.101.7", 9001, 1.0));
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::TorExitNode);
        assert_eq!((e.threat_level, e.confidence), (ThreatLevel::Info, 1.0));
        assert_eq!(
            e.description,
            "A connection to TOR exit node 185.220.101.7."
        );
        assert_eq!(e.attacker, Ioc::dst_ip("185.220.101.7".parse().unwrap()));
        assert_eq!(e.profile, "10.0.0.2".parse::<std::net::IpAddr>().unwrap());
    }

    #[test]
    fn other_destinations_and_an_empty_list_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = detector();
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 40000, "8.8.8.8", 443, 1.0))
            .is_empty());
        let mut d = TorExitNode::with_feeds(Arc::new(ThreatIntel::empty()));
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 40000, "185.220.101.7", 9001, 2.0))
            .is_empty());
    }
}
