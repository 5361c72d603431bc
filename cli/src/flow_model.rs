//! `slipstream flow-model`: train the flow classifier (`MALICIOUS_FLOW`) on labelled
//! flows, cross-validate it, and count what a model flags in captures or logs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use detectors::flow_model::{
    self, features, Confusion, FlowModel, LabeledFlow, TrainOptions, TrainedFrom,
};
use dissectors::{ConnRecord, Record};
use engine::pipeline::{run_file, PipelineConfig};
use engine::readers::{self, InputKind};

#[derive(clap::Subcommand, Debug)]
pub enum FlowModelCommand {
    /// Train a model on the labelled TCP/UDP flows of the inputs (Zeek logs with a
    /// `label` column) and write it as JSON.
    Train {
        inputs: Vec<PathBuf>,
        /// The model file to write.
        #[arg(long)]
        model: PathBuf,
        /// Probability of malicious at and above which a flow is flagged.
        #[arg(long, default_value_t = 0.5)]
        threshold: f64,
        /// Free text kept in the model's `trained_from.notes` (e.g. validation results).
        #[arg(long)]
        note: Vec<String>,
    },
    /// k-fold cross-validation on the labelled flows of the inputs, folds grouped so that
    /// one connection tuple (or destination) never sits on both sides: precision,
    /// recall, F1 and false-positive rate at several thresholds.
    Validate {
        inputs: Vec<PathBuf>,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Keep flows of one `tuple` (addresses, ports, protocol) or one `destination`
        /// (address, port, protocol) in one fold.
        #[arg(long, value_enum, default_value_t = Grouping::Tuple)]
        group: Grouping,
    },
    /// Count the flows a model flags in captures or logs (and, for labelled flows, how
    /// the flags agree with the labels).
    Score {
        inputs: Vec<PathBuf>,
        /// Model file (default: the shipped model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Decide at this threshold instead of the model's.
        #[arg(long)]
        threshold: Option<f64>,
        /// Print the first N flagged flows of each input (uid, tuple, state, probability).
        #[arg(long, default_value_t = 0)]
        show: usize,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grouping {
    Tuple,
    Destination,
}

pub fn run(command: &FlowModelCommand) -> Result<()> {
    let mut out = String::new();
    report(command, &mut out)?;
    // A closed pipe (`... | head`) is handled by main as the reader's choice.
    std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes())?;
    Ok(())
}

fn report(command: &FlowModelCommand, out: &mut String) -> Result<()> {
    match command {
        FlowModelCommand::Train {
            inputs,
            model,
            threshold,
            note,
        } => {
            let flows = labelled(inputs, Grouping::Tuple)?;
            let options = TrainOptions {
                threshold: *threshold,
                ..TrainOptions::default()
            };
            let sources = inputs.iter().map(|p| p.display().to_string()).collect();
            let mut m = flow_model::train(&flows, None, &options, sources)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            m.trained_from.notes.extend(note.iter().cloned());
            m.save(model)?;
            let TrainedFrom {
                flows,
                malicious,
                benign,
                ..
            } = m.trained_from;
            writeln!(
                out,
                "{}: trained on {flows} flows ({malicious} malicious, {benign} benign), threshold {threshold}",
                model.display()
            )?;
            Ok(())
        }
        FlowModelCommand::Validate {
            inputs,
            folds,
            group,
        } => {
            let flows = labelled(inputs, *group)?;
            let groups: std::collections::HashSet<u64> = flows.iter().map(|f| f.group).collect();
            let malicious = flows.iter().filter(|f| f.malicious).count();
            writeln!(
                out,
                "{} labelled TCP/UDP flows ({malicious} malicious, {} benign) in {} {group:?} groups, {folds}-fold",
                flows.len(),
                flows.len() - malicious,
                groups.len()
            )?;
            let p = flow_model::out_of_fold_probabilities(&flows, *folds, &TrainOptions::default());
            let unscored = p.iter().filter(|p| p.is_nan()).count();
            if unscored > 0 {
                writeln!(
                    out,
                    "{unscored} flows unscored: their fold's training data lacked a class"
                )?;
            }
            writeln!(
                out,
                "threshold  TP  FP  TN  FN  precision  recall  F1     FPR(benign)"
            )?;
            for t in [0.5, 0.7, 0.9, 0.95, 0.99] {
                let c = Confusion::at(&flows, &p, t);
                writeln!(
                    out,
                    "{t:<9}  {:<3} {:<3} {:<3} {:<3} {:<9.4}  {:<6.4}  {:<5.4}  {:.4}",
                    c.true_positives,
                    c.false_positives,
                    c.true_negatives,
                    c.false_negatives,
                    c.precision(),
                    c.recall(),
                    c.f1(),
                    c.false_positive_rate()
                )?;
            }
            Ok(())
        }
        FlowModelCommand::Score {
            inputs,
            model,
            threshold,
            show,
        } => {
            let m = match model {
                Some(path) => FlowModel::load(path)?,
                None => FlowModel::shipped(),
            };
            let m = match threshold {
                Some(t) => m.with_threshold(*t),
                None => m,
            };
            for input in inputs {
                let conns = conn_records(input)?;
                let scored = conns.iter().filter(|c| features(c).is_some()).count();
                let flagged: Vec<&ConnRecord> =
                    conns.iter().filter(|c| m.is_malicious(c)).collect();
                let mut line = format!(
                    "{}: {} connections, {scored} TCP/UDP, {} flagged",
                    input.display(),
                    conns.len(),
                    flagged.len()
                );
                if conns.iter().any(|c| c.ground_truth.is_some()) {
                    let flows: Vec<LabeledFlow> =
                        conns.iter().filter_map(LabeledFlow::from_conn).collect();
                    let p: Vec<f64> = flows.iter().map(|f| m.probability(&f.x)).collect();
                    let c = Confusion::at(&flows, &p, m.threshold);
                    line.push_str(&format!(
                        "; against the labels: TP {} FP {} TN {} FN {}",
                        c.true_positives, c.false_positives, c.true_negatives, c.false_negatives
                    ));
                }
                writeln!(out, "{line}")?;
                for c in flagged.iter().take(*show) {
                    let p = features(c).map_or(0.0, |x| m.probability(&x));
                    writeln!(
                        out,
                        "  {} {} {}:{} -> {}:{} {} {:.1}s {}/{} pkts p={p:.4}",
                        c.uid,
                        c.id.proto.as_str(),
                        c.id.orig_h,
                        c.id.orig_p,
                        c.id.resp_h,
                        c.id.resp_p,
                        c.conn_state.as_str(),
                        c.duration.map_or(0.0, |d| d.as_secs_f64()),
                        c.orig_pkts,
                        c.resp_pkts
                    )?;
                }
            }
            Ok(())
        }
    }
}

/// The labelled TCP/UDP flows of the inputs, grouped as asked.
fn labelled(inputs: &[PathBuf], grouping: Grouping) -> Result<Vec<LabeledFlow>> {
    let mut flows = Vec::new();
    for input in inputs {
        for c in conn_records(input)? {
            if let Some(mut f) = LabeledFlow::from_conn(&c) {
                if grouping == Grouping::Destination {
                    f.group = flow_model::destination_group(&c);
                }
                flows.push(f);
            }
        }
    }
    Ok(flows)
}

/// Every connection of a capture (through the engine) or of logs (through the readers);
/// bad log lines are reported and skipped.
fn conn_records(path: &Path) -> Result<Vec<ConnRecord>> {
    let kind = readers::detect(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut conns = Vec::new();
    let mut keep = |r: Record| {
        if let Record::Conn(c) = r {
            conns.push(*c);
        }
    };
    if kind == InputKind::Pcap {
        run_file(path, &PipelineConfig::default(), &mut keep)
            .with_context(|| format!("cannot read {}", path.display()))?;
    } else {
        let source = readers::open_as(path, kind)?;
        let mut bad = 0;
        for item in source {
            match item {
                Ok(r) => keep(r),
                Err(e) => {
                    bad += 1;
                    if bad <= 5 {
                        eprintln!("slipstream: {e}; skipped");
                    }
                }
            }
        }
        if bad > 5 {
            eprintln!("slipstream: {}: {bad} bad lines in all", path.display());
        }
    }
    Ok(conns)
}
