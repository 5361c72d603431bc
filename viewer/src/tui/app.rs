//! The terminal UI's data: what `detectors::query` returned for the rows the user is
//! on. After each key, [`App::sync`] loads what the navigation now points at (the
//! selected profile's host and windows, the open tab of the selected window, the
//! inspected row) and nothing else; long lists are read a page at a time as the
//! selection nears their end. [`App::refresh`] reads everything shown again and keeps
//! the user on the same profile, window and row.

use detectors::query::{
    AlertRow, Direction, EvidenceRow, Flow, HostInfo, Overview, Page, Paged, ProfileRow, Store,
    TimelineEntry, WindowRow, ALERT_FLOWS,
};
use detectors::Error;
use ratatui::text::Line;

use super::nav::{Nav, Pane, Tab};
use super::text;

/// Rows read at a time from a long list.
const PAGE_ROWS: u32 = 500;

/// Rows read before giving up on a filter over every profile.
const FILTER_MAX_PROFILES: usize = 100_000;

/// The rows of a paged list read so far.
#[derive(Debug)]
pub struct Rows<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows {
            items: Vec::new(),
            has_more: true,
        }
    }
}

impl<T> Rows<T> {
    /// Reads the next page.
    fn extend(&mut self, read: impl FnOnce(Page) -> Result<Paged<T>, Error>) -> Result<(), Error> {
        let page = read(Page::new(self.items.len() as u64, PAGE_ROWS))?;
        self.has_more = page.has_more;
        self.items.extend(page.items);
        Ok(())
    }

    /// Reads pages until `want` rows are there or the list ends.
    fn fill(
        &mut self,
        want: usize,
        mut read: impl FnMut(Page) -> Result<Paged<T>, Error>,
    ) -> Result<(), Error> {
        while self.has_more && self.items.len() < want {
            self.extend(&mut read)?;
        }
        Ok(())
    }
}

/// The rows of the open tab.
#[derive(Debug, Default)]
pub enum Detail {
    #[default]
    None,
    Timeline(Rows<TimelineEntry>),
    Flows(Rows<Flow>),
    Evidence(Vec<EvidenceRow>),
    Alerts(Vec<AlertRow>),
}

