//! Writing the logs and running the analysis beside the merge instead of on its thread:
//! the records, already in their final order, go in batches to log lanes (each owning a
//! disjoint set of logs) and to the analysis lane, and every lane takes each batch in the
//! order it was sent. Each log file and the analysis so see exactly the records, in
//! exactly the order, they would see on one thread: the outputs do not depend on the
//! number of lanes.
//!
//! For a capture or log file only: a live capture writes a record the moment it is final,
//! while a batch here waits to be full.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Sender};
use dissectors::zeek::LogSet;
use dissectors::Record;

/// Records per batch: enough to make a hand-over cheap, few enough to stay in cache.
const BATCH: usize = 256;
/// Batches queued per lane before the merge waits (bounds the memory held in flight).
const QUEUE: usize = 16;

type Shared = Arc<Vec<Record>>;

/// One lane's logs and the first error met writing them.
pub struct LogLane {
    pub logs: LogSet,
    pub error: Option<io::Error>,
}

pub struct FanOut {
    batch: Vec<Record>,
    /// Batches sent, oldest first, until every lane is done with them: they are dropped
    /// here, so that the merge's thread, which has time, frees the records instead of
    /// the busiest lane.
    in_flight: VecDeque<Shared>,
    senders: Vec<Sender<Shared>>,
    log_lanes: Vec<JoinHandle<LogLane>>,
    analysis: Option<JoinHandle<detectors::Analysis>>,
}

/// What the lanes hand back at the end.
pub struct Finished {
    pub log_lanes: Vec<LogLane>,
    pub analysis: Option<detectors::Analysis>,
}

/// Which family of logs a record is written to. The families are dealt to the lanes
/// (`family % lanes`), so that one log is always written by the same lane, and the heavy
/// logs (dns, conn, the web and TLS ones) land on different lanes when there are three.
fn family(record: &Record) -> usize {
    match record {
        Record::Dns(_) => 1,
        Record::Http(_) | Record::Files(_) | Record::Ssl(_) | Record::X509(_) | Record::Ssh(_) => 2,
        _ => 0,
    }
}

/// Log lanes worth starting on this machine, or `None` where it has too few cores for
/// lanes to pay: on 2 cores the reader and the merge keep both busy, and more threads
/// only take turns with them (the all-on benchmark run took 1.57-1.63 s inline and
/// 1.64-1.75 s with lanes there; on 16 cores, 2.24 s inline and 1.63 s with lanes).
pub fn log_lanes_for(workers: usize) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    (cores >= 4).then(|| cores.saturating_sub(3 + workers).clamp(1, 3))
}

impl FanOut {
    /// Starts `lanes` log lanes (one `LogSet` each, from `open_logs`) and, when there is an
    /// analysis, the analysis lane.
    pub fn start(
        lanes: usize,
        mut open_logs: impl FnMut() -> LogSet,
        analysis: Option<detectors::Analysis>,
    ) -> io::Result<FanOut> {
        let lanes = lanes.max(1);
        let mut senders = Vec::with_capacity(lanes + 1);
        let mut log_lanes = Vec::with_capacity(lanes);
        for index in 0..lanes {
            let (tx, rx) = bounded::<Shared>(QUEUE);
            senders.push(tx);
            let mut lane = LogLane {
                logs: open_logs(),
                error: None,
            };
            log_lanes.push(
                std::thread::Builder::new()
                    .name(format!("logs-{index}"))
                    .spawn(move || {
                        for batch in rx {
                            if lane.error.is_some() {
                                continue;
                            }
                            for record in batch.iter().filter(|r| family(r) % lanes == index) {
                                if let Err(e) = record.write_to(&mut lane.logs) {
                                    lane.error = Some(e);
                                    break;
                                }
                            }
                        }
                        lane
                    })?,
            );
        }
        let analysis = match analysis {
            Some(mut analysis) => {
                let (tx, rx) = bounded::<Shared>(QUEUE);
                senders.push(tx);
                Some(
                    std::thread::Builder::new()
                        .name("analysis".into())
                        .spawn(move || {
                            for batch in rx {
                                for record in batch.iter() {
                                    analysis.process(record);
                                }
                            }
                            analysis
                        })?,
                )
            }
            None => None,
        };
        Ok(FanOut {
            batch: Vec::with_capacity(BATCH),
            in_flight: VecDeque::new(),
            senders,
            log_lanes,
            analysis,
        })
    }

