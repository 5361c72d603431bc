//! A time window in words, as Slips' timeline module tells it: one line per flow the
//! host started, naming the service (the port's well-known name, else what Zeek
//! recognised, else `????`), the destination by the name the host used for it (SNI,
//! HTTP host, or the DNS answer it got), the bytes each way, and what the flow's DNS,
//! HTTP, TLS or SSH record adds. Slips' warnings are kept: `No data exchange!` and
//! `Protocol not recognized by Slips nor Zeek.`

use std::collections::HashMap;

use dissectors::{Timestamp, Transport};
use serde_json::Value;

use super::types::{Flow, TimelineEntry};
use crate::ports::PortsInfo;
use crate::timefmt::iso;

/// Most DNS answers read to name the destinations of one timeline page.
pub(super) const RESOLUTIONS: usize = 2000;

const NO_DATA: &str = "No data exchange!";
const UNKNOWN_PROTOCOL: &str = "Protocol not recognized by Slips nor Zeek.";

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn human_time(ts: f64) -> String {
    let s = iso(Timestamp::from_secs_f64(ts.floor()));
    format!("{} {}", &s[..10], &s[11..19])
}

/// Bytes the way people read them: `512 B`, `12 kB`, `3.4 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.0} {}", UNITS[unit])
    }
}

fn transport(proto: &str) -> Transport {
    match proto {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        "icmp" => Transport::Icmp,
        _ => Transport::Unknown,
    }
}

/// Maps each address the host got in a DNS answer to the name it asked for; `answers`
/// are Zeek JSON dns lines, most recent first (the most recent name wins).
pub(super) fn resolutions<'a>(answers: impl Iterator<Item = &'a str>) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for line in answers {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(query) = v.get("query").and_then(Value::as_str) else {
            continue;
        };
        for a in v
            .get("answers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(a) = a.as_str().filter(|a| a.parse::<std::net::IpAddr>().is_ok()) {
                map.entry(a.to_owned()).or_insert_with(|| query.to_owned());
            }
        }
    }
    map
}

/// The service of a flow, upper case: for TLS the port's name says more (`HTTPS`,
/// `IMAPS`); otherwise what Zeek recognised, else the port's well-known name.
fn service_name(f: &Flow) -> Option<String> {
    let port_name = PortsInfo::shipped().service(f.dport, transport(&f.proto));
    let zeek = f
        .service
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "-")
        .map(|s| s.split(',').next().unwrap_or(s));
    match (zeek, port_name) {
        (Some("ssl"), Some(p)) => Some(p),
        (Some(z), _) => Some(z),
        (None, p) => p,
    }
    .map(str::to_uppercase)
}

/// Slips' names of the ICMP types it tells apart (Zeek puts the type in the source
/// port).
fn icmp_name(icmp_type: u16) -> String {
    match icmp_type {
        0 => "PING echo reply".into(),
        3 => "ICMP Destination Unreachable".into(),
        8 => "PING echo".into(),
        11 => "ICMP Time Exceeded in Transit".into(),
        13 => "ICMP Timestamp".into(),
        17 => "ICMP Address Mask".into(),
        t => format!("ICMP type {t}"),
    }
}

fn established(f: &Flow) -> bool {
    match f.proto.as_str() {
        "tcp" => matches!(
            f.conn_state.as_str(),
            "SF" | "S1" | "S2" | "S3" | "RSTO" | "RSTR"
        ),
        _ => f.resp_pkts > 0,
    }
}

fn text_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && *s != "-")
}

fn list_field(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect()
}

/// What a DNS record says, in words (`resolved example.com -> 1.2.3.4`), and whether
/// it was answered.
fn dns_words(v: &Value, details: &mut Vec<(String, String)>) -> Option<(String, bool)> {
    let query = text_field(v, "query")?;
    let answers = list_field(v, "answers");
    let rcode = text_field(v, "rcode_name");
    if let Some(q) = text_field(v, "qtype_name") {
        details.push(("query type".into(), q.into()));
    }
    if let Some(r) = rcode {
        details.push(("rcode".into(), r.into()));
    }
    Some(if rcode == Some("NXDOMAIN") {
        (format!("asked for {query}: NXDOMAIN"), true)
    } else if answers.is_empty() {
        (format!("asked for {query}: no answer"), false)
    } else {
        (format!("resolved {query} -> {}", answers.join(", ")), true)
    })
}

