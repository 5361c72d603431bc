//! `PASSWORD_GUESSING` over SSH, as Slips' brute-force detector does it
//! (`modules/brute_force_detector/brute_force_detector.py`):
//!
//! * Campaigns from `ssh.log`: per source, time window, destination and destination
//!   port, the failed attempts are added up (a session Zeek saw succeed adds nothing;
//!   one without an attempt count adds 1; otherwise its `auth_attempts`). From
//!   `brute_force_detector.ssh_attempt_threshold` attempts on, an evidence is set each
//!   time `log2(attempts - threshold + 1)` reaches a new integer (often near the
//!   threshold, then more and more sparsely). Medium threat; the confidence grows from
//!   0.5 at the threshold to 0.9 just under 30 attempts (1.0 from 30, or from Zeek's
//!   own count), plus a bonus for the client banner (software.log +0.03; an automation
//!   library such as libssh/paramiko/hydra +0.07, a known client +0.02; at most +0.1),
//!   capped at 0.99 below full confidence (`_calculate_confidence`).
//! * Zeek's `SSH::Password_Guessing` notice: one evidence per source and time window,
//!   confidence 1 (`_set_notice_evidence`); its "seen in N connections" count raises
//!   the confidence of that window's campaigns.
//!
//! State is per time window and bounded ([`MAX_CAMPAIGNS`], [`MAX_UIDS`], [`MAX_BANNERS`]).

use std::net::IpAddr;

use dissectors::software::SoftwareType;
use dissectors::{Record, Transport, Uid};
use hashbrown::HashMap;

use crate::config::Config;
use crate::detector::{Context, Detector, EvidenceSink};
use crate::evidence::{Evidence, EvidenceType, Ioc, ThreatLevel};
use crate::ports::PortsInfo;
use crate::slips::py_float;

pub const NAME: &str = "password_guessing";

const MAX_CAMPAIGNS: usize = 16_384;
const MAX_UIDS: usize = 256;
const MAX_BANNERS: usize = 16_384;
/// Attempts that give full confidence (Slips' `ssh_full_confidence_attempts`).
const FULL_CONFIDENCE_ATTEMPTS: u64 = 30;

const AUTOMATION_TOKENS: &[&str] = &[
    "libssh", "libssh2", "paramiko", "hydra", "medusa", "ncrack", "net::ssh", "net-ssh",
    "asyncssh", "jsch", "sshj",
];
const KNOWN_CLIENT_TOKENS: &[&str] = &["openssh", "putty", "dropbear", "winscp"];

struct Campaign {
    timewindow: i64,
    attempts: u64,
    uids: Vec<Uid>,
    reported_bucket: i64,
}

#[derive(Default)]
struct Confirmation {
    attempts: u64,
    reported: bool,
}

pub struct PasswordGuessing {
    threshold: u64,
    campaigns: HashMap<(IpAddr, IpAddr, u16), Campaign>,
    confirmations: HashMap<(IpAddr, i64), Confirmation>,
    /// SSH client banner of each source, from software.log.
    banners: HashMap<IpAddr, String>,
}

impl PasswordGuessing {
    pub fn new(config: &Config) -> Self {
        PasswordGuessing {
            threshold: config.brute_force_detector.ssh_attempt_threshold,
            campaigns: HashMap::new(),
            confirmations: HashMap::new(),
            banners: HashMap::new(),
        }
    }

    fn bucket(&self, attempts: u64) -> i64 {
        if attempts < self.threshold {
            return -1;
        }
        (attempts - self.threshold + 1).max(1).ilog2() as i64
    }

    fn confidence(&self, attempts: u64, confirmed: u64, banner: &str, from_software: bool) -> f64 {
        let effective = attempts.max(confirmed);
        let full = self.threshold.max(FULL_CONFIDENCE_ATTEMPTS);
        if effective >= full {
            return 1.0;
        }
        let ratio = (effective.saturating_sub(self.threshold) as f64
            / (full.saturating_sub(self.threshold)).max(1) as f64)
            .min(1.0);
        let c = 0.5 + 0.4 * ratio + banner_bonus(banner, from_software);
        (c.min(0.99) * 100.0).round() / 100.0
    }

