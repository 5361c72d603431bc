//! The flow table of one worker: connections keyed by flow, their timers, and the
//! records they produce when they end.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use dissectors::{
    dpd, ConnId, ConnRecord, ConnState, Context, Dissector, Interval, Record, Timestamp, Transport,
    Uid, Verdict,
};
use hashbrown::HashTable;
use smallvec::SmallVec;

use super::history::{mask, History};
use super::key::FlowKey;
use super::tcp::{Close, EndpointState, Segment, StreamSink, TcpState};
use super::timers::{DueAt, TimerWheel};
use crate::decode::{transport_checksum_ok, ArpFields, Decoded, L4};
use dissectors::arp::{ArpOperation, ArpRecord};
use dissectors::net::LocalNets;

/// Zeek's timing constants, configurable.
#[derive(Clone, Debug)]
pub struct TrackerConfig {
    pub tcp_inactivity: Interval,
    pub udp_inactivity: Interval,
    pub icmp_inactivity: Interval,
    pub unknown_inactivity: Interval,
    pub tcp_attempt_delay: Interval,
    pub tcp_close_delay: Interval,
    pub dns_session_timeout: Interval,
    pub local_nets: LocalNets,
    /// Attach protocol dissectors (off: conn.log only).
    pub dissect: bool,
    /// Drop packets with a bad transport checksum, as Zeek does unless run with `-C`.
    pub verify_checksums: bool,
    /// Out-of-order bytes kept per TCP direction for the dissectors.
    pub max_reassembly_per_direction: usize,
    /// Connections tracked at once; the oldest is evicted (and logged) beyond this.
    pub max_connections: usize,
    /// Names of the live capture's interfaces, for the connections' records (packets
    /// carry an index into it); empty for a file.
    pub interfaces: Vec<std::sync::Arc<str>>,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            tcp_inactivity: Interval::from_secs(300),
            udp_inactivity: Interval::from_secs(60),
            icmp_inactivity: Interval::from_secs(60),
            unknown_inactivity: Interval::from_secs(60),
            tcp_attempt_delay: Interval::from_secs(5),
            tcp_close_delay: Interval::from_secs(5),
            dns_session_timeout: Interval::from_secs(10),
            local_nets: dissectors::net::local_nets().clone(),
            dissect: true,
            verify_checksums: true,
            max_reassembly_per_direction: 1 << 20,
            max_connections: 1 << 22,
            interfaces: Vec::new(),
        }
    }
}

/// Ports Zeek considers likely to be servers: a first packet *from* one of them (without
/// a clean SYN) makes Zeek swap the roles.
const LIKELY_SERVER_PORTS: &[u16] = &[
    21, 22, 23, 25, 53, 67, 69, 80, 81, 88, 110, 111, 123, 135, 137, 138, 139, 143, 161, 162, 389,
    443, 445, 465, 502, 514, 563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1812,
    1813, 2049, 2123, 2152, 2811, 3128, 3138, 3268, 3306, 3389, 3544, 4789, 5060, 5222, 5223, 5269,
    5353, 5355, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
];

fn is_group_address(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.is_broadcast() || v4.is_multicast(),
        IpAddr::V6(v6) => v6.is_multicast(),
    }
}

fn likely_server_port(port: u16) -> bool {
    LIKELY_SERVER_PORTS.binary_search(&port).is_ok()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Attempt,
    Inactivity,
    Delete,
    /// Zeek's DNS analyzer ends a UDP DNS session idle for `dns_session_timeout`.
    DnsSession,
}

/// Distinct outer flows remembered per tunnelled connection.
const MAX_TUNNEL_PARENTS: usize = 16;

/// Ports where Zeek attaches its DNS analyzer to UDP traffic.
const DNS_UDP_PORTS: &[u16] = &[53, 137, 5353, 5355];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Timestamp,
    serial: u64,
    epoch: u32,
    slot: u32,
    kind: TimerKind,
}

impl DueAt for Timer {
    fn due_micros(&self) -> i64 {
        self.at.0
    }
}

struct Dissectors {
    attached: bool,
    /// Bytes were delivered already (the roles can no longer be questioned).
    delivered: bool,
    active: Vec<Box<dyn Dissector>>,
    /// Most connections confirm one service or none: kept inline, not allocated.
    services: SmallVec<[&'static str; 2]>,
}

/// Dissectors that panicked (a bug on hostile input): each is dropped from its
/// connection and counted, and the run goes on.
pub static DISSECTOR_FAILURES: AtomicU64 = AtomicU64::new(0);

impl Dissectors {
    fn deliver(
        &mut self,
        uid: Uid,
        id: &ConnId,
        ts: Timestamp,
        is_orig: bool,
        data: &[u8],
        out: &mut Vec<Record>,
    ) {
        self.each(uid, id, ts, out, |d, cx| d.deliver(cx, is_orig, data));
    }

