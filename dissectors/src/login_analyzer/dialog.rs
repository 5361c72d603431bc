//! The login dialogue as Zeek's `Login_Analyzer` follows it (`Login.cc`), shared by
//! telnet, rlogin and rsh: the client's lines are typeahead (user names, passwords), the
//! server's lines are matched against lists of prompts and messages, and the dialogue
//! ends in a success, a failure (possibly several) or confusion.
//!
//! The message lists are the ones Slips' `zeek-scripts/login.zeek` defines (Bro 1.5's
//! `login.bro` defaults). Zeek reads each list as a set of regular expressions and asks
//! where the earliest match anywhere in the line ends; the lists only use `.` as a regex
//! metacharacter (plus `TERMINAL?`, whose earliest match is `TERMINA`), so they are kept
//! here as byte strings where `.` matches any byte.

use std::collections::VecDeque;

/// Client lines remembered before the server reacts (Zeek's `MAX_USER_TEXT`); one more
/// is "excessive typeahead" and confuses the analyzer.
pub(super) const MAX_USER_TEXT: usize = 12;
/// Longest typeahead entry kept; longer ones are cut (Zeek keeps any length).
pub(super) const MAX_USER_TEXT_LEN: usize = 1024;
/// Server lines without a prompt or failure after which the analyzer gives up.
const MAX_AUTHENTICATE_LINES: u32 = 50;
/// Server lines after the last prompt after which the login is taken as successful.
const MAX_LOGIN_LOOKAHEAD: u32 = 10;

const SKIP_AUTHENTICATION: &[&[u8]] = &[b"WELCOME TO THE BERKELEY PUBLIC LIBRARY"];
const DIRECT_LOGIN_PROMPTS: &[&[u8]] = &[b"TERMINA"];
const LOGIN_PROMPTS: &[&[u8]] = &[
    b"Login:",
    b"login:",
    b"Name:",
    b"Username:",
    b"User:",
    b"Member Name",
    b"User Access Verification",
    b"Cisco Systems Console",
];
const LOGIN_NON_FAILURE_MSGS: &[&[u8]] = &[
    b"Failures",
    b"failures",
    b"failure since last successful login",
    b"failures since last successful login",
];
const LOGIN_FAILURE_MSGS: &[&[u8]] = &[
    b"invalid",
    b"Invalid",
    b"incorrect",
    b"Incorrect",
    b"failure",
    b"Failure",
    b"User authorization failure",
    b"Login failed",
    b"INVALID",
    b"Sorry.",
    b"Sorry,",
];
const LOGIN_SUCCESS_MSGS: &[&[u8]] = &[
    b"Last login",
    b"Last successful login",
    b"Last   successful login",
    b"checking for disk quotas",
    b"unsuccessful login attempts",
    b"failure since last successful login",
    b"failures since last successful login",
];
const LOGIN_TIMEOUTS: &[&[u8]] = &[
    b"timeout",
    b"timed out",
    b"Timeout",
    b"Timed out",
    b"Error reading command input",
];

/// VMS's "repeat the previous line" key.
const VMS_REPEAT: &[u8] = b"\x1b[A";

/// Where the earliest match of any pattern ends in `line` (Zeek's
/// `RE_Matcher::MatchAnywhere`), or `None`.
fn match_end(patterns: &[&[u8]], line: &[u8]) -> Option<usize> {
    patterns
        .iter()
        .filter_map(|p| {
            if p.is_empty() || p.len() > line.len() {
                return None;
            }
            line.windows(p.len())
                .position(|w| w.iter().zip(p.iter()).all(|(b, q)| *q == b'.' || b == q))
                .map(|start| start + p.len())
        })
        .min()
}

fn matches(patterns: &[&[u8]], line: &[u8]) -> bool {
    match_end(patterns, line).is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// C's `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_empty(line: &[u8]) -> bool {
    line.iter().all(|&b| is_space(b))
}

