//! State shared by the port-scan detections (not a detection itself): for each profile,
//! time window, transport and group (a destination port for horizontal scans, a
//! destination host for vertical ones) the distinct members reached (hosts, or ports),
//! the packets sent and the flows behind them, and Slips' rule for when a group is
//! worth a new evidence.
//!
//! Slips keeps these counters in Redis per `profile_timewindow`
//! (`slips_files/core/database/redis_db/scan_detections_db.py`); here they live in one
//! map keyed by the window too, and everything older than the previous window is dropped
//! when a new window starts, so memory follows the traffic of the last two windows. Each
//! profile may add at most [`MAX_MEMBERS_PER_PROFILE`] members per window and the map at
//! most [`MAX_GROUPS`] groups; what does not fit is counted in `refused`, never stored.

use std::hash::Hash;
use std::net::IpAddr;

use dissectors::{Timestamp, Transport, Uid};
use hashbrown::{HashMap, HashSet};

/// Flows named in one evidence (Slips lists every flow of the scan; a scan of a /16
/// would make that list as long as the scan).
pub const MAX_EVIDENCE_UIDS: usize = 100;
/// Distinct members one profile may accumulate per window, over all its groups.
pub const MAX_MEMBERS_PER_PROFILE: usize = 65_536;
/// Groups tracked at once, over all profiles and the two windows kept.
pub const MAX_GROUPS: usize = 262_144;

/// Slips' `utils.calculate_confidence`: one tenth per packet sent, 1 above 10 packets,
/// 0.3 when no packet count is known.
pub fn confidence_from_packets(packets: u64) -> f64 {
    match packets {
        0 => 0.3,
        1..=10 => packets as f64 / 10.0,
        _ => 1.0,
    }
}

/// `int(log10(n))`, 0 for 0: Slips' logarithmic bucket of a count.
pub fn log10_bucket(n: u64) -> u32 {
    n.checked_ilog10().unwrap_or(0)
}

/// What one group of one profile reached in one window.
#[derive(Debug)]
pub struct Group<M> {
    pub members: HashSet<M>,
    /// Packets the profile sent in the group's flows.
    pub packets: u64,
    /// Start of the group's first flow.
    pub first_ts: Timestamp,
    /// The first flows of the group, up to [`MAX_EVIDENCE_UIDS`].
    pub uids: Vec<Uid>,
    /// Log10 bucket of the member count at the last evidence.
    reported_bucket: Option<u32>,
}

type GroupKey<K> = (IpAddr, i64, Transport, K);

/// Groups of members per (profile, window, transport, key).
#[derive(Debug)]
pub struct ScanGroups<K, M> {
    min_members: usize,
    groups: HashMap<GroupKey<K>, Group<M>>,
    members_per_profile: HashMap<(IpAddr, i64), usize>,
    latest_window: i64,
    /// Members or groups not stored because a cap was reached.
    pub refused: u64,
}

impl<K: Copy + Eq + Hash, M: Copy + Eq + Hash> ScanGroups<K, M> {
    /// Groups reported once they reach `min_members` distinct members.
    pub fn new(min_members: usize) -> Self {
        ScanGroups {
            min_members: min_members.max(1),
            groups: HashMap::new(),
            members_per_profile: HashMap::new(),
            latest_window: i64::MIN,
            refused: 0,
        }
    }