    fn gap(
        &mut self,
        uid: Uid,
        id: &ConnId,
        ts: Timestamp,
        is_orig: bool,
        len: u64,
        out: &mut Vec<Record>,
    ) {
        self.each(uid, id, ts, out, |d, cx| d.gap(cx, is_orig, len));
    }

    /// Runs `call` on every active dissector and applies its verdict. A dissector that
    /// panics is treated as a protocol violation: dropped, counted, and the connection
    /// (and every other connection) goes on.
    fn each(
        &mut self,
        uid: Uid,
        id: &ConnId,
        ts: Timestamp,
        out: &mut Vec<Record>,
        mut call: impl FnMut(&mut dyn Dissector, &mut Context<'_>),
    ) {
        let mut i = 0;
        while i < self.active.len() {
            let mut cx = Context::new(uid, id, ts, out);
            let dissector = self.active[i].as_mut();
            let verdict = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                call(dissector, &mut cx)
            })) {
                Ok(()) => cx.verdict(),
                Err(_) => {
                    DISSECTOR_FAILURES.fetch_add(1, AtomicOrdering::Relaxed);
                    Verdict::Violation
                }
            };
            if self.settle(i, verdict) {
                i += 1;
            }
        }
    }

    /// Applies a dissector's verdict; returns false when it was removed.
    fn settle(&mut self, i: usize, verdict: Verdict) -> bool {
        match verdict {
            Verdict::Confirmed => {
                let name = self.active[i].service();
                if !self.services.contains(&name) {
                    self.services.push(name);
                }
                true
            }
            Verdict::Violation => {
                self.active.swap_remove(i);
                false
            }
            Verdict::Undecided => true,
        }
    }
}

/// Feeds reassembled TCP bytes to the connection's dissectors.
struct StreamDispatch<'a> {
    dissectors: &'a mut Dissectors,
    uid: Uid,
    id: &'a ConnId,
    ts: Timestamp,
    out: &'a mut Vec<Record>,
}

impl StreamSink for StreamDispatch<'_> {
    fn data(&mut self, is_orig: bool, data: &[u8]) {
        if !self.dissectors.active.is_empty() {
            self.dissectors
                .deliver(self.uid, self.id, self.ts, is_orig, data, self.out);
        }
    }

    fn gap(&mut self, is_orig: bool, len: u64) {
        if !self.dissectors.active.is_empty() {
            self.dissectors
                .gap(self.uid, self.id, self.ts, is_orig, len, self.out);
        }
    }
}

struct Conn {
    key: FlowKey,
    serial: u64,
    epoch: u32,
    uid: Uid,
    id: ConnId,
    ip_proto: u8,
    start: Timestamp,
    last: Timestamp,
    history: History,
    pkts: [u64; 2],
    ip_bytes: [u64; 2],
    /// Payload bytes (UDP, ICMP and other protocols; TCP sizes come from sequence numbers).
    payload: [u64; 2],
    tcp: Option<Box<TcpState>>,
    dissectors: Dissectors,
    inactivity: Option<Interval>,
    /// Bad-checksum counters and thresholds per direction (logarithmic `C`/`c`).
    bad_checksums: [(u32, u32); 2],
    /// Outer flows this connection was tunnelled through, with the first time each.
    tunnels: Vec<(FlowKey, Timestamp)>,
    carries_tunnel: bool,
    /// The interface of its first packet (index into `TrackerConfig::interfaces`).
    interface: Option<u16>,
}

/// A removed connection's tunnel details: its uid, the outer flows it came through, and
/// whether it carried a tunnel itself.
type RemovedTunnel = (Uid, Vec<(FlowKey, Timestamp)>, bool);

/// How a packet relates to a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelRole {
    None,
    /// The packet carries a tunnel (its connection may be named in `tunnel_parents`).
    Outer,
    /// The packet came out of the tunnel carried by this outer flow.
    Inner(FlowKey),
}

