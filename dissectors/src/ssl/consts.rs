//! Names Zeek's ssl.log prints for numeric TLS values (`scripts/base/protocols/ssl/consts.zeek`:
//! `version_strings`, `ec_curves`, `alert_descriptions`), and the key exchange classes of
//! cipher suites that decide how Zeek parses a ServerKeyExchange.

use std::borrow::Cow;

pub const SSLV2: u16 = 0x0002;
pub const SSLV3: u16 = 0x0300;
pub const TLSV10: u16 = 0x0301;
pub const TLSV11: u16 = 0x0302;
pub const TLSV12: u16 = 0x0303;
pub const TLSV13: u16 = 0x0304;

/// `SSL::version_strings`, with its default for unknown values.
pub fn version_name(v: u16) -> Cow<'static, str> {
    Cow::Borrowed(match v {
        SSLV2 => "SSLv2",
        SSLV3 => "SSLv3",
        TLSV10 => "TLSv10",
        TLSV11 => "TLSv11",
        TLSV12 => "TLSv12",
        TLSV13 => "TLSv13",
        0xfeff => "DTLSv10",
        0xfefd => "DTLSv12",
        0xfefc => "DTLSv13",
        _ => {
            let i = u32::from(v);
            return Cow::Owned(if i / 0xff == 0x7f {
                format!("TLSv13-draft{}", i % 0x7f)
            } else {
                format!("unknown-{i}")
            });
        }
    })
}

/// `SSL::cipher_desc`, with its default (`unknown-<code>`).
pub fn cipher_name(code: u32) -> Cow<'static, str> {
    match super::cipher_names::cipher_name(code) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(format!("unknown-{code}")),
    }
}

/// `SSL::ec_curves`, with its default.
pub fn curve_name(c: u16) -> Cow<'static, str> {
    Cow::Borrowed(match c {
        1 => "sect163k1",
        2 => "sect163r1",
        3 => "sect163r2",
        4 => "sect193r1",
        5 => "sect193r2",
        6 => "sect233k1",
        7 => "sect233r1",
        8 => "sect239k1",
        9 => "sect283k1",
        10 => "sect283r1",
        11 => "sect409k1",
        12 => "sect409r1",
        13 => "sect571k1",
        14 => "sect571r1",
        15 => "secp160k1",
        16 => "secp160r1",
        17 => "secp160r2",
        18 => "secp192k1",
        19 => "secp192r1",
        20 => "secp224k1",
        21 => "secp224r1",
        22 => "secp256k1",
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        26 => "brainpoolP256r1",
        27 => "brainpoolP384r1",
        28 => "brainpoolP512r1",
        29 => "x25519",
        30 => "x448",
        31 => "brainpoolP256r1tls13",
        32 => "brainpoolP384r1tls13",
        33 => "brainpoolP512r1tls13",
        34 => "GC256A",
        35 => "GC256B",
        36 => "GC256C",
        37 => "GC256D",
        38 => "GC512A",
        39 => "GC512B",
        40 => "GC512C",
        41 => "curveSM2",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        512 => "MLKEM512",
        513 => "MLKEM768",
        514 => "MLKEM1024",
        4587 => "SecP256r1MLKEM768",
        4588 => "X25519MLKEM768",
        4589 => "SecP384r1MLKEM1024",
        4590 => "curveSM2MLKEM768",
        16696 => "CECPQ2",
        25497 => "X25519Kyber768Draft00",
        25498 => "SecP256r1Kyber768Draft00",
        0xff01 => "arbitrary_explicit_prime_curves",
        0xff02 => "arbitrary_explicit_char2_curves",
        v if is_grease(v) => return Cow::Owned(format!("grease_0x{v:04X}")),
        v => return Cow::Owned(format!("unknown-{v}")),
    })
}

/// `SSL::alert_descriptions`, with its default.
pub fn alert_name(d: u16) -> Cow<'static, str> {
    Cow::Borrowed(match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        117 => "general_error",
        120 => "no_application_protocol",
        121 => "ech_required",
        v => return Cow::Owned(format!("unknown-{v}")),
    })
}

