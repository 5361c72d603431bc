//! SSH wire formats (RFC 4253, and SSH-1's packet framing) and the algorithm choices
//! Zeek derives from them. Pure functions over byte slices; all total.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Protocol version announced by one side's banner (Zeek's binpac `update_version`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announced {
    /// `SSH-1.x`.
    V1,
    /// `SSH-1.99`: speaks both.
    V199,
    /// `SSH-2.x`.
    V2,
}

/// What one banner announces: the character at offset 4, and `99` at 6..8 for 1.99.
pub fn announced(banner: &[u8]) -> Option<Announced> {
    match banner.get(4) {
        Some(b'2') if banner.len() >= 5 => Some(Announced::V2),
        Some(b'1') if banner.get(6..8) == Some(b"99") => Some(Announced::V199),
        Some(b'1') => Some(Announced::V1),
        _ => None,
    }
}

/// Wire protocol of the connection (the analyzer's `version_`): the version both sides
/// can speak, or `None` (Zeek's `UNK`) while a banner is missing or when 1 meets 2.
pub fn wire_version(client: Option<Announced>, server: Option<Announced>) -> Option<Announced> {
    use Announced::*;
    match (client?, server?) {
        (V199, V199) => Some(V2),
        (c, s) if c == s => Some(c),
        (V199, V2) | (V2, V199) => Some(V2),
        (V1, V199) | (V199, V1) => Some(V1),
        _ => None,
    }
}

/// The `version` column as `SSH::set_version` computes it from both banners: 1, 2, 0 for
/// an SSH-1 / SSH-2 mismatch, or unset.
pub fn log_version(client: &[u8], server: &[u8]) -> Option<u64> {
    if client.len() <= 4 || server.len() <= 4 {
        return None;
    }
    let is_199 = |b: &[u8]| b.len() > 7 && b.get(6..8) == Some(b"99");
    match (client.get(4), server.get(4)) {
        (Some(b'1'), Some(b'2')) => Some(if is_199(client) { 2 } else { 0 }),
        (Some(b'2'), Some(b'1')) => Some(if is_199(server) { 2 } else { 0 }),
        (Some(b'1'), Some(b'1')) => Some(if is_199(server) && is_199(client) {
            2
        } else {
            1
        }),
        (Some(b'2'), Some(b'2')) => Some(2),
        _ => None,
    }
}

/// Whether `prefix` (the first bytes of a direction) can start an SSH banner as Zeek's
/// DPD signature sees it (`^[sS][sS][hH]-[12]\.`): `Some(true)` once six bytes match,
/// `Some(false)` as soon as one does not, `None` while too short to tell.
pub fn banner_signature(prefix: &[u8]) -> Option<bool> {
    const CLASSES: [&[u8]; 6] = [b"sS", b"sS", b"hH", b"-", b"12", b"."];
    for (i, class) in CLASSES.iter().enumerate() {
        match prefix.get(i) {
            None => return None,
            Some(b) if !class.contains(b) => return Some(false),
            Some(_) => {}
        }
    }
    Some(true)
}

/// SSH-2 message numbers used here.
pub const MSG_KEXINIT: u8 = 20;
pub const MSG_NEWKEYS: u8 = 21;
/// SSH-1 `SSH_CMSG_SESSION_KEY`: the analyzer's confirmation point for SSH-1.
pub const SSH1_CMSG_SESSION_KEY: u8 = 3;

/// Key exchange families, as Zeek's analyzer classifies the negotiated algorithm; each
/// decides which message carries the server host key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KexFamily {
    Dh,
    DhGex,
    Ecc,
    Gss,
    Rsa,
    /// Negotiated, but not one the analyzer knows: no host key is extracted.
    Unknown,
}

/// Zeek's classification of a negotiated key exchange algorithm.
pub fn kex_family(alg: &[u8]) -> KexFamily {
    match alg {
        b"rsa1024-sha1" | b"rsa2048-sha256" => KexFamily::Rsa,
        b"diffie-hellman-group1-sha1" | b"diffie-hellman-group14-sha1" => KexFamily::Dh,
        b"diffie-hellman-group-exchange-sha1" | b"diffie-hellman-group-exchange-sha256" => {
            KexFamily::DhGex
        }
        a if a.starts_with(b"gss-") => KexFamily::Gss,
        a if a.starts_with(b"ecdh-sha2-")
            || a == b"ecmqv-sha2"
            || a.starts_with(b"curve25519-sha256") =>
        {
            KexFamily::Ecc
        }
        _ => KexFamily::Unknown,
    }
}

