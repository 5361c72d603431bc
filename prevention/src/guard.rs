//! The addresses never blocked, whatever alert they raise: the whitelist's, this
//! sensor's own addresses (blocking them cuts the sensor off), the gateways it routes
//! through and the DNS servers it uses (blocking those cuts off everyone behind it), and
//! addresses that are no single host (loopback, unspecified, multicast, broadcast).
//!
//! The system's facts are read afresh for each decision (addresses change with DHCP),
//! from files whose paths tests replace.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use detectors::evidence::Direction;
use detectors::profile::Host;
use detectors::whitelist::{Ignore, Whitelist};

/// Why an address is not blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Whitelisted,
    OwnAddress,
    Gateway,
    DnsServer,
    NotAHost,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Whitelisted => "it is on the whitelist",
            Reason::OwnAddress => "it is an address of this sensor",
            Reason::Gateway => "it is a gateway of this sensor",
            Reason::DnsServer => "it is a DNS server of this sensor",
            Reason::NotAHost => "it is not the address of a single host",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Block,
    Spare(Reason),
}

/// Whether the whitelist names `ip` in any way (itself, its organisation, its MAC or a
/// name it is known by), for either direction and either kind of entry: an address the
/// user vouches for in any way is never cut off.
pub fn is_whitelisted(whitelist: &Whitelist, ip: IpAddr, host: Option<&Host>) -> bool {
    [Direction::Src, Direction::Dst].into_iter().any(|dir| {
        [Ignore::Alerts, Ignore::Flows]
            .into_iter()
            .any(|ignore| whitelist.ip_matches(ip, host, dir, ignore))
    })
}

/// Where the system's facts are read from.
#[derive(Clone, Debug)]
pub struct SystemFiles {
    pub route: PathBuf,
    pub ipv6_route: PathBuf,
    pub resolv_conf: PathBuf,
}

impl Default for SystemFiles {
    fn default() -> Self {
        SystemFiles {
            route: PathBuf::from("/proc/net/route"),
            ipv6_route: PathBuf::from("/proc/net/ipv6_route"),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
        }
    }
}

/// This sensor's addresses, gateways and DNS servers at one moment.
#[derive(Clone, Debug, Default)]
pub struct Protected {
    pub own: HashSet<IpAddr>,
    pub gateways: HashSet<IpAddr>,
    pub dns: HashSet<IpAddr>,
}

impl Protected {
    /// Reads the system: interface addresses, route tables and resolv.conf. A file that
    /// cannot be read protects nothing more (the others still apply).
    pub fn read(files: &SystemFiles) -> Protected {
        let text = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        Protected {
            own: interface_addresses(),
            gateways: ipv4_gateways(&text(&files.route))
                .chain(ipv6_gateways(&text(&files.ipv6_route)))
                .collect(),
            dns: dns_servers(&text(&files.resolv_conf)).collect(),
        }
    }

    pub fn decide(&self, ip: IpAddr, whitelisted: bool) -> Verdict {
        let reason = if whitelisted {
            Reason::Whitelisted
        } else if !is_single_host(ip) {
            Reason::NotAHost
        } else if self.own.contains(&ip) {
            Reason::OwnAddress
        } else if self.gateways.contains(&ip) {
            Reason::Gateway
        } else if self.dns.contains(&ip) {
            Reason::DnsServer
        } else {
            return Verdict::Block;
        };
        Verdict::Spare(reason)
    }
}

fn is_single_host(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            !(a.is_loopback() || a.is_unspecified() || a.is_multicast() || a.is_broadcast())
        }
        IpAddr::V6(a) => {
            let mapped = a.to_ipv4_mapped().map(IpAddr::V4);
            !(a.is_loopback() || a.is_unspecified() || a.is_multicast())
                && mapped.is_none_or(is_single_host)
        }
    }
}

/// The addresses of this machine's interfaces (the network namespace it runs in).
fn interface_addresses() -> HashSet<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return HashSet::new();
    };
    addrs
        .filter_map(|a| a.address)
        .filter_map(|s| {
            if let Some(v4) = s.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                s.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            }
        })
        .collect()
}

/// Gateways of `/proc/net/route`: the third column, the address's bytes in network order
/// printed as a native-endian hex number, when not 0.
pub fn ipv4_gateways(text: &str) -> impl Iterator<Item = IpAddr> + '_ {
    text.lines().skip(1).filter_map(|line| {
        let hex = line.split_whitespace().nth(2)?;
        let raw = u32::from_str_radix(hex, 16).ok()?;
        (raw != 0).then(|| IpAddr::V4(Ipv4Addr::from(raw.to_ne_bytes())))
    })
}

