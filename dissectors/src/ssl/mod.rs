//! ssl.log: the TLS/SSL dissector, with the columns of Zeek's `SSL::Info`
//! (`scripts/base/protocols/ssl/main.zeek` and `files.zeek`) followed by three extra
//! columns, `ja3`, `ja3s` and `ja4` (definitions in [`fingerprint`]).
//!
//! It follows Zeek's SSL analyzer: TLS records are reassembled per direction across TCP
//! deliveries, handshake messages across records; each direction turns encrypted after
//! its ChangeCipherSpec (or, once TLS 1.3 was negotiated, its first application_data
//! record); the session is `established` at the first encrypted record seen while both
//! directions are encrypted (for TLS 1.3: the client's first encrypted record after both
//! sides' ChangeCipherSpec or application data), and the record is then logged and
//! parsing stops, as Zeek disables the analyzer. Otherwise the record is logged on the
//! first protocol violation or when the connection ends. SSLv2 (CLIENT-HELLO,
//! SERVER-HELLO, CLIENT-MASTER-KEY, ERROR) is handled as Zeek does.
//!
//! Certificates of TLS ≤ 1.2 handshakes become [`X509Record`]s (x509.log, to be
//! de-duplicated by [`crate::x509::X509Dedup`]) and their SHA-256 fingerprints the
//! `cert_chain_fps` / `client_cert_chain_fps` columns.

pub mod consts;
pub mod fingerprint;
pub mod parser;

#[rustfmt::skip]
mod cipher_names;

use std::borrow::Cow;

use crate::analyzer::{Context, Dissector};
use crate::buffer::extend_with_room;
use crate::conn::{ConnId, Transport};
use crate::time::Timestamp;
use crate::uid::Uid;
use crate::x509::{fingerprint as cert_fingerprint, Certificate, X509Record};
use crate::zeek::{escape_bytes_lossy, field, Field, FieldType as T, Row, ZeekRecord};
use consts::{KeyExchange, SSLV2, SSLV3, TLSV10, TLSV11, TLSV12, TLSV13};

/// Longest handshake message buffered (a certificate chain is rarely above 64 KiB).
const MAX_HANDSHAKE_MESSAGE: usize = 1 << 20;
/// Most room reserved at once for a record or handshake message that arrives in pieces:
/// a TLS record's largest ciphertext (RFC 8446 5.2) with its header. Larger ones grow as
/// their bytes come, so a header alone cannot make a connection hold much memory.
const MAX_RESERVED: usize = 5 + (1 << 14) + 256;
/// Zeek's `SSL::max_ssl_history_length`.
const MAX_HISTORY: usize = 100;

/// Magic ServerHello random of a TLS 1.3 HelloRetryRequest (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// One ssl.log line.
#[derive(Clone, Debug, PartialEq)]
pub struct SslRecord {
    pub ts: Timestamp,
    pub uid: Uid,
    pub id: ConnId,
    /// Negotiated version number (supported_versions of the ServerHello, else its
    /// version field).
    pub version: Option<u16>,
    /// Chosen cipher suite (a 24-bit cipher kind for SSLv2).
    pub cipher: Option<u32>,
    /// Key exchange group (ServerKeyExchange curve or TLS 1.3 key_share).
    pub curve: Option<u16>,
    /// First host name of the client's SNI extension, escaped for the log.
    pub server_name: Option<String>,
    pub resumed: bool,
    /// Description code of the last cleartext alert.
    pub last_alert: Option<u16>,
    /// First ALPN protocol of the server.
    pub next_protocol: Option<String>,
    pub established: bool,
    pub ssl_history: String,
    pub cert_chain_fps: Option<Vec<String>>,
    pub client_cert_chain_fps: Option<Vec<String>>,
    pub sni_matches_cert: Option<bool>,
    pub ja3: Option<String>,
    pub ja3s: Option<String>,
    pub ja4: Option<String>,
    /// Subject and issuer of the server's first certificate (not logged by default in
    /// Zeek either; kept for detectors).
    pub subject: Option<String>,
    pub issuer: Option<String>,
    /// Validity of the server's first certificate (not logged).
    pub not_valid_before: Option<Timestamp>,
    pub not_valid_after: Option<Timestamp>,
}

