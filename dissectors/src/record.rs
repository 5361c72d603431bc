//! Every kind of record the project produces, so that pipelines can carry them in one
//! channel and the output stage can route each to its log.

use std::io;

use crate::conn::ConnRecord;
use crate::dhcp::{DhcpMessageRecord, DhcpRecord};
use crate::dns::DnsRecord;
use crate::files::FileRecord;
use crate::http::HttpRecord;
use crate::software::{SoftwareFound, SoftwareRecord};
use crate::ssh::SshRecord;
use crate::ssl::SslRecord;
use crate::time::Timestamp;
use crate::x509::X509Record;
use crate::zeek::LogSet;

#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Conn(ConnRecord),
    Ssl(SslRecord),
    /// One certificate; run `x509::X509Dedup` over records before writing (Zeek
    /// de-duplicates x509.log across connections).
    X509(X509Record),
    Ssh(SshRecord),
    Software(SoftwareRecord),
    /// A `Software::found` sighting for `software::SoftwareTracker`; writes no log line.
    SoftwareFound(SoftwareFound),
    Dns(DnsRecord),
    Http(HttpRecord),
    Files(FileRecord),
    Dhcp(DhcpRecord),
    /// One DHCP message: input of `dhcp::DhcpAggregator`, not written to any log.
    DhcpMessage(DhcpMessageRecord),
}

impl Record {
    pub fn ts(&self) -> Timestamp {
        match self {
            Record::Conn(r) => r.ts,
            Record::Ssl(r) => r.ts,
            Record::X509(r) => r.ts,
            Record::Ssh(r) => r.ts,
            Record::Software(r) => r.ts,
            Record::SoftwareFound(r) => r.ts,
            Record::Dns(r) => r.ts,
            Record::Http(r) => r.ts,
            Record::Files(r) => r.ts,
            Record::Dhcp(r) => r.ts,
            Record::DhcpMessage(r) => r.ts,
        }
    }

    /// Writes the record to its log in `logs`.
    pub fn write_to(&self, logs: &mut LogSet) -> io::Result<()> {
        match self {
            Record::Conn(r) => logs.write(r),
            Record::Ssl(r) => logs.write(r),
            Record::X509(r) => logs.write(r),
            Record::Ssh(r) => logs.write(r),
            Record::Software(r) => logs.write(r),
            Record::SoftwareFound(_) => Ok(()),
            Record::Dns(r) => logs.write(r),
            Record::Http(r) => logs.write(r),
            Record::Files(r) => logs.write(r),
            Record::Dhcp(r) => logs.write(r),
            Record::DhcpMessage(_) => Ok(()),
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

impl From<HttpRecord> for Record {
    fn from(r: HttpRecord) -> Self {
        Record::Http(r)
    }
}

impl From<FileRecord> for Record {
    fn from(r: FileRecord) -> Self {
        Record::Files(r)
    }
}

impl From<SshRecord> for Record {
    fn from(r: SshRecord) -> Self {
        Record::Ssh(r)
    }
}

impl From<SoftwareRecord> for Record {
    fn from(r: SoftwareRecord) -> Self {
        Record::Software(r)
    }
}

impl From<SoftwareFound> for Record {
    fn from(r: SoftwareFound) -> Self {
        Record::SoftwareFound(r)
    }
}

impl From<DhcpRecord> for Record {
    fn from(r: DhcpRecord) -> Self {
        Record::Dhcp(r)
    }
}

impl From<DhcpMessageRecord> for Record {
    fn from(r: DhcpMessageRecord) -> Self {
        Record::DhcpMessage(r)
    }
}

impl From<SslRecord> for Record {
    fn from(r: SslRecord) -> Self {
        Record::Ssl(r)
    }
}

impl From<X509Record> for Record {
    fn from(r: X509Record) -> Self {
        Record::X509(r)
    }
}
