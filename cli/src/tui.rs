//! `slipstream tui OUT/`: the terminal UI over a run's output folder (or its
//! flows.sqlite), finished or still being written.

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};

/// Runs the terminal UI until the user quits; a run still writing is read again every
/// `refresh_secs`.
pub fn run(path: &Path, refresh_secs: f64) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("slipstream tui needs a terminal (over SSH: ssh -t HOST slipstream tui OUT/)");
    }
    if !(refresh_secs.is_finite() && refresh_secs > 0.0) {
        bail!("--refresh must be a positive number of seconds");
    }
    viewer::tui::run(path, Duration::from_secs_f64(refresh_secs)).map_err(anyhow::Error::from_boxed)
}
