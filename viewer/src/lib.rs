//! The viewers of an output folder: a web interface (`slipstream view`) and a terminal
//! UI (`slipstream tui`). Both render what `detectors::query` returns.

pub mod tui;
pub mod web;
