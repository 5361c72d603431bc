//! login.log from the wire: telnet, rlogin and rsh login attempts, as Zeek's Login
//! analyzers find them (`src/analyzer/protocol/login/`) and Slips' Zeek script
//! (`zeek-scripts/login.zeek`) logs them.
//!
//! Like that script, the analyzers run on their well-known server ports only (telnet
//! 23/tcp, rlogin 513/tcp, rsh 514/tcp; Zeek has no content signature for them). Each
//! connection's bytes are cut into lines (`telnet`: the NVT with its option
//! negotiation taken out; `remote`: the rlogin / rsh prologue and lines), and the lines
//! drive the login dialogue (`dialog`), whose events become rows the way the script
//! writes them:
//! - every `login_failure` and the `login_success` write a row (the record keeps
//!   what earlier events set: the first failure's user, `confused`);
//! - a connection that only confused the analyzer writes one row when it ends;
//! - `""`, `<none>` and `<timeout>` are left out of `user`, `client_user`, `password`;
//!   an rsh success with a client user has no password (it would be the command).
//!
//! The connection's `service` gets `telnet`, `rlogin` or `rsh` at the first such event,
//! as the script adds it. Zeek's `EndpointEOF` (typeahead left when a side closes is a
//! success, `<EOF>`) is applied when the connection ends: the dissector API has no
//! per-side end of stream.

mod dialog;
mod remote;
mod telnet;

use crate::analyzer::{Context, Dissector};
use crate::conn::{ConnId, Transport};
use crate::login::LoginRecord;
use crate::zeek::escape_bytes_lossy;

use dialog::{Attempt, Dialog, LoginEvent};
use remote::Remote;
use telnet::Telnet;

/// The server ports the Login analyzers run on (telnet, rlogin, rsh).
pub const PORTS: [u16; 3] = [23, 513, 514];

/// The three protocols of the Login analyzer, by server port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Telnet,
    Rlogin,
    Rsh,
}

impl Protocol {
    /// The protocol Zeek's Login analyzers (as Slips registers them) attach for a
    /// responder port.
    pub fn for_port(resp_p: u16) -> Option<Protocol> {
        match resp_p {
            23 => Some(Protocol::Telnet),
            513 => Some(Protocol::Rlogin),
            514 => Some(Protocol::Rsh),
            _ => None,
        }
    }

    /// The name in conn.log's `service` and login.log's `proto`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Telnet => "telnet",
            Protocol::Rlogin => "rlogin",
            Protocol::Rsh => "rsh",
        }
    }
}

/// The dpd candidate: TCP to port 23, 513 or 514.
pub fn candidate(id: &ConnId) -> Option<Box<dyn Dissector>> {
    if id.proto != Transport::Tcp {
        return None;
    }
    let protocol = Protocol::for_port(id.resp_p)?;
    Some(Box::new(LoginDissector::new(protocol)))
}

