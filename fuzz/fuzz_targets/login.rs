//! The telnet / rlogin / rsh login dissector: the same connection schedule as each of the
//! three protocols (both directions split anywhere, with gaps); every record renders as
//! a well-formed log line.
#![no_main]

use dissectors::Transport;
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::{check_rendering, conn_id, drive, schedule};

fuzz_target!(|data: &[u8]| {
    let deliveries = schedule(data);
    for port in dissectors::login_analyzer::PORTS {
        let id = conn_id(Transport::Tcp, 1022, port);
        let dissector =
            dissectors::login_analyzer::candidate(&id).expect("the dissector runs on this port");
        check_rendering(drive(dissector, id, &deliveries));
    }
});
