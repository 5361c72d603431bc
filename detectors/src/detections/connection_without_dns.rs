//! `CONNECTION_WITHOUT_DNS`: a connection to a public address no DNS reply gave, as
//! Slips does it (`modules/flow_alerts/conn.py:check_connection_without_dns_resolution`,
//! `set_evidence.py:conn_without_dns`). Skipped: DNS and ICMP flows; destinations that
//! are multicast, private, link-local, loopback or reserved; the DHCP server; addresses
//! of the home network (Slips' `client_ips`). Info threat, confidence 0.8.
//!
//! A resolution seen at any earlier point of the run counts (Slips looks 24 hours
//! back). Not done here: Slips' checks of a resolution made by the other IP version of
//! the same host, of DNS-over-HTTPS servers and of destinations belonging to
//! well-known organisations (their SNI, reverse DNS, ASN or ranges), and the lower
//! confidence (0.1) Slips gives during the first 5 hours of a live capture.

use dissectors::net::Cidr;
use dissectors::{Record, Transport};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::slips::{has_service, is_ignored};

pub const NAME: &str = "connection_without_dns";

pub struct ConnectionWithoutDns {
    client_nets: Vec<Cidr>,
}

impl ConnectionWithoutDns {
    pub fn new(config: &Config) -> Self {
        ConnectionWithoutDns {
            client_nets: config.home_networks(),
        }
    }
}

impl Detector for ConnectionWithoutDns {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        let daddr = c.id.resp_h;
        if c.id.proto == Transport::Icmp || has_service(c, "dns") || is_ignored(daddr) {
            return;
        }
        if self.client_nets.iter().any(|n| n.contains(daddr)) {
            return;
        }
        if let Some(h) = ctx.hosts.get(daddr) {
            if h.dhcp_server || !h.domains.is_empty() {
                return;
            }
        }
        let saddr = c.id.orig_h;
        let mut e = Evidence::new(
            EvidenceType::ConnectionWithoutDns,
            Ioc::src_ip(saddr),
            ThreatLevel::Info,
            0.8,
            format!("A connection without DNS resolution to Destination IP: {daddr}"),
            saddr,
            ctx.timewindow.number,
            c.ts,
        );
        e.from_connection(c.uid, &c.id);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, dns, Harness};
    use dissectors::dns::RData;

    #[test]
    fn unresolved_public_destination_fires() {
        let mut h = Harness::new(Config::default());
        let mut d = ConnectionWithoutDns::new(&h.config);
        let out = h.feed(&mut d, conn("10.0.0.2", 1, "93.184.216.34", 443, 1.0));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "A connection without DNS resolution to Destination IP: 93.184.216.34"
        );
        assert_eq!(
            (out[0].threat_level, out[0].confidence),
            (ThreatLevel::Info, 0.8)
        );
    }

    #[test]
    fn resolved_private_and_dns_flows_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = ConnectionWithoutDns::new(&h.config);
        let a = RData::Addr("93.184.216.34".parse().unwrap());
        h.feed(&mut d, dns("10.0.0.2", "example.com", vec![a], 1.0));
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 1, "93.184.216.34", 443, 2.0))
            .is_empty());
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 1, "10.0.0.9", 443, 2.0))
            .is_empty());
        let mut q = conn("10.0.0.2", 1, "8.8.8.8", 53, 2.0);
        q.service = Some("dns".into());
        assert!(h.feed(&mut d, q).is_empty());
        let mut config = Config::default();
        config.parameters.home_network = vec!["93.184.0.0/16".into()];
        let mut d = ConnectionWithoutDns::new(&config);
        assert!(h
            .feed(&mut d, conn("10.0.0.2", 1, "93.184.1.1", 443, 3.0))
            .is_empty());
    }
}
