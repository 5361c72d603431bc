//! Tests against the TCP payloads of Zeek's test traces (see
//! `dissectors/tests/fixtures/ssl/README.md`) and their ssl.log baselines.

use std::net::IpAddr;

use super::*;
use crate::analyzer::Verdict;
use crate::record::Record;
use crate::zeek::{LogFormat, LogWriter};

struct Run {
    records: Vec<Record>,
    verdict: Verdict,
}

/// Feeds a fixture (`# orig_h orig_p resp_h resp_p`, then `o|r ts_us hex` lines) to a
/// fresh dissector, split into pieces of at most `chunk` bytes.
fn run_fixture(text: &str, chunk: usize) -> Run {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .trim_start_matches('#')
        .split_whitespace()
        .collect();
    let id = ConnId {
        orig_h: header[0].parse::<IpAddr>().unwrap(),
        orig_p: header[1].parse().unwrap(),
        resp_h: header[2].parse::<IpAddr>().unwrap(),
        resp_p: header[3].parse().unwrap(),
        proto: Transport::Tcp,
    };
    let uid = Uid::connection(42);
    let mut d = candidate(&id).unwrap();
    let mut out = Vec::new();
    let mut verdict = Verdict::Undecided;
    let mut last_ts = Timestamp(0);
    for line in lines {
        let mut parts = line.split_whitespace();
        let is_orig = parts.next().unwrap() == "o";
        let ts = Timestamp(parts.next().unwrap().parse().unwrap());
        last_ts = ts;
        let hex = parts.next().unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        for piece in bytes.chunks(chunk) {
            let mut cx = Context::new(uid, &id, ts, &mut out);
            d.deliver(&mut cx, is_orig, piece);
            match cx.verdict() {
                Verdict::Undecided => {}
                v => {
                    if verdict != Verdict::Violation {
                        verdict = v;
                    }
                }
            }
        }
    }
    let mut cx = Context::new(uid, &id, last_ts, &mut out);
    d.finish(&mut cx);
    Run {
        records: out,
        verdict,
    }
}

/// A TCP connection from 10.0.0.1 to 10.0.0.2 between the given ports.
fn tcp_10_0_0_1_to_2(orig_p: u16, resp_p: u16) -> ConnId {
    ConnId {
        orig_h: "10.0.0.1".parse().unwrap(),
        orig_p,
        resp_h: "10.0.0.2".parse().unwrap(),
        resp_p,
        proto: Transport::Tcp,
    }
}

fn ssl_records(run: &Run) -> Vec<&SslRecord> {
    run.records
        .iter()
        .filter_map(|r| match r {
            Record::Ssl(s) => Some(s.as_ref()),
            _ => None,
        })
        .collect()
}

fn x509_records(run: &Run) -> Vec<&X509Record> {
    run.records
        .iter()
        .filter_map(|r| match r {
            Record::X509(x) => Some(x.as_ref()),
            _ => None,
        })
        .collect()
}

/// Data lines of the TSV log written for `records`.
fn tsv_lines<R: ZeekRecord>(records: &[&R]) -> Vec<String> {
    let mut w = LogWriter::new::<R>(
        Vec::new(),
        LogFormat::Tsv,
        std::time::SystemTime::UNIX_EPOCH,
    )
    .unwrap();
    for r in records {
        w.write(*r).unwrap();
    }
    let bytes = w.close(std::time::SystemTime::UNIX_EPOCH).unwrap();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Baseline data lines of a Zeek log.
fn baseline_lines(log: &str) -> Vec<Vec<String>> {
    log.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Compares our ssl.log lines with Zeek's, all columns but ts and uid; returns our
/// extra columns (ja3, ja3s, ja4) per line.
fn assert_matches_baseline(run: &Run, baseline: &str) -> Vec<Vec<String>> {
    let ours: Vec<Vec<String>> = tsv_lines(&ssl_records(run))
        .iter()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let theirs = baseline_lines(baseline);
    assert_eq!(ours.len(), theirs.len(), "ours: {ours:?}");
    let mut extras = Vec::new();
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o.len(), t.len() + 3);
        assert_eq!(o[2..t.len()], t[2..], "ours vs Zeek");
        extras.push(o[t.len()..].to_vec());
    }
    extras
}

