//! HTTP/1.x: http.log records (Zeek's `HTTP::Info`) and files.log records for message
//! bodies, following Zeek's HTTP analyzer (`src/analyzer/protocol/http/HTTP.cc`) for the
//! wire (line/plain delivery, Content-Length, chunked coding, bodies until close, gzip
//! and deflate decoding, HTTP/0.9, 1xx interim replies) and the base scripts for the
//! transaction model ([`script`]).
//!
//! Detection is by content, on any port: the first request line must be
//! `TOKEN URI HTTP/x.y` (or an HTTP/0.9 `GET /path` with a known method) and the first
//! reply line must start with `HTTP/`; anything else is a violation within the first line.

pub mod decode;
pub mod parse;
pub mod record;
pub mod script;

use std::collections::VecDeque;

use self::decode::Inflater;
use self::parse::{
    atoi_n, method_is, parse_reply_line, parse_request_line, split_header, unescape_uri,
    value_token, Version,
};
pub use self::record::HttpRecord;
use self::script::Script;
use crate::analyzer::{Context, Dissector};
use crate::buffer::extend_with_room;
use crate::conn::{ConnId, Transport};
use crate::files::{FileTracker, Hashes, Sniff};
use crate::software::{SoftwareFound, SoftwareType};
use crate::uid::{mix96, Uid};

/// Longest line kept (request/status line, one header line); the rest of a longer line
/// is dropped.
const MAX_LINE: usize = 64 * 1024;
/// Room a line buffer starts with.
const LINE_ROOM: usize = 256;
/// Longest header (with its continuation lines) kept.
const MAX_HEADER: usize = 64 * 1024;
/// Zeek's `http_entity_data_delivery_size`: body bytes are handed to file analysis in
/// pieces of this size.
const ENTITY_CHUNK: usize = 1500;
/// Bound on requests remembered for reply pairing (Zeek's `unanswered_requests`).
const MAX_UNANSWERED: usize = 1024;

/// `HTTP::http_methods`.
const KNOWN_METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"OPTIONS",
    b"PUT",
    b"DELETE",
    b"TRACE",
    b"CONNECT",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"POLL",
    b"REPORT",
    b"SUBSCRIBE",
    b"BMOVE",
    b"SEARCH",
];

/// Settings of the HTTP dissector.
#[derive(Clone, Copy, Debug)]
pub struct HttpConfig {
    /// Digests computed for every body.
    pub hashes: Hashes,
    /// `HTTP::default_capture_password`: log Basic-auth passwords.
    pub capture_password: bool,
    /// Report user agents, `Server` and `X-Powered-By` to the software framework, as
    /// `policy/protocols/http/software.zeek` (loaded by the stock `local.zeek`) does.
    pub software: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            hashes: Hashes::default(),
            capture_password: false,
            software: true,
        }
    }
}

/// Bytes of each body the engine's dissectors keep to hash later, on another thread
/// (see [`crate::files::digests`]); longer bodies are hashed as they come.
pub const DEFERRED_DIGEST_BYTES: u32 = 256 << 10;

