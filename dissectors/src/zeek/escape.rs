//! Escaping of string values as Zeek's ASCII writer does it.

use crate::hex::hex_digits;

/// Turns raw network bytes into a string the way Zeek renders them: valid UTF-8 passes
/// (`LogAscii::enable_utf_8`), control bytes, DEL and bytes of invalid UTF-8 become `\xHH`,
/// and a backslash becomes `\\` so the result can be read back unambiguously.
pub fn escape_bytes_lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                push_escaped_str(&mut out, valid);
                break;
            }
            Err(err) => {
                let (valid, after) = rest.split_at(err.valid_up_to());
                push_escaped_str(&mut out, std::str::from_utf8(valid).unwrap_or_default());
                let bad = err.error_len().unwrap_or(after.len()).max(1);
                for b in &after[..bad] {
                    push_hex(&mut out, *b);
                }
                rest = &after[bad..];
            }
        }
    }
    out
}

/// [`escape_bytes_lossy`] of bytes the caller gives up: when nothing in them needs
/// escaping (most names), they become the string as they are, without a copy.
pub fn escape_owned_bytes_lossy(bytes: Vec<u8>) -> String {
    if bytes
        .iter()
        .fold(false, |found, &b| found | escaped_in_text(b))
    {
        return escape_bytes_lossy(&bytes);
    }
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(invalid) => escape_bytes_lossy(invalid.as_bytes()),
    }
}

/// The bytes of valid UTF-8 text that Zeek's writer escapes.
fn escaped_in_text(b: u8) -> bool {
    b == b'\\' || b < 0x20 || b == 0x7f
}

fn push_escaped_str(out: &mut String, s: &str) {
    // Everything escaped is ASCII, so every run between escaped bytes is whole UTF-8.
    for_each_run(s.as_bytes(), escaped_in_text, |run, b| {
        out.push_str(&s[run]);
        match b {
            Some(b'\\') => out.push_str("\\\\"),
            Some(b) => push_hex(out, b),
            None => {}
        }
    });
}

/// Splits `bytes` at the bytes `escaped` picks, in order: `each` gets every run between
/// them (copied whole by the caller, not byte by byte) with the picked byte that ends it,
/// and the last run with `None`. One check of every byte comes first, with no early exit,
/// which the compiler turns into vector code: most values have nothing to escape.
#[inline(always)]
fn for_each_run(
    bytes: &[u8],
    escaped: impl Fn(u8) -> bool,
    mut each: impl FnMut(std::ops::Range<usize>, Option<u8>),
) {
    if bytes.iter().fold(false, |found, &b| found | escaped(b)) {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if escaped(b) {
                each(start..i, Some(b));
                start = i + 1;
            }
        }
        each(start..bytes.len(), None);
    } else {
        each(0..bytes.len(), None);
    }
}

/// `\xHH` of a byte.
fn hex_escape(b: u8) -> [u8; 4] {
    let [hi, lo] = hex_digits(b);
    [b'\\', b'x', hi, lo]
}

fn push_hex(out: &mut String, b: u8) {
    for c in hex_escape(b) {
        out.push(char::from(c));
    }
}

/// Writes a string field for TSV: the separators (tab, and `,` inside a container) and
/// control bytes become `\xHH`; a value that would read back as unset (`-`) or empty
/// (`(empty)`) has its first byte escaped, as Zeek does.
pub fn write_tsv_escaped(out: &mut Vec<u8>, s: &str, in_container: bool) {
    if s == "-" || s == "(empty)" {
        out.extend_from_slice(b"\\x");
        out.extend_from_slice(if s == "-" { b"2d" } else { b"28" });
        out.extend_from_slice(&s.as_bytes()[1..]);
        return;
    }
    let bytes = s.as_bytes();
    for_each_run(
        bytes,
        |b| b < 0x20 || b == 0x7f || (in_container && b == b','),
        |run, b| {
            out.extend_from_slice(&bytes[run]);
            if let Some(b) = b {
                out.extend_from_slice(&hex_escape(b));
            }
        },
    );
}

/// Writes `s` as a JSON string literal.
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    for_each_run(
        bytes,
        |b| b == b'"' || b == b'\\' || b < 0x20,
        |run, b| {
            out.extend_from_slice(&bytes[run]);
            match b {
                Some(b'"') => out.extend_from_slice(b"\\\""),
                Some(b'\\') => out.extend_from_slice(b"\\\\"),
                Some(b'\n') => out.extend_from_slice(b"\\n"),
                Some(b'\r') => out.extend_from_slice(b"\\r"),
                Some(b'\t') => out.extend_from_slice(b"\\t"),
                Some(b) => {
                    out.extend_from_slice(b"\\u00");
                    out.extend_from_slice(&hex_digits(b));
                }
                None => {}
            }
        },
    );
    out.push(b'"');
}

