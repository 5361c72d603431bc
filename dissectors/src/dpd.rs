//! Dynamic protocol detection: which dissectors to attach to a new connection. Every
//! candidate whose transport fits is attached; each recognises its protocol by content
//! (not only by port) and reports a violation to drop out when the bytes are not its own.

use crate::analyzer::Dissector;
use crate::conn::ConnId;

/// A constructor that returns a dissector when its protocol may run over `id`.
pub type Candidate = fn(&ConnId) -> Option<Box<dyn Dissector>>;

/// Every protocol the project dissects.
pub const CANDIDATES: &[Candidate] = &[
    crate::dns::candidate,
    crate::dhcp::candidate,
    crate::ssh::candidate,
    crate::http::candidate,
    crate::ssl::candidate,
    crate::teredo::candidate,
    crate::login_analyzer::candidate,
];

/// Dissectors to attach to a new connection.
pub fn dissectors_for(id: &ConnId) -> Vec<Box<dyn Dissector>> {
    CANDIDATES.iter().filter_map(|make| make(id)).collect()
}
