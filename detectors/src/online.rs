//! What Slips learns from online services, behind traits so that detections never make
//! network calls themselves. Each trait has a local-file implementation, the default;
//! an implementation that asks a service (whois, RDAP, VirusTotal, a P2P network) can be
//! put in its place without touching the detections.
//!
//! Implemented: [`DomainInfoSource`], what Slips' whois look-ups give
//! (`modules/ip_info/ip_info.py`: a domain's creation date, hence its age, and its
//! registrant organisation), used by `YOUNG_DOMAIN` and `CN_URL_MISMATCH`. Its local
//! implementation, [`LocalDomainInfo`], reads `enrichment.whois_database`, a CSV file:
//!
//! ```text
//! # domain,creation_date,organization
//! example.com,1995-08-14,Internet Assigned Numbers Authority
//! fresh-login.net,2024-01-20,
//! ```
//!
//! The others, one module each, all off by default and read from local files:
//!
//! * [`jarm`]: JARM fingerprints of TLS servers (`MALICIOUS_JARM`); the only one with
//!   an implementation that goes on the network, opt-in ([`jarm_probe`]);
//! * [`p2p`]: reports of Slips' P2P peers about IPs (`MALICIOUS_IP_FROM_P2P_NETWORK`,
//!   `P2P_REPORT`), and the reports we would share;
//! * [`virustotal`]: VirusTotal's scores of IPs, domains and URLs (enrichment).

pub mod jarm;
pub mod jarm_probe;
pub mod p2p;
pub mod virustotal;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use dissectors::Timestamp;
use hashbrown::HashMap;

use crate::config::Config;
use crate::timefmt::parse_date;

/// Warnings kept per load; more are counted.
const MAX_WARNINGS: usize = 50;

/// What is known about a registered domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DomainInfo {
    /// Registration date (midnight UTC).
    pub created: Option<Timestamp>,
    /// Registrant organisation.
    pub organization: Option<String>,
}

impl DomainInfo {
    /// Whole days from the registration to `now` (Slips' `Age`); `None` when the
    /// creation date is unknown.
    pub fn age_days(&self, now: Timestamp) -> Option<i64> {
        let created = self.created?;
        Some((now.0 - created.0).div_euclid(86_400 * 1_000_000))
    }
}

/// Whois-like data about domains.
pub trait DomainInfoSource: Send + Sync {
    /// What is known about `domain` (as written in the traffic, any case, with or
    /// without a final dot).
    fn domain_info(&self, domain: &str) -> Option<&DomainInfo>;
}

/// Domain data read from a local CSV file (see the module documentation).
#[derive(Debug, Default)]
pub struct LocalDomainInfo {
    domains: HashMap<Box<str>, DomainInfo>,
    warnings: Vec<String>,
}

impl LocalDomainInfo {
    pub fn empty() -> Self {
        LocalDomainInfo::default()
    }

    /// Reads `path`; an unreadable file or a bad line becomes a warning.
    pub fn load(path: &Path) -> Self {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(
                &String::from_utf8_lossy(&bytes),
                &path.display().to_string(),
            ),
            Err(e) => LocalDomainInfo {
                domains: HashMap::new(),
                warnings: vec![format!(
                    "{}: {e}; no domain ages or registrants",
                    path.display()
                )],
            },
        }
    }

    /// Parses CSV text; `source` names it in warnings.
    pub fn parse(text: &str, source: &str) -> Self {
        let mut info = LocalDomainInfo::default();
        let mut dropped = 0usize;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut cols = line.splitn(3, ',').map(|c| c.trim().trim_matches('"'));
            let domain = cols
                .next()
                .unwrap_or("")
                .trim_end_matches('.')
                .to_ascii_lowercase();
            let date = cols.next().unwrap_or("");
            let organization = cols.next().filter(|o| !o.is_empty()).map(str::to_string);
            let created = if date.is_empty() {
                None
            } else {
                parse_date(date)
            };
            if domain.is_empty() || !domain.contains('.') || (!date.is_empty() && created.is_none())
            {
                if info.warnings.len() < MAX_WARNINGS {
                    info.warnings.push(format!(
                        "{source}: line {}: expected domain,creation date (YYYY-MM-DD),organization",
                        n + 1
                    ));
                } else {
                    dropped += 1;
                }
                continue;
            }
            info.domains.insert(
                domain.into_boxed_str(),
                DomainInfo {
                    created,
                    organization,
                },
            );
        }
        if dropped > 0 {
            info.warnings
                .push(format!("{source}: {dropped} more bad lines"));
        }
        info
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn len(&self) -> usize {
        self.domains.len()
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }
}

