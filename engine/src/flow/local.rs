//! Local networks: which addresses belong to the monitored site (`local_orig`,
//! `local_resp`).

use std::net::IpAddr;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub struct LocalNets {
    v4: Vec<(u32, u8)>,
    v6: Vec<(u128, u8)>,
}

/// Zeek's `Site::private_address_space`, which it counts as local by default.
const PRIVATE: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/24",
    "239.0.0.0/8",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002:a00::/24",
    "2002:7f00::/24",
    "2002:a9fe::/32",
    "2002:ac10::/28",
    "2002:c000::/40",
    "2002:c000:200::/40",
    "2002:c0a8::/32",
    "2002:c612::/31",
    "2002:c633:6400::/40",
    "2002:cb00:7100::/40",
    "2002:e000::/40",
    "2002:ef00::/24",
    "2002:f000::/20",
    "2002:ffff:ffff::/48",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
];

impl LocalNets {
    pub fn empty() -> Self {
        LocalNets {
            v4: Vec::new(),
            v6: Vec::new(),
        }
    }

    /// Zeek's default: the private address space is local.
    pub fn private_address_space() -> Self {
        let mut nets = Self::empty();
        for p in PRIVATE {
            // The table above is well-formed; a bad entry would only be skipped.
            let _ = nets.add(p);
        }
        nets
    }

    /// Adds a CIDR prefix (`10.0.0.0/8`, `fe80::/10`, or a bare address).
    pub fn add(&mut self, cidr: &str) -> Result<(), String> {
        let (addr, len) = match cidr.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (cidr, None),
        };
        let addr = IpAddr::from_str(addr.trim()).map_err(|e| format!("{cidr}: {e}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len: u8 = match len {
            Some(l) => l
                .trim()
                .parse()
                .map_err(|_| format!("{cidr}: bad prefix length"))?,
            None => max,
        };
        if len > max {
            return Err(format!("{cidr}: prefix length over {max}"));
        }
        match addr {
            IpAddr::V4(a) => self.v4.push((u32::from(a) & mask32(len), len)),
            IpAddr::V6(a) => self.v6.push((u128::from(a) & mask128(len), len)),
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().any(|&(net, len)| a & mask32(len) == net)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().any(|&(net, len)| a & mask128(len) == net)
            }
        }
    }
}

fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_space() {
        let n = LocalNets::private_address_space();
        assert!(n.contains("192.168.2.16".parse().unwrap()));
        assert!(n.contains("fe80::1".parse().unwrap()));
        assert!(!n.contains("75.126.130.163".parse().unwrap()));
        assert!(!n.contains("2001:4860:0:2001::68".parse().unwrap()));
    }
}
