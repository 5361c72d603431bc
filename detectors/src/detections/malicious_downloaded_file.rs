//! `MALICIOUS_DOWNLOADED_FILE`: a file seen in the traffic whose hash a local feed lists
//! (`own_malicious_file_hashes.csv`: MD5, SHA1 or SHA256).
//!
//! Slips (`modules/threat_intelligence/threat_intelligence.py:is_malicious_hash`,
//! `set_evidence_malicious_hash`) asks online services (circl.lu, URLhaus) about the MD5
//! of every file in files.log. slipstream makes no network calls: the local hash feed
//! is the extension point, and an online look-up would be a second source behind the
//! same [`ThreatIntel::file_hash`] call. As in Slips: files without a hash are skipped,
//! MD5s of known benign files (`known_fp_md5_hashes.csv`) are never reported, and the
//! evidence comes in two: the sender of the file (the server) as attacker in its own
//! profile, and the receiver (direction DST, so it does not count towards its alert).
//! The threat level is the feed's; the confidence 1 (the user's own feed says so; Slips
//! takes the online service's).

use std::sync::Arc;

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc};
use crate::threat_intel::ThreatIntel;

pub const NAME: &str = "malicious_downloaded_file";

pub struct MaliciousDownloadedFile {
    ti: Arc<ThreatIntel>,
}

impl MaliciousDownloadedFile {
    pub fn new(config: &Config) -> Self {
        Self::with_feeds(crate::threat_intel::shared(config))
    }

    pub fn with_feeds(ti: Arc<ThreatIntel>) -> Self {
        MaliciousDownloadedFile { ti }
    }
}

impl Detector for MaliciousDownloadedFile {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Files(f) = record else { return };
        let Some(id) = f.id else { return };
        if f.md5
            .as_deref()
            .is_some_and(|m| self.ti.known_fp_md5(m).is_some())
        {
            return;
        }
        let Some((hash, info)) = [f.md5.as_deref(), f.sha1.as_deref(), f.sha256.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|h| self.ti.file_hash(h).map(|i| (h, i)))
        else {
            return;
        };
        let (sender, receiver) = if f.is_orig == Some(true) {
            (id.orig_h, id.resp_h)
        } else {
            (id.resp_h, id.orig_h)
        };
        let size = f.total_bytes.unwrap_or(f.seen_bytes);
        let description = format!(
            "Malicious downloaded file {hash}. size: {size} bytes. File was downloaded from server: {sender}. Detected by: {}. Confidence: 1. ",
            info.source
        );
        let tw = ctx.timewindow.number;
        let mut e = Evidence::new(
            EvidenceType::MaliciousDownloadedFile,
            Ioc::src_ip(sender),
            info.threat_level,
            1.0,
            description.clone(),
            sender,
            tw,
            f.ts,
        );
        e.uids.extend(f.uid);
        out.push(e);
        let mut e = Evidence::new(
            EvidenceType::MaliciousDownloadedFile,
            Ioc::dst_ip(receiver),
            info.threat_level,
            1.0,
            description,
            receiver,
            tw,
            f.ts,
        );
        e.victim = Some(Ioc::src_ip(sender));
        e.uids.extend(f.uid);
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::ThreatLevel;
    use crate::testutil::{files, Harness};

    const EICAR: &str = "44d88612fea8a8f36de82e1278abb02f";

    fn detector() -> MaliciousDownloadedFile {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_file_hashes(
            &format!("\"{EICAR}\",\"high\",\"EICAR test file\"\n\"d41d8cd98f00b204e9800998ecf8427e\",\"high\",\"empty\"\n"),
            &"own_malicious_file_hashes.csv".into(),
        );
        ti.parse_known_fp_md5("Empty file, d41d8cd98f00b204e9800998ecf8427e\n");
        MaliciousDownloadedFile::with_feeds(Arc::new(ti.finished()))
    }

    #[test]
    fn listed_hash() {
        let mut f = files("10.0.0.2", "1.2.3.4", 1.0);
        f.md5 = Some(EICAR.into());
        let out = Harness::new(Config::default()).feed(&mut detector(), f);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].attacker, Ioc::src_ip("1.2.3.4".parse().unwrap()));
        assert_eq!(out[0].threat_level, ThreatLevel::High);
        assert_eq!(
            out[0].description,
            "Malicious downloaded file 44d88612fea8a8f36de82e1278abb02f. size: 1000 bytes. File was downloaded from server: 1.2.3.4. Detected by: own_malicious_file_hashes.csv. Confidence: 1. "
        );
        assert_eq!(out[1].attacker, Ioc::dst_ip("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn silent_for_unlisted_known_benign_and_unhashed_files() {
        let mut h = Harness::new(Config::default());
        let mut f = files("10.0.0.2", "1.2.3.4", 1.0);
        assert!(h.feed(&mut detector(), f.clone()).is_empty());
        f.md5 = Some("d41d8cd98f00b204e9800998ecf8427e".into());
        assert!(h.feed(&mut detector(), f.clone()).is_empty());
        f.md5 = Some("00000000000000000000000000000000".into());
        assert!(h.feed(&mut detector(), f).is_empty());
    }
}
