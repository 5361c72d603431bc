//! `NON_HTTP_PORT_80_CONNECTION`: an established TCP connection to port 80 that Zeek did
//! not recognise as HTTP, as Slips does it
//! (`modules/http_analyzer/set_evidence.py:non_http_port_80_conn`): two related
//! evidence, the source (low threat) and the destination (medium threat, counted in the
//! destination's profile), confidence 0.8. Like the port-443 check, connections that
//! carried no data are left out.

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::slips::established_without_service;

pub const NAME: &str = "non_http_port_80";

#[derive(Default)]
pub struct NonHttpPort80;

impl NonHttpPort80 {
    pub fn new(_config: &Config) -> Self {
        NonHttpPort80
    }
}

impl Detector for NonHttpPort80 {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        if !established_without_service(c, 80, "http") {
            return;
        }
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        let description =
            format!("non-HTTP established connection to port 80. destination IP: {daddr}");
        let tw = ctx.timewindow.number;
        let mut src = Evidence::new(
            EvidenceType::NonHttpPort80Connection,
            Ioc::src_ip(saddr),
            ThreatLevel::Low,
            0.8,
            description.clone(),
            saddr,
            tw,
            c.ts,
        );
        src.victim = Some(Ioc::dst_ip(daddr));
        src.uids.push(c.uid);
        src.src_port = Some(c.id.orig_p);
        src.dst_port = Some(c.id.resp_p);
        let mut dst = src.clone();
        dst.attacker = Ioc::dst_ip(daddr);
        dst.victim = Some(Ioc::src_ip(saddr));
        dst.threat_level = ThreatLevel::Medium;
        dst.profile = daddr;
        dst.description = description;
        out.push(src);
        out.push(dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, Harness};

    #[test]
    fn fires_for_both_ends() {
        let mut h = Harness::new(Config::default());
        let mut d = NonHttpPort80::new(&h.config);
        let out = h.feed(&mut d, conn("10.0.0.2", 40000, "1.2.3.4", 80, 1.0));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].threat_level, ThreatLevel::Low);
        assert_eq!(out[1].threat_level, ThreatLevel::Medium);
        assert_eq!(
            out[1].profile,
            "1.2.3.4".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(
            out[0].description,
            "non-HTTP established connection to port 80. destination IP: 1.2.3.4"
        );
    }

    #[test]
    fn http_does_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = NonHttpPort80::new(&h.config);
        let mut c = conn("10.0.0.2", 40000, "1.2.3.4", 80, 1.0);
        c.service = Some("http".into());
        assert!(h.feed(&mut d, c).is_empty());
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 40000, "1.2.3.4", 81, 1.0))
            .is_empty());
    }
}