fn is_failure(line: &[u8]) -> bool {
    matches(LOGIN_FAILURE_MSGS, line) && !matches(LOGIN_NON_FAILURE_MSGS, line)
}

fn is_success(line: &[u8]) -> bool {
    matches(LOGIN_SUCCESS_MSGS, line)
}

fn is_timeout(line: &[u8]) -> bool {
    matches(LOGIN_TIMEOUTS, line)
}

fn is_skip_authentication(line: &[u8]) -> bool {
    matches(SKIP_AUTHENTICATION, line)
}

fn is_direct_login_prompt(line: &[u8]) -> bool {
    matches(DIRECT_LOGIN_PROMPTS, line)
}

/// Where the text after a login prompt starts, unless the line is not a prompt (or is a
/// failure message: IRIX can say "login: ERROR: Login incorrect").
fn login_prompt(line: &[u8]) -> Option<usize> {
    let end = match_end(LOGIN_PROMPTS, line)?;
    (!is_failure(line)).then_some(end)
}

/// What the dialogue tells the login.log script (Zeek's `login_*` events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum LoginEvent {
    Success(Attempt),
    Failure(Attempt),
    Confused,
}

/// The arguments of `login_success` / `login_failure`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Attempt {
    pub user: Vec<u8>,
    pub client_user: Vec<u8>,
    pub password: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Authenticate,
    LoggedIn,
    /// `skip_authentication` or a direct login prompt: nothing more is analysed.
    Skip,
    Confused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Success,
    Failure,
}

/// One connection's `Login_Analyzer` state.
pub(super) struct Dialog {
    state: State,
    lines_scanned: u32,
    num_user_lines_seen: u32,
    /// `-1` before the first failure, so that a failure is reported even when the
    /// user typed nothing.
    last_failure_num_user_lines: i64,
    login_prompt_line: u32,
    failure_line: u32,
    typeahead: VecDeque<Vec<u8>>,
    username: Option<Vec<u8>>,
    /// The rlogin / rsh client-side user.
    client_name: Option<Vec<u8>>,
    is_vms: bool,
    saw_ploy: bool,
    events: Vec<LoginEvent>,
}

impl Dialog {
    pub fn new() -> Self {
        Dialog {
            state: State::Authenticate,
            lines_scanned: 0,
            num_user_lines_seen: 0,
            last_failure_num_user_lines: -1,
            login_prompt_line: 0,
            failure_line: 0,
            typeahead: VecDeque::new(),
            username: None,
            client_name: None,
            is_vms: false,
            saw_ploy: false,
            events: Vec::new(),
        }
    }

