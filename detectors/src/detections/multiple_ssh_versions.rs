//! `MULTIPLE_SSH_VERSIONS`: a host seen with an SSH client (or server) version other
//! than the first one it used, as Slips does it
//! (`modules/flow_alerts/software.py:check_multiple_ssh_versions`,
//! `set_evidence.py:multiple_ssh_versions`): from `software.log`, the first
//! `major_minor` of each role is remembered per host and every later different one is
//! reported. Medium threat, confidence 0.9. software.log carries no uid, so the evidence
//! has none.

use std::net::IpAddr;

use dissectors::software::SoftwareType;
use dissectors::Record;
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "multiple_ssh_versions";

const MAX_HOSTS: usize = 1 << 16;

#[derive(Default)]
pub struct MultipleSshVersions {
    first: HashMap<(IpAddr, bool), (Option<u64>, Option<u64>)>,
}

impl MultipleSshVersions {
    pub fn new(_config: &Config) -> Self {
        Self::default()
    }
}

fn version_text(v: (Option<u64>, Option<u64>)) -> String {
    let part = |x: Option<u64>| x.map_or_else(|| "None".to_string(), |n| n.to_string());
    format!("{}_{}", part(v.0), part(v.1))
}

impl Detector for MultipleSshVersions {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Software(s) = record else { return };
        let client = match s.software_type {
            SoftwareType::SshClient => true,
            SoftwareType::SshServer => false,
            _ => return,
        };
        let current = (s.major, s.minor);
        let key = (s.host, client);
        let Some(&first) = self.first.get(&key) else {
            if self.first.len() < MAX_HOSTS {
                self.first.insert(key, current);
            }
            return;
        };
        if first == current {
            return;
        }
        let role = if client { "client" } else { "server" };
        out.push(Evidence::new(
            EvidenceType::MultipleSshVersions,
            Ioc::src_ip(s.host),
            ThreatLevel::Medium,
            0.9,
            format!(
                "SSH {role} version changing from {} to {}",
                version_text(first),
                version_text(current)
            ),
            s.host,
            ctx.timewindow.number,
            s.ts,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Harness;
    use dissectors::software::SoftwareRecord;
    use dissectors::Timestamp;

    fn sw(kind: SoftwareType, major: u64, minor: u64) -> SoftwareRecord {
        SoftwareRecord {
            ts: Timestamp::from_secs_f64(1.0),
            host: "10.0.0.2".parse().unwrap(),
            host_p: None,
            software_type: kind,
            name: Some("OpenSSH".into()),
            major: Some(major),
            minor: Some(minor),
            minor2: None,
            minor3: None,
            addl: None,
            unparsed_version: None,
        }
    }

    #[test]
    fn a_second_client_version_fires() {
        let mut h = Harness::new(Config::default());
        let mut d = MultipleSshVersions::new(&h.config);
        assert!(h.feed(&mut d, sw(SoftwareType::SshClient, 6, 2)).is_empty());
        assert!(h.feed(&mut d, sw(SoftwareType::SshClient, 6, 2)).is_empty());
        // The server role is tracked apart.
        assert!(h.feed(&mut d, sw(SoftwareType::SshServer, 7, 4)).is_empty());
        let out = h.feed(&mut d, sw(SoftwareType::SshClient, 5, 3));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].description,
            "SSH client version changing from 6_2 to 5_3"
        );
        assert_eq!(
            (out[0].threat_level, out[0].confidence),
            (ThreatLevel::Medium, 0.9)
        );
    }

    #[test]
    fn other_software_does_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = MultipleSshVersions::new(&h.config);
        assert!(h
            .feed(&mut d, sw(SoftwareType::HttpBrowser, 1, 0))
            .is_empty());
        assert!(h
            .feed(&mut d, sw(SoftwareType::HttpBrowser, 2, 0))
            .is_empty());
    }
}
