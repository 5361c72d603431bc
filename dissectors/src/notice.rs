//! notice.log: Zeek's `Notice::Info` columns. The native engine raises no notices yet;
//! the record carries notices read from Zeek's own logs so the detectors see them.

use std::net::IpAddr;

use crate::conn::{ConnId, Transport};
use crate::time::{Interval, Timestamp};
use crate::uid::Uid;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

/// Where Zeek's GeoIP lookup placed the notice (`remote_location.*`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeoLocation {
    pub country_code: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NoticeRecord {
    pub ts: Timestamp,
    pub uid: Option<Uid>,
    /// Endpoints of the connection the notice is about; `proto` is the `proto` column.
    pub id: Option<ConnId>,
    pub fuid: Option<String>,
    pub file_mime_type: Option<String>,
    pub file_desc: Option<String>,
    pub proto: Option<Transport>,
    /// Notice type, module-qualified (`Scan::Port_Scan`).
    pub note: String,
    pub msg: Option<String>,
    pub sub: Option<String>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub p: Option<u16>,
    pub n: Option<u64>,
    pub peer_descr: Option<String>,
    /// `Notice::ACTION_*` values taken.
    pub actions: Vec<String>,
    pub email_dest: Option<Vec<String>>,
    pub suppress_for: Option<Interval>,
    pub remote_location: GeoLocation,
}

impl ZeekRecord for NoticeRecord {
    const PATH: &'static str = "notice";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("fuid", T::String),
        field("file_mime_type", T::String),
        field("file_desc", T::String),
        field("proto", T::Enum),
        field("note", T::Enum),
        field("msg", T::String),
        field("sub", T::String),
        field("src", T::Addr),
        field("dst", T::Addr),
        field("p", T::Port),
        field("n", T::Count),
        field("peer_descr", T::String),
        field("actions", T::SetEnum),
        field("email_dest", T::SetString),
        field("suppress_for", T::Interval),
        field("remote_location.country_code", T::String),
        field("remote_location.region", T::String),
        field("remote_location.city", T::String),
        field("remote_location.latitude", T::Double),
        field("remote_location.longitude", T::Double),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(self.uid);
        write_optional_id(row, self.id.as_ref());
        row.str(self.fuid.as_deref());
        row.str(self.file_mime_type.as_deref());
        row.str(self.file_desc.as_deref());
        row.str(self.proto.map(Transport::as_str));
        row.str(Some(&self.note));
        row.str(self.msg.as_deref());
        row.str(self.sub.as_deref());
        row.addr(self.src);
        row.addr(self.dst);
        row.port(self.p);
        row.count(self.n);
        row.str(self.peer_descr.as_deref());
        row.strings(Some(self.actions.iter().map(String::as_str)));
        row.strings(
            self.email_dest
                .as_ref()
                .map(|v| v.iter().map(String::as_str)),
        );
        row.interval(self.suppress_for);
        let loc = &self.remote_location;
        row.str(loc.country_code.as_deref());
        row.str(loc.region.as_deref());
        row.str(loc.city.as_deref());
        row.double(loc.latitude);
        row.double(loc.longitude);
    }
}

/// Writes the four `id.*` columns of a log whose connection is optional.
pub(crate) fn write_optional_id(row: &mut Row<'_>, id: Option<&ConnId>) {
    match id {
        Some(id) => id.write_columns(row),
        None => {
            row.addr(None);
            row.port(None);
            row.addr(None);
            row.port(None);
        }
    }
}
