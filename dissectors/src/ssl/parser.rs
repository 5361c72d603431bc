//! Wire parsing of TLS handshake messages (ClientHello, ServerHello, Certificate,
//! ServerKeyExchange) and SSLv2 records, following the layouts of Zeek's binpac grammar
//! (`tls-handshake-protocol.pac`, `ssl-protocol.pac`). Parsers are total: malformed
//! input gives `Err(Malformed)`, which the dissector turns into a protocol violation the
//! way a binpac exception does in Zeek.

use super::fingerprint::{ClientHelloSummary, ServerHelloSummary};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

pub type Result<T> = std::result::Result<T, Malformed>;

/// Bounds-checked big-endian cursor.
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    pub fn remaining(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.data
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let head = self.data.get(..n).ok_or(Malformed)?;
        self.data = self.data.get(n..).ok_or(Malformed)?;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(*self.bytes(1)?.first().ok_or(Malformed)?)
    }

    pub fn u16(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([
            *b.first().ok_or(Malformed)?,
            *b.get(1).ok_or(Malformed)?,
        ]))
    }

    pub fn u24(&mut self) -> Result<u32> {
        let b = self.bytes(3)?;
        let mut v = 0u32;
        for &x in b {
            v = (v << 8) | u32::from(x);
        }
        Ok(v)
    }

    pub fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        let mut v = 0u32;
        for &x in b {
            v = (v << 8) | u32::from(x);
        }
        Ok(v)
    }
}

/// One TLS extension as it appears in a hello.
#[derive(Clone, Copy, Debug)]
pub struct Extension<'a> {
    pub kind: u16,
    pub data: &'a [u8],
}

/// Extensions follow the fixed part of a hello if at least two bytes remain: Zeek reads
/// (and ignores) the total length, then extensions until the message ends.
fn parse_extensions<'a>(c: &mut Cursor<'a>) -> Result<Vec<Extension<'a>>> {
    if c.remaining() < 2 {
        return Ok(Vec::new());
    }
    c.u16()?;
    // Counted first, so the list is allocated once (a browser's hello has a dozen or two).
    let mut count = 0usize;
    let mut ahead = *c;
    while ahead.u16().is_ok() {
        match ahead.u16().and_then(|len| ahead.bytes(usize::from(len))) {
            Ok(_) => count += 1,
            Err(_) => break,
        }
    }
    let mut out = Vec::with_capacity(count);
    while !c.is_empty() {
        let kind = c.u16()?;
        let len = c.u16()?;
        let data = c.bytes(usize::from(len))?;
        out.push(Extension { kind, data });
    }
    Ok(out)
}

#[derive(Clone, Debug)]
pub struct ClientHello<'a> {
    pub version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub ciphers: Vec<u16>,
    pub compression_methods: &'a [u8],
    pub extensions: Vec<Extension<'a>>,
}

pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello<'_>> {
    let mut c = Cursor::new(body);
    let version = c.u16()?;
    let random = c.bytes(32)?;
    let sid_len = c.u8()?;
    let session_id = c.bytes(usize::from(sid_len))?;
    let csuit_len = c.u16()?;
    let mut ciphers = Vec::with_capacity(usize::from(csuit_len / 2));
    for _ in 0..csuit_len / 2 {
        ciphers.push(c.u16()?);
    }
    let cmeth_len = c.u8()?;
    let compression_methods = c.bytes(usize::from(cmeth_len))?;
    let extensions = parse_extensions(&mut c)?;
    Ok(ClientHello {
        version,
        random,
        session_id,
        ciphers,
        compression_methods,
        extensions,
    })
}

#[derive(Clone, Debug)]
pub struct ServerHello<'a> {
    pub version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub cipher: u16,
    pub extensions: Vec<Extension<'a>>,
}

pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello<'_>> {
    let mut c = Cursor::new(body);
    let version = c.u16()?;
    // TLS 1.3 drafts (0x7fXX) and a literal 0x0304 use the 1.3 layout without session id
    // and compression method.
    let tls13_layout = version >> 8 == 0x7f || version == 0x0304;
    let random = c.bytes(32)?;
    let session_id = if tls13_layout {
        &[][..]
    } else {
        let len = c.u8()?;
        c.bytes(usize::from(len))?
    };
    let cipher = c.u16()?;
    if !tls13_layout {
        c.u8()?;
    }
    let extensions = parse_extensions(&mut c)?;
    Ok(ServerHello {
        version,
        random,
        session_id,
        cipher,
        extensions,
    })
}

