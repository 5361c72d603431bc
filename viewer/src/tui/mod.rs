//! `slipstream tui OUT/`: the run's profiles, time windows, timelines, flows, evidence
//! and alerts in a terminal, keyboard only (for a sensor reached over SSH). It reads
//! the same `detectors::query` layer as the web interface; while the run goes on it
//! reads the store again every `refresh_every`.
//!
//! Keys: ↑↓ or j k move (PgUp PgDn, Home End, g G); Enter, → or l open the selected
//! profile, window or row; Esc, ←, h or Backspace go back; Tab, Shift-Tab or 1-5 pick
//! the tab (timeline, flows out, flows in, evidence, alerts); `/` filters the profiles
//! by address; r reads the store again; q or Ctrl-C quit.

mod app;
mod nav;
mod text;
mod view;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::{Duration, Instant};

use detectors::query::Store;
use ratatui::crossterm::event::{self, Event};
use ratatui::DefaultTerminal;

pub use app::App;
pub use nav::{Input, Nav, Pane, Tab};

/// How long to wait for a key once the run has finished (nothing changes any more).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// Opens the store of `path` (an output folder or its `flows.sqlite`) and runs the UI
/// on this terminal until the user quits.
pub fn run(
    path: &Path,
    refresh_every: Duration,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Opened before the terminal is taken, so a wrong path reads as a plain error.
    let store = Store::open(path)?;
    let mut app = App::new(store);
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, &mut app, refresh_every);
    ratatui::restore();
    Ok(result?)
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    refresh_every: Duration,
) -> std::io::Result<()> {
    let mut last_refresh = Instant::now();
    // A big run still writing has no indexes yet, so reading it can take a while: the
    // UI refreshes at most a fifth of the time, to stay responsive to keys.
    let mut interval = refresh_every;
    loop {
        terminal.draw(|frame| view::draw(frame, app))?;
        if app.nav.quit {
            return Ok(());
        }
        let wait = if app.finished() {
            IDLE_WAIT
        } else {
            interval.saturating_sub(last_refresh.elapsed())
        };
        if event::poll(wait)? {
            if let Event::Key(key) = event::read()? {
                app.key(key);
            }
        }
        if !app.finished() && last_refresh.elapsed() >= interval {
            let started = Instant::now();
            app.refresh();
            interval = refresh_every.max(started.elapsed() * 5);
            last_refresh = Instant::now();
        }
    }
}
