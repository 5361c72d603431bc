//! x509.log: one record per X.509 certificate seen in a TLS handshake, with the columns of
//! Zeek's `X509::Info` (`scripts/base/files/x509/main.zeek`): the certificate's fields as
//! Zeek's X509 file analyzer extracts them with OpenSSL, its SHA-256 fingerprint, and
//! whether it was the host certificate (first of a chain) or sent by the client.
//!
//! Zeek de-duplicates x509.log: a certificate with the same (fingerprint, host_cert,
//! client_cert) is logged once and not again until a day later
//! (`X509::relog_known_certificates_after`, `known_log_certs` with `&create_expire`).
//! That state spans connections, so the dissector emits every certificate and
//! [`X509Dedup`] (run in the single-threaded output stage over records in time order)
//! drops the repeats.

pub mod der;
pub mod name;

use std::collections::HashMap;
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::record::Record;
use crate::time::{Interval, Timestamp};
use crate::uid::Uid;
use crate::zeek::{escape_bytes_lossy, field, Field, FieldType as T, Row, ZeekRecord};
use der::{Reader, Tlv};

/// A parsed certificate: what x509.log shows, plus what hostname checks need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Certificate {
    pub version: u64,
    /// Upper-case hex of the serial's magnitude (`i2a_ASN1_INTEGER`).
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    /// Last CN of the subject (not logged; Zeek's `certificate$cn`).
    pub cn: Option<String>,
    pub not_valid_before: Timestamp,
    pub not_valid_after: Timestamp,
    pub key_alg: String,
    pub sig_alg: String,
    /// `rsa`, `dsa` or `ecdsa`.
    pub key_type: Option<&'static str>,
    pub key_length: Option<u64>,
    pub exponent: Option<String>,
    pub curve: Option<&'static str>,
    pub san: Option<SubjectAltName>,
    pub basic_constraints: Option<BasicConstraints>,
    /// Raw DNS names of the first SAN extension (for hostname matching).
    san_dns_raw: Option<Vec<Vec<u8>>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubjectAltName {
    pub dns: Option<Vec<String>>,
    pub uri: Option<Vec<String>>,
    pub email: Option<Vec<String>>,
    pub ip: Option<Vec<IpAddr>>,
    /// Other name forms were present (not logged).
    pub other_fields: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    pub ca: bool,
    pub path_len: Option<u64>,
}

impl Certificate {
    /// Parses a DER certificate; `None` where OpenSSL's `d2i_X509` would fail too (a
    /// structurally broken certificate).
    pub fn parse(der: &[u8]) -> Option<Certificate> {
        let mut top = Reader::new(der);
        let cert = top.expect(der::SEQUENCE)?;
        let mut c = cert.reader();
        let tbs = c.expect(der::SEQUENCE)?;
        let sig_alg_id = c.expect(der::SEQUENCE)?;
        c.expect(der::BIT_STRING)?;
        let sig_oid = sig_alg_id.reader().expect(der::OID)?;

        let mut t = tbs.reader();
        let version = match t.optional(0xa0) {
            Some(v) => {
                let int = v.reader().expect(der::INTEGER)?;
                der::integer_i64(int.content)?.checked_add(1)?
            }
            None => 1,
        };
        let serial = t.expect(der::INTEGER)?;
        t.expect(der::SEQUENCE)?; // tbs signature algorithm
        let issuer = t.expect(der::SEQUENCE)?;
        let validity = t.expect(der::SEQUENCE)?;
        let subject = t.expect(der::SEQUENCE)?;
        let spki = t.expect(der::SEQUENCE)?;
        let mut extensions: Option<Tlv<'_>> = None;
        while let Some(tlv) = t.next_tlv() {
            if tlv.tag == 0xa3 {
                extensions = Some(tlv.reader().expect(der::SEQUENCE)?);
            }
        }

        let mut v = validity.reader();
        let not_before = parse_time(&v.next_tlv()?).unwrap_or_default();
        let not_after = parse_time(&v.next_tlv()?).unwrap_or_default();

        let mut out = Certificate {
            version: u64::try_from(version).unwrap_or(0),
            // Strings as the log renders raw bytes (backslashes of RFC 2253 escapes doubled).
            serial: escape_bytes_lossy(serial_string(serial.content).as_bytes()),
            subject: escape_bytes_lossy(name::render_name(&subject)?.as_bytes()),
            issuer: escape_bytes_lossy(name::render_name(&issuer)?.as_bytes()),
            cn: name::last_common_name(&subject),
            not_valid_before: not_before,
            not_valid_after: not_after,
            key_alg: String::new(),
            sig_alg: name::algorithm_name(sig_oid.content),
            key_type: None,
            key_length: None,
            exponent: None,
            curve: None,
            san: None,
            basic_constraints: None,
            san_dns_raw: None,
        };
        out.parse_key(&spki)?;
        if let Some(exts) = extensions {
            out.parse_extensions(&exts)?;
        }
        Some(out)
    }

