//! VirusTotal's scores of IPs, domains and URLs, behind [`ReputationSource`].
//!
//! Slips' `modules/virustotal/virustotal.py` asks the VirusTotal API v2 about the
//! destination of every flow, every DNS query and every HTTP URL, and keeps the scores
//! with the IP's, domain's or URL's info (`VirusTotal`: `URL`, `down_file`, `ref_file`,
//! `com_file`); it raises no evidence. The scores (`interpret_response`), in percent:
//!
//! * `URL`: detections over engines of the URLs seen on the host (`detected_urls` and
//!   `undetected_urls`, the latter lists of `[url, sha256, positives, total, date]`);
//! * `down_file`, `ref_file`, `com_file`: the same over the samples downloaded from,
//!   referring to, and communicating with the host (`detected_downloaded_samples` ...);
//!
//! and a URL's own score is its report's `positives / total` (0 to 1).
//!
//! [`LocalVirusTotal`] (`enrichment.virustotal_cache`) reads saved API responses from
//! a folder laid out as the API's paths: `ip-address/<ip>.json`, `domain/<domain>.json`
//! and `url/<any name>.json` (the URL is the report's `url` field). A file that is not
//! JSON is skipped with a warning naming it and the line and column.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use hashbrown::HashMap;
use serde_json::Value;

use crate::config::Config;

/// Warnings kept per load; more are counted.
const MAX_WARNINGS: usize = 50;

/// What Slips keeps of a host's VirusTotal report, in percent.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct VtScores {
    pub url: f64,
    pub down_file: f64,
    pub ref_file: f64,
    pub com_file: f64,
}

impl VtScores {
    /// The four scores as the viewers show them, with Slips' names.
    pub fn summary(&self) -> String {
        format!(
            "URL {:.1}%, down_file {:.1}%, ref_file {:.1}%, com_file {:.1}%",
            self.url, self.down_file, self.ref_file, self.com_file
        )
    }
}

/// VirusTotal's scores.
pub trait ReputationSource: Send + Sync {
    fn ip(&self, ip: IpAddr) -> Option<&VtScores>;
    /// Any case, with or without a final dot.
    fn domain(&self, domain: &str) -> Option<&VtScores>;
    /// The URL as Slips writes it (`http://host/path`): positives over engines, 0..=1.
    fn url(&self, url: &str) -> Option<f64>;
}

/// Detections and engines of one category: `(positives, total)` summed over its items.
fn count(response: &Value, key: &str, listed: bool) -> (f64, f64) {
    let Some(items) = response.get(key).and_then(Value::as_array) else {
        return (0.0, 0.0);
    };
    let number = |v: Option<&Value>| v.and_then(Value::as_f64).unwrap_or(0.0);
    items.iter().fold((0.0, 0.0), |(p, t), item| {
        if listed {
            (p + number(item.get(2)), t + number(item.get(3)))
        } else {
            (
                p + number(item.get("positives")),
                t + number(item.get("total")),
            )
        }
    })
}

fn ratio(response: &Value, category: &str) -> f64 {
    let listed = category == "urls";
    let (p1, t1) = count(response, &format!("detected_{category}"), false);
    let (p2, t2) = count(response, &format!("undetected_{category}"), listed);
    let total = t1 + t2;
    if total > 0.0 {
        (p1 + p2) / total * 100.0
    } else {
        0.0
    }
}

/// Slips' `interpret_response` of an IP or domain report.
pub fn scores_of(response: &Value) -> VtScores {
    VtScores {
        url: ratio(response, "urls"),
        down_file: ratio(response, "downloaded_samples"),
        ref_file: ratio(response, "referrer_samples"),
        com_file: ratio(response, "communicating_samples"),
    }
}

/// Slips' `get_url_vt_data`: `positives / total` of a URL report; 0 when the report
/// says the URL is unknown.
pub fn url_score_of(response: &Value) -> f64 {
    if response.get("response_code").and_then(Value::as_i64) == Some(-1)
        || response
            .get("verbose_msg")
            .and_then(Value::as_str)
            .is_some_and(|m| m.contains("Resource does not exist"))
    {
        return 0.0;
    }
    let positives = response.get("positives").and_then(Value::as_f64);
    let total = response.get("total").and_then(Value::as_f64);
    match (positives, total) {
        (Some(p), Some(t)) if t > 0.0 => p / t,
        _ => 0.0,
    }
}

/// Scores read from a folder of saved API responses (see the module documentation).
#[derive(Debug, Default)]
pub struct LocalVirusTotal {
    ips: HashMap<IpAddr, VtScores>,
    domains: HashMap<Box<str>, VtScores>,
    urls: HashMap<Box<str>, f64>,
    warnings: Vec<String>,
    dropped: usize,
}

impl LocalVirusTotal {
    pub fn empty() -> Self {
        LocalVirusTotal::default()
    }

