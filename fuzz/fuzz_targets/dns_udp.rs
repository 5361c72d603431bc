//! The DNS dissector on UDP: datagrams from both sides in any order; every record it emits
//! renders as a well-formed log line.
#![no_main]

use dissectors::Transport;
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::{check_rendering, conn_id, drive, schedule};

fuzz_target!(|data: &[u8]| {
    let id = conn_id(Transport::Udp, 33000, 53);
    let dissector = dissectors::dns::candidate(&id).expect("the dissector runs on this port");
    check_rendering(drive(dissector, id, &schedule(data)));
});