const TLS12: &str = include_str!("../../tests/fixtures/ssl/ssl-tls12-56637.txt");
const TLS12_LOG: &str = include_str!("../../../testdata/zeek/ssl-tls12/ssl.log");
const EXT: &str = include_str!("../../tests/fixtures/ssl/ssl-tls12-extensions-default-62045.txt");
const EXT_LOG: &str = include_str!("../../../testdata/zeek/ssl-tls12-extensions-default/ssl.log");
const ECH1: &str = include_str!("../../tests/fixtures/ssl/ssl-tls13-ech-51066.txt");
const ECH2: &str = include_str!("../../tests/fixtures/ssl/ssl-tls13-ech-51071.txt");
const ECH_PARTIAL: &str = include_str!("../../tests/fixtures/ssl/ssl-tls13-ech-51053.txt");
const ECH_LOG: &str = include_str!("../../../testdata/zeek/ssl-tls13-ech/ssl.log");
const FAIL: &str = include_str!("../../tests/fixtures/ssl/ssl-tls12-handshake-failure-53525.txt");
const FAIL_LOG: &str = include_str!("../../../testdata/zeek/ssl-tls12-handshake-failure/ssl.log");

#[test]
fn tls12_matches_zeek() {
    for chunk in [usize::MAX, 1, 5, 6, 7, 100, 1500] {
        let run = run_fixture(TLS12, chunk);
        assert_eq!(run.verdict, Verdict::Confirmed);
        assert_matches_baseline(&run, TLS12_LOG);
    }
}

#[test]
fn tls12_extensions_matches_zeek() {
    for chunk in [usize::MAX, 3] {
        let run = run_fixture(EXT, chunk);
        let extras = assert_matches_baseline(&run, EXT_LOG);
        let ssl = ssl_records(&run);
        assert_eq!(ssl[0].server_name.as_deref(), Some("ssl.gstatic.com"));
        assert_eq!(
            ssl[0].subject.as_deref(),
            Some("CN=*.gstatic.com,O=Google Inc,L=Mountain View,ST=California,C=US")
        );
        assert_eq!(extras[0].len(), 3);
        assert!(extras[0][2].starts_with("t10d"), "{extras:?}");
    }
}

#[test]
fn tls13_ech_matches_zeek() {
    let mut runs = vec![run_fixture(ECH1, usize::MAX)];
    runs.push(run_fixture(ECH2, 5));
    let mut records: Vec<&SslRecord> = Vec::new();
    for r in &runs {
        records.extend(ssl_records(r));
        assert!(x509_records(r).is_empty());
    }
    let lines: Vec<Vec<String>> = tsv_lines(&records)
        .iter()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let theirs = baseline_lines(ECH_LOG);
    assert_eq!(lines.len(), theirs.len());
    for (o, t) in lines.iter().zip(&theirs) {
        assert_eq!(o[2..t.len()], t[2..]);
        assert!(o[t.len() + 2].starts_with("t13d"));
    }
}

#[test]
fn stream_without_client_hello_is_not_tls() {
    let run = run_fixture(ECH_PARTIAL, usize::MAX);
    assert_eq!(run.verdict, Verdict::Violation);
    assert!(run.records.is_empty());
}

#[test]
fn handshake_failure_matches_zeek() {
    let run = run_fixture(FAIL, usize::MAX);
    assert_matches_baseline(&run, FAIL_LOG);
}

