//! Merging the records of N workers into one deterministic stream.
//!
//! Every record carries the network time it was produced at (a connection's record when
//! it ends, as Zeek writes its logs). Each worker reports a watermark: the network time
//! up to which it has processed everything, so none of its later records is older. A
//! record older than every worker's watermark is final and is released, ordered by
//! (emission time, record time, kind, connection uid); records of one connection come
//! from one worker and keep their relative order. The result does not depend on how
//! many workers there are or how they were scheduled.

use std::net::IpAddr;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use dissectors::output::OutputStage;
use dissectors::{Record, Timestamp, Uid};
use hashbrown::HashMap;

use crate::flow::{Emitted, FlowKey};

/// A waiting record's place in the order, and where the record itself is kept.
struct Pending {
    key: (Timestamp, Timestamp, u8, u128, u64),
    slot: u32,
}

// Ordered by key alone (the sequence number makes keys unique), so that the pending
// records form a heap: releasing takes the smallest first, without sorting them all.
// The heap holds only keys: a record is 600 bytes, and the heap moves its entries a
// dozen times each; moving the records with them was a seventh of the merge's time.
impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// Where released records go, after the cross-connection aggregation of the logs.
pub struct Merger<'s> {
    watermarks: Vec<Timestamp>,
    pending: BinaryHeap<Reverse<Pending>>,
    /// The records the heap's keys point at; `None` marks a free slot.
    slots: Vec<Option<Emitted>>,
    free: Vec<u32>,
    sequence: u64,
    stage: OutputStage,
    sink: &'s mut (dyn FnMut(Record) + Send),
    /// Connections that carried a tunnel, to name them in `tunnel_parents`.
    outer: HashMap<FlowKey, Vec<(Timestamp, Uid)>>,
    /// Tunnelled connections whose outer connection has not ended yet.
    waiting: Vec<Emitted>,
    scratch: Vec<Record>,
}

/// Outer connections remembered per flow key (a tunnel endpoint reused many times keeps
/// only its latest connections).
const MAX_OUTER_PER_KEY: usize = 64;

