//! Slips' predicates over addresses and flows, shared by the detections, so that each
//! detection classifies an address or a connection state the way Slips does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dissectors::{ConnRecord, ConnState, Transport};

/// Python's `ipaddress` `is_private`, which Slips' `utils.is_private_ip` uses: RFC 1918,
/// loopback, link-local, "this network", documentation, benchmarking, the IETF
/// protocol block and reserved space (IPv4); loopback, unspecified, IPv4-mapped,
/// discard, IETF protocol, documentation, unique local and link-local (IPv6).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_private_v4(a),
        IpAddr::V6(a) => is_private_v6(a),
    }
}

fn is_private_v4(a: Ipv4Addr) -> bool {
    let o = a.octets();
    o[0] == 0
        || o[0] == 10
        || o[0] == 127
        || (o[0] == 169 && o[1] == 254)
        || (o[0] == 172 && (o[1] & 0xf0) == 16)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0 && (o[3] < 8 || o[3] & 0xfe == 170))
        || (o[0] == 192 && o[1] == 0 && o[2] == 2)
        || (o[0] == 192 && o[1] == 168)
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
        || (o[0] == 198 && o[1] == 51 && o[2] == 100)
        || (o[0] == 203 && o[1] == 0 && o[2] == 113)
        || o[0] >= 240
}

fn is_private_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    a.is_loopback()
        || a.is_unspecified()
        || a.to_ipv4_mapped().is_some()
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0)
        || (s[0] == 0x2001 && s[1] < 0x0200)
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
}

/// Python's `is_reserved`: 240.0.0.0/4 for IPv4; for IPv6 the IETF-reserved space
/// (everything outside global unicast 2000::/3, unique local, link-local, site-local
/// and multicast).
pub fn is_reserved(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.octets()[0] >= 240,
        IpAddr::V6(a) => {
            let s0 = a.segments()[0];
            !((s0 & 0xe000) == 0x2000
                || (s0 & 0xfe00) == 0xfc00
                || (s0 & 0xff80) == 0xfe80
                || (s0 & 0xff00) == 0xff00)
        }
    }
}

pub fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// Addresses Slips never reports a missing DNS resolution or an upload for
/// (`utils.is_ignored_ip`): multicast, private, link-local, loopback, reserved.
pub fn is_ignored(ip: IpAddr) -> bool {
    ip.is_multicast() || is_private(ip) || is_link_local(ip) || ip.is_loopback() || is_reserved(ip)
}

/// Slips' `SPECIAL_IPV4_ADDRESSES`: addresses devices use before they have one of
/// their own (unspecified, limited broadcast).
pub fn is_special_v4(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(a) if a.is_unspecified() || a.is_broadcast())
}

/// Slips' `get_final_state_from_flags` for a Zeek connection: S1, SF, S2, S3, RSTO and
/// OTH are established; S0, REJ, RSTOS0, RSTRH, SH and SHR are not; RSTR (which Slips'
/// table lacks) falls to its reset heuristic: established with more than 3 packets.
pub fn is_established(c: &ConnRecord) -> bool {
    match c.conn_state {
        ConnState::S1
        | ConnState::SF
        | ConnState::S2
        | ConnState::S3
        | ConnState::RSTO
        | ConnState::OTH => true,
        ConnState::RSTR => c.orig_pkts.saturating_add(c.resp_pkts) > 3,
        ConnState::S0
        | ConnState::REJ
        | ConnState::RSTOS0
        | ConnState::RSTRH
        | ConnState::SH
        | ConnState::SHR => false,
    }
}

/// Whether Zeek recognised `service` on the connection (the `service` column may list
/// several, comma-joined).
pub fn has_service(c: &ConnRecord, service: &str) -> bool {
    c.service
        .as_deref()
        .is_some_and(|s| s.split(',').any(|x| x.eq_ignore_ascii_case(service)))
}

/// An established TCP connection that carried data to `port` without speaking the
/// protocol that port is for (Slips' non-HTTP-on-80 and non-SSL-on-443 checks).
pub fn established_without_service(c: &ConnRecord, port: u16, service: &str) -> bool {
    let bytes = c
        .orig_bytes
        .unwrap_or(0)
        .saturating_add(c.resp_bytes.unwrap_or(0));
    c.id.resp_p == port
        && c.id.proto == Transport::Tcp
        && !has_service(c, service)
        && is_established(c)
        && bytes > 0
}

/// The protocol name Slips prints in descriptions (`tcp`, `udp`, `icmp`).
pub fn proto_name(c: &ConnRecord) -> &'static str {
    match c.id.proto {
        Transport::Icmp if c.id.orig_h.is_ipv6() => "ipv6-icmp",
        p => p.as_str(),
    }
}

/// Slips' `convert_to_mb`: decimal megabytes.
pub fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// A float as Python's `str()` prints it in Slips' descriptions: at least one decimal
/// (`100.0`), else the shortest exact representation.
pub fn py_float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::conn;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_reserved_follow_python() {
        for p in [
            "10.1.2.3",
            "172.31.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "0.1.2.3",
            "192.0.2.5",
            "198.19.0.1",
            "250.0.0.1",
            "fd00::1",
            "fe80::1",
            "::1",
            "2001:db8::1",
        ] {
            assert!(is_private(ip(p)), "{p}");
        }
        for p in [
            "8.8.8.8",
            "172.32.0.1",
            "100.64.0.1",
            "2a00:1450::1",
            "224.0.0.1",
        ] {
            assert!(!is_private(ip(p)), "{p}");
        }
        assert!(is_reserved(ip("240.0.0.1")));
        assert!(!is_reserved(ip("8.8.8.8")));
        assert!(is_reserved(ip("4000::1")));
        assert!(!is_reserved(ip("2a00::1")));
        assert!(is_ignored(ip("224.0.0.251")));
        assert!(is_ignored(ip("192.168.1.1")));
        assert!(!is_ignored(ip("93.184.216.34")));
    }

    #[test]
    fn states_are_slips_states() {
        let mut c = conn("10.0.0.1", 1, "10.0.0.2", 2, 0.0);
        assert!(is_established(&c));
        c.conn_state = ConnState::REJ;
        assert!(!is_established(&c));
        c.conn_state = ConnState::RSTR;
        assert!(is_established(&c));
        c.orig_pkts = 1;
        c.resp_pkts = 1;
        assert!(!is_established(&c));
    }

    #[test]
    fn services_and_floats() {
        let mut c = conn("10.0.0.1", 1, "10.0.0.2", 2, 0.0);
        assert!(!has_service(&c, "ssl"));
        c.service = Some("http,ssl".into());
        assert!(has_service(&c, "ssl"));
        assert_eq!(py_float(100.0), "100.0");
        assert_eq!(py_float(104.857_6), "104.8576");
    }
}
