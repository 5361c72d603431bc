//! The contract of a detection: one type per file under `detections/`, seeing every
//! record analysed for a profile with that profile's context, and emitting
//! [`Evidence`].

use std::net::IpAddr;

use dissectors::Record;

use crate::config::Config;
use crate::evidence::Evidence;
use crate::profile::{Host, Hosts, ProfileState};
use crate::timewindow::TimeWindow;

/// What a detection sees with each record.
pub struct Context<'a> {
    pub config: &'a Config,
    /// The profile the record is analysed for: the source of the traffic (Slips'
    /// `profileid`).
    pub profile_ip: IpAddr,
    pub profile: &'a Host,
    /// The time window of the record in that profile (Slips' `twid`).
    pub timewindow: TimeWindow,
    /// Everything known about every other address (passive DNS, certificates, ASNs).
    pub hosts: &'a Hosts,
}

impl Context<'_> {
    pub fn profile_state(&self) -> Option<&ProfileState> {
        self.profile.profile.as_deref()
    }
}

/// What a detection sees when the run ends.
pub struct FinishContext<'a> {
    pub config: &'a Config,
    pub hosts: &'a Hosts,
    /// The window of the last record (detections that wait for a later record report
    /// what is still pending in it).
    pub last_window: Option<TimeWindow>,
}

/// Where detections put what they found. Evidence ids and the alert rule are the
/// evidence handler's job.
pub type EvidenceSink = Vec<Evidence>;

/// Evidence a detection reports from [`Detector::finish`] before it is handled (see there).
pub const FINISH_BATCH: usize = 1024;

pub trait Detector: Send {
    /// Snake-case name, as listed in `modules.disable` (`long_connection`).
    fn name(&self) -> &'static str;

    /// Looks at one record analysed for `ctx.profile_ip`. Called for every record, in
    /// the order the engine produced them (Zeek's log order); must not allocate unless
    /// it reports something or keeps state it needs.
    fn process(&mut self, ctx: &Context<'_>, record: &Record, out: &mut EvidenceSink);

    /// The run is over: report what was waiting for more traffic. A detection that may
    /// have a great deal waiting stops once `out` holds [`FINISH_BATCH`] evidence and
    /// returns `true`: it is called again after that evidence has been handled, so that the
    /// end of a long capture never holds all of it at once. `false`: nothing is left.
    fn finish(&mut self, _ctx: &FinishContext<'_>, _out: &mut EvidenceSink) -> bool {
        false
    }
}
