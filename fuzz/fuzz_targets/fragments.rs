//! IP fragment reassembly under small caps: pending datagrams and buffered bytes never
//! exceed the limits, and a reassembled datagram decodes inside its own bytes.
#![no_main]

use engine::decode::{decode, FragmentLimits, FragmentTable, Outcome};
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::{link_for, PacketSeq};

const LIMITS: FragmentLimits = FragmentLimits {
    max_pending: 8,
    max_bytes: 16 * 1024,
    timeout_micros: 30_000_000,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let link = link_for(selector);
    let mut table = FragmentTable::new(LIMITS);
    for (ts, packet) in PacketSeq::new(rest) {
        let Ok(Outcome::Fragment(f)) = decode(link, packet) else {
            continue;
        };
        let whole = table.add(ts, packet, &f);
        assert!(table.pending() <= LIMITS.max_pending, "too many pending");
        assert!(
            table.buffered_bytes() <= LIMITS.max_bytes,
            "{} bytes buffered over a cap of {}",
            table.buffered_bytes(),
            LIMITS.max_bytes
        );
        if let Some(whole) = whole {
            if let Ok(Outcome::Packet(d)) = whole.outcome {
                let end = d.payload_offset as usize + d.payload_captured as usize;
                assert!(end <= whole.bytes.len(), "payload beyond the datagram");
            }
        }
    }
    let s = table.stats;
    assert!(s.reassembled + s.evicted + s.timed_out <= s.fragments);
});