#[test]
fn tls12_certificates() {
    let run = run_fixture(TLS12, usize::MAX);
    let certs = x509_records(&run);
    assert_eq!(certs.len(), 3);
    let leaf = &certs[0].certificate;
    assert_eq!(leaf.serial, "99FAA8037A4EB2FAEF84EB5E55D5B8C8");
    assert_eq!(
        leaf.subject,
        "CN=*.taleo.net,OU=Comodo PremiumSSL Wildcard,OU=Web,O=Taleo Inc.,street=4140 Dublin Boulevard,street=Suite 400,L=Dublin,ST=CA,postalCode=94568,C=US"
    );
    assert_eq!(
        leaf.issuer,
        "CN=COMODO High-Assurance Secure Server CA,O=COMODO CA Limited,L=Salford,ST=Greater Manchester,C=GB"
    );
    assert_eq!(leaf.key_alg, "rsaEncryption");
    assert_eq!(leaf.sig_alg, "sha1WithRSAEncryption");
    assert_eq!(leaf.key_type, Some("rsa"));
    assert_eq!(leaf.key_length, Some(2048));
    assert_eq!(leaf.exponent.as_deref(), Some("65537"));
    let san = leaf.san.as_ref().unwrap();
    assert_eq!(
        san.dns.as_deref(),
        Some(&["*.taleo.net".to_string(), "taleo.net".to_string()][..])
    );
    assert_eq!(leaf.basic_constraints.map(|b| b.ca), Some(false));
    assert!(certs[0].host_cert && !certs[0].client_cert);
    assert_eq!(
        certs[1].certificate.serial,
        "1690C329B6780607511F05B0344846CB"
    );
    assert_eq!(
        certs[1].certificate.basic_constraints,
        Some(crate::x509::BasicConstraints {
            ca: true,
            path_len: Some(0)
        })
    );
    assert!(!certs[1].host_cert);
    assert_eq!(certs[2].certificate.serial, "01");
    assert!(certs[2].certificate.is_self_issued());
    assert_eq!(
        certs[2].certificate.basic_constraints,
        Some(crate::x509::BasicConstraints {
            ca: true,
            path_len: None
        })
    );
    // The chain fingerprints are those of ssl.log.
    let ssl = ssl_records(&run);
    let fps: Vec<&str> = certs.iter().map(|c| c.fingerprint.as_str()).collect();
    assert_eq!(
        ssl[0]
            .cert_chain_fps
            .as_ref()
            .unwrap()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        fps
    );
}

/// Fields of the x509.log Zeek wrote for tls-conn-with-extensions.pcap
/// (`testing/btest/Baseline/scripts.base.protocols.ssl.basic/x509.log` in zeek/zeek,
/// whose fingerprint column was then named `fp`).
#[test]
fn extensions_certificates_match_zeek_x509_log() {
    let run = run_fixture(EXT, usize::MAX);
    let lines: Vec<Vec<String>> = tsv_lines(&x509_records(&run))
        .iter()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let expected = [
        "a580247a25324adf4add5af648de4ac5798030dfd622f26a5f2280d7528ae244\t3\t36F5DA5300000000505E\tCN=*.gstatic.com,O=Google Inc,L=Mountain View,ST=California,C=US\tCN=Google Internet Authority,O=Google Inc,C=US",
        "250da2691be97c9a33ceef7e311c14fb01846e058a99cea9bd1125bd25a0cad5\t3\t0B6771\tCN=Google Internet Authority,O=Google Inc,C=US\tOU=Equifax Secure Certificate Authority,O=Equifax,C=US",
    ];
    let tails = [
        "rsaEncryption\tsha1WithRSAEncryption\trsa\t1024\t65537\t-\t*.gstatic.com,gstatic.com,*.metric.gstatic.com\t-\t-\t-\t-\t-\tT\tF",
        "rsaEncryption\tsha1WithRSAEncryption\trsa\t1024\t65537\t-\t-\t-\t-\t-\tT\t0\tF\tF",
    ];
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l[1..6].join("\t"), expected[i]);
        assert_eq!(l[8..].join("\t"), tails[i]);
    }
    let ssl = ssl_records(&run);
    assert_eq!(ssl[0].sni_matches_cert, Some(true));
}

#[test]
fn x509_dedup_drops_repeats_within_a_day() {
    let run = run_fixture(EXT, usize::MAX);
    let mut dedup = crate::x509::X509Dedup::default();
    let mut written = 0;
    for _ in 0..3 {
        for r in run.records.iter().cloned() {
            written += dedup
                .push(r)
                .iter()
                .filter(|r| matches!(r, Record::X509(_)))
                .count();
        }
    }
    assert_eq!(written, 2);
    // a day later they are logged again
    for r in run.records.iter().cloned() {
        if let Record::X509(mut x) = r {
            x.ts = Timestamp(x.ts.0 + 86_400_000_001);
            assert_eq!(dedup.push(Record::X509(x)).len(), 1);
        }
    }
}

#[test]
fn content_detection() {
    assert_eq!(looks_like_client_hello(&[0x16, 0x03]), None);
    assert_eq!(
        looks_like_client_hello(&[0x16, 0x03, 0x01, 0x00, 0x40, 0x01]),
        Some(true)
    );
    assert_eq!(
        looks_like_client_hello(&[0x16, 0x03, 0x01, 0x00, 0x40, 0x02]),
        Some(false)
    );
    assert_eq!(looks_like_client_hello(b"GET / HTTP/1.1"), Some(false));
    assert_eq!(
        looks_like_client_hello(&[0x80, 0x2e, 0x01, 0x03, 0x01]),
        Some(true)
    );
    assert_eq!(looks_like_client_hello(b"SSH-2.0-OpenSSH"), Some(false));
}

