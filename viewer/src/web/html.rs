//! Small pieces of HTML: escaping, the page frame, tables, pagers.

use std::fmt::Write as _;

use detectors::query::{human_bytes, human_time, Page, Paged};

const STYLE: &str = include_str!("static/style.css");

/// Text made safe for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment for a link (IPv6 addresses and uids need no escaping beyond this).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub fn time(ts: f64) -> String {
    human_time(ts)
}

pub fn bytes(n: Option<u64>) -> String {
    n.map(human_bytes).unwrap_or_else(|| "-".into())
}

pub fn opt(s: Option<&str>) -> String {
    s.map(esc).unwrap_or_else(|| "-".into())
}

/// CSS class of a threat level (`lvl-high` ...), empty for none.
pub fn level_class(level: Option<&str>) -> String {
    level.map(|l| format!("lvl-{}", esc(l))).unwrap_or_default()
}

pub fn level_badge(level: Option<&str>) -> String {
    match level {
        Some(l) => format!(r#"<span class="badge lvl-{0}">{0}</span>"#, esc(l)),
        None => r#"<span class="badge">none</span>"#.into(),
    }
}

/// The frame of every page: title, breadcrumbs, the body, and a footer with how long
/// the page took. A page of a run still going refreshes itself.
pub struct Frame<'a> {
    pub title: &'a str,
    pub crumbs: &'a [(String, String)],
    pub live: bool,
}

impl Frame<'_> {
    pub fn render(&self, body: &str, elapsed_ms: f64) -> String {
        let mut out = String::with_capacity(body.len() + 4096);
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        out.push_str(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
        if self.live {
            out.push_str(r#"<meta http-equiv="refresh" content="10">"#);
        }
        let _ = write!(out, "<title>{} - slipstream</title>", esc(self.title));
        let _ = write!(out, "<style>{STYLE}</style></head><body>");
        out.push_str(r#"<header><a class="brand" href="/">slipstream</a><nav>"#);
        for (href, label) in self.crumbs {
            let _ = write!(out, r#" / <a href="{}">{}</a>"#, esc(href), esc(label));
        }
        out.push_str("</nav>");
        if self.live {
            out.push_str(
                r#"<span class="live" id="live">run in progress: refreshes every 10 s</span>"#,
            );
        }
        out.push_str("</header><main>");
        out.push_str(body);
        let _ = write!(
            out,
            r#"</main><footer>page made in <span id="elapsed">{elapsed_ms:.1}</span> ms</footer></body></html>"#
        );
        out
    }
}

/// Previous / next links for a paged list; `base` is the page's URL with its other
/// query parameters (ending in `?` or `&`).
pub fn pager<T>(base: &str, paged: &Paged<T>) -> String {
    let Page { offset, limit } = paged.page;
    let mut out = String::from(r#"<div class="pager">"#);
    if offset > 0 {
        let prev = paged.page.previous();
        let _ = write!(
            out,
            r#"<a href="{}offset={}&amp;limit={}">&larr; previous</a> "#,
            esc(base),
            prev.offset,
            prev.limit
        );
    }
    let shown = paged.items.len() as u64;
    if shown > 0 {
        let _ = write!(out, "rows {}-{}", offset + 1, offset + shown);
    } else {
        out.push_str("no rows");
    }
    if paged.has_more {
        let _ = write!(
            out,
            r#" <a class="next" href="{}offset={}&amp;limit={}">next &rarr;</a>"#,
            esc(base),
            offset + u64::from(limit),
            limit
        );
    }
    out.push_str("</div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(seg("2001:db8::1"), "2001:db8::1");
        assert_eq!(seg("a b/c?"), "a%20b%2Fc%3F");
    }
}
