//! The reader's progress report, which drives the CLI's progress bar.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use engine::pipeline::{run_file_until, FileProgress, PipelineConfig};

#[test]
fn progress_moves_forward_and_ends_at_the_whole_file() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/slips/test7-malicious.pcap");
    let size = std::fs::metadata(&pcap).unwrap().len();
    let progress = Arc::new(FileProgress::default());
    let config = PipelineConfig {
        progress: Some(progress.clone()),
        ..PipelineConfig::default()
    };
    // Sampled from the sink (the merge side) while the file is read.
    let seen = Mutex::new(Vec::new());
    let stats = run_file_until(&pcap, &config, &AtomicBool::new(false), &mut |_| {
        seen.lock()
            .unwrap()
            .push(progress.bytes_read.load(Ordering::Relaxed));
    })
    .unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "never goes back");
    assert!(seen.iter().all(|&b| b <= size));
    assert_eq!(progress.total_bytes.load(Ordering::Relaxed), size);
    assert_eq!(progress.bytes_read.load(Ordering::Relaxed), size);
    assert_eq!(progress.packets.load(Ordering::Relaxed), stats.packets);
    assert_eq!(progress.fraction(), 1.0);
}

#[test]
fn a_stopped_run_does_not_claim_the_whole_file() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/slips/test7-malicious.pcap");
    let progress = Arc::new(FileProgress::default());
    let config = PipelineConfig {
        progress: Some(progress.clone()),
        ..PipelineConfig::default()
    };
    run_file_until(&pcap, &config, &AtomicBool::new(true), &mut |_| {}).unwrap();
    assert!(progress.fraction() < 1.0);
}
