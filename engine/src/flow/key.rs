//! Connection keys: the same key for both directions of a flow, and a symmetric hash
//! that sends both directions to the same worker.

use std::net::IpAddr;

use crate::decode::{icmp_counterpart, Decoded, L4};

/// Endpoints in canonical order (lower address/port first), so a packet and its reply
/// find the same entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub lo_addr: IpAddr,
    pub hi_addr: IpAddr,
    pub lo_port: u16,
    pub hi_port: u16,
    pub ip_proto: u8,
}

impl FlowKey {
    /// The key of a two-way flow between two endpoints, whichever is given first.
    pub fn between(a: (IpAddr, u16), b: (IpAddr, u16), ip_proto: u8) -> FlowKey {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            lo_addr: lo.0,
            hi_addr: hi.0,
            lo_port: lo.1,
            hi_port: hi.1,
            ip_proto,
        }
    }

    pub fn of(d: &Decoded) -> FlowKey {
        // One-way ICMP messages (errors, unpaired types) are keyed by direction, as Zeek
        // keys them, so they never merge with traffic the other way.
        let one_way = matches!(d.l4, L4::Icmp { v6, icmp_type, .. } if icmp_counterpart(v6, icmp_type).is_none());
        let forward = (d.src, d.src_port) <= (d.dst, d.dst_port);
        if forward || one_way {
            FlowKey {
                lo_addr: d.src,
                hi_addr: d.dst,
                lo_port: d.src_port,
                hi_port: d.dst_port,
                ip_proto: d.ip_proto,
            }
        } else {
            FlowKey {
                lo_addr: d.dst,
                hi_addr: d.src,
                lo_port: d.dst_port,
                hi_port: d.src_port,
                ip_proto: d.ip_proto,
            }
        }
    }

    /// The key's hash in a flow table's index, keyed by the table's random `seed`. Two
    /// folded multiplies for an IPv4 key (a chain of six multiplications cost a few percent
    /// of a packet); every word of an IPv6 key goes into the chain on its own, so flows cannot
    /// be crafted to share a hash without knowing the seed.
    #[inline]
    pub fn index_hash(&self, seed: u64) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let rest = u64::from(self.lo_port) << 24 | u64::from(self.hi_port) << 8;
        let rest = rest | u64::from(self.ip_proto);
        match (self.lo_addr, self.hi_addr) {
            (IpAddr::V4(lo), IpAddr::V4(hi)) => {
                let addrs = u64::from(u32::from(lo)) << 32 | u64::from(u32::from(hi));
                folded_multiply(folded_multiply(addrs ^ seed, K) ^ rest, K ^ seed)
            }
            (lo, hi) => {
                let mut h = folded_multiply(rest ^ seed, K);
                for a in [lo, hi] {
                    let bits = match a {
                        IpAddr::V4(v4) => u128::from(u32::from(v4)),
                        IpAddr::V6(v6) => u128::from(v6) ^ 1 << 127,
                    };
                    h = folded_multiply(h ^ (bits >> 64) as u64, K);
                    h = folded_multiply(h ^ bits as u64, K ^ seed);
                }
                h
            }
        }
    }

    /// A hash that is the same for both directions and for every run (worker choice must
    /// not depend on a random seed, so the output is reproducible).
    pub fn shard_hash(&self) -> u64 {
        let mut h: u64 = 0x243f_6a88_85a3_08d3 ^ u64::from(self.ip_proto);
        for part in [addr_bits(self.lo_addr), addr_bits(self.hi_addr)] {
            h = mix(h ^ part);
        }
        mix(h ^ (u64::from(self.lo_port) << 16 | u64::from(self.hi_port)))
    }
}

/// Which of `workers` owns a packet's flow: the same for both directions, for every run,
/// and for every packet of one [`FlowKey`] (it depends on the set of the two endpoints
/// alone). Cheaper than building the key, because every worker reading a capture file
/// asks it of every packet.
pub fn shard_of(d: &Decoded, workers: usize) -> usize {
    shard_of_endpoints(
        (d.src, d.src_port),
        (d.dst, d.dst_port),
        d.ip_proto,
        workers,
    )
}

/// [`shard_of`] a packet between two endpoints (address and port) over `ip_proto`.
pub fn shard_of_endpoints(
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    ip_proto: u8,
    workers: usize,
) -> usize {
    if workers <= 1 {
        return 0;
    }
    let a = endpoint_bits(src.0, src.1);
    let b = endpoint_bits(dst.0, dst.1);
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let h = mix(mix(lo ^ u64::from(ip_proto) << 56) ^ hi);
    // The high bits of h * workers / 2^64: a range reduction without a division.
    ((u128::from(h) * workers as u128) >> 64) as usize
}

