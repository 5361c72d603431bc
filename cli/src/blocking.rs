//! Blocking on the command line: `-p` blocks the profiles that raise alerts in the
//! Linux firewall (live sources only, as in Slips: `-i`, or `-f` on a growing Zeek
//! folder with `-g`), `-cb` removes everything slipstream added to the firewall, and
//! the hidden subcommand `slipstream blocker` is the privileged part `-p` starts.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use detectors::config::FirewallChoice;
use prevention::{firewall, privsep, Blocker};

use crate::output::Outputs;

/// Slips spells "clear blocking" `-cb`, which clap cannot take (a short flag is one
/// letter): the literal argument is rewritten to the long flag before parsing. After
/// `--` every argument is left as it is.
pub fn rewrite_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut after_separator = false;
    args.into_iter()
        .map(|a| {
            if a == "--" {
                after_separator = true;
            }
            if !after_separator && a == "-cb" {
                OsString::from("--clearblocking")
            } else {
                a
            }
        })
        .collect()
}

fn choice(name: &str) -> Result<FirewallChoice> {
    Ok(match name {
        "auto" => FirewallChoice::Auto,
        "nftables" => FirewallChoice::Nftables,
        "iptables" => FirewallChoice::Iptables,
        other => bail!("unknown firewall {other} (auto, nftables, iptables)"),
    })
}

/// `slipstream blocker`: the privileged part, serving requests on standard input. When
/// it refuses, the parent has been told why and says it: this process only fails.
pub fn serve(firewall: &str) -> Result<()> {
    match privsep::run_privileged_part(choice(firewall)?) {
        Ok(privsep::Served::Finished) => Ok(()),
        Ok(privsep::Served::Refused) => std::process::exit(1),
        Err(e) => Err(anyhow!("blocker: {e}")),
    }
}

/// `-cb`: removes slipstream's table (nftables) and chain (iptables, ip6tables)
/// wherever they are, and nothing else.
pub fn clear() -> Result<()> {
    let all = firewall::installed();
    if all.is_empty() {
        bail!("neither nft nor iptables is installed: there is nothing to clear");
    }
    let mut errors = Vec::new();
    for mut fw in all {
        let what = match fw.name() {
            "nftables" => format!("table inet {}", firewall::NFT_TABLE),
            _ => format!("chain {}", firewall::IPTABLES_CHAIN),
        };
        match fw.clear() {
            Ok(true) => eprintln!("slipstream: removed {} {what}", fw.name()),
            Ok(false) => eprintln!("slipstream: no {} {what} to remove", fw.name()),
            Err(e) => errors.push(format!("{}: {e}", fw.name())),
        }
    }
    if !errors.is_empty() {
        bail!("cannot clear the blocking rules: {}", errors.join("; "));
    }
    Ok(())
}

/// What `-p` set up for a run: the subscriber to attach, and the privileges to drop
/// once the capture is open.
pub struct Blocking {
    subscriber: Option<Blocker>,
    drop_to: Option<String>,
    output: PathBuf,
    stop: Arc<AtomicBool>,
    dropped: bool,
}

impl Blocking {
    /// Starts the privileged part when `enabled` (`-p`); `live`: the input is an
    /// interface or a growing folder; `analysis`: detections run (not `--conn-only`).
    pub fn start(
        enabled: bool,
        live: bool,
        analysis: bool,
        settings: &detectors::Config,
        output: &Path,
        stop: Arc<AtomicBool>,
    ) -> Result<Blocking> {
        let mut b = Blocking {
            subscriber: None,
            drop_to: None,
            output: output.to_path_buf(),
            stop,
            dropped: false,
        };
        // A live capture is opened as root: from then on it needs no privilege, with
        // or without blocking.
        let user = &settings.parameters.drop_privileges_to;
        if live {
            b.drop_to = (!user.is_empty()).then(|| user.clone());
        }
        if !enabled {
            return Ok(b);
        }
        if !live {
            bail!(
                "-p blocks live traffic: use it with -i, or with -f on a growing Zeek folder (-g)"
            );
        }
        if !analysis {
            bail!(
                "-p blocks the profiles that raise alerts: it needs the analysis, not --conn-only"
            );
        }
        std::fs::create_dir_all(output)
            .map_err(|e| anyhow!("cannot create output folder {}: {e}", output.display()))?;
        let link = privsep::spawn(settings.blocking.firewall)
            .map_err(|e| anyhow!("cannot start blocking: {e}"))?;
        b.subscriber = Some(Blocker::start(settings, output, link)?);
        Ok(b)
    }

    /// Hands the blocker to the analysis.
    pub fn attach(&mut self, outputs: &mut Outputs) {
        if let Some(b) = self.subscriber.take() {
            outputs.subscribe(Box::new(b));
        }
    }

    /// Called once the input is open (and whenever after): switches to the configured
    /// user the first time. A failure stops the run rather than leave it running as
    /// root against the configuration.
    pub fn capture_open(&mut self) {
        if self.dropped {
            return;
        }
        self.dropped = true;
        let Some(user) = &self.drop_to else { return };
        match privsep::drop_privileges(user, &self.output) {
            Ok(()) => eprintln!("slipstream: the capture is open; now running as {user}"),
            Err(e) => {
                eprintln!("slipstream: error: cannot switch to user {user}: {e}; stopping");
                self.stop.store(true, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn cb_is_the_long_flag() {
        assert_eq!(
            rewrite_args(os(&["slipstream", "-cb"])),
            os(&["slipstream", "--clearblocking"])
        );
        assert_eq!(
            rewrite_args(os(&["slipstream", "-i", "eth0", "-p", "--", "-cb"])),
            os(&["slipstream", "-i", "eth0", "-p", "--", "-cb"])
        );
        assert_eq!(
            rewrite_args(os(&["slipstream", "-c", "-cbx"])),
            os(&["slipstream", "-c", "-cbx"])
        );
    }

    #[test]
    fn firewall_names() {
        assert_eq!(choice("auto").unwrap(), FirewallChoice::Auto);
        assert_eq!(choice("iptables").unwrap(), FirewallChoice::Iptables);
        assert_eq!(choice("nftables").unwrap(), FirewallChoice::Nftables);
        assert!(choice("pf").is_err());
    }

    #[test]
    fn blocking_needs_a_live_source_and_the_analysis() {
        let stop = Arc::new(AtomicBool::new(false));
        let settings = detectors::Config::default();
        let out = Path::new("/nonexistent-slipstream-out");
        let off = Blocking::start(false, false, true, &settings, out, stop.clone()).unwrap();
        assert!(off.subscriber.is_none() && off.drop_to.is_none());
        // Privileges are dropped after any live capture opens, blocking or not; a file
        // is not a capture that needed them.
        let mut with_user = detectors::Config::default();
        with_user.parameters.drop_privileges_to = "nobody".into();
        let live = Blocking::start(false, true, true, &with_user, out, stop.clone()).unwrap();
        assert_eq!(live.drop_to.as_deref(), Some("nobody"));
        let file = Blocking::start(false, false, true, &with_user, out, stop.clone()).unwrap();
        assert!(file.drop_to.is_none());
        let e = Blocking::start(true, false, true, &settings, out, stop.clone())
            .err()
            .unwrap();
        assert!(e.to_string().contains("-p blocks live traffic"), "{e}");
        let e = Blocking::start(true, true, false, &settings, out, stop)
            .err()
            .unwrap();
        assert!(e.to_string().contains("--conn-only"), "{e}");
    }
}
