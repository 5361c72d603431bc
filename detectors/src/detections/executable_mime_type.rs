//! `EXECUTABLE_MIME_TYPE`: an HTTP response carried a file of an executable MIME type.
//!
//! As Slips does it (`modules/http_analyzer/http_analyzer.py:detect_executable_mime_types`,
//! `set_evidence.py:executable_mime_type`): any response MIME type in Slips' list
//! (Windows executables and `application/octet-stream`); threat level low, confidence 1;
//! the client as attacker, and the server as attacker in its own profile.

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "executable_mime_type";

const EXECUTABLE_MIME_TYPES: &[&str] = &[
    "application/x-msdownload",
    "application/x-ms-dos-executable",
    "application/x-ms-exe",
    "application/x-exe",
    "application/x-winexe",
    "application/x-winhlp",
    "application/x-winhelp",
    "application/octet-stream",
    "application/x-dosexec",
];

pub struct ExecutableMimeType;

impl ExecutableMimeType {
    pub fn new(_config: &Config) -> Self {
        ExecutableMimeType
    }
}

impl Detector for ExecutableMimeType {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Http(h) = record else { return };
        let Some(types) = h.resp_mime_types.as_deref() else {
            return;
        };
        if !types.iter().any(|t| EXECUTABLE_MIME_TYPES.contains(t)) {
            return;
        }
        let (saddr, daddr) = (h.id.orig_h, h.id.resp_h);
        // Slips prints the Python list.
        let list = types
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let description =
            format!("Download of an executable with MIME type: [{list}] by {saddr} from {daddr}.");
        for (attacker, profile) in [(Ioc::src_ip(saddr), saddr), (Ioc::dst_ip(daddr), daddr)] {
            let mut e = Evidence::new(
                EvidenceType::ExecutableMimeType,
                attacker,
                ThreatLevel::Low,
                1.0,
                description.clone(),
                profile,
                ctx.timewindow.number,
                h.ts,
            );
            e.uids.push(h.uid);
            out.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{http, Harness};

    fn run(types: Option<Vec<&'static str>>) -> Vec<Evidence> {
        let mut r = http("10.0.0.2", "1.2.3.4", "example.com", "/a.exe", 1.0);
        r.resp_mime_types = types;
        Harness::new(Config::default()).feed(&mut ExecutableMimeType, r)
    }

    #[test]
    fn fires_for_executables() {
        let out = run(Some(vec!["application/x-dosexec"]));
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].description,
            "Download of an executable with MIME type: ['application/x-dosexec'] by 10.0.0.2 from 1.2.3.4."
        );
        assert_eq!(out[0].attacker, Ioc::src_ip("10.0.0.2".parse().unwrap()));
        assert_eq!(out[1].attacker, Ioc::dst_ip("1.2.3.4".parse().unwrap()));
        assert_eq!(out[1].threat_level, ThreatLevel::Low);
    }

    #[test]
    fn silent_for_other_types() {
        assert!(run(Some(vec!["text/html", "image/png"])).is_empty());
        assert!(run(None).is_empty());
    }
}
