//! `alerts.log` (one human-readable line per evidence and per alert, as Slips writes
//! them) and `alerts.json` (one IDMEFv2 object per line: `"Status": "Event"` for an
//! evidence, `"Incident"` for an alert, as `slips_files/common/idmefv2.py` builds them).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::alert::Alert;
use crate::error::Error;
use crate::evidence::{Evidence, Ioc, IocValue};
use crate::profile::{Host, Hosts};
use crate::timefmt::{iso, write_iso};
use dissectors::net::push_ip_str;
use dissectors::zeek::push_json_str;

const IDMEF_VERSION: &str = "2.0.3";

struct Sink {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Sink {
    fn create(path: PathBuf) -> Result<Self, Error> {
        let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Sink {
            out: BufWriter::with_capacity(1 << 16, f),
            path,
        })
    }

    fn line(&mut self, s: &str) -> Result<(), Error> {
        self.out
            .write_all(s.as_bytes())
            .and_then(|_| self.out.write_all(b"\n"))
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// The alert files of one run.
pub struct AlertOutputs {
    log: Option<Sink>,
    json: Option<Sink>,
    line: String,
}

impl AlertOutputs {
    /// Creates the files named in the config (an empty name: that file is not written).
    pub fn create(dir: &Path, log_name: &str, json_name: &str) -> Result<Self, Error> {
        let open = |name: &str| -> Result<Option<Sink>, Error> {
            if name.is_empty() {
                Ok(None)
            } else {
                Sink::create(dir.join(name)).map(Some)
            }
        };
        Ok(AlertOutputs {
            log: open(log_name)?,
            json: open(json_name)?,
            line: String::with_capacity(1024),
        })
    }

    pub fn none() -> Self {
        AlertOutputs {
            log: None,
            json: None,
            line: String::new(),
        }
    }

    /// Writes one evidence; `accumulated` is its window's accumulated threat after it.
    pub fn evidence(&mut self, e: &Evidence, accumulated: f64, hosts: &Hosts) -> Result<(), Error> {
        if let Some(log) = &mut self.log {
            self.line.clear();
            evidence_log_line(&mut self.line, e, hosts);
            log.line(&self.line)?;
        }
        if let Some(json) = &mut self.json {
            self.line.clear();
            evidence_json(&mut self.line, e, accumulated, hosts);
            json.line(&self.line)?;
        }
        Ok(())
    }

    pub fn alert(&mut self, a: &Alert, hosts: &Hosts) -> Result<(), Error> {
        if let Some(log) = &mut self.log {
            self.line.clear();
            alert_log_line(&mut self.line, a, hosts);
            log.line(&self.line)?;
        }
        if let Some(json) = &mut self.json {
            self.line.clear();
            alert_json(&mut self.line, a);
            json.line(&self.line)?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        for s in [&mut self.log, &mut self.json].into_iter().flatten() {
            s.out.flush().map_err(|e| Error::io(&s.path, e))?;
        }
        Ok(())
    }
}

/// The description as Slips logs it, with the threat level appended.
pub fn description_with_level(e: &Evidence) -> String {
    format!("{} threat level: {}.", e.description, e.threat_level)
}

/// `1.2.3.4` padded to 26 columns, or `1.2.3.4 (hostname)` padded the same way.
fn push_profile(out: &mut String, ip: IpAddr, host: Option<&Host>) {
    let start = out.len();
    push_ip_str(out, ip);
    if let Some(name) = host.and_then(|h| h.hostname.as_deref()) {
        let _ = write!(out, " ({name})");
    }
    while out.len() - start < 26 {
        out.push(' ');
    }
}

/// What is known about an IP that names it for a reader: resolutions, AS, rDNS, SNI
/// (Slips' `get_ip_identification`).
fn push_identification(out: &mut String, host: &Host) -> bool {
    let start = out.len();
    let sep = |out: &mut String| {
        if out.len() > start {
            out.push_str(", ");
        }
    };
    for d in host.domains.iter() {
        sep(out);
        out.push_str(d);
    }
    if host.geo.asn.is_some() || host.geo.as_org.is_some() {
        sep(out);
        out.push_str("AS:");
        if let Some(org) = &host.geo.as_org {
            let _ = write!(out, " {org}");
        }
        if let Some(n) = host.geo.asn {
            let _ = write!(out, " AS{n}");
        }
    }
    if let Some(r) = &host.rdns {
        sep(out);
        let _ = write!(out, "rDNS: {r}");
    }
    if let Some(s) = host.snis.iter().next() {
        sep(out);
        let _ = write!(out, "SNI: {s}");
    }
    out.len() > start
}

/// `<ts> (TW <n>): Src IP <profile>. Detected <description> threat level: <l>. <info>`
pub fn evidence_log_line(out: &mut String, e: &Evidence, hosts: &Hosts) {
    write_iso(out, e.timestamp);
    let _ = write!(out, " (TW {}): Src IP ", e.timewindow);
    push_profile(out, e.profile, hosts.get(e.profile));
    let _ = write!(
        out,
        ". Detected {} threat level: {}.",
        e.description, e.threat_level
    );
    let mut first = true;
    for ioc in std::iter::once(&e.attacker).chain(e.victim.as_ref()) {
        let Some(ip) = ioc.value.ip() else { continue };
        let Some(host) = hosts.get(ip) else { continue };
        let mark = out.len();
        out.push_str(if first { " " } else { ", " });
        out.push_str("IP ");
        push_ip_str(out, ip);
        out.push_str(": ");
        if push_identification(out, host) {
            first = false;
        } else {
            out.truncate(mark);
        }
    }
}

/// `<ts>: Src IP <profile>. Generated an alert given enough evidence on timewindow <n>.
/// (real time <now>)`
pub fn alert_log_line(out: &mut String, a: &Alert, hosts: &Hosts) {
    write_iso(out, a.last_evidence_ts);
    out.push_str(": Src IP ");
    push_profile(out, a.profile, hosts.get(a.profile));
    let _ = write!(
        out,
        ". Generated an alert given enough evidence on timewindow {}. (real time {})",
        a.timewindow.number,
        iso(now())
    );
}

fn now() -> dissectors::Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    dissectors::Timestamp(micros)
}

fn push_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
        if v.fract() == 0.0 && v.abs() < 1e15 {
            out.push_str(".0");
        }
    } else {
        out.push_str("null");
    }
}