impl DomainInfoSource for LocalDomainInfo {
    fn domain_info(&self, domain: &str) -> Option<&DomainInfo> {
        if self.domains.is_empty() {
            return None;
        }
        let domain = domain.trim_end_matches('.');
        if domain.bytes().any(|b| b.is_ascii_uppercase()) {
            self.domains.get(domain.to_ascii_lowercase().as_str())
        } else {
            self.domains.get(domain)
        }
    }
}

/// Data loaded from a file, by path, while someone holds it.
pub(crate) type Cache<T> = Mutex<Vec<(Option<PathBuf>, Weak<T>)>>;

/// The data of `path` from `cache`, loaded with `load` (`empty` without a path) when
/// no one holds it: detections built for the same run share one copy.
pub(crate) fn shared<T>(
    cache: &Cache<T>,
    path: Option<PathBuf>,
    load: impl FnOnce(&Path) -> T,
    empty: impl FnOnce() -> T,
) -> Arc<T> {
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|(_, w)| w.strong_count() > 0);
    if let Some(data) = cache
        .iter()
        .find(|(p, _)| *p == path)
        .and_then(|(_, w)| w.upgrade())
    {
        return data;
    }
    let data = Arc::new(path.as_deref().map_or_else(empty, load));
    cache.push((path, Arc::downgrade(&data)));
    data
}

static CACHE: Cache<LocalDomainInfo> = Mutex::new(Vec::new());

/// The domain data `config` names (`enrichment.whois_database`), loaded once and
/// shared by the detections that need it; empty when no file is configured.
pub fn shared_domain_info(config: &Config) -> Arc<LocalDomainInfo> {
    shared(
        &CACHE,
        config.resolve(&config.enrichment.whois_database),
        LocalDomainInfo::load,
        LocalDomainInfo::empty,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_csv_and_looks_up_any_case() {
        let info = LocalDomainInfo::parse(
            "# domain,creation_date,organization\n\
             example.com,1995-08-14,Internet Assigned Numbers Authority\n\
             Fresh-Login.net.,2024-01-20,\n\
             noage.org,,Some Org\n\
             bad,2024-01-01,x\n\
             when.net,yesterday,x\n",
            "whois.csv",
        );
        assert_eq!(info.len(), 3);
        assert_eq!(info.warnings().len(), 2, "{:?}", info.warnings());
        assert!(info.warnings()[0].starts_with("whois.csv: line 5:"));
        let fresh = info.domain_info("fresh-login.NET.").unwrap();
        assert_eq!(fresh.organization, None);
        let now = parse_date("2024-03-01").unwrap();
        assert_eq!(fresh.age_days(now), Some(41));
        let noage = info.domain_info("noage.org").unwrap();
        assert_eq!(noage.age_days(now), None);
        assert_eq!(noage.organization.as_deref(), Some("Some Org"));
        assert!(info.domain_info("www.example.com").is_none());
    }

    #[test]
    fn a_missing_file_is_a_warning_and_no_data() {
        let info = LocalDomainInfo::load(Path::new("/nonexistent/whois.csv"));
        assert!(info.is_empty());
        assert!(info.warnings()[0].starts_with("/nonexistent/whois.csv"));
        assert!(shared_domain_info(&Config::default()).is_empty());
    }
}
