//! The detections, one per file, and the registry that builds the enabled ones.
//!
//! To add a detection: write `detections/<name>.rs` with a type implementing
//! [`Detector`](crate::detector::Detector), and add one line to `REGISTRY`.

use crate::config::Config;
use crate::detector::Detector;

pub mod long_connection;

type Constructor = fn(&Config) -> Box<dyn Detector>;

/// Every detection: its name (as in `modules.disable`) and how to build it.
const REGISTRY: &[(&str, Constructor)] = &[(long_connection::NAME, |c| {
    Box::new(long_connection::LongConnection::new(c))
})];

/// Names of all detections.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|(n, _)| *n).collect()
}

/// The detections the configuration leaves enabled, in registry order.
pub fn enabled(config: &Config) -> Vec<Box<dyn Detector>> {
    REGISTRY
        .iter()
        .filter(|(name, _)| !config.modules.disable.iter().any(|d| d == name))
        .map(|(_, make)| make(config))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_match_detectors_and_disable_works() {
        let c = Config::default();
        let all = enabled(&c);
        assert_eq!(all.iter().map(|d| d.name()).collect::<Vec<_>>(), names());
        let mut c = Config::default();
        c.modules.disable.push("long_connection".into());
        assert!(enabled(&c).iter().all(|d| d.name() != "long_connection"));
    }
}
