//! Privilege separation: only a small child process touches the firewall. `slipstream`
//! starts itself again (`current_exe`) as the hidden subcommand `slipstream blocker`,
//! with a pipe each way, before anything else runs; the rest of slipstream can then
//! switch to an unprivileged user ([`drop_privileges`]) and only ask.
//!
//! The protocol is one JSON object per line. The child first answers `ready` (its
//! firewall is set up) or `refused` (and exits). Then each request
//! `{"id":N,"op":"block","ip":"10.0.0.2","seconds":120}` (`seconds` null: until
//! cleared), `{"id":N,"op":"unblock","ip":...}` or `{"id":N,"op":"clear"}` gets a
//! `{"reply":"done","id":N,"error":null}`; a line that is not a request gets
//! `bad_request`. Where the firewall cannot expire a block (iptables) the child keeps a
//! timer per address, unblocks it when its time is up and says so with an `unblocked`
//! line. When its input ends (slipstream stopped) it removes the blocks it still had a
//! timer for, since no one is left to, and exits; nftables blocks expire in the kernel.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use detectors::config::FirewallChoice;
use serde::{Deserialize, Serialize};

use crate::firewall::Firewall;

/// The hidden subcommand the privileged part runs as.
pub const SUBCOMMAND: &str = "blocker";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Drop all traffic from and to `ip`, for `seconds` (`None`: until cleared).
    Block {
        ip: IpAddr,
        seconds: Option<u64>,
    },
    Unblock {
        ip: IpAddr,
    },
    /// Remove every block.
    Clear,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLine {
    pub id: u64,
    #[serde(flatten)]
    pub request: Request,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Ready {
        firewall: String,
        expires_blocks: bool,
    },
    Refused {
        error: String,
    },
    Done {
        id: u64,
        error: Option<String>,
    },
    BadRequest {
        error: String,
    },
    /// A block whose time was up, ended by the privileged part's own timer.
    Unblocked {
        ip: IpAddr,
        error: Option<String>,
    },
}

fn write_line<T: Serialize>(out: &mut impl Write, value: &T) -> io::Result<()> {
    let mut line = serde_json::to_string(value).map_err(io::Error::other)?;
    line.push('\n');
    out.write_all(line.as_bytes())?;
    out.flush()
}

/// When each block without a firewall timeout ends.
#[derive(Debug, Default)]
pub struct Expiries {
    deadlines: HashMap<IpAddr, Instant>,
}

impl Expiries {
    /// `None`: the block has no end (it is forgotten here).
    pub fn set(&mut self, ip: IpAddr, deadline: Option<Instant>) {
        match deadline {
            Some(d) => {
                self.deadlines.insert(ip, d);
            }
            None => {
                self.deadlines.remove(&ip);
            }
        }
    }

    pub fn remove(&mut self, ip: IpAddr) {
        self.deadlines.remove(&ip);
    }

    pub fn next(&self) -> Option<Instant> {
        self.deadlines.values().min().copied()
    }

    /// The addresses whose time is up at `now`, earliest first; they are forgotten.
    pub fn take_due(&mut self, now: Instant) -> Vec<IpAddr> {
        let mut due: Vec<(Instant, IpAddr)> = self
            .deadlines
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(ip, d)| (*d, *ip))
            .collect();
        due.sort();
        for (_, ip) in &due {
            self.deadlines.remove(ip);
        }
        due.into_iter().map(|(_, ip)| ip).collect()
    }

    pub fn drain(&mut self) -> Vec<IpAddr> {
        let mut all: Vec<IpAddr> = self.deadlines.drain().map(|(ip, _)| ip).collect();
        all.sort();
        all
    }
}

/// How the privileged part ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Served {
    /// Its input ended.
    Finished,
    /// It could not set the firewall up, and said why (`refused`).
    Refused,
}

