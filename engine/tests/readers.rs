//! The readers of other tools' outputs on Slips' sample files (copied or sliced into
//! `testdata/slips/inputs/`, see its README): every flow line becomes a record, values
//! land in the right fields, malformed lines are reported with their line numbers, and
//! our own logs read back give the same records.

mod common;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dissectors::conn::{ConnState, Transport};
use dissectors::zeek::LogFormat;
use dissectors::{Record, Timestamp};
use engine::readers::lines::Lines;
use engine::readers::values::parse_uid;
use engine::readers::zeek::ZeekLogReader;
use engine::readers::{
    detect, open, open_stream, InputKind, Place, ReadError, RecordSource, StreamFormat,
};

fn inputs() -> PathBuf {
    common::testdata().join("slips/inputs")
}

struct ReadAll {
    records: Vec<Record>,
    errors: Vec<ReadError>,
    notes: Vec<String>,
}

fn drain(mut source: Box<dyn RecordSource>) -> ReadAll {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for r in source.by_ref() {
        match r {
            Ok(rec) => records.push(rec),
            Err(e) => errors.push(e),
        }
    }
    ReadAll {
        records,
        errors,
        notes: source.notes(),
    }
}

fn read_path(path: &Path) -> ReadAll {
    drain(open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn kind_name(r: &Record) -> &'static str {
    match r {
        Record::Conn(_) => "conn",
        Record::Dns(_) => "dns",
        Record::Http(_) => "http",
        Record::Ssl(_) => "ssl",
        Record::Ssh(_) => "ssh",
        Record::Dhcp(_) => "dhcp",
        Record::Files(_) => "files",
        Record::X509(_) => "x509",
        Record::Software(_) => "software",
        Record::Notice(_) => "notice",
        Record::Weird(_) => "weird",
        Record::Arp(_) => "arp",
        Record::Smtp(_) => "smtp",
        Record::Tunnel(_) => "tunnel",
        _ => "other",
    }
}

fn counts(records: &[Record]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        *m.entry(kind_name(r)).or_default() += 1;
    }
    m
}

/// Data lines of a Zeek log, counted without the readers: lines that are neither
/// empty nor `#` meta lines.
fn zeek_data_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

/// The log type of a Zeek log from its `#path` line or its file name (for JSON logs).
fn log_type(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read");
    text.lines()
        .find_map(|l| l.strip_prefix("#path\t"))
        .map(str::to_string)
        .unwrap_or_else(|| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.split('.').next().unwrap().to_string()
        })
}

const READ_TYPES: &[&str] = &[
    "conn", "dns", "http", "ssl", "ssh", "dhcp", "files", "x509", "software", "notice", "weird",
    "arp", "smtp", "tunnel",
];

/// Expected records per log type of a folder, counted from its files.
fn expected_folder_counts(dir: &Path) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let t = log_type(&p);
        if READ_TYPES.contains(&t.as_str()) {
            *m.entry(t).or_default() += zeek_data_lines(&p);
        }
    }
    m
}

/// Reads a folder and checks one record per data line of each log read, less the lines
/// reported as errors.
fn check_folder(dir: &Path) -> ReadAll {
    assert_eq!(detect(dir).unwrap(), InputKind::ZeekFolder);
    let all = read_path(dir);
    let got: BTreeMap<String, usize> = counts(&all.records)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let mut expected = expected_folder_counts(dir);
    for e in &all.errors {
        let t = log_type(Path::new(&*e.source));
        *expected.get_mut(&t).unwrap() -= 1;
    }
    assert_eq!(got, expected, "{}", dir.display());
    all
}

#[test]
fn zeek_tsv_folder() {
    let dir = inputs().join("zeek-tsv");
    let all = check_folder(&dir);
    // Line 21 of Slips' notice.log has spaces where tabs belong.
    assert_eq!(all.errors.len(), 1, "{:?}", all.errors);
    assert!(all.errors[0].source.ends_with("notice.log"));
    assert_eq!(all.errors[0].place, Place::Line(21));
    assert!(all.errors[0].message.contains("23 columns"));
    for skipped in ["reporter", "packet_filter", "capture_loss"] {
        assert!(
            all.notes.iter().any(|n| n.contains(skipped)),
            "no note for {skipped}: {:?}",
            all.notes
        );
    }
    let weird = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Weird(w) => Some(w),
            _ => None,
        })
        .unwrap();
    assert_eq!(weird.name, "DNS_TXT_char_str_past_rdlen");
    assert_eq!(weird.ts, Timestamp(1_601_998_366_034_324));
    assert_eq!(weird.uid.unwrap().to_string(), "CZjH5OaH2d8ox6JVl");
    assert_eq!(weird.peer.as_deref(), Some("zeek"));
    assert!(!weird.notice);
    let id = weird.id.unwrap();
    assert_eq!(
        (id.orig_h.to_string(), id.orig_p),
        ("147.32.83.181".into(), 5353)
    );
    let ssl = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Ssl(s) => Some(s),
            _ => None,
        })
        .unwrap();
    assert!(ssl.version.is_some() && ssl.cipher.is_some());
    assert_eq!(
        ssl.version_name().unwrap(),
        dissectors::ssl::consts::version_name(ssl.version.unwrap())
    );
}

