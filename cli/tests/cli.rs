//! The binary as a user runs it: inputs of every kind, outputs, and errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn slipstream(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("run slipstream")
}

fn rows(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn pcap_gives_logs_alerts_and_database() {
    let out = out_dir("pcap");
    let o = slipstream(&[
        "-f",
        "testdata/slips/test7-malicious.pcap",
        "-o",
        out.to_str().unwrap(),
        "--workers",
        "2",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "conn.log",
        "dns.log",
        "dhcp.log",
        "arp.log",
        "alerts.log",
        "alerts.json",
        "errors.log",
        "flows.sqlite",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    assert_eq!(rows(&out.join("conn.log")).len(), 622);
    // The sample's 31 non-IP frames are all ARP.
    assert_eq!(rows(&out.join("arp.log")).len(), 31);
    let header = std::fs::read_to_string(out.join("conn.log")).unwrap();
    assert!(header.starts_with("#separator \\x09\n#set_separator\t,\n"));
    assert!(header
        .trim_end()
        .lines()
        .last()
        .unwrap()
        .starts_with("#close\t"));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let out = out_dir("json");
    let o = slipstream(&[
        "-f",
        "testdata/zeek/wikipedia-default/trace.pcap",
        "-o",
        out.to_str().unwrap(),
        "--log-format",
        "json",
        "--conn-only",
    ]);
    assert!(o.status.success());
    let lines = rows(&out.join("conn.log"));
    assert_eq!(lines.len(), 34);
    assert!(lines
        .iter()
        .all(|l| l.starts_with("{\"ts\":") && l.ends_with('}')));
}

#[test]
fn other_tools_logs_are_read_by_content() {
    let out = out_dir("argus");
    let o = slipstream(&[
        "-f",
        "testdata/slips/inputs/test11-portscan.binetflow",
        "-o",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("records"), "{stderr}");
    assert!(!rows(&out.join("conn.log")).is_empty());
}

#[test]
fn argus_lines_from_stdin() {
    let out = out_dir("stdin");
    let sample =
        std::fs::read_to_string(repo().join("testdata/slips/inputs/test11-portscan.binetflow"))
            .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .current_dir(repo())
        .args(["-f", "argus", "-o", out.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sample.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let flows = sample
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(rows(&out.join("conn.log")).len(), flows);
}

#[test]
fn unknown_input_is_a_clear_error() {
    let out = out_dir("bad");
    let o = slipstream(&["-f", "README.md", "-o", out.to_str().unwrap()]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("README.md"), "{stderr}");
}

#[test]
fn truncated_capture_keeps_what_came_before() {
    let out = out_dir("truncated");
    let full = std::fs::read(repo().join("testdata/slips/test7-malicious.pcap")).unwrap();
    let cut = out_dir("truncated-input").with_extension("pcap");
    std::fs::write(&cut, &full[..full.len() / 2 + 7]).unwrap();
    let o = slipstream(&["-f", cut.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    // Slips' default debug level 0 prints no error, only where they were written.
    assert!(!stderr.contains("inside a packet record"), "{stderr}");
    assert!(stderr.contains("1 problems written to"), "{stderr}");
    assert!(!rows(&out.join("conn.log")).is_empty());
    let errors = std::fs::read_to_string(out.join("errors.log")).unwrap();
    assert!(
        errors.contains("file is truncated inside a packet record"),
        "{errors}"
    );

    // `-e 1` prints it, naming the file and the place.
    let o = slipstream(&[
        "-f",
        cut.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-e",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("file is truncated inside a packet record"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains(cut.to_str().unwrap()) && line.contains("byte offset"),
        "{line}"
    );
}

#[test]
fn verbosity_levels_follow_slips() {
    let pcap = repo().join("testdata/slips/test7-malicious.pcap");
    let out = out_dir("verbosity");
    let run = |v: &str| {
        let o = slipstream(&[
            "-f",
            pcap.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-v",
            v,
        ]);
        assert!(o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert_eq!(run("0"), "");
    let one = run("1");
    assert!(one.contains("Generated an alert"), "{one}");
    assert!(one.contains("evidence by threat level"), "{one}");
    assert!(!one.contains("Detected"), "evidence is level 2: {one}");
    let two = run("2");
    assert!(two.contains("as Pcap") && two.contains("Detected"), "{two}");
    assert!(!two.contains("new profile"), "{two}");
    let three = run("3");
    assert!(three.contains("new profile 192.168.2.16"), "{three}");
    assert!(
        three.contains("profile 192.168.2.16: time window 1 starts"),
        "{three}"
    );
}

/// A capture long enough to be interrupted: the sample's packets repeated with their
/// times shifted, written as a classic pcap.
fn long_capture(path: &Path, repeats: u32) {
    let sample = std::fs::read(repo().join("testdata/slips/test7-malicious.pcap")).unwrap();
    let (header, body) = sample.split_at(24);
    let span = 3600u32;
    let mut out = Vec::with_capacity(body.len() * repeats as usize + 24);
    out.extend_from_slice(header);
    for r in 0..repeats {
        let mut at = 0;
        while at + 16 <= body.len() {
            let secs = u32::from_le_bytes(body[at..at + 4].try_into().unwrap());
            let incl = u32::from_le_bytes(body[at + 8..at + 12].try_into().unwrap()) as usize;
            out.extend_from_slice(&(secs + r * span).to_le_bytes());
            out.extend_from_slice(&body[at + 4..at + 16 + incl]);
            at += 16 + incl;
        }
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn sigterm_mid_capture_leaves_well_formed_output() {
    let out = out_dir("sigterm");
    let input = out_dir("sigterm-input").with_extension("pcap");
    long_capture(&input, 400);
    let child = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .current_dir(repo())
        .args([
            "-f",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--workers",
            "2",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the run has produced output, then stop it.
    for _ in 0..200 {
        if out.join("conn.log").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let conn = std::fs::read_to_string(out.join("conn.log")).unwrap();
    assert!(
        conn.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("#close\t"),
        "footer written"
    );
    let written = rows(&out.join("conn.log")).len();
    assert!(written > 0);
    // Every line is a whole record, and flows.sqlite is committed and readable.
    assert!(rows(&out.join("conn.log"))
        .iter()
        .all(|l| l.split('\t').count() == 22));
    let db = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from flows').fetchone()[0])",
            out.join("flows.sqlite").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stored: usize = String::from_utf8_lossy(&db.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert_eq!(stored, written, "every logged flow is in flows.sqlite");
    let _ = std::fs::remove_file(&input);
}

#[test]
fn export_dumps_labelled_flows() {
    let out = out_dir("export");
    let o = slipstream(&[
        "-f",
        "testdata/slips/test7-malicious.pcap",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let e = slipstream(&["export", out.to_str().unwrap(), "--format", "json"]);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let text = String::from_utf8_lossy(&e.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), rows(&out.join("conn.log")).len());
    assert!(lines
        .iter()
        .all(|l| l.contains("\"label\":\"benign\"") || l.contains("\"label\":\"malicious\"")));
    assert!(
        lines.iter().any(|l| l.contains("\"label\":\"malicious\"")),
        "test7 raises alerts"
    );
}
