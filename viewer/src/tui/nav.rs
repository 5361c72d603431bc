//! Where the user is in the terminal UI: which pane has the keyboard, which row of
//! each list is selected and what part of it is on screen, which tab of a window is
//! open, the profile filter. Pure state: keys go in, the state changes; nothing here
//! reads the store or draws, so every key can be tested without a terminal.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// The pane that has the keyboard, from the outside in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Profiles,
    Windows,
    /// The open tab of the selected time window.
    Detail,
    /// One row of the open tab in full: an alert or evidence with the flows behind
    /// it, a flow's fields, a timeline line with what its records add.
    Inspect,
}

pub use detectors::query::WindowTab as Tab;

/// What a key asks for, once the terminal's key codes are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// Into the selected row (Enter, Right, `l`).
    Open,
    /// Out to the enclosing pane (Esc, Left, `h`, Backspace).
    Back,
    NextTab,
    PrevTab,
    /// A tab by its number on screen, from 0.
    SelectTab(usize),
    /// Re-read the store now.
    Refresh,
    /// Start typing a profile filter.
    StartFilter,
    Quit,
    /// A character typed into the filter.
    FilterChar(char),
    /// Backspace in the filter.
    FilterErase,
    /// Enter in the filter: keep it and leave typing.
    FilterDone,
    /// Esc in the filter: drop it.
    FilterCancel,
}

impl Input {
    /// The meaning of a key press; `None` for keys without one (and releases). While
    /// `typing` a filter, printable keys are text.
    pub fn from_key(key: KeyEvent, typing: bool) -> Option<Input> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return match key.code {
                KeyCode::Char('c') => Some(Input::Quit),
                KeyCode::Char('f') => Some(Input::PageDown),
                KeyCode::Char('b') => Some(Input::PageUp),
                _ => None,
            };
        }
        if typing {
            return match key.code {
                KeyCode::Char(c) => Some(Input::FilterChar(c)),
                KeyCode::Backspace => Some(Input::FilterErase),
                KeyCode::Enter => Some(Input::FilterDone),
                KeyCode::Esc => Some(Input::FilterCancel),
                KeyCode::Up => Some(Input::Up),
                KeyCode::Down => Some(Input::Down),
                _ => None,
            };
        }
        Some(match key.code {
            KeyCode::Up | KeyCode::Char('k') => Input::Up,
            KeyCode::Down | KeyCode::Char('j') => Input::Down,
            KeyCode::PageUp => Input::PageUp,
            KeyCode::PageDown | KeyCode::Char(' ') => Input::PageDown,
            KeyCode::Home | KeyCode::Char('g') => Input::Home,
            KeyCode::End | KeyCode::Char('G') => Input::End,
            KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => Input::Open,
            KeyCode::Esc | KeyCode::Left | KeyCode::Backspace | KeyCode::Char('h') => Input::Back,
            KeyCode::Tab => Input::NextTab,
            KeyCode::BackTab => Input::PrevTab,
            KeyCode::Char(c @ '1'..='5') => Input::SelectTab(c as usize - '1' as usize),
            KeyCode::Char('r') => Input::Refresh,
            KeyCode::Char('/') => Input::StartFilter,
            KeyCode::Char('q') => Input::Quit,
            _ => return None,
        })
    }
}

/// A selected row in a list of `len` rows of which `page` fit on screen, starting at
/// `offset`. The selection always stays on screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
    len: usize,
    page: usize,
}

impl Cursor {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The selected row, if the list has any.
    pub fn current(&self) -> Option<usize> {
        (self.len > 0).then_some(self.selected)
    }

    /// The list now has `len` rows (after a load or a refresh); the selection stays
    /// where it was if it still exists.
    pub fn set_len(&mut self, len: usize) {
        self.len = len;
        self.selected = self.selected.min(len.saturating_sub(1));
        self.keep_visible();
    }

    /// `page` rows fit on screen (told by the renderer, which knows the size).
    pub fn set_page(&mut self, page: usize) {
        self.page = page;
        self.keep_visible();
    }

