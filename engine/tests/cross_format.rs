//! One capture seen by four tools: our engine on the pcap, the conn.log Zeek wrote for
//! it, Suricata's and Argus' flows of it (testdata/crossformat/README.md). Read through
//! our readers, they give the same connections where the formats carry the same facts.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use dissectors::{ConnRecord, Record, Transport};
use engine::pipeline::{collect_file, PipelineConfig};
use engine::readers;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/crossformat/wikipedia")
}

fn conns(records: impl IntoIterator<Item = Record>) -> Vec<ConnRecord> {
    records
        .into_iter()
        .filter_map(|r| match r {
            Record::Conn(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn read(path: &Path) -> Vec<ConnRecord> {
    let mut source = readers::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let records: Vec<Record> = source
        .by_ref()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    conns(records)
}

/// A connection as every format states it: its two endpoints (unordered: a tool that
/// did not see the start may name the other side first) and its transport.
type Endpoints = (Transport, (IpAddr, u16), (IpAddr, u16));

fn endpoints(c: &ConnRecord) -> Endpoints {
    let a = (c.id.orig_h, c.id.orig_p);
    let b = (c.id.resp_h, c.id.resp_p);
    (c.id.proto, a.min(b), a.max(b))
}

fn set(cs: &[ConnRecord]) -> BTreeSet<Endpoints> {
    cs.iter().map(endpoints).collect()
}

/// Zeek's own conn.log as Zeek wrote it: the line Zeek's test suite puts on top of its
/// baselines dropped, and the timestamps it masks replaced by 0.
fn zeek() -> Vec<ConnRecord> {
    let text = std::fs::read_to_string(dir().join("zeek-conn.log")).unwrap();
    let unmasked = text
        .lines()
        .filter(|l| !l.starts_with("### BTest"))
        .map(|l| l.replace("XXXXXXXXXX.XXXXXX", "0.000000") + "\n")
        .collect::<String>();
    // One file per caller: the tests run in parallel.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "crossformat-zeek-conn-{:?}.log",
        std::thread::current().id()
    ));
    std::fs::write(&tmp, unmasked).unwrap();
    read(&tmp)
}

fn native() -> Vec<ConnRecord> {
    let (records, _) = collect_file(&dir().join("trace.pcap"), &PipelineConfig::default()).unwrap();
    conns(records)
}

#[test]
fn our_engine_and_zeek_give_the_same_connections_field_by_field() {
    let ours = native();
    let zeek = zeek();
    assert_eq!(zeek.len(), 34);
    let key = |c: &ConnRecord| {
        (
            c.id.orig_h,
            c.id.orig_p,
            c.id.resp_h,
            c.id.resp_p,
            c.id.proto,
        )
    };
    let ours: BTreeMap<_, _> = ours.iter().map(|c| (key(c), c)).collect();
    assert_eq!(ours.len(), zeek.len());
    for z in &zeek {
        let o = ours
            .get(&key(z))
            .unwrap_or_else(|| panic!("{:?} missing", z.id));
        assert_eq!(
            (
                o.orig_pkts,
                o.resp_pkts,
                o.orig_bytes,
                o.resp_bytes,
                o.conn_state,
                &o.history
            ),
            (
                z.orig_pkts,
                z.resp_pkts,
                z.orig_bytes,
                z.resp_bytes,
                z.conn_state,
                &z.history
            ),
            "{:?}",
            z.id
        );
    }
}

#[test]
fn suricata_flows_are_the_same_connections() {
    let zeek = zeek();
    let suricata = read(&dir().join("suricata-eve.json"));
    assert_eq!(suricata.len(), 34, "one flow event per connection");
    assert_eq!(set(&suricata), set(&zeek));
    // Packets are counted the same way by both: per connection, in both directions.
    let packets = |cs: &[ConnRecord]| -> BTreeMap<Endpoints, u64> {
        cs.iter()
            .map(|c| (endpoints(c), c.orig_pkts + c.resp_pkts))
            .collect()
    };
    assert_eq!(packets(&suricata), packets(&zeek));
}

#[test]
fn argus_flows_are_the_same_ip_connections() {
    let zeek = zeek();
    let argus = read(&dir().join("argus.binetflow"));
    // Argus also reports ARP and other non-IP frames as flows; Zeek's conn.log has only
    // IP connections.
    let ip_only: Vec<ConnRecord> = argus
        .into_iter()
        .filter(|c| {
            matches!(
                c.id.proto,
                Transport::Tcp | Transport::Udp | Transport::Icmp
            )
        })
        .collect();
    assert_eq!(set(&ip_only), set(&zeek));
}