    pub fn record(&mut self, record: Record) {
        self.batch.push(record);
        if self.batch.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = Arc::new(std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(BATCH),
        ));
        for tx in &self.senders {
            // A lane that is gone panicked; `finish` reports it.
            let _ = tx.send(batch.clone());
        }
        self.in_flight.push_back(batch);
        while self
            .in_flight
            .front()
            .is_some_and(|b| Arc::strong_count(b) == 1)
        {
            self.in_flight.pop_front();
        }
    }

    /// Sends what is left, waits for every lane and hands back their state.
    pub fn finish(mut self) -> Finished {
        self.send();
        self.senders.clear();
        fn join<T>(h: JoinHandle<T>) -> T {
            match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Finished {
            log_lanes: self.log_lanes.into_iter().map(join).collect(),
            analysis: self.analysis.map(join),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use dissectors::zeek::LogFormat;
    use engine::pipeline::{collect_file, PipelineConfig};

    use crate::output::Outputs;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Every log and alerts.log of a run, without what carries the wall-clock time of the
    /// run (the `#open` and `#close` lines, an alert's "real time").
    fn written(dir: &Path) -> Vec<(String, Vec<String>)> {
        let mut files: Vec<(String, Vec<String>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .map(|p| {
                let lines = std::fs::read_to_string(&p)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
                    .map(|l| l.split(" (real time ").next().unwrap_or(l).to_string())
                    .collect();
                (p.file_name().unwrap().to_string_lossy().into_owned(), lines)
            })
            .collect();
        files.sort();
        files
    }

    fn run(records: &[dissectors::Record], lanes: Option<usize>, name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("slipstream-fanout-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = detectors::Config::load(&repo().join("config/slipstream.yaml")).unwrap();
        let mut outputs = Outputs::open(&dir, LogFormat::Tsv, Some(config)).unwrap();
        if let Some(lanes) = lanes {
            outputs.parallel(lanes).unwrap();
        }
        for r in records {
            outputs.record(r.clone());
        }
        outputs
            .finish(&engine::pipeline::RunStats::default())
            .unwrap();
        dir
    }

    #[test]
    fn lanes_write_what_one_thread_writes() {
        let pcap = repo().join("testdata/slips/test7-malicious.pcap");
        let (records, _) = collect_file(&pcap, &PipelineConfig::default()).unwrap();
        let inline = run(&records, None, "inline");
        let one = written(&inline);
        assert!(one.iter().any(|(name, _)| name == "alerts.log"));
        assert!(one.iter().filter(|(n, _)| n != "alerts.log").count() >= 4);
        for lanes in [1, 2, 3] {
            let dir = run(&records, Some(lanes), &format!("lanes{lanes}"));
            let fanned = written(&dir);
            let _ = std::fs::remove_dir_all(&dir);
            let names =
                |w: &[(String, Vec<String>)]| w.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            assert_eq!(names(&one), names(&fanned), "{lanes} log lanes");
            for ((name, a), (_, b)) in one.iter().zip(&fanned) {
                let first_difference = a.iter().zip(b).position(|(x, y)| x != y);
                assert!(
                    a.len() == b.len() && first_difference.is_none(),
                    "{name} with {lanes} log lanes: {} lines against {}, first difference at {first_difference:?}: {:?} / {:?}",
                    a.len(),
                    b.len(),
                    first_difference.map(|i| &a[i]),
                    first_difference.map(|i| &b[i]),
                );
            }
        }
        let _ = std::fs::remove_dir_all(&inline);
    }
}
