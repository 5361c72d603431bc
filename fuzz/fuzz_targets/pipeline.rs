//! The whole pipeline on a capture file (reader, decode, fragments, tunnels, flow table,
//! dissectors): it ends with records or a capture error naming the file, and every
//! connection it counted is in a conn record.
#![no_main]

use std::path::PathBuf;

use dissectors::Record;
use engine::pipeline::{run_file, PipelineConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path: PathBuf =
        std::env::temp_dir().join(format!("slipstream-fuzz-{}.pcap", std::process::id()));
    std::fs::write(&path, data).expect("temp file");
    let mut config = PipelineConfig::default();
    config.tracker.max_connections = 16;
    config.tracker.max_reassembly_per_direction = 4096;
    config.tracker.verify_checksums = false;
    let mut records = Vec::new();
    let result = run_file(&path, &config, &mut |r| records.push(r));
    match result {
        Ok(stats) => {
            let conns = records
                .iter()
                .filter(|r| matches!(r, Record::Conn(_)))
                .count() as u64;
            assert_eq!(
                conns, stats.table.connections,
                "a connection ended without its record"
            );
            if let Some(e) = stats.capture_error {
                assert!(
                    e.to_string().contains("slipstream-fuzz-"),
                    "error does not name the file"
                );
            }
        }
        Err(e) => assert!(e.to_string().contains("slipstream-fuzz-")),
    }
});
