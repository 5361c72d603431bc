//! What the terminal shows, by Slips' two levels (`-v` verbosity and `-e` debug, both
//! 0..3), and the progress bar while a file is read. `errors.log` gets every problem
//! whatever the levels; the levels only decide what is also printed.
//!
//! | level | `-v` (the normal work)                       | `-e` (problems)                          |
//! |-------|----------------------------------------------|------------------------------------------|
//! | 0     | nothing                                      | nothing                                  |
//! | 1     | the summary, alerts as they are raised       | errors: bad lines, damaged captures      |
//! | 2     | files read and written, every evidence       | unsupported input: decode errors by kind |
//! | 3     | new profiles and time windows                | developer warnings: drops, evictions     |

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use detectors::profile::Hosts;
use detectors::timewindow::TimeWindow;
use detectors::{Alert, Evidence, Subscriber};
use dissectors::Record;
use engine::pipeline::{FileProgress, RunStats};

/// Prints lines on stderr without tearing the progress bar: a line clears the bar, the
/// bar is drawn again at its next tick.
#[derive(Clone)]
pub struct Console {
    pub verbose: u8,
    pub debug: u8,
    bar_shown: Arc<AtomicBool>,
    lock: Arc<Mutex<()>>,
}

impl Console {
    pub fn new(verbose: u8, debug: u8) -> Self {
        Console {
            verbose,
            debug,
            bar_shown: Arc::new(AtomicBool::new(false)),
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// A line about the normal work, shown from verbosity `level` on.
    pub fn info(&self, level: u8, line: &str) {
        if self.verbose >= level {
            self.print(line);
        }
    }

    /// A line about a problem, shown from debug `level` on.
    pub fn problem(&self, level: u8, line: &str) {
        if self.debug >= level {
            self.print(line);
        }
    }

    fn print(&self, line: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        if self.bar_shown.swap(false, Ordering::Relaxed) {
            let _ = err.write_all(b"\r\x1b[K");
        }
        let _ = writeln!(err, "slipstream: {line}");
    }

    /// The problems of a finished run (as errors.log lists them), each at its debug level.
    pub fn run_problems(&self, stats: &RunStats) {
        for (level, line) in crate::output::problems(stats) {
            self.problem(level, &line);
        }
    }

    /// Starts drawing a progress bar on stderr, when the user watches a terminal
    /// (stdout and stderr both terminals) and wants the normal work shown.
    pub fn progress(&self, file: Option<Arc<FileProgress>>) -> Progress {
        let counts = Arc::new(Counts::default());
        let shown =
            self.verbose >= 1 && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        if !shown {
            return Progress {
                counts,
                stop: Arc::new(AtomicBool::new(false)),
                drawer: None,
                console: self.clone(),
            };
        }
        let stop = Arc::new(AtomicBool::new(false));
        let console = self.clone();
        let (c, s) = (counts.clone(), stop.clone());
        let drawer = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                let started = Instant::now();
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    let line = render_bar(file.as_deref(), &c, started.elapsed(), 30);
                    let _guard = console.lock.lock().unwrap_or_else(|p| p.into_inner());
                    let mut err = std::io::stderr().lock();
                    let _ = write!(err, "\r\x1b[K{line}");
                    let _ = err.flush();
                    console.bar_shown.store(true, Ordering::Relaxed);
                }
            })
            .ok();
        Progress {
            counts,
            stop,
            drawer,
            console: self.clone(),
        }
    }
}

/// What the sink has seen, for the bar's rates.
#[derive(Default)]
pub struct Counts {
    pub records: AtomicU64,
    pub flows: AtomicU64,
}

