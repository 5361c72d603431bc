//! The terminal UI over a real run: `testdata/slips/test7-malicious.pcap` analysed with
//! the shipped configuration (SSH password guessing gives alerts). Keys go in as a
//! person types them; each screen is drawn on ratatui's test backend and read back as
//! text; what it must show is read from the same store through `detectors::query`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use detectors::query::{Page, ProfileRow, Store};
use detectors::{Analysis, Config};
use dissectors::Record;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::app::App;
use super::nav::{Pane, Tab};
use super::view;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn records() -> &'static [Record] {
    static RECORDS: OnceLock<Vec<Record>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let pcap = repo().join("testdata/slips/test7-malicious.pcap");
        let (records, _) =
            engine::pipeline::collect_file(&pcap, &engine::pipeline::PipelineConfig::default())
                .unwrap();
        records
    })
}

fn config() -> Config {
    let mut c = Config::load(&repo().join("config/slipstream.yaml")).unwrap();
    c.enrichment.oui_database = PathBuf::new();
    // Every row goes to the writer at once, so a reader sees a run as it goes.
    c.output.sqlite_batch_size = 1;
    c
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("slipstream-tests/tui-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The output folder of the whole capture, analysed once for every test.
fn finished_run() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = out_dir("finished");
        let mut a = Analysis::new(config(), &dir).unwrap();
        for r in records() {
            a.process(r);
        }
        a.finish().unwrap();
        dir
    })
}

/// The screen as text, one line per row.
fn screen_of(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::draw(f, app)).unwrap();
    let buf = terminal.backend().buffer();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

fn screen(app: &mut App) -> String {
    screen_of(app, 140, 40)
}

fn press(app: &mut App, code: KeyCode) {
    app.key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// The line showing `needle`, to assert on a row as a whole.
fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} on\n{screen}"))
}

/// The selected row of the profile list showing `p`.
fn selected_row(p: &ProfileRow) -> String {
    format!("> {} {}", if p.alerted { "!" } else { " " }, p.ip)
}

/// How a flow's row starts after its time: its label mark and source.
fn flow_start(f: &detectors::query::Flow) -> String {
    let mark = if f.label == "malicious" { "!" } else { " " };
    format!("{mark} {}:{}", f.saddr, f.sport)
}

/// The profile and window lists.
fn left_column(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.chars().take(30).collect::<String>() + "\n")
        .collect()
}

