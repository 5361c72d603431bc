//! Slips' own samples end to end: each one goes through the readers or the engine and
//! every shipped detection, and the evidence types written to alerts.json are compared
//! with what Slips' integration tests expect of it (`tests/integration/`, listed in
//! `shared/docs/slips-reference.md`). The test asserts that the expected types are
//! found and prints the table (`cargo test -p detectors --test slips_samples --
//! --nocapture`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use detectors::{Analysis, Config};
use dissectors::Record;
use engine::pipeline::{collect_file, PipelineConfig};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Sample {
    name: &'static str,
    /// Under `testdata/slips/`.
    input: &'static str,
    /// What Slips' integration test expects (or, where it says so, our own validation).
    expected: &'static [&'static str],
    /// Slips' test accepts any one of `expected`.
    any_of: bool,
    /// False where Slips' own test is disabled (listed, not asserted).
    asserted: bool,
    /// Types that must not appear.
    absent: &'static [&'static str],
    /// The capture's checksums are wrong (offloading): read as with `-C`.
    ignore_checksums: bool,
}

const CC: &str = "COMMAND_AND_CONTROL_CHANNEL";

const SAMPLES: &[Sample] = &[
    Sample {
        name: "test3-mixed.binetflow",
        input: "inputs/test3-mixed.binetflow",
        expected: &["HORIZONTAL_PORT_SCAN"],
        any_of: false,
        asserted: true,
        absent: &[],
        ignore_checksums: false,
    },
    Sample {
        name: "test2-malicious.binetflow (first 200 flows)",
        input: "inputs/test2-malicious-head200.binetflow",
        expected: &["LONG_CONNECTION"],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test5-mixed.binetflow",
        input: "inputs/test5-mixed.binetflow",
        expected: &["LONG_CONNECTION"],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test6-malicious.suricata.json (slice)",
        input: "inputs/test6-suricata-slice.json",
        expected: &[
            "UNKNOWN_PORT",
            "VERTICAL_PORT_SCAN",
            "CONNECTION_TO_PRIVATE_IP",
        ],
        any_of: true,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test1-malicious.nfdump (slice)",
        input: "inputs/nfdump/v1-slice.nf",
        expected: &[],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "port-scans/horizontal/conn.log",
        input: "inputs/horizontal-portscan-conn.log",
        expected: &["HORIZONTAL_PORT_SCAN"],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test9-mixed-zeek-dir (partial copy; Slips' test disabled)",
        input: "inputs/zeek-json",
        expected: &["TOR_EXIT_NODE", "DIFFERENT_LOCALNET", "UNSOLICITED_ARP"],
        any_of: false,
        asserted: false,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test10-mixed-zeek-dir",
        input: "inputs/zeek-tsv",
        expected: &["HIGH_ENTROPY_DNS_ANSWER"],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test10-mixed-zeek-dir/conn.log alone",
        input: "inputs/zeek-tsv/conn.log",
        expected: &["NON_SSL_PORT_443_CONNECTION"],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test14-malicious-zeek-dir (http.log: first 40 lines)",
        input: "test14-malicious-zeek-dir",
        expected: &[
            "BAD_SMTP_LOGIN",
            "SMTP_LOGIN_BRUTEFORCE",
            "SUSPICIOUS_USER_AGENT",
            "EXECUTABLE_MIME_TYPE",
            "GRE_TUNNEL",
        ],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test16-malicious-zeek-dir",
        input: "test16-malicious-zeek-dir",
        expected: &["UNSOLICITED_ARP"],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test-cc-capture-1.pcap (first 420 packets; slipstream's C&C validation)",
        input: "test-cc-capture-1-head420.pcap",
        expected: &[CC],
        any_of: false,
        asserted: true,
        absent: &[],
        ignore_checksums: true,
    },
    Sample {
        name: "test7-malicious.pcap (no Slips expectation)",
        input: "test7-malicious.pcap",
        expected: &[],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
    Sample {
        name: "test12-icmp-portscan.pcap (no Slips expectation)",
        input: "test12-icmp-portscan.pcap",
        expected: &[],
        any_of: false,
        asserted: true,
        absent: &[CC],
        ignore_checksums: false,
    },
];

fn records(s: &Sample) -> Vec<Record> {
    let path = repo().join("testdata/slips").join(s.input);
    if s.input.ends_with(".pcap") {
        let mut config = PipelineConfig::default();
        config.tracker.verify_checksums = !s.ignore_checksums;
        return collect_file(&path, &config).unwrap().0;
    }
    engine::readers::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        // A bad line is reported and skipped, as the command line does (Slips' copy of
        // test10's notice.log has one).
        .filter_map(Result::ok)
        .collect()
}

/// Evidence types written to alerts.json by a run of every shipped detection.
fn found_types(s: &Sample) -> BTreeSet<String> {
    let mut config = Config::parse(
        "output:\n  alerts_log: ''\n  sqlite: ''\n",
        Path::new("test.yaml"),
    )
    .unwrap();
    config.base_dir = repo().join("config");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("samples-{}", s.input.replace('/', "_")));
    let _ = std::fs::remove_dir_all(&dir);
    let mut a = Analysis::new(config, &dir).unwrap();
    for r in &records(s) {
        a.process(r);
    }
    a.finish().unwrap();
    let types = std::fs::read_to_string(dir.join("alerts.json"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|o| o["Status"] == "Event")
        .map(|o| o["EvidenceType"].as_str().unwrap().to_string())
        .collect();
    std::fs::remove_dir_all(&dir).unwrap();
    types
}

fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<&str> = items.into_iter().collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

#[test]
fn slips_samples_give_the_evidence_slips_expects() {
    let mut table =
        String::from("| sample | expected | found | missing | extra |\n|---|---|---|---|---|\n");
    let mut failures = Vec::new();
    for s in SAMPLES {
        let found = found_types(s);
        let expected: BTreeSet<&str> = s.expected.iter().copied().collect();
        let missing: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|t| !found.contains(*t))
            .collect();
        let extra: Vec<&str> = found
            .iter()
            .map(String::as_str)
            .filter(|t| !expected.contains(t))
            .collect();
        let expected_text = if s.any_of {
            format!("any of: {}", list(expected.iter().copied()))
        } else {
            list(expected.iter().copied())
        };
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            s.name,
            expected_text,
            list(found.iter().map(String::as_str)),
            list(missing.iter().copied()),
            list(extra.iter().copied())
        ));
        let ok = if s.any_of {
            missing.len() < expected.len()
        } else {
            missing.is_empty()
        };
        if s.asserted && !ok {
            failures.push(format!("{}: missing {missing:?}", s.name));
        }
        for t in s.absent {
            if found.contains(*t) {
                failures.push(format!("{}: unexpected {t}", s.name));
            }
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{failures:#?}\n{table}");
}
