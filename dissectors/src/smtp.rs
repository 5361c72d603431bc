//! smtp.log: one mail transaction (`SMTP::Info`). No SMTP dissector exists yet; the
//! record carries transactions read from Zeek's logs.

use std::net::IpAddr;

use crate::conn::ConnId;
use crate::time::Timestamp;
use crate::uid::Uid;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

#[derive(Clone, Debug, PartialEq)]
pub struct SmtpRecord {
    pub ts: Timestamp,
    pub uid: Uid,
    pub id: ConnId,
    pub trans_depth: u64,
    pub helo: Option<String>,
    pub mailfrom: Option<String>,
    pub rcptto: Option<Vec<String>>,
    pub date: Option<String>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    pub cc: Option<Vec<String>>,
    pub reply_to: Option<String>,
    pub msg_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub subject: Option<String>,
    pub x_originating_ip: Option<IpAddr>,
    pub first_received: Option<String>,
    pub second_received: Option<String>,
    pub last_reply: Option<String>,
    /// Hosts the message passed through, from the `Received` headers.
    pub path: Option<Vec<IpAddr>>,
    pub user_agent: Option<String>,
    pub tls: bool,
    pub fuids: Option<Vec<String>>,
    pub is_webmail: bool,
}

impl ZeekRecord for SmtpRecord {
    const PATH: &'static str = "smtp";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("trans_depth", T::Count),
        field("helo", T::String),
        field("mailfrom", T::String),
        field("rcptto", T::SetString),
        field("date", T::String),
        field("from", T::String),
        field("to", T::SetString),
        field("cc", T::SetString),
        field("reply_to", T::String),
        field("msg_id", T::String),
        field("in_reply_to", T::String),
        field("subject", T::String),
        field("x_originating_ip", T::Addr),
        field("first_received", T::String),
        field("second_received", T::String),
        field("last_reply", T::String),
        field("path", T::VectorAddr),
        field("user_agent", T::String),
        field("tls", T::Bool),
        field("fuids", T::VectorString),
        field("is_webmail", T::Bool),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(Some(self.uid));
        self.id.write_columns(row);
        row.count(Some(self.trans_depth));
        row.str(self.helo.as_deref());
        row.str(self.mailfrom.as_deref());
        row.strings(strs(&self.rcptto));
        row.str(self.date.as_deref());
        row.str(self.from.as_deref());
        row.strings(strs(&self.to));
        row.strings(strs(&self.cc));
        row.str(self.reply_to.as_deref());
        row.str(self.msg_id.as_deref());
        row.str(self.in_reply_to.as_deref());
        row.str(self.subject.as_deref());
        row.addr(self.x_originating_ip);
        row.str(self.first_received.as_deref());
        row.str(self.second_received.as_deref());
        row.str(self.last_reply.as_deref());
        let path: Option<Vec<String>> = self
            .path
            .as_ref()
            .map(|p| p.iter().map(IpAddr::to_string).collect());
        row.strings(strs(&path));
        row.str(self.user_agent.as_deref());
        row.bool(Some(self.tls));
        row.strings(strs(&self.fuids));
        row.bool(Some(self.is_webmail));
    }
}

fn strs(v: &Option<Vec<String>>) -> Option<impl Iterator<Item = &str>> {
    v.as_ref().map(|v| v.iter().map(String::as_str))
}
