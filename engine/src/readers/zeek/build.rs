//! One Zeek log line to the record the native dissectors produce for the same facts.
//! Columns absent from older Zeek versions' logs are left unset; columns that only
//! older versions write (files.log's `conn_uids`, x509.log's `id`) fill what they can.

use std::collections::HashMap;
use std::sync::OnceLock;

use dissectors::arp::{ArpOperation, ArpRecord};
use dissectors::conn::{ConnId, ConnRecord, ConnState, Transport};
use dissectors::dhcp::{message_type_name, DhcpRecord};
use dissectors::dns::{consts as dns_consts, DnsAnswer, DnsRecord, RData};
use dissectors::files::FileRecord;
use dissectors::http::HttpRecord;
use dissectors::login::LoginRecord;
use dissectors::notice::{GeoLocation, NoticeRecord};
use dissectors::smtp::SmtpRecord;
use dissectors::software::{SoftwareRecord, SoftwareType};
use dissectors::ssh::{Direction, SshRecord};
use dissectors::ssl::{consts as ssl_consts, SslRecord};
use dissectors::tunnel::TunnelRecord;
use dissectors::weird::WeirdRecord;
use dissectors::x509::{BasicConstraints, Certificate, SubjectAltName, X509Record};
use dissectors::{Interval, Record, Uid};

use super::fields::{bad_value, FieldError, FieldResult, Fields, TypedFields};
use super::schema::LogKind;
use crate::readers::values::{intern, parse_addr, parse_conn_state, parse_transport};

pub fn build<F: Fields>(kind: LogKind, f: &F) -> FieldResult<Record> {
    Ok(match kind {
        LogKind::Conn => conn(f)?.into(),
        LogKind::Dns => dns(f)?.into(),
        LogKind::Http => http(f)?.into(),
        LogKind::Ssl => ssl(f)?.into(),
        LogKind::Ssh => ssh(f)?.into(),
        LogKind::Dhcp => dhcp(f)?.into(),
        LogKind::Files => files(f)?.into(),
        LogKind::X509 => x509(f)?.into(),
        LogKind::Software => software(f)?.into(),
        LogKind::Notice => notice(f)?.into(),
        LogKind::Weird => weird(f)?.into(),
        LogKind::Arp => arp(f)?.into(),
        LogKind::Smtp => smtp(f)?.into(),
        LogKind::Tunnel => tunnel(f)?.into(),
        LogKind::Login => login(f)?.into(),
    })
}

fn transport<F: Fields>(f: &F, name: &'static str) -> FieldResult<Option<Transport>> {
    f.opt_parsed(name, "a transport (tcp, udp, icmp)", parse_transport)
}

/// The `id.*` columns, with the transport from `proto` (logs without it say unknown).
fn conn_id<F: Fields>(f: &F, proto: Option<Transport>) -> FieldResult<ConnId> {
    Ok(ConnId {
        orig_h: f.addr("id.orig_h")?,
        orig_p: f.port("id.orig_p")?,
        resp_h: f.addr("id.resp_h")?,
        resp_p: f.port("id.resp_p")?,
        proto: proto.unwrap_or(Transport::Unknown),
    })
}

/// `id.*` of logs where the connection is optional (notice, weird).
fn optional_conn_id<F: Fields>(f: &F, proto: Option<Transport>) -> FieldResult<Option<ConnId>> {
    if f.text("id.orig_h").is_none() {
        return Ok(None);
    }
    conn_id(f, proto).map(Some)
}

