//! `MALICIOUS_FLOW`: a flow the flow classifier calls malicious, as Slips' machine
//! learning module does it (`modules/flow_ml_detection/flow_ml_detection.py`, `main` in
//! test mode and `set_evidence_malicious_flow`): one evidence per TCP/UDP connection the
//! model flags, the source the attacker and the destination the victim, low threat,
//! confidence 0.1, method AI, with the flow's uid and ports.
//!
//! The model is [`crate::flow_model`]'s (`flowmldetection.model`, or the shipped one).
//! In `flowmldetection.mode: train` this detection reports nothing; [`FlowModelTrainer`]
//! (a [`Subscriber`]) collects the labelled flows and writes the model file when the
//! run ends, as Slips stores its model on shutdown in train mode.
//!
//! Unlike Slips, a source's flagged flows do not each become an evidence once there are
//! many: the shipped model calls most unanswered connection attempts malicious, so a scan
//! would give one evidence per probe (2,305 on Slips' `test1-malicious.nfdump`). Per
//! source and time window, the first [`REPORTED_ONE_BY_ONE`] flagged flows are reported
//! each, then one evidence at every power of ten (10, 100, 1000 ...) naming the count so
//! far: one growing episode, as the scan detections report scans.

use std::net::IpAddr;
use std::path::PathBuf;

use dissectors::Record;
use hashbrown::HashMap;

use crate::config::{Config, FlowMlMode};
use crate::detector::{Context, Detector, EvidenceSink};
use crate::error::Error;
use crate::evidence::{Evidence, EvidenceType, Ioc, Method, ThreatLevel};
use crate::flow_model::{self, FlowModel, LabeledFlow, TrainOptions};
use crate::profile::Hosts;
use crate::subscriber::Subscriber;

pub const NAME: &str = "malicious_flow";

/// Labelled flows kept for training (about 90 bytes each); past it, a uniform sample.
const MAX_TRAINING_FLOWS: usize = 1 << 19;
/// Flagged flows of one source and window reported one evidence each.
pub const REPORTED_ONE_BY_ONE: u64 = 5;
/// Sources whose flagged flows are counted at once; past it the counts start over.
const MAX_SOURCES: usize = 65_536;

pub struct MaliciousFlow {
    /// `None` in train mode, or when the model file cannot be used ([`check_model`]
    /// reports that before the run).
    model: Option<FlowModel>,
    /// Flagged flows per source: (time window, count in it).
    flagged: HashMap<IpAddr, (i64, u64)>,
}

/// Whether the `count`-th flagged flow of a source in a window is reported.
fn reported(count: u64) -> bool {
    count <= REPORTED_ONE_BY_ONE || (count >= 10 && 10u64.pow(count.ilog10()) == count)
}

/// The model test mode uses: the file `flowmldetection.model` names, or the shipped one.
pub fn load_model(config: &Config) -> Result<FlowModel, Error> {
    match config.resolve(&config.flow_ml_detection.model) {
        Some(path) => FlowModel::load(&path),
        None => Ok(FlowModel::shipped()),
    }
}

/// Fails, naming the file, when this detection is on in test mode and its model file
/// cannot be used: for the start of a run.
pub fn check_model(config: &Config) -> Result<(), Error> {
    let enabled = !config.modules.disable.iter().any(|d| d == NAME);
    if enabled && config.flow_ml_detection.mode == FlowMlMode::Test {
        load_model(config)?;
    }
    Ok(())
}

impl MaliciousFlow {
    pub fn new(config: &Config) -> Self {
        MaliciousFlow {
            model: match config.flow_ml_detection.mode {
                FlowMlMode::Test => load_model(config).ok(),
                FlowMlMode::Train => None,
            },
            flagged: HashMap::new(),
        }
    }

    pub fn with_model(model: FlowModel) -> Self {
        MaliciousFlow {
            model: Some(model),
            flagged: HashMap::new(),
        }
    }

    /// Counts a flagged flow of `source` in window `tw`; returns the count so far.
    fn count(&mut self, source: IpAddr, tw: i64) -> u64 {
        if self.flagged.len() >= MAX_SOURCES && !self.flagged.contains_key(&source) {
            self.flagged.clear();
        }
        let entry = self.flagged.entry(source).or_insert((tw, 0));
        if entry.0 != tw {
            *entry = (tw, 0);
        }
        entry.1 += 1;
        entry.1
    }
}

