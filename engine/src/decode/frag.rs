//! IP fragment reassembly (IPv4 and IPv6), with bounded memory: a fragment flood evicts
//! the oldest pending datagrams instead of growing without limit.

use std::collections::VecDeque;
use std::net::IpAddr;

use dissectors::Timestamp;
use hashbrown::HashMap;

use super::{decode_transport, DecodeError, FragmentInfo, Outcome};

#[derive(Clone, Copy, Debug)]
pub struct FragmentLimits {
    /// Datagrams being reassembled at once.
    pub max_pending: usize,
    /// Bytes buffered across all pending datagrams.
    pub max_bytes: usize,
    /// A datagram not completed within this many microseconds is dropped.
    pub timeout_micros: i64,
}

impl Default for FragmentLimits {
    fn default() -> Self {
        FragmentLimits {
            max_pending: 10_000,
            max_bytes: 64 << 20,
            timeout_micros: 60_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct DatagramKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

struct Pending {
    first_seen: Timestamp,
    /// IP header of the fragment at offset 0, once seen.
    header: Option<Vec<u8>>,
    payload: Vec<u8>,
    /// Received byte ranges of the payload, sorted and merged (a flood of duplicate or
    /// overlapping fragments cannot grow the list).
    ranges: Vec<(u32, u32)>,
    /// Payload length, known once the last fragment arrived.
    total: Option<u32>,
    v6: bool,
}

/// A datagram put back together: its bytes and where things lie in them.
#[derive(Debug)]
pub struct Reassembled {
    pub bytes: Box<[u8]>,
    pub outcome: Result<Outcome, DecodeError>,
}

#[derive(Default, Debug, Clone, Copy)]
pub struct FragmentStats {
    pub fragments: u64,
    pub reassembled: u64,
    pub evicted: u64,
    pub timed_out: u64,
    pub malformed: u64,
}

pub struct FragmentTable {
    limits: FragmentLimits,
    pending: HashMap<DatagramKey, Pending>,
    order: VecDeque<(DatagramKey, Timestamp)>,
    buffered: usize,
    pub stats: FragmentStats,
}

const MAX_DATAGRAM: u32 = 65_535;

impl FragmentTable {
    pub fn new(limits: FragmentLimits) -> Self {
        FragmentTable {
            limits,
            pending: HashMap::new(),
            order: VecDeque::new(),
            buffered: 0,
            stats: FragmentStats::default(),
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Payload bytes held for pending datagrams (at most `FragmentLimits::max_bytes`).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Adds one fragment (its packet bytes and decoded description); returns the whole
    /// datagram when this fragment completes it.
    pub fn add(&mut self, ts: Timestamp, bytes: &[u8], f: &FragmentInfo) -> Option<Reassembled> {
        self.stats.fragments += 1;
        self.expire(ts);
        let end = f.offset.checked_add(f.data_len)?;
        if end > MAX_DATAGRAM {
            self.stats.malformed += 1;
            return None;
        }
        let key = DatagramKey {
            src: f.src,
            dst: f.dst,
            id: f.id,
            proto: f.ip_proto,
        };
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= self.limits.max_pending
                || self.buffered >= self.limits.max_bytes
            {
                if !self.evict_oldest() {
                    break;
                }
            }
            self.pending.insert(
                key,
                Pending {
                    first_seen: ts,
                    header: None,
                    payload: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    v6: f.v6,
                },
            );
            self.order.push_back((key, ts));
        }
        let data = bytes.get(f.data_offset as usize..(f.data_offset + f.data_len) as usize)?;
        let held = self.pending.get(&key)?.payload.len();
        let grow = (end as usize).saturating_sub(held);
        // Pending datagrams grow after they were admitted: keep the total under the byte
        // cap by evicting the oldest, which may be this datagram itself.
        while self.buffered + grow > self.limits.max_bytes {
            if !self.evict_oldest() || !self.pending.contains_key(&key) {
                if let Some(p) = self.pending.remove(&key) {
                    self.buffered = self.buffered.saturating_sub(p.payload.len());
                    self.stats.evicted += 1;
                }
                return None;
            }
        }
        let entry = self.pending.get_mut(&key)?;
        if entry.payload.len() < end as usize {
            self.buffered += end as usize - entry.payload.len();
            entry.payload.resize(end as usize, 0);
        }
        entry.payload[f.offset as usize..end as usize].copy_from_slice(data);
        merge_range(&mut entry.ranges, f.offset, end);
        if f.offset == 0 {
            let h =
                bytes.get(f.header_offset as usize..(f.header_offset + f.header_len) as usize)?;
            entry.header = Some(h.to_vec());
        }
        if !f.more {
            entry.total = Some(end);
        }
        let total = entry.total?;
        entry.header.as_ref()?;
        if !covers(&entry.ranges, total) {
            return None;
        }
        let done = self.pending.remove(&key)?;
        self.buffered = self.buffered.saturating_sub(done.payload.len());
        self.stats.reassembled += 1;
        Some(assemble(done, key, total))
    }

    fn evict_oldest(&mut self) -> bool {
        while let Some((key, _)) = self.order.pop_front() {
            if let Some(p) = self.pending.remove(&key) {
                self.buffered = self.buffered.saturating_sub(p.payload.len());
                self.stats.evicted += 1;
                return true;
            }
        }
        false
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(&(key, seen)) = self.order.front() {
            if now.0 - seen.0 < self.limits.timeout_micros {
                break;
            }
            self.order.pop_front();
            if let Some(p) = self.pending.get(&key) {
                if p.first_seen == seen {
                    let p = self.pending.remove(&key);
                    self.buffered = self
                        .buffered
                        .saturating_sub(p.map_or(0, |p| p.payload.len()));
                    self.stats.timed_out += 1;
                }
            }
        }
    }
}

/// Adds `[start, end)` to sorted ranges that neither overlap nor touch, merging it with
/// every range it overlaps or touches.
fn merge_range(ranges: &mut Vec<(u32, u32)>, start: u32, end: u32) {
    let first = ranges.partition_point(|r| r.1 < start);
    let last = ranges.partition_point(|r| r.0 <= end);
    if first == last {
        ranges.insert(first, (start, end));
        return;
    }
    let merged = (start.min(ranges[first].0), end.max(ranges[last - 1].1));
    ranges.drain(first + 1..last);
    ranges[first] = merged;
}

/// Whether merged `ranges` cover `[0, total)` without a hole.
fn covers(ranges: &[(u32, u32)], total: u32) -> bool {
    ranges
        .first()
        .is_some_and(|&(start, end)| start == 0 && end >= total)
}

fn assemble(done: Pending, key: DatagramKey, total: u32) -> Reassembled {
    let header = done.header.unwrap_or_default();
    let hlen = header.len();
    let mut bytes = Vec::with_capacity(hlen + total as usize);
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(done.payload.get(..total as usize).unwrap_or(&done.payload));
    // The IP length of the datagram as it was before fragmentation; for IPv6 the fragment
    // header is not part of the original datagram.
    let ip_len = if done.v6 {
        hlen as u32 - 8 + total
    } else {
        hlen as u32 + total
    };
    let outcome = decode_transport(
        &bytes,
        key.src,
        key.dst,
        key.proto,
        ip_len,
        hlen,
        total as usize,
    );
    Reassembled {
        bytes: bytes.into_boxed_slice(),
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode_ip, Outcome};

    fn ipv4_fragment(id: u16, offset: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let total = (20 + payload.len()) as u16;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&id.to_be_bytes());
        let fo = (offset / 8) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&fo.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    fn udp_datagram(payload_len: usize) -> Vec<u8> {
        let mut d = vec![0x30, 0x39, 0x00, 0x35, 0, 0, 0, 0];
        d[4..6].copy_from_slice(&((8 + payload_len) as u16).to_be_bytes());
        d.extend((0..payload_len).map(|i| i as u8));
        d
    }

    fn feed(table: &mut FragmentTable, pkt: &[u8]) -> Option<Reassembled> {
        match decode_ip(pkt, 0).unwrap() {
            Outcome::Fragment(f) => table.add(Timestamp(1), pkt, &f),
            Outcome::Packet(_) => panic!("not a fragment"),
        }
    }

    #[test]
    fn out_of_order_fragments_reassemble() {
        let dgram = udp_datagram(100);
        let a = ipv4_fragment(7, 0, true, &dgram[..48]);
        let b = ipv4_fragment(7, 48, true, &dgram[48..96]);
        let c = ipv4_fragment(7, 96, false, &dgram[96..]);
        let mut t = FragmentTable::new(FragmentLimits::default());
        assert!(feed(&mut t, &c).is_none());
        assert!(feed(&mut t, &a).is_none());
        let r = feed(&mut t, &b).expect("complete");
        let Ok(Outcome::Packet(d)) = r.outcome else {
            panic!("{:?}", r.outcome)
        };
        assert_eq!((d.src_port, d.dst_port), (12345, 53));
        assert_eq!(d.payload_len, 100);
        assert_eq!(d.ip_len, 128);
        assert_eq!(d.payload(&r.bytes), &dgram[8..]);
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn flood_is_bounded() {
        let limits = FragmentLimits {
            max_pending: 16,
            ..FragmentLimits::default()
        };
        let mut t = FragmentTable::new(limits);
        for id in 0..1000u16 {
            let pkt = ipv4_fragment(id, 0, true, &[0u8; 64]);
            assert!(feed(&mut t, &pkt).is_none());
        }
        assert!(t.pending() <= 16);
        assert_eq!(t.stats.evicted, 1000 - 16);
    }

    #[test]
    fn growing_datagrams_stay_under_the_byte_cap() {
        let limits = FragmentLimits {
            max_pending: 100,
            max_bytes: 10_000,
            ..FragmentLimits::default()
        };
        let mut t = FragmentTable::new(limits);
        // Admitted small, then each grows to 60 KiB with a piece near the end.
        for id in 0..50u16 {
            assert!(feed(&mut t, &ipv4_fragment(id, 0, true, &[0u8; 8])).is_none());
            assert!(feed(&mut t, &ipv4_fragment(id, 60_000, true, &[0u8; 8])).is_none());
            assert!(t.buffered_bytes() <= 10_000, "{}", t.buffered_bytes());
        }
        assert_eq!(t.stats.evicted, 50);
    }

    #[test]
    fn ranges_merge() {
        let mut r = Vec::new();
        for (s, e) in [
            (16, 24),
            (0, 8),
            (40, 48),
            (8, 16),
            (44, 60),
            (30, 30),
            (0, 8),
        ] {
            merge_range(&mut r, s, e);
        }
        assert_eq!(r, [(0, 24), (30, 30), (40, 60)]);
        merge_range(&mut r, 20, 45);
        assert_eq!(r, [(0, 60)]);
        assert!(covers(&r, 60));
        assert!(!covers(&r, 61));
    }

    #[test]
    fn duplicate_fragment_flood_keeps_one_range() {
        let mut t = FragmentTable::new(FragmentLimits::default());
        let piece = ipv4_fragment(9, 0, true, &[0u8; 64]);
        for _ in 0..10_000 {
            assert!(feed(&mut t, &piece).is_none());
        }
        let p = t.pending.values().next().expect("pending");
        assert_eq!(p.ranges, [(0, 64)]);
    }

    #[test]
    fn hostile_offsets_do_not_panic() {
        let mut t = FragmentTable::new(FragmentLimits::default());
        let pkt = ipv4_fragment(1, 65528, false, &[0u8; 64]);
        assert!(feed(&mut t, &pkt).is_none());
        assert_eq!(t.stats.malformed, 1);
    }
}
