//! software.log: Zeek's software framework (`base/frameworks/software/main.zeek`).
//!
//! Dissectors report each sighting of a piece of software as a [`SoftwareFound`] record
//! (Zeek's `Software::found`: SSH banners here, HTTP user agents and servers from the HTTP
//! dissector). Whether a sighting is logged depends on every earlier sighting of the run,
//! so a single-threaded [`SoftwareTracker`] in the output stage turns the sightings, in
//! timestamp order, into [`SoftwareRecord`] rows: it keeps only the hosts of
//! `Software::asset_tracking` (local hosts by default), parses the version string with
//! [`parse::parse`] (`Software::parse`), and logs a host's software once per distinct
//! version string, forgetting a host's software a day after first tracking it.

pub mod parse;
pub mod zre;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::record::Record;
use crate::time::{Interval, Timestamp};
use crate::zeek::{escape_bytes_lossy, field, Field, FieldType as T, Row, ZeekRecord};

pub use parse::{cmp_versions, Description, Version};

/// Zeek's `Software::Type` values (module-qualified as Zeek logs them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SoftwareType {
    Unknown,
    SshServer,
    SshClient,
    HttpBrowser,
    HttpServer,
    HttpAppServer,
    HttpBrowserPlugin,
    HttpWebApplication,
    FtpClient,
    FtpServer,
    SmtpMailClient,
    SmtpMailServer,
    SmtpWebmailServer,
    MysqlServer,
    DhcpServer,
    DhcpClient,
    OsWindows,
}

impl SoftwareType {
    pub fn as_str(self) -> &'static str {
        match self {
            SoftwareType::Unknown => "Software::UNKNOWN",
            SoftwareType::SshServer => "SSH::SERVER",
            SoftwareType::SshClient => "SSH::CLIENT",
            SoftwareType::HttpBrowser => "HTTP::BROWSER",
            SoftwareType::HttpServer => "HTTP::SERVER",
            SoftwareType::HttpAppServer => "HTTP::APPSERVER",
            SoftwareType::HttpBrowserPlugin => "HTTP::BROWSER_PLUGIN",
            SoftwareType::HttpWebApplication => "HTTP::WEB_APPLICATION",
            SoftwareType::FtpClient => "FTP::CLIENT",
            SoftwareType::FtpServer => "FTP::SERVER",
            SoftwareType::SmtpMailClient => "SMTP::MAIL_CLIENT",
            SoftwareType::SmtpMailServer => "SMTP::MAIL_SERVER",
            SoftwareType::SmtpWebmailServer => "SMTP::WEBMAIL_SERVER",
            SoftwareType::MysqlServer => "MySQL::SERVER",
            SoftwareType::DhcpServer => "DHCP::SERVER",
            SoftwareType::DhcpClient => "DHCP::CLIENT",
            SoftwareType::OsWindows => "OS::WINDOWS",
        }
    }
}

/// One `Software::found` call: an intermediate record for the [`SoftwareTracker`]; it
/// writes no log line itself.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftwareFound {
    /// When the software was seen (`network_time()` at the call).
    pub ts: Timestamp,
    /// The host running the software.
    pub host: IpAddr,
    /// The server port, for server software.
    pub host_p: Option<u16>,
    pub software_type: SoftwareType,
    /// The version string as seen (raw bytes), parsed with `Software::parse` unless
    /// `known` is given.
    pub unparsed_version: Option<Vec<u8>>,
    /// Name and version already worked out by the caller (Zeek's `$name`/`$version`).
    pub known: Option<Description>,
    /// Log even when this version of the software was already logged for the host.
    pub force_log: bool,
}

impl SoftwareFound {
    /// A sighting whose name and version come from `Software::parse(unparsed)`.
    pub fn unparsed(
        ts: Timestamp,
        host: IpAddr,
        host_p: Option<u16>,
        software_type: SoftwareType,
        unparsed: &[u8],
    ) -> Self {
        SoftwareFound {
            ts,
            host,
            host_p,
            software_type,
            unparsed_version: Some(unparsed.to_vec()),
            known: None,
            force_log: false,
        }
    }
}

/// One software.log row, with Zeek's `Software::Info` columns.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftwareRecord {
    pub ts: Timestamp,
    pub host: IpAddr,
    pub host_p: Option<u16>,
    pub software_type: SoftwareType,
    pub name: Option<String>,
    pub major: Option<u64>,
    pub minor: Option<u64>,
    pub minor2: Option<u64>,
    pub minor3: Option<u64>,
    pub addl: Option<String>,
    pub unparsed_version: Option<String>,
}

impl ZeekRecord for SoftwareRecord {
    const PATH: &'static str = "software";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("host", T::Addr),
        field("host_p", T::Port),
        field("software_type", T::Enum),
        field("name", T::String),
        field("version.major", T::Count),
        field("version.minor", T::Count),
        field("version.minor2", T::Count),
        field("version.minor3", T::Count),
        field("version.addl", T::String),
        field("unparsed_version", T::String),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.addr(Some(self.host));
        row.port(self.host_p);
        row.str(Some(self.software_type.as_str()));
        row.str(self.name.as_deref());
        row.count(self.major);
        row.count(self.minor);
        row.count(self.minor2);
        row.count(self.minor3);
        row.str(self.addl.as_deref());
        row.str(self.unparsed_version.as_deref());
    }
}

