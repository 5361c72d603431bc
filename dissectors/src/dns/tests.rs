//! Tests against the payloads of Zeek's DNS test traces (see
//! `dissectors/tests/fixtures/dns/README.md`) and their baseline dns.log files.

use super::*;
use crate::record::Record;
use crate::zeek::{LogFormat, LogWriter};

/// One payload of a fixture: time, transport, source and destination.
pub(crate) struct Packet {
    pub ts: i64,
    pub proto: Transport,
    pub src: (IpAddrT, u16),
    pub dst: (IpAddrT, u16),
    pub data: Vec<u8>,
}

type IpAddrT = std::net::IpAddr;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Reads `<ts_us> <proto> <src> <sport> <dst> <dport> <hex> [badsum]` lines. Packets
/// marked `badsum` (wrong UDP checksum) are dropped, as Zeek does without `-C`.
pub(crate) fn load(text: &str) -> Vec<Packet> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.ends_with(" badsum"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Packet {
                ts: f[0].parse().unwrap(),
                proto: if f[1] == "tcp" {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
                src: (f[2].parse().unwrap(), f[3].parse().unwrap()),
                dst: (f[4].parse().unwrap(), f[5].parse().unwrap()),
                data: if f.len() > 6 { hex(f[6]) } else { Vec::new() },
            }
        })
        .collect()
}

/// Zeek's `likely_server_ports` for the protocols in these traces.
const SERVER_PORTS: &[u16] = &[53, 137, 5353, 5355, 67, 80, 443];

/// A minimal stand-in for the engine: groups payloads into connections (orienting a new
/// UDP flow as Zeek does for likely server ports), runs the candidate dissector on each
/// and returns every record, finishing connections in first-seen order at the end.
pub(crate) fn run(
    packets: &[Packet],
    make: fn(&ConnId) -> Option<Box<dyn Dissector>>,
) -> Vec<Record> {
    struct Conn {
        id: ConnId,
        uid: Uid,
        d: Option<Box<dyn Dissector>>,
        last: i64,
    }
    let mut conns: Vec<Conn> = Vec::new();
    let mut out = Vec::new();
    for p in packets {
        let found = conns.iter().position(|c| {
            c.id.proto == p.proto
                && ((c.id.orig_h, c.id.orig_p) == p.src && (c.id.resp_h, c.id.resp_p) == p.dst
                    || (c.id.orig_h, c.id.orig_p) == p.dst && (c.id.resp_h, c.id.resp_p) == p.src)
        });
        let idx = match found {
            Some(i) => i,
            None => {
                let (mut o, mut r) = (p.src, p.dst);
                // Zeek leaves flows to broadcast/multicast addresses as they are (the
                // DHCP NAK to 255.255.255.255:68 in dhcp-all-msg-types).
                let group = match r.0 {
                    IpAddrT::V4(a) => a.is_broadcast() || a.is_multicast(),
                    IpAddrT::V6(a) => a.is_multicast(),
                };
                if p.proto == Transport::Udp
                    && SERVER_PORTS.contains(&o.1)
                    && !SERVER_PORTS.contains(&r.1)
                    && !group
                {
                    std::mem::swap(&mut o, &mut r);
                }
                let id = ConnId {
                    orig_h: o.0,
                    orig_p: o.1,
                    resp_h: r.0,
                    resp_p: r.1,
                    proto: p.proto,
                };
                conns.push(Conn {
                    id,
                    uid: Uid::connection(conns.len() as u128 + 1),
                    d: make(&id),
                    last: p.ts,
                });
                conns.len() - 1
            }
        };
        let c = &mut conns[idx];
        c.last = p.ts;
        let mut is_orig = (c.id.orig_h, c.id.orig_p) == p.src;
        if c.d
            .as_ref()
            .is_some_and(|d| d.roles_reversed(&c.id, is_orig, &p.data))
        {
            std::mem::swap(&mut c.id.orig_h, &mut c.id.resp_h);
            std::mem::swap(&mut c.id.orig_p, &mut c.id.resp_p);
            is_orig = !is_orig;
        }
        if let Some(d) = c.d.as_mut() {
            let mut cx = Context::new(c.uid, &c.id, Timestamp(p.ts), &mut out);
            d.deliver(&mut cx, is_orig, &p.data);
            if cx.verdict() == crate::analyzer::Verdict::Violation {
                c.d = None;
            }
        }
    }
    for c in &mut conns {
        if let Some(d) = c.d.as_mut() {
            let mut cx = Context::new(c.uid, &c.id, Timestamp(c.last), &mut out);
            d.finish(&mut cx);
        }
    }
    out
}