impl SslRecord {
    pub fn version_name(&self) -> Option<Cow<'static, str>> {
        self.version.map(consts::version_name)
    }

    pub fn cipher_name(&self) -> Option<Cow<'static, str>> {
        self.cipher.map(consts::cipher_name)
    }

    pub fn curve_name(&self) -> Option<Cow<'static, str>> {
        self.curve.map(consts::curve_name)
    }

    pub fn last_alert_name(&self) -> Option<Cow<'static, str>> {
        self.last_alert.map(consts::alert_name)
    }
}

impl ZeekRecord for SslRecord {
    const PATH: &'static str = "ssl";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("version", T::String),
        field("cipher", T::String),
        field("curve", T::String),
        field("server_name", T::String),
        field("resumed", T::Bool),
        field("last_alert", T::String),
        field("next_protocol", T::String),
        field("established", T::Bool),
        field("ssl_history", T::String),
        field("cert_chain_fps", T::VectorString),
        field("client_cert_chain_fps", T::VectorString),
        field("sni_matches_cert", T::Bool),
        field("ja3", T::String),
        field("ja3s", T::String),
        field("ja4", T::String),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(Some(self.uid));
        self.id.write_columns(row);
        row.str(self.version_name().as_deref());
        row.str(self.cipher_name().as_deref());
        row.str(self.curve_name().as_deref());
        row.str(self.server_name.as_deref());
        row.bool(Some(self.resumed));
        row.str(self.last_alert_name().as_deref());
        row.str(self.next_protocol.as_deref());
        row.bool(Some(self.established));
        row.str(Some(&self.ssl_history));
        row.strings(str_iter(self.cert_chain_fps.as_ref()));
        row.strings(str_iter(self.client_cert_chain_fps.as_ref()));
        row.bool(self.sni_matches_cert);
        row.str(self.ja3.as_deref());
        row.str(self.ja3s.as_deref());
        row.str(self.ja4.as_deref());
    }
}

fn str_iter(v: Option<&Vec<String>>) -> Option<impl Iterator<Item = &str>> {
    v.map(|v| v.iter().map(String::as_str))
}

/// Server and client certificate chains: per certificate, its fingerprint if it parsed.
type Chains = (Vec<Option<String>>, Vec<Option<String>>);

/// Script-level state of one connection (Zeek's `c$ssl`).
#[derive(Debug, Default)]
struct Info {
    ts: Timestamp,
    version_num: Option<u16>,
    cipher: Option<u32>,
    curve: Option<u16>,
    server_name: Option<Vec<u8>>,
    session_id: Option<Vec<u8>>,
    resumed: bool,
    client_ticket_empty_session_seen: bool,
    client_key_exchange_seen: bool,
    client_psk_seen: bool,
    last_alert: Option<u16>,
    next_protocol: Option<Vec<u8>>,
    established: bool,
    logged: bool,
    hrr_seen: bool,
    history: String,
    /// Server and client certificate chains: a fingerprint per certificate that parsed.
    chains: Option<Chains>,
    /// The server's first certificate, when it parsed.
    leaf: Option<Certificate>,
    ja3: Option<String>,
    ja3s: Option<String>,
    ja4: Option<String>,
}

impl Info {
    fn add_history(&mut self, is_client: bool, letter: char) {
        if self.history.len() >= MAX_HISTORY {
            return;
        }
        self.history.push(if is_client {
            letter.to_ascii_uppercase()
        } else {
            letter.to_ascii_lowercase()
        });
    }
}

#[derive(Debug, Default)]
struct Direction {
    /// Bytes of an incomplete record.
    records: Vec<u8>,
    /// Bytes of an incomplete handshake message.
    handshake: Vec<u8>,
    encrypted: bool,
}

