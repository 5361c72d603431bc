//! Wire-level pieces of HTTP/1.x, each a total function over bytes, following the rules
//! of Zeek's HTTP analyzer (`src/analyzer/protocol/http/HTTP.cc`) and its MIME header
//! helpers.

/// `is_HTTP_token_char`: printable ASCII minus separators (RFC 2616 token).
pub fn is_token_char(c: u8) -> bool {
    c > 31
        && c < 127
        && !matches!(
            c,
            b' ' | b'\t'
                | b'('
                | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'='
                | b'{'
                | b'}'
        )
}

fn is_reserved_uri_char(c: u8) -> bool {
    b":/?#[]@!$&'()*+,;=".contains(&c)
}

fn is_unreserved_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&c)
}

/// Zeek's `skip_whitespace`: spaces and tabs.
pub fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&c| c == b' ' || c == b'\t') {
        i += 1;
    }
    i
}

/// An HTTP version as Zeek keeps it; (0, 0) is "unset".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
}

impl Version {
    pub const V09: Version = Version { major: 0, minor: 9 };
    pub const V11: Version = Version { major: 1, minor: 1 };

    /// `%.1f` of the version as a number, as Zeek reports it.
    pub fn render(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

/// `HTTP_Version`: only `[0-9].[0-9]` is recognised; anything else is unset.
pub fn parse_version(s: &[u8]) -> Version {
    match s {
        [maj @ b'0'..=b'9', b'.', min @ b'0'..=b'9', ..] => Version {
            major: maj - b'0',
            minor: min - b'0',
        },
        _ => Version::default(),
    }
}

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a [u8],
    pub uri: &'a [u8],
    /// `None` when no `HTTP/` was found (HTTP/0.9); `Some(None)` when `HTTP/` was there
    /// but too short to hold a version (Zeek keeps its previous version then).
    pub version: Option<Option<Version>>,
}

/// `HTTP_RequestLine` + `ParseRequest`. `None` when the line is not a request.
pub fn parse_request_line(line: &[u8]) -> Option<RequestLine<'_>> {
    let end_of_method = line.iter().take_while(|&&c| is_token_char(c)).count();
    if end_of_method == 0 {
        return None;
    }
    let rest = skip_ws(line, end_of_method);
    if rest == end_of_method {
        return None;
    }
    let eol = line.len();
    let mut end_of_uri = rest;
    while end_of_uri < eol {
        let c = line[end_of_uri];
        if !is_reserved_uri_char(c) && !is_unreserved_uri_char(c) && c != b'%' {
            break;
        }
        end_of_uri += 1;
    }
    if end_of_uri >= eol && line[rest..].starts_with(b"HTTP/") {
        end_of_uri = rest; // missing URI
    }
    let mut version_start = end_of_uri;
    while version_start < eol {
        end_of_uri = version_start;
        version_start = skip_ws(line, version_start);
        if line[version_start..].starts_with(b"HTTP/") {
            break;
        }
        version_start += 1;
    }
    let version = if version_start >= eol {
        None
    } else if version_start + 8 <= eol {
        Some(Some(parse_version(&line[version_start + 5..])))
    } else {
        Some(None)
    };
    let uri = line.get(rest..end_of_uri).unwrap_or_default();
    if version.is_none() && (end_of_method < 3 || uri.is_empty()) {
        return None;
    }
    Some(RequestLine {
        method: &line[..end_of_method],
        uri,
        version,
    })
}

/// A parsed status line.
#[derive(Debug, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    pub version: Version,
    pub code: u64,
    /// `None` when the reason phrase is missing (Zeek reports `<empty>`).
    pub reason: Option<&'a [u8]>,
}

fn is_lws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// `HTTP_ReplyLine`. `None` when the line is not a status line.
pub fn parse_reply_line(line: &[u8]) -> Option<ReplyLine<'_>> {
    let rest = line.strip_prefix(b"HTTP/")?;
    let version = parse_version(rest);
    let mut i = rest.iter().position(|&c| is_lws(c))?;
    i = skip_ws(rest, i);
    let code_str = rest.get(i..i + 3)?;
    let code = if code_str.iter().all(u8::is_ascii_digit) {
        code_str
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'))
    } else {
        0
    };
    i += 3;
    let reason = rest[i..]
        .iter()
        .position(|&c| is_lws(c))
        .map(|p| &rest[skip_ws(rest, i + p)..]);
    Some(ReplyLine {
        version,
        code,
        reason,
    })
}