/// Renders records as Zeek TSV rows (without header and footer).
pub(crate) fn render<R: ZeekRecord>(recs: &[&R]) -> Vec<String> {
    let mut w = LogWriter::new::<R>(Vec::new(), LogFormat::Tsv, std::time::UNIX_EPOCH).unwrap();
    for r in recs {
        w.write(*r).unwrap();
    }
    let bytes = w.close(std::time::UNIX_EPOCH).unwrap();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Rows of a baseline log (ts and uid columns dropped), and whether the header matches.
pub(crate) fn baseline<R: ZeekRecord>(text: &str) -> Vec<String> {
    let fields = text
        .lines()
        .find(|l| l.starts_with("#fields"))
        .unwrap()
        .split('\t')
        .skip(1)
        .collect::<Vec<_>>();
    let ours: Vec<&str> = R::FIELDS.iter().map(|f| f.name).collect();
    assert_eq!(fields, ours, "field list differs from Zeek's");
    let types = text
        .lines()
        .find(|l| l.starts_with("#types"))
        .unwrap()
        .split('\t')
        .skip(1)
        .collect::<Vec<_>>();
    let ours: Vec<&str> = R::FIELDS.iter().map(|f| f.ty.zeek_name()).collect();
    assert_eq!(types, ours, "type list differs from Zeek's");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(drop_ts_uid)
        .collect()
}

pub(crate) fn drop_ts_uid(line: &str) -> String {
    line.split('\t').skip(2).collect::<Vec<_>>().join("\t")
}

fn dns_rows(recs: &[Record]) -> Vec<String> {
    let dns: Vec<&DnsRecord> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Dns(d) => Some(d.as_ref()),
            _ => None,
        })
        .collect();
    render(&dns).iter().map(|l| drop_ts_uid(l)).collect()
}

/// Compares as multisets (Zeek's order among rows written at connection end follows its
/// hash tables), and checks rows of one connection keep their relative order.
fn check_pair(fixture: &str, log: &str) {
    let recs = run(&load(fixture), candidate);
    let mut got = dns_rows(&recs);
    let mut want = baseline::<DnsRecord>(log);
    if got.len() == want.len() && got.iter().zip(&want).all(|(a, b)| a == b) {
        return;
    }
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn wikipedia_default() {
    check_pair(
        include_str!("../../tests/fixtures/dns/wikipedia-default.txt"),
        include_str!("../../../testdata/zeek/wikipedia-default/dns.log"),
    );
}

#[test]
fn reply_first_flip() {
    let fixture = include_str!("../../tests/fixtures/dns/dns-reply-first-flip.txt");
    check_pair(
        fixture,
        include_str!("../../../testdata/zeek/dns-reply-first-flip/dns.log"),
    );
    // The row's originator is the host that did not send the reply.
    let recs = run(&load(fixture), candidate);
    let Some(Record::Dns(d)) = recs.first() else {
        panic!("no dns record")
    };
    assert_eq!(d.id.orig_h.to_string(), "10.20.1.31");
}

#[test]
fn tcp_tkey() {
    check_pair(
        include_str!("../../tests/fixtures/dns/dns-tcp-tkey.txt"),
        include_str!("../../../testdata/zeek/dns-tcp-tkey/dns.log"),
    );
}

#[test]
fn tcp_any_segmentation_gives_same_rows() {
    let packets = load(include_str!("../../tests/fixtures/dns/dns-tcp-tkey.txt"));
    let whole = dns_rows(&run(&packets, candidate));
    // Re-split every payload into 1-byte and 7-byte pieces, and join all payloads of a
    // direction into one delivery.
    for piece in [1usize, 7, 100_000] {
        let mut split = Vec::new();
        for p in &packets {
            for chunk in p.data.chunks(piece) {
                split.push(Packet {
                    ts: p.ts,
                    proto: p.proto,
                    src: p.src,
                    dst: p.dst,
                    data: chunk.to_vec(),
                });
            }
        }
        assert_eq!(dns_rows(&run(&split, candidate)), whole, "piece {piece}");
    }
}

#[test]
fn ipv6_fragmented_retransmission() {
    check_pair(
        include_str!("../../tests/fixtures/dns/dns-ipv6-fragmented.txt"),
        include_str!("../../../testdata/zeek/dns-ipv6-fragmented/dns.log"),
    );
}

#[test]
fn notify_and_rejected() {
    check_pair(
        include_str!("../../tests/fixtures/dns/dns-notify-default.txt"),
        include_str!("../../../testdata/zeek/dns-notify-default/dns.log"),
    );
}

#[test]
fn txt_multiple_strings() {
    check_pair(
        include_str!("../../tests/fixtures/dns/dns-txt-multiple.txt"),
        include_str!("../../../testdata/zeek/dns-txt-multiple/dns.log"),
    );
}

#[test]
fn typed_answers_are_kept() {
    let recs = run(
        &load(include_str!(
            "../../tests/fixtures/dns/wikipedia-default.txt"
        )),
        candidate,
    );
    let a = recs
        .iter()
        .find_map(|r| match r {
            Record::Dns(d) if d.qtype == Some(1) && d.answers.is_some() => Some(d),
            _ => None,
        })
        .unwrap();
    let answers = a.answers.as_ref().unwrap();
    assert_eq!(
        answers[0].data,
        RData::Name("upload.pmtpa.wikimedia.org".into())
    );
    assert_eq!(answers[0].rtype, 5);
    assert_eq!(
        answers[1].data,
        RData::Addr("208.80.152.3".parse().unwrap())
    );
    assert_eq!(answers[1].ttl, 2156);
}

fn msg(id: u16, flags: u16, counts: [u16; 4], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        m.extend_from_slice(&c.to_be_bytes());
    }
    m.extend_from_slice(body);
    m
}

