//! MIME type sniffing of a file's first bytes, after the file-magic signatures of Zeek's
//! `scripts/base/frameworks/files/magic/*.sig` (a common subset, re-expressed as code).
//! As in Zeek, every pattern is anchored at the start of the buffer, `.` matches any byte
//! but `\n`, and the match with the highest strength wins (the first listed on a tie).

/// How many leading bytes Zeek buffers before sniffing (`default_file_bof_buffer_size`).
pub const BOF_BUFFER_SIZE: usize = 4096;

struct Sig {
    mime: &'static str,
    strength: i32,
    test: fn(&[u8]) -> bool,
}

const SIGS: &[Sig] = &[
    // general.sig
    Sig {
        mime: "text/plain",
        strength: -20,
        test: plaintext,
    },
    Sig {
        mime: "text/json",
        strength: 1,
        test: json_object,
    },
    Sig {
        mime: "text/json",
        strength: 1,
        test: json_array,
    },
    Sig {
        mime: "text/json",
        strength: 0,
        test: json_empty,
    },
    Sig {
        mime: "application/xml",
        strength: 10,
        test: xml_decl,
    },
    Sig {
        mime: "text/html",
        strength: 100,
        test: xhtml,
    },
    Sig {
        mime: "text/html",
        strength: 49,
        test: html_doctype,
    },
    Sig {
        mime: "text/html",
        strength: 20,
        test: html_tag,
    },
    Sig {
        mime: "text/rss",
        strength: 90,
        test: rss,
    },
    Sig {
        mime: "application/javascript",
        strength: 60,
        test: javascript,
    },
    Sig {
        mime: "text/x-php",
        strength: 40,
        test: php_tag,
    },
    Sig {
        mime: "text/x-shellscript",
        strength: 250,
        test: shebang_shell,
    },
    Sig {
        mime: "text/x-perl",
        strength: 60,
        test: shebang_perl,
    },
    Sig {
        mime: "text/x-python",
        strength: 60,
        test: shebang_python,
    },
    Sig {
        mime: "text/x-ruby",
        strength: 60,
        test: shebang_ruby,
    },
    Sig {
        mime: "text/x-php",
        strength: 60,
        test: shebang_php,
    },
    Sig {
        mime: "application/javascript",
        strength: 60,
        test: shebang_node,
    },
    Sig {
        mime: "application/java-archive",
        strength: 100,
        test: jar,
    },
    Sig {
        mime: "application/x-java-applet",
        strength: 71,
        test: java_class,
    },
    Sig {
        mime: "application/ocsp-request",
        strength: 71,
        test: ocsp_request,
    },
    Sig {
        mime: "application/ocsp-response",
        strength: 71,
        test: ocsp_response,
    },
    Sig {
        mime: "application/x-shockwave-flash",
        strength: 60,
        test: swf,
    },
    Sig {
        mime: "application/x-mach-o-executable",
        strength: 100,
        test: mach_o,
    },
    Sig {
        mime: "application/x-mach-o-executable",
        strength: 100,
        test: mach_o_universal,
    },
    Sig {
        mime: "application/x-pem",
        strength: 0,
        test: pem,
    },
    Sig {
        mime: "application/vnd.tcpdump.pcap",
        strength: 70,
        test: pcap,
    },
    Sig {
        mime: "application/vnd.tcpdump.pcap",
        strength: 100,
        test: pcapng,
    },
    // libmagic.sig (current releases keep only a subset; its `<?xml version=` rules are gone)
    Sig {
        mime: "application/pdf",
        strength: 80,
        test: pdf,
    },
    // executable.sig
    Sig {
        mime: "application/x-dosexec",
        strength: 51,
        test: pe,
    },
    Sig {
        mime: "application/x-object",
        strength: 50,
        test: elf_object,
    },
    Sig {
        mime: "application/x-executable",
        strength: 50,
        test: elf_exec,
    },
    Sig {
        mime: "application/x-sharedlib",
        strength: 50,
        test: elf_shared,
    },
    Sig {
        mime: "application/x-coredump",
        strength: 50,
        test: elf_core,
    },
    // image.sig
    Sig {
        mime: "image/tiff",
        strength: 70,
        test: tiff,
    },
    Sig {
        mime: "image/gif",
        strength: 70,
        test: gif,
    },
    Sig {
        mime: "image/jpeg",
        strength: 52,
        test: jpeg,
    },
    Sig {
        mime: "image/x-ms-bmp",
        strength: 50,
        test: bmp,
    },
    Sig {
        mime: "image/x-icon",
        strength: 70,
        test: ico,
    },
    Sig {
        mime: "image/x-cursor",
        strength: 70,
        test: cur,
    },
    Sig {
        mime: "image/vnd.adobe.photoshop",
        strength: 70,
        test: psd,
    },
    Sig {
        mime: "image/png",
        strength: 110,
        test: png,
    },
    Sig {
        mime: "image/webp",
        strength: 70,
        test: webp,
    },
    // archive.sig
    Sig {
        mime: "application/zip",
        strength: 10,
        test: zip,
    },
    Sig {
        mime: "application/zip",
        strength: 10,
        test: zip_multi,
    },
    Sig {
        mime: "application/x-rar",
        strength: 70,
        test: rar,
    },
    Sig {
        mime: "application/x-gzip",
        strength: 100,
        test: gzip,
    },
    Sig {
        mime: "application/vnd.ms-cab-compressed",
        strength: 110,
        test: cab,
    },
    Sig {
        mime: "application/x-7z-compressed",
        strength: 50,
        test: seven_zip,
    },
    Sig {
        mime: "application/x-xz",
        strength: 90,
        test: xz,
    },
    Sig {
        mime: "application/x-bzip2",
        strength: 60,
        test: bzip2,
    },
];