/// Zeek's `Software::asset_tracking` (a `Host` choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AssetTracking {
    #[default]
    LocalHosts,
    RemoteHosts,
    AllHosts,
    NoHosts,
}

impl AssetTracking {
    /// Zeek's `addr_matches_host`.
    pub fn matches(self, a: IpAddr) -> bool {
        match self {
            AssetTracking::LocalHosts => crate::net::is_local_addr(a),
            AssetTracking::RemoteHosts => !crate::net::is_local_addr(a),
            AssetTracking::AllHosts => true,
            AssetTracking::NoHosts => false,
        }
    }
}

/// What is known of one host (`Software::tracked_software[host]`).
struct TrackedHost {
    created: Timestamp,
    /// Per software name, the version strings already logged.
    versions: HashMap<Vec<u8>, HashSet<Vec<u8>>>,
}

/// The software framework's de-duplication, run once over all records in timestamp order:
/// [`SoftwareFound`] records go in, [`SoftwareRecord`] rows come out.
pub struct SoftwareTracker {
    asset_tracking: AssetTracking,
    max_software_cache_size: usize,
    expire: Interval,
    tracked: HashMap<IpAddr, TrackedHost>,
    /// Version strings already parsed: the same few user agents and banners come back
    /// with nearly every request, and one parse costs some 28,000 instructions.
    parsed: HashMap<Vec<u8>, Description>,
}

/// Distinct version strings whose parse is kept; past it the cache starts over, so a
/// stream of made-up user agents holds a bounded amount of memory.
const PARSED_CACHE: usize = 4096;

impl Default for SoftwareTracker {
    fn default() -> Self {
        SoftwareTracker::new(AssetTracking::default())
    }
}

impl SoftwareTracker {
    /// Zeek's defaults: `max_software_cache_size = 20`, entries created-expire after a day.
    pub fn new(asset_tracking: AssetTracking) -> Self {
        SoftwareTracker {
            asset_tracking,
            max_software_cache_size: 20,
            expire: Interval::from_secs(86_400),
            tracked: HashMap::new(),
            parsed: HashMap::new(),
        }
    }

    /// Feeds one record of the run (in timestamp order). A [`Record::SoftwareFound`] is
    /// consumed and gives its software.log row when it is new; any other record is handed
    /// back unchanged, so aggregators can be chained.
    pub fn push(&mut self, rec: Record) -> Vec<Record> {
        match rec {
            Record::SoftwareFound(f) => self.found(&f).map(Record::from).into_iter().collect(),
            other => vec![other],
        }
    }

    /// End of input: nothing is pending.
    pub fn finish(&mut self) -> Vec<Record> {
        Vec::new()
    }

