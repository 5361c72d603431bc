//! Telnet, rlogin and rsh logins through the whole engine: a capture crafted here (TCP
//! handshakes, data both ways, closes) gives login.log rows and names each connection's
//! service. The same capture is kept as `testdata/login/logins.pcap` for the CLI test
//! and the fuzz seeds; `SLIPSTREAM_WRITE_TESTDATA=1` rewrites it after a change here.

mod common;

use std::net::Ipv4Addr;

use common::pcap_writer::*;
use dissectors::Record;
use engine::pipeline::{collect_file, PipelineConfig};

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 20);
const TELNET_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 23);
const R_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 24);

/// One TCP connection: handshake, `(from the client, bytes)` segments, FIN both ways;
/// packets 100 ms apart from `start` (seconds).
fn conversation(
    frames: &mut Vec<Frame>,
    start: i64,
    (client, sport): (Ipv4Addr, u16),
    (server, dport): (Ipv4Addr, u16),
    segments: &[(bool, &[u8])],
) {
    let mut ts = start * 1_000_000;
    let mut next = |frames: &mut Vec<Frame>, from_client: bool, t: Tcp<'_>| {
        let ip = if from_client {
            ipv4_tcp(client, server, sport, dport, t)
        } else {
            ipv4_tcp(server, client, dport, sport, t)
        };
        frames.push(Frame::new(ts, ethernet(&ip)));
        ts += 100_000;
    };
    let (mut cseq, mut sseq) = (1000u32, 5000u32);
    let tcp = |seq, ack, flags, payload| Tcp {
        seq,
        ack,
        flags,
        payload,
    };
    next(frames, true, tcp(cseq, 0, SYN, &[]));
    next(frames, false, tcp(sseq, cseq + 1, SYN | ACK, &[]));
    cseq += 1;
    sseq += 1;
    next(frames, true, tcp(cseq, sseq, ACK, &[]));
    for (from_client, bytes) in segments {
        if *from_client {
            next(frames, true, tcp(cseq, sseq, PSH | ACK, bytes));
            cseq += bytes.len() as u32;
        } else {
            next(frames, false, tcp(sseq, cseq, PSH | ACK, bytes));
            sseq += bytes.len() as u32;
        }
    }
    next(frames, true, tcp(cseq, sseq, FIN | ACK, &[]));
    next(frames, false, tcp(sseq, cseq + 1, FIN | ACK, &[]));
    next(frames, true, tcp(cseq + 1, sseq + 1, ACK, &[]));
}

/// Four logins: telnet success, telnet failure, rlogin success, rsh command.
fn logins_capture() -> Vec<u8> {
    let mut frames = Vec::new();
    conversation(
        &mut frames,
        1_601_998_360,
        (CLIENT, 51234),
        (TELNET_SERVER, 23),
        &[
            (false, b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x27"),
            (true, b"\xff\xfb\x18\xff\xfb\x20\xff\xfb\x27"),
            (false, b"\r\nUbuntu 20.04 LTS\r\nrouter login: "),
            (true, b"root\r\0"),
            (false, b"root\r\nPassword: "),
            (true, b"toor\r\0"),
            (
                false,
                b"\r\nLast login: Mon Oct  5 10:00:00 UTC 2020 from 10.0.0.1\r\n$ ",
            ),
            (true, b"exit\r\0"),
        ],
    );
    conversation(
        &mut frames,
        1_601_998_370,
        (CLIENT, 51240),
        (TELNET_SERVER, 23),
        &[
            (false, b"login: "),
            (true, b"admin\r\n"),
            (false, b"admin\r\nPassword: "),
            (true, b"1234\r\n"),
            (false, b"\r\nLogin incorrect\r\n"),
        ],
    );
    conversation(
        &mut frames,
        1_601_998_380,
        (CLIENT, 1022),
        (R_SERVER, 513),
        &[
            (true, b"\0localuser\0root\0xterm/38400\0"),
            (false, b"\0"),
            (false, b"Password: "),
            (true, b"s3cret\r"),
            (
                false,
                b"\r\nLast login: Tue Oct  6 09:00:00 from client\r\n",
            ),
        ],
    );
    conversation(
        &mut frames,
        1_601_998_390,
        (CLIENT, 1021),
        (R_SERVER, 514),
        &[
            (true, b"0\0alice\0root\0id\0"),
            (false, b"\0uid=0(root) gid=0(root)\n"),
        ],
    );
    pcap(ETHERNET, &frames).0
}

fn run(bytes: &[u8]) -> Vec<Record> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("login");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("logins.pcap");
    std::fs::write(&path, bytes).unwrap();
    let config = PipelineConfig {
        workers: 2,
        ..PipelineConfig::default()
    };
    let records = collect_file(&path, &config).expect("run").0;
    let _ = std::fs::remove_dir_all(&dir);
    records
}

#[test]
fn logins_from_a_capture() {
    let records = run(&logins_capture());
    let logins: Vec<_> = records
        .iter()
        .filter_map(|r| match r {
            Record::Login(l) => Some(l),
            _ => None,
        })
        .collect();
    let summary: Vec<_> = logins
        .iter()
        .map(|l| {
            (
                l.id.resp_p,
                l.proto.as_deref().unwrap(),
                l.success,
                l.confused,
                l.user.as_deref(),
                l.client_user.as_deref(),
                l.password.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (23, "telnet", true, false, Some("root"), None, Some("toor")),
            (
                23,
                "telnet",
                false,
                false,
                Some("admin"),
                None,
                Some("1234")
            ),
            (
                513,
                "rlogin",
                true,
                false,
                Some("root"),
                Some("localuser"),
                Some("s3cret")
            ),
            (514, "rsh", true, false, Some("root"), Some("alice"), None),
        ]
    );
    // Each row carries its connection's uid, and that connection names the service.
    for l in &logins {
        let conn = records
            .iter()
            .find_map(|r| match r {
                Record::Conn(c) if c.uid == l.uid => Some(c),
                _ => None,
            })
            .expect("the login's connection");
        assert_eq!(conn.service.as_deref(), l.proto.as_deref());
    }
}

#[test]
fn the_kept_capture_is_the_crafted_one() {
    let path = common::testdata().join("login/logins.pcap");
    let crafted = logins_capture();
    if std::env::var_os("SLIPSTREAM_WRITE_TESTDATA").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &crafted).unwrap();
    }
    let kept = std::fs::read(&path).expect("testdata/login/logins.pcap");
    assert!(
        kept == crafted,
        "{} is stale: rewrite it (see the module doc)",
        path.display()
    );
}
