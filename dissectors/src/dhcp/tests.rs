//! Tests against the payloads of Zeek's DHCP test traces (see
//! `dissectors/tests/fixtures/dhcp/README.md`) and their baseline dhcp.log files.

use super::*;
use crate::dns::tests::{baseline, drop_ts_uid, load, render, run};

/// Runs the dissector over a fixture and the aggregator over its records.
fn aggregate(fixture: &str) -> (Vec<Record>, Vec<DhcpRecord>) {
    let recs = run(&load(fixture), candidate);
    let mut agg = DhcpAggregator::new();
    let mut rows = Vec::new();
    for r in &recs {
        rows.extend(agg.push(r));
    }
    rows.extend(agg.finish());
    let rows = rows
        .into_iter()
        .map(|r| match r {
            Record::Dhcp(d) => *d,
            other => panic!("aggregator returned {other:?}"),
        })
        .collect();
    (recs, rows)
}

/// Compares rows in order, with uids (column 2) compared as a set of connection
/// indices: the harness numbers connections from 1 in first-seen order.
fn check(fixture: &str, log: &str, uid_sets: &[&[u128]]) {
    let (_, rows) = aggregate(fixture);
    let refs: Vec<&DhcpRecord> = rows.iter().collect();
    let got: Vec<String> = render(&refs).iter().map(|l| drop_ts_uid(l)).collect();
    let want = baseline::<DhcpRecord>(log);
    assert_eq!(got, want);
    let got_uids: Vec<Vec<u128>> = rows
        .iter()
        .map(|r| r.uids.iter().map(|u| u.bits).collect())
        .collect();
    let want_uids: Vec<Vec<u128>> = uid_sets.iter().map(|s| s.to_vec()).collect();
    assert_eq!(got_uids, want_uids);
}

#[test]
fn all_message_types() {
    // Connections in first-seen order: 1 = 0.0.0.0:68 -> broadcast:67 (DISCOVER,
    // REQUEST, DECLINE, RELEASE, INFORM), 2 = OFFER, 3 = NAK broadcast, 4 = ACK.
    check(
        include_str!("../../tests/fixtures/dhcp/dhcp-all-msg-types.txt"),
        include_str!("../../../testdata/zeek/dhcp-all-msg-types/dhcp.log"),
        &[&[1, 2, 3, 4], &[1], &[1]],
    );
}

#[test]
fn inform() {
    check(
        include_str!("../../tests/fixtures/dhcp/dhcp-inform.txt"),
        include_str!("../../../testdata/zeek/dhcp-inform/dhcp.log"),
        &[&[1]],
    );
}

#[test]
fn messages_are_typed_for_detectors() {
    let (recs, _) = aggregate(include_str!(
        "../../tests/fixtures/dhcp/dhcp-all-msg-types.txt"
    ));
    let first = recs
        .iter()
        .find_map(|r| match r {
            Record::DhcpMessage(m) => Some(m),
            _ => None,
        })
        .unwrap();
    assert_eq!(first.msg.m_type, 1);
    assert_eq!(first.msg.chaddr, "90:b1:1c:99:49:29");
    assert_eq!(first.msg.host_name.as_deref(), Some("btest.is.cool"));
    // Intermediate records are not written to any log.
    let mut logs = crate::zeek::LogSet::new(
        crate::zeek::LogFormat::Tsv,
        Box::new(|_| panic!("no log may be opened")),
    );
    Record::DhcpMessage(first.clone())
        .write_to(&mut logs)
        .unwrap();
}

fn message(ts: i64, uid: u128, xid: u32, m_type: u8) -> Record {
    let id = ConnId {
        orig_h: "0.0.0.0".parse().unwrap(),
        orig_p: 68,
        resp_h: "255.255.255.255".parse().unwrap(),
        resp_p: 67,
        proto: Transport::Udp,
    };
    Record::from(DhcpMessageRecord {
        ts: Timestamp(ts),
        uid: Uid::connection(uid),
        id,
        is_orig: true,
        msg: Message {
            op: 1,
            m_type,
            xid,
            chaddr: "00:11:22:33:44:55".into(),
            ..Default::default()
        },
    })
}

