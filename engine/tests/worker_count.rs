//! The records do not depend on how many workers track the flows, down to their order,
//! including the connections whose inactivity timers fall due in the last stretch of the
//! capture, after the last watermark tick.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;

use common::pcap_writer::*;
use common::render;
use dissectors::zeek::LogFormat;
use engine::pipeline::{collect_file, PipelineConfig};

#[test]
fn timers_due_after_the_last_tick_fire_before_the_flush_with_any_worker_count() {
    // 200 one-packet UDP flows, half a second apart, over 100 s: with UDP's 60 s
    // inactivity timeout, the flows of the first 40 s end during the capture. Watermark
    // ticks every 10 s of network time leave the last 9.5 s to the tables' own packets.
    let frames: Vec<Frame> = (0..200u16)
        .map(|i| {
            let ip = ipv4_udp(
                Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250) as u8 + 1),
                Ipv4Addr::new(192, 0, 2, 7),
                20_000 + i,
                5_000,
                b"ping",
            );
            Frame::new(i64::from(i) * 500_000, ethernet(&ip))
        })
        .collect();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("worker-count-late-timers.pcap");
    std::fs::write(&path, pcap(1, &frames).0).unwrap();
    let logs = |workers| {
        let config = PipelineConfig {
            workers,
            tick_micros: 10_000_000,
            ..PipelineConfig::default()
        };
        render(&collect_file(&path, &config).unwrap().0, LogFormat::Tsv)["conn"]
            .lines()
            .filter(|l| !l.starts_with("#open") && !l.starts_with("#close"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let one = logs(1);
    assert_eq!(one.iter().filter(|l| !l.starts_with('#')).count(), 200);
    for workers in [2, 3, 8] {
        let many = logs(workers);
        let first_difference = one.iter().zip(&many).position(|(a, b)| a != b);
        assert_eq!(
            (first_difference, many.len()),
            (None, one.len()),
            "{workers} workers: line {first_difference:?} differs"
        );
    }
    std::fs::remove_file(&path).unwrap();
}
