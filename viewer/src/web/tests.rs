//! The web interface over a real run (test7-malicious.pcap through the engine and the
//! analysis with the shipped configuration), asked as a browser would: the profiles
//! page, a profile, its time window's tabs, an alert, the JSON API, and bad requests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::router;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One run shared by the tests (the analysis takes a moment).
fn output() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("slipstream-tests/web");
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = detectors::Config::load(&repo().join("config/slipstream.yaml")).unwrap();
        config.enrichment.virustotal_cache = virustotal_reports(&dir);
        let mut analysis = detectors::Analysis::new(config, &dir).unwrap();
        let pcap = repo().join("testdata/slips/test7-malicious.pcap");
        let (records, _) =
            engine::pipeline::collect_file(&pcap, &engine::pipeline::PipelineConfig::default())
                .unwrap();
        for r in &records {
            analysis.process(r);
        }
        let summary = analysis.finish().unwrap();
        assert!(!summary.alerts.is_empty(), "the test capture raises alerts");
        dir
    })
}

/// An address of the capture, resolved from `0.debian.pool.ntp.org`.
const NTP_SERVER: &str = "81.2.248.189";

/// Saved VirusTotal reports (made-up counts) of [`NTP_SERVER`] and its name, in a
/// folder beside the run's output.
fn virustotal_reports(output: &Path) -> PathBuf {
    let vt = output.with_extension("vt");
    let _ = std::fs::remove_dir_all(&vt);
    for (kind, name, report) in [
        (
            "ip-address",
            NTP_SERVER,
            r#"{"detected_urls": [{"url": "http://81.2.248.189/", "positives": 1, "total": 4}],
                "detected_communicating_samples": [{"positives": 3, "total": 4}]}"#,
        ),
        (
            "domain",
            "0.debian.pool.ntp.org",
            r#"{"undetected_urls": [["http://0.debian.pool.ntp.org/", "x", 0, 8, "2024-01-01"]]}"#,
        ),
    ] {
        std::fs::create_dir_all(vt.join(kind)).unwrap();
        std::fs::write(vt.join(kind).join(format!("{name}.json")), report).unwrap();
    }
    vt
}