/// DPD candidate: HTTP may run over any TCP connection. Its files' digests are deferred:
/// whoever takes its records calls [`Record::finish_deferred`](crate::Record::finish_deferred).
pub fn candidate(id: &ConnId) -> Option<Box<dyn Dissector>> {
    let config = HttpConfig {
        hashes: Hashes::default().deferred(DEFERRED_DIGEST_BYTES),
        ..HttpConfig::default()
    };
    (id.proto == Transport::Tcp).then(|| Box::new(HttpDissector::new(config)) as Box<dyn Dissector>)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReqState {
    Line,
    Message,
    Nothing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RepState {
    Line,
    Message,
    Nothing,
    Http09,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExpectBody {
    NotExpected,
    Maybe,
    Expected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    NotChunked,
    Before,
    Size,
    Data,
    DataCrlf,
    Trailer,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Deflate,
}

/// One message (request or reply) being parsed: Zeek's `HTTP_Message` with its
/// top-level `HTTP_Entity`.
struct Message {
    expect_body: ExpectBody,
    in_header: bool,
    header: Vec<u8>,
    has_header: bool,
    content_length: i64,
    expect_data_length: i64,
    chunked: ChunkState,
    encoding: Encoding,
    inflater: Option<Box<Inflater>>,
    body_length: u64,
    end_of_data: bool,
    finished: bool,
    send_size: bool,
    partial_content: bool,
    instance_length: i64,
    range_length: i64,
    staged: Vec<u8>,
    file: Option<FileTracker>,
    /// The transaction the file is attached to (`f$http`).
    file_key: Option<u64>,
}

impl Message {
    fn new(expect_body: ExpectBody) -> Self {
        Message {
            expect_body,
            in_header: true,
            header: Vec::new(),
            has_header: false,
            content_length: -1,
            expect_data_length: 0,
            chunked: ChunkState::NotChunked,
            encoding: Encoding::Identity,
            inflater: None,
            body_length: 0,
            end_of_data: false,
            finished: false,
            send_size: true,
            partial_content: false,
            instance_length: -1,
            range_length: -1,
            staged: Vec::new(),
            file: None,
            file_key: None,
        }
    }
}

/// One direction's stream: Zeek's `ContentLine_Analyzer` plus its current message.
#[derive(Default)]
struct Side {
    line: Vec<u8>,
    last_cr: bool,
    /// Bytes still to deliver in plain (non-line) mode.
    plain: u64,
    /// Parsing of this direction stopped after a gap.
    skip: bool,
    msg: Option<Message>,
}

impl Side {
    /// Zeek's line splitting (CR, LF or CRLF ends a line; bytes past [`MAX_LINE`] are
    /// dropped): moves the bytes of `data` up to the end of the current line into
    /// `line`. Returns how many bytes of `data` the line took, terminator included, once it
    /// is complete; `None` when all of `data` went into a line still open. `data` is not
    /// empty.
    fn take_line(&mut self, data: &[u8]) -> Option<usize> {
        if self.last_cr {
            // The byte after a CR ends the line; it belongs to it only if it is the LF.
            self.last_cr = false;
            return Some(usize::from(data[0] == b'\n'));
        }
        let Some(end) = memchr::memchr2(b'\r', b'\n', data) else {
            self.append(data);
            return None;
        };
        self.append(&data[..end]);
        if data[end] == b'\n' {
            return Some(end + 1);
        }
        match data.get(end + 1) {
            Some(&next) => Some(end + 1 + usize::from(next == b'\n')),
            None => {
                self.last_cr = true;
                None
            }
        }
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len());
        // The buffer is kept from line to line: sized for most header lines at once.
        extend_with_room(&mut self.line, &bytes[..bytes.len().min(room)], LINE_ROOM);
    }
}

pub struct HttpDissector {
    config: HttpConfig,
    orig: Side,
    resp: Side,
    request_state: ReqState,
    reply_state: RepState,
    request_ongoing: bool,
    reply_ongoing: bool,
    reply_code: u64,
    request_version: Version,
    reply_version: Version,
    num_requests: u64,
    keep_alive: bool,
    connection_close: bool,
    connect_request: bool,
    upgrade_connection: bool,
    upgrade_protocol: bool,
    /// No more parsing: upgraded (e.g. WebSocket) or tunnelled through CONNECT.
    stopped: bool,
    confirmed: bool,
    unanswered: VecDeque<Vec<u8>>,
    script: Script,
    files_made: u64,
    /// Reply bodies of 206 responses: Zeek keeps them open past the message.
    open_partial: Vec<FileTracker>,
}

impl HttpDissector {
    pub fn new(config: HttpConfig) -> Self {
        HttpDissector {
            config,
            orig: Side::default(),
            resp: Side::default(),
            request_state: ReqState::Line,
            reply_state: RepState::Line,
            request_ongoing: false,
            reply_ongoing: false,
            reply_code: 0,
            request_version: Version::default(),
            reply_version: Version::default(),
            num_requests: 0,
            keep_alive: false,
            connection_close: false,
            connect_request: false,
            upgrade_connection: false,
            upgrade_protocol: false,
            stopped: false,
            confirmed: false,
            unanswered: VecDeque::new(),
            script: Script::new(config.capture_password),
            files_made: 0,
            open_partial: Vec::new(),
        }
    }

    fn side(&mut self, is_orig: bool) -> &mut Side {
        if is_orig {
            &mut self.orig
        } else {
            &mut self.resp
        }
    }

    fn set_version(&mut self, is_orig: bool, v: Version) {
        let slot = if is_orig {
            &mut self.request_version
        } else {
            &mut self.reply_version
        };
        *slot = v;
        if v.major > 1 || (v.major == 1 && v.minor > 0) {
            self.keep_alive = true;
        }
    }

    fn violation(&mut self, cx: &mut Context<'_>) {
        if !self.confirmed {
            cx.violation();
            self.stopped = true;
        }
    }

    /// Early rejection of a first line that cannot become HTTP.
    fn check_partial_line(&mut self, cx: &mut Context<'_>, is_orig: bool) {
        if self.confirmed {
            return;
        }
        let side = if is_orig { &self.orig } else { &self.resp };
        let line = &side.line;
        if line.is_empty() {
            return;
        }
        let bad = if is_orig {
            self.num_requests == 0
                && self.request_state == ReqState::Line
                && match line.iter().position(|&c| c == b' ' || c == b'\t') {
                    Some(0) => true,
                    Some(p) => !line[..p].iter().all(|&c| parse::is_token_char(c)),
                    None => !line.iter().all(|&c| parse::is_token_char(c)) || line.len() > 32,
                }
        } else {
            self.reply_state == RepState::Line && {
                let n = line.len().min(5);
                line[..n] != b"HTTP/"[..n] || line.get(5).is_some_and(|c| !c.is_ascii_digit())
            }
        };
        if bad {
            self.violation(cx);
        }
    }

    fn deliver_stream(&mut self, cx: &mut Context<'_>, is_orig: bool, mut data: &[u8]) {
        if !is_orig && self.reply_state == RepState::Http09 {
            if self.resp.msg.is_none() {
                self.begin_http09_reply(cx);
            }
            self.message_deliver_plain(cx, false, data);
            return;
        }
        while !data.is_empty() && !self.stopped {
            let side = self.side(is_orig);
            if side.skip {
                return;
            }
            if side.plain > 0 {
                let n = (side.plain.min(data.len() as u64)) as usize;
                side.plain -= n as u64;
                let (now, rest) = data.split_at(n);
                data = rest;
                if side.msg.as_ref().is_some_and(|m| !m.finished) {
                    self.message_deliver_plain(cx, is_orig, now);
                }
                continue;
            }
            // Line mode.
            let Some(consumed) = side.take_line(data) else {
                self.check_partial_line(cx, is_orig);
                return;
            };
            data = &data[consumed..];
            let line = std::mem::take(&mut self.side(is_orig).line);
            self.process_line(cx, is_orig, &line);
            let side = self.side(is_orig);
            if side.line.is_empty() {
                side.line = line;
                side.line.clear();
            }
        }
    }

    fn process_line(&mut self, cx: &mut Context<'_>, is_orig: bool, line: &[u8]) {
        if is_orig {
            match self.request_state {
                ReqState::Line => self.request_line(cx, line),
                ReqState::Message => self.message_deliver_line(cx, true, line),
                ReqState::Nothing => {}
            }
        } else {
            match self.reply_state {
                RepState::Line => self.reply_line(cx, line),
                RepState::Message => {
                    self.message_deliver_line(cx, false, line);
                    if self.connect_request && line.is_empty() {
                        // The CONNECT tunnel is up: the rest is another protocol.
                        self.stopped = true;
                    }
                }
                RepState::Nothing | RepState::Http09 => {}
            }
        }
    }

    fn plausible_first_request(r: &parse::RequestLine<'_>) -> bool {
        let method_ok = r
            .method
            .iter()
            .all(|c| c.is_ascii_alphabetic() || *c == b'-' || *c == b'_');
        match r.version {
            Some(Some(v)) => method_ok && v != Version::default(),
            Some(None) => false,
            None => KNOWN_METHODS.contains(&r.method) && r.uri.first() == Some(&b'/'),
        }
    }

    fn request_line(&mut self, cx: &mut Context<'_>, line: &[u8]) {
        let Some(r) = parse_request_line(line) else {
            if line.is_empty() {
                return;
            }
            if !self.confirmed {
                self.violation(cx);
            } else if self.num_requests == 0 || self.keep_alive {
                self.request_state = ReqState::Nothing;
            }
            return;
        };
        if !self.confirmed && !Self::plausible_first_request(&r) {
            self.violation(cx);
            return;
        }
        match r.version {
            None => self.set_version(true, Version::V09),
            Some(Some(v)) => self.set_version(true, v),
            Some(None) => {}
        }
        self.num_requests += 1;
        self.request_state = ReqState::Message;
        self.request_ongoing = true;
        if self.unanswered.len() >= MAX_UNANSWERED {
            self.unanswered.pop_front();
        }
        self.unanswered.push_back(r.method.to_vec());
        // HTTP_Request()
        self.confirmed = true;
        cx.confirm();
        if method_is(r.method, b"CONNECT") {
            self.connect_request = true;
        }
        let uri = unescape_uri(r.uri);
        self.script.http_request(cx, r.method, &uri);
        self.init_message(cx, true, ExpectBody::Maybe);
        if self.request_version == Version::V09 {
            self.reply_state = RepState::Http09;
        }
    }

    fn reply_line(&mut self, cx: &mut Context<'_>, line: &[u8]) {
        let Some(r) = parse_reply_line(line) else {
            if !line.is_empty() {
                if self.confirmed {
                    self.reply_state = RepState::Nothing;
                } else {
                    self.violation(cx);
                }
            }
            return;
        };
        if !self.unanswered.is_empty() {
            self.confirmed = true;
            cx.confirm();
        }
        self.reply_state = RepState::Message;
        self.reply_ongoing = true;
        self.set_version(false, r.version);
        self.reply_code = r.code;
        let reason = r.reason.unwrap_or(b"<empty>");
        self.script
            .http_reply(cx, self.reply_version.render(), r.code, reason);
        if self.connect_request && self.reply_code != 200 {
            self.connect_request = false;
        }
        let expect = self.expect_reply_body();
        self.init_message(cx, false, expect);
    }

    fn begin_http09_reply(&mut self, cx: &mut Context<'_>) {
        self.set_version(false, Version::V09);
        if self.unanswered.pop_front().is_some() {
            self.confirmed = true;
            cx.confirm();
        }
        self.connection_close = true;
        self.reply_ongoing = true;
        self.script
            .http_reply(cx, self.reply_version.render(), self.reply_code, b"<empty>");
        let expect = self.expect_reply_body();
        self.init_message(cx, false, expect);
        // No headers: the empty header block ends right away.
        self.message_deliver_line(cx, false, b"");
    }

    fn expect_reply_body(&self) -> ExpectBody {
        if self
            .unanswered
            .front()
            .is_some_and(|m| method_is(m, b"HEAD"))
        {
            return ExpectBody::NotExpected;
        }
        let c = self.reply_code;
        if (100..200).contains(&c) || c == 204 || c == 304 {
            ExpectBody::NotExpected
        } else {
            ExpectBody::Expected
        }
    }

    fn init_message(&mut self, cx: &mut Context<'_>, is_orig: bool, expect: ExpectBody) {
        let mut msg = Message::new(expect);
        let side = self.side(is_orig);
        if let Some(old) = side.msg.take() {
            // The previous message's buffers serve this one: a connection with many
            // messages allocates them once.
            msg.header = old.header;
            msg.header.clear();
            msg.staged = old.staged;
            msg.staged.clear();
        }
        side.msg = Some(msg);
        self.script.begin_entity(cx, is_orig);
    }

    /// A header line, the end of the headers, or a body line (line mode).
    fn message_deliver_line(&mut self, cx: &mut Context<'_>, is_orig: bool, line: &[u8]) {
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return;
        };
        if msg.end_of_data || msg.finished {
            return;
        }
        if msg.in_header {
            if line.is_empty() {
                self.finish_header(cx, is_orig);
                if let Some(m) = self.side(is_orig).msg.as_mut() {
                    m.in_header = false;
                }
                self.submit_all_headers(cx, is_orig);
            } else if (line[0] == b' ' || line[0] == b'\t') && msg.has_header {
                let room = MAX_HEADER.saturating_sub(msg.header.len());
                msg.header.extend_from_slice(&line[..line.len().min(room)]);
            } else {
                self.finish_header(cx, is_orig);
                if let Some(m) = self.side(is_orig).msg.as_mut() {
                    m.header.clear();
                    extend_with_room(&mut m.header, line, LINE_ROOM);
                    m.has_header = true;
                }
            }
            return;
        }
        if msg.chunked != ChunkState::NotChunked {
            match msg.chunked {
                ChunkState::Size => {
                    let n = atoi_n(line, 16).unwrap_or(0);
                    if n > 0 {
                        msg.chunked = ChunkState::Data;
                        msg.expect_data_length = n;
                        self.side(is_orig).plain = n as u64;
                        return;
                    } else {
                        msg.in_header = true;
                        msg.has_header = false;
                        msg.chunked = ChunkState::Trailer;
                    }
                }
                ChunkState::DataCrlf => msg.chunked = ChunkState::Size,
                _ => {}
            }
            return;
        }
        if msg.content_length >= 0 {
            return;
        }
        self.deliver_body(cx, is_orig, line, true);
    }

    /// Bytes in plain-delivery mode.
    fn message_deliver_plain(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) {
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return;
        };
        if msg.end_of_data || msg.finished {
            return;
        }
        if msg.in_header {
            return;
        }
        if msg.chunked != ChunkState::NotChunked {
            if msg.chunked == ChunkState::Data {
                msg.expect_data_length -= data.len() as i64;
                if msg.expect_data_length <= 0 {
                    msg.chunked = ChunkState::DataCrlf;
                    self.side(is_orig).plain = 0;
                }
                self.deliver_body(cx, is_orig, data, false);
            }
        } else if msg.content_length >= 0 {
            msg.expect_data_length -= data.len() as i64;
            let done = msg.expect_data_length <= 0;
            self.deliver_body(cx, is_orig, data, false);
            if done {
                self.side(is_orig).plain = 0;
                self.entity_end_of_data(cx, is_orig);
            }
        } else {
            self.deliver_body(cx, is_orig, data, false);
        }
    }

    /// Submits the header collected so far (`HTTP_Entity::SubmitHeader`).
    fn finish_header(&mut self, cx: &mut Context<'_>, is_orig: bool) {
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return;
        };
        if !msg.has_header {
            return;
        }
        msg.has_header = false;
        let header = std::mem::take(&mut msg.header);
        if let Some((name, value)) = split_header(&header) {
            self.submit_header(cx, is_orig, name, value);
        }
        if let Some(msg) = self.side(is_orig).msg.as_mut() {
            if msg.header.is_empty() {
                msg.header = header;
                msg.header.clear();
            }
        }
    }

    fn submit_header(&mut self, cx: &mut Context<'_>, is_orig: bool, name: &[u8], value: &[u8]) {
        let reply_code = self.reply_code;
        let version = if self.request_ongoing {
            self.request_version
        } else {
            self.reply_version
        };
        if let Some(msg) = self.side(is_orig).msg.as_mut() {
            if name.eq_ignore_ascii_case(b"content-length") {
                let tok = value_token(value);
                if !tok.is_empty() {
                    msg.content_length = atoi_n(tok, 10).unwrap_or(0);
                    if msg.partial_content && msg.range_length > msg.content_length {
                        msg.content_length = msg.range_length;
                    }
                }
            } else if name.eq_ignore_ascii_case(b"content-range") && reply_code == 206 {
                parse_content_range(msg, value);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                if value_token(value).eq_ignore_ascii_case(b"chunked") && version == Version::V11 {
                    msg.chunked = ChunkState::Before;
                }
            } else if name.eq_ignore_ascii_case(b"content-encoding") {
                let tok = value_token(value);
                if tok.eq_ignore_ascii_case(b"gzip") || tok.eq_ignore_ascii_case(b"x-gzip") {
                    msg.encoding = Encoding::Gzip;
                }
                if tok.eq_ignore_ascii_case(b"deflate") {
                    msg.encoding = Encoding::Deflate;
                }
            }
        }
        // HTTP_Analyzer::HTTP_Header
        if name.eq_ignore_ascii_case(b"connection") {
            let tok = value_token(value);
            if is_orig && tok.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            }
            if !is_orig {
                if tok.eq_ignore_ascii_case(b"close") {
                    self.connection_close = true;
                } else if tok.eq_ignore_ascii_case(b"upgrade") {
                    self.upgrade_connection = true;
                }
            }
        }
        if !is_orig && name.eq_ignore_ascii_case(b"upgrade") {
            self.upgrade_protocol = !value_token(value).is_empty();
        }
        let upper = name.to_ascii_uppercase();
        self.script.http_header(cx, is_orig, &upper, value);
        if self.config.software {
            let found = match (is_orig, upper.as_slice()) {
                (true, b"USER-AGENT") => Some((cx.id.orig_h, None, SoftwareType::HttpBrowser)),
                (false, b"SERVER") => {
                    Some((cx.id.resp_h, Some(cx.id.resp_p), SoftwareType::HttpServer))
                }
                (false, b"X-POWERED-BY") => Some((
                    cx.id.resp_h,
                    Some(cx.id.resp_p),
                    SoftwareType::HttpAppServer,
                )),
                _ => None,
            };
            if let Some((host, port, kind)) = found {
                cx.emit(SoftwareFound::unparsed(cx.ts, host, port, kind, value));
            }
        }
    }

    fn submit_all_headers(&mut self, cx: &mut Context<'_>, is_orig: bool) {
        let connection_close = self.connection_close;
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return;
        };
        if msg.chunked == ChunkState::Trailer {
            msg.chunked = ChunkState::Done;
            self.entity_end_of_data(cx, is_orig);
            return;
        }
        if msg.expect_body == ExpectBody::NotExpected {
            self.entity_end_of_data(cx, is_orig);
            return;
        }
        let plain;
        if msg.chunked != ChunkState::NotChunked {
            msg.chunked = ChunkState::Size;
            return;
        } else if msg.content_length >= 0 {
            if msg.content_length > 0 {
                msg.expect_data_length = msg.content_length;
                plain = msg.content_length as u64;
            } else {
                self.entity_end_of_data(cx, is_orig);
                return;
            }
        } else if connection_close || msg.encoding != Encoding::Identity {
            msg.expect_data_length = i64::MAX;
            plain = u64::MAX;
        } else {
            if msg.expect_body != ExpectBody::Expected {
                self.entity_end_of_data(cx, is_orig);
            }
            return;
        }
        self.side(is_orig).plain = plain;
    }

    fn deliver_body(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8], crlf: bool) {
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return;
        };
        if msg.encoding == Encoding::Identity {
            self.deliver_body_clear(cx, is_orig, data, crlf);
            return;
        }
        let mut inflater = msg.inflater.take().unwrap_or_default();
        let mut out = Vec::new();
        inflater.feed(data, &mut |b| out.extend_from_slice(b));
        if let Some(msg) = self.side(is_orig).msg.as_mut() {
            msg.inflater = Some(inflater);
        }
        if !out.is_empty() {
            self.deliver_body_clear(cx, is_orig, &out, false);
        }
    }

    fn deliver_body_clear(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8], crlf: bool) {
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return;
        };
        msg.body_length += data.len() as u64 + if crlf { 2 } else { 0 };
        self.stage(cx, is_orig, data);
        if crlf {
            self.stage(cx, is_orig, b"\r\n");
        }
    }

    /// MIME_Entity's data buffer: body bytes go to file analysis in fixed-size pieces.
    fn stage(&mut self, cx: &mut Context<'_>, is_orig: bool, mut piece: &[u8]) {
        while !piece.is_empty() {
            let Some(msg) = self.side(is_orig).msg.as_mut() else {
                return;
            };
            let room = ENTITY_CHUNK - msg.staged.len();
            let n = room.min(piece.len());
            extend_with_room(&mut msg.staged, &piece[..n], ENTITY_CHUNK);
            piece = &piece[n..];
            if msg.staged.len() >= ENTITY_CHUNK {
                self.submit_staged(cx, is_orig);
            }
        }
    }

    /// `HTTP_Entity::SubmitData`: hands the staged body bytes to file analysis.
    fn submit_staged(&mut self, cx: &mut Context<'_>, is_orig: bool) {
        let hashes = self.config.hashes;
        let conn_bits = cx.uid.bits;
        let needs_file = self
            .side(is_orig)
            .msg
            .as_ref()
            .is_some_and(|m| !m.staged.is_empty() && m.file.is_none());
        if needs_file {
            self.files_made += 1;
            let (trans_depth, mime_depth) = self.script.file_handle_parts(is_orig);
            let fuid = Uid::file(mix96(&[
                conn_bits as u64,
                (conn_bits >> 64) as u64,
                u64::from(is_orig),
                trans_depth,
                mime_depth,
                self.files_made,
            ]));
            let mut tracker = FileTracker::new(fuid, "HTTP", is_orig, cx.ts, hashes);
            let (key, filename) = self.script.file_new(is_orig, fuid);
            if let Some(f) = filename {
                tracker.set_filename(f);
            }
            if let Some(msg) = self.side(is_orig).msg.as_mut() {
                msg.file = Some(tracker);
                msg.file_key = key;
            }
        }
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return;
        };
        if msg.staged.is_empty() {
            return;
        }
        if msg.send_size && msg.encoding != Encoding::Identity {
            msg.send_size = false;
        }
        let Some(file) = msg.file.as_mut() else {
            return;
        };
        if msg.send_size {
            if msg.partial_content {
                if msg.instance_length > 0 {
                    file.set_total_bytes(msg.instance_length as u64);
                }
            } else if msg.content_length > 0 {
                file.set_total_bytes(msg.content_length as u64);
                file.expect_bytes(msg.content_length as u64);
            }
        }
        msg.send_size = false;
        let sniff = file.data(cx.ts, &msg.staged);
        msg.staged.clear();
        let key = msg.file_key;
        if let Sniff::Now(mime) = sniff {
            self.script.file_sniff(key, is_orig, mime);
        }
    }

    /// `HTTP_Entity::EndOfData` for the top-level entity, which ends the message.
    fn entity_end_of_data(&mut self, cx: &mut Context<'_>, is_orig: bool) {
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return;
        };
        if msg.end_of_data {
            return;
        }
        msg.inflater = None;
        msg.encoding = Encoding::Identity;
        self.submit_staged(cx, is_orig);
        if let Some(msg) = self.side(is_orig).msg.as_mut() {
            msg.end_of_data = true;
        }
        self.script.end_entity();
        self.message_done(cx, is_orig);
    }

    /// `HTTP_Message::Done`.
    fn message_done(&mut self, cx: &mut Context<'_>, is_orig: bool) {
        let reply_code = self.reply_code;
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return;
        };
        if msg.finished {
            return;
        }
        if !msg.end_of_data {
            // Flushes the entity, which comes back here.
            self.entity_end_of_data(cx, is_orig);
            return;
        }
        msg.finished = true;
        let body_length = msg.body_length;
        let file = msg.file.take();
        let key = msg.file_key;
        if let Some(mut f) = file {
            if is_orig || reply_code != 206 {
                if let Sniff::Now(mime) = f.end(cx.ts) {
                    self.script.file_sniff(key, is_orig, mime);
                }
                cx.emit(f.into_record(Some((cx.uid, *cx.id))));
            } else {
                self.open_partial.push(f);
            }
        }
        self.script.message_done(cx, is_orig, body_length);
        self.made(cx, is_orig, false);
    }

    /// `RequestMade` / `ReplyMade`.
    fn made(&mut self, cx: &mut Context<'_>, is_orig: bool, interrupted: bool) {
        if is_orig {
            if !self.request_ongoing {
                return;
            }
            self.request_ongoing = false;
            self.message_done(cx, true);
            self.request_state = if interrupted {
                ReqState::Nothing
            } else {
                ReqState::Line
            };
        } else {
            if !self.reply_ongoing {
                return;
            }
            self.reply_ongoing = false;
            self.message_done(cx, false);
            let c = self.reply_code;
            if !(100..200).contains(&c) {
                self.unanswered.pop_front();
            }
            let upgraded = c == 101
                && self.unanswered.len() == 1
                && self.upgrade_connection
                && self.upgrade_protocol;
            if upgraded {
                self.stopped = true;
            }
            self.reply_code = 0;
            self.upgrade_connection = false;
            self.upgrade_protocol = false;
            self.reply_state = if interrupted || upgraded {
                RepState::Nothing
            } else {
                RepState::Line
            };
        }
    }

    /// `HTTP_Entity::Undelivered`: whether a gap of `len` lies inside a body of known size.
    fn body_gap(&mut self, cx: &mut Context<'_>, is_orig: bool, len: u64) -> bool {
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return false;
        };
        if (msg.end_of_data && msg.in_header) || msg.body_length == 0 || msg.finished {
            return false;
        }
        self.submit_staged(cx, is_orig);
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return false;
        };
        let key = msg.file_key;
        if let Some(f) = msg.file.as_mut() {
            if let Sniff::Now(mime) = f.gap(cx.ts, len) {
                self.script.file_sniff(key, is_orig, mime);
            }
        }
        let Some(msg) = self.side(is_orig).msg.as_mut() else {
            return false;
        };
        let len_i = i64::try_from(len).unwrap_or(i64::MAX);
        if msg.chunked != ChunkState::NotChunked {
            if msg.chunked == ChunkState::Data && msg.expect_data_length >= len_i {
                msg.body_length += len;
                msg.expect_data_length -= len_i;
                let rest = msg.expect_data_length as u64;
                if msg.expect_data_length == 0 {
                    msg.chunked = ChunkState::DataCrlf;
                }
                self.side(is_orig).plain = rest;
                return true;
            }
            return false;
        }
        if msg.content_length >= 0 && msg.expect_data_length >= len_i {
            msg.body_length += len;
            msg.expect_data_length -= len_i;
            let rest = msg.expect_data_length.max(0) as u64;
            let done = msg.expect_data_length <= 0;
            self.side(is_orig).plain = rest;
            if done {
                self.entity_end_of_data(cx, is_orig);
            }
            return true;
        }
        false
    }
}

