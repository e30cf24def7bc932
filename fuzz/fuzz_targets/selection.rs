//! The column selection language (`name,3-5,!id`), resolved against a
//! header: no panic, and every index it yields exists.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The selection, then the header it is resolved against.
    let (selection, header) = text.split_once('\n').unwrap_or((text, "id,name,first-name,a,b,a"));
    let header: Vec<&[u8]> = header.split(',').map(str::as_bytes).collect();
    if let Ok(columns) = fkit::fuzzing::csv_selection(selection, &header) {
        assert!(columns.iter().all(|&c| c < header.len()), "{columns:?}");
    }
});
