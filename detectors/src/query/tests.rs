//! The query layer over a run made by the real analysis and storage: one host that
//! resolves a name, talks HTTPS to it, and connects three times to a port a test
//! detection calls malicious (an alert); another host that connects to the first.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dissectors::dns::RData;
use dissectors::{Record, Transport};

use super::*;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc};
use crate::testutil::{conn, dns, ssl};
use crate::{Analysis, Config};

const T0: f64 = 1_600_000_000.0;
const A: &str = "10.0.0.1";
const B: &str = "10.0.0.2";

/// Every flow to port 4444 is high-threat evidence with its flow behind it.
struct Port4444;

impl Detector for Port4444 {
    fn name(&self) -> &'static str {
        "port_4444"
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        if c.id.resp_p != 4444 {
            return;
        }
        let mut e = Evidence::new(
            EvidenceType::ThreatIntelligenceToBlacklistedIp,
            Ioc::src_ip(ctx.profile_ip),
            ThreatLevel::High,
            1.0,
            format!("connection to {}:4444", c.id.resp_h),
            ctx.profile_ip,
            ctx.timewindow.number,
            c.ts,
        );
        e.victim = Some(Ioc::dst_ip(c.id.resp_h));
        e.uids = vec![c.uid];
        out.push(e);
    }
}

fn records() -> Vec<Record> {
    let mut out = Vec::new();
    let q = dns(
        A,
        "example.com",
        vec![RData::Addr("1.2.3.4".parse().unwrap())],
        T0,
    );
    let mut c = conn(A, 40000, "192.168.1.1", 53, T0);
    c.uid = q.uid;
    c.id.proto = Transport::Udp;
    c.service = Some("dns".into());
    out.push(q.into());
    out.push(c.into());
    let s = ssl(A, "1.2.3.4", Some("example.com"), T0 + 1.0);
    let mut c = conn(A, 50001, "1.2.3.4", 443, T0 + 1.0);
    c.uid = s.uid;
    c.service = Some("ssl".into());
    out.push(s.into());
    out.push(c.into());
    for i in 0..3 {
        out.push(conn(A, 51000 + i, "5.6.7.8", 4444, T0 + 2.0 + f64::from(i)).into());
    }
    out.push(conn(B, 52000, A, 22, T0 + 5.0).into());
    // Window 2 (windows are 60 s wide).
    out.push(conn(A, 50002, "1.2.3.4", 443, T0 + 70.0).into());
    out
}