#[test]
fn walk_from_the_alerted_profile_to_its_alert_and_the_flows_behind_it() {
    let store = Store::open(finished_run()).unwrap();
    let overview = store.overview().unwrap();
    assert!(overview.finished && overview.alerts > 0, "{overview:?}");
    let first = store.profiles(Page::first(1)).unwrap().items.remove(0);
    assert!(first.alerted, "profiles with alerts come first");
    let alerts = store.alerts(Some(&first.ip), None).unwrap();
    let twid = alerts[0].twid;
    let windows = store.timewindows(&first.ip).unwrap();
    let window_row = windows.iter().position(|w| w.twid == twid).unwrap();

    let mut app = App::new(Store::open(finished_run()).unwrap());
    let s = screen(&mut app);
    assert!(s.contains("finished"), "{s}");
    assert!(
        s.contains(&format!("{} alerts", overview.alerts)),
        "the overview on top\n{s}"
    );
    assert!(
        s.contains(&format!("▶ Profiles ({})", overview.profiles)),
        "{s}"
    );
    // The alerted profile is marked, selected, and its host shown on the right.
    let row = line_with(&s, &selected_row(&first));
    assert!(row.contains(&format!("{}A", first.alerts)), "{row}");
    assert!(s.contains(&format!("Profile {}", first.ip)), "{s}");
    assert!(s.contains("threat intel:"), "{s}");
    assert!(s.contains(&format!("{} flows out", first.flows_out)), "{s}");

    press(&mut app, KeyCode::Enter);
    for _ in 0..window_row {
        press(&mut app, KeyCode::Down);
    }
    let s = screen(&mut app);
    assert_eq!(app.nav.pane, Pane::Windows);
    assert!(
        s.contains(&format!("▶ Time windows ({})", windows.len())),
        "{s}"
    );
    line_with(&s, &format!("> TW{twid}"));

    // The window opens on its timeline.
    press(&mut app, KeyCode::Enter);
    let s = screen(&mut app);
    assert!(s.contains("[1 Timeline]"), "{s}");
    assert!(s.contains(&format!("▶ TW {twid}: ")), "{s}");
    let timeline = store.timeline(&first.ip, twid, Page::first(1)).unwrap();
    let entry = &timeline.items[0];
    let row = line_with(&s, &format!("> {} ", &entry.time[11..]));
    let shown: String = entry.text.chars().take(30).collect();
    assert!(row.contains(&shown), "{row}\nwanted {shown}");

    // The alerts tab lists the window's alerts.
    press(&mut app, KeyCode::Char('5'));
    let s = screen(&mut app);
    assert!(s.contains("[5 Alerts]"), "{s}");
    let in_window: Vec<_> = alerts.iter().filter(|a| a.twid == twid).collect();
    assert!(s.contains(&format!("Alerts ({})", in_window.len())), "{s}");
    let row = line_with(&s, &format!("> ! {}", super::text::clock(in_window[0].ts)));
    assert!(row.contains(&in_window[0].threat_level), "{row}");
    assert!(
        row.contains(&format!("{} evidence", in_window[0].evidence_ids.len())),
        "{row}"
    );

    // Enter shows the alert's evidence with their flows.
    press(&mut app, KeyCode::Enter);
    let s = screen(&mut app);
    assert_eq!(app.nav.pane, Pane::Inspect);
    let detail = store.alert(&in_window[0].id).unwrap().unwrap();
    assert!(s.contains("▶ Alert (Esc: back)"), "{s}");
    assert!(
        s.contains(&format!(
            "{} evidence, with their flows:",
            detail.evidence.len()
        )),
        "{s}"
    );
    line_with(&s, &detail.evidence[0].evidence_type);
    // Flows behind an alert are labelled malicious when the run ends.
    let flow = &detail.flows[0];
    assert_eq!(flow.label, "malicious");
    line_with(
        &s,
        &format!(
            "{} ! {}:{} ",
            super::text::clock(flow.ts),
            flow.saddr,
            flow.sport
        ),
    );

    // And back out the way it came.
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.nav.pane, Pane::Detail);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Esc);
    let s = screen(&mut app);
    assert!(s.contains("▶ Profiles"), "{s}");
    press(&mut app, KeyCode::Char('q'));
    assert!(app.nav.quit);
}

#[test]
fn flows_are_read_a_page_at_a_time_as_the_selection_goes_down() {
    let store = Store::open(finished_run()).unwrap();
    let profiles = store.profiles(Page::first(100)).unwrap().items;
    // The busiest window of the busiest profile.
    let (row, busiest) = profiles
        .iter()
        .enumerate()
        .max_by_key(|(_, p)| p.flows_out)
        .unwrap();
    let windows = store.timewindows(&busiest.ip).unwrap();
    let (window_row, window) = windows
        .iter()
        .enumerate()
        .max_by_key(|(_, w)| w.flows_out)
        .unwrap();
    assert!(
        window.flows_out > 500,
        "the test needs a window of more than a page ({window:?})"
    );

    let mut app = App::new(Store::open(finished_run()).unwrap());
    screen(&mut app);
    for _ in 0..row {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    for _ in 0..window_row {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('2'));
    let s = screen(&mut app);
    assert_eq!(app.nav.tab, Tab::FlowsOut);
    assert!(s.contains("Flows out (500+)"), "{s}");
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::End);
    let s = screen(&mut app);
    assert!(
        s.contains(&format!("Flows out ({})", window.flows_out)),
        "{s}"
    );
    let last = store
        .flows(
            &busiest.ip,
            window.twid,
            detectors::query::Direction::Out,
            Page::new(window.flows_out - 1, 1),
        )
        .unwrap()
        .items
        .remove(0);
    line_with(
        &s,
        &format!("> {} {}", super::text::clock(last.ts), flow_start(&last)),
    );

    // A flow in full.
    press(&mut app, KeyCode::Enter);
    let s = screen(&mut app);
    assert!(s.contains("▶ Flow (Esc: back)"), "{s}");
    line_with(&s, &format!("uid          {}", last.uid));
    line_with(&s, &format!("state        {}", last.conn_state));

    // Tab goes on to the flows the profile received.
    press(&mut app, KeyCode::Tab);
    let s = screen(&mut app);
    assert_eq!((app.nav.tab, app.nav.pane), (Tab::FlowsIn, Pane::Detail));
    let incoming = store
        .flows(
            &busiest.ip,
            window.twid,
            detectors::query::Direction::In,
            Page::first(400),
        )
        .unwrap()
        .items;
    assert!(!incoming.is_empty());
    assert!(s.contains(&format!("Flows in ({})", incoming.len())), "{s}");
    line_with(
        &s,
        &format!(
            "> {} {}",
            super::text::clock(incoming[0].ts),
            flow_start(&incoming[0])
        ),
    );
}

