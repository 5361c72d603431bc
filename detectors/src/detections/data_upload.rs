//! `DATA_UPLOAD`: large uploads, as Slips does them
//! (`modules/flow_alerts/conn.py:check_data_upload`, `detect_data_upload_in_twid`,
//! `set_evidence.py:data_exfiltration`):
//!
//! * one connection that sent at least 100 MB (decimal megabytes, Slips'
//!   `flow_upload_threshold`);
//! * when a profile's time window closes (its next record falls in a later window, or
//!   the run ends), every destination it sent at least
//!   `flow_alerts.data_exfiltration_threshold` MB to in that window.
//!
//! Destinations that are multicast, link-local or reserved are left out (Slips also
//! leaves out the gateway, which slipstream does not identify). Each finding is two
//! related evidence: the source (info) and the destination (high, in its profile), both
//! confidence 0.6. State: per profile, the current window's bytes per destination,
//! bounded by [`MAX_DESTINATIONS`] and [`MAX_PROFILES`].

use std::net::IpAddr;

use dissectors::{Record, Timestamp, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink, FinishContext};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::slips::{is_link_local, is_reserved, megabytes, py_float};

pub const NAME: &str = "data_upload";

/// Megabytes one connection must send (Slips' `flow_upload_threshold`).
const FLOW_UPLOAD_MB: f64 = 100.0;
const MAX_DESTINATIONS: usize = 4096;
const MAX_PROFILES: usize = 65_536;
const MAX_UIDS: usize = 1024;

struct Sent {
    bytes: u64,
    uids: Vec<Uid>,
    last_ts: Timestamp,
}

struct WindowUploads {
    timewindow: i64,
    sent: HashMap<IpAddr, Sent>,
}

pub struct DataUpload {
    window_threshold_mb: f64,
    profiles: HashMap<IpAddr, WindowUploads>,
}

impl DataUpload {
    pub fn new(config: &Config) -> Self {
        DataUpload {
            window_threshold_mb: config.flow_alerts.data_exfiltration_threshold as f64,
            profiles: HashMap::new(),
        }
    }

    fn report(
        saddr: IpAddr,
        daddr: IpAddr,
        mb: f64,
        tw: i64,
        ts: Timestamp,
        uids: Vec<Uid>,
        out: &mut EvidenceSink,
    ) {
        let description = format!("Large data upload. {} MBs sent to {daddr}", py_float(mb));
        let mut src = Evidence::new(
            EvidenceType::DataUpload,
            Ioc::src_ip(saddr),
            ThreatLevel::Info,
            0.6,
            description,
            saddr,
            tw,
            ts,
        );
        src.uids = uids;
        let mut dst = src.clone();
        dst.attacker = Ioc::dst_ip(daddr);
        dst.threat_level = ThreatLevel::High;
        dst.profile = daddr;
        out.push(src);
        out.push(dst);
    }

    fn close_window(&self, saddr: IpAddr, w: WindowUploads, out: &mut EvidenceSink) {
        let mut sent: Vec<(IpAddr, Sent)> = w.sent.into_iter().collect();
        sent.sort_by_key(|(ip, _)| *ip);
        for (daddr, s) in sent {
            let mb = megabytes(s.bytes);
            if mb >= self.window_threshold_mb {
                Self::report(saddr, daddr, mb, w.timewindow, s.last_ts, s.uids, out);
            }
        }
    }
}

fn ignored_destination(ip: IpAddr) -> bool {
    ip.is_multicast() || is_link_local(ip) || is_reserved(ip)
}

