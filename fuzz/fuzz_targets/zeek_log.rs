//! The Zeek log reader (TSV with its header, or JSON lines): every line gives a record or
//! an error naming the line, and the records render again as Zeek logs.
#![no_main]

use engine::readers::{open_stream, StreamFormat};
use libfuzzer_sys::fuzz_target;
use slipstream_fuzz::check_source;

fuzz_target!(|data: &[u8]| {
    let _ = engine::readers::detect_bytes(data);
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    check_source(open_stream(input, StreamFormat::Zeek, "fuzz"), data);
});
