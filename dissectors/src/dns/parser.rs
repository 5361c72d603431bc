//! DNS wire format, parsed the way Zeek's DNS analyzer (`src/analyzer/protocol/dns/DNS.cc`)
//! reads it, so that partial, malformed or hostile messages yield the same values Zeek logs.
//!
//! Zeek's reader is lenient in specific ways that change what reaches dns.log (a name never
//! "fails", short reads give zeros without advancing, some record types are consumed only
//! partly), so this module follows those rules rather than a strict RFC 1035 parser. All
//! reads are bounds-checked; nothing here can panic on any input.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::zeek::{escape_bytes_lossy, escape_owned_bytes_lossy};

/// Size of the fixed DNS header.
pub const HEADER_LEN: usize = 12;

/// Zeek's `dns_max_queries`: a message announcing more questions is a protocol violation.
pub const MAX_QUERIES: u16 = 25;

/// The fixed 12-byte message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    /// QR bit: the message is a response.
    pub qr: bool,
    pub opcode: u8,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    /// The 3-bit Z field (bits 4-6 of the flags: Z, AD, CD), as Zeek reads it.
    pub z: u8,
    pub rcode: u8,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    pub fn parse(data: &[u8]) -> Option<Header> {
        let h = data.get(..HEADER_LEN)?;
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let flags = word(2);
        Some(Header {
            id: word(0),
            qr: flags & 0x8000 != 0,
            opcode: ((flags & 0x7800) >> 11) as u8,
            aa: flags & 0x0400 != 0,
            tc: flags & 0x0200 != 0,
            rd: flags & 0x0100 != 0,
            ra: flags & 0x0080 != 0,
            z: ((flags & 0x0070) >> 4) as u8,
            rcode: (flags & 0x000f) as u8,
            qdcount: word(4),
            ancount: word(6),
            nscount: word(8),
            arcount: word(10),
        })
    }
}

/// The data of one resource record, typed where detectors may want it, and rendered for
/// dns.log's `answers` column exactly as Zeek's `base/protocols/dns/main.zeek` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    /// A, AAAA and A6 records (IPv4-mapped IPv6 addresses are kept as IPv4, as Zeek prints them).
    Addr(IpAddr),
    /// NS, CNAME and PTR records: the target name.
    Name(String),
    /// MX: preference and exchange; rendered as the exchange.
    Mx { preference: u16, exchange: String },
    /// SOA; rendered as the primary name server (`mname`).
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    /// SRV; rendered as the target.
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// TXT character-strings (raw bytes); rendered `TXT <len> <string>` joined by spaces.
    Txt(Vec<Vec<u8>>),
    /// SPF character-strings; rendered `SPF <len> <string>` joined by spaces.
    Spf(Vec<Vec<u8>>),
    /// Any other type Zeek summarises in text (DNSSEC types, NAPTR, LOC, SSHFP, BINDS and
    /// `<unknown type=N>` for types the analyzer does not know).
    Text(String),
}

impl RData {
    /// The string Zeek appends to `answers` (an empty string is never appended); names
    /// are borrowed, since a record is rendered for each log it is written to.
    pub fn render(&self) -> Cow<'_, str> {
        match self {
            RData::Addr(a) => {
                let mut text = String::with_capacity(15);
                crate::net::push_ip_str(&mut text, *a);
                Cow::Owned(text)
            }
            RData::Name(n) => Cow::Borrowed(n),
            RData::Mx { exchange, .. } => Cow::Borrowed(exchange),
            RData::Soa { mname, .. } => Cow::Borrowed(mname),
            RData::Srv { target, .. } => Cow::Borrowed(target),
            RData::Txt(strings) => Cow::Owned(render_strings("TXT", strings)),
            RData::Spf(strings) => Cow::Owned(render_strings("SPF", strings)),
            RData::Text(t) => Cow::Borrowed(t),
        }
    }
}

fn render_strings(tag: &str, strings: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for (i, s) in strings.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(tag);
        out.push(' ');
        out.push_str(&s.len().to_string());
        out.push(' ');
        out.push_str(&escape_bytes_lossy(s));
    }
    out
}

