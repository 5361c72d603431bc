//! Publishes what the analysis finds: profiles and time windows as keys, evidence and
//! alerts on durable streams (read them with consumer groups) and, for live
//! subscribers, on Slips' pub/sub channels.

use std::net::IpAddr;
use std::time::Duration;

use detectors::alert::Alert;
use detectors::output::{alert_json, evidence_json};
use detectors::profile::Hosts;
use detectors::timewindow::TimeWindow;
use detectors::{Evidence, Subscriber};
use dissectors::zeek::LogFormat;
use dissectors::Record;
use hashbrown::HashSet;

use crate::keys;
use crate::link::{Handler, Link, Report};
use crate::ops::{uid_token, Op};

/// A record on its way to the line's thread, which formats it.
pub struct RecordItem {
    record: Record,
    profile: IpAddr,
    window: TimeWindow,
}

pub(crate) struct RecordFormatter {
    pub publish: bool,
    line: Vec<u8>,
}

impl RecordFormatter {
    pub fn new(publish: bool) -> Self {
        RecordFormatter {
            publish,
            line: Vec::with_capacity(1024),
        }
    }
}

impl Handler for RecordFormatter {
    type Item = RecordItem;

    fn ops(&mut self, item: RecordItem, out: &mut Vec<Op>) {
        let RecordItem {
            record,
            profile,
            window,
        } = item;
        let flow = match &record {
            Record::Conn(c) => uid_token(&c.uid),
            _ => String::new(),
        };
        let mut channel = String::new();
        let mut message = String::new();
        if self.publish {
            self.line.clear();
            if let Some(log) = record.write_line(&mut self.line, LogFormat::Json) {
                if let Some(ch) = keys::record_channel(log) {
                    while self.line.last() == Some(&b'\n') {
                        self.line.pop();
                    }
                    channel = ch.to_string();
                    message = format!(
                        r#"{{"profileid":"{}","twid":"{}","flow":{}}}"#,
                        keys::profile_id(profile),
                        keys::window_id(window.number),
                        String::from_utf8_lossy(&self.line)
                    );
                }
            }
        }
        out.push(Op::Record {
            profile,
            timewindow: window.number,
            start: window.start.0,
            end: window.end.0,
            flow,
            channel,
            message,
        });
    }

    fn reply(&mut self, _op: &Op, _reply: redis::Value) -> Result<(), String> {
        Ok(())
    }
}

/// A [`Subscriber`] that writes to Redis through its own thread: the analysis thread
/// only queues.
pub struct Publisher {
    link: Link<RecordItem>,
    profiles: HashSet<IpAddr>,
    finish_wait: Duration,
    json: String,
    report: Option<Report>,
}

impl Publisher {
    pub(crate) fn new(link: Link<RecordItem>, finish_wait: Duration) -> Self {
        Publisher {
            link,
            profiles: HashSet::new(),
            finish_wait,
            json: String::new(),
            report: None,
        }
    }

    /// How the line ended (after `finish`).
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }
}

impl Subscriber for Publisher {
    fn record(&mut self, record: &Record, profile: IpAddr, window: &TimeWindow) {
        if self.profiles.insert(profile) {
            self.link.send(Op::Profile {
                profile,
                first_seen: record.ts().0,
            });
        }
        self.link.offer_item(RecordItem {
            record: record.clone(),
            profile,
            window: *window,
        });
    }

    fn evidence(&mut self, e: &Evidence, accumulated: f64, hosts: &Hosts) {
        self.json.clear();
        evidence_json(&mut self.json, e, accumulated, hosts);
        self.link.send(Op::Feed {
            alert: false,
            id: e.id.to_string(),
            profile: e.profile,
            timewindow: e.timewindow,
            json: self.json.clone(),
        });
    }

    fn alert(&mut self, a: &Alert, _hosts: &Hosts) {
        self.json.clear();
        alert_json(&mut self.json, a);
        self.link.send(Op::Feed {
            alert: true,
            id: a.id.to_string(),
            profile: a.profile,
            timewindow: a.timewindow.number,
            json: self.json.clone(),
        });
    }

    fn finish(&mut self, _hosts: &Hosts) -> Result<(), detectors::Error> {
        let report = self.link.finish(self.finish_wait);
        crate::report_note(&report, "publishing");
        let r = crate::report_error(&report, "publishing");
        self.report = Some(report);
        r
    }
}
