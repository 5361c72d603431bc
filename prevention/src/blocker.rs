//! The subscriber that turns alerts into blocks. On the analysis thread it only asks the
//! whitelist about the alert's profile and works out how long to block; a thread of its
//! own applies the guard, writes the decision to `blocking.log` and sends the request
//! to the privileged part, so the analysis never waits for the firewall.
//!
//! How long (Slips' unblocker): until the end of the time window
//! `blocking.unblock_after_time_windows` windows after the alert's, counted from the
//! alert's last evidence; a new alert for the same address renews the block from then.
//! With `only_one_tw` there is no later window and a block lasts until `slipstream -cb`.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::net::IpAddr;
use std::path::Path;
use std::process::Child;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use detectors::alert::Alert;
use detectors::evidence::EventId;
use detectors::profile::Hosts;
use detectors::timefmt::iso;
use detectors::timewindow::TimeWindow;
use detectors::whitelist::{Whitelist, WhitelistSources};
use detectors::{Config, Error, Subscriber};
use dissectors::Timestamp;

use crate::guard::{self, Protected, SystemFiles, Verdict};
use crate::privsep::{Link, Reply, Request, RequestLine};

/// The log of every decision, in the output folder (Slips' name).
pub const LOG_NAME: &str = "blocking.log";
/// How long the end of the run waits for the privileged part to finish its work.
const FINISH_WAIT: Duration = Duration::from_secs(10);

/// How long blocks last.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    pub unblock_after_windows: u32,
    /// `None`: `only_one_tw`.
    pub window_width_micros: Option<i64>,
}

impl Policy {
    pub fn from_config(config: &Config) -> Policy {
        Policy {
            unblock_after_windows: config.blocking.unblock_after_time_windows,
            window_width_micros: config.window_width_micros(),
        }
    }

    /// How long to block for an alert of `window` whose last evidence is at `at`: until
    /// the end of the window `unblock_after_windows` later; `None`: until cleared.
    pub fn block_for(&self, window: &TimeWindow, at: Timestamp) -> Option<Duration> {
        let width = self.window_width_micros?;
        let until = window
            .end
            .0
            .saturating_add(width.saturating_mul(i64::from(self.unblock_after_windows)));
        let micros = until.saturating_sub(at.0).max(0);
        Some(Duration::from_micros(micros as u64))
    }

    /// The window whose end unblocks an alert of window `number`.
    fn unblock_window(&self, number: i64) -> Option<i64> {
        self.window_width_micros?;
        Some(number + i64::from(self.unblock_after_windows))
    }
}

/// One alert to decide on.
struct Decision {
    ip: IpAddr,
    whitelisted: bool,
    /// `None`: until cleared.
    seconds: Option<u64>,
    window: i64,
    unblock_window: Option<i64>,
    alert: EventId,
}

enum Msg {
    Alert(Decision),
    Reply(Reply),
    Unreadable(String),
    /// The privileged part's answers ended.
    Closed,
    Finish,
}

/// Blocks the profiles that raise alerts; see the module documentation.
pub struct Blocker {
    whitelist: Whitelist,
    policy: Policy,
    jobs: Sender<Msg>,
    worker: Option<JoinHandle<()>>,
}

impl Blocker {
    /// A blocker for `config`, logging to `output_dir/blocking.log`, asking the
    /// privileged part at the end of `link`.
    pub fn start(config: &Config, output_dir: &Path, link: Link) -> Result<Blocker, Error> {
        let whitelist = match WhitelistSources::from_config(config) {
            // Its warnings are the analysis's to report; it loads the same files.
            Some(sources) => Whitelist::load(sources)?.0,
            None => Whitelist::empty(),
        };
        let path = output_dir.join(LOG_NAME);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let files = SystemFiles::default();
        Ok(Blocker::with_parts(
            whitelist,
            Policy::from_config(config),
            Box::new(BufWriter::new(log)),
            Box::new(move || Protected::read(&files)),
            link,
        ))
    }

    /// A blocker from its parts: the log to write, where the protected addresses come
    /// from (asked at each decision) and the link to the privileged part.
    pub fn with_parts(
        whitelist: Whitelist,
        policy: Policy,
        log: Box<dyn Write + Send>,
        protected: Box<dyn FnMut() -> Protected + Send>,
        link: Link,
    ) -> Blocker {
        let (tx, rx) = mpsc::channel();
        let Link {
            requests,
            replies,
            child,
            firewall,
            ..
        } = link;
        let from_child = tx.clone();
        let reader = std::thread::Builder::new()
            .name("blocker-replies".into())
            .spawn(move || read_replies(replies, from_child));
        let mut worker = Worker {
            log,
            protected,
            requests: Some(requests),
            pending: HashMap::new(),
            next_id: 1,
            firewall,
            closed: false,
        };
        if let Err(e) = reader {
            worker.closed = true;
            worker.line(&format!("cannot read the privileged part's answers: {e}"));
        }
        let worker = std::thread::Builder::new()
            .name("blocker".into())
            .spawn(move || worker.run(rx, child))
            .ok();
        Blocker {
            whitelist,
            policy,
            jobs: tx,
            worker,
        }
    }