impl Detector for MaliciousFlow {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Conn(c) = record else { return };
        if !self.model.as_ref().is_some_and(|m| m.is_malicious(c)) {
            return;
        }
        let (saddr, daddr) = (c.id.orig_h, c.id.resp_h);
        let count = self.count(saddr, ctx.timewindow.number);
        if !reported(count) {
            return;
        }
        let mut description = format!(
            "Flow with malicious characteristics by ML. Src IP {saddr}:{} to {daddr}:{}",
            c.id.orig_p, c.id.resp_p
        );
        if count > REPORTED_ONE_BY_ONE {
            description.push_str(&format!(
                ". {count} flows of {saddr} flagged by the model in this time window"
            ));
        }
        let mut e = Evidence::new(
            EvidenceType::MaliciousFlow,
            Ioc::src_ip(saddr),
            ThreatLevel::Low,
            0.1,
            description,
            ctx.profile_ip,
            ctx.timewindow.number,
            c.ts,
        );
        e.victim = Some(Ioc::dst_ip(daddr));
        e.method = Method::Ai;
        e.from_connection(c.uid, &c.id);
        out.push(e);
    }
}

/// Train mode: keeps every labelled TCP/UDP flow of the run and, when it ends, trains
/// the model (going on from the model file when it exists) and writes it to the file.
pub struct FlowModelTrainer {
    path: PathBuf,
    source: String,
    flows: Vec<LabeledFlow>,
    seen: u64,
    sampler: flow_model::SplitMix,
}

impl FlowModelTrainer {
    /// The trainer train mode needs (`None` in test mode or with the detection
    /// disabled); `source` names the run's input in the model's `trained_from`.
    pub fn from_config(config: &Config, source: &str) -> Option<FlowModelTrainer> {
        let enabled = !config.modules.disable.iter().any(|d| d == NAME);
        if !enabled || config.flow_ml_detection.mode != FlowMlMode::Train {
            return None;
        }
        // The configuration's check makes sure train mode names a file.
        let path = config.resolve(&config.flow_ml_detection.model)?;
        Some(FlowModelTrainer {
            path,
            source: source.to_string(),
            flows: Vec::new(),
            seen: 0,
            sampler: flow_model::SplitMix::new(0x7a11),
        })
    }

    fn keep(&mut self, flow: LabeledFlow) {
        self.seen += 1;
        if self.flows.len() < MAX_TRAINING_FLOWS {
            self.flows.push(flow);
        } else {
            // Reservoir sampling: every flow seen has the same chance to be kept.
            let k = self.sampler.below(self.seen as usize);
            if k < MAX_TRAINING_FLOWS {
                self.flows[k] = flow;
            }
        }
    }

    /// Trains on the flows kept and writes the model file.
    pub fn write_model(&mut self) -> Result<FlowModel, Error> {
        let start = if self.path.exists() {
            Some(FlowModel::load(&self.path)?)
        } else {
            None
        };
        let options = TrainOptions {
            threshold: start.as_ref().map_or(0.5, |m| m.threshold),
            ..TrainOptions::default()
        };
        let model = flow_model::train(
            &self.flows,
            start.as_ref(),
            &options,
            vec![self.source.clone()],
        )
        .map_err(|e| Error::Config {
            path: self.path.clone(),
            key: "flowmldetection.mode: train".into(),
            message: format!("no model written: {e}"),
        })?;
        model.save(&self.path)?;
        Ok(model)
    }
}

impl Subscriber for FlowModelTrainer {
    fn record(
        &mut self,
        record: &Record,
        _profile: std::net::IpAddr,
        _window: &crate::timewindow::TimeWindow,
    ) {
        if let Record::Conn(c) = record {
            if let Some(flow) = LabeledFlow::from_conn(c) {
                self.keep(flow);
            }
        }
    }