/// A record as it leaves a flow table: the network time it was produced at (what orders
/// the output, the way Zeek writes logs as connections end), and for a tunnelled
/// connection the outer flows still to be turned into `tunnel_parents` uids, since the
/// outer connection may be tracked by another worker.
#[derive(Debug)]
pub struct Emitted {
    pub at: Timestamp,
    pub record: Record,
    /// Outer flows with the time each was first used.
    pub tunnels: Vec<(FlowKey, Timestamp)>,
    /// The connection carried a tunnel.
    pub carries_tunnel: bool,
}

#[derive(Default, Debug, Clone, Copy)]
pub struct TableStats {
    pub packets: u64,
    pub connections: u64,
    pub evicted: u64,
    pub active: u64,
    /// Timers queued (live ones and those of ended connections not yet purged).
    pub timers: u64,
}

pub struct ConnTable {
    config: TrackerConfig,
    /// The slots of the live connections, found by the hash of their keys (the key is
    /// compared in the slot). Four bytes an entry where a map from key to slot took 48:
    /// the index of a table of 100,000 flows stays in the caches, and its lookup was
    /// the costliest step of a packet.
    index: HashTable<u32>,
    /// The random key of the index's hashes ([`FlowKey::index_hash`]).
    seed: u64,
    /// Connections boxed: a slot is written and cleared as one pointer (clearing an
    /// inline 400-byte connection copied a whole empty one over it), and the vector grows
    /// by copying pointers.
    slots: Vec<Option<Box<Conn>>>,
    free: Vec<u32>,
    timers: TimerWheel<Timer>,
    /// Queue length at which the timers of ended connections are purged.
    purge_timers_at: usize,
    next_serial: u64,
    stats: TableStats,
    /// Records produced and not yet taken, with their emission times.
    emitted: Vec<Emitted>,
    /// Reused buffer for the records of one step.
    scratch: Vec<Record>,
    /// Tunnel details of connections just removed, until their records are tagged.
    removed_tunnels: Vec<RemovedTunnel>,
    /// The interface of the packets processed next (see [`ConnTable::set_interface`]).
    interface: Option<u16>,
}

/// A seed no two processes share (the standard library's random hasher keys).
fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
}

/// The timer queue is never purged below this length.
const MIN_TIMER_PURGE: usize = 4096;

impl ConnTable {
    pub fn new(config: TrackerConfig) -> Self {
        ConnTable {
            config,
            index: HashTable::new(),
            seed: random_seed(),
            slots: Vec::new(),
            free: Vec::new(),
            timers: TimerWheel::default(),
            purge_timers_at: MIN_TIMER_PURGE,
            next_serial: 0,
            stats: TableStats::default(),
            emitted: Vec::new(),
            scratch: Vec::new(),
            removed_tunnels: Vec::new(),
            interface: None,
        }
    }

    /// The interface the next packets come from (an index into
    /// `TrackerConfig::interfaces`): a connection they start is tagged with it.
    pub fn set_interface(&mut self, interface: Option<u16>) {
        self.interface = interface;
    }

    pub fn stats(&self) -> TableStats {
        TableStats {
            active: self.index.len() as u64,
            timers: self.timers.len() as u64,
            ..self.stats
        }
    }

    /// Runs the timers due at `now` (network time), as Zeek does before each packet.
    pub fn advance(&mut self, now: Timestamp) {
        while let Some(t) = self.timers.pop_due(now.0) {
            let mut scratch = std::mem::take(&mut self.scratch);
            self.fire(t, &mut scratch);
            self.emit(t.at, scratch);
        }
    }

    /// Tags the records of one step with their emission time.
    fn emit(&mut self, at: Timestamp, mut records: Vec<Record>) {
        for record in records.drain(..) {
            let (tunnels, carries_tunnel) = match &record {
                Record::Conn(c) if !self.removed_tunnels.is_empty() => {
                    match self
                        .removed_tunnels
                        .iter()
                        .position(|(uid, _, _)| *uid == c.uid)
                    {
                        Some(i) => {
                            let (_, t, carries) = self.removed_tunnels.swap_remove(i);
                            (t, carries)
                        }
                        None => (Vec::new(), false),
                    }
                }
                _ => (Vec::new(), false),
            };
            self.emitted.push(Emitted {
                at,
                record,
                tunnels,
                carries_tunnel,
            });
        }
        self.scratch = records;
    }

    /// Moves the records produced so far into `into`, in emission order.
    pub fn take_emitted(&mut self, into: &mut Vec<Emitted>) {
        into.append(&mut self.emitted);
    }