impl Counts {
    pub fn saw(&self, record: &Record) {
        self.records.fetch_add(1, Ordering::Relaxed);
        if matches!(record, Record::Conn(_)) {
            self.flows.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A drawn progress bar; `finish` (or dropping it) removes it.
pub struct Progress {
    pub counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    drawer: Option<JoinHandle<()>>,
    console: Console,
}

impl Progress {
    pub fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(d) = self.drawer.take() {
            let _ = d.join();
            let _guard = self.console.lock.lock().unwrap_or_else(|p| p.into_inner());
            if self.console.bar_shown.swap(false, Ordering::Relaxed) {
                let _ = std::io::stderr().write_all(b"\r\x1b[K");
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `[#########...........]  45%  1.2M packets  35.1k flows  12.0k flows/s  ETA 0:12`;
/// without a file's size (other tools' logs) only the counts and the rate.
pub fn render_bar(
    file: Option<&FileProgress>,
    counts: &Counts,
    elapsed: Duration,
    width: usize,
) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let flows = counts.flows.load(Ordering::Relaxed);
    let records = counts.records.load(Ordering::Relaxed);
    let rate = human(flows as f64 / secs);
    let Some(file) = file else {
        return format!(
            "{} records  {} flows  {} flows/s",
            human(records as f64),
            human(flows as f64),
            rate
        );
    };
    let fraction = file.fraction();
    let filled = ((fraction * width as f64) as usize).min(width);
    let eta = if fraction > 0.0 && fraction < 1.0 {
        let left = secs * (1.0 - fraction) / fraction;
        format!("ETA {}:{:02}", left as u64 / 60, left as u64 % 60)
    } else {
        "ETA -:--".to_string()
    };
    format!(
        "[{}{}] {:>3.0}%  {} packets  {} flows  {} flows/s  {}",
        "#".repeat(filled),
        ".".repeat(width - filled),
        fraction * 100.0,
        human(file.packets.load(Ordering::Relaxed) as f64),
        human(flows as f64),
        rate,
        eta
    )
}

/// 1234567 -> "1.2M"
fn human(n: f64) -> String {
    if n >= 1e9 {
        format!("{:.1}G", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// The analysis as it goes: alerts (`-v 1`), evidence (`-v 2`), new profiles and time
/// windows (`-v 3`).
pub struct ConsoleReport {
    console: Console,
    seen_windows: HashSet<(IpAddr, i64)>,
    seen_profiles: HashSet<IpAddr>,
}

impl ConsoleReport {
    pub fn new(console: Console) -> Self {
        ConsoleReport {
            console,
            seen_windows: HashSet::new(),
            seen_profiles: HashSet::new(),
        }
    }
}

impl Subscriber for ConsoleReport {
    fn record(&mut self, _record: &Record, profile: IpAddr, window: &TimeWindow) {
        if self.console.verbose < 3 {
            return;
        }
        if self.seen_profiles.insert(profile) {
            self.console.info(3, &format!("new profile {profile}"));
        }
        if self.seen_windows.insert((profile, window.number)) {
            self.console.info(
                3,
                &format!("profile {profile}: time window {} starts", window.number),
            );
        }
    }

    fn evidence(&mut self, evidence: &Evidence, _accumulated: f64, hosts: &Hosts) {
        if self.console.verbose >= 2 {
            let mut line = String::new();
            detectors::output::evidence_log_line(&mut line, evidence, hosts);
            self.console.info(2, &line);
        }
    }

    fn alert(&mut self, alert: &Alert, hosts: &Hosts) {
        if self.console.verbose >= 1 {
            let mut line = String::new();
            detectors::output::alert_log_line(&mut line, alert, hosts);
            self.console.info(1, &line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_share_counts_rate_and_eta() {
        let file = FileProgress::default();
        file.total_bytes.store(1000, Ordering::Relaxed);
        file.bytes_read.store(250, Ordering::Relaxed);
        file.packets.store(1_500_000, Ordering::Relaxed);
        let counts = Counts::default();
        counts.flows.store(20_000, Ordering::Relaxed);
        let line = render_bar(Some(&file), &counts, Duration::from_secs(10), 20);
        assert_eq!(
            line,
            "[#####...............]  25%  1.5M packets  20.0k flows  2.0k flows/s  ETA 0:30"
        );
    }

    #[test]
    fn a_finished_file_has_no_eta_and_logs_have_no_share() {
        let file = FileProgress::default();
        file.total_bytes.store(10, Ordering::Relaxed);
        file.bytes_read.store(10, Ordering::Relaxed);
        let counts = Counts::default();
        let line = render_bar(Some(&file), &counts, Duration::from_secs(1), 4);
        assert!(line.starts_with("[####] 100%"), "{line}");
        assert!(line.ends_with("ETA -:--"), "{line}");
        counts.records.store(999, Ordering::Relaxed);
        let line = render_bar(None, &counts, Duration::from_secs(1), 4);
        assert_eq!(line, "999 records  0 flows  0 flows/s");
    }

    #[test]
    fn counts_tell_flows_from_other_records() {
        let counts = Counts::default();
        counts.saw(&Record::Conn(Box::new(crate::testutil::udp_conn(
            1_000_000,
        ))));
        assert_eq!(counts.flows.load(Ordering::Relaxed), 1);
        assert_eq!(counts.records.load(Ordering::Relaxed), 1);
    }
}