    /// `Software::found` followed by `Software::register`: the row to log, if any.
    pub fn found(&mut self, f: &SoftwareFound) -> Option<SoftwareRecord> {
        if !f.force_log && !self.asset_tracking.matches(f.host) {
            return None;
        }
        let desc = match (&f.known, &f.unparsed_version) {
            (Some(d), _) => d.clone(),
            (None, Some(u)) => match self.parsed.get(u) {
                Some(d) => d.clone(),
                None => {
                    if self.parsed.len() >= PARSED_CACHE {
                        self.parsed.clear();
                    }
                    let d = parse::parse(u);
                    self.parsed.insert(u.clone(), d.clone());
                    d
                }
            },
            (None, None) => return None,
        };
        let version_key = match &f.unparsed_version {
            Some(u) => u.clone(),
            None => desc.version.fmt_zeek(),
        };

        let expire = self.expire;
        let host = self
            .tracked
            .entry(f.host)
            .and_modify(|h| {
                if f.ts >= h.created.saturating_add(expire) {
                    h.created = f.ts;
                    h.versions.clear();
                }
            })
            .or_insert_with(|| TrackedHost {
                created: f.ts,
                versions: HashMap::new(),
            });
        let seen = host.versions.entry(desc.name.clone()).or_default();
        if seen.contains(&version_key) && !f.force_log {
            return None;
        }
        if self.max_software_cache_size > 0 && seen.len() >= self.max_software_cache_size {
            seen.clear();
        }
        seen.insert(version_key);

        let v = &desc.version;
        Some(SoftwareRecord {
            ts: f.ts,
            host: f.host,
            host_p: f.host_p,
            software_type: f.software_type,
            name: Some(escape_bytes_lossy(&desc.name)),
            major: v.major,
            minor: v.minor,
            minor2: v.minor2,
            minor3: v.minor3,
            addl: v.addl.as_deref().map(escape_bytes_lossy),
            unparsed_version: f.unparsed_version.as_deref().map(escape_bytes_lossy),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zeek::{LogFormat, LogWriter};

    fn found(ts: i64, host: &str, unparsed: &str) -> SoftwareFound {
        SoftwareFound::unparsed(
            Timestamp(ts),
            host.parse().unwrap(),
            Some(22),
            SoftwareType::SshServer,
            unparsed.as_bytes(),
        )
    }

    #[test]
    fn logs_each_version_once_per_host() {
        let mut t = SoftwareTracker::default();
        let r = t
            .found(&found(
                1,
                "192.168.2.158",
                "OpenSSH_6.6.1p1 Ubuntu-2ubuntu2",
            ))
            .unwrap();
        assert_eq!(r.name.as_deref(), Some("OpenSSH"));
        assert_eq!(
            (r.major, r.minor, r.minor2, r.minor3),
            (Some(6), Some(6), Some(1), None)
        );
        assert_eq!(r.addl.as_deref(), Some("p1"));
        assert!(t
            .found(&found(
                2,
                "192.168.2.158",
                "OpenSSH_6.6.1p1 Ubuntu-2ubuntu2"
            ))
            .is_none());
        assert!(t.found(&found(3, "192.168.2.158", "OpenSSH_6.7")).is_some());
        assert!(t
            .found(&found(
                4,
                "192.168.2.158",
                "OpenSSH_6.6.1p1 Ubuntu-2ubuntu2"
            ))
            .is_none());
        assert!(t.found(&found(5, "192.168.2.1", "OpenSSH_6.7")).is_some());
        // Non-local hosts are not tracked by default, unless forced.
        assert!(t.found(&found(6, "131.159.21.1", "OpenSSH_5.8")).is_none());
        let mut forced = found(7, "131.159.21.1", "OpenSSH_5.8");
        forced.force_log = true;
        assert!(t.found(&forced).is_some());
        // A day after the host was first tracked, its software is logged again.
        let day = 86_400_000_000;
        assert!(t
            .found(&found(1 + day, "192.168.2.158", "OpenSSH_6.7"))
            .is_some());
    }

    #[test]
    fn cache_cap_resets() {
        let mut t = SoftwareTracker::new(AssetTracking::AllHosts);
        for i in 0..20 {
            assert!(t.found(&found(i, "8.8.8.8", &format!("X_1.{i}"))).is_some());
        }
        assert!(t.found(&found(30, "8.8.8.8", "X_1.0")).is_none());
        assert!(t.found(&found(31, "8.8.8.8", "X_1.99")).is_some());
        // The set was reset before 1.99 went in: 1.0 is new again.
        assert!(t.found(&found(32, "8.8.8.8", "X_1.0")).is_some());
    }

    #[test]
    fn a_cached_parse_gives_the_rows_a_fresh_parse_gives() {
        let agents: Vec<String> = (0..PARSED_CACHE + 10)
            .map(|i| format!("Mozilla/5.0 (X11; Linux x86_64) Firefox/{}.{}", i % 97, i))
            .collect();
        let mut cached = SoftwareTracker::new(AssetTracking::AllHosts);
        for (n, agent) in agents.iter().chain(&agents).enumerate() {
            // A host of its own for each sighting, so that every one gives a row.
            let host = format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255);
            let row = cached.found(&found(n as i64, &host, agent)).unwrap();
            let fresh = SoftwareTracker::new(AssetTracking::AllHosts)
                .found(&found(n as i64, &host, agent))
                .unwrap();
            assert_eq!(row, fresh, "{agent}");
            assert!(cached.parsed.len() <= PARSED_CACHE);
        }
    }

    #[test]
    fn push_passes_other_records_through() {
        let mut t = SoftwareTracker::default();
        let out = t.push(found(1, "10.0.0.1", "OpenSSH_7.4").into());
        assert!(matches!(out.as_slice(), [Record::Software(_)]));
        assert!(t
            .push(found(2, "10.0.0.1", "OpenSSH_7.4").into())
            .is_empty());
        assert!(t.finish().is_empty());
    }

    #[test]
    fn row_renders_like_zeek() {
        let mut t = SoftwareTracker::default();
        let r = t
            .found(&found(1_300_000_000_000_000, "192.168.1.32", "OpenSSH_6.7"))
            .unwrap();
        let mut out = Vec::new();
        let epoch = std::time::SystemTime::UNIX_EPOCH;
        let mut w = LogWriter::new::<SoftwareRecord>(&mut out, LogFormat::Tsv, epoch).unwrap();
        w.write(&r).unwrap();
        w.close(epoch).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("#fields\tts\thost\thost_p\tsoftware_type\tname\tversion.major\tversion.minor\tversion.minor2\tversion.minor3\tversion.addl\tunparsed_version\n"), "{text}");
        assert!(text.contains("1300000000.000000\t192.168.1.32\t22\tSSH::SERVER\tOpenSSH\t6\t7\t-\t-\t-\tOpenSSH_6.7\n"), "{text}");
    }
}
