//! Several interfaces captured at once: each connection is tagged with the interface its
//! first packet came from (a live capture sets it per packet; a file has none).

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use common::pcap_writer::*;
use dissectors::{Record, Timestamp};
use engine::capture::LinkType;
use engine::decode::{decode, Outcome};
use engine::flow::{ConnTable, TrackerConfig, TunnelRole};

fn feed(table: &mut ConnTable, interface: Option<u16>, ts: i64, packet: &[u8]) {
    let d = match decode(LinkType::RAW, packet) {
        Ok(Outcome::Packet(d)) => d,
        other => panic!("{other:?}"),
    };
    table.set_interface(interface);
    let ts = Timestamp(ts);
    table.process(ts, ts, &d, packet, TunnelRole::None);
}

#[test]
fn each_connection_carries_the_interface_it_was_first_seen_on() {
    let config = TrackerConfig {
        interfaces: vec![Arc::from("eth0"), Arc::from("eth1")],
        ..TrackerConfig::default()
    };
    let mut table = ConnTable::new(config);
    let a = Ipv4Addr::new(10, 0, 0, 1);
    let b = Ipv4Addr::new(10, 0, 0, 2);
    let t0 = 1_600_000_000_000_000;
    feed(&mut table, Some(0), t0, &ipv4_udp(a, b, 1000, 53, b"q1"));
    feed(
        &mut table,
        Some(1),
        t0 + 1,
        &ipv4_udp(a, b, 2000, 53, b"q2"),
    );
    // The reply of the first connection, seen on the other interface, does not move it.
    feed(
        &mut table,
        Some(1),
        t0 + 2,
        &ipv4_udp(b, a, 53, 1000, b"r1"),
    );
    feed(&mut table, None, t0 + 3, &ipv4_udp(a, b, 3000, 53, b"q3"));
    table.flush();
    let mut emitted = Vec::new();
    table.take_emitted(&mut emitted);
    let mut tags: Vec<(u16, Option<String>)> = emitted
        .into_iter()
        .filter_map(|e| match e.record {
            Record::Conn(c) => Some((c.id.orig_p, c.interface.map(|i| i.to_string()))),
            _ => None,
        })
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            (1000, Some("eth0".to_string())),
            (2000, Some("eth1".to_string())),
            (3000, None)
        ]
    );
}
