//! The HTML pages: profiles, one profile, one time window (timeline, flows out, flows
//! in, evidence, alerts), one alert. Each takes the store and returns the page's
//! title, breadcrumbs and body; `super` frames it.

use std::fmt::Write as _;

use detectors::query::{
    human_bytes, AlertRow, Direction, EvidenceRow, Flow, HostInfo, Page, Store, TimelineEntry,
};

use super::html::{bytes, esc, level_badge, level_class, opt, pager, seg, time};
use super::svg::{horizontal_bars, time_bars, Bar};
use super::WebError;

/// What a page handler hands to the frame.
pub struct Rendered {
    pub title: String,
    pub crumbs: Vec<(String, String)>,
    pub body: String,
}

pub use detectors::query::WindowTab as Tab;

fn profile_href(ip: &str) -> String {
    format!("/profile/{}", seg(ip))
}

fn window_href(ip: &str, twid: i64) -> String {
    format!("/profile/{}/tw/{twid}", seg(ip))
}

fn alert_href(id: &str) -> String {
    format!("/alert/{}", seg(id))
}

fn level_bars(store: &Store) -> Result<String, WebError> {
    let bars: Vec<Bar> = store
        .evidence_per_level()?
        .into_iter()
        .map(|l| Bar {
            text: l.evidence.to_string(),
            value: l.evidence,
            class: format!("lvl-{}", l.threat_level),
            label: l.threat_level,
            href: None,
        })
        .collect();
    Ok(horizontal_bars("Evidence per threat level", &bars))
}

fn talker_bars(store: &Store) -> Result<String, WebError> {
    let bars: Vec<Bar> = store
        .top_talkers(10)?
        .into_iter()
        .map(|t| Bar {
            href: Some(profile_href(&t.ip)),
            text: format!("{} ({} flows)", human_bytes(t.bytes), t.flows),
            value: t.bytes,
            class: String::new(),
            label: t.ip,
        })
        .collect();
    Ok(horizontal_bars("Top talkers (bytes of their flows)", &bars))
}

