//! arp.log: one ARP request or reply, with the columns of the ARP script Slips loads
//! into Zeek (Zeek itself ships no ARP log).

use std::net::IpAddr;

use crate::time::Timestamp;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOperation {
    Request,
    Reply,
}

impl ArpOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            ArpOperation::Request => "request",
            ArpOperation::Reply => "reply",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArpRecord {
    pub ts: Timestamp,
    pub operation: ArpOperation,
    /// Ethernet source and destination of the frame, `aa:bb:cc:dd:ee:ff`.
    pub src_mac: String,
    pub dst_mac: String,
    /// Sender and target protocol addresses of the ARP payload.
    pub orig_h: IpAddr,
    pub resp_h: IpAddr,
    /// Sender and target hardware addresses of the ARP payload.
    pub orig_hw: String,
    pub resp_hw: String,
}

impl ZeekRecord for ArpRecord {
    const PATH: &'static str = "arp";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("operation", T::String),
        field("src_mac", T::String),
        field("dst_mac", T::String),
        field("orig_h", T::Addr),
        field("resp_h", T::Addr),
        field("orig_hw", T::String),
        field("resp_hw", T::String),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.str(Some(self.operation.as_str()));
        row.str(Some(&self.src_mac));
        row.str(Some(&self.dst_mac));
        row.addr(Some(self.orig_h));
        row.addr(Some(self.resp_h));
        row.str(Some(&self.orig_hw));
        row.str(Some(&self.resp_hw));
    }
}