/// The TLS/SSL dissector for one connection.
#[derive(Debug, Default)]
pub struct SslDissector {
    dirs: [Direction; 2],
    /// Whether the first bytes were checked to be a ClientHello.
    started: bool,
    record_layer_version: Option<u16>,
    flipped: bool,
    chosen_cipher: Option<u32>,
    chosen_version: Option<u16>,
    /// Zeek's analyzer-level `established_`.
    established: bool,
    info: Option<Info>,
    /// Logged and detached (or gave up): ignore all further input.
    done: bool,
    had_gap: bool,
}

/// DPD candidate: TLS may run over any TCP connection; the first bytes decide.
pub fn candidate(id: &ConnId) -> Option<Box<dyn Dissector>> {
    (id.proto == Transport::Tcp).then(|| Box::new(SslDissector::default()) as Box<dyn Dissector>)
}

/// The length of the record or message that `piece` starts (its header of `header` bytes
/// read by `body_len`), capped at [`MAX_RESERVED`]; 0 while the header is incomplete.
fn whole_len(piece: &[u8], header: usize, body_len: fn(&[u8]) -> usize) -> usize {
    piece
        .get(..header)
        .map_or(0, |h| (header + body_len(h)).min(MAX_RESERVED))
}

fn handshake_message_len(h: &[u8]) -> usize {
    (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3])
}

/// A TLS record's length field (SSLv2 records are only ever read from the buffer).
fn tls_record_len(h: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([h[3], h[4]]))
}

/// Whether `buf` starts like a ClientHello: a TLS handshake record (0x16 0x03 0x00-0x03)
/// carrying message type 1, or an SSLv2 CLIENT-HELLO with a 2-byte header. `None` while
/// too few bytes are known.
pub fn looks_like_client_hello(buf: &[u8]) -> Option<bool> {
    let b0 = *buf.first()?;
    if b0 == 0x16 {
        let b1 = *buf.get(1)?;
        let b2 = *buf.get(2)?;
        if b1 != 0x03 || b2 > 0x03 {
            return Some(false);
        }
        return Some(*buf.get(5)? == 0x01);
    }
    if b0 & 0x80 != 0 {
        let b2 = *buf.get(2)?;
        let b3 = *buf.get(3)?;
        return Some(b2 == 0x01 && (b3 == 0x03 || b3 == 0x00 || b3 == 0x02));
    }
    Some(false)
}

fn version_ok(v: u16) -> bool {
    v >> 8 == 0x7f
        || v >> 8 == 0xfe
        || matches!(v, SSLV2 | SSLV3 | TLSV10 | TLSV11 | TLSV12 | TLSV13)
}

fn dir(is_orig: bool) -> usize {
    usize::from(!is_orig)
}

impl SslDissector {
    pub fn new() -> Self {
        SslDissector::default()
    }

    /// Zeek's `set_session`: the record exists from the first SSL event on.
    fn session(&mut self, cx: &Context<'_>) -> &mut Info {
        self.info.get_or_insert_with(|| Info {
            ts: cx.ts,
            ..Info::default()
        })
    }

    fn violation(&mut self, cx: &mut Context<'_>) {
        cx.violation();
        self.log(cx);
        self.done = true;
    }

    /// `ssl_finishing` + `log_record`.
    fn log(&mut self, cx: &mut Context<'_>) {
        let Some(info) = self.info.as_mut() else {
            return;
        };
        if info.logged {
            return;
        }
        info.logged = true;
        let (cert_chain_fps, client_cert_chain_fps) = match &info.chains {
            Some((server, client)) => (
                Some(server.iter().flatten().cloned().collect()),
                Some(client.iter().flatten().cloned().collect()),
            ),
            None => (None, None),
        };
        let leaf = info
            .chains
            .as_ref()
            .and_then(|(server, _)| server.first())
            .and_then(|first| first.as_ref())
            .and(info.leaf.as_ref());
        let sni_matches_cert = match (leaf, &info.server_name) {
            (Some(cert), Some(name)) => Some(cert.matches_hostname(name)),
            _ => None,
        };
        let record = SslRecord {
            ts: info.ts,
            uid: cx.uid,
            id: *cx.id,
            version: info.version_num,
            cipher: info.cipher,
            curve: info.curve,
            server_name: info.server_name.as_deref().map(escape_bytes_lossy),
            resumed: info.resumed,
            last_alert: info.last_alert,
            next_protocol: info.next_protocol.as_deref().map(escape_bytes_lossy),
            established: info.established,
            ssl_history: std::mem::take(&mut info.history),
            cert_chain_fps,
            client_cert_chain_fps,
            sni_matches_cert,
            ja3: info.ja3.take(),
            ja3s: info.ja3s.take(),
            ja4: info.ja4.take(),
            subject: leaf.map(|c| c.subject.clone()),
            issuer: leaf.map(|c| c.issuer.clone()),
            not_valid_before: leaf.map(|c| c.not_valid_before),
            not_valid_after: leaf.map(|c| c.not_valid_after),
        };
        cx.emit(record);
    }

