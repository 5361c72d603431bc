//! ssh.log: Zeek's `SSH::Info` (`base/protocols/ssh/main.zeek` over the binpac SSH
//! analyzer), and the SSH client/server sightings for software.log.
//!
//! Per direction the stream is: one banner line, cleartext binary packets up to and
//! including SSH_MSG_NEWKEYS (for SSH-1: the first packet), then ciphertext. From the
//! cleartext come the banners (`version`, `client`, `server`), both KEXINITs (the
//! negotiated algorithms) and the server host key of the key exchange reply
//! (`host_key_fingerprint`). From the ciphertext only its sizes are used: Zeek guesses the
//! outcome of user authentication from the sizes of the server's encrypted deliveries (see
//! [`AuthGuess`]), which relies on the engine delivering each TCP segment's new in-order
//! bytes as one `deliver` call, as Zeek's reassembler hands them to its analyzer.
//!
//! The record is written when a successful authentication is guessed (Zeek logs at that
//! moment), otherwise when the connection ends.

pub mod parser;

use std::sync::OnceLock;

use crate::analyzer::{Context, Dissector};
use crate::conn::{ConnId, Transport};
use crate::software::zre::{sub, Pattern};
use crate::software::{SoftwareFound, SoftwareType};
use crate::time::Timestamp;
use crate::uid::Uid;
use crate::zeek::{escape_bytes_lossy, field, Field, FieldType as T, Row, ZeekRecord};

use parser::{Announced, KexFamily, KexInit};

/// Zeek's `Direction` of the connection relative to `Site::local_nets`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "INBOUND",
            Direction::Outbound => "OUTBOUND",
        }
    }

    /// As `SSH::set_session`: only when exactly one endpoint is local.
    pub fn of(id: &ConnId) -> Option<Direction> {
        let orig_local = crate::net::is_local_addr(id.orig_h);
        if orig_local == crate::net::is_local_addr(id.resp_h) {
            None
        } else if orig_local {
            Some(Direction::Outbound)
        } else {
            Some(Direction::Inbound)
        }
    }
}

/// One ssh.log row.
#[derive(Clone, Debug, PartialEq)]
pub struct SshRecord {
    pub ts: Timestamp,
    pub uid: Uid,
    pub id: ConnId,
    pub version: Option<u64>,
    pub auth_success: Option<bool>,
    pub auth_attempts: u64,
    pub direction: Option<Direction>,
    pub client: Option<String>,
    pub server: Option<String>,
    pub cipher_alg: Option<String>,
    pub mac_alg: Option<String>,
    pub compression_alg: Option<String>,
    pub kex_alg: Option<String>,
    pub host_key_alg: Option<String>,
    pub host_key_fingerprint: Option<String>,
}

impl ZeekRecord for SshRecord {
    const PATH: &'static str = "ssh";
    const FIELDS: &'static [Field] = &[
        field("ts", T::Time),
        field("uid", T::String),
        field("id.orig_h", T::Addr),
        field("id.orig_p", T::Port),
        field("id.resp_h", T::Addr),
        field("id.resp_p", T::Port),
        field("version", T::Count),
        field("auth_success", T::Bool),
        field("auth_attempts", T::Count),
        field("direction", T::Enum),
        field("client", T::String),
        field("server", T::String),
        field("cipher_alg", T::String),
        field("mac_alg", T::String),
        field("compression_alg", T::String),
        field("kex_alg", T::String),
        field("host_key_alg", T::String),
        field("host_key_fingerprint", T::String),
    ];

    fn ts(&self) -> Timestamp {
        self.ts
    }

    fn write_row(&self, row: &mut Row<'_>) {
        row.time(Some(self.ts));
        row.uid(Some(self.uid));
        self.id.write_columns(row);
        row.count(self.version);
        row.bool(self.auth_success);
        row.count(Some(self.auth_attempts));
        row.str(self.direction.map(Direction::as_str));
        row.str(self.client.as_deref());
        row.str(self.server.as_deref());
        row.str(self.cipher_alg.as_deref());
        row.str(self.mac_alg.as_deref());
        row.str(self.compression_alg.as_deref());
        row.str(self.kex_alg.as_deref());
        row.str(self.host_key_alg.as_deref());
        row.str(self.host_key_fingerprint.as_deref());
    }
}

