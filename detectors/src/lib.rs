//! The behavioural layer: profiles per IP split in time windows, detections that emit
//! evidence, the evidence handler with the whitelist and Slips' alert rule, and the
//! outputs (`alerts.log`, `alerts.json`, `flows.sqlite`).
//!
//! ```no_run
//! # fn main() -> Result<(), detectors::Error> {
//! # let records: Vec<dissectors::Record> = Vec::new();
//! let config = detectors::Config::load(std::path::Path::new("config/slipstream.yaml"))?;
//! let mut analysis = detectors::Analysis::new(config, std::path::Path::new("output"))?;
//! for r in &records {
//!     analysis.process(r); // in the order the engine hands them
//! }
//! let summary = analysis.finish()?;
//! println!("{} profiles, {} alerts", summary.profiles, summary.alerts.len());
//! # Ok(())
//! # }
//! ```

pub mod alert;
pub mod config;
pub mod detections;
pub mod detector;
pub mod error;
pub mod evidence;
pub mod export;
pub mod flow_model;
pub mod geo;
pub mod mac;
pub mod online;
pub mod output;
pub mod ports;
pub mod profile;
pub mod query;
pub mod slips;
pub mod storage;
pub mod strato_letters;
pub mod subscriber;
pub mod threat_intel;
pub mod timefmt;
pub mod timewindow;
pub mod useragent;
pub mod whitelist;

#[cfg(test)]
mod testutil;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use dissectors::{Record, Timestamp};

pub use alert::{Alert, EvidenceCounts};
pub use config::Config;
pub use detector::{Context, Detector, EvidenceSink, FinishContext};
pub use error::Error;
pub use evidence::{Evidence, EvidenceType, Ioc, IocValue, ThreatLevel};
pub use subscriber::Subscriber;

use alert::{EvidenceHandler, Handled};
use config::AnalysisDirection;
use dissectors::net::PrefixSet;
use evidence::IdGenerator;
use geo::GeoDb;
use mac::OuiTable;
use output::AlertOutputs;
use profile::Hosts;
use storage::{Storage, StoreStats};
use timewindow::{TimeWindow, TimeWindows};
use whitelist::{Whitelist, WhitelistSources};

/// Records between two checks of the whitelist files for changes.
const WHITELIST_CHECK_EVERY: u64 = 1 << 16;

/// One alert, for the end-of-run summary.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertSummary {
    pub profile: IpAddr,
    pub timewindow: i64,
    pub timestamp: Timestamp,
    pub accumulated_threat_level: f64,
    pub evidence: usize,
}

/// A profile among the most threatening, for the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileSummary {
    pub ip: IpAddr,
    /// Highest total threat of one of its windows.
    pub worst_window_threat: f64,
    pub max_threat_level: Option<ThreatLevel>,
    pub evidence: u64,
    pub alerts: u64,
}

/// What a run found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub records: u64,
    pub flows: u64,
    pub whitelisted_flows: u64,
    pub profiles: usize,
    pub hosts: usize,
    pub timewindows: usize,
    pub evidence: EvidenceCounts,
    pub alerts: Vec<AlertSummary>,
    /// Up to ten profiles, worst first.
    pub worst_profiles: Vec<ProfileSummary>,
    pub storage: Option<StoreStats>,
    /// Approximate heap memory of the profiler's tables.
    pub profiler_bytes: usize,
    /// Things the user should know that did not stop the run (a missing optional file,
    /// a whitelist line skipped ...).
    pub warnings: Vec<String>,
}

/// One analysis run: feed it every record as the engine hands them, then finish it.
pub struct Analysis {
    config: Config,
    output_dir: PathBuf,
    windows: TimeWindows,
    hosts: Hosts,
    /// `None`: every address gets a profile.
    home: Option<PrefixSet>,
    analyse_incoming: bool,
    detectors: Vec<Box<dyn Detector>>,
    handler: EvidenceHandler,
    whitelist: Whitelist,
    outputs: AlertOutputs,
    storage: Option<Storage>,
    /// Looked up when the hosts are stored, at the end: no cost per record.
    virustotal: std::sync::Arc<online::virustotal::LocalVirusTotal>,
    subscribers: Vec<Box<dyn Subscriber>>,
    pending: Vec<Evidence>,
    records: u64,
    flows: u64,
    whitelisted_flows: u64,
    last_window: Option<TimeWindow>,
    alerts: Vec<AlertSummary>,
    warnings: Vec<String>,
    /// The first output error; reported by `finish` (the analysis goes on).
    error: Option<Error>,
}

