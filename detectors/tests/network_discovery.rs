//! The scan detections end to end, on Slips' own samples: records from the engine
//! (captures) or the log readers (Zeek logs) -> `Analysis` with the shipped detections
//! -> the evidence written to alerts.json.

use std::path::{Path, PathBuf};

use detectors::{Analysis, Config, Summary};
use dissectors::Record;
use engine::pipeline::{collect_file, PipelineConfig};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nd-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs every enabled detection over `records`; returns (evidence type, description,
/// attacker IP) of each evidence written, and the run's summary.
fn analyse(name: &str, records: &[Record]) -> (Vec<(String, String, String)>, Summary) {
    let mut config = Config::parse(
        "output:\n  alerts_log: ''\n  sqlite: ''\n",
        Path::new("test.yaml"),
    )
    .unwrap();
    config.base_dir = repo().join("config");
    let dir = out_dir(name);
    let mut a = Analysis::new(config, &dir).unwrap();
    for r in records {
        a.process(r);
    }
    let summary = a.finish().unwrap();
    let evidence = std::fs::read_to_string(dir.join("alerts.json"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|o| o["Status"] == "Event")
        .map(|o| {
            (
                o["EvidenceType"].as_str().unwrap().to_string(),
                o["Description"].as_str().unwrap().to_string(),
                o["Source"][0]["IP"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    std::fs::remove_dir_all(&dir).unwrap();
    (evidence, summary)
}

fn of_type<'a>(ev: &'a [(String, String, String)], t: &str) -> Vec<&'a (String, String, String)> {
    ev.iter().filter(|e| e.0 == t).collect()
}

fn read_logs(path: &Path) -> Vec<Record> {
    engine::readers::open(path)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

#[test]
fn icmp_ping_sweep_capture() {
    let pcap = repo().join("testdata/slips/test12-icmp-portscan.pcap");
    let (records, _) = collect_file(&pcap, &PipelineConfig::default()).unwrap();
    let (ev, _) = analyse("icmp", &records);
    let sweeps = of_type(&ev, "ICMP_ADDRESS_SCAN");
    assert!(!sweeps.is_empty(), "{ev:#?}");
    // One evidence per five more hosts pinged by the scanner, counts growing.
    let counts: Vec<u64> = sweeps
        .iter()
        .map(|e| {
            assert_eq!(e.2, "192.168.1.109");
            let rest = e.1.strip_prefix("ICMP scanning ").unwrap();
            rest.split(' ').next().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(counts[0], 5, "{ev:#?}");
    assert!(counts.windows(2).all(|w| w[1] == w[0] + 5), "{counts:?}");
    let echo_targets: std::collections::HashSet<_> = records
        .iter()
        .filter_map(|r| match r {
            Record::Conn(c)
                if c.id.proto == dissectors::Transport::Icmp
                    && c.id.orig_p == 8
                    && c.id.orig_h.to_string() == "192.168.1.109" =>
            {
                Some(c.id.resp_h)
            }
            _ => None,
        })
        .collect();
    assert_eq!(*counts.last().unwrap() as usize, echo_targets.len() / 5 * 5);
    assert!(of_type(&ev, "HORIZONTAL_PORT_SCAN").is_empty());
}

#[test]
fn horizontal_port_scan_from_slips_conn_log() {
    // Slips' integration test expects a horizontal port scan on this file.
    let records = read_logs(&repo().join("testdata/slips/inputs/horizontal-portscan-conn.log"));
    let (ev, _) = analyse("horizontal", &records);
    let scans = of_type(&ev, "HORIZONTAL_PORT_SCAN");
    let descriptions: Vec<&str> = scans.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        descriptions,
        [
            "Horizontal port scan to port http 80/tcp. From 10.0.2.112 to 5 unique destination IPs. Total packets sent: 5. Confidence: 0.5. by Slips threat level: high.",
            "Horizontal port scan to port http 80/tcp. From 10.0.2.112 to 10 unique destination IPs. Total packets sent: 10. Confidence: 1. by Slips threat level: high.",
        ],
        "{ev:#?}"
    );
    assert!(scans.iter().all(|e| e.2 == "10.0.2.112"));
    assert!(of_type(&ev, "VERTICAL_PORT_SCAN").is_empty());
}

#[test]
fn zeek_notices_and_gre_tunnels() {
    let records = read_logs(&repo().join("testdata/slips/inputs/zeek-json/notice.log"));
    let (ev, _) = analyse("notices", &records);
    let sweeps = of_type(&ev, "ICMP_ADDRESS_SCAN");
    assert!(!sweeps.is_empty(), "{ev:#?}");
    assert!(sweeps.iter().all(|e| e
        .1
        .starts_with("192.168.1.15 performed ICMP address scan on ")));
    assert!(!of_type(&ev, "ICMP_TIMESTAMP_SCAN").is_empty(), "{ev:#?}");

    // Slips' integration test expects a GRE tunnel on test14.
    let records = read_logs(&repo().join("testdata/slips/inputs/zeek-json-tunnel/tunnel.log"));
    let (ev, _) = analyse("gre", &records);
    let gre: Vec<&str> = ev
        .iter()
        .filter(|e| e.0.starts_with("GRE_"))
        .map(|e| e.0.as_str())
        .collect();
    assert_eq!(gre, ["GRE_SCAN", "GRE_TUNNEL"], "{ev:#?}");
}

#[test]
fn login_attempts_from_a_zeek_login_log() {
    let records = read_logs(&repo().join("testdata/slips/inputs/zeek-login/login.log"));
    assert_eq!(records.len(), 3);
    let (ev, _) = analyse("login", &records);
    let logins: Vec<(&str, &str)> = of_type(&ev, "LOGIN")
        .iter()
        .map(|e| (e.1.as_str(), e.2.as_str()))
        .collect();
    assert_eq!(
        logins,
        [
            (
                "failed telnet login for user admin. destination IP: 10.0.0.23. threat level: info.",
                "10.0.0.23"
            ),
            (
                "successful telnet login for user root. destination IP: 10.0.0.23. threat level: info.",
                "10.0.0.23"
            ),
            (
                "confused rlogin login. destination IP: 10.0.0.24. threat level: info.",
                "10.0.0.24"
            ),
        ],
        "{ev:#?}"
    );
}
