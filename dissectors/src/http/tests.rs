use super::*;
use crate::analyzer::Verdict;
use crate::files::FileRecord;
use crate::record::Record;
use crate::time::Timestamp;
use crate::zeek::{LogFormat, LogWriter, ZeekRecord};
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/http")
}

fn baseline_dir(pair: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/zeek")
        .join(pair)
}

struct Fixture {
    id: ConnId,
    chunks: Vec<(Timestamp, bool, Vec<u8>)>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn load(path: &std::path::Path) -> Fixture {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines
        .next()
        .unwrap()
        .trim_start_matches("# ")
        .split(' ')
        .collect();
    let id = ConnId {
        orig_h: head[0].parse().unwrap(),
        orig_p: head[1].parse().unwrap(),
        resp_h: head[2].parse().unwrap(),
        resp_p: head[3].parse().unwrap(),
        proto: Transport::Tcp,
    };
    let chunks = lines
        .map(|l| {
            let mut it = l.split(' ');
            let ts = Timestamp(it.next().unwrap().parse().unwrap());
            let is_orig = it.next().unwrap() == "o";
            (ts, is_orig, unhex(it.next().unwrap()))
        })
        .collect();
    Fixture { id, chunks }
}

/// Feeds a connection to a fresh dissector; returns the records and the final verdict.
fn run_chunks(
    id: &ConnId,
    chunks: &[(Timestamp, bool, Vec<u8>)],
    split: usize,
) -> (Vec<Record>, Verdict) {
    let uid = Uid::connection(mix96(&[u64::from(id.orig_p), u64::from(id.resp_p)]));
    let mut d = HttpDissector::new(HttpConfig::default());
    let mut out = Vec::new();
    let mut verdict = Verdict::Undecided;
    let mut last = Timestamp(0);
    for (ts, is_orig, data) in chunks {
        last = *ts;
        for piece in data.chunks(split.max(1)) {
            let mut cx = Context::new(uid, id, *ts, &mut out);
            d.deliver(&mut cx, *is_orig, piece);
            match cx.verdict() {
                Verdict::Undecided => {}
                v => {
                    if verdict != Verdict::Violation {
                        verdict = v;
                    }
                }
            }
            if verdict == Verdict::Violation {
                return (out, verdict);
            }
        }
    }
    let mut cx = Context::new(uid, id, last, &mut out);
    d.finish(&mut cx);
    (out, verdict)
}

fn tsv_row<R: ZeekRecord>(r: &R) -> Vec<String> {
    let t0 = std::time::SystemTime::UNIX_EPOCH;
    let mut w = LogWriter::new::<R>(Vec::new(), LogFormat::Tsv, t0).unwrap();
    w.write(r).unwrap();
    let out = String::from_utf8(w.close(t0).unwrap()).unwrap();
    let line = out
        .lines()
        .find(|l| !l.starts_with('#'))
        .unwrap()
        .to_string();
    line.split('\t').map(str::to_string).collect()
}

/// Masks what cannot agree with Zeek: ts, uid and file ids (kept as their count).
fn mask(mut cols: Vec<String>) -> Vec<String> {
    cols[0] = "ts".into();
    cols[1] = "uid".into();
    for i in [24, 27] {
        if cols[i] != "-" {
            cols[i] = format!("{} fuid(s)", cols[i].split(',').count());
        }
    }
    cols
}

fn http_records(recs: &[Record]) -> Vec<&HttpRecord> {
    recs.iter()
        .filter_map(|r| match r {
            Record::Http(h) => Some(h.as_ref()),
            _ => None,
        })
        .collect()
}

fn file_records(recs: &[Record]) -> Vec<&FileRecord> {
    recs.iter()
        .filter_map(|r| match r {
            Record::Files(f) => Some(f.as_ref()),
            _ => None,
        })
        .collect()
}

/// Runs every fixture of `pair` and compares http.log with Zeek's baseline, row by row
/// (rows keyed by originator endpoint and trans_depth).
fn check_pair(pair: &str, split: usize) -> Vec<Record> {
    let mut all = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(fixtures_dir().join(pair))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let fx = load(&path);
        let (recs, _) = run_chunks(&fx.id, &fx.chunks, split);
        all.extend(recs);
    }
    let baseline = std::fs::read_to_string(baseline_dir(pair).join("http.log")).unwrap();
    let mut expected: Vec<Vec<String>> = baseline
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| mask(l.split('\t').map(str::to_string).collect()))
        .collect();
    let mut got: Vec<Vec<String>> = http_records(&all)
        .iter()
        .map(|r| mask(tsv_row(*r)))
        .collect();
    let key = |c: &Vec<String>| {
        (
            c[2].clone(),
            c[3].parse::<u32>().unwrap(),
            c[6].parse::<u32>().unwrap(),
        )
    };
    expected.sort_by_key(key);
    got.sort_by_key(key);
    assert_eq!(got, expected, "{pair} (split {split})");
    all
}