fn over_time(store: &Store, ip: Option<&str>) -> Result<String, WebError> {
    let data = store.flows_over_time(ip, None)?;
    let mut out = String::from(r#"<div class="plots">"#);
    out.push_str(&time_bars(
        "Flows over time",
        &data,
        |b| b.flows,
        |n| n.to_string(),
    ));
    out.push_str(&time_bars(
        "Bytes over time",
        &data,
        |b| b.bytes,
        human_bytes,
    ));
    out.push_str("</div>");
    Ok(out)
}

pub fn index(store: &Store, page: Page) -> Result<Rendered, WebError> {
    let o = store.overview()?;
    let profiles = store.profiles(page)?;
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<h1>Profiles</h1><p class="summary" id="summary">{} profiles, {} flows, {} evidence, <a href="/alerts">{} alerts</a>{}</p>"#,
        o.profiles,
        o.flows,
        o.evidence,
        o.alerts,
        match (o.first_ts, o.last_ts) {
            (Some(a), Some(b)) => format!(", from {} to {}", time(a), time(b)),
            _ => String::new(),
        }
    );
    body.push_str(
        r#"<table id="profiles"><thead><tr><th>profile</th><th>threat level</th><th>worst level</th><th>alerts</th><th>evidence</th><th>flows out</th><th>flows in</th></tr></thead><tbody>"#,
    );
    for p in &profiles.items {
        let _ = write!(
            body,
            r#"<tr class="{}{}"><td><a class="profile" href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            if p.alerted { "alerted " } else { "" },
            level_class(p.max_threat_level.as_deref()),
            esc(&profile_href(&p.ip)),
            esc(&p.ip),
            level_badge(p.threat_level.as_deref()),
            level_badge(p.max_threat_level.as_deref()),
            p.alerts,
            p.evidence,
            p.flows_out,
            p.flows_in
        );
    }
    body.push_str("</tbody></table>");
    body.push_str(&pager("/?", &profiles));
    body.push_str(r#"<div class="plots">"#);
    body.push_str(&level_bars(store)?);
    body.push_str(&talker_bars(store)?);
    body.push_str("</div>");
    body.push_str(&over_time(store, None)?);
    Ok(Rendered {
        title: "Profiles".into(),
        crumbs: Vec::new(),
        body,
    })
}

fn host_facts(h: &HostInfo) -> String {
    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut add = |k: &'static str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            rows.push((k, v));
        }
    };
    add(
        "threat level",
        h.threat_level.as_deref().map(|l| {
            format!(
                "{} (confidence {:.2})",
                level_badge(Some(l)),
                h.confidence.unwrap_or(0.0)
            )
        }),
    );
    add(
        "worst threat level",
        h.max_threat_level.as_deref().map(|l| level_badge(Some(l))),
    );
    add(
        "ASN",
        match (h.asn, &h.as_org) {
            (Some(n), Some(org)) => Some(format!("AS{n} {}", esc(org))),
            (Some(n), None) => Some(format!("AS{n}")),
            (None, Some(org)) => Some(esc(org)),
            (None, None) => None,
        },
    );
    add(
        "location",
        match (&h.country, &h.city) {
            (Some(c), Some(city)) => Some(format!("{}, {}", esc(city), esc(c))),
            (Some(c), None) => Some(esc(c)),
            _ => None,
        },
    );
    add("reverse DNS", h.rdns.as_deref().map(esc));
    add("VirusTotal", h.virustotal.map(|v| v.summary()));
    add("hostname", h.hostname.as_deref().map(esc));
    add(
        "MAC",
        h.mac.as_deref().map(|m| match &h.vendor {
            Some(v) => format!("{} ({})", esc(m), esc(v)),
            None => esc(m),
        }),
    );
    add("DHCP server", h.dhcp_server.then(|| "yes".to_owned()));
    add(
        "seen",
        match (h.first_seen, h.last_seen) {
            (Some(a), Some(b)) => Some(format!("{} to {}", time(a), time(b))),
            _ => None,
        },
    );
    add(
        "flows",
        Some(format!("{} out, {} in", h.flows_out, h.flows_in)),
    );
    let list = |v: &[String]| Some(v.iter().map(|s| esc(s)).collect::<Vec<_>>().join(", "));
    add("domains", list(&h.domains));
    add(
        "domains on VirusTotal",
        Some(
            h.domains_virustotal
                .iter()
                .map(|d| format!("{}: {}", esc(&d.domain), d.virustotal.summary()))
                .collect::<Vec<_>>()
                .join("<br>"),
        ),
    );
    add("TLS server names", list(&h.snis));
    add("other addresses", list(&h.other_ips));
    add(
        "user agents",
        Some(
            h.user_agents
                .iter()
                .map(|u| {
                    let mut s = esc(&u.user_agent);
                    if let (Some(os), Some(b)) = (&u.os, &u.browser) {
                        let _ = write!(s, " ({}, {})", esc(os), esc(b));
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join("<br>"),
        ),
    );
    add(
        "software",
        Some(
            h.software
                .iter()
                .map(|s| {
                    let mut t = format!("{} {}", esc(&s.kind), esc(&s.name));
                    if let Some(m) = s.version_major {
                        let _ = write!(t, " {m}");
                        if let Some(n) = s.version_minor {
                            let _ = write!(t, ".{n}");
                        }
                    }
                    t
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
    );
    add(
        "certificates",
        Some(
            h.certificates
                .iter()
                .map(|c| opt(c.cn.as_deref().or(c.subject.as_deref())))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    );
    let mut out = String::from(r#"<table class="facts" id="host">"#);
    for (k, v) in rows {
        let _ = write!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    out.push_str("</table>");
    if !h.complete {
        out.push_str(r#"<p class="note">The run is still going: the details of hosts (ASN, location, names, software) are written when it ends.</p>"#);
    }
    if !h.threat_intel.is_empty() {
        out.push_str(r#"<h2>Threat intelligence</h2>"#);
        out.push_str(&evidence_table(&h.threat_intel, "threat-intel"));
    }
    out
}

pub fn profile(store: &Store, ip: &str) -> Result<Rendered, WebError> {
    let host = store
        .profile(ip)?
        .ok_or_else(|| WebError::NotFound(format!("no address {ip} in this run")))?;
    let windows = store.timewindows(ip)?;
    let alerts = store.alerts(Some(ip), None)?;
    let mut body = format!("<h1>Profile {}</h1>", esc(ip));
    body.push_str(&host_facts(&host));
    body.push_str(
        r#"<h2>Time windows</h2><table id="windows"><thead><tr><th>window</th><th>start</th><th>end</th><th>flows out</th><th>flows in</th><th>evidence</th><th>alerts</th><th>threat</th></tr></thead><tbody>"#,
    );
    for w in &windows {
        let _ = write!(
            body,
            r#"<tr class="{}{}"><td><a class="window" href="{}">timewindow{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2} {}</td></tr>"#,
            if w.alerts > 0 { "alerted " } else { "" },
            level_class(w.max_threat_level.as_deref()),
            esc(&window_href(ip, w.twid)),
            w.twid,
            time(w.start),
            w.end.map(time).unwrap_or_else(|| "-".into()),
            w.flows_out,
            w.flows_in,
            w.evidence,
            w.alerts,
            w.total_threat,
            level_badge(w.max_threat_level.as_deref())
        );
    }
    body.push_str("</tbody></table>");
    if !alerts.is_empty() {
        body.push_str("<h2>Alerts</h2>");
        body.push_str(&alerts_table(&alerts));
    }
    body.push_str(&over_time(store, Some(ip))?);
    Ok(Rendered {
        title: format!("Profile {ip}"),
        crumbs: vec![(profile_href(ip), ip.to_owned())],
        body,
    })
}

fn flows_table(flows: &[Flow], id: &str) -> String {
    let mut out = format!(
        r#"<table class="flows" id="{id}"><thead><tr><th>time</th><th>uid</th><th>source</th><th>destination</th><th>proto</th><th>service</th><th>duration</th><th>bytes up</th><th>bytes down</th><th>packets</th><th>state</th><th>label</th></tr></thead><tbody>"#
    );
    for f in flows {
        let _ = write!(
            out,
            r#"<tr class="{}"><td>{}</td><td class="uid">{}</td><td><a href="{}">{}</a>:{}</td><td><a href="{}">{}</a>:{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td></tr>"#,
            if f.label == "malicious" {
                "malicious"
            } else {
                ""
            },
            time(f.ts),
            esc(&f.uid),
            esc(&profile_href(&f.saddr)),
            esc(&f.saddr),
            f.sport,
            esc(&profile_href(&f.daddr)),
            esc(&f.daddr),
            f.dport,
            esc(&f.proto),
            opt(f.service.as_deref()),
            f.duration
                .map(|d| format!("{d:.3} s"))
                .unwrap_or_else(|| "-".into()),
            bytes(f.orig_bytes),
            bytes(f.resp_bytes),
            f.orig_pkts,
            f.resp_pkts,
            esc(&f.conn_state),
            esc(&f.label)
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn timeline_list(entries: &[TimelineEntry]) -> String {
    let mut out = String::from(r#"<ol class="timeline" id="timeline">"#);
    for e in entries {
        let _ = write!(
            out,
            r#"<li class="{}"><span class="time">{}</span> <span class="what">{}</span>"#,
            if e.label == "malicious" {
                "malicious"
            } else {
                ""
            },
            esc(&e.time),
            esc(&e.text)
        );
        for w in &e.warnings {
            let _ = write!(out, r#" <span class="warning">{}</span>"#, esc(w));
        }
        if !e.details.is_empty() {
            out.push_str(r#"<div class="details">"#);
            for (k, v) in &e.details {
                let _ = write!(out, "<span>{}: {}</span> ", esc(k), esc(v));
            }
            out.push_str("</div>");
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>");
    out
}

fn evidence_table(evidence: &[EvidenceRow], id: &str) -> String {
    let mut out = format!(
        r#"<table class="evidence" id="{id}"><thead><tr><th>time</th><th>type</th><th>threat level</th><th>confidence</th><th>description</th><th>attacker</th><th>victim</th><th>flows</th></tr></thead><tbody>"#
    );
    for e in evidence {
        let _ = write!(
            out,
            r#"<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td class="description">{}</td><td>{}</td><td>{}</td><td class="uid">{}</td></tr>"#,
            level_class(Some(&e.threat_level)),
            time(e.ts),
            esc(&e.evidence_type),
            level_badge(Some(&e.threat_level)),
            e.confidence,
            esc(&e.description),
            esc(&e.attacker),
            opt(e.victim.as_deref()),
            e.uids.iter().map(|u| esc(u)).collect::<Vec<_>>().join(" ")
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn alerts_table(alerts: &[AlertRow]) -> String {
    let mut out = String::from(
        r#"<table class="alerts" id="alerts"><thead><tr><th>time</th><th>profile</th><th>window</th><th>threat level</th><th>accumulated threat</th><th>evidence</th></tr></thead><tbody>"#,
    );
    for a in alerts {
        let _ = write!(
            out,
            r#"<tr class="alerted {}"><td><a class="alert" href="{}">{}</a></td><td><a href="{}">{}</a></td><td><a href="{}">timewindow{}</a></td><td>{}</td><td>{:.2}</td><td>{}</td></tr>"#,
            level_class(Some(&a.threat_level)),
            esc(&alert_href(&a.id)),
            time(a.ts),
            esc(&profile_href(&a.profile)),
            esc(&a.profile),
            esc(&window_href(&a.profile, a.twid)),
            a.twid,
            level_badge(Some(&a.threat_level)),
            a.accumulated_threat_level,
            a.evidence_ids.len()
        );
    }
    out.push_str("</tbody></table>");
    out
}

pub fn window(
    store: &Store,
    ip: &str,
    twid: i64,
    tab: Tab,
    page: Page,
) -> Result<Rendered, WebError> {
    let windows = store.timewindows(ip)?;
    let Some(w) = windows.iter().find(|w| w.twid == twid) else {
        return Err(WebError::NotFound(format!(
            "profile {ip} has no time window {twid}"
        )));
    };
    let host = store.profile(ip)?.unwrap_or_default();
    let href = window_href(ip, twid);
    let mut body = format!(
        r#"<h1>Profile {} &mdash; timewindow{}</h1><p class="summary">{} to {}; {} flows out, {} in; {} evidence, {} alerts; threat {:.2} {}</p>"#,
        esc(ip),
        twid,
        time(w.start),
        w.end.map(time).unwrap_or_else(|| "-".into()),
        w.flows_out,
        w.flows_in,
        w.evidence,
        w.alerts,
        w.total_threat,
        level_badge(w.max_threat_level.as_deref())
    );
    body.push_str(&host_facts(&host));
    body.push_str(r#"<nav class="tabs">"#);
    for t in Tab::ALL {
        let count = match t {
            Tab::FlowsOut => format!(" ({})", w.flows_out),
            Tab::FlowsIn => format!(" ({})", w.flows_in),
            Tab::Evidence => format!(" ({})", w.evidence),
            Tab::Alerts => format!(" ({})", w.alerts),
            Tab::Timeline => String::new(),
        };
        let _ = write!(
            body,
            r#"<a id="tab-{0}" class="{1}" href="{2}?tab={0}">{3}{4}</a>"#,
            t.key(),
            if t == tab { "active" } else { "" },
            esc(&href),
            t.title(),
            count
        );
    }
    body.push_str("</nav>");
    let base = format!("{href}?tab={}&", tab.key());
    match tab {
        Tab::Timeline => {
            let t = store.timeline(ip, twid, page)?;
            body.push_str(&timeline_list(&t.items));
            body.push_str(&pager(&base, &t));
        }
        Tab::FlowsOut | Tab::FlowsIn => {
            let direction = if tab == Tab::FlowsOut {
                Direction::Out
            } else {
                Direction::In
            };
            let f = store.flows(ip, twid, direction, page)?;
            body.push_str(&flows_table(&f.items, "flows"));
            body.push_str(&pager(&base, &f));
        }
        Tab::Evidence => {
            body.push_str(&evidence_table(&store.evidence(ip, twid)?, "evidence"));
        }
        Tab::Alerts => {
            body.push_str(&alerts_table(&store.alerts(Some(ip), Some(twid))?));
        }
    }
    Ok(Rendered {
        title: format!("{ip} timewindow{twid}"),
        crumbs: vec![
            (profile_href(ip), ip.to_owned()),
            (href, format!("timewindow{twid}")),
        ],
        body,
    })
}

pub fn alerts(store: &Store) -> Result<Rendered, WebError> {
    let alerts = store.alerts(None, None)?;
    let mut body = format!(
        "<h1>Alerts</h1><p class=\"summary\">{} alerts</p>",
        alerts.len()
    );
    body.push_str(&alerts_table(&alerts));
    Ok(Rendered {
        title: "Alerts".into(),
        crumbs: vec![("/alerts".into(), "alerts".into())],
        body,
    })
}

pub fn alert(store: &Store, id: &str) -> Result<Rendered, WebError> {
    let d = store
        .alert(id)?
        .ok_or_else(|| WebError::NotFound(format!("no alert {id}")))?;
    let a = &d.alert;
    let mut body = format!(
        r#"<h1 class="{}">Alert on {} in timewindow{}</h1>"#,
        level_class(Some(&a.threat_level)),
        esc(&a.profile),
        a.twid
    );
    let _ = write!(
        body,
        r#"<table class="facts" id="alert"><tr><th>time</th><td>{}</td></tr><tr><th>threat level</th><td>{}</td></tr><tr><th>accumulated threat</th><td>{:.2}</td></tr><tr><th>confidence</th><td>{:.2}</td></tr><tr><th>time window</th><td>{} to {}</td></tr><tr><th>id</th><td>{}</td></tr></table>"#,
        time(a.ts),
        level_badge(Some(&a.threat_level)),
        a.accumulated_threat_level,
        a.confidence,
        time(a.tw_start),
        a.tw_end.map(time).unwrap_or_else(|| "-".into()),
        esc(&a.id)
    );
    let _ = write!(body, "<h2>Evidence ({})</h2>", d.evidence.len());
    body.push_str(&evidence_table(&d.evidence, "evidence"));
    let _ = write!(
        body,
        "<h2>Flows behind it ({}{})</h2>",
        d.flows.len(),
        if d.flows_truncated {
            ", first ones"
        } else {
            ""
        }
    );
    body.push_str(&flows_table(&d.flows, "alert-flows"));
    Ok(Rendered {
        title: format!("Alert on {}", a.profile),
        crumbs: vec![
            (profile_href(&a.profile), a.profile.clone()),
            (
                window_href(&a.profile, a.twid),
                format!("timewindow{}", a.twid),
            ),
            (alert_href(&a.id), "alert".into()),
        ],
        body,
    })
}
