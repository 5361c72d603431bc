//! Daemon mode (`-D`): the process detaches from the terminal and runs in the
//! background, writing its pid to the output folder; `-S` stops it through that file.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

pub fn pid_file(output: &Path) -> PathBuf {
    output.join("slipstream.pid")
}

/// Detaches: fork, new session, fork again (so the daemon can never regain a terminal),
/// standard streams to `OUTPUT/slipstream.out`. Must run before any thread is started.
pub fn detach(output: &Path) -> Result<()> {
    fs::create_dir_all(output)
        .with_context(|| format!("cannot create output folder {}", output.display()))?;
    let log = output.join("slipstream.out");
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    for _ in 0..2 {
        // SAFETY: called before any other thread exists, so the child is a full copy of a
        // single-threaded process; the parent exits at once without running destructors
        // that could touch shared state.
        match unsafe { libc::fork() } {
            -1 => bail!("cannot fork: {}", std::io::Error::last_os_error()),
            0 => {}
            _ => std::process::exit(0),
        }
        // SAFETY: setsid has no memory-safety preconditions; it fails harmlessly in the
        // second child, which is already a session leader's child.
        unsafe { libc::setsid() };
    }
    use std::os::unix::io::AsRawFd;
    let fd = out.as_raw_fd();
    // SAFETY: dup2 onto the standard descriptors with a descriptor we own; /dev/null for
    // stdin is opened and left to the process.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null >= 0 {
            libc::dup2(null, 0);
        }
        libc::dup2(fd, 1);
        libc::dup2(fd, 2);
    }
    fs::write(pid_file(output), format!("{}\n", std::process::id()))
        .with_context(|| format!("cannot write {}", pid_file(output).display()))?;
    Ok(())
}

/// Stops the daemon writing into `output` (SIGTERM: it flushes and exits cleanly).
pub fn stop(output: &Path) -> Result<()> {
    let path = pid_file(output);
    let text = fs::read_to_string(&path)
        .with_context(|| format!("no running daemon: cannot read {}", path.display()))?;
    let pid: i32 = text
        .trim()
        .parse()
        .with_context(|| format!("{}: not a pid", path.display()))?;
    // SAFETY: sending a signal has no memory-safety preconditions.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        bail!(
            "cannot stop process {pid}: {}",
            std::io::Error::last_os_error()
        );
    }
    let _ = fs::remove_file(&path);
    Ok(())
}
