//! Capture, decode, connection tracking, reassembly and the per-core pipeline.

pub mod capture;
pub mod decode;
pub mod flow;
pub mod merge;
pub mod pipeline;
pub mod readers;
