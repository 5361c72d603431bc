//! dhcp.log: one row per DHCP transaction (transaction id `xid`), not per connection, with
//! Zeek's `DHCP::Info` columns and the aggregation of `scripts/base/protocols/dhcp/main.zeek`.
//!
//! The messages of one transaction travel on different 5-tuples (client broadcast, server
//! unicast or broadcast), which may be tracked on different worker threads. So the
//! dissector emits one [`DhcpMessageRecord`] per message (an intermediate record that is
//! not itself logged) and [`DhcpAggregator`], run in the single-threaded output stage over
//! all records in time order, joins them by `xid` into [`DhcpRecord`] rows.

pub mod parser;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use crate::analyzer::{Context, Dissector};
use crate::conn::{ConnId, Transport};
use crate::record::Record;
use crate::time::{Interval, Timestamp};
use crate::uid::Uid;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

pub use parser::{ClientId, Message};

/// Ports Zeek's DHCP analyzer is registered for (`DHCP::ports`): 67 (server), 68
/// (client) and 4011 (proxyDHCP), UDP.
pub const PORTS: [u16; 3] = [67, 68, 4011];

/// Zeek's `DHCP::max_uids_per_log_entry`.
const MAX_UIDS: usize = 10;
/// Zeek's `DHCP::max_msg_types_per_log_entry`.
const MAX_MSG_TYPES: usize = 50;
/// Zeek's `DHCP::max_txid_watch_time`.
const MAX_WATCH: Interval = Interval::from_secs(30);
/// Quiet time after which a transaction is written.
const QUIET: Interval = Interval::from_secs(5);
/// The `&create_expire` of Zeek's `DHCP::join_data` table.
const FIRST_CHECK: Interval = Interval::from_secs(10);

/// Zeek's `DHCP::message_types`.
pub fn message_type_name(t: u8) -> String {
    let name = match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        9 => "FORCERENEW",
        10 => "LEASEQUERY",
        11 => "LEASEUNASSIGNED",
        12 => "LEASEUNKNOWN",
        13 => "LEASEACTIVE",
        14 => "BULKLEASEQUERY",
        15 => "LEASEQUERYDONE",
        16 => "ACTIVELEASEQUERY",
        17 => "LEASEQUERYSTATUS",
        18 => "TLS",
        _ => return format!("unknown-message-type-{t}"),
    };
    name.to_string()
}

/// One DHCP message as seen on one connection (Zeek's `dhcp_message` event). Not a log
/// row: [`DhcpAggregator`] turns these into dhcp.log rows.
#[derive(Clone, Debug, PartialEq)]
pub struct DhcpMessageRecord {
    /// Time of the packet.
    pub ts: Timestamp,
    /// Connection the message was seen on.
    pub uid: Uid,
    pub id: ConnId,
    /// Sent by the connection's originator.
    pub is_orig: bool,
    /// The parsed message (typed: MAC addresses, host name, requested address ...).
    pub msg: Message,
}

/// One dhcp.log row (`DHCP::Info`).
#[derive(Clone, Debug, PartialEq)]
pub struct DhcpRecord {
    /// Time of the first message of the transaction.
    pub ts: Timestamp,
    /// Connections the transaction's messages were seen on, in first-seen order.
    pub uids: Vec<Uid>,
    /// Client address: a non-broadcast source of a client message, else the assigned one.
    pub client_addr: Option<IpAddr>,
    /// Server that handed out an address.
    pub server_addr: Option<IpAddr>,
    /// Client port when the server handed out an address (not logged).
    pub client_port: Option<u16>,
    /// Server port when the server handed out an address (not logged).
    pub server_port: Option<u16>,
    /// Client hardware address (client identifier option, else `chaddr`).
    pub mac: Option<String>,
    /// Host name the client gave (option 12).
    pub host_name: Option<String>,
    /// FQDN the client gave (option 81).
    pub client_fqdn: Option<String>,
    /// Domain the server gave (option 15).
    pub domain: Option<String>,
    pub requested_addr: Option<IpAddr>,
    pub assigned_addr: Option<IpAddr>,
    pub lease_time: Option<Interval>,
    /// Message option (56) sent by the client (with DECLINE, typically).
    pub client_message: Option<String>,
    /// Message option (56) sent by a server (with NAK, typically).
    pub server_message: Option<String>,
    /// DHCP message types in order ([`message_type_name`] gives the logged names).
    pub msg_types: Vec<u8>,
    /// First to last message of the transaction.
    pub duration: Interval,
    /// `chaddr` of a client message without an Ethernet client identifier (not logged;
    /// becomes `mac` at write time when nothing better was seen).
    pub client_chaddr: Option<String>,
    /// Time of the latest message (not logged).
    pub last_message_ts: Timestamp,
}

