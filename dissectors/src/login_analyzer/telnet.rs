//! Telnet's network virtual terminal as Zeek's `NVT_Analyzer` reads it (`NVT.cc`): each
//! direction is cut into lines (CR, LF or CR LF end a line; a NUL after CR is dropped),
//! with the option negotiation (IAC sequences) taken out. Option state is followed for
//! the options that matter to the login dialogue: BINARY (the high bit of text is
//! dropped), AUTHENTICATION and ENCRYPT (a direction that starts encrypting is no longer
//! read) and NEW-ENVIRON (the `USER` variable names the user).

use super::Piece;

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const WONT: u8 = 252;
const DO: u8 = 253;
const DONT: u8 = 254;

/// The options Zeek tracks (`NVT_Analyzer::FindOption`), by index into [`OPTIONS`].
const OPTIONS: [u8; 5] = [BINARY, TERMINAL, AUTHENTICATE, ENCRYPT, ENVIRON];
const BINARY: u8 = 0;
const TERMINAL: u8 = 24;
const AUTHENTICATE: u8 = 37;
const ENCRYPT: u8 = 38;
const ENVIRON: u8 = 39;

const ENCRYPT_STARTING: u8 = 3;
const ENCRYPT_REQUEST_START: u8 = 5;
const AUTH_SEND: u8 = 1;
const AUTH_REPLY: u8 = 2;
const AUTH_REJECT: u8 = 1;
const AUTH_ACCEPT: u8 = 2;
const ENV_IS: u8 = 0;
const ENV_INFO: u8 = 2;
const ENV_VAR: u8 = 0;
const ENV_VALUE: u8 = 1;
const ENV_ESC: u8 = 2;
const ENV_USERVAR: u8 = 3;

/// Longest line kept; the rest of a longer line is dropped (Zeek keeps any length).
pub(super) const MAX_LINE: usize = 2048;
/// Longest suboption kept; the rest is dropped up to its end.
const MAX_SUBOPTION: usize = 1024;

/// One option's negotiation as seen from one endpoint (Zeek's `TelnetOption`): what
/// the other side said about it, whether it is on, and the ENCRYPT / AUTHENTICATION
/// requests.
#[derive(Clone, Copy, Debug, Default)]
struct OptionState {
    said_will: bool,
    said_wont: bool,
    said_do: bool,
    said_dont: bool,
    active: bool,
    requested: bool,
    doing_encryption: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    Text,
    /// After an IAC.
    Iac,
    /// After IAC WILL/WONT/DO/DONT: the option code comes next.
    Negotiation(u8),
    /// Inside IAC SB ... IAC SE; `after_iac` when the last byte was an IAC.
    Suboption {
        after_iac: bool,
    },
}

struct Side {
    line: Vec<u8>,
    last_char: u8,
    scan: Scan,
    suboption: Vec<u8>,
    binary_mode: bool,
    /// The side encrypts: its bytes are not read any more.
    encrypting: bool,
    /// This side accepted the other's authentication.
    authentication_accepted: bool,
    options: [OptionState; OPTIONS.len()],
}

impl Side {
    fn new() -> Self {
        Side {
            line: Vec::new(),
            last_char: 0,
            scan: Scan::Text,
            suboption: Vec::new(),
            binary_mode: false,
            encrypting: false,
            authentication_accepted: false,
            options: [OptionState::default(); OPTIONS.len()],
        }
    }

    fn push(&mut self, b: u8) {
        if self.line.len() < MAX_LINE {
            self.line.push(b);
        }
    }
}

/// Both directions of a telnet connection: `[responder, originator]`.
pub(super) struct Telnet {
    sides: [Side; 2],
}

fn option_index(code: u8) -> Option<usize> {
    OPTIONS.iter().position(|&c| c == code)
}

impl Telnet {
    pub fn new() -> Self {
        Telnet {
            sides: [Side::new(), Side::new()],
        }
    }

