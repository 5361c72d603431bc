//! dns.log: DNS over UDP (one message per datagram) and TCP (16-bit length prefix), with
//! Zeek's `DNS::Info` columns and the request/response pairing of
//! `scripts/base/protocols/dns/main.zeek`.
//!
//! How Zeek builds a dns.log row, and so how this dissector does:
//! * Every message with opcode query (0), notify (4) or dynamic update (5) selects a
//!   "session" record: a query opens a new one (or completes a reply seen before it with
//!   the same transaction id), a reply completes the oldest pending query with its id (or
//!   opens a new one that waits for its query). Other opcodes are not tracked.
//! * A session is written when both its query and its reply have been seen; what is left
//!   when the connection ends (unanswered queries, replies without query) is written then.
//! * To multicast destinations (mDNS, LLMNR) every message is its own row, written at once.
//! * The first message of a connection, if it is a reply sent by the originator, makes
//!   Zeek flip the connection's roles (unless the responder address is multicast): the
//!   rows then carry the swapped endpoints. See [`DnsDissector`].

pub mod consts;
pub mod parser;

use std::borrow::Cow;
use std::collections::VecDeque;

use smallvec::SmallVec;

use crate::analyzer::{Context, Dissector};
use crate::conn::{ConnId, Transport};
use crate::time::{Interval, Timestamp};
use crate::uid::Uid;
use crate::zeek::{escape_bytes_lossy, field, Field, FieldType as T, Row, ZeekRecord};

use parser::{decode_netbios_name, Reader, Rr, MAX_QUERIES};
pub use parser::{Header, RData};

/// Ports Zeek's DNS analyzer is registered for (`DNS::ports`): 53 (UDP and TCP), 137
/// (NetBIOS name service), 5353 (mDNS) and 5355 (LLMNR) over UDP.
pub const UDP_PORTS: [u16; 4] = [53, 137, 5353, 5355];
pub const TCP_PORTS: [u16; 1] = [53];

/// Zeek's `DNS::max_pending_msgs`.
const MAX_PENDING_MSGS: usize = 50;
/// Zeek's `DNS::max_pending_query_ids`.
const MAX_PENDING_QUERY_IDS: usize = 50;

/// One resource record of a reply's answer section that Zeek reports in `answers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsAnswer {
    /// Owner name of the record (lower-cased, escaped).
    pub name: String,
    /// RR type (1 = A, 28 = AAAA, 5 = CNAME ...).
    pub rtype: u16,
    /// RR class (1 = IN).
    pub class: u16,
    /// Time to live in seconds (the `TTLs` column).
    pub ttl: u32,
    /// The typed record data; [`RData::render`] gives the `answers` text.
    pub data: RData,
}

/// One dns.log row (`DNS::Info`).
#[derive(Clone, Debug, PartialEq)]
pub struct DnsRecord {
    /// Time of the first message of this query/response pair.
    pub ts: Timestamp,
    pub uid: Uid,
    /// Connection endpoints, after Zeek's reply-first role flip (if any).
    pub id: ConnId,
    /// Transaction id of the messages.
    pub trans_id: u16,
    /// Time from the query to the first answer record of the reply (unset without answers
    /// or when zero).
    pub rtt: Option<Interval>,
    /// Queried name (from the question, else from the first answer's owner name);
    /// NetBIOS names are decoded on port 137.
    pub query: Option<String>,
    pub qclass: Option<u16>,
    pub qtype: Option<u16>,
    /// Response code of the reply (unset until a reply is seen).
    pub rcode: Option<u8>,
    /// Authoritative Answer bit of the reply (only set when the reply had answers).
    pub aa: bool,
    /// Truncation bit of the query.
    pub tc: bool,
    /// Recursion Desired bit of the query.
    pub rd: bool,
    /// Recursion Available bit of the reply (only set when the reply had answers).
    pub ra: bool,
    /// The 3-bit Z field of the query (AD and CD bits included).
    pub z: u8,
    /// Answer-section records, in order (unset when there were none Zeek reports).
    pub answers: Option<Vec<DnsAnswer>>,
    /// The server rejected the query (a reply with no records, or an error code and no
    /// question).
    pub rejected: bool,
    pub opcode: Option<u8>,
    /// The connection is NetBIOS name service (port 137): opcode names are NetBIOS ones.
    pub netbios: bool,
}

