//! The last step before records are written: the parts of Zeek's logs that need state
//! across connections (DHCP transactions, software sightings, certificate
//! de-duplication). It sees every record once, in timestamp order, on one thread.

use crate::dhcp::DhcpAggregator;
use crate::record::Record;
use crate::software::SoftwareTracker;
use crate::x509::X509Dedup;

#[derive(Default)]
pub struct OutputStage {
    dhcp: DhcpAggregator,
    software: SoftwareTracker,
    x509: X509Dedup,
}

impl OutputStage {
    pub fn new() -> Self {
        OutputStage {
            dhcp: DhcpAggregator::new(),
            software: SoftwareTracker::default(),
            x509: X509Dedup::default(),
        }
    }

    /// Takes the next record (in output order); appends what is ready to be written.
    /// The aggregators' inputs (single DHCP messages, software sightings) are consumed;
    /// every other record passes straight through.
    pub fn push(&mut self, record: Record, out: &mut Vec<Record>) {
        // DHCP transactions expire on the clock of every record.
        out.extend(self.dhcp.push(&record));
        match record {
            Record::DhcpMessage(_) => {}
            Record::X509(_) => {
                for r in self.x509.push(record) {
                    out.extend(self.software.push(r));
                }
            }
            Record::SoftwareFound(_) => out.extend(self.software.push(record)),
            other => out.push(other),
        }
    }

    /// End of input: appends everything still held.
    pub fn finish(&mut self, out: &mut Vec<Record>) {
        out.extend(self.dhcp.finish());
        for r in self.x509.finish() {
            out.extend(self.software.push(r));
        }
        out.extend(self.software.finish());
    }
}