/// One question of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Raw name bytes, lower-cased (Zeek normalises question names for `dns_request`).
    pub name: Vec<u8>,
    pub qtype: u16,
    pub qclass: u16,
}

/// What parsing one resource record produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rr {
    /// Owner name, lower-cased, escaped for logging.
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    /// `Some` when Zeek's scripts turn this record into a reply: the inner value is the
    /// data appended to `answers`, or `None` for a reply that renders as empty (WKS),
    /// which still sets `rtt`, `AA`, `RA` and `query`. `None` (outer) when no script
    /// handles the type (HINFO, CAA, TKEY, TSIG, OPT, SVCB/HTTPS, NetBIOS NB/NBSTAT).
    pub reply: Option<Option<RData>>,
}

/// A bounds-checked reader over one message, mirroring Zeek's `(data, len)` pair: `pos`
/// is the read position and `end` the limit of what may be read.
pub struct Reader<'a> {
    msg: &'a [u8],
    pub pos: usize,
    end: usize,
    /// Responder port is 137 (NetBIOS name service): long labels allowed, SRV is NBSTAT.
    netbios_port: bool,
}

/// Longest name Zeek extracts (`u_char name[513]`, one byte kept for the terminator).
const NAME_CAP: usize = 512;

impl<'a> Reader<'a> {
    /// A reader positioned after the header.
    pub fn new(msg: &'a [u8], netbios_port: bool) -> Self {
        Reader {
            msg,
            pos: HEADER_LEN.min(msg.len()),
            end: msg.len(),
            netbios_port,
        }
    }

    fn len(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    fn skip(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.end);
    }

    fn byte(&mut self) -> u8 {
        match self.msg.get(self.pos) {
            Some(&b) if self.pos < self.end => {
                self.pos += 1;
                b
            }
            _ => 0,
        }
    }

    /// Zeek's `ExtractShort`: 0 without advancing when fewer than 2 bytes remain.
    fn short(&mut self) -> u16 {
        if self.len() < 2 {
            return 0;
        }
        match self.msg.get(self.pos..self.pos + 2) {
            Some(b) => {
                self.pos += 2;
                u16::from_be_bytes([b[0], b[1]])
            }
            None => 0,
        }
    }

    /// Zeek's `ExtractLong`: 0 without advancing when fewer than 4 bytes remain.
    fn long(&mut self) -> u32 {
        if self.len() < 4 {
            return 0;
        }
        match self.msg.get(self.pos..self.pos + 4) {
            Some(b) => {
                self.pos += 4;
                u32::from_be_bytes([b[0], b[1], b[2], b[3]])
            }
            None => 0,
        }
    }

