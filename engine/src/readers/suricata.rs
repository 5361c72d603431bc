//! Suricata's EVE JSON (`eve.json`): each event becomes the record Zeek would have
//! logged for the same facts, with the mapping Slips uses (its `input_profilers/
//! suricata.py`) where it has one.
//!
//! | event | record |
//! | --- | --- |
//! | `flow` | conn: `flow.start`/`end`, `*_toserver` is the originator side (packet bytes, so both `*_bytes` and `*_ip_bytes`), `app_proto` is the service |
//! | `dns` | dns: `rrname`/`rrtype`/`rcode`/`id`, answers from `answers` or `grouped` |
//! | `http` | http: method, host, uri, user agent, version, status, body lengths |
//! | `tls` | ssl: version, SNI, subject, issuer, validity, JA3/JA3S |
//! | `ssh` | ssh: client and server banners |
//! | `dhcp` | dhcp: addresses, MAC, host name, lease, message type |
//! | `fileinfo` | files: name, size, hashes |
//! | `alert` | notice `Suricata::Alert`: signature as `msg`, id/category/severity as `sub` |
//! | `anomaly` | weird: the anomaly's event name |
//!
//! The uid of every event is derived from `flow_id`, so all events of a flow share it,
//! as Zeek's records of one connection share the connection's uid.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use dissectors::conn::{ConnId, ConnRecord, ConnState, Transport};
use dissectors::dhcp::DhcpRecord;
use dissectors::dns::{consts as dns_consts, DnsAnswer, DnsRecord, RData};
use dissectors::files::FileRecord;
use dissectors::http::HttpRecord;
use dissectors::notice::{GeoLocation, NoticeRecord};
use dissectors::ssh::SshRecord;
use dissectors::ssl::SslRecord;
use dissectors::uid::{mix96, Uid};
use dissectors::weird::WeirdRecord;
use dissectors::{Interval, Record, Timestamp};

use super::lines::Lines;
use super::values::{intern, parse_addr, parse_datetime, parse_transport};
use super::{Place, ReadError, RecordSource};

pub struct SuricataReader {
    source: Arc<str>,
    lines: Lines,
    skipped: BTreeMap<String, u64>,
    finished: bool,
}

impl SuricataReader {
    pub fn new(source: Arc<str>, lines: Lines) -> Self {
        SuricataReader {
            source,
            lines,
            skipped: BTreeMap::new(),
            finished: false,
        }
    }
}

type Obj = Map<String, Value>;

fn get<'a>(v: &'a Obj, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v.get(path[0])?;
    for p in &path[1..] {
        cur = cur.as_object()?.get(*p)?;
    }
    (!cur.is_null()).then_some(cur)
}

fn text(v: &Obj, path: &[&str]) -> Option<String> {
    match get(v, path)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn num(v: &Obj, path: &[&str]) -> Option<u64> {
    get(v, path)?.as_u64()
}

fn time(v: &Obj, path: &[&str]) -> Result<Option<Timestamp>, String> {
    match text(v, path) {
        None => Ok(None),
        Some(t) => parse_datetime(&t)
            .map(Some)
            .ok_or_else(|| format!("`{}` is not a time: `{t}`", path.join("."))),
    }
}

/// The fields every event has: time, flow id and endpoints.
struct Common {
    ts: Timestamp,
    uid: Uid,
    id: ConnId,
}

fn common(v: &Obj) -> Result<Common, String> {
    let ts = time(v, &["timestamp"])?.ok_or("no `timestamp`")?;
    let flow_id = num(v, &["flow_id"]).unwrap_or(0);
    let addr = |k: &str| -> Result<std::net::IpAddr, String> {
        let t = text(v, &[k]).ok_or_else(|| format!("no `{k}`"))?;
        parse_addr(&t).ok_or_else(|| format!("`{k}` is not an address: `{t}`"))
    };
    let port = |k: &str| -> Result<u16, String> {
        match get(v, &[k]) {
            None => Ok(0),
            Some(p) => p
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| format!("`{k}` is not a port: `{p}`")),
        }
    };
    let proto_name = text(v, &["proto"]).unwrap_or_default();
    let proto = parse_transport(&proto_name).unwrap_or(Transport::Unknown);
    let mut id = ConnId {
        orig_h: addr("src_ip")?,
        orig_p: port("src_port")?,
        resp_h: addr("dest_ip")?,
        resp_p: port("dest_port")?,
        proto,
    };
    if proto == Transport::Icmp {
        // Zeek's ICMP "ports" are the type and code.
        if let (Some(t), Some(c)) = (num(v, &["icmp_type"]), num(v, &["icmp_code"])) {
            id.orig_p = t as u16;
            id.resp_p = c as u16;
        }
    }
    Ok(Common {
        ts,
        uid: Uid::connection(u128::from(flow_id)),
        id,
    })
}

