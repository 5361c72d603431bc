//! Telnet, rlogin and rsh logins in a capture: login.log is written and each login is
//! LOGIN evidence in alerts.log (capture: `testdata/login/`, see its README).

use std::path::Path;
use std::process::Command;

#[test]
fn capture_logins_give_login_log_and_evidence() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-login");
    let _ = std::fs::remove_dir_all(&out);
    let o = Command::new(env!("CARGO_BIN_EXE_slipstream"))
        .current_dir(&repo)
        .args(["-f", "testdata/login/logins.pcap", "-o"])
        .arg(&out)
        .output()
        .expect("run slipstream");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let login = std::fs::read_to_string(out.join("login.log")).expect("login.log");
    let rows: Vec<Vec<&str>> = login
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    let columns: Vec<Vec<&str>> = rows.iter().map(|r| r[5..].to_vec()).collect();
    assert_eq!(
        columns,
        [
            ["23", "telnet", "T", "F", "root", "-", "toor"],
            ["23", "telnet", "F", "F", "admin", "-", "1234"],
            ["513", "rlogin", "T", "F", "root", "localuser", "s3cret"],
            ["514", "rsh", "T", "F", "root", "alice", "-"],
        ]
    );

    let alerts = std::fs::read_to_string(out.join("alerts.log")).expect("alerts.log");
    for expected in [
        "successful telnet login for user root. destination IP: 10.0.0.23.",
        "failed telnet login for user admin. destination IP: 10.0.0.23.",
        "successful rlogin login for user root. destination IP: 10.0.0.24.",
        "successful rsh login for user root. destination IP: 10.0.0.24.",
    ] {
        assert!(
            alerts
                .lines()
                .any(|l| l.contains("Src IP 192.168.1.20") && l.contains(expected)),
            "no evidence `{expected}` in alerts.log:\n{alerts}"
        );
    }
    let conn = std::fs::read_to_string(out.join("conn.log")).expect("conn.log");
    for service in ["\ttelnet\t", "\trlogin\t", "\trsh\t"] {
        assert!(conn.contains(service), "conn.log lacks {service:?}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
