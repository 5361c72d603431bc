//! Cost of the behavioural layer per record: `detectors::Analysis::process` over the
//! records of a real capture (profiles, windows, detections, evidence handler), without
//! and with the SQLite store, and over synthetic connections from many sources (profile
//! creation and look-up).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use detectors::{Analysis, Config};
use dissectors::{ConnId, ConnRecord, ConnState, Interval, Record, Timestamp, Transport, Uid};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn config(sqlite: bool) -> Config {
    let yaml = format!(
        "output:\n  alerts_log: ''\n  alerts_json: ''\n  sqlite: '{}'\n",
        if sqlite { "flows.sqlite" } else { "" }
    );
    let mut c = Config::parse(&yaml, Path::new("bench.yaml")).expect("bench config");
    c.base_dir = repo().join("config");
    c
}

fn synthetic(n: usize, sources: u32) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let src = 0x0a00_0000 + (i as u32 % sources);
            Record::Conn(Box::new(ConnRecord {
                ts: Timestamp(1_600_000_000_000_000 + i as i64 * 1000),
                uid: Uid::connection(i as u128 + 1),
                id: ConnId {
                    orig_h: std::net::Ipv4Addr::from(src).into(),
                    orig_p: 40000 + (i % 20000) as u16,
                    resp_h: std::net::Ipv4Addr::from(0x5db8_d822 + (i as u32 % 1000)).into(),
                    resp_p: 443,
                    proto: Transport::Tcp,
                },
                service: Some("ssl".into()),
                duration: Some(Interval::from_secs(2)),
                orig_bytes: Some(500),
                resp_bytes: Some(5000),
                conn_state: ConnState::SF,
                local_orig: Some(true),
                local_resp: Some(false),
                missed_bytes: 0,
                history: Some("ShADadFf".into()),
                orig_pkts: 10,
                orig_ip_bytes: 1000,
                resp_pkts: 10,
                resp_ip_bytes: 6000,
                tunnel_parents: None,
                ip_proto: Some(6),
                interface: None,
                ground_truth: None,
            }))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let pcap = repo().join("testdata/slips/test7-malicious.pcap");
    let (records, _) =
        engine::pipeline::collect_file(&pcap, &engine::pipeline::PipelineConfig::default())
            .expect("capture in testdata");
    let out = std::env::temp_dir().join(format!("slipstream-bench-{}", std::process::id()));
    let passes = 50;

    let mut group = c.benchmark_group("detectors");
    group.sample_size(10);
    group.throughput(Throughput::Elements((records.len() * passes) as u64));
    for sqlite in [false, true] {
        let label = if sqlite {
            "test7 x50 process+sqlite"
        } else {
            "test7 x50 process"
        };
        group.bench_function(label, |b| {
            b.iter_batched(
                || Analysis::new(config(sqlite), &out).expect("analysis"),
                |mut a| {
                    for _ in 0..passes {
                        for r in &records {
                            a.process(black_box(r));
                        }
                    }
                    black_box(a.finish().expect("finish"))
                },
                BatchSize::PerIteration,
            )
        });
    }
    let conns = synthetic(200_000, 20_000);
    group.throughput(Throughput::Elements(conns.len() as u64));
    group.bench_function("200k conns from 20k sources", |b| {
        b.iter_batched(
            || Analysis::new(config(false), &out).expect("analysis"),
            |mut a| {
                for r in &conns {
                    a.process(black_box(r));
                }
                black_box(a.finish().expect("finish"))
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&out);
}

criterion_group!(benches, bench);
criterion_main!(benches);
