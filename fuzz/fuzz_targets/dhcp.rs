//! The DHCP dissector: datagrams from both sides; every record (after the output stage's
//! aggregation) renders as a well-formed log line.
#![no_main]

use dissectors::Transport;
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::{check_rendering, conn_id, drive, schedule};

fuzz_target!(|data: &[u8]| {
    let id = conn_id(Transport::Udp, 68, 67);
    let dissector = dissectors::dhcp::candidate(&id).expect("the dissector runs on this port");
    check_rendering(drive(dissector, id, &schedule(data)));
});