/// Whether `method` is a case-insensitive prefix of `full` (Zeek compares with
/// `strncasecmp(method, full, method_len)`).
pub fn method_is(method: &[u8], full: &[u8]) -> bool {
    !method.is_empty()
        && method.len() <= full.len()
        && method.eq_ignore_ascii_case(&full[..method.len()])
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `unescape_URI`: `%XX` and `%uXXXX` decoding with Zeek's tolerance of broken escapes.
pub fn unescape_uri(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'%' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        i += 1;
        if i == s.len() {
            out.push(b'%');
            break;
        }
        if i + 1 == s.len() {
            out.push(b'%');
            out.push(s[i]);
            break;
        }
        if s[i] == b'%' {
            // Double '%': the first one is dropped.
            continue;
        }
        if let (Some(h), Some(l)) = (hex_val(s[i]), hex_val(s[i + 1])) {
            out.push((h << 4) | l);
            i += 2;
            continue;
        }
        if s.len() - i >= 5 && s[i] == b'u' {
            if let (Some(a), Some(b), Some(c), Some(d)) = (
                hex_val(s[i + 1]),
                hex_val(s[i + 2]),
                hex_val(s[i + 3]),
                hex_val(s[i + 4]),
            ) {
                if !(s[i + 1] == b'0' && s[i + 2] == b'0') {
                    out.push((a << 4) | b);
                }
                out.push((c << 4) | d);
                i += 5;
                continue;
            }
        }
        out.push(b'%');
        out.push(s[i]);
        i += 1;
    }
    out
}

/// A header line split as `MIME_Header` does: the name (printable ASCII up to `:` or
/// whitespace) and the value after `:` with leading whitespace removed.
pub fn split_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let name_len = line
        .iter()
        .take_while(|&&c| (33..=126).contains(&c) && c != b':')
        .count();
    if name_len == 0 {
        return None;
    }
    let mut i = name_len;
    while line.get(i).is_some_and(|&c| c == b' ' || c == b'\t') {
        i += 1;
    }
    if line.get(i) != Some(&b':') {
        return None;
    }
    let mut v = &line[i + 1..];
    while let Some((&c, rest)) = v.split_first() {
        if !c.is_ascii_whitespace() && c != 0x0b {
            break;
        }
        v = rest;
    }
    Some((&line[..name_len], v))
}

fn is_mime_token_char(c: u8) -> bool {
    c > 32 && c < 127 && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

/// The first MIME token of a header value (`get_value_token`), skipping leading
/// whitespace.
pub fn value_token(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&c| !c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let len = v[start..]
        .iter()
        .take_while(|&&c| is_mime_token_char(c))
        .count();
    &v[start..start + len]
}

/// Zeek's `atoi_n`: optional `-`, then digits of `base` up to the first non-digit; fails
/// only when the first character is not a digit.
pub fn atoi_n(s: &[u8], base: u32) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for (i, &c) in digits.iter().enumerate() {
        match (c as char).to_digit(base) {
            Some(d) => {
                n = n
                    .saturating_mul(i64::from(base))
                    .saturating_add(i64::from(d))
            }
            None if i > 0 => break,
            None => return None,
        }
    }
    Some(if neg { -n } else { n })
}