/// One line for the DNS transactions of a flow: repeated ones said once, and an
/// unanswered query left out when the same name was answered (a retransmission, or
/// the A and AAAA queries of one name).
fn dns_line(said: Vec<(String, String, bool)>) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    for (query, words, answered) in &said {
        let answered_elsewhere = said.iter().any(|(q, _, a)| q == query && *a);
        if (*answered || !answered_elsewhere) && !lines.contains(words) {
            lines.push(words.clone());
        }
    }
    // A chatty flow (mDNS) can carry dozens: the line says the first few.
    const SHOWN: usize = 3;
    let more = lines.len().saturating_sub(SHOWN);
    lines.truncate(SHOWN);
    let mut line = lines.join("; ");
    if more > 0 {
        line.push_str(&format!("; and {more} more"));
    }
    (!line.is_empty()).then_some(line)
}

/// Reads the flow's DNS, HTTP, TLS and SSH records: the name of the destination, words
/// that replace or extend the line, and the details.
struct Related {
    domain: Option<String>,
    dns: Option<String>,
    words: Vec<String>,
    details: Vec<(String, String)>,
}

fn read_related(records: &[(String, String)]) -> Related {
    let mut dns = Vec::new();
    let mut out = Related {
        domain: None,
        dns: None,
        words: Vec::new(),
        details: Vec::new(),
    };
    for (kind, json) in records {
        let Ok(v) = serde_json::from_str::<Value>(json) else {
            continue;
        };
        match kind.as_str() {
            "dns" => {
                if let Some((words, answered)) = dns_words(&v, &mut out.details) {
                    let query = text_field(&v, "query").unwrap_or_default().to_owned();
                    dns.push((query, words, answered));
                }
            }
            "http" => {
                let host = text_field(&v, "host");
                if out.domain.is_none() {
                    out.domain = host.map(str::to_owned);
                }
                let method = text_field(&v, "method").unwrap_or("?");
                let uri = text_field(&v, "uri").unwrap_or("");
                let mut w = format!("{method} {uri}");
                if let Some(code) = v.get("status_code").and_then(Value::as_u64) {
                    w.push_str(&format!(" -> {code}"));
                    if let Some(msg) = text_field(&v, "status_msg") {
                        w.push_str(&format!(" {msg}"));
                    }
                }
                out.words.push(w);
                if let Some(ua) = text_field(&v, "user_agent") {
                    out.details.push(("user agent".into(), ua.into()));
                }
                let mimes = list_field(&v, "resp_mime_types");
                if !mimes.is_empty() {
                    out.details.push(("MIME".into(), mimes.join(", ")));
                }
            }
            "ssl" => {
                if let Some(sni) = text_field(&v, "server_name") {
                    out.domain = Some(sni.to_owned());
                }
                if let Some(version) = text_field(&v, "version") {
                    out.details.push(("TLS version".into(), version.into()));
                }
                let trusted = match (
                    text_field(&v, "validation_status"),
                    v.get("resumed").and_then(Value::as_bool),
                ) {
                    (Some("ok"), _) => "yes",
                    (None, Some(true)) => "?? (resumed)",
                    _ => "no",
                };
                out.details.push(("trusted".into(), trusted.into()));
                if let Some(subject) = text_field(&v, "subject") {
                    let cn = subject.split(',').next().unwrap_or(subject);
                    out.details.push(("certificate".into(), cn.into()));
                }
            }
            "ssh" => {
                let login = match v.get("auth_success").and_then(Value::as_bool) {
                    Some(true) => "login successful",
                    Some(false) => "login not successful",
                    None => "login unknown",
                };
                out.words.push(login.into());
                if let Some(n) = v.get("auth_attempts").and_then(Value::as_u64) {
                    out.details.push(("auth attempts".into(), n.to_string()));
                }
                if let Some(c) = text_field(&v, "client") {
                    out.details.push(("client".into(), c.into()));
                }
                if let Some(s) = text_field(&v, "server") {
                    out.details.push(("server".into(), s.into()));
                }
            }
            _ => {}
        }
    }
    let mut seen = Vec::new();
    out.details.retain(|d| {
        let new = !seen.contains(d);
        if new {
            seen.push(d.clone());
        }
        new
    });
    out.dns = dns_line(dns);
    out
}

