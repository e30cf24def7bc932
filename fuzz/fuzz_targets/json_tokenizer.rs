//! fkit's streaming JSON tokenizer against serde_json (parsing to a
//! `Value`, which checks UTF-8 and escapes; with arbitrary precision, so
//! huge numbers pass as in fkit): the same verdict on every input, but
//! inputs nested deeper than serde_json's limit of 128.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Deeper than serde_json's recursion limit.
fn too_deep(data: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut max = 0usize;
    for &b in data {
        match b {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        max = max.max(depth);
    }
    max > 120
}

fuzz_target!(|data: &[u8]| {
    let ours = fkit::fuzzing::json_verdict(data);
    if too_deep(data) {
        return;
    }
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    match (&ours, &theirs) {
        (Ok(()), Err(e)) => panic!("fkit accepts what serde_json refuses: {e}"),
        (Err(e), Ok(_)) => panic!("fkit refuses what serde_json accepts: {e}"),
        _ => {}
    }
});
