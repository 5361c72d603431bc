//! weird.log: protocol violations and oddities (`Weird::Info`). The native engine counts
//! its decode errors in errors.log; this record carries weirds read from Zeek's logs.

use crate::conn::ConnId;
use crate::notice::write_optional_id;
use crate::time::Timestamp;
use crate::uid::Uid;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

#[derive(Clone, Debug, PartialEq)]
pub struct WeirdRecord {
    pub ts: Timestamp,
    pub uid: Option<Uid>,
    pub id: Option<ConnId>,
    /// Name of the weird (`bad_TCP_checksum`, `DNS_truncated_len_lt_hdr_len` ...).
    pub name: String,
    pub addl: Option<String>,
    /// Whether the weird was also raised as a notice.
    pub notice: bool,
    pub peer: Option<String>,
    /// Analyzer that raised it (Zeek 6 and later).
    pub source: Option<String>,
}

impl ZeekRecord for WeirdRecord {
    const PATH: &'static str = "weird";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("name", T::String),
        field("addl", T::String),
        field("notice", T::Bool),
        field("peer", T::String),
        field("source", T::String),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(self.uid);
        write_optional_id(row, self.id.as_ref());
        row.str(Some(&self.name));
        row.str(self.addl.as_deref());
        row.bool(Some(self.notice));
        row.str(self.peer.as_deref());
        row.str(self.source.as_deref());
    }
}