    /// Zeek's `ExtractStream`: up to `n` bytes (clamped to what remains).
    fn stream(&mut self, n: i64) -> &'a [u8] {
        let n = n.max(0) as usize;
        let take = n.min(self.len());
        let start = self.pos;
        self.pos += take;
        self.msg.get(start..start + take).unwrap_or_default()
    }

    /// Zeek's `ExtractOctets`: a 16-bit length then that many bytes (clamped).
    fn octets(&mut self) {
        let n = self.short();
        self.stream(i64::from(n));
    }

    /// Zeek's `ExtractName`: reads labels and compression pointers until one ends the
    /// name. It never fails; a malformed name is cut where the problem is. Pointers
    /// must point strictly backwards, so following them always terminates; the chain is
    /// walked iteratively (no recursion on input data).
    pub fn name(&mut self, downcase: bool, cap: usize) -> Vec<u8> {
        const NAME_ROOM: usize = 64;
        // Room for most names at once: growing from empty took four reallocations.
        let mut out: Vec<u8> = Vec::with_capacity(NAME_ROOM.min(cap));
        // Start offset in `out` and downcase flag of every nested ExtractName call (a
        // compression pointer); the outermost call's are `(0, downcase)`. Nearly every
        // name of an answer has one or two: the first few are kept without allocating.
        let mut levels = Levels::default();
        let mut pos = self.pos;
        let mut end = self.end;
        let mut outer = true;
        loop {
            // One ExtractLabel call.
            if pos >= end {
                break;
            }
            let label_start = pos;
            let label_len = self.msg.get(pos).copied().unwrap_or(0) as usize;
            pos += 1;
            if pos >= end {
                break;
            }
            if label_len == 0 {
                break;
            }
            if label_len & 0xc0 == 0xc0 {
                let lo = self.msg.get(pos).copied().unwrap_or(0) as usize;
                pos += 1;
                let offset = ((label_len & 0x3f) << 8) | lo;
                if offset >= label_start {
                    // Forward (or self) pointer: the name ends here.
                    break;
                }
                // Continue in a nested ExtractName over [offset, label_start).
                if outer {
                    self.pos = pos;
                    outer = false;
                }
                levels.push((out.len(), true));
                pos = offset;
                end = label_start;
                continue;
            }
            let avail = end - pos;
            if label_len > avail {
                pos = end;
                break;
            }
            if label_len > 63 && !self.netbios_port {
                break;
            }
            if label_len >= cap.saturating_sub(out.len()) {
                break;
            }
            out.extend_from_slice(self.msg.get(pos..pos + label_len).unwrap_or_default());
            out.push(b'.');
            pos += label_len;
        }
        if outer {
            self.pos = pos;
        }
        // Each nested call removes its own trailing dot and lower-cases its part, the
        // innermost first.
        for (start, lower) in levels.innermost_first().chain([(0, downcase)]) {
            let n = out.len() - start;
            if n >= 2 && out.last() == Some(&b'.') {
                out.pop();
            }
            if lower {
                if let Some(part) = out.get_mut(start..) {
                    part.make_ascii_lowercase();
                }
            }
        }
        out
    }

    /// `ParseQuestion`: `None` when the question is cut short (parsing of the message
    /// then stops).
    pub fn question(&mut self) -> Option<Question> {
        let mut name = self.name(false, NAME_CAP);
        if self.len() < 4 {
            return None;
        }
        let qtype = self.short();
        let qclass = self.short();
        name.make_ascii_lowercase();
        Some(Question {
            name,
            qtype,
            qclass,
        })
    }

    /// `ParseAnswer`: `Err(partial)` when parsing of the section must stop; `partial`
    /// holds the record when Zeek had already raised its event before failing.
    pub fn rr(&mut self) -> Result<Rr, Option<Rr>> {
        let name = self.name(true, NAME_CAP);
        if self.len() < 4 {
            return Err(None);
        }
        let rtype = self.short();
        let class = self.short();
        let ttl = self.long();
        let rdlength = self.short() as usize;
        if rdlength > self.len() {
            return Err(None);
        }
        if rdlength == 0 && self.len() > 0 {
            return Err(None);
        }
        let mut rr = Rr {
            name: escape_owned_bytes_lossy(name),
            rtype,
            class,
            ttl,
            reply: None,
        };
        let ok = self.rdata(&mut rr, rdlength);
        if ok {
            Ok(rr)
        } else if rr.reply.is_some() {
            Err(Some(rr))
        } else {
            Err(None)
        }
    }

    fn name_string(&mut self) -> String {
        escape_owned_bytes_lossy(self.name(true, NAME_CAP))
    }

    /// Parses the RDATA of `rr` (type-specific), filling `rr.reply`; returns Zeek's
    /// status (false stops parsing of the section).
    fn rdata(&mut self, rr: &mut Rr, rdlength: usize) -> bool {
        let start = self.pos;
        let rd = rdlength as i64;
        match rr.rtype {
            1 => {
                if rdlength != 4 {
                    return false;
                }
                let a = self.long();
                rr.reply = Some(Some(RData::Addr(IpAddr::V4(Ipv4Addr::from(a)))));
                true
            }
            28 | 38 => {
                let mut b = [0u8; 16];
                for chunk in b.chunks_mut(4) {
                    chunk.copy_from_slice(&self.long().to_be_bytes());
                }
                let v6 = Ipv6Addr::from(b);
                let addr = match v6.to_ipv4_mapped() {
                    Some(v4) => IpAddr::V4(v4),
                    None => IpAddr::V6(v6),
                };
                rr.reply = Some(Some(RData::Addr(addr)));
                true
            }
            2 | 5 | 12 => {
                let n = self.name_string();
                rr.reply = Some(Some(RData::Name(n)));
                true
            }
            6 => {
                let mname = self.name_string();
                let rname = self.name_string();
                if self.len() < 20 {
                    return false;
                }
                let serial = self.long();
                let refresh = self.long();
                let retry = self.long();
                let expire = self.long();
                let minimum = self.long();
                rr.reply = Some(Some(RData::Soa {
                    mname,
                    rname,
                    serial,
                    refresh,
                    retry,
                    expire,
                    minimum,
                }));
                true
            }
            11 => {
                // WKS: the event carries nothing and the RDATA is not consumed.
                rr.reply = Some(None);
                true
            }
            15 => {
                let preference = self.short();
                let exchange = self.name_string();
                rr.reply = Some(Some(RData::Mx {
                    preference,
                    exchange,
                }));
                true
            }
            16 | 99 => {
                let mut left = rdlength;
                let mut strings = Vec::new();
                let mut ok = true;
                while left > 0 {
                    let size = self.byte() as usize;
                    left -= 1;
                    if size > left {
                        ok = false;
                        break;
                    }
                    strings.push(self.stream(size as i64).to_vec());
                    left -= size;
                }
                rr.reply = Some(Some(if rr.rtype == 16 {
                    RData::Txt(strings)
                } else {
                    RData::Spf(strings)
                }));
                ok && left == 0
            }
            33 if self.netbios_port => {
                // NBSTAT shares SRV's number; Zeek does not parse (or consume) it.
                true
            }
            33 => {
                let priority = self.short();
                let weight = self.short();
                let port = self.short();
                let target = self.name_string();
                rr.reply = Some(Some(RData::Srv {
                    priority,
                    weight,
                    port,
                    target,
                }));
                true
            }
            35 => self.naptr(rr, rdlength),
            41 => self.edns(),
            250 => {
                // TSIG: consumed field by field, no script handler.
                self.name(true, 1023);
                self.long();
                self.short();
                self.short();
                self.octets();
                self.short();
                self.short();
                self.octets();
                true
            }
            249 => {
                // TKEY: algorithm, inception, expiration, mode, error, key, other data.
                self.name(true, NAME_CAP);
                self.long();
                self.long();
                self.short();
                self.short();
                self.octets();
                self.octets();
                true
            }
            46 => {
                if self.len() < 18 {
                    return false;
                }
                let type_covered = self.short();
                self.short();
                self.long();
                self.long();
                self.long();
                self.short();
                let after_fixed = self.pos;
                let signer = self.name_string();
                let used = (self.pos - after_fixed) as i64;
                self.stream(rd - (used + 18));
                let signer = if signer.is_empty() {
                    "<Root>".to_string()
                } else {
                    signer
                };
                rr.reply = Some(Some(RData::Text(format!("RRSIG {type_covered} {signer}"))));
                true
            }
            48 => {
                if self.len() < 4 {
                    return false;
                }
                self.short();
                let proto_algo = self.short();
                self.stream(rd - 4);
                rr.reply = Some(Some(RData::Text(format!("DNSKEY {}", proto_algo & 0xff))));
                true
            }
            47 => {
                let next = self.name_string();
                let mut bitmaps_len = rd - (self.pos - start) as i64;
                self.bitmaps(&mut bitmaps_len);
                rr.reply = Some(Some(RData::Text(format!("NSEC {} {next}", rr.name))));
                true
            }
            50 => {
                if self.len() < 6 {
                    return false;
                }
                self.short();
                self.short();
                let salt_len = if self.len() > 0 { self.byte() } else { 0 };
                self.stream(i64::from(salt_len));
                let hash_len = if self.len() > 0 { self.byte() } else { 0 };
                self.stream(i64::from(hash_len));
                let mut bitmaps_len = rd - (self.pos - start) as i64;
                self.bitmaps(&mut bitmaps_len);
                rr.reply = Some(Some(RData::Text("NSEC3".to_string())));
                true
            }
            51 => {
                if self.len() < 5 {
                    return false;
                }
                self.short();
                self.short();
                let salt_len = if self.len() > 0 { self.byte() } else { 0 };
                self.stream(i64::from(salt_len));
                rr.reply = Some(Some(RData::Text("NSEC3PARAM".to_string())));
                true
            }
            43 => {
                if self.len() < 4 {
                    return false;
                }
                self.short();
                let algo_dtype = self.short();
                self.stream(rd - 4);
                rr.reply = Some(Some(RData::Text(format!(
                    "DS {} {}",
                    algo_dtype >> 8,
                    algo_dtype & 0xff
                ))));
                true
            }
            65534 => {
                if self.len() < 5 {
                    return false;
                }
                self.long();
                self.stream(rd - 4);
                rr.reply = Some(Some(RData::Text("BIND9 signing signal".to_string())));
                true
            }
            44 => {
                if self.len() < 2 {
                    return false;
                }
                self.short();
                let fp = self.stream(rd - 2);
                let mut s = String::with_capacity(7 + fp.len() * 2);
                s.push_str("SSHFP: ");
                for b in fp {
                    s.push_str(&format!("{b:02x}"));
                }
                rr.reply = Some(Some(RData::Text(s)));
                true
            }
            29 => {
                if self.len() < 15 {
                    return false;
                }
                let ver_size = self.short();
                let horiz_vert = self.short();
                self.long();
                self.long();
                self.long();
                rr.reply = Some(Some(RData::Text(format!(
                    "LOC:  {} {} {}",
                    ver_size & 0xff,
                    horiz_vert >> 8,
                    horiz_vert & 0xff
                ))));
                true
            }
            64 | 65 => {
                if self.len() < 3 {
                    return false;
                }
                self.short();
                self.name(false, NAME_CAP);
                let parsed = self.pos - start;
                if parsed < rdlength {
                    self.skip(rdlength - parsed);
                }
                true
            }
            13 | 32 | 257 => {
                // HINFO, NetBIOS NB, CAA: no dns.log effect; skipped.
                self.skip(rdlength);
                true
            }
            other => {
                rr.reply = Some(Some(RData::Text(format!("<unknown type={other}>"))));
                self.skip(rdlength);
                true
            }
        }
    }

    fn bitmaps(&mut self, left: &mut i64) {
        while *left > 0 && self.len() > 0 {
            let block = self.short();
            let bmlen = block & 0xff;
            if bmlen == 0 {
                break;
            }
            self.stream(i64::from(bmlen));
            *left -= 2 + i64::from(bmlen);
        }
    }

    /// NAPTR (RFC 3403): order, preference, flags, services, regexp, replacement.
    fn naptr(&mut self, rr: &mut Rr, rdlength: usize) -> bool {
        let start = self.pos;
        if self.len() < 4 {
            return false;
        }
        let order = self.short();
        let preference = self.short();
        let mut strings: Vec<&[u8]> = Vec::with_capacity(3);
        for _ in 0..3 {
            if self.pos - start >= rdlength {
                return false;
            }
            let n = self.byte();
            strings.push(self.stream(i64::from(n)));
        }
        let replacement = self.name_string();
        let regexp = escape_bytes_lossy(strings[2]);
        let mut tail = regexp;
        if !replacement.is_empty() {
            if !tail.is_empty() {
                tail.push(' ');
            }
            tail.push_str(&replacement);
        }
        rr.reply = Some(Some(RData::Text(format!(
            "NAPTR {order} {preference} {} {} {tail}",
            escape_bytes_lossy(strings[0]),
            escape_bytes_lossy(strings[1]),
        ))));
        true
    }

    /// OPT pseudo-record: Zeek walks options over the rest of the message (not the
    /// RDATA) and succeeds only if it ends exactly at the end.
    fn edns(&mut self) -> bool {
        while self.len() >= 4 {
            self.short();
            let opt_len = self.short() as usize;
            if opt_len > self.len() {
                break;
            }
            self.skip(opt_len);
        }
        self.len() == 0
    }

    /// Whether everything up to the end of the message has been read.
    pub fn at_end(&self) -> bool {
        self.len() == 0
    }
}

