//! Whole connections through the dissector: crafted telnet, rlogin and rsh sessions and
//! the login.log rows Slips' Zeek script would write for them.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::analyzer::Verdict;
use crate::record::Record;
use crate::time::Timestamp;
use crate::uid::Uid;

fn id(resp_p: u16) -> ConnId {
    ConnId {
        orig_h: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
        orig_p: 51234,
        resp_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 23)),
        resp_p,
        proto: Transport::Tcp,
    }
}

struct Run {
    rows: Vec<LoginRecord>,
    /// When the first row came (index of the delivery; `None`: at the end).
    first_row_at: Option<Option<usize>>,
    confirmed: bool,
}

/// Runs one connection: `(from the originator, bytes)` per delivery, one second apart.
fn run(resp_p: u16, deliveries: &[(bool, &[u8])]) -> Run {
    let id = id(resp_p);
    let mut d = candidate(&id).expect("a login port");
    let mut out = Vec::new();
    let mut confirmed = false;
    let mut first_row_at = None;
    for (i, (is_orig, data)) in deliveries.iter().enumerate() {
        let ts = Timestamp::from_secs_f64(1000.0 + i as f64);
        let mut cx = Context::new(Uid::connection(7), &id, ts, &mut out);
        d.deliver(&mut cx, *is_orig, data);
        confirmed |= cx.verdict() == Verdict::Confirmed;
        assert_ne!(cx.verdict(), Verdict::Violation);
        if first_row_at.is_none() && !out.is_empty() {
            first_row_at = Some(Some(i));
        }
    }
    let end = Timestamp::from_secs_f64(2000.0);
    let mut cx = Context::new(Uid::connection(7), &id, end, &mut out);
    d.finish(&mut cx);
    confirmed |= cx.verdict() == Verdict::Confirmed;
    if first_row_at.is_none() && !out.is_empty() {
        first_row_at = Some(None);
    }
    let rows = out
        .into_iter()
        .map(|r| match r {
            Record::Login(l) => *l,
            other => panic!("unexpected record {other:?}"),
        })
        .collect();
    Run {
        rows,
        first_row_at,
        confirmed,
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// A Linux telnetd greeting: option negotiation, then the banner and the prompt.
const NEGOTIATION_SERVER: &[u8] = b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27";
const NEGOTIATION_CLIENT: &[u8] =
    b"\xff\xfb\x18\xff\xfb\x20\xff\xfb\x23\xff\xfb\x27\xff\xfa\x18\x00xterm\xff\xf0";

#[test]
fn telnet_successful_login() {
    let r = run(
        23,
        &[
            (false, NEGOTIATION_SERVER),
            (true, NEGOTIATION_CLIENT),
            (
                false,
                b"\xff\xfb\x03\xff\xfb\x01\r\nDebian GNU/Linux 12\r\n",
            ),
            (false, b"router login: "),
            // The client's characters come one at a time, the server echoes them.
            (true, b"r"),
            (false, b"r"),
            (true, b"o"),
            (false, b"o"),
            (true, b"ot\r\0"),
            (false, b"ot\r\n"),
            (false, b"Password: "),
            (true, b"toor\r\0"),
            (
                false,
                b"\r\nLast login: Mon Oct  5 10:00:00 UTC 2020 from 10.0.0.1 on pts/0\r\n",
            ),
            (false, b"root@router:~# "),
        ],
    );
    assert!(r.confirmed);
    assert_eq!(
        r.first_row_at,
        Some(Some(12)),
        "logged at the success message"
    );
    assert_eq!(r.rows.len(), 1);
    let row = &r.rows[0];
    assert_eq!(row.ts, Timestamp::from_secs_f64(1012.0));
    assert_eq!(row.proto, s("telnet"));
    assert!(row.success && !row.confused);
    // The prompt line ends where the echo starts: "router login: root" is one server
    // line, whose text after the prompt is the typed-ahead user.
    assert_eq!(row.user, s("root"));
    assert_eq!(row.client_user, None);
    assert_eq!(row.password, s("toor"));
}

#[test]
fn telnet_failed_logins_write_one_row_each() {
    let r = run(
        23,
        &[
            (false, b"login: "),
            (true, b"admin\r\n"),
            (false, b"admin\r\nPassword: "),
            (true, b"admin\r\n"),
            (false, b"\r\nLogin incorrect\r\nlogin: "),
            (true, b"guest\r\n"),
            (false, b"guest\r\nPassword: "),
            (true, b"123456\r\n"),
            (false, b"\r\nLogin incorrect\r\n"),
        ],
    );
    assert_eq!(r.rows.len(), 2);
    assert!(r.rows.iter().all(|l| !l.success && !l.confused));
    assert_eq!(r.rows[0].user, s("admin"));
    assert_eq!(r.rows[0].password, s("admin"));
    assert_eq!(r.rows[0].ts, Timestamp::from_secs_f64(1004.0));
    // The script keeps the first failure's user and password on the connection.
    assert_eq!(r.rows[1].user, s("admin"));
    assert_eq!(r.rows[1].password, s("admin"));
    assert_eq!(r.rows[1].ts, Timestamp::from_secs_f64(1008.0));
}

#[test]
fn telnet_confused_login_is_written_at_the_end() {
    // The client sends a login prompt of its own: a possible ploy.
    let r = run(
        23,
        &[
            (false, b"login: "),
            (true, b"login: root\r\n"),
            (false, b"Last login: never\r\n"),
        ],
    );
    assert!(r.confirmed);
    assert_eq!(r.first_row_at, Some(None));
    assert_eq!(r.rows.len(), 1);
    let row = &r.rows[0];
    assert!(row.confused && !row.success);
    assert_eq!((row.user.as_deref(), row.password.as_deref()), (None, None));
    assert_eq!(row.ts, Timestamp::from_secs_f64(2000.0));
}

#[test]
fn telnet_environment_names_the_user() {
    let r = run(
        23,
        &[
            (false, b"\xff\xfd\x27"),
            (true, b"\xff\xfb\x27"),
            (false, b"\xff\xfa\x27\x01\xff\xf0"),
            (true, b"\xff\xfa\x27\x00\x00USER\x01alice\xff\xf0"),
            (false, b"Password: "),
            (true, b"secret\r\n"),
            (false, b"\r\nLogin incorrect\r\n"),
        ],
    );
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].user, s("alice"));
    assert_eq!(r.rows[0].password, s("secret"));
}

