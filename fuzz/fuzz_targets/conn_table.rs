//! The flow table fed decoded packets (fragments reassembled, every dissector attached)
//! under small caps: the table never holds more connections than its cap, reassembly
//! never buffers more than its per-direction budget, and every connection, evicted or
//! not, ends in exactly one conn record.
#![no_main]

use dissectors::Record;
use engine::decode::{decode, FragmentLimits, FragmentTable, Outcome};
use engine::flow::{ConnTable, TrackerConfig, TunnelRole};
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::{check_rendering, link_for, PacketSeq};

const MAX_CONNECTIONS: usize = 8;
const MAX_REASSEMBLY: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let link = link_for(selector & 0x7f);
    let config = TrackerConfig {
        // The fuzzer rarely gets a checksum right: check them on one input in two.
        verify_checksums: selector & 0x80 != 0,
        max_connections: MAX_CONNECTIONS,
        max_reassembly_per_direction: MAX_REASSEMBLY,
        ..TrackerConfig::default()
    };
    let mut table = ConnTable::new(config);
    let mut frags = FragmentTable::new(FragmentLimits {
        max_pending: 4,
        max_bytes: 8192,
        timeout_micros: 30_000_000,
    });
    for (ts, packet) in PacketSeq::new(rest) {
        match decode(link, packet) {
            Ok(Outcome::Packet(d)) => table.process(ts, ts, &d, packet, TunnelRole::None),
            Ok(Outcome::Fragment(f)) => {
                if let Some(whole) = frags.add(ts, packet, &f) {
                    if let Ok(Outcome::Packet(d)) = whole.outcome {
                        table.process(ts, ts, &d, &whole.bytes, TunnelRole::None);
                    }
                }
            }
            Err(_) => {}
        }
        let stats = table.stats();
        assert!(stats.active <= MAX_CONNECTIONS as u64, "table over its cap");
        assert!(
            table.buffered_bytes() <= 2 * MAX_REASSEMBLY * MAX_CONNECTIONS,
            "reassembly over its budget"
        );
    }
    table.flush();
    let mut emitted = Vec::new();
    table.take_emitted(&mut emitted);
    let out: Vec<Record> = emitted.into_iter().map(|e| e.record).collect();
    let stats = table.stats();
    assert_eq!(stats.active, 0);
    let conns = out.iter().filter(|r| matches!(r, Record::Conn(_))).count() as u64;
    assert_eq!(
        conns, stats.connections,
        "a connection ended without its record"
    );
    check_rendering(out);
});