/// The message of `family` that carries the server host key `K_S` first in its payload,
/// and whether the two strings after it (f or Q_S, then the signature) must parse too.
fn host_key_message(family: KexFamily) -> Option<(u8, bool)> {
    match family {
        // SSH_MSG_KEXDH_REPLY / SSH_MSG_KEX_ECDH_REPLY
        KexFamily::Dh | KexFamily::Ecc => Some((31, true)),
        // SSH_MSG_KEX_DH_GEX_REPLY
        KexFamily::DhGex => Some((33, true)),
        // SSH_MSG_KEXGSS_HOSTKEY
        KexFamily::Gss => Some((33, false)),
        KexFamily::Rsa | KexFamily::Unknown => None,
    }
}

/// Whether a message needs its payload parsed to extract the host key.
pub fn carries_host_key(family: KexFamily, msg_type: u8) -> bool {
    host_key_message(family).is_some_and(|(t, _)| t == msg_type)
}

/// Reads an SSH `string` (uint32 length + bytes) at the start of `b`.
pub fn ssh_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let end = 4usize.checked_add(len)?;
    Some((b.get(4..end)?, b.get(end..)?))
}

/// `K_S` from a host-key message's payload (after the message number).
pub fn host_key(family: KexFamily, payload: &[u8]) -> Option<&[u8]> {
    let (_, full) = host_key_message(family)?;
    let (k_s, rest) = ssh_string(payload)?;
    if full {
        let (_, rest) = ssh_string(rest)?;
        ssh_string(rest)?;
    }
    Some(k_s)
}

/// `host_key_fingerprint`: `SHA256:` and the unpadded base64 of the first 24 bytes of
/// the SHA-256 of the key blob (the 32 characters Zeek's baselines show).
pub fn fingerprint(key_blob: &[u8]) -> String {
    let digest = Sha256::digest(key_blob);
    let mut s = String::from("SHA256:");
    base64::engine::general_purpose::STANDARD_NO_PAD.encode_string(&digest[..24], &mut s);
    s
}

/// The ten name-lists of an SSH_MSG_KEXINIT payload (after the message number).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KexInit {
    pub kex: Vec<u8>,
    pub host_key: Vec<u8>,
    pub cipher_c2s: Vec<u8>,
    pub cipher_s2c: Vec<u8>,
    pub mac_c2s: Vec<u8>,
    pub mac_s2c: Vec<u8>,
    pub comp_c2s: Vec<u8>,
    pub comp_s2c: Vec<u8>,
}

impl KexInit {
    /// Parses cookie, name-lists, `first_kex_packet_follows` and the reserved word; all
    /// must fit in the payload.
    pub fn parse(payload: &[u8]) -> Option<KexInit> {
        let mut rest = payload.get(16..)?;
        let mut lists: [&[u8]; 10] = [&[]; 10];
        for l in lists.iter_mut() {
            let (s, r) = ssh_string(rest)?;
            *l = s;
            rest = r;
        }
        rest.get(..5)?;
        let [kex, host_key, cipher_c2s, cipher_s2c, mac_c2s, mac_s2c, comp_c2s, comp_s2c, _, _] =
            lists;
        Some(KexInit {
            kex: kex.to_vec(),
            host_key: host_key.to_vec(),
            cipher_c2s: cipher_c2s.to_vec(),
            cipher_s2c: cipher_s2c.to_vec(),
            mac_c2s: mac_c2s.to_vec(),
            mac_s2c: mac_s2c.to_vec(),
            comp_c2s: comp_c2s.to_vec(),
            comp_s2c: comp_s2c.to_vec(),
        })
    }
}

/// The names of a name-list, without empty entries (Zeek's `name_list_to_vector`).
pub fn names(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&b| b == b',').filter(|n| !n.is_empty())
}

/// The first client name the server also lists (RFC 4253 7.1), as `SSH::find_alg`.
pub fn find_alg<'a>(client: &'a [u8], server: &[u8]) -> Option<&'a [u8]> {
    names(client).find(|c| names(server).any(|s| s == *c))
}