impl DnsRecord {
    fn new(ts: Timestamp, uid: Uid, id: ConnId, trans_id: u16) -> Self {
        DnsRecord {
            ts,
            uid,
            id,
            trans_id,
            rtt: None,
            query: None,
            qclass: None,
            qtype: None,
            rcode: None,
            aa: false,
            tc: false,
            rd: false,
            ra: false,
            z: 0,
            answers: None,
            rejected: false,
            opcode: None,
            netbios: false,
        }
    }

    /// `qtype_name`, with Zeek's NBSTAT renaming of type 33 on NetBIOS name service.
    pub fn qtype_name(&self) -> Option<Cow<'static, str>> {
        self.qtype.map(|t| {
            if t == 33 && self.id.resp_p == 137 && self.id.proto == Transport::Udp {
                Cow::Borrowed("NBSTAT")
            } else {
                consts::query_type_name(t)
            }
        })
    }

    pub fn opcode_name(&self) -> Option<Cow<'static, str>> {
        self.opcode.map(|o| {
            if self.netbios {
                consts::netbios_opcode_name(o)
            } else {
                consts::opcode_name(o)
            }
        })
    }
}

impl ZeekRecord for DnsRecord {
    const PATH: &'static str = "dns";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("proto", T::Enum),
        field("trans_id", T::Count),
        field("rtt", T::Interval),
        field("query", T::String),
        field("qclass", T::Count),
        field("qclass_name", T::String),
        field("qtype", T::Count),
        field("qtype_name", T::String),
        field("rcode", T::Count),
        field("rcode_name", T::String),
        field("AA", T::Bool),
        field("TC", T::Bool),
        field("RD", T::Bool),
        field("RA", T::Bool),
        field("Z", T::Count),
        field("answers", T::VectorString),
        field("TTLs", T::VectorInterval),
        field("rejected", T::Bool),
        field("opcode", T::Count),
        field("opcode_name", T::String),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(Some(self.uid));
        self.id.write_columns(row);
        row.str(Some(self.id.proto.as_str()));
        row.count(Some(u64::from(self.trans_id)));
        row.interval(self.rtt);
        row.str(self.query.as_deref());
        row.count(self.qclass.map(u64::from));
        row.str(self.qclass.map(consts::class_name).as_deref());
        row.count(self.qtype.map(u64::from));
        row.str(self.qtype_name().as_deref());
        row.count(self.rcode.map(u64::from));
        row.str(
            self.rcode
                .map(|r| consts::rcode_name(u16::from(r)))
                .as_deref(),
        );
        row.bool(Some(self.aa));
        row.bool(Some(self.tc));
        row.bool(Some(self.rd));
        row.bool(Some(self.ra));
        row.count(Some(u64::from(self.z)));
        row.strings(
            self.answers
                .as_ref()
                .map(|a| a.iter().map(|x| x.data.render())),
        );
        row.intervals(
            self.answers
                .as_ref()
                .map(|a| a.iter().map(|x| Interval::from_secs(i64::from(x.ttl)))),
        );
        row.bool(Some(self.rejected));
        row.count(self.opcode.map(u64::from));
        row.str(self.opcode_name().as_deref());
    }
}

/// Attaches the DNS dissector where Zeek's DNS analyzer runs: on its registered ports
/// (either endpoint, since the engine may not have oriented the connection yet). Zeek has
/// no content signature for DNS, so other ports are left alone to keep dns.log identical.
pub fn candidate(id: &ConnId) -> Option<Box<dyn Dissector>> {
    let on = |ports: &[u16]| ports.contains(&id.resp_p) || ports.contains(&id.orig_p);
    let fits = match id.proto {
        Transport::Udp => on(&UDP_PORTS),
        Transport::Tcp => on(&TCP_PORTS),
        _ => false,
    };
    fits.then(|| Box::new(DnsDissector::new()) as Box<dyn Dissector>)
}