    fn stop_worker(&mut self) {
        if let Some(w) = self.worker.take() {
            let _ = self.jobs.send(Msg::Finish);
            let _ = w.join();
        }
    }
}

impl Subscriber for Blocker {
    fn alert(&mut self, alert: &Alert, hosts: &Hosts) {
        if self.whitelist.changed_on_disk() {
            if let Ok((wl, _)) = Whitelist::load(self.whitelist.sources().clone()) {
                self.whitelist = wl;
            }
        }
        let ip = alert.profile;
        let whitelisted = guard::is_whitelisted(&self.whitelist, ip, hosts.get(ip));
        let seconds = self
            .policy
            .block_for(&alert.timewindow, alert.last_evidence_ts)
            // Whole seconds, rounded up: never shorter than the rule says.
            .map(|d| d.as_micros().div_ceil(1_000_000) as u64);
        let _ = self.jobs.send(Msg::Alert(Decision {
            ip,
            whitelisted,
            seconds,
            window: alert.timewindow.number,
            unblock_window: self.policy.unblock_window(alert.timewindow.number),
            alert: alert.id,
        }));
    }

    fn finish(&mut self, _hosts: &Hosts) -> Result<(), Error> {
        self.stop_worker();
        Ok(())
    }
}

impl Drop for Blocker {
    fn drop(&mut self) {
        self.stop_worker();
    }
}

fn read_replies(replies: Box<dyn BufRead + Send>, to: Sender<Msg>) {
    for line in replies.lines() {
        let Ok(line) = line else { break };
        let msg = match serde_json::from_str::<Reply>(&line) {
            Ok(r) => Msg::Reply(r),
            Err(_) => Msg::Unreadable(line),
        };
        if to.send(msg).is_err() {
            return;
        }
    }
    let _ = to.send(Msg::Closed);
}

struct Worker {
    log: Box<dyn Write + Send>,
    protected: Box<dyn FnMut() -> Protected + Send>,
    requests: Option<Box<dyn Write + Send>>,
    pending: HashMap<u64, Decision>,
    next_id: u64,
    firewall: String,
    /// The privileged part's answers ended: it exited.
    closed: bool,
}

fn now_iso() -> String {
    let micros = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    iso(Timestamp(micros))
}

impl Worker {
    fn run(mut self, rx: Receiver<Msg>, mut child: Option<Child>) {
        self.line(&format!("blocking with {}", self.firewall));
        let mut finishing = false;
        loop {
            let msg = if finishing {
                match rx.recv_timeout(FINISH_WAIT) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => {
                        self.line("the privileged part did not finish in time; stopped");
                        if let Some(c) = child.as_mut() {
                            let _ = c.kill();
                        }
                        break;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                }
            };
            match msg {
                Msg::Alert(d) => self.decide(d),
                Msg::Reply(r) => self.answered(r),
                Msg::Unreadable(line) => self.line(&format!(
                    "unreadable answer from the privileged part: {line}"
                )),
                Msg::Closed => {
                    self.closed = true;
                    let mut pending: Vec<(u64, Decision)> = self.pending.drain().collect();
                    pending.sort_by_key(|(id, _)| *id);
                    for (_, d) in pending {
                        self.failed(&d, "the privileged part exited without an answer");
                    }
                    if finishing {
                        break;
                    }
                }
                Msg::Finish => {
                    finishing = true;
                    // The end of its input tells the privileged part to finish.
                    self.requests = None;
                    if self.closed {
                        break;
                    }
                }
            }
        }
        if let Some(mut c) = child {
            let _ = c.wait();
        }
        let _ = self.log.flush();
    }

    fn line(&mut self, text: &str) {
        let _ = writeln!(self.log, "{} {text}", now_iso());
        let _ = self.log.flush();
    }

    fn decide(&mut self, d: Decision) {
        match (self.protected)().decide(d.ip, d.whitelisted) {
            Verdict::Spare(reason) => {
                let text = format!("not blocked {}: {reason}{}", d.ip, about(&d));
                self.line(&text);
            }
            Verdict::Block => self.request(d),
        }
    }

