//! Packet decoding: link layer, IP and transport headers, read in place. The result is a
//! small `Copy` description of the packet (addresses, ports, flags and where the payload
//! lies); the bytes themselves are never copied.

mod checksum;
mod frag;
mod link;

pub use checksum::transport_checksum_ok;
pub use frag::{FragmentLimits, FragmentStats, FragmentTable, Reassembled};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::capture::LinkType;

/// Transport-level view of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4 {
    Tcp {
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        window: u16,
    },
    Udp,
    Icmp {
        v6: bool,
        icmp_type: u8,
        code: u8,
    },
    /// Another IP protocol: tracked as a connection without ports.
    Other,
    /// An ARP message (not IP): `src`/`dst` of the packet are the sender and target
    /// protocol addresses. Logged in arp.log, never tracked as a connection.
    Arp(ArpFields),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpFields {
    /// 1 request, 2 reply.
    pub operation: u16,
    pub sender_hw: [u8; 6],
    pub target_hw: [u8; 6],
    pub frame_src: [u8; 6],
    pub frame_dst: [u8; 6],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// A decoded packet. Offsets index the bytes the packet was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub ip_proto: u8,
    /// Length of the IP datagram from its header (Zeek's `ip_bytes` count this, so link
    /// padding is excluded).
    pub ip_len: u32,
    pub l4: L4,
    /// Start of the transport header.
    pub l4_offset: u32,
    /// Start of the transport payload.
    pub payload_offset: u32,
    /// Payload length according to the headers.
    pub payload_len: u32,
    /// Payload bytes actually captured (less than `payload_len` after a snaplen cut).
    pub payload_captured: u32,
}

impl Decoded {
    pub fn payload<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        let start = self.payload_offset as usize;
        bytes
            .get(start..start + self.payload_captured as usize)
            .unwrap_or(&[])
    }
}

/// Why a packet was not decoded. Counted per reason, reported with the packet number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// A link type we do not read.
    UnsupportedLink(u32),
    /// An ethertype (or equivalent) that carries no IP: ARP, LLDP, STP ...
    NotIp,
    /// Shorter than its own headers.
    Truncated(&'static str),
    /// A header field that cannot be right (IP header length below minimum ...).
    Malformed(&'static str),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::UnsupportedLink(l) => write!(f, "unsupported link type {l}"),
            DecodeError::NotIp => write!(f, "not an IP packet"),
            DecodeError::Truncated(what) => write!(f, "truncated {what} header"),
            DecodeError::Malformed(what) => write!(f, "malformed {what} header"),
        }
    }
}

/// Result of decoding: either a whole packet, or a fragment for the reassembler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Packet(Decoded),
    Fragment(FragmentInfo),
}

