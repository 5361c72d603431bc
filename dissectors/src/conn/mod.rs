//! conn.log: one record per connection, with Zeek's `Conn::Info` columns.

use std::net::IpAddr;

use crate::time::{Interval, Timestamp};
use crate::uid::Uid;
use crate::zeek::{field, Field, FieldType as T, Row, ZeekRecord};

/// Transport protocol of a connection, as in the `proto` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Tcp,
    Udp,
    Icmp,
    Unknown,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Icmp => "icmp",
            Transport::Unknown => "unknown_transport",
        }
    }
}

/// Zeek's `conn_id`: originator and responder endpoints, plus the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnId {
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub proto: Transport,
}

impl ConnId {
    /// Writes the four `id.*` columns.
    pub fn write_columns(&self, row: &mut Row<'_>) {
        row.addr(Some(self.orig_h));
        row.port(Some(self.orig_p));
        row.addr(Some(self.resp_h));
        row.port(Some(self.resp_p));
    }
}

/// Summary state of a connection (`conn_state` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    S0,
    S1,
    SF,
    REJ,
    S2,
    S3,
    RSTO,
    RSTR,
    RSTOS0,
    RSTRH,
    SH,
    SHR,
    OTH,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConnRecord {
    pub ts: Timestamp,
    pub uid: Uid,
    pub id: ConnId,
    /// Confirmed application protocols, lower-case, comma-joined (`http`, `dns`, `ssl` ...).
    pub service: Option<String>,
    pub duration: Option<Interval>,
    pub orig_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub conn_state: ConnState,
    pub local_orig: Option<bool>,
    pub local_resp: Option<bool>,
    pub missed_bytes: u64,
    pub history: Option<String>,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
    pub tunnel_parents: Option<Vec<Uid>>,
    pub ip_proto: Option<u8>,
    /// The interface a live capture saw the connection on (several can be read at
    /// once); not a column of Zeek's conn.log, kept for the analysis and flows.sqlite.
    pub interface: Option<std::sync::Arc<str>>,
    /// The flow's ground-truth label, when the input carries one (the `label` column of
    /// Stratosphere's labelled Zeek logs); not a column Zeek writes. Training data for
    /// the flow classifier (Slips' `ground_truth_label`).
    pub ground_truth: Option<GroundTruth>,
}

/// A labelled flow's class, as Slips folds the labels for its flow classifier (a label
/// naming malware or malicious traffic is malicious, one naming normal traffic is
/// benign), with `Benign` (the Stratosphere labeller's word) benign too; anything else
/// (`Unknown`, `Background`, empty) is no label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroundTruth {
    Benign,
    Malicious,
}

impl GroundTruth {
    /// Folds a label text (`Malicious`, `From-Botnet-...-Malware`, `Normal`, `Benign` ...).
    pub fn from_label(label: &str) -> Option<GroundTruth> {
        let has = |word: &str| {
            label
                .as_bytes()
                .windows(word.len())
                .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
        };
        if has("malicious") || has("malware") {
            Some(GroundTruth::Malicious)
        } else if has("benign") || has("normal") {
            Some(GroundTruth::Benign)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroundTruth::Benign => "Benign",
            GroundTruth::Malicious => "Malicious",
        }
    }
}

impl ZeekRecord for ConnRecord {
    const PATH: &'static str = "conn";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("proto", T::Enum),
        field("service", T::String),
        field("duration", T::Interval),
        field("orig_bytes", T::Count),
        field("resp_bytes", T::Count),
        field("conn_state", T::String),
        field("local_orig", T::Bool),
        field("local_resp", T::Bool),
        field("missed_bytes", T::Count),
        field("history", T::String),
        field("orig_pkts", T::Count),
        field("orig_ip_bytes", T::Count),
        field("resp_pkts", T::Count),
        field("resp_ip_bytes", T::Count),
        field("tunnel_parents", T::SetString),
        field("ip_proto", T::Count),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(Some(self.uid));
        self.id.write_columns(row);
        row.str(Some(self.id.proto.as_str()));
        row.str(self.service.as_deref());
        row.interval(self.duration);
        row.count(self.orig_bytes);
        row.count(self.resp_bytes);
        row.str(Some(self.conn_state.as_str()));
        row.bool(self.local_orig);
        row.bool(self.local_resp);
        row.count(Some(self.missed_bytes));
        row.str(self.history.as_deref());
        row.count(Some(self.orig_pkts));
        row.count(Some(self.orig_ip_bytes));
        row.count(Some(self.resp_pkts));
        row.count(Some(self.resp_ip_bytes));
        let parents: Option<Vec<String>> = self
            .tunnel_parents
            .as_ref()
            .map(|p| p.iter().map(Uid::to_string).collect());
        row.strings(parents.as_ref().map(|p| p.iter().map(String::as_str)));
        row.count(self.ip_proto.map(u64::from));
    }
}

#[cfg(test)]
mod tests {
    use super::GroundTruth;

    #[test]
    fn labels_fold_as_slips_folds_them() {
        let g = GroundTruth::from_label;
        assert_eq!(g("Malicious"), Some(GroundTruth::Malicious));
        assert_eq!(
            g("flow=From-Botnet-V42-TCP-Malware"),
            Some(GroundTruth::Malicious)
        );
        assert_eq!(g("Benign"), Some(GroundTruth::Benign));
        assert_eq!(g("flow=From-Normal-V42-Jist"), Some(GroundTruth::Benign));
        assert_eq!(g("Unknown"), None);
        assert_eq!(g("flow=Background-UDP-Established"), None);
        assert_eq!(g(""), None);
    }
}
