//! Zeek's pattern and string built-ins, with Zeek's matching semantics, for porting its
//! scripts' string handling faithfully.
//!
//! Zeek patterns are byte-oriented and match *leftmost-longest*: `split_string_n`, `sub`
//! and `gsub` try each offset in turn and take the longest match that starts there
//! (`RE_Matcher::MatchPrefix`), feeding a beginning-of-line symbol at every offset, so a
//! `^` in such a pattern holds wherever a match is tried. `/re/ in s` searches the whole
//! string, where `^` and `$` are the string's ends. Patterns here are written in
//! regex-syntax (byte mode, `.` excluding `\n` as in Zeek) and compiled to dense DFAs that
//! report the longest match (`MatchKind::All`).

use regex_automata::dfa::{dense, Automaton};
use regex_automata::nfa::thompson;
use regex_automata::{util::syntax, Anchored, Input, MatchKind};

/// One compiled Zeek pattern.
pub struct Pattern {
    dfa: dense::DFA<Vec<u32>>,
}

impl Pattern {
    /// Compiles `re`; only called with the constant patterns of this crate (a test
    /// compiles each of them), so a bad pattern is a programming error.
    pub fn new(re: &str) -> Pattern {
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::All)
                    .start_kind(regex_automata::dfa::StartKind::Both),
            )
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .thompson(thompson::Config::new().utf8(false))
            .build(re)
            .unwrap_or_else(|e| panic!("bad constant pattern {re:?}: {e}"));
        Pattern { dfa }
    }

    /// Zeek's `/re/ in s`: whether the pattern matches anywhere in `hay`.
    pub fn is_match(&self, hay: &[u8]) -> bool {
        matches!(self.dfa.try_search_fwd(&Input::new(hay)), Ok(Some(_)))
    }

    /// Zeek's `MatchPrefix`: the length of the longest non-empty match starting at the
    /// first byte of `hay`, or 0.
    pub fn match_prefix(&self, hay: &[u8]) -> usize {
        match self
            .dfa
            .try_search_fwd(&Input::new(hay).anchored(Anchored::Yes))
        {
            Ok(Some(m)) => m.offset(),
            _ => 0,
        }
    }

    /// The first match (leftmost, then longest) at or after `from`: `(start, len)`.
    fn find_from(&self, s: &[u8], from: usize) -> Option<(usize, usize)> {
        (from..s.len()).find_map(|off| {
            let len = self.match_prefix(s.get(off..).unwrap_or_default());
            (len > 0).then_some((off, len))
        })
    }
}

/// Zeek's `split_string_n`: the parts of `s` between matches of `re`, with the matches
/// themselves in between when `incl_sep`; at most `max_num_sep` separators (0: no limit).
/// A string ending in a separator gives a final empty part, as Zeek's does.
pub fn split_n<'s>(s: &'s [u8], re: &Pattern, incl_sep: bool, max_num_sep: usize) -> Vec<&'s [u8]> {
    let mut parts = Vec::new();
    let mut pos = 0;
    let mut num_sep = 0;
    loop {
        let mut found = re.find_from(s, pos);
        if max_num_sep > 0 && num_sep >= max_num_sep {
            found = None;
        }
        let Some((start, len)) = found else {
            parts.push(s.get(pos..).unwrap_or_default());
            break;
        };
        parts.push(s.get(pos..start).unwrap_or_default());
        if incl_sep {
            parts.push(s.get(start..start + len).unwrap_or_default());
        }
        num_sep += 1;
        pos = start + len;
    }
    parts
}

/// Zeek's `split_string_all`: every part and every separator, alternating.
pub fn split_all<'s>(s: &'s [u8], re: &Pattern) -> Vec<&'s [u8]> {
    split_n(s, re, true, 0)
}

/// Zeek's `sub` (`all` false) and `gsub` (`all` true).
pub fn sub(s: &[u8], re: &Pattern, repl: &[u8], all: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut pos = 0;
    while let Some((start, len)) = re.find_from(s, pos) {
        out.extend_from_slice(s.get(pos..start).unwrap_or_default());
        out.extend_from_slice(repl);
        pos = start + len;
        if !all {
            break;
        }
    }
    out.extend_from_slice(s.get(pos..).unwrap_or_default());
    out
}

