//! Corrupt capture files: truncated at every byte, bit-flipped, with impossible lengths,
//! cut by a snaplen, with unknown pcapng blocks, empty, or not a capture at all. Every
//! run ends with records or a clear error naming the file and the place, never a panic,
//! and what was read before the damage is all there.

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use common::pcap_writer::*;
use dissectors::{ConnRecord, Record};
use engine::capture::{CaptureErrorKind, Packets};
use engine::pipeline::{run_file, PipelineConfig, RunStats};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);

fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-{name}"))
}

fn dns_message(id: u16, response: bool) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(if response {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    m.extend_from_slice(&[0, 1, 0, u8::from(response), 0, 0, 0, 0]);
    m.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
    if response {
        m.extend_from_slice(&[
            0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34,
        ]);
    }
    m
}

/// A small capture: an HTTP exchange over a full TCP session, a DNS query and reply, an
/// unanswered SYN and a one-way UDP flow.
fn sample_frames() -> Vec<Frame> {
    let request = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let c = |seq, ack, flags, payload: &'static [u8]| {
        ipv4_tcp(
            CLIENT,
            SERVER,
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
    let s = |seq, ack, flags, payload: &'static [u8]| {
        ipv4_tcp(
            SERVER,
            CLIENT,
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
    let (ci, si) = (1000u32, 5000u32);
    let rq = request.len() as u32;
    let rp = reply.len() as u32;
    let packets = vec![
        ipv4_udp(CLIENT, RESOLVER, 33333, 53, &dns_message(0x1234, false)),
        ipv4_udp(RESOLVER, CLIENT, 53, 33333, &dns_message(0x1234, true)),
        c(ci, 0, SYN, b""),
        s(si, ci + 1, SYN | ACK, b""),
        c(ci + 1, si + 1, ACK, b""),
        c(ci + 1, si + 1, PSH | ACK, request),
        s(si + 1, ci + 1 + rq, ACK, b""),
        s(si + 1, ci + 1 + rq, PSH | ACK, reply),
        c(ci + 1 + rq, si + 1 + rp, ACK, b""),
        ipv4_tcp(
            CLIENT,
            Ipv4Addr::new(10, 0, 0, 3),
            40001,
            22,
            Tcp {
                seq: 7,
                ack: 0,
                flags: SYN,
                payload: b"",
            },
        ),
        ipv4_udp(CLIENT, Ipv4Addr::new(10, 0, 0, 4), 40002, 9999, b"one way"),
        c(ci + 1 + rq, si + 1 + rp, FIN | ACK, b""),
        s(si + 1 + rp, ci + 2 + rq, FIN | ACK, b""),
        c(ci + 2 + rq, si + 2 + rp, ACK, b""),
    ];
    packets
        .into_iter()
        .enumerate()
        .map(|(i, p)| Frame::new(1_600_000_000_000_000 + i as i64 * 10_000, ethernet(&p)))
        .collect()
}

fn run_bytes(name: &str, bytes: &[u8]) -> (PathBuf, Result<(Vec<Record>, RunStats), String>) {
    let path = scratch(name);
    std::fs::write(&path, bytes).expect("write scratch capture");
    let mut records = Vec::new();
    let result = run_file(&path, &PipelineConfig::default(), &mut |r| records.push(r));
    (
        path,
        result
            .map(|stats| (records, stats))
            .map_err(|e| e.to_string()),
    )
}

fn conns(records: &[Record]) -> Vec<&ConnRecord> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Conn(c) => Some(c.as_ref()),
            _ => None,
        })
        .collect()
}

