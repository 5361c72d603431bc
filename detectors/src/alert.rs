//! The evidence handler: drops disabled and whitelisted evidence, keeps the threat of
//! each profile's time windows, and applies Slips' alert rule
//! (`slips_files/core/evidence_handler_worker.py`):
//!
//! * every evidence whose attacker is the profile acting (direction SRC) and whose
//!   threat level is not info adds `threat_level * confidence` to its window's
//!   accumulated threat level;
//! * when the accumulated level reaches `evidence_detection_threshold *
//!   time_window_width / 60`, an alert is raised for the profile and window, carrying
//!   the window's evidence that was not part of an earlier alert (evidence about others,
//!   direction DST, never counts), and the accumulated level starts again from 0;
//! * an alert is critical; its confidence is the accumulated level normalised to 0..1
//!   (Slips' `normalize`: 4.8 is the most sensitive threshold, 26 the least).
//!
//! Sensors that share their state (the `sharing` crate) hand the decision to a
//! [`SharedAlertRule`]: the handler then keeps the window statistics, passes every kept
//! evidence on, and turns the rule's decisions into alerts when they come back.

use std::net::IpAddr;

use dissectors::{Timestamp, Uid};
use hashbrown::{HashMap, HashSet};

use crate::config::Config;
use crate::evidence::{Direction, EventId, Evidence, EvidenceType, IdGenerator, ThreatLevel};
use crate::profile::{Hosts, ThreatPoint};
use crate::timewindow::{TimeWindow, TimeWindows};
use crate::whitelist::Whitelist;

#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub id: EventId,
    pub profile: IpAddr,
    pub timewindow: TimeWindow,
    /// Time of the flow behind the evidence that crossed the threshold.
    pub last_evidence_ts: Timestamp,
    pub accumulated_threat_level: f64,
    pub threat_level: ThreatLevel,
    pub confidence: f64,
    /// The evidence behind the alert (Slips' `correl_id`).
    pub evidence_ids: Vec<EventId>,
    /// The flows behind that evidence: they are labelled malicious.
    pub uids: Vec<Uid>,
}

/// Slips' `normalize` of an accumulated threat level, clamped to 0..1.
pub fn alert_confidence(accumulated: f64) -> f64 {
    ((accumulated - 4.8) / (26.0 - 4.8)).clamp(0.0, 1.0)
}

/// Why an evidence was not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    Disabled,
    Whitelisted,
}

#[derive(Debug)]
pub enum Handled {
    Dropped(Dropped),
    /// Kept; `accumulated` is its window's accumulated threat level after it (before a
    /// reset by the alert it may have raised).
    Kept {
        accumulated: f64,
        alert: Option<Alert>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidenceCounts {
    /// Kept evidence per threat level (index: `ThreatLevel::index`).
    pub by_level: [u64; 5],
    pub whitelisted: u64,
    pub disabled: u64,
    pub alerts: u64,
}

impl EvidenceCounts {
    pub fn kept(&self) -> u64 {
        self.by_level.iter().sum()
    }
}

/// A kept evidence as a shared alert rule needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedEvidence {
    pub id: EventId,
    pub profile: IpAddr,
    pub timewindow: i64,
    pub timestamp: Timestamp,
    /// What it adds to its window's accumulated threat level (0 when it does not count).
    pub weighted_threat: f64,
    /// Whether an alert of its window carries it (its attacker is the profile).
    pub counts: bool,
    pub uids: Vec<Uid>,
}

/// An alert decided by a shared alert rule.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedDecision {
    pub profile: IpAddr,
    pub timewindow: i64,
    /// Time of the evidence that crossed the threshold.
    pub last_evidence_ts: Timestamp,
    pub accumulated_threat_level: f64,
    /// Every evidence behind the alert, whichever sensor saw it.
    pub evidence_ids: Vec<EventId>,
    pub uids: Vec<Uid>,
}

