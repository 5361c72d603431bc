//! Per-packet cost of the engine: decoding alone, and decoding plus connection tracking,
//! over real captures from testdata/.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::capture::PcapFile;
use engine::decode::{decode, Outcome};
use engine::flow::{ConnTable, TrackerConfig, TunnelRole};

fn capture(name: &str) -> Vec<(dissectors::Timestamp, engine::capture::LinkType, Vec<u8>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(name);
    let file = PcapFile::open(&path).expect("capture in testdata");
    file.packets()
        .expect("readable")
        .filter_map(Result::ok)
        .map(|p| (p.ts, p.link, p.data.to_vec()))
        .collect()
}

fn bench(c: &mut Criterion) {
    for name in [
        "slips/test7-malicious.pcap",
        "zeek/ssh-basic-default/trace.pcap",
    ] {
        let packets = capture(name);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(packets.len() as u64));
        group.bench_function("decode", |b| {
            b.iter(|| {
                for (_, link, data) in &packets {
                    let _ = black_box(decode(*link, data));
                }
            })
        });
        for dissect in [false, true] {
            let label = if dissect {
                "decode+track+dissect"
            } else {
                "decode+track"
            };
            group.bench_function(label, |b| {
                b.iter(|| {
                    let config = TrackerConfig {
                        dissect,
                        ..TrackerConfig::default()
                    };
                    let mut table = ConnTable::new(config);
                    let mut out = Vec::new();
                    for (ts, link, data) in &packets {
                        if let Ok(Outcome::Packet(d)) = decode(*link, data) {
                            table.process(*ts, *ts, &d, data, TunnelRole::None);
                            table.take_emitted(&mut out);
                        }
                    }
                    table.flush();
                    table.take_emitted(&mut out);
                    black_box(out.len())
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
