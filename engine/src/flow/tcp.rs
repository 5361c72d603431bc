//! TCP endpoint tracking with Zeek's semantics: endpoint states, sequence-space sizes,
//! history letters and content gaps. The logic follows the behaviour of Zeek's TCP
//! session analyzer so that conn.log agrees with Zeek's.

use super::history::{mask, History};
use super::reassembly::{Chunk, Reassembler};
use crate::decode::TcpFlags;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointState {
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

use EndpointState as S;

fn is_handshake(s: EndpointState) -> bool {
    matches!(s, S::Inactive | S::SynSent | S::SynAckSent)
}

/// A sequence-number jump larger than this in a SYN or RST is not trusted.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

pub struct Endpoint {
    pub state: EndpointState,
    pub prev_state: EndpointState,
    start_seq: u32,
    last_seq: u32,
    seq_wraps: u32,
    ack_seq: u32,
    ack_wraps: u32,
    fin_cnt: u32,
    fin_seq: u64,
    pub did_close: bool,
    hist_last_syn: u64,
    hist_last_fin: u64,
    hist_last_rst: u64,
    gap_cnt: u32,
    gap_thresh: u32,
    rxmt_cnt: u32,
    rxmt_thresh: u32,
    win0_cnt: u32,
    win0_thresh: u32,
    pub reassembler: Reassembler,
}

impl Endpoint {
    fn new(keep_data: bool, max_buffered: usize) -> Self {
        Endpoint {
            state: S::Inactive,
            prev_state: S::Inactive,
            start_seq: 0,
            last_seq: 0,
            seq_wraps: 0,
            ack_seq: 0,
            ack_wraps: 0,
            fin_cnt: 0,
            fin_seq: 0,
            did_close: false,
            hist_last_syn: 0,
            hist_last_fin: 0,
            hist_last_rst: 0,
            gap_cnt: 0,
            gap_thresh: 1,
            rxmt_cnt: 0,
            rxmt_thresh: 1,
            win0_cnt: 0,
            win0_thresh: 1,
            reassembler: Reassembler::new(keep_data, max_buffered),
        }
    }

    fn full(seq: u32, wraps: u32) -> u64 {
        (u64::from(wraps) << 32) | u64::from(seq)
    }

    fn init_seqs(&mut self, start: u32, last: u32) {
        self.start_seq = start;
        self.ack_seq = start;
        self.last_seq = last;
    }

    fn update_last_seq_value(&mut self, seq: u32) {
        if seq < self.last_seq {
            self.seq_wraps += 1;
        }
        self.last_seq = seq;
    }

    fn update_ack_seq_value(&mut self, seq: u32) {
        if seq < self.ack_seq {
            self.ack_wraps += 1;
        }
        self.ack_seq = seq;
    }

    fn to_relative(&self, seq: u32, wraps: u32) -> u64 {
        Self::full(seq, wraps).wrapping_sub(u64::from(self.start_seq))
    }

    fn no_data_acked(&self) -> bool {
        let ack = Self::full(self.ack_seq, self.ack_wraps);
        let start = u64::from(self.start_seq);
        ack == start || ack == start + 1
    }

    /// Bytes sent, from sequence numbers (Zeek's `TCP_Endpoint::Size`).
    pub fn size(&self, peer_state: EndpointState) -> u64 {
        if self.prev_state == S::SynSent
            && self.state == S::Reset
            && peer_state == S::Inactive
            && !self.no_data_acked()
        {
            return 0;
        }
        let last = Self::full(self.last_seq, self.seq_wraps);
        let ack = Self::full(self.ack_seq, self.ack_wraps);
        // The SYN and FIN each take one sequence number but carry no data.
        let mut size = last
            .max(ack)
            .wrapping_sub(u64::from(self.start_seq))
            .saturating_sub(1);
        if self.fin_cnt > 0 {
            size = size.saturating_sub(1);
        }
        size
    }

    fn relative_seq(&self, cur: u32, last: u32, mut wraps: u32, underflow: &mut bool) -> u64 {
        let delta = seq_delta(cur, last);
        if delta < 0 {
            if wraps > 0 && cur > last {
                wraps -= 1;
            }
        } else if delta > 0 && cur < last {
            wraps += 1;
        }
        if wraps == 0 {
            let d = seq_delta(cur, self.start_seq);
            if d < 0 {
                *underflow = true;
            }
            return d as i64 as u64;
        }
        self.to_relative(cur, wraps)
    }
}

/// What the caller must do after a packet: timers to arm and closes to act on.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actions {
    /// The originator's first SYN: check on the attempt after `tcp_attempt_delay`.
    pub attempt_timer: bool,
    /// The handshake finished: from now on the connection times out on inactivity.
    pub inactivity_timer: bool,
    /// SYN and SYN-ACK were seen reversed: swap the roles.
    pub flip_roles: bool,
    pub closed: Option<Close>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// Both sides are done (or reset): remove after `tcp_close_delay`.
    Complete,
    /// A side closed as its very first packet: check after `tcp_partial_close_delay`.
    PartialFirst,
    /// One side closed: look for the other after `tcp_session_timer`.
    HalfClosed,
}