#[test]
fn zeek_json_folder_of_an_older_zeek() {
    let dir = inputs().join("zeek-json");
    let all = check_folder(&dir);
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    assert!(
        all.notes.iter().any(|n| n.contains("pe.log")),
        "{:?}",
        all.notes
    );
    let dhcp = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Dhcp(d) if d.ts == Timestamp(22_333_203) => Some(d),
            _ => None,
        })
        .unwrap();
    assert_eq!(dhcp.msg_types, vec![3, 5, 3, 5]);
    assert_eq!(dhcp.uids.len(), 2);
    assert_eq!(dhcp.uids[0].to_string(), "CS6Wmy1mA7yYBY7uCl");
    assert_eq!(dhcp.host_name.as_deref(), Some("John-PC"));
    assert_eq!(dhcp.lease_time.unwrap().0, 86_400_000_000);
    let arp = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Arp(a) => Some(a),
            _ => None,
        })
        .unwrap();
    assert_eq!(arp.src_mac, "50:5b:c2:db:c3:17");
    assert_eq!(arp.resp_h.to_string(), "69.220.152.0");
    let software: Vec<_> = all
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Software(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(software[2].host_p, Some(1900));
    assert_eq!(software[2].software_type.as_str(), "HTTP::SERVER");
    assert_eq!(software[2].minor2, Some(36));
    // files.log before Zeek 5 names the connection in `conn_uids`.
    let file = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Files(f) => Some(f),
            _ => None,
        })
        .unwrap();
    assert!(file.uid.is_some());
    assert_eq!(file.analyzers.len(), 2);
    let conn = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Conn(c) if c.uid.to_string() == "CeXwwk4XHhkKHn7kag" => Some(c.as_ref()),
            _ => None,
        })
        .unwrap();
    assert_eq!(conn.duration.unwrap().0, 1_872);
    assert_eq!(conn.conn_state, ConnState::SF);
    assert_eq!(conn.history.as_deref(), Some("ShADadfF"));
    assert_eq!((conn.orig_pkts, conn.resp_ip_bytes), (5, 383));
}

#[test]
fn zeek_json_tunnel_and_labeled_tsv() {
    let all = check_folder(&inputs().join("zeek-json-tunnel"));
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    let tunnel = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Tunnel(t) => Some(t),
            _ => None,
        })
        .unwrap();
    assert_eq!(tunnel.tunnel_type, "Tunnel::GRE");
    assert_eq!(tunnel.action, "Tunnel::DISCOVER");
    // Labeled logs: extra columns, `.labeled` names, unknown quic/telemetry logs.
    let all = check_folder(&inputs().join("zeek-labeled"));
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    assert!(
        all.notes.iter().any(|n| n.contains("quic")),
        "{:?}",
        all.notes
    );
}

#[test]
fn single_tsv_log() {
    let path = inputs().join("horizontal-portscan-conn.log");
    assert_eq!(detect(&path).unwrap(), InputKind::ZeekTsv);
    let all = read_path(&path);
    assert!(all.errors.is_empty());
    assert_eq!(all.records.len(), zeek_data_lines(&path));
    let Record::Conn(first) = &all.records[0] else {
        panic!()
    };
    assert_eq!(first.ts, Timestamp(928_943_457));
    assert_eq!(first.uid.to_string(), "Cxl7TP23vZQ4RolkJf");
    assert_eq!(first.service.as_deref(), Some("http"));
    assert_eq!(first.tunnel_parents, Some(vec![]));
    assert_eq!(first.local_orig, None);
    assert_eq!(first.orig_bytes, Some(261));
}

