//! The whitelist loader: any text gives a whitelist (with a warning naming each skipped
//! line) or an error naming the file.
#![no_main]

use std::path::Path;

use detectors::whitelist::Whitelist;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz-whitelist.conf");
    match Whitelist::parse(&text, path, None) {
        Ok((_, warnings)) => {
            for w in warnings {
                assert!(
                    w.contains("fuzz-whitelist.conf"),
                    "warning does not name the file: {w}"
                );
            }
        }
        Err(e) => assert!(e.to_string().contains("fuzz-whitelist.conf"), "{e}"),
    }
});
