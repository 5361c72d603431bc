//! Address prefixes and sets of them with logarithmic look-ups (local and home
//! networks, organisations' ranges), and Zeek's `Site::local_nets`: which addresses are
//! local (conn.log `local_orig`/`local_resp`, ssh.log `direction`, software tracking).

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::OnceLock;

/// An IPv4 or IPv6 prefix (`10.0.0.0/8`, `2001:db8::/32`, or a bare address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub len: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr = IpAddr::from_str(addr).map_err(|e| format!("{s}: {e}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(l) => l
                .parse::<u8>()
                .map_err(|_| format!("{s}: bad prefix length"))?,
            None => max,
        };
        if len > max {
            return Err(format!("{s}: prefix length over {max}"));
        }
        Ok(Cidr { addr, len })
    }
}

impl Cidr {
    /// First and last address of the prefix, as integers of the address family.
    fn bounds(self) -> Bounds {
        match self.addr {
            IpAddr::V4(a) => {
                let host_bits = 32 - u32::from(self.len);
                let mask = if host_bits == 32 {
                    0
                } else {
                    u32::MAX << host_bits
                };
                let start = u32::from(a) & mask;
                Bounds::V4(start, start | !mask)
            }
            IpAddr::V6(a) => {
                let host_bits = 128 - u32::from(self.len);
                let mask = if host_bits == 128 {
                    0
                } else {
                    u128::MAX << host_bits
                };
                let start = u128::from(a) & mask;
                Bounds::V6(start, start | !mask)
            }
        }
    }

    pub fn contains(self, ip: IpAddr) -> bool {
        match (self.bounds(), ip) {
            (Bounds::V4(s, e), IpAddr::V4(a)) => (s..=e).contains(&u32::from(a)),
            (Bounds::V6(s, e), IpAddr::V6(a)) => (s..=e).contains(&u128::from(a)),
            _ => false,
        }
    }
}

enum Bounds {
    V4(u32, u32),
    V6(u128, u128),
}

/// A union of prefixes, kept as sorted disjoint ranges: membership is a binary search.
#[derive(Clone, Debug, Default)]
pub struct PrefixSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl PrefixSet {
    pub fn new() -> Self {
        PrefixSet::default()
    }

    pub fn from_cidrs<I: IntoIterator<Item = Cidr>>(cidrs: I) -> Self {
        let mut set = PrefixSet::new();
        for c in cidrs {
            set.insert(c);
        }
        set.normalize();
        set
    }

    /// Adds a prefix; call [`PrefixSet::normalize`] before looking up.
    pub fn insert(&mut self, cidr: Cidr) {
        match cidr.bounds() {
            Bounds::V4(s, e) => self.v4.push((s, e)),
            Bounds::V6(s, e) => self.v6.push((s, e)),
        }
    }

    /// Sorts and merges overlapping or adjacent ranges.
    pub fn normalize(&mut self) {
        merge(&mut self.v4);
        merge(&mut self.v6);
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => find(&self.v6, u128::from(a)),
        }
    }
}

/// `Site::private_address_space` of Zeek's `base/utils/site.zeek`, which Zeek counts as
/// local by default (`Site::private_address_space_is_local = T`).
pub const ZEEK_PRIVATE_ADDRESS_SPACE: &[&str] = &[
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

/// Zeek's `Site::local_nets`.
#[derive(Clone, Debug, Default)]
pub struct LocalNets {
    set: PrefixSet,
}

impl LocalNets {
    pub fn empty() -> Self {
        LocalNets::default()
    }

    /// Zeek's default: the private address space is local.
    pub fn private_address_space() -> Self {
        let mut nets = Self::empty();
        for p in ZEEK_PRIVATE_ADDRESS_SPACE {
            // The table above is well-formed (checked by a test).
            let _ = nets.add(p);
        }
        nets
    }

    /// Adds a prefix (`10.0.0.0/8`, `fe80::/10`, or a bare address).
    pub fn add(&mut self, cidr: &str) -> Result<(), String> {
        self.set.insert(cidr.parse()?);
        self.set.normalize();
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        self.set.contains(addr)
    }
}

static SITE_LOCAL_NETS: OnceLock<LocalNets> = OnceLock::new();

/// Fixes `Site::local_nets` for the whole run (call once at start-up, before any record is
/// built); returns false when it was already fixed. Without a call, Zeek's default holds.
pub fn install_local_nets(nets: LocalNets) -> bool {
    SITE_LOCAL_NETS.set(nets).is_ok()
}

/// `Site::local_nets` of this run.
pub fn local_nets() -> &'static LocalNets {
    SITE_LOCAL_NETS.get_or_init(LocalNets::private_address_space)
}

/// `Site::is_local_addr`.
pub fn is_local_addr(a: IpAddr) -> bool {
    local_nets().contains(a)
}

fn merge<T: Copy + Ord + num_succ::Succ>(ranges: &mut Vec<(T, T)>) {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(s, e) in ranges.iter() {
        match out.last_mut() {
            Some(last) if s <= last.1.succ_saturating() => {
                if e > last.1 {
                    last.1 = e;
                }
            }
            _ => out.push((s, e)),
        }
    }
    *ranges = out;
}