impl<'s> Merger<'s> {
    pub fn new(sources: usize, sink: &'s mut (dyn FnMut(Record) + Send)) -> Self {
        Merger {
            watermarks: vec![Timestamp(i64::MIN); sources],
            pending: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            sequence: 0,
            stage: OutputStage::new(),
            sink,
            outer: HashMap::new(),
            waiting: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Records of `source`, in the order it produced them, and its new watermark.
    pub fn add(&mut self, source: usize, records: &mut Vec<Emitted>, watermark: Timestamp) {
        for item in records.drain(..) {
            let (kind, uid) = tiebreak(&item.record);
            self.sequence += 1;
            let key = (item.at, item.record.ts(), kind, uid, self.sequence);
            let slot = match self.free.pop() {
                Some(slot) => {
                    self.slots[slot as usize] = Some(item);
                    slot
                }
                None => {
                    self.slots.push(Some(item));
                    (self.slots.len() - 1) as u32
                }
            };
            self.pending.push(Reverse(Pending { key, slot }));
        }
        if let Some(w) = self.watermarks.get_mut(source) {
            *w = (*w).max(watermark);
        }
        self.release(false);
    }

    /// Every source is done: releases everything.
    pub fn finish(&mut self) {
        self.watermarks
            .iter_mut()
            .for_each(|w| *w = Timestamp(i64::MAX));
        self.release(true);
        // Outer connections never seen (cut off by a capture fault): keep what is known.
        for item in std::mem::take(&mut self.waiting) {
            self.deliver(item);
        }
        self.stage.finish(&mut self.scratch);
        for r in self.scratch.drain(..) {
            (self.sink)(r);
        }
    }

    fn release(&mut self, all: bool) {
        let horizon = self
            .watermarks
            .iter()
            .copied()
            .min()
            .unwrap_or(Timestamp(i64::MAX));
        while let Some(Reverse(first)) = self.pending.peek() {
            if !all && first.key.0 >= horizon {
                break;
            }
            let Some(Reverse(p)) = self.pending.pop() else {
                break;
            };
            let item = self.slots[p.slot as usize].take();
            self.free.push(p.slot);
            if let Some(item) = item {
                self.route(item);
            }
        }
    }

    fn route(&mut self, item: Emitted) {
        if item.carries_tunnel {
            if let Record::Conn(c) = &item.record {
                let key = FlowKey::between(
                    (c.id.orig_h, c.id.orig_p),
                    (c.id.resp_h, c.id.resp_p),
                    c.ip_proto.unwrap_or(0),
                );
                let list = self.outer.entry(key).or_default();
                if list.len() >= MAX_OUTER_PER_KEY {
                    list.remove(0);
                }
                list.push((c.ts, c.uid));
            }
        }
        if !item.tunnels.is_empty() {
            self.waiting.push(item);
            self.retry_waiting();
            return;
        }
        let carried = item.carries_tunnel;
        self.deliver(item);
        if carried && !self.waiting.is_empty() {
            self.retry_waiting();
        }
    }

    /// Releases tunnelled connections whose every outer connection is known.
    fn retry_waiting(&mut self) {
        let mut i = 0;
        while i < self.waiting.len() {
            let resolved = self.waiting[i]
                .tunnels
                .iter()
                .all(|(key, ts)| self.outer_uid(key, *ts).is_some());
            if resolved {
                let item = self.waiting.swap_remove(i);
                self.deliver(item);
            } else {
                i += 1;
            }
        }
    }

    /// The outer connection of flow `key` that had started by `ts` (the latest such).
    fn outer_uid(&self, key: &FlowKey, ts: Timestamp) -> Option<Uid> {
        self.outer
            .get(key)?
            .iter()
            .filter(|(start, _)| *start <= ts)
            .max_by_key(|(start, _)| *start)
            .map(|(_, uid)| *uid)
    }

    fn deliver(&mut self, mut item: Emitted) {
        // Usually done already, beside the flow tables; whatever is left is done here.
        item.record.finish_deferred();
        if !item.tunnels.is_empty() {
            if let Record::Conn(c) = &mut item.record {
                let mut parents: Vec<Uid> = Vec::new();
                for (key, ts) in &item.tunnels {
                    if let Some(uid) = self.outer_uid(key, *ts) {
                        if !parents.contains(&uid) {
                            parents.push(uid);
                        }
                    }
                }
                if !parents.is_empty() {
                    c.tunnel_parents = Some(parents);
                }
            }
        }
        self.stage.push(item.record, &mut self.scratch);
        for r in self.scratch.drain(..) {
            (self.sink)(r);
        }
    }
}

/// Orders records produced at the same instant: by kind, then by their connection.
fn tiebreak(r: &Record) -> (u8, u128) {
    let host = |a: IpAddr, p: u16| match a {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 16) | u128::from(p),
        IpAddr::V6(v6) => u128::from(v6) ^ u128::from(p),
    };
    match r {
        Record::Conn(c) => (0, c.uid.bits),
        Record::Dns(d) => (1, d.uid.bits),
        Record::Http(h) => (2, h.uid.bits),
        Record::Ssl(s) => (3, s.uid.bits),
        Record::Ssh(s) => (4, s.uid.bits),
        Record::Files(f) => (5, f.uid.map_or(0, |u| u.bits)),
        Record::X509(x) => (6, x.uid.bits),
        Record::DhcpMessage(m) => (7, m.uid.bits),
        Record::SoftwareFound(s) => (8, host(s.host, s.host_p.unwrap_or(0))),
        Record::Software(s) => (9, host(s.host, s.host_p.unwrap_or(0))),
        Record::Dhcp(d) => (10, d.uids.first().map_or(0, |u| u.bits)),
        Record::Smtp(s) => (11, s.uid.bits),
        Record::Tunnel(t) => (12, t.uid.bits),
        Record::Arp(a) => (13, host(a.orig_h, 0) ^ host(a.resp_h, 0).rotate_left(64)),
        Record::Login(l) => (15, l.uid.bits),
        Record::Notice(_) | Record::Weird(_) => (14, 0),
    }
}
