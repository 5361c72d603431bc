//! Prints the JARM fingerprint of each `ip:port` given, probing it as
//! `enrichment.active_jarm` does (to compare with other JARM scanners).
//!
//!     cargo run -p detectors --example jarm -- 127.0.0.1:4433

fn main() {
    for arg in std::env::args().skip(1) {
        match arg.parse::<std::net::SocketAddr>() {
            Ok(server) => {
                let fp = detectors::online::jarm_probe::probe_server(
                    server,
                    detectors::online::jarm::PROBE_TIMEOUT,
                );
                println!("{server},{fp}");
            }
            Err(e) => eprintln!("{arg}: {e}"),
        }
    }
}