    pub fn select(&mut self, row: usize) {
        self.selected = row.min(self.len.saturating_sub(1));
        self.keep_visible();
    }

    pub fn reset(&mut self) {
        self.selected = 0;
        self.offset = 0;
    }

    fn page_step(&self) -> usize {
        self.page.saturating_sub(1).max(1)
    }

    /// Moves the selection; returns whether it changed.
    fn apply(&mut self, input: Input) -> bool {
        let before = self.selected;
        let last = self.len.saturating_sub(1);
        self.selected = match input {
            Input::Up => self.selected.saturating_sub(1),
            Input::Down => (self.selected + 1).min(last),
            Input::PageUp => self.selected.saturating_sub(self.page_step()),
            Input::PageDown => (self.selected + self.page_step()).min(last),
            Input::Home => 0,
            Input::End => last,
            _ => self.selected,
        };
        self.keep_visible();
        before != self.selected
    }

    fn keep_visible(&mut self) {
        let page = self.page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        // No blank rows below the last one when the list shrank or the screen grew.
        self.offset = self.offset.min(self.len.saturating_sub(page));
    }
}

/// The whole navigation state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nav {
    pub pane: Pane,
    pub tab: Tab,
    pub profiles: Cursor,
    pub windows: Cursor,
    pub detail: Cursor,
    pub inspect: Cursor,
    /// The profile filter (a substring of the address or the host name).
    pub filter: String,
    /// Keys go into the filter.
    pub typing: bool,
    pub quit: bool,
    /// Set by `r`; the app re-reads the store and clears it.
    pub refresh_requested: bool,
}

impl Default for Nav {
    fn default() -> Nav {
        Nav {
            pane: Pane::Profiles,
            tab: Tab::Timeline,
            profiles: Cursor::default(),
            windows: Cursor::default(),
            detail: Cursor::default(),
            inspect: Cursor::default(),
            filter: String::new(),
            typing: false,
            quit: false,
            refresh_requested: false,
        }
    }
}

impl Nav {
    /// Reads a terminal key; see [`Input::from_key`].
    pub fn key(&mut self, key: KeyEvent) {
        if let Some(input) = Input::from_key(key, self.typing) {
            self.apply(input);
        }
    }

    pub fn apply(&mut self, input: Input) {
        match input {
            Input::Quit => self.quit = true,
            Input::Refresh => self.refresh_requested = true,
            Input::StartFilter => {
                self.pane = Pane::Profiles;
                self.typing = true;
            }
            Input::FilterChar(c) => {
                self.filter.push(c);
                self.profiles_changed();
            }
            Input::FilterErase => {
                self.filter.pop();
                self.profiles_changed();
            }
            Input::FilterDone => self.typing = false,
            Input::FilterCancel => {
                self.typing = false;
                self.filter.clear();
                self.profiles_changed();
            }
            Input::NextTab | Input::PrevTab | Input::SelectTab(_) => {
                let tab = match input {
                    Input::SelectTab(i) => Tab::ALL.get(i).copied().unwrap_or(self.tab),
                    other => self.tab.step(other == Input::NextTab),
                };
                if tab != self.tab {
                    self.tab = tab;
                    self.detail.reset();
                }
                if self.pane == Pane::Inspect {
                    self.pane = Pane::Detail;
                }
            }
            Input::Open => self.open(),
            Input::Back => self.back(),
            Input::Up
            | Input::Down
            | Input::PageUp
            | Input::PageDown
            | Input::Home
            | Input::End => self.move_selection(input),
        }
    }

    fn open(&mut self) {
        match self.pane {
            Pane::Profiles if !self.profiles.is_empty() => self.pane = Pane::Windows,
            Pane::Windows if !self.windows.is_empty() => self.pane = Pane::Detail,
            Pane::Detail if !self.detail.is_empty() => {
                self.inspect.reset();
                self.pane = Pane::Inspect;
            }
            _ => {}
        }
    }