fn parse_content_range(msg: &mut Message, value: &[u8]) {
    let unit = value_token(value);
    if unit != b"bytes" {
        return;
    }
    let start = value
        .windows(unit.len())
        .position(|w| w == unit)
        .map_or(0, |p| p + unit.len());
    let range: Vec<u8> = value[start..]
        .iter()
        .copied()
        .filter(|&c| c != b' ')
        .collect();
    let Some(slash) = range.iter().position(|&c| c == b'/') else {
        return;
    };
    let (spec, instance) = (&range[..slash], &range[slash + 1..]);
    let Some(dash) = spec.iter().position(|&c| c == b'-') else {
        return;
    };
    let first = atoi_n(&spec[..dash], 10).unwrap_or(0);
    let last = atoi_n(&spec[dash + 1..], 10).unwrap_or(0);
    let len = last.saturating_sub(first).saturating_add(1);
    if len <= 0 {
        return;
    }
    if instance != b"*" {
        msg.instance_length = atoi_n(instance, 10).unwrap_or(0);
    }
    msg.partial_content = true;
    msg.range_length = len;
    if msg.content_length > 0 {
        if msg.range_length > msg.content_length {
            msg.content_length = msg.range_length;
        }
    } else {
        msg.content_length = msg.range_length;
    }
}

