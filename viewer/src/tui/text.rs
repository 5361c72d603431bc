//! What `detectors::query` returns, as terminal lines: one line per row of a list, and
//! the longer text of the inspect pane. Colours repeat what the text says (a level
//! name, a `!` for an alert), so nothing is lost on a terminal without colour.

use detectors::query::{
    human_bytes, human_time, AlertDetail, AlertRow, EvidenceRow, Flow, HostInfo, Overview,
    ProfileRow, TimelineEntry, WindowRow,
};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// The colour of a Slips threat level.
pub fn level_style(level: Option<&str>) -> Style {
    match level {
        Some("critical") => Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        Some("high") => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Some("medium") => Style::new().fg(Color::Yellow),
        Some("low") => Style::new().fg(Color::Cyan),
        _ => Style::new(),
    }
}

fn alert_style() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// `HH:MM:SS` of a time (the date is in the window's title).
pub fn clock(ts: f64) -> String {
    human_time(ts)[11..].to_owned()
}

pub fn overview(o: &Overview) -> Line<'static> {
    let state = if o.finished {
        Span::raw("finished")
    } else {
        Span::styled(
            "LIVE",
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        )
    };
    let mut spans = vec![
        Span::styled(
            " slipstream ",
            Style::new().add_modifier(Modifier::REVERSED),
        ),
        Span::raw(format!(" {}  ", o.path)),
        state,
        Span::raw(format!(
            " · {} flows · {} profiles · {} evidence · ",
            o.flows, o.profiles, o.evidence
        )),
    ];
    let alerts = format!("{} alerts", o.alerts);
    spans.push(if o.alerts > 0 {
        Span::styled(alerts, alert_style())
    } else {
        Span::raw(alerts)
    });
    if let (Some(first), Some(last)) = (o.first_ts, o.last_ts) {
        spans.push(Span::styled(
            format!(" · {} – {}", human_time(first), human_time(last)),
            dim(),
        ));
    }
    Line::from(spans)
}

/// `! 192.168.1.5  high  2 alerts`: a `!` and colour when an alert was raised.
pub fn profile(p: &ProfileRow) -> Line<'static> {
    let level = p.threat_level.as_deref();
    let mut spans = vec![
        if p.alerted {
            Span::styled("! ", alert_style())
        } else {
            Span::raw("  ")
        },
        Span::styled(
            format!("{:<15} ", p.ip),
            if p.alerted {
                alert_style()
            } else {
                Style::new()
            },
        ),
        Span::styled(format!("{:<8}", level.unwrap_or("-")), level_style(level)),
    ];
    if p.alerts > 0 {
        spans.push(Span::styled(format!(" {}A", p.alerts), alert_style()));
    } else if p.evidence > 0 {
        spans.push(Span::styled(format!(" {}e", p.evidence), dim()));
    }
    Line::from(spans)
}

/// `TW 1  20:49:16  566 out  6 ev  2 alerts`.
pub fn window(w: &WindowRow) -> Line<'static> {
    let level = w.max_threat_level.as_deref();
    let mut spans = vec![
        Span::styled(
            format!("TW{:<3} ", w.twid),
            if w.alerts > 0 {
                alert_style()
            } else {
                level_style(level)
            },
        ),
        Span::raw(format!("{} ", clock(w.start))),
        Span::raw(format!("{:>5}↑ {:>4}↓ ", w.flows_out, w.flows_in)),
    ];
    if w.alerts > 0 {
        spans.push(Span::styled(format!("{}A ", w.alerts), alert_style()));
    }
    if w.evidence > 0 {
        spans.push(Span::styled(format!("{}e", w.evidence), level_style(level)));
    }
    Line::from(spans)
}

/// The title of a window's detail: its number and span.
pub fn window_span(w: &WindowRow) -> String {
    match w.end {
        Some(end) => format!("TW {}: {} – {}", w.twid, human_time(w.start), clock(end)),
        None => format!("TW {}: from {}", w.twid, human_time(w.start)),
    }
}