#[test]
fn conformance_wikipedia() {
    for split in [usize::MAX, 1, 7] {
        check_pair("wikipedia-default", split);
    }
}

#[test]
fn conformance_pipelining() {
    for split in [usize::MAX, 3] {
        let recs = check_pair("http-pipelining", split);
        let http = http_records(&recs);
        let files = file_records(&recs);
        assert_eq!(files.len(), 5);
        for h in http {
            let fuid = h.resp_fuids.as_ref().unwrap()[0];
            let f = files
                .iter()
                .find(|f| f.fuid == fuid)
                .expect("file record for fuid");
            assert_eq!(f.seen_bytes, h.response_body_len);
            if f.mime_type.is_some_and(|m| m.starts_with("image/")) {
                assert_eq!(f.total_bytes, Some(h.response_body_len));
            } else {
                assert_eq!(f.total_bytes, None, "gzip-encoded: no size");
            }
            assert_eq!(
                f.mime_type,
                h.resp_mime_types.as_ref().unwrap().first().copied()
            );
            assert_eq!(
                (f.is_orig, f.local_orig, f.source),
                (Some(false), Some(false), Some("HTTP"))
            );
            assert_eq!(f.uid, Some(h.uid));
            assert!(f.md5.is_some() && f.sha1.is_some());
        }
    }
}

#[test]
fn conformance_x_gzip() {
    let recs = check_pair("http-x-gzip", usize::MAX);
    let files = file_records(&recs);
    assert_eq!(files.len(), 1);
    let f = files[0];
    // Zeek resets the encoding before flushing the last (here: only) piece of the body,
    // so the file gets the Content-Length (compressed size) as its total.
    assert_eq!((f.seen_bytes, f.total_bytes), (19, Some(39)));
    let row = tsv_row(f);
    let expect_md5: String = {
        use md5::{Digest, Md5};
        Md5::digest(b"Encoded gzip header")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(row[21], expect_md5);
    assert_eq!(
        (row[10].as_str(), row[9].as_str()),
        ("text/plain", "MD5,SHA1")
    );
    check_pair("http-x-gzip", 5);
}

#[test]
fn conformance_100_continue_chunked() {
    for split in [usize::MAX, 2, 11] {
        let recs = check_pair("http-100-continue-chunked", split);
        let files = file_records(&recs);
        assert_eq!(files.len(), 2);
        let req = files.iter().find(|f| f.is_orig == Some(true)).unwrap();
        assert_eq!((req.seen_bytes, req.total_bytes), (2001, Some(2001)));
        let resp = files.iter().find(|f| f.is_orig == Some(false)).unwrap();
        assert_eq!((resp.seen_bytes, resp.total_bytes), (60731, None));
        assert_eq!(resp.mime_type, Some("text/html"));
    }
}

#[test]
fn conformance_eth_padding_on_odd_port() {
    for split in [usize::MAX, 1] {
        check_pair("http-eth-padding-default", split);
    }
}

#[test]
fn conformance_vlan_mpls_and_http09() {
    for split in [usize::MAX, 4] {
        check_pair("vlan-mpls-http", split);
    }
    // The telnet connection of that trace is rejected.
    let fx = load(&fixtures_dir().join("vlan-mpls-http/10.1.2.1_11001-10.34.0.1_23.txt"));
    let (recs, verdict) = run_chunks(&fx.id, &fx.chunks, usize::MAX);
    assert_eq!(verdict, Verdict::Violation);
    assert!(recs.is_empty());
}

#[test]
fn conformance_teredo() {
    for split in [usize::MAX, 9] {
        check_pair("teredo-tunnel-states", split);
    }
}

fn conn_id() -> ConnId {
    ConnId {
        orig_h: "10.0.0.1".parse().unwrap(),
        orig_p: 40000,
        resp_h: "93.184.216.34".parse().unwrap(),
        resp_p: 8080,
        proto: Transport::Tcp,
    }
}

fn run_script(script: &[(bool, &[u8])], split: usize) -> (Vec<Record>, Verdict) {
    let chunks: Vec<_> = script
        .iter()
        .enumerate()
        .map(|(i, (o, d))| (Timestamp(1_000_000 + i as i64), *o, d.to_vec()))
        .collect();
    run_chunks(&conn_id(), &chunks, split)
}

#[test]
fn headers_auth_proxies_filenames_and_software() {
    let req: &[u8] = b"POST /up%20load HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8.0\r\nOrigin: http://a\r\nAuthorization: Basic dXNlcjpwYXNz\r\nX-Forwarded-For: 1.2.3.4\r\nVia: 1.1 proxy\r\nContent-Type: multipart/form-data\r\nContent-Disposition: attachment; filename=\"evil.exe\"\r\nContent-Length: 4\r\n\r\nMZ\x90\x00";
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx/1.2.3\r\nContent-Length: 0\r\n\r\n";
    for split in [usize::MAX, 1] {
        let (recs, verdict) = run_script(&[(true, req), (false, resp)], split);
        assert_eq!(verdict, Verdict::Confirmed);
        let http = http_records(&recs);
        assert_eq!(http.len(), 1);
        let h = http[0];
        assert_eq!(h.uri.as_deref(), Some("/up load"));
        assert_eq!(h.host.as_deref(), Some("example.com:8080"));
        assert_eq!(h.origin.as_deref(), Some("http://a"));
        assert_eq!(h.username.as_deref(), Some("user"));
        assert_eq!(h.password, None, "not captured by default");
        assert_eq!(
            h.proxied.as_deref(),
            Some(
                &[
                    "X-FORWARDED-FOR -> 1.2.3.4".to_string(),
                    "VIA -> 1.1 proxy".to_string()
                ][..]
            )
        );
        assert_eq!(h.request_body_len, 4);
        assert_eq!(
            h.orig_filenames.as_deref(),
            Some(&["evil.exe".to_string()][..])
        );
        assert_eq!(
            h.orig_mime_types.as_deref(),
            Some(&["application/x-dosexec"][..])
        );
        let files = file_records(&recs);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].filename.as_deref(), Some("evil.exe"));
        assert_eq!(files[0].total_bytes, Some(4));
        let sw: Vec<_> = recs
            .iter()
            .filter_map(|r| match r {
                Record::SoftwareFound(s) => Some((s.software_type, s.host_p)),
                _ => None,
            })
            .collect();
        assert_eq!(
            sw,
            vec![
                (SoftwareType::HttpBrowser, None),
                (SoftwareType::HttpServer, Some(8080))
            ]
        );
    }
}

