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
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => push_hex(out, c as u8),
            c => out.push(c),
        }
    }
}

fn push_hex(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\\');
    out.push('x');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 0xf) as usize] as char);
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
    for &b in s.as_bytes() {
        if b < 0x20 || b == 0x7f || (in_container && b == b',') {
            let mut tmp = String::new();
            push_hex(&mut tmp, b);
            out.extend_from_slice(tmp.as_bytes());
        } else {
            out.push(b);
        }
    }
}

/// Writes `s` as a JSON string literal.
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b if b < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
            b => out.push(b),
        }
    }
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