fn conn<F: Fields>(f: &F) -> FieldResult<ConnRecord> {
    let ts = f.time("ts")?;
    let uid = f.uid("uid", b'C')?;
    let proto = transport(f, "proto")?;
    let id = conn_id(f, proto)?;
    let conn_state = f
        .opt_parsed("conn_state", "a connection state", parse_conn_state)?
        .unwrap_or(ConnState::OTH);
    Ok(ConnRecord {
        ts,
        uid,
        id,
        service: f.opt_string("service"),
        duration: f.opt_interval("duration")?,
        orig_bytes: f.opt_count("orig_bytes")?,
        resp_bytes: f.opt_count("resp_bytes")?,
        conn_state,
        local_orig: f.opt_bool("local_orig")?,
        local_resp: f.opt_bool("local_resp")?,
        missed_bytes: f.count_or_zero("missed_bytes")?,
        history: f.opt_string("history"),
        orig_pkts: f.count_or_zero("orig_pkts")?,
        orig_ip_bytes: f.count_or_zero("orig_ip_bytes")?,
        resp_pkts: f.count_or_zero("resp_pkts")?,
        resp_ip_bytes: f.count_or_zero("resp_ip_bytes")?,
        tunnel_parents: f
            .list("tunnel_parents")
            .map(|v| v.iter().map(|u| parse_uid_c(u)).collect()),
        ip_proto: f.opt_small("ip_proto")?,
        interface: None,
        // Stratosphere's labelled logs (netflowlabeler) add `label` and `detailedlabel`.
        ground_truth: f
            .text("label")
            .and_then(|l| dissectors::GroundTruth::from_label(&l)),
    })
}

fn parse_uid_c(s: &str) -> Uid {
    crate::readers::values::parse_uid(s, b'C')
}

fn parse_fuid(s: &str) -> Uid {
    crate::readers::values::parse_uid(s, b'F')
}

fn dns<F: Fields>(f: &F) -> FieldResult<DnsRecord> {
    let proto = transport(f, "proto")?;
    let id = conn_id(f, proto)?;
    let query = f.opt_string("query");
    let opcode: Option<u8> = f.opt_small("opcode")?;
    // NetBIOS name service has its own opcode names; the logged name tells which table.
    let netbios = match (opcode, f.text("opcode_name")) {
        (Some(o), Some(name)) => {
            name != dns_consts::opcode_name(o) && name == dns_consts::netbios_opcode_name(o)
        }
        _ => false,
    };
    let answers = match f.list("answers") {
        None => None,
        Some(texts) => {
            let ttls = f
                .opt_list_of(
                    "TTLs",
                    "an interval",
                    crate::readers::values::parse_interval,
                )?
                .unwrap_or_default();
            Some(
                texts
                    .iter()
                    .enumerate()
                    .map(|(i, text)| dns_answer(query.as_deref(), text, ttls.get(i).copied()))
                    .collect(),
            )
        }
    };
    Ok(DnsRecord {
        ts: f.time("ts")?,
        uid: f.uid("uid", b'C')?,
        id,
        trans_id: f.opt_small("trans_id")?.unwrap_or(0),
        rtt: f.opt_interval("rtt")?,
        query,
        qclass: f.opt_small("qclass")?,
        qtype: f.opt_small("qtype")?,
        rcode: f.opt_small("rcode")?,
        aa: f.bool_or_false("AA")?,
        tc: f.bool_or_false("TC")?,
        rd: f.bool_or_false("RD")?,
        ra: f.bool_or_false("RA")?,
        z: f.opt_small("Z")?.unwrap_or(0),
        answers,
        rejected: f.bool_or_false("rejected")?,
        opcode,
        netbios,
    })
}

/// dns.log keeps each answer as rendered text and its TTL; the owner name and type are
/// not logged, so the name is the query and the type is told from the text where it
/// can be (A/AAAA addresses, `TXT`/`SPF` strings), 0 otherwise.
fn dns_answer(query: Option<&str>, text: &str, ttl: Option<Interval>) -> DnsAnswer {
    let (rtype, data) = match parse_addr(text) {
        Some(a @ std::net::IpAddr::V4(_)) => (1, RData::Addr(a)),
        Some(a) => (28, RData::Addr(a)),
        None if text.starts_with("TXT ") => (16, RData::Text(text.to_string())),
        None if text.starts_with("SPF ") => (99, RData::Text(text.to_string())),
        None => (0, RData::Text(text.to_string())),
    };
    DnsAnswer {
        name: query.unwrap_or_default().to_string(),
        rtype,
        class: 1,
        ttl: ttl.map_or(0, |t| {
            (t.0 / 1_000_000).clamp(0, i64::from(u32::MAX)) as u32
        }),
        data,
    }
}

