//! The contract between the engine's connection tracking and the protocol dissectors.
//!
//! The engine owns connections, TCP reassembly and timers; a dissector owns one
//! application protocol's parsing state for one connection. The engine hands it in-order
//! bytes per direction (a TCP stream, or one UDP datagram at a time), and the dissector
//! pushes the records it completes into the context's output.

use crate::conn::ConnId;
use crate::record::Record;
use crate::time::Timestamp;
use crate::uid::Uid;

/// What a dissector knows about the connection it is parsing, and where its records go.
pub struct Context<'a> {
    pub uid: Uid,
    pub id: &'a ConnId,
    /// Time of the packet that carried the bytes being delivered.
    pub ts: Timestamp,
    /// Completed records; the engine drains it after every call.
    pub out: &'a mut Vec<Record>,
    pub(crate) verdict: Verdict,
}

/// Whether the dissector has recognised its protocol in the traffic so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Verdict {
    #[default]
    Undecided,
    /// The traffic is this protocol: the connection's `service` gets the dissector's name.
    Confirmed,
    /// The traffic is not (or no longer) this protocol: the engine drops the dissector.
    Violation,
}

impl<'a> Context<'a> {
    pub fn new(uid: Uid, id: &'a ConnId, ts: Timestamp, out: &'a mut Vec<Record>) -> Self {
        Context {
            uid,
            id,
            ts,
            out,
            verdict: Verdict::Undecided,
        }
    }

    pub fn confirm(&mut self) {
        if self.verdict == Verdict::Undecided {
            self.verdict = Verdict::Confirmed;
        }
    }

    pub fn violation(&mut self) {
        self.verdict = Verdict::Violation;
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    pub fn emit(&mut self, record: impl Into<Record>) {
        self.out.push(record.into());
    }
}

/// One application protocol's parser, attached to one connection.
pub trait Dissector: Send {
    /// Service name as it appears in conn.log (`dns`, `http`, `ssl`, `ssh`, `dhcp`).
    fn service(&self) -> &'static str;

    /// Asked before the first bytes are delivered: true when they show that the engine's
    /// choice of originator is backwards (e.g. Zeek's DNS analyzer flips a connection whose
    /// first message is a reply sent by the originator). The engine then swaps the roles
    /// and delivers the bytes as coming from the other side.
    fn roles_reversed(&self, id: &ConnId, is_orig: bool, data: &[u8]) -> bool {
        let _ = (id, is_orig, data);
        false
    }

    /// Bytes from one direction, in order: the next piece of a TCP stream, or one whole
    /// UDP datagram. Must never panic, whatever the bytes.
    fn deliver(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]);

    /// `len` bytes of a TCP direction that will never be delivered (a capture gap).
    fn gap(&mut self, cx: &mut Context<'_>, is_orig: bool, len: u64) {
        let _ = (cx, is_orig, len);
    }

    /// The connection is over (closed, timed out or end of input): emit what is pending.
    fn finish(&mut self, cx: &mut Context<'_>);
}