    /// Adds one flow of `profile` in window `window` to group `key`, reaching `member`.
    /// Returns the group when it deserves an evidence: Slips' rule, at least
    /// `min_members` distinct members and a log10 bucket of their count above the one
    /// of the last evidence of this group in this window (so 5, 10, 100, 1000 ...
    /// members with the default minimum of 5).
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        profile: IpAddr,
        window: i64,
        proto: Transport,
        key: K,
        member: M,
        packets: u64,
        ts: Timestamp,
        uid: Uid,
    ) -> Option<&Group<M>> {
        self.forget_old_windows(window);
        let gkey = (profile, window, proto, key);
        if !self.groups.contains_key(&gkey) && self.groups.len() >= MAX_GROUPS {
            self.refused += 1;
            return None;
        }
        let group = self.groups.entry(gkey).or_insert_with(|| Group {
            members: HashSet::new(),
            packets: 0,
            first_ts: ts,
            uids: Vec::new(),
            reported_bucket: None,
        });
        group.packets = group.packets.saturating_add(packets);
        if ts < group.first_ts {
            group.first_ts = ts;
        }
        if group.uids.len() < MAX_EVIDENCE_UIDS && !group.uids.contains(&uid) {
            group.uids.push(uid);
        }
        if group.members.contains(&member) {
            return None;
        }
        let used = self
            .members_per_profile
            .entry((profile, window))
            .or_insert(0);
        if *used >= MAX_MEMBERS_PER_PROFILE {
            self.refused += 1;
            return None;
        }
        *used += 1;
        group.members.insert(member);
        let count = group.members.len();
        let bucket = log10_bucket(count as u64);
        if count < self.min_members || group.reported_bucket.is_some_and(|b| bucket <= b) {
            return None;
        }
        group.reported_bucket = Some(bucket);
        Some(group)
    }

    /// Keeps the groups of the newest window and the one before it (late flows of a
    /// window still count in it).
    fn forget_old_windows(&mut self, window: i64) {
        if window <= self.latest_window {
            return;
        }
        self.latest_window = window;
        let keep_from = window.saturating_sub(1);
        self.groups.retain(|k, _| k.1 >= keep_from);
        self.members_per_profile.retain(|k, _| k.1 >= keep_from);
    }

    /// Groups held now.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn confidence_is_slips() {
        assert_eq!(confidence_from_packets(0), 0.3);
        assert_eq!(confidence_from_packets(1), 0.1);
        assert_eq!(confidence_from_packets(7), 0.7);
        assert_eq!(confidence_from_packets(10), 1.0);
        assert_eq!(confidence_from_packets(11), 1.0);
        assert_eq!(log10_bucket(0), 0);
        assert_eq!(log10_bucket(9), 0);
        assert_eq!(log10_bucket(10), 1);
        assert_eq!(log10_bucket(999), 2);
        assert_eq!(log10_bucket(1000), 3);
    }

    fn feed(
        g: &mut ScanGroups<u16, u16>,
        window: i64,
        members: std::ops::Range<u16>,
    ) -> Vec<usize> {
        let mut reported = Vec::new();
        for m in members {
            let uid = Uid::connection(u128::from(m));
            if let Some(gr) = g.observe(
                ip("10.0.0.1"),
                window,
                Transport::Tcp,
                1,
                m,
                1,
                Timestamp(0),
                uid,
            ) {
                reported.push(gr.members.len());
            }
        }
        reported
    }

    #[test]
    fn reports_at_the_minimum_then_each_log10_bucket() {
        let mut g = ScanGroups::new(5);
        assert_eq!(feed(&mut g, 1, 0..1200), vec![5, 10, 100, 1000]);
        // Repeated members add packets, never a new evidence.
        assert!(feed(&mut g, 1, 0..1200).is_empty());
        // The next window starts over.
        assert_eq!(feed(&mut g, 2, 0..12), vec![5, 10]);
    }

    #[test]
    fn old_windows_are_forgotten_and_caps_hold() {
        let mut g = ScanGroups::new(5);
        feed(&mut g, 1, 0..3);
        feed(&mut g, 2, 0..3);
        assert_eq!(g.len(), 2);
        feed(&mut g, 3, 0..3);
        assert_eq!(g.len(), 2, "window 1 dropped when window 3 started");
        let mut g: ScanGroups<u16, u32> = ScanGroups::new(5);
        for m in 0..(MAX_MEMBERS_PER_PROFILE as u32 + 10) {
            g.observe(
                ip("10.0.0.1"),
                1,
                Transport::Udp,
                7,
                m,
                1,
                Timestamp(0),
                Uid::connection(1),
            );
        }
        assert_eq!(g.refused, 10);
        let group = g.groups.values().next().unwrap();
        assert_eq!(group.members.len(), MAX_MEMBERS_PER_PROFILE);
        assert_eq!(group.uids.len(), 1);
        assert_eq!(group.packets, MAX_MEMBERS_PER_PROFILE as u64 + 10);
    }
}