fn interned_list<F: Fields>(f: &F, name: &'static str) -> Option<Vec<&'static str>> {
    f.list(name).map(|v| v.iter().map(|s| intern(s)).collect())
}

fn http<F: Fields>(f: &F) -> FieldResult<HttpRecord> {
    let id = conn_id(f, Some(Transport::Tcp))?;
    let mut r = HttpRecord::new(
        f.time("ts")?,
        f.uid("uid", b'C')?,
        id,
        f.count_or_zero("trans_depth")?,
    );
    r.method = f.opt_string("method");
    r.host = f.opt_string("host");
    r.uri = f.opt_string("uri");
    r.referrer = f.opt_string("referrer");
    r.version = f.opt_string("version");
    r.user_agent = f.opt_string("user_agent");
    r.origin = f.opt_string("origin");
    r.request_body_len = f.count_or_zero("request_body_len")?;
    r.response_body_len = f.count_or_zero("response_body_len")?;
    r.status_code = f.opt_count("status_code")?;
    r.status_msg = f.opt_string("status_msg");
    r.info_code = f.opt_count("info_code")?;
    r.info_msg = f.opt_string("info_msg");
    r.tags = interned_list(f, "tags").unwrap_or_default();
    r.username = f.opt_string("username");
    r.password = f.opt_string("password");
    r.proxied = f.opt_strings("proxied");
    r.orig_fuids = f
        .list("orig_fuids")
        .map(|v| v.iter().map(|s| parse_fuid(s)).collect());
    r.orig_filenames = f.opt_strings("orig_filenames");
    r.orig_mime_types = interned_list(f, "orig_mime_types");
    r.resp_fuids = f
        .list("resp_fuids")
        .map(|v| v.iter().map(|s| parse_fuid(s)).collect());
    r.resp_filenames = f.opt_strings("resp_filenames");
    r.resp_mime_types = interned_list(f, "resp_mime_types");
    Ok(r)
}

/// Name-to-code tables for the names ssl.log prints, built once from the dissector's own
/// code-to-name tables so both directions agree.
struct SslNames {
    versions: HashMap<String, u16>,
    ciphers: HashMap<String, u32>,
    curves: HashMap<String, u16>,
    alerts: HashMap<String, u16>,
}

fn ssl_names() -> &'static SslNames {
    static NAMES: OnceLock<SslNames> = OnceLock::new();
    NAMES.get_or_init(|| {
        let known16 = |name: fn(u16) -> std::borrow::Cow<'static, str>, max: u16| {
            (0..=max)
                .filter_map(|c| match name(c) {
                    std::borrow::Cow::Borrowed(n) => Some((n.to_string(), c)),
                    std::borrow::Cow::Owned(_) => None,
                })
                .collect::<HashMap<_, _>>()
        };
        // TLS suites are 16-bit codes; SSLv2 cipher specs are `kind << 16 | 0x40/0x80/0xc0`.
        let sslv2 = (1..=8u32).flat_map(|k| [0x40, 0x80, 0xc0].map(|m| (k << 16) | m));
        let ciphers = (0..=0xffffu32)
            .chain(sslv2)
            .filter_map(|c| match ssl_consts::cipher_name(c) {
                std::borrow::Cow::Borrowed(n) => Some((n.to_string(), c)),
                std::borrow::Cow::Owned(_) => None,
            })
            .collect();
        SslNames {
            versions: known16(ssl_consts::version_name, u16::MAX),
            ciphers,
            curves: known16(ssl_consts::curve_name, u16::MAX),
            alerts: known16(ssl_consts::alert_name, 255),
        }
    })
}

/// A name from one of the tables, or Zeek's `unknown-N` default for codes it has no name for.
fn code_from_name<T: Copy + TryFrom<u64>>(table: &HashMap<String, T>, name: &str) -> Option<T> {
    if let Some(&c) = table.get(name) {
        return Some(c);
    }
    let n = name.strip_prefix("unknown-")?.parse::<u64>().ok()?;
    T::try_from(n).ok()
}