/// The MIME type Zeek's signatures give to a file starting with `buf`, if any matches.
pub fn sniff(buf: &[u8]) -> Option<&'static str> {
    let mut best: Option<&Sig> = None;
    for sig in SIGS {
        if best.is_some_and(|b| b.strength >= sig.strength) {
            continue;
        }
        if (sig.test)(buf) {
            best = Some(sig);
        }
    }
    best.map(|s| s.mime)
}

fn starts(buf: &[u8], prefix: &[u8]) -> bool {
    buf.starts_with(prefix)
}

fn starts_ci(buf: &[u8], prefix: &[u8]) -> bool {
    buf.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// `.`: any byte but a newline.
fn dot(b: u8) -> bool {
    b != b'\n'
}

fn dots(buf: &[u8], n: usize) -> bool {
    buf.get(..n).is_some_and(|s| s.iter().all(|&b| dot(b)))
}

/// `[\x0d\x0a[:blank:]]`
fn ws(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t')
}

fn skip_ws(buf: &[u8]) -> &[u8] {
    let n = buf.iter().take_while(|&&b| ws(b)).count();
    &buf[n..]
}

fn skip_utf8_bom(buf: &[u8]) -> &[u8] {
    buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(buf)
}

/// `([\x0d\x0a[:blank:]]*(<!--.*-->)?[\x0d\x0a[:blank:]]*)*`
fn skip_ws_comments(mut buf: &[u8]) -> &[u8] {
    loop {
        buf = skip_ws(buf);
        match buf.strip_prefix(b"<!--") {
            Some(rest) => match find_on_line(rest, b"-->") {
                Some(end) => buf = &rest[end + 3..],
                None => return buf,
            },
            None => return buf,
        }
    }
}

/// Position of `needle` in `hay` before the first newline (what `.*needle` can reach).
fn find_on_line(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let line_end = hay.iter().position(|&b| b == b'\n').unwrap_or(hay.len());
    hay.get(..line_end)?
        .windows(needle.len())
        .position(|w| w == needle)
}

/// The prefix shared by the html/xml family: BOM, whitespace/comments, an optional
/// `<?xml ...?>` declaration, whitespace/comments again.
fn markup_prefix(buf: &[u8]) -> &[u8] {
    let buf = skip_ws_comments(skip_utf8_bom(buf));
    if let Some(rest) = buf.strip_prefix(b"<?xml ") {
        if let Some(end) = find_on_line(rest, b"?>") {
            return skip_ws_comments(&rest[end + 2..]);
        }
    }
    buf
}

fn plaintext(buf: &[u8]) -> bool {
    let body = if let Some(r) = buf.strip_prefix(b"\xef\xbb\xbf") {
        r
    } else if let Some(r) = buf.strip_prefix(b"\x00\x00\xfe\xff") {
        r
    } else if let Some(r) = buf.strip_prefix(b"\xfe\xff") {
        r
    } else if let Some(r) = buf.strip_prefix(b"\xff\xfe\x00\x00") {
        r
    } else if let Some(r) = buf.strip_prefix(b"\xff\xfe") {
        r
    } else {
        buf
    };
    let text = |b: &u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x20..=0x7e);
    // The BOM is optional, so the bare buffer may match too.
    [body, buf]
        .iter()
        .any(|s| s.get(..10).is_some_and(|h| h.iter().all(text)))
}