    fn fire(&mut self, t: Timer, out: &mut Vec<Record>) {
        let Some(Some(conn)) = self.slots.get(t.slot as usize) else {
            return;
        };
        if conn.serial != t.serial || conn.epoch != t.epoch {
            return;
        }
        match t.kind {
            TimerKind::Attempt => {
                let Some(tcp) = conn.tcp.as_ref() else { return };
                if matches!(
                    tcp.orig().state,
                    EndpointState::SynSent | EndpointState::SynAckSent
                ) && tcp.resp().state == EndpointState::Inactive
                {
                    self.remove(t.slot, out);
                }
            }
            TimerKind::Inactivity => {
                let Some(timeout) = conn.inactivity else {
                    return;
                };
                let due = conn.last.saturating_add(timeout);
                if due <= t.at {
                    self.remove(t.slot, out);
                } else {
                    let (serial, epoch) = (conn.serial, conn.epoch);
                    self.push_timer(due, serial, epoch, t.slot, TimerKind::Inactivity);
                }
            }
            TimerKind::Delete => self.remove(t.slot, out),
            TimerKind::DnsSession => {
                let timeout = self.config.dns_session_timeout;
                // Zeek allows one second of slack when checking.
                if t.at.saturating_sub(conn.last).0 >= timeout.0 - 1_000_000 {
                    self.remove(t.slot, out);
                } else {
                    let (serial, epoch) = (conn.serial, conn.epoch);
                    self.push_timer(
                        t.at.saturating_add(timeout),
                        serial,
                        epoch,
                        t.slot,
                        TimerKind::DnsSession,
                    );
                }
            }
        }
    }

    fn push_timer(&mut self, at: Timestamp, serial: u64, epoch: u32, slot: u32, kind: TimerKind) {
        // Timers of ended connections stay queued until due: a flood of short-lived flows
        // would grow the queue without bound. Drop them once the queue doubled since the
        // last purge (amortized constant work per timer).
        if self.timers.len() >= self.purge_timers_at {
            let slots = &self.slots;
            self.timers.retain(|t| {
                matches!(slots.get(t.slot as usize), Some(Some(c)) if c.serial == t.serial && c.epoch == t.epoch)
            });
            self.purge_timers_at = (2 * self.timers.len()).max(MIN_TIMER_PURGE);
        }
        self.timers.push(Timer {
            at,
            serial,
            epoch,
            slot,
            kind,
        });
    }

    /// Processes one decoded packet; `bytes` are the bytes `d` was decoded from, and
    /// `tunnel` the outer flow when the packet came out of a tunnel.
    ///
    /// `clock` is network time (never going back, the same for every worker), `ts` the
    /// packet's own time.
    pub fn process(
        &mut self,
        clock: Timestamp,
        ts: Timestamp,
        d: &Decoded,
        bytes: &[u8],
        tunnel: TunnelRole,
    ) {
        self.advance(clock);
        let mut scratch = std::mem::take(&mut self.scratch);
        self.process_packet(ts, d, bytes, tunnel, &mut scratch);
        self.emit(clock, scratch);
    }

    fn process_packet(
        &mut self,
        ts: Timestamp,
        d: &Decoded,
        bytes: &[u8],
        tunnel: TunnelRole,
        out: &mut Vec<Record>,
    ) {
        self.stats.packets += 1;
        if let L4::Arp(arp) = d.l4 {
            out.push(arp_record(ts, d, &arp).into());
            return;
        }
        let key = FlowKey::of(d);
        // Hashed once: a new connection is entered under the hash it was looked up by.
        let hash = key.index_hash(self.seed);
        let slot = match self.find(&key, hash) {
            Some(slot) if self.is_tcp_reuse(slot, d) => {
                self.remove(slot, out);
                self.create(key, hash, ts, d, out)
            }
            Some(slot) => slot,
            None => self.create(key, hash, ts, d, out),
        };
        if let Some(Some(conn)) = self.slots.get_mut(slot as usize) {
            match tunnel {
                TunnelRole::Inner(outer) => {
                    if !conn.tunnels.iter().any(|(k, _)| *k == outer)
                        && conn.tunnels.len() < MAX_TUNNEL_PARENTS
                    {
                        conn.tunnels.push((outer, ts));
                    }
                }
                TunnelRole::Outer => conn.carries_tunnel = true,
                TunnelRole::None => {}
            }
        }
        self.update(slot, ts, d, bytes, out);
    }

