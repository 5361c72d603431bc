//! `GRE_TUNNEL` and `GRE_SCAN`: GRE tunnels in tunnel.log.
//!
//! As Slips does it (`modules/flow_alerts/tunnel.py:check_gre_tunnel`,
//! `check_gre_scan`; `set_evidence.py:gre_tunnel`, `gre_scan`): a tunnel record of type
//! `Tunnel::GRE` whose action is `Tunnel::DISCOVER` is a GRE scan (a tunnel being
//! probed), any other action (`Tunnel::CLOSE`, `Tunnel::EXPIRE`) a GRE tunnel. Both have
//! threat level low and confidence 1; the tunnel's far end is the victim.
//!
//! Tunnel records come from Zeek's tunnel.log when reading Zeek logs; the engine
//! decapsulates Teredo only, so a capture yields no GRE tunnel records yet.

use dissectors::tunnel::TunnelRecord;
use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "gre_tunnel";

pub struct GreTunnel;

impl GreTunnel {
    pub fn new(_config: &Config) -> Self {
        GreTunnel
    }

    fn tunnel(&self, ctx: &Context<'_>, t: &TunnelRecord, out: &mut EvidenceSink) {
        if t.tunnel_type != "Tunnel::GRE" {
            return;
        }
        let (kind, what) = if t.action == "Tunnel::DISCOVER" {
            (EvidenceType::GreScan, "scan")
        } else {
            (EvidenceType::GreTunnel, "tunnel")
        };
        let (src, dst) = (t.id.orig_h, t.id.resp_h);
        let mut e = Evidence::new(
            kind,
            Ioc::src_ip(src),
            ThreatLevel::Low,
            1.0,
            format!("GRE {what} from {src} to {dst} tunnel action: {}", t.action),
            ctx.profile_ip,
            ctx.timewindow.number,
            t.ts,
        );
        e.victim = Some(Ioc::dst_ip(dst));
        e.uids.push(t.uid);
        out.push(e);
    }
}

impl Detector for GreTunnel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        if let Record::Tunnel(t) = record {
            self.tunnel(ctx, t, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Harness;
    use dissectors::{ConnId, Timestamp, Transport, Uid};

    fn tunnel(kind: &str, action: &str) -> TunnelRecord {
        TunnelRecord {
            ts: Timestamp::from_secs_f64(256.55),
            uid: Uid::connection(7),
            id: ConnId {
                orig_h: "10.0.2.15".parse().unwrap(),
                orig_p: 0,
                resp_h: "115.112.11.30".parse().unwrap(),
                resp_p: 0,
                proto: Transport::Unknown,
            },
            tunnel_type: kind.into(),
            action: action.into(),
        }
    }

    fn run(t: TunnelRecord) -> Vec<Evidence> {
        let config = Config::default();
        let mut d = GreTunnel::new(&config);
        Harness::new(config).feed(&mut d, t)
    }

    #[test]
    fn discover_is_a_scan_and_the_rest_a_tunnel() {
        let out = run(tunnel("Tunnel::GRE", "Tunnel::DISCOVER"));
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::GreScan);
        assert_eq!((e.threat_level, e.confidence), (ThreatLevel::Low, 1.0));
        assert_eq!(
            e.description,
            "GRE scan from 10.0.2.15 to 115.112.11.30 tunnel action: Tunnel::DISCOVER"
        );
        assert_eq!(e.attacker, Ioc::src_ip("10.0.2.15".parse().unwrap()));
        assert_eq!(
            e.victim,
            Some(Ioc::dst_ip("115.112.11.30".parse().unwrap()))
        );
        assert_eq!(e.uids, [Uid::connection(7)]);

        let out = run(tunnel("Tunnel::GRE", "Tunnel::EXPIRE"));
        assert_eq!(out[0].evidence_type, EvidenceType::GreTunnel);
        assert_eq!(
            out[0].description,
            "GRE tunnel from 10.0.2.15 to 115.112.11.30 tunnel action: Tunnel::EXPIRE"
        );
    }

    #[test]
    fn other_tunnels_are_not_reported() {
        assert!(run(tunnel("Tunnel::TEREDO", "Tunnel::DISCOVER")).is_empty());
        assert!(run(tunnel("Tunnel::IP", "Tunnel::CLOSE")).is_empty());
    }
}