fn flow(v: &Obj, c: Common) -> Result<ConnRecord, String> {
    let start = time(v, &["flow", "start"])?.unwrap_or(c.ts);
    let end = time(v, &["flow", "end"])?;
    let to_server_pkts = num(v, &["flow", "pkts_toserver"]).unwrap_or(0);
    let to_client_pkts = num(v, &["flow", "pkts_toclient"]).unwrap_or(0);
    let to_server_bytes = num(v, &["flow", "bytes_toserver"]).unwrap_or(0);
    let to_client_bytes = num(v, &["flow", "bytes_toclient"]).unwrap_or(0);
    let state = text(v, &["flow", "state"]).unwrap_or_default();
    let tcp_flags = |k: &str| text(v, &["tcp", k]).map(|f| u8::from_str_radix(&f, 16).ok());
    let resets = (
        tcp_flags("tcp_flags_ts")
            .flatten()
            .is_some_and(|f| f & 0x04 != 0),
        tcp_flags("tcp_flags_tc")
            .flatten()
            .is_some_and(|f| f & 0x04 != 0),
    );
    let conn_state = match (to_client_pkts, resets, state.as_str()) {
        (0, (true, _), _) => ConnState::RSTOS0,
        (0, _, _) => ConnState::S0,
        (_, (true, _), _) => ConnState::RSTO,
        (_, (_, true), _) => ConnState::RSTR,
        (_, _, "closed") => ConnState::SF,
        _ if c.id.proto != Transport::Tcp => ConnState::SF,
        _ => ConnState::S1,
    };
    let service = text(v, &["app_proto"]).filter(|s| s != "failed");
    Ok(ConnRecord {
        ts: start,
        uid: c.uid,
        id: c.id,
        service,
        duration: end.map(|e| e.saturating_sub(start)),
        orig_bytes: Some(to_server_bytes),
        resp_bytes: Some(to_client_bytes),
        conn_state,
        local_orig: None,
        local_resp: None,
        missed_bytes: 0,
        history: None,
        orig_pkts: to_server_pkts,
        orig_ip_bytes: to_server_bytes,
        resp_pkts: to_client_pkts,
        resp_ip_bytes: to_client_bytes,
        tunnel_parents: None,
        ip_proto: None,
        interface: None,
        ground_truth: None,
    })
}

/// Name-to-code tables for DNS record types and response codes, from the dissector's
/// own code-to-name tables.
fn dns_codes() -> &'static (HashMap<String, u16>, HashMap<String, u16>) {
    static CODES: OnceLock<(HashMap<String, u16>, HashMap<String, u16>)> = OnceLock::new();
    CODES.get_or_init(|| {
        let table = |name: fn(u16) -> std::borrow::Cow<'static, str>, max: u16| {
            (0..=max)
                .filter_map(|c| match name(c) {
                    std::borrow::Cow::Borrowed(n) => Some((n.to_string(), c)),
                    std::borrow::Cow::Owned(_) => None,
                })
                .collect()
        };
        (
            table(dns_consts::query_type_name, u16::MAX),
            table(dns_consts::rcode_name, 4095),
        )
    })
}

