//! nfdump's binary flow files (nfcapd.*), read natively: file layout 1 (nfdump 1.6,
//! common records with extensions) and layout 2 (nfdump 1.7, V3 records of typed
//! elements), uncompressed or with LZO, BZ2, LZ4 or ZSTD blocks. A file of another
//! layout is handed to the `nfdump` program (`nfdump -r FILE -o csv`) when it is
//! installed; otherwise opening fails with a message saying so.
//!
//! Each flow becomes a [`ConnRecord`]: the flow's source is the originator, its input
//! counters the originator side (IP-level bytes, so both `orig_bytes` and
//! `orig_ip_bytes`, as Slips reads them), the output counters of bidirectional
//! records the responder side. NetFlow has no uid: one is derived from the flow.

mod lzo;

use std::io::{BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use dissectors::conn::{ConnId, ConnRecord, ConnState, Transport};
use dissectors::{Interval, Record, Timestamp};

use super::lines::Lines;
use super::values::{flow_uid, parse_addr, parse_datetime, parse_interval};
use super::{OpenError, Place, ReadError, RecordSource};

const MAGIC: u16 = 0xA50C;
const LAYOUT_1: u16 = 1;
const LAYOUT_2: u16 = 2;
/// fileHeaderV1: magic, version, flags, NumBlocks, ident[128]; then the stat record.
const V1_HEADER_LEN: usize = 4 + 4 + 4 + 128;
const V1_STAT_LEN: usize = 15 * 8 + 4 + 4 + 2 + 2 + 4;
const V2_HEADER_LEN: usize = 40;
const BLOCK_HEADER_LEN: usize = 12;
/// Largest decompressed block accepted (nfdump's own buffers are 5 MiB).
const MAX_BLOCK: usize = 8 << 20;

/// Record types inside blocks.
const V1_COMMON_RECORD: u16 = 1;
const V1_COMMON_RECORD_10: u16 = 10;
const V3_RECORD: u16 = 11;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    None,
    Lzo,
    Bz2,
    Lz4,
    Zstd,
}

/// Opens an nfdump file: natively when its layout is known, else through `nfdump`.
pub fn open(path: &Path) -> Result<Box<dyn RecordSource>, OpenError> {
    let shown: Arc<str> = Arc::from(path.display().to_string().as_str());
    let data = std::fs::read(path).map_err(|e| OpenError::Io(format!("{shown}: {e}")))?;
    match NfdumpReader::new(shown.clone(), data) {
        Ok(r) => Ok(Box::new(r)),
        Err(Unsupported(why)) => run_nfdump_program(path, &shown, &why),
    }
}

/// Why the native reader cannot read a file.
#[derive(Debug)]
pub struct Unsupported(pub String);

pub struct NfdumpReader {
    source: Arc<str>,
    data: Vec<u8>,
    layout: u16,
    compression: Compression,
    /// Byte offset of the next block header.
    next_block: usize,
    blocks_left: u32,
    /// Decompressed records of the current block and the read position in it.
    block: Vec<u8>,
    block_pos: usize,
    /// File offset of the current block (for error messages).
    block_offset: usize,
    finished: bool,
}

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(o..o + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(o..o + 4)?.try_into().ok()?))
}

fn u64_at(d: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(o..o + 8)?.try_into().ok()?))
}

/// An IPv6 address stored as two native (little-endian) 64-bit words, high word first.
fn ipv6_at(d: &[u8], o: usize) -> Option<IpAddr> {
    let hi = u128::from(u64_at(d, o)?);
    let lo = u128::from(u64_at(d, o + 8)?);
    Some(IpAddr::V6(Ipv6Addr::from((hi << 64) | lo)))
}

fn ipv4_at(d: &[u8], o: usize) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::from(u32_at(d, o)?)))
}

