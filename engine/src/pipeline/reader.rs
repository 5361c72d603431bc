//! The reader's share of the pipeline: decoding each packet, reassembling fragments,
//! taking packets out of tunnels, and keeping the network clock and the counters.

use dissectors::{teredo, ConnId, Timestamp, Transport};

use super::{PipelineConfig, RunStats};
use crate::capture::RawPacket;
use crate::decode::{
    decode, decode_ip, ethernet_ipv4_tcp_endpoints, DecodeError, Decoded, FragmentTable, Outcome,
    L4,
};
use crate::flow::{shard_of, shard_of_endpoints, ConnTable, FlowKey, TunnelRole};

/// Where a job's packet bytes are.
pub(super) enum Bytes<'a> {
    /// In the capture file's mapping.
    Borrowed(&'a [u8]),
    /// A reassembled datagram.
    Owned(Box<[u8]>),
    /// Copied into the batch's buffer (live capture), at this range.
    InBatch(u32, u32),
}

impl Bytes<'_> {
    pub(super) fn resolve<'b>(&'b self, batch: &'b [u8]) -> &'b [u8] {
        match self {
            Bytes::Borrowed(b) => b,
            Bytes::Owned(b) => b,
            Bytes::InBatch(start, len) => batch
                .get(*start as usize..(*start + *len) as usize)
                .unwrap_or(&[]),
        }
    }

    /// The bytes while they are still at hand (not yet moved into a batch).
    pub(super) fn as_slice(&self) -> &[u8] {
        self.resolve(&[])
    }
}

pub(super) struct Job<'a> {
    /// Network time: the latest packet time seen so far, never going back.
    pub(super) clock: Timestamp,
    pub(super) ts: Timestamp,
    pub(super) decoded: Decoded,
    pub(super) bytes: Bytes<'a>,
    pub(super) tunnel: TunnelRole,
    pub(super) interface: Option<u16>,
}

impl Job<'_> {
    pub(super) fn shard(&self, workers: usize) -> usize {
        shard_of(&self.decoded, workers)
    }

    pub(super) fn run(&self, table: &mut ConnTable, batch: &[u8]) {
        table.set_interface(self.interface);
        table.process(
            self.clock,
            self.ts,
            &self.decoded,
            self.bytes.resolve(batch),
            self.tunnel,
        );
    }
}

/// Decodes packets, reassembles fragments and keeps the counters.
pub(super) struct Reader<'p> {
    /// The capture being read, for messages (a file path or an interface name).
    pub(super) source: &'p str,
    pub(super) frags: FragmentTable,
    pub(super) stats: RunStats,
    pub(super) max_reported: usize,
    pub(super) clock: Timestamp,
    /// When this reader is one of several that each read the whole capture: its index
    /// and their number. Only the jobs of its own flows are emitted.
    share: Option<(usize, usize)>,
}

impl<'p> Reader<'p> {
    pub(super) fn new(source: &'p str, config: &PipelineConfig) -> Self {
        Reader {
            source,
            frags: FragmentTable::new(config.fragments),
            stats: RunStats::default(),
            max_reported: config.max_reported_errors,
            clock: Timestamp(i64::MIN),
            share: None,
        }
    }

    /// A reader that emits only the jobs whose flows hash to `index` of `readers`.
    pub(super) fn sharing(
        source: &'p str,
        config: &PipelineConfig,
        index: usize,
        readers: usize,
    ) -> Self {
        Reader {
            share: Some((index, readers)),
            ..Reader::new(source, config)
        }
    }

    /// Whether a sharing reader's packet is its own, when the headers alone tell (a plain
    /// TCP segment): another worker's is then skipped undecoded (for the common TCP packet
    /// the decode was most of a worker's cost for the packets of the others), and its own
    /// is not asked again once decoded.
    fn owner_from_headers(&self, p: &RawPacket<'_>) -> Option<bool> {
        let (index, readers) = self.share?;
        let (src, sport, dst, dport) = ethernet_ipv4_tcp_endpoints(p.link, p.data)?;
        Some(shard_of_endpoints((src, sport), (dst, dport), IP_PROTO_TCP, readers) == index)
    }

