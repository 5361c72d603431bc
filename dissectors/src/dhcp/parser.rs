//! DHCP/BOOTP wire format as Zeek's binpac analyzer reads it
//! (`src/analyzer/protocol/dhcp/dhcp-protocol.pac`, `dhcp-options.pac`): the fixed BOOTP
//! header, the magic cookie and the options up to the End option. Options with a fixed
//! wire type (an address, a count) consume that many bytes whatever their length octet
//! says, as the binpac grammar does.

use std::net::Ipv4Addr;

use crate::zeek::escape_bytes_lossy;

/// BOOTP header up to and including the magic cookie.
const FIXED_LEN: usize = 240;
const COOKIE: u32 = 0x6382_5363;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the fixed header, or an option runs past the end (no End option).
    Truncated,
    /// Not the DHCP magic cookie: BOOTP without options, or not DHCP at all.
    BadCookie(u32),
}

/// Client Identifier option (61).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId {
    pub hwtype: u8,
    /// The hardware address formatted as a MAC (Zeek's `fmt_mac`), or empty.
    pub hwaddr: String,
}

/// The parts of one DHCP message that dhcp.log (and detectors) use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// 1 = BOOTREQUEST, 2 = BOOTREPLY.
    pub op: u8,
    /// DHCP message type (option 53; 0 when absent).
    pub m_type: u8,
    pub xid: u32,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    /// Client hardware address (`chaddr`), formatted as Zeek's `fmt_mac` of all 16 bytes.
    pub chaddr: String,
    /// Option 12.
    pub host_name: Option<String>,
    /// Option 15, cut after its last non-NUL byte.
    pub domain_name: Option<String>,
    /// Option 50.
    pub addr_request: Option<Ipv4Addr>,
    /// Option 51, seconds.
    pub lease: Option<u32>,
    /// Option 54.
    pub serv_addr: Option<Ipv4Addr>,
    /// Option 56.
    pub message: Option<String>,
    /// Option 60.
    pub vendor_class: Option<String>,
    /// Option 61.
    pub client_id: Option<ClientId>,
    /// Option 81: the domain name bytes (as Zeek keeps them).
    pub client_fqdn: Option<String>,
}

impl Default for Message {
    fn default() -> Self {
        Message {
            op: 0,
            m_type: 0,
            xid: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: String::new(),
            host_name: None,
            domain_name: None,
            addr_request: None,
            lease: None,
            serv_addr: None,
            message: None,
            vendor_class: None,
            client_id: None,
            client_fqdn: None,
        }
    }
}

