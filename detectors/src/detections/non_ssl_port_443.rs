//! `NON_SSL_PORT_443_CONNECTION`: an established TCP connection to port 443 that
//! carried data but that Zeek did not recognise as SSL/TLS, as Slips does it
//! (`modules/flow_alerts/ssl.py:check_non_ssl_port_443_conns`,
//! `set_evidence.py:non_ssl_port_443_conn`). Medium threat, confidence 0.8.
//!
//! Later Slips versions also wait five minutes for another connection between the same
//! hosts that is SSL before reporting; this follows the direct check.

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::slips::established_without_service;

pub const NAME: &str = "non_ssl_port_443";

#[derive(Default)]
pub struct NonSslPort443;

impl NonSslPort443 {
    pub fn new(_config: &Config) -> Self {
        NonSslPort443
    }
}

impl Detector for NonSslPort443 {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        if !established_without_service(c, 443, "ssl") {
            return;
        }
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        let mut e = Evidence::new(
            EvidenceType::NonSslPort443Connection,
            Ioc::src_ip(saddr),
            ThreatLevel::Medium,
            0.8,
            format!("non-SSL established connection to port 443. destination IP: {daddr}"),
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
    use crate::testutil::{conn, Harness};
    use dissectors::ConnState;

    #[test]
    fn established_non_ssl_with_data_fires() {
        let mut h = Harness::new(Config::default());
        let mut d = NonSslPort443::new(&h.config);
        let out = h.feed(&mut d, conn("10.0.0.2", 40000, "1.2.3.4", 443, 1.0));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].threat_level, ThreatLevel::Medium);
        assert_eq!(
            out[0].description,
            "non-SSL established connection to port 443. destination IP: 1.2.3.4"
        );
    }

    #[test]
    fn ssl_empty_unestablished_or_other_ports_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = NonSslPort443::new(&h.config);
        let mut c = conn("10.0.0.2", 40000, "1.2.3.4", 443, 1.0);
        c.service = Some("ssl".into());
        assert!(h.feed(&mut d, c).is_empty());
        let mut c = conn("10.0.0.2", 40001, "1.2.3.4", 443, 1.0);
        c.orig_bytes = Some(0);
        c.resp_bytes = Some(0);
        assert!(h.feed(&mut d, c).is_empty());
        let mut c = conn("10.0.0.2", 40002, "1.2.3.4", 443, 1.0);
        c.conn_state = ConnState::S0;
        assert!(h.feed(&mut d, c).is_empty());
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 40003, "1.2.3.4", 8443, 1.0))
            .is_empty());
    }
}