/// The certificates of a Certificate message (TLS 1.2 and earlier layout).
pub fn parse_certificate_list(body: &[u8]) -> Result<Vec<&[u8]>> {
    let mut c = Cursor::new(body);
    let len = c.u24()?;
    let mut list = Cursor::new(c.bytes(len as usize)?);
    let mut out = Vec::new();
    while !list.is_empty() {
        let n = list.u24()?;
        out.push(list.bytes(n as usize)?);
    }
    Ok(out)
}

/// Host names (type 0) of a server_name extension.
pub fn parse_server_names(data: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    if data.is_empty() {
        return Ok(out);
    }
    let mut c = Cursor::new(data);
    let len = c.u16()?;
    let mut list = Cursor::new(c.bytes(usize::from(len))?);
    while !list.is_empty() {
        let kind = list.u8()?;
        if kind != 0 {
            // unknown name type: Zeek's grammar consumes the rest of the list
            break;
        }
        let n = list.u16()?;
        out.push(list.bytes(usize::from(n))?);
    }
    Ok(out)
}

/// Protocol names of an ALPN extension.
pub fn parse_alpn(data: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    if data.is_empty() {
        return Ok(out);
    }
    let mut c = Cursor::new(data);
    let len = c.u16()?;
    let mut list = Cursor::new(c.bytes(usize::from(len))?);
    while !list.is_empty() {
        let n = list.u8()?;
        out.push(list.bytes(usize::from(n))?);
    }
    Ok(out)
}

/// A `uint16` list with a 2-byte length prefix (supported_groups, signature_algorithms).
pub fn parse_u16_list(data: &[u8]) -> Result<Vec<u16>> {
    let mut out = Vec::new();
    if data.is_empty() {
        return Ok(out);
    }
    let mut c = Cursor::new(data);
    let len = c.u16()?;
    let mut list = Cursor::new(c.bytes(usize::from(len))?);
    out.reserve_exact(list.remaining() / 2);
    while list.remaining() >= 2 {
        out.push(list.u16()?);
    }
    Ok(out)
}

/// A `uint8` list with a 1-byte length prefix (ec_point_formats).
pub fn parse_u8_list(data: &[u8]) -> Result<Vec<u8>> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = Cursor::new(data);
    let len = c.u8()?;
    Ok(c.bytes(usize::from(len))?.to_vec())
}

/// The client's supported_versions list (1-byte length prefix).
pub fn parse_client_versions(data: &[u8]) -> Result<Vec<u16>> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = Cursor::new(data);
    let len = c.u8()?;
    let mut list = Cursor::new(c.bytes(usize::from(len))?);
    let mut out = Vec::with_capacity(list.remaining() / 2);
    while list.remaining() >= 2 {
        out.push(list.u16()?);
    }
    Ok(out)
}

/// The group of a server key_share (2 bytes in a HelloRetryRequest, else a KeyShareEntry).
pub fn parse_server_key_share(data: &[u8]) -> Result<Option<u16>> {
    if data.is_empty() {
        return Ok(None);
    }
    let mut c = Cursor::new(data);
    let group = c.u16()?;
    if data.len() != 2 {
        let n = c.u16()?;
        c.bytes(usize::from(n))?;
    }
    Ok(Some(group))
}

/// Named curve of an ECDHE/ECDH-anon ServerKeyExchange; `Ok(None)` for explicit curves.
pub fn parse_ecdh_server_params(
    body: &[u8],
    signed: bool,
    uses_sig_hash_alg: bool,
) -> Result<Option<u16>> {
    let mut c = Cursor::new(body);
    let curve_type = c.u8()?;
    if curve_type != 3 {
        return Ok(None);
    }
    let curve = c.u16()?;
    let point_len = c.u8()?;
    c.bytes(usize::from(point_len))?;
    if signed {
        parse_signature(&mut c, uses_sig_hash_alg)?;
    }
    Ok(Some(curve))
}

/// Checks the layout of a DHE/DH-anon ServerKeyExchange.
pub fn parse_dh_server_params(body: &[u8], signed: bool, uses_sig_hash_alg: bool) -> Result<()> {
    let mut c = Cursor::new(body);
    for _ in 0..3 {
        let n = c.u16()?;
        c.bytes(usize::from(n))?;
    }
    if signed {
        parse_signature(&mut c, uses_sig_hash_alg)?;
    }
    Ok(())
}