    /// The slot of the live connection with `key`, whose index hash is `hash`.
    fn find(&self, key: &FlowKey, hash: u64) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(
                hash,
                |&s| matches!(&slots[s as usize], Some(c) if c.key == *key),
            )
            .copied()
    }

    fn is_tcp_reuse(&self, slot: u32, d: &Decoded) -> bool {
        let (Some(Some(conn)), L4::Tcp { flags, seq, .. }) = (self.slots.get(slot as usize), d.l4)
        else {
            return false;
        };
        let Some(tcp) = conn.tcp.as_ref() else {
            return false;
        };
        let closed = tcp.orig().did_close || tcp.resp().did_close;
        tcp.is_reuse(flags, seq, closed)
    }

    fn create(
        &mut self,
        key: FlowKey,
        hash: u64,
        ts: Timestamp,
        d: &Decoded,
        out: &mut Vec<Record>,
    ) -> u32 {
        if self.index.len() >= self.config.max_connections {
            self.evict_oldest(out);
        }
        let flip = match d.l4 {
            L4::Tcp { flags, .. } => {
                let partial = !flags.syn() || flags.ack();
                partial
                    && likely_server_port(d.src_port)
                    && (!likely_server_port(d.dst_port)
                        || (!flags.syn() && d.src_port < d.dst_port))
            }
            // A reply to broadcast or multicast keeps its direction: there is no server
            // on the other side to turn into the originator.
            L4::Udp => {
                likely_server_port(d.src_port)
                    && !likely_server_port(d.dst_port)
                    && !is_group_address(d.dst)
            }
            _ => false,
        };
        let (orig_h, orig_p, resp_h, resp_p) = if flip {
            (d.dst, d.dst_port, d.src, d.src_port)
        } else {
            (d.src, d.src_port, d.dst, d.dst_port)
        };
        let proto = match d.l4 {
            L4::Tcp { .. } => Transport::Tcp,
            L4::Udp => Transport::Udp,
            L4::Icmp { .. } => Transport::Icmp,
            L4::Other | L4::Arp(_) => Transport::Unknown,
        };
        let id = ConnId {
            orig_h,
            orig_p,
            resp_h,
            resp_p,
            proto,
        };
        let mut history = History::default();
        if flip {
            history.push(b'^');
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        let uid = Uid::connection(dissectors::uid::mix96(&[
            key.shard_hash(),
            ts.0 as u64,
            u64::from(key.lo_port) << 16 | u64::from(key.hi_port),
        ]));
        let inactivity = match proto {
            // TCP times out on inactivity only once the handshake is over.
            Transport::Tcp => None,
            Transport::Udp => Some(self.config.udp_inactivity),
            Transport::Icmp => Some(self.config.icmp_inactivity),
            Transport::Unknown => Some(self.config.unknown_inactivity),
        };
        let conn = Conn {
            key,
            serial,
            epoch: 0,
            uid,
            id,
            ip_proto: d.ip_proto,
            start: ts,
            last: ts,
            history,
            pkts: [0; 2],
            ip_bytes: [0; 2],
            payload: [0; 2],
            tcp: (proto == Transport::Tcp).then(|| {
                Box::new(TcpState::new(
                    self.config.dissect,
                    self.config.max_reassembly_per_direction,
                ))
            }),
            dissectors: Dissectors {
                attached: !self.config.dissect,
                delivered: false,
                active: Vec::new(),
                services: SmallVec::new(),
            },
            inactivity,
            bad_checksums: [(0, 1); 2],
            tunnels: Vec::new(),
            carries_tunnel: false,
            interface: self.interface,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(Box::new(conn));
                s
            }
            None => {
                self.slots.push(Some(Box::new(conn)));
                (self.slots.len() - 1) as u32
            }
        };
        let (slots, seed) = (&self.slots, self.seed);
        self.index
            .insert_unique(hash, slot, |&s| match &slots[s as usize] {
                Some(c) => c.key.index_hash(seed),
                None => 0,
            });
        self.stats.connections += 1;
        if let Some(timeout) = inactivity {
            self.push_timer(
                ts.saturating_add(timeout),
                serial,
                0,
                slot,
                TimerKind::Inactivity,
            );
        }
        if proto == Transport::Udp && self.config.dissect && DNS_UDP_PORTS.contains(&resp_p) {
            let at = ts.saturating_add(self.config.dns_session_timeout);
            self.push_timer(at, serial, 0, slot, TimerKind::DnsSession);
        }
        slot
    }

    /// At the cap: ends the connections idle the longest (their records are written like
    /// any other's). A scan of the table per new flow would let a flood of new flows cost
    /// time proportional to the table per packet, so one scan evicts 1/64 of the cap.
    fn evict_oldest(&mut self, out: &mut Vec<Record>) {
        let batch = (self.config.max_connections / 64).max(1);
        let mut idle: Vec<(Timestamp, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (c.last, i as u32)))
            .collect();
        if idle.len() > batch {
            idle.select_nth_unstable(batch - 1);
            idle.truncate(batch);
        }
        idle.sort_unstable();
        for (_, slot) in idle {
            self.remove(slot, out);
            self.stats.evicted += 1;
        }
    }

    fn update(
        &mut self,
        slot: u32,
        ts: Timestamp,
        d: &Decoded,
        bytes: &[u8],
        out: &mut Vec<Record>,
    ) {
        let config_close = self.config.tcp_close_delay;
        let config_attempt = self.config.tcp_attempt_delay;
        let config_tcp_inactivity = self.config.tcp_inactivity;
        let verify_checksums = self.config.verify_checksums;
        let Some(Some(conn)) = self.slots.get_mut(slot as usize) else {
            return;
        };
        if !conn.dissectors.attached && d.payload_len > 0 {
            conn.dissectors.attached = true;
            // Like Zeek, no application analysis of TCP picked up midstream (no SYN seen).
            let midstream = match (&conn.tcp, d.l4) {
                (Some(tcp), L4::Tcp { flags, .. }) => {
                    if tcp.packets_seen() {
                        tcp.is_partial()
                    } else {
                        !flags.syn()
                    }
                }
                _ => false,
            };
            if !midstream {
                conn.dissectors.active = dpd::dissectors_for(&conn.id);
            }
        }
        let mut is_orig = (d.src, d.src_port) == (conn.id.orig_h, conn.id.orig_p);
        if verify_checksums && !transport_checksum_ok(bytes, d) {
            // Zeek drops the packet after noting it in the history.
            let (count, threshold) = &mut conn.bad_checksums[usize::from(!is_orig)];
            conn.history.scaled(is_orig, b'C', count, threshold);
            return;
        }
        let payload = d.payload(bytes);
        if d.l4 == L4::Udp
            && !conn.dissectors.delivered
            && !payload.is_empty()
            && conn
                .dissectors
                .active
                .iter()
                .any(|x| x.roles_reversed(&conn.id, is_orig, payload))
        {
            std::mem::swap(&mut conn.id.orig_h, &mut conn.id.resp_h);
            std::mem::swap(&mut conn.id.orig_p, &mut conn.id.resp_p);
            conn.pkts.swap(0, 1);
            conn.ip_bytes.swap(0, 1);
            conn.payload.swap(0, 1);
            conn.history.push(b'^');
            is_orig = !is_orig;
        }
        let dir = usize::from(!is_orig);
        conn.pkts[dir] += 1;
        conn.ip_bytes[dir] += u64::from(d.ip_len);

        let mut new_timers: [Option<(Timestamp, TimerKind)>; 3] = [None; 3];
        match d.l4 {
            L4::Tcp {
                seq,
                ack,
                flags,
                window,
            } => {
                let Some(tcp) = conn.tcp.as_mut() else { return };
                let seg = Segment {
                    flags,
                    seq,
                    ack,
                    window,
                    len: d.payload_len,
                    payload,
                };
                let mut touch = false;
                let mut sink = StreamDispatch {
                    dissectors: &mut conn.dissectors,
                    uid: conn.uid,
                    id: &conn.id,
                    ts,
                    out,
                };
                let actions = tcp.process(is_orig, &seg, &mut conn.history, &mut touch, &mut sink);
                if touch {
                    conn.last = ts;
                }
                if actions.flip_roles {
                    tcp.flip();
                    std::mem::swap(&mut conn.id.orig_h, &mut conn.id.resp_h);
                    std::mem::swap(&mut conn.id.orig_p, &mut conn.id.resp_p);
                    conn.pkts.swap(0, 1);
                    conn.ip_bytes.swap(0, 1);
                    conn.history.push(b'^');
                }
                if actions.attempt_timer {
                    new_timers[0] = Some((ts.saturating_add(config_attempt), TimerKind::Attempt));
                }
                if actions.inactivity_timer && conn.inactivity.is_none() {
                    conn.inactivity = Some(config_tcp_inactivity);
                    new_timers[1] = Some((
                        conn.last.saturating_add(config_tcp_inactivity),
                        TimerKind::Inactivity,
                    ));
                }
                if actions.closed == Some(Close::Complete) {
                    // Zeek cancels the connection's other timers and deletes it after
                    // `tcp_close_delay`.
                    conn.epoch += 1;
                    new_timers = [None; 3];
                    new_timers[2] =
                        Some((conn.last.saturating_add(config_close), TimerKind::Delete));
                }
            }
            L4::Udp | L4::Icmp { .. } | L4::Other | L4::Arp(_) => {
                conn.last = ts;
                conn.payload[dir] += u64::from(d.payload_len);
                if d.l4 == L4::Udp {
                    conn.history.check(is_orig, mask::DATA, b'D');
                }
                if !payload.is_empty() && !conn.dissectors.active.is_empty() {
                    conn.dissectors
                        .deliver(conn.uid, &conn.id, ts, is_orig, payload, out);
                }
            }
        }
        let (serial, epoch) = (conn.serial, conn.epoch);
        for (at, kind) in new_timers.into_iter().flatten() {
            self.push_timer(at, serial, epoch, slot, kind);
        }
    }

    /// Ends a connection: its dissectors finish and its conn record is written.
    fn remove(&mut self, slot: u32, out: &mut Vec<Record>) {
        // The connection is finished where it lies and dropped there: moving it out of
        // its slot would copy the whole state (hundreds of bytes) once per connection.
        let Some(Some(conn)) = self.slots.get_mut(slot as usize) else {
            return;
        };
        self.free.push(slot);
        let hash = conn.key.index_hash(self.seed);
        if let Ok(entry) = self.index.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
        for d in conn.dissectors.active.iter_mut() {
            let mut cx = Context::new(conn.uid, &conn.id, conn.last, out);
            let finished =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.finish(&mut cx)));
            if finished.is_err() {
                DISSECTOR_FAILURES.fetch_add(1, AtomicOrdering::Relaxed);
                continue;
            }
            if cx.verdict() == Verdict::Confirmed {
                let name = d.service();
                if !conn.dissectors.services.contains(&name) {
                    conn.dissectors.services.push(name);
                }
            }
        }
        if !conn.tunnels.is_empty() || conn.carries_tunnel {
            let tunnels = std::mem::take(&mut conn.tunnels);
            self.removed_tunnels
                .push((conn.uid, tunnels, conn.carries_tunnel));
        }
        if let Some(Some(conn)) = self.slots.get(slot as usize) {
            out.push(Record::Conn(Box::new(self.conn_record(conn))));
        }
        self.slots[slot as usize] = None;
    }

    /// Out-of-order TCP payload bytes held for the dissectors, over all connections
    /// (each direction holds at most `max_reassembly_per_direction`).
    pub fn buffered_bytes(&self) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter_map(|c| c.tcp.as_deref())
            .map(|t| t.orig().reassembler.buffered_bytes() + t.resp().reassembler.buffered_bytes())
            .sum()
    }

    /// Ends every connection (end of input or shutdown).
    pub fn flush(&mut self) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for slot in 0..self.slots.len() as u32 {
            self.remove(slot, &mut scratch);
        }
        self.timers.clear();
        self.emit(Timestamp(i64::MAX), scratch);
    }

    fn conn_record(&self, c: &Conn) -> ConnRecord {
        let duration = c.last.saturating_sub(c.start);
        let has_duration = duration.0 > 0;
        let (orig_bytes, resp_bytes, state, missed) = match c.tcp.as_deref() {
            Some(tcp) => (
                tcp.orig().size(tcp.resp().state),
                tcp.resp().size(tcp.orig().state),
                tcp_conn_state(tcp, &c.history),
                tcp.missed_bytes,
            ),
            None => {
                let state = if c.id.proto == Transport::Udp {
                    match (c.pkts[0] > 0, c.pkts[1] > 0) {
                        (true, true) => ConnState::SF,
                        (true, false) => ConnState::S0,
                        (false, true) => ConnState::SHR,
                        (false, false) => ConnState::OTH,
                    }
                } else {
                    ConnState::OTH
                };
                (c.payload[0], c.payload[1], state, 0)
            }
        };
        let local = |a: IpAddr| {
            if self.config.local_nets.is_empty() {
                None
            } else {
                Some(self.config.local_nets.contains(a))
            }
        };
        ConnRecord {
            ts: c.start,
            uid: c.uid,
            id: c.id,
            service: (!c.dissectors.services.is_empty()).then(|| c.dissectors.services.join(",")),
            duration: has_duration.then_some(duration),
            orig_bytes: has_duration.then_some(orig_bytes),
            resp_bytes: has_duration.then_some(resp_bytes),
            conn_state: state,
            local_orig: local(c.id.orig_h),
            local_resp: local(c.id.resp_h),
            missed_bytes: missed,
            history: (!c.history.is_empty()).then(|| c.history.to_string_lossy()),
            orig_pkts: c.pkts[0],
            orig_ip_bytes: c.ip_bytes[0],
            resp_pkts: c.pkts[1],
            resp_ip_bytes: c.ip_bytes[1],
            tunnel_parents: None,
            ip_proto: Some(c.ip_proto),
            interface: c
                .interface
                .and_then(|i| self.config.interfaces.get(usize::from(i)).cloned()),
            ground_truth: None,
        }
    }
}