#[test]
fn the_filter_keeps_the_profiles_whose_address_matches() {
    let store = Store::open(finished_run()).unwrap();
    let all = store.profiles(Page::first(1000)).unwrap().items;
    let wanted: Vec<_> = all.iter().filter(|p| p.ip.contains("fe80")).collect();
    assert!(!wanted.is_empty() && wanted.len() < all.len());

    let mut app = App::new(store);
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "fe80");
    press(&mut app, KeyCode::Enter);
    let s = screen(&mut app);
    assert!(
        s.contains(&format!("Profiles ({}) /fe80", wanted.len())),
        "{s}"
    );
    line_with(&s, &selected_row(wanted[0]));
    let left = left_column(&s);
    for p in &all {
        if !p.ip.contains("fe80") {
            assert!(
                !left.contains(&format!(" {} ", p.ip)),
                "{} is filtered out\n{s}",
                p.ip
            );
        }
    }
    assert_eq!(app.selected_profile().unwrap().ip, wanted[0].ip);
    // Esc drops it.
    press(&mut app, KeyCode::Esc);
    let s = screen(&mut app);
    assert!(s.contains(&format!("Profiles ({})", all.len())), "{s}");
}

#[test]
fn a_run_in_progress_is_shown_live_and_then_finished_on_the_same_profile() {
    let dir = out_dir("live");
    let mut a = Analysis::new(config(), &dir).unwrap();
    let records = records();
    let half = records.len() / 2;
    for r in &records[..half] {
        a.process(r);
    }
    let store = Store::open(&dir).unwrap();
    // The writer thread commits on its own; wait for it to have written something.
    while store.overview().unwrap().flows == 0 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut app = App::new(store);
    let s = screen(&mut app);
    assert!(!app.finished());
    assert!(s.contains("LIVE"), "{s}");
    assert!(s.contains("run in progress"), "{s}");
    press(&mut app, KeyCode::Down);
    let ip = app.selected_profile().unwrap().ip.clone();

    for r in &records[half..] {
        a.process(r);
    }
    a.finish().unwrap();
    app.refresh();
    let s = screen(&mut app);
    assert!(app.finished());
    assert!(s.contains("finished"), "{s}");
    assert!(!s.contains("run in progress"), "{s}");
    assert_eq!(
        app.selected_profile().unwrap().ip,
        ip,
        "refresh keeps the user's profile"
    );
    line_with(&s, &selected_row(app.selected_profile().unwrap()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_small_terminal_still_shows_every_pane() {
    let mut app = App::new(Store::open(finished_run()).unwrap());
    let s = screen_of(&mut app, 80, 24);
    for part in [
        "▶ Profiles",
        "Time windows",
        "Profile ",
        "1 Timeline",
        "q quit",
    ] {
        assert!(s.contains(part), "{part}\n{s}");
    }
    // Paging follows the height the list got.
    let page = app.nav.profiles.len().min(10);
    assert!(page > 1);
    press(&mut app, KeyCode::PageDown);
    assert!(app.nav.profiles.selected > 0);
    assert!(app.nav.profiles.selected < app.nav.profiles.len());
}