/// Zeek's `decode_netbios_name`: the first-level-decoded NetBIOS name (suffix byte and
/// trailing spaces removed), or empty when `name` is not a 32-letter encoding.
pub fn decode_netbios_name(name: &[u8]) -> Vec<u8> {
    if name.len() != 32 {
        return Vec::new();
    }
    let mut buf = [0u8; 16];
    let mut length = 0usize;
    for i in 0..16 {
        let c0 = name[2 * i].to_ascii_uppercase();
        let c1 = name[2 * i + 1].to_ascii_uppercase();
        if !(b'A'..=b'P').contains(&c0) || !(b'A'..=b'P').contains(&c1) {
            return Vec::new();
        }
        let b = ((c0 - b'A') << 4) + (c1 - b'A');
        buf[i] = b;
        if b.is_ascii_alphanumeric() || b.is_ascii_punctuation() || b == b' ' || b < 3 {
            length += 1;
        } else {
            break;
        }
    }
    if length == 16 {
        length = 15;
    }
    while length > 0 && (buf[length - 1] == b' ' || buf[length - 1] == 0) {
        length -= 1;
    }
    buf[..length].to_vec()
}

/// The nested name extractions of one name, in the order they started: the first
/// [`INLINE_LEVELS`] on the stack, any more (a long chain of pointers) on the heap.
#[derive(Default)]
struct Levels {
    inline: [(usize, bool); INLINE_LEVELS],
    depth: usize,
    deeper: Vec<(usize, bool)>,
}