    fn parse_key(&mut self, spki: &Tlv<'_>) -> Option<()> {
        let mut r = spki.reader();
        let alg = r.expect(der::SEQUENCE)?;
        let key_bits = r.expect(der::BIT_STRING)?;
        let mut a = alg.reader();
        let oid = a.expect(der::OID)?;
        let params = a.next_tlv();
        self.key_alg = name::algorithm_name(oid.content);
        // The key itself: bit string contents after the unused-bits octet.
        let key = key_bits.content.get(1..).unwrap_or_default();
        match der::oid_to_string(oid.content).as_deref() {
            // rsaEncryption, and md5WithRSAEncryption which some RDP servers put here
            // (Zeek special-cases it and parses the key as RSA).
            Some("1.2.840.113549.1.1.1") | Some("1.2.840.113549.1.1.4") => {
                let Some(rsa) = Reader::new(key).expect(der::SEQUENCE) else {
                    return Some(());
                };
                let mut k = rsa.reader();
                let (Some(n), Some(e)) = (k.expect(der::INTEGER), k.expect(der::INTEGER)) else {
                    return Some(());
                };
                self.key_type = Some("rsa");
                let (n_mag, _) = der::integer_magnitude(n.content);
                let (e_mag, _) = der::integer_magnitude(e.content);
                self.exponent = Some(der::to_decimal(&e_mag));
                let bits = der::bit_length(&n_mag);
                self.key_length = (bits > 0).then_some(bits);
            }
            Some("1.2.840.10040.4.1") => {
                // DSA: the length is that of p, from the parameters.
                let Some(p) = params
                    .filter(|p| p.tag == der::SEQUENCE)
                    .and_then(|p| p.reader().expect(der::INTEGER))
                else {
                    return Some(());
                };
                self.key_type = Some("dsa");
                let (p_mag, _) = der::integer_magnitude(p.content);
                let bits = der::bit_length(&p_mag);
                self.key_length = (bits > 0).then_some(bits);
            }
            Some("1.2.840.10045.2.1") => {
                self.key_type = Some("ecdsa");
                if let Some(curve_oid) = params.filter(|p| p.tag == der::OID) {
                    if let Some((name, bits)) = der::oid_to_string(curve_oid.content)
                        .as_deref()
                        .and_then(name::curve)
                    {
                        self.curve = Some(name);
                        self.key_length = Some(bits);
                    }
                }
            }
            _ => {}
        }
        Some(())
    }

    fn parse_extensions(&mut self, exts: &Tlv<'_>) -> Option<()> {
        let mut r = exts.reader();
        let mut first_san = true;
        while !r.is_empty() {
            let ext = r.expect(der::SEQUENCE)?;
            let mut e = ext.reader();
            let oid = e.expect(der::OID)?;
            e.optional(der::BOOLEAN);
            let value = e.expect(der::OCTET_STRING)?;
            match oid.content {
                // basicConstraints 2.5.29.19
                [0x55, 0x1d, 0x13] => {
                    if let Some(bc) = parse_basic_constraints(value.content) {
                        self.basic_constraints = Some(bc);
                    }
                }
                // subjectAltName 2.5.29.17
                [0x55, 0x1d, 0x11] => {
                    let parsed = parse_san(value.content);
                    if first_san {
                        self.san_dns_raw = Some(
                            parsed
                                .as_ref()
                                .map(|(_, raw)| raw.clone())
                                .unwrap_or_default(),
                        );
                        first_san = false;
                    }
                    if let Some((san, _)) = parsed {
                        self.san = Some(san);
                    }
                }
                _ => {}
            }
        }
        Some(())
    }

