//! Parts outside the analysis that act on what it finds (blocking, publishing to Redis,
//! a live viewer) subscribe here instead of being wired into `Analysis` one by one.

use std::net::IpAddr;

use dissectors::Record;

use crate::alert::Alert;
use crate::error::Error;
use crate::evidence::Evidence;
use crate::profile::Hosts;
use crate::timewindow::TimeWindow;

/// Told of every flow, evidence and alert as the analysis produces them, on the
/// analysis thread: an implementation that does slow work (a firewall command, a network
/// round trip) hands it to a thread of its own.
pub trait Subscriber: Send {
    /// A record of a profile (after the whitelist), `profile` being its source.
    fn record(&mut self, _record: &Record, _profile: IpAddr, _window: &TimeWindow) {}
    /// An evidence that was kept; `accumulated` is its window's threat after it.
    fn evidence(&mut self, _evidence: &Evidence, _accumulated: f64, _hosts: &Hosts) {}
    fn alert(&mut self, _alert: &Alert, _hosts: &Hosts) {}
    /// The end of the run: flush what is buffered.
    fn finish(&mut self, _hosts: &Hosts) -> Result<(), Error> {
        Ok(())
    }
}
