//! Plots as inline SVG made on the server: bars over time, and horizontal bars for
//! counts per category. No script, no external file: the page works offline.

use std::fmt::Write as _;

use detectors::query::{FlowsOverTime, TimeBucket};

use super::html::{esc, time};

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 150.0;
const LEFT: f64 = 70.0;
const BOTTOM: f64 = 22.0;

/// Bars over time of one value of each bucket (`flows` or `bytes`), with the time
/// axis's ends and the largest value labelled; each bar's tooltip has its numbers.
pub fn time_bars(
    title: &str,
    data: &FlowsOverTime,
    value: fn(&TimeBucket) -> u64,
    label: fn(u64) -> String,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<figure class="plot"><figcaption>{}</figcaption>"#,
        esc(title)
    );
    let (Some(first), Some(last)) = (data.buckets.first(), data.buckets.last()) else {
        out.push_str(r#"<p class="empty">no flows</p></figure>"#);
        return out;
    };
    let start = first.start;
    let end = last.start + data.bucket_secs;
    let span = (end - start).max(data.bucket_secs);
    let max = data.buckets.iter().map(value).max().unwrap_or(0).max(1);
    let plot_w = WIDTH - LEFT - 10.0;
    let plot_h = HEIGHT - BOTTOM - 8.0;
    let bar_w = (plot_w * data.bucket_secs / span).max(1.0);
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{}">"#,
        esc(title)
    );
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" y1="{y}" x2="{x2}" y2="{y}"/><line class="axis" x1="{LEFT}" y1="8" x2="{LEFT}" y2="{y}"/>"#,
        y = HEIGHT - BOTTOM,
        x2 = WIDTH - 10.0
    );
    let _ = write!(
        out,
        r#"<text class="tick" x="{}" y="14" text-anchor="end">{}</text><text class="tick" x="{}" y="{}" text-anchor="end">0</text>"#,
        LEFT - 4.0,
        esc(&label(max)),
        LEFT - 4.0,
        HEIGHT - BOTTOM
    );
    for b in &data.buckets {
        let v = value(b);
        let h = plot_h * v as f64 / max as f64;
        let x = LEFT + plot_w * (b.start - start) / span;
        let _ = write!(
            out,
            r#"<rect class="bar" x="{x:.1}" y="{:.1}" width="{bar_w:.1}" height="{h:.1}"><title>{}: {} flows, {}</title></rect>"#,
            HEIGHT - BOTTOM - h,
            esc(&time(b.start)),
            b.flows,
            esc(&detectors::query::human_bytes(b.bytes))
        );
    }
    let _ = write!(
        out,
        r#"<text class="tick" x="{LEFT}" y="{}">{}</text><text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
        HEIGHT - 6.0,
        esc(&time(start)),
        WIDTH - 10.0,
        HEIGHT - 6.0,
        esc(&time(end))
    );
    let _ = write!(
        out,
        r#"</svg><p class="caption">bars of {} s</p></figure>"#,
        data.bucket_secs
    );
    out
}

/// One horizontal bar.
pub struct Bar {
    pub label: String,
    /// Where a click on the label goes.
    pub href: Option<String>,
    pub value: u64,
    pub text: String,
    /// Extra CSS class of the bar (a threat level's colour).
    pub class: String,
}

pub fn horizontal_bars(title: &str, bars: &[Bar]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<figure class="plot"><figcaption>{}</figcaption>"#,
        esc(title)
    );
    if bars.is_empty() {
        out.push_str(r#"<p class="empty">nothing yet</p></figure>"#);
        return out;
    }
    let row = 22.0;
    let label_w = 150.0;
    let width = 520.0;
    let height = row * bars.len() as f64 + 4.0;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}">"#,
        esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let w = (width - label_w - 90.0) * b.value as f64 / max as f64;
        let label = format!(
            r#"<text class="label" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            label_w - 6.0,
            y + 15.0,
            esc(&b.label)
        );
        match &b.href {
            Some(href) => {
                let _ = write!(out, r#"<a href="{}">{label}</a>"#, esc(href));
            }
            None => out.push_str(&label),
        }
        let _ = write!(
            out,
            r#"<rect class="bar {}" x="{label_w}" y="{:.1}" width="{:.1}" height="{:.1}"/><text class="tick" x="{:.1}" y="{:.1}">{}</text>"#,
            esc(&b.class),
            y + 3.0,
            w.max(if b.value > 0 { 1.0 } else { 0.0 }),
            row - 6.0,
            label_w + w + 6.0,
            y + 15.0,
            esc(&b.text)
        );
    }
    out.push_str("</svg></figure>");
    out
}