const S: i64 = 1_000_000;

#[test]
fn expiry_follows_zeek_timing() {
    let mut agg = DhcpAggregator::new();
    assert!(agg.push(&message(0, 1, 7, 1)).is_empty());
    assert!(agg.push(&message(3 * S, 1, 7, 3)).is_empty());
    // First look at 10 s: the last message is 7 s old, so the transaction is written,
    // with mac taken from the client's chaddr.
    let out = agg.push(&message(11 * S, 2, 8, 1));
    assert_eq!(out.len(), 1);
    let Record::Dhcp(r) = &out[0] else { panic!() };
    assert_eq!(r.msg_types, [1, 3]);
    assert_eq!(r.duration, Interval(3 * S));
    assert_eq!(r.mac.as_deref(), Some("00:11:22:33:44:55"));
    // xid 8 keeps getting messages at most 5 s apart: examined at 24 s, 33 s, 38 s (all
    // recent), then at 46 s it is older than 30 s and is written.
    let mut written = Vec::new();
    for t in [14, 18, 20, 24, 28, 33, 38, 42, 46] {
        written.extend(agg.push(&message(t * S, 2, 8, 3)));
    }
    assert_eq!(written.len(), 1);
    let Record::Dhcp(r) = &written[0] else {
        panic!()
    };
    assert_eq!(r.ts, Timestamp(11 * S));
    assert_eq!(r.msg_types.len(), 9);
    assert_eq!(agg.finish().len(), 1); // the message at 46 s opened a new transaction
}

#[test]
fn too_many_connections_writes_at_once() {
    let mut agg = DhcpAggregator::new();
    let mut out = Vec::new();
    for uid in 1..=10u128 {
        out.extend(agg.push(&message(uid as i64, uid, 9, 1)));
    }
    assert_eq!(out.len(), 1);
    let Record::Dhcp(r) = &out[0] else { panic!() };
    assert_eq!(r.uids.len(), 10);
    assert!(agg.finish().is_empty());
}

#[test]
fn garbage_never_panics() {
    let id = ConnId {
        orig_h: "10.0.0.1".parse().unwrap(),
        orig_p: 68,
        resp_h: "10.0.0.2".parse().unwrap(),
        resp_p: 67,
        proto: Transport::Udp,
    };
    let real: Vec<Vec<u8>> = load(include_str!(
        "../../tests/fixtures/dhcp/dhcp-all-msg-types.txt"
    ))
    .into_iter()
    .map(|p| p.data)
    .collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut agg = DhcpAggregator::new();
    for round in 0..3000usize {
        let base = &real[round % real.len()];
        let cut = (next() as usize) % (base.len() + 1);
        let mut m = base[..cut].to_vec();
        for _ in 0..(next() % 6) {
            if !m.is_empty() {
                let i = 240 + (next() as usize) % m.len().saturating_sub(240).max(1);
                if let Some(b) = m.get_mut(i) {
                    *b = next() as u8;
                }
            }
        }
        if round % 7 == 0 {
            m = (0..(next() % 400)).map(|_| next() as u8).collect();
        }
        let mut out = Vec::new();
        let mut cx = Context::new(Uid::connection(1), &id, Timestamp(round as i64), &mut out);
        DhcpDissector.deliver(&mut cx, round % 2 == 0, &m);
        for r in &out {
            agg.push(r);
        }
    }
    let rows = agg.finish();
    let refs: Vec<&DhcpRecord> = rows
        .iter()
        .filter_map(|r| match r {
            Record::Dhcp(d) => Some(d.as_ref()),
            _ => None,
        })
        .collect();
    let _ = render(&refs);
}