/// The privileged part's loop: sets `firewall` up, then answers the requests read from
/// `input` on `output` until `input` ends. An error only when `output` fails.
pub fn serve(
    mut firewall: Box<dyn Firewall>,
    input: impl BufRead + Send + 'static,
    mut output: impl Write,
) -> io::Result<Served> {
    if let Err(e) = firewall.setup() {
        write_line(&mut output, &Reply::Refused { error: e.0 })?;
        return Ok(Served::Refused);
    }
    write_line(
        &mut output,
        &Reply::Ready {
            firewall: firewall.name().into(),
            expires_blocks: firewall.expires_blocks(),
        },
    )?;
    let (tx, rx) = mpsc::channel::<String>();
    // Reading in a thread of its own lets the loop below wake for timers too.
    std::thread::Builder::new()
        .name("blocker-input".into())
        .spawn(move || {
            for line in input.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        })?;
    let mut expiries = Expiries::default();
    loop {
        let received = match expiries.next() {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(line) => {
                let reply = answer(firewall.as_mut(), &mut expiries, &line);
                write_line(&mut output, &reply)?;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        for ip in expiries.take_due(Instant::now()) {
            let error = firewall.unblock(ip).err().map(|e| e.0);
            write_line(&mut output, &Reply::Unblocked { ip, error })?;
        }
    }
    for ip in expiries.drain() {
        match firewall.unblock(ip) {
            Ok(()) => eprintln!(
                "slipstream blocker: {ip} unblocked before its time: slipstream stopped and {} cannot end the block by itself",
                firewall.name()
            ),
            Err(e) => eprintln!("slipstream blocker: cannot unblock {ip}: {e}"),
        }
    }
    Ok(Served::Finished)
}

fn answer(firewall: &mut dyn Firewall, expiries: &mut Expiries, line: &str) -> Reply {
    let req: RequestLine = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => {
            return Reply::BadRequest {
                error: format!("{e}: {line}"),
            }
        }
    };
    let result =
        match req.request {
            Request::Block { ip, seconds } => firewall
                .block(ip, seconds.map(Duration::from_secs))
                .map(|()| {
                    if !firewall.expires_blocks() {
                        expiries.set(ip, seconds.map(|s| Instant::now() + Duration::from_secs(s)));
                    }
                }),
            Request::Unblock { ip } => firewall.unblock(ip).map(|()| expiries.remove(ip)),
            Request::Clear => firewall.setup().map(|()| {
                expiries.drain();
            }),
        };
    Reply::Done {
        id: req.id,
        error: result.err().map(|e| e.0),
    }
}

/// The main process's end of the pipe to the privileged part.
pub struct Link {
    pub requests: Box<dyn Write + Send>,
    pub replies: Box<dyn BufRead + Send>,
    /// The child process, waited for when the link is closed.
    pub child: Option<Child>,
    pub firewall: String,
    pub expires_blocks: bool,
}

impl Link {
    /// Reads the privileged part's first line: `ready`, or why it refused.
    pub fn connect(
        requests: Box<dyn Write + Send>,
        mut replies: Box<dyn BufRead + Send>,
        mut child: Option<Child>,
    ) -> Result<Link, String> {
        let mut first = String::new();
        let read = replies.read_line(&mut first);
        let failed = |why: String, child: &mut Option<Child>| {
            if let Some(c) = child.as_mut() {
                let _ = c.wait();
            }
            Err(why)
        };
        match read {
            Ok(0) => return failed("it exited without a word".into(), &mut child),
            Err(e) => return failed(format!("cannot read its answer: {e}"), &mut child),
            Ok(_) => {}
        }
        match serde_json::from_str::<Reply>(&first) {
            Ok(Reply::Ready {
                firewall,
                expires_blocks,
            }) => Ok(Link {
                requests,
                replies,
                child,
                firewall,
                expires_blocks,
            }),
            Ok(Reply::Refused { error }) => failed(error, &mut child),
            _ => failed(format!("unexpected answer {}", first.trim()), &mut child),
        }
    }
}

/// Starts the privileged part: this program again, as `slipstream blocker`, in a
/// process group of its own (a Ctrl+C at the terminal stops slipstream, which then
/// closes the pipe; the child must outlive it long enough to clean up).
pub fn spawn(choice: FirewallChoice) -> Result<Link, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut child = Command::new(&exe)
        .args([SUBCOMMAND, "--firewall", choice.as_str()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {} {SUBCOMMAND}: {e}", exe.display()))?;
    let requests = child.stdin.take().expect("stdin was piped");
    let replies = BufReader::new(child.stdout.take().expect("stdout was piped"));
    Link::connect(Box::new(requests), Box::new(replies), Some(child))
}

/// The privileged part's `main`: serves on standard input and output. A refusal is
/// told to the parent, whose message it becomes.
pub fn run_privileged_part(choice: FirewallChoice) -> io::Result<Served> {
    let stdout = io::stdout();
    match crate::firewall::open(choice) {
        Ok(fw) => serve(fw, BufReader::new(io::stdin()), stdout.lock()),
        Err(e) => {
            write_line(&mut stdout.lock(), &Reply::Refused { error: e.0 })?;
            Ok(Served::Refused)
        }
    }
}

/// Switches this whole process to `user` (its uid, gid and no other group), for good.
/// The output folder and the files directly in it are handed to the user first, so
/// the logs opened later (a new Zeek log, `errors.log`, `stats.json`) can still be
/// written. glibc's (and musl's) setuid and setgid apply to every thread of the
/// process, so no thread keeps root. An error before the switch leaves the process as
/// it was; one after it (the user cannot reach the output folder) is returned too.
pub fn drop_privileges(user: &str, output_dir: &Path) -> Result<(), String> {
    use nix::unistd::{chown, setgid, setgroups, setuid, Uid, User};
    let u = User::from_name(user)
        .map_err(|e| format!("cannot look up user {user}: {e}"))?
        .ok_or_else(|| format!("no user named {user}"))?;
    let hand_over = |p: &Path| {
        chown(p, Some(u.uid), Some(u.gid))
            .map_err(|e| format!("cannot hand {} over to {user}: {e}", p.display()))
    };
    hand_over(output_dir)?;
    let entries = std::fs::read_dir(output_dir)
        .map_err(|e| format!("cannot read {}: {e}", output_dir.display()))?;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            hand_over(&entry.path())?;
        }
    }
    setgroups(&[u.gid]).map_err(|e| format!("setgroups: {e}"))?;
    setgid(u.gid).map_err(|e| format!("setgid {}: {e}", u.gid))?;
    setuid(u.uid).map_err(|e| format!("setuid {}: {e}", u.uid))?;
    if !u.uid.is_root() && setuid(Uid::from_raw(0)).is_ok() {
        return Err("root could be regained after setuid".into());
    }
    // The folder's parents must let the user through too: find out now, not when the
    // first new log is opened.
    let probe = output_dir.join(format!(".slipstream-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            format!(
                "as {user}, cannot write into the output folder {}: {e}",
                output_dir.display()
            )
        })?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::firewall::tests::FakeRunner;
    use crate::firewall::{Iptables, Nftables};
    use std::io::{pipe, PipeReader, PipeWriter};
    use std::thread::JoinHandle;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn request_lines() {
        let line = RequestLine {
            id: 7,
            request: Request::Block {
                ip: ip("10.1.0.2"),
                seconds: Some(120),
            },
        };
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(
            text,
            r#"{"id":7,"op":"block","ip":"10.1.0.2","seconds":120}"#
        );
        assert_eq!(serde_json::from_str::<RequestLine>(&text).unwrap(), line);
        let clear: RequestLine = serde_json::from_str(r#"{"id":1,"op":"clear"}"#).unwrap();
        assert_eq!(clear.request, Request::Clear);
        let unblock: RequestLine =
            serde_json::from_str(r#"{"id":2,"op":"unblock","ip":"2001:db8::1"}"#).unwrap();
        assert_eq!(
            unblock.request,
            Request::Unblock {
                ip: ip("2001:db8::1")
            }
        );
        assert!(serde_json::from_str::<RequestLine>(r#"{"id":2,"op":"reboot"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&Reply::Done { id: 3, error: None }).unwrap(),
            r#"{"reply":"done","id":3,"error":null}"#
        );
    }

    #[test]
    fn expiries_in_order() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut e = Expiries::default();
        assert_eq!(e.next(), None);
        e.set(ip("10.0.0.2"), Some(t0 + s(20)));
        e.set(ip("10.0.0.3"), Some(t0 + s(10)));
        e.set(ip("10.0.0.4"), Some(t0 + s(30)));
        e.set(ip("10.0.0.5"), None);
        assert_eq!(e.next(), Some(t0 + s(10)));
        assert!(e.take_due(t0 + s(5)).is_empty());
        // A renewed block moves its deadline.
        e.set(ip("10.0.0.3"), Some(t0 + s(40)));
        assert_eq!(e.take_due(t0 + s(30)), [ip("10.0.0.2"), ip("10.0.0.4")]);
        assert_eq!(e.next(), Some(t0 + s(40)));
        e.remove(ip("10.0.0.3"));
        assert_eq!(e.next(), None);
        e.set(ip("10.0.0.9"), Some(t0));
        assert_eq!(e.drain(), [ip("10.0.0.9")]);
    }

    /// A privileged part on a thread, served over real pipes.
    pub struct OnPipes {
        pub requests: PipeWriter,
        pub replies: BufReader<PipeReader>,
        pub thread: JoinHandle<io::Result<Served>>,
    }

    pub fn serve_on_pipes(firewall: Box<dyn Firewall>) -> OnPipes {
        let (req_r, req_w) = pipe().unwrap();
        let (rep_r, rep_w) = pipe().unwrap();
        let thread = std::thread::spawn(move || serve(firewall, BufReader::new(req_r), rep_w));
        OnPipes {
            requests: req_w,
            replies: BufReader::new(rep_r),
            thread,
        }
    }

    fn next_reply(r: &mut impl BufRead) -> Reply {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }

    #[test]
    fn serves_requests_over_a_pipe() {
        let mut s = serve_on_pipes(Box::new(Nftables::new(FakeRunner::default())));
        assert_eq!(
            next_reply(&mut s.replies),
            Reply::Ready {
                firewall: "nftables".into(),
                expires_blocks: true
            }
        );
        writeln!(
            s.requests,
            r#"{{"id":1,"op":"block","ip":"10.1.0.2","seconds":30}}"#
        )
        .unwrap();
        assert_eq!(
            next_reply(&mut s.replies),
            Reply::Done { id: 1, error: None }
        );
        writeln!(s.requests, "not json").unwrap();
        assert!(matches!(
            next_reply(&mut s.replies),
            Reply::BadRequest { .. }
        ));
        writeln!(s.requests, r#"{{"id":2,"op":"unblock","ip":"10.1.0.2"}}"#).unwrap();
        assert_eq!(
            next_reply(&mut s.replies),
            Reply::Done { id: 2, error: None }
        );
        drop(s.requests);
        assert_eq!(s.thread.join().unwrap().unwrap(), Served::Finished);
    }

    #[test]
    fn refuses_when_the_firewall_cannot_be_set_up() {
        let mut runner = FakeRunner::default();
        runner.missing.insert("iptables");
        let s = serve_on_pipes(Box::new(Iptables::new(runner)));
        let link = Link::connect(Box::new(s.requests), Box::new(s.replies), None);
        assert_eq!(link.err().unwrap(), "iptables is not installed");
        assert_eq!(s.thread.join().unwrap().unwrap(), Served::Refused);
    }

    /// A firewall that cannot expire blocks, recording what it is asked.
    struct Recording(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl Firewall for Recording {
        fn name(&self) -> &'static str {
            "recording"
        }
        fn setup(&mut self) -> Result<(), crate::FirewallError> {
            Ok(())
        }
        fn block(&mut self, ip: IpAddr, t: Option<Duration>) -> Result<(), crate::FirewallError> {
            self.0.lock().unwrap().push(format!("block {ip} {t:?}"));
            Ok(())
        }
        fn unblock(&mut self, ip: IpAddr) -> Result<(), crate::FirewallError> {
            self.0.lock().unwrap().push(format!("unblock {ip}"));
            Ok(())
        }
        fn clear(&mut self) -> Result<bool, crate::FirewallError> {
            Ok(true)
        }
        fn expires_blocks(&self) -> bool {
            false
        }
    }

    /// When slipstream goes, blocks waiting for a timer are ended (nothing else would);
    /// blocks without an end stay.
    #[test]
    fn the_end_of_input_ends_timed_blocks_only() {
        let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut s = serve_on_pipes(Box::new(Recording(calls.clone())));
        next_reply(&mut s.replies);
        writeln!(
            s.requests,
            r#"{{"id":1,"op":"block","ip":"10.1.0.2","seconds":3600}}"#
        )
        .unwrap();
        writeln!(
            s.requests,
            r#"{{"id":2,"op":"block","ip":"10.1.0.4","seconds":null}}"#
        )
        .unwrap();
        assert_eq!(
            next_reply(&mut s.replies),
            Reply::Done { id: 1, error: None }
        );
        assert_eq!(
            next_reply(&mut s.replies),
            Reply::Done { id: 2, error: None }
        );
        drop(s.requests);
        assert_eq!(s.thread.join().unwrap().unwrap(), Served::Finished);
        assert_eq!(
            *calls.lock().unwrap(),
            [
                "block 10.1.0.2 Some(3600s)",
                "block 10.1.0.4 None",
                "unblock 10.1.0.2"
            ]
        );
    }

    /// Iptables cannot expire a block: the privileged part's timer ends it, and says so.
    #[test]
    fn timer_unblocks_where_the_firewall_cannot() {
        let mut s = serve_on_pipes(Box::new(Iptables::new(FakeRunner::default())));
        assert!(matches!(
            next_reply(&mut s.replies),
            Reply::Ready {
                expires_blocks: false,
                ..
            }
        ));
        writeln!(
            s.requests,
            r#"{{"id":1,"op":"block","ip":"10.1.0.2","seconds":0}}"#
        )
        .unwrap();
        assert_eq!(
            next_reply(&mut s.replies),
            Reply::Done { id: 1, error: None }
        );
        assert_eq!(
            next_reply(&mut s.replies),
            Reply::Unblocked {
                ip: ip("10.1.0.2"),
                error: None
            }
        );
        drop(s.requests);
        assert_eq!(s.thread.join().unwrap().unwrap(), Served::Finished);
    }
}
