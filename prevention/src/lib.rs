//! Prevention: the address of a profile that raises an alert is blocked in the Linux
//! firewall, as Slips' blocking module does (`-p`), and unblocked some time windows
//! later.
//!
//! * [`firewall`]: the nftables and iptables backends (the rules they write, and which
//!   one this machine has);
//! * [`guard`]: the addresses never blocked (whitelist, this sensor's own addresses,
//!   its gateways and DNS servers);
//! * [`privsep`]: the small privileged part that alone touches the firewall, a child
//!   process spoken to over a pipe, and the dropping of privileges by the rest;
//! * [`blocker`]: the [`detectors::Subscriber`] that turns alerts into blocking
//!   decisions, logged to `blocking.log`.

pub mod blocker;
pub mod firewall;
pub mod guard;
pub mod privsep;

pub use blocker::Blocker;
pub use firewall::{Firewall, FirewallError};