    /// Nothing more can come of the connection: logged in, or told to skip it.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::LoggedIn | State::Skip)
    }

    /// The events raised since the last call.
    pub fn take_events(&mut self) -> std::vec::Drain<'_, LoginEvent> {
        self.events.drain(..)
    }

    /// One complete line from either side (NUL bytes already removed).
    pub fn line(&mut self, is_orig: bool, line: &[u8]) {
        match self.state {
            State::Skip | State::LoggedIn => {}
            State::Authenticate => self.authentication_dialog(is_orig, line),
            State::Confused => {
                // Client lines may still be ploys; the server may still announce a login.
                if is_orig {
                    self.is_ploy(line);
                } else if !self.saw_ploy && is_success(line) {
                    self.login_event(Kind::Success, true);
                    self.state = State::LoggedIn;
                }
            }
        }
    }

    /// The rlogin / rsh client-side user name of the prologue.
    pub fn client_user_name(&mut self, name: &[u8]) {
        if self.client_name.is_none() {
            self.client_name = Some(name.to_vec());
        }
    }

    /// The rlogin server-side user name of the prologue: typed ahead, as if at a prompt.
    pub fn rlogin_server_user_name(&mut self, name: &[u8]) {
        self.num_user_lines_seen = self.num_user_lines_seen.saturating_add(1);
        self.login_prompt_line = self.login_prompt_line.saturating_add(1);
        self.add_user_text(name);
    }

    /// The rsh server-side user name of the prologue: the user, no prompt involved.
    pub fn rsh_server_user_name(&mut self, name: &[u8]) {
        if self.username.is_none() {
            self.username = Some(name.to_vec());
        }
    }

    /// A telnet environment variable (`NEW-ENVIRON IS`), sent by `is_orig`'s side.
    pub fn environment(&mut self, is_orig: bool, name: &[u8], value: &[u8]) {
        if !is_orig {
            self.confused();
            return;
        }
        if name == b"USER" {
            if self.username.as_deref().is_some_and(|u| u != value) {
                self.confused();
            }
            self.username = Some(value.to_vec());
        }
    }

    /// One side closed (Zeek's `EndpointEOF`): typeahead without any verdict is taken
    /// as a login that went through.
    pub fn end_of_input(&mut self) {
        if self.state == State::Authenticate && !self.typeahead.is_empty() {
            self.login_event(Kind::Success, true);
            self.state = State::LoggedIn;
        }
    }

    fn authentication_dialog(&mut self, is_orig: bool, line: &[u8]) {
        if is_orig {
            if self.is_vms {
                if let Some(at) = find(line, VMS_REPEAT) {
                    if line.len() > at + VMS_REPEAT.len() {
                        self.confused();
                        return;
                    }
                    // VMS repeats the user name, not the last line typed.
                    match self.username.clone() {
                        Some(u) if find(&u, VMS_REPEAT).is_some() => self.confused(),
                        Some(u) => self.line(true, &u),
                        None => self.confused(),
                    }
                    return;
                }
            }
            self.num_user_lines_seen = self.num_user_lines_seen.saturating_add(1);
            if !self.is_ploy(line) {
                self.add_user_text(line);
            }
            return;
        }

        // Some servers send many blank lines.
        if is_empty(line) {
            return;
        }
        self.lines_scanned = self.lines_scanned.saturating_add(1);
        if self.lines_scanned > MAX_AUTHENTICATE_LINES
            && self.login_prompt_line == 0
            && self.failure_line == 0
        {
            // Zeek goes on with this line in the confused state.
            self.confused();
        }

        let prompt = login_prompt(line);
        let timeout = is_timeout(line);
        if let Some(mut after) = prompt.filter(|_| !is_success(line) && !timeout) {
            self.is_vms = find(line, b"Username:").is_some();
            // Several prompts on one line (or on adjacent lines) each consume one line
            // of typeahead: a blank one, or a line the system did not accept.
            let multi_line_prompt = self.login_prompt_line == self.lines_scanned - 1
                && self.login_prompt_line != self.failure_line;
            loop {
                let next = line
                    .get(after + 1..)
                    .filter(|_| after < line.len())
                    .and_then(login_prompt)
                    .map(|n| after + 1 + n);
                if next.is_none() && !multi_line_prompt {
                    break;
                }
                let Some(popped) = self.typeahead.pop_front() else {
                    self.confused();
                    break;
                };
                if multi_line_prompt {
                    break;
                }
                if !is_empty(&popped) {
                    self.confused();
                    break;
                }
                after = next.unwrap_or(line.len());
            }
            if self.state == State::Confused {
                return;
            }
            // A user name typed ahead shows after the prompt (the server's echo).
            let rest = line.get(after..).unwrap_or_default();
            let user_at = rest.iter().position(|&b| !is_space(b));
            if let Some(at) = user_at {
                if self.typeahead.is_empty() {
                    self.add_user_text(&rest[at..]);
                }
            }
            self.login_prompt_line = self.lines_scanned;
            if is_direct_login_prompt(line) {
                self.login_event(Kind::Success, true);
                self.state = State::Skip;
            }
        } else if timeout || is_failure(line) {
            // One failure per batch of user input: "Error reading command input" then
            // "Timeout period expired" is one failure.
            if i64::from(self.num_user_lines_seen) > self.last_failure_num_user_lines {
                if timeout {
                    self.add_user_text(b"<timeout>");
                }
                self.login_event(Kind::Failure, false);
            }
            // The lookahead before a presumed success counts from here.
            self.login_prompt_line = self.lines_scanned;
            self.failure_line = self.lines_scanned;
            self.last_failure_num_user_lines = i64::from(self.num_user_lines_seen);
        } else if is_skip_authentication(line) {
            self.state = State::Skip;
        } else if is_success(line)
            || (self.login_prompt_line > 0
                && u64::from(self.lines_scanned)
                    > u64::from(self.login_prompt_line)
                        + u64::from(MAX_LOGIN_LOOKAHEAD)
                        + self.typeahead.len() as u64)
        {
            self.login_event(Kind::Success, false);
            self.state = State::LoggedIn;
        }
    }

    /// Raises `login_success` / `login_failure` with the user and password taken from
    /// the typeahead (Zeek's `LoginEvent`).
    fn login_event(&mut self, kind: Kind, no_user_okay: bool) {
        if self.login_prompt_line > self.failure_line {
            while self.typeahead.front().is_some_and(|t| is_empty(t)) {
                self.typeahead.pop_front();
            }
            match self.typeahead.pop_front() {
                Some(user) => self.username = Some(user),
                None if no_user_okay => self.username = Some(b"<none>".to_vec()),
                None => {
                    self.confused();
                    return;
                }
            }
        } else if self.username.is_none() {
            // The system re-prompted for a password after a failure: the earlier
            // user name stands.
            if no_user_okay {
                self.username = Some(b"<none>".to_vec());
            } else {
                self.confused();
                return;
            }
        }
        let password = self
            .typeahead
            .pop_front()
            .unwrap_or_else(|| b"<none>".to_vec());
        let attempt = Attempt {
            user: self.username.clone().unwrap_or_default(),
            client_user: self.client_name.clone().unwrap_or_default(),
            password,
        };
        self.events.push(match kind {
            Kind::Success => LoginEvent::Success(attempt),
            Kind::Failure => LoginEvent::Failure(attempt),
        });
    }

    /// `login_confused`; the typeahead stays (Slips handles no `login_confused_text`).
    fn confused(&mut self) {
        self.state = State::Confused;
        self.events.push(LoginEvent::Confused);
    }

    /// A client line that looks like server output is a possible ploy to fool the
    /// analyzer.
    fn is_ploy(&mut self, line: &[u8]) -> bool {
        let ploy = login_prompt(line).is_some()
            || is_failure(line)
            || is_success(line)
            || is_skip_authentication(line);
        if ploy {
            self.saw_ploy = true;
            self.confused();
        }
        ploy
    }

    fn add_user_text(&mut self, text: &[u8]) {
        if self.typeahead.len() >= MAX_USER_TEXT {
            self.confused();
        } else {
            let kept = text.get(..MAX_USER_TEXT_LEN).unwrap_or(text);
            self.typeahead.push_back(kept.to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_match_end_and_wildcards() {
        assert_eq!(match_end(LOGIN_PROMPTS, b"login: root"), Some(6));
        assert_eq!(match_end(LOGIN_PROMPTS, b"x Username: y"), Some(11));
        assert_eq!(match_end(LOGIN_PROMPTS, b"password:"), None);
        // `Sorry.` needs one more byte after "Sorry".
        assert!(!is_failure(b"Sorry"));
        assert!(is_failure(b"Sorry!"));
        assert!(is_direct_login_prompt(b"TERMINAL TYPE?"));
        // "failures since last successful login" is not a failure, but a success.
        assert!(!is_failure(b"2 failures since last successful login"));
        assert!(is_success(b"2 failures since last successful login"));
        // A failure message is never a prompt.
        assert_eq!(login_prompt(b"login: ERROR: Login incorrect"), None);
    }

    fn events(d: &mut Dialog) -> Vec<LoginEvent> {
        d.take_events().collect()
    }

    fn attempt(user: &str, password: &str) -> Attempt {
        Attempt {
            user: user.into(),
            client_user: Vec::new(),
            password: password.into(),
        }
    }

    #[test]
    fn typeahead_after_a_prompt_gives_user_and_password() {
        let mut d = Dialog::new();
        d.line(false, b"Debian GNU/Linux 12");
        d.line(false, b"host login: ");
        d.line(true, b"root");
        d.line(false, b"Password: ");
        d.line(true, b"hunter2");
        d.line(false, b"Last login: Mon Jan  1 10:00:00 from 10.0.0.1");
        assert_eq!(
            events(&mut d),
            [LoginEvent::Success(attempt("root", "hunter2"))]
        );
        assert!(d.is_done());
    }

    #[test]
    fn a_failure_then_a_reprompt_then_success() {
        let mut d = Dialog::new();
        d.line(false, b"login: ");
        d.line(true, b"admin");
        d.line(false, b"Password: ");
        d.line(true, b"wrong");
        d.line(false, b"Login incorrect");
        assert_eq!(
            events(&mut d),
            [LoginEvent::Failure(attempt("admin", "wrong"))]
        );
        // A second failure message without new input is the same failure.
        d.line(false, b"Login incorrect");
        assert!(events(&mut d).is_empty());
        d.line(false, b"login: ");
        d.line(true, b"admin");
        d.line(false, b"Password: ");
        d.line(true, b"right");
        d.line(false, b"Last login: yesterday");
        assert_eq!(
            events(&mut d),
            [LoginEvent::Success(attempt("admin", "right"))]
        );
    }

    #[test]
    fn client_text_that_looks_like_a_prompt_is_a_ploy() {
        let mut d = Dialog::new();
        d.line(false, b"login: ");
        d.line(true, b"login: root");
        assert_eq!(events(&mut d), [LoginEvent::Confused]);
        // Confused, and a ploy seen: a later success message is not believed.
        d.line(false, b"Last login: never");
        assert!(events(&mut d).is_empty());
        assert!(!d.is_done());
    }

    #[test]
    fn too_many_lines_without_a_prompt_confuse_and_too_much_typeahead_too() {
        let mut d = Dialog::new();
        for _ in 0..=MAX_AUTHENTICATE_LINES {
            d.line(false, b"motd");
        }
        assert_eq!(events(&mut d), [LoginEvent::Confused]);

        let mut d = Dialog::new();
        for _ in 0..=MAX_USER_TEXT {
            d.line(true, b"x");
        }
        assert_eq!(events(&mut d), [LoginEvent::Confused]);
    }

    #[test]
    fn lookahead_after_the_prompt_presumes_success() {
        let mut d = Dialog::new();
        d.line(false, b"login:");
        d.line(true, b"guest");
        for _ in 0..=MAX_LOGIN_LOOKAHEAD + 1 {
            d.line(false, b"$ output");
        }
        assert_eq!(
            events(&mut d),
            [LoginEvent::Success(attempt("guest", "<none>"))]
        );
    }

    #[test]
    fn end_of_input_with_typeahead_is_a_success_without_user() {
        let mut d = Dialog::new();
        d.line(true, b"ls");
        d.end_of_input();
        assert_eq!(
            events(&mut d),
            [LoginEvent::Success(attempt("<none>", "ls"))]
        );
    }

    #[test]
    fn environment_user_and_server_side_environment() {
        let mut d = Dialog::new();
        d.environment(true, b"USER", b"alice");
        d.line(false, b"Password:");
        d.line(true, b"pw");
        d.line(false, b"Login incorrect");
        assert_eq!(
            events(&mut d),
            [LoginEvent::Failure(attempt("alice", "pw"))]
        );
        d.environment(false, b"USER", b"x");
        assert_eq!(events(&mut d), [LoginEvent::Confused]);
    }
}
