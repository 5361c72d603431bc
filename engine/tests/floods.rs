//! Resource floods: a SYN flood from random sources, a fragment flood, TCP segments that
//! never fill their hole, a DNS response bomb. State stays under the configured caps,
//! evictions are counted, and every connection still ends in its conn record.

mod common;

use std::net::Ipv4Addr;

use common::pcap_writer::*;
use dissectors::{Record, Timestamp};
use engine::capture::LinkType;
use engine::decode::{decode, decode_ip, FragmentLimits, FragmentTable, Outcome};
use engine::flow::{ConnTable, Emitted, TrackerConfig, TunnelRole};

const T0: i64 = 1_600_000_000_000_000;
const VICTIM: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 80);

fn decoded(packet: &[u8]) -> engine::decode::Decoded {
    match decode(LinkType::RAW, packet) {
        Ok(Outcome::Packet(d)) => d,
        other => panic!("not a whole packet: {other:?}"),
    }
}

/// A flow table and every record it produced so far.
struct Tracker {
    table: ConnTable,
    out: Vec<Record>,
    emitted: Vec<Emitted>,
}

impl Tracker {
    fn new(config: TrackerConfig) -> Self {
        Tracker {
            table: ConnTable::new(config),
            out: Vec::new(),
            emitted: Vec::new(),
        }
    }

    fn packet(&mut self, ts: i64, packet: &[u8]) {
        let ts = Timestamp(ts);
        self.table
            .process(ts, ts, &decoded(packet), packet, TunnelRole::None);
        self.collect();
    }

    fn collect(&mut self) {
        self.table.take_emitted(&mut self.emitted);
        self.out.extend(self.emitted.drain(..).map(|e| e.record));
    }

    fn finish(&mut self) {
        self.table.flush();
        self.collect();
    }
}

fn conn_records(records: &[Record]) -> usize {
    records
        .iter()
        .filter(|r| matches!(r, Record::Conn(_)))
        .count()
}

#[test]
fn syn_flood_from_random_sources_stays_under_the_connection_cap() {
    const SYNS: u64 = 200_000;
    const CAP: usize = 10_000;
    let config = TrackerConfig {
        max_connections: CAP,
        ..TrackerConfig::default()
    };
    let mut t = Tracker::new(config);
    let mut rng = Rng::new(0x5e4d);
    let mut max_timers = 0;
    for i in 0..SYNS {
        let src = Ipv4Addr::from(rng.next_u64() as u32 | 0x0100_0000);
        let sport = rng.below(64_000) as u16 + 1024;
        let seq = rng.next_u64() as u32;
        let packet = ipv4_tcp(
            src,
            VICTIM,
            sport,
            80,
            Tcp {
                seq,
                ack: 0,
                flags: SYN,
                payload: b"",
            },
        );
        // 50 000 SYNs a second: the 5 s attempt timers never fire during the flood.
        t.packet(T0 + i as i64 * 20, &packet);
        let stats = t.table.stats();
        assert!(
            stats.active <= CAP as u64,
            "{} connections over a cap of {CAP}",
            stats.active
        );
        max_timers = max_timers.max(stats.timers);
    }
    let stats = t.table.stats();
    assert_eq!(stats.connections, SYNS);
    assert!(
        stats.evicted >= SYNS - CAP as u64,
        "evictions not counted: {}",
        stats.evicted
    );
    // Timers of evicted connections are purged, not kept for every SYN ever seen.
    assert!(
        max_timers <= 4 * CAP as u64,
        "{max_timers} timers queued for a cap of {CAP}"
    );
    // Evicted connections were logged when they left, the rest at the end: none is lost.
    assert_eq!(conn_records(&t.out) as u64, stats.evicted);
    t.finish();
    assert_eq!(conn_records(&t.out) as u64, SYNS);
}