fn udp_id() -> ConnId {
    ConnId {
        orig_h: "10.0.0.1".parse().unwrap(),
        orig_p: 40000,
        resp_h: "10.0.0.2".parse().unwrap(),
        resp_p: 53,
        proto: Transport::Udp,
    }
}

fn feed(d: &mut DnsDissector, id: &ConnId, out: &mut Vec<Record>, ts: i64, orig: bool, m: &[u8]) {
    let mut cx = Context::new(Uid::connection(1), id, Timestamp(ts), out);
    d.deliver(&mut cx, orig, m);
}

fn finish(d: &mut DnsDissector, id: &ConnId, out: &mut Vec<Record>) {
    let mut cx = Context::new(Uid::connection(1), id, Timestamp(0), out);
    d.finish(&mut cx);
}

const Q_EXAMPLE: &[u8] = b"\x07example\x03com\x00\x00\x01\x00\x01";

#[test]
fn interleaved_queries_pair_by_transaction_id() {
    let id = udp_id();
    let mut d = DnsDissector::new();
    let mut out = Vec::new();
    feed(
        &mut d,
        &id,
        &mut out,
        1_000,
        true,
        &msg(1, 0x0100, [1, 0, 0, 0], Q_EXAMPLE),
    );
    feed(
        &mut d,
        &id,
        &mut out,
        2_000,
        true,
        &msg(2, 0x0100, [1, 0, 0, 0], Q_EXAMPLE),
    );
    feed(
        &mut d,
        &id,
        &mut out,
        3_000,
        true,
        &msg(3, 0x0100, [1, 0, 0, 0], Q_EXAMPLE),
    );
    let mut answer = Q_EXAMPLE.to_vec();
    answer.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04");
    feed(
        &mut d,
        &id,
        &mut out,
        5_000,
        false,
        &msg(2, 0x8180, [1, 1, 0, 0], &answer),
    );
    feed(
        &mut d,
        &id,
        &mut out,
        9_000,
        false,
        &msg(3, 0x8183, [1, 0, 0, 0], Q_EXAMPLE),
    );
    assert_eq!(out.len(), 2);
    let Record::Dns(two) = &out[0] else { panic!() };
    assert_eq!(two.trans_id, 2);
    assert_eq!(two.rtt, Some(Interval(3_000)));
    assert_eq!(two.answers.as_ref().unwrap()[0].data.render(), "1.2.3.4");
    let Record::Dns(three) = &out[1] else {
        panic!()
    };
    assert_eq!(
        (three.trans_id, three.rcode, three.rejected),
        (3, Some(3), true)
    );
    finish(&mut d, &id, &mut out);
    assert_eq!(out.len(), 3);
    let Record::Dns(one) = &out[2] else { panic!() };
    assert_eq!((one.trans_id, one.rcode), (1, None));
    assert_eq!(one.query.as_deref(), Some("example.com"));
}

#[test]
fn reply_without_query_is_written_at_finish() {
    let id = udp_id();
    let mut d = DnsDissector::new();
    let mut out = Vec::new();
    let mut answer = Q_EXAMPLE.to_vec();
    answer.extend_from_slice(b"\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x03a,b");
    feed(
        &mut d,
        &id,
        &mut out,
        7,
        false,
        &msg(9, 0x8180, [1, 1, 0, 0], &answer),
    );
    assert!(out.is_empty());
    finish(&mut d, &id, &mut out);
    let rows = dns_rows(&out);
    assert_eq!(rows.len(), 1);
    let cols: Vec<&str> = rows[0].split('\t').collect();
    // answers: the comma inside the TXT string is escaped in the vector.
    assert_eq!(cols[19], "TXT 3 a\\x2cb");
    assert_eq!(cols[6], "-"); // rtt unset when only a reply was seen
    assert_eq!(cols[7], "example.com"); // query taken from the answer's owner name
}