#[test]
fn unanswered_requests_are_logged_at_finish() {
    let (recs, _) = run_script(
        &[(
            true,
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        )],
        usize::MAX,
    );
    let http = http_records(&recs);
    assert_eq!(http.len(), 2);
    assert_eq!(
        (http[0].trans_depth, http[0].uri.as_deref()),
        (1, Some("/a"))
    );
    assert_eq!(
        (http[1].trans_depth, http[1].uri.as_deref()),
        (2, Some("/b"))
    );
    assert!(http.iter().all(|h| h.status_code.is_none()));
}

#[test]
fn head_replies_have_no_body_and_bodies_until_close() {
    let (recs, _) = run_script(
        &[
            (true, b"HEAD / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n"),
            (false, b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"),
            (
                false,
                b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsome body until the end",
            ),
        ],
        usize::MAX,
    );
    let http = http_records(&recs);
    assert_eq!(http.len(), 2);
    assert_eq!(http[0].response_body_len, 0);
    assert_eq!(http[1].response_body_len, 23);
    assert_eq!(
        http[1].resp_mime_types.as_deref(),
        Some(&["text/plain"][..])
    );
}

#[test]
fn line_mode_body_counts_crlf_like_zeek() {
    // HTTP/1.0 reply, no length, no Connection: close: delivered line by line.
    let (recs, _) = run_script(
        &[
            (true, b"GET / HTTP/1.0\r\n\r\n"),
            (false, b"HTTP/1.0 200 OK\r\n\r\nab\ncd"),
        ],
        usize::MAX,
    );
    let http = http_records(&recs);
    assert_eq!(http[0].response_body_len, 8, "two lines, each +2");
    assert_eq!(file_records(&recs)[0].seen_bytes, 8);
}

#[test]
fn gap_inside_body_is_skipped() {
    let id = conn_id();
    let uid = Uid::connection(1);
    let mut d = HttpDissector::new(HttpConfig::default());
    let mut out = Vec::new();
    let mut step = |d: &mut HttpDissector, f: &dyn Fn(&mut HttpDissector, &mut Context<'_>)| {
        let mut cx = Context::new(uid, &id, Timestamp(5), &mut out);
        f(d, &mut cx);
    };
    step(&mut d, &|d, cx| {
        d.deliver(cx, true, b"GET / HTTP/1.1\r\n\r\n")
    });
    step(&mut d, &|d, cx| {
        d.deliver(
            cx,
            false,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        )
    });
    step(&mut d, &|d, cx| d.gap(cx, false, 4));
    step(&mut d, &|d, cx| d.deliver(cx, false, b"xyz"));
    step(&mut d, &|d, cx| {
        d.deliver(cx, true, b"GET /2 HTTP/1.1\r\n\r\n")
    });
    step(&mut d, &|d, cx| d.finish(cx));
    let http = http_records(&out);
    assert_eq!(http.len(), 2);
    assert_eq!(http[0].response_body_len, 10);
    let f = file_records(&out)[0];
    assert_eq!((f.seen_bytes, f.missing_bytes, f.md5.clone()), (6, 4, None));
}

#[test]
fn non_http_is_rejected_early() {
    for (is_orig, data) in [
        (true, &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..]),
        (false, b"SSH-2.0-OpenSSH_8.9\r\n"),
        (false, b"220 mail.example.com ESMTP\r\n"),
        (true, b"EHLO example.com\r\n"),
        (true, b"SSH-2.0-OpenSSH_8.9\r\n"),
    ] {
        let (recs, verdict) = run_script(&[(is_orig, data)], 1);
        assert_eq!(verdict, Verdict::Violation, "{data:?}");
        assert!(recs.is_empty());
    }
    // A lone first byte of a request is not enough to decide either way.
    let (_, verdict) = run_script(&[(true, b"G")], usize::MAX);
    assert_eq!(verdict, Verdict::Undecided);
}

