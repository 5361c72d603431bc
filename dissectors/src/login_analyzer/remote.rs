//! The rlogin (RFC 1282) and rsh byte streams as Zeek's `Contents_Rlogin_Analyzer` and
//! `Contents_Rsh_Analyzer` read them: the client's NUL-terminated prologue (rsh: stderr
//! port; both: client user, server user; rlogin: terminal type), the rlogin server's
//! one-byte acknowledgement, the rlogin window-size control (`FF FF s s` + 8 bytes) taken
//! out of the client's stream, then lines (CR or LF; rsh also NUL).
//!
//! Zeek quirk kept on purpose: the byte that ends a line does not become the "last
//! byte", so CR LF ends one line and then an empty one.

use super::telnet::MAX_LINE;
use super::Piece;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The prologue's first byte: NUL (rlogin) or the stderr port's digits then NUL (rsh).
    FirstNull,
    ClientUserName,
    ServerUserName,
    TerminalType,
    /// The rlogin server's first byte: NUL accepts.
    ServerAck,
    /// An FF from the rlogin client: a second FF starts a control message.
    InBandFf2,
    WindowS1,
    WindowS2,
    WindowRest,
    LineMode,
    Unknown,
    PresumedRejected,
}

struct Side {
    state: State,
    /// The state to return to after an in-band control message.
    save_state: State,
    buf: Vec<u8>,
    last_char: u8,
    to_skip: u8,
}

impl Side {
    fn new(state: State) -> Self {
        Side {
            state,
            save_state: state,
            buf: Vec::new(),
            last_char: 0,
            to_skip: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if self.buf.len() < MAX_LINE {
            self.buf.push(b);
        }
    }
}

/// Both directions of an rlogin or rsh connection: `[responder, originator]`.
pub(super) struct Remote {
    rsh: bool,
    sides: [Side; 2],
}

impl Remote {
    pub fn rlogin() -> Self {
        Remote {
            rsh: false,
            sides: [Side::new(State::ServerAck), Side::new(State::FirstNull)],
        }
    }

    pub fn rsh() -> Self {
        Remote {
            rsh: true,
            sides: [Side::new(State::LineMode), Side::new(State::FirstNull)],
        }
    }

    /// Bytes from one side, in order; prologue names and lines go to `emit`.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], emit: &mut dyn FnMut(Piece<'_>)) {
        for &c in data {
            self.byte(is_orig, c, emit);
        }
    }

    /// Bytes of a side that will never come: its unfinished line is dropped.
    pub fn gap(&mut self, is_orig: bool) {
        let side = &mut self.sides[usize::from(is_orig)];
        side.buf.clear();
        side.last_char = 0;
    }