/// The dpd candidate: any TCP connection; the first bytes of each direction decide.
pub fn candidate(id: &ConnId) -> Option<Box<dyn Dissector>> {
    (id.proto == Transport::Tcp).then(|| Box::new(SshDissector::new()) as Box<dyn Dissector>)
}

/// Longest banner line kept (RFC 4253 allows 255 bytes).
const MAX_BANNER: usize = 4096;
/// Largest cleartext packet whose payload is buffered for parsing (KEXINIT, key
/// exchange replies); larger ones are skipped unparsed.
const MAX_PACKET: usize = 64 * 1024;
/// Compression algorithms under which Zeek does not guess authentication.
const COMPRESSION_ALGORITHMS: [&[u8]; 2] = [b"zlib", b"zlib@openssh.com"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Banner,
    Packets,
    Encrypted,
    /// Malformed or over-long: nothing more is parsed in this direction.
    Dead,
}

/// Where a direction is inside its current cleartext packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pkt {
    /// Collecting the header into `buf`.
    Header,
    /// Collecting the whole packet (`total` bytes) into `buf`.
    Body { total: usize, msg: u8, v1: bool },
    /// Skipping `left` more bytes of a packet whose payload is not needed.
    Skip { left: usize, msg: u8, v1: bool },
}

struct Side {
    phase: Phase,
    pkt: Pkt,
    buf: Vec<u8>,
    /// The banner ended in CR at a delivery's end: a LF starting the next one belongs to it.
    cr_pending: bool,
    announced: Option<Announced>,
}

impl Side {
    fn new() -> Self {
        Side {
            phase: Phase::Banner,
            pkt: Pkt::Header,
            buf: Vec::new(),
            cr_pending: false,
            announced: None,
        }
    }

    fn kill(&mut self) {
        self.phase = Phase::Dead;
        self.buf = Vec::new();
    }
}

/// Zeek's guess at user authentication from the sizes of encrypted deliveries
/// (`SSH_Analyzer::ProcessEncrypted`), SSH-2 only. Once the client has sent encrypted
/// data, the server's first encrypted delivery is taken as SSH_MSG_SERVICE_ACCEPT (size
/// `service_accept`); a later server delivery 16 bytes smaller is USERAUTH_SUCCESS (a
/// success, ending the guessing), otherwise the first further one is taken as
/// USERAUTH_FAILURE (unless more than 256 bytes bigger than the accept, then it is a
/// pre-auth banner, skipped once) and every later delivery of exactly that size is one
/// more failed attempt.
#[derive(Clone, Copy, Debug, Default)]
struct AuthGuess {
    decision_made: bool,
    skipped_banner: bool,
    saw_encrypted_client_data: bool,
    service_accept_size: i64,
    userauth_failure_size: i64,
}

impl AuthGuess {
    /// One encrypted delivery of `len` bytes: `Some(authenticated)` for an attempt.
    fn encrypted(&mut self, len: usize, is_orig: bool) -> Option<bool> {
        let len = i64::try_from(len).unwrap_or(i64::MAX);
        if is_orig {
            self.saw_encrypted_client_data = true;
            return None;
        }
        if !self.saw_encrypted_client_data {
            return None;
        }
        if self.service_accept_size == 0 {
            self.service_accept_size = len;
            return None;
        }
        if self.userauth_failure_size == 0 && len.saturating_add(16) == self.service_accept_size {
            self.decision_made = true;
            return Some(true);
        }
        if self.userauth_failure_size == 0 {
            if !self.skipped_banner && len.saturating_sub(self.service_accept_size) > 256 {
                self.skipped_banner = true;
                return None;
            }
            self.userauth_failure_size = len;
            return None;
        }
        if len == self.userauth_failure_size {
            return Some(false);
        }
        if len.saturating_sub(self.service_accept_size) == -16 {
            self.decision_made = true;
            return Some(true);
        }
        None
    }
}

