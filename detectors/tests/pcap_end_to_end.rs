//! The whole path on a real capture: engine records -> profiles and windows ->
//! detections -> evidence handler (whitelist, alert rule) -> alerts.log, alerts.json
//! and flows.sqlite.

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use detectors::detector::{Context, Detector, EvidenceSink};
use detectors::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use detectors::{Analysis, Config, Summary};
use dissectors::{Record, Transport};
use engine::pipeline::{collect_file, PipelineConfig};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn records() -> Vec<Record> {
    let pcap = repo().join("testdata/slips/test7-malicious.pcap");
    let (records, stats) = collect_file(&pcap, &PipelineConfig::default()).unwrap();
    assert_eq!(stats.packets, 2000);
    records
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn config(yaml: &str) -> Config {
    let mut c = Config::parse(yaml, Path::new("test.yaml")).unwrap();
    c.base_dir = repo().join("config");
    c
}

/// These tests follow one known detection (long connections) through evidence, alerts,
/// outputs and labels: every other detection is disabled, so the expected counts can be
/// derived from the flows alone.
fn only_long_connections(mut config: Config) -> Config {
    config.modules.disable = detectors::detections::names()
        .into_iter()
        .filter(|n| *n != "long_connection")
        .map(str::to_string)
        .collect();
    config
}

fn run(config: Config, dir: &Path, extra: Vec<Box<dyn Detector>>) -> Summary {
    let config = only_long_connections(config);
    let mut a = Analysis::new(config, dir).unwrap();
    for d in extra {
        a.add_detector(d);
    }
    for r in &records() {
        a.process(r);
    }
    a.finish().unwrap()
}

fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A detection for the test: every DNS query over UDP is high-threat evidence, so a
/// busy resolver client crosses a low alert threshold.
struct EveryDnsFlow;

impl Detector for EveryDnsFlow {
    fn name(&self) -> &'static str {
        "every_dns_flow"
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        if c.id.resp_p != 53 || c.id.proto != Transport::Udp {
            return;
        }
        let mut e = Evidence::new(
            EvidenceType::DnsWithoutConnection,
            Ioc::src_ip(c.id.orig_h),
            ThreatLevel::High,
            1.0,
            format!("test evidence for {}", c.uid),
            ctx.profile_ip,
            ctx.timewindow.number,
            c.ts,
        );
        e.victim = Some(Ioc::dst_ip(c.id.resp_h));
        e.uids.push(c.uid);
        e.proto = Some(c.id.proto);
        e.src_port = Some(c.id.orig_p);
        e.dst_port = Some(c.id.resp_p);
        out.push(e);
    }
}

