//! `WEIRD_HTTP_METHOD`: Zeek's weird `unknown_HTTP_method` (a request with a method
//! HTTP does not know).
//!
//! As Slips does it (`modules/http_analyzer/http_analyzer.py:check_weird_http_method`,
//! `set_evidence.py:weird_http_method`): the weird's connection gives the client
//! (attacker) and server (victim); threat level medium, confidence 0.9. Slips waits for
//! the connection in conn.log to learn them; the weird record carries them here.

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "weird_http_method";

pub struct WeirdHttpMethod;

impl WeirdHttpMethod {
    pub fn new(_config: &Config) -> Self {
        WeirdHttpMethod
    }
}

impl Detector for WeirdHttpMethod {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Weird(w) = record else { return };
        if !w.name.contains("unknown_HTTP_method") {
            return;
        }
        let Some(id) = w.id else { return };
        let (saddr, daddr) = (id.orig_h, id.resp_h);
        let mut e = Evidence::new(
            EvidenceType::WeirdHttpMethod,
            Ioc::src_ip(saddr),
            ThreatLevel::Medium,
            0.9,
            format!(
                "Weird HTTP method {} to IP: {daddr}. by Zeek.",
                w.addl.as_deref().unwrap_or("")
            ),
            saddr,
            ctx.timewindow.number,
            w.ts,
        );
        e.victim = Some(Ioc::dst_ip(daddr));
        e.uids.extend(w.uid);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Harness;
    use dissectors::weird::WeirdRecord;
    use dissectors::{ConnId, Timestamp, Transport, Uid};

    fn weird(name: &str) -> WeirdRecord {
        WeirdRecord {
            ts: Timestamp::from_secs_f64(5.0),
            uid: Some(Uid::connection(77)),
            id: Some(ConnId {
                orig_h: "10.0.0.2".parse().unwrap(),
                orig_p: 40000,
                resp_h: "1.2.3.4".parse().unwrap(),
                resp_p: 80,
                proto: Transport::Tcp,
            }),
            name: name.into(),
            addl: Some("HELLO".into()),
            notice: false,
            peer: None,
            source: None,
        }
    }

    #[test]
    fn fires_on_unknown_methods() {
        let out = Harness::new(Config::default())
            .feed(&mut WeirdHttpMethod, weird("unknown_HTTP_method"));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "Weird HTTP method HELLO to IP: 1.2.3.4. by Zeek."
        );
        assert_eq!(out[0].threat_level, ThreatLevel::Medium);
        assert_eq!(out[0].confidence, 0.9);
        assert_eq!(out[0].uids, vec![Uid::connection(77)]);
    }

    #[test]
    fn silent_for_other_weirds() {
        let out =
            Harness::new(Config::default()).feed(&mut WeirdHttpMethod, weird("bad_TCP_checksum"));
        assert!(out.is_empty());
    }
}