/// An SSLv2-compatible ClientHello answered by a TLS 1.0 ServerHello.
#[test]
fn sslv2_client_hello() {
    let id = tcp_10_0_0_1_to_2(1234, 4443);
    // 2-byte header, CLIENT-HELLO, version 3.1, 2 ciphers (6 bytes), no session id,
    // 16-byte challenge
    let mut hello = vec![0x01, 0x03, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x10];
    hello.extend_from_slice(&[0x00, 0x00, 0x04, 0x01, 0x00, 0x80]);
    hello.extend_from_slice(&[0x11; 16]);
    let mut rec = vec![0x80 | (hello.len() >> 8) as u8, hello.len() as u8];
    rec.extend(hello);
    // TLS ServerHello, version 3.1, cipher 0x0004
    let mut sh = vec![0x03, 0x01];
    sh.extend_from_slice(&[0x22; 32]);
    sh.extend_from_slice(&[0x00, 0x00, 0x04, 0x00]);
    let mut hs = vec![0x02, 0x00, 0x00, sh.len() as u8];
    hs.extend(sh);
    let mut srec = vec![0x16, 0x03, 0x01, 0x00, hs.len() as u8];
    srec.extend(hs);
    let mut out = Vec::new();
    let mut d = SslDissector::new();
    let mut cx = Context::new(Uid::connection(1), &id, Timestamp(1), &mut out);
    d.deliver(&mut cx, true, &rec);
    d.deliver(&mut cx, false, &srec);
    assert_eq!(cx.verdict(), Verdict::Confirmed);
    d.finish(&mut cx);
    let Record::Ssl(s) = &out[0] else { panic!() };
    assert_eq!(s.ssl_history, "Cs");
    assert_eq!(s.version_name().as_deref(), Some("TLSv10"));
    assert_eq!(s.cipher_name().as_deref(), Some("TLS_RSA_WITH_RC4_128_MD5"));
    assert!(!s.established);
}

#[test]
fn garbage_and_truncation_never_panic() {
    let id = tcp_10_0_0_1_to_2(1, 443);
    let mut seed: u32 = 7;
    let mut rand = move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (seed >> 16) as u8
    };
    // real streams, truncated and corrupted
    for text in [TLS12, EXT, ECH1, FAIL] {
        let lines: Vec<&str> = text.lines().collect();
        for corrupt in 0..40 {
            let mut out = Vec::new();
            let mut d = SslDissector::new();
            for (n, line) in lines.iter().skip(1).enumerate() {
                let mut parts = line.split_whitespace();
                let is_orig = parts.next() == Some("o");
                parts.next();
                let hex = parts.next().unwrap_or("");
                let mut bytes: Vec<u8> = (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
                    .collect();
                if n > 0 && !bytes.is_empty() {
                    let flips = usize::from(rand()) % 4;
                    for _ in 0..flips * (corrupt % 5) {
                        let i = usize::from(rand()) * 256 + usize::from(rand());
                        let len = bytes.len();
                        bytes[i % len] = rand();
                    }
                    if corrupt % 7 == 3 {
                        let cut = usize::from(rand()) % bytes.len();
                        bytes.truncate(cut);
                    }
                }
                let mut cx = Context::new(Uid::connection(1), &id, Timestamp(1), &mut out);
                d.deliver(&mut cx, is_orig, &bytes);
            }
            let mut cx = Context::new(Uid::connection(1), &id, Timestamp(2), &mut out);
            d.finish(&mut cx);
        }
    }
    // pure noise, with a valid-looking start
    for round in 0..200 {
        let mut out = Vec::new();
        let mut d = SslDissector::new();
        let mut cx = Context::new(Uid::connection(1), &id, Timestamp(1), &mut out);
        let mut first = vec![0x16, 0x03, 0x01, rand() % 2, rand(), 0x01];
        first.extend((0..round * 3).map(|_| rand()));
        d.deliver(&mut cx, true, &first);
        for _ in 0..10 {
            let n = usize::from(rand());
            let data: Vec<u8> = (0..n).map(|_| rand()).collect();
            d.deliver(&mut cx, rand() % 2 == 0, &data);
        }
        d.gap(&mut cx, true, 10);
        d.deliver(&mut cx, true, &[1, 2, 3]);
        d.finish(&mut cx);
    }
}