#[test]
fn fragment_flood_stays_under_the_pending_and_byte_caps() {
    let limits = FragmentLimits {
        max_pending: 1_000,
        max_bytes: 1 << 20,
        timeout_micros: 60_000_000,
    };
    let mut table = FragmentTable::new(limits);
    let mut rng = Rng::new(0xf7a6);
    let piece = [0x42u8; 64];
    let feed = |table: &mut FragmentTable, ts: i64, p: &[u8]| match decode_ip(p, 0) {
        Ok(Outcome::Fragment(f)) => table.add(Timestamp(ts), p, &f),
        other => panic!("not a fragment: {other:?}"),
    };
    let mut fragments = 0u64;
    for i in 0..100_000u64 {
        let src = Ipv4Addr::from(rng.next_u64() as u32);
        let id = rng.next_u64() as u16;
        let ts = T0 + i as i64 * 10;
        // The first piece of a datagram, then (for one in four) a piece near its end that
        // makes it claim 60 KiB: growth after admission must respect the byte cap too.
        let first = ipv4_fragment(src, VICTIM, 17, id, 0, true, &piece);
        assert!(feed(&mut table, ts, &first).is_none());
        fragments += 1;
        if i % 4 == 0 {
            let far = ipv4_fragment(src, VICTIM, 17, id, 60_000, true, &piece);
            assert!(feed(&mut table, ts, &far).is_none());
            fragments += 1;
        }
        assert!(table.pending() <= limits.max_pending);
        assert!(
            table.buffered_bytes() <= limits.max_bytes,
            "{} bytes buffered over a cap of {}",
            table.buffered_bytes(),
            limits.max_bytes
        );
    }
    let s = table.stats;
    assert_eq!(s.fragments, fragments);
    assert_eq!(s.reassembled, 0);
    assert!(
        s.evicted >= 100_000 - limits.max_pending as u64,
        "evictions: {}",
        s.evicted
    );
}

#[test]
fn duplicate_fragment_flood_completes_once() {
    let mut table = FragmentTable::new(FragmentLimits::default());
    let datagram = udp_segment(Ipv4Addr::new(10, 0, 0, 1), VICTIM, 5000, 53, &[7u8; 120]);
    let head = ipv4_fragment(
        Ipv4Addr::new(10, 0, 0, 1),
        VICTIM,
        17,
        77,
        0,
        true,
        &datagram[..64],
    );
    let tail = ipv4_fragment(
        Ipv4Addr::new(10, 0, 0, 1),
        VICTIM,
        17,
        77,
        64,
        false,
        &datagram[64..],
    );
    let add = |table: &mut FragmentTable, p: &[u8]| match decode_ip(p, 0) {
        Ok(Outcome::Fragment(f)) => table.add(Timestamp(T0), p, &f),
        other => panic!("not a fragment: {other:?}"),
    };
    for _ in 0..50_000 {
        assert!(add(&mut table, &head).is_none());
    }
    let whole = add(&mut table, &tail).expect("the datagram completes");
    let Ok(Outcome::Packet(d)) = whole.outcome else {
        panic!("{:?}", whole.outcome)
    };
    assert_eq!(d.payload(&whole.bytes), &[7u8; 120]);
    assert_eq!(table.pending(), 0);
    assert_eq!(table.buffered_bytes(), 0);
}

