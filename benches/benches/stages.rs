//! One bench per stage, so that a regression shows where it is: each protocol's
//! dissection over the Zeek trace that exercises it, log writing (TSV and JSON), and
//! reading a Zeek conn.log back.

use std::hint::black_box;
use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dissectors::zeek::{LogFormat, LogSet};
use dissectors::Record;
use engine::capture::{LinkType, PcapFile};
use engine::decode::{decode, Outcome};
use engine::flow::{ConnTable, TrackerConfig, TunnelRole};
use engine::pipeline::{collect_file, PipelineConfig};
use engine::readers::{open_stream, StreamFormat};

fn testdata(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(rel)
}

fn packets(rel: &str) -> Vec<(dissectors::Timestamp, LinkType, Vec<u8>)> {
    let file = PcapFile::open(&testdata(rel)).expect("capture in testdata");
    file.packets()
        .expect("readable")
        .filter_map(Result::ok)
        .map(|p| (p.ts, p.link, p.data.to_vec()))
        .collect()
}

fn track(packets: &[(dissectors::Timestamp, LinkType, Vec<u8>)], dissect: bool) -> usize {
    let mut table = ConnTable::new(TrackerConfig {
        dissect,
        verify_checksums: false,
        ..TrackerConfig::default()
    });
    let mut out = Vec::new();
    for (ts, link, data) in packets {
        if let Ok(Outcome::Packet(d)) = decode(*link, data) {
            table.process(*ts, *ts, &d, data, TunnelRole::None);
            table.take_emitted(&mut out);
        }
    }
    table.flush();
    table.take_emitted(&mut out);
    out.len()
}

/// Dissection cost per protocol: tracking with the dissectors, minus tracking alone,
/// shows in the pair of figures for each trace.
fn dissectors_per_protocol(c: &mut Criterion) {
    for (protocol, trace) in [
        ("dns", "zeek/wikipedia-default/trace.pcap"),
        ("http", "zeek/http-pipelining/trace.pcap"),
        ("ssl", "zeek/ssl-tls12-extensions-default/trace.pcap"),
        ("ssh", "zeek/ssh-basic-default/trace.pcap"),
        ("dhcp", "zeek/dhcp-all-msg-types/trace.pcap"),
    ] {
        let p = packets(trace);
        let mut group = c.benchmark_group(format!("dissect/{protocol}"));
        group.throughput(Throughput::Elements(p.len() as u64));
        group.bench_function("track", |b| b.iter(|| black_box(track(&p, false))));
        group.bench_function("track+dissect", |b| b.iter(|| black_box(track(&p, true))));
        group.finish();
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn records() -> Vec<Record> {
    let config = PipelineConfig::default();
    collect_file(&testdata("slips/test7-malicious.pcap"), &config)
        .expect("run")
        .0
}

fn write_logs(records: &[Record], format: LogFormat) -> Vec<u8> {
    let buffer = Buffer::default();
    let sink = buffer.clone();
    let mut logs = LogSet::new(
        format,
        Box::new(move |_| Ok(Box::new(sink.clone()) as Box<dyn Write + Send>)),
    );
    for r in records {
        let _ = r.write_to(&mut logs);
    }
    let _ = logs.close();
    let bytes = buffer.0.lock().map(|b| b.clone()).unwrap_or_default();
    bytes
}

fn log_writing(c: &mut Criterion) {
    let recs = records();
    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Elements(recs.len() as u64));
    group.bench_function("tsv", |b| {
        b.iter(|| black_box(write_logs(&recs, LogFormat::Tsv).len()))
    });
    group.bench_function("json", |b| {
        b.iter(|| black_box(write_logs(&recs, LogFormat::Json).len()))
    });
    group.finish();
}

fn log_reading(c: &mut Criterion) {
    let conns: Vec<Record> = records()
        .into_iter()
        .filter(|r| matches!(r, Record::Conn(_)))
        .collect();
    // Many copies of the sample's connections make a conn.log long enough to time.
    let many: Vec<Record> = (0..50).flat_map(|_| conns.iter().cloned()).collect();
    let tsv = write_logs(&many, LogFormat::Tsv);
    let lines = many.len() as u64;
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(lines));
    group.bench_function("zeek conn.log tsv", |b| {
        b.iter(|| {
            let source = open_stream(
                Box::new(Cursor::new(tsv.clone())),
                StreamFormat::Zeek,
                "bench",
            );
            black_box(source.filter(Result::is_ok).count())
        })
    });
    group.finish();
}

criterion_group!(benches, dissectors_per_protocol, log_writing, log_reading);
criterion_main!(benches);