/// A session record plus the state Zeek keeps beside it.
#[derive(Debug)]
struct Slot {
    rec: DnsRecord,
    saw_query: bool,
    saw_reply: bool,
    /// Referenced by a pending queue (or the pending-query fast path).
    queued: bool,
}

/// Pending sessions per transaction id, in first-insertion order of the ids.
type Pending = Vec<(u16, VecDeque<usize>)>;

#[derive(Clone, Copy, Debug, Default)]
enum Framing {
    #[default]
    LenHi,
    LenLo,
    Message,
}

/// Reassembly of length-prefixed messages in one TCP direction (at most 64 KiB held).
#[derive(Debug, Default)]
struct TcpStream {
    state: Framing,
    msg_size: usize,
    buf: Vec<u8>,
}

/// DNS over one connection.
///
/// Role flip: Zeek's DNS analyzer flips the connection's roles when the first DNS
/// message it parses is a reply (QR=1) that came from the originator, unless the
/// responder address is multicast. The dissector reports this through
/// `Dissector::roles_reversed`, and the engine swaps the connection before delivering,
/// so conn.log and dns.log agree on who is the originator.
#[derive(Debug, Default)]
pub struct DnsDissector {
    first_message: bool,
    confirmed: bool,
    /// Most connections carry one session: its slot lies in the dissector itself.
    slots: SmallVec<[Option<Slot>; 1]>,
    free: Vec<usize>,
    /// Zeek's `c$dns`: the session the current (or last) message selected.
    cur: Option<usize>,
    pending_query: Option<usize>,
    pending_queries: Pending,
    pending_replies: Pending,
    tcp: [TcpStream; 2],
}

impl DnsDissector {
    pub fn new() -> Self {
        DnsDissector {
            first_message: true,
            ..Default::default()
        }
    }

    /// The connection id of the rows.
    fn conn_id(&self, cx: &Context<'_>) -> ConnId {
        *cx.id
    }

    fn slot(&mut self, idx: usize) -> Option<&mut Slot> {
        self.slots.get_mut(idx).and_then(Option::as_mut)
    }

    fn cur_rec(&mut self) -> Option<&mut DnsRecord> {
        let idx = self.cur?;
        self.slot(idx).map(|s| &mut s.rec)
    }