/// Flow lines of a binetflow file, counted without the reader: lines after the header
/// whose source and destination parse as IP addresses.
fn binetflow_ip_lines(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| {
            let sep = if l.matches(',').count() > 5 {
                ','
            } else {
                '\t'
            };
            let cells: Vec<&str> = l.split(sep).collect();
            cells.len() > 6
                && cells[3].trim().parse::<IpAddr>().is_ok()
                && cells[6].trim().parse::<IpAddr>().is_ok()
        })
        .count()
}

#[test]
fn argus_binetflow_csv_and_tab() {
    for name in [
        "test11-portscan.binetflow",
        "test3-mixed.binetflow",
        "test5-mixed.binetflow",
        "test2-malicious-head200.binetflow",
    ] {
        let path = inputs().join(name);
        assert_eq!(detect(&path).unwrap(), InputKind::Argus, "{name}");
        let all = read_path(&path);
        assert!(all.errors.is_empty(), "{name}: {:?}", all.errors);
        assert_eq!(all.records.len(), binetflow_ip_lines(&path), "{name}");
    }
    let all = read_path(&inputs().join("test11-portscan.binetflow"));
    let Record::Conn(c) = &all.records[0] else {
        panic!()
    };
    // 2019/04/04 16:24:47.672448,63.822830,tcp,10.8.0.69,56101,->,14.1.11.113,999,S0,0,0,31,8764,1887,15
    assert_eq!(c.ts, Timestamp(1_554_395_087_672_448));
    assert_eq!(c.duration.unwrap().0, 63_822_830);
    assert_eq!(c.id.proto, Transport::Tcp);
    assert_eq!((c.id.orig_p, c.id.resp_p), (56101, 999));
    assert_eq!((c.orig_pkts, c.resp_pkts), (15, 16));
    assert_eq!((c.orig_ip_bytes, c.resp_ip_bytes), (1887, 8764 - 1887));
    let tab = read_path(&inputs().join("test5-mixed.binetflow"));
    assert!(tab.notes.iter().any(|n| n.contains("without IP addresses")));
}

#[test]
fn suricata_eve() {
    let path = inputs().join("test6-suricata-slice.json");
    assert_eq!(detect(&path).unwrap(), InputKind::Suricata);
    let all = read_path(&path);
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    let mut expected: BTreeMap<&'static str, usize> = BTreeMap::new();
    for line in std::fs::read_to_string(&path).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let kind = match v["event_type"].as_str().unwrap() {
            "flow" => "conn",
            "dns" => "dns",
            "http" => "http",
            "tls" => "ssl",
            "ssh" => "ssh",
            "dhcp" => "dhcp",
            "fileinfo" => "files",
            "alert" => "notice",
            "anomaly" => "weird",
            _ => continue,
        };
        *expected.entry(kind).or_default() += 1;
    }
    assert_eq!(counts(&all.records), expected);
    let ssl = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Ssl(s) => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!(ssl.server_name.as_deref(), Some("www.myedimax.com"));
    assert_eq!(ssl.version, Some(0x0302));
    assert_eq!(ssl.ja3.as_deref(), Some("b7202231ff2db28363c109cedc6d1642"));
    assert_eq!(ssl.ts, Timestamp(1_622_991_240_074_627)); // 16:54:00.074627+0200
    assert_eq!(ssl.id.resp_p, 55443);
    let flow = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Conn(c) if c.id.orig_p == 1900 && c.id.resp_p == 44232 => Some(c.as_ref()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (flow.orig_pkts, flow.orig_ip_bytes, flow.resp_pkts),
        (12, 4056, 0)
    );
    assert_eq!(flow.conn_state, ConnState::S0);
    assert_eq!(flow.duration.unwrap().0, 1_107_183);
    assert_eq!(flow.uid, dissectors::Uid::connection(445_348_883_402_532));
    let alert = all
        .records
        .iter()
        .find_map(|r| match r {
            Record::Notice(n) => Some(n),
            _ => None,
        })
        .unwrap();
    assert!(alert.msg.as_deref().unwrap().starts_with("ET CINS"));
}

/// `nfdump -o csv` output of `v2-uncompressed.nf`, as the reference for every encoding.
fn nfdump_reference() -> Vec<(String, String, u16, u16, u64, u64)> {
    let text =
        std::fs::read_to_string(inputs().join("nfdump/v2-uncompressed.nfdump-csv.txt")).unwrap();
    text.lines()
        .skip(1)
        .take_while(|l| *l != "Summary")
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[3].to_string(),
                c[4].to_string(),
                c[5].parse().unwrap(),
                c[6].parse().unwrap(),
                c[11].parse().unwrap(),
                c[12].parse().unwrap(),
            )
        })
        .collect()
}