/// RFC 8701 GREASE value (0x0A0A, 0x1A1A, ... 0xFAFA).
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// How Zeek parses the ServerKeyExchange for the chosen cipher suite
/// (`tls-handshake-protocol.pac`, `ServerKeyExchange`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyExchange {
    /// Named-curve parameters followed by a signature.
    Ecdhe,
    /// Named-curve parameters, unsigned.
    EcdhAnon,
    /// DH p, g, Ys followed by a signature.
    Dhe,
    /// DH p, g, Ys, unsigned.
    DhAnon,
    /// Not parsed.
    Other,
}

pub fn key_exchange(cipher: u32) -> KeyExchange {
    match cipher {
        0xC006..=0xC00A
        | 0xC010..=0xC014
        | 0xC023
        | 0xC024
        | 0xC027
        | 0xC028
        | 0xC02B
        | 0xC02C
        | 0xC02F
        | 0xC030
        | 0xC033..=0xC03B
        | 0xC048
        | 0xC049
        | 0xC04C
        | 0xC04D
        | 0xC05C
        | 0xC05D
        | 0xC060
        | 0xC061
        | 0xC070
        | 0xC071
        | 0xC072
        | 0xC073
        | 0xC076
        | 0xC077
        | 0xC086
        | 0xC087
        | 0xC08A
        | 0xC08B
        | 0xC09A
        | 0xC09B
        | 0xC0AC..=0xC0AF
        | 0xCCA8
        | 0xCCA9 => KeyExchange::Ecdhe,
        0xC015..=0xC019 => KeyExchange::EcdhAnon,
        0x0011..=0x0016
        | 0x0032
        | 0x0033
        | 0x0038
        | 0x0039
        | 0x0040
        | 0x0044
        | 0x0045
        | 0x0063
        | 0x0065
        | 0x0066
        | 0x0067
        | 0x006A
        | 0x006B
        | 0x0072..=0x0074
        | 0x0077..=0x0079
        | 0x0087
        | 0x0088
        | 0x008E..=0x0091
        | 0x0099
        | 0x009A
        | 0x009E
        | 0x009F
        | 0x00A2
        | 0x00A3
        | 0x00AA
        | 0x00AB
        | 0x00B2..=0x00B5
        | 0x00BD
        | 0x00BE
        | 0x00C3
        | 0x00C4
        | 0xC042..=0xC045
        | 0xC052
        | 0xC053
        | 0xC056
        | 0xC057
        | 0xC066
        | 0xC067
        | 0xC06C
        | 0xC06D
        | 0xC07C
        | 0xC07D
        | 0xC080
        | 0xC081
        | 0xC090
        | 0xC091
        | 0xC096
        | 0xC097
        | 0xC09E
        | 0xC09F
        | 0xC0A2
        | 0xC0A3
        | 0xC0A6
        | 0xC0A7
        | 0xC0AA
        | 0xC0AB
        | 0xCCAA => KeyExchange::Dhe,
        0x0017..=0x001B
        | 0x0034
        | 0x003A
        | 0x0046
        | 0x006C
        | 0x006D
        | 0x0089
        | 0x009B
        | 0x00A6
        | 0x00A7
        | 0x00BF
        | 0x00C5
        | 0xC046
        | 0xC047
        | 0xC05A
        | 0xC05B
        | 0xC084
        | 0xC085 => KeyExchange::DhAnon,
        _ => KeyExchange::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(version_name(0x0303), "TLSv12");
        assert_eq!(version_name(0x7f12), "TLSv13-draft18");
        assert_eq!(version_name(0x1234), "unknown-4660");
        assert_eq!(cipher_name(0x0004), "TLS_RSA_WITH_RC4_128_MD5");
        assert_eq!(cipher_name(0xc011), "TLS_ECDHE_RSA_WITH_RC4_128_SHA");
        assert_eq!(cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0x0018), "TLS_DH_ANON_WITH_RC4_128_MD5");
        assert_eq!(cipher_name(0x010080), "SSLv20_CK_RC4_128_WITH_MD5");
        assert_eq!(cipher_name(0x002c), "unknown-44");
        assert_eq!(cipher_name(0x0a0a), "grease_0x0A0A");
        assert_eq!(curve_name(29), "x25519");
        assert_eq!(curve_name(23), "secp256r1");
        assert_eq!(alert_name(40), "handshake_failure");
        assert!(is_grease(0xfafa) && !is_grease(0x0a1a));
        assert_eq!(key_exchange(0xc02f), KeyExchange::Ecdhe);
        assert_eq!(key_exchange(0x0004), KeyExchange::Other);
    }
}