/// The lines at the top of a profile: names, ASN and place, threat, threat intel.
pub fn host(h: &HostInfo) -> Vec<Line<'static>> {
    let mut names = vec![Span::styled(
        h.ip.clone(),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    for (label, v) in [
        ("host", &h.hostname),
        ("rDNS", &h.rdns),
        ("MAC", &h.mac),
        ("", &h.vendor),
    ] {
        if let Some(v) = v {
            names.push(Span::raw(if label.is_empty() {
                format!(" ({v})")
            } else {
                format!("  {label} {v}")
            }));
        }
    }
    if h.dhcp_server {
        names.push(Span::raw("  DHCP server"));
    }

    let mut place = Vec::new();
    match (h.asn, &h.as_org) {
        (Some(asn), Some(org)) => place.push(format!("AS{asn} {org}")),
        (Some(asn), None) => place.push(format!("AS{asn}")),
        (None, Some(org)) => place.push(org.clone()),
        (None, None) => place.push("ASN unknown".to_owned()),
    }
    match (&h.country, &h.city) {
        (Some(c), Some(city)) => place.push(format!("{c}, {city}")),
        (Some(c), None) => place.push(c.clone()),
        _ => place.push("country unknown".to_owned()),
    }
    if let (Some(first), Some(last)) = (h.first_seen, h.last_seen) {
        place.push(format!("seen {} – {}", human_time(first), human_time(last)));
    }

    let level = h.threat_level.as_deref();
    let mut threat = vec![
        Span::raw("threat level "),
        Span::styled(level.unwrap_or("none").to_owned(), level_style(level)),
    ];
    if let Some(max) = &h.max_threat_level {
        threat.push(Span::raw(" (max "));
        threat.push(Span::styled(max.clone(), level_style(Some(max))));
        threat.push(Span::raw(")"));
    }
    if let Some(c) = h.confidence {
        threat.push(Span::raw(format!(" confidence {c:.2}")));
    }
    threat.push(Span::raw(format!(
        " · {} flows out · {} in",
        h.flows_out, h.flows_in
    )));
    if !h.software.is_empty() {
        let sw: Vec<String> = h
            .software
            .iter()
            .map(|s| match (s.version_major, s.version_minor) {
                (Some(a), Some(b)) => format!("{} {a}.{b}", s.name),
                (Some(a), None) => format!("{} {a}", s.name),
                _ => s.name.clone(),
            })
            .collect();
        threat.push(Span::raw(format!(" · software {}", sw.join(", "))));
    }
    if !h.complete {
        threat.push(Span::styled(" · run in progress", dim()));
    }

    // Before the names seen (the line is cut at the panel's edge); after a hit.
    let mut virustotal = Vec::new();
    if let Some(v) = &h.virustotal {
        virustotal.push(format!("VirusTotal {}", v.summary()));
    }
    for d in &h.domains_virustotal {
        virustotal.push(format!(
            "{} on VirusTotal {}",
            d.domain,
            d.virustotal.summary()
        ));
    }
    let virustotal = Span::raw(if virustotal.is_empty() {
        String::new()
    } else {
        format!(" · {}", virustotal.join(" · "))
    });
    let intel = if h.threat_intel.is_empty() {
        let mut seen = Vec::new();
        if !h.domains.is_empty() {
            seen.push(format!("domains {}", h.domains.join(", ")));
        }
        if !h.snis.is_empty() {
            seen.push(format!("SNI {}", h.snis.join(", ")));
        }
        Line::from(vec![
            Span::raw("threat intel: none"),
            virustotal,
            Span::styled(
                if seen.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", seen.join(" · "))
                },
                dim(),
            ),
        ])
    } else {
        let first = &h.threat_intel[0];
        Line::from(vec![
            Span::styled(
                format!("threat intel: {} hit(s): ", h.threat_intel.len()),
                alert_style(),
            ),
            Span::raw(first.description.clone()),
            virustotal,
        ])
    };

    vec![
        Line::from(names),
        Line::from(place.join(" · ")),
        Line::from(threat),
        intel,
    ]
}

pub fn timeline(t: &TimelineEntry) -> Line<'static> {
    let mut spans = vec![
        Span::styled(format!("{} ", &t.time[11..]), dim()),
        label_mark(&t.label),
        Span::raw(t.text.clone()),
    ];
    for w in &t.warnings {
        spans.push(Span::styled(
            format!("  {w}"),
            Style::new().fg(Color::Yellow),
        ));
    }
    Line::from(spans)
}

fn endpoint(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// `! ` before a flow behind an alert (labelled malicious when the run ended).
fn label_mark(label: &str) -> Span<'static> {
    if label == "malicious" {
        Span::styled("! ", alert_style())
    } else {
        Span::raw("  ")
    }
}

pub fn flow(f: &Flow) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{} ", clock(f.ts)), dim()),
        label_mark(&f.label),
        Span::raw(format!(
            "{:<21} → {:<21} {:<4} {:<5} {:<6} {:>7} ↑ {:>7} ↓",
            endpoint(&f.saddr, f.sport),
            endpoint(&f.daddr, f.dport),
            f.proto,
            f.service.as_deref().unwrap_or("-"),
            f.conn_state,
            human_bytes(f.orig_ip_bytes),
            human_bytes(f.resp_ip_bytes),
        )),
    ])
}

