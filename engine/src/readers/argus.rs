//! Argus flows as `ra` prints them (the binetflow files of the Stratosphere datasets):
//! comma- or tab-separated, with a header naming the columns in any order. Each flow
//! becomes a [`ConnRecord`]; the source is the originator.
//!
//! Mapping (as Slips reads Argus): `SrcBytes` and `TotBytes - SrcBytes` are the bytes of
//! each side (IP-level bytes, so they fill both `*_ip_bytes` and `*_bytes`), packets
//! likewise; the `State` column becomes the closest Zeek `conn_state` ([`conn_state`]).
//! Argus has no uid: one is derived from the flow's time and endpoints. Non-IP flows
//! (ARP without addresses, LLC, management records) are skipped and counted in a note.

use std::sync::Arc;

use dissectors::conn::{ConnId, ConnRecord, ConnState, Transport};
use dissectors::Record;

use super::lines::Lines;
use super::values::{flow_uid, parse_addr, parse_datetime, parse_interval};
use super::{Place, ReadError, RecordSource};

/// Column positions of the fields used.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    start: Option<usize>,
    dur: Option<usize>,
    proto: Option<usize>,
    src: Option<usize>,
    sport: Option<usize>,
    dst: Option<usize>,
    dport: Option<usize>,
    state: Option<usize>,
    tot_pkts: Option<usize>,
    tot_bytes: Option<usize>,
    src_bytes: Option<usize>,
    dst_bytes: Option<usize>,
    src_pkts: Option<usize>,
    dst_pkts: Option<usize>,
}

impl Columns {
    /// `ra`'s default column order (what Slips assumes for Argus on standard input).
    pub fn ra_default() -> Columns {
        Columns {
            start: Some(0),
            dur: Some(1),
            proto: Some(2),
            src: Some(3),
            sport: Some(4),
            dst: Some(6),
            dport: Some(7),
            state: Some(8),
            tot_pkts: Some(11),
            tot_bytes: Some(12),
            src_bytes: Some(13),
            src_pkts: Some(14),
            ..Columns::default()
        }
    }

    /// From a header line; `None` when it does not name a start time and both addresses.
    pub fn from_header(line: &[u8]) -> Option<Columns> {
        let text = std::str::from_utf8(line).ok()?;
        let mut c = Columns::default();
        for (i, name) in text.split(separator_of(text)).enumerate() {
            let slot = match name.trim().to_ascii_lowercase().as_str() {
                "starttime" | "stime" | "time" => &mut c.start,
                "dur" => &mut c.dur,
                "proto" => &mut c.proto,
                "srcaddr" | "saddr" => &mut c.src,
                "sport" => &mut c.sport,
                "dstaddr" | "daddr" => &mut c.dst,
                "dport" => &mut c.dport,
                "state" => &mut c.state,
                "totpkts" | "pkts" => &mut c.tot_pkts,
                "totbytes" | "bytes" => &mut c.tot_bytes,
                "srcbytes" | "sbytes" => &mut c.src_bytes,
                "dstbytes" | "dbytes" => &mut c.dst_bytes,
                "srcpkts" | "spkts" => &mut c.src_pkts,
                "dstpkts" | "dpkts" => &mut c.dst_pkts,
                _ => continue,
            };
            slot.get_or_insert(i);
        }
        (c.start.is_some() && c.src.is_some() && c.dst.is_some()).then_some(c)
    }
}

/// Whether `line` is a binetflow header.
pub fn is_header(line: &[u8]) -> bool {
    Columns::from_header(line).is_some()
}

/// Slips' rule: a line with more than five commas is comma-separated, else tabs.
fn separator_of(line: &str) -> char {
    if line.bytes().filter(|&b| b == b',').count() > 5 {
        ','
    } else {
        '\t'
    }
}

pub struct ArgusReader {
    source: Arc<str>,
    lines: Lines,
    columns: Option<Columns>,
    non_ip_skipped: u64,
    finished: bool,
}

impl ArgusReader {
    /// `columns`: the column layout when the input has no header (standard input).
    pub fn new(source: Arc<str>, lines: Lines, columns: Option<Columns>) -> Self {
        ArgusReader {
            source,
            lines,
            columns,
            non_ip_skipped: 0,
            finished: false,
        }
    }
}

/// What one data line gave.
enum Parsed {
    Flow(Box<ConnRecord>),
    NonIp,
}

