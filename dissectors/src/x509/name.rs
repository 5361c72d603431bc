//! Rendering of distinguished names and object identifiers the way Zeek gets them from
//! OpenSSL: `X509_NAME_print_ex(..., XN_FLAG_RFC2253)` for subjects and issuers (RDNs in
//! reverse order, `,` between RDNs and `+` inside one, short attribute names, RFC 2253
//! escaping with bytes above 0x7f and control bytes as `\XX`, unknown attributes and
//! non-string values dumped as `#` + hex of their DER), and OpenSSL's long names
//! (`i2t_ASN1_OBJECT`) for key and signature algorithms.

use super::der::{oid_to_string, Tlv, SEQUENCE, SET};

/// OpenSSL short name of a DN attribute type, by dotted OID.
pub fn attribute_short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.13" => "description",
        "2.5.4.14" => "searchGuide",
        "2.5.4.15" => "businessCategory",
        "2.5.4.16" => "postalAddress",
        "2.5.4.17" => "postalCode",
        "2.5.4.18" => "postOfficeBox",
        "2.5.4.19" => "physicalDeliveryOfficeName",
        "2.5.4.20" => "telephoneNumber",
        "2.5.4.41" => "name",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.45" => "x500UniqueIdentifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.51" => "houseIdentifier",
        "2.5.4.54" => "dmdName",
        "2.5.4.65" => "pseudonym",
        "2.5.4.72" => "role",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.2.840.113549.1.9.2" => "unstructuredName",
        "1.2.840.113549.1.9.8" => "unstructuredAddress",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return None,
    })
}

/// OpenSSL long name of a public key or signature algorithm OID.
pub fn algorithm_long_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113549.1.1.1" => "rsaEncryption",
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.3" => "md4WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.113549.1.1.15" => "sha512-224WithRSAEncryption",
        "1.2.840.113549.1.1.16" => "sha512-256WithRSAEncryption",
        "1.2.840.113549.1.3.1" => "dhKeyAgreement",
        "1.3.14.3.2.3" => "md5WithRSA",
        "1.3.14.3.2.13" => "dsaWithSHA",
        "1.3.14.3.2.15" => "shaWithRSAEncryption",
        "1.3.14.3.2.27" => "dsaWithSHA1-old",
        "1.3.14.3.2.29" => "sha1WithRSA",
        "1.2.840.10040.4.1" => "dsaEncryption",
        "1.2.840.10040.4.3" => "dsaWithSHA1",
        "1.2.840.10045.2.1" => "id-ecPublicKey",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10046.2.1" => "X9.42 DH",
        "2.16.840.1.101.3.4.3.1" => "dsa_with_SHA224",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        "2.16.840.1.101.3.4.3.13" => "RSA-SHA3-224",
        "2.16.840.1.101.3.4.3.14" => "RSA-SHA3-256",
        "2.16.840.1.101.3.4.3.15" => "RSA-SHA3-384",
        "2.16.840.1.101.3.4.3.16" => "RSA-SHA3-512",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        "1.2.156.10197.1.301" => "sm2",
        "1.2.156.10197.1.501" => "SM2-with-SM3",
        _ => return None,
    })
}

/// Named EC curve: OpenSSL's group name and the bit length of the group order.
pub fn curve(oid: &str) -> Option<(&'static str, u64)> {
    Some(match oid {
        "1.2.840.10045.3.1.1" => ("prime192v1", 192),
        "1.2.840.10045.3.1.7" => ("prime256v1", 256),
        "1.3.132.0.33" => ("secp224r1", 224),
        "1.3.132.0.34" => ("secp384r1", 384),
        "1.3.132.0.35" => ("secp521r1", 521),
        "1.3.132.0.10" => ("secp256k1", 256),
        "1.3.36.3.3.2.8.1.1.7" => ("brainpoolP256r1", 256),
        "1.3.36.3.3.2.8.1.1.11" => ("brainpoolP384r1", 384),
        "1.3.36.3.3.2.8.1.1.13" => ("brainpoolP512r1", 512),
        "1.2.156.10197.1.301" => ("SM2", 256),
        _ => return None,
    })
}

/// Renders a DER `Name` (SEQUENCE OF RDN SET) as OpenSSL's RFC 2253 one-liner.
/// `None` when the structure is malformed.
pub fn render_name(name: &Tlv<'_>) -> Option<String> {
    if name.tag != SEQUENCE {
        return None;
    }
    let mut rdns: Vec<Tlv<'_>> = Vec::new();
    let mut r = name.reader();
    while !r.is_empty() {
        rdns.push(r.expect(SET)?);
    }
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut avas = rdn.reader();
        let mut first = true;
        while !avas.is_empty() {
            let ava = avas.expect(SEQUENCE)?;
            let mut f = ava.reader();
            let oid = f.expect(super::der::OID)?;
            let value = f.next_tlv()?;
            if !first {
                out.push('+');
            }
            first = false;
            let dotted = oid_to_string(oid.content)?;
            match attribute_short_name(&dotted) {
                Some(sn) => {
                    out.push_str(sn);
                    out.push('=');
                    if !push_value(&mut out, &value) {
                        return Some(out);
                    }
                }
                None => {
                    out.push_str(&dotted);
                    out.push('=');
                    push_hex_dump(&mut out, value.raw);
                }
            }
        }
    }
    Some(out)
}