/// The part of a packet the TCP tracker needs.
pub struct Segment<'a> {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// Payload length from the IP header.
    pub len: u32,
    /// Captured payload (shorter than `len` after a snaplen cut).
    pub payload: &'a [u8],
}

/// Receives in-order stream bytes and gaps for each direction.
pub trait StreamSink {
    fn data(&mut self, is_orig: bool, data: &[u8]);
    fn gap(&mut self, is_orig: bool, len: u64);
}

pub struct TcpState {
    /// `[orig, resp]`.
    pub ep: [Endpoint; 2],
    is_partial: bool,
    first_packet_seen: [bool; 2],
    /// Bytes in content gaps, counted the way Zeek's `content_gap` event counts them.
    pub missed_bytes: u64,
}

fn idx(is_orig: bool) -> usize {
    if is_orig {
        0
    } else {
        1
    }
}

impl TcpState {
    pub fn new(keep_data: bool, max_buffered: usize) -> Self {
        TcpState {
            ep: [
                Endpoint::new(keep_data, max_buffered),
                Endpoint::new(keep_data, max_buffered),
            ],
            is_partial: false,
            first_packet_seen: [false; 2],
            missed_bytes: 0,
        }
    }

    pub fn orig(&self) -> &Endpoint {
        &self.ep[0]
    }

    pub fn resp(&self) -> &Endpoint {
        &self.ep[1]
    }

    /// Whether the connection was picked up without a handshake (Zeek's `IsPartial`).
    pub fn is_partial(&self) -> bool {
        self.is_partial
    }

    /// Whether any packet was processed yet.
    pub fn packets_seen(&self) -> bool {
        self.first_packet_seen[0] || self.first_packet_seen[1]
    }

    /// Swaps originator and responder.
    pub fn flip(&mut self) {
        self.ep.swap(0, 1);
        self.first_packet_seen.swap(0, 1);
        self.is_partial = false;
    }

    fn set_state(&mut self, i: usize, new: EndpointState, actions: &mut Actions) {
        let e = &self.ep[i];
        if new != e.state {
            if !is_handshake(new) && is_handshake(e.state) && is_handshake(self.ep[1 - i].state) {
                actions.inactivity_timer = true;
            }
            let e = &mut self.ep[i];
            e.prev_state = e.state;
            e.state = new;
        }
    }

    /// Whether a SYN on this connection starts a new connection on the same ports
    /// (Zeek's `IsReuse`).
    pub fn is_reuse(&self, flags: TcpFlags, seq: u32, closed: bool) -> bool {
        if !flags.syn() {
            return false;
        }
        let mut conn_orig = &self.ep[0];
        if flags.ack() {
            if self.ep[0].state != S::Inactive {
                return false;
            }
            conn_orig = &self.ep[1];
        }
        if !closed {
            if seq == conn_orig.start_seq {
                return false;
            }
            if !flags.ack()
                && conn_orig.state == S::SynAckSent
                && self.ep[1].state == S::Inactive
                && seq == self.ep[1].start_seq
            {
                return false;
            }
        }
        true
    }

