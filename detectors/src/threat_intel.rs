//! Threat-intelligence feeds and their look-ups, read from local files in Slips' formats
//! (`modules/threat_intelligence/threat_intelligence.py:parse_local_ti_file`,
//! `parse_ja3_file`, `parse_known_fp_hashes`; `modules/update_manager/update_manager.py:
//! parse_ti_feed`, `parse_ja3_feed`, `parse_ssl_feed`, `get_feed_details`).
//!
//! Two folders are read (`threatintelligence` in the configuration):
//!
//! * `local_threat_intelligence_files`: the user's own feeds. `own_malicious_iocs.csv`
//!   (`ioc,threat level,description`; IPs, ranges, domains, ASNs), `own_malicious_JA3.csv`
//!   (`hash,threat level,description`), `known_fp_md5_hashes.csv` (`description, md5`),
//!   and `own_malicious_file_hashes.csv` (ours: `md5|sha1|sha256,threat level,description`,
//!   the local stand-in for Slips' online hash look-ups), `own_malicious_JARM.csv`
//!   (`jarm,threat level,description`; 62-character JARM fingerprints of malicious TLS
//!   servers, for `MALICIOUS_JARM`); any other `.csv`/`.txt` is read as IoCs.
//! * `download_path_for_remote_threat_intelligence`: copies of the remote feeds named by
//!   the feed lists (`ti_files`, `ja3_feeds`, `ssl_feeds`), each file named as the last
//!   part of its URL, as Slips stores them. The feed list gives each its threat level and
//!   tags. Adding remote feeds later means an updater that downloads into this folder;
//!   [`shared`] reloads when a file there changes.
//!
//! * `tor_exit_nodes`: the Tor Project's bulk exit list (one address per line, `#`
//!   comments; `ExitAddress <ip> ...` lines of the `exit-addresses` list work too), for
//!   `TOR_EXIT_NODE`. IoC feeds may also list URLs (`http://host/path`, or `host/path`),
//!   matched against HTTP requests (`THREAT_INTELLIGENCE_MALICIOUS_URL`).
//!
//! Look-ups allocate nothing: addresses in a hash map, ranges behind a [`PrefixSet`]
//! (one binary search rejects almost every address) and then one hash probe per prefix
//! length in use, domains by exact name then by each parent domain.
//!
//! Loading never fails: an unreadable file or a bad line becomes a warning naming the
//! file and the line, and the rest is read.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use dissectors::net::{Cidr, PrefixSet};
use hashbrown::HashMap;

use crate::config::Config;
use crate::evidence::ThreatLevel;
use crate::profile::is_public;

/// Warnings kept per load; more are counted, not stored.
const MAX_WARNINGS: usize = 50;

/// What a feed says about one indicator.
#[derive(Clone, Debug, PartialEq)]
pub struct IocInfo {
    pub description: Box<str>,
    /// Feed file name(s) that list it, joined by `, `.
    pub source: Arc<str>,
    pub threat_level: ThreatLevel,
    /// Tags of the feed (`local TI file` for the user's own files); empty: none.
    pub tags: Arc<str>,
}

/// A domain found in a feed: itself, or (`is_subdomain`) one of its parent domains.
#[derive(Clone, Copy, Debug)]
pub struct DomainMatch<'a> {
    pub info: &'a IocInfo,
    pub is_subdomain: bool,
}

impl DomainMatch<'_> {
    /// Slips' confidence of a domain match: 0.7 for a listed parent domain, else 1.
    pub fn confidence(&self) -> f64 {
        if self.is_subdomain {
            0.7
        } else {
            1.0
        }
    }
}

/// Where the feeds are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TiSources {
    pub local_dir: Option<PathBuf>,
    pub remote_dir: Option<PathBuf>,
    pub ti_feeds: Option<PathBuf>,
    pub ja3_feeds: Option<PathBuf>,
    pub ssl_feeds: Option<PathBuf>,
    pub tor_exit_nodes: Option<PathBuf>,
}

impl TiSources {
    pub fn from_config(config: &Config) -> Self {
        let ti = &config.threat_intelligence;
        TiSources {
            local_dir: config.resolve(&ti.local_threat_intelligence_files),
            remote_dir: config.resolve(&ti.download_path_for_remote_threat_intelligence),
            ti_feeds: config.resolve(&ti.ti_files),
            ja3_feeds: config.resolve(&ti.ja3_feeds),
            ssl_feeds: config.resolve(&ti.ssl_feeds),
            tor_exit_nodes: config.resolve(&ti.tor_exit_nodes),
        }
    }
}

/// One remote feed of a feed list.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedMeta {
    /// The file name the feed is stored under (last part of its URL).
    pub file_name: String,
    pub threat_level: ThreatLevel,
    pub tags: Arc<str>,
}

/// Size and modification time of every file and folder read, to notice changes.
type Stamps = Vec<(PathBuf, Option<(u64, Option<SystemTime>)>)>;