    fn owns(&self, d: &Decoded) -> bool {
        self.share
            .is_none_or(|(index, readers)| shard_of(d, readers) == index)
    }

    fn report(&mut self, packet: u64, err: DecodeError) {
        if err == DecodeError::NotIp {
            self.stats.non_ip += 1;
            return;
        }
        *self.stats.decode_errors.entry(err.to_string()).or_default() += 1;
        if self.stats.messages.len() < self.max_reported {
            self.stats
                .messages
                .push(format!("{}: packet {packet}: {err}; skipped", self.source));
        }
    }

    /// Turns a raw packet into jobs for the flow tables: the packet itself when it
    /// carries a whole datagram, and the packet inside it when it is a tunnel.
    pub(super) fn decode<'a>(&mut self, p: &RawPacket<'a>, emit: &mut impl FnMut(Job<'a>)) {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(p.wire_len);
        if self.stats.first_ts.is_none() {
            self.stats.first_ts = Some(p.ts);
        }
        self.stats.last_ts = Some(p.ts);
        self.clock = self.clock.max(p.ts);
        let clock = self.clock;
        let known_own = match self.owner_from_headers(p) {
            Some(false) => return,
            Some(true) => true,
            None => false,
        };
        let (decoded, bytes) = match decode(p.link, p.data) {
            Ok(Outcome::Packet(decoded)) => (decoded, Bytes::Borrowed(p.data)),
            Ok(Outcome::Fragment(f)) => {
                let Some(whole) = self.frags.add(p.ts, p.data, &f) else {
                    return;
                };
                match whole.outcome {
                    Ok(Outcome::Packet(decoded)) => (decoded, Bytes::Owned(whole.bytes)),
                    Ok(Outcome::Fragment(_)) => return,
                    Err(e) => return self.report(p.number, e),
                }
            }
            Err(e) => return self.report(p.number, e),
        };
        let inner = self.decapsulate(&decoded, bytes.as_slice(), p.number);
        match inner {
            Some(inner) => {
                let inner_bytes = match &bytes {
                    Bytes::Borrowed(b) => Bytes::Borrowed(b),
                    Bytes::Owned(b) => Bytes::Owned(b.clone()),
                    Bytes::InBatch(start, len) => Bytes::InBatch(*start, *len),
                };
                let outer_key = FlowKey::of(&decoded);
                if self.owns(&decoded) {
                    emit(Job {
                        clock,
                        ts: p.ts,
                        decoded,
                        bytes,
                        tunnel: TunnelRole::Outer,
                        interface: p.interface,
                    });
                }
                if self.owns(&inner) {
                    emit(Job {
                        clock,
                        ts: p.ts,
                        decoded: inner,
                        bytes: inner_bytes,
                        tunnel: TunnelRole::Inner(outer_key),
                        interface: p.interface,
                    });
                }
            }
            None if known_own || self.owns(&decoded) => emit(Job {
                clock,
                ts: p.ts,
                decoded,
                bytes,
                tunnel: TunnelRole::None,
                interface: p.interface,
            }),
            None => {}
        }
    }

    /// The packet inside a Teredo datagram, if this is one.
    fn decapsulate(&mut self, outer: &Decoded, bytes: &[u8], number: u64) -> Option<Decoded> {
        if outer.l4 != L4::Udp || outer.payload_captured < 40 {
            return None;
        }
        let payload = outer.payload(bytes);
        let id = ConnId {
            orig_h: outer.src,
            orig_p: outer.src_port,
            resp_h: outer.dst,
            resp_p: outer.dst_port,
            proto: Transport::Udp,
        };
        if !teredo::is_teredo(&id, payload) {
            return None;
        }
        let at = outer.payload_offset as usize + teredo::inner_ipv6_offset(payload)?;
        match decode_ip(bytes, at) {
            // A bubble (no next header) only keeps the tunnel open: no inner connection.
            Ok(Outcome::Packet(inner)) if inner.ip_proto != IPV6_NO_NEXT_HEADER => Some(inner),
            Ok(_) => None,
            Err(e) => {
                self.report(number, e);
                None
            }
        }
    }
}
const IPV6_NO_NEXT_HEADER: u8 = 59;
const IP_PROTO_TCP: u8 = 6;
