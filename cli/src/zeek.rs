//! `--zeek`: Zeek's dissection instead of ours, when Zeek is installed.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Result;
use engine::readers::zeek_run::{self, ZeekInput, ZeekOptions};
use engine::readers::RecordSource;

use crate::console::Console;

/// Zeek's logs for `input`, or `None` (after saying so) when Zeek is not installed and
/// the native engine is to be used.
pub fn logs_from_zeek(
    input: ZeekInput,
    out: &Path,
    ignore_checksums: bool,
    filter: Option<String>,
    stop: Arc<AtomicBool>,
    console: &Console,
) -> Result<Option<Box<dyn RecordSource>>> {
    let Some(zeek) = zeek_run::find_zeek(std::env::var_os("PATH")) else {
        console.info(
            1,
            "--zeek: zeek is not installed (no `zeek` on PATH); using the native engine",
        );
        return Ok(None);
    };
    let options = ZeekOptions {
        log_dir: out.join("zeek_files"),
        zeek,
        ignore_checksums,
        filter,
    };
    console.info(
        2,
        &format!(
            "running {} ({input:?}), logs in {}",
            options.zeek.display(),
            options.log_dir.display()
        ),
    );
    let records = match input {
        ZeekInput::File(path) => zeek_run::run_on_file(&path, &options)?,
        ZeekInput::Interface(iface) => zeek_run::run_on_interface(&iface, &options, stop)?,
    };
    Ok(Some(records))
}