pub fn evidence(e: &EvidenceRow) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{} ", clock(e.ts)), dim()),
        Span::styled(
            format!("{:<8} ", e.threat_level),
            level_style(Some(&e.threat_level)),
        ),
        Span::styled(
            format!("{} ", e.evidence_type),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(e.description.clone()),
    ])
}

pub fn alert(a: &AlertRow) -> Line<'static> {
    Line::from(vec![
        Span::styled("! ", alert_style()),
        Span::styled(format!("{} ", clock(a.ts)), dim()),
        Span::styled(
            format!("{:<8} ", a.threat_level),
            level_style(Some(&a.threat_level)),
        ),
        Span::raw(format!(
            "{} evidence · accumulated threat {:.2} · confidence {:.2}",
            a.evidence_ids.len(),
            a.accumulated_threat_level,
            a.confidence
        )),
    ])
}

fn heading(s: String) -> Line<'static> {
    Line::styled(s, Style::new().add_modifier(Modifier::BOLD))
}

fn indented(mut line: Line<'static>, by: &'static str) -> Line<'static> {
    line.spans.insert(0, Span::raw(by));
    line
}

/// The flows of `uids` among `flows`, each once, indented under their evidence.
fn flows_of(uids: &[String], flows: &[Flow], out: &mut Vec<Line<'static>>) {
    let mut listed = 0;
    for f in flows.iter().filter(|f| uids.contains(&f.uid)) {
        out.push(indented(flow(f), "      "));
        listed += 1;
    }
    if uids.is_empty() {
        out.push(Line::styled("      (no flow recorded)", dim()));
    } else if listed < uids.len() {
        out.push(Line::styled(
            format!("      ({} more flows not listed)", uids.len() - listed),
            dim(),
        ));
    }
}

/// An alert, then each of its evidence with the flows behind it.
pub fn alert_detail(d: &AlertDetail) -> Vec<Line<'static>> {
    let a = &d.alert;
    let mut out = vec![
        alert(a),
        Line::from(format!(
            "profile {} · TW {} · {} – {} · id {}",
            a.profile,
            a.twid,
            human_time(a.tw_start),
            a.tw_end.map_or_else(|| "…".to_owned(), clock),
            a.id
        )),
        heading(format!("{} evidence, with their flows:", d.evidence.len())),
    ];
    for e in &d.evidence {
        out.push(indented(evidence(e), "  "));
        flows_of(&e.uids, &d.flows, &mut out);
    }
    if d.flows_truncated {
        out.push(Line::styled(
            format!(
                "(only the first {} flows are listed)",
                detectors::query::ALERT_FLOWS
            ),
            dim(),
        ));
    }
    out
}

/// One evidence with its attacker, victim and flows.
pub fn evidence_detail(e: &EvidenceRow, flows: &[Flow]) -> Vec<Line<'static>> {
    let mut out = vec![
        evidence(e),
        Line::from(format!(
            "attacker {} ({}, {}) · victim {} · confidence {:.2} · accumulated threat {:.2}",
            e.attacker,
            e.attacker_kind,
            e.attacker_direction,
            e.victim.as_deref().unwrap_or("-"),
            e.confidence,
            e.accumulated_threat_level
        )),
        heading(format!("{} flow(s) behind it:", e.uids.len())),
    ];
    flows_of(&e.uids, flows, &mut out);
    out
}

pub fn flow_detail(f: &Flow) -> Vec<Line<'static>> {
    let fields: [(&str, String); 11] = [
        ("uid", f.uid.clone()),
        ("time", human_time(f.ts)),
        ("source", endpoint(&f.saddr, f.sport)),
        ("destination", endpoint(&f.daddr, f.dport)),
        ("protocol", f.proto.clone()),
        ("service", f.service.clone().unwrap_or_else(|| "-".into())),
        (
            "duration",
            f.duration
                .map_or_else(|| "-".into(), |d| format!("{d:.3} s")),
        ),
        ("state", f.conn_state.clone()),
        ("history", f.history.clone().unwrap_or_else(|| "-".into())),
        (
            "sent",
            format!(
                "{} pkts, {} (payload {})",
                f.orig_pkts,
                human_bytes(f.orig_ip_bytes),
                f.orig_bytes.map_or_else(|| "-".into(), human_bytes)
            ),
        ),
        (
            "received",
            format!(
                "{} pkts, {} (payload {})",
                f.resp_pkts,
                human_bytes(f.resp_ip_bytes),
                f.resp_bytes.map_or_else(|| "-".into(), human_bytes)
            ),
        ),
    ];
    let mut out: Vec<Line<'static>> = fields
        .into_iter()
        .map(|(k, v)| Line::from(format!("{k:<12} {v}")))
        .collect();
    out.push(Line::from(vec![
        Span::raw(format!("{:<12} ", "label")),
        if f.label == "malicious" {
            Span::styled(f.label.clone(), alert_style())
        } else {
            Span::raw(f.label.clone())
        },
    ]));
    out
}