    /// `ssl_established`: log the record and detach.
    fn ssl_established(&mut self, cx: &mut Context<'_>) {
        self.session(cx).established = true;
        self.log(cx);
        self.done = true;
    }

    /// `determine_ssl_record_layer`: the version of a record header, or `None` for a
    /// violation.
    fn record_layer(&mut self, h: &[u8; 5], is_orig: bool) -> Option<u16> {
        let [h0, h1, h2, h3, h4] = *h;
        if let Some(v) = self.record_layer_version {
            if v != SSLV2 {
                let version = u16::from_be_bytes([h1, h2]);
                if !matches!(version, SSLV3 | TLSV10 | TLSV11 | TLSV12) {
                    return None;
                }
            }
            return Some(v);
        }
        if h0 & 0x80 != 0 {
            if h2 == 0x01 && is_orig {
                let version = u16::from_be_bytes([h3, h4]);
                return matches!(version, SSLV2 | SSLV3 | TLSV10 | TLSV11 | TLSV12)
                    .then_some(SSLV2);
            }
            if h2 == 0x04 && h4 < 2 && !is_orig {
                self.record_layer_version = Some(SSLV2);
                return Some(SSLV2);
            }
            return None;
        }
        let version = u16::from_be_bytes([h1, h2]);
        if !matches!(version, SSLV3 | TLSV10 | TLSV11 | TLSV12) {
            return None;
        }
        if (20..=30).contains(&h0) {
            self.record_layer_version = Some(version);
            return Some(version);
        }
        None
    }

    /// `determine_state`: whether this record is ciphertext.
    fn encrypted(&mut self, is_orig: bool, content_type: u16) -> bool {
        let d = dir(is_orig);
        if self.dirs[d].encrypted || content_type != 23 {
            return self.dirs[d].encrypted;
        }
        let pre_13 = matches!(
            self.chosen_version,
            Some(SSLV2 | SSLV3 | TLSV10 | TLSV11 | TLSV12)
        );
        if !pre_13 {
            self.dirs[d].encrypted = true;
        }
        self.dirs[d].encrypted
    }

    fn process_records(&mut self, cx: &mut Context<'_>, is_orig: bool) {
        let d = dir(is_orig);
        let mut buf = std::mem::take(&mut self.dirs[d].records);
        let pos = self.parse_records(cx, is_orig, &buf);
        if self.done || self.had_gap {
            buf.clear();
        } else {
            buf.drain(..pos.min(buf.len()));
        }
        self.dirs[d].records = buf;
    }

    /// Processes the whole records at the start of `buf`; returns the bytes they took.
    fn parse_records(&mut self, cx: &mut Context<'_>, is_orig: bool, buf: &[u8]) -> usize {
        let mut pos = 0usize;
        while !self.done && !self.had_gap {
            let Some(rest) = buf.get(pos..) else { break };
            let Some(h) = rest.get(..5) else { break };
            let h: [u8; 5] = [h[0], h[1], h[2], h[3], h[4]];
            let Some(version) = self.record_layer(&h, is_orig) else {
                self.violation(cx);
                break;
            };
            let len = if version == SSLV2 {
                let raw = (usize::from(h[0] & 0x7f) << 8) | usize::from(h[1]);
                match raw.checked_sub(3) {
                    Some(l) => l,
                    None => {
                        self.violation(cx);
                        break;
                    }
                }
            } else {
                tls_record_len(&h)
            };
            let Some(body) = rest.get(5..5 + len) else {
                break;
            };
            self.process_record(cx, is_orig, version, &h, body);
            pos += 5 + len;
        }
        pos
    }

