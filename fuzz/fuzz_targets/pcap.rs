//! Capture files: any bytes give packets and at most one error, which ends the file and
//! names the place; every packet is a slice of the input.
#![no_main]

use std::path::Path;

use engine::capture::Packets;
use engine::decode::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.pcap");
    let Ok(packets) = Packets::new(path, data) else {
        return;
    };
    let range = data.as_ptr_range();
    let mut last = 0;
    let mut failed = false;
    for item in packets {
        assert!(!failed, "the reader went on after an error");
        match item {
            Ok(p) => {
                assert_eq!(p.number, last + 1, "packet numbers skip");
                last = p.number;
                let r = p.data.as_ptr_range();
                assert!(
                    p.data.is_empty() || (range.start <= r.start && r.end <= range.end),
                    "a packet is not a slice of the file"
                );
                let _ = decode(p.link, p.data);
            }
            Err(e) => {
                failed = true;
                assert!(
                    e.offset <= data.len() as u64,
                    "error offset beyond the file"
                );
                let msg = e.to_string();
                assert!(msg.starts_with("fuzz.pcap"), "error does not name the file");
            }
        }
    }
});
