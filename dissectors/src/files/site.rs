//! Zeek's `Site::local_nets` as it is by default: `Site::private_address_space_is_local=T`
//! copies `Site::private_address_space` (scripts/base/utils/site.zeek) into it.

use std::net::IpAddr;

/// IPv4 blocks of `Site::private_address_space`: (network, prefix length).
const V4: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8
    (0x0a00_0000, 8),  // 10.0.0.0/8
    (0x6440_0000, 10), // 100.64.0.0/10
    (0x7f00_0000, 8),  // 127.0.0.0/8
    (0xa9fe_0000, 16), // 169.254.0.0/16
    (0xac10_0000, 12), // 172.16.0.0/12
    (0xc000_0000, 24), // 192.0.0.0/24
    (0xc000_0200, 24), // 192.0.2.0/24
    (0xc0a8_0000, 16), // 192.168.0.0/16
    (0xc612_0000, 15), // 198.18.0.0/15
    (0xc633_6400, 24), // 198.51.100.0/24
    (0xcb00_7100, 24), // 203.0.113.0/24
    (0xf000_0000, 4),  // 240.0.0.0/4
    (0xffff_ffff, 32), // 255.255.255.255/32
];

/// IPv6 blocks of `Site::private_address_space`, including the 6to4 images of the v4 ones.
const V6: &[(u128, u8)] = &[
    (0x2002_0000 << 96, 24),
    (0x2002_0a00 << 96, 24),
    (0x2002_6440 << 96, 26),
    (0x2002_7f00 << 96, 24),
    (0x2002_a9fe << 96, 32),
    (0x2002_ac10 << 96, 28),
    (0x2002_c000_0000 << 80, 40),
    (0x2002_c000_0200 << 80, 40),
    (0x2002_c0a8 << 96, 32),
    (0x2002_c612 << 96, 31),
    (0x2002_c633_6400 << 80, 40),
    (0x2002_cb00_7100 << 80, 40),
    (0x2002_f000 << 96, 20),
    (0x2002_ffff_ffff << 80, 48),
    (0, 128),                     // ::/128
    (1, 128),                     // ::1/128
    (0x0064_ff9b_0001 << 80, 48), // 64:ff9b:1::/48
    (0x0100 << 112, 64),          // 100::/64
    (0x2001 << 112, 23),          // 2001::/23
    (0x2001_0002 << 96, 48),      // 2001:2::/48
    (0x2001_0db8 << 96, 32),      // 2001:db8::/32
    (0xfc00 << 112, 7),           // fc00::/7
    (0xfe80 << 112, 10),          // fe80::/10
];

/// Whether Zeek's default `Site::is_local_addr` holds for `a`.
pub fn is_local_addr(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => {
            let x = u32::from(v4);
            V4.iter().any(|&(net, len)| {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                x & mask == net
            })
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_local_addr(IpAddr::V4(v4));
            }
            let x = u128::from(v6);
            V6.iter().any(|&(net, len)| {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                x & mask == net
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> bool {
        is_local_addr(s.parse().unwrap())
    }

    #[test]
    fn private_ranges_are_local() {
        assert!(local("192.168.1.104"));
        assert!(local("10.20.80.1"));
        assert!(local("127.0.0.1"));
        assert!(local("fe80::1"));
        assert!(local("2001:0:4137:9e50:8000:f12a:b9c8:2815")); // Teredo, in 2001::/23
        assert!(!local("63.245.209.11"));
        assert!(!local("2001:4860:0:2001::68"));
        assert!(!local("8.8.8.8"));
    }
}