/// The timeline line of one flow. `records` are the flow's other records (kind, Zeek
/// JSON); `resolutions` names addresses the host resolved.
pub(super) fn entry(
    f: &Flow,
    records: Option<&Vec<(String, String)>>,
    resolutions: &HashMap<String, String>,
) -> TimelineEntry {
    let related = read_related(records.map(Vec::as_slice).unwrap_or(&[]));
    let sent = f.orig_bytes.unwrap_or(0);
    let received = f.resp_bytes.unwrap_or(0);
    let established = established(f);
    let mut warnings = Vec::new();
    let domain = related
        .domain
        .clone()
        .or_else(|| resolutions.get(&f.daddr).cloned());
    let (service, text) = if f.proto == "icmp" {
        let name = icmp_name(f.sport);
        let size = human_bytes(f.orig_ip_bytes + f.resp_ip_bytes);
        let text = format!("{name} to {}, {size}", f.daddr);
        (name, text)
    } else {
        let service = service_name(f).unwrap_or_else(|| {
            warnings.push(UNKNOWN_PROTOCOL.to_owned());
            "????".to_owned()
        });
        let endpoint = match transport(&f.proto) {
            Transport::Unknown => format!("{} (not TCP, UDP or ICMP)", f.daddr),
            _ => format!("{}:{}/{}", f.daddr, f.dport, f.proto),
        };
        let mut text = if let Some(dns) = &related.dns {
            dns.clone()
        } else {
            match &domain {
                Some(d) => format!("{service} to {d} ({endpoint})"),
                None => format!("{service} to {endpoint}"),
            }
        };
        for w in &related.words {
            text.push(' ');
            text.push_str(w);
        }
        if sent + received > 0 {
            text.push_str(&format!(
                ", {} up, {} down",
                human_bytes(sent),
                human_bytes(received)
            ));
        }
        if !established {
            text.push_str(&format!(", not established ({})", f.conn_state));
        }
        (service, text)
    };
    if f.proto != "icmp" && sent + received == 0 {
        warnings.push(NO_DATA.to_owned());
    }
    let mut details = related.details;
    if let Some(d) = f.duration {
        details.push(("duration".into(), format!("{d:.3} s")));
    }
    TimelineEntry {
        ts: f.ts,
        time: human_time(f.ts),
        uid: f.uid.clone(),
        text,
        service,
        daddr: f.daddr.clone(),
        dport: f.dport,
        proto: f.proto.clone(),
        domain,
        conn_state: f.conn_state.clone(),
        established,
        sent,
        received,
        duration: f.duration,
        warnings,
        details,
        label: f.label.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(daddr: &str, dport: u16, proto: &str, service: Option<&str>) -> Flow {
        Flow {
            uid: "C1".into(),
            ts: 1_600_000_000.5,
            profile: "10.0.0.1".into(),
            twid: 1,
            saddr: "10.0.0.1".into(),
            sport: 50000,
            daddr: daddr.into(),
            dport,
            proto: proto.into(),
            service: service.map(str::to_owned),
            duration: Some(1.5),
            orig_bytes: Some(12_000),
            resp_bytes: Some(340_000),
            conn_state: "SF".into(),
            history: None,
            orig_pkts: 10,
            orig_ip_bytes: 12_400,
            resp_pkts: 20,
            resp_ip_bytes: 341_000,
            label: "benign".into(),
        }
    }

    #[test]
    fn https_named_by_its_sni_or_the_dns_answer() {
        let f = flow("1.2.3.4", 443, "tcp", Some("ssl"));
        let ssl = vec![(
            "ssl".to_owned(),
            r#"{"server_name":"example.com","version":"TLSv13","validation_status":"ok"}"#
                .to_owned(),
        )];
        let e = entry(&f, Some(&ssl), &HashMap::new());
        assert_eq!(e.time, "2020-09-13 12:26:40");
        assert_eq!(
            e.text,
            "HTTPS to example.com (1.2.3.4:443/tcp), 12 kB up, 340 kB down"
        );
        assert!(e.details.contains(&("trusted".into(), "yes".into())));
        let names = resolutions(
            [r#"{"query":"cdn.example.org","answers":["1.2.3.4","cdn.alias"]}"#].into_iter(),
        );
        let e = entry(&flow("1.2.3.4", 443, "tcp", None), None, &names);
        assert_eq!(e.domain.as_deref(), Some("cdn.example.org"));
        assert!(e.warnings.is_empty());
    }

    #[test]
    fn dns_unknown_ports_empty_flows_and_icmp() {
        let mut f = flow("8.8.8.8", 53, "udp", Some("dns"));
        let dns = vec![(
            "dns".to_owned(),
            r#"{"query":"example.com","answers":["1.2.3.4"],"rcode_name":"NOERROR"}"#.to_owned(),
        )];
        let e = entry(&f, Some(&dns), &HashMap::new());
        assert!(e.text.starts_with("resolved example.com -> 1.2.3.4"));
        assert_eq!(e.service, "DNS");
        let retransmitted = vec![
            (
                "dns".to_owned(),
                r#"{"query":"example.com","rcode_name":"NOERROR"}"#.to_owned(),
            ),
            dns[0].clone(),
            dns[0].clone(),
        ];
        assert_eq!(
            entry(&f, Some(&retransmitted), &HashMap::new()).text,
            "resolved example.com -> 1.2.3.4, 12 kB up, 340 kB down"
        );
        let nx = vec![(
            "dns".to_owned(),
            r#"{"query":"nope.example","rcode_name":"NXDOMAIN"}"#.to_owned(),
        )];
        assert!(entry(&f, Some(&nx), &HashMap::new())
            .text
            .starts_with("asked for nope.example: NXDOMAIN"));

        f = flow("5.6.7.8", 31337, "tcp", None);
        f.orig_bytes = Some(0);
        f.resp_bytes = Some(0);
        f.resp_pkts = 0;
        f.conn_state = "S0".into();
        let e = entry(&f, None, &HashMap::new());
        assert_eq!(e.service, "????");
        assert_eq!(e.text, "???? to 5.6.7.8:31337/tcp, not established (S0)");
        assert_eq!(e.warnings, vec![UNKNOWN_PROTOCOL, NO_DATA]);
        assert!(!e.established);

        let mut ping = flow("9.9.9.9", 0, "icmp", None);
        ping.sport = 8;
        ping.orig_ip_bytes = 84;
        ping.resp_ip_bytes = 84;
        assert_eq!(
            entry(&ping, None, &HashMap::new()).text,
            "PING echo to 9.9.9.9, 168 B"
        );
    }

    #[test]
    fn http_and_ssh_words() {
        let f = flow("1.2.3.4", 80, "tcp", Some("http"));
        let http = vec![(
            "http".to_owned(),
            r#"{"method":"GET","host":"example.com","uri":"/a.exe","status_code":200,"status_msg":"OK","resp_mime_types":["application/x-dosexec"]}"#.to_owned(),
        )];
        let e = entry(&f, Some(&http), &HashMap::new());
        assert_eq!(
            e.text,
            "HTTP to example.com (1.2.3.4:80/tcp) GET /a.exe -> 200 OK, 12 kB up, 340 kB down"
        );
        let ssh = vec![(
            "ssh".to_owned(),
            r#"{"auth_success":true,"auth_attempts":2,"client":"SSH-2.0-OpenSSH_9"}"#.to_owned(),
        )];
        let e = entry(
            &flow("1.2.3.4", 22, "tcp", Some("ssh")),
            Some(&ssh),
            &HashMap::new(),
        );
        assert!(e.text.starts_with("SSH to 1.2.3.4:22/tcp login successful"));
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(340_000), "340 kB");
        assert_eq!(human_bytes(3_400_000), "3.4 MB");
    }
}
