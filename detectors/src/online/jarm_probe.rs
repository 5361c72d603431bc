//! Active JARM fingerprinting of a TLS server, as Slips does it (`modules/ip_info/jarm.py`,
//! the algorithm of salesforce/jarm): ten crafted ClientHellos, each on its own TCP
//! connection; the cipher, version and extensions of each ServerHello are folded into
//! the 62-character fingerprint.
//!
//! Fingerprint: per handshake, the position (hex, two characters) of the chosen cipher
//! in a fixed list and one letter for the chosen version (`a` SSLv3 ... `e` TLS 1.3),
//! 30 characters in all, then the first 32 hex characters of the SHA-256 of the
//! concatenated ALPN choices and extension-type lists. A server that answers none of
//! the ten (or one connection that times out) gets 62 zeros.
//!
//! The ServerHello is read with the reference's fixed offsets, quirks included (one
//! `recv` of at most 1484 bytes; a truncated answer counts as no answer), so that the
//! fingerprints equal those of the published lists. Where Slips' copy and salesforce's
//! script differ, Slips is followed: its ALPN list has `spdy/3` and `h2` as two entries
//! (salesforce's lacks a comma and sends them as one), and a ServerHello without
//! extensions contributes no extension types.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// A fingerprint: 62 lowercase hex characters.
pub type Fingerprint = Box<str>;

/// The fingerprint of a server that answered none of the probes.
pub const NO_ANSWER: &str = "00000000000000000000000000000000000000000000000000000000000000";

/// Bytes read of each answer (the reference's single `recv`).
const MAX_ANSWER: usize = 1484;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Tls11,
    Tls12,
    Tls13,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Forward,
    Reverse,
    TopHalf,
    BottomHalf,
    MiddleOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VersionsExtension {
    /// `supported_versions` with TLS 1.0-1.2.
    UpTo12,
    /// Not sent (unless the hello is TLS 1.3).
    Absent,
    /// `supported_versions` with TLS 1.0-1.3.
    UpTo13,
}

/// One of the ten probes.
#[derive(Clone, Copy, Debug)]
struct Probe {
    version: Version,
    /// Without the TLS 1.3 suites.
    no_tls13_ciphers: bool,
    cipher_order: Order,
    grease: bool,
    rare_alpn: bool,
    versions: VersionsExtension,
    /// Order of the ALPN and supported-versions lists (forward or reverse).
    extension_order: Order,
}

const fn probe(
    version: Version,
    no_tls13_ciphers: bool,
    cipher_order: Order,
    grease: bool,
    rare_alpn: bool,
    versions: VersionsExtension,
    extension_order: Order,
) -> Probe {
    Probe {
        version,
        no_tls13_ciphers,
        cipher_order,
        grease,
        rare_alpn,
        versions,
        extension_order,
    }
}

use Order::*;
use Version::*;
use VersionsExtension::*;

const PROBES: [Probe; 10] = [
    probe(Tls12, false, Forward, false, false, UpTo12, Reverse),
    probe(Tls12, false, Reverse, false, false, UpTo12, Forward),
    probe(Tls12, false, TopHalf, false, false, Absent, Forward),
    probe(Tls12, false, BottomHalf, false, true, Absent, Forward),
    probe(Tls12, false, MiddleOut, true, true, Absent, Reverse),
    probe(Tls11, false, Forward, false, false, Absent, Forward),
    probe(Tls13, false, Forward, false, false, UpTo13, Reverse),
    probe(Tls13, false, Reverse, false, false, UpTo13, Forward),
    probe(Tls13, true, Forward, false, false, UpTo13, Forward),
    probe(Tls13, false, MiddleOut, true, false, UpTo13, Reverse),
];

