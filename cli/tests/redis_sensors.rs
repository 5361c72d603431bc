//! Sensors sharing one real `redis-server` (`--redis`): two sensors on two halves of a
//! capture's flows raise the alerts one sensor raises on all of them, once; a Redis
//! killed and restarted in the middle of a run loses no evidence. Skipped, with a note,
//! where `redis-server` is not installed (CI installs it).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "../../sharing/tests/support/mod.rs"]
mod support;

use support::RedisServer;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const EVIDENCE_STREAM: &str = "slipstream:{feed}:evidence";
const ALERT_STREAM: &str = "slipstream:{feed}:alerts";

fn temp_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("redis-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The flows of the sample capture as a Zeek JSON conn.log, and a configuration whose
/// threshold (30) neither half of them reaches alone but both together do.
fn flows_and_config(dir: &Path) -> (Vec<String>, PathBuf) {
    let out = dir.join("zeek");
    let status = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .current_dir(ROOT)
        .args([
            "-f",
            "testdata/slips/test7-malicious.pcap",
            "--log-format",
            "json",
        ])
        .args(["--conn-only", "-v", "0", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let flows: Vec<String> = std::fs::read_to_string(out.join("conn.log"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(flows.len() > 600);
    let config = dir.join("slipstream.yaml");
    std::fs::write(
        &config,
        "detection:\n  evidence_detection_threshold: 0.5\n\
         whitelists:\n  enable_local_whitelist: false\n\
         redis:\n  finish_timeout: 60\n",
    )
    .unwrap();
    (flows, config)
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

fn sensor(input: &Path, config: &Path, out: &Path, redis: Option<&str>) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_slipstream"));
    c.arg("-f")
        .arg(input)
        .arg("-c")
        .arg(config)
        .arg("-o")
        .arg(out);
    c.args(["-v", "0"]);
    if let Some(url) = redis {
        c.args(["--redis", url]);
    }
    c.stdin(Stdio::null()).spawn().unwrap()
}

fn run_sensor(input: &Path, config: &Path, out: &Path, redis: Option<&str>) {
    let status = sensor(input, config, out, redis).wait().unwrap();
    assert!(status.success(), "sensor on {} failed", input.display());
}

/// Objects of alerts.json of one status (`Event`: evidence, `Incident`: alerts).
fn alerts_json(out: &Path, status: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("alerts.json"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["Status"] == status)
        .collect()
}

/// (profile, time window) of every alert in alerts.json.
fn alerted(out: &Path) -> Vec<(String, i64)> {
    alerts_json(out, "Incident")
        .iter()
        .map(|v| {
            let note: serde_json::Value =
                serde_json::from_str(v["Note"].as_str().unwrap()).unwrap();
            (
                v["Source"][0]["IP"].as_str().unwrap().to_string(),
                note["timewindow"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn stream_ids(c: &mut redis::Connection, stream: &str) -> Vec<String> {
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query(c)
        .unwrap();
    reply
        .ids
        .iter()
        .map(|e| e.get::<String>("id").unwrap())
        .collect()
}

#[test]
fn two_sensors_on_two_halves_alert_as_one_sensor_on_all() {
    let dir = temp_dir("halves");
    let Some(server) = RedisServer::start(&dir.join("redis")) else {
        return;
    };
    let (flows, config) = flows_and_config(&dir);
    let whole = dir.join("whole.log");
    write_lines(&whole, &flows);
    // Every other flow: each sensor sees a part of what every attacker does.
    let (a, b): (Vec<_>, Vec<_>) = flows
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let half_a = dir.join("a.log");
    let half_b = dir.join("b.log");
    write_lines(&half_a, &a.into_iter().map(|(_, l)| l).collect::<Vec<_>>());
    write_lines(&half_b, &b.into_iter().map(|(_, l)| l).collect::<Vec<_>>());

    // One sensor on everything, sharing through database 1.
    let one = dir.join("one");
    run_sensor(&whole, &config, &one, Some(&server.url(1)));
    let expected: BTreeSet<_> = alerted(&one).into_iter().collect();
    assert!(!expected.is_empty(), "the whole capture raises alerts");

    // Alone, neither half raises them: the threshold needs both halves' evidence.
    for (half, name) in [(&half_a, "alone_a"), (&half_b, "alone_b")] {
        let out = dir.join(name);
        run_sensor(half, &config, &out, None);
        let alone: BTreeSet<_> = alerted(&out).into_iter().collect();
        assert!(
            !expected.is_subset(&alone),
            "{name} alone already raises {alone:?}"
        );
    }

    // Two sensors at once through database 2. The first fixes the start of the time
    // windows (its first flow is the capture's first); the second starts once it has.
    let mut db2 = server.connection(2).unwrap();
    let out_a = dir.join("sensor_a");
    let out_b = dir.join("sensor_b");
    let mut sensor_a = sensor(&half_a, &config, &out_a, Some(&server.url(2)));
    while !redis::cmd("EXISTS")
        .arg("slipstream:timewindow_origin")
        .query::<bool>(&mut db2)
        .unwrap()
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut sensor_b = sensor(&half_b, &config, &out_b, Some(&server.url(2)));
    assert!(sensor_a.wait().unwrap().success());
    assert!(sensor_b.wait().unwrap().success());

    let from_a = alerted(&out_a);
    let from_b = alerted(&out_b);
    let mut together: Vec<_> = from_a.iter().chain(&from_b).cloned().collect();
    let shared: BTreeSet<_> = together.iter().cloned().collect();
    assert_eq!(shared, expected, "a: {from_a:?}, b: {from_b:?}");
    // Each alert is raised once, by one sensor, and published once.
    together.sort();
    let one_count = alerted(&one).len();
    assert_eq!(together.len(), one_count, "{together:?}");
    assert_eq!(stream_ids(&mut db2, ALERT_STREAM).len(), one_count);
    // The alert carries the evidence of both sensors.
    let alert = alerts_json(&out_a, "Incident")
        .into_iter()
        .chain(alerts_json(&out_b, "Incident"))
        .next()
        .unwrap();
    let carried: BTreeSet<String> = alert["CorrelID"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let ids = |out: &Path| -> BTreeSet<String> {
        alerts_json(out, "Event")
            .iter()
            .map(|v| v["ID"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!carried.is_disjoint(&ids(&out_a)) && !carried.is_disjoint(&ids(&out_b)));
    // Every evidence of both sensors is on the stream, once.
    let published: Vec<String> = stream_ids(&mut db2, EVIDENCE_STREAM);
    let all: BTreeSet<String> = ids(&out_a).union(&ids(&out_b)).cloned().collect();
    assert_eq!(published.len(), all.len());
    assert_eq!(published.into_iter().collect::<BTreeSet<_>>(), all);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_killed_and_restarted_mid_run_loses_no_evidence() {
    let dir = temp_dir("restart");
    let Some(mut server) = RedisServer::start(&dir.join("redis")) else {
        return;
    };
    let (flows, config) = flows_and_config(&dir);
    let out = dir.join("sensor");
    // Flows come on standard input (`-f zeek`), so the test decides when they arrive.
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .args(["-f", "zeek", "-v", "0", "-c"])
        .arg(&config)
        .arg("-o")
        .arg(&out)
        .args(["--redis", &server.url(0)])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let third = flows.len() / 3;
    let mut feed = |lines: &[String]| {
        for l in lines {
            writeln!(stdin, "{l}").unwrap();
        }
        stdin.flush().unwrap();
    };
    feed(&flows[..third]);
    // Redis goes away once the first evidence reached it...
    let mut db = server.connection(0).unwrap();
    while stream_ids(&mut db, EVIDENCE_STREAM).is_empty() {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    // ...the sensor goes on meanwhile...
    feed(&flows[third..2 * third]);
    std::thread::sleep(Duration::from_millis(500));
    // ...and Redis comes back before the end.
    server.restart();
    feed(&flows[2 * third..]);
    drop(stdin);
    let end = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&end.stderr);
    assert!(end.status.success(), "{stderr}");
    // The sensor did lose Redis, and replayed.
    assert!(stderr.contains("the connection was lost"), "{stderr}");

    let mut db = server.connection(0).unwrap();
    let local: Vec<String> = alerts_json(&out, "Event")
        .iter()
        .map(|v| v["ID"].as_str().unwrap().to_string())
        .collect();
    let published = stream_ids(&mut db, EVIDENCE_STREAM);
    assert!(local.len() > 600, "{} evidence", local.len());
    assert_eq!(published.len(), local.len(), "every evidence once");
    assert_eq!(
        published.iter().collect::<BTreeSet<_>>(),
        local.iter().collect::<BTreeSet<_>>()
    );
    // The alert rule settled everything on the server: the same alerts as a run that
    // Redis never left (database 1).
    let calm = dir.join("calm");
    let input = dir.join("flows.log");
    write_lines(&input, &flows);
    run_sensor(&input, &config, &calm, Some(&server.url(1)));
    assert_eq!(alerted(&out), alerted(&calm));
    assert!(!alerted(&calm).is_empty());
    assert_eq!(
        stream_ids(&mut db, ALERT_STREAM).len(),
        alerts_json(&out, "Incident").len()
    );
    // Nothing was left behind in the output folder.
    for name in [
        "redis_undelivered_feed.jsonl",
        "redis_undelivered_rule.jsonl",
    ] {
        assert!(!out.join(name).exists(), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