    fn process_record(
        &mut self,
        cx: &mut Context<'_>,
        is_orig: bool,
        version: u16,
        h: &[u8; 5],
        body: &[u8],
    ) {
        let content_type = if version == SSLV2 {
            u16::from(h[2]) + 300
        } else {
            u16::from(h[0])
        };
        let mut pos = 0usize;
        while pos < body.len() && !self.done {
            let rest = body.get(pos..).unwrap_or_default();
            if self.encrypted(is_orig, content_type) {
                if self.dirs[0].encrypted && self.dirs[1].encrypted && !self.established {
                    self.established = true;
                    self.ssl_established(cx);
                }
                return;
            }
            match content_type {
                20 => {
                    // change_cipher_spec: one byte each
                    self.session(cx).add_history(is_orig, 'i');
                    let info = self.session(cx);
                    if is_orig
                        && info.client_ticket_empty_session_seen
                        && !info.client_key_exchange_seen
                    {
                        info.resumed = true;
                    }
                    self.dirs[dir(is_orig)].encrypted = true;
                    pos += 1;
                }
                21 => {
                    let Some(&desc) = rest.get(1) else {
                        self.violation(cx);
                        return;
                    };
                    let info = self.session(cx);
                    info.add_history(is_orig, 'l');
                    info.last_alert = Some(u16::from(desc));
                    pos += 2;
                }
                22 => {
                    self.feed_handshake(cx, is_orig, rest);
                    return;
                }
                23 => return,
                24 => {
                    if rest.len() < 3 {
                        self.violation(cx);
                        return;
                    }
                    self.session(cx).add_history(is_orig, 'b');
                    return;
                }
                300 => {
                    let info = self.session(cx);
                    info.add_history(is_orig, 'l');
                    info.last_alert = Some(u16::from_be_bytes([h[3], h[4]]));
                    return;
                }
                301 => {
                    self.v2_client_hello(cx, rest);
                    return;
                }
                302 => {
                    if parser::parse_v2_client_master_key(rest).is_err() {
                        self.violation(cx);
                        return;
                    }
                    self.dirs[0].encrypted = true;
                    self.dirs[1].encrypted = true;
                    self.ssl_established(cx);
                    return;
                }
                304 => {
                    self.v2_server_hello(cx, is_orig, rest);
                    return;
                }
                _ => {
                    self.violation(cx);
                    return;
                }
            }
        }
    }

    fn v2_client_hello(&mut self, cx: &mut Context<'_>, body: &[u8]) {
        let Ok(hello) = parser::parse_v2_client_hello(body) else {
            self.violation(cx);
            return;
        };
        cx.confirm();
        let info = self.session(cx);
        set_client_session_id(info, hello.session_id);
        // record_version 0: no handshake message event, the history letter comes here
        info.add_history(true, 'c');
    }

    fn v2_server_hello(&mut self, cx: &mut Context<'_>, is_orig: bool, body: &[u8]) {
        let Ok(hello) = parser::parse_v2_server_hello(body) else {
            self.violation(cx);
            return;
        };
        if hello.version != SSLV2 {
            self.violation(cx);
            return;
        }
        let cipher = hello.ciphers.first().copied().unwrap_or(0);
        self.chosen_cipher = Some(cipher);
        let info = self.session(cx);
        if info.version_num.is_none() {
            info.version_num = Some(SSLV2);
        }
        info.cipher = Some(cipher);
        info.add_history(false, 's');
        if !hello.certificate.is_empty() {
            self.certificates(cx, !is_orig, &[hello.certificate]);
        }
    }

