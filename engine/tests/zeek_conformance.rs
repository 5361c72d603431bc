//! conn.log conformance: our conn.log for each of Zeek's own test traces against the
//! conn.log Zeek wrote (see testdata/zeek/MANIFEST.md for where each pair comes from).

mod common;

use common::{compare_mapped, parse_tsv, render, run, run_with, testdata, UidMap};
use dissectors::zeek::LogFormat;

/// Logs we do not reproduce exactly yet, with the field agreement (%) reached so far;
/// it may only go up. Every other (trace, log) pair must agree exactly.
const KNOWN_GAPS: &[(&str, &str, f64)] = &[];

const LOGS: &[&str] = &["conn", "dns", "http", "ssl", "ssh", "dhcp"];

/// Traces Zeek ran with `-C` (checksums ignored), from the MANIFEST's command column.
fn ignores_checksums(name: &str) -> bool {
    let manifest = std::fs::read_to_string(testdata().join("zeek/MANIFEST.md")).unwrap_or_default();
    manifest
        .lines()
        .filter(|l| l.starts_with(&format!("| {name} |")))
        .any(|l| l.contains(" -C "))
}

#[test]
fn logs_agree_with_zeek() {
    let root = testdata().join("zeek");
    let mut failures = Vec::new();
    let mut pairs: Vec<_> = std::fs::read_dir(&root)
        .expect("testdata/zeek")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("trace.pcap").exists())
        .collect();
    pairs.sort();
    let mut checked = 0;
    for dir in pairs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let verify = !ignores_checksums(&name);
        let records = run_with(&dir.join("trace.pcap"), 1, true, verify);
        let logs = render(&records, LogFormat::Tsv);
        // conn.log first: its rows define the uid renaming every other log must follow.
        let mut uids = UidMap::default();
        for log in LOGS {
            let expected_path = dir.join(format!("{log}.log"));
            if !expected_path.exists() {
                continue;
            }
            let expected =
                parse_tsv(&std::fs::read_to_string(&expected_path).expect("read baseline"));
            let actual = parse_tsv(logs.get(*log).map(String::as_str).unwrap_or(""));
            let without_service = compare_mapped(&expected, &actual, &["service"], &mut uids);
            let with_service = compare_mapped(&expected, &actual, &[], &mut UidMap::default());
            println!(
                "{:40} rows {}/{} matched {} exact {} | agreement {:.2}% (conn.log service included: {:.2}%) | uids map to the same connections across the trace's logs: {}",
                format!("{name}/{log}.log"),
                without_service.actual,
                without_service.expected,
                without_service.matched,
                without_service.exact,
                without_service.percent(),
                with_service.percent(),
                without_service.uid_bijection_ok
            );
            for (f, (eq, tot)) in &without_service.disagreements {
                println!("    {f}: {eq}/{tot}");
            }
            for (f, e, g) in without_service.examples.iter().take(5) {
                println!("    e.g. {f}: zeek {e:?} ours {g:?}");
            }
            checked += 1;
            match KNOWN_GAPS.iter().find(|(n, l, _)| *n == name && l == log) {
                Some((_, _, floor)) => {
                    if without_service.percent() + 1e-9 < *floor {
                        failures.push(format!(
                            "{name}/{log}.log: agreement {:.2}% fell below {floor}%",
                            without_service.percent()
                        ));
                    }
                }
                None => {
                    if !without_service.is_exact() {
                        failures.push(format!("{name}/{log}.log differs from Zeek's"));
                    }
                }
            }
        }
    }
    assert!(
        checked >= 25,
        "expected the conformance traces in testdata/zeek"
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn output_is_identical_for_any_worker_count() {
    let root = testdata().join("zeek");
    for name in [
        "wikipedia-default",
        "ssh-basic-default",
        "pop3-rej-sf",
        "dhcp-all-msg-types",
    ] {
        let pcap = root.join(name).join("trace.pcap");
        let one = render(&run(&pcap, 1, true), LogFormat::Tsv);
        for workers in [2, 3, 8] {
            let many = render(&run(&pcap, workers, true), LogFormat::Tsv);
            for (log, text) in &one {
                let strip = |t: &str| {
                    t.lines()
                        .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                assert_eq!(
                    strip(text),
                    strip(many.get(log).expect("same logs")),
                    "{name}: {log}.log differs with {workers} workers"
                );
            }
        }
    }
}