    fn request(&mut self, d: Decision) {
        let id = self.next_id;
        self.next_id += 1;
        let line = RequestLine {
            id,
            request: Request::Block {
                ip: d.ip,
                seconds: d.seconds,
            },
        };
        let sent = match (&mut self.requests, self.closed) {
            (Some(w), false) => serde_json::to_string(&line)
                .map_err(std::io::Error::other)
                .and_then(|text| {
                    w.write_all(text.as_bytes())?;
                    w.write_all(b"\n")?;
                    w.flush()
                })
                .map_err(|e| format!("cannot reach the privileged part: {e}")),
            _ => Err("the privileged part has exited".to_string()),
        };
        match sent {
            Ok(()) => {
                self.pending.insert(id, d);
            }
            Err(e) => self.failed(&d, &e),
        }
    }

    fn failed(&mut self, d: &Decision, why: &str) {
        let text = format!("block failed {}: {why}{}", d.ip, about(d));
        self.line(&text);
    }

    fn answered(&mut self, reply: Reply) {
        match reply {
            Reply::Done { id, error } => {
                let Some(d) = self.pending.remove(&id) else {
                    self.line(&format!("answer to no request ({id})"));
                    return;
                };
                match error {
                    Some(e) => self.failed(&d, &e),
                    None => {
                        let how_long = match (d.seconds, d.unblock_window) {
                            (Some(s), Some(w)) => {
                                format!("for {s} s, until the end of time window {w}")
                            }
                            _ => "until slipstream -cb".to_string(),
                        };
                        let text = format!(
                            "blocked {} {how_long} ({}){}",
                            d.ip,
                            self.firewall,
                            about(&d)
                        );
                        self.line(&text);
                    }
                }
            }
            Reply::Unblocked { ip, error: None } => {
                self.line(&format!("unblocked {ip}: its blocking time is over"))
            }
            Reply::Unblocked { ip, error: Some(e) } => {
                self.line(&format!("unblock failed {ip}: {e}"))
            }
            Reply::BadRequest { error } => self.line(&format!(
                "the privileged part could not read a request: {error}"
            )),
            Reply::Ready { .. } | Reply::Refused { .. } => {
                self.line("unexpected greeting from the privileged part")
            }
        }
    }
}