fn ssl<F: Fields>(f: &F) -> FieldResult<SslRecord> {
    let names = ssl_names();
    let named = |field: &'static str, what: &'static str, table: &dyn Fn(&str) -> Option<u32>| {
        f.opt_parsed(field, what, table)
    };
    let version = named("version", "a TLS version name", &|s| {
        if let Some(d) = s.strip_prefix("TLSv13-draft") {
            return d.parse::<u32>().ok().map(|d| 0x7f00 + d);
        }
        code_from_name(&names.versions, s).map(u32::from)
    })?;
    let cipher = named("cipher", "a cipher suite name", &|s| {
        code_from_name(&names.ciphers, s)
    })?;
    let curve = named("curve", "a curve name", &|s| {
        code_from_name(&names.curves, s).map(u32::from)
    })?;
    let last_alert = named("last_alert", "an alert name", &|s| {
        code_from_name(&names.alerts, s).map(u32::from)
    })?;
    let narrow = |v: Option<u32>, field: &'static str| -> FieldResult<Option<u16>> {
        v.map(|c| u16::try_from(c).map_err(|_| bad_value(field, &c.to_string(), "16 bits")))
            .transpose()
    };
    Ok(SslRecord {
        ts: f.time("ts")?,
        uid: f.uid("uid", b'C')?,
        id: conn_id(f, Some(Transport::Tcp))?,
        version: narrow(version, "version")?,
        cipher,
        curve: narrow(curve, "curve")?,
        server_name: f.opt_string("server_name"),
        resumed: f.bool_or_false("resumed")?,
        last_alert: narrow(last_alert, "last_alert")?,
        next_protocol: f.opt_string("next_protocol"),
        established: f.bool_or_false("established")?,
        ssl_history: f.opt_string("ssl_history").unwrap_or_default(),
        cert_chain_fps: f.opt_strings("cert_chain_fps"),
        client_cert_chain_fps: f.opt_strings("client_cert_chain_fps"),
        sni_matches_cert: f.opt_bool("sni_matches_cert")?,
        ja3: f.opt_string("ja3"),
        ja3s: f.opt_string("ja3s"),
        ja4: f.opt_string("ja4"),
        subject: f.opt_string("subject"),
        issuer: f.opt_string("issuer"),
        not_valid_before: f.opt_time("not_valid_before")?,
        not_valid_after: f.opt_time("not_valid_after")?,
    })
}

fn ssh<F: Fields>(f: &F) -> FieldResult<SshRecord> {
    let direction = f.opt_parsed("direction", "INBOUND or OUTBOUND", |s| match s {
        "INBOUND" => Some(Direction::Inbound),
        "OUTBOUND" => Some(Direction::Outbound),
        _ => None,
    })?;
    Ok(SshRecord {
        ts: f.time("ts")?,
        uid: f.uid("uid", b'C')?,
        id: conn_id(f, Some(Transport::Tcp))?,
        version: f.opt_count("version")?,
        auth_success: f.opt_bool("auth_success")?,
        auth_attempts: f.count_or_zero("auth_attempts")?,
        direction,
        client: f.opt_string("client"),
        server: f.opt_string("server"),
        cipher_alg: f.opt_string("cipher_alg"),
        mac_alg: f.opt_string("mac_alg"),
        compression_alg: f.opt_string("compression_alg"),
        kex_alg: f.opt_string("kex_alg"),
        host_key_alg: f.opt_string("host_key_alg"),
        host_key_fingerprint: f
            .opt_string("host_key_fingerprint")
            .or_else(|| f.opt_string("host_key")),
    })
}

fn dhcp_message_code(name: &str) -> Option<u8> {
    (0..=u8::MAX).find(|&t| message_type_name(t) == name)
}