/// Next hops of `/proc/net/ipv6_route`: the fifth column, 32 hex digits, when not 0.
pub fn ipv6_gateways(text: &str) -> impl Iterator<Item = IpAddr> + '_ {
    text.lines().filter_map(|line| {
        let hex = line.split_whitespace().nth(4)?;
        if hex.len() != 32 {
            return None;
        }
        let raw = u128::from_str_radix(hex, 16).ok()?;
        (raw != 0).then(|| IpAddr::V6(Ipv6Addr::from(raw)))
    })
}

/// `nameserver` lines of resolv.conf (a `%zone` after an IPv6 address is dropped).
pub fn dns_servers(text: &str) -> impl Iterator<Item = IpAddr> + '_ {
    text.lines().filter_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != "nameserver" {
            return None;
        }
        let addr = words.next()?;
        addr.split('%').next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const ROUTE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
        eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n\
        eth1\t0000000A\t0201000A\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

    const IPV6_ROUTE: &str = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00450003 eth0\n\
        20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n";

    const RESOLV: &str = "# comment\nsearch example.org\nnameserver 192.168.0.53\nnameserver fe80::53%eth0\nnameserver  2001:db8::53 \noptions edns0\n";

    #[test]
    fn reads_gateways_and_dns_servers() {
        let v4: Vec<IpAddr> = ipv4_gateways(ROUTE).collect();
        assert_eq!(v4, [ip("192.168.0.1"), ip("10.0.1.2")]);
        let v6: Vec<IpAddr> = ipv6_gateways(IPV6_ROUTE).collect();
        assert_eq!(v6, [ip("fe80::1")]);
        let dns: Vec<IpAddr> = dns_servers(RESOLV).collect();
        assert_eq!(
            dns,
            [ip("192.168.0.53"), ip("fe80::53"), ip("2001:db8::53")]
        );
        assert_eq!(ipv4_gateways("garbage\nx y zz\n").count(), 0);
    }

    #[test]
    fn reads_the_files_it_is_given() {
        let dir = std::env::temp_dir().join(format!("prevention-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let files = SystemFiles {
            route: write("route", ROUTE),
            ipv6_route: write("ipv6_route", IPV6_ROUTE),
            resolv_conf: dir.join("missing"),
        };
        let p = Protected::read(&files);
        assert!(p.gateways.contains(&ip("192.168.0.1")));
        assert!(p.gateways.contains(&ip("fe80::1")));
        assert!(p.dns.is_empty());
        // The loopback interface is always there.
        assert!(p.own.contains(&ip("127.0.0.1")), "{:?}", p.own);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn each_reason() {
        let p = Protected {
            own: [ip("10.0.0.1"), ip("2001:db8::1")].into(),
            gateways: [ip("10.0.0.254")].into(),
            dns: [ip("10.0.0.53")].into(),
        };
        assert_eq!(p.decide(ip("10.0.0.66"), false), Verdict::Block);
        assert_eq!(p.decide(ip("2001:db8::66"), false), Verdict::Block);
        assert_eq!(
            p.decide(ip("10.0.0.66"), true),
            Verdict::Spare(Reason::Whitelisted)
        );
        assert_eq!(
            p.decide(ip("10.0.0.1"), false),
            Verdict::Spare(Reason::OwnAddress)
        );
        assert_eq!(
            p.decide(ip("2001:db8::1"), false),
            Verdict::Spare(Reason::OwnAddress)
        );
        assert_eq!(
            p.decide(ip("10.0.0.254"), false),
            Verdict::Spare(Reason::Gateway)
        );
        assert_eq!(
            p.decide(ip("10.0.0.53"), false),
            Verdict::Spare(Reason::DnsServer)
        );
        for not_a_host in [
            "127.0.0.1",
            "0.0.0.0",
            "224.0.0.251",
            "255.255.255.255",
            "::1",
            "::",
            "ff02::1",
            "::ffff:127.0.0.1",
        ] {
            assert_eq!(
                p.decide(ip(not_a_host), false),
                Verdict::Spare(Reason::NotAHost),
                "{not_a_host}"
            );
        }
        assert_eq!(
            Reason::Gateway.to_string(),
            "it is a gateway of this sensor"
        );
    }

    #[test]
    fn whitelist_in_any_direction_or_kind_spares() {
        let (wl, warnings) = Whitelist::parse(
            "ip,10.1.0.3,dst,alerts\nip,10.1.0.4,src,flows\nip,10.9.0.0/16,both,both\n",
            Path::new("whitelist.conf"),
            None,
        )
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        for listed in ["10.1.0.3", "10.1.0.4", "10.9.3.3"] {
            assert!(is_whitelisted(&wl, ip(listed), None), "{listed}");
        }
        assert!(!is_whitelisted(&wl, ip("10.1.0.2"), None));
    }
}