    fn new_session(&mut self, cx: &Context<'_>, trans_id: u16) -> usize {
        let rec = DnsRecord::new(cx.ts, cx.uid, self.conn_id(cx), trans_id);
        let slot = Slot {
            rec,
            saw_query: false,
            saw_reply: false,
            queued: false,
        };
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        }
    }

    /// Frees a session that nothing refers to any more.
    fn release(&mut self, idx: usize) {
        let unused = self.cur != Some(idx) && self.slot(idx).is_some_and(|s| !s.queued);
        if unused {
            self.slots[idx] = None;
            self.free.push(idx);
        }
    }

    fn set_cur(&mut self, idx: Option<usize>) {
        let prev = std::mem::replace(&mut self.cur, idx);
        if let Some(p) = prev.filter(|p| Some(*p) != idx) {
            self.release(p);
        }
    }

    fn emit_slot(&mut self, cx: &mut Context<'_>, idx: usize) {
        if let Some(s) = self.slot(idx) {
            let rec = s.rec.clone();
            cx.emit(rec);
        }
    }

    /// Writes a session nothing refers to any more and frees it: what `emit_slot` and then
    /// `release` do, with the record moved out instead of copied (most DNS connections end
    /// with exactly this).
    fn emit_and_free(&mut self, cx: &mut Context<'_>, idx: usize) {
        debug_assert!(self.cur != Some(idx) && self.slot(idx).is_none_or(|s| !s.queued));
        if let Some(s) = self.slots.get_mut(idx).and_then(Option::take) {
            // The last slot is dropped rather than listed free: a connection with one
            // session (most) then never allocates a free list.
            if idx + 1 == self.slots.len() {
                self.slots.pop();
            } else {
                self.free.push(idx);
            }
            cx.emit(s.rec);
        }
    }

    /// Takes the head of the queue for `id` out of `which` (the key goes when empty).
    fn pop(&mut self, replies: bool, id: u16) -> Option<usize> {
        let msgs = if replies {
            &mut self.pending_replies
        } else {
            &mut self.pending_queries
        };
        let pos = msgs.iter().position(|(k, q)| *k == id && !q.is_empty())?;
        let idx = msgs[pos].1.pop_front();
        if msgs[pos].1.is_empty() {
            msgs.remove(pos);
        }
        if let Some(i) = idx {
            if let Some(s) = self.slot(i) {
                s.queued = false;
            }
        }
        idx
    }

    /// Writes every session of a queue (Zeek's `log_unmatched_msgs_queue`).
    fn flush_queue(&mut self, cx: &mut Context<'_>, queue: VecDeque<usize>) {
        for idx in queue {
            if let Some(s) = self.slot(idx) {
                s.queued = false;
            }
            if self.cur == Some(idx) {
                self.emit_slot(cx, idx);
            } else {
                self.emit_and_free(cx, idx);
            }
        }
    }

    /// Zeek's `enqueue_new_msg`, with its limits on unmatched messages.
    fn enqueue(&mut self, cx: &mut Context<'_>, replies: bool, id: u16, idx: usize) {
        let list = if replies {
            &mut self.pending_replies
        } else {
            &mut self.pending_queries
        };
        let mut to_flush: Vec<VecDeque<usize>> = Vec::new();
        match list.iter().position(|(k, _)| *k == id) {
            Some(pos) => {
                if list[pos].1.len() > MAX_PENDING_MSGS {
                    to_flush.push(std::mem::take(&mut list[pos].1));
                }
                list[pos].1.push_back(idx);
            }
            None => {
                if list.len() > MAX_PENDING_QUERY_IDS {
                    to_flush.extend(list.drain(..).map(|(_, q)| q));
                }
                list.push((id, VecDeque::from([idx])));
            }
        }
        if let Some(s) = self.slot(idx) {
            s.queued = true;
        }
        for q in to_flush {
            self.flush_queue(cx, q);
        }
    }

    /// Zeek's `DNS::set_session` hook: selects the session of this message.
    fn set_session(&mut self, cx: &mut Context<'_>, hdr: &Header, netbios: bool) {
        let id = hdr.id;
        let multicast = self.conn_id(cx).resp_h.is_multicast();
        let chosen = if multicast {
            let idx = self.new_session(cx, id);
            if let Some(s) = self.slot(idx) {
                s.saw_query = true;
                s.saw_reply = true;
            }
            idx
        } else if !hdr.qr {
            match self.pop(true, id) {
                Some(idx) => idx,
                None => {
                    let idx = self.new_session(cx, id);
                    if self.pending_query.is_none() {
                        self.pending_query = Some(idx);
                        if let Some(s) = self.slot(idx) {
                            s.queued = true;
                        }
                    } else {
                        self.enqueue(cx, false, id, idx);
                    }
                    idx
                }
            }
        } else {
            let fast = self.pending_query.filter(|&p| {
                self.slots
                    .get(p)
                    .and_then(Option::as_ref)
                    .map(|s| s.rec.trans_id)
                    == Some(id)
            });
            if let Some(p) = fast {
                self.pending_query = None;
                if let Some(s) = self.slot(p) {
                    s.queued = false;
                }
                // Refill the fast path, preferring a query with the same id.
                let next = match self.pop(false, id) {
                    Some(n) => Some(n),
                    None => {
                        let first = self
                            .pending_queries
                            .iter()
                            .find(|(_, q)| !q.is_empty())
                            .map(|(k, _)| *k);
                        first.and_then(|k| self.pop(false, k))
                    }
                };
                if let Some(n) = next {
                    self.pending_query = Some(n);
                    if let Some(s) = self.slot(n) {
                        s.queued = true;
                    }
                }
                p
            } else if let Some(idx) = self.pop(false, id) {
                idx
            } else {
                let idx = self.new_session(cx, id);
                self.enqueue(cx, true, id, idx);
                idx
            }
        };
        self.set_cur(Some(chosen));
        if let Some(rec) = self.cur_rec() {
            if hdr.qr {
                rec.rcode = Some(hdr.rcode);
                if hdr.rcode != 0 && hdr.qdcount == 0 {
                    rec.rejected = true;
                }
            }
            rec.opcode = Some(hdr.opcode);
            rec.netbios = netbios;
        }
    }

    /// Zeek's `dns_request` handler.
    fn request(&mut self, hdr: &Header, q: &parser::Question, decode_netbios: bool) {
        let Some(rec) = self.cur_rec() else { return };
        rec.rd = hdr.rd;
        rec.tc = hdr.tc;
        rec.qclass = Some(q.qclass);
        rec.qtype = Some(q.qtype);
        rec.z = hdr.z;
        let decoded = if decode_netbios {
            decode_netbios_name(&q.name)
        } else {
            Vec::new()
        };
        let name = if decoded.is_empty() {
            &q.name
        } else {
            &decoded
        };
        rec.query = Some(escape_bytes_lossy(name));
    }

    /// Zeek's `DNS::do_reply` hook for one answer-section record.
    fn reply(&mut self, cx: &Context<'_>, hdr: &Header, rr: Rr) {
        let Some(data) = rr.reply else { return };
        if !hdr.qr {
            return;
        }
        let now = cx.ts;
        let Some(rec) = self.cur_rec() else { return };
        if rec.query.is_none() {
            rec.query = Some(rr.name.clone());
        }
        rec.aa = hdr.aa;
        rec.ra = hdr.ra;
        if rec.rtt.is_none() {
            let rtt = now.saturating_sub(rec.ts);
            rec.rtt = (rtt.0 != 0).then_some(rtt);
        }
        if let Some(data) = data {
            // Room for the message's answers at once (a hostile count gets a few).
            let room = usize::from(hdr.ancount).min(16);
            let answers = rec.answers.get_or_insert_with(|| Vec::with_capacity(room));
            answers.push(DnsAnswer {
                name: rr.name,
                rtype: rr.rtype,
                class: rr.class,
                ttl: rr.ttl,
                data,
            });
        }
    }

    /// Zeek's `dns_end` handlers: marks what was seen and writes complete sessions.
    fn end_message(&mut self, cx: &mut Context<'_>, hdr: &Header) {
        let Some(idx) = self.cur else { return };
        let done = match self.slot(idx) {
            Some(s) => {
                if hdr.qr {
                    s.saw_reply = true;
                } else {
                    s.saw_query = true;
                }
                s.saw_query && s.saw_reply
            }
            None => false,
        };
        if done {
            if self.slot(idx).is_some_and(|s| s.queued) {
                self.emit_slot(cx, idx);
                self.set_cur(None);
            } else {
                self.cur = None;
                self.emit_and_free(cx, idx);
            }
        }
    }

    /// Parses one DNS message. `from_orig` is the direction it came from (`None` for a
    /// partial TCP message flushed at close).
    fn message(&mut self, cx: &mut Context<'_>, data: &[u8], from_orig: Option<bool>) {
        let Some(hdr) = Header::parse(data) else {
            return;
        };
        let _ = from_orig;
        self.first_message = false;

        let id = self.conn_id(cx);
        let udp = id.proto == Transport::Udp;
        let netbios = udp && (id.resp_p == 137 || id.orig_p == 137);
        let tracked = matches!(hdr.opcode, 0 | 4 | 5);
        if tracked {
            self.set_session(cx, &hdr, netbios);
        }
        if hdr.qdcount > MAX_QUERIES {
            if !self.confirmed {
                cx.violation();
            }
            self.end_message(cx, &hdr);
            return;
        }

        let mut reader = Reader::new(data, id.resp_p == 137);
        let mut ok = true;
        for _ in 0..hdr.qdcount {
            let Some(q) = reader.question() else {
                ok = false;
                break;
            };
            if !hdr.qr {
                if tracked {
                    self.request(&hdr, &q, udp && id.resp_p == 137);
                }
            } else if hdr.ancount == 0 && hdr.nscount == 0 && hdr.arcount == 0 {
                // dns_rejected: Zeek's handler marks whatever session is current.
                if let Some(rec) = self.cur_rec() {
                    rec.rejected = true;
                }
            }
        }
        if ok {
            for _ in 0..hdr.ancount {
                match reader.rr() {
                    Ok(rr) => {
                        if tracked {
                            self.reply(cx, &hdr, rr);
                        }
                    }
                    Err(partial) => {
                        if let Some(rr) = partial.filter(|_| tracked) {
                            self.reply(cx, &hdr, rr);
                        }
                        ok = false;
                        break;
                    }
                }
            }
        }
        if ok {
            self.confirmed = true;
            cx.confirm();
        }
        // Authority and additional records never reach dns.log, so they are not parsed.
        self.end_message(cx, &hdr);
    }

    fn deliver_tcp(&mut self, cx: &mut Context<'_>, is_orig: bool, mut data: &[u8]) {
        let dir = usize::from(!is_orig);
        while let Some(&first) = data.first() {
            match self.tcp[dir].state {
                Framing::LenHi => {
                    // Fast path: a whole message in this delivery needs no copy.
                    if let Some(&second) = data.get(1) {
                        let size = usize::from(u16::from_be_bytes([first, second]));
                        if let Some(msg) = data.get(2..2 + size) {
                            data = data.get(2 + size..).unwrap_or_default();
                            self.message(cx, msg, Some(is_orig));
                            continue;
                        }
                    }
                    let st = &mut self.tcp[dir];
                    st.msg_size = usize::from(first) << 8;
                    st.state = Framing::LenLo;
                    data = &data[1..];
                }
                Framing::LenLo => {
                    let st = &mut self.tcp[dir];
                    st.msg_size |= usize::from(first);
                    st.buf.clear();
                    st.state = if st.msg_size == 0 {
                        Framing::LenHi
                    } else {
                        Framing::Message
                    };
                    data = &data[1..];
                }
                Framing::Message => {
                    let st = &mut self.tcp[dir];
                    let need = st.msg_size.saturating_sub(st.buf.len());
                    let (now, rest) = data.split_at(need.min(data.len()));
                    st.buf.extend_from_slice(now);
                    data = rest;
                    if st.buf.len() >= st.msg_size {
                        let msg = std::mem::take(&mut st.buf);
                        st.state = Framing::LenHi;
                        self.message(cx, &msg, Some(is_orig));
                        // Keep the allocation for the next message.
                        let st = &mut self.tcp[dir];
                        st.buf = msg;
                        st.buf.clear();
                    }
                }
            }
        }
    }
}

