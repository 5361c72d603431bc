//! Key and channel names. Every key of one profile carries the profile's address in a
//! hash tag (`{10.0.0.9}`), so a Redis Cluster keeps them in one slot and the Lua rule
//! can touch them together; the feeds share the `{feed}` tag for the same reason.

use std::net::IpAddr;

const PREFIX: &str = "slipstream";

/// The streams other tools read with consumer groups.
pub const EVIDENCE_STREAM: &str = "slipstream:{feed}:evidence";
pub const ALERT_STREAM: &str = "slipstream:{feed}:alerts";
/// Ids of the evidence and alerts already appended to a stream: a replay after a
/// half-written batch appends nothing twice.
pub const FEED_IDS: &str = "slipstream:{feed}:ids";
/// Every profile seen by any sensor.
pub const PROFILES: &str = "slipstream:profiles";
/// Start of window 1 (microseconds since the epoch), fixed by the first sensor.
pub const WINDOW_ORIGIN: &str = "slipstream:timewindow_origin";

/// Slips' pub/sub channels.
pub const EVIDENCE_CHANNEL: &str = "evidence_added";
pub const ALERT_CHANNEL: &str = "new_alert";

/// The channel Slips publishes a record of this log on (`conn` is `new_flow`).
pub fn record_channel(log: &str) -> Option<&'static str> {
    Some(match log {
        "conn" => "new_flow",
        "dns" => "new_dns",
        "http" => "new_http",
        "ssl" => "new_ssl",
        "ssh" => "new_ssh",
        "notice" => "new_notice",
        "software" => "new_software",
        "dhcp" => "new_dhcp",
        "smtp" => "new_smtp",
        "weird" => "new_weird",
        "arp" => "new_arp",
        "tunnel" => "new_tunnel",
        "files" => "new_downloaded_file",
        _ => return None,
    })
}

/// `slipstream:{10.0.0.9}`: the start of every key of one profile.
fn profile_base(profile: IpAddr) -> String {
    format!("{PREFIX}:{{{profile}}}")
}

/// Hash with the profile's first sighting.
pub fn profile(profile: IpAddr) -> String {
    profile_base(profile) + ":profile"
}

/// Sorted set of the profile's window numbers (score: the number).
pub fn windows(profile: IpAddr) -> String {
    profile_base(profile) + ":timewindows"
}

/// Keys of one window of one profile.
pub struct WindowKeys {
    /// Hash: `accumulated` (threat in millionths), `evidence`, `alerts`, `start`, `end`.
    pub state: String,
    /// List of the evidence (id and flows) that the next alert carries.
    pub pending: String,
    /// Set of the evidence ids already added (a replay adds nothing twice).
    pub seen: String,
    /// Hash: id of the evidence that raised an alert -> the alert (answered again to a
    /// replay whose first answer was lost).
    pub decisions: String,
    /// HyperLogLog of the flows' uids (a replay counts nothing twice).
    pub flows: String,
}

impl WindowKeys {
    pub fn new(profile: IpAddr, timewindow: i64) -> Self {
        let state = format!("{}:tw:{timewindow}", profile_base(profile));
        WindowKeys {
            pending: format!("{state}:pending"),
            seen: format!("{state}:evidence"),
            decisions: format!("{state}:alerts"),
            flows: format!("{state}:flows"),
            state,
        }
    }

    pub fn all(&self) -> [&str; 5] {
        [
            &self.state,
            &self.pending,
            &self.seen,
            &self.decisions,
            &self.flows,
        ]
    }
}

/// Slips' names of a profile and a window in messages.
pub fn profile_id(profile: IpAddr) -> String {
    format!("profile_{profile}")
}

pub fn window_id(timewindow: i64) -> String {
    format!("timewindow{timewindow}")
}

/// The Redis Cluster slot of `key`: CRC16 (XMODEM) of the hash tag, or of the whole key
/// when it has none, modulo 16384.
pub fn slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let tagged = bytes.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &bytes[open + 1..];
        rest.iter()
            .position(|&b| b == b'}')
            .filter(|&close| close > 0)
            .map(|close| &rest[..close])
    });
    crc16(tagged.unwrap_or(bytes)) % 16384
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_and_slots_match_redis() {
        // The check value of CRC-16/XMODEM, and slots Redis' CLUSTER KEYSLOT gives.
        assert_eq!(crc16(b"123456789"), 0x31c3);
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("{user1000}.following"), slot("user1000"));
        // An empty tag does not count: the whole key is hashed.
        assert_eq!(slot("foo{}{bar}"), crc16(b"foo{}{bar}") % 16384);
    }

    #[test]
    fn every_key_of_a_profile_is_in_one_slot() {
        for ip in ["10.0.0.9", "192.168.1.200", "2001:db8::1", "fe80::1:2"] {
            let ip: IpAddr = ip.parse().unwrap();
            let want = slot(&profile(ip));
            assert_eq!(slot(&windows(ip)), want);
            for tw in [-1, 0, 1, 2, 1000] {
                for k in WindowKeys::new(ip, tw).all() {
                    assert_eq!(slot(k), want, "{k}");
                }
            }
            assert_eq!(want, crc16(ip.to_string().as_bytes()) % 16384);
        }
        // Different profiles usually land apart, which spreads them over the nodes.
        let a = slot(&profile("10.0.0.1".parse().unwrap()));
        let b = slot(&profile("10.0.0.2".parse().unwrap()));
        assert_ne!(a, b);
        assert_eq!(slot(EVIDENCE_STREAM), slot(FEED_IDS));
        assert_eq!(slot(ALERT_STREAM), slot(FEED_IDS));
    }

    #[test]
    fn names() {
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let k = WindowKeys::new(ip, 3);
        assert_eq!(k.state, "slipstream:{10.0.0.9}:tw:3");
        assert_eq!(k.pending, "slipstream:{10.0.0.9}:tw:3:pending");
        assert_eq!(profile_id(ip), "profile_10.0.0.9");
        assert_eq!(window_id(3), "timewindow3");
        assert_eq!(record_channel("conn"), Some("new_flow"));
        assert_eq!(record_channel("x509"), None);
    }
}
