//! Link layers: find where the IP header starts.

use super::{be16, DecodeError};
use crate::capture::LinkType;

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MULTI: u16 = 0x8848;
const ETH_PPPOE_SESSION: u16 = 0x8864;
const ETH_ARP: u16 = 0x0806;

/// Offset of the IP header in a packet of the given link type.
pub(super) fn ip_offset(link: LinkType, b: &[u8]) -> Result<usize, DecodeError> {
    match link {
        LinkType::ETHERNET => {
            let ethertype = be16(b, 12).ok_or(DecodeError::Truncated("Ethernet"))?;
            after_ethertype(b, ethertype, 14)
        }
        LinkType::LINUX_SLL => {
            let proto = be16(b, 14).ok_or(DecodeError::Truncated("Linux cooked"))?;
            after_ethertype(b, proto, 16)
        }
        LinkType::LINUX_SLL2 => {
            let proto = be16(b, 0).ok_or(DecodeError::Truncated("Linux cooked v2"))?;
            after_ethertype(b, proto, 20)
        }
        LinkType::RAW
        | LinkType::RAW_DLT12
        | LinkType::RAW_DLT14
        | LinkType::IPV4
        | LinkType::IPV6 => Ok(0),
        LinkType::NULL | LinkType::LOOP => {
            let fam = b.get(0..4).ok_or(DecodeError::Truncated("loopback"))?;
            // The family is in host order for NULL and network order for LOOP; the value
            // is small, so whichever end holds it tells the order.
            let family = if fam[0] == 0 && fam[1] == 0 {
                fam[3]
            } else {
                fam[0]
            };
            match family {
                2 | 24 | 28 | 30 => Ok(4),
                _ => Err(DecodeError::NotIp),
            }
        }
        other => Err(DecodeError::UnsupportedLink(other.0)),
    }
}

/// Where an ARP message starts, with the frame's source and destination MACs (zero when
/// the link layer does not carry them), for a packet that carries no IP.
pub(super) fn arp_offset(link: LinkType, b: &[u8]) -> Option<(usize, [u8; 6], [u8; 6])> {
    let mac = |at: usize| -> [u8; 6] {
        b.get(at..at + 6)
            .and_then(|m| m.try_into().ok())
            .unwrap_or([0; 6])
    };
    let (mut ethertype, mut off, src, dst) = match link {
        LinkType::ETHERNET => (be16(b, 12)?, 14, mac(6), mac(0)),
        LinkType::LINUX_SLL => (be16(b, 14)?, 16, mac(6), [0; 6]),
        _ => return None,
    };
    while matches!(ethertype, ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD) {
        ethertype = be16(b, off + 2)?;
        off += 4;
    }
    (ethertype == ETH_ARP).then_some((off, src, dst))
}

fn after_ethertype(b: &[u8], mut ethertype: u16, mut off: usize) -> Result<usize, DecodeError> {
    loop {
        match ethertype {
            ETH_IPV4 | ETH_IPV6 => return Ok(off),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                ethertype = be16(b, off + 2).ok_or(DecodeError::Truncated("VLAN"))?;
                off += 4;
            }
            ETH_MPLS | ETH_MPLS_MULTI => {
                // Labels until the bottom-of-stack bit; the payload's version nibble says
                // whether IPv4 or IPv6 follows.
                loop {
                    let label = b.get(off..off + 4).ok_or(DecodeError::Truncated("MPLS"))?;
                    off += 4;
                    if label[2] & 0x01 != 0 {
                        break;
                    }
                }
                return match b.get(off).map(|v| v >> 4) {
                    Some(4 | 6) => Ok(off),
                    Some(_) => Err(DecodeError::NotIp),
                    None => Err(DecodeError::Truncated("MPLS")),
                };
            }
            ETH_PPPOE_SESSION => {
                let ppp = be16(b, off + 6).ok_or(DecodeError::Truncated("PPPoE"))?;
                off += 8;
                return match ppp {
                    0x0021 | 0x0057 => Ok(off),
                    _ => Err(DecodeError::NotIp),
                };
            }
            _ => return Err(DecodeError::NotIp),
        }
    }
}