fn dns(v: &Obj, c: Common) -> Result<DnsRecord, String> {
    let (types, rcodes) = dns_codes();
    // EVE v3 puts the question in `queries`, older versions at the top of `dns`.
    let query = text(v, &["dns", "rrname"]).or_else(|| {
        get(v, &["dns", "queries"])?
            .as_array()?
            .first()?
            .get("rrname")?
            .as_str()
            .map(str::to_string)
    });
    let qtype_name = text(v, &["dns", "rrtype"]).or_else(|| {
        get(v, &["dns", "queries"])?
            .as_array()?
            .first()?
            .get("rrtype")?
            .as_str()
            .map(str::to_string)
    });
    let qtype = qtype_name.as_deref().and_then(|n| types.get(n).copied());
    let rcode = text(v, &["dns", "rcode"])
        .and_then(|n| rcodes.get(&n).copied())
        .and_then(|r| u8::try_from(r).ok());
    let is_answer = text(v, &["dns", "type"]).is_some_and(|t| t == "answer");
    let mut answers = Vec::new();
    if let Some(list) = get(v, &["dns", "answers"]).and_then(Value::as_array) {
        for a in list {
            let Some(data) = a.get("rdata").and_then(Value::as_str) else {
                continue;
            };
            let rtype = a
                .get("rrtype")
                .and_then(Value::as_str)
                .and_then(|t| types.get(t).copied())
                .unwrap_or(0);
            let ttl = a.get("ttl").and_then(Value::as_u64).unwrap_or(0);
            answers.push(answer(query.as_deref(), data, rtype, ttl));
        }
    } else if let Some(grouped) = get(v, &["dns", "grouped"]).and_then(Value::as_object) {
        for (rtype_name, list) in grouped {
            let rtype = types.get(rtype_name).copied().unwrap_or(0);
            for data in list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                answers.push(answer(query.as_deref(), data, rtype, 0));
            }
        }
    } else if let Some(data) = text(v, &["dns", "rdata"]) {
        // EVE v1: one event per answer record.
        let ttl = num(v, &["dns", "ttl"]).unwrap_or(0);
        answers.push(answer(query.as_deref(), &data, qtype.unwrap_or(0), ttl));
    }
    let flags = text(v, &["dns", "flags"])
        .and_then(|f| u16::from_str_radix(&f, 16).ok())
        .unwrap_or(0);
    Ok(DnsRecord {
        ts: c.ts,
        uid: c.uid,
        id: c.id,
        trans_id: num(v, &["dns", "id"])
            .and_then(|i| u16::try_from(i).ok())
            .unwrap_or(0),
        rtt: None,
        query,
        qclass: Some(1),
        qtype,
        rcode,
        aa: flags & 0x0400 != 0 || get(v, &["dns", "aa"]).and_then(Value::as_bool) == Some(true),
        tc: flags & 0x0200 != 0 || get(v, &["dns", "tc"]).and_then(Value::as_bool) == Some(true),
        rd: flags & 0x0100 != 0 || get(v, &["dns", "rd"]).and_then(Value::as_bool) == Some(true),
        ra: flags & 0x0080 != 0 || get(v, &["dns", "ra"]).and_then(Value::as_bool) == Some(true),
        z: 0,
        answers: (is_answer || !answers.is_empty()).then_some(answers),
        rejected: false,
        opcode: Some(0),
        netbios: false,
    })
}

fn answer(query: Option<&str>, data: &str, rtype: u16, ttl: u64) -> DnsAnswer {
    let data = match parse_addr(data) {
        Some(a) if matches!(rtype, 1 | 28) => RData::Addr(a),
        _ if matches!(rtype, 2 | 5 | 12) => RData::Name(data.to_string()),
        _ => RData::Text(data.to_string()),
    };
    DnsAnswer {
        name: query.unwrap_or_default().to_string(),
        rtype,
        class: 1,
        ttl: u32::try_from(ttl).unwrap_or(u32::MAX),
        data,
    }
}

fn http(v: &Obj, c: Common) -> Result<HttpRecord, String> {
    let depth = num(v, &["tx_id"]).map_or(1, |t| t + 1);
    let mut r = HttpRecord::new(c.ts, c.uid, c.id, depth);
    r.method = text(v, &["http", "http_method"]);
    r.host = text(v, &["http", "hostname"]);
    r.uri = text(v, &["http", "url"]);
    r.referrer = text(v, &["http", "http_refer"]);
    r.version = text(v, &["http", "protocol"])
        .map(|p| p.strip_prefix("HTTP/").map_or(p.clone(), str::to_string));
    r.user_agent = text(v, &["http", "http_user_agent"]);
    r.request_body_len = num(v, &["http", "request_body_len"]).unwrap_or(0);
    r.response_body_len = num(v, &["http", "length"]).unwrap_or(0);
    r.status_code = num(v, &["http", "status"]);
    r.resp_mime_types = text(v, &["http", "http_content_type"]).map(|m| {
        let essence = m.split(';').next().unwrap_or_default().trim().to_string();
        vec![intern(&essence)]
    });
    Ok(r)
}

fn tls_version(name: &str) -> Option<u16> {
    Some(match name.replace(' ', "").to_ascii_uppercase().as_str() {
        "SSLV2" | "SSL2.0" => 0x0002,
        "SSLV3" | "SSL3.0" => 0x0300,
        "TLS1.0" | "TLSV1" | "TLSV1.0" => 0x0301,
        "TLS1.1" | "TLSV1.1" => 0x0302,
        "TLS1.2" | "TLSV1.2" => 0x0303,
        "TLS1.3" | "TLSV1.3" => 0x0304,
        _ => return None,
    })
}

