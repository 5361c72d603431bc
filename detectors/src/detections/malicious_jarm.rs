//! `MALICIOUS_JARM`: the server of a C&C channel has the JARM fingerprint of a known
//! malicious TLS server (`own_malicious_JARM.csv` in the local threat-intelligence
//! folder: Cobalt Strike, Metasploit, Sliver ...).
//!
//! As Slips does it (`modules/rnn_cc_detection` publishes `check_jarm_hash` when it
//! reports a C&C channel; `modules/ip_info/ip_info.py` fingerprints the server and calls
//! `set_evidence_malicious_jarm_hash`): only servers of a `COMMAND_AND_CONTROL_CHANNEL`
//! are fingerprinted. This detection is registered after that one and reads the C&C
//! evidence it put in the sink for the same connection; with it disabled, nothing is
//! fingerprinted (as in Slips). Two evidence, confidence 0.7, the connection's uid:
//!
//! * the server as attacker in its own profile, with the list's threat level (Slips
//!   writes medium, the level of every entry of its own list);
//! * the client as attacker, low.
//!
//! The fingerprint comes from a [`JarmSource`]: the local file of scan results
//! (`enrichment.jarm_fingerprints`), and with `enrichment.active_jarm` probes of our
//! own, which answer later: their evidence is reported with the C&C connection's time
//! and window as soon as the answer is in (at the latest when the run ends).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use dissectors::{Record, Timestamp, Transport, Uid};

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink, FinishContext};
use crate::evidence::{Direction, Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::online::jarm::{ActiveJarm, JarmLookup, JarmSource};
use crate::ports::PortsInfo;
use crate::threat_intel::ThreatIntel;

pub const NAME: &str = "malicious_jarm";

/// Slips' confidence of a JARM match.
const CONFIDENCE: f64 = 0.7;

/// The C&C connection a fingerprint was asked for.
#[derive(Clone, Debug)]
struct Channel {
    client: IpAddr,
    server: SocketAddr,
    proto: Transport,
    uid: Option<Uid>,
    ts: Timestamp,
    timewindow: i64,
}

pub struct MaliciousJarm {
    ti: Arc<ThreatIntel>,
    source: Box<dyn JarmSource>,
    /// Channels whose server's fingerprint is being computed.
    waiting: Vec<Channel>,
}

impl MaliciousJarm {
    pub fn new(config: &Config) -> Self {
        let local = crate::online::jarm::shared_jarm(config);
        let source: Box<dyn JarmSource> = if config.enrichment.active_jarm {
            Box::new(ActiveJarm::start(local))
        } else {
            Box::new(local)
        };
        Self::with_source(crate::threat_intel::shared(config), source)
    }

    pub fn with_source(ti: Arc<ThreatIntel>, source: Box<dyn JarmSource>) -> Self {
        MaliciousJarm {
            ti,
            source,
            waiting: Vec::new(),
        }
    }

    fn report(&self, ch: &Channel, fingerprint: &str, out: &mut EvidenceSink) {
        let Some(info) = self.ti.jarm(fingerprint) else {
            return;
        };
        let port = ch.server.port();
        let port_info = PortsInfo::shipped()
            .service(port, ch.proto)
            .map(|s| format!("({})", s.to_uppercase()))
            .unwrap_or_default();
        let daddr = ch.server.ip();
        let description = format!(
            "Malicious JARM hash detected for destination IP: {daddr} on port: {port}/{} {port_info}. ",
            ch.proto.as_str()
        );
        let mut server = Evidence::new(
            EvidenceType::MaliciousJarm,
            Ioc::dst_ip(daddr),
            info.threat_level,
            CONFIDENCE,
            description,
            daddr,
            ch.timewindow,
            ch.ts,
        );
        server.uids.extend(ch.uid);
        server.proto = Some(ch.proto);
        server.dst_port = Some(port);
        let mut client = server.clone();
        client.attacker = Ioc::src_ip(ch.client);
        client.threat_level = ThreatLevel::Low;
        client.profile = ch.client;
        out.push(server);
        out.push(client);
    }

    fn collect(&mut self, wait: bool, out: &mut EvidenceSink) {
        for (server, fingerprint) in self.source.ready(wait) {
            let mut i = 0;
            while i < self.waiting.len() {
                if self.waiting[i].server != server {
                    i += 1;
                    continue;
                }
                let ch = self.waiting.swap_remove(i);
                if let Some(fp) = &fingerprint {
                    self.report(&ch, fp, out);
                }
            }
        }
    }
}

impl Detector for MaliciousJarm {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, _ctx: &Context<'_>, _record: &Record, out: &mut EvidenceSink) {
        if !self.waiting.is_empty() {
            self.collect(false, out);
        }
        // the C&C detection's client-side evidence for this connection, if any
        let channels: Vec<Channel> = out
            .iter()
            .filter(|e| {
                e.evidence_type == EvidenceType::CommandAndControlChannel
                    && e.attacker.direction == Direction::Src
            })
            .filter_map(|e| {
                let server = e.victim.as_ref()?.value.ip()?;
                Some(Channel {
                    client: e.attacker.value.ip()?,
                    server: SocketAddr::new(server, e.dst_port?),
                    proto: e.proto.unwrap_or(Transport::Tcp),
                    uid: e.uids.first().copied(),
                    ts: e.timestamp,
                    timewindow: e.timewindow,
                })
            })
            .collect();
        for ch in channels {
            match self.source.lookup(ch.server) {
                JarmLookup::Known(fp) => self.report(&ch, &fp, out),
                JarmLookup::Pending => self.waiting.push(ch),
                JarmLookup::Unknown => {}
            }
        }
    }

    fn finish(&mut self, _ctx: &FinishContext<'_>, out: &mut EvidenceSink) -> bool {
        if !self.waiting.is_empty() {
            self.collect(true, out);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::jarm::LocalJarm;
    use crate::online::jarm_probe::Fingerprint;
    use crate::testutil::{conn, Harness};

    const COBALT: &str = "07d14d16d21d21d07c42d41d00041d24a458a375eef0c576d23a7bab9a9fb1";
    const BENIGN: &str = "29d29d00029d29d00041d41d0000002059a3b916699461c5923779b77cf06b";

    fn feeds() -> Arc<ThreatIntel> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/online/own_malicious_JARM.csv");
        let mut ti = ThreatIntel::empty();
        ti.parse_local_jarm(
            &std::fs::read_to_string(path).unwrap(),
            &"own_malicious_JARM.csv".into(),
        );
        let ti = ti.finished();
        // Slips' list has one hash of 58 characters: skipped, named, the rest read
        assert_eq!(ti.warnings().len(), 1, "{:?}", ti.warnings());
        assert!(ti.warnings()[0].starts_with("own_malicious_JARM.csv: line 22: not a hash"));
        assert!(ti
            .jarm("2ad2ad0002ad2ad00041d2ad2ad41da5207249a18099be84ef3c8811adc883")
            .is_some());
        Arc::new(ti)
    }

    /// The C&C detection's two evidence for a connection to `server`.
    fn cc_evidence(server: &str, port: u16, ts: f64) -> Vec<Evidence> {
        let c = conn("10.0.0.2", 40000, server, port, ts);
        let mut client = Evidence::new(
            EvidenceType::CommandAndControlChannel,
            Ioc::src_ip(c.id.orig_h),
            ThreatLevel::High,
            1.0,
            "C&C channel".into(),
            c.id.orig_h,
            3,
            c.ts,
        );
        client.victim = Some(Ioc::dst_ip(c.id.resp_h));
        client.uids.push(c.uid);
        client.dst_port = Some(port);
        client.proto = Some(Transport::Tcp);
        let mut srv = client.clone();
        srv.attacker = Ioc::dst_ip(c.id.resp_h);
        srv.victim = Some(Ioc::src_ip(c.id.orig_h));
        srv.profile = c.id.resp_h;
        vec![client, srv]
    }

    /// Runs `d` on a connection after the C&C detection put `before` in the sink.
    fn run(d: &mut MaliciousJarm, before: Vec<Evidence>) -> Vec<Evidence> {
        let mut h = Harness::new(Config::default());
        let mut d2 = Prefilled { before, inner: d };
        h.feed(&mut d2, conn("10.0.0.2", 40000, "203.0.113.7", 443, 1.0e9))
    }

    struct Prefilled<'a> {
        before: Vec<Evidence>,
        inner: &'a mut MaliciousJarm,
    }

    impl Detector for Prefilled<'_> {
        fn name(&self) -> &'static str {
            NAME
        }
        fn process(&mut self, ctx: &Context<'_>, r: &Record, out: &mut EvidenceSink) {
            out.append(&mut self.before);
            let n = out.len();
            self.inner.process(ctx, r, out);
            out.drain(..n);
        }
    }

    fn local(text: &str) -> Box<dyn JarmSource> {
        Box::new(Arc::new(LocalJarm::parse(text, "scan.csv")))
    }

    #[test]
    fn a_cc_server_with_a_listed_fingerprint_fires_on_both_sides() {
        let mut d =
            MaliciousJarm::with_source(feeds(), local(&format!("203.0.113.7,443,{COBALT}\n")));
        let out = run(&mut d, cc_evidence("203.0.113.7", 443, 1.0e9));
        assert_eq!(out.len(), 2, "{out:?}");
        let (server, client) = (&out[0], &out[1]);
        assert_eq!(server.evidence_type, EvidenceType::MaliciousJarm);
        assert_eq!(server.attacker, Ioc::dst_ip("203.0.113.7".parse().unwrap()));
        assert_eq!(server.profile, "203.0.113.7".parse::<IpAddr>().unwrap());
        assert_eq!(server.threat_level, ThreatLevel::Medium);
        assert_eq!(server.confidence, 0.7);
        assert_eq!(server.timewindow, 3);
        assert_eq!(server.uids.len(), 1);
        assert_eq!(
            server.description,
            "Malicious JARM hash detected for destination IP: 203.0.113.7 on port: 443/tcp (HTTPS). "
        );
        assert_eq!(client.attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(client.threat_level, ThreatLevel::Low);
        assert_eq!(client.confidence, 0.7);
    }

    #[test]
    fn silent_without_cc_or_with_an_unlisted_or_unknown_fingerprint() {
        let scan = format!("203.0.113.7,443,{COBALT}\n203.0.113.9,443,{BENIGN}\n");
        // listed server, but no C&C detection for the connection
        let mut d = MaliciousJarm::with_source(feeds(), local(&scan));
        assert!(run(&mut d, Vec::new()).is_empty());
        // C&C, fingerprint not in the list
        assert!(run(&mut d, cc_evidence("203.0.113.9", 443, 1.0e9)).is_empty());
        // C&C, another port of the listed server: its fingerprint is not known
        assert!(run(&mut d, cc_evidence("203.0.113.7", 8443, 1.0e9)).is_empty());
        // no scan results at all
        let mut d = MaliciousJarm::new(&Config::default());
        assert!(run(&mut d, cc_evidence("203.0.113.7", 443, 1.0e9)).is_empty());
    }

    /// A source whose answers come later, as the active prober's do.
    struct Later(Vec<(SocketAddr, Option<Fingerprint>)>, usize);

    impl JarmSource for Later {
        fn lookup(&mut self, _server: SocketAddr) -> JarmLookup {
            self.1 += 1;
            JarmLookup::Pending
        }
        fn ready(&mut self, wait: bool) -> Vec<(SocketAddr, Option<Fingerprint>)> {
            if wait {
                std::mem::take(&mut self.0)
            } else {
                Vec::new()
            }
        }
    }

    #[test]
    fn late_answers_are_reported_with_the_connection_time_at_the_latest_at_the_end() {
        let server: SocketAddr = "203.0.113.7:443".parse().unwrap();
        let mut d = MaliciousJarm::with_source(
            feeds(),
            Box::new(Later(vec![(server, Some(COBALT.into()))], 0)),
        );
        assert!(run(&mut d, cc_evidence("203.0.113.7", 443, 1.0e9)).is_empty());
        let mut h = Harness::new(Config::default());
        let out = h.finish(&mut d);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].timewindow, 3);
        assert_eq!(out[0].timestamp, Timestamp::from_secs_f64(1.0e9));
        assert!(h.finish(&mut d).is_empty());
    }
}