impl Dissector for DnsDissector {
    fn service(&self) -> &'static str {
        "dns"
    }

    fn roles_reversed(&self, id: &ConnId, is_orig: bool, data: &[u8]) -> bool {
        if !self.first_message || !is_orig || id.resp_h.is_multicast() {
            return false;
        }
        // Over TCP the message follows its two-byte length.
        let message = if id.proto == Transport::Tcp {
            data.get(2..)
        } else {
            Some(data)
        };
        message.and_then(Header::parse).is_some_and(|h| h.qr)
    }

    fn deliver(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) {
        if cx.id.proto == Transport::Tcp {
            self.deliver_tcp(cx, is_orig, data);
        } else {
            self.message(cx, data, Some(is_orig));
        }
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        // A partial TCP message is parsed as it is when the connection closes.
        for dir in 0..2 {
            let st = &mut self.tcp[dir];
            if matches!(st.state, Framing::Message) && !st.buf.is_empty() {
                let msg = std::mem::take(&mut st.buf);
                st.state = Framing::LenHi;
                self.message(cx, &msg, None);
            }
        }
        // Zeek's finalize_dns: unmatched queries first, then unmatched replies.
        if let Some(p) = self.pending_query.take() {
            self.flush_queue(cx, VecDeque::from([p]));
        }
        for (_, q) in std::mem::take(&mut self.pending_queries) {
            self.flush_queue(cx, q);
        }
        for (_, q) in std::mem::take(&mut self.pending_replies) {
            self.flush_queue(cx, q);
        }
        self.cur = None;
        self.slots.clear();
        self.free.clear();
    }
}

#[cfg(test)]
pub(crate) mod tests;