    /// Reads the folder `dir`; unreadable files and folders become warnings.
    pub fn load(dir: &Path) -> Self {
        let mut vt = LocalVirusTotal::default();
        if !dir.is_dir() {
            vt.warn(format!(
                "{}: not a folder; no VirusTotal scores",
                dir.display()
            ));
            return vt;
        }
        for kind in ["ip-address", "domain", "url"] {
            let sub = dir.join(kind);
            let Ok(entries) = std::fs::read_dir(&sub) else {
                continue;
            };
            let mut files: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            for path in files {
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let text = match std::fs::read(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        vt.warn(format!("{}: {e}", path.display()));
                        continue;
                    }
                };
                if let Err(m) = vt.add(kind, &name, &text) {
                    vt.warn(format!("{}: {m}; skipped", path.display()));
                }
            }
        }
        if vt.dropped > 0 {
            let n = vt.dropped;
            vt.warnings
                .push(format!("{}: {n} more bad files", dir.display()));
        }
        vt
    }

    /// Adds one saved response: `kind` is `ip-address`, `domain` or `url`, `name` the
    /// file name without `.json`.
    pub fn add(&mut self, kind: &str, name: &str, json: &[u8]) -> Result<(), String> {
        let response: Value = serde_json::from_slice(json)
            .map_err(|e| format!("line {} column {}: {e}", e.line(), e.column()))?;
        if !response.is_object() {
            return Err("not a VirusTotal report (a JSON object)".into());
        }
        match kind {
            "ip-address" => {
                let ip: IpAddr = name
                    .parse()
                    .map_err(|_| format!("{name} (the file name) is not an address"))?;
                self.ips.insert(ip, scores_of(&response));
            }
            "domain" => {
                let domain = name.trim_end_matches('.').to_ascii_lowercase();
                self.domains
                    .insert(domain.into_boxed_str(), scores_of(&response));
            }
            _ => {
                let url = response
                    .get("url")
                    .and_then(Value::as_str)
                    .ok_or("a URL report names its URL in `url`")?;
                self.urls.insert(url.into(), url_score_of(&response));
            }
        }
        Ok(())
    }

    fn warn(&mut self, m: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(m);
        } else {
            self.dropped += 1;
        }
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn len(&self) -> usize {
        self.ips.len() + self.domains.len() + self.urls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReputationSource for LocalVirusTotal {
    fn ip(&self, ip: IpAddr) -> Option<&VtScores> {
        self.ips.get(&ip)
    }

    fn domain(&self, domain: &str) -> Option<&VtScores> {
        if self.domains.is_empty() {
            return None;
        }
        let d = domain.trim_end_matches('.').to_ascii_lowercase();
        self.domains.get(d.as_str())
    }

    fn url(&self, url: &str) -> Option<f64> {
        self.urls.get(url).copied()
    }
}

static CACHE: super::Cache<LocalVirusTotal> = Mutex::new(Vec::new());

/// The scores `config` names (`enrichment.virustotal_cache`), loaded once and shared;
/// empty when no folder is configured.
pub fn shared_virustotal(config: &Config) -> Arc<LocalVirusTotal> {
    super::shared(
        &CACHE,
        config.resolve(&config.enrichment.virustotal_cache),
        LocalVirusTotal::load,
        LocalVirusTotal::empty,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/online/virustotal")
    }

    #[test]
    fn reads_saved_reports_as_slips_scores_them() {
        let vt = LocalVirusTotal::load(&testdata());
        assert_eq!(vt.len(), 3);
        // the malformed file is named with its line and column
        assert_eq!(vt.warnings().len(), 1, "{:?}", vt.warnings());
        assert!(vt.warnings()[0].contains("domain/broken.example.json: line 3 column"));
        let ip = vt.ip("203.0.113.66".parse().unwrap()).unwrap();
        // URLs: (3 + 0) detections over (60 + 60 + 70) engines
        assert!((ip.url - 300.0 / 190.0).abs() < 1e-9, "{ip:?}");
        // downloaded: 40 of 70; referring: none listed; communicating: 10 of (70 + 70)
        assert!((ip.down_file - 4000.0 / 70.0).abs() < 1e-9);
        assert_eq!(ip.ref_file, 0.0);
        assert!((ip.com_file - 1000.0 / 140.0).abs() < 1e-9);
        assert!(vt.ip("203.0.113.67".parse().unwrap()).is_none());
        let d = vt.domain("Bad-Domain.example.").unwrap();
        assert_eq!(d.url, 50.0);
        let u = vt.url("http://bad-domain.example/payload.exe").unwrap();
        assert!((u - 30.0 / 70.0).abs() < 1e-9);
        assert!(vt.url("http://bad-domain.example/").is_none());
    }

    #[test]
    fn unknown_urls_and_missing_folders() {
        let unknown: Value = serde_json::from_str(
            r#"{"response_code": 0, "verbose_msg": "Resource does not exist in the dataset", "positives": 5, "total": 10}"#,
        )
        .unwrap();
        assert_eq!(url_score_of(&unknown), 0.0);
        let mut vt = LocalVirusTotal::empty();
        assert!(vt.add("ip-address", "not-an-ip", b"{}").is_err());
        assert!(vt
            .add("url", "x", br#"{"positives": 1, "total": 2}"#)
            .is_err());
        assert!(vt.add("domain", "x.example", b"[1]").is_err());
        let vt = LocalVirusTotal::load(Path::new("/nonexistent/vt"));
        assert!(vt.is_empty());
        assert!(vt.warnings()[0].starts_with("/nonexistent/vt"));
        assert!(shared_virustotal(&Config::default()).is_empty());
    }
}
