//! Zeek as an optional fallback (`--zeek`): when a user prefers Zeek's dissection and has
//! `zeek` installed, it runs on the capture file or interface, writing its logs into a
//! folder of the output (`zeek_files/`, as Slips names it), and those logs are read back
//! with the Zeek log readers, so everything downstream is the same as with our engine.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{follow_folder, zeek, OpenError, ReadError, RecordSource};
use dissectors::Record;

/// What Zeek reads.
#[derive(Clone, Debug)]
pub enum ZeekInput {
    File(PathBuf),
    Interface(String),
}

#[derive(Clone, Debug)]
pub struct ZeekOptions {
    /// The Zeek executable (see [`find_zeek`]).
    pub zeek: PathBuf,
    /// Where Zeek writes its logs (created; old logs in it are removed first, so that
    /// only this run's logs are read back).
    pub log_dir: PathBuf,
    /// Zeek's `-C`: ignore checksums.
    pub ignore_checksums: bool,
    /// Zeek's `-f`: a BPF filter.
    pub filter: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ZeekRunError {
    #[error("cannot prepare Zeek's log folder {0}: {1}")]
    LogDir(PathBuf, io::Error),
    #[error("cannot run {0}: {1}")]
    Spawn(PathBuf, io::Error),
    #[error("{zeek} failed on {input} ({status}); its messages are in {log}")]
    Failed {
        zeek: PathBuf,
        input: String,
        status: std::process::ExitStatus,
        log: PathBuf,
    },
    #[error(transparent)]
    Open(#[from] OpenError),
}

/// The `zeek` executable on `PATH`, if there is one.
pub fn find_zeek(path_var: Option<OsString>) -> Option<PathBuf> {
    let path_var = path_var?;
    std::env::split_paths(&path_var)
        .map(|dir| dir.join("zeek"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The arguments given to Zeek: its default scripts plus `local` (the site policy, as
/// Slips runs it), TSV logs.
fn zeek_args(input: &ZeekInput, options: &ZeekOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if options.ignore_checksums {
        args.push("-C".into());
    }
    match input {
        ZeekInput::File(path) => {
            args.push("-r".into());
            // Zeek runs inside the log folder: a relative path would no longer name
            // the capture.
            args.push(absolute(path).into_os_string());
        }
        ZeekInput::Interface(iface) => {
            args.push("-i".into());
            args.push(iface.into());
        }
    }
    if let Some(f) = &options.filter {
        args.push("-f".into());
        args.push(f.into());
    }
    args.push("local".into());
    args.push("LogAscii::use_json=F".into());
    args
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn prepare_log_dir(dir: &Path) -> Result<(), ZeekRunError> {
    let fail = |e| ZeekRunError::LogDir(dir.to_path_buf(), e);
    std::fs::create_dir_all(dir).map_err(fail)?;
    for entry in std::fs::read_dir(dir).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        if path.extension().is_some_and(|e| e == "log") {
            std::fs::remove_file(&path).map_err(fail)?;
        }
    }
    Ok(())
}

fn spawn(input: &ZeekInput, options: &ZeekOptions) -> Result<Child, ZeekRunError> {
    prepare_log_dir(&options.log_dir)?;
    let messages = options.log_dir.join("zeek.stderr");
    let stderr = std::fs::File::create(&messages)
        .map_err(|e| ZeekRunError::LogDir(options.log_dir.clone(), e))?;
    Command::new(&options.zeek)
        .args(zeek_args(input, options))
        .current_dir(&options.log_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| ZeekRunError::Spawn(options.zeek.clone(), e))
}

/// Runs Zeek over a capture file to its end, then reads the logs it wrote.
pub fn run_on_file(
    pcap: &Path,
    options: &ZeekOptions,
) -> Result<Box<dyn RecordSource>, ZeekRunError> {
    let input = ZeekInput::File(pcap.to_path_buf());
    let status = spawn(&input, options)?
        .wait()
        .map_err(|e| ZeekRunError::Spawn(options.zeek.clone(), e))?;
    if !status.success() {
        return Err(ZeekRunError::Failed {
            zeek: options.zeek.clone(),
            input: pcap.display().to_string(),
            status,
            log: options.log_dir.join("zeek.stderr"),
        });
    }
    Ok(zeek::open_folder(&options.log_dir)?)
}

/// Runs Zeek on an interface and follows the logs it writes until `stop` is set; Zeek
/// is then stopped (SIGTERM, so it writes what it holds) and its last lines are read.
pub fn run_on_interface(
    iface: &str,
    options: &ZeekOptions,
    stop: Arc<AtomicBool>,
) -> Result<Box<dyn RecordSource>, ZeekRunError> {
    let input = ZeekInput::Interface(iface.to_string());
    let mut child = spawn(&input, options)?;
    // The follower stops after Zeek did: its stop flag is set by the watcher below once
    // Zeek has exited, so lines written at Zeek's shutdown are still read.
    let zeek_done = Arc::new(AtomicBool::new(false));
    let records = follow_folder(&options.log_dir, zeek_done.clone())
        .map_err(|e| ZeekRunError::LogDir(options.log_dir.clone(), e))?;
    std::thread::Builder::new()
        .name("zeek".into())
        .spawn(move || {
            loop {
                if stop.load(Ordering::Relaxed) {
                    terminate(&mut child);
                    break;
                }
                if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            zeek_done.store(true, Ordering::Relaxed);
        })
        .map_err(|e| ZeekRunError::Spawn(options.zeek.clone(), e))?;
    Ok(Box::new(LiveZeek { records }))
}

fn terminate(child: &mut Child) {
    // SIGTERM lets Zeek flush its logs; no process-signal crate is needed for one call.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    for _ in 0..100 {
        if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

struct LiveZeek {
    records: super::follow::FollowFolder,
}

impl Iterator for LiveZeek {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.records.next()
    }
}

impl RecordSource for LiveZeek {
    fn drains_on_stop(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ZeekOptions {
        ZeekOptions {
            zeek: PathBuf::from("/usr/bin/zeek"),
            log_dir: PathBuf::from("/tmp/out/zeek_files"),
            ignore_checksums: true,
            filter: Some("tcp port 80".into()),
        }
    }

    #[test]
    fn arguments_follow_zeeks_command_line() {
        let args = zeek_args(&ZeekInput::File("/data/x.pcap".into()), &options());
        assert_eq!(
            args,
            [
                "-C",
                "-r",
                "/data/x.pcap",
                "-f",
                "tcp port 80",
                "local",
                "LogAscii::use_json=F"
            ]
            .map(OsString::from)
        );
        let mut o = options();
        o.ignore_checksums = false;
        o.filter = None;
        let args = zeek_args(&ZeekInput::Interface("eth0".into()), &o);
        assert_eq!(
            args,
            ["-i", "eth0", "local", "LogAscii::use_json=F"].map(OsString::from)
        );
    }

    #[test]
    fn a_relative_capture_path_is_made_absolute() {
        let args = zeek_args(&ZeekInput::File("x.pcap".into()), &options());
        assert!(Path::new(&args[2]).is_absolute());
    }

    #[test]
    fn zeek_is_looked_up_on_the_path() {
        let dir = std::env::temp_dir().join(format!("zeek-lookup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), dir.as_path()]).unwrap();
        assert_eq!(find_zeek(Some(path.clone())), None);
        let fake = dir.join("zeek");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        // Not executable: not a candidate.
        assert_eq!(find_zeek(Some(path.clone())), None);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_zeek(Some(path)), Some(fake));
        assert_eq!(find_zeek(None), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