    /// Processes one segment from the originator (`is_orig`) or responder.
    pub fn process(
        &mut self,
        is_orig: bool,
        seg: &Segment<'_>,
        history: &mut History,
        update_last_time: &mut bool,
        sink: &mut dyn StreamSink,
    ) -> Actions {
        let mut actions = Actions::default();
        let flags = seg.flags;
        let i = idx(is_orig);
        let p = 1 - i;
        let len = seg.len;

        // Partial status: a connection whose first packet from a side is not a clean SYN.
        if is_orig {
            if !self.first_packet_seen[0] {
                self.is_partial = !flags.syn() || flags.ack();
            }
        } else if !self.first_packet_seen[1] && !self.is_partial {
            self.is_partial = !flags.syn();
        }

        let mut seg_len = len;
        if flags.syn() {
            seg_len += 1;
        }
        if flags.fin() {
            seg_len += 1;
        }
        if flags.rst() {
            seg_len -= len;
        }
        let base_seq = seg.seq;
        let one_past = base_seq.wrapping_add(seg_len);
        self.init_endpoint(i, flags, base_seq, one_past);

        let mut underflow = false;
        let e = &self.ep[i];
        let rel_seq = e.relative_seq(base_seq, e.last_seq, e.seq_wraps, &mut underflow);

        self.update_history(i, is_orig, flags, rel_seq, len, history);

        // A zero window is interesting unless it comes with or after a reset, or after
        // the peer finished sending.
        if seg.window == 0
            && !flags.rst()
            && self.ep[p].state != S::Closed
            && self.ep[i].state != S::Reset
        {
            let e = &mut self.ep[i];
            history.scaled(is_orig, b'W', &mut e.win0_cnt, &mut e.win0_thresh);
        }

        *update_last_time = !self.ep[0].did_close || !self.ep[1].did_close;

        if flags.fin() {
            let e = &mut self.ep[i];
            e.fin_cnt += 1;
            e.fin_seq = rel_seq.wrapping_add(u64::from(seg_len));
        }

        let mut rel_ack = 0u64;
        if flags.ack() {
            if self.ep[p].state == S::Inactive {
                rel_ack = 1;
                let a = seg.ack.wrapping_sub(1);
                self.ep[p].init_seqs(a, a);
            } else {
                let mut ack_underflow = false;
                let peer = &self.ep[p];
                rel_ack =
                    peer.relative_seq(seg.ack, peer.ack_seq, peer.ack_wraps, &mut ack_underflow);
                if ack_underflow {
                    rel_ack = 0;
                } else if !flags.rst() {
                    let peer = &mut self.ep[p];
                    let delta = seq_delta(seg.ack, peer.ack_seq);
                    // An ack of 0 far ahead is more likely broken than a wrap.
                    if !(seg.ack == 0 && delta > TOO_LARGE_SEQ_DELTA) && delta > 0 {
                        peer.update_ack_seq_value(seg.ack);
                    }
                }
            }
        }

        let delta_last = self.update_last_seq(i, is_orig, one_past, flags, len, history);

        let (do_close, gen_event) = self.update_state_machine(
            i,
            is_orig,
            base_seq,
            seg.ack,
            len,
            delta_last,
            flags,
            &mut actions,
        );
        let _ = gen_event;

        if flags.ack() {
            self.ack_received(p, rel_ack, history, sink);
        }

        let rel_data_seq = if flags.syn() {
            rel_seq.wrapping_add(1)
        } else {
            rel_seq
        };
        // A payload cut by the snaplen is not delivered (Zeek does the same): the peer's
        // acknowledgment then reveals the missing bytes as a content gap.
        if len > 0 && !flags.rst() && !underflow && seg.payload.len() == len as usize {
            self.data_sent(i, rel_data_seq, seg.payload, sink);
        }

        if do_close {
            actions.closed = self.connection_closed(i);
        }
        self.first_packet_seen[i] = true;
        actions
    }

    fn init_endpoint(&mut self, i: usize, flags: TcpFlags, first_seq: u32, mut last_seq: u32) {
        let e = &mut self.ep[i];
        match e.state {
            S::Inactive => {
                if flags.syn() {
                    e.start_seq = first_seq;
                    e.ack_seq = first_seq;
                } else {
                    // Partial connection: number as if a SYN had been seen.
                    e.start_seq = first_seq.wrapping_sub(1);
                    e.ack_seq = first_seq.wrapping_sub(1);
                    last_seq = first_seq;
                }
                e.last_seq = last_seq;
            }
            S::SynSent | S::SynAckSent => {
                if flags.syn() && first_seq != e.start_seq {
                    e.init_seqs(first_seq, last_seq);
                }
            }
            S::Established | S::Partial => {
                if flags.syn() {
                    e.init_seqs(first_seq, last_seq);
                }
            }
            S::Reset => {
                if flags.syn() && e.prev_state == S::Inactive {
                    e.init_seqs(first_seq, last_seq);
                }
            }
            S::Closed => {}
        }
    }