#[test]
fn garbage_never_panics_and_state_stays_bounded() {
    let mut seed = 0x9e37_79b9u32;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let pieces: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\n",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"Content-Length: 5\r\n",
        b"Content-Length: -3\r\n",
        b"Content-Encoding: gzip\r\n",
        b"Content-Range: bytes 0-4/10\r\n",
        b"Content-Disposition: filename*=a'b'%\r\n",
        b"Authorization: Basic ====\r\n",
        b"\r\n",
        b"ffffffffffffffff\r\n",
        b"0\r\n\r\n",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
        b"\r",
        b"\n",
        b" continued\r\n",
    ];
    for round in 0..300 {
        let mut script: Vec<(bool, Vec<u8>)> = Vec::new();
        for _ in 0..(rnd() % 30) {
            let is_orig = rnd() % 2 == 0;
            let data = if rnd() % 3 == 0 {
                (0..rnd() % 64).map(|_| rnd() as u8).collect()
            } else {
                pieces[rnd() as usize % pieces.len()].to_vec()
            };
            script.push((is_orig, data));
        }
        let chunks: Vec<_> = script
            .into_iter()
            .map(|(o, d)| (Timestamp(round), o, d))
            .collect();
        let _ = run_chunks(&conn_id(), &chunks, 1 + (round as usize % 5));
        // Also once confirmed, so nothing is cut short by a violation.
        let mut confirmed = vec![(Timestamp(0), true, b"GET / HTTP/1.1\r\n\r\n".to_vec())];
        confirmed.extend(chunks);
        let _ = run_chunks(&conn_id(), &confirmed, 3);
    }
    // A hostile endless header line does not grow the buffer without limit.
    let id = conn_id();
    let mut d = HttpDissector::new(HttpConfig::default());
    let mut out = Vec::new();
    let mut cx = Context::new(Uid::connection(1), &id, Timestamp(0), &mut out);
    d.deliver(&mut cx, true, b"GET / HTTP/1.1\r\nX-Long: ");
    let blob = vec![b'a'; 1 << 16];
    for _ in 0..64 {
        d.deliver(&mut cx, true, &blob);
    }
    assert!(d.orig.line.capacity() <= 2 * MAX_LINE);
}

/// Every line `take_line` completes, feeding `input` in the pieces `cuts` makes.
fn lines_in_pieces(input: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut side = Side::default();
    let mut lines = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([input.len()]) {
        let mut data = &input[start..end];
        start = end;
        while !data.is_empty() {
            match side.take_line(data) {
                Some(n) => {
                    lines.push(std::mem::take(&mut side.line));
                    data = &data[n..];
                }
                None => break,
            }
        }
    }
    lines
}

#[test]
fn lines_end_at_cr_lf_or_crlf_wherever_the_data_is_cut() {
    let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nx\ry\nz\r\r\nlast\r\n";
    let expected: Vec<&[u8]> = vec![
        b"GET / HTTP/1.1",
        b"Host: a",
        b"",
        b"x",
        b"y",
        b"z",
        b"",
        b"last",
    ];
    assert_eq!(lines_in_pieces(input, &[]), expected);
    for cut in 1..input.len() {
        assert_eq!(lines_in_pieces(input, &[cut]), expected, "cut at {cut}");
        for second in cut + 1..input.len() {
            assert_eq!(
                lines_in_pieces(input, &[cut, second]),
                expected,
                "cuts at {cut} and {second}"
            );
        }
    }
}

#[test]
fn a_line_keeps_at_most_max_line_bytes() {
    let mut input = vec![b'a'; MAX_LINE + 100];
    input.extend_from_slice(b"\r\nnext\n");
    let lines = lines_in_pieces(&input, &[1000, MAX_LINE + 50]);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].len(), MAX_LINE);
    assert_eq!(lines[1], b"next");
}