fn tls(v: &Obj, c: Common) -> Result<SslRecord, String> {
    Ok(SslRecord {
        ts: c.ts,
        uid: c.uid,
        id: c.id,
        version: text(v, &["tls", "version"])
            .as_deref()
            .and_then(tls_version),
        cipher: None,
        curve: None,
        server_name: text(v, &["tls", "sni"]),
        resumed: get(v, &["tls", "session_resumed"]).and_then(Value::as_bool) == Some(true),
        last_alert: None,
        next_protocol: None,
        established: true,
        ssl_history: String::new(),
        cert_chain_fps: None,
        client_cert_chain_fps: None,
        sni_matches_cert: None,
        ja3: text(v, &["tls", "ja3", "hash"]),
        ja3s: text(v, &["tls", "ja3s", "hash"]),
        ja4: text(v, &["tls", "ja4"]),
        subject: text(v, &["tls", "subject"]),
        issuer: text(v, &["tls", "issuerdn"]),
        not_valid_before: time(v, &["tls", "notbefore"])?,
        not_valid_after: time(v, &["tls", "notafter"])?,
    })
}

fn ssh(v: &Obj, c: Common) -> Result<SshRecord, String> {
    // Zeek logs the whole identification string (`SSH-2.0-OpenSSH_8.1`).
    let banner = |side: &str| {
        let software = text(v, &["ssh", side, "software_version"])?;
        Some(match text(v, &["ssh", side, "proto_version"]) {
            Some(p) => format!("SSH-{p}-{software}"),
            None => software,
        })
    };
    let version = text(v, &["ssh", "server", "proto_version"])
        .or_else(|| text(v, &["ssh", "client", "proto_version"]))
        .and_then(|p| p.split('.').next().and_then(|m| m.parse().ok()));
    Ok(SshRecord {
        ts: c.ts,
        uid: c.uid,
        id: c.id,
        version,
        auth_success: None,
        auth_attempts: 0,
        direction: None,
        client: banner("client"),
        server: banner("server"),
        cipher_alg: None,
        mac_alg: None,
        compression_alg: None,
        kex_alg: None,
        host_key_alg: None,
        host_key_fingerprint: None,
    })
}

fn dhcp(v: &Obj, c: Common) -> Result<DhcpRecord, String> {
    let addr = |k: &str| text(v, &["dhcp", k]).and_then(|a| parse_addr(&a));
    let is_reply = text(v, &["dhcp", "type"]).is_some_and(|t| t == "reply");
    let msg_type = text(v, &["dhcp", "dhcp_type"]).map(|t| t.to_ascii_uppercase());
    let msg_types = msg_type
        .and_then(|name| (1..=u8::MAX).find(|&t| dissectors::dhcp::message_type_name(t) == name))
        .into_iter()
        .collect();
    Ok(DhcpRecord {
        ts: c.ts,
        uids: vec![c.uid],
        client_addr: addr("client_ip").filter(|a| !a.is_unspecified()),
        server_addr: is_reply.then_some(c.id.orig_h),
        client_port: Some(if is_reply { c.id.resp_p } else { c.id.orig_p }),
        server_port: Some(if is_reply { c.id.orig_p } else { c.id.resp_p }),
        mac: text(v, &["dhcp", "client_mac"]),
        host_name: text(v, &["dhcp", "hostname"]),
        client_fqdn: None,
        domain: None,
        requested_addr: addr("requested_ip"),
        assigned_addr: addr("assigned_ip").filter(|a| !a.is_unspecified()),
        lease_time: num(v, &["dhcp", "lease_time"]).map(|s| Interval::from_secs(s as i64)),
        client_message: None,
        server_message: None,
        msg_types,
        duration: Interval::default(),
        client_chaddr: None,
        last_message_ts: c.ts,
    })
}

fn fileinfo(v: &Obj, c: Common) -> Result<FileRecord, String> {
    let size = num(v, &["fileinfo", "size"]).unwrap_or(0);
    let file_id = num(v, &["fileinfo", "file_id"])
        .or_else(|| num(v, &["fileinfo", "tx_id"]))
        .unwrap_or(0);
    let md5 = text(v, &["fileinfo", "md5"]);
    let sha1 = text(v, &["fileinfo", "sha1"]);
    let sha256 = text(v, &["fileinfo", "sha256"]);
    let analyzers = [("MD5", &md5), ("SHA1", &sha1), ("SHA256", &sha256)]
        .into_iter()
        .filter(|(_, h)| h.is_some())
        .map(|(n, _)| n)
        .collect();
    Ok(FileRecord {
        ts: c.ts,
        fuid: Uid::file(mix96(&[
            c.uid.bits as u64,
            (c.uid.bits >> 64) as u64,
            file_id,
        ])),
        uid: Some(c.uid),
        id: Some(c.id),
        source: text(v, &["app_proto"]).map(|p| intern(&p.to_ascii_uppercase())),
        depth: 0,
        analyzers,
        mime_type: text(v, &["http", "http_content_type"])
            .map(|m| intern(m.split(';').next().unwrap_or_default().trim())),
        filename: text(v, &["fileinfo", "filename"]),
        duration: Interval::default(),
        local_orig: None,
        is_orig: None,
        seen_bytes: size,
        total_bytes: Some(size),
        missing_bytes: 0,
        overflow_bytes: 0,
        timedout: false,
        parent_fuid: None,
        md5,
        sha1,
        sha256,
        extracted: None,
        extracted_cutoff: None,
        extracted_size: None,
        pending_digests: None,
    })
}

