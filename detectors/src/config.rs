//! `config/slipstream.yaml`: the settings of the detection layer, in Slips' section and
//! key names where the meaning is the same (`parameters.time_window_width`,
//! `detection.evidence_detection_threshold`, `flow_alerts.long_connection_threshold` ...).
//! An unknown key or a value of the wrong type is an error naming the file and the key;
//! a missing file means the defaults (Slips' defaults).
//!
//! Relative paths in the file are relative to the folder the file is in.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
use crate::evidence::EvidenceType;
use dissectors::net::Cidr;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub parameters: Parameters,
    pub detection: Detection,
    pub modules: Modules,
    #[serde(rename = "DisabledAlerts")]
    pub disabled_alerts: DisabledAlerts,
    pub whitelists: Whitelists,
    pub flow_alerts: FlowAlerts,
    pub network_discovery: NetworkDiscovery,
    pub brute_force_detector: BruteForceDetector,
    pub output: Output,
    pub enrichment: Enrichment,
    pub profiles: ProfileLimits,
    #[serde(rename = "threatintelligence")]
    pub threat_intelligence: ThreatIntelligence,
    pub blocking: Blocking,
    pub redis: Redis,
    pub web_interface: WebInterface,
    #[serde(rename = "flowmldetection")]
    pub flow_ml_detection: FlowMlDetection,
    /// Folder relative paths are resolved against (the config file's folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Parameters {
    /// Seconds per time window, or `only_one_tw` for one window over the whole run.
    pub time_window_width: TimeWindowWidth,
    /// `out`: only traffic leaving a profile is analysed; `all`: also traffic coming in.
    pub analysis_direction: AnalysisDirection,
    /// Networks whose addresses get profiles (Slips' `home_network`); empty: every
    /// address seen gets one.
    pub home_network: Vec<String>,
    /// Write every profile's Stratosphere letters per tuple and window to
    /// `strato_letters.tsv` in the output folder.
    pub export_strato_letters: bool,
    /// Rotate the Zeek-format logs of a live capture (`-i`), as Slips does: every
    /// `rotation_period` of network time, aligned to multiples of it.
    pub rotation: bool,
    /// Zeek's interval syntax: a number and usec, msec, sec, min, hr or day (plural and
    /// a space allowed), e.g. `1day`, `30 min`.
    pub rotation_period: String,
    /// Rotated logs older than this are deleted (days, as in Slips: `1 day`).
    pub keep_rotated_files_for: String,
    /// User slipstream runs as once a live capture is open (and the privileged blocking
    /// part, with -p, is started); empty: the user it was started as.
    pub drop_privileges_to: String,
}

impl Parameters {
    /// `rotation_period` in microseconds (checked at load).
    pub fn rotation_period_micros(&self) -> i64 {
        zeek_interval_micros(&self.rotation_period).unwrap_or(86_400_000_000)
    }

    /// `keep_rotated_files_for` in microseconds (checked at load).
    pub fn keep_rotated_micros(&self) -> i64 {
        zeek_interval_micros(&self.keep_rotated_files_for).unwrap_or(86_400_000_000)
    }
}