#[test]
fn tcp_segments_that_never_fill_the_hole_stay_under_the_reassembly_cap() {
    const CAP: usize = 64 * 1024;
    let config = TrackerConfig {
        max_reassembly_per_direction: CAP,
        ..TrackerConfig::default()
    };
    let mut t = Tracker::new(config);
    let client = Ipv4Addr::new(10, 0, 0, 1);
    let mut now = T0;
    let mut send = |t: &mut Tracker, p: Vec<u8>| {
        now += 100;
        t.packet(now, &p);
    };
    let (ci, si) = (1_000u32, 9_000u32);
    let c = |seq, ack, flags, payload| {
        ipv4_tcp(
            client,
            VICTIM,
            40000,
            80,
            Tcp {
                seq,
                ack,
                flags,
                payload,
            },
        )
    };
    let s = |seq, ack, flags, payload| {
        ipv4_tcp(
            VICTIM,
            client,
            80,
            40000,
            Tcp {
                seq,
                ack,
                flags,
                payload,
            },
        )
    };
    send(&mut t, c(ci, 0, SYN, b""));
    send(&mut t, s(si, ci + 1, SYN | ACK, b""));
    send(&mut t, c(ci + 1, si + 1, ACK, b""));
    send(&mut t, c(ci + 1, si + 1, PSH | ACK, b"GET / HTTP/1.1\r\n"));
    // The next client byte never comes: 20 000 segments of 100 bytes beyond the hole,
    // each also a byte apart, half of them in descending order.
    let start = ci + 1 + 16 + 1;
    let segment = [b'a'; 100];
    let offsets: Vec<u32> = (0..10_000u32).chain((10_000..20_000).rev()).collect();
    for k in offsets {
        let seq = start + k * 101;
        send(&mut t, c(seq, si + 1, ACK, &segment));
        assert!(
            t.table.buffered_bytes() <= CAP,
            "{} bytes buffered over a cap of {CAP}",
            t.table.buffered_bytes()
        );
    }
    assert_eq!(t.table.stats().active, 1);
    // The server finally acknowledges everything: the hole becomes a gap, nothing stays.
    let end = start + 20_000 * 101;
    send(&mut t, s(si + 1, end, ACK, b""));
    assert_eq!(t.table.buffered_bytes(), 0);
    t.finish();
    let conn = t
        .out
        .iter()
        .find_map(|r| match r {
            Record::Conn(c) => Some(c.as_ref()),
            _ => None,
        })
        .expect("the connection is logged");
    assert!(
        conn.missed_bytes > 0,
        "the hole is reported as missed bytes"
    );
    assert!(conn.history.as_deref().unwrap_or("").contains('G') || conn.missed_bytes > 0);
}

/// A DNS response with `answers` answer records, each owner name a compression pointer;
/// `looping` makes the query name a pointer to itself.
fn dns_bomb(answers: u16, looping: bool) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1];
    m.extend_from_slice(&answers.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    if looping {
        // Offset 12 points at offset 12.
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
    } else {
        m.extend_from_slice(b"\x05bombs\x07example\x00\x00\x01\x00\x01");
    }
    for i in 0..answers {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(&[10, 0, (i >> 8) as u8, i as u8]);
    }
    m
}

#[test]
fn dns_response_bomb_is_bounded() {
    let config = TrackerConfig {
        verify_checksums: false,
        ..TrackerConfig::default()
    };
    let resolver = Ipv4Addr::new(10, 0, 0, 53);
    let client = Ipv4Addr::new(10, 0, 0, 1);
    for (answers, looping) in [(4_000u16, false), (4_000, true), (u16::MAX, false)] {
        let mut t = Tracker::new(config.clone());
        let query = ipv4_udp(client, resolver, 33333, 53, &dns_bomb(0, false)[..12]);
        t.packet(T0, &query);
        // Above 65 507 bytes the datagram cannot be sent whole: cut it to what fits.
        let mut payload = dns_bomb(answers, looping);
        payload.truncate(65_507);
        let reply = ipv4_udp(resolver, client, 53, 33333, &payload);
        t.packet(T0 + 1_000, &reply);
        t.finish();
        let out = t.out;
        assert_eq!(conn_records(&out), 1);
        let dns: Vec<_> = out
            .iter()
            .filter_map(|r| match r {
                Record::Dns(d) => Some(d),
                _ => None,
            })
            .collect();
        for d in &dns {
            let n = d.answers.as_ref().map_or(0, Vec::len);
            assert!(n <= usize::from(answers), "{n} answers from {answers}");
            if let Some(q) = &d.query {
                assert!(q.len() <= 255 * 4, "query name of {} bytes", q.len());
            }
        }
        // The records render (the answer list of a bomb included).
        let logs = common::render(&out, dissectors::zeek::LogFormat::Tsv);
        assert!(logs.contains_key("conn"));
    }
}