#[test]
fn unknown_and_dnssec_types_render_like_zeek() {
    let id = udp_id();
    let mut d = DnsDissector::new();
    let mut out = Vec::new();
    let mut body = Q_EXAMPLE.to_vec();
    // type 99 (SPF) one string, type 4660 (unknown), DS.
    body.extend_from_slice(b"\xc0\x0c\x00\x63\x00\x01\x00\x00\x00\x01\x00\x03\x02hi");
    body.extend_from_slice(b"\xc0\x0c\x12\x34\x00\x01\x00\x00\x00\x02\x00\x02\xab\xcd");
    body.extend_from_slice(
        b"\xc0\x0c\x00\x2b\x00\x01\x00\x00\x00\x03\x00\x06\x01\x02\x08\x02\xff\xff",
    );
    feed(
        &mut d,
        &id,
        &mut out,
        1,
        true,
        &msg(5, 0x0100, [1, 0, 0, 0], Q_EXAMPLE),
    );
    feed(
        &mut d,
        &id,
        &mut out,
        2,
        false,
        &msg(5, 0x8580, [1, 3, 0, 0], &body),
    );
    let Some(Record::Dns(r)) = out.first() else {
        panic!()
    };
    let rendered: Vec<String> = r
        .answers
        .as_ref()
        .unwrap()
        .iter()
        .map(|a| a.data.render().into_owned())
        .collect();
    assert_eq!(rendered, ["SPF 2 hi", "<unknown type=4660>", "DS 8 2"]);
    assert!(r.aa && r.ra && r.rd);
}

/// A tiny deterministic generator for fuzz-style inputs.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn garbage_and_truncation_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let real: Vec<Vec<u8>> = [
        include_str!("../../tests/fixtures/dns/wikipedia-default.txt"),
        include_str!("../../tests/fixtures/dns/dns-ipv6-fragmented.txt"),
        include_str!("../../tests/fixtures/dns/dns-txt-multiple.txt"),
        include_str!("../../tests/fixtures/dns/dns-notify-default.txt"),
    ]
    .iter()
    .flat_map(|t| load(t).into_iter().map(|p| p.data))
    .collect();
    for proto in [Transport::Udp, Transport::Tcp] {
        let mut id = udp_id();
        id.proto = proto;
        if proto == Transport::Udp {
            id.resp_p = 137;
        }
        let mut d = DnsDissector::new();
        let mut out = Vec::new();
        for round in 0..3000u64 {
            let mut m = if round % 2 == 0 {
                let len = (rng.next() % 600) as usize;
                (0..len).map(|_| rng.next() as u8).collect::<Vec<u8>>()
            } else {
                let base = &real[(rng.next() as usize) % real.len()];
                let cut = (rng.next() as usize) % (base.len() + 1);
                let mut m = base[..cut].to_vec();
                // Flip a few bytes, including compression pointers and counts.
                for _ in 0..(rng.next() % 4) {
                    if !m.is_empty() {
                        let i = (rng.next() as usize) % m.len();
                        m[i] = rng.next() as u8;
                    }
                }
                m
            };
            if round % 5 == 0 && m.len() > 2 {
                // Self-referencing and backward pointer chains.
                let n = m.len();
                m[n - 2] = 0xc0 | ((n - 2) >> 8) as u8 & 0x3f;
                m[n - 1] = (n - 2) as u8;
            }
            feed(&mut d, &id, &mut out, round as i64, round % 3 == 0, &m);
        }
        finish(&mut d, &id, &mut out);
        // Rendering every record must not panic either.
        let _ = dns_rows(&out);
    }
}

#[test]
fn deep_pointer_chain_is_bounded() {
    // Every name points two bytes back: the chain is followed without recursion.
    let mut m = msg(1, 0x0000, [1, 0, 0, 0], b"\x01a\x00");
    for i in 0..8_000usize {
        let target = if i == 0 { 12 } else { 13 + 2 * i };
        m.push(0xc0 | ((target >> 8) as u8 & 0x3f));
        m.push(target as u8);
    }
    let mut r = Reader::new(&m, false);
    r.pos = m.len() - 2;
    let name = r.name(true, 512);
    assert_eq!(name, b"a");
}