/// The fixture's payloads as turns: runs of consecutive lines in one direction, joined.
fn turns(text: &str) -> Vec<(bool, Vec<u8>)> {
    let mut turns: Vec<(bool, Vec<u8>)> = Vec::new();
    for line in text.lines().skip(1) {
        let mut parts = line.split_whitespace();
        let is_orig = parts.next() == Some("o");
        parts.next();
        let hex = parts.next().unwrap_or("");
        let bytes =
            (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap());
        match turns.last_mut() {
            Some((dir, data)) if *dir == is_orig => data.extend(bytes),
            _ => turns.push((is_orig, bytes.collect())),
        }
    }
    turns
}

/// Each handshake record a direction sends before its ChangeCipherSpec, as two records:
/// the first `cut(len)` bytes of its body, then the rest.
fn split_handshake_records(
    turns: &[(bool, Vec<u8>)],
    cut: fn(usize) -> usize,
) -> Vec<(bool, Vec<u8>)> {
    let mut encrypted = [false; 2];
    turns
        .iter()
        .map(|(is_orig, data)| {
            let d = usize::from(!is_orig);
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < data.len() && !encrypted[d] {
                let h = &data[pos..pos + 5];
                let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
                let body = &data[pos + 5..pos + 5 + len];
                let at = if h[0] == 22 { cut(len) } else { len };
                for part in [&body[..at], &body[at..]] {
                    if !part.is_empty() {
                        out.extend_from_slice(&[h[0], h[1], h[2]]);
                        out.extend_from_slice(&(part.len() as u16).to_be_bytes());
                        out.extend_from_slice(part);
                    }
                }
                encrypted[d] = h[0] == 20;
                pos += 5 + len;
            }
            out.extend_from_slice(&data[pos..]);
            (*is_orig, out)
        })
        .collect()
}

fn run_turns(turns: &[(bool, Vec<u8>)], piece: usize) -> Vec<String> {
    let id = tcp_10_0_0_1_to_2(50000, 443);
    let mut out = Vec::new();
    let mut d = SslDissector::new();
    for (is_orig, data) in turns {
        for p in data.chunks(piece) {
            let mut cx = Context::new(Uid::connection(1), &id, Timestamp(1), &mut out);
            d.deliver(&mut cx, *is_orig, p);
        }
    }
    let mut cx = Context::new(Uid::connection(1), &id, Timestamp(2), &mut out);
    d.finish(&mut cx);
    let run = Run {
        records: out,
        verdict: Verdict::Undecided,
    };
    let mut lines = tsv_lines(&ssl_records(&run));
    lines.extend(tsv_lines(&x509_records(&run)));
    lines
}

/// Handshake messages cut by a record's end, anywhere (in the 4-byte message header or
/// the body), are put together from the buffer and give the same logs as whole ones,
/// whether the records come whole or in pieces.
#[test]
fn handshake_messages_split_across_records() {
    for text in [TLS12, EXT] {
        let original = turns(text);
        let expected = run_turns(&original, usize::MAX);
        assert!(expected.len() > 1, "{expected:?}");
        let cuts: [fn(usize) -> usize; 3] = [|len| len / 2, |len| len.min(2), |len| len.min(5)];
        for cut in cuts {
            let split = split_handshake_records(&original, cut);
            assert_ne!(split, original);
            for piece in [usize::MAX, 1500, 7] {
                assert_eq!(run_turns(&split, piece), expected);
            }
        }
    }
}

/// A record or handshake header that announces a large body reserves no more than
/// `MAX_RESERVED` before the bytes come.
#[test]
fn announced_lengths_reserve_a_bounded_amount() {
    let id = tcp_10_0_0_1_to_2(1, 443);
    let mut out = Vec::new();
    let mut d = SslDissector::new();
    let mut cx = Context::new(Uid::connection(1), &id, Timestamp(1), &mut out);
    // a ClientHello record of the largest length, of which only 6 bytes come
    d.deliver(&mut cx, true, &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01]);
    assert!(d.dirs[0].records.capacity() <= MAX_RESERVED);
    // a whole record holding only the header of a handshake message of nearly 1 MiB
    let mut d = SslDissector::new();
    d.deliver(
        &mut cx,
        true,
        &[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x0f, 0xff, 0xff],
    );
    assert!(!d.done);
    assert_eq!(d.dirs[0].handshake.len(), 4);
    assert!(d.dirs[0].handshake.capacity() <= MAX_RESERVED);
}