#[derive(Debug, Default)]
pub struct ThreatIntel {
    ips: HashMap<IpAddr, IocInfo>,
    range_filter: PrefixSet,
    /// Per prefix length (longest first), network address -> info.
    ranges_v4: Vec<(u8, HashMap<u32, IocInfo>)>,
    ranges_v6: Vec<(u8, HashMap<u128, IocInfo>)>,
    domains: HashMap<Box<str>, IocInfo>,
    asns: HashMap<u32, IocInfo>,
    ja3: HashMap<Box<str>, IocInfo>,
    jarm: HashMap<Box<str>, IocInfo>,
    ssl_sha1: HashMap<Box<str>, IocInfo>,
    file_hashes: HashMap<Box<str>, IocInfo>,
    known_fp_md5: HashMap<Box<str>, Box<str>>,
    /// Listed URLs by [`url_key`].
    urls: HashMap<Box<str>, IocInfo>,
    tor_exit_nodes: hashbrown::HashSet<IpAddr>,
    warnings: Vec<String>,
    warnings_dropped: usize,
    stamps: Stamps,
}

/// What kind of indicator a feed value is (Slips' `detect_ioc_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IocType {
    Ip(IpAddr),
    Range(Cidr),
    Domain,
    Asn(u32),
    Url,
}

fn ioc_type(s: &str) -> Option<IocType> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(IocType::Ip(ip));
    }
    if url_key(s).is_some() {
        return Some(IocType::Url);
    }
    if s.contains('/') {
        return s.parse::<Cidr>().ok().map(IocType::Range);
    }
    if let Some(n) = s.strip_prefix("AS").or_else(|| s.strip_prefix("as")) {
        if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            return n.parse().ok().map(IocType::Asn);
        }
    }
    is_domain(s).then_some(IocType::Domain)
}

/// A host name with at least two labels of letters, digits, `-` and `_`, and a top
/// label that is not all digits (Slips uses `validators.domain`).
pub fn is_domain(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > 253 || !s.contains('.') {
        return false;
    }
    let labels_ok = s.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    let tld = s.rsplit('.').next().unwrap_or("");
    labels_ok && !tld.bytes().all(|b| b.is_ascii_digit())
}

/// A URL as it is looked up: `host/path?query`, the host lower-cased, without the
/// scheme; `None` when `s` is not a URL of a named host (`http://...`, `https://...`
/// or `domain/path`).
pub fn url_key(s: &str) -> Option<String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .unwrap_or(s);
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None if rest.len() != s.len() => (rest, "/"),
        None => return None,
    };
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if !is_domain(name) {
        return None;
    }
    Some(format!("{}{path}", host.to_ascii_lowercase()))
}

fn threat_level_named(s: &str) -> Option<ThreatLevel> {
    ThreatLevel::ALL
        .iter()
        .copied()
        .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Address bits of a prefix's network, masked.
fn network_v4(a: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - u32::from(len)))
    }
}

fn network_v6(a: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - u32::from(len)))
    }
}

/// ASCII-lower-cases `s` only when needed.
fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(s.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Merges a second listing of the same indicator as Slips does: sources and tags are
/// joined, the higher threat level wins, the first description stays.
fn merge(old: &mut IocInfo, new: IocInfo) {
    if old.source.split(", ").any(|s| s == &*new.source) {
        return;
    }
    old.source = format!("{}, {}", old.source, new.source).into();
    if !new.tags.is_empty() && !old.tags.split(", ").any(|t| t == &*new.tags) {
        old.tags = if old.tags.is_empty() {
            new.tags
        } else {
            format!("{}, {}", old.tags, new.tags).into()
        };
    }
    old.threat_level = old.threat_level.max(new.threat_level);
}

fn insert<K: std::hash::Hash + Eq>(map: &mut HashMap<K, IocInfo>, key: K, info: IocInfo) {
    match map.get_mut(&key) {
        Some(old) => merge(old, info),
        None => {
            map.insert(key, info);
        }
    }
}

/// Lines of a feed that carry data: not empty, not a comment.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let t = l.trim();
        (!t.is_empty() && !t.starts_with('#') && !t.starts_with(';')).then_some((i + 1, t))
    })
}

/// `hash,threat level,description` fields of one line (quotes dropped).
fn three_fields(line: &str) -> (String, Option<&str>, String) {
    let mut parts = line.splitn(3, ',');
    let first = parts
        .next()
        .unwrap_or("")
        .replace('"', "")
        .trim()
        .to_string();
    let level = parts.next();
    let desc = parts
        .next()
        .unwrap_or("")
        .replace('"', "")
        .trim()
        .to_string();
    (first, level, desc)
}

impl ThreatIntel {
    pub fn empty() -> Self {
        ThreatIntel::default()
    }

    /// Reads every feed `sources` names; problems become [`ThreatIntel::warnings`].
    pub fn load(sources: &TiSources) -> Self {
        let mut ti = ThreatIntel::default();
        if let Some(dir) = &sources.local_dir {
            ti.load_local_dir(dir);
        }
        if let Some(path) = &sources.tor_exit_nodes {
            if let Some(text) = ti.read(path) {
                ti.parse_tor_exit_nodes(&text);
            }
        }
        if let Some(dir) = &sources.remote_dir {
            let lists = [
                (&sources.ti_feeds, FeedKind::Ioc),
                (&sources.ja3_feeds, FeedKind::Ja3),
                (&sources.ssl_feeds, FeedKind::Ssl),
            ];
            for (list, kind) in lists {
                let Some(list) = list else { continue };
                let Some(text) = ti.read(list) else { continue };
                for feed in parse_feed_list(&text) {
                    let path = dir.join(&feed.file_name);
                    if !path.is_file() {
                        continue;
                    }
                    if let Some(text) = ti.read(&path) {
                        match kind {
                            FeedKind::Ioc => ti.parse_ioc_feed(&text, &feed),
                            FeedKind::Ja3 => ti.parse_hash_feed(&text, &feed, HashFeed::Ja3),
                            FeedKind::Ssl => ti.parse_hash_feed(&text, &feed, HashFeed::Ssl),
                        }
                    }
                }
            }
            ti.stamp(dir);
        }
        ti.finish();
        ti
    }

