//! The size parser (`64K`, `1.5G`, `0x1f`): no panic, and what it accepts
//! it accepts again in the form fkit prints it (bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = fkit::fuzzing::size(text) {
        assert_eq!(fkit::fuzzing::size(&bytes.to_string()), Ok(bytes));
    }
});