    /// Drops the state of windows before `tw` when the tables are full.
    fn prune(&mut self, tw: i64) {
        if self.campaigns.len() >= MAX_CAMPAIGNS {
            self.campaigns.retain(|_, c| c.timewindow >= tw);
            if self.campaigns.len() >= MAX_CAMPAIGNS {
                self.campaigns.clear();
            }
        }
        if self.confirmations.len() >= MAX_CAMPAIGNS {
            self.confirmations.retain(|k, _| k.1 >= tw);
            if self.confirmations.len() >= MAX_CAMPAIGNS {
                self.confirmations.clear();
            }
        }
    }

    fn on_ssh(
        &mut self,
        ctx: &Context<'_>,
        s: &dissectors::ssh::SshRecord,
        out: &mut EvidenceSink,
    ) {
        let increment = match (s.auth_success, s.auth_attempts) {
            (Some(true), _) => return,
            (_, 0) => 1,
            (_, n) => n,
        };
        let tw = ctx.timewindow.number;
        self.prune(tw);
        let key = (s.id.orig_h, s.id.resp_h, s.id.resp_p);
        let campaign = self.campaigns.entry(key).or_insert(Campaign {
            timewindow: tw,
            attempts: 0,
            uids: Vec::new(),
            reported_bucket: -1,
        });
        if campaign.timewindow != tw {
            *campaign = Campaign {
                timewindow: tw,
                attempts: 0,
                uids: Vec::new(),
                reported_bucket: -1,
            };
        }
        campaign.attempts = campaign.attempts.saturating_add(increment);
        if campaign.uids.len() < MAX_UIDS {
            campaign.uids.push(s.uid);
        }
        let attempts = campaign.attempts;
        let bucket = self.bucket(attempts);
        let Some(campaign) = self.campaigns.get_mut(&key) else {
            return;
        };
        if bucket <= campaign.reported_bucket {
            return;
        }
        campaign.reported_bucket = bucket;
        let uids = campaign.uids.clone();

        let (banner, source) = match self.banners.get(&s.id.orig_h) {
            Some(b) => (b.as_str(), "software.log"),
            None => match s.client.as_deref().filter(|c| !c.is_empty()) {
                Some(c) => (c, "ssh.log"),
                None => ("", ""),
            },
        };
        let confirmation = self.confirmations.get(&(s.id.orig_h, tw));
        let confirmed = confirmation.map_or(0, |c| c.attempts);
        let confidence = self.confidence(attempts, confirmed, banner, source == "software.log");

        let (saddr, daddr, dport) = key;
        let port_label = match PortsInfo::shipped().service(dport, Transport::Tcp) {
            Some(name) => format!("{name} {dport}/tcp"),
            None => format!("{dport}/tcp"),
        };
        let mut description = format!(
            "SSH brute force detector from {saddr} to {daddr} on {port_label}. \
             Attempts observed: {attempts}."
        );
        if !banner.is_empty() {
            description.push_str(&format!(" Client banner: {banner} from {source}."));
        }
        if confirmation.is_some() {
            description.push_str(" Confirmed by Zeek notice.log.");
        }
        description.push_str(&format!(" Confidence: {}. by Slips", py_float(confidence)));

        let mut e = Evidence::new(
            EvidenceType::PasswordGuessing,
            Ioc::src_ip(saddr),
            ThreatLevel::Medium,
            confidence,
            description,
            saddr,
            tw,
            s.ts,
        );
        e.victim = Some(Ioc::dst_ip(daddr));
        e.uids = uids;
        e.proto = Some(Transport::Tcp);
        e.dst_port = Some(dport);
        out.push(e);
    }