    fn update_history(
        &mut self,
        i: usize,
        is_orig: bool,
        flags: TcpFlags,
        rel_seq: u64,
        len: u32,
        h: &mut History,
    ) {
        let bits = u8::from(flags.syn()) + u8::from(flags.fin()) + u8::from(flags.rst());
        let e = &mut self.ep[i];
        if bits > 1 {
            if flags.fin() && flags.rst() {
                h.check(is_orig, mask::FIN_RST, b'I');
            } else {
                h.check(is_orig, mask::MULTI_FLAG, b'Q');
            }
        } else if bits == 1 {
            if flags.syn() {
                let code = if flags.ack() { b'H' } else { b'S' };
                if h.check(is_orig, mask::SYN, code) && rel_seq != e.hist_last_syn {
                    h.add(is_orig, code);
                }
                e.hist_last_syn = rel_seq;
            }
            if flags.fin() {
                let fin_at = rel_seq.wrapping_add(u64::from(len));
                if h.check(is_orig, mask::FIN, b'F') && fin_at != e.hist_last_fin {
                    h.add(is_orig, b'F');
                }
                e.hist_last_fin = fin_at;
            }
            if flags.rst() {
                if h.check(is_orig, mask::RST, b'R') && rel_seq != e.hist_last_rst {
                    h.add(is_orig, b'R');
                }
                e.hist_last_rst = rel_seq;
            }
        } else if len > 0 {
            h.check(is_orig, mask::DATA, b'D');
        } else if flags.ack() {
            h.check(is_orig, mask::ACK, b'A');
        }
    }