/// The endpoints of a connection whichever side turned out to be the originator.
fn endpoints(c: &ConnRecord) -> ((IpAddr, u16), (IpAddr, u16)) {
    let a = (c.id.orig_h, c.id.orig_p);
    let b = (c.id.resp_h, c.id.resp_p);
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Every connection of a run over a prefix of the capture is in the full run (same start
/// and endpoints) with at least as many packets and bytes on each side.
fn assert_prefix_consistent(prefix: &[Record], full: &[Record], what: &str) {
    let full_by_key: HashMap<_, _> = conns(full)
        .into_iter()
        .map(|c| ((c.ts, endpoints(c), c.id.proto), c))
        .collect();
    for p in conns(prefix) {
        let f = full_by_key
            .get(&(p.ts, endpoints(p), p.id.proto))
            .unwrap_or_else(|| panic!("{what}: connection {:?} is not in the full run", p.id));
        let (fo, fr) = if (f.id.orig_h, f.id.orig_p) == (p.id.orig_h, p.id.orig_p) {
            (
                (f.orig_pkts, f.orig_ip_bytes),
                (f.resp_pkts, f.resp_ip_bytes),
            )
        } else {
            (
                (f.resp_pkts, f.resp_ip_bytes),
                (f.orig_pkts, f.orig_ip_bytes),
            )
        };
        assert!(
            p.orig_pkts <= fo.0 && p.orig_ip_bytes <= fo.1,
            "{what}: {:?} has more originator traffic than the full run",
            p.id
        );
        assert!(
            p.resp_pkts <= fr.0 && p.resp_ip_bytes <= fr.1,
            "{what}: {:?} has more responder traffic than the full run",
            p.id
        );
    }
}

fn packets_in(records: &[Record]) -> u64 {
    conns(records)
        .iter()
        .map(|c| c.orig_pkts + c.resp_pkts)
        .sum()
}

/// Truncates `bytes` at every offset and checks each run against the full one.
fn truncate_everywhere(name: &str, bytes: &[u8], record_ends: &[usize]) {
    let (_, full) = run_bytes(name, bytes);
    let (full, full_stats) = full.expect("the intact capture reads");
    assert!(full_stats.capture_error.is_none());
    for cut in 0..bytes.len() {
        let what = format!("{name} cut at {cut}");
        let (path, result) = run_bytes(name, &bytes[..cut]);
        let shown = path.display().to_string();
        let (records, stats) = match result {
            Ok(r) => r,
            Err(e) => {
                assert!(cut < 24, "{what}: only a cut header may fail the file: {e}");
                assert!(
                    e.contains(&shown),
                    "{what}: error does not name the file: {e}"
                );
                assert!(
                    e.contains("byte offset"),
                    "{what}: error does not say where: {e}"
                );
                continue;
            }
        };
        let complete = record_ends.iter().filter(|&&end| end <= cut).count() as u64;
        assert_eq!(
            stats.packets, complete,
            "{what}: packets before the cut were lost"
        );
        let at_boundary = cut == 24 || record_ends.contains(&cut);
        match &stats.capture_error {
            None => assert!(at_boundary, "{what}: a cut inside a packet went unreported"),
            Some(e) => {
                assert!(
                    !at_boundary,
                    "{what}: a clean end was reported as damage: {e}"
                );
                assert_eq!(e.packet, Some(complete + 1), "{what}: wrong packet named");
                let msg = e.to_string();
                assert!(
                    msg.contains(&shown) && msg.contains("byte offset"),
                    "{what}: {msg}"
                );
            }
        }
        assert_eq!(
            conns(&records).len() as u64,
            stats.table.connections,
            "{what}"
        );
        assert_prefix_consistent(&records, &full, &what);
    }
}

fn record_ends(starts: &[usize], frames: &[Frame]) -> Vec<usize> {
    starts
        .iter()
        .zip(frames)
        .map(|(s, f)| s + 16 + f.data.len())
        .collect()
}

#[test]
fn synthetic_pcap_truncated_at_every_byte() {
    let frames = sample_frames();
    let (bytes, starts) = pcap(ETHERNET, &frames);
    truncate_everywhere("synthetic-cut.pcap", &bytes, &record_ends(&starts, &frames));
}

#[test]
fn slips_pcap_truncated_at_every_byte() {
    let path = common::testdata().join("slips/test12-icmp-portscan.pcap");
    let bytes = std::fs::read(&path).expect("test capture");
    let mut ends = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
        at += 16 + incl as usize;
        ends.push(at);
    }
    assert_eq!(
        ends.last(),
        Some(&bytes.len()),
        "the test capture is little-endian pcap"
    );
    truncate_everywhere("slips-cut.pcap", &bytes, &ends);
}

#[test]
fn random_bit_flips_never_panic() {
    let frames = sample_frames();
    let (clean, _) = pcap(ETHERNET, &frames);
    let mut rng = Rng::new(0x5eed_f11b);
    for round in 0..400 {
        let mut bytes = clean.clone();
        for _ in 0..=rng.below(8) {
            let bit = rng.below(bytes.len() as u64 * 8);
            bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
        }
        let what = format!("bit flip round {round}");
        let (path, result) = run_bytes("bitflip.pcap", &bytes);
        match result {
            Ok((records, stats)) => {
                assert_eq!(
                    conns(&records).len() as u64,
                    stats.table.connections,
                    "{what}"
                );
                assert!(packets_in(&records) <= stats.packets * 2, "{what}");
                if let Some(e) = stats.capture_error {
                    assert!(
                        e.to_string().contains(&path.display().to_string()),
                        "{what}"
                    );
                }
            }
            Err(e) => assert!(e.contains(&path.display().to_string()), "{what}: {e}"),
        }
    }
}

#[test]
fn impossible_record_lengths_end_the_file_after_what_came_before() {
    let frames = sample_frames();
    let (clean, starts) = pcap(ETHERNET, &frames);
    let victim = 5;
    for incl in [u32::MAX, 0x0004_0001, clean.len() as u32] {
        let mut bytes = clean.clone();
        let at = starts[victim] + 8;
        bytes[at..at + 4].copy_from_slice(&incl.to_le_bytes());
        let (_, result) = run_bytes("length.pcap", &bytes);
        let (records, stats) = result.expect("the header is intact");
        assert_eq!(stats.packets, victim as u64, "incl_len {incl}");
        let e = stats.capture_error.expect("the damage is reported");
        assert_eq!(e.packet, Some(victim as u64 + 1));
        assert_eq!(e.offset, starts[victim] as u64);
        assert!(matches!(
            e.kind,
            CaptureErrorKind::BadLength(_) | CaptureErrorKind::TruncatedPacket { .. }
        ));
        assert_eq!(packets_in(&records), victim as u64);
    }
}

#[test]
fn wire_length_shorter_than_capture_and_empty_records_are_read() {
    let mut frames = sample_frames();
    frames[3].wire_len = 1;
    frames.insert(4, Frame::new(frames[3].ts_micros, Vec::new()));
    let (bytes, _) = pcap(ETHERNET, &frames);
    let (_, result) = run_bytes("odd-lengths.pcap", &bytes);
    let (_, stats) = result.expect("reads");
    assert!(stats.capture_error.is_none());
    assert_eq!(stats.packets, frames.len() as u64);
    assert_eq!(stats.decode_error_total(), 1, "{:?}", stats.decode_errors);
}

#[test]
fn snaplen_cuts_keep_every_packet() {
    let frames = sample_frames();
    let (_, full) = run_bytes("snap-full.pcap", &pcap(ETHERNET, &frames).0);
    let (full, _) = full.expect("reads");
    for snaplen in [14usize, 20, 34, 40, 54, 60, 64, 96] {
        let cut: Vec<Frame> = frames
            .iter()
            .map(|f| Frame {
                ts_micros: f.ts_micros,
                data: f.data[..f.data.len().min(snaplen)].to_vec(),
                wire_len: f.wire_len,
            })
            .collect();
        let (_, result) = run_bytes("snap.pcap", &pcap(ETHERNET, &cut).0);
        let (records, stats) = result.expect("reads");
        assert!(stats.capture_error.is_none(), "snaplen {snaplen}");
        assert_eq!(stats.packets, frames.len() as u64, "snaplen {snaplen}");
        let counted = packets_in(&records) + stats.decode_error_total() + stats.non_ip;
        assert_eq!(
            counted,
            frames.len() as u64,
            "snaplen {snaplen}: a packet vanished"
        );
        if snaplen >= 54 {
            // Every TCP/IP header is whole: the same connections as without the cut.
            assert_eq!(
                conns(&records).len(),
                conns(&full).len(),
                "snaplen {snaplen}"
            );
        }
    }
}

/// The sample as pcapng, with blocks a reader must skip between the packets.
fn sample_pcapng(frames: &[Frame], extra_blocks: bool) -> Vec<u8> {
    let mut out = ng_section_header();
    if extra_blocks {
        out.extend(ng_block(0xdead_beef, b"an unknown block type"));
    }
    out.extend(ng_interface(1, None));
    for (i, f) in frames.iter().enumerate() {
        if extra_blocks {
            match i % 3 {
                0 => out.extend(ng_block(
                    4,
                    &[1, 0, 4, 0, 10, 0, 0, 1, b'h', 0, 0, 0, 0, 0, 0, 0],
                )),
                1 => out.extend(ng_block(5, &[0; 12])),
                _ => out.extend(ng_block(0x0000_0bad, &[0x12, 0x34, 0x56, 0x78, 0xff])),
            }
        }
        out.extend(ng_packet(0, f));
    }
    out
}

#[test]
fn pcapng_with_unknown_blocks_reads_like_pcap() {
    let frames = sample_frames();
    let (_, classic) = run_bytes("ng-classic.pcap", &pcap(ETHERNET, &frames).0);
    let (classic, _) = classic.expect("reads");
    let (_, ng) = run_bytes("ng.pcapng", &sample_pcapng(&frames, true));
    let (ng, stats) = ng.expect("reads");
    assert!(stats.capture_error.is_none());
    assert_eq!(stats.packets, frames.len() as u64);
    assert_eq!(ng, classic, "pcapng and pcap of the same packets differ");
}

#[test]
fn pcapng_truncated_at_every_byte() {
    let frames = sample_frames();
    let bytes = sample_pcapng(&frames, true);
    let (_, full) = run_bytes("ng-cut.pcapng", &bytes);
    let (full, _) = full.expect("reads");
    for cut in 0..bytes.len() {
        let what = format!("pcapng cut at {cut}");
        let (path, result) = run_bytes("ng-cut.pcapng", &bytes[..cut]);
        match result {
            Ok((records, stats)) => {
                if let Some(e) = &stats.capture_error {
                    let msg = e.to_string();
                    assert!(msg.contains(&path.display().to_string()), "{what}: {msg}");
                }
                assert_prefix_consistent(&records, &full, &what);
            }
            Err(e) => assert!(cut < 12, "{what}: {e}"),
        }
    }
}

#[test]
fn pcapng_packet_on_undeclared_interface_keeps_earlier_packets() {
    let frames = sample_frames();
    let mut bytes = ng_section_header();
    bytes.extend(ng_interface(1, None));
    bytes.extend(ng_packet(0, &frames[0]));
    bytes.extend(ng_packet(0, &frames[1]));
    bytes.extend(ng_packet(7, &frames[2]));
    let (_, result) = run_bytes("ng-iface.pcapng", &bytes);
    let (records, stats) = result.expect("reads");
    assert_eq!(stats.packets, 2);
    assert_eq!(packets_in(&records), 2);
    let e = stats.capture_error.expect("reported");
    assert_eq!(e.kind, CaptureErrorKind::UnknownInterface(7));
    assert_eq!(e.packet, Some(3));
}

#[test]
fn pcapng_timestamps_beyond_the_representable_range_do_not_panic() {
    let frames = sample_frames();
    // One unit per second: a 64-bit count of seconds is far beyond any microsecond clock.
    for tsresol in [0u8, 0x80, 9, 0x7f, 0xff] {
        let mut bytes = ng_section_header();
        bytes.extend(ng_interface(1, Some(tsresol)));
        for (i, ts) in [u64::MAX, 1 << 62, u64::MAX - 1, 0].into_iter().enumerate() {
            bytes.extend(ng_packet_raw(0, ts, &frames[i].data, frames[i].wire_len));
        }
        let (path, result) = run_bytes("ng-time.pcapng", &bytes);
        let packets: Vec<_> = Packets::new(&path, &bytes)
            .expect("header")
            .collect::<Result<_, _>>()
            .expect("packets");
        assert!(packets.iter().all(|p| p.ts.0 >= 0), "tsresol {tsresol:#x}");
        let (_, stats) = result.expect("reads");
        assert_eq!(stats.packets, 4, "tsresol {tsresol:#x}");
    }
}

#[test]
fn zero_length_file_is_a_clear_error() {
    let (path, result) = run_bytes("empty.pcap", b"");
    let e = result.expect_err("an empty file is not a capture");
    assert!(e.contains(&path.display().to_string()), "{e}");
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn bad_magic_is_a_clear_error() {
    for junk in [
        &b"GET / HTTP/1.1\r\n\r\n this is not a capture"[..],
        &[0u8; 64],
        b"\x0a\x0d\x0d\x0a\0\0\0\0garbage!",
    ] {
        let (path, result) = run_bytes("magic.pcap", junk);
        let e = result.expect_err("not a capture");
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(
            e.contains("not a pcap or pcapng file") || e.contains("truncated"),
            "{e}"
        );
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let path = scratch("does-not-exist.pcap");
    let e = run_file(&path, &PipelineConfig::default(), &mut |_| {}).expect_err("no file");
    assert!(e.to_string().contains(&path.display().to_string()));
}
