//! `PASTEBIN_DOWNLOAD`: more than `flow_alerts.pastebin_download_threshold` bytes
//! downloaded from pastebin, over HTTP or TLS.
//!
//! As Slips does it:
//! * HTTP (`modules/http_analyzer/http_analyzer.py:check_pastebin_downloads`,
//!   `set_evidence.py:pastebin_downloads`): a `GET` to a server known as pastebin (its
//!   names: resolutions, SNIs, certificates; and here also the request's `Host`) whose
//!   response body is over the threshold;
//! * TLS (`modules/flow_alerts/ssl.py:check_pastebin_download`,
//!   `set_evidence.py:pastebin_download`): an SNI containing `pastebin`, then the
//!   connection's conn.log entry with at least the threshold in `resp_bytes` (Zeek logs
//!   the connection after its TLS session, so the session waits for it; waiting
//!   sessions are capped and dropped when the run ends, as Slips gives up after 40 s).
//!
//! Threat level info, confidence 1; the size in MB (bytes / 2^20, two decimals).

use std::net::IpAddr;

use dissectors::{Record, Timestamp, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "pastebin_download";

/// TLS sessions to pastebin waiting for their connection; past this the oldest go.
const MAX_PENDING: usize = 4096;

struct Pending {
    saddr: IpAddr,
    ts: Timestamp,
    ports: (u16, u16),
}

pub struct PastebinDownload {
    threshold: u64,
    pending: HashMap<Uid, Pending>,
}

impl PastebinDownload {
    pub fn new(config: &Config) -> Self {
        PastebinDownload {
            threshold: config.flow_alerts.pastebin_download_threshold,
            pending: HashMap::new(),
        }
    }
}

/// Whether a server name mentions pastebin. Asked of every name a server is known by for
/// each large download, so the searcher is built once (`str::contains` set one up per
/// name: a sixtieth of the analysis thread's time on the benchmark capture).
fn mentions_pastebin(name: &str) -> bool {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("pastebin"));
    FINDER.find(name.as_bytes()).is_some()
}

fn megabytes(bytes: u64) -> f64 {
    (bytes as f64 / 1_048_576.0 * 100.0).round() / 100.0
}

fn evidence(
    saddr: IpAddr,
    description: String,
    timewindow: i64,
    ts: Timestamp,
    uid: Uid,
    ports: Option<(u16, u16)>,
) -> Evidence {
    let mut e = Evidence::new(
        EvidenceType::PastebinDownload,
        Ioc::src_ip(saddr),
        ThreatLevel::Info,
        1.0,
        description,
        saddr,
        timewindow,
        ts,
    );
    e.uids.push(uid);
    if let Some((s, d)) = ports {
        e.src_port = Some(s);
        e.dst_port = Some(d);
    }
    e
}

impl Detector for PastebinDownload {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        match record {
            Record::Http(h) => {
                if h.method.as_deref() != Some("GET") || h.response_body_len <= self.threshold {
                    return;
                }
                let host_says = h.host.as_deref().is_some_and(mentions_pastebin);
                let known_as = ctx
                    .hosts
                    .get(h.id.resp_h)
                    .is_some_and(|s| s.known_names().any(mentions_pastebin));
                if !(host_says || known_as) {
                    return;
                }
                let description = format!(
                    "A downloaded file from pastebin.com. Size: {} MBs",
                    megabytes(h.response_body_len)
                );
                out.push(evidence(
                    h.id.orig_h,
                    description,
                    ctx.timewindow.number,
                    h.ts,
                    h.uid,
                    None,
                ));
            }
            Record::Ssl(s) => {
                if !s.server_name.as_deref().is_some_and(mentions_pastebin) {
                    return;
                }
                if self.pending.len() >= MAX_PENDING {
                    let oldest = self
                        .pending
                        .iter()
                        .min_by_key(|(_, p)| p.ts)
                        .map(|(u, _)| *u);
                    if let Some(u) = oldest {
                        self.pending.remove(&u);
                    }
                }
                self.pending.insert(
                    s.uid,
                    Pending {
                        saddr: s.id.orig_h,
                        ts: s.ts,
                        ports: (s.id.orig_p, s.id.resp_p),
                    },
                );
            }
            Record::Conn(c) => {
                if self.pending.is_empty() {
                    return;
                }
                let Some(p) = self.pending.remove(&c.uid) else {
                    return;
                };
                let downloaded = c.resp_bytes.unwrap_or(0);
                if downloaded < self.threshold {
                    return;
                }
                let description = format!(
                    "A downloaded file from pastebin.com. size: {} MBs",
                    megabytes(downloaded)
                );
                out.push(evidence(
                    p.saddr,
                    description,
                    ctx.timewindow.number,
                    p.ts,
                    c.uid,
                    Some(p.ports),
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conn, http, ssl, Harness};

    #[test]
    fn http_download_over_the_threshold() {
        let mut h = Harness::new(Config::default());
        let mut d = PastebinDownload::new(&Config::default());
        let mut r = http("10.0.0.2", "104.20.1.1", "pastebin.com", "/raw/abc", 1.0);
        r.response_body_len = 2_621_440;
        let out = h.feed(&mut d, r.clone());
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "A downloaded file from pastebin.com. Size: 2.5 MBs"
        );
        assert_eq!(out[0].threat_level, ThreatLevel::Info);
        r.response_body_len = 700;
        assert!(h.feed(&mut d, r.clone()).is_empty());
        r.response_body_len = 5000;
        r.host = Some("example.com".into());
        assert!(h.feed(&mut d, r).is_empty());
    }

    #[test]
    fn tls_session_then_its_connection() {
        let mut h = Harness::new(Config::default());
        let mut d = PastebinDownload::new(&Config::default());
        let s = ssl("10.0.0.2", "104.20.1.1", Some("pastebin.com"), 1.0);
        let mut c = conn("10.0.0.2", 50001, "104.20.1.1", 443, 1.0);
        c.uid = s.uid;
        c.resp_bytes = Some(12_000);
        assert!(h.feed(&mut d, s.clone()).is_empty());
        let out = h.feed(&mut d, c.clone());
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "A downloaded file from pastebin.com. size: 0.01 MBs"
        );
        assert_eq!(out[0].dst_port, Some(443));
        // below the threshold, or no TLS session to pastebin first
        c.resp_bytes = Some(100);
        assert!(h.feed(&mut d, s).is_empty());
        assert!(h.feed(&mut d, c.clone()).is_empty());
        c.resp_bytes = Some(12_000);
        assert!(h.feed(&mut d, c).is_empty());
    }
}
