//! The SSH dissector (with software detection): both directions split anywhere, with
//! gaps; every record renders as a well-formed log line.
#![no_main]

use dissectors::Transport;
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::{check_rendering, conn_id, drive, schedule};

fuzz_target!(|data: &[u8]| {
    let id = conn_id(Transport::Tcp, 33000, 22);
    let dissector = dissectors::ssh::candidate(&id).expect("the dissector runs on this port");
    check_rendering(drive(dissector, id, &schedule(data)));
});
