//! The flow classifier behind `MALICIOUS_FLOW` (Slips' `flow_ml_detection`): every TCP
//! or UDP connection becomes a fixed vector of Slips' features, a standard scaler
//! centres and scales it, and a linear model scores it; a flow whose probability of
//! being malicious reaches the model's decision threshold is flagged.
//!
//! Slips (`modules/flow_ml_detection/flow_ml_detection.py`) drops ICMP, IGMP and ARP
//! flows and keeps `dur`, `proto` (tcp 0, udp 1), `sport`, `dport`, `spkts`, `sbytes`
//! (the originator's payload bytes), `state` (Slips' interpreted state: established 1,
//! not established 0), `allbytes` (payload bytes both ways) and `pkts` (packets both
//! ways), scaled by sklearn's `StandardScaler` and fed to an `SGDClassifier` (hinge
//! loss, L1 penalty) kept in pickles. We keep the same features and encodings, train a
//! logistic regression by SGD (so the score is a probability and the threshold means
//! something), and keep the model in a JSON file ([`FlowModel::load`], [`FlowModel::save`]).
//!
//! Training is deterministic: samples are visited in an order shuffled by a fixed seed,
//! with the classes weighted to balance them. Prediction computes the linear function
//! in the unscaled feature space (the scaler folded into the weights at load): a
//! handful of multiplications, no allocation.
//!
//! # The shipped model (`config/flow_model.json`)
//!
//! Trained with `slipstream flow-model train --threshold 0.9` on Slips' labelled
//! sample `dataset/test18-malicious-ctu-sme-11-win` (CTU-SME-11, a Windows 7 host
//! infected with RemcosRAT, labelled by hand; `testdata/slips/test18-malicious-ctu-sme-11-win/`):
//! 758 labelled TCP/UDP flows, 719 malicious and 39 benign (5 benign ICMP flows and 3
//! `Unknown` ones left out). Validated with `slipstream flow-model validate`: k-fold
//! cross-validation grouped so that the flows of one connection tuple (addresses,
//! ports, protocol) never sit on both sides, stratified by class.
//!
//! | validation | TP | FP | TN | FN | precision | recall | F1 | FPR (benign) |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5-fold, grouped by 5-tuple (279 groups), any threshold 0.5 to 0.99 | 719 | 0 | 39 | 0 | 1.0 | 1.0 | 1.0 | 0.0 |
//!
//! The data set is small and one-sided: every malicious flow is the RAT's rejected
//! reconnection to one server and port (66.63.168.35:5888), and the 39 benign TCP/UDP
//! flows are mostly multicast UDP. Grouped by destination instead, the fold holding that
//! server leaves no malicious flow to train on: nothing here shows the model
//! generalises to other malware. What it learnt is "a short TCP attempt that never got
//! established", so on Slips' other samples (shipped threshold 0.9; the RAT's flows
//! score 0.99 and above) it flags unanswered connection attempts: 254 of 605 TCP/UDP
//! flows of `test7-malicious.pcap` (a telnet scanner's SYNs to 23, 2323, 8080, 9527),
//! 10 of 129 of `test10-mixed-zeek-dir` (a port scan), 2 of 570 of
//! `test9-mixed-zeek-dir` (an unanswered SYN to port 80), none of the 598 of
//! `test-cc-capture-1.pcap`. Raising the threshold does not separate these (the scan
//! SYNs score as high as the RAT's). Treat it as Slips treats its own model (low
//! threat, confidence 0.1: 750 flagged flows in one hour window alone make an alert),
//! and retrain on your own labelled traffic with `flowmldetection.mode: train`.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use dissectors::{ConnRecord, GroundTruth, Transport};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::slips::is_established;

/// How many features a flow has.
pub const FEATURE_COUNT: usize = 9;

/// Slips' names of the features, in the order of the vector.
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = [
    "dur", "proto", "sport", "dport", "spkts", "sbytes", "state", "allbytes", "pkts",
];

/// One flow's features, in [`FEATURE_NAMES`] order.
pub type Features = [f64; FEATURE_COUNT];

/// The `format` value of the model files this version reads and writes.
pub const FORMAT: &str = "slipstream-flow-model-1";

/// The model shipped with slipstream, used when `flowmldetection.model` is empty.
pub const SHIPPED_MODEL: &str = include_str!("../../config/flow_model.json");

