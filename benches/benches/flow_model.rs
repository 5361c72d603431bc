//! Cost of the flow classifier (`MALICIOUS_FLOW`) per connection: feature extraction
//! and the shipped model's decision, over the connections of a real capture.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use detectors::flow_model::FlowModel;
use dissectors::Record;

fn bench(c: &mut Criterion) {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/slips/test7-malicious.pcap");
    let (records, _) =
        engine::pipeline::collect_file(&pcap, &engine::pipeline::PipelineConfig::default())
            .expect("capture in testdata");
    let conns: Vec<_> = records
        .into_iter()
        .filter_map(|r| match r {
            Record::Conn(c) => Some(*c),
            _ => None,
        })
        .collect();
    let model = FlowModel::shipped();
    let mut group = c.benchmark_group("flow_model");
    group.throughput(Throughput::Elements(conns.len() as u64));
    group.bench_function("test7 conns: features + decision", |b| {
        b.iter(|| {
            conns
                .iter()
                .filter(|c| model.is_malicious(black_box(c)))
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