/// Slips' alert rule applied somewhere else than in this process (on a server that
/// several sensors share), so that evidence seen by different sensors accumulates in one
/// place and each alert is raised once. Decisions may come back later than the evidence
/// that caused them: the analysis collects them with `decided`.
pub trait SharedAlertRule: Send {
    /// The start of window 1 that every sharing sensor uses, given this sensor's first
    /// flow (the first sensor to ask fixes it).
    fn window_origin(&mut self, first: Timestamp) -> Timestamp;
    /// Takes one kept evidence; the threshold is the handler's.
    fn add(&mut self, evidence: SharedEvidence);
    /// Moves the decisions that came back since the last call into `out`.
    fn decided(&mut self, out: &mut Vec<SharedDecision>);
    /// The end of the run: settles the evidence still pending (or keeps it safe and says
    /// where) and moves the last decisions into `out`.
    fn finish(&mut self, out: &mut Vec<SharedDecision>) -> Result<(), crate::Error>;
}

struct Kept {
    id: EventId,
    counts: bool,
    in_alert: bool,
    uids: Vec<Uid>,
}

pub struct EvidenceHandler {
    threshold: f64,
    history_cap: usize,
    disabled: HashSet<EvidenceType>,
    ids: IdGenerator,
    windows: HashMap<(IpAddr, i64), Vec<Kept>>,
    /// Set: the alert rule runs there instead of here.
    shared: Option<Box<dyn SharedAlertRule>>,
    decisions: Vec<SharedDecision>,
    pub counts: EvidenceCounts,
}

impl EvidenceHandler {
    pub fn new(config: &Config, ids: IdGenerator) -> Self {
        EvidenceHandler {
            threshold: config.alert_threshold(),
            history_cap: config.profiles.max_threat_history,
            disabled: config.disabled_evidence_types().into_iter().collect(),
            ids,
            windows: HashMap::new(),
            shared: None,
            decisions: Vec::new(),
            counts: EvidenceCounts::default(),
        }
    }

    /// Hands the alert decision to `rule` from now on.
    pub fn share(&mut self, rule: Box<dyn SharedAlertRule>) {
        self.shared = Some(rule);
    }

    pub fn shared_rule(&mut self) -> Option<&mut (dyn SharedAlertRule + 'static)> {
        self.shared.as_deref_mut()
    }