fn push_analyzer(out: &mut String, method: &str) {
    out.push_str(r#""Version":""#);
    out.push_str(IDMEF_VERSION);
    out.push_str(r#"","Analyzer":{"IP":"0.0.0.0","Name":"slipstream","Model":"slipstream "#);
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str(r#"","Category":["NIDS"],"Data":["Flow","Network"],"Method":["#);
    push_json_str(out, method);
    out.push_str("]}");
}

/// The `Note` of a Source/Target: AS, rDNS and SNI of an IP, as a JSON string.
fn ioc_note(ioc: &Ioc, hosts: &Hosts) -> String {
    let mut note = String::from("{");
    if let Some(host) = ioc.value.ip().and_then(|ip| hosts.get(ip)) {
        let mut sep = false;
        if host.geo.asn.is_some() || host.geo.as_org.is_some() {
            note.push_str(r#""AS":{"org":"#);
            push_json_str(&mut note, host.geo.as_org.as_deref().unwrap_or(""));
            note.push_str(r#","number":"#);
            let n = host.geo.asn.map(|n| format!("AS{n}")).unwrap_or_default();
            push_json_str(&mut note, &n);
            note.push('}');
            sep = true;
        }
        if let Some(r) = &host.rdns {
            if sep {
                note.push(',');
            }
            note.push_str(r#""rDNS":"#);
            push_json_str(&mut note, r);
            sep = true;
        }
        if let Some(s) = host.snis.iter().next() {
            if sep {
                note.push(',');
            }
            note.push_str(r#""SNI":"#);
            push_json_str(&mut note, s);
        }
    }
    note.push('}');
    note
}

fn push_ioc(out: &mut String, ioc: &Ioc, port: Option<u16>, proto: Option<&str>, hosts: &Hosts) {
    out.push_str("[{");
    push_json_str(out, ioc.value.kind().idmef_key());
    out.push(':');
    match &ioc.value {
        IocValue::Md5(h) => push_json_str(out, &format!("md5:{h}")),
        IocValue::Ip(ip) => {
            // An address's text needs no escaping.
            out.push('"');
            push_ip_str(out, *ip);
            out.push('"');
        }
        IocValue::Domain(d) | IocValue::Url(d) => push_json_str(out, d),
        v => push_json_str(out, &v.to_string()),
    }
    out.push_str(r#","Note":"#);
    push_json_str(out, &ioc_note(ioc, hosts));
    if let Some(p) = port {
        out.push_str(r#","Port":["#);
        out.push_str(itoa::Buffer::new().format(p));
        out.push(']');
    }
    if let Some(p) = proto {
        out.push_str(r#","Protocol":["#);
        push_json_str(out, p);
        out.push(']');
    }
    out.push_str("}]");
}

/// One evidence as an IDMEFv2 `Event`, plus the `EvidenceType` (Slips' enum name).
pub fn evidence_json(out: &mut String, e: &Evidence, accumulated: f64, hosts: &Hosts) {
    out.push('{');
    push_analyzer(out, e.method.as_str());
    out.push_str(r#","Status":"Event","ID":""#);
    let _ = write!(out, "{}", e.id);
    out.push_str(r#"","Severity":""#);
    out.push_str(e.threat_level.idmef_severity());
    out.push_str(r#"","StartTime":""#);
    write_iso(out, e.timestamp);
    out.push_str(r#"","CreateTime":""#);
    write_iso(out, now());
    out.push_str(r#"","Confidence":"#);
    push_f64(out, e.confidence);
    out.push_str(r#","Description":"#);
    push_json_str(out, &description_with_level(e));
    out.push_str(r#","Source":"#);
    let proto = e.proto.map(|p| p.as_str().to_ascii_uppercase());
    push_ioc(out, &e.attacker, e.src_port, proto.as_deref(), hosts);
    if let Some(v) = &e.victim {
        out.push_str(r#","Target":"#);
        push_ioc(out, v, e.dst_port, None, hosts);
    }
    if !e.rel_id.is_empty() {
        out.push_str(r#","RelID":["#);
        for (i, id) in e.rel_id.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{id}\"");
        }
        out.push(']');
    }
    // The note is a JSON object inside a JSON string, written escaped in place: its
    // pieces (uids, numbers, a threat level's name) hold nothing to escape but quotes.
    out.push_str(r#","Note":"{\"uids\":["#);
    for (i, u) in e.uids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"\""#);
        u.write_to(out);
        out.push_str(r#"\""#);
    }
    out.push_str(r#"],\"accumulated_threat_level\":"#);
    push_f64(out, accumulated);
    out.push_str(r#",\"threat_level\":\""#);
    out.push_str(e.threat_level.as_str());
    out.push_str(r#"\",\"confidence\":"#);
    push_f64(out, e.confidence);
    out.push_str(r#",\"timewindow\":"#);
    out.push_str(itoa::Buffer::new().format(e.timewindow));
    out.push_str(r#"}""#);
    out.push_str(r#","EvidenceType":""#);
    out.push_str(e.evidence_type.as_str());
    out.push_str("\"}");
}

/// One alert as an IDMEFv2 `Incident`: the profile, the window, and the ids of the
/// evidence behind it (`CorrelID`).
pub fn alert_json(out: &mut String, a: &Alert) {
    out.push('{');
    push_analyzer(out, "Heuristic");
    let _ = write!(
        out,
        r#","Source":[{{"IP":"{}"}}],"ID":"{}""#,
        a.profile, a.id
    );
    out.push_str(r#","Status":"Incident","StartTime":""#);
    write_iso(out, a.timewindow.start);
    out.push_str(r#"","CreateTime":""#);
    write_iso(out, now());
    out.push_str(r#"","CorrelID":["#);
    for (i, id) in a.evidence_ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{id}\"");
    }
    out.push(']');
    let mut note = String::from(r#"{"accumulated_threat_level":"#);
    push_f64(&mut note, a.accumulated_threat_level);
    let _ = write!(note, r#","timewindow":{},"EndTime":""#, a.timewindow.number);
    if a.timewindow.end.0 != i64::MAX {
        write_iso(&mut note, a.timewindow.end);
    }
    let _ = write!(
        note,
        r#"","threat_level":"{}","confidence":"#,
        a.threat_level
    );
    push_f64(&mut note, a.confidence);
    note.push('}');
    out.push_str(r#","Note":"#);
    push_json_str(out, &note);
    out.push('}');
}