impl ZeekRecord for DhcpRecord {
    const PATH: &'static str = "dhcp";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uids", T::SetString),
        field("client_addr", T::Addr),
        field("server_addr", T::Addr),
        field("mac", T::String),
        field("host_name", T::String),
        field("client_fqdn", T::String),
        field("domain", T::String),
        field("requested_addr", T::Addr),
        field("assigned_addr", T::Addr),
        field("lease_time", T::Interval),
        field("client_message", T::String),
        field("server_message", T::String),
        field("msg_types", T::VectorString),
        field("duration", T::Interval),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        let uids: Vec<String> = self.uids.iter().map(Uid::to_string).collect();
        row.strings(Some(uids.iter().map(String::as_str)));
        row.addr(self.client_addr);
        row.addr(self.server_addr);
        row.str(self.mac.as_deref());
        row.str(self.host_name.as_deref());
        row.str(self.client_fqdn.as_deref());
        row.str(self.domain.as_deref());
        row.addr(self.requested_addr);
        row.addr(self.assigned_addr);
        row.interval(self.lease_time);
        row.str(self.client_message.as_deref());
        row.str(self.server_message.as_deref());
        let types: Vec<String> = self
            .msg_types
            .iter()
            .map(|t| message_type_name(*t))
            .collect();
        row.strings(Some(types.iter().map(String::as_str)));
        row.interval(Some(self.duration));
    }
}

/// Attaches the DHCP dissector to UDP flows on Zeek's DHCP ports (either endpoint). Zeek
/// (since the removal of its `dhcp_cookie` signature) detects DHCP by port only.
pub fn candidate(id: &ConnId) -> Option<Box<dyn Dissector>> {
    let fits =
        id.proto == Transport::Udp && (PORTS.contains(&id.resp_p) || PORTS.contains(&id.orig_p));
    fits.then(|| Box::new(DhcpDissector) as Box<dyn Dissector>)
}

/// DHCP over one UDP flow: every valid datagram becomes a [`DhcpMessageRecord`].
#[derive(Debug, Default)]
pub struct DhcpDissector;

impl Dissector for DhcpDissector {
    fn service(&self) -> &'static str {
        "dhcp"
    }

    fn deliver(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) {
        match parser::parse(data) {
            Ok(msg) => {
                cx.confirm();
                let rec = DhcpMessageRecord {
                    ts: cx.ts,
                    uid: cx.uid,
                    id: *cx.id,
                    is_orig,
                    msg,
                };
                cx.emit(rec);
            }
            Err(_) => cx.violation(),
        }
    }

    fn finish(&mut self, _cx: &mut Context<'_>) {}
}

struct Pending {
    xid: u32,
    info: DhcpRecord,
    /// When Zeek's table expiration next looks at the transaction.
    next_check: Timestamp,
}

/// Joins [`DhcpMessageRecord`]s into dhcp.log rows by transaction id, with Zeek's timing:
/// a transaction is first examined 10 s after its first message, then every 5 s, and is
/// written once no message came for 5 s or 30 s passed since its start (or at once when it
/// reaches 10 connections or 50 message types); the rest is written by
/// [`finish`](Self::finish). Time is the timestamp of the records pushed (all kinds, so
/// other traffic moves the clock as it moves Zeek's network time).
#[derive(Default)]
pub struct DhcpAggregator {
    /// Open transactions in creation order.
    open: BTreeMap<u64, Pending>,
    by_xid: HashMap<u32, u64>,
    next_seq: u64,
}