/// An IP fragment: where its piece of the datagram lies in the packet bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentInfo {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub ip_proto: u8,
    /// Offset of this piece in the original datagram's payload, in bytes.
    pub offset: u32,
    pub more: bool,
    /// Start and length of the IP header in the packet (kept from the first fragment).
    pub header_offset: u32,
    pub header_len: u32,
    /// Start and length of this fragment's piece of payload in the packet.
    pub data_offset: u32,
    pub data_len: u32,
    pub v6: bool,
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The endpoints (source, source port, destination, destination port) of a packet that
/// [`decode`] reads as a whole TCP segment in IPv4 over Ethernet, the bulk of most
/// captures, read from the headers without decoding the packet. `None` for anything else,
/// and whenever [`decode`] would fail or find less: every check [`decode`] makes on that
/// path is made here, so the two agree (a test holds them to it). A worker that shares a
/// capture with others skips their packets with it.
pub fn ethernet_ipv4_tcp_endpoints(
    link: LinkType,
    bytes: &[u8],
) -> Option<(IpAddr, u16, IpAddr, u16)> {
    const AT: usize = 14;
    if link != LinkType::ETHERNET || be16(bytes, 12)? != 0x0800 {
        return None;
    }
    let h = bytes.get(AT..)?;
    if h.len() < 20 || h[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(be16(h, 2)?);
    let fragment = be16(h, 6)? & 0x3fff != 0;
    if ihl < 20 || h.len() < ihl || total < ihl || fragment || h[9] != 6 {
        return None;
    }
    let len = total - ihl;
    let t = h.get(ihl..ihl + (h.len() - ihl).min(len))?;
    if t.len() < 20 {
        return None;
    }
    let hdr = usize::from(t[12] >> 4) * 4;
    if hdr < 20 || hdr > len {
        return None;
    }
    Some((
        IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
        u16::from_be_bytes([t[0], t[1]]),
        IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
        u16::from_be_bytes([t[2], t[3]]),
    ))
}

/// Decodes a packet captured on `link`.
pub fn decode(link: LinkType, bytes: &[u8]) -> Result<Outcome, DecodeError> {
    match link::ip_offset(link, bytes) {
        Ok(at) => decode_ip(bytes, at),
        Err(DecodeError::NotIp) => match link::arp_offset(link, bytes) {
            Some((at, frame_src, frame_dst)) => decode_arp(bytes, at, frame_src, frame_dst),
            None => Err(DecodeError::NotIp),
        },
        Err(e) => Err(e),
    }
}

/// An Ethernet/IPv4 ARP message at `at`; other hardware or protocol types are not IP
/// traffic we track.
fn decode_arp(
    bytes: &[u8],
    at: usize,
    frame_src: [u8; 6],
    frame_dst: [u8; 6],
) -> Result<Outcome, DecodeError> {
    let m = bytes
        .get(at..at + 28)
        .ok_or(DecodeError::Truncated("ARP"))?;
    if be16(m, 0) != Some(1) || be16(m, 2) != Some(0x0800) || m[4] != 6 || m[5] != 4 {
        return Err(DecodeError::NotIp);
    }
    let hw = |i: usize| -> [u8; 6] { m[i..i + 6].try_into().unwrap_or([0; 6]) };
    let ip = |i: usize| IpAddr::V4(Ipv4Addr::new(m[i], m[i + 1], m[i + 2], m[i + 3]));
    Ok(Outcome::Packet(Decoded {
        src: ip(14),
        dst: ip(24),
        src_port: 0,
        dst_port: 0,
        ip_proto: 0,
        ip_len: 28,
        l4: L4::Arp(ArpFields {
            operation: be16(m, 6).unwrap_or(0),
            sender_hw: hw(8),
            target_hw: hw(18),
            frame_src,
            frame_dst,
        }),
        l4_offset: at as u32,
        payload_offset: (at + 28) as u32,
        payload_len: 0,
        payload_captured: 0,
    }))
}

/// Decodes an IP datagram starting at `at`.
pub fn decode_ip(bytes: &[u8], at: usize) -> Result<Outcome, DecodeError> {
    match bytes.get(at).map(|b| b >> 4) {
        Some(4) => decode_ipv4(bytes, at),
        Some(6) => decode_ipv6(bytes, at),
        Some(_) => Err(DecodeError::Malformed("IP version")),
        None => Err(DecodeError::Truncated("IP")),
    }
}

fn decode_ipv4(bytes: &[u8], at: usize) -> Result<Outcome, DecodeError> {
    let h = bytes.get(at..).ok_or(DecodeError::Truncated("IPv4"))?;
    if h.len() < 20 {
        return Err(DecodeError::Truncated("IPv4"));
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(DecodeError::Malformed("IPv4 header length"));
    }
    if h.len() < ihl {
        return Err(DecodeError::Truncated("IPv4"));
    }
    let total = usize::from(be16(h, 2).unwrap_or(0));
    if total < ihl {
        return Err(DecodeError::Malformed("IPv4 total length"));
    }
    let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
    let proto = h[9];
    let frag = be16(h, 6).unwrap_or(0);
    let more = frag & 0x2000 != 0;
    let offset = u32::from(frag & 0x1fff) * 8;
    let payload_len = total - ihl;
    if more || offset != 0 {
        let captured = payload_len.min(h.len() - ihl);
        return Ok(Outcome::Fragment(FragmentInfo {
            src,
            dst,
            id: u32::from(be16(h, 4).unwrap_or(0)),
            ip_proto: proto,
            offset,
            more,
            header_offset: at as u32,
            header_len: ihl as u32,
            data_offset: (at + ihl) as u32,
            data_len: captured as u32,
            v6: false,
        }));
    }
    decode_transport(bytes, src, dst, proto, total as u32, at + ihl, payload_len)
}

fn decode_ipv6(bytes: &[u8], at: usize) -> Result<Outcome, DecodeError> {
    let h = bytes.get(at..).ok_or(DecodeError::Truncated("IPv6"))?;
    if h.len() < 40 {
        return Err(DecodeError::Truncated("IPv6"));
    }
    let payload_len = usize::from(be16(h, 4).unwrap_or(0));
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    dst.copy_from_slice(&h[24..40]);
    let src = IpAddr::V6(Ipv6Addr::from(src));
    let dst = IpAddr::V6(Ipv6Addr::from(dst));
    let mut next = h[6];
    let mut off = 40usize;
    // Extension headers, each `(next, len)`-prefixed, with the fragment header fixed at 8.
    loop {
        match next {
            0 | 43 | 60 | 135 | 139 | 140 => {
                let (Some(&n), Some(&l)) = (h.get(off), h.get(off + 1)) else {
                    return Err(DecodeError::Truncated("IPv6 extension"));
                };
                next = n;
                off += (usize::from(l) + 1) * 8;
            }
            51 => {
                let (Some(&n), Some(&l)) = (h.get(off), h.get(off + 1)) else {
                    return Err(DecodeError::Truncated("IPv6 AH"));
                };
                next = n;
                off += (usize::from(l) + 2) * 4;
            }
            44 => {
                let (Some(&n), Some(fo), Some(id)) =
                    (h.get(off), be16(h, off + 2), be32(h, off + 4))
                else {
                    return Err(DecodeError::Truncated("IPv6 fragment"));
                };
                let offset = u32::from(fo >> 3) * 8;
                let more = fo & 1 != 0;
                let hdr_end = off + 8;
                if more || offset != 0 {
                    let total = 40 + payload_len;
                    let data_len = total
                        .saturating_sub(hdr_end)
                        .min(h.len().saturating_sub(hdr_end));
                    return Ok(Outcome::Fragment(FragmentInfo {
                        src,
                        dst,
                        id,
                        ip_proto: n,
                        offset,
                        more,
                        header_offset: at as u32,
                        header_len: hdr_end as u32,
                        data_offset: (at + hdr_end) as u32,
                        data_len: data_len as u32,
                        v6: true,
                    }));
                }
                // An atomic fragment (offset 0, no more): just a header to skip.
                next = n;
                off = hdr_end;
            }
            _ => break,
        }
        if off > 40 + payload_len {
            return Err(DecodeError::Malformed("IPv6 extension length"));
        }
    }
    let l4_len = (40 + payload_len)
        .checked_sub(off)
        .ok_or(DecodeError::Malformed("IPv6 payload length"))?;
    decode_transport(
        bytes,
        src,
        dst,
        next,
        (40 + payload_len) as u32,
        at + off,
        l4_len,
    )
}

/// Decodes the transport header at `at`; `len` is the transport length from the IP header.
pub(crate) fn decode_transport(
    bytes: &[u8],
    src: IpAddr,
    dst: IpAddr,
    ip_proto: u8,
    ip_len: u32,
    at: usize,
    len: usize,
) -> Result<Outcome, DecodeError> {
    let avail = bytes.len().saturating_sub(at).min(len);
    let t = bytes.get(at..at + avail).unwrap_or(&[]);
    let (src_port, dst_port, l4, hdr) = match ip_proto {
        6 => {
            if t.len() < 20 {
                return Err(DecodeError::Truncated("TCP"));
            }
            let hdr = usize::from(t[12] >> 4) * 4;
            if hdr < 20 || hdr > len {
                return Err(DecodeError::Malformed("TCP data offset"));
            }
            let l4 = L4::Tcp {
                seq: be32(t, 4).unwrap_or(0),
                ack: be32(t, 8).unwrap_or(0),
                flags: TcpFlags(t[13]),
                window: be16(t, 14).unwrap_or(0),
            };
            (be16(t, 0).unwrap_or(0), be16(t, 2).unwrap_or(0), l4, hdr)
        }
        17 => {
            if t.len() < 8 {
                return Err(DecodeError::Truncated("UDP"));
            }
            (be16(t, 0).unwrap_or(0), be16(t, 2).unwrap_or(0), L4::Udp, 8)
        }
        1 | 58 => {
            if t.len() < 8 {
                return Err(DecodeError::Truncated("ICMP"));
            }
            let v6 = ip_proto == 58;
            let (ty, code) = (t[0], t[1]);
            let (sp, dp) = icmp_ports(v6, ty, code);
            (
                sp,
                dp,
                L4::Icmp {
                    v6,
                    icmp_type: ty,
                    code,
                },
                8,
            )
        }
        _ => (0, 0, L4::Other, 0),
    };
    let mut payload_len = len.saturating_sub(hdr);
    if l4 == L4::Udp {
        // The UDP length field bounds the datagram when it is consistent.
        let udp_len = usize::from(be16(t, 4).unwrap_or(0));
        if udp_len >= 8 && udp_len <= len {
            payload_len = udp_len - 8;
        }
    }
    let captured = payload_len.min(avail.saturating_sub(hdr));
    Ok(Outcome::Packet(Decoded {
        src,
        dst,
        src_port,
        dst_port,
        ip_proto,
        ip_len,
        l4,
        l4_offset: at as u32,
        payload_offset: (at + hdr) as u32,
        payload_len: payload_len as u32,
        payload_captured: captured as u32,
    }))
}

/// Zeek's pseudo-ports for ICMP: the type as source port, and as destination port the
/// type of the matching reply (request/reply pairs), or the code for one-way messages.
pub fn icmp_ports(v6: bool, icmp_type: u8, code: u8) -> (u16, u16) {
    (
        u16::from(icmp_type),
        u16::from(icmp_counterpart(v6, icmp_type).unwrap_or(code)),
    )
}

/// The reply type of an ICMP request (and the request of a reply); `None` for one-way
/// messages.
pub fn icmp_counterpart(v6: bool, icmp_type: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = if v6 {
        &[
            (128, 129),
            (133, 134),
            (135, 136),
            (130, 131),
            (139, 140),
            (144, 145),
        ]
    } else {
        &[(8, 0), (13, 14), (15, 16), (10, 9), (17, 18)]
    };
    pairs.iter().find_map(|&(a, b)| {
        if icmp_type == a {
            Some(b)
        } else if icmp_type == b {
            Some(a)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet, IPv4 (20 bytes), TCP (20 bytes) and 10 bytes of payload.
    fn tcp_frame() -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 50, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 192, 0, 2, 7]);
        f.extend_from_slice(&[0xc3, 0x50, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18]);
        f.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(b"0123456789");
        f
    }

    #[test]
    fn header_only_endpoints_agree_with_the_full_decode() {
        let base = tcp_frame();
        assert_eq!(
            ethernet_ipv4_tcp_endpoints(LinkType::ETHERNET, &base),
            Some((
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                50000,
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
                443
            ))
        );
        assert_eq!(
            ethernet_ipv4_tcp_endpoints(LinkType::RAW, &base[14..]),
            None
        );
        // Header bytes changed at random (ethertype, every IPv4 and TCP field) and frames
        // cut short: whenever the header-only reading finds a TCP segment, the full decode
        // finds the same one.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut found = 0;
        for _ in 0..200_000 {
            let mut f = base.clone();
            for _ in 0..=random() % 3 {
                let at = 12 + (random() % 44) as usize;
                f[at] = random() as u8;
            }
            if random() % 4 == 0 {
                f.truncate((random() % base.len() as u64) as usize);
            }
            let Some((src, src_port, dst, dst_port)) =
                ethernet_ipv4_tcp_endpoints(LinkType::ETHERNET, &f)
            else {
                continue;
            };
            match decode(LinkType::ETHERNET, &f) {
                Ok(Outcome::Packet(d)) => {
                    assert_eq!(
                        (d.src, d.src_port, d.dst, d.dst_port, d.ip_proto),
                        (src, src_port, dst, dst_port, 6),
                        "{f:02x?}"
                    );
                    assert!(matches!(d.l4, L4::Tcp { .. }));
                    found += 1;
                }
                other => panic!("header-only reading found TCP, decode {other:?}: {f:02x?}"),
            }
        }
        assert!(found > 20_000, "too few valid frames: {found}");
    }

    fn arp_frame(operation: u8) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, operation]);
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 192, 168, 1, 10]);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&[192, 168, 1, 1]);
        f
    }

    #[test]
    fn arp_is_decoded_with_its_addresses() {
        let Ok(Outcome::Packet(d)) = decode(LinkType::ETHERNET, &arp_frame(1)) else {
            panic!("not decoded")
        };
        assert_eq!(d.src, IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)));
        assert_eq!(d.dst, IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)));
        let L4::Arp(a) = d.l4 else { panic!("not ARP") };
        assert_eq!(a.operation, 1);
        assert_eq!(a.frame_dst, [0xff; 6]);
        assert_eq!(a.sender_hw, [0x02, 0, 0, 0, 0, 0x01]);
    }

    #[test]
    fn truncated_or_foreign_arp_is_not_decoded() {
        let f = arp_frame(2);
        assert_eq!(
            decode(LinkType::ETHERNET, &f[..30]),
            Err(DecodeError::Truncated("ARP"))
        );
        let mut other_hw = f.clone();
        other_hw[15] = 6;
        assert_eq!(
            decode(LinkType::ETHERNET, &other_hw),
            Err(DecodeError::NotIp)
        );
    }
}
