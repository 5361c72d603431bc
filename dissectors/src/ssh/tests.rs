//! The dissector over the TCP payloads of Zeek's SSH test traces
//! (`dissectors/tests/fixtures/ssh/`), compared with Zeek's ssh.log baselines.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::*;
use crate::analyzer::Verdict;
use crate::record::Record;
use crate::software::{SoftwareRecord, SoftwareTracker};
use crate::zeek::{LogFormat, LogWriter};

struct Fixture {
    id: ConnId,
    /// `(ts, is_orig, bytes)` per delivery.
    events: Vec<(i64, bool, Vec<u8>)>,
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn load(path: &Path) -> Fixture {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().trim_start_matches("# ");
    let (orig, resp) = header.split_once(" -> ").unwrap();
    let ep = |s: &str| {
        let (h, p) = s.rsplit_once(':').unwrap();
        (h.parse::<IpAddr>().unwrap(), p.parse::<u16>().unwrap())
    };
    let ((orig_h, orig_p), (resp_h, resp_p)) = (ep(orig), ep(resp));
    let events = lines
        .map(|l| {
            let mut f = l.split(' ');
            let ts = f.next().unwrap().parse().unwrap();
            let is_orig = f.next().unwrap() == "o";
            let payload = f.next().unwrap();
            let bytes = match payload.strip_prefix('=') {
                Some(len) => vec![0; len.parse().unwrap()],
                None => hex(payload),
            };
            (ts, is_orig, bytes)
        })
        .collect();
    Fixture {
        id: ConnId {
            orig_h,
            orig_p,
            resp_h,
            resp_p,
            proto: Transport::Tcp,
        },
        events,
    }
}

struct Run {
    /// Records, each with whether it came out before `finish`.
    records: Vec<(Record, bool)>,
    verdict: Verdict,
}

fn run(fx: &Fixture) -> Run {
    let mut d = SshDissector::new();
    let uid = Uid::connection(1);
    let mut out = Vec::new();
    let mut records = Vec::new();
    let mut verdict = Verdict::Undecided;
    for (ts, is_orig, data) in &fx.events {
        let mut cx = Context::new(uid, &fx.id, Timestamp(*ts), &mut out);
        d.deliver(&mut cx, *is_orig, data);
        if cx.verdict() != Verdict::Undecided {
            verdict = cx.verdict();
        }
        records.extend(out.drain(..).map(|r| (r, true)));
    }
    let last = fx.events.last().map_or(0, |e| e.0);
    let mut cx = Context::new(uid, &fx.id, Timestamp(last), &mut out);
    d.finish(&mut cx);
    records.extend(out.drain(..).map(|r| (r, false)));
    Run { records, verdict }
}

fn fixtures(prefix: &str) -> Vec<Fixture> {
    let dir = manifest().join("tests/fixtures/ssh");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with(prefix) && name.ends_with(".txt")
        })
        .collect();
    paths.sort();
    paths.iter().map(|p| load(p)).collect()
}