impl NfdumpReader {
    pub fn new(source: Arc<str>, data: Vec<u8>) -> Result<Self, Unsupported> {
        let magic = u16_at(&data, 0).ok_or_else(|| Unsupported("file too short".into()))?;
        if magic != MAGIC {
            return Err(Unsupported(format!(
                "magic {magic:#06x} (a file written on a machine of the other byte order?)"
            )));
        }
        let layout = u16_at(&data, 2).unwrap_or(0);
        let (compression, first_block, blocks) = match layout {
            LAYOUT_1 => {
                let flags =
                    u32_at(&data, 4).ok_or_else(|| Unsupported("truncated header".into()))?;
                let compression = if flags & 0x1 != 0 {
                    Compression::Lzo
                } else if flags & 0x8 != 0 {
                    Compression::Bz2
                } else if flags & 0x10 != 0 {
                    Compression::Lz4
                } else {
                    Compression::None
                };
                let blocks = u32_at(&data, 8).unwrap_or(0);
                (compression, V1_HEADER_LEN + V1_STAT_LEN, blocks)
            }
            LAYOUT_2 => {
                let compression = match data.get(16).copied() {
                    Some(0) => Compression::None,
                    Some(1) => Compression::Lzo,
                    Some(2) => Compression::Bz2,
                    Some(3) => Compression::Lz4,
                    Some(4) => Compression::Zstd,
                    other => {
                        return Err(Unsupported(format!("compression method {other:?}")));
                    }
                };
                if data.get(17).copied().unwrap_or(0) != 0 {
                    return Err(Unsupported("encrypted file".into()));
                }
                let blocks = u32_at(&data, 36).unwrap_or(0);
                (compression, V2_HEADER_LEN, blocks)
            }
            v => return Err(Unsupported(format!("file layout version {v}"))),
        };
        Ok(NfdumpReader {
            source,
            data,
            layout,
            compression,
            next_block: first_block,
            blocks_left: blocks,
            block: Vec::new(),
            block_pos: 0,
            block_offset: first_block,
            finished: false,
        })
    }

    fn error(&self, offset: usize, message: String) -> ReadError {
        ReadError {
            source: self.source.clone(),
            place: Place::Offset(offset as u64),
            message,
        }
    }

    /// Loads the next data block; `Ok(false)` at the end of the file.
    fn load_block(&mut self) -> Result<bool, ReadError> {
        if self.blocks_left == 0 || self.next_block + BLOCK_HEADER_LEN > self.data.len() {
            return Ok(false);
        }
        self.blocks_left -= 1;
        let at = self.next_block;
        let size = u32_at(&self.data, at + 4).unwrap_or(0) as usize;
        let block_type = u16_at(&self.data, at + 8).unwrap_or(0);
        let flags = u16_at(&self.data, at + 10).unwrap_or(0);
        let start = at + BLOCK_HEADER_LEN;
        let Some(payload) = self.data.get(start..start + size) else {
            self.finished = true;
            return Err(self.error(
                at,
                format!("block of {size} bytes runs past the end of the file (truncated file)"),
            ));
        };
        self.next_block = start + size;
        self.block_offset = at;
        let compressed = match self.layout {
            // Layout 1: 0 = as the file says, 1 = uncompressed, 2 = compressed.
            LAYOUT_1 => flags != 1 && self.compression != Compression::None,
            _ => flags & 0x1 == 0 && self.compression != Compression::None,
        };
        let known_type = matches!(block_type, 2..=4);
        if !known_type {
            self.block.clear();
            self.block_pos = 0;
            return Ok(true);
        }
        let decoded = if compressed {
            decompress(self.compression, payload).map_err(|e| self.error(at, e))?
        } else {
            payload.to_vec()
        };
        self.block = decoded;
        self.block_pos = 0;
        Ok(true)
    }

    /// The next flow record of the current block, skipping other record types.
    fn next_in_block(&mut self) -> Option<Result<Record, ReadError>> {
        while self.block_pos + 4 <= self.block.len() {
            let at = self.block_pos;
            let rtype = u16_at(&self.block, at).unwrap_or(0);
            let size = usize::from(u16_at(&self.block, at + 2).unwrap_or(0));
            if size < 4 || at + size > self.block.len() {
                let msg =
                    format!("record of type {rtype} with bad size {size}; rest of block skipped");
                self.block_pos = self.block.len();
                return Some(Err(self.error(self.block_offset, msg)));
            }
            self.block_pos += size;
            let rec = &self.block[at..at + size];
            let parsed = match rtype {
                V1_COMMON_RECORD | V1_COMMON_RECORD_10 => parse_v1_record(rec, rtype),
                V3_RECORD => parse_v3_record(rec),
                _ => continue,
            };
            return Some(parsed.map(Record::from).map_err(|m| {
                self.error(self.block_offset, format!("record at block byte {at}: {m}"))
            }));
        }
        None
    }
}