fn endpoint_bits(a: IpAddr, port: u16) -> u64 {
    addr_bits(a).rotate_left(16) ^ u64::from(port)
}

fn addr_bits(a: IpAddr) -> u64 {
    match a {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let b = u128::from(v6);
            (b as u64) ^ ((b >> 64) as u64).rotate_left(17)
        }
    }
}

/// The 128-bit product of `a` and `b`, its halves XORed: every bit of each factor
/// reaches the result in one multiplication.
#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ (product >> 64) as u64
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flows that differ in a few low bits (a scan of a subnet, a client's ports) spread
    /// over the low bits hashbrown picks a bucket with and the top 7 bits it tags a slot
    /// with, as random values would.
    #[test]
    fn index_hashes_of_similar_flows_spread() {
        for v6 in [false, true] {
            let mut low = std::collections::HashSet::new();
            let mut tags = [0u32; 128];
            let n = 100_000u32;
            for i in 0..n {
                let (a, b): (IpAddr, IpAddr) = if v6 {
                    (
                        format!("2001:db8::{:x}", i % 1000).parse().unwrap(),
                        "2001:db8::1:1".parse().unwrap(),
                    )
                } else {
                    (
                        std::net::Ipv4Addr::from(0x0a00_0000 + i % 1000).into(),
                        "192.168.1.1".parse().unwrap(),
                    )
                };
                let key = FlowKey::between((a, 1024 + (i / 1000) as u16), (b, 80), 6);
                let h = key.index_hash(0x1234_5678);
                low.insert(h & 0xffff);
                tags[(h >> 57) as usize] += 1;
            }
            // 100,000 random values take about 51,900 of 65,536 low halves.
            assert!(low.len() > 51_000, "v6 {v6}: {}", low.len());
            let mean = n / 128;
            assert!(
                tags.iter()
                    .all(|&t| t > mean * 8 / 10 && t < mean * 12 / 10),
                "v6 {v6}: {tags:?}"
            );
        }
    }

    /// The index hash depends on the seed, and IPv6 addresses that fold to one word
    /// alike (bit 0 of the high word and bit 17 of the low word flipped together) still
    /// hash apart.
    #[test]
    fn index_hashes_are_keyed_and_keep_ipv6_halves_apart() {
        let key = |a: &str, b: &str| {
            FlowKey::between((a.parse().unwrap(), 1000), (b.parse().unwrap(), 443), 6)
        };
        let k = key("10.0.0.1", "10.0.0.2");
        let reply = FlowKey::between(
            ("10.0.0.2".parse().unwrap(), 443),
            ("10.0.0.1".parse().unwrap(), 1000),
            6,
        );
        assert_eq!(k.index_hash(1), reply.index_hash(1));
        assert_ne!(k.index_hash(1), k.index_hash(2));
        let (x, y) = ("2001:db8::", "2001:db8:0:1::2:0");
        assert_eq!(addr_bits(x.parse().unwrap()), addr_bits(y.parse().unwrap()));
        for seed in [0, 7, u64::MAX] {
            assert_ne!(
                key(x, "2001:db8::9").index_hash(seed),
                key(y, "2001:db8::9").index_hash(seed)
            );
        }
    }

    fn packet(src: &str, src_port: u16, dst: &str, dst_port: u16, ip_proto: u8) -> Decoded {
        Decoded {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            src_port,
            dst_port,
            ip_proto,
            ip_len: 40,
            l4: L4::Udp,
            l4_offset: 20,
            payload_offset: 28,
            payload_len: 12,
            payload_captured: 12,
        }
    }

    #[test]
    fn both_directions_of_a_flow_have_one_owner_and_flows_spread() {
        for workers in [2, 3, 16] {
            let mut owners = vec![0usize; workers];
            for i in 0..4000u16 {
                let client = format!("10.0.{}.{}", i / 200, i % 200 + 1);
                let there = packet(&client, 40_000 + i, "192.0.2.9", 443, 6);
                let back = packet("192.0.2.9", 443, &client, 40_000 + i, 6);
                let owner = shard_of(&there, workers);
                assert_eq!(owner, shard_of(&back, workers));
                assert!(owner < workers);
                owners[owner] += 1;
            }
            // Every worker gets within a fifth of its fair share.
            let fair = 4000 / workers;
            assert!(
                owners.iter().all(|&n| n * 5 > fair * 4 && n * 5 < fair * 6),
                "{workers} workers: {owners:?}"
            );
            let v6 = packet("2001:db8::1", 5353, "2001:db8::2", 53, 17);
            let v6_back = packet("2001:db8::2", 53, "2001:db8::1", 5353, 17);
            assert_eq!(shard_of(&v6, workers), shard_of(&v6_back, workers));
        }
        assert_eq!(shard_of(&packet("10.0.0.1", 1, "10.0.0.2", 2, 6), 1), 0);
    }
}
