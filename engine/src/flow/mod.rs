//! Connection tracking: one entry per flow, Zeek's connection semantics, timers.

mod history;
mod key;
mod reassembly;
mod table;
mod tcp;
mod timers;

pub use dissectors::net::LocalNets;
pub use history::History;
pub use key::{shard_of, shard_of_endpoints, FlowKey};
pub use reassembly::{Chunk, Reassembler};
pub use table::{ConnTable, Emitted, TableStats, TrackerConfig, TunnelRole, DISSECTOR_FAILURES};
pub use tcp::{EndpointState, TcpState};