async fn get(uri: &str) -> (StatusCode, String) {
    let response = router(output())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn get_json(uri: &str) -> serde_json::Value {
    let (status, body) = get(uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The `href` of the first link with class `class` in `html`.
fn first_link(html: &str, class: &str) -> String {
    let marker = format!(r#"class="{class}" href=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no link of class {class}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

#[tokio::test(flavor = "current_thread")]
async fn walk_profiles_profile_window_alert() {
    let (status, index) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(index.contains(r#"<table id="profiles">"#));
    assert!(index.contains("Evidence per threat level"));
    assert!(index.contains("<svg"), "plots are inline SVG");
    assert!(
        !index.contains("http-equiv=\"refresh\""),
        "a finished run does not refresh"
    );
    // Alerted profiles come first and are marked.
    let first_row = &index[index.find("<tbody>").unwrap()..];
    assert!(first_row[..first_row.find("</tr>").unwrap()].contains("alerted"));

    let profile_href = first_link(&index, "profile");
    let (status, profile) = get(&profile_href).await;
    assert_eq!(status, StatusCode::OK);
    assert!(profile.contains(r#"<table id="windows">"#));
    assert!(profile.contains("Flows over time"));
    let window_href = first_link(&profile, "window");

    let (status, timeline) = get(&window_href).await;
    assert_eq!(status, StatusCode::OK);
    assert!(timeline.contains(r#"<ol class="timeline" id="timeline">"#));
    assert!(timeline.contains(r#"<span class="time">"#));
    for tab in ["out", "in", "evidence", "alerts"] {
        let (status, page) = get(&format!("{window_href}?tab={tab}")).await;
        assert_eq!(status, StatusCode::OK, "{tab}");
        assert!(
            page.contains(&format!(r#"id="tab-{tab}" class="active""#)),
            "{tab}"
        );
    }
    let (_, alerts_tab) = get(&format!("{window_href}?tab=alerts")).await;
    let alert_href = first_link(&alerts_tab, "alert");
    let (status, alert) = get(&alert_href).await;
    assert_eq!(status, StatusCode::OK);
    assert!(alert.contains(r#"<table class="evidence" id="evidence">"#));
    assert!(alert.contains(r#"id="alert-flows""#));
    assert!(
        alert.contains(r#"<tr class="malicious">"#),
        "the flows behind an alert are labelled"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn json_api_matches_the_pages() {
    let overview = get_json("/api/overview").await;
    assert_eq!(overview["finished"], true);
    assert!(overview["alerts"].as_u64().unwrap() > 0);
    let profiles = get_json("/api/profiles?limit=2").await;
    assert_eq!(profiles["items"].as_array().unwrap().len(), 2);
    assert_eq!(profiles["page"]["limit"], 2);
    let ip = profiles["items"][0]["ip"].as_str().unwrap().to_owned();
    assert_eq!(profiles["items"][0]["alerted"], true);
    let host = get_json(&format!("/api/profile/{ip}")).await;
    assert_eq!(host["ip"], ip.as_str());
    let windows = get_json(&format!("/api/profile/{ip}/timewindows")).await;
    let twid = windows[0]["twid"].as_i64().unwrap();
    let timeline = get_json(&format!("/api/profile/{ip}/tw/{twid}/timeline?limit=5")).await;
    assert!(!timeline["items"].as_array().unwrap().is_empty());
    let flows = get_json(&format!("/api/profile/{ip}/tw/{twid}/flows/out?limit=5")).await;
    assert_eq!(
        flows["items"][0]["uid"], timeline["items"][0]["uid"],
        "the timeline tells the flows in their order"
    );
    get_json(&format!("/api/profile/{ip}/tw/{twid}/flows/in")).await;
    get_json(&format!("/api/profile/{ip}/tw/{twid}/evidence")).await;
    let alerts = get_json(&format!("/api/alerts?ip={ip}")).await;
    let id = alerts[0]["id"].as_str().unwrap();
    let detail = get_json(&format!("/api/alert/{id}")).await;
    assert!(!detail["evidence"].as_array().unwrap().is_empty());
    let levels = get_json("/api/plots/evidence_per_level").await;
    assert_eq!(levels.as_array().unwrap().len(), 5);
    let talkers = get_json("/api/plots/top_talkers?n=3").await;
    assert!(talkers.as_array().unwrap().len() <= 3);
    let over_time = get_json(&format!("/api/plots/flows_over_time?ip={ip}")).await;
    assert!(!over_time["buckets"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn virustotal_scores_on_the_host_page() {
    let (status, page) = get(&format!("/profile/{NTP_SERVER}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(
            "<tr><th>VirusTotal</th><td>URL 25.0%, down_file 0.0%, ref_file 0.0%, com_file 75.0%</td></tr>"
        ),
        "{page}"
    );
    assert!(page.contains(
        "<tr><th>domains on VirusTotal</th><td>0.debian.pool.ntp.org: URL 0.0%, down_file 0.0%, ref_file 0.0%, com_file 0.0%</td></tr>"
    ));
    let host = get_json(&format!("/api/profile/{NTP_SERVER}")).await;
    assert_eq!(host["virustotal"]["com_file"], 75.0);
    assert_eq!(
        host["domains_virustotal"][0]["domain"],
        "0.debian.pool.ntp.org"
    );
    // No report: no line, and null in the API.
    let profiles = get_json("/api/profiles?limit=1").await;
    let ip = profiles["items"][0]["ip"].as_str().unwrap().to_owned();
    let (_, page) = get(&format!("/profile/{ip}")).await;
    assert!(!page.contains("VirusTotal"));
    assert!(get_json(&format!("/api/profile/{ip}")).await["virustotal"].is_null());
}

#[tokio::test(flavor = "current_thread")]
async fn unknown_things_are_404_and_text_is_escaped() {
    for uri in [
        "/profile/192.0.2.250",
        "/profile/192.0.2.250/tw/1",
        "/alert/nope",
        "/api/alert/nope",
        "/api/profile/10.0.0.1/tw/1/flows/sideways",
        "/nothing-here",
    ] {
        let (status, _) = get(uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
    let (status, body) = get("/profile/%3Cscript%3E").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("<script>"));
    assert!(body.contains("&lt;script&gt;"));
    let (status, _) = get("/profile/1.2.3.4/tw/notanumber").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "current_thread")]
async fn a_folder_without_a_run_says_so() {
    let dir = std::env::temp_dir().join("slipstream-tests/web-empty");
    std::fs::create_dir_all(&dir).unwrap();
    let response = router(&dir)
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serves_on_a_real_port() {
    let server = super::Server::bind(output(), 0).unwrap();
    let addr = server.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    server.spawn().unwrap();
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /api/overview HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"finished\":true"));
    // The port is taken now: a second server says so at bind time.
    assert!(super::Server::bind(output(), addr.port()).is_err());
}