    fn update_last_seq(
        &mut self,
        i: usize,
        is_orig: bool,
        last_seq: u32,
        flags: TcpFlags,
        len: u32,
        h: &mut History,
    ) -> i32 {
        let e = &mut self.ep[i];
        let delta_last = seq_delta(last_seq, e.last_seq);
        if (flags.syn() || flags.rst())
            && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta_last)
        {
            // Not trusted.
        } else if flags.fin() && e.last_seq == e.start_seq.wrapping_add(1) {
            e.update_last_seq_value(last_seq);
        } else if e.state == S::Reset {
            // Nothing after a reset is trusted.
        } else if delta_last > 0 {
            e.update_last_seq_value(last_seq);
        } else if len > 0 {
            h.scaled(is_orig, b'T', &mut e.rxmt_cnt, &mut e.rxmt_thresh);
        }
        delta_last
    }

    #[allow(clippy::too_many_arguments)]
    fn update_state_machine(
        &mut self,
        i: usize,
        is_orig: bool,
        base_seq: u32,
        ack_seq: u32,
        len: u32,
        delta_last: i32,
        flags: TcpFlags,
        actions: &mut Actions,
    ) -> (bool, bool) {
        let p = 1 - i;
        let mut do_close = false;
        let mut gen_event = false;
        match self.ep[i].state {
            S::Inactive => {
                if flags.syn() {
                    if is_orig {
                        let st = if flags.ack() {
                            S::SynAckSent
                        } else {
                            S::SynSent
                        };
                        self.set_state(i, st, actions);
                        actions.attempt_timer = true;
                    } else {
                        if !flags.ack()
                            && self.ep[p].state == S::SynAckSent
                            && base_seq == self.ep[i].start_seq
                        {
                            // SYN and SYN-ACK seen in reverse order: swap roles and
                            // treat the connection as established.
                            actions.flip_roles = true;
                            self.is_partial = false;
                            self.set_state(p, S::Established, actions);
                            self.first_packet_seen[i] = true;
                        }
                        if self.ep[p].state == S::SynSent {
                            self.set_state(p, S::Established, actions);
                        }
                        self.set_state(i, S::Established, actions);
                    }
                }
                if flags.fin() {
                    self.set_state(i, S::Closed, actions);
                    do_close = true;
                    gen_event = true;
                }
                if flags.rst() {
                    self.set_state(i, S::Reset, actions);
                    do_close = true;
                }
                if self.ep[i].state == S::Inactive {
                    if !is_orig && len == 0 && self.ep[0].state == S::SynSent {
                        // An early ack of the SYN before the SYN-ACK: not a partial
                        // connection.
                    } else if flags.ack() && self.ep[p].state == S::Established {
                        self.set_state(i, S::Established, actions);
                        self.is_partial = false;
                        self.first_packet_seen[i] = true;
                    } else {
                        self.set_state(i, S::Partial, actions);
                    }
                }
            }
            S::SynSent | S::SynAckSent => {
                if flags.fin() {
                    self.set_state(i, S::Closed, actions);
                    do_close = true;
                    gen_event = true;
                }
                if flags.rst() {
                    self.set_state(i, S::Reset, actions);
                    do_close = true;
                }
            }
            S::Established | S::Partial => {
                if flags.syn()
                    && self.ep[i].state == S::Partial
                    && self.ep[p].state == S::Inactive
                    && !flags.ack()
                {
                    self.set_state(i, S::SynSent, actions);
                }
                if flags.fin() && !flags.rst() {
                    self.set_state(i, S::Closed, actions);
                    if self.ep[p].state == S::Reset && self.ep[p].prev_state == S::Closed {
                        // FIN then RST from the peer was a normal close after all.
                        self.set_state(p, S::Closed, actions);
                    }
                    do_close = true;
                    gen_event = true;
                }
                if flags.rst() {
                    self.set_state(i, S::Reset, actions);
                    do_close = true;
                }
            }
            S::Closed => {
                let _ = delta_last;
                if flags.rst() && self.ep[p].state != S::Closed {
                    self.set_state(i, S::Reset, actions);
                    if !self.ep[i].did_close {
                        do_close = true;
                    }
                }
            }
            S::Reset => {}
        }
        let _ = ack_seq;
        (do_close, gen_event)
    }

    fn ack_received(
        &mut self,
        p: usize,
        rel_ack: u64,
        history: &mut History,
        sink: &mut dyn StreamSink,
    ) {
        let is_orig = p == 0;
        let (a, b) = (&self.ep[p], &self.ep[1 - p]);
        let mut seq = rel_ack;
        if a.fin_cnt > 0 && seq >= a.fin_seq {
            seq = a.fin_seq.saturating_sub(1);
        }
        let clean = |e: &Endpoint| {
            e.state == S::Established || (e.state == S::Closed && e.prev_state == S::Established)
        };
        let report = clean(a) && clean(b);
        let suppress_initial = self.is_partial;
        let e = &mut self.ep[p];
        let mut gaps = 0u64;
        let mut gap_events = 0u32;
        e.reassembler.ack(seq, suppress_initial, &mut |c| match c {
            Chunk::Data(d) => sink.data(is_orig, d),
            Chunk::Gap(n) => {
                gaps += n;
                gap_events += 1;
                sink.gap(is_orig, n);
            }
        });
        if report && gap_events > 0 {
            self.missed_bytes += gaps;
            let e = &mut self.ep[p];
            for _ in 0..gap_events {
                history.scaled(is_orig, b'G', &mut e.gap_cnt, &mut e.gap_thresh);
            }
        }
    }

    fn data_sent(&mut self, i: usize, mut seq: u64, mut payload: &[u8], sink: &mut dyn StreamSink) {
        let is_orig = i == 0;
        let e = &mut self.ep[i];
        let ack = e.to_relative(e.ack_seq, e.ack_wraps);
        let upper = seq.wrapping_add(payload.len() as u64);
        if seq < ack {
            if upper <= ack {
                return;
            }
            let acked = (ack - seq) as usize;
            payload = payload.get(acked..).unwrap_or(&[]);
            seq = ack;
        }
        e.reassembler.data(seq, payload, &mut |c| match c {
            Chunk::Data(d) => sink.data(is_orig, d),
            Chunk::Gap(n) => sink.gap(is_orig, n),
        });
    }

    fn connection_closed(&mut self, i: usize) -> Option<Close> {
        let p = 1 - i;
        if self.ep[i].did_close {
            return None;
        }
        self.ep[i].did_close = true;
        let complete =
            self.ep[i].state == S::Reset || self.ep[p].did_close || self.ep[p].state == S::Inactive;
        Some(if complete {
            Close::Complete
        } else if self.ep[i].prev_state == S::Inactive {
            Close::PartialFirst
        } else {
            Close::HalfClosed
        })
    }
}
