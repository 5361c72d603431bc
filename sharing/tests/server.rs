//! The shared alert rule and the feeds against a real `redis-server` (skipped, with a
//! note, where it is not installed).

mod support;

use std::net::IpAddr;
use std::path::PathBuf;

use detectors::alert::{SharedAlertRule, SharedDecision, SharedEvidence};
use detectors::evidence::EventId;
use dissectors::{Timestamp, Uid};
use sharing::link::{Conn, Target};
use sharing::ops::Op;
use support::{RedisCluster, RedisServer};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sharing-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn settings(url: String, buffer: usize) -> detectors::config::Redis {
    detectors::config::Redis {
        url,
        buffer,
        finish_timeout: 60.0,
        ..Default::default()
    }
}

fn evidence(id: u128, threat: f64, counts: bool) -> SharedEvidence {
    SharedEvidence {
        id: EventId(id),
        profile: "10.0.0.9".parse().unwrap(),
        timewindow: 2,
        timestamp: Timestamp(id as i64),
        weighted_threat: threat,
        counts,
        uids: vec![Uid::connection(id * 10)],
    }
}

fn conn(server: &RedisServer) -> Conn {
    Target::parse(&server.url(0), false)
        .unwrap()
        .connect()
        .unwrap()
}

#[test]
fn evidence_from_two_sensors_raises_one_alert() {
    let dir = temp_dir("two");
    let Some(server) = RedisServer::start(&dir.join("redis")) else {
        return;
    };
    let s = settings(server.url(0), 1000);
    let mut one = sharing::connect(&s, None, 3.0, &dir).unwrap().unwrap().rule;
    let mut two = sharing::connect(&s, None, 3.0, &dir).unwrap().unwrap().rule;
    // 0.8 each from three sensors: the 4th reaches 3.2 >= 3. The one about another
    // attacker (counts false) adds nothing and is not carried.
    // One sensor's evidence lands before the other's, so the order is known.
    let mut decided = Vec::new();
    one.add(evidence(1, 0.8, true));
    one.add(evidence(3, 0.0, false));
    one.finish(&mut decided).unwrap();
    two.add(evidence(2, 0.8, true));
    two.add(evidence(4, 0.8, true));
    two.finish(&mut decided).unwrap();
    assert!(decided.is_empty(), "{decided:?}");
    let mut three = sharing::connect(&s, None, 3.0, &dir).unwrap().unwrap().rule;
    three.add(evidence(5, 0.8, true));
    three.finish(&mut decided).unwrap();
    let [d]: [SharedDecision; 1] = decided.try_into().unwrap();
    assert_eq!(d.profile, "10.0.0.9".parse::<IpAddr>().unwrap());
    assert_eq!(d.timewindow, 2);
    assert_eq!(d.last_evidence_ts, Timestamp(5));
    assert!((d.accumulated_threat_level - 3.2).abs() < 1e-9);
    assert_eq!(
        d.evidence_ids,
        [1, 2, 4, 5].map(EventId).to_vec(),
        "ids of both sensors, in arrival order"
    );
    assert_eq!(d.uids, [10, 20, 40, 50].map(Uid::connection).to_vec());
    // The window starts again from 0 on the server.
    let mut c = redis::Client::open(server.url(0))
        .unwrap()
        .get_connection()
        .unwrap();
    let (acc, alerts, n): (i64, i64, i64) = redis::cmd("HMGET")
        .arg("slipstream:{10.0.0.9}:tw:2")
        .arg("accumulated")
        .arg("alerts")
        .arg("evidence")
        .query(&mut c)
        .unwrap();
    assert_eq!((acc, alerts, n), (0, 1, 5));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_replayed_operation_changes_nothing_and_is_answered_again() {
    let dir = temp_dir("replay");
    let Some(server) = RedisServer::start(&dir.join("redis")) else {
        return;
    };
    let mut c = conn(&server);
    let op = |id: &str, threat: i64| Op::Accumulate {
        profile: "2001:db8::7".parse().unwrap(),
        timewindow: 1,
        id: id.into(),
        threat,
        counts: true,
        threshold: 1_000_000,
        ts: 42,
        uids: vec!["C1".into()],
    };
    let run = |c: &mut Conn, op: &Op| -> Vec<String> {
        let v = c.run(op.commands()).unwrap().remove(0);
        redis::from_redis_value(v).unwrap()
    };
    assert_eq!(run(&mut c, &op("a", 600_000)), ["none", "600000"]);
    assert_eq!(run(&mut c, &op("a", 600_000)), ["none", "600000"]);
    let alert = run(&mut c, &op("b", 600_000));
    assert_eq!(alert, ["alert", "1200000 42\na C1\nb C1"]);
    // The answer of a batch cut off after the server ran it comes again on the replay,
    // and the sum is not counted twice.
    assert_eq!(run(&mut c, &op("b", 600_000)), alert);
    assert_eq!(run(&mut c, &op("c", 600_000)), ["none", "600000"]);

    let feed = Op::Feed {
        alert: false,
        id: "e1".into(),
        profile: "2001:db8::7".parse().unwrap(),
        timewindow: 1,
        json: "{}".into(),
    };
    c.run(feed.commands()).unwrap();
    c.run(feed.commands()).unwrap();
    let mut plain = redis::Client::open(server.url(0))
        .unwrap()
        .get_connection()
        .unwrap();
    let len: u64 = redis::cmd("XLEN")
        .arg(sharing::keys::EVIDENCE_STREAM)
        .query(&mut plain)
        .unwrap();
    assert_eq!(len, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sensors_agree_on_the_start_of_the_windows() {
    let dir = temp_dir("origin");
    let Some(server) = RedisServer::start(&dir.join("redis")) else {
        return;
    };
    let target = Target::parse(&server.url(3), false).unwrap();
    let first = sharing::rule::agree_on_origin(&target, Timestamp(500)).unwrap();
    let second = sharing::rule::agree_on_origin(&target, Timestamp(100)).unwrap();
    assert_eq!((first, second), (Timestamp(500), Timestamp(500)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn evidence_waits_while_redis_is_away_and_is_settled_when_it_is_back() {
    let dir = temp_dir("away");
    let Some(mut server) = RedisServer::start(&dir.join("redis")) else {
        return;
    };
    // A memory buffer of 3 operations: the rest goes through the spill file.
    let s = settings(server.url(0), 3);
    let mut rule = sharing::connect(&s, None, 5.0, &dir).unwrap().unwrap().rule;
    server.kill();
    for id in 1..=20 {
        rule.add(evidence(id, 0.5, true));
    }
    let mut decided = Vec::new();
    rule.decided(&mut decided);
    assert!(decided.is_empty());
    server.restart();
    rule.finish(&mut decided).unwrap();
    let report = rule.report().unwrap();
    assert!(report.spilled);
    assert_eq!(report.sent, 20);
    assert_eq!(report.undelivered, 0);
    assert!(!dir.join("redis_spill_rule.jsonl").exists());
    // 0.5 each, threshold 5: alerts at the 10th and the 20th, in order.
    assert_eq!(decided.len(), 2);
    assert_eq!(
        decided[0].evidence_ids,
        (1..=10).map(EventId).collect::<Vec<_>>()
    );
    assert_eq!(
        decided[1].evidence_ids,
        (11..=20).map(EventId).collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_cannot_be_delivered_is_kept_in_the_output_folder() {
    let dir = temp_dir("kept");
    let Some(mut server) = RedisServer::start(&dir.join("redis")) else {
        return;
    };
    let mut s = settings(server.url(0), 2);
    s.finish_timeout = 0.2;
    let mut rule = sharing::connect(&s, None, 5.0, &dir).unwrap().unwrap().rule;
    server.kill();
    for id in 1..=5 {
        rule.add(evidence(id, 0.5, true));
    }
    let err = rule.finish(&mut Vec::new()).unwrap_err().to_string();
    let kept = dir.join("redis_undelivered_rule.jsonl");
    assert!(err.contains("5 operations not delivered"), "{err}");
    assert!(err.contains(&kept.display().to_string()), "{err}");
    let lines: Vec<Op> = std::fs::read_to_string(&kept)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<String> = lines
        .iter()
        .map(|op| match op {
            Op::Accumulate { id, .. } => id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_data_set_is_saved_as_an_rdb_snapshot() {
    let dir = temp_dir("rdb");
    let Some(server) = RedisServer::start(&dir.join("redis")) else {
        return;
    };
    let mut c = conn(&server);
    let mut set = redis::cmd("SET");
    set.arg("slipstream:probe").arg("kept in the snapshot");
    c.run(vec![set]).unwrap();
    let path = dir.join("backup.rdb");
    let bytes = sharing::save_rdb(&server.url(0), &path).unwrap();
    let data = std::fs::read(&path).unwrap();
    assert_eq!(data.len() as u64, bytes);
    assert!(data.starts_with(b"REDIS"), "an RDB file");
    let probe = b"kept in the snapshot";
    assert!(data.windows(probe.len()).any(|w| w == probe));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_redis_cluster_shares_the_rule_as_one_server_does() {
    let dir = temp_dir("cluster");
    let Some(cluster) = RedisCluster::start(&dir) else {
        return;
    };
    let s = settings(cluster.urls(), 1000);
    let mut one = sharing::connect(&s, None, 1.0, &dir).unwrap().unwrap().rule;
    let mut two = sharing::connect(&s, None, 1.0, &dir).unwrap().unwrap().rule;
    // Ten profiles, spread over the nodes' slots; each gets 0.6 from each sensor.
    let profile = |i: u8| -> IpAddr { IpAddr::from([10, 1, 0, i]) };
    let slots: std::collections::BTreeSet<u16> = (1..=10)
        .map(|i| sharing::keys::slot(&sharing::keys::profile(profile(i))) / 5462)
        .collect();
    assert!(slots.len() > 1, "the profiles land on more than one node");
    let mut decided = Vec::new();
    for (rule, base) in [(&mut one, 0u128), (&mut two, 100)] {
        for i in 1..=10u8 {
            rule.add(SharedEvidence {
                profile: profile(i),
                ..evidence(base + u128::from(i), 0.6, true)
            });
        }
    }
    one.finish(&mut decided).unwrap();
    two.finish(&mut decided).unwrap();
    decided.sort_by_key(|d| d.profile);
    let alerted: Vec<IpAddr> = decided.iter().map(|d| d.profile).collect();
    assert_eq!(alerted, (1..=10).map(profile).collect::<Vec<_>>());
    assert!(decided.iter().all(|d| d.evidence_ids.len() == 2));
    let origin = Target::parse(&cluster.urls(), false).unwrap();
    assert!(origin.is_cluster());
    assert_eq!(
        sharing::rule::agree_on_origin(&origin, Timestamp(9)).unwrap(),
        Timestamp(9)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