/// A flow's features as Slips computes them; `None` for the flows Slips leaves out (not
/// TCP or UDP).
pub fn features(c: &ConnRecord) -> Option<Features> {
    let proto = match c.id.proto {
        Transport::Tcp => 0.0,
        Transport::Udp => 1.0,
        Transport::Icmp | Transport::Unknown => return None,
    };
    let sbytes = c.orig_bytes.unwrap_or(0);
    let dbytes = c.resp_bytes.unwrap_or(0);
    Some([
        c.duration.map_or(0.0, |d| d.as_secs_f64()),
        proto,
        f64::from(c.id.orig_p),
        f64::from(c.id.resp_p),
        c.orig_pkts as f64,
        sbytes as f64,
        if is_established(c) { 1.0 } else { 0.0 },
        sbytes.saturating_add(dbytes) as f64,
        c.orig_pkts.saturating_add(c.resp_pkts) as f64,
    ])
}

/// sklearn's `StandardScaler`: each feature minus its mean, over its (population)
/// standard deviation; a constant feature is only centred.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    pub mean: Features,
    pub scale: Features,
}

impl Scaler {
    pub fn fit<'a>(samples: impl Iterator<Item = &'a Features> + Clone) -> Scaler {
        let mut n = 0.0;
        let mut mean = [0.0; FEATURE_COUNT];
        for x in samples.clone() {
            n += 1.0;
            for i in 0..FEATURE_COUNT {
                mean[i] += x[i];
            }
        }
        if n > 0.0 {
            mean.iter_mut().for_each(|m| *m /= n);
        }
        let mut var = [0.0; FEATURE_COUNT];
        for x in samples {
            for i in 0..FEATURE_COUNT {
                var[i] += (x[i] - mean[i]) * (x[i] - mean[i]);
            }
        }
        let scale = var.map(|v| {
            let sd = if n > 0.0 { (v / n).sqrt() } else { 0.0 };
            if sd > 0.0 && sd.is_finite() {
                sd
            } else {
                1.0
            }
        });
        Scaler { mean, scale }
    }

    pub fn transform(&self, x: &Features) -> Features {
        std::array::from_fn(|i| (x[i] - self.mean[i]) / self.scale[i])
    }
}

/// Where a model came from: written into the model file, kept across retraining.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainedFrom {
    /// The inputs (files, runs) whose labelled flows trained it.
    pub sources: Vec<String>,
    /// Labelled flows it was trained on, in all, and per class.
    pub flows: u64,
    pub malicious: u64,
    pub benign: u64,
    /// Free text: how it was validated, with what result.
    pub notes: Vec<String>,
}

/// A trained classifier: scaler, linear model and decision threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowModel {
    pub scaler: Scaler,
    /// Weights over the scaled features.
    pub weights: Features,
    pub bias: f64,
    /// Probability of being malicious at and above which a flow is flagged.
    pub threshold: f64,
    pub trained_from: TrainedFrom,
    /// The linear function over unscaled features, and the threshold as a logit.
    raw_weights: Features,
    raw_bias: f64,
    logit_threshold: f64,
}

/// The model file's layout.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    features: Vec<String>,
    scaler_mean: Vec<f64>,
    scaler_scale: Vec<f64>,
    weights: Vec<f64>,
    bias: f64,
    threshold: f64,
    trained_from: TrainedFrom,
}

