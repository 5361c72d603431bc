//! Escaping of string values as Zeek's ASCII writer does it.

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

fn push_escaped_str(out: &mut String, s: &str) {
    // Everything that is escaped is ASCII, so the text between two such bytes is whole
    // UTF-8 and is copied in one piece (character by character cost 500 instructions a
    // header on HTTP traffic).
    let bytes = s.as_bytes();
    let escaped = |b: u8| b == b'\\' || b < 0x20 || b == 0x7f;
    if !any_byte(bytes, escaped) {
        out.push_str(s);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if escaped(b) {
            out.push_str(&s[start..i]);
            if b == b'\\' {
                out.push_str("\\\\");
            } else {
                push_hex(out, b);
            }
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
}

/// Whether any byte is one `pred` picks. Every byte is looked at (no early exit), which
/// the compiler turns into vector code: most values have nothing to escape.
fn any_byte(bytes: &[u8], pred: impl Fn(u8) -> bool) -> bool {
    bytes.iter().fold(false, |found, &b| found | pred(b))
}

/// `\xHH` of a byte.
fn hex_escape(b: u8) -> [u8; 4] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [
        b'\\',
        b'x',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 0xf)],
    ]
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
    // Runs between escaped bytes are copied whole.
    let bytes = s.as_bytes();
    let escaped = |b: u8| b < 0x20 || b == 0x7f || (in_container && b == b',');
    if !any_byte(bytes, escaped) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if escaped(b) {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(&hex_escape(b));
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Writes `s` as a JSON string literal.
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    // Runs between escaped bytes are copied whole.
    let bytes = s.as_bytes();
    if !any_byte(bytes, |b| b == b'"' || b == b'\\' || b < 0x20) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // The short escape of `b`, `None` for a control byte written as `\u00HH`.
        let short: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            b if b < 0x20 => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match short {
            Some(e) => out.extend_from_slice(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
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
    fn json_strings_are_escaped() {
        let mut v = Vec::new();
        write_json_string(&mut v, "a\"b\\c\n\x01");
        assert_eq!(v, b"\"a\\\"b\\\\c\\n\\u0001\"");
    }
}
