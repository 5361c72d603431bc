//! The web interface from the command line: `slipstream view OUT/` (or Slips' `-d FILE`)
//! serves a finished run's output; `-w` serves the output of the run being made, and
//! keeps serving after it ends until Ctrl+C.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use viewer::web::Server;

fn bind(db: &Path, port: u16) -> Result<Server> {
    Server::bind(db, port).with_context(|| {
        format!("cannot serve the web interface on 127.0.0.1:{port} (web_interface.port, --port)")
    })
}

/// Serves the output folder (or `flows.sqlite` file) at `path` until the process is
/// stopped; the port is `port`, else the configuration's `web_interface.port`.
pub fn serve(path: &Path, port: Option<u16>, config: &Path) -> Result<()> {
    let db = if path.is_dir() {
        path.join("flows.sqlite")
    } else {
        path.to_path_buf()
    };
    if !db.is_file() {
        bail!(
            "{}: no flows.sqlite to show (give a run's output folder or its flows.sqlite)",
            path.display()
        );
    }
    let port = match port {
        Some(p) => p,
        None => {
            detectors::Config::load(config)
                .with_context(|| format!("cannot load the configuration {}", config.display()))?
                .web_interface
                .port
        }
    };
    let server = bind(&db, port)?;
    eprintln!(
        "slipstream: web interface of {} at http://{}/ (Ctrl+C stops it)",
        path.display(),
        server.local_addr()?
    );
    server.run().context("the web interface stopped")
}

/// With `-w`: starts serving the run's `flows.sqlite` on a thread of its own.
pub fn during_run(
    enabled: bool,
    analysing: bool,
    output: &Path,
    settings: &detectors::Config,
) -> Result<Option<SocketAddr>> {
    if !enabled {
        return Ok(None);
    }
    if !analysing || settings.output.sqlite.is_empty() {
        bail!("-w shows the run's flows.sqlite, which this run does not write (--conn-only, --logs-only or output.sqlite turned off)");
    }
    let server = bind(
        &output.join(&settings.output.sqlite),
        settings.web_interface.port,
    )?;
    let addr = server.local_addr()?;
    server.spawn().context("cannot start the web interface")?;
    eprintln!("slipstream: web interface at http://{addr}/ while the run goes on");
    Ok(Some(addr))
}

/// After a run made with `-w`: the web interface stays up until Ctrl+C or SIGTERM.
pub fn after_run(web: Option<SocketAddr>, stop: &AtomicBool) {
    let Some(addr) = web else { return };
    if stop.load(Ordering::Relaxed) {
        return;
    }
    eprintln!(
        "slipstream: the run is over; the web interface stays at http://{addr}/ until Ctrl+C"
    );
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
    }
}
