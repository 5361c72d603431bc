//! The http.log record (Zeek's `HTTP::Info` as logged).

use crate::conn::ConnId;
use crate::time::Timestamp;
use crate::uid::Uid;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

/// One request/response transaction. Strings hold the wire bytes escaped as Zeek logs
/// them (`zeek::escape_bytes_lossy`), so they can be compared with indicators directly.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRecord {
    /// Time of the first message of the transaction (usually the request line).
    pub ts: Timestamp,
    pub uid: Uid,
    pub id: ConnId,
    /// Position of the transaction in the connection, from 1 (pipelining depth).
    pub trans_depth: u64,
    pub method: Option<String>,
    /// Value of the `Host` header, port included if present.
    pub host: Option<String>,
    /// The request URI, `%`-unescaped as Zeek does.
    pub uri: Option<String>,
    pub referrer: Option<String>,
    /// Version of the reply (`1.1`, `1.0`, `0.9`).
    pub version: Option<String>,
    pub user_agent: Option<String>,
    pub origin: Option<String>,
    /// Uncompressed body sizes.
    pub request_body_len: u64,
    pub response_body_len: u64,
    pub status_code: Option<u64>,
    pub status_msg: Option<String>,
    /// Last 1xx interim reply.
    pub info_code: Option<u64>,
    pub info_msg: Option<String>,
    pub tags: Vec<&'static str>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `NAME -> value` for each proxy-revealing header.
    pub proxied: Option<Vec<String>>,
    pub orig_fuids: Option<Vec<Uid>>,
    pub orig_filenames: Option<Vec<String>>,
    pub orig_mime_types: Option<Vec<&'static str>>,
    pub resp_fuids: Option<Vec<Uid>>,
    pub resp_filenames: Option<Vec<String>>,
    pub resp_mime_types: Option<Vec<&'static str>>,
}

impl HttpRecord {
    pub fn new(ts: Timestamp, uid: Uid, id: ConnId, trans_depth: u64) -> Self {
        HttpRecord {
            ts,
            uid,
            id,
            trans_depth,
            method: None,
            host: None,
            uri: None,
            referrer: None,
            version: None,
            user_agent: None,
            origin: None,
            request_body_len: 0,
            response_body_len: 0,
            status_code: None,
            status_msg: None,
            info_code: None,
            info_msg: None,
            tags: Vec::new(),
            username: None,
            password: None,
            proxied: None,
            orig_fuids: None,
            orig_filenames: None,
            orig_mime_types: None,
            resp_fuids: None,
            resp_filenames: None,
            resp_mime_types: None,
        }
    }
}

fn uids(v: &Option<Vec<Uid>>) -> Option<Vec<String>> {
    v.as_ref().map(|v| v.iter().map(Uid::to_string).collect())
}

impl ZeekRecord for HttpRecord {
    const PATH: &'static str = "http";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("trans_depth", T::Count),
        field("method", T::String),
        field("host", T::String),
        field("uri", T::String),
        field("referrer", T::String),
        field("version", T::String),
        field("user_agent", T::String),
        field("origin", T::String),
        field("request_body_len", T::Count),
        field("response_body_len", T::Count),
        field("status_code", T::Count),
        field("status_msg", T::String),
        field("info_code", T::Count),
        field("info_msg", T::String),
        field("tags", T::SetEnum),
        field("username", T::String),
        field("password", T::String),
        field("proxied", T::SetString),
        field("orig_fuids", T::VectorString),
        field("orig_filenames", T::VectorString),
        field("orig_mime_types", T::VectorString),
        field("resp_fuids", T::VectorString),
        field("resp_filenames", T::VectorString),
        field("resp_mime_types", T::VectorString),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(Some(self.uid));
        self.id.write_columns(row);
        row.count(Some(self.trans_depth));
        row.str(self.method.as_deref());
        row.str(self.host.as_deref());
        row.str(self.uri.as_deref());
        row.str(self.referrer.as_deref());
        row.str(self.version.as_deref());
        row.str(self.user_agent.as_deref());
        row.str(self.origin.as_deref());
        row.count(Some(self.request_body_len));
        row.count(Some(self.response_body_len));
        row.count(self.status_code);
        row.str(self.status_msg.as_deref());
        row.count(self.info_code);
        row.str(self.info_msg.as_deref());
        row.strings(Some(self.tags.iter().copied()));
        row.str(self.username.as_deref());
        row.str(self.password.as_deref());
        row.strings(self.proxied.as_ref().map(|v| v.iter().map(String::as_str)));
        let of = uids(&self.orig_fuids);
        row.strings(of.as_ref().map(|v| v.iter().map(String::as_str)));
        row.strings(
            self.orig_filenames
                .as_ref()
                .map(|v| v.iter().map(String::as_str)),
        );
        row.strings(self.orig_mime_types.as_ref().map(|v| v.iter().copied()));
        let rf = uids(&self.resp_fuids);
        row.strings(rf.as_ref().map(|v| v.iter().map(String::as_str)));
        row.strings(
            self.resp_filenames
                .as_ref()
                .map(|v| v.iter().map(String::as_str)),
        );
        row.strings(self.resp_mime_types.as_ref().map(|v| v.iter().copied()));
    }
}