fn logistic(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl FlowModel {
    pub fn new(
        scaler: Scaler,
        weights: Features,
        bias: f64,
        threshold: f64,
        trained_from: TrainedFrom,
    ) -> FlowModel {
        let raw_weights: Features = std::array::from_fn(|i| weights[i] / scaler.scale[i]);
        let raw_bias = bias
            - (0..FEATURE_COUNT)
                .map(|i| raw_weights[i] * scaler.mean[i])
                .sum::<f64>();
        FlowModel {
            logit_threshold: (threshold / (1.0 - threshold)).ln(),
            scaler,
            weights,
            bias,
            threshold,
            trained_from,
            raw_weights,
            raw_bias,
        }
    }

    /// The same model deciding at another threshold.
    pub fn with_threshold(&self, threshold: f64) -> FlowModel {
        FlowModel::new(
            self.scaler.clone(),
            self.weights,
            self.bias,
            threshold,
            self.trained_from.clone(),
        )
    }

    /// The model's score (log-odds of malicious) for a feature vector.
    pub fn logit(&self, x: &Features) -> f64 {
        let mut z = self.raw_bias;
        for (w, v) in self.raw_weights.iter().zip(x) {
            z += w * v;
        }
        z
    }

    pub fn probability(&self, x: &Features) -> f64 {
        logistic(self.logit(x))
    }

    /// Whether the flow is flagged; flows Slips leaves out never are.
    pub fn is_malicious(&self, c: &ConnRecord) -> bool {
        features(c).is_some_and(|x| self.logit(&x) >= self.logit_threshold)
    }

    /// The shipped model (`config/flow_model.json`, built in).
    pub fn shipped() -> FlowModel {
        FlowModel::parse(SHIPPED_MODEL, Path::new("config/flow_model.json"))
            .expect("the shipped flow model is checked by a unit test")
    }

    pub fn load(path: &Path) -> Result<FlowModel, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        FlowModel::parse(&text, path)
    }

    /// Parses a model file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<FlowModel, Error> {
        let file: ModelFile = serde_json::from_str(text).map_err(|e| Error::Data {
            path: path.to_path_buf(),
            line: e.line(),
            message: format!("not a flow model file: {e}"),
        })?;
        let err = |key: &str, message: String| Error::Config {
            path: path.to_path_buf(),
            key: key.to_string(),
            message,
        };
        if file.format != FORMAT {
            return Err(err(
                "format",
                format!(
                    "{:?} is not a format this version reads ({FORMAT})",
                    file.format
                ),
            ));
        }
        if file.features != FEATURE_NAMES {
            return Err(err(
                "features",
                format!(
                    "{:?}: this version computes {FEATURE_NAMES:?}, in that order",
                    file.features
                ),
            ));
        }
        let vector = |key: &str, v: &[f64], positive: bool| -> Result<Features, Error> {
            let x: Features = v.try_into().map_err(|_| {
                err(
                    key,
                    format!("{} numbers, expected {FEATURE_COUNT}", v.len()),
                )
            })?;
            if let Some(bad) = x
                .iter()
                .find(|a| !a.is_finite() || (positive && **a <= 0.0))
            {
                return Err(err(
                    key,
                    format!(
                        "{bad} is not a {}number",
                        if positive { "positive " } else { "finite " }
                    ),
                ));
            }
            Ok(x)
        };
        let mean = vector("scaler_mean", &file.scaler_mean, false)?;
        let scale = vector("scaler_scale", &file.scaler_scale, true)?;
        let weights = vector("weights", &file.weights, false)?;
        if !file.bias.is_finite() {
            return Err(err("bias", format!("{} is not a finite number", file.bias)));
        }
        if !(file.threshold > 0.0 && file.threshold < 1.0) {
            return Err(err(
                "threshold",
                format!(
                    "{} is not a probability between 0 and 1 (exclusive)",
                    file.threshold
                ),
            ));
        }
        Ok(FlowModel::new(
            Scaler { mean, scale },
            weights,
            file.bias,
            file.threshold,
            file.trained_from,
        ))
    }

    pub fn to_json(&self) -> String {
        let file = ModelFile {
            format: FORMAT.into(),
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            scaler_mean: self.scaler.mean.to_vec(),
            scaler_scale: self.scaler.scale.to_vec(),
            weights: self.weights.to_vec(),
            bias: self.bias,
            threshold: self.threshold,
            trained_from: self.trained_from.clone(),
        };
        let mut text = serde_json::to_string_pretty(&file).expect("plain data serialises");
        text.push('\n');
        text
    }

    /// Writes the model to `path` (through a temporary file, so a reader never sees half
    /// of it).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, self.to_json()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// The same decision function over another scaler's space: how a model is carried
    /// into retraining on new data.
    fn rescaled(&self, scaler: &Scaler) -> (Features, f64) {
        let w: Features = std::array::from_fn(|i| self.raw_weights[i] * scaler.scale[i]);
        let b = self.raw_bias
            + (0..FEATURE_COUNT)
                .map(|i| self.raw_weights[i] * scaler.mean[i])
                .sum::<f64>();
        (w, b)
    }
}