fn decompress(method: Compression, payload: &[u8]) -> Result<Vec<u8>, String> {
    let limited = |r: &mut dyn Read| -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        r.take(MAX_BLOCK as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| e.to_string())?;
        (out.len() <= MAX_BLOCK)
            .then_some(out)
            .ok_or_else(|| "decompressed block too large".to_string())
    };
    let out = match method {
        Compression::None => payload.to_vec(),
        // Our own decoder: lzokay-native 0.1.0 panics on a match reaching before the
        // start of the output, and has no output limit.
        Compression::Lzo => lzo::decompress(payload, MAX_BLOCK)
            .map_err(|e| format!("LZO block does not decompress: {e}"))?,
        Compression::Lz4 => {
            let mut out = vec![0u8; MAX_BLOCK];
            let n = lz4_flex::block::decompress_into(payload, &mut out)
                .map_err(|e| format!("LZ4 block does not decompress: {e}"))?;
            out.truncate(n);
            out
        }
        Compression::Bz2 => limited(&mut bzip2::read::BzDecoder::new(payload))
            .map_err(|e| format!("BZ2 block does not decompress: {e}"))?,
        Compression::Zstd => {
            let mut input = payload;
            let mut decoder = ruzstd::decoding::StreamingDecoder::new(&mut input)
                .map_err(|e| format!("ZSTD block does not decompress: {e}"))?;
            limited(&mut decoder).map_err(|e| format!("ZSTD block does not decompress: {e}"))?
        }
    };
    if out.len() > MAX_BLOCK {
        return Err("decompressed block too large".into());
    }
    Ok(out)
}

/// The facts of one flow, whatever layout carried them.
struct Flow {
    first_ms: u64,
    last_ms: u64,
    proto: u8,
    tcp_flags: u8,
    src_port: u16,
    dst_port: u16,
    src: IpAddr,
    dst: IpAddr,
    in_pkts: u64,
    in_bytes: u64,
    out: Option<(u64, u64)>,
}

/// Layout 1 common record (type 1 or 10) and its required extensions: addresses (v4 or
/// v6 by flag bit 0), packets and bytes (32 or 64 bits by flag bits 1 and 2). Optional
/// extensions follow and are not needed.
fn parse_v1_record(rec: &[u8], rtype: u16) -> Result<ConnRecord, String> {
    let short = || "record shorter than its fields".to_string();
    let (flags, data_at) = if rtype == V1_COMMON_RECORD_10 {
        (u16_at(rec, 4).ok_or_else(short)?, 32)
    } else {
        (u16::from(*rec.get(4).ok_or_else(short)?), 28)
    };
    let msec_first = u64::from(u16_at(rec, 8).ok_or_else(short)?);
    let msec_last = u64::from(u16_at(rec, 10).ok_or_else(short)?);
    let first = u64::from(u32_at(rec, 12).ok_or_else(short)?);
    let last = u64::from(u32_at(rec, 16).ok_or_else(short)?);
    let tcp_flags = *rec.get(21).ok_or_else(short)?;
    let proto = *rec.get(22).ok_or_else(short)?;
    let src_port = u16_at(rec, 24).ok_or_else(short)?;
    let dst_port = u16_at(rec, 26).ok_or_else(short)?;
    let mut at = data_at;
    let (src, dst) = if flags & 0x1 != 0 {
        let pair = (ipv6_at(rec, at), ipv6_at(rec, at + 16));
        at += 32;
        pair
    } else {
        let pair = (ipv4_at(rec, at), ipv4_at(rec, at + 4));
        at += 8;
        pair
    };
    let mut counter = |wide: bool| -> Option<u64> {
        let v = if wide {
            u64_at(rec, at)
        } else {
            u32_at(rec, at).map(u64::from)
        };
        at += if wide { 8 } else { 4 };
        v
    };
    let in_pkts = counter(flags & 0x2 != 0).ok_or_else(short)?;
    let in_bytes = counter(flags & 0x4 != 0).ok_or_else(short)?;
    flow_record(Flow {
        first_ms: first * 1000 + msec_first,
        last_ms: last * 1000 + msec_last,
        proto,
        tcp_flags,
        src_port,
        dst_port,
        src: src.ok_or_else(short)?,
        dst: dst.ok_or_else(short)?,
        in_pkts,
        in_bytes,
        out: None,
    })
}