    fn on_notice(
        &mut self,
        ctx: &Context<'_>,
        n: &dissectors::notice::NoticeRecord,
        out: &mut EvidenceSink,
    ) {
        if !n.note.contains("Password_Guessing") {
            return;
        }
        let Some(src) = n.src.or(n.id.map(|i| i.orig_h)) else {
            return;
        };
        let tw = ctx.timewindow.number;
        self.prune(tw);
        let msg = n.msg.as_deref().unwrap_or("");
        let c = self.confirmations.entry((src, tw)).or_default();
        c.attempts = c.attempts.max(seen_in_connections(msg));
        if c.reported {
            return;
        }
        c.reported = true;
        let mut e = Evidence::new(
            EvidenceType::PasswordGuessing,
            Ioc::src_ip(src),
            ThreatLevel::Medium,
            1.0,
            format!(
                "SSH brute force detector. {msg}. Confirmed by Zeek notice.log. \
                 Confidence: 1.0. by Zeek"
            ),
            src,
            tw,
            n.ts,
        );
        e.uids.extend(n.uid);
        out.push(e);
    }
}

fn banner_bonus(banner: &str, from_software: bool) -> f64 {
    if banner.is_empty() {
        return 0.0;
    }
    let mut bonus: f64 = if from_software { 0.03 } else { 0.0 };
    let b = banner.to_ascii_lowercase();
    if AUTOMATION_TOKENS.iter().any(|t| b.contains(t)) {
        bonus += 0.07;
    } else if KNOWN_CLIENT_TOKENS.iter().any(|t| b.contains(t)) {
        bonus += 0.02;
    }
    bonus.min(0.1)
}

/// The N of Zeek's "... (seen in N connections)" message; 0 without one.
fn seen_in_connections(msg: &str) -> u64 {
    let Some(pos) = msg.find("seen in ") else {
        return 0;
    };
    let rest = &msg[pos + "seen in ".len()..];
    let digits: &str = &rest[..rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len())];
    if !rest[digits.len()..].starts_with(" connections") {
        return 0;
    }
    digits.parse().unwrap_or(0)
}