    fn finish(&mut self, _hosts: &Hosts) -> Result<(), Error> {
        self.write_model().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Direction;
    use crate::flow_model::{Scaler, TrainedFrom, FEATURE_COUNT};
    use crate::testutil::{conn, Harness};
    use dissectors::{ConnRecord, ConnState, GroundTruth, Interval};

    /// Flags exactly the flows that are not established (state feature 0).
    fn unestablished_model() -> FlowModel {
        let scaler = Scaler {
            mean: [0.0; FEATURE_COUNT],
            scale: [1.0; FEATURE_COUNT],
        };
        let mut w = [0.0; FEATURE_COUNT];
        w[6] = -10.0;
        FlowModel::new(scaler, w, 5.0, 0.5, TrainedFrom::default())
    }

    fn rejected(sport: u16, ts: f64) -> ConnRecord {
        let mut c = conn("192.168.1.107", sport, "66.63.168.35", 5888, ts);
        c.conn_state = ConnState::REJ;
        c.duration = Some(Interval::from_secs(0));
        c.orig_bytes = Some(0);
        c.resp_bytes = Some(0);
        c.orig_pkts = 2;
        c.resp_pkts = 2;
        c
    }

    #[test]
    fn fires_on_a_flow_the_model_flags_with_its_uid() {
        let mut h = Harness::new(Config::default());
        let mut d = MaliciousFlow::with_model(unestablished_model());
        let c = rejected(65164, 1.0);
        let uid = c.uid;
        let out = h.feed(&mut d, c);
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.evidence_type, EvidenceType::MaliciousFlow);
        assert_eq!((e.threat_level, e.confidence), (ThreatLevel::Low, 0.1));
        assert_eq!(e.attacker, Ioc::src_ip("192.168.1.107".parse().unwrap()));
        assert_eq!(e.victim.as_ref().unwrap().direction, Direction::Dst);
        assert_eq!(e.method, Method::Ai);
        assert_eq!(e.uids, vec![uid]);
        assert_eq!((e.src_port, e.dst_port), (Some(65164), Some(5888)));
        assert_eq!(
            e.description,
            "Flow with malicious characteristics by ML. Src IP 192.168.1.107:65164 to 66.63.168.35:5888"
        );
    }

    #[test]
    fn does_not_fire_on_benign_icmp_or_without_a_model() {
        let mut h = Harness::new(Config::default());
        let mut d = MaliciousFlow::with_model(unestablished_model());
        assert!(h
            .feed(&mut d, conn("192.168.1.107", 50000, "1.2.3.4", 443, 1.0))
            .is_empty());
        let mut icmp = rejected(8, 2.0);
        icmp.id.proto = dissectors::Transport::Icmp;
        assert!(h.feed(&mut d, icmp).is_empty());
        let mut c = Config::default();
        c.flow_ml_detection.mode = FlowMlMode::Train;
        c.flow_ml_detection.model = "m.json".into();
        let mut d = MaliciousFlow::new(&c);
        assert!(h.feed(&mut d, rejected(65164, 3.0)).is_empty());
    }

    #[test]
    fn the_shipped_model_flags_the_rat_and_spares_established_https() {
        let mut h = Harness::new(Config::default());
        let mut d = MaliciousFlow::new(&Config::default());
        assert_eq!(h.feed(&mut d, rejected(65164, 1.0)).len(), 1);
        let mut https = conn("192.168.1.107", 50000, "1.2.3.4", 443, 2.0);
        https.duration = Some(Interval::from_secs(30));
        https.orig_bytes = Some(2_000);
        https.resp_bytes = Some(60_000);
        https.orig_pkts = 20;
        https.resp_pkts = 50;
        assert!(h.feed(&mut d, https).is_empty());
    }

    #[test]
    fn many_flagged_flows_of_one_source_are_one_growing_episode() {
        let mut h = Harness::new(Config::default());
        let mut d = MaliciousFlow::with_model(unestablished_model());
        let mut reported = Vec::new();
        for n in 1..=1_000u16 {
            let out = h.feed(&mut d, rejected(10_000 + n, 1.0 + f64::from(n) * 0.001));
            if !out.is_empty() {
                reported.push((n, out[0].description.clone()));
            }
        }
        let counts: Vec<u16> = reported.iter().map(|(n, _)| *n).collect();
        assert_eq!(counts, vec![1, 2, 3, 4, 5, 10, 100, 1000]);
        assert!(!reported[4].1.contains("flows of"));
        assert!(reported[7]
            .1
            .ends_with(". 1000 flows of 192.168.1.107 flagged by the model in this time window"));
        // Another source is counted on its own.
        let mut other = rejected(40_000, 2.0);
        other.id.orig_h = "192.168.1.108".parse().unwrap();
        assert_eq!(h.feed(&mut d, other).len(), 1);
    }