impl Dissector for HttpDissector {
    fn service(&self) -> &'static str {
        "http"
    }

    fn deliver(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) {
        if self.stopped {
            return;
        }
        self.deliver_stream(cx, is_orig, data);
    }

    fn gap(&mut self, cx: &mut Context<'_>, is_orig: bool, len: u64) {
        if self.stopped {
            return;
        }
        if !self.confirmed {
            // Nothing recognised yet and the stream is broken: give up quietly.
            self.side(is_orig).skip = true;
            return;
        }
        if self.body_gap(cx, is_orig, len) {
            return;
        }
        let side = self.side(is_orig);
        side.line.clear();
        side.last_cr = false;
        side.plain = 0;
        if is_orig {
            self.made(cx, true, true);
            self.made(cx, false, true);
        } else {
            self.made(cx, false, true);
        }
        self.side(is_orig).skip = true;
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        if !self.stopped || self.confirmed {
            // A partial last line is delivered as if terminated, as Zeek's line
            // analyzer does at the end of a stream.
            for is_orig in [true, false] {
                let side = self.side(is_orig);
                if side.skip || side.plain > 0 || (side.line.is_empty() && !side.last_cr) {
                    continue;
                }
                side.last_cr = false;
                let line = std::mem::take(&mut side.line);
                if !self.stopped && (is_orig || self.reply_state != RepState::Http09) {
                    self.process_line(cx, is_orig, &line);
                }
            }
            self.made(cx, true, true);
            self.made(cx, false, true);
        }
        for mut f in std::mem::take(&mut self.open_partial) {
            f.end(cx.ts);
            cx.emit(f.into_record(Some((cx.uid, *cx.id))));
        }
        self.script.finalize(cx);
    }
}

#[cfg(test)]
mod tests;
