//! The live capture back-end flags: `--capture pcap|af_xdp` and `--xdp-mode`.

use clap::{Args, ValueEnum};
use engine::capture::{Backend, XdpMode};

#[derive(Args, Debug, Clone, Default)]
pub struct CaptureArgs {
    /// Live capture back-end: `pcap` (libpcap, default) or `af_xdp` (one AF_XDP socket per
    /// receive queue; needs a build with the `af_xdp` cargo feature; takes the packets away
    /// from the host's network stack, so use it on a monitoring interface).
    #[arg(
        long = "capture",
        value_enum,
        value_name = "BACKEND",
        requires = "interface",
        conflicts_with = "file"
    )]
    capture: Option<Capture>,

    /// With `--capture af_xdp`: how the sockets attach to the driver. `auto` tries zero
    /// copy, then driver mode with copies, then skb (generic) mode.
    #[arg(long = "xdp-mode", value_enum, value_name = "MODE")]
    xdp_mode: Option<XdpModeArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Capture {
    Pcap,
    #[value(name = "af_xdp", alias = "af-xdp")]
    AfXdp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum XdpModeArg {
    Auto,
    ZeroCopy,
    Driver,
    Skb,
}

impl CaptureArgs {
    /// The engine's back-end for these flags.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        let mode = match self.xdp_mode {
            None | Some(XdpModeArg::Auto) => XdpMode::Auto,
            Some(XdpModeArg::ZeroCopy) => XdpMode::ZeroCopy,
            Some(XdpModeArg::Driver) => XdpMode::DriverCopy,
            Some(XdpModeArg::Skb) => XdpMode::Skb,
        };
        match self.capture {
            Some(Capture::AfXdp) => Ok(Backend::AfXdp(mode)),
            None | Some(Capture::Pcap) if self.xdp_mode.is_some() => {
                anyhow::bail!("--xdp-mode applies to AF_XDP capture: add --capture af_xdp")
            }
            None | Some(Capture::Pcap) => Ok(Backend::Pcap),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[arg(short = 'i', long = "interface")]
        interface: Option<String>,
        #[arg(short = 'f')]
        file: Option<String>,
        #[command(flatten)]
        capture: CaptureArgs,
    }

    fn backend(args: &[&str]) -> anyhow::Result<Backend> {
        let cli = Cli::try_parse_from(std::iter::once("slipstream").chain(args.iter().copied()))?;
        assert!(cli.interface.is_some() && cli.file.is_none());
        cli.capture.backend()
    }

    #[test]
    fn flags_choose_the_backend() {
        assert_eq!(backend(&["-i", "eth0"]).unwrap(), Backend::Pcap);
        assert_eq!(
            backend(&["-i", "eth0", "--capture", "pcap"]).unwrap(),
            Backend::Pcap
        );
        assert_eq!(
            backend(&["-i", "eth0", "--capture", "af_xdp"]).unwrap(),
            Backend::AfXdp(XdpMode::Auto)
        );
        assert_eq!(
            backend(&["-i", "eth0", "--capture", "af_xdp", "--xdp-mode", "skb"]).unwrap(),
            Backend::AfXdp(XdpMode::Skb)
        );
        assert_eq!(
            backend(&[
                "-i",
                "eth0",
                "--capture",
                "af_xdp",
                "--xdp-mode",
                "zero-copy"
            ])
            .unwrap(),
            Backend::AfXdp(XdpMode::ZeroCopy)
        );
        assert_eq!(
            backend(&["-i", "eth0", "--capture", "af_xdp", "--xdp-mode", "driver"]).unwrap(),
            Backend::AfXdp(XdpMode::DriverCopy)
        );
    }

    #[test]
    fn misplaced_flags_are_errors() {
        let err = backend(&["-i", "eth0", "--xdp-mode", "skb"]).unwrap_err();
        assert!(err.to_string().contains("--capture af_xdp"), "{err}");
        assert!(Cli::try_parse_from(["slipstream", "--capture", "af_xdp"]).is_err());
        assert!(
            Cli::try_parse_from(["slipstream", "-f", "x.pcap", "--capture", "af_xdp"]).is_err()
        );
        assert!(Cli::try_parse_from(["slipstream", "-i", "eth0", "--capture", "dpdk"]).is_err());
    }
}
