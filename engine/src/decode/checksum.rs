//! Transport checksums (TCP, UDP, ICMP, ICMPv6), verified the way Zeek verifies them
//! unless told to ignore them (`-C`).

use std::net::IpAddr;

use super::{Decoded, L4};

/// One's-complement sum of `data` taken as little-endian 16-bit words, added to `sum`.
/// The one's-complement sum does not depend on byte order (RFC 1071 1.2.B): summing
/// little-endian words gives the byte-swapped network-order sum, and the check against
/// 0xffff is the same either way. Eight bytes at a time into a 128-bit accumulator, so
/// no carry is lost before the final fold.
fn add(sum: u64, data: &[u8]) -> u64 {
    let mut acc = u128::from(sum);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        acc += u128::from(u64::from_le_bytes([
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
        ]));
    }
    // The last 0-7 bytes byte by byte: a copy of a variable length into a buffer was a
    // call to memcpy for every packet.
    let mut last = 0u64;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        last |= u64::from(b) << (8 * i);
    }
    acc += u128::from(last);
    let folded = (acc as u64 as u128) + (acc >> 64);
    (folded as u64 & 0xffff_ffff) + (folded >> 32) as u64
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The pseudo-header sum in the same little-endian word order as [`add`]: the protocol
/// number and length are network-order 16-bit fields, hence the byte swaps.
fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: u32) -> u64 {
    // Each address as whole little-endian words (32 or 2 x 64 bits): the fold at the end
    // carries across 16-bit boundaries, so wider words give the same one's-complement sum.
    let mut sum = 0u64;
    for a in [src, dst] {
        sum = match a {
            IpAddr::V4(v4) => sum + u64::from(u32::from_le_bytes(v4.octets())),
            IpAddr::V6(v6) => {
                let wide = u128::from_le_bytes(v6.octets());
                let halves = u128::from(wide as u64) + (wide >> 64);
                let folded = (halves as u64 & 0xffff_ffff) + (halves >> 32) as u64;
                sum + folded
            }
        };
    }
    // A length over 65535 (IPv6 jumbograms) spans two 16-bit words.
    let len_words =
        u64::from((len as u16).swap_bytes()) + u64::from(((len >> 16) as u16).swap_bytes());
    sum + (u64::from(proto) << 8) + len_words
}