fn find<T: Copy + Ord>(ranges: &[(T, T)], v: T) -> bool {
    // The last range starting at or before v is the only one that can hold it.
    let i = ranges.partition_point(|&(s, _)| s <= v);
    i > 0 && v <= ranges[i - 1].1
}

/// An address as Zeek prints it (dotted quad; RFC 5952 for IPv6, as `Display` does),
/// appended to `out`. IPv4, nearly every address in a log, skips `core::fmt`: it is one
/// of the costliest steps of writing a conn.log line otherwise.
pub fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut buf = [0u8; 15];
            out.extend_from_slice(ipv4_ascii(v4, &mut buf));
        }
        IpAddr::V6(v6) => {
            use std::io::Write;
            let _ = write!(out, "{v6}");
        }
    }
}

/// The same, appended to a `String`.
pub fn push_ip_str(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut buf = [0u8; 15];
            // Pushed char by char the digits cost more than checking them.
            out.push_str(std::str::from_utf8(ipv4_ascii(v4, &mut buf)).unwrap_or_default());
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write;
            let _ = write!(out, "{v6}");
        }
    }
}

/// Dotted-quad text of `a` as its ASCII bytes, written into `buf` (a log line takes them
/// as they are: checking that digits and dots are text cost as much as writing them).
fn ipv4_ascii(a: std::net::Ipv4Addr, buf: &mut [u8; 15]) -> &[u8] {
    let mut n = 0;
    for (i, octet) in a.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if octet >= 100 {
            buf[n] = b'0' + octet / 100;
            n += 1;
        }
        if octet >= 10 {
            buf[n] = b'0' + octet / 10 % 10;
            n += 1;
        }
        buf[n] = b'0' + octet % 10;
        n += 1;
    }
    &buf[..n]
}

mod num_succ {
    pub trait Succ {
        fn succ_saturating(self) -> Self;
    }
    impl Succ for u32 {
        fn succ_saturating(self) -> Self {
            self.saturating_add(1)
        }
    }
    impl Succ for u128 {
        fn succ_saturating(self) -> Self {
            self.saturating_add(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_as_display_does() {
        let mut samples: Vec<IpAddr> = ["0.0.0.0", "255.255.255.255", "10.0.9.100", "1.20.199.9"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        samples.extend(
            ["::1", "2001:db8::ff00:42:8329", "::ffff:1.2.3.4"]
                .iter()
                .map(|a| a.parse::<IpAddr>().unwrap()),
        );
        for octet in 0..=255u8 {
            samples.push(IpAddr::from([octet, 255 - octet, octet / 3, octet ^ 0x5a]));
        }
        for ip in samples {
            let mut bytes = Vec::new();
            push_ip(&mut bytes, ip);
            assert_eq!(String::from_utf8(bytes).unwrap(), ip.to_string());
            let mut text = String::from("x");
            push_ip_str(&mut text, ip);
            assert_eq!(text, format!("x{ip}"));
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing() {
        let c: Cidr = "10.1.2.3/8".parse().unwrap();
        assert!(c.contains(ip("10.200.0.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(!c.contains(ip("::1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("255.255.255.255")));
        let host: Cidr = "2001:db8::1".parse().unwrap();
        assert_eq!(host.len, 128);
        assert!(host.contains(ip("2001:db8::1")));
        assert!(!host.contains(ip("2001:db8::2")));
    }

    #[test]
    fn zeek_private_space() {
        for p in ZEEK_PRIVATE_ADDRESS_SPACE {
            assert!(p.parse::<Cidr>().is_ok(), "{p}");
        }
        let n = LocalNets::private_address_space();
        for local in [
            "192.168.2.16",
            "10.0.0.18",
            "172.31.255.1",
            "fe80::1",
            "::1",
            "224.0.0.251",
            "2001:0:4137:9e50::1",
        ] {
            assert!(n.contains(ip(local)), "{local}");
        }
        for remote in [
            "75.126.130.163",
            "172.32.0.1",
            "2001:4860:0:2001::68",
            "ff02::fb",
            "2a00::1",
        ] {
            assert!(!n.contains(ip(remote)), "{remote}");
        }
    }

    #[test]
    fn set_lookups_with_overlaps() {
        let set = PrefixSet::from_cidrs(
            [
                "8.8.8.0/24",
                "8.8.4.0/24",
                "8.8.0.0/16",
                "17.0.0.0/8",
                "2001:4860::/32",
            ]
            .iter()
            .map(|s| s.parse().unwrap()),
        );
        assert!(set.contains(ip("8.8.8.8")));
        assert!(set.contains(ip("8.8.200.1")));
        assert!(set.contains(ip("17.255.255.255")));
        assert!(!set.contains(ip("18.0.0.0")));
        assert!(!set.contains(ip("8.9.0.0")));
        assert!(set.contains(ip("2001:4860:4860::8888")));
        assert!(!set.contains(ip("2001:4861::1")));
        assert!(!PrefixSet::new().contains(ip("1.1.1.1")));
    }
}