    /// Bytes from one side, in order; complete lines and environment variables go to
    /// `emit`.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], emit: &mut dyn FnMut(Piece<'_>)) {
        let s = usize::from(is_orig);
        let mut i = 0;
        while let Some(&b) = data.get(i) {
            if self.sides[s].encrypting {
                return;
            }
            let side = &mut self.sides[s];
            match side.scan {
                Scan::Text => self.text(s, b, emit),
                Scan::Iac => {
                    side.scan = match b {
                        IAC => {
                            // An escaped 255 is text.
                            side.push(IAC);
                            side.last_char = IAC;
                            Scan::Text
                        }
                        SB => {
                            side.suboption.clear();
                            Scan::Suboption { after_iac: false }
                        }
                        WILL..=DONT => Scan::Negotiation(b),
                        // A two-byte command (NOP, GA, EL ...): nothing to do.
                        _ => Scan::Text,
                    };
                }
                Scan::Negotiation(verb) => {
                    side.scan = Scan::Text;
                    self.negotiation(s, verb, b);
                }
                Scan::Suboption { after_iac: false } => {
                    if b == IAC {
                        side.scan = Scan::Suboption { after_iac: true };
                    } else if side.suboption.len() < MAX_SUBOPTION {
                        side.suboption.push(b);
                    }
                }
                Scan::Suboption { after_iac: true } => {
                    if b == IAC {
                        if side.suboption.len() < MAX_SUBOPTION {
                            side.suboption.push(IAC);
                        }
                        side.scan = Scan::Suboption { after_iac: false };
                    } else {
                        // IAC SE ends it; like BSD telnet, Zeek also takes IAC and any
                        // other byte as its end, and that byte as a new command.
                        let sub = std::mem::take(&mut side.suboption);
                        self.suboption(s, &sub, emit);
                        let side = &mut self.sides[s];
                        side.suboption = sub;
                        if b == SE {
                            side.scan = Scan::Text;
                        } else {
                            side.scan = Scan::Iac;
                            continue;
                        }
                    }
                }
            }
            i += 1;
        }
    }

    /// Bytes held for unfinished lines and suboptions (what bounds the memory).
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.sides
            .iter()
            .map(|s| s.line.capacity() + s.suboption.capacity())
            .sum()
    }

    /// Bytes of a side that will never come: its unfinished line and command are dropped.
    pub fn gap(&mut self, is_orig: bool) {
        let side = &mut self.sides[usize::from(is_orig)];
        side.line.clear();
        side.suboption.clear();
        side.scan = Scan::Text;
        side.last_char = 0;
    }

    fn text(&mut self, s: usize, b: u8, emit: &mut dyn FnMut(Piece<'_>)) {
        let side = &mut self.sides[s];
        let c = if side.binary_mode && b != IAC {
            b & 0x7f
        } else {
            b
        };
        match c {
            b'\r' => {
                emit(Piece::Line(&side.line));
                side.line.clear();
            }
            b'\n' if side.last_char == b'\r' => {}
            b'\n' => {
                emit(Piece::Line(&side.line));
                side.line.clear();
            }
            // Zeek drops NULs from lines before the dialogue sees them (and a NUL after
            // CR is the NVT's CR NUL).
            0 => {}
            IAC => {
                side.scan = Scan::Iac;
                return;
            }
            _ => side.push(c),
        }
        side.last_char = c;
    }

    /// `verb` (WILL, WONT, DO, DONT) about `code`, sent by side `s` (Zeek's
    /// `TelnetOption::RecvOption`: the flags record what the other side said).
    fn negotiation(&mut self, s: usize, verb: u8, code: u8) {
        let Some(k) = option_index(code) else {
            return;
        };
        let own = self.sides[s].options[k];
        let peer = 1 - s;
        match verb {
            WILL => {
                self.sides[peer].options[k].said_will = true;
                if own.said_do {
                    self.set_active(peer, k, true);
                }
            }
            WONT => {
                self.sides[peer].options[k].said_wont = true;
                if own.said_dont {
                    self.set_active(peer, k, false);
                }
            }
            DO => {
                self.sides[peer].options[k].said_do = true;
                if own.said_will {
                    self.set_active(s, k, true);
                }
            }
            _ => {
                self.sides[peer].options[k].said_dont = true;
                if own.said_wont {
                    self.set_active(s, k, false);
                }
            }
        }
    }

    fn set_active(&mut self, s: usize, k: usize, active: bool) {
        let side = &mut self.sides[s];
        side.options[k].active = active;
        if OPTIONS[k] == BINARY {
            side.binary_mode = active;
        }
    }

    /// A complete suboption (`code` then its data) sent by side `s`.
    fn suboption(&mut self, s: usize, sub: &[u8], emit: &mut dyn FnMut(Piece<'_>)) {
        let Some((&code, data)) = sub.split_first() else {
            return;
        };
        let Some(k) = option_index(code) else {
            return;
        };
        let peer = 1 - s;
        match code {
            ENCRYPT => {
                if !self.sides[s].options[k].active {
                    return;
                }
                match data.first() {
                    Some(&ENCRYPT_REQUEST_START) => self.sides[s].options[k].requested = true,
                    Some(&ENCRYPT_STARTING) => {
                        let other = self.sides[peer].options[k];
                        if other.requested
                            || other.doing_encryption
                            || self.sides[peer].authentication_accepted
                        {
                            self.sides[s].encrypting = true;
                            self.sides[s].options[k].doing_encryption = true;
                        }
                    }
                    _ => {}
                }
            }
            AUTHENTICATE => match data {
                [AUTH_SEND, ..] => self.sides[s].options[k].requested = true,
                [AUTH_REPLY, AUTH_REJECT, ..] => self.sides[s].authentication_accepted = false,
                [AUTH_REPLY, AUTH_ACCEPT, ..] => self.sides[s].authentication_accepted = true,
                _ => {}
            },
            ENVIRON => environment(data, &mut |name, value| {
                emit(Piece::Environment { name, value })
            }),
            TERMINAL | BINARY => {}
            _ => {}
        }
    }
}

/// The variables of a NEW-ENVIRON `IS` / `INFO` suboption, read as Zeek's
/// `TelnetEnvironmentOption` does (an ESC ends a name or value after the byte it
/// escapes, and that byte also starts the next piece). A malformed pair ends the list.
fn environment(data: &[u8], found: &mut dyn FnMut(&[u8], &[u8])) {
    let Some((&kind, mut rest)) = data.split_first() else {
        return;
    };
    if kind != ENV_IS && kind != ENV_INFO {
        return;
    }
    let mut name = Vec::new();
    let mut value = Vec::new();
    while !rest.is_empty() {
        let Some((name_code, after_name)) = env_piece(rest, &mut name) else {
            return;
        };
        let Some((value_code, after_value)) = env_piece(after_name, &mut value) else {
            return;
        };
        if (name_code != ENV_VAR && name_code != ENV_USERVAR) || value_code != ENV_VALUE {
            return;
        }
        found(c_string(&name), c_string(&value));
        rest = after_value;
    }
}

/// One coded piece (`VAR`, `VALUE` or `USERVAR` then its text) into `out`; returns its
/// code and what follows it.
fn env_piece<'a>(data: &'a [u8], out: &mut Vec<u8>) -> Option<(u8, &'a [u8])> {
    let (&code, body) = data.split_first()?;
    if code != ENV_VAR && code != ENV_VALUE && code != ENV_USERVAR {
        return None;
    }
    let mut end = body.len();
    for (i, &b) in body.iter().enumerate() {
        if b == ENV_VAR || b == ENV_VALUE || b == ENV_USERVAR {
            end = i;
            break;
        }
        if b == ENV_ESC {
            if i + 1 >= body.len() {
                return None;
            }
            end = i + 1;
            break;
        }
    }
    out.clear();
    let mut j = 0;
    for _ in 0..end {
        if body.get(j) == Some(&ENV_ESC) {
            j += 1;
        }
        out.push(body.get(j).copied().unwrap_or(0));
        j += 1;
    }
    Some((code, body.get(end..).unwrap_or_default()))
}