/// `"[^"]{1,}"` at the start of `buf`; returns the rest.
fn json_string(buf: &[u8]) -> Option<&[u8]> {
    let rest = buf.strip_prefix(b"\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    (end > 0).then(|| &rest[end + 1..])
}

fn json_object(buf: &[u8]) -> bool {
    let b = skip_ws(skip_utf8_bom(buf));
    let Some(b) = b.strip_prefix(b"{") else {
        return false;
    };
    let b = skip_ws(b);
    let after_key = if let Some(r) = json_string(b) {
        r
    } else if b.first().is_some_and(u8::is_ascii_alphabetic) {
        let n = b
            .iter()
            .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'\\' || c == b'_')
            .count();
        &b[n..]
    } else {
        return false;
    };
    let Some(r) = skip_ws(after_key).strip_prefix(b":") else {
        return false;
    };
    let r = skip_ws(r);
    matches!(r.first(), Some(b'"' | b'[' | b'{' | b'0'..=b'9'))
        || r.starts_with(b"true")
        || r.starts_with(b"false")
}

fn json_array(buf: &[u8]) -> bool {
    let b = skip_ws(skip_utf8_bom(buf));
    let Some(b) = b.strip_prefix(b"[") else {
        return false;
    };
    let b = skip_ws(b);
    if matches!(b.first(), Some(b'{' | b'[')) {
        return true;
    }
    let after = if let Some(r) = json_string(b) {
        r
    } else if let Some(r) = b.strip_prefix(b"true") {
        r
    } else if let Some(r) = b.strip_prefix(b"false") {
        r
    } else {
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        let mut r = &b[n..];
        if let Some(frac) = r.strip_prefix(b".") {
            let m = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if m > 0 {
                r = &frac[m..];
            }
        }
        r
    };
    skip_ws(after).starts_with(b",")
}

fn json_empty(buf: &[u8]) -> bool {
    let b = skip_ws(skip_utf8_bom(buf));
    let rest = b.strip_prefix(b"[]").or_else(|| b.strip_prefix(b"{}"));
    rest.is_some_and(|r| skip_ws(r).is_empty())
}

fn xml_decl(buf: &[u8]) -> bool {
    skip_ws_comments(skip_utf8_bom(buf)).starts_with(b"<?xml ")
}

fn xhtml(buf: &[u8]) -> bool {
    let b = markup_prefix(buf);
    html_doctype_at(b) || starts_ci(b, b"<html") || meta_http_equiv(b)
}

fn meta_http_equiv(b: &[u8]) -> bool {
    if !starts_ci(b, b"<meta ") {
        return false;
    }
    let rest = &b[5..];
    let n = rest.iter().take_while(|&&c| c == b' ').count();
    starts_ci(&rest[n..], b"http-equiv")
}

fn html_doctype_at(b: &[u8]) -> bool {
    if !starts_ci(b, b"<!doctype ") {
        return false;
    }
    let rest = &b[9..];
    let n = rest.iter().take_while(|&&c| c == b' ').count();
    starts_ci(&rest[n..], b"html")
}

fn html_doctype(buf: &[u8]) -> bool {
    html_doctype_at(markup_prefix(buf))
}

fn html_tag(buf: &[u8]) -> bool {
    let b = markup_prefix(buf);
    [&b"<head"[..], b"<html", b"<title", b"<body"]
        .iter()
        .any(|t| starts_ci(b, t))
}

