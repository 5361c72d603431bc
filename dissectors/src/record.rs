//! Every kind of record the project produces, so that pipelines can carry them in one
//! channel and the output stage can route each to its log.

use std::io;

use crate::arp::ArpRecord;
use crate::conn::ConnRecord;
use crate::dhcp::{DhcpMessageRecord, DhcpRecord};
use crate::dns::DnsRecord;
use crate::files::FileRecord;
use crate::http::HttpRecord;
use crate::login::LoginRecord;
use crate::notice::NoticeRecord;
use crate::smtp::SmtpRecord;
use crate::software::{SoftwareFound, SoftwareRecord};
use crate::ssh::SshRecord;
use crate::ssl::SslRecord;
use crate::time::Timestamp;
use crate::tunnel::TunnelRecord;
use crate::weird::WeirdRecord;
use crate::x509::X509Record;
use crate::zeek::{write_record_line, LogFormat, LogSet, ZeekRecord};

/// Every variant holds its record boxed: records move several times between the
/// dissectors, the flow table, the workers and the merge, and a 16-byte record moves in
/// one step where the largest variant set the size of all (176 bytes).
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Conn(Box<ConnRecord>),
    Ssl(Box<SslRecord>),
    /// One certificate; run `x509::X509Dedup` over records before writing (Zeek
    /// de-duplicates x509.log across connections).
    X509(Box<X509Record>),
    Ssh(Box<SshRecord>),
    Software(Box<SoftwareRecord>),
    /// A `Software::found` sighting for `software::SoftwareTracker`; writes no log line.
    SoftwareFound(Box<SoftwareFound>),
    Dns(Box<DnsRecord>),
    Http(Box<HttpRecord>),
    Files(Box<FileRecord>),
    Dhcp(Box<DhcpRecord>),
    /// One DHCP message: input of `dhcp::DhcpAggregator`, not written to any log.
    DhcpMessage(Box<DhcpMessageRecord>),
    Notice(Box<NoticeRecord>),
    Weird(Box<WeirdRecord>),
    Arp(Box<ArpRecord>),
    Smtp(Box<SmtpRecord>),
    Login(Box<LoginRecord>),
    Tunnel(Box<TunnelRecord>),
}

impl Record {
    /// Computes what a dissector left for later, off the packet path (a file's digests),
    /// so that the record is complete; a no-op for every other record.
    pub fn finish_deferred(&mut self) {
        if let Record::Files(f) = self {
            f.finish_digests();
        }
    }

    /// [`Record::finish_deferred`] for many records at once (files' MD5s side by side).
    pub fn finish_deferred_all<'a>(records: impl IntoIterator<Item = &'a mut Record>) {
        FileRecord::finish_digests_all(records.into_iter().filter_map(|r| match r {
            Record::Files(f) => Some(f.as_mut()),
            _ => None,
        }));
    }

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
            Record::Notice(r) => r.ts,
            Record::Weird(r) => r.ts,
            Record::Arp(r) => r.ts,
            Record::Smtp(r) => r.ts,
            Record::Login(r) => r.ts,
            Record::Tunnel(r) => r.ts,
        }
    }

    /// Writes the record to its log in `logs`.
    pub fn write_to(&self, logs: &mut LogSet) -> io::Result<()> {
        match self {
            Record::Conn(r) => logs.write(r.as_ref()),
            Record::Ssl(r) => logs.write(r.as_ref()),
            Record::X509(r) => logs.write(r.as_ref()),
            Record::Ssh(r) => logs.write(r.as_ref()),
            Record::Software(r) => logs.write(r.as_ref()),
            Record::SoftwareFound(_) => Ok(()),
            Record::Dns(r) => logs.write(r.as_ref()),
            Record::Http(r) => logs.write(r.as_ref()),
            Record::Files(r) => logs.write(r.as_ref()),
            Record::Dhcp(r) => logs.write(r.as_ref()),
            Record::DhcpMessage(_) => Ok(()),
            Record::Notice(r) => logs.write(r.as_ref()),
            Record::Weird(r) => logs.write(r.as_ref()),
            Record::Arp(r) => logs.write(r.as_ref()),
            Record::Smtp(r) => logs.write(r.as_ref()),
            Record::Login(r) => logs.write(r.as_ref()),
            Record::Tunnel(r) => logs.write(r.as_ref()),
        }
    }
}

