//! Packet decoding on every link type: the description of a packet always lies inside
//! its bytes.
#![no_main]

use engine::decode::{decode, transport_checksum_ok, Outcome};
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::link_for;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match decode(link_for(selector), bytes) {
        Ok(Outcome::Packet(d)) => {
            // Headers cut by a snaplen may put the payload's start past the end; then
            // nothing of it was captured.
            let end = d.payload_offset as usize + d.payload_captured as usize;
            assert!(
                d.payload_captured == 0 || end <= bytes.len(),
                "payload beyond the packet"
            );
            assert!(d.l4_offset <= d.payload_offset, "payload before its header");
            assert!(
                d.payload_captured <= d.payload_len,
                "captured more than sent"
            );
            assert_eq!(d.payload(bytes).len(), d.payload_captured as usize);
            let _ = transport_checksum_ok(bytes, &d);
        }
        Ok(Outcome::Fragment(f)) => {
            let data_end = f.data_offset as usize + f.data_len as usize;
            let header_end = f.header_offset as usize + f.header_len as usize;
            assert!(data_end <= bytes.len(), "fragment data beyond the packet");
            assert!(
                header_end <= bytes.len(),
                "fragment header beyond the packet"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