/// The `SSH::Info` being built (`c$ssh`), raw bytes until the record is written.
#[derive(Default)]
struct Info {
    ts: Timestamp,
    direction: Option<Direction>,
    version: Option<u64>,
    auth_success: Option<bool>,
    auth_attempts: u64,
    client: Option<Vec<u8>>,
    server: Option<Vec<u8>>,
    cipher_alg: Option<Vec<u8>>,
    mac_alg: Option<Vec<u8>>,
    compression_alg: Option<Vec<u8>>,
    kex_alg: Option<Vec<u8>>,
    host_key_alg: Option<Vec<u8>>,
    host_key_fingerprint: Option<String>,
    /// The first KEXINIT seen, and whether the server sent it (`c$ssh$capabilities`).
    capabilities: Option<(bool, KexInit)>,
    logged: bool,
}

/// The key exchange as the analyzer tracks it: the first KEXINIT's algorithms and sender,
/// until the other side's KEXINIT fixes the family.
enum Kex {
    Init(Option<(bool, Vec<u8>)>),
    Chosen(KexFamily),
}

pub struct SshDissector {
    /// `[responder, originator]`.
    sides: [Side; 2],
    info: Option<Info>,
    kex: Kex,
    auth: AuthGuess,
    had_gap: bool,
    /// Not SSH (violation), or nothing more to learn (authentication decided).
    stopped: bool,
    /// The bytes were not SSH: nothing is logged.
    violated: bool,
}

impl Default for SshDissector {
    fn default() -> Self {
        SshDissector::new()
    }
}

fn software_patterns() -> &'static (Pattern, Pattern) {
    static P: OnceLock<(Pattern, Pattern)> = OnceLock::new();
    P.get_or_init(|| {
        (
            Pattern::new(r"^SSH[0-9.\-]+"),
            Pattern::new(r"SSH[0-9.\-]{2,}"),
        )
    })
}

impl SshDissector {
    pub fn new() -> Self {
        SshDissector {
            sides: [Side::new(), Side::new()],
            info: None,
            kex: Kex::Init(None),
            auth: AuthGuess::default(),
            had_gap: false,
            stopped: false,
            violated: false,
        }
    }

    /// The wire protocol both sides settled on (the analyzer's `version_`).
    fn wire_version(&self) -> Option<Announced> {
        parser::wire_version(self.sides[1].announced, self.sides[0].announced)
    }

    fn banner(&mut self, cx: &mut Context<'_>, is_orig: bool, line: Vec<u8>) {
        let info = self.info.get_or_insert_with(|| Info {
            ts: cx.ts,
            direction: Direction::of(cx.id),
            ..Info::default()
        });
        let (pats, id) = (software_patterns(), cx.id);
        let found = if is_orig {
            let cleaned = sub(&line, &pats.0, b"", false);
            SoftwareFound::unparsed(cx.ts, id.orig_h, None, SoftwareType::SshClient, &cleaned)
        } else {
            let cleaned = sub(&line, &pats.1, b"", false);
            SoftwareFound::unparsed(
                cx.ts,
                id.resp_h,
                Some(id.resp_p),
                SoftwareType::SshServer,
                &cleaned,
            )
        };
        self.sides[usize::from(is_orig)].announced = parser::announced(&line);
        if is_orig {
            info.client = Some(line);
        } else {
            info.server = Some(line);
        }
        if let (Some(c), Some(s)) = (&info.client, &info.server) {
            if let Some(v) = parser::log_version(c, s) {
                info.version = Some(v);
            }
        }
        cx.emit(found);
    }