fn dhcp<F: Fields>(f: &F) -> FieldResult<DhcpRecord> {
    let ts = f.time("ts")?;
    let duration = f.opt_interval("duration")?.unwrap_or_default();
    Ok(DhcpRecord {
        ts,
        uids: f
            .list("uids")
            .map(|v| v.iter().map(|u| parse_uid_c(u)).collect())
            .unwrap_or_default(),
        client_addr: f.opt_addr("client_addr")?,
        server_addr: f.opt_addr("server_addr")?,
        client_port: f.opt_port("client_port")?,
        server_port: f.opt_port("server_port")?,
        mac: f.opt_string("mac"),
        host_name: f.opt_string("host_name"),
        client_fqdn: f.opt_string("client_fqdn"),
        domain: f.opt_string("domain"),
        requested_addr: f.opt_addr("requested_addr")?,
        assigned_addr: f.opt_addr("assigned_addr")?,
        lease_time: f.opt_interval("lease_time")?,
        client_message: f.opt_string("client_message"),
        server_message: f.opt_string("server_message"),
        msg_types: f
            .opt_list_of("msg_types", "a DHCP message type", dhcp_message_code)?
            .unwrap_or_default(),
        duration,
        client_chaddr: None,
        last_message_ts: ts.saturating_add(duration),
    })
}

fn files<F: Fields>(f: &F) -> FieldResult<FileRecord> {
    // Zeek before 5.0 logs the connections as `conn_uids` and hosts as sets, no `id`.
    let uid = f.opt_uid("uid", b'C').or_else(|| {
        f.list("conn_uids")
            .and_then(|v| v.first().map(|u| parse_uid_c(u)))
    });
    let id = if f.text("id.orig_h").is_some() {
        Some(conn_id(f, None)?)
    } else {
        None
    };
    Ok(FileRecord {
        ts: f.time("ts")?,
        fuid: f.uid("fuid", b'F')?,
        uid,
        id,
        source: f.text("source").map(|s| intern(&s)),
        depth: f.count_or_zero("depth")?,
        analyzers: interned_list(f, "analyzers").unwrap_or_default(),
        mime_type: f.text("mime_type").map(|s| intern(&s)),
        filename: f.opt_string("filename"),
        duration: f.opt_interval("duration")?.unwrap_or_default(),
        local_orig: f.opt_bool("local_orig")?,
        is_orig: f.opt_bool("is_orig")?,
        seen_bytes: f.count_or_zero("seen_bytes")?,
        total_bytes: f.opt_count("total_bytes")?,
        missing_bytes: f.count_or_zero("missing_bytes")?,
        overflow_bytes: f.count_or_zero("overflow_bytes")?,
        timedout: f.bool_or_false("timedout")?,
        parent_fuid: f.opt_uid("parent_fuid", b'F'),
        md5: f.opt_string("md5"),
        sha1: f.opt_string("sha1"),
        sha256: f.opt_string("sha256"),
        extracted: f.opt_string("extracted"),
        extracted_cutoff: f.opt_bool("extracted_cutoff")?,
        extracted_size: f.opt_count("extracted_size")?,
        pending_digests: None,
    })
}

/// The last `CN=` value of a subject as Zeek renders it.
fn common_name(subject: &str) -> Option<String> {
    subject
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("CN="))
        .next()
        .map(str::to_string)
}

