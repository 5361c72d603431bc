//! Everything a run writes into its output folder: the Zeek logs, the analysis (alerts,
//! flows.sqlite), `errors.log` and, in live capture, `stats.json`.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context as _, Result};
use dissectors::zeek::{LogFormat, LogSet};
use dissectors::Record;
use engine::pipeline::{LiveStatus, RunStats};

use crate::fanout::FanOut;

/// The Zeek-format logs of `dir`, each file created when its first record comes.
fn log_set(dir: &Path, format: LogFormat) -> LogSet {
    let dir = dir.to_path_buf();
    LogSet::new(
        format,
        Box::new(move |name| {
            let file = File::create(dir.join(format!("{name}.log")))?;
            // Unbuffered: each LogWriter gathers its rows into 64 KiB writes itself. A
            // BufWriter of 1 MiB on top held 7 MB of the peak with a dozen logs open and
            // copied every byte once more.
            Ok(Box::new(file) as Box<dyn Write + Send>)
        }),
    )
}

pub struct Outputs {
    stage: Stage,
    format: LogFormat,
    dir: std::path::PathBuf,
}

enum Stage {
    /// Logs and analysis on the caller's thread, each record as it comes.
    Inline(Box<Inline>),
    /// Logs and analysis on lanes of their own (see `fanout`).
    Lanes(FanOut),
}

struct Inline {
    logs: LogSet,
    analysis: Option<detectors::Analysis>,
    write_error: Option<std::io::Error>,
    rotation: Option<crate::rotation::Rotation>,
}

/// What was written, for the summary.
pub struct Report {
    pub logs: Vec<(&'static str, u64)>,
    pub summary: Option<detectors::Summary>,
}

impl Outputs {
    pub fn open(
        dir: &Path,
        format: LogFormat,
        analysis: Option<detectors::Config>,
    ) -> Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create output folder {}", dir.display()))?;
        let logs = log_set(dir, format);
        let analysis = match analysis {
            Some(config) => Some(
                detectors::Analysis::new(config, dir)
                    .with_context(|| format!("cannot start the analysis in {}", dir.display()))?,
            ),
            None => None,
        };
        Ok(Outputs {
            stage: Stage::Inline(Box::new(Inline {
                logs,
                analysis,
                write_error: None,
                rotation: None,
            })),
            format,
            dir: dir.to_path_buf(),
        })
    }

    /// Before the first record: moves the logs (over `log_lanes` threads) and the analysis
    /// off the caller's thread. For file input; a live capture keeps writing each record
    /// as it comes, as do rotated logs.
    pub fn parallel(&mut self, log_lanes: usize) -> Result<()> {
        let Stage::Inline(inline) = &mut self.stage else {
            return Ok(());
        };
        if inline.rotation.is_some() {
            return Ok(());
        }
        let (dir, format) = (self.dir.clone(), self.format);
        let fan = FanOut::start(log_lanes, || log_set(&dir, format), inline.analysis.take())
            .context("cannot start the output threads")?;
        self.stage = Stage::Lanes(fan);
        Ok(())
    }

    fn inline_analysis(&mut self) -> Option<&mut detectors::Analysis> {
        match &mut self.stage {
            Stage::Inline(i) => i.analysis.as_mut(),
            Stage::Lanes(_) => None,
        }
    }

    /// Adds a part told of every flow, evidence and alert; without an analysis
    /// (`--conn-only`) there is nothing to tell it and it is dropped.
    pub fn subscribe(&mut self, subscriber: Box<dyn detectors::Subscriber>) {
        if let Some(a) = self.inline_analysis() {
            a.subscribe(subscriber);
        }
    }

    /// Hands the alert decision to a rule shared with other sensors (`--redis`).
    pub fn share_alert_rule(&mut self, rule: Box<dyn detectors::alert::SharedAlertRule>) {
        if let Some(a) = self.inline_analysis() {
            a.share_alert_rule(rule);
        }
    }

    /// Rotates the Zeek-format logs every `period` of network time, deleting rotated
    /// logs older than `keep` (microseconds).
    pub fn rotate_logs(&mut self, period: i64, keep: i64) {
        if let Stage::Inline(i) = &mut self.stage {
            i.rotation = Some(crate::rotation::Rotation::new(&self.dir, period, keep));
        }
    }

    /// One record from the pipeline: into its log and through the detections.
    pub fn record(&mut self, record: Record) {
        let inline = match &mut self.stage {
            Stage::Inline(i) => i,
            Stage::Lanes(fan) => return fan.record(record),
        };
        if inline.write_error.is_none() {
            if let Some(r) = inline.rotation.as_mut() {
                if let Err(e) = r.before_record(record.ts(), &mut inline.logs) {
                    inline.write_error = Some(e);
                }
            }
            if let Err(e) = record.write_to(&mut inline.logs) {
                inline.write_error.get_or_insert(e);
            }
        }
        if let Some(a) = inline.analysis.as_mut() {
            a.process(&record);
        }
    }

