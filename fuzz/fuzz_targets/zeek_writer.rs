//! The Zeek log writers given arbitrary strings (and times): a TSV row always has its
//! header's columns on one line, and a JSON row is one object whose strings read back
//! exactly as written.
#![no_main]

use dissectors::http::HttpRecord;
use dissectors::zeek::LogFormat;
use dissectors::{Record, Timestamp, Transport, Uid};
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::{check_json, check_tsv, conn_id, render};

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let (head, rest) = data.split_at(9);
    let ts = i64::from_le_bytes(head[1..9].try_into().expect("8 bytes"));
    // The first byte separates the strings, so any other byte can occur in them.
    let mut parts = rest
        .split(|&b| b == head[0])
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let mut next = || parts.next();
    let mut rec = HttpRecord::new(
        Timestamp(ts),
        Uid::connection(7),
        conn_id(Transport::Tcp, 1, 80),
        1,
    );
    rec.method = next();
    rec.host = next();
    rec.uri = next();
    rec.referrer = next();
    rec.version = next();
    rec.user_agent = next();
    rec.origin = next();
    rec.status_msg = next();
    rec.username = next();
    rec.password = next();
    rec.status_code = Some(ts as u64);
    rec.proxied = Some([next(), next()].into_iter().flatten().collect());
    rec.orig_filenames = next().map(|f| f.split('/').map(str::to_string).collect());
    let expected = rec.clone();
    let records: Vec<Record> = vec![rec.into()];

    for (path, text) in render(&records, LogFormat::Tsv) {
        check_tsv(&path, &text);
        let rows = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty() && !l.starts_with(b"#"));
        assert_eq!(rows.count(), 1, "one record must be one TSV line");
    }
    for (path, text) in render(&records, LogFormat::Json) {
        check_json(&path, &text);
        let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(line).expect("checked above");
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        assert_eq!(field("uri"), expected.uri, "uri does not read back");
        assert_eq!(
            field("user_agent"),
            expected.user_agent,
            "user_agent does not read back"
        );
        assert_eq!(
            field("method"),
            expected.method,
            "method does not read back"
        );
    }
});