/// Layout 2 V3 record: a 12-byte header and typed elements (`EXgenericFlow` = 1,
/// `EXipv4Flow` = 2, `EXipv6Flow` = 3, `EXcntFlow` = 5 are the ones used).
fn parse_v3_record(rec: &[u8]) -> Result<ConnRecord, String> {
    let elements = u16_at(rec, 4).unwrap_or(0);
    let mut at = 12;
    let mut generic = None;
    let mut addrs = None;
    let mut out = None;
    for _ in 0..elements {
        let (Some(etype), Some(len)) = (u16_at(rec, at), u16_at(rec, at + 2)) else {
            break;
        };
        let len = usize::from(len);
        if len < 4 || at + len > rec.len() {
            return Err(format!("element {etype} with bad length {len}"));
        }
        let e = &rec[at + 4..at + len];
        match etype {
            1 if e.len() >= 44 => generic = Some(e),
            2 if e.len() >= 8 => addrs = Some((ipv4_at(e, 0), ipv4_at(e, 4))),
            3 if e.len() >= 32 => addrs = Some((ipv6_at(e, 0), ipv6_at(e, 16))),
            5 if e.len() >= 24 => {
                out = Some((u64_at(e, 8).unwrap_or(0), u64_at(e, 16).unwrap_or(0)))
            }
            _ => {}
        }
        at += len;
    }
    let g = generic.ok_or("no generic flow element")?;
    let (Some(src), Some(dst)) = addrs.ok_or("no address element")? else {
        return Err("short address element".into());
    };
    let field = |o: usize| u64_at(g, o).unwrap_or(0);
    flow_record(Flow {
        first_ms: field(0),
        last_ms: field(8),
        in_pkts: field(24),
        in_bytes: field(32),
        src_port: u16_at(g, 40).unwrap_or(0),
        dst_port: u16_at(g, 42).unwrap_or(0),
        proto: g.get(44).copied().unwrap_or(0),
        tcp_flags: g.get(45).copied().unwrap_or(0),
        src,
        dst,
        out,
    })
}

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_ACK: u8 = 0x10;

/// Zeek's `conn_state` closest to what the flow's (cumulative) TCP flags say; NetFlow
/// records are often one direction only, so a SYN alone reads as an attempt (`S0`).
fn tcp_state(flags: u8, answered: bool) -> ConnState {
    match () {
        _ if flags & TCP_RST != 0 && flags & TCP_SYN != 0 && !answered => ConnState::RSTOS0,
        _ if flags & TCP_RST != 0 => ConnState::RSTO,
        _ if flags & TCP_SYN != 0 && flags & TCP_ACK == 0 && !answered => ConnState::S0,
        _ if flags & TCP_FIN != 0 => ConnState::SF,
        _ if flags & TCP_SYN != 0 => ConnState::S1,
        _ => ConnState::OTH,
    }
}

fn flow_record(f: Flow) -> Result<ConnRecord, String> {
    let ts = i64::try_from(f.first_ms)
        .ok()
        .and_then(|ms| ms.checked_mul(1000))
        .map(Timestamp)
        .ok_or("time out of range")?;
    let (transport, mut orig_p, mut resp_p) = match f.proto {
        6 => (Transport::Tcp, f.src_port, f.dst_port),
        17 => (Transport::Udp, f.src_port, f.dst_port),
        // nfdump keeps ICMP type and code in the destination port as `type << 8 | code`.
        1 | 58 => (Transport::Icmp, f.dst_port >> 8, f.dst_port & 0xff),
        _ => (Transport::Unknown, f.src_port, f.dst_port),
    };
    if transport == Transport::Unknown {
        orig_p = 0;
        resp_p = 0;
    }
    let (out_pkts, out_bytes) = f.out.unwrap_or((0, 0));
    let answered = out_pkts > 0;
    let conn_state = match transport {
        Transport::Tcp => tcp_state(f.tcp_flags, answered),
        _ if answered => ConnState::SF,
        _ => ConnState::S0,
    };
    let id = ConnId {
        orig_h: f.src,
        orig_p,
        resp_h: f.dst,
        resp_p,
        proto: transport,
    };
    Ok(ConnRecord {
        ts,
        uid: flow_uid(ts.0, &id),
        id,
        service: None,
        duration: Some(Interval(
            (f.last_ms.saturating_sub(f.first_ms) as i64).saturating_mul(1000),
        )),
        orig_bytes: Some(f.in_bytes),
        resp_bytes: Some(out_bytes),
        conn_state,
        local_orig: None,
        local_resp: None,
        missed_bytes: 0,
        history: None,
        orig_pkts: f.in_pkts,
        orig_ip_bytes: f.in_bytes,
        resp_pkts: out_pkts,
        resp_ip_bytes: out_bytes,
        tunnel_parents: None,
        ip_proto: Some(f.proto),
        interface: None,
        ground_truth: None,
    })
}

