//! The JSON path parser (JSON Pointer and dotted paths): no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = fkit::fuzzing::json_path(text);
    }
});