/// The cipher suites offered, in the reference's order.
const CIPHERS_ALL: [u16; 69] = [
    0x0016, 0x0033, 0x0067, 0xc09e, 0xc0a2, 0x009e, 0x0039, 0x006b, 0xc09f, 0xc0a3, 0x009f, 0x0045,
    0x00be, 0x0088, 0x00c4, 0x009a, 0xc008, 0xc009, 0xc023, 0xc0ac, 0xc0ae, 0xc02b, 0xc00a, 0xc024,
    0xc0ad, 0xc0af, 0xc02c, 0xc072, 0xc073, 0xcca9, 0x1302, 0x1301, 0xcc14, 0xc007, 0xc012, 0xc013,
    0xc027, 0xc02f, 0xc014, 0xc028, 0xc030, 0xc060, 0xc061, 0xc076, 0xc077, 0xcca8, 0x1305, 0x1304,
    0x1303, 0xcc13, 0xc011, 0x000a, 0x002f, 0x003c, 0xc09c, 0xc0a0, 0x009c, 0x0035, 0x003d, 0xc09d,
    0xc0a1, 0x009d, 0x0041, 0x00ba, 0x0084, 0x00c0, 0x0007, 0x0004, 0x0005,
];

/// The cipher list numbered in the fingerprint (position 1 first).
const CIPHER_INDEX: [u16; 69] = [
    0x0004, 0x0005, 0x0007, 0x000a, 0x0016, 0x002f, 0x0033, 0x0035, 0x0039, 0x003c, 0x003d, 0x0041,
    0x0045, 0x0067, 0x006b, 0x0084, 0x0088, 0x009a, 0x009c, 0x009d, 0x009e, 0x009f, 0x00ba, 0x00be,
    0x00c0, 0x00c4, 0xc007, 0xc008, 0xc009, 0xc00a, 0xc011, 0xc012, 0xc013, 0xc014, 0xc023, 0xc024,
    0xc027, 0xc028, 0xc02b, 0xc02c, 0xc02f, 0xc030, 0xc060, 0xc061, 0xc072, 0xc073, 0xc076, 0xc077,
    0xc09c, 0xc09d, 0xc09e, 0xc09f, 0xc0a0, 0xc0a1, 0xc0a2, 0xc0a3, 0xc0ac, 0xc0ad, 0xc0ae, 0xc0af,
    0xcc13, 0xcc14, 0xcca8, 0xcca9, 0x1301, 0x1302, 0x1303, 0x1304, 0x1305,
];

const ALPN_ALL: [&[u8]; 9] = [
    b"http/0.9",
    b"http/1.0",
    b"http/1.1",
    b"spdy/1",
    b"spdy/2",
    b"spdy/3",
    b"h2",
    b"h2c",
    b"hq",
];
const ALPN_RARE: [&[u8]; 7] = [
    b"http/0.9",
    b"http/1.0",
    b"spdy/1",
    b"spdy/2",
    b"spdy/3",
    b"h2c",
    b"hq",
];

const GREASE: [u16; 16] = [
    0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba,
    0xcaca, 0xdada, 0xeaea, 0xfafa,
];

/// Randomness for the hello's random, session id, key share and GREASE values: they
/// must vary, not be secret (no key is ever used), so a seeded generator does.
struct Noise(u64);

impl Noise {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        Noise(h.finish())
    }

    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill(&mut self, out: &mut Vec<u8>, n: usize) {
        for _ in 0..n {
            out.push(self.next() as u8);
        }
    }

    fn grease(&mut self) -> u16 {
        GREASE[(self.next() % GREASE.len() as u64) as usize]
    }
}

