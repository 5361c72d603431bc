//! `NETWORK_GPS_LOCATION_LEAKED`: an HTTP request carries GPS coordinates in clear text
//! (`lat=..&lon=..`, `"latitude":..`, `ll=..,..`).
//!
//! Slips (`modules/leak_detector/leak_detector.py:set_evidence_yara_match`) runs its YARA
//! rule `NETWORK_gps_location_leaked` (`yara_rules/rules/GPS_leaks.yara`) over the raw
//! capture: a latitude and a longitude (`(lat|latitude)` or `(lon|lng|long|longitude)`,
//! then `":` or `=`, an optional `-`, 1-3 digits, any character, 2-16 digits), or a
//! location pair (`(locations|ll|q|latlon|path)`, the same separator, two such numbers
//! joined by a comma), case-insensitive. We match the same patterns, in the request URI
//! and the Referer of every HTTP request (the detectors see records, not packets: bodies
//! and other protocols are not searched). Two evidence, confidence 0.9: the client as
//! attacker (threat level low) and the server in its own profile (threat level high).

use dissectors::Record;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};

pub const NAME: &str = "gps_location_leaked";

const LAT: &[&str] = &["latitude", "lat"];
const LON: &[&str] = &["longitude", "long", "lng", "lon"];
const LOC: &[&str] = &["locations", "latlon", "path", "ll", "q"];

pub struct GpsLocationLeaked;

impl GpsLocationLeaked {
    pub fn new(_config: &Config) -> Self {
        GpsLocationLeaked
    }
}

/// Length of `-?\d{1,3}.\d{2,16}` at the start of `b` (longest match), if any.
fn coordinate(b: &[u8]) -> Option<usize> {
    let start = usize::from(b.first() == Some(&b'-'));
    let mut best = None;
    for int_digits in 1..=3 {
        let int_end = start + int_digits;
        if int_end > b.len() || !b[start..int_end].iter().all(u8::is_ascii_digit) {
            break;
        }
        // any one character but a line end
        let Some(&sep) = b.get(int_end) else { break };
        if sep == b'\n' {
            continue;
        }
        let frac_start = int_end + 1;
        let frac = b[frac_start..]
            .iter()
            .take(16)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if frac >= 2 {
            best = best.max(Some(frac_start + frac));
        }
    }
    best
}

/// Length of `(":|=)` at the start of `b`.
fn separator(b: &[u8]) -> Option<usize> {
    match b {
        [b'"', b':', ..] => Some(2),
        [b'=', ..] => Some(1),
        _ => None,
    }
}

/// The first match in `text` of one of `keywords` followed by a separator and a value
/// (`pair`: two coordinates joined by a comma).
fn find<'a>(text: &'a str, keywords: &[&str], pair: bool) -> Option<&'a str> {
    let b = text.as_bytes();
    for i in 0..b.len() {
        for k in keywords {
            let kb = k.as_bytes();
            if b.len() - i < kb.len() || !b[i..i + kb.len()].eq_ignore_ascii_case(kb) {
                continue;
            }
            let mut at = i + kb.len();
            let Some(s) = separator(&b[at..]) else {
                continue;
            };
            at += s;
            let Some(n) = coordinate(&b[at..]) else {
                continue;
            };
            at += n;
            if pair {
                if b.get(at) != Some(&b',') {
                    continue;
                }
                let Some(n) = coordinate(&b[at + 1..]) else {
                    continue;
                };
                at += 1 + n;
            }
            return text.get(i..at);
        }
    }
    None
}

/// What leaked in `text`, if the rule matches it.
fn leaked(text: &str) -> Option<String> {
    if let Some(loc) = find(text, LOC, true) {
        return Some(loc.to_string());
    }
    let lat = find(text, LAT, false)?;
    let lon = find(text, LON, false)?;
    Some(format!("{lat} {lon}"))
}

impl Detector for GpsLocationLeaked {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        let Record::Http(h) = record else { return };
        let Some(location) = [h.uri.as_deref(), h.referrer.as_deref()]
            .into_iter()
            .flatten()
            .find_map(leaked)
        else {
            return;
        };
        let (saddr, daddr) = (h.id.orig_h, h.id.resp_h);
        let description = format!(
            "NETWORK gps location leaked to destination address: {daddr} port: {}/{}. Leaked location: {location}",
            h.id.resp_p,
            h.id.proto.as_str()
        );
        let sides = [
            (Ioc::src_ip(saddr), saddr, ThreatLevel::Low),
            (Ioc::dst_ip(daddr), daddr, ThreatLevel::High),
        ];
        for (attacker, profile, level) in sides {
            let mut e = Evidence::new(
                EvidenceType::NetworkGpsLocationLeaked,
                attacker,
                level,
                0.9,
                description.clone(),
                profile,
                ctx.timewindow.number,
                h.ts,
            );
            e.uids.push(h.uid);
            e.proto = Some(h.id.proto);
            e.dst_port = Some(h.id.resp_p);
            out.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{http, Harness};

    #[test]
    fn the_rule_patterns() {
        assert_eq!(
            leaked("/api?lat=50.0755&lon=14.4378").as_deref(),
            Some("lat=50.0755 lon=14.4378")
        );
        assert_eq!(
            leaked("/maps?ll=-33.86,151.20&z=3").as_deref(),
            Some("ll=-33.86,151.20")
        );
        assert_eq!(
            leaked("{\"Latitude\":48.85,\"Longitude\":2.35}").as_deref(),
            Some("Latitude\":48.85 Longitude\":2.35")
        );
        assert!(leaked("/api?lat=50.0755").is_none());
        assert!(leaked("/api?lat=5&lon=1").is_none());
        assert!(leaked("/index.html?q=hello").is_none());
        assert!(leaked("").is_none());
    }

    #[test]
    fn fires_on_a_request_with_coordinates() {
        let r = http(
            "10.0.0.2",
            "1.2.3.4",
            "api.example",
            "/w?lat=50.07&lng=14.43",
            1.0,
        );
        let out = Harness::new(Config::default()).feed(&mut GpsLocationLeaked, r);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].description,
            "NETWORK gps location leaked to destination address: 1.2.3.4 port: 80/tcp. Leaked location: lat=50.07 lng=14.43"
        );
        assert_eq!(out[0].threat_level, ThreatLevel::Low);
        assert_eq!(out[1].threat_level, ThreatLevel::High);
        assert_eq!(out[1].attacker, Ioc::dst_ip("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn silent_without_coordinates() {
        let r = http("10.0.0.2", "1.2.3.4", "api.example", "/w?city=Prague", 1.0);
        assert!(Harness::new(Config::default())
            .feed(&mut GpsLocationLeaked, r)
            .is_empty());
    }
}
