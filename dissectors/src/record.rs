//! Every kind of record the project produces, so that pipelines can carry them in one
//! channel and the output stage can route each to its log.

use std::io;

use crate::conn::ConnRecord;
use crate::dns::DnsRecord;
use crate::time::Timestamp;
use crate::zeek::LogSet;

#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Conn(ConnRecord),
    Dns(DnsRecord),
}

impl Record {
    pub fn ts(&self) -> Timestamp {
        match self {
            Record::Conn(r) => r.ts,
            Record::Dns(r) => r.ts,
        }
    }

    /// Writes the record to its log in `logs`.
    pub fn write_to(&self, logs: &mut LogSet) -> io::Result<()> {
        match self {
            Record::Conn(r) => logs.write(r),
            Record::Dns(r) => logs.write(r),
        }
    }
}

impl From<ConnRecord> for Record {
    fn from(r: ConnRecord) -> Self {
        Record::Conn(r)
    }
}

impl From<DnsRecord> for Record {
    fn from(r: DnsRecord) -> Self {
        Record::Dns(r)
    }
}