impl DhcpAggregator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next record (any kind, in timestamp order); returns the dhcp.log rows
    /// completed by then.
    pub fn push(&mut self, rec: &Record) -> Vec<Record> {
        let mut out = self.advance(rec.ts());
        if let Record::DhcpMessage(m) = rec {
            if let Some(done) = self.aggregate(m) {
                out.push(Record::from(done));
            }
        }
        out
    }

    /// Moves time to `now`, writing the transactions Zeek would have expired by then.
    pub fn advance(&mut self, now: Timestamp) -> Vec<Record> {
        let mut due: Vec<(Timestamp, u64)> = self
            .open
            .iter()
            .filter(|(_, p)| p.next_check <= now)
            .map(|(seq, p)| (p.next_check, *seq))
            .collect();
        due.sort();
        let mut out = Vec::new();
        for (_, seq) in due {
            let expired = match self.open.get_mut(&seq) {
                Some(p) => {
                    let quiet = now.saturating_sub(p.info.last_message_ts) > QUIET;
                    let old = now.saturating_sub(p.info.ts) > MAX_WATCH;
                    if !(quiet || old) {
                        p.next_check = now.saturating_add(QUIET);
                    }
                    quiet || old
                }
                None => false,
            };
            if expired {
                out.extend(self.close(seq, true).map(Record::from));
            }
        }
        out
    }

    /// Writes every open transaction (Zeek's `zeek_done`), in creation order.
    pub fn finish(&mut self) -> Vec<Record> {
        let seqs: Vec<u64> = self.open.keys().copied().collect();
        seqs.into_iter()
            .filter_map(|s| self.close(s, true))
            .map(Record::from)
            .collect()
    }

    /// Removes a transaction; `fill_mac` applies the expiration-time fallback of `mac` to
    /// the client's `chaddr`.
    fn close(&mut self, seq: u64, fill_mac: bool) -> Option<DhcpRecord> {
        let p = self.open.remove(&seq)?;
        if self.by_xid.get(&p.xid) == Some(&seq) {
            self.by_xid.remove(&p.xid);
        }
        let mut info = p.info;
        if fill_mac && info.mac.is_none() {
            info.mac = info.client_chaddr.clone();
        }
        Some(info)
    }

    /// Zeek's `DHCP::aggregate_msgs` handlers for one message.
    fn aggregate(&mut self, m: &DhcpMessageRecord) -> Option<DhcpRecord> {
        let xid = m.msg.xid;
        let seq = match self.by_xid.get(&xid) {
            Some(&s) => s,
            None => {
                let s = self.next_seq;
                self.next_seq += 1;
                self.by_xid.insert(xid, s);
                let pending = Pending {
                    xid,
                    info: new_info(m.ts),
                    next_check: m.ts.saturating_add(FIRST_CHECK),
                };
                self.open.insert(s, pending);
                s
            }
        };
        let p = self.open.get_mut(&seq)?;
        update(&mut p.info, m);
        if p.info.uids.len() >= MAX_UIDS || p.info.msg_types.len() >= MAX_MSG_TYPES {
            return self.close(seq, false);
        }
        None
    }
}

fn new_info(ts: Timestamp) -> DhcpRecord {
    DhcpRecord {
        ts,
        uids: Vec::new(),
        client_addr: None,
        server_addr: None,
        client_port: None,
        server_port: None,
        mac: None,
        host_name: None,
        client_fqdn: None,
        domain: None,
        requested_addr: None,
        assigned_addr: None,
        lease_time: None,
        client_message: None,
        server_message: None,
        msg_types: Vec::new(),
        duration: Interval(0),
        client_chaddr: None,
        last_message_ts: ts,
    }
}

fn v4(a: Ipv4Addr) -> IpAddr {
    IpAddr::V4(a)
}

/// The body of Zeek's `DHCP::aggregate_msgs` (priority 5) for one message.
fn update(info: &mut DhcpRecord, m: &DhcpMessageRecord) {
    let msg = &m.msg;
    let id = &m.id;
    info.duration = m.ts.saturating_sub(info.ts);
    if !info.uids.contains(&m.uid) {
        info.uids.push(m.uid);
    }
    info.msg_types.push(msg.m_type);

    // is_orig is true for "connections" a server opened to a broadcast address;
    // otherwise it says the message comes from a client.
    let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let is_client = m.is_orig && (id.orig_h == unspecified || id.orig_p == 68 || id.resp_p == 67);

    if let Some(text) = &msg.message {
        if is_client {
            info.client_message = Some(text.clone());
        } else {
            info.server_message = Some(text.clone());
        }
    }
    info.last_message_ts = m.ts;

    if is_client {
        if id.orig_h != unspecified && id.orig_h != IpAddr::V4(Ipv4Addr::BROADCAST) {
            info.client_addr = Some(id.orig_h);
        }
        if let Some(h) = &msg.host_name {
            info.host_name = Some(h.clone());
        }
        if let Some(f) = &msg.client_fqdn {
            info.client_fqdn = Some(f.clone());
        }
        match &msg.client_id {
            Some(cid) if cid.hwtype == 1 => info.mac = Some(cid.hwaddr.clone()),
            _ => info.client_chaddr = Some(msg.chaddr.clone()),
        }
        if let Some(a) = msg.addr_request {
            info.requested_addr = Some(v4(a));
        }
    } else {
        if !msg.yiaddr.is_unspecified() {
            if m.is_orig {
                // A server broadcasting: it is the originator.
                info.server_addr = Some(id.orig_h);
                info.server_port = Some(id.orig_p);
                info.client_port = Some(id.resp_p);
            } else {
                info.server_addr = Some(id.resp_h);
                info.server_port = Some(id.resp_p);
                info.client_port = Some(id.orig_p);
            }
        }
        if !msg.chaddr.is_empty() && info.mac.is_none() {
            info.mac = Some(msg.chaddr.clone());
        }
        if !msg.yiaddr.is_unspecified() {
            info.assigned_addr = Some(v4(msg.yiaddr));
        }
        if info.client_addr.is_none() {
            if let Some(a) = info.assigned_addr {
                info.client_addr = Some(a);
            }
        }
        if let Some(d) = &msg.domain_name {
            info.domain = Some(d.clone());
        }
        if let Some(l) = msg.lease {
            info.lease_time = Some(Interval::from_secs(i64::from(l)));
        }
    }
}

#[cfg(test)]
mod tests;