fn alert(v: &Obj, c: Common) -> Result<NoticeRecord, String> {
    let sub = format!(
        "sid:{} rev:{} category:{} severity:{} action:{}",
        num(v, &["alert", "signature_id"]).unwrap_or(0),
        num(v, &["alert", "rev"]).unwrap_or(0),
        text(v, &["alert", "category"]).unwrap_or_default(),
        num(v, &["alert", "severity"]).unwrap_or(0),
        text(v, &["alert", "action"]).unwrap_or_default(),
    );
    Ok(NoticeRecord {
        ts: c.ts,
        uid: Some(c.uid),
        id: Some(c.id),
        fuid: None,
        file_mime_type: None,
        file_desc: None,
        proto: Some(c.id.proto),
        note: "Suricata::Alert".to_string(),
        msg: text(v, &["alert", "signature"]),
        sub: Some(sub),
        src: Some(c.id.orig_h),
        dst: Some(c.id.resp_h),
        p: Some(c.id.resp_p),
        n: None,
        peer_descr: None,
        actions: Vec::new(),
        email_dest: None,
        suppress_for: None,
        remote_location: GeoLocation::default(),
    })
}

fn anomaly(v: &Obj, c: Common) -> Result<WeirdRecord, String> {
    let name = text(v, &["anomaly", "event"])
        .or_else(|| text(v, &["anomaly", "type"]))
        .ok_or("anomaly without `event`")?;
    let addl = [
        text(v, &["anomaly", "type"]),
        text(v, &["anomaly", "layer"]),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    Ok(WeirdRecord {
        ts: c.ts,
        uid: Some(c.uid),
        id: Some(c.id),
        name,
        addl: (!addl.is_empty()).then_some(addl),
        notice: false,
        peer: text(v, &["host"]),
        source: text(v, &["anomaly", "app_proto"]),
    })
}

/// One EVE line to a record; `Ok(None)` for event types that map to nothing.
fn event(v: &Obj) -> Result<Option<Record>, String> {
    let kind = text(v, &["event_type"]).ok_or("no `event_type`")?;
    let c = match kind.as_str() {
        "flow" | "dns" | "http" | "tls" | "ssh" | "dhcp" | "fileinfo" | "alert" | "anomaly" => {
            common(v)?
        }
        _ => return Ok(None),
    };
    Ok(Some(match kind.as_str() {
        "flow" => flow(v, c)?.into(),
        "dns" => dns(v, c)?.into(),
        "http" => http(v, c)?.into(),
        "tls" => tls(v, c)?.into(),
        "ssh" => ssh(v, c)?.into(),
        "dhcp" => dhcp(v, c)?.into(),
        "fileinfo" => fileinfo(v, c)?.into(),
        "alert" => alert(v, c)?.into(),
        _ => anomaly(v, c)?.into(),
    }))
}

impl Iterator for SuricataReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
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
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let result = serde_json::from_slice::<Obj>(line)
                .map_err(|e| format!("malformed JSON: {e}"))
                .and_then(|v| {
                    let out = event(&v);
                    if let Ok(None) = out {
                        let kind = text(&v, &["event_type"]).unwrap_or_default();
                        *self.skipped.entry(kind).or_default() += 1;
                    }
                    out
                });
            match result {
                Ok(Some(r)) => return Some(Ok(r)),
                Ok(None) => continue,
                Err(message) => {
                    return Some(Err(ReadError {
                        source: self.source.clone(),
                        place: Place::Line(self.lines.line_no()),
                        message,
                    }))
                }
            }
        }
        None
    }
}

impl RecordSource for SuricataReader {
    fn notes(&self) -> Vec<String> {
        self.skipped
            .iter()
            .map(|(kind, n)| format!("{}: skipped {n} `{kind}` events", self.source))
            .collect()
    }
}
