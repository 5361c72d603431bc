//! TCP reassembly of one direction against a model stream whose byte at sequence `s` is
//! known: whatever the segments and acknowledgments, what comes out is the stream in
//! order (data where it was seen, gaps where it was not), and buffering stays in budget.
#![no_main]

use engine::flow::{Chunk, Reassembler};
use libfuzzer_sys::fuzz_target;

const BUDGET: usize = 2048;

fn stream_byte(seq: u64) -> u8 {
    (seq ^ (seq >> 8) ^ (seq >> 16)) as u8
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reassembler::new(true, BUDGET);
    // Next sequence number the output should continue at (the first data byte is 1).
    let mut next = 1u64;
    let mut segment = Vec::new();
    for op in data.chunks_exact(5) {
        let seq = u64::from(u32::from_be_bytes([op[1], op[2], op[3], op[4]]) & 0x000f_ffff);
        let mut check = |c: Chunk<'_>| match c {
            Chunk::Data(d) => {
                for (i, &b) in d.iter().enumerate() {
                    assert_eq!(
                        b,
                        stream_byte(next + i as u64),
                        "wrong byte at {}",
                        next + i as u64
                    );
                }
                next += d.len() as u64;
            }
            Chunk::Gap(n) => {
                assert!(n > 0, "empty gap");
                next += n;
            }
        };
        if op[0] & 0x80 != 0 {
            r.ack(seq, op[0] & 0x40 != 0, &mut check);
        } else {
            let len = u64::from(op[0] & 0x7f) * 8;
            segment.clear();
            segment.extend((seq..seq + len).map(stream_byte));
            r.data(seq, &segment, &mut check);
        }
        assert!(r.buffered_bytes() <= BUDGET, "over budget");
    }
});