    fn kexinit(&mut self, is_orig: bool, k: KexInit) {
        // The analyzer's choice of the key exchange family (binpac `update_kex`).
        if let Kex::Init(first) = &mut self.kex {
            match first {
                None => *first = Some((is_orig, k.kex.clone())),
                Some((first_orig, algs)) if *first_orig != is_orig => {
                    let (client, server) = if is_orig {
                        (&k.kex[..], &algs[..])
                    } else {
                        (&algs[..], &k.kex[..])
                    };
                    if let Some(alg) = parser::find_alg(client, server) {
                        self.kex = Kex::Chosen(parser::kex_family(alg));
                    }
                }
                Some(_) => {}
            }
        }
        // The script's `ssh_capabilities` handler.
        let Some(info) = self.info.as_mut() else {
            return;
        };
        let is_server = !is_orig;
        match &info.capabilities {
            None => info.capabilities = Some((is_server, k)),
            Some((first_server, _)) if *first_server == is_server => {}
            Some((_, first)) => {
                let (c, s) = if is_server { (first, &k) } else { (&k, first) };
                info.cipher_alg = Some(parser::find_bidirectional_alg(
                    &c.cipher_c2s,
                    &s.cipher_c2s,
                    &c.cipher_s2c,
                    &s.cipher_s2c,
                ));
                info.mac_alg = Some(parser::find_bidirectional_alg(
                    &c.mac_c2s, &s.mac_c2s, &c.mac_s2c, &s.mac_s2c,
                ));
                info.compression_alg = Some(parser::find_bidirectional_alg(
                    &c.comp_c2s,
                    &s.comp_c2s,
                    &c.comp_s2c,
                    &s.comp_s2c,
                ));
                info.kex_alg = Some(parser::find_alg_text(&c.kex, &s.kex));
                info.host_key_alg = Some(parser::find_alg_text(&c.host_key, &s.host_key));
            }
        }
    }

    fn family(&self) -> Option<KexFamily> {
        match self.kex {
            Kex::Chosen(f) => Some(f),
            Kex::Init(_) => None,
        }
    }

    /// Whether an SSH-2 message's payload must be buffered and parsed.
    fn wants_payload(&self, msg: u8) -> bool {
        match self.family() {
            None => msg == parser::MSG_KEXINIT,
            Some(f) => parser::carries_host_key(f, msg),
        }
    }

    /// A cleartext packet is complete; `packet` is the whole packet when it was kept.
    fn packet(
        &mut self,
        cx: &mut Context<'_>,
        is_orig: bool,
        msg: u8,
        v1: bool,
        packet: Option<&[u8]>,
    ) {
        if v1 {
            // Any SSH-1 message ends the cleartext of its direction.
            self.sides[usize::from(is_orig)].phase = Phase::Encrypted;
            if msg == parser::SSH1_CMSG_SESSION_KEY {
                cx.confirm();
            }
            return;
        }
        if msg == parser::MSG_NEWKEYS {
            self.sides[usize::from(is_orig)].phase = Phase::Encrypted;
            cx.confirm();
            return;
        }
        // packet_length(4) padding_length(1) msg(1) payload padding
        let payload = packet.and_then(|p| {
            let pad = usize::from(*p.get(4)?);
            let end = p.len().checked_sub(pad)?;
            p.get(6..end)
        });
        let Some(payload) = payload else {
            return;
        };
        match self.family() {
            None if msg == parser::MSG_KEXINIT => {
                if let Some(k) = KexInit::parse(payload) {
                    self.kexinit(is_orig, k);
                }
            }
            Some(f) => {
                if let Some(key) = parser::host_key(f, payload) {
                    if let Some(info) = self.info.as_mut() {
                        info.host_key_fingerprint = Some(parser::fingerprint(key));
                    }
                }
            }
            None => {}
        }
    }