    pub fn finish(self, stats: &RunStats) -> Result<Report> {
        let (log_sets, write_error, analysis) = match self.stage {
            Stage::Inline(i) => {
                let i = *i;
                (vec![i.logs], i.write_error, i.analysis)
            }
            Stage::Lanes(fan) => {
                let mut done = fan.finish();
                let error = done.log_lanes.iter_mut().find_map(|l| l.error.take());
                let sets = done.log_lanes.into_iter().map(|l| l.logs).collect();
                (sets, error, done.analysis)
            }
        };
        if let Some(e) = write_error {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot write logs in {}", self.dir.display())));
        }
        let mut logs: Vec<(&'static str, u64)> = log_sets.iter().flat_map(LogSet::counts).collect();
        logs.sort_unstable();
        for set in log_sets {
            set.close().context("cannot finish the logs")?;
        }
        let summary = match analysis {
            Some(a) => Some(a.finish().context("cannot finish the analysis")?),
            None => None,
        };
        write_errors_log(&self.dir, stats)?;
        Ok(Report { logs, summary })
    }
}

/// `errors.log`: every problem met on the way, naming the file and the place.
fn write_errors_log(out: &Path, stats: &RunStats) -> Result<()> {
    let path = out.join("errors.log");
    let mut f = BufWriter::new(
        File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for (_, line) in problems(stats) {
        writeln!(f, "{line}")?;
    }
    f.flush()?;
    Ok(())
}

/// Every problem of a run, in the order errors.log lists them, each with the `-e` level
/// from which the terminal shows it too: 1 errors, 2 unsupported input, 3 developer
/// warnings (drops, evictions, dropped dissectors).
pub fn problems(stats: &RunStats) -> Vec<(u8, String)> {
    let mut out: Vec<(u8, String)> = stats.messages.iter().map(|m| (1, m.clone())).collect();
    let reported = stats.messages.len() as u64;
    let total = stats.decode_error_total();
    if total > reported {
        out.push((
            2,
            format!("... and {} more decode errors not listed", total - reported),
        ));
    }
    for (kind, n) in &stats.decode_errors {
        out.push((2, format!("count: {kind}: {n}")));
    }
    if let Some(e) = &stats.capture_error {
        out.push((1, format!("{e}; the packets before it were processed")));
    }
    let fr = &stats.fragments;
    if fr.evicted + fr.timed_out + fr.malformed > 0 {
        out.push((
            3,
            format!(
                "fragments: {} evicted (memory cap), {} timed out, {} malformed",
                fr.evicted, fr.timed_out, fr.malformed
            ),
        ));
    }
    if stats.table.evicted > 0 {
        out.push((
            3,
            format!(
                "connections evicted at the table cap: {}",
                stats.table.evicted
            ),
        ));
    }
    if stats.dissector_failures > 0 {
        out.push((
            3,
            format!(
                "dissectors that failed on their input and were dropped from their connection: {}",
                stats.dissector_failures
            ),
        ));
    }
    if stats.queue_drops > 0 {
        out.push((
            3,
            format!(
                "packets dropped because a worker fell behind: {}",
                stats.queue_drops
            ),
        ));
    }
    out
}

/// The live status: a line on stderr and `stats.json` in the output folder.
pub fn write_live_status(dir: &Path, s: &LiveStatus, verbose: u8) {
    let interfaces: Vec<serde_json::Value> = s
        .interfaces
        .iter()
        .map(|i| {
            serde_json::json!({
                "interface": i.interface,
                "capture": i.method,
                "packets": i.packets,
                "bytes": i.bytes,
                "kernel_received": i.kernel.received,
                "kernel_dropped": i.kernel.dropped,
                "interface_dropped": i.kernel.if_dropped,
                "filtered": i.kernel.filtered,
                "fill_ring_empty": i.kernel.fill_ring_empty,
                "invalid_descs": i.kernel.invalid_descs,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "interfaces": interfaces,
        "decode_errors": s.decode_errors,
        "queue_dropped": s.queue_drops,
    });
    let tmp = dir.join("stats.json.tmp");
    if fs::write(&tmp, doc.to_string() + "\n").is_ok() {
        let _ = fs::rename(&tmp, dir.join("stats.json"));
    }
    if verbose > 0 {
        let parts: Vec<String> = s
            .interfaces
            .iter()
            .map(|i| {
                let mut part = format!(
                    "{} ({}): {} packets, {} bytes, kernel drops {}+{}",
                    i.interface,
                    i.method,
                    i.packets,
                    i.bytes,
                    i.kernel.dropped,
                    i.kernel.if_dropped
                );
                if i.kernel.filtered > 0 {
                    part += &format!(", filtered in user space {}", i.kernel.filtered);
                }
                part
            })
            .collect();
        eprintln!(
            "slipstream: {}; queue drops {}; decode errors {}",
            parts.join("; "),
            s.queue_drops,
            s.decode_errors
        );
    }
}
