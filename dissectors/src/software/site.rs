//! Zeek's `Site::local_nets` (`base/utils/site.zeek`): which addresses are "local". By
//! default (`Site::private_address_space_is_local = T`) it is exactly
//! `Site::private_address_space`; a run can add its own networks once at start-up with
//! [`install_local_nets`], before any record is built.

use std::net::IpAddr;
use std::sync::OnceLock;

/// A set of subnets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalNets {
    nets: Vec<(IpAddr, u8)>,
}

/// `Site::private_address_space` as in Zeek's `site.zeek`.
const PRIVATE_ADDRESS_SPACE: &[&str] = &[
    "0.0.0.0/8",
    "2002::/24",
    "10.0.0.0/8",
    "2002:a00::/24",
    "100.64.0.0/10",
    "2002:6440::/26",
    "127.0.0.0/8",
    "2002:7f00::/24",
    "169.254.0.0/16",
    "2002:a9fe::/32",
    "172.16.0.0/12",
    "2002:ac10::/28",
    "192.0.0.0/24",
    "2002:c000::/40",
    "192.0.2.0/24",
    "2002:c000:200::/40",
    "192.168.0.0/16",
    "2002:c0a8::/32",
    "198.18.0.0/15",
    "2002:c612::/31",
    "198.51.100.0/24",
    "2002:c633:6400::/40",
    "203.0.113.0/24",
    "2002:cb00:7100::/40",
    "240.0.0.0/4",
    "2002:f000::/20",
    "255.255.255.255/32",
    "2002:ffff:ffff::/48",
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
];

impl LocalNets {
    /// No local networks.
    pub fn empty() -> Self {
        LocalNets::default()
    }

    /// Zeek's default: the private address space.
    pub fn zeek_default() -> Self {
        let mut nets = LocalNets::empty();
        for cidr in PRIVATE_ADDRESS_SPACE {
            // The table above is constant and well-formed (a test checks it).
            let _ = nets.add_cidr(cidr);
        }
        nets
    }

    /// Adds `a.b.c.d/n` or `v6::/n`; false when it does not parse.
    pub fn add_cidr(&mut self, cidr: &str) -> bool {
        let (addr, len) = match cidr.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()),
            None => (cidr, None),
        };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            return false;
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        if len > max {
            return false;
        }
        self.nets.push((addr, len));
        true
    }

    /// Whether `a` is in one of the subnets; an IPv4-mapped IPv6 address counts as the
    /// IPv4 address, as Zeek stores IPv4 addresses that way.
    pub fn contains(&self, a: IpAddr) -> bool {
        let a = match a {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
            v4 => v4,
        };
        self.nets.iter().any(|&(net, len)| in_subnet(a, net, len))
    }
}

fn in_subnet(a: IpAddr, net: IpAddr, len: u8) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

static LOCAL_NETS: OnceLock<LocalNets> = OnceLock::new();

/// Sets `Site::local_nets` for the whole run; to keep Zeek's behaviour, start from
/// [`LocalNets::zeek_default`] and add the site's networks to it. Only the first call (made
/// before any record is built) has effect; returns false when the set was already fixed.
pub fn install_local_nets(nets: LocalNets) -> bool {
    LOCAL_NETS.set(nets).is_ok()
}

/// `Site::local_nets` of this run.
pub fn local_nets() -> &'static LocalNets {
    LOCAL_NETS.get_or_init(LocalNets::zeek_default)
}

/// `Site::is_local_addr`.
pub fn is_local_addr(a: IpAddr) -> bool {
    local_nets().contains(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_space_parses_and_matches() {
        let mut n = LocalNets::empty();
        for c in PRIVATE_ADDRESS_SPACE {
            assert!(n.add_cidr(c), "{c}");
        }
        assert_eq!(n, LocalNets::zeek_default());
        for local in [
            "192.168.1.79",
            "10.0.0.18",
            "172.31.255.1",
            "fe80::1",
            "::1",
        ] {
            assert!(n.contains(local.parse().unwrap()), "{local}");
        }
        for remote in ["131.159.21.1", "128.2.6.88", "172.32.0.1", "2a00::1"] {
            assert!(!n.contains(remote.parse().unwrap()), "{remote}");
        }
        assert!(!n.add_cidr("10.0.0.0/33"));
        assert!(!n.add_cidr("nonsense"));
    }
}