/// A Zeek interval constant (`1day`, `2 hrs`, `30min`, `10 sec`, `500 msec`) in
/// microseconds; `None` when it is not one or is not positive.
pub fn zeek_interval_micros(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim();
    let unit = unit
        .strip_suffix('s')
        .filter(|u| !u.is_empty())
        .unwrap_or(unit);
    let micros_per = match unit {
        "usec" => 1.0,
        "msec" => 1e3,
        "sec" => 1e6,
        "min" => 60e6,
        "hr" => 3600e6,
        "day" => 86_400e6,
        _ => return None,
    };
    let micros = number * micros_per;
    (1.0..1e18).contains(&micros).then_some(micros as i64)
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TimeWindowWidth {
    Seconds(f64),
    Named(OnlyOneTw),
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub enum OnlyOneTw {
    #[serde(rename = "only_one_tw")]
    OnlyOneTw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisDirection {
    Out,
    All,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Detection {
    /// Accumulated threat per minute of window that raises an alert (0.25 balanced,
    /// 0.08 very sensitive, 0.43 insensitive).
    pub evidence_detection_threshold: f64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Modules {
    /// Detections not to run, by name (`long_connection` ...).
    pub disable: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisabledAlerts {
    /// Evidence types to drop, by Slips' enum name (`LONG_CONNECTION` ...).
    pub disabled_detections: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Whitelists {
    pub enable_local_whitelist: bool,
    /// Slips' `whitelist.conf` format.
    pub local_whitelist_path: PathBuf,
    /// Folder with `<org>_asn`, `<org>_domains`, `<org>_ip_ranges` per organisation.
    pub organizations_info_path: PathBuf,
    /// Use a top-sites list (Tranco CSV, `rank,domain`) as a second whitelist of
    /// evidence to and from its domains.
    pub enable_online_whitelist: bool,
    /// Local copy of the Tranco list (slipstream reads files only).
    pub online_whitelist_path: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowAlerts {
    /// Seconds after which a connection is long.
    pub long_connection_threshold: f64,
    /// Bytes sent in SSH that mean a successful login.
    pub ssh_succesful_detection_threshold: u64,
    /// MB uploaded to one host that make a data upload.
    pub data_exfiltration_threshold: u64,
    /// Shannon entropy over which a DNS TXT answer is suspicious.
    pub entropy_threshold: f64,
    /// Bytes downloaded from pastebin that are reported.
    pub pastebin_download_threshold: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BruteForceDetector {
    /// Failed SSH attempts from one source to one destination port that make a
    /// password-guessing campaign.
    pub ssh_attempt_threshold: u64,
}

impl Default for BruteForceDetector {
    fn default() -> Self {
        BruteForceDetector {
            ssh_attempt_threshold: 9,
        }
    }
}

/// Thresholds of the scan detections; Slips hard-codes them under these names
/// (`modules/network_discovery/`, `arpa_scan_threshold` in `modules/flow_alerts/dns.py`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkDiscovery {
    /// Distinct hosts one source reaches on one port without an established connection
    /// for a horizontal port scan.
    pub port_scan_minimum_dips: usize,
    /// Distinct ports one source reaches on one host without an established connection
    /// for a vertical port scan.
    pub port_scan_minimum_dports: usize,
    /// ICMP scan flows of one type to a single host between two evidence.
    pub pingscan_minimum_flows: u64,
    /// Distinct hosts reached with one ICMP scan type between two evidence (ping sweep).
    pub pingscan_minimum_scanned_ips: usize,
    /// Different addresses one client requests over DHCP between two evidence.
    pub minimum_requested_addrs: usize,
    /// Distinct reverse DNS (in-addr.arpa) queries within 2 seconds that make an ARPA scan.
    pub arpa_scan_threshold: usize,
}

impl Default for NetworkDiscovery {
    fn default() -> Self {
        NetworkDiscovery {
            port_scan_minimum_dips: 5,
            port_scan_minimum_dports: 5,
            pingscan_minimum_flows: 5,
            pingscan_minimum_scanned_ips: 5,
            minimum_requested_addrs: 4,
            arpa_scan_threshold: 10,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Output {
    /// File names in the output folder; an empty name turns that output off.
    pub alerts_log: String,
    pub alerts_json: String,
    pub sqlite: String,
    /// Rows per SQLite transaction.
    pub sqlite_batch_size: usize,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Enrichment {
    /// GeoLite2/GeoIP2 ASN database (`GeoLite2-ASN.mmdb`); empty: no ASN look-ups.
    pub asn_database: PathBuf,
    /// GeoLite2/GeoIP2 City or Country database; empty: no geolocation.
    pub geo_database: PathBuf,
    /// IEEE OUI registry (`oui.txt`); empty: no MAC vendors.
    pub oui_database: PathBuf,
    /// Whois data of domains, CSV `domain,creation_date,organization` (what Slips asks
    /// whois for; see `crate::online`); empty: no domain ages or registrants.
    pub whois_database: PathBuf,
    /// JARM fingerprints of TLS servers, CSV `ip,port,jarm` (a JARM scanner's results;
    /// see `crate::online::jarm`); empty: none.
    pub jarm_fingerprints: PathBuf,
    /// Fingerprint the servers of C&C channels ourselves, as Slips does (ten TLS
    /// connections to each; off by default: no network calls).
    pub active_jarm: bool,
    /// Reports of P2P peers about IPs, JSON lines (see `crate::online::p2p`); empty: none.
    pub p2p_reports: PathBuf,
    /// File in the output folder where the reports we would share with peers are
    /// written (the `p2p_reports` format); empty: none written.
    pub p2p_outbox: String,
    /// Folder of cached VirusTotal API v2 reports (see `crate::online::virustotal`);
    /// empty: no VirusTotal scores.
    pub virustotal_cache: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileLimits {
    /// Most entries kept in each set a profile holds (domains, SNIs, user agents ...).
    pub max_set_items: usize,
    /// Most threat-level changes kept per profile.
    pub max_threat_history: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            parameters: Parameters::default(),
            detection: Detection::default(),
            modules: Modules::default(),
            disabled_alerts: DisabledAlerts::default(),
            whitelists: Whitelists::default(),
            flow_alerts: FlowAlerts::default(),
            network_discovery: NetworkDiscovery::default(),
            brute_force_detector: BruteForceDetector::default(),
            output: Output::default(),
            enrichment: Enrichment::default(),
            profiles: ProfileLimits::default(),
            threat_intelligence: ThreatIntelligence::default(),
            blocking: Blocking::default(),
            redis: Redis::default(),
            web_interface: WebInterface::default(),
            flow_ml_detection: FlowMlDetection::default(),
            base_dir: PathBuf::from("."),
        }
    }
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            time_window_width: TimeWindowWidth::Seconds(3600.0),
            analysis_direction: AnalysisDirection::Out,
            home_network: Vec::new(),
            export_strato_letters: false,
            rotation: true,
            rotation_period: "1day".into(),
            keep_rotated_files_for: "1 day".into(),
            drop_privileges_to: String::new(),
        }
    }
}

impl Default for Detection {
    fn default() -> Self {
        Detection {
            evidence_detection_threshold: 0.25,
        }
    }
}

impl Default for Whitelists {
    fn default() -> Self {
        Whitelists {
            enable_local_whitelist: true,
            local_whitelist_path: PathBuf::from("whitelist.conf"),
            organizations_info_path: PathBuf::from("organizations_info"),
            enable_online_whitelist: false,
            online_whitelist_path: PathBuf::new(),
        }
    }
}

impl Default for FlowAlerts {
    fn default() -> Self {
        FlowAlerts {
            long_connection_threshold: 1500.0,
            ssh_succesful_detection_threshold: 4290,
            data_exfiltration_threshold: 500,
            entropy_threshold: 5.0,
            pastebin_download_threshold: 700,
        }
    }
}

impl Default for Output {
    fn default() -> Self {
        Output {
            alerts_log: "alerts.log".into(),
            alerts_json: "alerts.json".into(),
            sqlite: "flows.sqlite".into(),
            sqlite_batch_size: 2048,
        }
    }
}

/// Threat-intelligence feeds, read from local files only (Slips' `threatintelligence`
/// section and file formats; see `crate::threat_intel`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThreatIntelligence {
    /// Folder of the user's own feeds (`own_malicious_iocs.csv`, `own_malicious_JA3.csv`,
    /// `own_malicious_file_hashes.csv`, `known_fp_md5_hashes.csv` ...); empty: none.
    pub local_threat_intelligence_files: PathBuf,
    /// Folder holding copies of the remote feeds listed in `ti_files`, `ja3_feeds` and
    /// `ssl_feeds`, each named as the last part of its URL; slipstream never downloads.
    pub download_path_for_remote_threat_intelligence: PathBuf,
    /// Lists of remote feeds (`URL,threat level,['tags']`).
    pub ti_files: PathBuf,
    pub ja3_feeds: PathBuf,
    pub ssl_feeds: PathBuf,
    /// The Tor Project's list of exit nodes (one address per line); empty: none.
    pub tor_exit_nodes: PathBuf,
}

impl Default for ThreatIntelligence {
    fn default() -> Self {
        ThreatIntelligence {
            local_threat_intelligence_files: PathBuf::from("local_ti_files"),
            download_path_for_remote_threat_intelligence: PathBuf::from("remote_ti_files"),
            ti_files: PathBuf::from("TI_feeds.csv"),
            ja3_feeds: PathBuf::from("JA3_feeds.csv"),
            ssl_feeds: PathBuf::from("SSL_feeds.csv"),
            tor_exit_nodes: PathBuf::new(),
        }
    }
}

/// Blocking of the profiles that raise an alert (`-p`), in Slips' blocking module's
/// terms: the attacker's address is dropped by the Linux firewall until the end of
/// the time window `unblock_after_time_windows` after the alert's (Slips hard-codes 1).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Blocking {
    /// Time windows after the alert's window at whose end an address is unblocked; a
    /// new alert extends it. With `only_one_tw` a block lasts until `-cb`.
    pub unblock_after_time_windows: u32,
    /// Which firewall to drive: `auto` (nftables when `nft` works, else iptables),
    /// `nftables` or `iptables`.
    pub firewall: FirewallChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirewallChoice {
    Auto,
    Nftables,
    Iptables,
}

impl FirewallChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallChoice::Auto => "auto",
            FirewallChoice::Nftables => "nftables",
            FirewallChoice::Iptables => "iptables",
        }
    }
}

/// Sharing the analysis with other sensors through Redis (the `sharing` crate; the
/// command line's `--redis` overrides `url`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Redis {
    /// `redis://host:port/db`; several, comma-separated, are the seed nodes of a Redis
    /// Cluster. Empty: nothing is shared.
    pub url: String,
    /// Treat a single `url` as a node of a Redis Cluster.
    pub cluster: bool,
    /// Operations kept in memory while Redis is unreachable before the rest goes to a
    /// spill file in the output folder.
    pub buffer: usize,
    /// Seconds the end of a run waits for an unreachable Redis before keeping what is
    /// undelivered in a file of the output folder.
    pub finish_timeout: f64,
    /// Publish every flow and record on Slips' channels (`new_flow`, `new_dns` ...).
    pub publish_flows: bool,
}

impl Default for Redis {
    fn default() -> Self {
        Redis {
            url: String::new(),
            cluster: false,
            buffer: 100_000,
            finish_timeout: 30.0,
            publish_flows: true,
        }
    }
}

/// The flow classifier (`MALICIOUS_FLOW`), as Slips' `flowmldetection` section, plus the
/// model file (Slips keeps its pickles at a fixed place).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowMlDetection {
    /// `test`: flag the flows the model calls malicious; `train`: learn from the flows'
    /// ground-truth labels and write the model file at the end of the run.
    pub mode: FlowMlMode,
    /// The model file (JSON, see `detectors::flow_model`). Empty: the model shipped
    /// with slipstream (`config/flow_model.json`, built in); train mode needs a file.
    pub model: PathBuf,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowMlMode {
    #[default]
    Test,
    Train,
}

/// The web interface (`slipstream view`, `-w`), as Slips' `web_interface` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebInterface {
    /// Port on 127.0.0.1.
    pub port: u16,
}

impl Default for WebInterface {
    fn default() -> Self {
        // Slips' default.
        WebInterface { port: 55000 }
    }
}

impl Default for Blocking {
    fn default() -> Self {
        Blocking {
            unblock_after_time_windows: 1,
            firewall: FirewallChoice::Auto,
        }
    }
}

impl Default for ProfileLimits {
    fn default() -> Self {
        ProfileLimits {
            max_set_items: 32,
            max_threat_history: 64,
        }
    }
}

impl Config {
    /// Reads and checks `path`; a missing file gives the defaults, with relative paths
    /// resolved against the folder the file would be in.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let c = Config {
                    base_dir: base,
                    ..Config::default()
                };
                c.validate(path)?;
                return Ok(c);
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let mut c = Self::parse(&text, path)?;
        c.base_dir = base;
        Ok(c)
    }

    /// Parses YAML text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
        let config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            let de = serde_yaml_ng::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let key = e.path().to_string();
                Error::Config {
                    path: path.to_path_buf(),
                    key: if key == "." {
                        "(top level)".into()
                    } else {
                        key
                    },
                    message: e.into_inner().to_string(),
                }
            })?
        };
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), Error> {
        let err = |key: &str, message: String| Error::Config {
            path: path.to_path_buf(),
            key: key.to_string(),
            message,
        };
        for (key, value) in [
            (
                "parameters.rotation_period",
                &self.parameters.rotation_period,
            ),
            (
                "parameters.keep_rotated_files_for",
                &self.parameters.keep_rotated_files_for,
            ),
        ] {
            if zeek_interval_micros(value).is_none() {
                return Err(err(
                    key,
                    format!("{value:?} is not an interval such as 1day, 12 hrs or 30min"),
                ));
            }
        }
        if let TimeWindowWidth::Seconds(w) = self.parameters.time_window_width {
            if !(w.is_finite() && w > 0.0) {
                return Err(err(
                    "parameters.time_window_width",
                    format!("must be a positive number of seconds or only_one_tw, not {w}"),
                ));
            }
        }
        for (i, net) in self.parameters.home_network.iter().enumerate() {
            net.parse::<Cidr>()
                .map_err(|m| err(&format!("parameters.home_network[{i}]"), m))?;
        }
        if self.flow_ml_detection.mode == FlowMlMode::Train
            && self.flow_ml_detection.model.as_os_str().is_empty()
        {
            return Err(err(
                "flowmldetection.model",
                "train mode writes the model to this file: name one".into(),
            ));
        }
        let t = self.detection.evidence_detection_threshold;
        if !(t.is_finite() && t > 0.0) {
            return Err(err(
                "detection.evidence_detection_threshold",
                format!("must be a positive number, not {t}"),
            ));
        }
        for (i, name) in self.disabled_alerts.disabled_detections.iter().enumerate() {
            if EvidenceType::from_name(name).is_none() {
                return Err(err(
                    &format!("DisabledAlerts.disabled_detections[{i}]"),
                    format!("unknown evidence type {name}"),
                ));
            }
        }
        let known = crate::detections::names();
        for (i, name) in self.modules.disable.iter().enumerate() {
            if !known.contains(&name.as_str()) {
                return Err(err(
                    &format!("modules.disable[{i}]"),
                    format!("unknown detection {name} (known: {})", known.join(", ")),
                ));
            }
        }
        if self.flow_alerts.long_connection_threshold.is_nan() {
            return Err(err(
                "flow_alerts.long_connection_threshold",
                "must be a number".into(),
            ));
        }
        let nd = &self.network_discovery;
        for (key, v) in [
            ("port_scan_minimum_dips", nd.port_scan_minimum_dips as u64),
            (
                "port_scan_minimum_dports",
                nd.port_scan_minimum_dports as u64,
            ),
            ("pingscan_minimum_flows", nd.pingscan_minimum_flows),
            (
                "pingscan_minimum_scanned_ips",
                nd.pingscan_minimum_scanned_ips as u64,
            ),
            ("minimum_requested_addrs", nd.minimum_requested_addrs as u64),
            ("arpa_scan_threshold", nd.arpa_scan_threshold as u64),
        ] {
            if v == 0 {
                return Err(err(
                    &format!("network_discovery.{key}"),
                    "must be at least 1".into(),
                ));
            }
        }
        if self.output.sqlite_batch_size == 0 {
            return Err(err("output.sqlite_batch_size", "must be at least 1".into()));
        }
        if self.profiles.max_set_items == 0 {
            return Err(err("profiles.max_set_items", "must be at least 1".into()));
        }
        Ok(())
    }

    /// `path` made absolute against the config folder; `None` for an empty path.
    pub fn resolve(&self, path: &Path) -> Option<PathBuf> {
        if path.as_os_str().is_empty() {
            None
        } else if path.is_absolute() {
            Some(path.to_path_buf())
        } else {
            Some(self.base_dir.join(path))
        }
    }

    /// Window width in microseconds; `None` for `only_one_tw`.
    pub fn window_width_micros(&self) -> Option<i64> {
        match self.parameters.time_window_width {
            TimeWindowWidth::Seconds(s) => Some((s * 1_000_000.0).round().max(1.0) as i64),
            TimeWindowWidth::Named(OnlyOneTw::OnlyOneTw) => None,
        }
    }

    /// Width in seconds used by the alert rule (Slips uses 9999999999 for only_one_tw).
    pub fn window_width_secs(&self) -> f64 {
        match self.parameters.time_window_width {
            TimeWindowWidth::Seconds(s) => s,
            TimeWindowWidth::Named(OnlyOneTw::OnlyOneTw) => 9_999_999_999.0,
        }
    }

    /// Accumulated threat level that raises an alert: Slips'
    /// `evidence_detection_threshold * time_window_width / 60`.
    pub fn alert_threshold(&self) -> f64 {
        self.detection.evidence_detection_threshold * self.window_width_secs() / 60.0
    }

    pub fn home_networks(&self) -> Vec<Cidr> {
        // Validated at load; a bad entry cannot reach here.
        self.parameters
            .home_network
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect()
    }

    pub fn disabled_evidence_types(&self) -> Vec<EvidenceType> {
        self.disabled_alerts
            .disabled_detections
            .iter()
            .filter_map(|n| EvidenceType::from_name(n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config, Error> {
        Config::parse(s, Path::new("test.yaml"))
    }

    #[test]
    fn defaults_are_slips_defaults() {
        let c = Config::default();
        assert_eq!(c.window_width_micros(), Some(3_600_000_000));
        assert_eq!(c.alert_threshold(), 15.0);
        assert_eq!(c.parameters.analysis_direction, AnalysisDirection::Out);
        assert_eq!(c.flow_alerts.long_connection_threshold, 1500.0);
    }

    #[test]
    fn zeek_intervals() {
        assert_eq!(zeek_interval_micros("1day"), Some(86_400_000_000));
        assert_eq!(zeek_interval_micros("1 day"), Some(86_400_000_000));
        assert_eq!(zeek_interval_micros("2days"), Some(172_800_000_000));
        assert_eq!(zeek_interval_micros("12 hrs"), Some(43_200_000_000));
        assert_eq!(zeek_interval_micros("30min"), Some(1_800_000_000));
        assert_eq!(zeek_interval_micros("1.5 sec"), Some(1_500_000));
        assert_eq!(zeek_interval_micros("500 msec"), Some(500_000));
        assert_eq!(zeek_interval_micros("7usecs"), Some(7));
        for bad in ["", "day", "1", "1 week", "-1 day", "0 sec", "1 s"] {
            assert_eq!(zeek_interval_micros(bad), None, "{bad:?}");
        }
        let e = parse("parameters:\n  rotation_period: 1 week\n").unwrap_err();
        assert!(e.to_string().contains("parameters.rotation_period"), "{e}");
        let c = parse("parameters:\n  rotation_period: 1hr\n  keep_rotated_files_for: 2 days\n")
            .unwrap();
        assert_eq!(c.parameters.rotation_period_micros(), 3_600_000_000);
        assert_eq!(c.parameters.keep_rotated_micros(), 172_800_000_000);
    }

    #[test]
    fn reads_slips_keys() {
        let c = parse(
            "parameters:\n  time_window_width: 60\n  analysis_direction: all\n  home_network: [192.168.0.0/16]\ndetection:\n  evidence_detection_threshold: 0.08\n",
        )
        .unwrap();
        assert_eq!(c.window_width_micros(), Some(60_000_000));
        assert!((c.alert_threshold() - 0.08).abs() < 1e-12);
        assert_eq!(c.parameters.analysis_direction, AnalysisDirection::All);
        assert_eq!(c.home_networks().len(), 1);
        let one = parse("parameters:\n  time_window_width: only_one_tw\n").unwrap();
        assert_eq!(one.window_width_micros(), None);
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let e = parse("parameters:\n  time_window_width: soon\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("test.yaml: parameters.time_window_width:"),
            "{e}"
        );
        let e = parse("parameters:\n  bogus: 1\n").unwrap_err().to_string();
        assert!(
            e.contains("parameters.bogus") || e.contains("unknown field `bogus`"),
            "{e}"
        );
        assert!(e.starts_with("test.yaml:"), "{e}");
        let e = parse("flow_alerts:\n  long_connection_threshold: [1]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("flow_alerts.long_connection_threshold"), "{e}");
        let e = parse("DisabledAlerts:\n  disabled_detections: [NOT_A_TYPE]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("DisabledAlerts.disabled_detections[0]"), "{e}");
        let e = parse("parameters:\n  home_network: [10.0.0.0/99]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("parameters.home_network[0]"), "{e}");
        let e = parse("detection:\n  evidence_detection_threshold: -1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("detection.evidence_detection_threshold"), "{e}");
        let e = parse("blocking:\n  firewall: pf\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("blocking.firewall"), "{e}");
    }

    #[test]
    fn reads_blocking() {
        let c = parse(
            "blocking:\n  unblock_after_time_windows: 3\n  firewall: iptables\nparameters:\n  drop_privileges_to: nobody\n",
        )
        .unwrap();
        assert_eq!(c.blocking.unblock_after_time_windows, 3);
        assert_eq!(c.blocking.firewall, FirewallChoice::Iptables);
        assert_eq!(c.parameters.drop_privileges_to, "nobody");
        let d = Config::default().blocking;
        assert_eq!(d.unblock_after_time_windows, 1);
        assert_eq!(d.firewall, FirewallChoice::Auto);
        assert!(Config::default().parameters.drop_privileges_to.is_empty());
    }

    #[test]
    fn missing_file_means_defaults() {
        let c = Config::load(Path::new("/nonexistent-dir/slipstream.yaml")).unwrap();
        assert_eq!(c.base_dir, Path::new("/nonexistent-dir"));
        assert_eq!(
            c.resolve(&c.whitelists.local_whitelist_path),
            Some(PathBuf::from("/nonexistent-dir/whitelist.conf"))
        );
    }

    #[test]
    fn shipped_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/slipstream.yaml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.alert_threshold(), 15.0);
        assert!(c
            .resolve(&c.whitelists.local_whitelist_path)
            .unwrap()
            .exists());
        assert!(c
            .resolve(&c.whitelists.organizations_info_path)
            .unwrap()
            .is_dir());
    }
}