    /// One encrypted delivery (or the encrypted rest of one).
    fn encrypted(&mut self, cx: &mut Context<'_>, is_orig: bool, len: usize) {
        if len == 0 || self.auth.decision_made || self.wire_version() != Some(Announced::V2) {
            return;
        }
        let Some(authenticated) = self.auth.encrypted(len, is_orig) else {
            return;
        };
        let Some(info) = self.info.as_mut() else {
            return;
        };
        // `ssh_auth_attempted`, priority 5.
        let compressed = info
            .compression_alg
            .as_deref()
            .is_some_and(|c| COMPRESSION_ALGORITHMS.contains(&c));
        if info.auth_success != Some(true) && !compressed {
            info.auth_success = Some(authenticated);
            info.auth_attempts += 1;
        }
        // Priority -5: a success is logged at once, and Zeek stops analysing.
        if authenticated {
            if !info.logged {
                self.log(cx);
            }
            self.stop();
        }
    }

    fn log(&mut self, cx: &mut Context<'_>) {
        let Some(info) = self.info.as_mut() else {
            return;
        };
        info.logged = true;
        let text = |v: &Option<Vec<u8>>| v.as_deref().map(escape_bytes_lossy);
        cx.emit(SshRecord {
            ts: info.ts,
            uid: cx.uid,
            id: *cx.id,
            version: info.version,
            auth_success: info.auth_success,
            auth_attempts: info.auth_attempts,
            direction: info.direction,
            client: text(&info.client),
            server: text(&info.server),
            cipher_alg: text(&info.cipher_alg),
            mac_alg: text(&info.mac_alg),
            compression_alg: text(&info.compression_alg),
            kex_alg: text(&info.kex_alg),
            host_key_alg: text(&info.host_key_alg),
            host_key_fingerprint: info.host_key_fingerprint.clone(),
        });
    }

    fn not_ssh(&mut self, cx: &mut Context<'_>) {
        cx.violation();
        self.violated = true;
        self.stop();
    }

    fn stop(&mut self) {
        self.stopped = true;
        for s in &mut self.sides {
            s.buf = Vec::new();
        }
    }

    /// The banner line of a direction; returns the bytes of `data` it used.
    fn deliver_banner(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) -> usize {
        let side = &mut self.sides[usize::from(is_orig)];
        let end = data.iter().position(|&b| b == b'\r' || b == b'\n');
        let take = end.unwrap_or(data.len());
        if side.buf.len() + take > MAX_BANNER {
            side.kill();
            return data.len();
        }
        side.buf
            .extend_from_slice(data.get(..take).unwrap_or_default());
        match parser::banner_signature(&side.buf) {
            Some(false) => {
                self.not_ssh(cx);
                return data.len();
            }
            None if end.is_some() => {
                self.not_ssh(cx);
                return data.len();
            }
            _ => {}
        }
        let Some(end) = end else {
            return data.len();
        };
        let mut used = end + 1;
        if data.get(end) == Some(&b'\r') {
            match data.get(end + 1) {
                Some(b'\n') => used += 1,
                None => side.cr_pending = true,
                Some(_) => {}
            }
        }
        let line = std::mem::take(&mut side.buf);
        side.phase = Phase::Packets;
        self.banner(cx, is_orig, line);
        used
    }