/// Zeek passes names and values on as C strings: an escaped NUL ends them.
fn c_string(s: &[u8]) -> &[u8] {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Got {
        Line(Vec<u8>),
        Env(Vec<u8>, Vec<u8>),
    }

    fn feed(t: &mut Telnet, is_orig: bool, data: &[u8]) -> Vec<Got> {
        let mut got = Vec::new();
        t.deliver(is_orig, data, &mut |p| {
            got.push(match p {
                Piece::Line(l) => Got::Line(l.to_vec()),
                Piece::Environment { name, value } => Got::Env(name.to_vec(), value.to_vec()),
                other => panic!("unexpected {other:?}"),
            })
        });
        got
    }

    fn line(s: &[u8]) -> Got {
        Got::Line(s.to_vec())
    }

    #[test]
    fn line_ends_and_negotiation_are_taken_out() {
        let mut t = Telnet::new();
        let got = feed(
            &mut t,
            false,
            b"\xff\xfd\x18\xff\xfb\x01a\xff\xf1b\r\n\r\0c\nd\xff\xffe\r",
        );
        assert_eq!(got, [line(b"ab"), line(b""), line(b"c"), line(b"d\xffe")]);
        // Split anywhere, same lines.
        let mut t = Telnet::new();
        let mut got = Vec::new();
        for b in b"\xff\xfd\x18\xff\xfb\x01a\xff\xf1b\r\n\r\0c\nd\xff\xffe\r" {
            got.extend(feed(&mut t, false, &[*b]));
        }
        assert_eq!(got, [line(b"ab"), line(b""), line(b"c"), line(b"d\xffe")]);
    }

    #[test]
    fn environment_user_from_a_suboption() {
        let mut t = Telnet::new();
        let got = feed(
            &mut t,
            true,
            b"\xff\xfa\x27\x00\x00USER\x01root\x03DISPLAY\x01x:0\xff\xf0ls\r\n",
        );
        assert_eq!(
            got,
            [
                Got::Env(b"USER".to_vec(), b"root".to_vec()),
                Got::Env(b"DISPLAY".to_vec(), b"x:0".to_vec()),
                line(b"ls"),
            ]
        );
        // A suboption ended by IAC and another byte: that byte is a new command.
        let mut t = Telnet::new();
        let got = feed(&mut t, true, b"\xff\xfa\x18\x00vt100\xff\xfb\x01ok\n");
        assert_eq!(got, [line(b"ok")]);
    }

    #[test]
    fn binary_mode_drops_the_high_bit() {
        let mut t = Telnet::new();
        // The responder says DO BINARY, then the originator WILL: by Zeek's bookkeeping
        // the option turns on at the responder's end, whose text loses its high bit.
        feed(&mut t, false, b"\xff\xfd\x00");
        feed(&mut t, true, b"\xff\xfb\x00");
        assert!(t.sides[0].binary_mode && !t.sides[1].binary_mode);
        assert_eq!(feed(&mut t, false, b"\xc1b\n"), [line(b"Ab")]);
        assert_eq!(feed(&mut t, true, b"\xc1b\n"), [line(b"\xc1b")]);
    }

    #[test]
    fn an_encrypting_side_is_no_longer_read() {
        let mut t = Telnet::new();
        // Both sides agree on ENCRYPT (each WILL, each DO), the responder asks the
        // originator to start, the originator starts.
        feed(&mut t, false, b"\xff\xfd\x26\xff\xfb\x26");
        feed(&mut t, true, b"\xff\xfb\x26\xff\xfd\x26");
        feed(&mut t, false, b"\xff\xfa\x26\x05\xff\xf0");
        let got = feed(&mut t, true, b"\xff\xfa\x26\x03\xff\xf0secret\r\n");
        assert!(got.is_empty());
        assert!(t.sides[1].encrypting);
        assert_eq!(feed(&mut t, false, b"plain\n"), [line(b"plain")]);
    }

    #[test]
    fn long_lines_are_capped() {
        let mut t = Telnet::new();
        let long = vec![b'a'; MAX_LINE * 3];
        assert!(feed(&mut t, false, &long).is_empty());
        let got = feed(&mut t, false, b"\n");
        assert_eq!(got, [Got::Line(vec![b'a'; MAX_LINE])]);
    }

    #[test]
    fn environment_escapes_follow_zeek() {
        let mut names = Vec::new();
        environment(b"\x00\x00A\x02\x01B\x01v", &mut |n, v| {
            names.push((n.to_vec(), v.to_vec()))
        });
        // "A" ESC "\x01": the name is "A\x01", and the escaped byte also starts the
        // value piece.
        assert_eq!(names, [(b"A\x01".to_vec(), b"B".to_vec())]);
    }
}
