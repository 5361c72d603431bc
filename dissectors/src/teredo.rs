//! Teredo (RFC 4380): IPv6 carried in UDP. The engine uses [`inner_ipv6_offset`] to find
//! the inner packet and track its connection; the dissector only decides whether the
//! outer flow is Teredo (conn.log `service`), which Zeek confirms once valid Teredo
//! packets were seen in both directions.

use crate::analyzer::{Context, Dissector};
use crate::conn::{ConnId, Transport};

/// Where the IPv6 packet starts inside a UDP payload that is a Teredo packet, if it is
/// one: optional authentication and origin-indication headers, then an IPv6 header whose
/// payload length matches the datagram exactly.
pub fn inner_ipv6_offset(payload: &[u8]) -> Option<usize> {
    let mut at = 0usize;
    // Authentication header: 0x0001, id length, auth length, id, auth, nonce(8), conf(1).
    if payload.get(0..2) == Some(&[0x00, 0x01]) {
        let id_len = usize::from(*payload.get(2)?);
        let auth_len = usize::from(*payload.get(3)?);
        at = 4 + id_len + auth_len + 9;
    }
    // Origin indication: 0x0000, port and address (8 bytes).
    if payload.get(at..at + 2) == Some(&[0x00, 0x00]) {
        at += 8;
    }
    let ip = payload.get(at..)?;
    if ip.len() < 40 || ip[0] >> 4 != 6 {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    (40 + plen == ip.len()).then_some(at)
}

/// Whether the IPv6 packet at `ip` uses a Teredo address (2001:0::/32) on either side,
/// which is how Zeek recognises Teredo off its port.
fn has_teredo_address(ip: &[u8]) -> bool {
    let prefix = [0x20, 0x01, 0x00, 0x00];
    ip.get(8..12) == Some(&prefix) || ip.get(24..28) == Some(&prefix)
}

pub fn candidate(id: &ConnId) -> Option<Box<dyn Dissector>> {
    (id.proto == Transport::Udp).then(|| Box::new(TeredoDissector::default()) as Box<dyn Dissector>)
}

/// Whether a UDP payload is Teredo: on the Teredo port any valid packet, elsewhere only
/// one whose inner addresses are Teredo addresses.
pub fn is_teredo(id: &ConnId, payload: &[u8]) -> bool {
    match inner_ipv6_offset(payload) {
        Some(at) => id.orig_p == PORT || id.resp_p == PORT || has_teredo_address(&payload[at..]),
        None => false,
    }
}

pub const PORT: u16 = 3544;

#[derive(Default)]
pub struct TeredoDissector {
    valid: [bool; 2],
}

impl Dissector for TeredoDissector {
    fn service(&self) -> &'static str {
        "teredo"
    }

    fn deliver(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) {
        if !is_teredo(cx.id, data) {
            if !self.valid[0] && !self.valid[1] {
                cx.violation();
            }
            return;
        }
        self.valid[usize::from(!is_orig)] = true;
        if self.valid[0] && self.valid[1] {
            cx.confirm();
        }
    }

    fn finish(&mut self, _cx: &mut Context<'_>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv6(plen: u16, src_teredo: bool) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&plen.to_be_bytes());
        p.extend_from_slice(&[59, 64]);
        let mut src = [0u8; 16];
        if src_teredo {
            src[..4].copy_from_slice(&[0x20, 0x01, 0, 0]);
        }
        p.extend_from_slice(&src);
        p.extend_from_slice(&[0u8; 16]);
        p.extend(std::iter::repeat_n(0u8, plen as usize));
        p
    }

    #[test]
    fn finds_inner_packet_after_indications() {
        assert_eq!(inner_ipv6_offset(&ipv6(0, true)), Some(0));
        let mut with_origin = vec![0, 0, 1, 2, 3, 4, 5, 6];
        with_origin.extend(ipv6(8, true));
        assert_eq!(inner_ipv6_offset(&with_origin), Some(8));
        let mut with_auth = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        with_auth.extend(ipv6(0, false));
        assert_eq!(inner_ipv6_offset(&with_auth), Some(13));
    }

    #[test]
    fn rejects_what_is_not_teredo() {
        assert_eq!(inner_ipv6_offset(b"GET / HTTP/1.1\r\n"), None);
        let mut bad_len = ipv6(8, true);
        bad_len.pop();
        assert_eq!(inner_ipv6_offset(&bad_len), None);
        assert_eq!(inner_ipv6_offset(&[0, 1, 255, 255]), None);
        let id = ConnId {
            orig_h: "10.0.0.1".parse().unwrap(),
            orig_p: 1000,
            resp_h: "10.0.0.2".parse().unwrap(),
            resp_p: 2000,
            proto: Transport::Udp,
        };
        assert!(
            !is_teredo(&id, &ipv6(0, false)),
            "off-port needs a Teredo address"
        );
        assert!(is_teredo(&id, &ipv6(0, true)));
    }
}