impl Detail {
    pub fn len(&self) -> usize {
        match self {
            Detail::None => 0,
            Detail::Timeline(r) => r.items.len(),
            Detail::Flows(r) => r.items.len(),
            Detail::Evidence(v) => v.len(),
            Detail::Alerts(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// More rows follow the ones read.
    pub fn has_more(&self) -> bool {
        match self {
            Detail::Timeline(r) => r.has_more,
            Detail::Flows(r) => r.has_more,
            _ => false,
        }
    }

    pub fn line(&self, row: usize) -> Option<Line<'static>> {
        Some(match self {
            Detail::None => return None,
            Detail::Timeline(r) => text::timeline(r.items.get(row)?),
            Detail::Flows(r) => text::flow(r.items.get(row)?),
            Detail::Evidence(v) => text::evidence(v.get(row)?),
            Detail::Alerts(v) => text::alert(v.get(row)?),
        })
    }
}

/// What is loaded, to know what a change of the navigation must read.
#[derive(Clone, Debug, Default, PartialEq)]
struct Loaded {
    profile: Option<String>,
    detail: Option<(String, i64, Tab)>,
    inspect: Option<(String, i64, Tab, usize)>,
}

pub struct App {
    store: Store,
    pub nav: Nav,
    pub overview: Option<Overview>,
    pub profiles: Rows<ProfileRow>,
    /// Indices into `profiles` of those the filter lets through, in order.
    pub shown: Vec<usize>,
    pub host: Option<HostInfo>,
    pub windows: Vec<WindowRow>,
    pub detail: Detail,
    /// The title and text of the inspect pane.
    pub inspect_title: String,
    pub inspect: Vec<Line<'static>>,
    /// The last error reading the store (shown until a read succeeds).
    pub error: Option<String>,
    loaded: Loaded,
}

impl App {
    /// Reads the overview and the first profiles of `store`.
    pub fn new(store: Store) -> App {
        let mut app = App {
            store,
            nav: Nav::default(),
            overview: None,
            profiles: Rows::default(),
            shown: Vec::new(),
            host: None,
            windows: Vec::new(),
            detail: Detail::None,
            inspect_title: String::new(),
            inspect: Vec::new(),
            error: None,
            loaded: Loaded::default(),
        };
        app.refresh();
        app
    }

    /// The run ended: what is shown no longer changes.
    pub fn finished(&self) -> bool {
        self.overview.as_ref().is_some_and(|o| o.finished)
    }

    pub fn selected_profile(&self) -> Option<&ProfileRow> {
        let i = *self.shown.get(self.nav.profiles.current()?)?;
        self.profiles.items.get(i)
    }

    pub fn selected_window(&self) -> Option<&WindowRow> {
        self.windows.get(self.nav.windows.current()?)
    }

    /// Reads everything shown again (a live run grows), keeping the user on the same
    /// profile, window and rows.
    pub fn refresh(&mut self) {
        self.nav.refresh_requested = false;
        let result = self.reread();
        self.settle(result);
    }

    fn reread(&mut self) -> Result<(), Error> {
        self.overview = Some(self.store.overview()?);
        let keep_ip = self.selected_profile().map(|p| p.ip.clone());
        let keep_twid = self.selected_window().map(|w| w.twid);
        let want = self.profiles.items.len().max(1);
        let mut profiles = Rows::default();
        profiles.fill(want, |p| self.store.profiles(p))?;
        self.profiles = profiles;
        self.apply_filter();
        if let Some(i) = keep_ip.and_then(|ip| self.position_of(&ip)) {
            self.nav.profiles.select(i);
        }
        // Everything below the profile list is read again by `sync`.
        let detail_rows = self.detail.len();
        self.loaded = Loaded::default();
        self.load_profile()?;
        if let Some(i) = keep_twid.and_then(|t| self.windows.iter().position(|w| w.twid == t)) {
            self.nav.windows.select(i);
        }
        self.load_detail(detail_rows)?;
        self.sync_inner()
    }

    /// Applies a key and reads what it now points at.
    pub fn key(&mut self, key: ratatui::crossterm::event::KeyEvent) {
        let filter = self.nav.filter.clone();
        self.nav.key(key);
        if self.nav.filter != filter {
            let result = self.filter_changed();
            self.settle(result);
        }
        if self.nav.refresh_requested {
            self.refresh();
        } else {
            self.sync();
        }
    }

    /// Reads what the navigation points at, if not read yet.
    pub fn sync(&mut self) {
        let result = self.sync_inner();
        self.settle(result);
    }

    fn settle(&mut self, result: Result<(), Error>) {
        match result {
            Ok(()) => self.error = None,
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn sync_inner(&mut self) -> Result<(), Error> {
        // More profiles when the selection nears the end of those read.
        if self.profiles.has_more
            && self.nav.profiles.selected + 2 * PAGE_ROWS as usize / 5 >= self.shown.len()
        {
            self.profiles.extend(|p| self.store.profiles(p))?;
            self.apply_filter();
        }
        let ip = self.selected_profile().map(|p| p.ip.clone());
        if ip != self.loaded.profile {
            self.load_profile()?;
        }
        let want = self.detail_key();
        if want != self.loaded.detail {
            self.load_detail(0)?;
        } else if self.detail.has_more()
            && self.nav.detail.selected + 2 * PAGE_ROWS as usize / 5 >= self.detail.len()
        {
            self.read_detail_rows(self.detail.len() + 1)?;
        }
        if self.nav.pane == Pane::Inspect {
            let want = self.inspect_key();
            if want != self.loaded.inspect {
                self.load_inspect()?;
            }
        }
        Ok(())
    }

    fn position_of(&self, ip: &str) -> Option<usize> {
        self.shown
            .iter()
            .position(|&i| self.profiles.items[i].ip == ip)
    }

    fn apply_filter(&mut self) {
        let f = self.nav.filter.as_str();
        self.shown = self
            .profiles
            .items
            .iter()
            .enumerate()
            .filter(|(_, p)| f.is_empty() || p.ip.contains(f))
            .map(|(i, _)| i)
            .collect();
        self.nav.profiles.set_len(self.shown.len());
    }

    /// A filter must see every profile, not only the first pages.
    fn filter_changed(&mut self) -> Result<(), Error> {
        if !self.nav.filter.is_empty() {
            self.profiles
                .fill(FILTER_MAX_PROFILES, |p| self.store.profiles(p))?;
        }
        self.apply_filter();
        Ok(())
    }

    fn load_profile(&mut self) -> Result<(), Error> {
        let ip = self.selected_profile().map(|p| p.ip.clone());
        self.loaded.profile = ip.clone();
        self.loaded.detail = None;
        match ip {
            Some(ip) => {
                self.host = self.store.profile(&ip)?;
                self.windows = self.store.timewindows(&ip)?;
            }
            None => {
                self.host = None;
                self.windows.clear();
            }
        }
        self.nav.windows.set_len(self.windows.len());
        Ok(())
    }

    fn detail_key(&self) -> Option<(String, i64, Tab)> {
        let ip = self.selected_profile()?.ip.clone();
        Some((ip, self.selected_window()?.twid, self.nav.tab))
    }

    fn inspect_key(&self) -> Option<(String, i64, Tab, usize)> {
        let (ip, twid, tab) = self.detail_key()?;
        Some((ip, twid, tab, self.nav.detail.current()?))
    }

    /// Reads the open tab of the selected window afresh, at least `rows` rows of it.
    fn load_detail(&mut self, rows: usize) -> Result<(), Error> {
        let key = self.detail_key();
        self.loaded.detail = key.clone();
        self.loaded.inspect = None;
        self.detail = match &key {
            None => Detail::None,
            Some((_, _, Tab::Timeline)) => Detail::Timeline(Rows::default()),
            Some((_, _, Tab::FlowsOut | Tab::FlowsIn)) => Detail::Flows(Rows::default()),
            Some((ip, twid, Tab::Evidence)) => Detail::Evidence(self.store.evidence(ip, *twid)?),
            Some((ip, twid, Tab::Alerts)) => {
                Detail::Alerts(self.store.alerts(Some(ip), Some(*twid))?)
            }
        };
        self.read_detail_rows(rows.max(1))
    }

    /// Reads pages of a paged tab until it has `rows` rows (or ends).
    fn read_detail_rows(&mut self, rows: usize) -> Result<(), Error> {
        if let Some((ip, twid, tab)) = &self.loaded.detail {
            let store = &self.store;
            match &mut self.detail {
                Detail::Timeline(r) => r.fill(rows, |p| store.timeline(ip, *twid, p))?,
                Detail::Flows(r) => {
                    let direction = if *tab == Tab::FlowsIn {
                        Direction::In
                    } else {
                        Direction::Out
                    };
                    r.fill(rows, |p| store.flows(ip, *twid, direction, p))?
                }
                _ => {}
            }
        }
        self.nav.detail.set_len(self.detail.len());
        Ok(())
    }

    fn load_inspect(&mut self) -> Result<(), Error> {
        self.loaded.inspect = self.inspect_key();
        let row = self.nav.detail.current().unwrap_or(0);
        let (title, lines) = match &self.detail {
            Detail::Alerts(v) => match v.get(row) {
                Some(a) => match self.store.alert(&a.id)? {
                    Some(d) => ("Alert".to_owned(), text::alert_detail(&d)),
                    None => ("Alert".to_owned(), vec![Line::from("(alert not found)")]),
                },
                None => Default::default(),
            },
            Detail::Evidence(v) => match v.get(row) {
                Some(e) => {
                    let flows = self.store.flows_by_uid(&e.uids, ALERT_FLOWS)?;
                    ("Evidence".to_owned(), text::evidence_detail(e, &flows))
                }
                None => Default::default(),
            },
            Detail::Flows(r) => match r.items.get(row) {
                Some(f) => ("Flow".to_owned(), text::flow_detail(f)),
                None => Default::default(),
            },
            Detail::Timeline(r) => match r.items.get(row) {
                Some(t) => ("Timeline entry".to_owned(), text::timeline_detail(t)),
                None => Default::default(),
            },
            Detail::None => Default::default(),
        };
        self.inspect_title = title;
        self.inspect = lines;
        self.nav.inspect.set_len(self.inspect.len());
        Ok(())
    }
}