const INLINE_LEVELS: usize = 4;

impl Levels {
    fn push(&mut self, level: (usize, bool)) {
        match self.inline.get_mut(self.depth) {
            Some(slot) => *slot = level,
            None => self.deeper.push(level),
        }
        self.depth += 1;
    }

    fn innermost_first(&self) -> impl Iterator<Item = (usize, bool)> + '_ {
        let inline = &self.inline[..self.depth.min(INLINE_LEVELS)];
        self.deeper.iter().rev().chain(inline.iter().rev()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(msg: &[u8]) -> Reader<'_> {
        Reader::new(msg, false)
    }

    #[test]
    fn header_flags() {
        let h = Header::parse(&[0x12, 0x34, 0xa4, 0x15, 0, 1, 0, 2, 0, 3, 0, 4]).unwrap();
        assert_eq!(h.id, 0x1234);
        assert!(h.qr && h.aa && !h.tc && !h.rd && !h.ra);
        assert_eq!(h.opcode, 4);
        assert_eq!(h.z, 1);
        assert_eq!(h.rcode, 5);
        assert_eq!((h.qdcount, h.ancount, h.nscount, h.arcount), (1, 2, 3, 4));
        assert!(Header::parse(&[0; 11]).is_none());
    }

    #[test]
    fn names_with_compression_and_bad_pointers() {
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(b"\x03WwW\x07Example\x03com\x00");
        let second = msg.len();
        msg.extend_from_slice(b"\x04mail\xc0\x10");
        let mut r = reader(&msg);
        assert_eq!(r.name(true, NAME_CAP), b"www.example.com");
        assert_eq!(r.pos, second);
        assert_eq!(r.name(false, NAME_CAP), b"mail.example.com");
        assert!(r.at_end());

        // A pointer to itself (a loop) ends the name.
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(b"\x01a\xc0\x0e");
        let mut r = reader(&msg);
        assert_eq!(r.name(true, NAME_CAP), b"a");
        assert!(r.at_end());
    }

    #[test]
    fn netbios_names_decode() {
        assert_eq!(
            decode_netbios_name(b"FEEIEFCAEOEFFEECEJEPFDCAEOEBENEF"),
            b"THE NETBIOS NAM"
        );
        assert_eq!(
            decode_netbios_name(b"fhepfcelehfcepfffacacacacacacabl"),
            b"WORKGROUP"
        );
        assert_eq!(
            decode_netbios_name(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            b""
        );
        assert_eq!(decode_netbios_name(b"short"), b"");
    }

    #[test]
    fn txt_rendering() {
        let r = RData::Txt(vec![b"a b".to_vec(), b"".to_vec(), b"\x01".to_vec()]);
        assert_eq!(r.render(), "TXT 3 a b TXT 0  TXT 1 \\x01");
    }
}