    fn load_local_dir(&mut self, dir: &Path) {
        self.stamp(dir);
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.warn(format!(
                    "{}: {e}; local threat intelligence not loaded",
                    dir.display()
                ));
                return;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("csv") || x == "txt")
            })
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(text) = self.read(&path) else {
                continue;
            };
            let source: Arc<str> = name.as_str().into();
            if name.contains("JARM") {
                self.parse_local_hashes(&text, &source, HashFeed::Jarm);
            } else if name.contains("known_fp_md5") {
                self.parse_known_fp_md5(&text);
            } else if name.contains("JA3") {
                self.parse_local_hashes(&text, &source, HashFeed::Ja3);
            } else if name.contains("hash") {
                self.parse_local_hashes(&text, &source, HashFeed::File);
            } else {
                self.parse_local_iocs(&text, &source);
            }
        }
    }

    fn read(&mut self, path: &Path) -> Option<String> {
        self.stamp(path);
        match std::fs::read(path) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) => {
                self.warn(format!("{}: {e}", path.display()));
                None
            }
        }
    }

    fn stamp(&mut self, path: &Path) {
        self.stamps.push((path.to_path_buf(), stamp_of(path)));
    }

    fn warn(&mut self, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        } else {
            self.warnings_dropped += 1;
        }
    }

    /// Makes indicators added with the `parse_*` methods ready for look-ups.
    pub fn finished(mut self) -> Self {
        self.finish();
        self
    }

    fn finish(&mut self) {
        self.range_filter.normalize();
        self.ranges_v4.sort_by_key(|r| std::cmp::Reverse(r.0));
        self.ranges_v6.sort_by_key(|r| std::cmp::Reverse(r.0));
        if self.warnings_dropped > 0 {
            let n = self.warnings_dropped;
            self.warnings
                .push(format!("{n} more threat-intelligence warnings not shown"));
            self.warnings_dropped = 0;
        }
    }

    /// Problems met while loading (file and line named).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether a file or folder read at load time changed since.
    pub fn changed_on_disk(&self) -> bool {
        self.stamps.iter().any(|(p, s)| stamp_of(p) != *s)
    }

    /// Number of indicators loaded, for reports.
    pub fn len(&self) -> usize {
        self.ips.len()
            + self.ranges_v4.iter().map(|(_, m)| m.len()).sum::<usize>()
            + self.ranges_v6.iter().map(|(_, m)| m.len()).sum::<usize>()
            + self.domains.len()
            + self.asns.len()
            + self.ja3.len()
            + self.jarm.len()
            + self.ssl_sha1.len()
            + self.file_hashes.len()
            + self.urls.len()
            + self.tor_exit_nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `own_malicious_iocs.csv`: `ioc,threat level,description` per line.
    pub fn parse_local_iocs(&mut self, text: &str, source: &Arc<str>) {
        let tags: Arc<str> = "local TI file".into();
        for (n, line) in data_lines(text) {
            let (ioc, level, description) = three_fields(line);
            let Some(level) = level else {
                self.warn(format!(
                    "{source}: line {n}: expected ioc,threat level,description"
                ));
                continue;
            };
            let info = IocInfo {
                description: description.into(),
                source: source.clone(),
                threat_level: threat_level_named(&level.replace('"', ""))
                    .unwrap_or(ThreatLevel::Medium),
                tags: tags.clone(),
            };
            if !self.add_ioc(&ioc, info) {
                self.warn(format!("{source}: line {n}: invalid data: {ioc}"));
            }
        }
    }

    /// Files of hashes: `hash,threat level,description` per line (`own_malicious_JA3.csv`
    /// and our `own_malicious_file_hashes.csv`). Lines whose hash has the wrong form are
    /// skipped, as Slips does.
    fn parse_local_hashes(&mut self, text: &str, source: &Arc<str>, kind: HashFeed) {
        for (n, line) in data_lines(text) {
            let (hash, level, description) = three_fields(line);
            let hash = hash.to_ascii_lowercase();
            let valid = match kind {
                HashFeed::Ja3 => is_hex(&hash, 32),
                HashFeed::File => is_hex(&hash, 32) || is_hex(&hash, 40) || is_hex(&hash, 64),
                HashFeed::Ssl => is_hex(&hash, 40),
                HashFeed::Jarm => is_hex(&hash, 62),
            };
            if !valid {
                self.warn(format!("{source}: line {n}: not a hash: {hash}"));
                continue;
            }
            let info = IocInfo {
                description: description.into(),
                source: source.clone(),
                threat_level: level
                    .and_then(|l| threat_level_named(&l.replace('"', "")))
                    .unwrap_or(ThreatLevel::Medium),
                tags: "".into(),
            };
            let map = self.hash_map(kind);
            insert(map, hash.into_boxed_str(), info);
        }
    }

    /// `own_malicious_JA3.csv`: `ja3,threat level,description` per line.
    pub fn parse_local_ja3(&mut self, text: &str, source: &Arc<str>) {
        self.parse_local_hashes(text, source, HashFeed::Ja3);
    }

    /// `own_malicious_file_hashes.csv`: `md5|sha1|sha256,threat level,description`.
    pub fn parse_local_file_hashes(&mut self, text: &str, source: &Arc<str>) {
        self.parse_local_hashes(text, source, HashFeed::File);
    }

    /// `own_malicious_JARM.csv`: `jarm,threat level,description` per line.
    pub fn parse_local_jarm(&mut self, text: &str, source: &Arc<str>) {
        self.parse_local_hashes(text, source, HashFeed::Jarm);
    }

    /// A JA3 blacklist in abuse.ch's layout, with its feed-list entry.
    pub fn parse_ja3_feed(&mut self, text: &str, feed: &FeedMeta) {
        self.parse_hash_feed(text, feed, HashFeed::Ja3);
    }

    /// An SSL certificate (SHA1) blacklist in abuse.ch's layout.
    pub fn parse_ssl_feed(&mut self, text: &str, feed: &FeedMeta) {
        self.parse_hash_feed(text, feed, HashFeed::Ssl);
    }

    fn hash_map(&mut self, kind: HashFeed) -> &mut HashMap<Box<str>, IocInfo> {
        match kind {
            HashFeed::Ja3 => &mut self.ja3,
            HashFeed::Ssl => &mut self.ssl_sha1,
            HashFeed::File => &mut self.file_hashes,
            HashFeed::Jarm => &mut self.jarm,
        }
    }

    /// A Tor exit-node list: the first address on each line.
    pub fn parse_tor_exit_nodes(&mut self, text: &str) {
        for (_, line) in data_lines(text) {
            if let Some(ip) = line
                .split_whitespace()
                .find_map(|t| t.parse::<IpAddr>().ok())
            {
                self.tor_exit_nodes.insert(ip);
            }
        }
    }

    /// `known_fp_md5_hashes.csv`: `description, md5[, md5 ...]` per line.
    pub fn parse_known_fp_md5(&mut self, text: &str) {
        for (_, line) in data_lines(text) {
            let mut parts = line.split(", ");
            let description = parts.next().unwrap_or("").trim();
            for h in parts {
                let h = h.trim().to_ascii_lowercase();
                if is_hex(&h, 32) {
                    self.known_fp_md5
                        .insert(h.into_boxed_str(), description.into());
                }
            }
        }
    }

    /// Adds one IoC of the user's or a remote feed; false when it is not an IP, range,
    /// domain or ASN. Private, multicast and link-local addresses and ranges are not
    /// listed (Slips keeps only global addresses).
    fn add_ioc(&mut self, ioc: &str, info: IocInfo) -> bool {
        match ioc_type(ioc) {
            Some(IocType::Ip(ip)) => {
                if is_public(ip) {
                    insert(&mut self.ips, ip, info);
                }
            }
            Some(IocType::Range(cidr)) => {
                if is_public(cidr.addr) {
                    self.add_range(cidr, info);
                }
            }
            Some(IocType::Domain) => {
                let d = ioc.trim_end_matches('.').to_ascii_lowercase();
                insert(&mut self.domains, d.into_boxed_str(), info);
            }
            Some(IocType::Asn(n)) => insert(&mut self.asns, n, info),
            Some(IocType::Url) => {
                if let Some(key) = url_key(ioc) {
                    insert(&mut self.urls, key.into_boxed_str(), info);
                }
            }
            None => return false,
        }
        true
    }

    fn add_range(&mut self, cidr: Cidr, info: IocInfo) {
        self.range_filter.insert(cidr);
        match cidr.addr {
            IpAddr::V4(a) => {
                let key = network_v4(u32::from(a), cidr.len);
                let pos = match self.ranges_v4.iter().position(|(l, _)| *l == cidr.len) {
                    Some(p) => p,
                    None => {
                        self.ranges_v4.push((cidr.len, HashMap::new()));
                        self.ranges_v4.len() - 1
                    }
                };
                insert(&mut self.ranges_v4[pos].1, key, info);
            }
            IpAddr::V6(a) => {
                let key = network_v6(u128::from(a), cidr.len);
                let pos = match self.ranges_v6.iter().position(|(l, _)| *l == cidr.len) {
                    Some(p) => p,
                    None => {
                        self.ranges_v6.push((cidr.len, HashMap::new()));
                        self.ranges_v6.len() - 1
                    }
                };
                insert(&mut self.ranges_v6[pos].1, key, info);
            }
        }
    }

    /// A remote IoC feed (`update_manager.py:parse_ti_feed`): CSV, TSV, `;`-separated,
    /// one value per line, or hosts-file lines (`0.0.0.0 domain`). The data column is the
    /// first that holds an IP, range or domain on the first data line; the description
    /// column is the one a header line names (`desc`, `collect`, `malware`, `tags_str`,
    /// `source`), else the last.
    pub fn parse_ioc_feed(&mut self, text: &str, feed: &FeedMeta) {
        const HEADER_KEYWORDS: &[&str] = &[
            "type",
            "first_seen_utc",
            "ip_v4",
            "\"domain\"",
            "#\"type\"",
            "#fields",
            "number",
            "atom_type",
            "attacker",
            "score",
        ];
        const IGNORED_IOCS: &[&str] = &["email", "url", "file_hash", "file"];
        const DESCRIPTION_KEYWORDS: &[&str] = &["desc", "collect", "malware", "tags_str", "source"];
        let source: Arc<str> = feed.file_name.as_str().into();
        let mut description_column = None;
        let mut layout: Option<(char, usize)> = None;
        for (n, raw) in text.lines().enumerate() {
            let lowered = raw.to_ascii_lowercase();
            let line = raw.trim().replace('"', "");
            if HEADER_KEYWORDS.iter().any(|k| {
                lowered
                    .trim_start_matches(['#', ' '])
                    .starts_with(k.trim_start_matches('#'))
            }) {
                description_column = lowered
                    .split(',')
                    .position(|col| DESCRIPTION_KEYWORDS.iter().any(|k| col.contains(k)));
            }
            if raw.trim_start().starts_with('#')
                || raw.trim_start().starts_with(';')
                || line.len() < 3
                || HEADER_KEYWORDS
                    .iter()
                    .chain(IGNORED_IOCS)
                    .any(|k| lowered.contains(k))
            {
                continue;
            }
            if let Some(rest) = line.strip_prefix("0.0.0.0 ") {
                // hosts-file blocklists
                let domain = rest.trim();
                let info = self.feed_info(feed, &source, "");
                if !self.add_ioc(domain, info) {
                    self.warn(format!(
                        "{}: line {}: invalid data: {domain}",
                        feed.file_name,
                        n + 1
                    ));
                }
                continue;
            }
            let (sep, data_column) = match layout {
                Some(l) => l,
                None => {
                    let sep = [',', ';', '\t']
                        .into_iter()
                        .find(|s| line.contains(*s))
                        .unwrap_or('\t');
                    let Some(col) = line.split(sep).position(|f| ioc_type(f.trim()).is_some())
                    else {
                        self.warn(format!(
                            "{}: line {}: no column holds an IP or a domain; feed skipped",
                            feed.file_name,
                            n + 1
                        ));
                        return;
                    };
                    layout = Some((sep, col));
                    (sep, col)
                }
            };
            let fields: Vec<&str> = line.split(sep).collect();
            let Some(ioc) = fields.get(data_column).map(|f| f.trim()) else {
                continue;
            };
            if ioc.len() < 3 {
                continue;
            }
            let description = match description_column {
                Some(c) => fields.get(c).copied().unwrap_or(""),
                None if fields.len() > 1 => fields[fields.len() - 1],
                None => "",
            };
            let info = self.feed_info(feed, &source, description.trim());
            if !self.add_ioc(ioc, info) {
                self.warn(format!(
                    "{}: line {}: invalid data: {ioc}",
                    feed.file_name,
                    n + 1
                ));
            }
        }
    }

    fn feed_info(&self, feed: &FeedMeta, source: &Arc<str>, description: &str) -> IocInfo {
        IocInfo {
            description: description.into(),
            source: source.clone(),
            threat_level: feed.threat_level,
            tags: feed.tags.clone(),
        }
    }

    /// abuse.ch JA3 and SSL blacklists (`# ja3_md5,Firstseen,Lastseen,Listingreason`,
    /// `# Listingdate,SHA1,Listingreason`): the hash column is the first holding a hash
    /// of the right length, the description is `Listingreason` (else the last column).
    fn parse_hash_feed(&mut self, text: &str, feed: &FeedMeta, kind: HashFeed) {
        let len = if kind == HashFeed::Ssl { 40 } else { 32 };
        let source: Arc<str> = feed.file_name.as_str().into();
        let mut description_column = None;
        let mut hash_column = None;
        for (n, raw) in text.lines().enumerate() {
            let t = raw.trim();
            if let Some(header) = t.strip_prefix('#') {
                let cols: Vec<&str> = header.split(',').map(str::trim).collect();
                if cols.len() > 1 {
                    if let Some(c) = cols
                        .iter()
                        .position(|c| c.eq_ignore_ascii_case("listingreason"))
                    {
                        description_column = Some(c);
                    }
                }
                continue;
            }
            if t.is_empty() {
                continue;
            }
            let line = t.replace('"', "");
            let sep = if line.contains(',') { ',' } else { '\t' };
            let fields: Vec<&str> = line.split(sep).map(str::trim).collect();
            let col = match hash_column {
                Some(c) => c,
                None => match fields.iter().position(|f| is_hex(f, len)) {
                    Some(c) => {
                        hash_column = Some(c);
                        c
                    }
                    None => {
                        self.warn(format!(
                            "{}: line {}: no column holds a hash; feed skipped",
                            feed.file_name,
                            n + 1
                        ));
                        return;
                    }
                },
            };
            let Some(hash) = fields.get(col).filter(|h| is_hex(h, len)) else {
                self.warn(format!("{}: line {}: not a hash", feed.file_name, n + 1));
                continue;
            };
            let dc = description_column.unwrap_or(fields.len() - 1);
            let description = fields.get(dc).copied().unwrap_or("");
            let info = self.feed_info(feed, &source, description);
            let key = hash.to_ascii_lowercase().into_boxed_str();
            insert(self.hash_map(kind), key, info);
        }
    }

    /// The entry listing exactly this address.
    pub fn ip(&self, ip: IpAddr) -> Option<&IocInfo> {
        if self.ips.is_empty() {
            return None;
        }
        self.ips.get(&ip)
    }

    /// The most specific listed range holding `ip`.
    pub fn ip_range(&self, ip: IpAddr) -> Option<&IocInfo> {
        if !self.range_filter.contains(ip) {
            return None;
        }
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.ranges_v4
                    .iter()
                    .find_map(|(len, m)| m.get(&network_v4(a, *len)))
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.ranges_v6
                    .iter()
                    .find_map(|(len, m)| m.get(&network_v6(a, *len)))
            }
        }
    }

    /// Slips' `is_blacklisted_domain`: the name itself, else its closest-to-the-root
    /// listed parent (`is_subdomain`). Names under `.arpa` and `.local` are never
    /// looked up (`is_ignored_domain`).
    pub fn domain(&self, name: &str) -> Option<DomainMatch<'_>> {
        if self.domains.is_empty() || name.is_empty() {
            return None;
        }
        let name = lower(name.trim_end_matches('.'));
        let name: &str = &name;
        if name.ends_with(".arpa") || name.ends_with(".local") {
            return None;
        }
        if let Some(info) = self.domains.get(name) {
            return Some(DomainMatch {
                info,
                is_subdomain: false,
            });
        }
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            if let Some(info) = self.domains.get(&name[dot + 1..]) {
                return Some(DomainMatch {
                    info,
                    is_subdomain: true,
                });
            }
            end = dot;
        }
        None
    }

    pub fn asn(&self, asn: u32) -> Option<&IocInfo> {
        self.asns.get(&asn)
    }

    pub fn ja3(&self, hash: &str) -> Option<&IocInfo> {
        if self.ja3.is_empty() {
            return None;
        }
        self.ja3.get(&*lower(hash))
    }

    /// A JARM fingerprint of a malicious TLS server (Slips' `is_blacklisted_jarm`).
    pub fn jarm(&self, fingerprint: &str) -> Option<&IocInfo> {
        if self.jarm.is_empty() {
            return None;
        }
        self.jarm.get(&*lower(fingerprint))
    }

    pub fn ssl_sha1(&self, sha1: &str) -> Option<&IocInfo> {
        if self.ssl_sha1.is_empty() {
            return None;
        }
        self.ssl_sha1.get(&*lower(sha1))
    }

    /// A file hash (MD5, SHA1 or SHA256) listed as malicious.
    pub fn file_hash(&self, hash: &str) -> Option<&IocInfo> {
        if self.file_hashes.is_empty() {
            return None;
        }
        self.file_hashes.get(&*lower(hash))
    }

    /// Description of a benign file's MD5 (Slips' `is_known_fp_md5_hash`).
    pub fn known_fp_md5(&self, md5: &str) -> Option<&str> {
        self.known_fp_md5.get(&*lower(md5)).map(|d| &**d)
    }

    /// Whether `ip` is a Tor exit node.
    pub fn is_tor_exit_node(&self, ip: IpAddr) -> bool {
        !self.tor_exit_nodes.is_empty() && self.tor_exit_nodes.contains(&ip)
    }

    /// The entry listing the URL of an HTTP request: `host` (as sent, port included)
    /// and `uri`, with and without its query string.
    pub fn url(&self, host: &str, uri: &str) -> Option<(String, &IocInfo)> {
        if self.urls.is_empty() || host.is_empty() {
            return None;
        }
        let key = format!("{}{uri}", host.to_ascii_lowercase());
        if let Some(info) = self.urls.get(key.as_str()) {
            return Some((key, info));
        }
        let path = key.split('?').next().unwrap_or(&key);
        self.urls.get(path).map(|info| (key.clone(), info))
    }

    pub fn has_ips(&self) -> bool {
        !self.ips.is_empty() || !self.range_filter.is_empty()
    }

    pub fn has_domains(&self) -> bool {
        !self.domains.is_empty()
    }

    pub fn has_asns(&self) -> bool {
        !self.asns.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FeedKind {
    Ioc,
    Ja3,
    Ssl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HashFeed {
    Ja3,
    Ssl,
    File,
    Jarm,
}

fn stamp_of(path: &Path) -> Option<(u64, Option<SystemTime>)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()))
}