pub fn timeline_detail(t: &TimelineEntry) -> Vec<Line<'static>> {
    let mut out = vec![timeline(t), Line::from(format!("uid {}", t.uid))];
    for w in &t.warnings {
        out.push(Line::styled(w.clone(), Style::new().fg(Color::Yellow)));
    }
    for (k, v) in &t.details {
        out.push(Line::from(format!("{k:<12} {v}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use detectors::query::{DomainScores, VtScores};

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    fn flow_row(uid: &str, label: &str) -> Flow {
        Flow {
            uid: uid.into(),
            ts: 1_520_628_766.8,
            profile: "192.168.2.1".into(),
            twid: 1,
            saddr: "192.168.2.1".into(),
            sport: 51371,
            daddr: "fe80::1".into(),
            dport: 22,
            proto: "tcp".into(),
            service: Some("ssh".into()),
            duration: Some(1.5),
            orig_bytes: Some(1200),
            resp_bytes: None,
            conn_state: "SF".into(),
            history: Some("ShADadFf".into()),
            orig_pkts: 10,
            orig_ip_bytes: 1800,
            resp_pkts: 8,
            resp_ip_bytes: 2500,
            label: label.into(),
        }
    }

    #[test]
    fn a_flow_in_one_line() {
        let l = text(&flow(&flow_row("C1", "malicious")));
        assert!(l.starts_with("20:52:46 ! 192.168.2.1:51371"), "{l}");
        assert!(l.contains("→ [fe80::1]:22"), "{l}");
        assert!(l.contains("1.8 kB ↑"), "{l}");
        assert!(l.ends_with("2.5 kB ↓"), "{l}");
        let l = text(&flow(&flow_row("C1", "benign")));
        assert!(l.starts_with("20:52:46   192.168.2.1:51371"), "{l}");
        let d: Vec<String> = flow_detail(&flow_row("C1", "benign"))
            .iter()
            .map(text)
            .collect();
        assert!(
            d.contains(&"received     8 pkts, 2.5 kB (payload -)".to_owned()),
            "{d:?}"
        );
        assert!(d.contains(&"duration     1.500 s".to_owned()), "{d:?}");
    }

    #[test]
    fn evidence_lists_only_its_own_flows() {
        let flows = vec![flow_row("C1", "malicious"), flow_row("C2", "malicious")];
        let e = EvidenceRow {
            id: "e1".into(),
            profile: "192.168.2.1".into(),
            twid: 1,
            ts: 1_520_628_766.8,
            evidence_type: "PASSWORD_GUESSING".into(),
            threat_level: "high".into(),
            confidence: 0.5,
            description: "password guessing".into(),
            attacker: "192.168.2.1".into(),
            attacker_kind: "IP".into(),
            attacker_direction: "SRC".into(),
            victim: None,
            victim_kind: None,
            victim_direction: None,
            proto: None,
            src_port: None,
            dst_port: None,
            accumulated_threat_level: 3.0,
            uids: vec!["C2".into(), "C9".into()],
        };
        let lines: Vec<String> = evidence_detail(&e, &flows).iter().map(text).collect();
        assert_eq!(
            lines[0],
            "20:52:46 high     PASSWORD_GUESSING password guessing"
        );
        assert_eq!(lines[2], "2 flow(s) behind it:");
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines[3].starts_with("      20:52:46 ! 192.168.2.1:51371"));
        assert_eq!(lines[4], "      (1 more flows not listed)");
    }

    #[test]
    fn virustotal_scores_before_the_names_seen() {
        let scores = VtScores {
            url: 25.0,
            down_file: 0.0,
            ref_file: 50.0,
            com_file: 75.0,
        };
        let mut h = HostInfo {
            ip: "203.0.113.66".into(),
            domains: vec!["bad.example".into()],
            ..HostInfo::default()
        };
        assert_eq!(
            text(&host(&h)[3]),
            "threat intel: none · domains bad.example"
        );
        h.virustotal = Some(scores);
        h.domains_virustotal = vec![DomainScores {
            domain: "bad.example".into(),
            virustotal: VtScores::default(),
        }];
        assert_eq!(
            text(&host(&h)[3]),
            "threat intel: none \
             · VirusTotal URL 25.0%, down_file 0.0%, ref_file 50.0%, com_file 75.0% \
             · bad.example on VirusTotal URL 0.0%, down_file 0.0%, ref_file 0.0%, com_file 0.0% \
             · domains bad.example"
        );
    }
}