    /// The accumulated threat level that raises an alert.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    pub fn next_id(&mut self) -> EventId {
        self.ids.next_id()
    }

    /// Takes one evidence: assigns its id, updates the profile's window, and raises an
    /// alert when the threshold is crossed.
    pub fn handle(
        &mut self,
        e: &mut Evidence,
        hosts: &mut Hosts,
        whitelist: &Whitelist,
        windows: &TimeWindows,
    ) -> Handled {
        if self.disabled.contains(&e.evidence_type) {
            self.counts.disabled += 1;
            return Handled::Dropped(Dropped::Disabled);
        }
        if whitelist.is_whitelisted_evidence(e, hosts) {
            self.counts.whitelisted += 1;
            return Handled::Dropped(Dropped::Whitelisted);
        }
        if e.id == EventId(0) {
            e.id = self.ids.next_id();
        }
        self.counts.by_level[e.threat_level.index()] += 1;

        let tw = windows.window(e.timewindow).unwrap_or(TimeWindow {
            number: e.timewindow,
            start: e.timestamp,
            end: e.timestamp,
        });
        let point = ThreatPoint {
            ts: e.timestamp,
            timewindow: e.timewindow,
            level: e.threat_level,
            confidence: e.confidence,
        };
        // Slips updates the threat level of the attacker's profile.
        let threat_owner = match (e.attacker.direction, e.attacker.value.ip()) {
            (Direction::Dst, Some(ip)) => ip,
            _ => e.profile,
        };
        hosts
            .profile_mut(threat_owner, e.timestamp)
            .note_threat(point, self.history_cap);

        let counts = e.attacker.direction == Direction::Src && e.threat_level != ThreatLevel::Info;
        let profile = hosts.profile_mut(e.profile, e.timestamp);
        let ws = profile.window_mut(&tw);
        ws.evidence += 1;
        if ws.max_threat < Some(e.threat_level) {
            ws.max_threat = Some(e.threat_level);
        }
        if counts {
            let w = e.weighted_threat();
            ws.accumulated_threat += w;
            ws.total_threat += w;
        }
        let accumulated = ws.accumulated_threat;

        if let Some(rule) = &mut self.shared {
            rule.add(SharedEvidence {
                id: e.id,
                profile: e.profile,
                timewindow: e.timewindow,
                timestamp: e.timestamp,
                weighted_threat: if counts { e.weighted_threat() } else { 0.0 },
                counts: e.attacker.direction == Direction::Src,
                uids: e.uids.clone(),
            });
            return Handled::Kept {
                accumulated,
                alert: None,
            };
        }

        let kept = self.windows.entry((e.profile, e.timewindow)).or_default();
        kept.push(Kept {
            id: e.id,
            counts: e.attacker.direction == Direction::Src,
            in_alert: false,
            uids: e.uids.clone(),
        });

        if accumulated < self.threshold {
            return Handled::Kept {
                accumulated,
                alert: None,
            };
        }
        let mut evidence_ids = Vec::new();
        let mut uids = Vec::new();
        for k in kept.iter_mut().filter(|k| k.counts && !k.in_alert) {
            k.in_alert = true;
            evidence_ids.push(k.id);
            uids.extend_from_slice(&k.uids);
        }
        if evidence_ids.is_empty() {
            return Handled::Kept {
                accumulated,
                alert: None,
            };
        }
        ws.accumulated_threat = 0.0;
        ws.alerts += 1;
        self.counts.alerts += 1;
        let alert = Alert {
            id: self.ids.next_id(),
            profile: e.profile,
            timewindow: tw,
            last_evidence_ts: e.timestamp,
            accumulated_threat_level: accumulated,
            threat_level: ThreatLevel::Critical,
            confidence: alert_confidence(accumulated),
            evidence_ids,
            uids,
        };
        Handled::Kept {
            accumulated,
            alert: Some(alert),
        }
    }

    /// Turns the shared rule's decisions that came back into alerts (`finishing`: the
    /// last ones, after the rule settled what was pending), updating the windows as a
    /// local alert does.
    pub fn shared_alerts(
        &mut self,
        hosts: &mut Hosts,
        windows: &TimeWindows,
        finishing: bool,
    ) -> Result<Vec<Alert>, crate::Error> {
        let Some(rule) = &mut self.shared else {
            return Ok(Vec::new());
        };
        let mut decisions = std::mem::take(&mut self.decisions);
        let result = if finishing {
            rule.finish(&mut decisions)
        } else {
            rule.decided(&mut decisions);
            Ok(())
        };
        let mut alerts = Vec::with_capacity(decisions.len());
        for d in decisions.drain(..) {
            let tw = windows.window(d.timewindow).unwrap_or(TimeWindow {
                number: d.timewindow,
                start: d.last_evidence_ts,
                end: d.last_evidence_ts,
            });
            let ws = hosts
                .profile_mut(d.profile, d.last_evidence_ts)
                .window_mut(&tw);
            ws.accumulated_threat = 0.0;
            ws.alerts += 1;
            self.counts.alerts += 1;
            alerts.push(Alert {
                id: self.ids.next_id(),
                profile: d.profile,
                timewindow: tw,
                last_evidence_ts: d.last_evidence_ts,
                accumulated_threat_level: d.accumulated_threat_level,
                threat_level: ThreatLevel::Critical,
                confidence: alert_confidence(d.accumulated_threat_level),
                evidence_ids: d.evidence_ids,
                uids: d.uids,
            });
        }
        self.decisions = decisions;
        result.map(|()| alerts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Ioc;
    use std::path::Path;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const S: i64 = 1_000_000;

    struct Fixture {
        handler: EvidenceHandler,
        hosts: Hosts,
        wl: Whitelist,
        tws: TimeWindows,
    }

    impl Fixture {
        fn new(config: &Config) -> Self {
            let mut tws = TimeWindows::new(config.window_width_micros());
            tws.window_of(Timestamp(0));
            Fixture {
                handler: EvidenceHandler::new(config, IdGenerator::new(1)),
                hosts: Hosts::for_tests(),
                wl: Whitelist::empty(),
                tws,
            }
        }

        fn evidence(&mut self, level: ThreatLevel, conf: f64, dir: Direction, ts: i64) -> Handled {
            let a = ip("10.0.0.9");
            let mut e = Evidence::new(
                EvidenceType::LongConnection,
                Ioc {
                    value: crate::evidence::IocValue::Ip(a),
                    direction: dir,
                },
                level,
                conf,
                "x".into(),
                a,
                self.tws.window_of(Timestamp(ts)).number,
                Timestamp(ts),
            );
            e.victim = Some(Ioc::dst_ip(ip("1.1.1.1")));
            e.uids.push(Uid::connection(ts as u128));
            self.handler
                .handle(&mut e, &mut self.hosts, &self.wl, &self.tws)
        }
    }

    fn alert_of(h: Handled) -> Option<Alert> {
        match h {
            Handled::Kept { alert, .. } => alert,
            Handled::Dropped(_) => None,
        }
    }

    #[test]
    fn alert_when_the_accumulated_threat_reaches_the_threshold() {
        // Threshold 15: 18 critical evidence at confidence 0.8 = 0.8 each -> 14.4, the
        // 19th reaches 15.2.
        let config = Config::default();
        let mut f = Fixture::new(&config);
        assert_eq!(f.handler.threshold(), 15.0);
        for i in 0..18 {
            assert!(
                alert_of(f.evidence(ThreatLevel::Critical, 0.8, Direction::Src, i * S)).is_none()
            );
        }
        let alert = alert_of(f.evidence(ThreatLevel::Critical, 0.8, Direction::Src, 18 * S))
            .expect("the 19th evidence crosses 15");
        assert_eq!(alert.evidence_ids.len(), 19);
        assert_eq!(alert.uids.len(), 19);
        assert!((alert.accumulated_threat_level - 15.2).abs() < 1e-9);
        assert_eq!(alert.threat_level, ThreatLevel::Critical);
        assert!((alert.confidence - (15.2 - 4.8) / 21.2).abs() < 1e-9);
        assert_eq!(alert.timewindow.number, 1);
        assert_eq!(alert.last_evidence_ts, Timestamp(18 * S));
        // The level starts again from 0: one more evidence raises nothing...
        assert!(alert_of(f.evidence(ThreatLevel::Critical, 0.8, Direction::Src, 19 * S)).is_none());
        let p = f.hosts.profile(ip("10.0.0.9")).unwrap();
        let w = p.window(1).unwrap();
        assert!((w.accumulated_threat - 0.8).abs() < 1e-9);
        assert_eq!((w.alerts, w.evidence), (1, 20));
        // ...until 19 more: the second alert carries only the new evidence.
        let mut second = None;
        for i in 20..40 {
            if let Some(a) = alert_of(f.evidence(ThreatLevel::Critical, 0.8, Direction::Src, i * S))
            {
                second = Some(a);
                break;
            }
        }
        let second = second.expect("a second alert");
        assert_eq!(second.evidence_ids.len(), 19);
        assert!(second
            .evidence_ids
            .iter()
            .all(|id| !alert.evidence_ids.contains(id)));
        assert_eq!(f.handler.counts.alerts, 2);
    }

    #[test]
    fn info_and_evidence_about_others_never_count() {
        let config = Config::default();
        let mut f = Fixture::new(&config);
        for i in 0..100 {
            assert!(alert_of(f.evidence(ThreatLevel::Info, 1.0, Direction::Src, i)).is_none());
            assert!(alert_of(f.evidence(ThreatLevel::Critical, 1.0, Direction::Dst, i)).is_none());
        }
        assert_eq!(f.handler.counts.by_level[ThreatLevel::Info.index()], 100);
        // The DST evidence set the attacker's (here the same IP) threat level.
        assert_eq!(
            f.hosts.profile(ip("10.0.0.9")).unwrap().max_threat_level,
            Some(ThreatLevel::Critical)
        );
        let w = f.hosts.profile(ip("10.0.0.9")).unwrap().window(1).unwrap();
        assert_eq!(w.accumulated_threat, 0.0);
    }

    #[test]
    fn windows_accumulate_separately() {
        let mut config = Config::default();
        config.parameters.time_window_width = crate::config::TimeWindowWidth::Seconds(60.0);
        config.detection.evidence_detection_threshold = 1.0;
        // Threshold 1 * 60 / 60 = 1.
        let mut f = Fixture::new(&config);
        assert!(alert_of(f.evidence(ThreatLevel::High, 1.0, Direction::Src, 59 * S)).is_none());
        // Next window: 0.8 again, still under 1.
        assert!(alert_of(f.evidence(ThreatLevel::High, 1.0, Direction::Src, 60 * S)).is_none());
        let a = alert_of(f.evidence(ThreatLevel::High, 1.0, Direction::Src, 61 * S)).unwrap();
        assert_eq!(a.timewindow.number, 2);
        assert_eq!(a.timewindow.start, Timestamp(60 * S));
        assert_eq!(a.evidence_ids.len(), 2);
    }

    /// A shared rule that decides locally, as a server would, and answers late.
    #[derive(Default)]
    struct LateRule {
        got: std::sync::Arc<std::sync::Mutex<Vec<SharedEvidence>>>,
        sum: f64,
        pending: Vec<EventId>,
        ready: Vec<SharedDecision>,
    }

    impl SharedAlertRule for LateRule {
        fn window_origin(&mut self, first: Timestamp) -> Timestamp {
            first
        }
        fn add(&mut self, e: SharedEvidence) {
            self.got.lock().unwrap().push(e.clone());
            self.sum += e.weighted_threat;
            if e.counts {
                self.pending.push(e.id);
            }
            if self.sum >= 1.0 {
                self.ready.push(SharedDecision {
                    profile: e.profile,
                    timewindow: e.timewindow,
                    last_evidence_ts: e.timestamp,
                    accumulated_threat_level: self.sum,
                    evidence_ids: std::mem::take(&mut self.pending),
                    uids: vec![Uid::connection(7)],
                });
                self.sum = 0.0;
            }
        }
        fn decided(&mut self, _out: &mut Vec<SharedDecision>) {}
        fn finish(&mut self, out: &mut Vec<SharedDecision>) -> Result<(), crate::Error> {
            out.append(&mut self.ready);
            Ok(())
        }
    }

    #[test]
    fn a_shared_rule_decides_and_its_late_decisions_become_alerts() {
        let mut config = Config::default();
        config.detection.evidence_detection_threshold = 0.01;
        let mut f = Fixture::new(&config);
        let rule = LateRule::default();
        let got = rule.got.clone();
        f.handler.share(Box::new(rule));
        // Locally these would alert at once (threshold 0.6); shared, nothing is decided
        // here.
        for i in 0..3 {
            assert!(alert_of(f.evidence(ThreatLevel::High, 0.5, Direction::Src, i * S)).is_none());
        }
        assert!(alert_of(f.evidence(ThreatLevel::Critical, 1.0, Direction::Dst, 3 * S)).is_none());
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len(), 4);
        assert!((got[0].weighted_threat - 0.4).abs() < 1e-9);
        assert!(got[0].counts && !got[3].counts);
        assert_eq!(got[3].weighted_threat, 0.0);
        assert_eq!(got[1].uids, vec![Uid::connection(S as u128)]);
        let none = f
            .handler
            .shared_alerts(&mut f.hosts, &f.tws, false)
            .unwrap();
        assert!(none.is_empty());
        let alerts = f.handler.shared_alerts(&mut f.hosts, &f.tws, true).unwrap();
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.evidence_ids, vec![got[0].id, got[1].id, got[2].id]);
        assert_eq!(a.timewindow.number, 1);
        assert_eq!(a.last_evidence_ts, Timestamp(2 * S));
        assert!((a.accumulated_threat_level - 1.2).abs() < 1e-9);
        assert_eq!(a.uids, vec![Uid::connection(7)]);
        let w = f.hosts.profile(ip("10.0.0.9")).unwrap().window(1).unwrap();
        assert_eq!((w.alerts, w.evidence), (1, 4));
        assert_eq!(w.accumulated_threat, 0.0);
        assert_eq!(f.handler.counts.alerts, 1);
    }

    #[test]
    fn disabled_and_whitelisted_evidence_are_dropped() {
        let mut config = Config::default();
        config.disabled_alerts.disabled_detections = vec!["LONG_CONNECTION".into()];
        let mut f = Fixture::new(&config);
        assert!(matches!(
            f.evidence(ThreatLevel::High, 1.0, Direction::Src, 0),
            Handled::Dropped(Dropped::Disabled)
        ));
        let mut f = Fixture::new(&Config::default());
        f.wl = Whitelist::parse("ip,1.1.1.1,dst,alerts\n", Path::new("w"), None)
            .unwrap()
            .0;
        assert!(matches!(
            f.evidence(ThreatLevel::High, 1.0, Direction::Src, 0),
            Handled::Dropped(Dropped::Whitelisted)
        ));
        assert_eq!(f.handler.counts.whitelisted, 1);
        assert_eq!(f.handler.counts.kept(), 0);
    }
}