fn x509<F: Fields>(f: &F) -> FieldResult<X509Record> {
    // Before Zeek 5.0 the certificate is named by its file id (`id`), not a fingerprint.
    let fingerprint = f
        .opt_string("fingerprint")
        .or_else(|| f.opt_string("id"))
        .ok_or(FieldError::Missing("fingerprint"))?;
    let subject = f.opt_string("certificate.subject").unwrap_or_default();
    let san_dns = f.opt_strings("san.dns");
    let san_uri = f.opt_strings("san.uri");
    let san_email = f.opt_strings("san.email");
    let san_ip = f.opt_list_of("san.ip", "an address", parse_addr)?;
    let any_san = san_dns.is_some() || san_uri.is_some() || san_email.is_some() || san_ip.is_some();
    let san = any_san.then_some(SubjectAltName {
        dns: san_dns,
        uri: san_uri,
        email: san_email,
        ip: san_ip,
        other_fields: false,
    });
    let basic_constraints = f
        .opt_bool("basic_constraints.ca")?
        .map(|ca| BasicConstraints { ca, path_len: None });
    let basic_constraints = match basic_constraints {
        Some(mut b) => {
            b.path_len = f.opt_count("basic_constraints.path_len")?;
            Some(b)
        }
        None => None,
    };
    // Certificates read from logs have no DER, so no raw SAN names for hostname checks.
    let mut certificate = Certificate::default();
    certificate.version = f.count_or_zero("certificate.version")?;
    certificate.serial = f.opt_string("certificate.serial").unwrap_or_default();
    certificate.cn = common_name(&subject);
    certificate.subject = subject;
    certificate.issuer = f.opt_string("certificate.issuer").unwrap_or_default();
    certificate.not_valid_before = f
        .opt_time("certificate.not_valid_before")?
        .unwrap_or_default();
    certificate.not_valid_after = f
        .opt_time("certificate.not_valid_after")?
        .unwrap_or_default();
    certificate.key_alg = f.opt_string("certificate.key_alg").unwrap_or_default();
    certificate.sig_alg = f.opt_string("certificate.sig_alg").unwrap_or_default();
    certificate.key_type = f.text("certificate.key_type").map(|s| intern(&s));
    certificate.key_length = f.opt_count("certificate.key_length")?;
    certificate.exponent = f.opt_string("certificate.exponent");
    certificate.curve = f.text("certificate.curve").map(|s| intern(&s));
    certificate.san = san;
    certificate.basic_constraints = basic_constraints;
    Ok(X509Record {
        ts: f.time("ts")?,
        // x509.log names no connection; the uid stays zero.
        uid: Uid::default(),
        fingerprint,
        certificate,
        host_cert: f.bool_or_false("host_cert")?,
        client_cert: f.bool_or_false("client_cert")?,
    })
}

const SOFTWARE_TYPES: [SoftwareType; 17] = [
    SoftwareType::Unknown,
    SoftwareType::SshServer,
    SoftwareType::SshClient,
    SoftwareType::HttpBrowser,
    SoftwareType::HttpServer,
    SoftwareType::HttpAppServer,
    SoftwareType::HttpBrowserPlugin,
    SoftwareType::HttpWebApplication,
    SoftwareType::FtpClient,
    SoftwareType::FtpServer,
    SoftwareType::SmtpMailClient,
    SoftwareType::SmtpMailServer,
    SoftwareType::SmtpWebmailServer,
    SoftwareType::MysqlServer,
    SoftwareType::DhcpServer,
    SoftwareType::DhcpClient,
    SoftwareType::OsWindows,
];

fn software<F: Fields>(f: &F) -> FieldResult<SoftwareRecord> {
    let software_type = f
        .text("software_type")
        .map(|s| {
            SOFTWARE_TYPES
                .into_iter()
                .find(|t| t.as_str() == s)
                .unwrap_or(SoftwareType::Unknown)
        })
        .unwrap_or(SoftwareType::Unknown);
    Ok(SoftwareRecord {
        ts: f.time("ts")?,
        host: f.addr("host")?,
        host_p: f.opt_port("host_p")?,
        software_type,
        name: f.opt_string("name"),
        major: f.opt_count("version.major")?,
        minor: f.opt_count("version.minor")?,
        minor2: f.opt_count("version.minor2")?,
        minor3: f.opt_count("version.minor3")?,
        addl: f.opt_string("version.addl"),
        unparsed_version: f.opt_string("unparsed_version"),
    })
}

fn notice<F: Fields>(f: &F) -> FieldResult<NoticeRecord> {
    let proto = transport(f, "proto")?;
    Ok(NoticeRecord {
        ts: f.time("ts")?,
        uid: f.opt_uid("uid", b'C'),
        id: optional_conn_id(f, proto)?,
        fuid: f.opt_string("fuid"),
        file_mime_type: f.opt_string("file_mime_type"),
        file_desc: f.opt_string("file_desc"),
        proto,
        note: f.opt_string("note").ok_or(FieldError::Missing("note"))?,
        msg: f.opt_string("msg"),
        sub: f.opt_string("sub"),
        src: f.opt_addr("src")?,
        dst: f.opt_addr("dst")?,
        p: f.opt_port("p")?,
        n: f.opt_count("n")?,
        peer_descr: f.opt_string("peer_descr"),
        actions: f.opt_strings("actions").unwrap_or_default(),
        email_dest: f.opt_strings("email_dest"),
        suppress_for: f.opt_interval("suppress_for")?,
        remote_location: GeoLocation {
            country_code: f.opt_string("remote_location.country_code"),
            region: f.opt_string("remote_location.region"),
            city: f.opt_string("remote_location.city"),
            latitude: f.opt_double("remote_location.latitude")?,
            longitude: f.opt_double("remote_location.longitude")?,
        },
    })
}

