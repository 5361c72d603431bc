//! Where packets come from: capture files today, live interfaces later.

mod libpcap;
mod pcap_file;

pub use libpcap::{KernelStats, LiveCapture, LiveError, LiveOptions, LivePacket};
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