/// Data rows of a Zeek baseline log, as column vectors.
fn baseline(pair: &str, log: &str) -> Vec<Vec<String>> {
    let path = manifest().join("../testdata/zeek").join(pair).join(log);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Our record as Zeek's TSV writer renders it.
fn render<R: ZeekRecord>(r: &R) -> Vec<String> {
    let mut out = Vec::new();
    let epoch = std::time::SystemTime::UNIX_EPOCH;
    let mut w = LogWriter::new::<R>(&mut out, LogFormat::Tsv, epoch).unwrap();
    w.write(r).unwrap();
    w.close(epoch).unwrap();
    let text = String::from_utf8(out).unwrap();
    let line = text.lines().find(|l| !l.starts_with('#')).unwrap();
    line.split('\t').map(str::to_owned).collect()
}

fn ssh_records(run: &Run) -> Vec<(&SshRecord, bool)> {
    run.records
        .iter()
        .filter_map(|(r, early)| match r {
            Record::Ssh(s) => Some((s.as_ref(), *early)),
            _ => None,
        })
        .collect()
}

/// Every connection of a pair gives exactly the baseline's row (all columns but ts and
/// uid), and successes are written when they are detected, the rest at the end.
fn check_pair(prefix: &str, pair: &str) {
    let expected = baseline(pair, "ssh.log");
    let fxs = fixtures(prefix);
    assert_eq!(fxs.len(), expected.len(), "one fixture per baseline row");
    let mut by_endpoints: HashMap<Vec<String>, Vec<String>> = HashMap::new();
    for row in expected {
        by_endpoints.insert(row[2..6].to_vec(), row);
    }
    let mut mismatches = Vec::new();
    for fx in &fxs {
        let run = run(fx);
        assert_eq!(run.verdict, Verdict::Confirmed, "{:?}", fx.id);
        let recs = ssh_records(&run);
        assert_eq!(recs.len(), 1, "{:?}", fx.id);
        let (rec, early) = recs[0];
        assert_eq!(
            rec.ts,
            Timestamp(fx.events[0].0),
            "session starts at the first banner"
        );
        let ours = render(rec);
        let theirs = &by_endpoints[&ours[2..6].to_vec()];
        if ours[2..] != theirs[2..] {
            mismatches.push(format!(
                "ours   {:?}\nzeek's {:?}",
                &ours[2..],
                &theirs[2..]
            ));
        }
        assert_eq!(early, rec.auth_success == Some(true), "{:?}", fx.id);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn matches_zeek_ssh_basic() {
    check_pair("basic-", "ssh-basic-default");
}

#[test]
fn matches_zeek_ssh_curve25519() {
    check_pair("curve25519-", "ssh-curve25519");
}

#[test]
fn server_software_of_the_basic_trace() {
    let mut tracker = SoftwareTracker::default();
    let mut found = Vec::new();
    for fx in fixtures("basic-") {
        for (r, _) in run(&fx).records {
            if let Record::SoftwareFound(f) = r {
                found.push(f);
            }
        }
    }
    found.sort_by_key(|f| f.ts);
    // Two sightings (client, server) per connection.
    assert_eq!(found.len(), 44);
    let rows: Vec<SoftwareRecord> = found.iter().filter_map(|f| tracker.found(f)).collect();
    let summary: Vec<String> = rows
        .iter()
        .map(|r| {
            let cols = render(r);
            cols[1..].join(" ")
        })
        .collect();
    let has = |s: &str| summary.iter().any(|r| r == s);
    assert!(
        has("192.168.2.158 22 SSH::SERVER OpenSSH 6 6 1 - p1 OpenSSH_6.6.1p1 Ubuntu-2ubuntu2"),
        "{summary:#?}"
    );
    assert!(
        has("192.168.2.158 2200 SSH::SERVER paramiko 1 15 2 - - paramiko_1.15.2"),
        "{summary:#?}"
    );
    assert!(
        has("192.168.1.79 - SSH::CLIENT OpenSSH 5 9 - - - OpenSSH_5.9"),
        "{summary:#?}"
    );
    assert!(
        has("192.168.1.32 - SSH::CLIENT OpenSSH 6 6 - - p1 OpenSSH_6.6p1-hpn14v4"),
        "{summary:#?}"
    );
    // Remote servers (131.159.21.1 ...) are not tracked.
    assert!(
        !summary.iter().any(|r| r.starts_with("131.")),
        "{summary:#?}"
    );
    // The trace joins captures from several days: 192.168.2.158's sshd is logged on
    // 2014-12-29, again once its entry expired a day later (2015-01-06, then seen for a
    // day without new rows), and on 2015-01-10.
    let server_158 = summary
        .iter()
        .filter(|r| r.starts_with("192.168.2.158 22 "))
        .count();
    assert_eq!(server_158, 3, "{summary:#?}");
    // 192.168.2.1's OpenSSH_6.2 client: 12-29, 12-31, 01-07 (after 5.3 on 01-06), 01-10.
    let client_62 = summary
        .iter()
        .filter(|r| r.starts_with("192.168.2.1 - SSH::CLIENT OpenSSH 6 2 "))
        .count();
    assert_eq!(client_62, 4, "{summary:#?}");
}

fn feed(d: &mut SshDissector, id: &ConnId, chunks: &[(bool, &[u8])]) -> (Vec<Record>, Verdict) {
    let mut out = Vec::new();
    let mut verdict = Verdict::Undecided;
    for (is_orig, data) in chunks {
        let mut cx = Context::new(Uid::connection(7), id, Timestamp(5), &mut out);
        d.deliver(&mut cx, *is_orig, data);
        if cx.verdict() != Verdict::Undecided {
            verdict = cx.verdict();
        }
    }
    let mut cx = Context::new(Uid::connection(7), id, Timestamp(9), &mut out);
    d.finish(&mut cx);
    (out, verdict)
}

fn tcp_id(resp_p: u16) -> ConnId {
    ConnId {
        orig_h: "10.1.1.1".parse().unwrap(),
        orig_p: 40000,
        resp_h: "8.8.8.8".parse().unwrap(),
        resp_p,
        proto: Transport::Tcp,
    }
}

#[test]
fn detection_is_by_content() {
    let mut udp = tcp_id(22);
    udp.proto = Transport::Udp;
    assert!(candidate(&udp).is_none());
    let id = tcp_id(22);
    let (out, verdict) = feed(
        &mut SshDissector::new(),
        &id,
        &[(true, b"GET / HTTP/1.1\r\n")],
    );
    assert_eq!(verdict, Verdict::Violation);
    assert!(out.is_empty());

    // SSH on another port, banners split across deliveries and ending in a lone CR.
    let id = tcp_id(2222);
    let mut d = SshDissector::new();
    let (out, verdict) = feed(
        &mut d,
        &id,
        &[
            (false, b"SS"),
            (false, b"H-2.0-Srv_1.0\r"),
            (false, b"\n"),
            (true, b"SSH-2.0-Cli_2.0\n"),
        ],
    );
    assert_eq!(verdict, Verdict::Undecided);
    let ssh: Vec<&SshRecord> = out
        .iter()
        .filter_map(|r| match r {
            Record::Ssh(s) => Some(s.as_ref()),
            _ => None,
        })
        .collect();
    assert_eq!(ssh.len(), 1);
    assert_eq!(ssh[0].server.as_deref(), Some("SSH-2.0-Srv_1.0"));
    assert_eq!(ssh[0].client.as_deref(), Some("SSH-2.0-Cli_2.0"));
    assert_eq!(ssh[0].version, Some(2));
    assert_eq!(ssh[0].direction, Some(Direction::Outbound));
    assert_eq!(ssh[0].auth_attempts, 0);
    let software = out
        .iter()
        .filter(|r| matches!(r, Record::SoftwareFound(_)))
        .count();
    assert_eq!(software, 2);
}

#[test]
fn a_gap_stops_the_analysis() {
    let fx = &fixtures("basic-192.168.1.32-58646")[0];
    let mut d = SshDissector::new();
    let mut out = Vec::new();
    for (i, (ts, is_orig, data)) in fx.events.iter().enumerate() {
        let mut cx = Context::new(Uid::connection(1), &fx.id, Timestamp(*ts), &mut out);
        if i == 4 {
            d.gap(&mut cx, *is_orig, 10);
        }
        d.deliver(&mut cx, *is_orig, data);
    }
    let mut cx = Context::new(Uid::connection(1), &fx.id, Timestamp(0), &mut out);
    d.finish(&mut cx);
    let ssh: Vec<&SshRecord> = out
        .iter()
        .filter_map(|r| match r {
            Record::Ssh(s) => Some(s.as_ref()),
            _ => None,
        })
        .collect();
    assert_eq!(ssh.len(), 1);
    assert_eq!(ssh[0].auth_success, None);
    assert_eq!(ssh[0].kex_alg, None);
}

#[test]
fn garbage_and_truncation_never_panic() {
    let mut seed = 0x9e37_79b9_u32;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let id = tcp_id(22);
    // Random bytes after valid banners, in random-sized pieces.
    for round in 0..200 {
        let mut d = SshDissector::new();
        let mut out = Vec::new();
        let mut cx = Context::new(Uid::connection(1), &id, Timestamp(1), &mut out);
        d.deliver(&mut cx, true, b"SSH-2.0-x\r\n");
        d.deliver(
            &mut cx,
            false,
            if round % 3 == 0 {
                b"SSH-1.5-y\n"
            } else {
                b"SSH-1.99-y\n"
            },
        );
        for _ in 0..30 {
            let len = (rand() % 300) as usize;
            let mut chunk: Vec<u8> = (0..len).map(|_| rand() as u8).collect();
            if rand() % 4 == 0 && chunk.len() > 6 {
                // Plausible small packet headers.
                chunk[..4].copy_from_slice(&(rand() % 64).to_be_bytes());
                chunk[5] = [20, 21, 31, 33, 3][(rand() % 5) as usize];
            }
            d.deliver(&mut cx, rand() % 2 == 0, &chunk);
        }
        d.finish(&mut cx);
    }
    // Every prefix of a real connection, cut at every byte of its cleartext.
    let fx = &fixtures("curve25519-")[0];
    let stream: Vec<(bool, Vec<u8>)> = fx.events.iter().map(|e| (e.1, e.2.clone())).collect();
    for cut in 0..stream.len() {
        for split in [1usize, 7, 100] {
            let mut d = SshDissector::new();
            let mut out = Vec::new();
            let mut cx = Context::new(Uid::connection(1), &fx.id, Timestamp(1), &mut out);
            for (is_orig, data) in stream.iter().take(cut) {
                for piece in data.chunks(split) {
                    d.deliver(&mut cx, *is_orig, piece);
                }
            }
            d.finish(&mut cx);
        }
    }
    // Pure noise from the first byte, and a banner that never ends.
    let mut d = SshDissector::new();
    let (_, verdict) = feed(&mut d, &id, &[(true, &[0xff; 1000])]);
    assert_eq!(verdict, Verdict::Violation);
    let long = [b'a'; 10_000];
    let mut d = SshDissector::new();
    let (out, _) = feed(
        &mut d,
        &id,
        &[(true, b"SSH-2.0-"), (true, &long), (true, &long)],
    );
    assert!(out.is_empty());
}
