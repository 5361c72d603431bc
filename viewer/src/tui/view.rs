//! The screen: the run's overview on top; profiles and their time windows on the left;
//! on the right what is known about the selected profile, the tabs of the selected
//! window and their rows (or one row in full); the keys at the bottom. The pane that
//! has the keyboard has a highlighted border and a `▶` in its title.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar as _;

use super::app::App;
use super::nav::{Cursor, Pane, Tab};
use super::text;

pub fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    if let Some(o) = &app.overview {
        frame.render_widget(Paragraph::new(text::overview(o)), top);
    }
    let left_width = (body.width / 3).clamp(34, 44);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(20)]).areas(body);
    let [profiles, windows] =
        Layout::vertical([Constraint::Percentage(60), Constraint::Min(4)]).areas(left);
    draw_profiles(frame, app, profiles);
    draw_windows(frame, app, windows);
    let [host, tabs, rows] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .areas(right);
    draw_host(frame, app, host);
    frame.render_widget(Paragraph::new(tab_line(app.nav.tab)), tabs);
    if app.nav.pane == Pane::Inspect {
        draw_inspect(frame, app, rows);
    } else {
        draw_detail(frame, app, rows);
    }
    frame.render_widget(Paragraph::new(status_line(app)), bottom);
}

fn pane_block(title: String, focused: bool) -> Block<'static> {
    let (title, style) = if focused {
        (
            format!("▶ {title} "),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        )
    } else {
        (format!(" {title} "), Style::new().fg(Color::DarkGray))
    };
    Block::new()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(title, style))
}

