//! `--zeek`: Zeek's dissection when Zeek is installed, the native engine otherwise.
//! Zeek cannot be installed on the machines this is built on, so the wiring is tested
//! with `tests/zeek-standin/zeek`, which behaves as Zeek does towards its caller (runs in
//! its folder, takes `-r`/`-i`, writes Zeek's TSV logs, flushes them on SIGTERM) and
//! writes real Zeek logs from a folder Zeek wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("zeek-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Real Zeek logs (Slips' test10-mixed-zeek-dir) the stand-in writes.
fn zeek_logs() -> PathBuf {
    repo().join("testdata/slips/inputs/zeek-tsv")
}

/// `PATH` with the stand-in first (`with_zeek`) or with no `zeek` at all.
fn path_var(with_zeek: bool) -> std::ffi::OsString {
    let mut dirs = vec![];
    if with_zeek {
        dirs.push(repo().join("tests/zeek-standin"));
    }
    dirs.extend(["/usr/bin", "/bin"].map(PathBuf::from));
    std::env::join_paths(dirs).unwrap()
}

fn slipstream(args: &[&str], with_zeek: bool) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .current_dir(repo())
        .env("PATH", path_var(with_zeek))
        .env("ZEEK_STANDIN_LOGS", zeek_logs())
        .args(args)
        .output()
        .expect("run slipstream")
}

/// The data lines of a Zeek log (Slips' copy of this conn.log has a stray tab before
/// its first header line).
fn rows(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn zeek_dissects_the_capture_and_its_logs_are_read_back() {
    let out = out_dir("file");
    let pcap = "testdata/slips/test7-malicious.pcap";
    let o = slipstream(
        &["--zeek", "-C", "-f", pcap, "-o", out.to_str().unwrap()],
        true,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");

    // Zeek ran in OUT/zeek_files with the capture's absolute path.
    let args = std::fs::read_to_string(out.join("zeek_files/zeek-args.txt")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let abs = repo().join(pcap);
    assert_eq!(
        args,
        [
            "-C",
            "-r",
            abs.to_str().unwrap(),
            "local",
            "LogAscii::use_json=F"
        ]
    );
    // What we wrote is what reading Zeek's folder directly gives.
    let direct = out_dir("file-direct");
    let o = slipstream(
        &[
            "-f",
            zeek_logs().to_str().unwrap(),
            "-o",
            direct.to_str().unwrap(),
        ],
        false,
    );
    assert!(o.status.success());
    for log in ["conn.log", "dns.log", "ssl.log", "x509.log", "files.log"] {
        let ours = rows(&out.join(log));
        assert!(!ours.is_empty(), "{log}");
        assert_eq!(ours, rows(&direct.join(log)), "{log}");
    }
    assert_eq!(
        rows(&out.join("conn.log")).len(),
        rows(&zeek_logs().join("conn.log")).len()
    );
    // The capture's own connections (the native engine's) are not there.
    let native = out_dir("file-native");
    slipstream(&["-f", pcap, "-o", native.to_str().unwrap()], false);
    assert_ne!(rows(&out.join("conn.log")), rows(&native.join("conn.log")));
}

#[test]
fn without_zeek_it_says_so_and_uses_the_native_engine() {
    let out = out_dir("missing");
    let native = out_dir("missing-native");
    let pcap = "testdata/slips/test7-malicious.pcap";
    let o = slipstream(&["--zeek", "-f", pcap, "-o", out.to_str().unwrap()], false);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("zeek is not installed"), "{stderr}");
    assert!(!out.join("zeek_files").exists());
    slipstream(&["-f", pcap, "-o", native.to_str().unwrap()], false);
    let ours = rows(&out.join("conn.log"));
    assert_eq!(ours.len(), 622);
    assert_eq!(ours, rows(&native.join("conn.log")));
}

#[test]
fn a_zeek_failure_is_a_clear_error() {
    let out = out_dir("fails");
    // A capture Zeek cannot read: the stand-in fails as Zeek does.
    std::fs::create_dir_all(&out).unwrap();
    let unreadable = out.join("unreadable.pcap");
    std::fs::copy(
        repo().join("testdata/slips/test7-malicious.pcap"),
        &unreadable,
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .current_dir(repo())
        .env("PATH", path_var(true))
        // No logs to write: the stand-in stops with an error.
        .env("ZEEK_STANDIN_LOGS", "")
        .args(["--zeek", "-f", unreadable.to_str().unwrap(), "-o"])
        .arg(out.join("run2"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("failed on") && stderr.contains("zeek.stderr"),
        "{stderr}"
    );
}

#[test]
fn zeek_on_an_interface_is_followed_until_stopped() {
    let out = out_dir("live");
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .current_dir(repo())
        .env("PATH", path_var(true))
        .env("ZEEK_STANDIN_LOGS", zeek_logs())
        .args(["--zeek", "-i", "standin0", "-o", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The stand-in marks when it has written every line; then the sensor is stopped.
    let written = out.join("zeek_files/.all-written");
    for _ in 0..600 {
        if written.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(written.exists(), "the stand-in did not finish writing");
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    let args = std::fs::read_to_string(out.join("zeek_files/zeek-args.txt")).unwrap();
    assert!(args.starts_with("-i\nstandin0\n"), "{args}");
    // Every line Zeek wrote, also the last ones before its shutdown.
    for log in ["conn.log", "dns.log", "ssl.log"] {
        assert_eq!(
            rows(&out.join(log)).len(),
            rows(&zeek_logs().join(log)).len(),
            "{log}"
        );
    }
}