fn parse_flow(line: &str, c: &Columns) -> Result<Parsed, String> {
    let cells: Vec<&str> = line.split(separator_of(line)).map(str::trim).collect();
    let get = |col: Option<usize>| {
        col.and_then(|i| cells.get(i).copied())
            .filter(|s| !s.is_empty())
    };
    let count = |col: Option<usize>, name: &str| -> Result<Option<u64>, String> {
        get(col)
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| format!("{name} `{s}` is not a count"))
            })
            .transpose()
    };
    let start = get(c.start).ok_or("no start time")?;
    let ts = parse_datetime(start).ok_or_else(|| format!("start time `{start}` does not parse"))?;
    let (Some(orig_h), Some(resp_h)) = (
        get(c.src).and_then(parse_addr),
        get(c.dst).and_then(parse_addr),
    ) else {
        return Ok(Parsed::NonIp);
    };
    let proto_name = get(c.proto).unwrap_or_default().to_ascii_lowercase();
    let (proto, ip_proto) = match proto_name.as_str() {
        "tcp" => (Transport::Tcp, Some(6)),
        "udp" => (Transport::Udp, Some(17)),
        "icmp" => (Transport::Icmp, Some(1)),
        "ipv6-icmp" | "icmp6" => (Transport::Icmp, Some(58)),
        "igmp" => (Transport::Unknown, Some(2)),
        "gre" => (Transport::Unknown, Some(47)),
        "esp" => (Transport::Unknown, Some(50)),
        other => (Transport::Unknown, other.parse::<u8>().ok()),
    };
    let port = |col: Option<usize>, name: &str| -> Result<u16, String> {
        match get(col) {
            None => Ok(0),
            Some(s) => parse_port(s).ok_or_else(|| format!("{name} `{s}` is not a port")),
        }
    };
    let (mut orig_p, mut resp_p) = (port(c.sport, "Sport")?, port(c.dport, "Dport")?);
    if proto == Transport::Icmp {
        // Argus prints ICMP type and code as one number `0xTTCC` in Sport; Zeek keeps the
        // type as the originator port and the code as the responder port.
        resp_p = orig_p & 0xff;
        orig_p >>= 8;
    }
    let duration = match get(c.dur) {
        None => None,
        Some(d) => Some(parse_interval(d).ok_or_else(|| format!("Dur `{d}` does not parse"))?),
    };
    let tot_bytes = count(c.tot_bytes, "TotBytes")?;
    let src_bytes = count(c.src_bytes, "SrcBytes")?;
    let dst_bytes =
        count(c.dst_bytes, "DstBytes")?.or_else(|| Some(tot_bytes?.saturating_sub(src_bytes?)));
    let tot_pkts = count(c.tot_pkts, "TotPkts")?;
    let src_pkts = count(c.src_pkts, "SrcPkts")?;
    let dst_pkts =
        count(c.dst_pkts, "DstPkts")?.or_else(|| Some(tot_pkts?.saturating_sub(src_pkts?)));
    let state = get(c.state).unwrap_or_default();
    let id = ConnId {
        orig_h,
        orig_p,
        resp_h,
        resp_p,
        proto,
    };
    Ok(Parsed::Flow(Box::new(ConnRecord {
        ts,
        uid: flow_uid(ts.0, &id),
        id,
        service: None,
        duration,
        orig_bytes: src_bytes,
        resp_bytes: dst_bytes,
        conn_state: conn_state(state, proto),
        local_orig: None,
        local_resp: None,
        missed_bytes: 0,
        history: None,
        orig_pkts: src_pkts.unwrap_or(0),
        orig_ip_bytes: src_bytes.unwrap_or(0),
        resp_pkts: dst_pkts.unwrap_or(0),
        resp_ip_bytes: dst_bytes.unwrap_or(0),
        tunnel_parents: None,
        ip_proto,
        interface: None,
        ground_truth: None,
    })))
}

