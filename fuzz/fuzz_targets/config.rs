//! The YAML configuration loader: any text gives a configuration or an error naming the
//! file; a loaded configuration answers every derived question.
#![no_main]

use std::path::Path;

use detectors::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.yaml");
    match Config::parse(text, path) {
        Ok(c) => {
            let _ = c.window_width_micros();
            let _ = c.window_width_secs();
            let _ = c.alert_threshold();
            let _ = c.home_networks();
            let _ = c.disabled_evidence_types();
        }
        Err(e) => assert!(
            e.to_string().contains("fuzz.yaml"),
            "error does not name the file: {e}"
        ),
    }
});
