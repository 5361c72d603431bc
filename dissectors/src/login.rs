//! login.log: a telnet, rlogin or rsh login attempt, in the shape Slips' Zeek script logs
//! it (`Login::Info`). Made by the telnet / rlogin / rsh dissector
//! ([`crate::login_analyzer`]) or read from Zeek's logs.

use crate::conn::ConnId;
use crate::time::Timestamp;
use crate::uid::Uid;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

#[derive(Clone, Debug, PartialEq)]
pub struct LoginRecord {
    pub ts: Timestamp,
    pub uid: Uid,
    pub id: ConnId,
    /// `telnet`, `rlogin` or `rsh`.
    pub proto: Option<String>,
    pub success: bool,
    /// The login analyzer could not follow the dialogue.
    pub confused: bool,
    pub user: Option<String>,
    /// The client-side user (rlogin, rsh).
    pub client_user: Option<String>,
    pub password: Option<String>,
}

impl ZeekRecord for LoginRecord {
    const PATH: &'static str = "login";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("proto", T::String),
        field("success", T::Bool),
        field("confused", T::Bool),
        field("user", T::String),
        field("client_user", T::String),
        field("password", T::String),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(Some(self.uid));
        self.id.write_columns(row);
        row.str(self.proto.as_deref());
        row.bool(Some(self.success));
        row.bool(Some(self.confused));
        row.str(self.user.as_deref());
        row.str(self.client_user.as_deref());
        row.str(self.password.as_deref());
    }
}