/// Zeek's `strip`: without leading and trailing white space (C's `isspace`).
pub fn strip(s: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = s.iter().position(|b| !is_space(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// Zeek's `to_count` of the first run of digits (`extract_count`); 0 without digits, and
/// saturating like `strtoull` on overflow.
pub fn extract_count(s: &[u8]) -> u64 {
    let start = match s.iter().position(u8::is_ascii_digit) {
        Some(i) => i,
        None => return 0,
    };
    s.iter()
        .skip(start)
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |acc, b| {
            acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
}

/// Zeek's `unescape_URI`: `%XX` becomes the byte, `%uXXXX` (IIS) two bytes; a `%`
/// without two hex digits after it is kept with the byte that follows it.
pub fn unescape_uri(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let rest = s.get(i + 1..).unwrap_or_default();
        match rest {
            [] => {
                out.push(b'%');
                i += 1;
            }
            [c] => {
                out.extend_from_slice(&[b'%', *c]);
                i += 2;
            }
            [h, l, ..] if hex(*h).is_some() && hex(*l).is_some() => {
                out.push((hex(*h).unwrap_or(0) << 4) | hex(*l).unwrap_or(0));
                i += 3;
            }
            [b'u', a, b2, c, d, ..] if [a, b2, c, d].iter().all(|x| hex(**x).is_some()) => {
                out.push((hex(*a).unwrap_or(0) << 4) | hex(*b2).unwrap_or(0));
                out.push((hex(*c).unwrap_or(0) << 4) | hex(*d).unwrap_or(0));
                i += 6;
            }
            [c, ..] => {
                out.extend_from_slice(&[b'%', *c]);
                i += 2;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_match_is_longest() {
        let p = Pattern::new("a|ab|abc");
        assert_eq!(p.match_prefix(b"abcd"), 3);
        assert_eq!(p.match_prefix(b"xabc"), 0);
        let opt = Pattern::new("([/\\-_]|( [(v]+))?[0-9\\-._, ]{2,}");
        assert_eq!(opt.match_prefix(b" v1.2 x"), 6);
        assert_eq!(opt.match_prefix(b" v1.2x"), 5);
    }

    #[test]
    fn caret_holds_at_every_tried_offset() {
        let p = Pattern::new("^SSH[0-9.\\-]+");
        assert!(!p.is_match(b"xSSH-2.0-"));
        assert_eq!(sub(b"xSSH-2.0-abc", &p, b"", false), b"xabc");
    }

    #[test]
    fn split_like_zeek() {
        let dash = Pattern::new("-+");
        let parts = split_all(b"a-b--cd", &dash);
        assert_eq!(parts, vec![&b"a"[..], b"-", b"b", b"--", b"cd"]);
        assert_eq!(split_all(b"a-", &dash), vec![&b"a"[..], b"-", b""]);
        assert_eq!(
            split_n(b"1.2.3.4.5", &Pattern::new("\\."), false, 3),
            vec![&b"1"[..], b"2", b"3", b"4.5"]
        );
        assert_eq!(split_n(b"", &dash, true, 1), vec![&b""[..]]);
    }

    #[test]
    fn helpers() {
        assert_eq!(strip(b" \t a b \r\n"), b"a b");
        assert_eq!(strip(b"   "), b"");
        assert_eq!(extract_count(b"rc12x3"), 12);
        assert_eq!(extract_count(b"none"), 0);
        assert_eq!(extract_count(b"99999999999999999999999"), u64::MAX);
        assert_eq!(
            unescape_uri(b"%E6%9c/%zz%u0041%4"),
            b"\xe6\x9c/%zz\x00\x41%4"
        );
        assert_eq!(unescape_uri(b"50%"), b"50%");
        assert_eq!(
            sub(b"a\\xe6\\x9c", &Pattern::new("\\\\x"), b"%", true),
            b"a%e6%9c"
        );
    }
}