/// A feed list (`TI_feeds.csv` ...): `URL,threat level,['tag1','tag2']` per line.
/// Lines starting with `#` or `;` are skipped; an invalid threat level becomes low, as
/// in Slips' `get_feed_details`.
pub fn parse_feed_list(text: &str) -> Vec<FeedMeta> {
    let mut feeds = Vec::new();
    for (_, line) in data_lines(text) {
        let line: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        let mut parts = line.splitn(3, ',');
        let url = parts.next().unwrap_or("");
        let level = parts.next().unwrap_or("");
        let tags: String = parts
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | '\'' | '"'))
            .collect();
        let Some(file_name) = url.rsplit('/').next().filter(|n| !n.is_empty()) else {
            continue;
        };
        feeds.push(FeedMeta {
            file_name: file_name.to_string(),
            threat_level: threat_level_named(level).unwrap_or(ThreatLevel::Low),
            tags: tags.replace(',', ", ").into(),
        });
    }
    feeds
}

type Cache = Vec<(TiSources, Weak<ThreatIntel>)>;

static CACHE: Mutex<Cache> = Mutex::new(Vec::new());

/// The feeds `config` names, loaded once and shared by every detection that needs them
/// (and by every analysis in the process with the same sources); reloaded when a file
/// changed on disk.
pub fn shared(config: &Config) -> Arc<ThreatIntel> {
    let sources = TiSources::from_config(config);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|(_, w)| w.strong_count() > 0);
    if let Some(ti) = cache
        .iter()
        .find(|(s, _)| *s == sources)
        .and_then(|(_, w)| w.upgrade())
    {
        if !ti.changed_on_disk() {
            return ti;
        }
    }
    let ti = Arc::new(ThreatIntel::load(&sources));
    cache.retain(|(s, _)| *s != sources);
    cache.push((sources, Arc::downgrade(&ti)));
    ti
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn testdata() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/ti")
    }

    pub(crate) fn test_sources() -> TiSources {
        let d = testdata();
        TiSources {
            local_dir: Some(d.join("local")),
            remote_dir: Some(d.join("remote")),
            ti_feeds: Some(d.join("TI_feeds.csv")),
            ja3_feeds: Some(d.join("JA3_feeds.csv")),
            ssl_feeds: Some(d.join("SSL_feeds.csv")),
            tor_exit_nodes: Some(d.join("tor_exit_nodes.txt")),
        }
    }

    #[test]
    fn local_iocs_in_slips_format() {
        let mut ti = ThreatIntel::empty();
        let src: Arc<str> = "own_malicious_iocs.csv".into();
        ti.parse_local_iocs(
            "# IP/domain/ip range/ASN, Threat level, Description, Tag\n\
             23.253.126.58,high,Simda CC\n\
             bncv00.no-ip.info, critical, Variant.Zusy\n\
             \"103.15.53.231\",\"bogus\", \"Karel from our village\"\n\
             10.0.0.1,high,private\n\
             45.0.0.0/16,low,bad hoster\n\
             192.168.0.0/16,low,private range\n\
             AS39770, high, ELITETEAM\n\
             not an ioc,high,x\n",
            &src,
        );
        let simda = ti.ip(ip("23.253.126.58")).unwrap();
        assert_eq!(simda.threat_level, ThreatLevel::High);
        assert_eq!(&*simda.description, "Simda CC");
        assert_eq!(&*simda.source, "own_malicious_iocs.csv");
        assert_eq!(&*simda.tags, "local TI file");
        // invalid threat level: medium, as Slips
        assert_eq!(
            ti.ip(ip("103.15.53.231")).unwrap().threat_level,
            ThreatLevel::Medium
        );
        assert!(ti.ip(ip("10.0.0.1")).is_none());
        assert_eq!(
            ti.ip_range(ip("45.0.200.1")).unwrap().description.as_ref(),
            "bad hoster"
        );
        assert!(ti.ip_range(ip("45.1.0.1")).is_none());
        assert!(ti.ip_range(ip("192.168.1.1")).is_none());
        assert_eq!(ti.asn(39770).unwrap().threat_level, ThreatLevel::High);
        let d = ti.domain("BNCV00.no-ip.info.").unwrap();
        assert!(!d.is_subdomain);
        assert_eq!(d.info.threat_level, ThreatLevel::Critical);
        assert_eq!(ti.warnings().len(), 1, "{:?}", ti.warnings());
        assert!(ti.warnings()[0].contains("line 9"));
    }

    #[test]
    fn subdomains_match_their_listed_parent() {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_iocs("evil.com,high,x\nb.evil.com,low,y\n", &"f".into());
        let m = ti.domain("a.b.evil.com").unwrap();
        assert!(m.is_subdomain);
        assert_eq!(m.confidence(), 0.7);
        // the listed parent closest to the root wins, as Slips' trie
        assert_eq!(&*m.info.description, "x");
        assert_eq!(ti.domain("b.evil.com").unwrap().confidence(), 1.0);
        assert!(ti.domain("notevil.com").is_none());
        assert!(ti.domain("evil.com.example").is_none());
        assert!(ti.domain("x.evil.com.arpa").is_none());
    }

    #[test]
    fn ranges_pick_the_most_specific() {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_iocs(
            "45.0.0.0/8,low,wide\n45.9.0.0/16,high,narrow\n2a00:1::/32,medium,v6\n",
            &"f".into(),
        );
        ti.finish();
        assert_eq!(&*ti.ip_range(ip("45.9.1.1")).unwrap().description, "narrow");
        assert_eq!(&*ti.ip_range(ip("45.8.1.1")).unwrap().description, "wide");
        assert_eq!(
            &*ti.ip_range(ip("2a00:1:ffff::1")).unwrap().description,
            "v6"
        );
        assert!(ti.ip_range(ip("46.0.0.1")).is_none());
        assert!(ti.ip_range(ip("2a00:2::1")).is_none());
    }

    #[test]
    fn feed_lists() {
        let feeds = parse_feed_list(
            "# comment\nhttps://a.example/x/ipsum.txt,medium, ['honeypot']\n\
             ;https://gone.example/old.csv,high,[]\n\
             https://b.example/list.csv,bogus,['phishing','honeypot']\n",
        );
        assert_eq!(feeds.len(), 2);
        assert_eq!(feeds[0].file_name, "ipsum.txt");
        assert_eq!(feeds[0].threat_level, ThreatLevel::Medium);
        assert_eq!(&*feeds[0].tags, "honeypot");
        assert_eq!(feeds[1].threat_level, ThreatLevel::Low);
        assert_eq!(&*feeds[1].tags, "phishing, honeypot");
    }

    #[test]
    fn loads_the_test_feeds() {
        let ti = ThreatIntel::load(&test_sources());
        assert!(ti.warnings().is_empty(), "{:?}", ti.warnings());
        // own files
        assert!(ti.ip(ip("23.253.126.58")).is_some());
        assert!(ti.ja3("6734F37431670B3AB4292B8F60F29984").is_some());
        assert_eq!(
            ti.file_hash("44d88612fea8a8f36de82e1278abb02f")
                .unwrap()
                .threat_level,
            ThreatLevel::High
        );
        assert_eq!(
            ti.known_fp_md5("d41d8cd98f00b204e9800998ecf8427e"),
            Some("Empty file")
        );
        // remote copies, with the list's threat level and tags
        let feodo = ti.ip(ip("51.75.68.213")).unwrap();
        assert_eq!(&*feodo.source, "ipblocklist.csv");
        assert_eq!(feodo.threat_level, ThreatLevel::Medium);
        assert_eq!(&*feodo.tags, "honeypot");
        assert_eq!(&*feodo.description, "Dridex");
        let ssl = ti
            .ssl_sha1("6cec09bcb575352785d313c7e978f26bfbd528ab")
            .unwrap();
        assert_eq!(&*ssl.description, "AsyncRAT C&C");
        assert_eq!(ssl.threat_level, ThreatLevel::High);
        let ja3 = ti.ja3("8f52d1ce303fb4a6515836aec3cc16b1").unwrap();
        assert_eq!(&*ja3.description, "TrickBot");
        assert!(ti.domain("www.malware-domain.example").is_some());
        assert!(ti.ip(ip("185.220.101.1")).is_some());
        assert!(ti.is_tor_exit_node(ip("185.220.101.33")));
        assert!(ti.url("malware-domain.example", "/bins/x86").is_some());
        assert!(!ti.changed_on_disk());
    }

    #[test]
    fn urls_and_tor_exit_nodes() {
        let mut ti = ThreatIntel::empty();
        ti.parse_local_iocs(
            "http://Evil.example/payload.exe,high,dropper\nbad.example/gate.php,medium,panel\n10.0.0.0/8,low,x\n",
            &"f".into(),
        );
        ti.parse_tor_exit_nodes(
            "# exit list\n185.220.101.7\nExitAddress 171.25.193.9 2024-01-01 00:00:00\n",
        );
        assert_eq!(url_key("https://a.example"), Some("a.example/".into()));
        assert_eq!(url_key("1.2.3.0/24"), None);
        assert_eq!(url_key("a.example"), None);
        let (url, info) = ti.url("EVIL.example", "/payload.exe").unwrap();
        assert_eq!(
            (url.as_str(), &*info.description),
            ("evil.example/payload.exe", "dropper")
        );
        assert!(ti.url("bad.example", "/gate.php?id=7").is_some());
        assert!(ti.url("bad.example", "/other.php").is_none());
        assert!(ti.url("good.example", "/payload.exe").is_none());
        assert!(ti.is_tor_exit_node(ip("185.220.101.7")));
        assert!(ti.is_tor_exit_node(ip("171.25.193.9")));
        assert!(!ti.is_tor_exit_node(ip("8.8.8.8")));
        assert!(ti.warnings().is_empty(), "{:?}", ti.warnings());
    }

    #[test]
    fn missing_folders_warn_and_load_nothing() {
        let ti = ThreatIntel::load(&TiSources {
            local_dir: Some(PathBuf::from("/nonexistent/ti")),
            ..TiSources::default()
        });
        assert!(ti.is_empty());
        assert_eq!(ti.warnings().len(), 1);
        assert!(ti.warnings()[0].starts_with("/nonexistent/ti"));
    }

    #[test]
    fn shared_loads_once() {
        let mut config = Config {
            base_dir: testdata(),
            ..Config::default()
        };
        config.threat_intelligence.local_threat_intelligence_files = "local".into();
        config
            .threat_intelligence
            .download_path_for_remote_threat_intelligence = "remote".into();
        let a = shared(&config);
        let b = shared(&config);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.ip(ip("23.253.126.58")).is_some());
    }
}