    #[test]
    fn check_model_names_a_bad_file_only_when_it_is_used() {
        let dir = std::env::temp_dir().join(format!("malicious-flow-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bad.json"), "{}").unwrap();
        let mut c = Config {
            base_dir: dir.clone(),
            ..Config::default()
        };
        assert!(check_model(&c).is_ok()); // the shipped model
        c.flow_ml_detection.model = "bad.json".into();
        let e = check_model(&c).unwrap_err().to_string();
        assert!(e.contains("bad.json: line 1: not a flow model file"), "{e}");
        c.modules.disable.push(NAME.into());
        assert!(check_model(&c).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn labelled(c: &mut ConnRecord, truth: GroundTruth) -> Record {
        c.ground_truth = Some(truth);
        Record::Conn(Box::new(c.clone()))
    }

    #[test]
    fn train_mode_writes_a_model_from_labelled_flows_and_goes_on_from_it() {
        let dir = std::env::temp_dir().join(format!("malicious-flow-train-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = Config {
            base_dir: dir.clone(),
            ..Config::default()
        };
        config.flow_ml_detection.mode = FlowMlMode::Train;
        config.flow_ml_detection.model = "trained.json".into();
        assert!(FlowModelTrainer::from_config(&Config::default(), "x").is_none());
        let mut t = FlowModelTrainer::from_config(&config, "run one").unwrap();
        let window = crate::timewindow::TimeWindows::new(None)
            .window_of(dissectors::Timestamp::from_secs_f64(0.0));
        let ip = "192.168.1.107".parse().unwrap();
        for i in 0..60u16 {
            let mut bad = rejected(50000 + i, f64::from(i));
            t.record(&labelled(&mut bad, GroundTruth::Malicious), ip, &window);
            let mut good = conn("192.168.1.107", 50000 + i, "1.2.3.4", 443, f64::from(i));
            good.duration = Some(Interval::from_secs(10 + i64::from(i % 5)));
            t.record(&labelled(&mut good, GroundTruth::Benign), ip, &window);
            // Unlabelled flows are not training data.
            t.record(
                &Record::Conn(Box::new(rejected(1000 + i, 0.0))),
                ip,
                &window,
            );
        }
        t.finish(&Hosts::for_tests()).unwrap();
        let path = dir.join("trained.json");
        let m = FlowModel::load(&path).unwrap();
        assert_eq!((m.trained_from.malicious, m.trained_from.benign), (60, 60));
        assert_eq!(m.trained_from.sources, vec!["run one".to_string()]);
        assert!(m.is_malicious(&rejected(50030, 0.0)));
        assert!(!m.is_malicious(&conn("192.168.1.107", 50001, "1.2.3.4", 443, 0.0)));

        // A second run goes on from the file.
        let mut t = FlowModelTrainer::from_config(&config, "run two").unwrap();
        let mut bad = rejected(50061, 0.0);
        t.record(&labelled(&mut bad, GroundTruth::Malicious), ip, &window);
        let mut good = conn("192.168.1.107", 50062, "1.2.3.4", 443, 0.0);
        t.record(&labelled(&mut good, GroundTruth::Benign), ip, &window);
        let m = t.write_model().unwrap();
        assert_eq!(m.trained_from.flows, 122);
        assert_eq!(m.trained_from.sources, vec!["run one", "run two"]);

        // A run without both classes writes nothing and says why.
        let mut t = FlowModelTrainer::from_config(&config, "run three").unwrap();
        let e = t.finish(&Hosts::for_tests()).unwrap_err().to_string();
        assert!(
            e.contains("trained.json: flowmldetection.mode: train: no model written"),
            "{e}"
        );
        assert_eq!(FlowModel::load(&path).unwrap().trained_from, m.trained_from);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
