//! Where packets come from: capture files, and live interfaces through libpcap or (with
//! the `af_xdp` feature) AF_XDP sockets, both behind [`LiveSource`].

#[cfg(feature = "af_xdp")]
mod af_xdp;
mod libpcap;
mod pcap_file;

use std::os::fd::RawFd;

use dissectors::Timestamp;

pub use libpcap::{BpfFilter, KernelStats, LiveCapture, LiveError, LiveOptions, LivePacket};
#[cfg(test)]
pub(crate) use pcap_file::classic_header_for_tests;
pub use pcap_file::{CaptureError, CaptureErrorKind, Packets, PcapFile, RawPacket};

/// A pcap `LINKTYPE_*` value: what the first header of every packet is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW_DLT12: LinkType = LinkType(12);
    pub const RAW_DLT14: LinkType = LinkType(14);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One live source of packets: a libpcap handle on an interface, or an AF_XDP socket on
/// one receive queue of an interface. The pipeline reads every source from one thread,
/// without blocking, and waits on all their descriptors at once when none has packets.
pub trait LiveSource {
    /// The interface it captures on.
    fn interface(&self) -> &str;

    /// How it captures, for the status line and `stats.json` (`pcap`, `af_xdp skb copy`).
    fn method(&self) -> &str;

    fn link(&self) -> LinkType;

    /// Hands the packets that are ready now, at most `max`, to `each`, without waiting.
    /// Returns how many packets were taken from the kernel, those a user-space filter
    /// rejected included: 0 means the source is idle. A packet's bytes are only lent for
    /// the call of `each`.
    fn read_batch(
        &mut self,
        max: usize,
        each: &mut dyn FnMut(&LivePacket<'_>),
    ) -> Result<usize, LiveError>;

    /// A descriptor that polls readable when packets wait (negative: none to wait on).
    fn wait_fd(&self) -> RawFd;

    /// What the kernel counted for this source, its drops included.
    fn kernel_stats(&self) -> Option<KernelStats>;
}

/// Which kernel interface live capture goes through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// libpcap (a packet socket): works on any interface, leaves the traffic to the host.
    #[default]
    Pcap,
    /// AF_XDP sockets, one per receive queue (needs the `af_xdp` cargo feature).
    AfXdp(XdpMode),
}

/// How an AF_XDP socket is attached to the driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XdpMode {
    /// The best that the driver allows: zero copy, else driver mode with copies, else
    /// skb (generic) mode.
    #[default]
    Auto,
    /// Native XDP, frames written by the NIC straight into our memory.
    ZeroCopy,
    /// Native XDP, frames copied into our memory by the kernel.
    DriverCopy,
    /// Generic XDP on the kernel's socket buffers: any interface, slowest.
    Skb,
}

/// Opens the live sources of one interface: one libpcap handle, or one AF_XDP socket per
/// receive queue.
pub fn open_live(
    interface: &str,
    options: &LiveOptions,
) -> Result<Vec<Box<dyn LiveSource>>, LiveError> {
    match options.backend {
        Backend::Pcap => Ok(vec![Box::new(LiveCapture::open(interface, options)?)]),
        #[cfg(feature = "af_xdp")]
        Backend::AfXdp(mode) => Ok(af_xdp::open_queues(interface, mode, options)?
            .into_iter()
            .map(|s| Box::new(s) as Box<dyn LiveSource>)
            .collect()),
        #[cfg(not(feature = "af_xdp"))]
        Backend::AfXdp(_) => Err(LiveError {
            interface: interface.to_string(),
            message: "AF_XDP capture is not compiled into this binary: build it with the \
                      `af_xdp` cargo feature (cargo build --release -p slipstream --features af_xdp)"
                .into(),
        }),
    }
}

/// The wall clock as a packet time: the time of live packets whose source gives none, and
/// the network time while no packet comes.
pub fn wall_clock() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Timestamp(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(feature = "af_xdp"))]
    fn af_xdp_without_the_feature_names_the_feature() {
        let options = LiveOptions {
            backend: Backend::AfXdp(XdpMode::Auto),
            ..LiveOptions::default()
        };
        let err = open_live("eth0", &options).err().expect("must fail");
        assert_eq!(err.interface, "eth0");
        assert!(err.message.contains("af_xdp"), "{}", err.message);
    }

    #[test]
    fn wall_clock_is_after_2020() {
        assert!(wall_clock().0 > 1_577_836_800_000_000);
    }
}
