//! tunnel.log: tunnels seen being opened and closed (`Tunnel::Info`).

use crate::conn::ConnId;
use crate::time::Timestamp;
use crate::uid::Uid;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

#[derive(Clone, Debug, PartialEq)]
pub struct TunnelRecord {
    pub ts: Timestamp,
    pub uid: Uid,
    /// The tunnel's outer endpoints (ports are 0 for tunnels without ports, as GRE).
    pub id: ConnId,
    /// `Tunnel::Type` (`Tunnel::GRE`, `Tunnel::TEREDO` ...).
    pub tunnel_type: String,
    /// `Tunnel::Action` (`Tunnel::DISCOVER`, `Tunnel::CLOSE`, `Tunnel::EXPIRE`).
    pub action: String,
}

impl ZeekRecord for TunnelRecord {
    const PATH: &'static str = "tunnel";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("tunnel_type", T::Enum),
        field("action", T::Enum),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(Some(self.uid));
        self.id.write_columns(row);
        row.str(Some(&self.tunnel_type));
        row.str(Some(&self.action));
    }
}