fn config() -> Config {
    let mut c = Config::parse(
        "parameters:\n  time_window_width: 60\n  analysis_direction: all\n",
        Path::new("test.yaml"),
    )
    .unwrap();
    c.modules.disable = crate::detections::names()
        .into_iter()
        .map(str::to_string)
        .collect();
    c.whitelists.enable_local_whitelist = false;
    c.whitelists.enable_online_whitelist = false;
    c.enrichment.oui_database = PathBuf::new();
    // Every row goes to the writer at once, so a reader sees the run as it goes.
    c.output.sqlite_batch_size = 1;
    c
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("slipstream-query-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn analysis(dir: &Path) -> Analysis {
    let mut a = Analysis::new(config(), dir).unwrap();
    a.add_detector(Box::new(Port4444));
    for r in &records() {
        a.process(r);
    }
    a
}

/// Waits for the writer thread to commit `flows` flows (it runs on its own).
fn wait_for_flows(store: &Store, flows: u64) {
    let start = Instant::now();
    while store.overview().unwrap().flows < flows {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the writer never committed {flows} flows"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_finished_run_profile_window_timeline_flows_evidence_alert() {
    let dir = out_dir("finished");
    analysis(&dir).finish().unwrap();
    let store = Store::open(&dir).unwrap();
    let o = store.overview().unwrap();
    assert!(o.finished);
    assert_eq!(o.flows, 7);
    assert_eq!(o.evidence, 3);
    // Each high-threat evidence crosses the threshold on its own: one alert each.
    assert_eq!(o.alerts, 3);

    let profiles = store.profiles(Page::first(10)).unwrap();
    assert!(!profiles.has_more);
    let first = &profiles.items[0];
    assert_eq!(first.ip, A, "the alerted profile comes first");
    assert!(first.alerted);
    assert_eq!(first.alerts, 3);
    assert_eq!(first.evidence, 3);
    assert_eq!(first.flows_out, 6);
    assert_eq!(first.flows_in, 1);
    assert_eq!(first.max_threat_level.as_deref(), Some("high"));
    let b = profiles.items.iter().find(|p| p.ip == B).unwrap();
    assert!(!b.alerted);
    // Paging: one profile per page.
    let p1 = store.profiles(Page::first(1)).unwrap();
    assert!(p1.has_more);
    let p2 = store.profiles(Page::first(1).next()).unwrap();
    assert_ne!(p1.items[0].ip, p2.items[0].ip);

    let host = store.profile(A).unwrap().unwrap();
    assert!(host.complete);
    assert_eq!((host.flows_out, host.flows_in), (6, 1));
    assert_eq!(host.threat_history[0].threat_level, "high");
    assert_eq!(host.threat_intel.len(), 3);
    assert!(store.profile("192.0.2.99").unwrap().is_none());

    let windows = store.timewindows(A).unwrap();
    assert_eq!(windows.iter().map(|w| w.twid).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(windows[0].flows_out, 5);
    assert_eq!(windows[0].flows_in, 1);
    assert_eq!(windows[0].alerts, 3);
    assert_eq!(windows[0].end, Some(windows[0].start + 60.0));

    let timeline = store.timeline(A, 1, Page::first(100)).unwrap();
    let lines: Vec<&str> = timeline.items.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(lines.len(), 5);
    assert!(
        lines[0].starts_with("resolved example.com -> 1.2.3.4"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("HTTPS to example.com (1.2.3.4:443/tcp), 100 B up, 200 B down"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("???? to 5.6.7.8:4444/tcp"),
        "{lines:?}"
    );
    assert_eq!(timeline.items[2].label, "malicious");
    let page2 = store.timeline(A, 1, Page::new(4, 2)).unwrap();
    assert_eq!(page2.items.len(), 1);
    assert!(!page2.has_more);

    let out = store.flows(A, 1, Direction::Out, Page::first(2)).unwrap();
    assert_eq!(out.items.len(), 2);
    assert!(out.has_more);
    assert!(out.items[0].ts <= out.items[1].ts);
    let rest = store.flows(A, 1, Direction::Out, Page::new(2, 10)).unwrap();
    assert_eq!(rest.items.len(), 3);
    assert!(rest.items.iter().all(|f| f.dport == 4444));
    let incoming = store.flows(A, 1, Direction::In, Page::first(10)).unwrap();
    assert_eq!(incoming.items.len(), 1);
    assert_eq!(incoming.items[0].saddr, B);

    let evidence = store.evidence(A, 1).unwrap();
    assert_eq!(evidence.len(), 3);
    assert!(evidence.iter().all(|e| e.uids.len() == 1));
    assert_eq!(evidence[0].victim.as_deref(), Some("5.6.7.8"));

    let alerts = store.alerts(Some(A), None).unwrap();
    assert_eq!(alerts.len(), 3);
    assert_eq!(store.alerts(None, None).unwrap(), alerts);
    assert_eq!(store.alerts(Some(A), Some(2)).unwrap(), vec![]);
    let detail = store.alert(&alerts[0].id).unwrap().unwrap();
    assert_eq!(detail.evidence.len(), 1);
    assert_eq!(detail.evidence.len(), detail.alert.evidence_ids.len());
    assert!(detail.flows.iter().all(|f| f.dport == 4444));
    assert_eq!(detail.flows.len(), detail.evidence.len());
    assert!(!detail.flows_truncated);
    assert!(store.alert("no-such-alert").unwrap().is_none());

    let levels = store.evidence_per_level().unwrap();
    assert_eq!(levels.len(), 5);
    assert_eq!(
        levels
            .iter()
            .find(|l| l.threat_level == "high")
            .unwrap()
            .evidence,
        3
    );
    let talkers = store.top_talkers(1).unwrap();
    assert_eq!(
        talkers,
        vec![Talker {
            ip: A.into(),
            flows: 6,
            bytes: 6 * 900
        }]
    );
    let over_time = store.flows_over_time(Some(A), Some(60.0)).unwrap();
    assert_eq!(over_time.buckets.iter().map(|b| b.flows).sum::<u64>(), 6);
    assert_eq!(over_time.buckets.len(), 2);
    // Bars finer than a minute are summed from the flows, not the per-minute summary.
    let fine = store.flows_over_time(Some(A), Some(30.0)).unwrap();
    assert_eq!(fine.buckets.iter().map(|b| b.flows).sum::<u64>(), 6);
    assert_eq!(fine.buckets.iter().map(|b| b.bytes).sum::<u64>(), 6 * 900);
    let all = store.flows_over_time(None, None).unwrap();
    assert_eq!(all.buckets.iter().map(|b| b.flows).sum::<u64>(), 7);
    // Served again from the cache, unchanged.
    assert_eq!(store.flows_over_time(None, None).unwrap(), all);

    // The database file itself opens as well as its folder.
    assert!(Store::open(&dir.join("flows.sqlite")).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_still_writing_is_read_from_its_flows_and_evidence() {
    let dir = out_dir("live");
    let a = analysis(&dir);
    let store = Store::open(&dir).unwrap();
    wait_for_flows(&store, 7);
    assert!(!store.overview().unwrap().finished);
    let profiles = store.profiles(Page::first(10)).unwrap();
    assert_eq!(profiles.items[0].ip, A);
    assert!(profiles.items[0].alerted);
    assert_eq!(profiles.items[0].flows_out, 6);
    assert_eq!(profiles.items[0].flows_in, 1);
    assert_eq!(profiles.items[0].threat_level.as_deref(), Some("high"));
    let windows = store.timewindows(A).unwrap();
    assert_eq!(windows.iter().map(|w| w.twid).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(windows[0].evidence, 3);
    let host = store.profile(A).unwrap().unwrap();
    assert!(!host.complete);
    assert_eq!(host.flows_out, 6);
    assert_eq!(
        store.timeline(A, 1, Page::first(10)).unwrap().items.len(),
        5
    );
    // The run ends while the reader is open; the reader then sees the finished run.
    a.finish().unwrap();
    assert!(store.is_finished().unwrap());
    assert!(store.profile(A).unwrap().unwrap().complete);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn not_a_database() {
    let dir = out_dir("missing");
    std::fs::create_dir_all(&dir).unwrap();
    let err = Store::open(&dir).err().unwrap().to_string();
    assert!(err.contains("flows.sqlite"), "{err}");
    std::fs::write(dir.join("flows.sqlite"), b"not sqlite").unwrap();
    assert!(Store::open(&dir).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run with saved VirusTotal reports (`testdata/online/virustotal`: one address, one
/// domain): the address's host row and its domain carry Slips' scores; other hosts
/// have none.
#[test]
fn virustotal_scores_reach_the_host_and_its_domains() {
    const BAD: &str = "203.0.113.66";
    let dir = out_dir("virustotal");
    let mut config = config();
    config.enrichment.virustotal_cache =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/online/virustotal");
    let mut a = Analysis::new(config, &dir).unwrap();
    let q = dns(
        A,
        "bad-domain.example",
        vec![RData::Addr(BAD.parse().unwrap())],
        T0,
    );
    let s = ssl(A, BAD, Some("bad-domain.example"), T0 + 1.0);
    let mut c = conn(A, 50001, BAD, 443, T0 + 1.0);
    c.uid = s.uid;
    for r in [Record::from(q), s.into(), c.into()] {
        a.process(&r);
    }
    a.finish().unwrap();

    let db = rusqlite::Connection::open(dir.join("flows.sqlite")).unwrap();
    let scores = |ip: &str| -> [Option<f64>; 4] {
        db.query_row(
            "SELECT vt_url, vt_down_file, vt_ref_file, vt_com_file FROM hosts WHERE ip = ?1",
            [ip],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
        )
        .unwrap()
    };
    // The numbers of `online::virustotal`'s own test of this report.
    let [url, down, refer, com] = scores(BAD);
    assert!((url.unwrap() - 300.0 / 190.0).abs() < 1e-9);
    assert!((down.unwrap() - 4000.0 / 70.0).abs() < 1e-9);
    assert_eq!(refer, Some(0.0));
    assert!((com.unwrap() - 1000.0 / 140.0).abs() < 1e-9);
    assert_eq!(scores(A), [None; 4], "no report, no scores");
    let domains: Vec<(String, f64)> = db
        .prepare("SELECT domain, vt_url FROM domain_info")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // Named once though it is both a resolution and a TLS server name.
    assert_eq!(domains, [("bad-domain.example".to_string(), 50.0)]);

    let store = Store::open(&dir).unwrap();
    let host = store.profile(BAD).unwrap().unwrap();
    assert_eq!(host.virustotal.unwrap().down_file, down.unwrap());
    assert_eq!(host.domains_virustotal.len(), 1);
    assert_eq!(host.domains_virustotal[0].domain, "bad-domain.example");
    assert_eq!(host.domains_virustotal[0].virustotal.url, 50.0);
    let profile = store.profile(A).unwrap().unwrap();
    assert_eq!(profile.virustotal, None);
    assert!(profile.domains_virustotal.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_from_before_virustotal_scores_is_still_read() {
    let dir = out_dir("before-virustotal");
    let mut a = Analysis::new(config(), &dir).unwrap();
    for r in records() {
        a.process(&r);
    }
    a.finish().unwrap();
    // What a run of an earlier version wrote: no score columns, no domain_info.
    let db = rusqlite::Connection::open(dir.join("flows.sqlite")).unwrap();
    db.execute_batch(
        "DROP VIEW profiles;
         ALTER TABLE hosts DROP COLUMN vt_url; ALTER TABLE hosts DROP COLUMN vt_down_file;
         ALTER TABLE hosts DROP COLUMN vt_ref_file; ALTER TABLE hosts DROP COLUMN vt_com_file;
         DROP TABLE domain_info;",
    )
    .unwrap();
    drop(db);
    let store = Store::open(&dir).unwrap();
    let host = store.profile(A).unwrap().unwrap();
    assert!(host.complete);
    assert_eq!(host.virustotal, None);
    assert!(host.domains_virustotal.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