/// One labelled flow for training and validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabeledFlow {
    pub x: Features,
    pub malicious: bool,
    /// Flows of one group are kept on one side of a validation split.
    pub group: u64,
}

impl LabeledFlow {
    /// A connection with a ground-truth label, grouped by its connection tuple.
    pub fn from_conn(c: &ConnRecord) -> Option<LabeledFlow> {
        let truth = c.ground_truth?;
        Some(LabeledFlow {
            x: features(c)?,
            malicious: truth == GroundTruth::Malicious,
            group: tuple_group(c),
        })
    }
}

/// A key for the connection's 5-tuple (addresses, ports, protocol).
pub fn tuple_group(c: &ConnRecord) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    c.id.hash(&mut h);
    h.finish()
}

/// A key for the connection's destination (address, port, protocol).
pub fn destination_group(c: &ConnRecord) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (c.id.resp_h, c.id.resp_p, c.id.proto).hash(&mut h);
    h.finish()
}

/// SGD settings for [`train`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    pub epochs: usize,
    /// Initial step; the step at update t is `learning_rate / (1 + learning_rate * l2 * t)`.
    pub learning_rate: f64,
    /// L2 penalty.
    pub l2: f64,
    /// Seed of the visiting order.
    pub seed: u64,
    /// Decision threshold written into the model.
    pub threshold: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 40,
            learning_rate: 0.05,
            l2: 1e-4,
            seed: 0x5eed_f10e,
            threshold: 0.5,
        }
    }
}

/// Why a model could not be trained.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainError(pub String);

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// SplitMix64: a small deterministic generator (visiting orders, samples).
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Trains a logistic regression on `flows` (both classes needed), the classes weighted
/// to count equally; with `start`, training goes on from that model's decision function
/// (carried into the scaler of the new data). `trained_from` is the new model's record
/// of its data (the caller's sources; counts are added here).
pub fn train(
    flows: &[LabeledFlow],
    start: Option<&FlowModel>,
    options: &TrainOptions,
    sources: Vec<String>,
) -> Result<FlowModel, TrainError> {
    let malicious = flows.iter().filter(|f| f.malicious).count();
    let benign = flows.len() - malicious;
    if malicious == 0 || benign == 0 {
        return Err(TrainError(format!(
            "training needs labelled flows of both classes; there are {malicious} malicious and {benign} benign TCP/UDP flows"
        )));
    }
    if !(options.threshold > 0.0 && options.threshold < 1.0) {
        return Err(TrainError(format!(
            "the threshold must be between 0 and 1, not {}",
            options.threshold
        )));
    }
    let scaler = Scaler::fit(flows.iter().map(|f| &f.x));
    let scaled: Vec<Features> = flows.iter().map(|f| scaler.transform(&f.x)).collect();
    let n = flows.len() as f64;
    let class_weight = |m: bool| n / (2.0 * if m { malicious } else { benign } as f64);
    let (mut w, mut b) = match start {
        Some(m) => m.rescaled(&scaler),
        None => ([0.0; FEATURE_COUNT], 0.0),
    };
    let mut order: Vec<usize> = (0..flows.len()).collect();
    let mut rng = SplitMix(options.seed);
    let mut t = 0.0;
    for _ in 0..options.epochs {
        rng.shuffle(&mut order);
        for &k in &order {
            let x = &scaled[k];
            let y = if flows[k].malicious { 1.0 } else { 0.0 };
            let eta = options.learning_rate / (1.0 + options.learning_rate * options.l2 * t);
            t += 1.0;
            let z = b + (0..FEATURE_COUNT).map(|i| w[i] * x[i]).sum::<f64>();
            let g = (logistic(z) - y) * class_weight(flows[k].malicious);
            for i in 0..FEATURE_COUNT {
                w[i] -= eta * (g * x[i] + options.l2 * w[i]);
            }
            b -= eta * g;
        }
    }
    let mut trained_from = start.map(|m| m.trained_from.clone()).unwrap_or_default();
    trained_from.sources.extend(sources);
    trained_from.flows += flows.len() as u64;
    trained_from.malicious += malicious as u64;
    trained_from.benign += benign as u64;
    Ok(FlowModel::new(
        scaler,
        w,
        b,
        options.threshold,
        trained_from,
    ))
}

