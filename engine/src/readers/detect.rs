//! What kind of input a path is, decided by its content (the first bytes, decompressed
//! when gzip), never by its name.

use std::fmt;
use std::io;
use std::path::Path;

use super::lines::peek_content;
use super::zeek::schema::LogKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A pcap or pcapng capture: for the native engine (`pipeline::run_file`).
    Pcap,
    /// A folder of Zeek logs.
    ZeekFolder,
    /// One Zeek log in the ASCII (TSV) format, with its `#` header.
    ZeekTsv,
    /// One Zeek log in JSON lines (`LogAscii::use_json=T`).
    ZeekJson,
    /// Suricata's EVE JSON (`eve.json`).
    Suricata,
    /// Argus flows as `ra` prints them (binetflow): CSV or tab-separated with a header.
    Argus,
    /// An nfdump binary file (nfcapd.*).
    Nfdump,
}

impl InputKind {
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Pcap => "pcap capture",
            InputKind::ZeekFolder => "Zeek log folder",
            InputKind::ZeekTsv => "Zeek log (TSV)",
            InputKind::ZeekJson => "Zeek log (JSON)",
            InputKind::Suricata => "Suricata EVE JSON",
            InputKind::Argus => "Argus binetflow",
            InputKind::Nfdump => "nfdump file",
        }
    }
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: the file is empty")]
    Empty { path: String },
    #[error("{path}: not an input slipstream knows (pcap, Zeek log, Suricata eve.json, Argus binetflow, nfdump); it starts with {start:?}")]
    Unknown { path: String, start: String },
}

const PEEK: usize = 64 * 1024;

pub fn detect(path: &Path) -> Result<InputKind, DetectError> {
    let shown = path.display().to_string();
    let io_err = |source| DetectError::Io {
        path: shown.clone(),
        source,
    };
    if std::fs::metadata(path).map_err(io_err)?.is_dir() {
        return Ok(InputKind::ZeekFolder);
    }
    let head = peek_content(path, PEEK).map_err(io_err)?;
    if head.is_empty() {
        return Err(DetectError::Empty { path: shown });
    }
    detect_bytes(&head).ok_or_else(|| DetectError::Unknown {
        path: shown,
        start: String::from_utf8_lossy(&head[..head.len().min(40)]).into_owned(),
    })
}

/// The kind of an input from its first bytes (decompressed).
pub fn detect_bytes(head: &[u8]) -> Option<InputKind> {
    const PCAP_MAGICS: [[u8; 4]; 5] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x0a, 0x0d, 0x0d, 0x0a],
    ];
    if head.len() >= 4 && PCAP_MAGICS.iter().any(|m| head.starts_with(m)) {
        return Some(InputKind::Pcap);
    }
    // nfdump's magic 0xA50C in the byte order of the machine that wrote it.
    if head.starts_with(&[0x0c, 0xa5]) || head.starts_with(&[0xa5, 0x0c]) {
        return Some(InputKind::Nfdump);
    }
    let first = first_content_line(head)?.trim_ascii_start();
    if first.starts_with(b"#separator") || first.starts_with(b"#fields") {
        return Some(InputKind::ZeekTsv);
    }
    if first.starts_with(b"{") {
        let text = std::str::from_utf8(first).ok()?;
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
        if obj.contains_key("event_type") {
            return Some(InputKind::Suricata);
        }
        return LogKind::from_json_keys(obj.keys().map(String::as_str))
            .is_some()
            .then_some(InputKind::ZeekJson);
    }
    super::argus::is_header(first).then_some(InputKind::Argus)
}

fn first_content_line(head: &[u8]) -> Option<&[u8]> {
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_content() {
        assert_eq!(
            detect_bytes(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]),
            Some(InputKind::Pcap)
        );
        assert_eq!(detect_bytes(&[0x0c, 0xa5, 1, 0]), Some(InputKind::Nfdump));
        assert_eq!(
            detect_bytes(b"#separator \\x09\n#fields\tts\n"),
            Some(InputKind::ZeekTsv)
        );
        assert_eq!(
            detect_bytes(b"{\"timestamp\":\"x\",\"event_type\":\"flow\"}\n"),
            Some(InputKind::Suricata)
        );
        assert_eq!(
            detect_bytes(b"{\"ts\":1.0,\"uid\":\"C1\",\"conn_state\":\"S0\"}\n"),
            Some(InputKind::ZeekJson)
        );
        assert_eq!(
            detect_bytes(b"StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State\n"),
            Some(InputKind::Argus)
        );
        assert_eq!(detect_bytes(b"hello world\n"), None);
        assert_eq!(detect_bytes(b"{\"name\":\"x\"}\n"), None);
    }
}