impl Iterator for NfdumpReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            if let Some(r) = self.next_in_block() {
                return Some(r);
            }
            match self.load_block() {
                Ok(true) => continue,
                Ok(false) => self.finished = true,
                Err(e) => {
                    // A block that does not decompress is skipped; the next one may be fine.
                    self.block.clear();
                    self.block_pos = 0;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

impl RecordSource for NfdumpReader {}

/// Runs `nfdump -r FILE -o csv` and reads its output, for file layouts not read natively.
fn run_nfdump_program(
    path: &Path,
    shown: &Arc<str>,
    why: &str,
) -> Result<Box<dyn RecordSource>, OpenError> {
    let child = Command::new("nfdump")
        .arg("-r")
        .arg(path)
        .args(["-o", "csv", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            let Some(stdout) = child.stdout.take() else {
                return Err(OpenError::Io(format!("{shown}: nfdump gave no output")));
            };
            let lines = Lines::new(Box::new(BufReader::new(stdout)));
            Ok(Box::new(NfdumpCsvReader::new(
                shown.clone(),
                lines,
                Some(child),
            )))
        }
        Err(e) => Err(OpenError::Unsupported(format!(
            "{shown}: this nfdump file is not readable natively ({why}), and the `nfdump` \
             program that could read it is not available ({e}); install nfdump or convert \
             the file with a current nfdump (`nfdump -r FILE -w NEW`)"
        ))),
    }
}

/// Flows printed by `nfdump -o csv` (columns named by its header line: `ts`, `te`, `td`,
/// `sa`, `da`, `sp`, `dp`, `pr`, `flg`, `ipkt`, `ibyt`, `opkt`, `obyt` ...).
pub struct NfdumpCsvReader {
    source: Arc<str>,
    lines: Lines,
    columns: Vec<String>,
    child: Option<std::process::Child>,
    finished: bool,
}

impl NfdumpCsvReader {
    pub fn new(source: Arc<str>, lines: Lines, child: Option<std::process::Child>) -> Self {
        NfdumpCsvReader {
            source,
            lines,
            columns: Vec::new(),
            child,
            finished: false,
        }
    }

    fn parse(&self, line: &str) -> Result<ConnRecord, String> {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |name: &str| {
            self.columns
                .iter()
                .position(|c| c == name)
                .and_then(|i| cells.get(i).copied())
                .ok_or_else(|| format!("no `{name}` column"))
        };
        let ts = parse_datetime(get("ts")?).ok_or("`ts` does not parse")?;
        let addr = |n: &str| -> Result<IpAddr, String> {
            let v = get(n)?;
            parse_addr(v).ok_or_else(|| format!("`{n}` is not an address: `{v}`"))
        };
        let number = |n: &str| -> Result<u64, String> {
            let v = get(n)?;
            // nfdump may print large counters as `1.2 M`; the CSV format prints plain numbers.
            v.parse::<u64>()
                .map_err(|_| format!("`{n}` is not a count: `{v}`"))
        };
        let port = |n: &str| -> Result<u16, String> {
            let v = get(n)?;
            v.parse::<f64>()
                .ok()
                .map(|p| p as u16)
                .ok_or_else(|| format!("`{n}` is not a port: `{v}`"))
        };
        let proto = match get("pr")?.to_ascii_uppercase().as_str() {
            "TCP" => 6,
            "UDP" => 17,
            "ICMP" => 1,
            "ICMP6" => 58,
            other => other.parse::<u8>().unwrap_or(0),
        };
        let flags_text = get("flg").unwrap_or("");
        let tcp_flags = [
            (b'F', TCP_FIN),
            (b'S', TCP_SYN),
            (b'R', TCP_RST),
            (b'A', TCP_ACK),
        ]
        .iter()
        .filter(|(c, _)| flags_text.as_bytes().contains(c))
        .fold(0u8, |acc, (_, bit)| acc | bit);
        let duration = parse_interval(get("td")?).ok_or("`td` does not parse")?;
        let first_ms = (ts.0 / 1000) as u64;
        let (dst_port, src_port) = (port("dp")?, port("sp")?);
        flow_record(Flow {
            first_ms,
            last_ms: first_ms.saturating_add((duration.0 / 1000) as u64),
            proto,
            tcp_flags,
            src_port,
            dst_port: if matches!(proto, 1 | 58) {
                // The CSV prints ICMP as `type.code` in `dp`.
                let v = get("dp")?;
                let (t, c) = v.split_once('.').unwrap_or((v, "0"));
                (t.parse::<u16>().unwrap_or(0) << 8) | c.parse::<u16>().unwrap_or(0)
            } else {
                dst_port
            },
            src: addr("sa")?,
            dst: addr("da")?,
            in_pkts: number("ipkt")?,
            in_bytes: number("ibyt")?,
            out: Some((number("opkt").unwrap_or(0), number("obyt").unwrap_or(0))),
        })
    }
}

impl Iterator for NfdumpCsvReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            let line = match self.lines.next_line() {
                Ok(Some(l)) => String::from_utf8_lossy(l).into_owned(),
                _ => {
                    self.finished = true;
                    if let Some(mut child) = self.child.take() {
                        let _ = child.wait();
                    }
                    break;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            if self.columns.is_empty() {
                if line.starts_with("ts,") {
                    self.columns = line.split(',').map(|c| c.trim().to_string()).collect();
                }
                continue;
            }
            // The summary nfdump appends after the flows.
            if line == "Summary" || line.starts_with("flows,") {
                self.finished = true;
                continue;
            }
            if !line.as_bytes()[0].is_ascii_digit() {
                continue;
            }
            return Some(
                self.parse(&line)
                    .map(Record::from)
                    .map_err(|message| ReadError {
                        source: self.source.clone(),
                        place: Place::Line(self.lines.line_no()),
                        message,
                    }),
            );
        }
        None
    }
}

impl RecordSource for NfdumpCsvReader {
    fn notes(&self) -> Vec<String> {
        vec![format!(
            "{}: read through the nfdump program (file layout not read natively)",
            self.source
        )]
    }
}

#[cfg(test)]
mod hostile_input_tests {
    use super::*;

    /// Found by the `nfdump` fuzz target: one literal, then a match from 2 041 bytes
    /// back (M2) or 16 384 bytes back (M3).
    #[test]
    fn lzo_match_before_the_start_is_an_error() {
        for payload in [
            &[0x12, b'a', 0x80, 0xff][..],
            &[0x12, b'a', 0x21, 0xfc, 0xff],
        ] {
            let e = decompress(Compression::Lzo, payload).expect_err("not a valid stream");
            assert!(e.starts_with("LZO block does not decompress"), "{e}");
        }
    }

    /// Found by the `nfdump` fuzz target: a first-seen time in milliseconds that does not
    /// fit in microseconds.
    #[test]
    fn flow_time_beyond_the_clock_is_an_error() {
        let any = IpAddr::from([10, 0, 0, 1]);
        let flow = Flow {
            first_ms: i64::MAX as u64 / 10,
            last_ms: i64::MAX as u64 / 10,
            proto: 6,
            tcp_flags: TCP_SYN,
            src_port: 1,
            dst_port: 2,
            src: any,
            dst: any,
            in_pkts: 1,
            in_bytes: 40,
            out: None,
        };
        let e = flow_record(flow).expect_err("not representable");
        assert_eq!(e, "time out of range");
    }
}
