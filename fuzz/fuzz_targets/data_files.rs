//! The loaders of local data files: threat-intelligence feeds of every format (local IoC
//! CSVs, JA3 and certificate lists, remote feed files, feed lists, the Tor exit-node
//! list, known-false-positive MD5s), the whois CSV and the IEEE OUI table. The first byte
//! picks the format; any text gives tables (with warnings), never a panic, and the
//! tables answer look-ups.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use detectors::evidence::ThreatLevel;
use detectors::mac::OuiTable;
use detectors::online::LocalDomainInfo;
use detectors::threat_intel::{parse_feed_list, FeedMeta, ThreatIntel};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let source: Arc<str> = Arc::from("fuzz-feed.csv");
    let feed = FeedMeta {
        file_name: "fuzz-feed.txt".into(),
        threat_level: ThreatLevel::High,
        tags: Arc::from("fuzz"),
    };
    let mut ti = ThreatIntel::empty();
    match kind % 10 {
        0 => ti.parse_local_iocs(&text, &source),
        1 => ti.parse_local_ja3(&text, &source),
        2 => ti.parse_local_file_hashes(&text, &source),
        3 => ti.parse_ja3_feed(&text, &feed),
        4 => ti.parse_ssl_feed(&text, &feed),
        5 => ti.parse_tor_exit_nodes(&text),
        6 => ti.parse_known_fp_md5(&text),
        7 => ti.parse_ioc_feed(&text, &feed),
        8 => {
            let info = LocalDomainInfo::parse(&text, "fuzz-whois.csv");
            for w in info.warnings() {
                assert!(
                    w.contains("fuzz-whois.csv"),
                    "warning without the file: {w}"
                );
            }
            let _ = info.len();
            let _ = OuiTable::parse(&text).len();
            return;
        }
        _ => {
            let _ = parse_feed_list(&text);
            return;
        }
    }
    // Look-ups on what was loaded, with the words of the input as keys.
    for word in text.split(|c: char| c.is_whitespace() || c == ',').take(64) {
        let _ = ti.domain(word);
        let _ = ti.file_hash(word);
        let _ = ti.url(word, "/");
        if let Ok(ip) = word.parse::<IpAddr>() {
            let _ = ti.ip(ip);
            let _ = ti.ip_range(ip);
            let _ = ti.is_tor_exit_node(ip);
        }
    }
    let _ = ti.ip_range(IpAddr::V4(Ipv4Addr::new(45, 9, 148, 1)));
    let _ = ti.asn(51381);
    let _ = ti.len();
});