/// Whether the transport checksum of a decoded packet is right. Packets whose transport
/// segment was not captured whole cannot be checked and count as right.
pub fn transport_checksum_ok(bytes: &[u8], d: &Decoded) -> bool {
    if d.payload_captured < d.payload_len {
        return true;
    }
    let start = d.l4_offset as usize;
    let end = d.payload_offset as usize + d.payload_len as usize;
    let Some(segment) = bytes.get(start..end) else {
        return true;
    };
    let len = segment.len() as u32;
    let sum = match d.l4 {
        L4::Tcp { .. } => pseudo_header(d.src, d.dst, 6, len),
        L4::Udp => {
            // An IPv4 UDP checksum of zero means "not computed".
            if d.src.is_ipv4() && segment.get(6..8) == Some(&[0, 0]) {
                return true;
            }
            pseudo_header(d.src, d.dst, 17, len)
        }
        L4::Icmp { v6: true, .. } => pseudo_header(d.src, d.dst, 58, len),
        L4::Icmp { v6: false, .. } => 0,
        L4::Other | L4::Arp(_) => return true,
    };
    fold(add(sum, segment)) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode_ip, Outcome};

    fn udp_packet(payload: &[u8], fix: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let total = (28 + payload.len()) as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0x30, 0x39, 0, 53]);
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        fix(&mut p);
        p
    }

    fn decoded(p: &[u8]) -> Decoded {
        match decode_ip(p, 0).unwrap() {
            Outcome::Packet(d) => d,
            Outcome::Fragment(_) => panic!(),
        }
    }

    /// RFC 1071's plain 16-bit big-endian sum, folded, as the reference for [`add`].
    fn reference_sum(data: &[u8]) -> u16 {
        let mut sum = 0u64;
        for pair in data.chunks(2) {
            sum += u64::from(pair[0]) << 8 | u64::from(pair.get(1).copied().unwrap_or(0));
        }
        fold(sum)
    }

    #[test]
    fn the_sum_agrees_with_rfc_1071_at_every_length_and_offset() {
        let bytes: Vec<u8> = (0..600u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let ones = vec![0xffu8; 300];
        for data in [&bytes[..], &ones[..]] {
            for start in 0..8 {
                for end in start..data.len() {
                    let slice = &data[start..end];
                    // Little-endian words give the byte-swapped sum (RFC 1071 1.2.B).
                    let ours = fold(add(0, slice)).swap_bytes();
                    let want = reference_sum(slice);
                    // 0 and 0xffff are the same number in one's complement.
                    let same =
                        ours == want || (matches!(ours, 0 | 0xffff) && matches!(want, 0 | 0xffff));
                    assert!(same, "{start}..{end}: {ours:#x} against {want:#x}");
                }
            }
        }
        // A running sum carried in is kept.
        assert_eq!(fold(add(0x1_0001_0001, &[])), fold(0x1_0001_0001));
    }

    #[test]
    fn udp_checksum_is_verified() {
        let payload = b"hello, checksum";
        let mut p = udp_packet(payload, |_| {});
        // Compute the right checksum by making the sum come out as 0xffff.
        let d = decoded(&p);
        let sum = fold(add(pseudo_header(d.src, d.dst, 17, 23), &p[20..]));
        // The sum is in little-endian word order: store its complement that way too.
        let ck = !sum;
        p[26..28].copy_from_slice(&ck.to_le_bytes());
        assert!(transport_checksum_ok(&p, &decoded(&p)));
        p[30] ^= 1;
        assert!(!transport_checksum_ok(&p, &decoded(&p)));
    }

    #[test]
    fn wide_sum_matches_word_by_word_sum() {
        let data: Vec<u8> = (0..1001u32).map(|i| (i * 7919 % 251) as u8).collect();
        for len in (0..=70).chain([1000, 1001]) {
            let slice = &data[..len];
            let mut simple = 0u64;
            for pair in slice.chunks(2) {
                let hi = u64::from(pair[0]) << 8;
                let lo = pair.get(1).copied().map_or(0, u64::from);
                simple += hi | lo;
            }
            // Same sum, byte-swapped (network order versus little-endian words).
            assert_eq!(
                fold(add(0, slice)).swap_bytes(),
                fold(simple),
                "length {len}"
            );
        }
    }

    #[test]
    fn pseudo_header_of_wide_words_matches_the_byte_sum() {
        let addrs: [IpAddr; 4] = [
            "10.1.2.3".parse().unwrap(),
            "255.255.255.255".parse().unwrap(),
            "2001:db8::ff:fe00:1".parse().unwrap(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
        ];
        for src in addrs {
            for dst in addrs
                .iter()
                .copied()
                .filter(|d| d.is_ipv4() == src.is_ipv4())
            {
                let mut bytes = 0u64;
                for a in [src, dst] {
                    bytes = match a {
                        IpAddr::V4(v4) => add(bytes, &v4.octets()),
                        IpAddr::V6(v6) => add(bytes, &v6.octets()),
                    };
                }
                let len_words = u64::from(1500u16.swap_bytes());
                assert_eq!(
                    fold(pseudo_header(src, dst, 6, 1500)),
                    fold(bytes + (6 << 8) + len_words),
                    "{src} {dst}"
                );
            }
        }
    }

    #[test]
    fn zero_udp_checksum_means_none() {
        let p = udp_packet(b"x", |_| {});
        assert!(transport_checksum_ok(&p, &decoded(&p)));
    }
}