/// The arp.log row of one ARP message.
fn arp_record(ts: Timestamp, d: &Decoded, arp: &ArpFields) -> ArpRecord {
    let mac = |m: &[u8; 6]| {
        format!(
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    };
    ArpRecord {
        ts,
        operation: if arp.operation == 2 {
            ArpOperation::Reply
        } else {
            ArpOperation::Request
        },
        src_mac: mac(&arp.frame_src),
        dst_mac: mac(&arp.frame_dst),
        orig_h: d.src,
        resp_h: d.dst,
        orig_hw: mac(&arp.sender_hw),
        resp_hw: mac(&arp.target_hw),
    }
}

/// Zeek's `conn_state` for a TCP connection, from its endpoint states.
fn tcp_conn_state(tcp: &TcpState, history: &History) -> ConnState {
    use EndpointState as S;
    let (os, rs) = (tcp.orig().state, tcp.resp().state);
    let inactive = |s: EndpointState| matches!(s, S::Inactive | S::Partial);
    if rs == S::Reset {
        if matches!(os, S::SynSent | S::SynAckSent)
            || (os == S::Reset && tcp.orig().size(rs) == 0 && tcp.resp().size(os) == 0)
        {
            ConnState::REJ
        } else if inactive(os) {
            ConnState::RSTRH
        } else {
            ConnState::RSTR
        }
    } else if os == S::Reset {
        if inactive(rs) {
            if history.is_syn_then_rst() {
                ConnState::RSTOS0
            } else {
                ConnState::OTH
            }
        } else {
            ConnState::RSTO
        }
    } else if rs == S::Closed && os == S::Closed {
        ConnState::SF
    } else if os == S::Closed {
        if inactive(rs) {
            ConnState::SH
        } else {
            ConnState::S2
        }
    } else if rs == S::Closed {
        if inactive(os) {
            ConnState::SHR
        } else {
            ConnState::S3
        }
    } else if os == S::SynSent && rs == S::Inactive {
        ConnState::S0
    } else if os == S::Established && rs == S::Established {
        ConnState::S1
    } else {
        ConnState::OTH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dissector with a bug: it panics on any byte.
    struct Panicking;

    impl Dissector for Panicking {
        fn service(&self) -> &'static str {
            "buggy"
        }
        fn deliver(&mut self, _cx: &mut Context<'_>, _is_orig: bool, _data: &[u8]) {
            panic!("dissector bug");
        }
        fn finish(&mut self, _cx: &mut Context<'_>) {}
    }

    /// A dissector that confirms its protocol on the first bytes.
    struct Confirming;

    impl Dissector for Confirming {
        fn service(&self) -> &'static str {
            "good"
        }
        fn deliver(&mut self, cx: &mut Context<'_>, _is_orig: bool, _data: &[u8]) {
            cx.confirm();
        }
        fn finish(&mut self, _cx: &mut Context<'_>) {}
    }

    #[test]
    fn a_panicking_dissector_is_dropped_and_counted_and_the_others_go_on() {
        let mut set = Dissectors {
            attached: true,
            delivered: false,
            active: vec![Box::new(Panicking), Box::new(Confirming)],
            services: SmallVec::new(),
        };
        let id = ConnId {
            orig_h: "10.0.0.1".parse().unwrap(),
            orig_p: 1,
            resp_h: "10.0.0.2".parse().unwrap(),
            resp_p: 2,
            proto: Transport::Tcp,
        };
        let before = DISSECTOR_FAILURES.load(AtomicOrdering::Relaxed);
        let mut out = Vec::new();
        // The default hook would print the panic; keep the test output clean.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        set.deliver(Uid::connection(1), &id, Timestamp(1), true, b"x", &mut out);
        std::panic::set_hook(hook);
        assert_eq!(set.active.len(), 1);
        assert_eq!(set.active[0].service(), "good");
        assert_eq!(set.services.as_slice(), ["good"]);
        assert!(DISSECTOR_FAILURES.load(AtomicOrdering::Relaxed) > before);
    }
}