/// What the line readers hand to the dialogue.
#[derive(Debug)]
pub(crate) enum Piece<'a> {
    /// A complete line, without its end and without NUL bytes.
    Line(&'a [u8]),
    /// The rlogin / rsh prologue's client-side user.
    ClientUser(&'a [u8]),
    /// The rlogin / rsh prologue's server-side user.
    ServerUser(&'a [u8]),
    /// A telnet NEW-ENVIRON variable.
    Environment { name: &'a [u8], value: &'a [u8] },
}

enum Framing {
    Telnet(Telnet),
    Remote(Remote),
}

/// The script's `Login::Info` for the connection (`c$login`).
#[derive(Default)]
struct Session {
    success: bool,
    confused: bool,
    user: Option<Vec<u8>>,
    client_user: Option<Vec<u8>>,
    password: Option<Vec<u8>>,
    logged: bool,
}

pub struct LoginDissector {
    protocol: Protocol,
    framing: Framing,
    dialog: Dialog,
    session: Option<Session>,
}

impl LoginDissector {
    pub fn new(protocol: Protocol) -> Self {
        let framing = match protocol {
            Protocol::Telnet => Framing::Telnet(Telnet::new()),
            Protocol::Rlogin => Framing::Remote(Remote::rlogin()),
            Protocol::Rsh => Framing::Remote(Remote::rsh()),
        };
        LoginDissector {
            protocol,
            framing,
            dialog: Dialog::new(),
            session: None,
        }
    }

    /// Turns the dialogue's events into rows, as the script's handlers do.
    fn script(&mut self, cx: &mut Context<'_>) {
        let protocol = self.protocol;
        let LoginDissector {
            dialog, session, ..
        } = self;
        for event in dialog.take_events() {
            if session.is_none() {
                // `set_login_session`: the service is named at the first event.
                cx.confirm();
            }
            let s = session.get_or_insert_with(Session::default);
            match event {
                LoginEvent::Confused => s.confused = true,
                LoginEvent::Failure(a) => {
                    let unset = |v: &Option<Vec<u8>>| v.as_deref().is_none_or(<[u8]>::is_empty);
                    if unset(&s.user) {
                        s.user = Some(a.user);
                    }
                    if unset(&s.client_user) {
                        s.client_user = Some(a.client_user);
                    }
                    if unset(&s.password) {
                        s.password = Some(a.password);
                    }
                    log(s, protocol, cx);
                }
                LoginEvent::Success(Attempt {
                    user,
                    client_user,
                    password,
                }) => {
                    s.success = true;
                    s.user = Some(user);
                    // For rsh with a client user, the "password" is the first command.
                    if protocol != Protocol::Rsh || client_user.is_empty() {
                        s.password = Some(password);
                    }
                    s.client_user = Some(client_user);
                    log(s, protocol, cx);
                }
            }
        }
    }
}

/// `login_message`: drops the placeholder values (for good: the record is the
/// connection's) and writes a row.
fn log(s: &mut Session, protocol: Protocol, cx: &mut Context<'_>) {
    for v in [&mut s.user, &mut s.client_user, &mut s.password] {
        if v.as_deref()
            .is_some_and(|v| matches!(v, b"" | b"<none>" | b"<timeout>"))
        {
            *v = None;
        }
    }
    let text = |v: &Option<Vec<u8>>| v.as_deref().map(escape_bytes_lossy);
    cx.emit(LoginRecord {
        ts: cx.ts,
        uid: cx.uid,
        id: *cx.id,
        proto: Some(protocol.name().to_string()),
        success: s.success,
        confused: s.confused,
        user: text(&s.user),
        client_user: text(&s.client_user),
        password: text(&s.password),
    });
    s.logged = true;
}

impl Dissector for LoginDissector {
    fn service(&self) -> &'static str {
        self.protocol.name()
    }

    fn deliver(&mut self, cx: &mut Context<'_>, is_orig: bool, data: &[u8]) {
        if self.dialog.is_done() {
            return;
        }
        let protocol = self.protocol;
        let dialog = &mut self.dialog;
        let mut to_dialog = |piece: Piece<'_>| match piece {
            Piece::Line(line) => dialog.line(is_orig, line),
            Piece::ClientUser(name) => dialog.client_user_name(name),
            Piece::ServerUser(name) if protocol == Protocol::Rsh => {
                dialog.rsh_server_user_name(name)
            }
            Piece::ServerUser(name) => dialog.rlogin_server_user_name(name),
            Piece::Environment { name, value } => dialog.environment(is_orig, name, value),
        };
        match &mut self.framing {
            Framing::Telnet(t) => t.deliver(is_orig, data, &mut to_dialog),
            Framing::Remote(r) => r.deliver(is_orig, data, &mut to_dialog),
        }
        self.script(cx);
    }

    fn gap(&mut self, _cx: &mut Context<'_>, is_orig: bool, _len: u64) {
        match &mut self.framing {
            Framing::Telnet(t) => t.gap(is_orig),
            Framing::Remote(r) => r.gap(is_orig),
        }
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.dialog.end_of_input();
        self.script(cx);
        // `connection_state_remove`: a session nothing wrote yet (only confusion).
        if let Some(s) = self.session.as_mut().filter(|s| !s.logged) {
            log(s, self.protocol, cx);
        }
    }
}

#[cfg(test)]
mod tests;