/// Decimal or `0x` hexadecimal (Argus prints ICMP and some ports in hex).
fn parse_port(s: &str) -> Option<u16> {
    match s.strip_prefix("0x") {
        Some(hex) => u16::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Argus' state to Zeek's `conn_state`. TCP states are the flags each side sent
/// (`SRPA_FSPA`: source flags `_` destination flags); others are summaries (`CON`
/// connected both ways, `INT` one way only, `REQ`/`ACC` request and accept, `RST`,
/// `FIN`, `ECO` echo, `URP`/`URH`... unreachable).
pub fn conn_state(state: &str, proto: Transport) -> ConnState {
    if proto == Transport::Tcp {
        if let Some((src, dst)) = state.split_once('_') {
            let (s_syn, s_fin, s_rst) = (src.contains('S'), src.contains('F'), src.contains('R'));
            let (d_syn, d_fin, d_rst, d_ack) = (
                dst.contains('S'),
                dst.contains('F'),
                dst.contains('R'),
                dst.contains('A'),
            );
            return match () {
                _ if dst.is_empty() && s_syn && !s_rst => ConnState::S0,
                _ if s_syn && !d_syn && d_rst => ConnState::REJ,
                _ if s_syn && d_syn && s_rst => ConnState::RSTO,
                _ if s_syn && d_syn && d_rst => ConnState::RSTR,
                _ if s_syn && d_syn && s_fin && d_fin => ConnState::SF,
                _ if s_syn && d_syn && s_fin => ConnState::S2,
                _ if s_syn && d_syn && d_fin => ConnState::S3,
                _ if s_syn && d_syn && d_ack => ConnState::S1,
                _ if s_rst && dst.is_empty() => ConnState::RSTOS0,
                _ => ConnState::OTH,
            };
        }
    }
    match state {
        "CON" | "FIN" | "ECO" | "ECR" => ConnState::SF,
        "INT" | "REQ" => ConnState::S0,
        "ACC" => ConnState::S1,
        "RST" => ConnState::RSTO,
        _ => ConnState::OTH,
    }
}

impl Iterator for ArgusReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            let line_no = self.lines.line_no() + 1;
            let line = match self.lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.finished = true;
                    break;
                }
                Err(e) => {
                    self.finished = true;
                    return Some(Err(ReadError {
                        source: self.source.clone(),
                        place: Place::Line(self.lines.line_no()),
                        message: format!("read failed: {e}"),
                    }));
                }
            };
            if line.iter().all(u8::is_ascii_whitespace) || line.starts_with(b"#") {
                continue;
            }
            if let Some(cols) = Columns::from_header(line) {
                self.columns = Some(cols);
                continue;
            }
            let place = Place::Line(line_no);
            let err = |message: String| ReadError {
                source: self.source.clone(),
                place: place.clone(),
                message,
            };
            let Some(cols) = &self.columns else {
                return Some(Err(err("flow line before the header line".into())));
            };
            let text = match std::str::from_utf8(line) {
                Ok(t) => t,
                Err(_) => return Some(Err(err("line is not UTF-8 text".into()))),
            };
            match parse_flow(text, cols) {
                Ok(Parsed::Flow(r)) => return Some(Ok(Record::Conn(r))),
                Ok(Parsed::NonIp) => self.non_ip_skipped += 1,
                Err(m) => return Some(Err(err(m))),
            }
        }
        None
    }
}

impl RecordSource for ArgusReader {
    fn notes(&self) -> Vec<String> {
        if self.non_ip_skipped == 0 {
            return Vec::new();
        }
        vec![format!(
            "{}: skipped {} flows without IP addresses (ARP, LLC, Argus management records)",
            self.source, self.non_ip_skipped
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_states() {
        assert_eq!(conn_state("S_", Transport::Tcp), ConnState::S0);
        assert_eq!(conn_state("S_RA", Transport::Tcp), ConnState::REJ);
        assert_eq!(conn_state("FSPA_FSPA", Transport::Tcp), ConnState::SF);
        assert_eq!(conn_state("SR_SA", Transport::Tcp), ConnState::RSTO);
        assert_eq!(conn_state("SPA_SPA", Transport::Tcp), ConnState::S1);
        assert_eq!(conn_state("CON", Transport::Udp), ConnState::SF);
        assert_eq!(conn_state("INT", Transport::Udp), ConnState::S0);
    }

    #[test]
    fn header_variants() {
        let csv = Columns::from_header(
            b"StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,SrcPkts,Label",
        )
        .unwrap();
        assert_eq!(
            (csv.src, csv.dst, csv.src_pkts),
            (Some(3), Some(6), Some(14))
        );
        let tsv =
            Columns::from_header(b"StartTime\tDur\tProto\tSrcAddr\tSport\tDir\tDstAddr\tDport")
                .unwrap();
        assert_eq!(tsv.dport, Some(7));
        assert!(Columns::from_header(b"a,b,c").is_none());
    }

    #[test]
    fn icmp_type_and_code_from_hex_sport() {
        let cols = Columns::ra_default();
        let line = "1970/01/01 01:01:17.400949\t0.000000\ticmp\t10.0.2.15\t0x0303\t   ->\t8.8.4.4\t0x0ecc\tURP\t0\t\t1\t173\t173\t1\tx";
        let Ok(Parsed::Flow(r)) = parse_flow(line, &cols) else {
            panic!("not a flow")
        };
        assert_eq!((r.id.orig_p, r.id.resp_p), (3, 3));
        assert_eq!(r.orig_ip_bytes, 173);
        assert_eq!(r.resp_pkts, 0);
    }
}