fn weird<F: Fields>(f: &F) -> FieldResult<WeirdRecord> {
    Ok(WeirdRecord {
        ts: f.time("ts")?,
        uid: f.opt_uid("uid", b'C'),
        id: optional_conn_id(f, None)?,
        name: f.opt_string("name").ok_or(FieldError::Missing("name"))?,
        addl: f.opt_string("addl"),
        notice: f.bool_or_false("notice")?,
        peer: f.opt_string("peer"),
        source: f.opt_string("source"),
    })
}

fn arp<F: Fields>(f: &F) -> FieldResult<ArpRecord> {
    let operation = f
        .opt_parsed("operation", "request or reply", |s| match s {
            "request" => Some(ArpOperation::Request),
            "reply" => Some(ArpOperation::Reply),
            _ => None,
        })?
        .ok_or(FieldError::Missing("operation"))?;
    let text = |name: &'static str| f.opt_string(name).ok_or(FieldError::Missing(name));
    Ok(ArpRecord {
        ts: f.time("ts")?,
        operation,
        src_mac: text("src_mac")?,
        dst_mac: text("dst_mac")?,
        orig_h: f.addr("orig_h")?,
        resp_h: f.addr("resp_h")?,
        orig_hw: text("orig_hw")?,
        resp_hw: text("resp_hw")?,
    })
}

fn smtp<F: Fields>(f: &F) -> FieldResult<SmtpRecord> {
    Ok(SmtpRecord {
        ts: f.time("ts")?,
        uid: f.uid("uid", b'C')?,
        id: conn_id(f, Some(Transport::Tcp))?,
        trans_depth: f.count_or_zero("trans_depth")?,
        helo: f.opt_string("helo"),
        mailfrom: f.opt_string("mailfrom"),
        rcptto: f.opt_strings("rcptto"),
        date: f.opt_string("date"),
        from: f.opt_string("from"),
        to: f.opt_strings("to"),
        cc: f.opt_strings("cc"),
        reply_to: f.opt_string("reply_to"),
        msg_id: f.opt_string("msg_id"),
        in_reply_to: f.opt_string("in_reply_to"),
        subject: f.opt_string("subject"),
        x_originating_ip: f.opt_addr("x_originating_ip")?,
        first_received: f.opt_string("first_received"),
        second_received: f.opt_string("second_received"),
        last_reply: f.opt_string("last_reply"),
        path: f.opt_list_of("path", "an address", parse_addr)?,
        user_agent: f.opt_string("user_agent"),
        tls: f.bool_or_false("tls")?,
        fuids: f.opt_strings("fuids"),
        is_webmail: f.bool_or_false("is_webmail")?,
    })
}

/// Slips' login.log (telnet, rlogin, rsh): its `proto` names the application protocol,
/// not the transport, which is TCP for all three.
fn login<F: Fields>(f: &F) -> FieldResult<LoginRecord> {
    Ok(LoginRecord {
        ts: f.time("ts")?,
        uid: f.uid("uid", b'C')?,
        id: conn_id(f, Some(Transport::Tcp))?,
        proto: f.opt_string("proto"),
        success: f.bool_or_false("success")?,
        confused: f.bool_or_false("confused")?,
        user: f.opt_string("user"),
        client_user: f.opt_string("client_user"),
        password: f.opt_string("password"),
    })
}

fn tunnel<F: Fields>(f: &F) -> FieldResult<TunnelRecord> {
    Ok(TunnelRecord {
        ts: f.time("ts")?,
        uid: f.uid("uid", b'C')?,
        id: conn_id(f, None)?,
        tunnel_type: f
            .opt_string("tunnel_type")
            .ok_or(FieldError::Missing("tunnel_type"))?,
        action: f
            .opt_string("action")
            .ok_or(FieldError::Missing("action"))?,
    })
}