impl Detector for PasswordGuessing {
    fn name(&self) -> &'static str {
        NAME
    }

    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink) {
        match record {
            Record::Ssh(s) => self.on_ssh(ctx, s, out),
            Record::Notice(n) => self.on_notice(ctx, n, out),
            Record::Software(s) if s.software_type == SoftwareType::SshClient => {
                let name = s.name.as_deref().unwrap_or("");
                let version = s.unparsed_version.as_deref().unwrap_or("");
                let banner = if version.is_empty() || version == name {
                    name.to_string()
                } else if name.is_empty() {
                    version.to_string()
                } else {
                    format!("{name} {version}")
                };
                if banner.is_empty() {
                    return;
                }
                if self.banners.len() >= MAX_BANNERS && !self.banners.contains_key(&s.host) {
                    return;
                }
                self.banners.insert(s.host, banner);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{notice, ssh, Harness};

    fn attempt(h: &mut Harness, d: &mut PasswordGuessing, ts: f64, attempts: u64) -> Vec<Evidence> {
        let mut s = ssh("10.0.0.5", "147.32.80.37", 902, None, attempts, ts);
        s.client = Some("SSH-2.0-libssh_0.9.6".into());
        h.feed(d, s)
    }

    #[test]
    fn reports_from_the_threshold_then_sparsely() {
        let mut h = Harness::new(Config::default());
        let mut d = PasswordGuessing::new(&h.config);
        let mut reported_at = Vec::new();
        for i in 1..=40u64 {
            let out = attempt(&mut h, &mut d, 100.0 + i as f64, 1);
            if !out.is_empty() {
                reported_at.push((i, out));
            }
        }
        // Buckets 0,1,2,3,4,5 reached at 9, 10, 12, 16, 24, 40 attempts.
        let at: Vec<u64> = reported_at.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [9, 10, 12, 16, 24, 40]);
        let first = &reported_at[0].1[0];
        assert_eq!(first.evidence_type, EvidenceType::PasswordGuessing);
        assert_eq!(first.threat_level, ThreatLevel::Medium);
        // 0.5 + 0 + automation banner from ssh.log 0.07.
        assert_eq!(first.confidence, 0.57);
        assert_eq!(
            first.description,
            "SSH brute force detector from 10.0.0.5 to 147.32.80.37 on 902/tcp. Attempts \
             observed: 9. Client banner: SSH-2.0-libssh_0.9.6 from ssh.log. Confidence: 0.57. \
             by Slips"
        );
        assert_eq!(first.uids.len(), 9);
        assert_eq!(first.dst_port, Some(902));
        let last = &reported_at[5].1[0];
        assert_eq!(last.confidence, 1.0);
        assert!(last.description.ends_with("Confidence: 1.0. by Slips"));
    }

    #[test]
    fn below_threshold_or_successful_sessions_do_not_fire() {
        let mut h = Harness::new(Config::default());
        let mut d = PasswordGuessing::new(&h.config);
        for i in 0..8 {
            assert!(attempt(&mut h, &mut d, 100.0 + f64::from(i), 1).is_empty());
        }
        for i in 0..20 {
            let s = ssh(
                "10.0.0.5",
                "147.32.80.37",
                902,
                Some(true),
                3,
                200.0 + f64::from(i),
            );
            assert!(h.feed(&mut d, s).is_empty());
        }
        // A different port is another campaign.
        let s = ssh("10.0.0.5", "147.32.80.37", 22, Some(false), 2, 300.0);
        assert!(h.feed(&mut d, s).is_empty());
        // The ninth attempt to the first port fires; auth_attempts counts as attempts.
        let out = attempt(&mut h, &mut d, 301.0, 1);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn campaigns_end_with_their_window() {
        let mut h = Harness::new(Config::default());
        let mut d = PasswordGuessing::new(&h.config);
        for i in 0..5 {
            assert!(attempt(&mut h, &mut d, 100.0 + f64::from(i), 1).is_empty());
        }
        for i in 0..5 {
            assert!(attempt(&mut h, &mut d, 3800.0 + f64::from(i), 1).is_empty());
        }
    }

    #[test]
    fn zeek_notice_and_software_banner() {
        let mut h = Harness::new(Config::default());
        let mut d = PasswordGuessing::new(&h.config);
        let msg = "10.0.0.5 appears to be guessing SSH passwords (seen in 30 connections)";
        let out = h.feed(
            &mut d,
            notice("10.0.0.5", "SSH::Password_Guessing", msg, 50.0),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].confidence, 1.0);
        assert_eq!(
            out[0].description,
            format!("SSH brute force detector. {msg}. Confirmed by Zeek notice.log. Confidence: 1.0. by Zeek")
        );
        assert!(h
            .feed(
                &mut d,
                notice("10.0.0.5", "SSH::Password_Guessing", msg, 51.0)
            )
            .is_empty());
        assert!(h
            .feed(&mut d, notice("10.0.0.5", "Scan::Port_Scan", "x", 52.0))
            .is_empty());
        // Zeek's count gives the campaign full confidence.
        let mut out = Vec::new();
        for i in 0..9 {
            out = attempt(&mut h, &mut d, 100.0 + f64::from(i), 1);
        }
        assert_eq!(out[0].confidence, 1.0);
        assert!(out[0].description.contains("Confirmed by Zeek notice.log."));
        assert_eq!(seen_in_connections(msg), 30);
        assert_eq!(seen_in_connections("nothing"), 0);
        assert_eq!(banner_bonus("OpenSSH 8.9", true), 0.05);
        assert_eq!(banner_bonus("", true), 0.0);
    }
}
