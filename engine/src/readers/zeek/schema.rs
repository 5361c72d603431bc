//! The Zeek log types slipstream reads, told apart by `#path` (TSV) or by the keys of a
//! JSON line (Zeek's JSON logs carry no path).

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogKind {
    Conn,
    Dns,
    Http,
    Ssl,
    Ssh,
    Dhcp,
    Files,
    X509,
    Software,
    Notice,
    Weird,
    Arp,
    Smtp,
    Tunnel,
    Login,
}

impl LogKind {
    /// From a `#path` value (`conn`, `dns` ...).
    pub fn from_path(path: &str) -> Option<LogKind> {
        Some(match path {
            "conn" => LogKind::Conn,
            "dns" => LogKind::Dns,
            "http" => LogKind::Http,
            "ssl" => LogKind::Ssl,
            "ssh" => LogKind::Ssh,
            "dhcp" => LogKind::Dhcp,
            "files" => LogKind::Files,
            "x509" => LogKind::X509,
            "software" => LogKind::Software,
            "notice" => LogKind::Notice,
            "weird" => LogKind::Weird,
            "arp" => LogKind::Arp,
            "smtp" => LogKind::Smtp,
            "tunnel" => LogKind::Tunnel,
            "login" => LogKind::Login,
            _ => return None,
        })
    }

    pub fn path(self) -> &'static str {
        match self {
            LogKind::Conn => "conn",
            LogKind::Dns => "dns",
            LogKind::Http => "http",
            LogKind::Ssl => "ssl",
            LogKind::Ssh => "ssh",
            LogKind::Dhcp => "dhcp",
            LogKind::Files => "files",
            LogKind::X509 => "x509",
            LogKind::Software => "software",
            LogKind::Notice => "notice",
            LogKind::Weird => "weird",
            LogKind::Arp => "arp",
            LogKind::Smtp => "smtp",
            LogKind::Tunnel => "tunnel",
            LogKind::Login => "login",
        }
    }

    /// The log a set of column names belongs to, by the columns only that log has (across
    /// the Zeek versions whose logs Slips' datasets hold).
    pub fn from_json_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Option<LogKind> {
        let mut seen = KeySet::default();
        for k in keys {
            seen.add(k);
        }
        seen.kind()
    }

    /// The key every line of this log has (used to notice a change of log in a stream).
    pub fn signature_key(self) -> &'static str {
        match self {
            LogKind::Conn => "conn_state",
            LogKind::Dns => "trans_id",
            LogKind::Http => "trans_depth",
            LogKind::Ssl => "established",
            LogKind::Ssh => "auth_attempts",
            LogKind::Dhcp => "msg_types",
            LogKind::Files => "fuid",
            LogKind::X509 => "certificate.serial",
            LogKind::Software => "software_type",
            LogKind::Notice => "note",
            LogKind::Weird => "name",
            LogKind::Arp => "operation",
            LogKind::Smtp => "trans_depth",
            LogKind::Tunnel => "tunnel_type",
            LogKind::Login => "confused",
        }
    }
}

/// Which telling keys a line has.
#[derive(Default)]
struct KeySet {
    bits: u64,
}

const KEYS: &[&str] = &[
    "conn_state",          // 0
    "trans_id",            // 1
    "qtype_name",          // 2
    "rcode_name",          // 3
    "helo",                // 4
    "mailfrom",            // 5
    "rcptto",              // 6
    "trans_depth",         // 7
    "software_type",       // 8
    "certificate.serial",  // 9
    "fuid",                // 10
    "seen_bytes",          // 11
    "msg_types",           // 12
    "assigned_addr",       // 13
    "note",                // 14
    "tunnel_type",         // 15
    "operation",           // 16
    "src_mac",             // 17
    "auth_attempts",       // 18
    "kex_alg",             // 19
    "host_key",            // 20
    "server_name",         // 21
    "established",         // 22
    "cipher",              // 23
    "name",                // 24
    "addl",                // 25
    "notice",              // 26
    "ts",                  // 27
    "uids",                // 28
    "certificate.version", // 29
    "analyzers",           // 30
    "ssl_history",         // 31
    "auth_success",        // 32
    "query",               // 33
    "mac",                 // 34
    "confused",            // 35
    "client_user",         // 36
];

impl KeySet {
    fn add(&mut self, key: &str) {
        if let Some(i) = KEYS.iter().position(|k| *k == key) {
            self.bits |= 1 << i;
        }
    }

    fn has(&self, i: u32) -> bool {
        self.bits & (1 << i) != 0
    }

    fn kind(&self) -> Option<LogKind> {
        let any = |idx: &[u32]| idx.iter().any(|&i| self.has(i));
        Some(if self.has(0) {
            LogKind::Conn
        } else if any(&[1, 2, 3]) {
            LogKind::Dns
        } else if any(&[4, 5, 6]) {
            LogKind::Smtp
        } else if self.has(7) {
            LogKind::Http
        } else if self.has(8) {
            LogKind::Software
        } else if any(&[9, 29]) {
            LogKind::X509
        } else if self.has(10) && any(&[11, 30]) {
            LogKind::Files
        } else if any(&[12, 13]) || (self.has(28) && self.has(34)) {
            LogKind::Dhcp
        } else if self.has(14) {
            LogKind::Notice
        } else if self.has(15) {
            LogKind::Tunnel
        } else if any(&[35, 36]) {
            LogKind::Login
        } else if self.has(16) && self.has(17) {
            LogKind::Arp
        } else if any(&[18, 19, 20, 32]) {
            LogKind::Ssh
        } else if any(&[21, 22, 23, 31]) {
            LogKind::Ssl
        } else if self.has(24) && self.has(27) && any(&[25, 26]) {
            LogKind::Weird
        } else {
            return None;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_keys() {
        let k = |keys: &[&str]| LogKind::from_json_keys(keys.iter().copied());
        assert_eq!(k(&["ts", "uid", "conn_state"]), Some(LogKind::Conn));
        assert_eq!(
            k(&["ts", "uid", "trans_depth", "helo"]),
            Some(LogKind::Smtp)
        );
        assert_eq!(
            k(&["ts", "uid", "trans_depth", "method"]),
            Some(LogKind::Http)
        );
        assert_eq!(
            k(&["ts", "fuid", "tx_hosts", "seen_bytes"]),
            Some(LogKind::Files)
        );
        assert_eq!(k(&["ts", "name", "notice", "peer"]), Some(LogKind::Weird));
        assert_eq!(k(&["ts", "kex_alg", "cipher_alg"]), Some(LogKind::Ssh));
        assert_eq!(
            k(&["ts", "uid", "proto", "success", "confused", "user"]),
            Some(LogKind::Login)
        );
        assert_eq!(
            k(&["ts", "version", "cipher", "server_name"]),
            Some(LogKind::Ssl)
        );
        assert_eq!(k(&["name"]), None);
        assert_eq!(k(&["ts", "node", "filter"]), None);
        for kind in [LogKind::Conn, LogKind::Tunnel, LogKind::X509] {
            assert_eq!(LogKind::from_path(kind.path()), Some(kind));
        }
    }
}