#[test]
fn shipped_config_finds_no_long_connection_and_stores_every_flow() {
    let recs = records();
    let conns: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Conn(c) => Some(c.as_ref()),
            _ => None,
        })
        .collect();
    let sources: BTreeSet<IpAddr> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Conn(c) => Some(c.id.orig_h),
            _ => None,
        })
        .collect();
    let dir = out_dir("default");
    let config = Config::load(&repo().join("config/slipstream.yaml")).unwrap();
    let s = run(config, &dir, Vec::new());

    assert_eq!(s.flows as usize, conns.len());
    // No connection in this 11-minute capture lasts 25 minutes.
    assert!(conns
        .iter()
        .all(|c| c.duration.is_none_or(|d| d.as_secs_f64() <= 1500.0)));
    assert_eq!(s.evidence.kept(), 0);
    assert!(s.alerts.is_empty());
    // analysis_direction out: every source has a profile (DNS, DHCP ... sources too).
    assert!(
        s.profiles >= sources.len(),
        "{} < {}",
        s.profiles,
        sources.len()
    );
    assert!(s.hosts > s.profiles);
    assert!(s.timewindows >= s.profiles);
    assert_eq!(std::fs::read_to_string(dir.join("alerts.log")).unwrap(), "");
    assert_eq!(
        std::fs::read_to_string(dir.join("alerts.json")).unwrap(),
        ""
    );

    let db = rusqlite::Connection::open(dir.join("flows.sqlite")).unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) FROM flows") as usize,
        conns.len()
    );
    // Written with large pages, and handed over as one file (no WAL left behind).
    assert_eq!(count(&db, "PRAGMA page_size"), 16384);
    assert!(!dir.join("flows.sqlite-wal").exists());
    // The plots' summaries, summed by the writer as it stored the flows, are what SQL
    // sums over the stored flows, row for row.
    let rows = |sql: &str| -> Vec<(String, i64, i64, i64)> {
        let mut st = db.prepare(sql).unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let summed = rows(
        "SELECT profile, CAST(ts / 60 AS INTEGER) AS minute, COUNT(*), \
         SUM(orig_ip_bytes + resp_ip_bytes) FROM flows GROUP BY profile, minute \
         UNION ALL SELECT '', CAST(ts / 60 AS INTEGER) AS minute, COUNT(*), \
         SUM(orig_ip_bytes + resp_ip_bytes) FROM flows GROUP BY minute",
    );
    assert!(summed.len() > 2);
    assert_eq!(
        rows("SELECT profile, minute, flows, bytes FROM flows_per_minute ORDER BY rowid"),
        summed
    );
    assert_eq!(
        rows("SELECT profile, 0, flows, bytes FROM flows_per_profile ORDER BY rowid"),
        rows(
            "SELECT profile, 0, COUNT(*), SUM(orig_ip_bytes + resp_ip_bytes) FROM flows \
             GROUP BY profile"
        )
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM flows WHERE label = 'benign'") as usize,
        conns.len()
    );
    // Aggregator inputs (DHCP messages, software sightings) are not records of their own.
    let others = recs
        .iter()
        .filter(|r| {
            !matches!(
                r,
                Record::Conn(_) | Record::DhcpMessage(_) | Record::SoftwareFound(_)
            )
        })
        .count();
    assert_eq!(count(&db, "SELECT count(*) FROM records") as usize, others);
    assert_eq!(
        count(&db, "SELECT count(*) FROM profiles") as usize,
        s.profiles
    );
    assert_eq!(count(&db, "SELECT count(*) FROM hosts") as usize, s.hosts);
    assert_eq!(
        count(&db, "SELECT count(*) FROM timewindows") as usize,
        s.timewindows
    );
    // Every DNS record is valid JSON and findable by uid through the index.
    let dns_json: String = db
        .query_row(
            "SELECT json FROM records WHERE kind = 'dns' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&dns_json).unwrap();
    assert!(v.get("query").is_some() || v.get("uid").is_some());
    let plan: String = db
        .query_row(
            "EXPLAIN QUERY PLAN SELECT * FROM flows WHERE profile = '192.168.2.16' AND twid = 1",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("flows_profile_tw"), "{plan}");
    // Passive DNS reached the hosts table: some address is known by a name.
    assert!(count(&db, "SELECT count(*) FROM hosts WHERE domains != '[]'") > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn evidence_alerts_labels_and_outputs_end_to_end() {
    let recs = records();
    let dir = out_dir("alerts");
    // One-minute windows; an alert at 1.0 accumulated (threshold 1.0 * 60 / 60).
    // LONG_CONNECTION above 60 s; 192.168.2.16 is whitelisted as a victim of alerts.
    let wl_dir = dir.join("wl");
    std::fs::create_dir_all(&wl_dir).unwrap();
    std::fs::write(
        wl_dir.join("whitelist.conf"),
        "\"IoCType\",\"IoCValue\",\"Direction\",\"IgnoreType\"\nip,192.168.2.16,dst,alerts\n",
    )
    .unwrap();
    let mut c = config(
        "parameters:\n  time_window_width: 60\ndetection:\n  evidence_detection_threshold: 1.0\nflow_alerts:\n  long_connection_threshold: 60\n",
    );
    c.whitelists.local_whitelist_path = wl_dir.join("whitelist.conf");
    let s = run(c, &dir, vec![Box::new(EveryDnsFlow)]);

    let long: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Conn(c)
                if c.duration.is_some_and(|d| d.as_secs_f64() > 60.0)
                    && !c.id.orig_h.is_multicast()
                    && !c.id.resp_h.is_multicast() =>
            {
                Some(c)
            }
            _ => None,
        })
        .collect();
    let whitelisted_long = long
        .iter()
        .filter(|c| c.id.resp_h.to_string() == "192.168.2.16")
        .count();
    let dns_flows = recs
        .iter()
        .filter(
            |r| matches!(r, Record::Conn(c) if c.id.resp_p == 53 && c.id.proto == Transport::Udp),
        )
        .count();
    let dns_whitelisted = recs
        .iter()
        .filter(|r| matches!(r, Record::Conn(c) if c.id.resp_p == 53 && c.id.proto == Transport::Udp && c.id.resp_h.to_string() == "192.168.2.16"))
        .count();
    assert!(!long.is_empty());
    assert!(whitelisted_long > 0, "the 298 s flow goes to 192.168.2.16");
    assert_eq!(
        s.evidence.whitelisted as usize,
        whitelisted_long + dns_whitelisted
    );
    assert_eq!(
        s.evidence.kept() as usize,
        long.len() - whitelisted_long + dns_flows - dns_whitelisted
    );
    assert!(!s.alerts.is_empty(), "{s:?}");
    assert_eq!(s.evidence.alerts as usize, s.alerts.len());

    // alerts.json: one Event per kept evidence, one Incident per alert, ids linked.
    let objs = json_lines(&dir.join("alerts.json"));
    let events: Vec<_> = objs.iter().filter(|o| o["Status"] == "Event").collect();
    let incidents: Vec<_> = objs.iter().filter(|o| o["Status"] == "Incident").collect();
    assert_eq!(events.len() as u64, s.evidence.kept());
    assert_eq!(incidents.len(), s.alerts.len());
    let event_ids: HashSet<&str> = events.iter().map(|e| e["ID"].as_str().unwrap()).collect();
    for i in &incidents {
        let ids = i["CorrelID"].as_array().unwrap();
        assert!(!ids.is_empty());
        assert!(ids
            .iter()
            .all(|id| event_ids.contains(id.as_str().unwrap())));
        let note: serde_json::Value = serde_json::from_str(i["Note"].as_str().unwrap()).unwrap();
        assert!(note["accumulated_threat_level"].as_f64().unwrap() >= 1.0);
    }
    let long_events: Vec<_> = events
        .iter()
        .filter(|e| e["EvidenceType"] == "LONG_CONNECTION")
        .collect();
    assert_eq!(long_events.len(), long.len() - whitelisted_long);
    let e = long_events[0];
    assert_eq!(e["Severity"], "Low");
    assert!(e["Description"]
        .as_str()
        .unwrap()
        .starts_with("Long Connection. Connection from "));
    assert!(e["Description"]
        .as_str()
        .unwrap()
        .ends_with(" threat level: low."));
    assert!(e["Source"][0]["IP"].is_string());
    assert!(e["Target"][0]["Port"][0].is_u64());
    let note: serde_json::Value = serde_json::from_str(e["Note"].as_str().unwrap()).unwrap();
    assert_eq!(note["uids"].as_array().unwrap().len(), 1);

    // alerts.log: one line per evidence and per alert.
    let log = std::fs::read_to_string(dir.join("alerts.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines.len() as u64,
        s.evidence.kept() + s.alerts.len() as u64
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("Generated an alert given enough evidence on timewindow"))
            .count(),
        s.alerts.len()
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("(TW ") && l.contains(". Detected Long Connection.")));

    // flows.sqlite: evidence, alerts and the flows behind alerts labelled malicious.
    let db = rusqlite::Connection::open(dir.join("flows.sqlite")).unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) FROM evidence") as u64,
        s.evidence.kept()
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM alerts") as usize,
        s.alerts.len()
    );
    let malicious = count(&db, "SELECT count(*) FROM flows WHERE label = 'malicious'");
    let behind_alerts = count(
        &db,
        "SELECT count(DISTINCT ef.uid) FROM alert_evidence ae JOIN evidence_flows ef ON ef.evidence_id = ae.evidence_id",
    );
    assert!(malicious > 0);
    assert_eq!(malicious, behind_alerts);
    assert_eq!(
        s.storage.as_ref().unwrap().malicious_flows as i64,
        malicious
    );
    // Every alert is in a window whose table row counts it.
    assert_eq!(
        count(&db, "SELECT sum(alerts) FROM timewindows") as usize,
        s.alerts.len()
    );
    // The worst profile is one that raised alerts.
    let worst = &s.worst_profiles[0];
    assert!(worst.alerts > 0);
    assert!(s.alerts.iter().any(|a| a.profile == worst.ip));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn direction_all_and_home_network_change_who_is_profiled() {
    let dir = out_dir("direction");
    let quiet = "output:\n  alerts_log: ''\n  alerts_json: ''\n  sqlite: ''\n";
    let out = run(config(quiet), &dir, Vec::new());
    let all = run(
        config(&format!("{quiet}parameters:\n  analysis_direction: all\n")),
        &dir,
        Vec::new(),
    );
    assert!(
        all.profiles > out.profiles,
        "{} vs {}",
        all.profiles,
        out.profiles
    );
    let home = run(
        config(&format!(
            "{quiet}parameters:\n  analysis_direction: all\n  home_network: [192.168.2.0/24]\n"
        )),
        &dir,
        Vec::new(),
    );
    assert!(home.profiles < all.profiles);
    assert!(home.profiles > 0);
    assert!(!dir.join("alerts.log").exists());
    assert!(!dir.join("flows.sqlite").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What a subscriber was told, shared with the test.
#[derive(Default)]
struct Told {
    records: u64,
    evidence: u64,
    alerts: Vec<(IpAddr, i64)>,
    finished: bool,
}

struct Recorder(std::sync::Arc<std::sync::Mutex<Told>>);

impl detectors::Subscriber for Recorder {
    fn record(&mut self, _r: &Record, _profile: IpAddr, _w: &detectors::timewindow::TimeWindow) {
        self.0.lock().unwrap().records += 1;
    }
    fn evidence(&mut self, _e: &Evidence, _acc: f64, _h: &detectors::profile::Hosts) {
        self.0.lock().unwrap().evidence += 1;
    }
    fn alert(&mut self, a: &detectors::Alert, _h: &detectors::profile::Hosts) {
        self.0
            .lock()
            .unwrap()
            .alerts
            .push((a.profile, a.timewindow.number));
    }
    fn finish(&mut self, _h: &detectors::profile::Hosts) -> Result<(), detectors::Error> {
        self.0.lock().unwrap().finished = true;
        Ok(())
    }
}

#[test]
fn subscribers_are_told_every_kept_evidence_and_alert() {
    let dir = out_dir("subscriber");
    let mut c = only_long_connections(config(
        "parameters:\n  time_window_width: 60\ndetection:\n  evidence_detection_threshold: 1.0\n",
    ));
    c.whitelists.enable_local_whitelist = false;
    c.whitelists.enable_online_whitelist = false;
    let mut a = Analysis::new(c, &dir).unwrap();
    a.add_detector(Box::new(EveryDnsFlow));
    let told = std::sync::Arc::new(std::sync::Mutex::new(Told::default()));
    a.subscribe(Box::new(Recorder(told.clone())));
    let recs = records();
    for r in &recs {
        a.process(r);
    }
    let s = a.finish().unwrap();
    let t = told.lock().unwrap();
    assert!(t.finished);
    assert_eq!(t.evidence, s.evidence.kept());
    assert!(!s.alerts.is_empty());
    let summary: Vec<(IpAddr, i64)> = s.alerts.iter().map(|a| (a.profile, a.timewindow)).collect();
    assert_eq!(t.alerts, summary);
    // Every record with a source address reaches the subscribers (no whitelist here).
    assert!(t.records > 0 && t.records <= recs.len() as u64);
}

#[test]
fn the_interface_a_flow_was_seen_on_reaches_its_evidence_and_the_database() {
    let dir = out_dir("interface");
    let mut c = only_long_connections(config(
        "parameters:\n  time_window_width: 60\ndetection:\n  evidence_detection_threshold: 1.0\n",
    ));
    c.whitelists.enable_local_whitelist = false;
    c.whitelists.enable_online_whitelist = false;
    let mut a = Analysis::new(c, &dir).unwrap();
    a.add_detector(Box::new(EveryDnsFlow));
    let eth7: std::sync::Arc<str> = std::sync::Arc::from("eth7");
    for mut r in records() {
        if let Record::Conn(c) = &mut r {
            c.interface = Some(eth7.clone());
        }
        a.process(&r);
    }
    let s = a.finish().unwrap();
    assert!(s.evidence.kept() > 0);
    let db = rusqlite::Connection::open(dir.join("flows.sqlite")).unwrap();
    let flows = count(&db, "SELECT COUNT(*) FROM flows");
    assert!(flows > 0);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM flows WHERE interface = 'eth7'"),
        flows
    );
    let evidence = count(&db, "SELECT COUNT(*) FROM evidence");
    assert_eq!(evidence as u64, s.evidence.kept());
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM evidence WHERE interface = 'eth7'"
        ),
        evidence
    );
}