/// The last CN of a DER `Name`, as `ASN1_STRING_print` renders it (bytes outside
/// printable ASCII, except CR and LF, become `.`; output stops at a line break).
pub fn last_common_name(name: &Tlv<'_>) -> Option<String> {
    let mut found: Option<&[u8]> = None;
    let mut r = name.reader();
    while let Some(rdn) = r.next_tlv() {
        let mut avas = rdn.reader();
        while let Some(ava) = avas.next_tlv() {
            let mut f = ava.reader();
            let (Some(oid), Some(value)) = (f.next_tlv(), f.next_tlv()) else {
                continue;
            };
            if oid.content == [0x55, 0x04, 0x03] {
                found = Some(value.content);
            }
        }
    }
    let bytes = found?;
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b == b'\n' || b == b'\r' {
            break;
        }
        if (b' '..=b'~').contains(&b) {
            out.push(b as char);
        } else {
            out.push('.');
        }
    }
    Some(out)
}

fn push_hex_dump(out: &mut String, der: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('#');
    for &b in der {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
}

/// Characters of a string value, decoded per its ASN.1 string type; `None` for types that
/// OpenSSL does not print as text (they are hex dumped).
fn decode_chars(value: &Tlv<'_>) -> Option<Result<Vec<u32>, ()>> {
    let content = value.content;
    let number = value.universal_number()?;
    if value.is_constructed() {
        return None;
    }
    Some(match number {
        // OpenSSL gives up on the whole name at invalid UTF-8.
        12 => match std::str::from_utf8(content) {
            Ok(s) => Ok(s.chars().map(u32::from).collect()),
            Err(_) => Err(()),
        },
        18 | 19 | 20 | 22 | 23 | 24 | 26 => Ok(content.iter().map(|b| u32::from(*b)).collect()),
        28 => {
            if !content.len().is_multiple_of(4) {
                return Some(Err(()));
            }
            Ok(content
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        }
        30 => {
            if !content.len().is_multiple_of(2) {
                return Some(Err(()));
            }
            Ok(content
                .chunks_exact(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                .collect())
        }
        _ => return None,
    })
}

/// Appends the value; false when OpenSSL would have stopped printing the name here.
fn push_value(out: &mut String, value: &Tlv<'_>) -> bool {
    let chars = match decode_chars(value) {
        None => {
            push_hex_dump(out, value.raw);
            return true;
        }
        Some(Err(())) => return false,
        Some(Ok(chars)) => chars,
    };
    let n = chars.len();
    for (i, c) in chars.into_iter().enumerate() {
        let mut utf8 = [0u8; 4];
        let bytes: &[u8] = match char::from_u32(c) {
            Some(ch) => ch.encode_utf8(&mut utf8).as_bytes(),
            None => continue,
        };
        let last_index = bytes.len().saturating_sub(1);
        for (j, &b) in bytes.iter().enumerate() {
            let first = i == 0 && j == 0;
            let last = i + 1 == n && j == last_index;
            push_escaped_byte(out, b, first, last);
        }
    }
    true
}

fn push_escaped_byte(out: &mut String, b: u8, first: bool, last: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let hex = |out: &mut String| {
        out.push('\\');
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    };
    if !(0x20..0x7f).contains(&b) {
        hex(out);
        return;
    }
    let c = b as char;
    let needs_backslash = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
        || (first && (c == '#' || c == ' '))
        || (last && c == ' ');
    if needs_backslash {
        out.push('\\');
    }
    out.push(c);
}

/// Dotted OID or OpenSSL long name of an AlgorithmIdentifier's OID contents.
pub fn algorithm_name(oid_content: &[u8]) -> String {
    match oid_to_string(oid_content) {
        Some(dotted) => algorithm_long_name(&dotted)
            .map(str::to_string)
            .unwrap_or(dotted),
        None => String::new(),
    }
}

/// Parses a DER Name from raw bytes (used in tests).
#[cfg(test)]
pub fn render_name_bytes(der: &[u8]) -> Option<String> {
    let tlv = super::der::Reader::new(der).next_tlv()?;
    render_name(&tlv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ava(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        let mut inner = vec![0x06, oid.len() as u8];
        inner.extend_from_slice(oid);
        inner.push(tag);
        inner.push(value.len() as u8);
        inner.extend_from_slice(value);
        let mut seq = vec![0x30, inner.len() as u8];
        seq.extend(inner);
        seq
    }

    fn rdn(avas: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = avas.concat();
        let mut set = vec![0x31, body.len() as u8];
        set.extend(body);
        set
    }

    fn name(rdns: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = rdns.concat();
        let mut seq = vec![0x30, body.len() as u8];
        seq.extend(body);
        seq
    }

    #[test]
    fn reverse_order_and_escaping() {
        let n = name(&[
            rdn(&[ava(&[0x55, 4, 6], 0x13, b"US")]),
            rdn(&[ava(&[0x55, 4, 10], 0x0c, b"Foo, Inc.")]),
            rdn(&[
                ava(&[0x55, 4, 3], 0x0c, b"a"),
                ava(&[0x55, 4, 11], 0x0c, " caf\u{e9}".as_bytes()),
            ]),
        ]);
        assert_eq!(
            render_name_bytes(&n).unwrap(),
            "CN=a+OU=\\ caf\\C3\\A9,O=Foo\\, Inc.,C=US"
        );
    }

    #[test]
    fn unknown_attribute_is_dumped() {
        let n = name(&[rdn(&[ava(&[0x2b, 6, 1, 4, 1, 1], 0x0c, b"x")])]);
        assert_eq!(render_name_bytes(&n).unwrap(), "1.3.6.1.4.1.1=#0C0178");
    }

    #[test]
    fn bmp_and_t61() {
        let n = name(&[
            rdn(&[ava(&[0x55, 4, 3], 0x1e, &[0x00, b'h', 0x00, b'i'])]),
            rdn(&[ava(&[0x55, 4, 7], 0x14, &[b'M', 0xfc])]),
        ]);
        assert_eq!(render_name_bytes(&n).unwrap(), "L=M\\C3\\BC,CN=hi");
    }
}