impl Analysis {
    /// Prepares a run writing into `output_dir` (created if needed): opens the
    /// whitelist, enrichment databases and output files named by `config`.
    pub fn new(config: Config, output_dir: &Path) -> Result<Analysis, Error> {
        std::fs::create_dir_all(output_dir).map_err(|e| Error::io(output_dir, e))?;
        let mut warnings = Vec::new();

        let whitelist = match WhitelistSources::from_config(&config) {
            Some(sources) => {
                let (wl, w) = Whitelist::load(sources)?;
                warnings.extend(w);
                wl
            }
            None => Whitelist::empty(),
        };

        let asn = config.resolve(&config.enrichment.asn_database);
        let location = config.resolve(&config.enrichment.geo_database);
        let geo = GeoDb::open(asn.as_deref(), location.as_deref())?;
        let oui = match config.resolve(&config.enrichment.oui_database) {
            Some(p) if p.exists() => OuiTable::load(&p)?,
            Some(p) => {
                warnings.push(format!(
                    "{}: not found; MAC vendors are not looked up",
                    p.display()
                ));
                OuiTable::empty()
            }
            None => OuiTable::empty(),
        };

        // Loaded once here and shared by the detections built below (kept alive until
        // they hold it); its load problems are the user's to know.
        let feeds = threat_intel::shared(&config);
        warnings.extend(feeds.warnings().iter().cloned());
        let domain_info = online::shared_domain_info(&config);
        warnings.extend(domain_info.warnings().iter().cloned());
        let jarm = online::jarm::shared_jarm(&config);
        warnings.extend(jarm.warnings().iter().cloned());
        let peers = online::p2p::shared_peer_reports(&config);
        warnings.extend(peers.warnings().iter().cloned());
        let virustotal = online::virustotal::shared_virustotal(&config);
        warnings.extend(virustotal.warnings().iter().cloned());
        let mut subscribers =
            strato_letters::StratoLettersExporter::subscribers(&config, output_dir)?;
        if let Some(outbox) = online::p2p::P2pOutbox::from_config(&config, output_dir)? {
            subscribers.push(Box::new(outbox));
        }
        // A model file that does not load stops the run here, naming the file.
        detections::malicious_flow::check_model(&config)?;
        if let Some(trainer) = detections::malicious_flow::FlowModelTrainer::from_config(
            &config,
            &output_dir.display().to_string(),
        ) {
            subscribers.push(Box::new(trainer));
        }

        let outputs = AlertOutputs::create(
            output_dir,
            &config.output.alerts_log,
            &config.output.alerts_json,
        )?;
        let storage = if config.output.sqlite.is_empty() {
            None
        } else {
            Some(Storage::create(
                &output_dir.join(&config.output.sqlite),
                config.output.sqlite_batch_size,
            )?)
        };
        let home = config.home_networks();
        let home = (!home.is_empty()).then(|| PrefixSet::from_cidrs(home));

        Ok(Analysis {
            windows: TimeWindows::new(config.window_width_micros()),
            hosts: Hosts::new(config.profiles.clone(), geo, oui),
            home,
            analyse_incoming: config.parameters.analysis_direction == AnalysisDirection::All,
            detectors: detections::enabled(&config),
            handler: EvidenceHandler::new(
                &config,
                IdGenerator::new(IdGenerator::seed_from_clock()),
            ),
            whitelist,
            outputs,
            storage,
            virustotal,
            subscribers,
            pending: Vec::new(),
            records: 0,
            flows: 0,
            whitelisted_flows: 0,
            last_window: None,
            alerts: Vec::new(),
            warnings,
            error: None,
            output_dir: output_dir.to_path_buf(),
            config,
        })
    }