fn rss(buf: &[u8]) -> bool {
    starts_ci(markup_prefix(buf), b"<rss")
}

fn javascript(buf: &[u8]) -> bool {
    let b = skip_ws(buf);
    if b.starts_with(b"for (;;);") {
        return true;
    }
    if let Some(r) = b.strip_prefix(b"document.write") {
        let r = r.strip_prefix(b"ln").unwrap_or(r);
        // `[:blank:]?` inside brackets is the class of `:`, `b`, `l`, `a`, `n`, `k`.
        let r = match r.first() {
            Some(b':' | b'b' | b'l' | b'a' | b'n' | b'k') => &r[1..],
            _ => r,
        };
        if r.starts_with(b"(") {
            return true;
        }
    }
    if let Some(r) = buf.strip_prefix(b"(function()") {
        let n = r
            .iter()
            .take_while(|&&c| matches!(c, b' ' | b'\t' | b'\n'))
            .count();
        if r[n..].starts_with(b"{") {
            return true;
        }
    }
    if let Some(r) = b.strip_prefix(b"<script>") {
        let r = skip_ws(r);
        if r.starts_with(b"var ") || r.starts_with(b"function ") {
            return true;
        }
    }
    if starts_ci(b, b"<script") {
        let r = &b[7..];
        let n = r.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
        if n == 0 {
            return false;
        }
        let r = &r[n..];
        let r = if starts_ci(r, b"type=") {
            &r[5..]
        } else if starts_ci(r, b"language=") {
            &r[9..]
        } else {
            return false;
        };
        let r = match r.first() {
            Some(b'\'' | b'"') => &r[1..],
            _ => r,
        };
        let r = if starts_ci(r, b"text/") { &r[5..] } else { r };
        return starts_ci(r, b"javascript");
    }
    false
}

fn php_tag(buf: &[u8]) -> bool {
    find_on_line(buf, b"<?php").is_some()
}