    fn feed_handshake(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) {
        let d = dir(is_orig);
        if self.dirs[d].handshake.is_empty() {
            // Messages that lie whole in the record are read in place; only a message cut
            // by the record's end waits in the buffer.
            let used = self.handshake_messages(cx, is_orig, data);
            if !self.done {
                let rest = &data[used.min(data.len())..];
                let room = whole_len(rest, 4, handshake_message_len);
                extend_with_room(&mut self.dirs[d].handshake, rest, room);
            }
            return;
        }
        let mut buf = std::mem::take(&mut self.dirs[d].handshake);
        buf.extend_from_slice(data);
        let used = self.handshake_messages(cx, is_orig, &buf);
        if self.done {
            buf.clear();
        } else {
            buf.drain(..used.min(buf.len()));
        }
        self.dirs[d].handshake = buf;
    }

    /// Handles the whole handshake messages at the start of `buf`; returns the bytes they
    /// took.
    fn handshake_messages(&mut self, cx: &mut Context<'_>, is_orig: bool, buf: &[u8]) -> usize {
        let mut pos = 0usize;
        while !self.done {
            let Some(rest) = buf.get(pos..) else { break };
            let Some(hdr) = rest.get(..4) else { break };
            let msg_type = hdr[0];
            let len = handshake_message_len(hdr);
            if len > MAX_HANDSHAKE_MESSAGE {
                self.violation(cx);
                break;
            }
            let Some(body) = rest.get(4..4 + len) else {
                break;
            };
            self.handshake_message(cx, is_orig, msg_type, body);
            pos += 4 + len;
        }
        pos
    }

    /// `check_flipped` of Zeek's handshake analyzer.
    fn check_direction(&mut self, cx: &Context<'_>, desired: bool, is_orig: bool) {
        let flip = if self.flipped {
            desired == is_orig
        } else {
            desired != is_orig
        };
        if flip {
            self.flipped = !self.flipped;
            let info = self.session(cx);
            info.history.push('^');
        }
    }

    fn handshake_message(
        &mut self,
        cx: &mut Context<'_>,
        is_orig: bool,
        msg_type: u8,
        body: &[u8],
    ) {
        match msg_type {
            0 | 2 => self.check_direction(cx, false, is_orig),
            1 => self.check_direction(cx, true, is_orig),
            _ => {}
        }
        let is_client = is_orig ^ self.flipped;
        let letter = match msg_type {
            0 => 'h',
            1 => {
                if !self.client_hello(cx, is_client, body) {
                    return;
                }
                'c'
            }
            2 => {
                if !self.server_hello(cx, is_client, body) {
                    return;
                }
                let info = self.session(cx);
                if info.hrr_seen {
                    info.hrr_seen = false;
                    'j'
                } else {
                    's'
                }
            }
            3 => {
                let mut c = parser::Cursor::new(body);
                let ok = c.u16().is_ok() && c.u8().and_then(|n| c.bytes(usize::from(n))).is_ok();
                if !ok {
                    self.violation(cx);
                    return;
                }
                'v'
            }
            4 => {
                if body.len() < 4 {
                    self.violation(cx);
                    return;
                }
                't'
            }
            11 => {
                let Ok(certs) = parser::parse_certificate_list(body) else {
                    self.violation(cx);
                    return;
                };
                self.session(cx);
                self.certificates(cx, is_client, &certs);
                'x'
            }
            12 => {
                if !self.server_key_exchange(cx, body) {
                    return;
                }
                'k'
            }
            13 => 'r',
            14 => 'n',
            15 => 'y',
            16 => {
                if is_client {
                    self.session(cx).client_key_exchange_seen = true;
                }
                'g'
            }
            20 => 'f',
            21 => 'w',
            22 => {
                if body.len() < 4 {
                    self.violation(cx);
                    return;
                }
                'u'
            }
            _ => {
                // not in Zeek's handshake grammar: "unknown handshake message"
                self.violation(cx);
                return;
            }
        };
        self.session(cx).add_history(is_client, letter);
    }