/// `SSH::find_alg` as the log shows it.
pub fn find_alg_text(client: &[u8], server: &[u8]) -> Vec<u8> {
    find_alg(client, server)
        .unwrap_or(b"Algorithm negotiation failed")
        .to_vec()
}

/// `SSH::find_bidirectional_alg`: one name when both directions agree.
pub fn find_bidirectional_alg(
    client_c2s: &[u8],
    server_c2s: &[u8],
    client_s2c: &[u8],
    server_s2c: &[u8],
) -> Vec<u8> {
    let c2s = find_alg_text(client_c2s, server_c2s);
    let s2c = find_alg_text(client_s2c, server_s2c);
    if c2s == s2c {
        c2s
    } else {
        let mut v = b"To server: ".to_vec();
        v.extend_from_slice(&c2s);
        v.extend_from_slice(b", to client: ");
        v.extend_from_slice(&s2c);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(announced(b"SSH-2.0-OpenSSH_6.7"), Some(Announced::V2));
        assert_eq!(announced(b"SSH-1.99-OpenSSH"), Some(Announced::V199));
        assert_eq!(announced(b"SSH-1.5-OpenSSH"), Some(Announced::V1));
        assert_eq!(announced(b"SSH-"), None);
        use Announced::*;
        assert_eq!(wire_version(Some(V1), Some(V199)), Some(V1));
        assert_eq!(wire_version(Some(V199), Some(V199)), Some(V2));
        assert_eq!(wire_version(Some(V2), Some(V199)), Some(V2));
        assert_eq!(wire_version(Some(V1), Some(V2)), None);
        assert_eq!(wire_version(Some(V2), None), None);
        assert_eq!(log_version(b"SSH-1.5-a", b"SSH-1.99-b"), Some(1));
        assert_eq!(log_version(b"SSH-2.0-a", b"SSH-1.99-b"), Some(2));
        assert_eq!(log_version(b"SSH-1.5-a", b"SSH-2.0-b"), Some(0));
        assert_eq!(log_version(b"SSH-1.99-a", b"SSH-1.99-b"), Some(2));
        assert_eq!(log_version(b"SSH-3.0-a", b"SSH-2.0-b"), None);
        assert_eq!(log_version(b"SSH-", b"SSH-2.0-b"), None);
    }

    #[test]
    fn signature() {
        assert_eq!(banner_signature(b"SSH-2.0-x"), Some(true));
        assert_eq!(banner_signature(b"ssh-1.5"), Some(true));
        assert_eq!(banner_signature(b"SS"), None);
        assert_eq!(banner_signature(b"GET /"), Some(false));
        assert_eq!(banner_signature(b"SSH-3."), Some(false));
    }

    #[test]
    fn negotiation() {
        assert_eq!(find_alg(b"a,b,c", b"c,b"), Some(&b"b"[..]));
        assert_eq!(find_alg(b",,x,", b"x"), Some(&b"x"[..]));
        assert_eq!(find_alg_text(b"a", b"b"), b"Algorithm negotiation failed");
        assert_eq!(
            find_bidirectional_alg(b"a,b", b"b", b"a,b", b"a"),
            b"To server: b, to client: a"
        );
        assert_eq!(kex_family(b"curve25519-sha256@libssh.org"), KexFamily::Ecc);
        assert_eq!(
            kex_family(b"diffie-hellman-group-exchange-sha1"),
            KexFamily::DhGex
        );
        assert_eq!(
            kex_family(b"sntrup761x25519-sha512@openssh.com"),
            KexFamily::Unknown
        );
    }

    #[test]
    fn strings_are_bounded() {
        assert_eq!(ssh_string(b"\0\0\0\x02abc"), Some((&b"ab"[..], &b"c"[..])));
        assert_eq!(ssh_string(b"\0\0\0\x05abc"), None);
        assert_eq!(ssh_string(b"\xff\xff\xff\xffabc"), None);
        assert!(KexInit::parse(&[0; 20]).is_none());
        assert_eq!(
            host_key(KexFamily::Ecc, b"\0\0\0\x01k\0\0\0\0\0\0\0\0"),
            Some(&b"k"[..])
        );
        assert_eq!(host_key(KexFamily::Ecc, b"\0\0\0\x01k\0\0\0\0"), None);
        assert_eq!(host_key(KexFamily::Gss, b"\0\0\0\x01k"), Some(&b"k"[..]));
    }
}
