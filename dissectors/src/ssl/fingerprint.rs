//! TLS client and server fingerprints.
//!
//! * JA3 (Salesforce, github.com/salesforce/ja3): MD5, in lower-case hex, of
//!   `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats` from the
//!   ClientHello: the legacy `client_version`, then the cipher suites, extension types,
//!   supported groups (extension 10) and EC point formats (extension 11) in wire order,
//!   each as decimal numbers joined by `-`; GREASE values (RFC 8701) are removed from the
//!   cipher, extension and group lists; a missing list is empty.
//! * JA3S: MD5 of `SSLVersion,Cipher,Extensions` from the ServerHello (legacy
//!   `server_version`, chosen cipher, extension types in order, GREASE removed).
//! * JA4 (FoxIO, github.com/FoxIO-LLC/ja4, technical details of JA4): `a_b_c` with
//!   - a: `t` (TLS over TCP); the TLS version, from the highest non-GREASE value of the
//!     supported_versions extension if present, else the legacy version (`13`, `12`,
//!     `11`, `10`, `s3`, `s2`, `d1`, `d2`, `d3`, otherwise `00`); `d` if the SNI
//!     extension is present, else `i`; the number of cipher suites and of extensions
//!     (GREASE excluded, SNI and ALPN included) as two digits, capped at 99; the first and
//!     last character of the first ALPN value (`00` when there is none; when either is
//!     not ASCII alphanumeric, the first and last character of its hex rendering);
//!   - b: the first 12 hex digits of SHA-256 over the cipher suites as 4-digit lower-case
//!     hex, sorted, joined by `,` (`000000000000` when there are none);
//!   - c: the first 12 hex digits of SHA-256 over the extension types (GREASE, SNI 0x0000
//!     and ALPN 0x0010 removed) as sorted 4-digit hex joined by `,`, followed by `_` and
//!     the signature algorithms (extension 13, wire order, GREASE removed) joined by `,`
//!     when there are any (`000000000000` when no extension is left).
//!
//! The fingerprints are those of the first ClientHello / ServerHello of a connection.

use md5::Md5;
use sha2::{Digest, Sha256};

use super::consts::is_grease;
use crate::hex::{hex_digits, lower_hex, push_hex4, push_lower_hex};

/// The parts of a ClientHello the fingerprints need.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHelloSummary {
    pub version: u16,
    pub ciphers: Vec<u16>,
    pub extensions: Vec<u16>,
    pub curves: Vec<u16>,
    pub point_formats: Vec<u8>,
    pub supported_versions: Vec<u16>,
    pub signature_algorithms: Vec<u16>,
    pub first_alpn: Option<Vec<u8>>,
    pub has_sni: bool,
}

/// The parts of a ServerHello JA3S needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHelloSummary {
    pub version: u16,
    pub cipher: u16,
    pub extensions: Vec<u16>,
}

fn push_decimal(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

fn join_decimal<I: IntoIterator<Item = u64>>(out: &mut String, items: I) {
    for (i, v) in items.into_iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        push_decimal(out, v);
    }
}

fn md5_hex(s: &str) -> String {
    lower_hex(&Md5::digest(s.as_bytes()))
}

/// The first 12 hex digits of the SHA-256 of `s`, appended to `out`.
fn push_sha256_12(out: &mut String, s: &str) {
    push_lower_hex(out, &Sha256::digest(s.as_bytes())[..6]);
}

/// The JA3 input string (before hashing).
pub fn ja3_string(ch: &ClientHelloSummary) -> String {
    // Up to six characters a number ("65535-"), and five fields.
    let numbers = ch.ciphers.len() + ch.extensions.len() + ch.curves.len();
    let mut s = String::with_capacity(numbers * 6 + ch.point_formats.len() * 4 + 16);
    push_decimal(&mut s, u64::from(ch.version));
    s.push(',');
    for list in [&ch.ciphers, &ch.extensions, &ch.curves] {
        join_decimal(
            &mut s,
            list.iter()
                .filter(|c| !is_grease(**c))
                .map(|c| u64::from(*c)),
        );
        s.push(',');
    }
    join_decimal(&mut s, ch.point_formats.iter().map(|c| u64::from(*c)));
    s
}

pub fn ja3(ch: &ClientHelloSummary) -> String {
    md5_hex(&ja3_string(ch))
}

pub fn ja3s_string(sh: &ServerHelloSummary) -> String {
    let mut s = String::new();
    push_decimal(&mut s, u64::from(sh.version));
    s.push(',');
    push_decimal(&mut s, u64::from(sh.cipher));
    s.push(',');
    join_decimal(
        &mut s,
        sh.extensions
            .iter()
            .filter(|c| !is_grease(**c))
            .map(|c| u64::from(*c)),
    );
    s
}

