//! Pure parsing: bytes in, Zeek-equivalent records out. No I/O, no threads; every
//! parser is total (any input gives a record or an error, never a panic).

pub mod analyzer;
pub mod arp;
mod buffer;
pub mod conn;
pub mod dhcp;
pub mod dns;
pub mod dpd;
pub mod files;
pub mod hex;
pub mod http;
pub mod login;
pub mod login_analyzer;
pub mod net;
pub mod notice;
pub mod output;
pub mod record;
pub mod smtp;
pub mod software;
pub mod ssh;
pub mod ssl;
pub mod teredo;
pub mod time;
pub mod tunnel;
pub mod uid;
pub mod weird;
pub mod x509;
pub mod zeek;

pub use analyzer::{Context, Dissector, Verdict};
pub use conn::{ConnId, ConnRecord, ConnState, GroundTruth, Transport};
pub use record::Record;
pub use time::{Interval, Timestamp};
pub use uid::Uid;
