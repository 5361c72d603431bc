//! Builds packets and capture files in memory for the hostile-input tests: IPv4 TCP/UDP
//! packets with correct checksums, Ethernet framing, IPv4 fragments, classic pcap and
//! pcapng files (with any extra blocks).

use std::net::Ipv4Addr;

/// `LINKTYPE_ETHERNET`.
pub const ETHERNET: u32 = 1;
/// `LINKTYPE_RAW` (the packet starts at the IP header).
pub const RAW: u32 = 101;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// A deterministic pseudo-random source (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn add_words(mut sum: u32, bytes: &[u8]) -> u32 {
    for pair in bytes.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    sum
}

/// An IPv4 header for `payload_len` bytes of `proto`, checksum filled in.
pub fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    id: u16,
    frag_field: u16,
    payload_len: usize,
) -> Vec<u8> {
    let total = (20 + payload_len) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag_field.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let sum = fold(add_words(0, &h));
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

fn transport_checksum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, segment: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, proto]);
    pseudo.extend_from_slice(&(segment.len() as u16).to_be_bytes());
    fold(add_words(add_words(0, &pseudo), segment))
}

/// A UDP datagram (header and payload) with its checksum.
pub fn udp_segment(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let sum = transport_checksum(src, dst, 17, &u);
    u[6..8].copy_from_slice(&sum.to_be_bytes());
    u
}

/// A whole IPv4 UDP packet (starting at the IP header).
pub fn ipv4_udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let u = udp_segment(src, dst, sport, dport, payload);
    let mut p = ipv4_header(src, dst, 17, 1, 0, u.len());
    p.extend_from_slice(&u);
    p
}

/// What a TCP segment carries besides its endpoints.
#[derive(Clone, Copy)]
pub struct Tcp<'a> {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload: &'a [u8],
}

/// A whole IPv4 TCP packet (starting at the IP header).
pub fn ipv4_tcp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, t: Tcp<'_>) -> Vec<u8> {
    let mut s = Vec::with_capacity(20 + t.payload.len());
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&t.seq.to_be_bytes());
    s.extend_from_slice(&t.ack.to_be_bytes());
    s.extend_from_slice(&[5 << 4, t.flags]);
    s.extend_from_slice(&65535u16.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    s.extend_from_slice(t.payload);
    let sum = transport_checksum(src, dst, 6, &s);
    s[16..18].copy_from_slice(&sum.to_be_bytes());
    let mut p = ipv4_header(src, dst, 6, 1, 0, s.len());
    p.extend_from_slice(&s);
    p
}

/// An IPv4 fragment carrying `piece` at byte `offset` (a multiple of 8) of datagram `id`.
pub fn ipv4_fragment(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    id: u16,
    offset: usize,
    more: bool,
    piece: &[u8],
) -> Vec<u8> {
    let field = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    let mut p = ipv4_header(src, dst, proto, id, field, piece.len());
    p.extend_from_slice(piece);
    p
}

/// Ethernet framing around an IPv4 packet.
pub fn ethernet(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    ];
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

/// A packet to write: time in microseconds since the epoch, captured bytes, and the
/// length on the wire (at least the captured length).
#[derive(Clone)]
pub struct Frame {
    pub ts_micros: i64,
    pub data: Vec<u8>,
    pub wire_len: u32,
}

impl Frame {
    pub fn new(ts_micros: i64, data: Vec<u8>) -> Self {
        let wire_len = data.len() as u32;
        Frame {
            ts_micros,
            data,
            wire_len,
        }
    }
}

/// The 24-byte header of a little-endian microsecond pcap.
pub fn pcap_header(link: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&link.to_le_bytes());
    h
}

/// Appends one classic pcap record.
pub fn pcap_record(out: &mut Vec<u8>, f: &Frame) {
    out.extend_from_slice(&((f.ts_micros / 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&((f.ts_micros % 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
    out.extend_from_slice(&f.wire_len.to_le_bytes());
    out.extend_from_slice(&f.data);
}

/// A classic pcap file; also returns where each record starts.
pub fn pcap(link: u32, frames: &[Frame]) -> (Vec<u8>, Vec<usize>) {
    let mut out = pcap_header(link);
    let mut starts = Vec::with_capacity(frames.len());
    for f in frames {
        starts.push(out.len());
        pcap_record(&mut out, f);
    }
    (out, starts)
}

/// One pcapng block (little-endian): type, length, body padded to 4 bytes, length.
pub fn ng_block(block_type: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(&block_type.to_le_bytes());
    b.extend_from_slice(&total.to_le_bytes());
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend_from_slice(&total.to_le_bytes());
    b
}

/// Section header block (little-endian, version 1.0, unknown section length).
pub fn ng_section_header() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&u64::MAX.to_le_bytes());
    ng_block(0x0a0d_0d0a, &body)
}

/// Interface description block; `tsresol` is the raw `if_tsresol` option byte, if any.
pub fn ng_interface(link: u16, tsresol: Option<u8>) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&link.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&65535u32.to_le_bytes());
    if let Some(r) = tsresol {
        body.extend_from_slice(&9u16.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&[r, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    ng_block(1, &body)
}

/// Enhanced packet block with a raw timestamp (in the interface's units).
pub fn ng_packet_raw(interface: u32, ts_units: u64, data: &[u8], wire_len: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&interface.to_le_bytes());
    body.extend_from_slice(&((ts_units >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts_units as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&wire_len.to_le_bytes());
    body.extend_from_slice(data);
    ng_block(6, &body)
}

/// Enhanced packet block of a frame on an interface with microsecond timestamps.
pub fn ng_packet(interface: u32, f: &Frame) -> Vec<u8> {
    ng_packet_raw(interface, f.ts_micros as u64, &f.data, f.wire_len)
}