/// `^\x23\x21[^\n]{1,15}bin\/(env[[:space:]]+)?` followed by one of `names`.
fn shebang(buf: &[u8], names: &[&[u8]]) -> bool {
    let Some(rest) = buf.strip_prefix(b"#!") else {
        return false;
    };
    for skip in 1..=15usize {
        let Some(head) = rest.get(..skip) else {
            return false;
        };
        if head.contains(&b'\n') {
            return false;
        }
        let Some(after) = rest[skip..].strip_prefix(b"bin/") else {
            continue;
        };
        let mut candidates = vec![after];
        if let Some(env) = after.strip_prefix(b"env") {
            let n = env
                .iter()
                .take_while(|&&c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
                .count();
            if n > 0 {
                candidates.push(&env[n..]);
            }
        }
        if candidates
            .iter()
            .any(|c| names.iter().any(|name| c.starts_with(name)))
        {
            return true;
        }
    }
    false
}

fn shebang_shell(buf: &[u8]) -> bool {
    shebang(
        buf,
        &[
            b"sh", b"bash", b"tcsh", b"csh", b"zsh", b"fash", b"aesh", b"ksh",
        ],
    )
}

fn shebang_perl(buf: &[u8]) -> bool {
    shebang(buf, &[b"perl"])
}

fn shebang_python(buf: &[u8]) -> bool {
    shebang(buf, &[b"python"])
}

fn shebang_ruby(buf: &[u8]) -> bool {
    shebang(buf, &[b"ruby"])
}

fn shebang_php(buf: &[u8]) -> bool {
    shebang(buf, &[b"php"])
}

fn shebang_node(buf: &[u8]) -> bool {
    shebang(buf, &[b"node"])
}

/// `^PK\x03\x04.{1,200}\x14\x00..META-INF\/MANIFEST\.MF`
fn jar(buf: &[u8]) -> bool {
    if !starts(buf, b"PK\x03\x04") {
        return false;
    }
    let rest = &buf[4..];
    for skip in 1..=200usize {
        if !dots(rest, skip) {
            return false;
        }
        let r = &rest[skip..];
        if r.len() >= 24
            && r[0] == 0x14
            && r[1] == 0
            && dot(r[2])
            && dot(r[3])
            && &r[4..24] == b"META-INF/MANIFEST.MF"
        {
            return true;
        }
    }
    false
}

fn java_class(buf: &[u8]) -> bool {
    starts(buf, b"\xca\xfe\xba\xbe")
        && dots(&buf[4..], 3)
        && buf.get(7).is_some_and(|b| (0x2d..=0x34).contains(b))
}

fn mach_o(buf: &[u8]) -> bool {
    matches!(buf.first(), Some(0xce | 0xcf)) && buf.get(1..4) == Some(b"\xfa\xed\xfe")
}

fn mach_o_universal(buf: &[u8]) -> bool {
    starts(buf, b"\xca\xfe\xba\xbe")
        && dots(&buf[4..], 2)
        && buf.get(6) == Some(&0)
        && buf.get(7).is_some_and(|b| (1..=0x14).contains(b))
}

/// `^.{min,max}` followed by `tail`.
fn after_dots(buf: &[u8], min: usize, max: usize, tail: &[u8]) -> bool {
    (min..=max).any(|n| dots(buf, n) && buf[n..].starts_with(tail))
}

fn ocsp_request(buf: &[u8]) -> bool {
    after_dots(buf, 11, 19, b"\x06\x05\x2b\x0e\x03\x02\x1a")
}

fn ocsp_response(buf: &[u8]) -> bool {
    after_dots(buf, 11, 19, b"\x06\x09\x2b\x06\x01\x05\x05\x07\x30\x01\x01")
}

fn swf(buf: &[u8]) -> bool {
    matches!(buf.first(), Some(b'F' | b'C' | b'Z')) && buf.get(1..3) == Some(b"WS")
}

fn pem(buf: &[u8]) -> bool {
    starts(buf, b"-----BEGIN CERTIFICATE-----")
}

fn pcap(buf: &[u8]) -> bool {
    starts(buf, b"\xa1\xb2\xc3\xd4") || starts(buf, b"\xd4\xc3\xb2\xa1")
}

fn pcapng(buf: &[u8]) -> bool {
    starts(buf, b"\x0a\x0d\x0d\x0a")
        && dots(&buf[4..], 4)
        && matches!(
            buf.get(8..12),
            Some(b"\x1a\x2b\x3c\x4d" | b"\x4d\x3c\x2b\x1a")
        )
}

fn pdf(buf: &[u8]) -> bool {
    starts(buf, b"%PDF-")
}

fn pe(buf: &[u8]) -> bool {
    starts(buf, b"MZ")
}

/// `\x7fELF[\x01\x02](\x01.{10}T\x00|\x02.{10}\x00T)` for ELF type `t`.
fn elf(buf: &[u8], t: u8) -> bool {
    if !starts(buf, b"\x7fELF") || !matches!(buf.get(4), Some(1 | 2)) {
        return false;
    }
    if !dots(buf.get(6..).unwrap_or_default(), 10) {
        return false;
    }
    match (buf.get(5), buf.get(16..18)) {
        (Some(1), Some(ty)) => ty == [t, 0],
        (Some(2), Some(ty)) => ty == [0, t],
        _ => false,
    }
}

fn elf_object(buf: &[u8]) -> bool {
    elf(buf, 1)
}

fn elf_exec(buf: &[u8]) -> bool {
    elf(buf, 2)
}

fn elf_shared(buf: &[u8]) -> bool {
    elf(buf, 3)
}

fn elf_core(buf: &[u8]) -> bool {
    elf(buf, 4)
}

fn tiff(buf: &[u8]) -> bool {
    matches!(
        buf.get(..4),
        Some(b"MM\x00\x2a" | b"MM\x00\x2b" | b"II\x2a\x00" | b"II\x2b\x00")
    )
}

fn gif(buf: &[u8]) -> bool {
    starts(buf, b"GIF8")
}

fn jpeg(buf: &[u8]) -> bool {
    starts(buf, b"\xff\xd8")
}

fn bmp(buf: &[u8]) -> bool {
    starts(buf, b"BM")
        && dots(&buf[2..], 12)
        && matches!(buf.get(14), Some(0x0c | 0x28 | 0x40 | 0x6c | 0x7c | 0x80))
        && buf.get(15) == Some(&0)
}

fn ico(buf: &[u8]) -> bool {
    starts(buf, b"\x00\x00\x01\x00")
}

fn cur(buf: &[u8]) -> bool {
    starts(buf, b"\x00\x00\x02\x00")
}

fn psd(buf: &[u8]) -> bool {
    starts(buf, b"8BPS")
}

fn png(buf: &[u8]) -> bool {
    starts(buf, b"\x89PNG")
}

fn webp(buf: &[u8]) -> bool {
    starts(buf, b"RIFF") && dots(&buf[4..], 4) && buf.get(8..12) == Some(b"WEBP")
}

fn zip(buf: &[u8]) -> bool {
    starts(buf, b"PK\x03\x04") && dots(&buf[4..], 2)
}

fn zip_multi(buf: &[u8]) -> bool {
    starts(buf, b"PK\x07\x08PK\x03\x04")
}

fn rar(buf: &[u8]) -> bool {
    starts(buf, b"Rar!")
}

fn gzip(buf: &[u8]) -> bool {
    starts(buf, b"\x1f\x8b")
}

fn cab(buf: &[u8]) -> bool {
    starts(buf, b"MSCF\x00\x00\x00\x00")
}

fn seven_zip(buf: &[u8]) -> bool {
    starts(buf, b"7z\xbc\xaf\x27\x1c")
}

fn xz(buf: &[u8]) -> bool {
    starts(buf, b"\xfd7zXZ\x00")
}

fn bzip2(buf: &[u8]) -> bool {
    starts(buf, b"BZh")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_types() {
        assert_eq!(sniff(b"body { color: red; }\n"), Some("text/plain"));
        assert_eq!(sniff(b"Hello\n"), None, "fewer than 10 text bytes");
        assert_eq!(sniff(b"<!DOCTYPE html>\n<html>"), Some("text/html"));
        assert_eq!(sniff(b"\n  <!-- x --> <HTML><head>"), Some("text/html"));
        assert_eq!(sniff(b"<title>hi</title> and more"), Some("text/html"));
        assert_eq!(sniff(b"{\"a\": 1, \"b\": [1,2]}"), Some("text/json"));
        assert_eq!(sniff(b"[1, 2, 3]"), Some("text/json"));
        assert_eq!(sniff(b"{}"), Some("text/json"));
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><a/>"),
            Some("application/xml")
        );
        assert_eq!(sniff(b"GIF89a\x01\x00"), Some("image/gif"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(
            sniff(b"PK\x03\x04\x14\x00\x00\x00"),
            Some("application/zip")
        );
        assert_eq!(sniff(b"\x1f\x8b\x08\x00"), Some("application/x-gzip"));
        assert_eq!(sniff(b"MZ\x90\x00\x03\x00"), Some("application/x-dosexec"));
        assert_eq!(sniff(b"%PDF-1.4\n"), Some("application/pdf"));
        assert_eq!(sniff(b"#!/bin/sh\necho hi\n"), Some("text/x-shellscript"));
        assert_eq!(sniff(b"#!/usr/bin/env python3\n"), Some("text/x-python"));
        assert_eq!(sniff(b"<?php echo 1; ?>"), Some("text/x-php"));
        assert_eq!(
            sniff(b"<script type=\"text/javascript\">var a;"),
            Some("application/javascript")
        );
        let mut elf =
            b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00".to_vec();
        assert_eq!(sniff(&elf), Some("application/x-executable"));
        elf[16] = 3;
        assert_eq!(sniff(&elf), Some("application/x-sharedlib"));
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\x00\x01\x02\x03\x04"), None);
    }

    #[test]
    fn sniff_is_total() {
        let mut seed = 0x1234_5678u32;
        for len in 0..300usize {
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 24) as u8
                })
                .collect();
            let _ = sniff(&buf);
            for prefix in [
                &b"#!"[..],
                b"PK\x03\x04",
                b"\x7fELF\x01",
                b"<?xml ",
                b"{\"",
                b"[",
                b"<!--",
            ] {
                let mut b = prefix.to_vec();
                b.extend_from_slice(&buf);
                let _ = sniff(&b);
            }
        }
    }
}