fn conn_facts(records: &[Record]) -> Vec<(String, String, u16, u16, u64, u64)> {
    records
        .iter()
        .map(|r| {
            let Record::Conn(c) = r else { panic!() };
            (
                c.id.orig_h.to_string(),
                c.id.resp_h.to_string(),
                c.id.orig_p,
                c.id.resp_p,
                c.orig_pkts,
                c.orig_ip_bytes,
            )
        })
        .collect()
}

#[test]
fn nfdump_layout_2_every_compression() {
    let reference = nfdump_reference();
    assert_eq!(reference.len(), 40);
    let plain = read_path(&inputs().join("nfdump/v2-uncompressed.nf"));
    assert!(plain.errors.is_empty(), "{:?}", plain.errors);
    assert_eq!(conn_facts(&plain.records), reference);
    let Record::Conn(first) = &plain.records[0] else {
        panic!()
    };
    // 2018-01-12 15:37:30.942 (msec from the file; nfdump's CSV prints whole seconds).
    assert_eq!(first.ts, Timestamp(1_515_771_450_942_000));
    assert_eq!(first.conn_state, ConnState::S0);
    for name in ["v2-lzo.nf", "v2-lz4.nf", "v2-bz2.nf", "v2-zstd.nf"] {
        let path = inputs().join("nfdump").join(name);
        assert_eq!(detect(&path).unwrap(), InputKind::Nfdump);
        let all = read_path(&path);
        assert!(all.errors.is_empty(), "{name}: {:?}", all.errors);
        assert_eq!(all.records, plain.records, "{name}");
    }
}

#[test]
fn nfdump_layout_1() {
    let all = read_path(&inputs().join("nfdump/v1-slice.nf"));
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    assert_eq!(all.records.len(), 60);
    // The first 40 flows are those nfdump 1.7 rewrote as layout 2.
    assert_eq!(conn_facts(&all.records[..40]), nfdump_reference());
    let plain = read_path(&inputs().join("nfdump/v2-uncompressed.nf"));
    assert_eq!(all.records[..40], plain.records[..]);
}