fn parse_signature(c: &mut Cursor<'_>, uses_sig_hash_alg: bool) -> Result<()> {
    if uses_sig_hash_alg {
        c.u16()?;
    }
    let n = c.u16()?;
    c.bytes(usize::from(n))?;
    Ok(())
}

/// What the fingerprints need from a ClientHello.
pub fn summarize_client_hello(ch: &ClientHello<'_>) -> ClientHelloSummary {
    let mut s = ClientHelloSummary {
        version: ch.version,
        ciphers: ch.ciphers.clone(),
        extensions: ch.extensions.iter().map(|e| e.kind).collect(),
        ..Default::default()
    };
    for e in &ch.extensions {
        match e.kind {
            0 => s.has_sni = true,
            10 => s.curves = parse_u16_list(e.data).unwrap_or_default(),
            11 => s.point_formats = parse_u8_list(e.data).unwrap_or_default(),
            13 => s.signature_algorithms = parse_u16_list(e.data).unwrap_or_default(),
            16 => {
                s.first_alpn = parse_alpn(e.data)
                    .ok()
                    .and_then(|l| l.first().map(|v| v.to_vec()))
            }
            43 => s.supported_versions = parse_client_versions(e.data).unwrap_or_default(),
            _ => {}
        }
    }
    s
}

pub fn summarize_server_hello(sh: &ServerHello<'_>) -> ServerHelloSummary {
    ServerHelloSummary {
        version: sh.version,
        cipher: sh.cipher,
        extensions: sh.extensions.iter().map(|e| e.kind).collect(),
    }
}

/// An SSLv2 CLIENT-HELLO body (after the 3 header bytes and the 2 version bytes that
/// the record layer already consumed: the 5-byte header covers them).
#[derive(Clone, Debug)]
pub struct V2ClientHello<'a> {
    pub ciphers: Vec<u32>,
    pub session_id: &'a [u8],
    pub challenge: &'a [u8],
}

pub fn parse_v2_client_hello(body: &[u8]) -> Result<V2ClientHello<'_>> {
    let mut c = Cursor::new(body);
    let csuit_len = c.u16()?;
    let session_len = c.u16()?;
    let chal_len = c.u16()?;
    let mut cl = Cursor::new(c.bytes(usize::from(csuit_len))?);
    let mut ciphers = Vec::new();
    while cl.remaining() >= 3 {
        ciphers.push(cl.u24()?);
    }
    let session_id = c.bytes(usize::from(session_len))?;
    let challenge = c.bytes(usize::from(chal_len))?;
    Ok(V2ClientHello {
        ciphers,
        session_id,
        challenge,
    })
}

#[derive(Clone, Debug)]
pub struct V2ServerHello<'a> {
    pub version: u16,
    pub certificate: &'a [u8],
    pub ciphers: Vec<u32>,
    pub connection_id: &'a [u8],
}

pub fn parse_v2_server_hello(body: &[u8]) -> Result<V2ServerHello<'_>> {
    let mut c = Cursor::new(body);
    let version = c.u16()?;
    let cert_len = c.u16()?;
    let ciph_len = c.u16()?;
    let conn_id_len = c.u16()?;
    let certificate = c.bytes(usize::from(cert_len))?;
    let mut cl = Cursor::new(c.bytes(usize::from(ciph_len))?);
    let mut ciphers = Vec::new();
    while cl.remaining() >= 3 {
        ciphers.push(cl.u24()?);
    }
    let connection_id = c.bytes(usize::from(conn_id_len))?;
    Ok(V2ServerHello {
        version,
        certificate,
        ciphers,
        connection_id,
    })
}

/// Checks the layout of an SSLv2 CLIENT-MASTER-KEY body.
pub fn parse_v2_client_master_key(body: &[u8]) -> Result<()> {
    let mut c = Cursor::new(body);
    c.u8()?;
    let a = c.u16()?;
    let b = c.u16()?;
    let d = c.u16()?;
    c.bytes(usize::from(a) + usize::from(b) + usize::from(d))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_hellos_are_malformed() {
        assert!(parse_client_hello(&[3, 3, 0]).is_err());
        assert!(parse_server_hello(&[]).is_err());
        assert!(parse_certificate_list(&[0, 0, 5, 0, 0, 9]).is_err());
    }

    #[test]
    fn server_names() {
        let data = [0, 8, 0, 0, 5, b'a', b'.', b'b', b'c', b'd'];
        assert_eq!(parse_server_names(&data).unwrap(), vec![&b"a.bcd"[..]]);
        assert!(parse_server_names(&[0, 9, 0]).is_err());
    }
}