    /// Zeek's `x509_check_cert_hostname`: the SAN DNS names if a SAN extension is
    /// present, else the last CN, matched with Zeek's wildcard rules.
    pub fn matches_hostname(&self, hostname: &[u8]) -> bool {
        match &self.san_dns_raw {
            Some(names) => names.iter().any(|n| check_hostname(hostname, n)),
            None => self
                .cn
                .as_deref()
                .is_some_and(|cn| check_hostname(hostname, cn.as_bytes())),
        }
    }

    /// Whether subject and issuer are the same name (a self-issued certificate).
    pub fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }
}

/// Zeek's `check_hostname` (functions.bif): exact match, or a wildcard in the leftmost
/// label of a name with at least three labels, directly before the first dot, possibly
/// after a prefix that must match too.
pub fn check_hostname(hostname: &[u8], certname: &[u8]) -> bool {
    if hostname == certname {
        return true;
    }
    let Some(wildpos) = certname.iter().position(|b| *b == b'*') else {
        return false;
    };
    let Some(firstpos) = certname.iter().position(|b| *b == b'.') else {
        return false;
    };
    if !certname
        .get(firstpos + 1..)
        .is_some_and(|rest| rest.contains(&b'.'))
    {
        return false;
    }
    if wildpos + 1 != firstpos {
        return false;
    }
    let Some(host_firstpos) = hostname.iter().position(|b| *b == b'.') else {
        return false;
    };
    if hostname.get(host_firstpos..) != certname.get(firstpos..) {
        return false;
    }
    if wildpos > 0 && hostname.get(..wildpos) != certname.get(..wildpos) {
        return false;
    }
    true
}