/// Which alert a decision is about.
fn about(d: &Decision) -> String {
    format!("; alert {} in time window {}", d.alert, d.window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::tests::FakeRunner;
    use crate::firewall::Nftables;
    use crate::privsep::tests::serve_on_pipes;
    use detectors::evidence::ThreatLevel;
    use std::sync::{Arc, Mutex};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const MINUTE: i64 = 60_000_000;

    fn window(number: i64) -> TimeWindow {
        TimeWindow {
            number,
            start: Timestamp((number - 1) * MINUTE),
            end: Timestamp(number * MINUTE),
        }
    }

    #[test]
    fn blocks_until_the_end_of_a_later_window() {
        let mut p = Policy {
            unblock_after_windows: 1,
            window_width_micros: Some(MINUTE),
        };
        let at = Timestamp(10_000_000);
        assert_eq!(p.block_for(&window(1), at), Some(Duration::from_secs(110)));
        assert_eq!(p.unblock_window(1), Some(2));
        p.unblock_after_windows = 0;
        assert_eq!(p.block_for(&window(1), at), Some(Duration::from_secs(50)));
        p.unblock_after_windows = 3;
        assert_eq!(
            p.block_for(&window(2), Timestamp(119_500_000)),
            Some(Duration::from_millis(180_500))
        );
        assert_eq!(p.unblock_window(2), Some(5));
        let only_one = Policy {
            unblock_after_windows: 1,
            window_width_micros: None,
        };
        let whole_run = TimeWindow {
            number: 1,
            start: Timestamp(0),
            end: Timestamp(i64::MAX),
        };
        assert_eq!(only_one.block_for(&whole_run, at), None);
        assert_eq!(only_one.unblock_window(1), None);
        let from_config = Policy::from_config(&Config::default());
        assert_eq!(from_config.window_width_micros, Some(3_600_000_000));
        assert_eq!(from_config.unblock_after_windows, 1);
    }

    fn alert(profile: &str, at_secs: i64) -> Alert {
        Alert {
            id: EventId(u128::from(at_secs as u64) << 64 | 1),
            profile: ip(profile),
            timewindow: window(1),
            last_evidence_ts: Timestamp(at_secs * 1_000_000),
            accumulated_threat_level: 16.0,
            threat_level: ThreatLevel::Critical,
            confidence: 0.5,
            evidence_ids: Vec::new(),
            uids: Vec::new(),
        }
    }

    #[derive(Clone, Default)]
    struct SharedLog(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedLog {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl SharedLog {
        fn lines(&self) -> Vec<String> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            // Without the timestamp.
            text.lines()
                .map(|l| l.split_once(' ').unwrap().1.to_string())
                .collect()
        }
    }

    fn blocker(runner: FakeRunner, log: &SharedLog) -> Blocker {
        let served = serve_on_pipes(Box::new(Nftables::new(runner)));
        let link =
            Link::connect(Box::new(served.requests), Box::new(served.replies), None).unwrap();
        let (wl, _) = Whitelist::parse(
            "ip,10.1.0.3,dst,alerts\n",
            Path::new("whitelist.conf"),
            None,
        )
        .unwrap();
        let protected = Protected {
            own: [ip("10.1.0.1")].into(),
            gateways: [ip("10.1.0.254")].into(),
            dns: [ip("10.1.0.53")].into(),
        };
        Blocker::with_parts(
            wl,
            Policy {
                unblock_after_windows: 1,
                window_width_micros: Some(MINUTE),
            },
            Box::new(log.clone()),
            Box::new(move || protected.clone()),
            link,
        )
    }

    #[test]
    fn one_logged_decision_per_alert() {
        let log = SharedLog::default();
        let mut b = blocker(FakeRunner::default(), &log);
        let hosts = Hosts::for_tests();
        for (profile, at) in [
            ("10.1.0.2", 10),
            ("10.1.0.3", 11),
            ("10.1.0.1", 12),
            ("10.1.0.254", 13),
            ("10.1.0.53", 14),
            ("10.1.0.2", 59),
        ] {
            b.alert(&alert(profile, at), &hosts);
        }
        b.finish(&hosts).unwrap();
        // Refusals are logged at once, blocks when the firewall answers: sorted.
        let mut lines = log.lines();
        lines[1..].sort();
        let id = |at: u64| EventId(u128::from(at) << 64 | 1).to_string();
        let mut expected = [
                "blocking with nftables".to_string(),
                format!("not blocked 10.1.0.3: it is on the whitelist; alert {} in time window 1", id(11)),
                format!("not blocked 10.1.0.1: it is an address of this sensor; alert {} in time window 1", id(12)),
                format!("not blocked 10.1.0.254: it is a gateway of this sensor; alert {} in time window 1", id(13)),
                format!("not blocked 10.1.0.53: it is a DNS server of this sensor; alert {} in time window 1", id(14)),
                format!("blocked 10.1.0.2 for 110 s, until the end of time window 2 (nftables); alert {} in time window 1", id(10)),
                format!("blocked 10.1.0.2 for 61 s, until the end of time window 2 (nftables); alert {} in time window 1", id(59)),
            ];
        expected[1..].sort();
        assert_eq!(lines, expected, "{lines:#?}");
    }

    #[test]
    fn firewall_failures_are_logged() {
        let log = SharedLog::default();
        let runner = FakeRunner {
            fail_matching: vec!["10.1.0.2".into()],
            ..FakeRunner::default()
        };
        let mut b = blocker(runner, &log);
        let hosts = Hosts::for_tests();
        b.alert(&alert("10.1.0.2", 10), &hosts);
        b.alert(&alert("10.1.0.9", 10), &hosts);
        b.finish(&hosts).unwrap();
        let mut lines = log.lines();
        lines[1..].sort();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[1].starts_with("block failed 10.1.0.2: nft -f -: refused"),
            "{lines:#?}"
        );
        assert!(
            lines[2].starts_with("blocked 10.1.0.9 for 110 s"),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_gone_privileged_part_fails_each_block() {
        let log = SharedLog::default();
        // Ready, then nothing: the privileged part exited.
        let replies = b"{\"reply\":\"ready\",\"firewall\":\"nftables\",\"expires_blocks\":true}\n";
        let link = Link::connect(Box::new(std::io::sink()), Box::new(&replies[..]), None).unwrap();
        let mut b = Blocker::with_parts(
            Whitelist::empty(),
            Policy {
                unblock_after_windows: 1,
                window_width_micros: Some(MINUTE),
            },
            Box::new(log.clone()),
            Box::new(Protected::default),
            link,
        );
        let hosts = Hosts::for_tests();
        b.alert(&alert("10.1.0.2", 10), &hosts);
        b.finish(&hosts).unwrap();
        let lines = log.lines();
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[1].starts_with("block failed 10.1.0.2: the privileged part"),
            "{lines:#?}"
        );
    }
}