/// Appends `s` as a JSON string literal the way serde_json writes one (and Python's json
/// module, for ASCII): the short escapes `\b \f \n \r \t \" \\`, `\u00XX` for the other
/// control characters, everything else as it is. For the alert files, which were written
/// with serde_json before; Zeek's logs use [`write_json_string`].
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Everything escaped is ASCII, so every run between escaped bytes is whole UTF-8.
    for_each_run(
        s.as_bytes(),
        |b| b == b'"' || b == b'\\' || b < 0x20,
        |run, b| {
            out.push_str(&s[run]);
            match b {
                Some(b'"') => out.push_str("\\\""),
                Some(b'\\') => out.push_str("\\\\"),
                Some(0x08) => out.push_str("\\b"),
                Some(0x0c) => out.push_str("\\f"),
                Some(b'\n') => out.push_str("\\n"),
                Some(b'\r') => out.push_str("\\r"),
                Some(b'\t') => out.push_str("\\t"),
                Some(b) => {
                    out.push_str("\\u00");
                    out.extend(hex_digits(b).map(char::from));
                }
                None => {}
            }
        },
    );
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_and_controls_become_hex() {
        assert_eq!(escape_bytes_lossy(b"ab\x00c\xff"), "ab\\x00c\\xff");
        assert_eq!(escape_bytes_lossy("héllo".as_bytes()), "héllo");
        assert_eq!(escape_bytes_lossy(b"a\\b"), "a\\\\b");
    }

    #[test]
    fn escaping_in_runs_matches_escaping_by_character() {
        let by_char = |s: &str| {
            let mut out = String::new();
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => push_hex(&mut out, c as u8),
                    c => out.push(c),
                }
            }
            out
        };
        for s in [
            "",
            "plain",
            "\\",
            "a\\b",
            "\x00",
            "é\x01ü\\€\x7f",
            "\x1f\x1f\\\\",
            "end\n",
            "日本語\t",
        ] {
            let mut out = String::new();
            push_escaped_str(&mut out, s);
            assert_eq!(out, by_char(s), "{s:?}");
        }
    }

    #[test]
    fn tsv_and_json_escaping_in_runs_match_escaping_by_byte() {
        let tsv_by_byte = |s: &str, in_container: bool| {
            let mut out = Vec::new();
            for &b in s.as_bytes() {
                if b < 0x20 || b == 0x7f || (in_container && b == b',') {
                    out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                } else {
                    out.push(b);
                }
            }
            out
        };
        let json_by_byte = |s: &str| {
            let mut out = vec![b'"'];
            for &b in s.as_bytes() {
                match b {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b if b < 0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                    b => out.push(b),
                }
            }
            out.push(b'"');
            out
        };
        for s in [
            "",
            "plain text",
            "a,b,c",
            "tab\there",
            "\x00\x01\x1f\x7f",
            "quote\"back\\slash",
            "é,\n€\r日本",
            ",",
        ] {
            for in_container in [false, true] {
                let mut out = Vec::new();
                write_tsv_escaped(&mut out, s, in_container);
                assert_eq!(out, tsv_by_byte(s, in_container), "{s:?}");
            }
            let mut out = Vec::new();
            write_json_string(&mut out, s);
            assert_eq!(out, json_by_byte(s), "{s:?}");
        }
    }

    #[test]
    fn tsv_escapes_markers_and_separators() {
        let mut v = Vec::new();
        write_tsv_escaped(&mut v, "-", false);
        assert_eq!(v, b"\\x2d");
        v.clear();
        write_tsv_escaped(&mut v, "(empty)", false);
        assert_eq!(v, b"\\x28empty)");
        v.clear();
        write_tsv_escaped(&mut v, "a,b\tc", true);
        assert_eq!(v, b"a\\x2cb\\x09c");
    }

    #[test]
    fn alert_json_strings_match_serde_json() {
        let mut samples: Vec<String> = (0u32..0x80)
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b{c}"))
            .collect();
        samples
            .extend(["", "plain", "é\"ü\n€\u{1F600}\\", "\u{7f}\u{85}\u{2028}"].map(String::from));
        for s in samples {
            let mut out = String::from("x");
            push_json_str(&mut out, &s);
            assert_eq!(
                out,
                format!("x{}", serde_json::to_string(&s).unwrap()),
                "{s:?}"
            );
        }
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut v = Vec::new();
        write_json_string(&mut v, "a\"b\\c\n\x01");
        assert_eq!(v, b"\"a\\\"b\\\\c\\n\\u0001\"");
    }
}