#[test]
fn typeahead_at_the_end_is_a_success_without_a_user() {
    let r = run(23, &[(false, b"Welcome\r\n"), (true, b"ls\r\n")]);
    assert_eq!(r.rows.len(), 1);
    let row = &r.rows[0];
    assert!(row.success);
    assert_eq!(
        (row.user.as_deref(), row.password.as_deref()),
        (None, Some("ls"))
    );
}

#[test]
fn silence_writes_nothing_and_names_no_service() {
    let r = run(23, &[(false, b"\xff\xfd\x18Welcome\r\n")]);
    assert!(r.rows.is_empty());
    assert!(!r.confirmed);
    assert!(candidate(&id(2323)).is_none());
    for port in PORTS {
        assert!(Protocol::for_port(port).is_some() && candidate(&id(port)).is_some());
    }
    let mut udp = id(23);
    udp.proto = Transport::Udp;
    assert!(candidate(&udp).is_none());
}

#[test]
fn rlogin_with_password() {
    let r = run(
        513,
        &[
            (true, b"\0"),
            (true, b"localuser\0root\0xterm/38400\0"),
            (false, b"\0"),
            (false, b"Password: "),
            (true, b"s3cret\r"),
            (
                false,
                b"\r\nLast login: Tue Oct  6 09:00:00 from client\r\n",
            ),
        ],
    );
    assert!(r.confirmed);
    assert_eq!(r.rows.len(), 1);
    let row = &r.rows[0];
    assert_eq!(row.proto, s("rlogin"));
    assert!(row.success);
    assert_eq!(row.user, s("root"));
    assert_eq!(row.client_user, s("localuser"));
    assert_eq!(row.password, s("s3cret"));
    assert_eq!(row.ts, Timestamp::from_secs_f64(1005.0));
}

#[test]
fn rsh_command_is_not_a_password() {
    let r = run(
        514,
        &[
            (true, b"1021\0alice\0root\0cat /etc/shadow\0"),
            (false, b"\0root:*:19000:0:99999:7:::\n"),
        ],
    );
    assert_eq!(r.rows.len(), 1);
    let row = &r.rows[0];
    assert_eq!(row.proto, s("rsh"));
    assert!(row.success);
    assert_eq!(row.user, s("root"));
    assert_eq!(row.client_user, s("alice"));
    assert_eq!(row.password, None);
    assert_eq!(r.first_row_at, Some(None), "at the end of the connection");
}

#[test]
fn any_bytes_any_split_never_panic_and_stay_bounded() {
    // A deterministic spread of inputs: random bytes biased to the protocols' special
    // values, cut at random places, to every protocol.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    const SPECIAL: &[u8] = b"\xff\xfa\xf0\xfb\xfc\xfd\xfe\x27\x00\x01\x02\x03\r\nsS:";
    for round in 0..300 {
        let port = [23, 513, 514][round % 3];
        let id = id(port);
        let mut d = candidate(&id).unwrap();
        let mut out = Vec::new();
        for _ in 0..(next() % 40) {
            let len = (next() % 300) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 3 == 0 {
                        SPECIAL[(r >> 8) as usize % SPECIAL.len()]
                    } else {
                        (r >> 16) as u8
                    }
                })
                .collect();
            let mut cx = Context::new(Uid::connection(1), &id, Timestamp(0), &mut out);
            if next() % 17 == 0 {
                d.gap(&mut cx, next() % 2 == 0, 10);
            } else {
                d.deliver(&mut cx, next() % 2 == 0, &bytes);
            }
        }
        let mut cx = Context::new(Uid::connection(1), &id, Timestamp(0), &mut out);
        d.finish(&mut cx);
        assert!(out.iter().all(|r| matches!(r, Record::Login(_))));
    }
}

#[test]
fn one_endless_line_keeps_memory_bounded() {
    let id = id(23);
    let mut d = LoginDissector::new(Protocol::Telnet);
    let mut out = Vec::new();
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..64 {
        let mut cx = Context::new(Uid::connection(1), &id, Timestamp(0), &mut out);
        d.deliver(&mut cx, true, &chunk);
    }
    let Framing::Telnet(t) = &d.framing else {
        unreachable!()
    };
    assert!(t.buffered() <= 2 * telnet::MAX_LINE);
}
