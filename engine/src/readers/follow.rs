//! Following a folder that a running Zeek writes into (`-g`): every log of a type we
//! read is tailed, new lines are turned into records as they are completed, rotated logs
//! are followed onto their new file, logs that appear later are picked up, until `stop`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};
use dissectors::Record;

use super::lines::Lines;
use super::zeek::{LogKind, ZeekLogReader};
use super::{ReadError, RecordSource};

/// How long a follower waits for more lines before looking again.
const POLL: Duration = Duration::from_millis(200);

/// A file read to its end and then waited on: reads block (polling) until more bytes
/// are written, the file is rotated (the path now names another file, which is read from
/// its start), or `stop` is set (end of input).
struct Tail {
    path: PathBuf,
    file: BufReader<File>,
    identity: Option<(u64, u64)>,
    stop: Arc<AtomicBool>,
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Tail {
    fn open(path: &Path, stop: Arc<AtomicBool>) -> io::Result<Self> {
        Ok(Tail {
            path: path.to_path_buf(),
            file: BufReader::with_capacity(1 << 16, File::open(path)?),
            identity: identity(path),
            stop,
        })
    }

    /// At the end of the file: switches to the new file when the log was rotated.
    fn rotated(&mut self) -> bool {
        let now = identity(&self.path);
        if now.is_some() && now != self.identity {
            if let Ok(f) = File::open(&self.path) {
                self.file = BufReader::with_capacity(1 << 16, f);
                self.identity = now;
                return true;
            }
        }
        false
    }
}

impl Read for Tail {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Tail {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        loop {
            if !self.file.fill_buf()?.is_empty() {
                break;
            }
            if self.rotated() {
                continue;
            }
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(POLL);
        }
        self.file.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.file.consume(amount);
    }
}

/// The records of a followed folder, in the order lines are completed.
pub struct FollowFolder {
    records: Receiver<Result<Record, ReadError>>,
}

impl Iterator for FollowFolder {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.records.recv().ok()
    }
}

impl RecordSource for FollowFolder {
    fn drains_on_stop(&self) -> bool {
        true
    }
}

/// Whether `name` is a current (not rotated) log of a type we read: `conn.log`, `dns.log`.
fn followed_log(name: &str) -> bool {
    name.strip_suffix(".log")
        .and_then(LogKind::from_path)
        .is_some()
}

/// Follows `dir` until `stop` is set; the iterator ends once every follower has read to
/// the end after the stop.
pub fn follow_folder(dir: &Path, stop: Arc<AtomicBool>) -> io::Result<FollowFolder> {
    std::fs::read_dir(dir)?;
    let (tx, rx) = bounded(4096);
    let dir = dir.to_path_buf();
    std::thread::spawn(move || watch(&dir, &stop, &tx));
    Ok(FollowFolder { records: rx })
}

/// Starts a follower for each log as it appears; waits for them after the stop.
fn watch(dir: &Path, stop: &Arc<AtomicBool>, tx: &Sender<Result<Record, ReadError>>) {
    let mut followed: Vec<String> = Vec::new();
    let mut threads = Vec::new();
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect();
            names.sort();
            for name in names {
                if !followed_log(&name) || followed.contains(&name) {
                    continue;
                }
                let path = dir.join(&name);
                let Ok(tail) = Tail::open(&path, stop.clone()) else {
                    continue;
                };
                followed.push(name);
                let tx = tx.clone();
                let source: Arc<str> = Arc::from(path.display().to_string().as_str());
                threads.push(std::thread::spawn(move || {
                    let reader = ZeekLogReader::new(source, Lines::new(Box::new(tail)));
                    for item in reader {
                        if tx.send(item).is_err() {
                            break;
                        }
                    }
                }));
            }
        }
        if stopping {
            break;
        }
        std::thread::sleep(POLL * 5);
    }
    for t in threads {
        let _ = t.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2026-01-01-00-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n";

    fn row(n: u32) -> String {
        format!("1600000000.{n:06}\tC{n}\t10.0.0.1\t{n}\t10.0.0.2\t80\ttcp\t-\t1.0\t1\t1\tSF\tT\tT\t0\tShADadFf\t1\t41\t1\t41\t-\n")
    }

    #[test]
    fn follows_new_lines_and_rotation_until_stopped() {
        let dir = std::env::temp_dir().join(format!("slipstream-follow-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("conn.log");
        let mut f = File::create(&log).unwrap();
        write!(f, "{HEADER}{}", row(1)).unwrap();
        f.flush().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut records = follow_folder(&dir, stop.clone()).unwrap();
        assert!(matches!(records.next(), Some(Ok(Record::Conn(_)))));
        // A line written in two pieces is read once complete.
        let second = row(2);
        let (a, b) = second.split_at(10);
        write!(f, "{a}").unwrap();
        f.flush().unwrap();
        std::thread::sleep(POLL * 2);
        write!(f, "{b}").unwrap();
        f.flush().unwrap();
        let Some(Ok(Record::Conn(c))) = records.next() else {
            panic!("second line")
        };
        assert_eq!(c.id.orig_p, 2);
        // Rotation: the log is renamed and a new one started, as Zeek does.
        std::fs::rename(&log, dir.join("conn.2026-01-01-00-00-00.log")).unwrap();
        let mut g = File::create(&log).unwrap();
        write!(g, "{HEADER}{}", row(3)).unwrap();
        g.flush().unwrap();
        let Some(Ok(Record::Conn(c))) = records.next() else {
            panic!("line after rotation")
        };
        assert_eq!(c.id.orig_p, 3);
        stop.store(true, Ordering::Relaxed);
        assert!(records.all(|r| r.is_ok()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
