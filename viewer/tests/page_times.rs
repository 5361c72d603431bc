//! How long the web interface takes for each page over an output folder of a million
//! flows. Made by the real analysis and storage from synthetic records: 300 hosts over
//! 24 one-hour windows, one of them busy (half of all flows), a DNS lookup before every
//! tenth connection, and a test detection that makes evidence (and alerts) of every
//! connection to port 4444.
//!
//! A measurement, not a check of speed (no wall-clock limits in tests): run it on a
//! quiet machine with
//!
//!     cargo test --release -p viewer --test page_times -- --ignored --nocapture
//!
//! It prints the time of each page, the first load and the next (costly plots are kept
//! by the store once the run is finished).

use std::path::{Path, PathBuf};
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use detectors::detector::{Context, Detector, EvidenceSink};
use detectors::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use detectors::{Analysis, Config};
use dissectors::dns::{DnsAnswer, DnsRecord, RData};
use dissectors::{ConnId, ConnRecord, ConnState, Interval, Record, Timestamp, Transport, Uid};
use http_body_util::BodyExt;
use tower::ServiceExt;

const FLOWS: u64 = 1_000_000;
const HOSTS: u64 = 300;
const BUSY: &str = "10.0.0.1";
const T0: f64 = 1_700_000_000.0;
const SPAN: f64 = 24.0 * 3600.0;

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
            0.5,
            format!("connection to blacklisted {}", c.id.resp_h),
            ctx.profile_ip,
            ctx.timewindow.number,
            c.ts,
        );
        e.victim = Some(Ioc::dst_ip(c.id.resp_h));
        e.uids = vec![c.uid];
        out.push(e);
    }
}

fn host_of(i: u64) -> String {
    // Half of the flows are the busy host's.
    if i.is_multiple_of(2) {
        BUSY.to_owned()
    } else {
        let h = 2 + (i / 2) % (HOSTS - 1);
        format!("10.0.{}.{}", h / 250, h % 250 + 1)
    }
}

fn conn(i: u64, src: &str) -> ConnRecord {
    let ts = T0 + SPAN * i as f64 / FLOWS as f64;
    let dst = format!("93.184.{}.{}", (i / 251) % 250, i % 251);
    let dport = if matches!(i % 1000, 7 | 8) { 4444 } else { 443 };
    ConnRecord {
        ts: Timestamp::from_secs_f64(ts),
        uid: Uid::connection(u128::from(i) + 1),
        id: ConnId {
            orig_h: src.parse().unwrap(),
            orig_p: 40000 + (i % 20000) as u16,
            resp_h: dst.parse().unwrap(),
            resp_p: dport,
            proto: Transport::Tcp,
        },
        service: (dport == 443).then(|| "ssl".into()),
        duration: Some(Interval::from_secs_f64(0.5)),
        orig_bytes: Some(1_000 + i % 5000),
        resp_bytes: Some(20_000 + i % 70_000),
        conn_state: ConnState::SF,
        local_orig: Some(true),
        local_resp: Some(false),
        missed_bytes: 0,
        history: Some("ShADadFf".into()),
        orig_pkts: 10,
        orig_ip_bytes: 1_500 + i % 5000,
        resp_pkts: 20,
        resp_ip_bytes: 21_000 + i % 70_000,
        tunnel_parents: None,
        ip_proto: Some(6),
        interface: None,
        ground_truth: None,
    }
}

fn dns_for(c: &ConnRecord, i: u64) -> DnsRecord {
    let name = format!("site{}.example.com", i % 5000);
    DnsRecord {
        ts: Timestamp(c.ts.0 - 1000),
        uid: Uid::connection(u128::from(i) + (1 << 100)),
        id: ConnId {
            orig_h: c.id.orig_h,
            orig_p: 53000,
            resp_h: "10.0.0.254".parse().unwrap(),
            resp_p: 53,
            proto: Transport::Udp,
        },
        trans_id: 1,
        rtt: None,
        query: Some(name.clone()),
        qclass: Some(1),
        qtype: Some(1),
        rcode: Some(0),
        aa: false,
        tc: false,
        rd: true,
        ra: true,
        z: 0,
        answers: Some(vec![DnsAnswer {
            name,
            rtype: 1,
            class: 1,
            ttl: 60,
            data: RData::Addr(c.id.resp_h),
        }]),
        rejected: false,
        opcode: Some(0),
        netbios: false,
    }
}