/// Reorders a list as the reference's `cipher_mung` does.
fn reorder<T: Copy>(items: &[T], order: Order) -> Vec<T> {
    let n = items.len();
    match order {
        Forward => items.to_vec(),
        Reverse => items.iter().rev().copied().collect(),
        BottomHalf => items[n / 2 + n % 2..].to_vec(),
        TopHalf => {
            let mut out = Vec::with_capacity(n / 2 + 1);
            if n % 2 == 1 {
                out.push(items[n / 2]);
            }
            out.extend(reorder(&reorder(items, Reverse), BottomHalf));
            out
        }
        MiddleOut => {
            let middle = n / 2;
            let mut out = Vec::with_capacity(n);
            if n % 2 == 1 {
                out.push(items[middle]);
                for i in 1..=middle {
                    out.push(items[middle + i]);
                    out.push(items[middle - i]);
                }
            } else {
                for i in 1..=middle {
                    out.push(items[middle - 1 + i]);
                    out.push(items[middle - i]);
                }
            }
            out
        }
    }
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends `body` behind a 16-bit length.
fn push_vec16(out: &mut Vec<u8>, body: &[u8]) {
    push_u16(out, body.len() as u16);
    out.extend_from_slice(body);
}

/// The TLS record carrying the ClientHello of `p` for server name `host`.
fn client_hello(p: &Probe, host: &str, noise: &mut Noise) -> Vec<u8> {
    let (record_version, hello_version) = match p.version {
        Tls11 => (0x0302, 0x0302),
        Tls12 => (0x0303, 0x0303),
        Tls13 => (0x0301, 0x0303),
    };
    let mut hello = Vec::with_capacity(512);
    push_u16(&mut hello, hello_version);
    noise.fill(&mut hello, 32);
    hello.push(32);
    noise.fill(&mut hello, 32);

    let list: &[u16] = &CIPHERS_ALL;
    let mut ciphers: Vec<u16> = if p.no_tls13_ciphers {
        list.iter().copied().filter(|c| c >> 8 != 0x13).collect()
    } else {
        list.to_vec()
    };
    ciphers = reorder(&ciphers, p.cipher_order);
    if p.grease {
        ciphers.insert(0, noise.grease());
    }
    push_u16(&mut hello, (ciphers.len() * 2) as u16);
    for c in ciphers {
        push_u16(&mut hello, c);
    }
    // one compression method: null
    hello.extend_from_slice(&[0x01, 0x00]);
    push_vec16(&mut hello, &extensions(p, host, noise));

    let mut handshake = Vec::with_capacity(hello.len() + 4);
    handshake.push(0x01);
    handshake.push(0x00);
    push_vec16(&mut handshake, &hello);
    let mut record = Vec::with_capacity(handshake.len() + 5);
    record.push(0x16);
    push_u16(&mut record, record_version);
    push_vec16(&mut record, &handshake);
    record
}

fn extensions(p: &Probe, host: &str, noise: &mut Noise) -> Vec<u8> {
    let mut ext = Vec::with_capacity(384);
    if p.grease {
        push_u16(&mut ext, noise.grease());
        push_u16(&mut ext, 0);
    }
    // server_name
    let name = host.as_bytes();
    push_u16(&mut ext, 0x0000);
    push_u16(&mut ext, (name.len() + 5) as u16);
    push_u16(&mut ext, (name.len() + 3) as u16);
    ext.push(0x00);
    push_vec16(&mut ext, name);
    // extended_master_secret, max_fragment_length, renegotiation_info, supported_groups,
    // ec_point_formats, session_ticket
    ext.extend_from_slice(&[0x00, 0x17, 0x00, 0x00]);
    ext.extend_from_slice(&[0x00, 0x01, 0x00, 0x01, 0x01]);
    ext.extend_from_slice(&[0xff, 0x01, 0x00, 0x01, 0x00]);
    ext.extend_from_slice(&[
        0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19,
    ]);
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    ext.extend_from_slice(&[0x00, 0x23, 0x00, 0x00]);
    // application_layer_protocol_negotiation
    let alpns: &[&[u8]] = if p.rare_alpn { &ALPN_RARE } else { &ALPN_ALL };
    let mut protocols = Vec::with_capacity(64);
    for a in reorder(alpns, p.extension_order) {
        protocols.push(a.len() as u8);
        protocols.extend_from_slice(a);
    }
    push_u16(&mut ext, 0x0010);
    push_u16(&mut ext, (protocols.len() + 2) as u16);
    push_vec16(&mut ext, &protocols);
    // signature_algorithms
    ext.extend_from_slice(&[
        0x00, 0x0d, 0x00, 0x14, 0x00, 0x12, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08,
        0x05, 0x05, 0x01, 0x08, 0x06, 0x06, 0x01, 0x02, 0x01,
    ]);
    // key_share: x25519 with random bytes (never used: the handshake stops at the hello)
    let mut share = Vec::with_capacity(48);
    if p.grease {
        push_u16(&mut share, noise.grease());
        share.extend_from_slice(&[0x00, 0x01, 0x00]);
    }
    share.extend_from_slice(&[0x00, 0x1d, 0x00, 0x20]);
    noise.fill(&mut share, 32);
    push_u16(&mut ext, 0x0033);
    push_u16(&mut ext, (share.len() + 2) as u16);
    push_vec16(&mut ext, &share);
    // psk_key_exchange_modes
    ext.extend_from_slice(&[0x00, 0x2d, 0x00, 0x02, 0x01, 0x01]);
    // supported_versions
    if p.version == Tls13 || p.versions == UpTo12 {
        let listed: &[u16] = if p.versions == UpTo12 {
            &[0x0301, 0x0302, 0x0303]
        } else {
            &[0x0301, 0x0302, 0x0303, 0x0304]
        };
        let mut versions = Vec::with_capacity(12);
        if p.grease {
            push_u16(&mut versions, noise.grease());
        }
        for v in reorder(listed, p.extension_order) {
            push_u16(&mut versions, v);
        }
        push_u16(&mut ext, 0x002b);
        push_u16(&mut ext, (versions.len() + 1) as u16);
        ext.push(versions.len() as u8);
        ext.extend_from_slice(&versions);
    }
    ext
}

/// Bytes `a..b` of `data`, clamped to its end (Python's slicing).
fn slice(data: &[u8], a: usize, b: usize) -> &[u8] {
    let end = b.min(data.len());
    if a >= end {
        &[]
    } else {
        &data[a..end]
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// `cipher|version|alpn|extension-types` of one answer; `|||` when there was no
/// ServerHello (an alert, nothing, something else, or a truncated one).
pub fn read_answer(data: &[u8]) -> String {
    let no_answer = || "|||".to_string();
    if data.len() < 6 || data[0] == 21 || data[0] != 22 || data[5] != 2 {
        return no_answer();
    }
    let Some(&session_len) = data.get(43) else {
        return no_answer();
    };
    let counter = usize::from(session_len);
    let cipher = slice(data, counter + 44, counter + 46);
    let version = slice(data, 9, 11);
    let record_len = usize::from(u16::from_be_bytes([data[3], data[4]]));
    match extension_info(data, counter, record_len) {
        Some(ext) => format!("{}|{}|{ext}", hex(cipher), hex(version)),
        None => no_answer(),
    }
}

/// `alpn|types` of the ServerHello's extensions; `Some("|")` when it has none that can
/// be read, `None` when reading them fails the whole answer (as an exception does in
/// the reference).
fn extension_info(data: &[u8], counter: usize, record_len: usize) -> Option<String> {
    let empty = Some("|".to_string());
    let Some(&first) = data.get(counter + 47) else {
        return empty;
    };
    if first == 11
        || slice(data, counter + 50, counter + 53) == b"\x0e\xac\x0b"
        || slice(data, 82, 85) == b"\x0f\xf0\x0b"
        || counter + 42 >= record_len
    {
        return empty;
    }
    let length_bytes = slice(data, counter + 47, counter + 49);
    let length = length_bytes
        .iter()
        .fold(0usize, |a, b| (a << 8) | usize::from(*b));
    let mut count = counter + 49;
    let maximum = (length + count).saturating_sub(1);
    let mut types: Vec<&[u8]> = Vec::new();
    // the first ALPN extension's value, and whether its length was zero
    let mut alpn: Option<(&[u8], bool)> = None;
    while count < maximum {
        let kind = slice(data, count, count + 2);
        let len_bytes = slice(data, count + 2, count + 4);
        if len_bytes.is_empty() {
            return None;
        }
        let ext_len = len_bytes
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
        let value = slice(data, count + 4, count + 4 + ext_len);
        if kind == b"\x00\x10" && alpn.is_none() {
            alpn = Some((value, ext_len == 0));
        }
        types.push(kind);
        count += ext_len + 4;
    }
    let alpn = match alpn {
        // an empty value is no protocol list at all: the reference fails the answer
        Some((_, true)) => return None,
        // the protocol: after the list length (2) and the name length (1)
        Some((v, false)) => std::str::from_utf8(slice(v, 3, v.len())).ok()?.to_string(),
        None => String::new(),
    };
    let types: Vec<String> = types.iter().map(|t| hex(t)).collect();
    Some(format!("{alpn}|{}", types.join("-")))
}

/// Folds the ten `cipher|version|alpn|types` answers into the fingerprint.
pub fn fingerprint_of(answers: &[String]) -> Fingerprint {
    if answers.iter().all(|a| a == "|||") {
        return NO_ANSWER.into();
    }
    let mut fuzzy = String::with_capacity(62);
    let mut alpns_and_extensions = String::new();
    for a in answers {
        let mut parts = a.split('|');
        let cipher = parts.next().unwrap_or("");
        let version = parts.next().unwrap_or("");
        alpns_and_extensions.push_str(parts.next().unwrap_or(""));
        alpns_and_extensions.push_str(parts.next().unwrap_or(""));
        fuzzy.push_str(&cipher_code(cipher));
        fuzzy.push(version_letter(version));
    }
    let digest = Sha256::digest(alpns_and_extensions.as_bytes());
    fuzzy.push_str(&hex(&digest)[..32]);
    fuzzy.into_boxed_str()
}

/// Position (from 1, two hex digits) of a cipher in [`CIPHER_INDEX`]; `00` for none.
fn cipher_code(cipher: &str) -> String {
    if cipher.is_empty() {
        return "00".into();
    }
    let position = CIPHER_INDEX
        .iter()
        .position(|c| hex(&c.to_be_bytes()) == cipher)
        .unwrap_or(CIPHER_INDEX.len());
    format!("{:02x}", position + 1)
}

/// `a` (SSLv3, `0300`) to `e` (TLS 1.3, `0304`); `0` for none.
fn version_letter(version: &str) -> char {
    match version.as_bytes().get(3) {
        Some(d @ b'0'..=b'5') => char::from(b'a' + (d - b'0')),
        _ => '0',
    }
}

/// What became of one probe.
enum Sent {
    Answer(Vec<u8>),
    /// Refused, reset, closed: counts as no answer for this probe.
    Failed,
    /// Connecting or reading took longer than the timeout: the whole fingerprint is
    /// zeros, and the remaining probes are not sent.
    TimedOut,
}

fn send(server: SocketAddr, hello: &[u8], timeout: Duration) -> Sent {
    let timed_out = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        )
    };
    let mut stream = match TcpStream::connect_timeout(&server, timeout) {
        Ok(s) => s,
        Err(e) if timed_out(&e) => return Sent::TimedOut,
        Err(_) => return Sent::Failed,
    };
    if stream.set_read_timeout(Some(timeout)).is_err()
        || stream.set_write_timeout(Some(timeout)).is_err()
    {
        return Sent::Failed;
    }
    if let Err(e) = stream.write_all(hello) {
        return if timed_out(&e) {
            Sent::TimedOut
        } else {
            Sent::Failed
        };
    }
    let mut buf = vec![0u8; MAX_ANSWER];
    let got = match stream.read(&mut buf) {
        Ok(n) => n,
        Err(e) if timed_out(&e) => return Sent::TimedOut,
        Err(_) => return Sent::Failed,
    };
    let _ = stream.shutdown(Shutdown::Both);
    buf.truncate(got);
    Sent::Answer(buf)
}

/// Probes `server` (ten connections, one after the other, each bounded by `timeout`)
/// and returns its fingerprint. The server name sent is the address, as Slips sends it.
pub fn probe_server(server: SocketAddr, timeout: Duration) -> Fingerprint {
    let host = server.ip().to_string();
    let mut noise = Noise::new();
    let mut answers = Vec::with_capacity(PROBES.len());
    for p in &PROBES {
        let hello = client_hello(p, &host, &mut noise);
        match send(server, &hello, timeout) {
            Sent::TimedOut => return NO_ANSWER.into(),
            Sent::Failed => answers.push("|||".to_string()),
            Sent::Answer(data) => answers.push(read_answer(&data)),
        }
    }
    fingerprint_of(&answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorders_as_the_reference() {
        let odd = [1, 2, 3, 4, 5];
        assert_eq!(reorder(&odd, Reverse), vec![5, 4, 3, 2, 1]);
        assert_eq!(reorder(&odd, BottomHalf), vec![4, 5]);
        assert_eq!(reorder(&odd, TopHalf), vec![3, 2, 1]);
        assert_eq!(reorder(&odd, MiddleOut), vec![3, 4, 2, 5, 1]);
        let even = [1, 2, 3, 4];
        assert_eq!(reorder(&even, BottomHalf), vec![3, 4]);
        assert_eq!(reorder(&even, TopHalf), vec![2, 1]);
        assert_eq!(reorder(&even, MiddleOut), vec![3, 2, 4, 1]);
    }

    #[test]
    fn hellos_are_well_formed() {
        let mut noise = Noise::new();
        for p in &PROBES {
            let r = client_hello(p, "192.0.2.1", &mut noise);
            assert_eq!(r[0], 0x16);
            let record_len = usize::from(u16::from_be_bytes([r[3], r[4]]));
            assert_eq!(record_len, r.len() - 5);
            assert_eq!(r[5], 0x01);
            let hs_len = usize::from(u16::from_be_bytes([r[7], r[8]]));
            assert_eq!(hs_len, r.len() - 9);
            // cipher count: 69 (64 without TLS 1.3), halves, plus GREASE
            let cipher_bytes = usize::from(u16::from_be_bytes([r[76], r[77]]));
            let expected = match (p.no_tls13_ciphers, p.cipher_order, p.grease) {
                (true, _, _) => 64,
                (_, TopHalf, _) => 35,
                (_, BottomHalf, _) => 34,
                (_, _, true) => 70,
                _ => 69,
            };
            assert_eq!(cipher_bytes, expected * 2, "{p:?}");
            let ext_at = 78 + cipher_bytes + 2;
            let ext_len = usize::from(u16::from_be_bytes([r[ext_at], r[ext_at + 1]]));
            assert_eq!(ext_len, r.len() - ext_at - 2);
        }
    }

    /// A ServerHello: TLS 1.2, no session id, cipher 0xc02f, extensions
    /// renegotiation_info, ALPN h2, extended_master_secret.
    fn server_hello() -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0); // session id length
        body.extend_from_slice(&[0xc0, 0x2f, 0x00]);
        let exts: &[u8] = &[
            0xff, 0x01, 0x00, 0x01, 0x00, // renegotiation_info
            0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, b'h', b'2', // ALPN h2
            0x00, 0x17, 0x00, 0x00, // extended_master_secret
        ];
        push_vec16(&mut body, exts);
        let mut hs = vec![0x02, 0x00];
        push_vec16(&mut hs, &body);
        let mut rec = vec![0x16, 0x03, 0x03];
        push_vec16(&mut rec, &hs);
        rec
    }

    #[test]
    fn reads_a_server_hello() {
        assert_eq!(read_answer(&server_hello()), "c02f|0303|h2|ff01-0010-0017");
        // an alert, nothing, a truncated hello
        assert_eq!(read_answer(&[21, 3, 3, 0, 2, 2, 40]), "|||");
        assert_eq!(read_answer(&[]), "|||");
        assert_eq!(read_answer(&server_hello()[..30]), "|||");
    }

    #[test]
    fn folds_answers_into_the_fingerprint() {
        let none: Vec<String> = vec!["|||".into(); 10];
        assert_eq!(&*fingerprint_of(&none), NO_ANSWER);
        let mut answers = none.clone();
        answers[0] = "c02f|0303|h2|ff01-0010-0017".into();
        let f = fingerprint_of(&answers);
        assert_eq!(f.len(), 62);
        // 0xc02f is the 41st cipher (0x29), TLS 1.2 is `d`
        assert!(f.starts_with("29d000000000000000000000000000"), "{f}");
        let digest = hex(&Sha256::digest(b"h2ff01-0010-0017"));
        assert_eq!(&f[30..], &digest[..32]);
        assert_eq!(cipher_code("1301"), "41");
        assert_eq!(cipher_code("ffff"), "46");
    }

    #[test]
    fn a_closed_port_answers_nothing() {
        // bind and drop: the port is closed, connections are refused at once
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert_eq!(&*probe_server(addr, Duration::from_secs(2)), NO_ANSWER);
    }
}