    /// Generic and specific extension events of a hello, in wire order.
    fn extensions(
        &mut self,
        cx: &mut Context<'_>,
        is_client: bool,
        exts: &[parser::Extension<'_>],
    ) {
        for e in exts {
            if e.kind == 43 && !is_client && e.data.len() >= 2 {
                // the server's selected version (OneSupportedVersion)
                let v = u16::from_be_bytes([e.data[0], e.data[1]]);
                if self.chosen_version.is_none() {
                    self.chosen_version = Some(v);
                }
                self.session(cx).version_num = Some(v);
                continue;
            }
            let info = self.session(cx);
            match (e.kind, is_client) {
                (35, true) if !e.data.is_empty() => info.client_ticket_empty_session_seen = true,
                (41, true) => info.client_psk_seen = true,
                (41, false) if info.client_psk_seen => info.resumed = true,
                _ => {}
            }
            match e.kind {
                0 if is_client => {
                    if let Some(first) = parser::parse_server_names(e.data)
                        .ok()
                        .and_then(|names| names.first().map(|n| n.to_vec()))
                    {
                        info.server_name = Some(first);
                    }
                }
                16 if !is_client => {
                    if let Some(first) = parser::parse_alpn(e.data)
                        .ok()
                        .and_then(|p| p.first().map(|n| n.to_vec()))
                    {
                        info.next_protocol = Some(first);
                    }
                }
                40 | 51 if !is_client => {
                    if let Ok(Some(group)) = parser::parse_server_key_share(e.data) {
                        info.curve = Some(group);
                    }
                }
                _ => {}
            }
        }
    }

    /// Returns false when the message ended the analysis.
    fn client_hello(&mut self, cx: &mut Context<'_>, is_client: bool, body: &[u8]) -> bool {
        let Ok(hello) = parser::parse_client_hello(body) else {
            self.violation(cx);
            return false;
        };
        self.extensions(cx, is_client, &hello.extensions);
        if !version_ok(hello.version) {
            self.violation(cx);
            return false;
        }
        cx.confirm();
        let info = self.session(cx);
        set_client_session_id(info, hello.session_id);
        if info.ja3.is_none() && info.ja4.is_none() {
            let summary = parser::summarize_client_hello(&hello);
            info.ja3 = Some(fingerprint::ja3(&summary));
            info.ja4 = Some(fingerprint::ja4(&summary));
        }
        true
    }

    fn server_hello(&mut self, cx: &mut Context<'_>, is_client: bool, body: &[u8]) -> bool {
        let Ok(hello) = parser::parse_server_hello(body) else {
            self.violation(cx);
            return false;
        };
        self.extensions(cx, is_client, &hello.extensions);
        if self.chosen_version.is_none() {
            self.chosen_version = Some(hello.version);
        }
        self.chosen_cipher = Some(u32::from(hello.cipher));
        if !version_ok(hello.version) {
            self.violation(cx);
            return false;
        }
        let info = self.session(cx);
        if info.version_num.is_none() {
            info.version_num = Some(hello.version);
        }
        info.cipher = Some(u32::from(hello.cipher));
        if hello.random == HRR_RANDOM {
            info.hrr_seen = true;
        }
        if let (Some(client_sid), Some(v)) = (&info.session_id, info.version_num) {
            if client_sid.as_slice() == hello.session_id && v / 0xff != 0x7f && v != TLSV13 {
                info.resumed = true;
            }
        }
        if info.ja3s.is_none() {
            info.ja3s = Some(fingerprint::ja3s(&parser::summarize_server_hello(&hello)));
        }
        true
    }

    fn server_key_exchange(&mut self, cx: &mut Context<'_>, body: &[u8]) -> bool {
        let kex = self
            .chosen_cipher
            .map(consts::key_exchange)
            .unwrap_or(KeyExchange::Other);
        let uses_sig_hash = self
            .chosen_version
            .is_none_or(|v| v > TLSV11 && v != 0xfeff);
        let result = match kex {
            KeyExchange::Ecdhe => parser::parse_ecdh_server_params(body, true, uses_sig_hash),
            KeyExchange::EcdhAnon => parser::parse_ecdh_server_params(body, false, uses_sig_hash),
            KeyExchange::Dhe => {
                parser::parse_dh_server_params(body, true, uses_sig_hash).map(|_| None)
            }
            KeyExchange::DhAnon => {
                parser::parse_dh_server_params(body, false, uses_sig_hash).map(|_| None)
            }
            KeyExchange::Other => Ok(None),
        };
        match result {
            Ok(Some(curve)) => {
                self.session(cx).curve = Some(curve);
                true
            }
            Ok(None) => true,
            Err(_) => {
                self.violation(cx);
                false
            }
        }
    }

    /// `proc_certificate` + the x509 file analysis: one x509 record per certificate
    /// that parses, and the chain fingerprints.
    fn certificates(&mut self, cx: &mut Context<'_>, is_client: bool, certs: &[&[u8]]) {
        let ts = cx.ts;
        let uid = cx.uid;
        for (i, der) in certs.iter().enumerate() {
            if der.is_empty() {
                continue;
            }
            let parsed = Certificate::parse(der);
            let fp = parsed.as_ref().map(|_| cert_fingerprint(der));
            let info = self.session(cx);
            let chains = info.chains.get_or_insert_with(Default::default);
            let chain = if is_client {
                &mut chains.1
            } else {
                &mut chains.0
            };
            chain.push(fp.clone());
            if !is_client && chain.len() == 1 {
                info.leaf = parsed.clone();
            }
            if let (Some(cert), Some(fp)) = (parsed, fp) {
                cx.emit(X509Record {
                    ts,
                    uid,
                    fingerprint: fp,
                    certificate: cert,
                    host_cert: i == 0,
                    client_cert: is_client,
                });
            }
        }
    }
}

fn set_client_session_id(info: &mut Info, sid: &[u8]) {
    let all_zero_32 = sid.len() == 32 && sid.iter().all(|b| *b == 0);
    if !sid.is_empty() && !all_zero_32 {
        info.session_id = Some(sid.to_vec());
        info.client_ticket_empty_session_seen = false;
    }
}

impl Dissector for SslDissector {
    fn service(&self) -> &'static str {
        "ssl"
    }