/// Counts of a binary decision against the truth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Confusion {
    pub true_positives: u64,
    pub false_positives: u64,
    pub true_negatives: u64,
    pub false_negatives: u64,
}

impl Confusion {
    /// Decisions at `threshold` over out-of-fold probabilities; unscored flows (NaN)
    /// are left out.
    pub fn at(flows: &[LabeledFlow], probabilities: &[f64], threshold: f64) -> Confusion {
        let mut c = Confusion::default();
        for (f, p) in flows.iter().zip(probabilities).filter(|(_, p)| !p.is_nan()) {
            match (f.malicious, *p >= threshold) {
                (true, true) => c.true_positives += 1,
                (true, false) => c.false_negatives += 1,
                (false, true) => c.false_positives += 1,
                (false, false) => c.true_negatives += 1,
            }
        }
        c
    }

    fn ratio(a: u64, b: u64) -> f64 {
        if b == 0 {
            0.0
        } else {
            a as f64 / b as f64
        }
    }

    pub fn precision(&self) -> f64 {
        Self::ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    pub fn recall(&self) -> f64 {
        Self::ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// Share of benign flows flagged.
    pub fn false_positive_rate(&self) -> f64 {
        Self::ratio(
            self.false_positives,
            self.false_positives + self.true_negatives,
        )
    }
}

/// k-fold cross-validation: flows of one group stay in one fold; groups are dealt to
/// the folds per class (a group counts as malicious when any of its flows is), in an
/// order shuffled by the seed. Returns each flow's probability from the model trained
/// without its fold (NaN where that fold's training data lacked a class).
pub fn out_of_fold_probabilities(
    flows: &[LabeledFlow],
    folds: usize,
    options: &TrainOptions,
) -> Vec<f64> {
    let folds = folds.max(2);
    let mut groups: Vec<(u64, bool)> = Vec::new();
    {
        let mut seen: hashbrown::HashMap<u64, bool> = hashbrown::HashMap::new();
        for f in flows {
            *seen.entry(f.group).or_default() |= f.malicious;
        }
        groups.extend(seen);
    }
    groups.sort_unstable();
    let mut rng = SplitMix(options.seed ^ 0xf01d);
    let mut fold_of: hashbrown::HashMap<u64, usize> = hashbrown::HashMap::new();
    for class in [true, false] {
        let mut of_class: Vec<u64> = groups
            .iter()
            .filter(|(_, m)| *m == class)
            .map(|(g, _)| *g)
            .collect();
        rng.shuffle(&mut of_class);
        for (i, g) in of_class.into_iter().enumerate() {
            fold_of.insert(g, i % folds);
        }
    }
    let mut probabilities = vec![f64::NAN; flows.len()];
    for k in 0..folds {
        let training: Vec<LabeledFlow> = flows
            .iter()
            .filter(|f| fold_of[&f.group] != k)
            .copied()
            .collect();
        let Ok(model) = train(&training, None, options, Vec::new()) else {
            continue;
        };
        for (i, f) in flows.iter().enumerate() {
            if fold_of[&f.group] == k {
                probabilities[i] = model.probability(&f.x);
            }
        }
    }
    probabilities
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::conn;
    use dissectors::{ConnState, Interval};

    #[test]
    fn features_follow_slips_encodings() {
        let mut c = conn("10.0.0.2", 40000, "1.2.3.4", 443, 1.0);
        c.duration = Some(Interval::from_secs(2));
        let x = features(&c).unwrap();
        // dur, proto tcp 0, sport, dport, spkts, sbytes, established 1, allbytes, pkts.
        assert_eq!(x, [2.0, 0.0, 40000.0, 443.0, 5.0, 100.0, 1.0, 300.0, 10.0]);
        c.id.proto = Transport::Udp;
        c.conn_state = ConnState::S0;
        c.orig_bytes = None;
        c.resp_bytes = None;
        c.duration = None;
        let x = features(&c).unwrap();
        assert_eq!((x[0], x[1], x[5], x[6], x[7]), (0.0, 1.0, 0.0, 0.0, 0.0));
        c.conn_state = ConnState::REJ;
        c.id.proto = Transport::Tcp;
        assert_eq!(features(&c).unwrap()[6], 0.0);
        c.id.proto = Transport::Icmp;
        assert_eq!(features(&c), None);
        c.id.proto = Transport::Unknown;
        assert_eq!(features(&c), None);
    }

    #[test]
    fn scaler_standardises_and_leaves_constants_centred() {
        let mut a = [0.0; FEATURE_COUNT];
        let mut b = [0.0; FEATURE_COUNT];
        a[0] = 1.0;
        b[0] = 3.0;
        a[1] = 7.0;
        b[1] = 7.0;
        let s = Scaler::fit([a, b].iter());
        assert_eq!(s.mean[0], 2.0);
        assert_eq!(s.scale[0], 1.0); // population standard deviation of {1, 3}
        assert_eq!((s.mean[1], s.scale[1]), (7.0, 1.0));
        let t = s.transform(&b);
        assert_eq!((t[0], t[1]), (1.0, 0.0));
        let mut c = a;
        c[0] = 10.0;
        let s = Scaler::fit([a, b, c].iter());
        let mean: f64 = [a, b, c].iter().map(|x| s.transform(x)[0]).sum::<f64>() / 3.0;
        let var: f64 = [a, b, c]
            .iter()
            .map(|x| s.transform(x)[0].powi(2))
            .sum::<f64>()
            / 3.0;
        assert!(
            mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12,
            "{mean} {var}"
        );
    }

    /// Malicious: short rejected attempts to port 5888; benign: long established HTTPS.
    fn separable() -> Vec<LabeledFlow> {
        (0..200)
            .map(|i| {
                let mut c = conn("10.0.0.2", 40000 + i, "1.2.3.4", 443, f64::from(i));
                let malicious = i % 3 == 0;
                if malicious {
                    c.id.resp_p = 5888;
                    c.conn_state = ConnState::REJ;
                    c.duration = Some(Interval::from_secs(0));
                    c.orig_bytes = Some(0);
                    c.resp_bytes = Some(0);
                    c.orig_pkts = 2;
                    c.resp_pkts = 2;
                } else {
                    c.duration = Some(Interval::from_secs(5 + i64::from(i % 7)));
                    c.orig_bytes = Some(500 + u64::from(i) * 13);
                    c.resp_bytes = Some(4000 + u64::from(i) * 101);
                }
                c.ground_truth = Some(if malicious {
                    GroundTruth::Malicious
                } else {
                    GroundTruth::Benign
                });
                LabeledFlow::from_conn(&c).unwrap()
            })
            .collect()
    }

    #[test]
    fn training_separates_a_separable_set_and_is_deterministic() {
        let flows = separable();
        let opts = TrainOptions::default();
        let m = train(&flows, None, &opts, vec!["crafted".into()]).unwrap();
        for f in &flows {
            let p = m.probability(&f.x);
            assert_eq!(p >= 0.5, f.malicious, "{p} for {f:?}");
            assert!(if f.malicious { p > 0.9 } else { p < 0.1 }, "{p}");
        }
        assert_eq!(m.trained_from.flows, 200);
        assert_eq!(m.trained_from.malicious, 67);
        assert_eq!(m.trained_from.sources, vec!["crafted".to_string()]);
        assert_eq!(
            train(&flows, None, &opts, vec!["crafted".into()]).unwrap(),
            m
        );
        // Going on from a model keeps its decisions and adds up the counts.
        let again = train(&flows, Some(&m), &opts, vec!["again".into()]).unwrap();
        assert_eq!(again.trained_from.flows, 400);
        assert_eq!(again.trained_from.sources, vec!["crafted", "again"]);
        assert!(flows
            .iter()
            .all(|f| (again.probability(&f.x) >= 0.5) == f.malicious));
    }

    #[test]
    fn training_needs_both_classes_and_a_threshold_in_range() {
        let flows: Vec<LabeledFlow> = separable().into_iter().filter(|f| f.malicious).collect();
        let e = train(&flows, None, &TrainOptions::default(), vec![]).unwrap_err();
        assert!(e.0.contains("67 malicious and 0 benign"), "{e}");
        let opts = TrainOptions {
            threshold: 1.0,
            ..TrainOptions::default()
        };
        assert!(train(&separable(), None, &opts, vec![]).is_err());
    }

    #[test]
    fn rescaling_keeps_the_decision_function() {
        let flows = separable();
        let m = train(&flows, None, &TrainOptions::default(), vec![]).unwrap();
        let other = Scaler {
            mean: [3.0; FEATURE_COUNT],
            scale: [2.0; FEATURE_COUNT],
        };
        let (w, b) = m.rescaled(&other);
        let carried = FlowModel::new(other, w, b, 0.5, TrainedFrom::default());
        for f in &flows {
            assert!((carried.logit(&f.x) - m.logit(&f.x)).abs() < 1e-9);
        }
    }

    #[test]
    fn cross_validation_keeps_groups_together_and_scores_every_flow() {
        let mut flows = separable();
        // Pairs of flows share a tuple: a fold split must not cut a pair.
        for (i, f) in flows.iter_mut().enumerate() {
            f.group = i as u64 / 2;
        }
        let p = out_of_fold_probabilities(&flows, 5, &TrainOptions::default());
        assert!(p.iter().all(|p| p.is_finite()));
        let c = Confusion::at(&flows, &p, 0.5);
        assert_eq!(c.true_positives + c.false_negatives, 67);
        assert_eq!(c.recall(), 1.0);
        assert_eq!(c.false_positive_rate(), 0.0);
        assert_eq!(c.f1(), 1.0);
    }

    #[test]
    fn confusion_metrics() {
        let c = Confusion {
            true_positives: 8,
            false_positives: 2,
            true_negatives: 88,
            false_negatives: 2,
        };
        assert_eq!(c.precision(), 0.8);
        assert_eq!(c.recall(), 0.8);
        assert!((c.f1() - 0.8).abs() < 1e-12);
        assert_eq!(c.false_positive_rate(), 2.0 / 90.0);
        assert_eq!(Confusion::default().precision(), 0.0);
    }

    #[test]
    fn model_file_round_trip() {
        let m = train(
            &separable(),
            None,
            &TrainOptions::default(),
            vec!["x".into()],
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("flow-model-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.json");
        m.save(&path).unwrap();
        let back = FlowModel::load(&path).unwrap();
        // JSON numbers come back to the last bit or the one next to it (serde_json's
        // fast float parsing).
        let close = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(1.0))
        };
        assert!(close(&back.scaler.mean, &m.scaler.mean));
        assert!(close(&back.scaler.scale, &m.scaler.scale));
        assert!(close(&back.weights, &m.weights));
        assert!(close(&[back.bias, back.threshold], &[m.bias, m.threshold]));
        assert_eq!(back.trained_from, m.trained_from);
        assert_eq!(
            FlowModel::parse(&back.to_json(), &path).unwrap().to_json(),
            back.to_json()
        );
        assert!(!dir.join("model.json.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn model_file_errors_name_the_file_and_the_field() {
        let p = Path::new("m.json");
        let good = train(&separable(), None, &TrainOptions::default(), vec![])
            .unwrap()
            .to_json();
        let e = FlowModel::parse("{ not json", p).unwrap_err().to_string();
        assert!(
            e.starts_with("m.json: line 1: not a flow model file"),
            "{e}"
        );
        let e = FlowModel::parse(&good.replace("\"threshold\": 0.5", "\"threshold\": 1.5"), p)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("m.json: threshold: 1.5 is not a probability"),
            "{e}"
        );
        let e = FlowModel::parse(&good.replace("\"dport\"", "\"port\""), p)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.json: features:"), "{e}");
        let e = FlowModel::parse(&good.replace(FORMAT, "other-2"), p)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.json: format:"), "{e}");
        let e = FlowModel::parse(&good.replace("\"bias\"", "\"extra\": 1, \"bias\""), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `extra`"), "{e}");
        let short = good.replacen("\"weights\": [", "\"weights\": [1.0, ", 1);
        let e = FlowModel::parse(&short, p).unwrap_err().to_string();
        assert!(
            e.starts_with("m.json: weights: 10 numbers, expected 9"),
            "{e}"
        );
        let e = FlowModel::load(Path::new("/nonexistent/m.json"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/nonexistent/m.json:"), "{e}");
    }

    #[test]
    fn the_shipped_model_loads() {
        let m = FlowModel::shipped();
        assert!(m.trained_from.flows > 0);
        assert!(m.threshold > 0.0 && m.threshold < 1.0);
    }
}