    /// Cleartext packets of a direction; returns the bytes of `data` they used (less than
    /// all of it when the direction turned encrypted).
    fn deliver_packets(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) -> usize {
        let idx = usize::from(is_orig);
        let mut i = 0;
        while i < data.len() && self.sides[idx].phase == Phase::Packets {
            let rest = data.get(i..).unwrap_or_default();
            match self.sides[idx].pkt {
                Pkt::Skip { left, msg, v1 } => {
                    let n = left.min(rest.len());
                    i += n;
                    if n == left {
                        self.sides[idx].pkt = Pkt::Header;
                        self.packet(cx, is_orig, msg, v1, None);
                    } else {
                        self.sides[idx].pkt = Pkt::Skip {
                            left: left - n,
                            msg,
                            v1,
                        };
                    }
                }
                Pkt::Body { total, msg, v1 } => {
                    let side = &mut self.sides[idx];
                    let n = (total - side.buf.len()).min(rest.len());
                    side.buf
                        .extend_from_slice(rest.get(..n).unwrap_or_default());
                    i += n;
                    if side.buf.len() == total {
                        side.pkt = Pkt::Header;
                        let packet = std::mem::take(&mut side.buf);
                        self.packet(cx, is_orig, msg, v1, Some(&packet));
                        // Keep the allocation for the next packet.
                        let side = &mut self.sides[idx];
                        if side.buf.capacity() == 0 {
                            side.buf = packet;
                            side.buf.clear();
                        }
                    }
                }
                Pkt::Header => {
                    let v1 = match self.wire_version().or(self.sides[idx].announced) {
                        Some(Announced::V1) => true,
                        Some(_) => false,
                        None => {
                            self.sides[idx].kill();
                            break;
                        }
                    };
                    let side = &mut self.sides[idx];
                    // SSH-2: length(4) padding(1) msg(1). SSH-1: length(4) padding(8 - length % 8) msg(1).
                    let header_len = |buf: &[u8]| -> Option<usize> {
                        if !v1 {
                            return Some(6);
                        }
                        let len = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?);
                        Some(4 + (8 - (len % 8) as usize) + 1)
                    };
                    let want = header_len(&side.buf).unwrap_or(4);
                    let n = want.saturating_sub(side.buf.len()).min(rest.len());
                    side.buf
                        .extend_from_slice(rest.get(..n).unwrap_or_default());
                    i += n;
                    if side.buf.len() < want || header_len(&side.buf) != Some(want) {
                        continue;
                    }
                    let len = side
                        .buf
                        .get(..4)
                        .and_then(|b| b.try_into().ok())
                        .map_or(0, u32::from_be_bytes) as usize;
                    let msg = side.buf.get(want - 1).copied().unwrap_or(0);
                    let total = if v1 {
                        len.saturating_add(4 + (8 - len % 8))
                    } else {
                        len.saturating_add(4)
                    };
                    if total < want || (!v1 && len < 2) {
                        side.kill();
                        break;
                    }
                    if !v1 && total <= MAX_PACKET && self.wants_payload(msg) {
                        self.sides[idx].pkt = Pkt::Body { total, msg, v1 };
                    } else {
                        let side = &mut self.sides[idx];
                        side.buf.clear();
                        side.pkt = Pkt::Skip {
                            left: total - want,
                            msg,
                            v1,
                        };
                    }
                }
            }
        }
        i
    }
}

impl Dissector for SshDissector {
    fn service(&self) -> &'static str {
        "ssh"
    }

    fn deliver(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) {
        if self.stopped || self.had_gap {
            return;
        }
        let idx = usize::from(is_orig);
        let mut data = data;
        if self.sides[idx].cr_pending {
            self.sides[idx].cr_pending = false;
            if let Some(rest) = data.strip_prefix(b"\n") {
                data = rest;
            }
        }
        while !data.is_empty() && !self.stopped {
            let used = match self.sides[idx].phase {
                Phase::Banner => self.deliver_banner(cx, is_orig, data),
                Phase::Packets => self.deliver_packets(cx, is_orig, data),
                Phase::Encrypted => {
                    self.encrypted(cx, is_orig, data.len());
                    data.len()
                }
                Phase::Dead => data.len(),
            };
            data = data.get(used..).unwrap_or_default();
        }
    }

    fn gap(&mut self, _cx: &mut Context<'_>, _is_orig: bool, _len: u64) {
        // Zeek's analyzer stops parsing both directions after any content gap.
        self.had_gap = true;
        for s in &mut self.sides {
            s.buf = Vec::new();
        }
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        // `SSH::finalize_ssh`: whatever was not logged yet (failures, unknown outcomes).
        if !self.violated && self.info.as_ref().is_some_and(|i| !i.logged) {
            self.log(cx);
        }
    }
}

#[cfg(test)]
mod tests;