    fn back(&mut self) {
        self.pane = match self.pane {
            Pane::Profiles => {
                if !self.filter.is_empty() {
                    self.filter.clear();
                    self.profiles_changed();
                }
                Pane::Profiles
            }
            Pane::Windows => Pane::Profiles,
            Pane::Detail => Pane::Windows,
            Pane::Inspect => Pane::Detail,
        };
    }

    fn move_selection(&mut self, input: Input) {
        match self.pane {
            Pane::Profiles => {
                if self.profiles.apply(input) {
                    self.windows.reset();
                    self.detail.reset();
                }
            }
            Pane::Windows => {
                if self.windows.apply(input) {
                    self.detail.reset();
                }
            }
            Pane::Detail => {
                self.detail.apply(input);
            }
            Pane::Inspect => {
                self.inspect.apply(input);
            }
        }
    }

    /// The filter changed what the profile list shows: start again at its top.
    fn profiles_changed(&mut self) {
        self.profiles.reset();
        self.windows.reset();
        self.detail.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn nav_with(profiles: usize, windows: usize, rows: usize) -> Nav {
        let mut n = Nav::default();
        n.profiles.set_len(profiles);
        n.windows.set_len(windows);
        n.detail.set_len(rows);
        for c in [&mut n.profiles, &mut n.windows, &mut n.detail] {
            c.set_page(5);
        }
        n
    }

    #[test]
    fn cursor_keeps_the_selection_on_screen() {
        let mut c = Cursor::default();
        c.set_len(20);
        c.set_page(5);
        for _ in 0..6 {
            c.apply(Input::Down);
        }
        assert_eq!((c.selected, c.offset), (6, 2));
        c.apply(Input::PageDown);
        assert_eq!((c.selected, c.offset), (10, 6));
        c.apply(Input::End);
        assert_eq!((c.selected, c.offset), (19, 15));
        assert!(!c.apply(Input::Down), "stays on the last row");
        c.apply(Input::PageUp);
        assert_eq!((c.selected, c.offset), (15, 15));
        c.apply(Input::Home);
        assert_eq!((c.selected, c.offset), (0, 0));
        // The list shrinks under the selection (a refresh).
        c.apply(Input::End);
        c.set_len(3);
        assert_eq!((c.selected, c.offset), (2, 0));
        c.set_len(0);
        assert_eq!(c.current(), None);
        assert!(!c.apply(Input::Down));
    }

    #[test]
    fn walk_in_and_out() {
        let mut n = nav_with(3, 2, 4);
        n.key(key(KeyCode::Down));
        assert_eq!(n.profiles.selected, 1);
        n.key(key(KeyCode::Enter));
        assert_eq!(n.pane, Pane::Windows);
        n.key(key(KeyCode::Char('j')));
        assert_eq!(n.windows.selected, 1);
        n.key(key(KeyCode::Right));
        assert_eq!(n.pane, Pane::Detail);
        assert_eq!(n.tab, Tab::Timeline);
        n.key(key(KeyCode::Enter));
        assert_eq!(n.pane, Pane::Inspect);
        n.key(key(KeyCode::Esc));
        n.key(key(KeyCode::Char('5')));
        assert_eq!(n.tab, Tab::Alerts);
        n.key(key(KeyCode::Enter));
        assert_eq!(n.pane, Pane::Inspect);
        n.key(key(KeyCode::Esc));
        assert_eq!(n.pane, Pane::Detail);
        n.key(key(KeyCode::Backspace));
        assert_eq!(n.pane, Pane::Windows);
        n.key(key(KeyCode::Left));
        assert_eq!(n.pane, Pane::Profiles);
        assert_eq!((n.profiles.selected, n.windows.selected), (1, 1));
        n.key(key(KeyCode::Char('q')));
        assert!(n.quit);
    }

    #[test]
    fn moving_the_outer_selection_resets_the_inner_ones() {
        let mut n = nav_with(3, 4, 10);
        n.pane = Pane::Windows;
        n.key(key(KeyCode::Down));
        n.pane = Pane::Detail;
        n.key(key(KeyCode::End));
        assert_eq!(n.detail.selected, 9);
        n.pane = Pane::Windows;
        n.key(key(KeyCode::Up));
        assert_eq!((n.windows.selected, n.detail.selected), (0, 0));
        n.key(key(KeyCode::Down));
        n.pane = Pane::Profiles;
        n.key(key(KeyCode::Down));
        assert_eq!((n.windows.selected, n.detail.selected), (0, 0));
        // A key that does not move the selection resets nothing.
        n.pane = Pane::Windows;
        n.key(key(KeyCode::Down));
        n.pane = Pane::Profiles;
        n.key(key(KeyCode::End));
        n.key(key(KeyCode::End));
        assert_eq!(n.profiles.selected, 2);
    }

    #[test]
    fn tabs_cycle_and_reset_the_rows() {
        let mut n = nav_with(1, 1, 10);
        n.pane = Pane::Detail;
        n.key(key(KeyCode::Down));
        n.key(key(KeyCode::Tab));
        assert_eq!((n.tab, n.detail.selected), (Tab::FlowsOut, 0));
        n.key(key(KeyCode::BackTab));
        n.key(key(KeyCode::BackTab));
        assert_eq!(n.tab, Tab::Alerts);
        n.key(key(KeyCode::Enter));
        assert_eq!(n.pane, Pane::Inspect);
        // Another tab leaves the inspect pane.
        n.key(key(KeyCode::Char('4')));
        assert_eq!((n.tab, n.pane), (Tab::Evidence, Pane::Detail));
    }

    #[test]
    fn nothing_opens_on_an_empty_list() {
        let mut n = nav_with(0, 0, 0);
        n.key(key(KeyCode::Enter));
        assert_eq!(n.pane, Pane::Profiles);
        let mut n = nav_with(1, 0, 0);
        n.key(key(KeyCode::Enter));
        n.key(key(KeyCode::Enter));
        assert_eq!(n.pane, Pane::Windows);
        let mut n = nav_with(1, 1, 0);
        n.tab = Tab::Alerts;
        n.key(key(KeyCode::Enter));
        n.key(key(KeyCode::Enter));
        n.key(key(KeyCode::Enter));
        assert_eq!(n.pane, Pane::Detail);
    }

    #[test]
    fn filter_typing() {
        let mut n = nav_with(5, 1, 1);
        n.key(key(KeyCode::Down));
        n.key(key(KeyCode::Char('/')));
        assert!(n.typing);
        // Letters that are keys elsewhere are text while typing.
        for c in "q1.j".chars() {
            n.key(key(KeyCode::Char(c)));
        }
        assert_eq!(n.filter, "q1.j");
        assert!(!n.quit);
        assert_eq!(n.profiles.selected, 0, "a new filter starts at the top");
        n.key(key(KeyCode::Backspace));
        assert_eq!(n.filter, "q1.");
        n.key(key(KeyCode::Enter));
        assert!(!n.typing);
        assert_eq!(
            n.pane,
            Pane::Profiles,
            "Enter ends typing, it does not open"
        );
        // Esc in the profile list drops a kept filter.
        n.key(key(KeyCode::Esc));
        assert_eq!(n.filter, "");
        n.key(key(KeyCode::Char('/')));
        n.key(key(KeyCode::Char('x')));
        n.key(key(KeyCode::Esc));
        assert_eq!((n.typing, n.filter.as_str()), (false, ""));
    }

    #[test]
    fn control_keys_and_releases() {
        let mut n = nav_with(30, 1, 1);
        n.profiles.set_page(10);
        n.key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL));
        assert_eq!(n.profiles.selected, 9);
        let mut release = key(KeyCode::Down);
        release.kind = KeyEventKind::Release;
        n.key(release);
        assert_eq!(n.profiles.selected, 9);
        n.key(key(KeyCode::Char('r')));
        assert!(n.refresh_requested);
        n.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(n.quit);
    }
}
