//! The flow classifier on Slips' labelled sample (test18, CTU-SME-11 with RemcosRAT):
//! the Zeek reader keeps the `label` column as the flows' ground truth, and the shipped
//! model, trained on that sample, agrees with every label; a grouped cross-validation
//! on it scores every flow, and the whole analysis reports one MALICIOUS_FLOW per flagged
//! flow, with its uid.

use std::path::{Path, PathBuf};

use detectors::flow_model::{self, Confusion, FlowModel, LabeledFlow, TrainOptions};
use detectors::{Analysis, Config, EvidenceType, Subscriber};
use dissectors::{ConnRecord, GroundTruth, Record};

fn labelled_log() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/slips/test18-malicious-ctu-sme-11-win/conn.log.labeled")
}

fn conns() -> Vec<ConnRecord> {
    engine::readers::open(&labelled_log())
        .expect("labelled log in testdata")
        .map(|r| match r.expect("every line reads") {
            Record::Conn(c) => *c,
            other => panic!("not a conn record: {other:?}"),
        })
        .collect()
}

#[test]
fn the_reader_keeps_the_labels() {
    let conns = conns();
    assert_eq!(conns.len(), 766);
    let count = |t: Option<GroundTruth>| conns.iter().filter(|c| c.ground_truth == t).count();
    assert_eq!(count(Some(GroundTruth::Malicious)), 719);
    assert_eq!(count(Some(GroundTruth::Benign)), 44);
    assert_eq!(count(None), 3); // labelled Unknown
}

#[test]
fn the_shipped_model_agrees_with_the_labels_and_cross_validation_scores_every_flow() {
    let flows: Vec<LabeledFlow> = conns().iter().filter_map(LabeledFlow::from_conn).collect();
    assert_eq!(flows.len(), 758); // ICMP flows are left out, as Slips does
    let model = FlowModel::shipped();
    let p: Vec<f64> = flows.iter().map(|f| model.probability(&f.x)).collect();
    let c = Confusion::at(&flows, &p, model.threshold);
    assert_eq!((c.true_positives, c.false_negatives), (719, 0));
    assert_eq!((c.false_positives, c.true_negatives), (0, 39));

    let oof = flow_model::out_of_fold_probabilities(&flows, 5, &TrainOptions::default());
    assert!(oof.iter().all(|p| p.is_finite()));
    let c = Confusion::at(&flows, &oof, model.threshold);
    assert_eq!(c.true_positives + c.false_negatives, 719);
    assert!(c.recall() > 0.99 && c.false_positive_rate() < 0.05, "{c:?}");
}

/// Counts the MALICIOUS_FLOW evidence kept, and their uids.
struct Evidence(std::sync::Arc<std::sync::Mutex<Vec<dissectors::Uid>>>);

impl Subscriber for Evidence {
    fn evidence(&mut self, e: &detectors::Evidence, _: f64, _: &detectors::profile::Hosts) {
        if e.evidence_type == EvidenceType::MaliciousFlow {
            self.0.lock().unwrap().extend(e.uids.iter().copied());
        }
    }
}

#[test]
fn the_analysis_reports_flagged_flows_as_one_episode_per_source_with_their_uids() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("flow-model-analysis");
    let mut config = Config::default();
    config.output.sqlite = String::new();
    let mut analysis = Analysis::new(config, &out).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    analysis.subscribe(Box::new(Evidence(seen.clone())));
    let conns = conns();
    for c in &conns {
        analysis.process(&Record::Conn(Box::new(c.clone())));
    }
    analysis.finish().unwrap();
    let uids = seen.lock().unwrap().clone();
    let malicious: Vec<_> = conns
        .iter()
        .filter(|c| c.ground_truth == Some(GroundTruth::Malicious))
        .collect();
    // The capture is shorter than one time window: one episode per source.
    let first = conns.iter().map(|c| c.ts).min().unwrap();
    let last = conns.iter().map(|c| c.ts).max().unwrap();
    assert!(last.saturating_sub(first).as_secs_f64() < 3600.0);
    let mut per_source: std::collections::BTreeMap<_, u64> = Default::default();
    for c in &malicious {
        *per_source.entry(c.id.orig_h).or_default() += 1;
    }
    // Flows 1 to 5 of a source, then the 10th, 100th, 1000th ...
    let expected: usize = per_source
        .values()
        .map(|&n| {
            (1..=n)
                .filter(|&k| k <= 5 || (k >= 10 && 10u64.pow(k.ilog10()) == k))
                .count()
        })
        .sum();
    assert_eq!(uids.len(), expected);
    // Every uid named is one of the malicious flows, each once.
    let mut sorted = uids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), uids.len());
    assert!(uids.iter().all(|u| malicious.iter().any(|c| c.uid == *u)));
    let _ = std::fs::remove_dir_all(&out);
}