fn serial_string(content: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let (mag, negative) = der::integer_magnitude(content);
    let mut s = String::with_capacity(mag.len() * 2 + 1);
    if negative {
        s.push('-');
    }
    if mag.is_empty() {
        s.push_str("00");
    }
    for (i, b) in mag.iter().enumerate() {
        if i > 0 && i % 35 == 0 {
            s.push_str("\\\n");
        }
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

fn parse_basic_constraints(value: &[u8]) -> Option<BasicConstraints> {
    let seq = Reader::new(value).expect(der::SEQUENCE)?;
    let mut r = seq.reader();
    let ca = match r.optional(der::BOOLEAN) {
        Some(b) => b.content.first().is_some_and(|v| *v != 0),
        None => false,
    };
    let path_len = match r.optional(der::INTEGER) {
        // ASN1_INTEGER_get, then stored as a count through an int32 cast.
        Some(i) => der::integer_i64(i.content).and_then(|v| u64::try_from(v as i32).ok()),
        None => None,
    };
    Some(BasicConstraints { ca, path_len })
}

type ParsedSan = (SubjectAltName, Vec<Vec<u8>>);

fn parse_san(value: &[u8]) -> Option<ParsedSan> {
    let seq = Reader::new(value).expect(der::SEQUENCE)?;
    let mut r = seq.reader();
    let mut san = SubjectAltName::default();
    let mut dns_raw = Vec::new();
    while !r.is_empty() {
        let name = r.next_tlv()?;
        match name.tag {
            0x81 | 0x82 | 0x86 => {
                let text = escape_bytes_lossy(name.content);
                let list = match name.tag {
                    0x82 => {
                        dns_raw.push(name.content.to_vec());
                        &mut san.dns
                    }
                    0x86 => &mut san.uri,
                    _ => &mut san.email,
                };
                list.get_or_insert_with(Vec::new).push(text);
            }
            0x87 => {
                let ip = match name.content.len() {
                    4 => {
                        let mut a = [0u8; 4];
                        a.copy_from_slice(name.content);
                        IpAddr::from(a)
                    }
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(name.content);
                        IpAddr::from(a)
                    }
                    _ => continue,
                };
                san.ip.get_or_insert_with(Vec::new).push(ip);
            }
            _ => san.other_fields = true,
        }
    }
    Some((san, dns_raw))
}

/// UTCTime / GeneralizedTime to a timestamp (seconds precision, offsets applied).
fn parse_time(t: &Tlv<'_>) -> Option<Timestamp> {
    let s = t.content;
    let digits = |from: usize, n: usize| -> Option<i64> {
        let part = s.get(from..from + n)?;
        let mut v = 0i64;
        for &c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let (year, pos) = match t.tag {
        der::UTC_TIME => {
            let yy = digits(0, 2)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        der::GENERALIZED_TIME => (digits(0, 4)?, 4),
        _ => return None,
    };
    let month = digits(pos, 2)?;
    let day = digits(pos + 2, 2)?;
    let hour = digits(pos + 4, 2)?;
    let minute = digits(pos + 6, 2)?;
    let mut rest = pos + 8;
    let second = match digits(rest, 2) {
        Some(sec) => {
            rest += 2;
            sec
        }
        None => 0,
    };
    if s.get(rest) == Some(&b'.') {
        rest += 1;
        while s.get(rest).is_some_and(u8::is_ascii_digit) {
            rest += 1;
        }
    }
    let offset = match s.get(rest) {
        Some(b'+') | Some(b'-') => {
            let sign = if s.get(rest) == Some(&b'-') { -1 } else { 1 };
            sign * (digits(rest + 1, 2)? * 3600 + digits(rest + 3, 2)? * 60)
        }
        _ => 0,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(Timestamp(secs.checked_mul(1_000_000)?))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Lower-case hex SHA-256 of a DER certificate, as Zeek's `X509::hash_function`.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let mut s = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One x509.log line (before de-duplication).
#[derive(Clone, Debug, PartialEq)]
pub struct X509Record {
    pub ts: Timestamp,
    /// Connection that carried the certificate (not logged: Zeek's x509.log has no uid).
    pub uid: Uid,
    pub fingerprint: String,
    pub certificate: Certificate,
    pub host_cert: bool,
    pub client_cert: bool,
}

impl ZeekRecord for X509Record {
    const PATH: &'static str = "x509";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("fingerprint", T::String),
        field("certificate.version", T::Count),
        field("certificate.serial", T::String),
        field("certificate.subject", T::String),
        field("certificate.issuer", T::String),
        field("certificate.not_valid_before", T::Time),
        field("certificate.not_valid_after", T::Time),
        field("certificate.key_alg", T::String),
        field("certificate.sig_alg", T::String),
        field("certificate.key_type", T::String),
        field("certificate.key_length", T::Count),
        field("certificate.exponent", T::String),
        field("certificate.curve", T::String),
        field("san.dns", T::VectorString),
        field("san.uri", T::VectorString),
        field("san.email", T::VectorString),
        field("san.ip", T::VectorAddr),
        field("basic_constraints.ca", T::Bool),
        field("basic_constraints.path_len", T::Count),
        field("host_cert", T::Bool),
        field("client_cert", T::Bool),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        let c = &self.certificate;
        row.time(Some(self.ts));
        row.str(Some(&self.fingerprint));
        row.count(Some(c.version));
        row.str(Some(&c.serial));
        row.str(Some(&c.subject));
        row.str(Some(&c.issuer));
        row.time(Some(c.not_valid_before));
        row.time(Some(c.not_valid_after));
        row.str(Some(&c.key_alg));
        row.str(Some(&c.sig_alg));
        row.str(c.key_type);
        row.count(c.key_length);
        row.str(c.exponent.as_deref());
        row.str(c.curve);
        let san = c.san.as_ref();
        row.strings(str_iter(san.and_then(|s| s.dns.as_ref())));
        row.strings(str_iter(san.and_then(|s| s.uri.as_ref())));
        row.strings(str_iter(san.and_then(|s| s.email.as_ref())));
        let ips: Option<Vec<String>> = san
            .and_then(|s| s.ip.as_ref())
            .map(|v| v.iter().map(IpAddr::to_string).collect());
        row.strings(str_iter(ips.as_ref()));
        let bc = c.basic_constraints;
        row.bool(bc.map(|b| b.ca));
        row.count(bc.and_then(|b| b.path_len));
        row.bool(Some(self.host_cert));
        row.bool(Some(self.client_cert));
    }
}

fn str_iter(v: Option<&Vec<String>>) -> Option<impl Iterator<Item = &str>> {
    v.map(|v| v.iter().map(String::as_str))
}

/// Zeek's x509.log de-duplication across connections (`X509::known_log_certs`): a
/// certificate is logged again only once `relog_after` has passed since it was logged.
/// Run it over all records in timestamp order; it passes every other record through.
pub struct X509Dedup {
    relog_after: Interval,
    max_entries: usize,
    known: HashMap<(String, bool, bool), Timestamp>,
    pushes: u64,
}

impl Default for X509Dedup {
    fn default() -> Self {
        X509Dedup::new(Interval::from_secs(86_400))
    }
}

impl X509Dedup {
    /// `relog_after` of zero disables de-duplication, as in Zeek.
    pub fn new(relog_after: Interval) -> Self {
        X509Dedup {
            relog_after,
            max_entries: 1_000_000,
            known: HashMap::new(),
            pushes: 0,
        }
    }

    /// The records to write for `rec` (none when it is a repeat).
    pub fn push(&mut self, rec: Record) -> Vec<Record> {
        let Record::X509(x) = &rec else {
            return vec![rec];
        };
        if self.relog_after.0 <= 0 {
            return vec![rec];
        }
        self.pushes += 1;
        if self.pushes.is_multiple_of(4096) {
            let now = x.ts;
            let span = self.relog_after.0;
            self.known.retain(|_, t| now.0.saturating_sub(t.0) < span);
        }
        let key = (x.fingerprint.clone(), x.host_cert, x.client_cert);
        if let Some(logged) = self.known.get(&key) {
            if x.ts.0.saturating_sub(logged.0) < self.relog_after.0 {
                return Vec::new();
            }
            self.known.insert(key, x.ts);
        } else if self.known.len() < self.max_entries {
            self.known.insert(key, x.ts);
        }
        vec![rec]
    }

    /// Nothing is held back, so nothing is pending at the end.
    pub fn finish(&mut self) -> Vec<Record> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_rules() {
        assert!(check_hostname(b"ssl.gstatic.com", b"*.gstatic.com"));
        assert!(check_hostname(b"a.b.c", b"a.b.c"));
        assert!(!check_hostname(b"gstatic.com", b"*.gstatic.com"));
        assert!(!check_hostname(b"x.y.gstatic.com", b"*.gstatic.com"));
        assert!(!check_hostname(b"foo.com", b"*.com"));
        assert!(check_hostname(b"abcd.ex.com", b"ab*.ex.com"));
        assert!(!check_hostname(b"xbcd.ex.com", b"ab*.ex.com"));
        assert!(!check_hostname(b"a.ex.com", b"*a.ex.com"));
    }

    #[test]
    fn times() {
        let t = Tlv {
            tag: der::UTC_TIME,
            tag_number: 23,
            content: b"130101000000Z",
            raw: b"",
        };
        assert_eq!(parse_time(&t), Some(Timestamp(1_356_998_400_000_000)));
        let g = Tlv {
            tag: der::GENERALIZED_TIME,
            tag_number: 24,
            content: b"20500101000000Z",
            raw: b"",
        };
        assert_eq!(parse_time(&g), Some(Timestamp(2_524_608_000_000_000)));
    }

    #[test]
    fn serials() {
        assert_eq!(serial_string(&[0x00, 0x99, 0xfa]), "99FA");
        assert_eq!(serial_string(&[0x01]), "01");
        assert_eq!(serial_string(&[0x00]), "00");
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed: u32 = 0x1234_5678;
        for len in 0..600usize {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                buf.push((seed >> 16) as u8);
            }
            if len > 2 {
                buf[0] = 0x30;
            }
            let _ = Certificate::parse(&buf);
            for cut in 0..buf.len().min(40) {
                let _ = Certificate::parse(&buf[..cut]);
            }
        }
    }
}