    fn deliver(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) {
        if self.done || self.had_gap || data.is_empty() {
            return;
        }
        let d = dir(is_orig);
        if !self.started && self.dirs[d].records.is_empty() {
            // The first bytes usually tell at once: decided where they lie.
            match looks_like_client_hello(data) {
                None => {}
                Some(false) => {
                    self.violation(cx);
                    return;
                }
                Some(true) => {
                    self.started = true;
                    // bytes the other side sent before the decision
                    if !self.dirs[1 - d].records.is_empty() {
                        self.process_records(cx, !is_orig);
                    }
                }
            }
        }
        if self.started && self.dirs[d].records.is_empty() {
            // Records that arrive whole are read where they lie; only a record cut short
            // waits in the buffer (copying every byte in first was most of the work on
            // long connections).
            let used = self.parse_records(cx, is_orig, data);
            if !(self.done || self.had_gap) {
                let rest = &data[used.min(data.len())..];
                let room = whole_len(rest, 5, tls_record_len);
                extend_with_room(&mut self.dirs[d].records, rest, room);
            }
            return;
        }
        self.dirs[d].records.extend_from_slice(data);
        if !self.started {
            match looks_like_client_hello(&self.dirs[d].records) {
                None => return,
                Some(false) => {
                    self.dirs[d].records.clear();
                    self.violation(cx);
                    return;
                }
                Some(true) => self.started = true,
            }
            // bytes the other side sent before the decision
            let other = 1 - d;
            if !self.dirs[other].records.is_empty() {
                self.process_records(cx, !is_orig);
            }
        }
        self.process_records(cx, is_orig);
    }

    fn gap(&mut self, _cx: &mut Context<'_>, _is_orig: bool, _len: u64) {
        // Zeek's SSL analyzer stops parsing both directions after a content gap.
        self.had_gap = true;
        for d in &mut self.dirs {
            d.records = Vec::new();
            d.handshake = Vec::new();
        }
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.log(cx);
        self.done = true;
    }
}

#[cfg(test)]
mod tests;
