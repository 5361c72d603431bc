//! The nfdump readers: the binary nffile format (any bytes give records, errors with byte
//! offsets, or a refusal) and nfdump's CSV output; the records render as Zeek logs.
#![no_main]

use std::sync::Arc;

use engine::readers::lines::Lines;
use engine::readers::nfdump::{NfdumpCsvReader, NfdumpReader};
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::check_source;

fuzz_target!(|data: &[u8]| {
    let source: Arc<str> = Arc::from("fuzz");
    if let Ok(reader) = NfdumpReader::new(source.clone(), data.to_vec()) {
        let mut records = Vec::new();
        for item in reader {
            match item {
                Ok(r) => records.push(r),
                Err(e) => assert_eq!(&*e.source, "fuzz", "error does not name its source"),
            }
        }
        slipstream_fuzz::check_rendering(records);
    }
    let lines = Lines::new(Box::new(std::io::Cursor::new(data.to_vec())));
    check_source(NfdumpCsvReader::new(source, lines, None), data);
});