/// Draws the rows of `cursor`'s list that are on screen; `line` gives row `i`. The
/// cursor learns how many rows fit.
fn draw_list(
    frame: &mut Frame<'_>,
    area: Rect,
    block: Block<'static>,
    cursor: &mut Cursor,
    focused: bool,
    empty: &str,
    line: impl Fn(usize) -> Option<Line<'static>>,
) {
    let inner = block.inner(area);
    cursor.set_page(usize::from(inner.height));
    if cursor.is_empty() {
        let p = Paragraph::new(Line::styled(
            empty.to_owned(),
            Style::new().fg(Color::DarkGray),
        ))
        .block(block);
        frame.render_widget(p, area);
        return;
    }
    let end = (cursor.offset + usize::from(inner.height)).min(cursor.len());
    let items: Vec<ListItem<'static>> = (cursor.offset..end)
        .map(|i| ListItem::new(line(i).unwrap_or_default()))
        .collect();
    let highlight = if focused {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    let list = List::new(items)
        .block(block)
        .highlight_style(highlight)
        .highlight_symbol("> ");
    let mut state = ListState::default().with_selected(Some(cursor.selected - cursor.offset));
    frame.render_stateful_widget(list, area, &mut state);
}

fn count(n: usize, more: bool) -> String {
    if more {
        format!("{n}+")
    } else {
        n.to_string()
    }
}

fn draw_profiles(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let focused = app.nav.pane == Pane::Profiles;
    let mut title = format!(
        "Profiles ({})",
        count(app.shown.len(), app.profiles.has_more)
    );
    if !app.nav.filter.is_empty() || app.nav.typing {
        title.push_str(&format!(" /{}", app.nav.filter));
    }
    let empty = if app.nav.filter.is_empty() {
        "no profiles yet"
    } else {
        "no profile matches the filter"
    };
    let App {
        nav,
        profiles,
        shown,
        ..
    } = app;
    draw_list(
        frame,
        area,
        pane_block(title, focused),
        &mut nav.profiles,
        focused,
        empty,
        |i| Some(text::profile(profiles.items.get(*shown.get(i)?)?)),
    );
}

fn draw_windows(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let focused = app.nav.pane == Pane::Windows;
    let title = format!("Time windows ({})", app.windows.len());
    let App { nav, windows, .. } = app;
    draw_list(
        frame,
        area,
        pane_block(title, focused),
        &mut nav.windows,
        focused,
        "no time windows",
        |i| Some(text::window(windows.get(i)?)),
    );
}

fn draw_host(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let title = match app.selected_profile() {
        Some(p) => format!(" Profile {} ", p.ip),
        None => " Profile ".to_owned(),
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(Color::DarkGray))
        .title(title);
    let lines = match &app.host {
        Some(h) => text::host(h),
        None => vec![Line::from("select a profile")],
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn tab_line(open: Tab) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let label = format!("{} {}", i + 1, tab.title());
        spans.push(if *tab == open {
            Span::styled(
                format!("[{label}]"),
                Style::new()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED),
            )
        } else {
            Span::raw(format!(" {label} "))
        });
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

fn draw_detail(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let focused = app.nav.pane == Pane::Detail;
    let title = match app.selected_window() {
        Some(w) => format!(
            "{} · {} ({})",
            text::window_span(w),
            app.nav.tab.title(),
            count(app.detail.len(), app.detail.has_more())
        ),
        None => app.nav.tab.title().to_owned(),
    };
    let empty = if app.selected_window().is_some() {
        "nothing here"
    } else {
        "select a time window"
    };
    let App { nav, detail, .. } = app;
    draw_list(
        frame,
        area,
        pane_block(title, focused),
        &mut nav.detail,
        focused,
        empty,
        |i| detail.line(i),
    );
}

/// The inspect pane shows every character: long lines go on in the rows below.
fn draw_inspect(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let block = pane_block(format!("{} (Esc: back)", app.inspect_title), true);
    // Two columns for the selection mark.
    let width = usize::from(block.inner(area).width).saturating_sub(2);
    let rows: Vec<Line<'static>> = app.inspect.iter().flat_map(|l| wrap(l, width)).collect();
    app.nav.inspect.set_len(rows.len());
    draw_list(
        frame,
        area,
        block,
        &mut app.nav.inspect,
        true,
        "nothing here",
        |i| rows.get(i).cloned(),
    );
}

/// Columns a wrapped line's later rows are indented by.
const WRAP_INDENT: usize = 4;

/// `line` cut into rows of at most `width` columns, at a space where there is one,
/// keeping its styles.
fn wrap(line: &Line<'static>, width: usize) -> Vec<Line<'static>> {
    let chars: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect();
    let mut rows = Vec::new();
    let mut start = 0;
    while start < chars.len() || rows.is_empty() {
        let indent = if rows.is_empty() { 0 } else { WRAP_INDENT };
        // As many characters as fit, and always one.
        let mut end = start;
        let mut used = indent;
        while end < chars.len() {
            let w = chars[end].0.width().unwrap_or(0);
            if used + w > width && end > start {
                break;
            }
            used += w;
            end += 1;
        }
        if end < chars.len() {
            // Break after the last space of the row, unless that leaves it mostly empty.
            if let Some(space) = (start..end).rev().find(|&i| chars[i].0 == ' ') {
                if space + 1 > start + (end - start) / 2 {
                    end = space + 1;
                }
            }
        }
        let mut spans = Vec::new();
        if indent > 0 {
            spans.push(Span::raw(" ".repeat(indent)));
        }
        let mut i = start;
        while i < end {
            let style = chars[i].1;
            let mut text = String::new();
            while i < end && chars[i].1 == style {
                text.push(chars[i].0);
                i += 1;
            }
            spans.push(Span::styled(text, style));
        }
        rows.push(Line::from(spans).style(line.style));
        start = end;
    }
    rows
}

fn status_line(app: &App) -> Line<'static> {
    if let Some(e) = &app.error {
        return Line::styled(
            format!(" error: {e}"),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        );
    }
    let keys = if app.nav.typing {
        "type to filter profiles · Enter keep · Esc clear"
    } else {
        match app.nav.pane {
            Pane::Profiles => {
                "↑↓ jk move · Enter windows · / filter · 1-5 Tab tabs · r refresh · q quit"
            }
            Pane::Windows => "↑↓ jk move · Enter open · Esc profiles · 1-5 Tab tabs · q quit",
            Pane::Detail => {
                "↑↓ PgUp PgDn move · Enter inspect · 1-5 Tab tabs · Esc windows · q quit"
            }
            Pane::Inspect => "↑↓ PgUp PgDn scroll · Esc back · 1-5 Tab tabs · q quit",
        }
    };
    Line::styled(format!(" {keys}"), Style::new().fg(Color::DarkGray))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn long_lines_wrap_with_their_styles() {
        let red = Style::new().fg(Color::Red);
        let line = Line::from(vec![Span::raw("12:00 "), Span::styled("abcdefghij", red)]);
        let rows = wrap(&line, 8);
        let texts: Vec<String> = rows.iter().map(text).collect();
        assert_eq!(texts, ["12:00 ", "    abcd", "    efgh", "    ij"]);
        assert_eq!(rows[1].spans[1].style, red);
        // At a space when one is in the second half of the row.
        let rows = wrap(&Line::from("connection to 1.2.3.4 refused"), 16);
        let texts: Vec<String> = rows.iter().map(text).collect();
        assert_eq!(texts, ["connection to ", "    1.2.3.4 ", "    refused"]);
        assert_eq!(wrap(&Line::from("short"), 8).len(), 1);
        // However narrow, every row moves on.
        let rows = wrap(&Line::from("abcdefgh"), 1);
        assert_eq!(
            rows.iter().map(text).collect::<String>().replace(' ', ""),
            "abcdefgh"
        );
        // A line's own style stays on all its rows.
        let rows = wrap(&Line::styled("abcdefghijkl", red), 6);
        assert!(rows.iter().all(|r| r.style == red));
    }
}