    fn byte(&mut self, is_orig: bool, c: u8, emit: &mut dyn FnMut(Piece<'_>)) {
        let s = usize::from(is_orig);
        let peer_rejected = self.sides[1 - s].state == State::PresumedRejected;
        let rsh = self.rsh;
        let side = &mut self.sides[s];
        match side.state {
            State::FirstNull => {
                if c == 0 {
                    side.state = State::ClientUserName;
                } else if !(rsh && c.is_ascii_digit()) {
                    // A bad prologue (the byte is dropped).
                    side.state = State::Unknown;
                }
            }
            State::ClientUserName | State::ServerUserName | State::TerminalType => {
                if c != 0 {
                    side.push(c);
                    return;
                }
                match side.state {
                    State::ClientUserName => {
                        emit(Piece::ClientUser(&side.buf));
                        side.state = State::ServerUserName;
                    }
                    // rsh waits for a non-empty server user name.
                    State::ServerUserName if rsh && side.buf.is_empty() => {}
                    State::ServerUserName => {
                        emit(Piece::ServerUser(&side.buf));
                        side.state = if rsh {
                            State::LineMode
                        } else {
                            State::TerminalType
                        };
                    }
                    _ => side.state = State::LineMode,
                }
                side.buf.clear();
            }
            State::ServerAck => {
                side.state = if c == 0 {
                    State::LineMode
                } else {
                    State::PresumedRejected
                };
            }
            State::InBandFf2 => {
                if c == 255 {
                    side.state = State::WindowS1;
                } else {
                    // Not a control message: the first FF is text, and so may be `c`.
                    side.push(255);
                    side.state = side.save_state;
                    self.byte(is_orig, c, emit);
                }
            }
            State::WindowS1 => {
                if c == b's' {
                    side.state = State::WindowS2;
                } else {
                    side.state = State::Unknown;
                    // Zeek hands the bytes it held back to the line reader and drops `c`.
                    self.byte(is_orig, 255, emit);
                    self.byte(is_orig, 255, emit);
                }
            }
            State::WindowS2 => {
                if c == b's' {
                    side.state = State::WindowRest;
                    side.to_skip = 8;
                } else {
                    side.state = State::Unknown;
                    self.byte(is_orig, 255, emit);
                    self.byte(is_orig, 255, emit);
                    self.byte(is_orig, b's', emit);
                }
            }
            State::WindowRest => {
                side.to_skip = side.to_skip.saturating_sub(1);
                if side.to_skip == 0 {
                    side.state = side.save_state;
                }
            }
            State::LineMode | State::Unknown | State::PresumedRejected => {
                // The client goes on after the server refused (rsh is never refused).
                if side.state == State::LineMode && peer_rejected {
                    side.state = State::Unknown;
                }
                let ends_line = c == b'\r' || c == b'\n' || (rsh && c == 0);
                if ends_line && !(c == b'\n' && side.last_char == b'\r') {
                    emit(Piece::Line(&side.buf));
                    side.buf.clear();
                    return;
                }
                if ends_line {
                    // LF after CR: the CR ended the line already.
                } else if c == 255 && is_orig && !rsh && side.state == State::LineMode {
                    side.save_state = side.state;
                    side.state = State::InBandFf2;
                } else if c != 0 {
                    // NULs never reach the dialogue (Zeek drops them from lines).
                    side.push(c);
                }
                side.last_char = c;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Got {
        Line(Vec<u8>),
        Client(Vec<u8>),
        Server(Vec<u8>),
    }

    fn feed(r: &mut Remote, is_orig: bool, data: &[u8]) -> Vec<Got> {
        let mut got = Vec::new();
        r.deliver(is_orig, data, &mut |p| {
            got.push(match p {
                Piece::Line(l) => Got::Line(l.to_vec()),
                Piece::ClientUser(u) => Got::Client(u.to_vec()),
                Piece::ServerUser(u) => Got::Server(u.to_vec()),
                other => panic!("unexpected {other:?}"),
            })
        });
        got
    }

    #[test]
    fn rlogin_prologue_window_change_and_lines() {
        let mut r = Remote::rlogin();
        let got = feed(&mut r, true, b"\0bob\0root\0xterm/38400\0");
        assert_eq!(
            got,
            [Got::Client(b"bob".to_vec()), Got::Server(b"root".to_vec())]
        );
        assert!(feed(&mut r, false, b"\0").is_empty());
        let got = feed(&mut r, true, b"\xff\xffss\0\x18\0\x50\0\0\0\0ls\r");
        assert_eq!(got, [Got::Line(b"ls".to_vec())]);
        // CR LF: a line, then an empty one (Zeek's reading).
        let got = feed(&mut r, false, b"Password:\r\n");
        assert_eq!(got, [Got::Line(b"Password:".to_vec()), Got::Line(vec![])]);
        // A lone FF that is not a control message stays text.
        let got = feed(&mut r, true, b"a\xffb\n");
        assert_eq!(got, [Got::Line(b"a\xffb".to_vec())]);
    }

    #[test]
    fn rlogin_rejection_and_bad_prologue() {
        let mut r = Remote::rlogin();
        feed(&mut r, true, b"\0bob\0root\0vt100\0");
        // The server's first byte is not NUL: presumed rejected; that byte is dropped.
        let got = feed(&mut r, false, b"\x01Permission denied.\n");
        assert_eq!(got, [Got::Line(b"Permission denied.".to_vec())]);

        let mut r = Remote::rlogin();
        let got = feed(&mut r, true, b"Xhello\n");
        assert_eq!(got, [Got::Line(b"hello".to_vec())]);
    }

    #[test]
    fn rsh_prologue_and_command() {
        let mut r = Remote::rsh();
        let got = feed(&mut r, true, b"1022\0alice\0\0root\0uname -a\0");
        assert_eq!(
            got,
            [
                Got::Client(b"alice".to_vec()),
                Got::Server(b"root".to_vec()),
                Got::Line(b"uname -a".to_vec()),
            ]
        );
        let got = feed(&mut r, false, b"\0Linux host\n");
        assert_eq!(got, [Got::Line(vec![]), Got::Line(b"Linux host".to_vec())]);
    }
}