impl Detector for DataUpload {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let tw = ctx.timewindow.number;
        let saddr = ctx.profile_ip;
        if self.profiles.get(&saddr).is_some_and(|w| w.timewindow < tw) {
            if let Some(w) = self.profiles.remove(&saddr) {
                self.close_window(saddr, w, out);
            }
        }
        let Record::Conn(c) = record else { return };
        let daddr = c.id.resp_h;
        let sent = c.orig_bytes.unwrap_or(0);
        if sent == 0 || ignored_destination(daddr) || c.id.orig_h != saddr {
            return;
        }
        let mb = megabytes(sent);
        if mb >= FLOW_UPLOAD_MB {
            Self::report(saddr, daddr, mb, tw, c.ts, vec![c.uid], out);
        }
        if self.profiles.len() >= MAX_PROFILES && !self.profiles.contains_key(&saddr) {
            return;
        }
        let w = self.profiles.entry(saddr).or_insert_with(|| WindowUploads {
            timewindow: tw,
            sent: HashMap::new(),
        });
        if w.timewindow != tw {
            // A record of an earlier window arriving late: not counted.
            return;
        }
        if w.sent.len() >= MAX_DESTINATIONS && !w.sent.contains_key(&daddr) {
            return;
        }
        let s = w.sent.entry(daddr).or_insert(Sent {
            bytes: 0,
            uids: Vec::new(),
            last_ts: c.ts,
        });
        s.bytes = s.bytes.saturating_add(sent);
        s.last_ts = c.ts;
        if s.uids.len() < MAX_UIDS {
            s.uids.push(c.uid);
        }
    }

    fn finish(&mut self, _ctx: &FinishContext<'_>, out: &mut EvidenceSink) -> bool {
        let mut all: Vec<(IpAddr, WindowUploads)> = self.profiles.drain().collect();
        all.sort_by_key(|(ip, _)| *ip);
        for (saddr, w) in all {
            self.close_window(saddr, w, out);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, Harness};

    fn upload(h: &mut Harness, d: &mut DataUpload, bytes: u64, ts: f64) -> Vec<Evidence> {
        let mut c = conn("10.0.0.2", (ts as u16).wrapping_add(1), "5.6.7.8", 443, ts);
        c.orig_bytes = Some(bytes);
        h.feed(d, c)
    }

    #[test]
    fn one_big_flow_fires_at_100_mb() {
        let mut h = Harness::new(Config::default());
        let mut d = DataUpload::new(&h.config);
        assert!(upload(&mut h, &mut d, 99_999_999, 1.0).is_empty());
        let out = upload(&mut h, &mut d, 104_857_600, 2.0);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].description,
            "Large data upload. 104.8576 MBs sent to 5.6.7.8"
        );
        assert_eq!(
            (out[0].threat_level, out[1].threat_level),
            (ThreatLevel::Info, ThreatLevel::High)
        );
        assert_eq!(out[1].profile, "5.6.7.8".parse::<IpAddr>().unwrap());
        assert_eq!(out[0].confidence, 0.6);
    }

    #[test]
    fn window_total_fires_when_the_window_closes() {
        let mut config = Config::default();
        config.flow_alerts.data_exfiltration_threshold = 200;
        let mut h = Harness::new(config);
        let mut d = DataUpload::new(&h.config);
        for i in 0..3 {
            assert!(upload(&mut h, &mut d, 70_000_000, 10.0 + f64::from(i)).is_empty());
        }
        // The next window's first record closes window 1: 210 MB.
        let out = h.feed(&mut d, conn("10.0.0.2", 9, "9.9.9.9", 53, 3700.0));
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].description,
            "Large data upload. 210.0 MBs sent to 5.6.7.8"
        );
        assert_eq!(out[0].timewindow, 1);
        assert_eq!(out[0].uids.len(), 3);
        // Below the threshold at the end of the run: nothing.
        assert!(upload(&mut h, &mut d, 70_000_000, 3701.0).is_empty());
        assert!(h.finish(&mut d).is_empty());
    }

    #[test]
    fn run_end_closes_windows_and_multicast_is_ignored() {
        let mut config = Config::default();
        config.flow_alerts.data_exfiltration_threshold = 100;
        let mut h = Harness::new(config);
        let mut d = DataUpload::new(&h.config);
        let mut c = conn("10.0.0.2", 1, "224.0.0.251", 5353, 1.0);
        c.orig_bytes = Some(500_000_000);
        assert!(h.feed(&mut d, c).is_empty());
        assert!(upload(&mut h, &mut d, 60_000_000, 2.0).is_empty());
        assert!(upload(&mut h, &mut d, 60_000_000, 3.0).is_empty());
        assert_eq!(h.finish(&mut d).len(), 2);
    }
}