    /// Adds a detection besides the configured ones (tools, tests, plugins).
    pub fn add_detector(&mut self, detector: Box<dyn Detector>) {
        self.detectors.push(detector);
    }

    /// Adds a part told of every flow, evidence and alert (see [`Subscriber`]).
    pub fn subscribe(&mut self, subscriber: Box<dyn Subscriber>) {
        self.subscribers.push(subscriber);
    }

    /// Hands the alert decision (and the start of window 1) to a rule shared with other
    /// sensors, before the first record.
    pub fn share_alert_rule(&mut self, rule: Box<dyn alert::SharedAlertRule>) {
        self.handler.share(rule);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn output_dir(&self) -> &Path {
        &self.output_dir
    }

    /// What is known so far about every address.
    pub fn hosts(&self) -> &Hosts {
        &self.hosts
    }

    fn in_home(&self, ip: IpAddr) -> bool {
        self.home.as_ref().is_none_or(|h| h.contains(ip))
    }

    /// Analyses one record. Records come in the order the capture produced them
    /// (`engine::pipeline::run_file` hands them as Zeek writes its logs: a connection
    /// when it ends); time windows are numbered from the first record's timestamp, as
    /// Slips numbers them reading Zeek's logs. Output errors do not stop the analysis;
    /// `finish` reports the first.
    pub fn process(&mut self, record: &Record) {
        if matches!(record, Record::SoftwareFound(_) | Record::DhcpMessage(_)) {
            // Inputs of the output stage's aggregators, not records of their own.
            return;
        }
        self.records += 1;
        if self.records.is_multiple_of(WHITELIST_CHECK_EVERY) {
            self.reload_whitelist_if_changed();
        }
        self.hosts.learn(record);
        let ts = record.ts();
        let (src, dst) = endpoints(record);
        let Some(src) = src else {
            // A certificate: knowledge only, stored without a profile.
            if let Some(st) = &mut self.storage {
                let r = st.record(record, None, None);
                self.keep_error(r);
            }
            return;
        };
        if self.whitelist.ignores_flows() && self.is_whitelisted_flow(record, src, dst) {
            self.whitelisted_flows += 1;
            return;
        }
        if self.windows.first().is_none() {
            if let Some(rule) = self.handler.shared_rule() {
                self.windows.start_at(rule.window_origin(ts));
            }
        }
        let tw = self.windows.window_of(ts);
        self.last_window = Some(tw);
        let is_flow = matches!(record, Record::Conn(_));
        if is_flow {
            self.flows += 1;
        }

        let analyse_src = self.in_home(src);
        if analyse_src {
            let p = self.hosts.profile_mut(src, ts);
            let w = p.window_mut(&tw);
            if is_flow {
                w.flows_out += 1;
                p.flows_out += 1;
            }
        }
        if self.analyse_incoming && !matches!(record, Record::Software(_)) {
            if let Some(dst) = dst.filter(|d| self.in_home(*d)) {
                let p = self.hosts.profile_mut(dst, ts);
                let w = p.window_mut(&tw);
                if is_flow {
                    w.flows_in += 1;
                    p.flows_in += 1;
                }
            }
        }

        if let Some(st) = &mut self.storage {
            let r = match record {
                Record::Conn(c) => st.flow(c, src, tw.number),
                other => st.record(other, Some(src), Some(tw.number)),
            };
            self.keep_error(r);
        }
        for s in &mut self.subscribers {
            s.record(record, src, &tw);
        }

        if analyse_src {
            if let Some(profile) = self.hosts.get(src) {
                let ctx = Context {
                    config: &self.config,
                    profile_ip: src,
                    profile,
                    timewindow: tw,
                    hosts: &self.hosts,
                };
                for d in &mut self.detectors {
                    d.process(&ctx, record, &mut self.pending);
                }
            }
        }
        if !self.pending.is_empty() {
            // The interface a live capture saw the flow on (several can be read at once).
            if let Record::Conn(c) = record {
                if let Some(iface) = &c.interface {
                    for e in self.pending.iter_mut().filter(|e| e.interface.is_none()) {
                        e.interface = Some(iface.to_string());
                    }
                }
            }
            self.handle_pending();
        }
        self.raise_shared_alerts(false);
    }

    /// Raises the alerts a shared rule decided since the last call.
    fn raise_shared_alerts(&mut self, finishing: bool) {
        let alerts = self
            .handler
            .shared_alerts(&mut self.hosts, &self.windows, finishing);
        match alerts {
            Ok(alerts) => {
                for a in alerts {
                    self.raise(a);
                }
            }
            Err(e) => self.keep_error(Err(e)),
        }
    }

    fn is_whitelisted_flow(&self, record: &Record, src: IpAddr, dst: Option<IpAddr>) -> bool {
        let domain: Option<&str> = match record {
            Record::Http(h) => h.host.as_deref(),
            Record::Ssl(s) => s.server_name.as_deref(),
            Record::Dns(d) => d.query.as_deref(),
            _ => None,
        };
        let answers: Vec<IpAddr> = match record {
            Record::Dns(d) => d
                .answers
                .iter()
                .flatten()
                .filter_map(|a| match a.data {
                    dissectors::dns::RData::Addr(ip) => Some(ip),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let domains: &[&str] = match &domain {
            Some(d) => std::slice::from_ref(d),
            None => &[],
        };
        self.whitelist
            .is_whitelisted_flow(src, dst, domains, &answers, &self.hosts)
    }

    fn handle_pending(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        for mut e in pending.drain(..) {
            let handled =
                self.handler
                    .handle(&mut e, &mut self.hosts, &self.whitelist, &self.windows);
            let Handled::Kept { accumulated, alert } = handled else {
                continue;
            };
            let r = self.outputs.evidence(&e, accumulated, &self.hosts);
            self.keep_error(r);
            for s in &mut self.subscribers {
                s.evidence(&e, accumulated, &self.hosts);
            }
            if let Some(st) = &mut self.storage {
                let r = st.evidence(&e, accumulated);
                self.keep_error(r);
            }
            if let Some(a) = alert {
                self.raise(a);
            }
        }
        self.pending = pending;
    }

    fn raise(&mut self, a: Alert) {
        let r = self.outputs.alert(&a, &self.hosts);
        self.keep_error(r);
        for s in &mut self.subscribers {
            s.alert(&a, &self.hosts);
        }
        if let Some(st) = &mut self.storage {
            let r = st.alert(&a);
            self.keep_error(r);
        }
        self.alerts.push(AlertSummary {
            profile: a.profile,
            timewindow: a.timewindow.number,
            timestamp: a.last_evidence_ts,
            accumulated_threat_level: a.accumulated_threat_level,
            evidence: a.evidence_ids.len(),
        });
    }

    fn keep_error(&mut self, r: Result<(), Error>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }

    /// Re-reads the whitelist when one of its files changed (long runs pick up edits).
    pub fn reload_whitelist_if_changed(&mut self) {
        if !self.whitelist.changed_on_disk() {
            return;
        }
        match Whitelist::load(self.whitelist.sources().clone()) {
            Ok((wl, w)) => {
                self.whitelist = wl;
                self.warnings.extend(w);
            }
            Err(e) => self.warnings.push(format!("whitelist not reloaded: {e}")),
        }
    }

    /// Ends the run: lets detections report what was pending, writes the profiles and
    /// windows, closes the outputs, and returns the summary.
    pub fn finish(mut self) -> Result<Summary, Error> {
        // The traffic has ended: flows.sqlite indexes its flows while the detections finish.
        if let Some(storage) = self.storage.as_mut() {
            let r = storage.flows_complete();
            self.keep_error(r);
        }
        let mut detectors = std::mem::take(&mut self.detectors);
        for d in &mut detectors {
            loop {
                let ctx = FinishContext {
                    config: &self.config,
                    hosts: &self.hosts,
                    last_window: self.last_window,
                };
                let more = d.finish(&ctx, &mut self.pending);
                if !self.pending.is_empty() {
                    self.handle_pending();
                }
                if !more {
                    break;
                }
            }
        }
        self.detectors = detectors;
        self.raise_shared_alerts(true);
        let r = self.outputs.flush();
        self.keep_error(r);
        let mut subscribers = std::mem::take(&mut self.subscribers);
        for s in &mut subscribers {
            let r = s.finish(&self.hosts);
            self.keep_error(r);
        }
        let finishing = self
            .storage
            .take()
            .map(|st| st.send_rest(&self.hosts, &*self.virustotal));
        let error = self.error.take();
        let mut summary = Summary {
            records: self.records,
            flows: self.flows,
            whitelisted_flows: self.whitelisted_flows,
            profiles: self.hosts.profile_count(),
            hosts: self.hosts.host_count(),
            timewindows: self.hosts.profiles().map(|(_, p)| p.windows.len()).sum(),
            evidence: self.handler.counts.clone(),
            alerts: std::mem::take(&mut self.alerts),
            worst_profiles: worst_profiles(&self.hosts, 10),
            storage: None,
            profiler_bytes: self.hosts.approx_heap_bytes(),
            warnings: std::mem::take(&mut self.warnings),
        };
        // The profiles and the detectors' state are freed while the writer finishes the
        // database (its indexes and last rows), not after it: 15-20 ms of a second-long
        // run with the analysis on the benchmark capture.
        drop(self);
        summary.storage = match finishing {
            Some(f) => Some(f.wait()?),
            None => None,
        };
        if let Some(e) = error {
            return Err(e);
        }
        Ok(summary)
    }
}

/// Source and destination of a record (the source is the profile it belongs to).
fn endpoints(record: &Record) -> (Option<IpAddr>, Option<IpAddr>) {
    match record {
        Record::Conn(r) => (Some(r.id.orig_h), Some(r.id.resp_h)),
        Record::Dns(r) => (Some(r.id.orig_h), Some(r.id.resp_h)),
        Record::Http(r) => (Some(r.id.orig_h), Some(r.id.resp_h)),
        Record::Ssl(r) => (Some(r.id.orig_h), Some(r.id.resp_h)),
        Record::Ssh(r) => (Some(r.id.orig_h), Some(r.id.resp_h)),
        Record::Files(r) => (r.id.map(|i| i.orig_h), r.id.map(|i| i.resp_h)),
        Record::Dhcp(r) => (
            r.assigned_addr
                .or(r.client_addr)
                .filter(|a| !a.is_unspecified()),
            r.server_addr,
        ),
        Record::Software(r) => (Some(r.host), None),
        Record::Smtp(r) => (Some(r.id.orig_h), Some(r.id.resp_h)),
        Record::Login(r) => (Some(r.id.orig_h), Some(r.id.resp_h)),
        Record::Tunnel(r) => (Some(r.id.orig_h), Some(r.id.resp_h)),
        Record::Weird(r) => (r.id.map(|i| i.orig_h), r.id.map(|i| i.resp_h)),
        Record::Notice(r) => (
            r.id.map(|i| i.orig_h).or(r.src),
            r.id.map(|i| i.resp_h).or(r.dst),
        ),
        Record::Arp(r) => (
            Some(r.orig_h).filter(|a| !a.is_unspecified()),
            Some(r.resp_h),
        ),
        Record::X509(_) | Record::SoftwareFound(_) | Record::DhcpMessage(_) => (None, None),
    }
}

fn worst_profiles(hosts: &Hosts, n: usize) -> Vec<ProfileSummary> {
    let mut v: Vec<ProfileSummary> = hosts
        .profiles()
        .filter(|(_, p)| p.windows.iter().any(|w| w.evidence > 0))
        .map(|(h, p)| ProfileSummary {
            ip: h.ip,
            worst_window_threat: p.windows.iter().map(|w| w.total_threat).fold(0.0, f64::max),
            max_threat_level: p.max_threat_level,
            evidence: p.windows.iter().map(|w| u64::from(w.evidence)).sum(),
            alerts: p.windows.iter().map(|w| u64::from(w.alerts)).sum(),
        })
        .collect();
    v.sort_by(|a, b| {
        b.alerts
            .cmp(&a.alerts)
            .then(b.worst_window_threat.total_cmp(&a.worst_window_threat))
            .then(b.evidence.cmp(&a.evidence))
            .then(a.ip.cmp(&b.ip))
    });
    v.truncate(n);
    v
}