pub fn ja3s(sh: &ServerHelloSummary) -> String {
    md5_hex(&ja3s_string(sh))
}

fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// `{v:04x}` of each item, comma-separated (without `core::fmt`: JA4 is computed for every
/// client hello).
fn hex4_list(items: &[u16]) -> String {
    let mut s = String::with_capacity(items.len() * 5);
    push_hex4_list(&mut s, items);
    s
}

fn push_hex4_list(out: &mut String, items: &[u16]) {
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_hex4(out, *v);
    }
}

/// A count as JA4 writes it: two digits, capped at 99.
fn push_two_digits(out: &mut String, n: usize) {
    let n = n.min(99) as u8;
    out.push(char::from(b'0' + n / 10));
    out.push(char::from(b'0' + n % 10));
}

pub fn ja4(ch: &ClientHelloSummary) -> String {
    let version = ch
        .supported_versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(ch.version);
    let mut ciphers: Vec<u16> = ch
        .ciphers
        .iter()
        .copied()
        .filter(|c| !is_grease(*c))
        .collect();
    let exts_all: Vec<u16> = ch
        .extensions
        .iter()
        .copied()
        .filter(|c| !is_grease(*c))
        .collect();
    let (alpn_first, alpn_last) = match ch.first_alpn.as_deref() {
        Some(v) if !v.is_empty() => {
            let first = v.first().copied().unwrap_or(b'0');
            let last = v.last().copied().unwrap_or(b'0');
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                (first as char, last as char)
            } else {
                // The first digit of the first byte's hex, the last of the last byte's.
                (
                    char::from(hex_digits(first)[0]),
                    char::from(hex_digits(last)[1]),
                )
            }
        }
        _ => ('0', '0'),
    };
    // t, version, d/i, two counts, two ALPN characters, then `_b_c` (12 digits each).
    let mut out = String::with_capacity(36);
    out.push('t');
    out.push_str(ja4_version(version));
    out.push(if ch.has_sni { 'd' } else { 'i' });
    push_two_digits(&mut out, ciphers.len());
    push_two_digits(&mut out, exts_all.len());
    out.push(alpn_first);
    out.push(alpn_last);
    out.push('_');
    ciphers.sort_unstable();
    if ciphers.is_empty() {
        out.push_str("000000000000");
    } else {
        push_sha256_12(&mut out, &hex4_list(&ciphers));
    }
    out.push('_');
    let mut exts: Vec<u16> = exts_all
        .into_iter()
        .filter(|e| *e != 0x0000 && *e != 0x0010)
        .collect();
    exts.sort_unstable();
    if exts.is_empty() {
        out.push_str("000000000000");
    } else {
        let mut input = String::with_capacity((exts.len() + ch.signature_algorithms.len()) * 5 + 1);
        push_hex4_list(&mut input, &exts);
        let sigs: Vec<u16> = ch
            .signature_algorithms
            .iter()
            .copied()
            .filter(|s| !is_grease(*s))
            .collect();
        if !sigs.is_empty() {
            input.push('_');
            push_hex4_list(&mut input, &sigs);
        }
        push_sha256_12(&mut out, &input);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ja3_strings() {
        let ch = ClientHelloSummary {
            version: 771,
            ciphers: vec![0x0a0a, 4865, 4866],
            extensions: vec![0x1a1a, 0, 23, 65281],
            curves: vec![0x2a2a, 29, 23],
            point_formats: vec![0],
            ..Default::default()
        };
        assert_eq!(ja3_string(&ch), "771,4865-4866,0-23-65281,29-23,0");
        assert_eq!(ja3(&ch).len(), 32);
        let empty = ClientHelloSummary {
            version: 769,
            ..Default::default()
        };
        assert_eq!(ja3_string(&empty), "769,,,,");
        // md5("769,,,,")
        assert_eq!(ja3(&empty), md5_hex("769,,,,"));
        let sh = ServerHelloSummary {
            version: 771,
            cipher: 49199,
            extensions: vec![65281, 11],
        };
        assert_eq!(ja3s_string(&sh), "771,49199,65281-11");
    }

    /// The worked example of the JA4 technical details (a Chrome ClientHello).
    #[test]
    fn ja4_reference_example() {
        let ch = ClientHelloSummary {
            version: 0x0303,
            ciphers: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
                0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
            ],
            supported_versions: vec![0x0304, 0x0303],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            first_alpn: Some(b"h2".to_vec()),
            has_sni: true,
            ..Default::default()
        };
        assert_eq!(ja4(&ch), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn ja4_alpn_non_alnum() {
        let ch = ClientHelloSummary {
            version: 0x0303,
            first_alpn: Some(vec![0xab, 0xcd]),
            ..Default::default()
        };
        assert!(ja4(&ch).starts_with("t12i0000ad_000000000000_000000000000"));
    }
}