impl Record {
    /// Renders the record as one line of its log (a TSV row or a JSON object with its
    /// newline, no header) into `out` and returns the log's name; the records that are
    /// inputs of aggregators write nothing and give `None`.
    pub fn write_line(&self, out: &mut Vec<u8>, format: LogFormat) -> Option<&'static str> {
        fn line<R: ZeekRecord>(out: &mut Vec<u8>, format: LogFormat, r: &R) -> &'static str {
            write_record_line(out, format, r);
            R::PATH
        }
        Some(match self {
            Record::Conn(r) => line(out, format, r.as_ref()),
            Record::Ssl(r) => line(out, format, r.as_ref()),
            Record::X509(r) => line(out, format, r.as_ref()),
            Record::Ssh(r) => line(out, format, r.as_ref()),
            Record::Software(r) => line(out, format, r.as_ref()),
            Record::Dns(r) => line(out, format, r.as_ref()),
            Record::Http(r) => line(out, format, r.as_ref()),
            Record::Files(r) => line(out, format, r.as_ref()),
            Record::Dhcp(r) => line(out, format, r.as_ref()),
            Record::Notice(r) => line(out, format, r.as_ref()),
            Record::Weird(r) => line(out, format, r.as_ref()),
            Record::Arp(r) => line(out, format, r.as_ref()),
            Record::Smtp(r) => line(out, format, r.as_ref()),
            Record::Login(r) => line(out, format, r.as_ref()),
            Record::Tunnel(r) => line(out, format, r.as_ref()),
            Record::SoftwareFound(_) | Record::DhcpMessage(_) => return None,
        })
    }
}

impl From<ConnRecord> for Record {
    fn from(r: ConnRecord) -> Self {
        Record::Conn(Box::new(r))
    }
}

impl From<DnsRecord> for Record {
    fn from(r: DnsRecord) -> Self {
        Record::Dns(Box::new(r))
    }
}

impl From<HttpRecord> for Record {
    fn from(r: HttpRecord) -> Self {
        Record::Http(Box::new(r))
    }
}

impl From<FileRecord> for Record {
    fn from(r: FileRecord) -> Self {
        Record::Files(Box::new(r))
    }
}

impl From<SshRecord> for Record {
    fn from(r: SshRecord) -> Self {
        Record::Ssh(Box::new(r))
    }
}

impl From<SoftwareRecord> for Record {
    fn from(r: SoftwareRecord) -> Self {
        Record::Software(Box::new(r))
    }
}

impl From<SoftwareFound> for Record {
    fn from(r: SoftwareFound) -> Self {
        Record::SoftwareFound(Box::new(r))
    }
}

impl From<DhcpRecord> for Record {
    fn from(r: DhcpRecord) -> Self {
        Record::Dhcp(Box::new(r))
    }
}

impl From<DhcpMessageRecord> for Record {
    fn from(r: DhcpMessageRecord) -> Self {
        Record::DhcpMessage(Box::new(r))
    }
}

impl From<SslRecord> for Record {
    fn from(r: SslRecord) -> Self {
        Record::Ssl(Box::new(r))
    }
}

impl From<X509Record> for Record {
    fn from(r: X509Record) -> Self {
        Record::X509(Box::new(r))
    }
}

impl From<NoticeRecord> for Record {
    fn from(r: NoticeRecord) -> Self {
        Record::Notice(Box::new(r))
    }
}

impl From<WeirdRecord> for Record {
    fn from(r: WeirdRecord) -> Self {
        Record::Weird(Box::new(r))
    }
}

impl From<ArpRecord> for Record {
    fn from(r: ArpRecord) -> Self {
        Record::Arp(Box::new(r))
    }
}

impl From<LoginRecord> for Record {
    fn from(r: LoginRecord) -> Self {
        Record::Login(Box::new(r))
    }
}

impl From<SmtpRecord> for Record {
    fn from(r: SmtpRecord) -> Self {
        Record::Smtp(Box::new(r))
    }
}

impl From<TunnelRecord> for Record {
    fn from(r: TunnelRecord) -> Self {
        Record::Tunnel(Box::new(r))
    }
}

#[cfg(test)]
mod tests {
    use super::Record;

    /// Every record is moved several times between the flow table and the log files (into
    /// the emitted queue, to the merge, into its slab, into the lanes' batches): the large
    /// kinds are boxed so that a move stays small. At 544 bytes, these moves were a tenth
    /// of the reader's instructions.
    #[test]
    fn a_record_moves_in_a_few_cache_lines() {
        assert!(std::mem::size_of::<Record>() <= 192);
    }
}