fn make_run(dir: &Path) {
    let mut config = Config::parse(
        "parameters:\n  time_window_width: 3600\n",
        Path::new("bench.yaml"),
    )
    .unwrap();
    config.modules.disable = detectors::detections::names()
        .into_iter()
        .map(str::to_string)
        .collect();
    config.whitelists.enable_local_whitelist = false;
    config.whitelists.enable_online_whitelist = false;
    config.enrichment.oui_database = PathBuf::new();
    let mut analysis = Analysis::new(config, dir).unwrap();
    analysis.add_detector(Box::new(Port4444));
    let started = Instant::now();
    for i in 0..FLOWS {
        let src = host_of(i);
        let c = conn(i, &src);
        if i.is_multiple_of(10) {
            analysis.process(&Record::from(dns_for(&c, i)));
        }
        analysis.process(&Record::from(c));
    }
    let summary = analysis.finish().unwrap();
    eprintln!(
        "made {} flows, {} profiles, {} evidence, {} alerts in {:.1} s",
        summary.flows,
        summary.profiles,
        summary.evidence.kept(),
        summary.alerts.len(),
        started.elapsed().as_secs_f64()
    );
}

async fn time_page(app: &axum::Router, uri: &str) -> (f64, usize) {
    let started = Instant::now();
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (started.elapsed().as_secs_f64() * 1000.0, body.len())
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "a measurement over a million flows; run it on its own (see the file's doc)"]
async fn page_load_times_over_a_million_flows() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("million");
    let _ = std::fs::remove_dir_all(&dir);
    make_run(&dir);
    let app = viewer::web::router(&dir);
    let store = detectors::query::Store::open(&dir).unwrap();
    let alert = store.alerts(Some(BUSY), None).unwrap()[0].id.clone();
    let busy_window = format!("/profile/{BUSY}/tw/12");
    let windows = store.timewindows(BUSY).unwrap();
    let flows_in_window = windows.iter().find(|w| w.twid == 12).unwrap().flows_out;
    let deep = flows_in_window - 100;
    let quiet = "10.0.0.3";
    let pages = [
        "/".to_owned(),
        "/?offset=200&limit=100".to_owned(),
        format!("/profile/{BUSY}"),
        format!("/profile/{quiet}"),
        busy_window.clone(),
        format!("{busy_window}?tab=timeline&offset={deep}&limit=100"),
        format!("{busy_window}?tab=out"),
        format!("{busy_window}?tab=out&offset={deep}&limit=100"),
        format!("{busy_window}?tab=in"),
        format!("{busy_window}?tab=evidence"),
        format!("{busy_window}?tab=alerts"),
        format!("/profile/{quiet}/tw/12"),
        format!("/alert/{alert}"),
        "/alerts".to_owned(),
        "/api/profiles?limit=100".to_owned(),
        format!("/api/profile/{BUSY}/tw/12/timeline?limit=100"),
        format!("/api/profile/{BUSY}/tw/12/flows/out?offset={deep}&limit=100"),
        "/api/plots/top_talkers?n=10".to_owned(),
    ];
    println!("{flows_in_window} flows of {BUSY} in window 12");
    println!("| page | first load ms | next load ms | bytes |");
    println!("|---|---|---|---|");
    for uri in &pages {
        let (first, size) = time_page(&app, uri).await;
        let (next, _) = time_page(&app, uri).await;
        println!("| `{uri}` | {first:.1} | {next:.1} | {size} |");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