#[test]
fn nfdump_damage_is_reported_not_fatal() {
    let mut data = std::fs::read(inputs().join("nfdump/v2-lz4.nf")).unwrap();
    // Corrupt the LZ4 payload of the first block.
    for b in &mut data[60..90] {
        *b = 0xff;
    }
    let dir = tempdir("nfdump-damage");
    let path = dir.join("damaged.nf");
    std::fs::write(&path, &data).unwrap();
    let all = read_path(&path);
    assert!(!all.errors.is_empty());
    assert!(matches!(all.errors[0].place, Place::Offset(40)));
    // Truncated file: the block runs past the end.
    let data = std::fs::read(inputs().join("nfdump/v2-uncompressed.nf")).unwrap();
    std::fs::write(&path, &data[..1000]).unwrap();
    let all = read_path(&path);
    assert_eq!(all.errors.len(), 1, "{:?}", all.errors);
    assert!(all.errors[0].to_string().contains("truncated"));
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("readers-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stream(text: &str, format: StreamFormat) -> ReadAll {
    drain(open_stream(
        Box::new(Cursor::new(text.as_bytes().to_vec())),
        format,
        "<stdin>",
    ))
}

#[test]
fn malformed_lines_are_reported_with_line_numbers_and_skipped() {
    let tsv = std::fs::read_to_string(inputs().join("horizontal-portscan-conn.log")).unwrap();
    let mut lines: Vec<String> = tsv.lines().map(str::to_string).collect();
    let data_lines = lines.iter().filter(|l| !l.starts_with('#')).count();
    lines.insert(10, "not\ta\tconn\tline".to_string()); // becomes line 11
    let mut cells: Vec<String> = lines[12].split('\t').map(str::to_string).collect();
    cells[3] = "80x".to_string(); // id.orig_p of line 13
    lines[12] = cells.join("\t");
    let all = stream(&lines.join("\n"), StreamFormat::Zeek);
    assert_eq!(all.errors.len(), 2, "{:?}", all.errors);
    assert_eq!(all.errors[0].place, Place::Line(11));
    assert!(all.errors[0].message.contains("columns"));
    assert_eq!(all.errors[1].place, Place::Line(13));
    assert!(
        all.errors[1].to_string().starts_with("<stdin>:13: "),
        "{}",
        all.errors[1]
    );
    assert_eq!(all.records.len(), data_lines - 1);

    let json = "{\"ts\":1.0,\"uid\":\"C1\",\"id.orig_h\":\"1.2.3.4\",\"id.orig_p\":1,\"id.resp_h\":\"5.6.7.8\",\"id.resp_p\":2,\"proto\":\"tcp\",\"conn_state\":\"S0\"}\n{\"ts\":\n{\"ts\":2.0,\"uid\":\"C2\",\"id.orig_h\":\"nope\",\"id.orig_p\":1,\"id.resp_h\":\"5.6.7.8\",\"id.resp_p\":2,\"proto\":\"tcp\",\"conn_state\":\"S0\"}\n";
    let all = stream(json, StreamFormat::Zeek);
    assert_eq!(all.records.len(), 1);
    let places: Vec<_> = all.errors.iter().map(|e| e.place.clone()).collect();
    assert_eq!(places, vec![Place::Line(2), Place::Line(3)]);
    assert!(all.errors[1].message.contains("id.orig_h"));

    let argus = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,SrcPkts,Label\n\
        2019/04/04 16:24:47.672448,63.8,tcp,10.8.0.69,56101,   ->,14.1.11.113,999,S_,0,0,31,8764,1887,15,\n\
        2019/04/04 16:24:47.672448,63.8,tcp,10.8.0.69,56101,   ->,14.1.11.113,999,S_,0,0,many,8764,1887,15,\n\
        garbage time,63.8,tcp,10.8.0.69,56101,   ->,14.1.11.113,999,S_,0,0,31,8764,1887,15,\n";
    let all = stream(argus, StreamFormat::Argus);
    assert_eq!(all.records.len(), 1);
    let places: Vec<_> = all.errors.iter().map(|e| e.place.clone()).collect();
    assert_eq!(places, vec![Place::Line(3), Place::Line(4)]);

    let eve = std::fs::read_to_string(inputs().join("test6-suricata-slice.json")).unwrap();
    let mut eve_lines: Vec<&str> = eve.lines().take(5).collect();
    eve_lines.insert(2, "{\"event_type\":\"flow\",\"timestamp\":\"yesterday\"}");
    let all = stream(&eve_lines.join("\n"), StreamFormat::Suricata);
    assert_eq!(all.records.len(), 5);
    assert_eq!(all.errors.len(), 1);
    assert_eq!(all.errors[0].place, Place::Line(3));
}

#[test]
fn stdin_streams_without_headers() {
    // Argus from `ra` on standard input has no header: ra's default columns.
    let all = stream(
        "2019/04/04 16:24:47.672448,1.5,udp,10.0.0.1,53000,  <->,8.8.8.8,53,CON,0,0,2,142,63,1,\n",
        StreamFormat::Argus,
    );
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    let Record::Conn(c) = &all.records[0] else {
        panic!()
    };
    assert_eq!((c.id.proto, c.conn_state), (Transport::Udp, ConnState::SF));
    assert_eq!((c.orig_pkts, c.resp_pkts, c.resp_ip_bytes), (1, 1, 79));
}

fn without_meta(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Our logs of a capture, read back and written again, are the same logs; conn records
/// are equal field by field (uids compared by their text: a uid's text does not say
/// where its two words meet, so the value read back may differ while it renders the same).
#[test]
fn round_trip_of_our_own_logs() {
    let pcap = common::testdata().join("slips/test7-malicious.pcap");
    let records = common::run(&pcap, 1, true);
    for format in [LogFormat::Tsv, LogFormat::Json] {
        let logs = common::render(&records, format);
        assert!(logs.contains_key("conn"));
        for (path, text) in &logs {
            let reader = ZeekLogReader::new(
                Arc::from(path.as_str()),
                Lines::new(Box::new(Cursor::new(text.clone().into_bytes()))),
            );
            let back = drain(Box::new(reader));
            assert!(
                back.errors.is_empty(),
                "{path} {format:?}: {:?}",
                back.errors
            );
            let again = common::render(&back.records, format);
            assert_eq!(
                without_meta(&again[path]),
                without_meta(text),
                "{path} {format:?}"
            );
            if path == "conn" {
                let originals: Vec<Record> = records
                    .iter()
                    .filter(|r| matches!(r, Record::Conn(_)))
                    .cloned()
                    .map(|r| match r {
                        Record::Conn(mut c) => {
                            c.uid = parse_uid(&c.uid.to_string(), b'C');
                            Record::Conn(c)
                        }
                        other => other,
                    })
                    .collect();
                assert_eq!(back.records, originals, "{format:?}");
            }
        }
    }
}