/// Zeek's `fmt_mac`: EUI-48 when `len` is 6 or bytes 6-7 are zero, EUI-64 when at least 8
/// bytes are given, otherwise the empty string.
pub fn fmt_mac(m: &[u8]) -> String {
    let n = if m.len() == 6 || (m.len() >= 8 && m[6] == 0 && m[7] == 0) {
        6
    } else if m.len() >= 8 {
        8
    } else {
        return String::new();
    };
    let mut s = String::with_capacity(n * 3);
    for (i, b) in m[..n].iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn addr(b: &[u8]) -> Ipv4Addr {
    match b {
        [a, b, c, d, ..] => Ipv4Addr::new(*a, *b, *c, *d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

/// Parses one DHCP message.
pub fn parse(data: &[u8]) -> Result<Message, Error> {
    let fixed = data.get(..FIXED_LEN).ok_or(Error::Truncated)?;
    let cookie = u32::from_be_bytes([fixed[236], fixed[237], fixed[238], fixed[239]]);
    let mut m = Message {
        op: fixed[0],
        xid: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        ciaddr: addr(&fixed[12..16]),
        yiaddr: addr(&fixed[16..20]),
        siaddr: addr(&fixed[20..24]),
        giaddr: addr(&fixed[24..28]),
        chaddr: fmt_mac(&fixed[28..44]),
        ..Default::default()
    };
    let mut pos = FIXED_LEN;
    let mut m_type: Option<u8> = None;
    loop {
        let code = *data.get(pos).ok_or(Error::Truncated)?;
        pos += 1;
        match code {
            0 => continue,
            255 => break,
            _ => {}
        }
        let len = usize::from(*data.get(pos).ok_or(Error::Truncated)?);
        pos += 1;
        // Bytes the binpac grammar reads for this option.
        let size = match code {
            53 | 19 | 116 => 1,
            57 => 2,
            1 | 2 | 28 | 50 | 51 | 54 | 58 | 59 => 4,
            3 | 4 | 5 | 6 | 42 | 44 => len / 4 * 4,
            61 | 81 if len < if code == 61 { 1 } else { 3 } => return Err(Error::Truncated),
            _ => len,
        };
        let v = data.get(pos..pos + size).ok_or(Error::Truncated)?;
        pos += size;
        match code {
            53 => {
                m_type.get_or_insert(v[0]);
            }
            12 => m.host_name = Some(escape_bytes_lossy(v)),
            15 => {
                // Zeek keeps bytes up to the last non-NUL one (none if only the first is).
                let last = v.iter().rposition(|&b| b != 0).unwrap_or(0);
                let keep = if last == 0 { 0 } else { last + 1 };
                m.domain_name = Some(escape_bytes_lossy(&v[..keep]));
            }
            50 => m.addr_request = Some(addr(v)),
            51 => m.lease = Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]])),
            54 => m.serv_addr = Some(addr(v)),
            56 => m.message = Some(escape_bytes_lossy(v)),
            60 => m.vendor_class = Some(escape_bytes_lossy(v)),
            61 => {
                m.client_id = Some(ClientId {
                    hwtype: v[0],
                    hwaddr: fmt_mac(&v[1..]),
                })
            }
            81 => m.client_fqdn = Some(escape_bytes_lossy(&v[3..])),
            82 => {
                // Relay agent information: sub-options must tile the option exactly.
                let mut sub = 0usize;
                while sub < v.len() {
                    let sl = usize::from(*v.get(sub + 1).ok_or(Error::Truncated)?);
                    sub += 2 + sl;
                }
                if sub != v.len() {
                    return Err(Error::Truncated);
                }
            }
            _ => {}
        }
    }
    if cookie != COOKIE {
        return Err(Error::BadCookie(cookie));
    }
    m.m_type = m_type.unwrap_or(0);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_formatting_like_zeek() {
        assert_eq!(fmt_mac(&[1, 2, 3, 4, 5, 6]), "01:02:03:04:05:06");
        assert_eq!(fmt_mac(&[1, 2, 3, 4, 5, 6, 0, 0, 9]), "01:02:03:04:05:06");
        assert_eq!(
            fmt_mac(&[1, 2, 3, 4, 5, 6, 7, 8]),
            "01:02:03:04:05:06:07:08"
        );
        assert_eq!(fmt_mac(&[1, 2, 3, 4, 5, 6, 7]), "");
        assert_eq!(fmt_mac(&[]), "");
    }

    fn base() -> Vec<u8> {
        let mut m = vec![0u8; FIXED_LEN];
        m[0] = 1;
        m[4..8].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        m[28..34].copy_from_slice(&[0x90, 0xb1, 0x1c, 0x99, 0x49, 0x29]);
        m[236..240].copy_from_slice(&COOKIE.to_be_bytes());
        m
    }

    #[test]
    fn options() {
        let mut m = base();
        m.extend_from_slice(&[53, 1, 3, 0, 12, 4, b'h', b'o', b's', b't']);
        m.extend_from_slice(&[50, 4, 10, 0, 0, 7, 15, 5, b'a', b'.', b'b', 0, 0]);
        m.extend_from_slice(&[61, 7, 1, 1, 2, 3, 4, 5, 6, 51, 4, 0, 0, 3, 132, 255, 0, 0]);
        let p = parse(&m).unwrap();
        assert_eq!((p.op, p.m_type, p.xid), (1, 3, 0xdead_beef));
        assert_eq!(p.chaddr, "90:b1:1c:99:49:29");
        assert_eq!(p.host_name.as_deref(), Some("host"));
        assert_eq!(p.addr_request, Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(p.domain_name.as_deref(), Some("a.b"));
        assert_eq!(p.lease, Some(900));
        let cid = p.client_id.unwrap();
        assert_eq!((cid.hwtype, cid.hwaddr.as_str()), (1, "01:02:03:04:05:06"));
    }

    #[test]
    fn missing_end_or_cookie() {
        let mut m = base();
        m.extend_from_slice(&[53, 1, 1]);
        assert_eq!(parse(&m), Err(Error::Truncated));
        let mut m = base();
        m[236] = 0;
        m.push(255);
        assert!(matches!(parse(&m), Err(Error::BadCookie(_))));
        assert_eq!(parse(&[1, 2, 3]), Err(Error::Truncated));
    }
}