/// Base64 as Zeek's `decode_base64` does it: characters outside the alphabet are skipped
/// and an incomplete final group is zero-padded.
pub fn decode_base64(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut n = 0;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// `extract_filename_from_content_disposition` (base/utils/files.zeek).
pub fn filename_from_disposition(v: &[u8]) -> Vec<u8> {
    // sub(/^.*[nN][aA][mM][eE][[:blank:]]*\*?=[[:blank:]]*/, ""): the greedy `.*` picks the
    // last `name...=` on the line.
    let mut cut = None;
    let mut i = 0;
    while i + 4 <= v.len() {
        if v[i..i + 4].eq_ignore_ascii_case(b"name") {
            let mut j = i + 4;
            while v.get(j).is_some_and(|&c| c == b' ' || c == b'\t') {
                j += 1;
            }
            if v.get(j) == Some(&b'*') {
                j += 1;
            }
            if v.get(j) == Some(&b'=') {
                j += 1;
                while v.get(j).is_some_and(|&c| c == b' ' || c == b'\t') {
                    j += 1;
                }
                cut = Some(j);
            }
        }
        if v[i] == b'\n' {
            break;
        }
        i += 1;
    }
    let mut f = match cut {
        Some(j) => &v[j..],
        None => v,
    };
    if let Some(rest) = f.strip_prefix(b"\"") {
        f = match rest.iter().position(|&c| c == b'"') {
            Some(p) => &rest[..p],
            None => rest,
        };
    }
    // RFC 2231 charset'language' prefix.
    let charset_char = |c: u8| {
        c.is_ascii_alphanumeric() || b"!#$%&+-^_`{}~".contains(&c) || (b'+'..=b'^').contains(&c)
    };
    let cs = f.iter().take_while(|&&c| charset_char(c)).count();
    if cs > 0 && f.get(cs) == Some(&b'\'') {
        let lang = f[cs + 1..].iter().take_while(|&&c| charset_char(c)).count();
        if f.get(cs + 1 + lang) == Some(&b'\'') {
            // sub(/^.+'.*'/, ""): up to the last quote.
            if let Some(last) = f.iter().rposition(|&c| c == b'\'') {
                f = &f[last + 1..];
            }
        }
    }
    unescape_uri(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let r = parse_request_line(b"GET /a?b=%21 HTTP/1.1").unwrap();
        assert_eq!((r.method, r.uri), (&b"GET"[..], &b"/a?b=%21"[..]));
        assert_eq!(r.version, Some(Some(Version::V11)));
        let r = parse_request_line(b"GET /").unwrap();
        assert_eq!((r.uri, r.version), (&b"/"[..], None));
        let r = parse_request_line(b"GET /a b HTTP/1.0").unwrap();
        assert_eq!(r.uri, b"/a b");
        let r = parse_request_line(b"GET /foo bar").unwrap();
        assert_eq!(r.uri, b"/foo ba", "Zeek's scan drops the last byte");
        assert_eq!(parse_request_line(b"GE /"), None);
        assert_eq!(parse_request_line(b" GET / HTTP/1.1"), None);
        assert_eq!(parse_request_line(b"GET"), None);
        assert_eq!(parse_request_line(b"\x16\x03\x01"), None);
        let r = parse_request_line(b"GET HTTP/1.1").unwrap();
        assert_eq!(r.uri, b"");
    }

    #[test]
    fn reply_lines() {
        let r = parse_reply_line(b"HTTP/1.1 200 OK").unwrap();
        assert_eq!(
            (r.version, r.code, r.reason),
            (Version::V11, 200, Some(&b"OK"[..]))
        );
        let r = parse_reply_line(b"HTTP/1.1 204").unwrap();
        assert_eq!((r.code, r.reason), (204, None));
        let r = parse_reply_line(b"HTTP/1.0 304 Not Modified").unwrap();
        assert_eq!(r.reason, Some(&b"Not Modified"[..]));
        assert_eq!(parse_reply_line(b"HTTP/1.1"), None);
        assert_eq!(parse_reply_line(b"SSH-2.0-x"), None);
        assert_eq!(parse_reply_line(b"HTTP/1.1 2"), None);
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape_uri(b"/a%21b"), b"/a!b");
        assert_eq!(unescape_uri(b"%"), b"%");
        assert_eq!(unescape_uri(b"a%4"), b"a%4");
        assert_eq!(unescape_uri(b"%%41"), b"A");
        assert_eq!(unescape_uri(b"%u0041x"), b"Ax");
        assert_eq!(unescape_uri(b"%zz"), b"%zz");
    }

    #[test]
    fn headers_tokens_numbers() {
        assert_eq!(
            split_header(b"Host:  example.com "),
            Some((&b"Host"[..], &b"example.com "[..]))
        );
        assert_eq!(split_header(b"no colon"), None);
        assert_eq!(value_token(b" Keep-Alive, TE"), b"Keep-Alive");
        assert_eq!(atoi_n(b"1a;ext", 16), Some(0x1a));
        assert_eq!(atoi_n(b"x", 16), None);
        assert_eq!(atoi_n(b"-5", 10), Some(-5));
        assert_eq!(atoi_n(b"", 10), Some(0));
        assert_eq!(decode_base64(b"dXNlcjpwYXNz"), b"user:pass");
        assert_eq!(decode_base64(b"dXNlcg"), b"user");
        assert!(method_is(b"head", b"HEAD"));
        assert!(!method_is(b"HEADER", b"HEAD"));
    }

    #[test]
    fn content_disposition_filenames() {
        assert_eq!(
            filename_from_disposition(b"attachment; filename=\"a b.txt\""),
            b"a b.txt"
        );
        assert_eq!(
            filename_from_disposition(b"form-data; name=\"f\"; filename=\"x.exe\""),
            b"x.exe"
        );
        assert_eq!(
            filename_from_disposition(b"attachment; filename*=UTF-8''%e2%82%ac.txt"),
            "€.txt".as_bytes()
        );
        assert_eq!(
            filename_from_disposition(b"attachment; filename=plain.zip"),
            b"plain.zip"
        );
    }
}
