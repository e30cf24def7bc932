//! fkit's streaming JSON tokenizer against serde_json: the same verdict on
//! every input, but for fkit's documented strictness (lone surrogate
//! escapes are refused) and serde_json's nesting limit of 128.
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
    let theirs = serde_json::from_slice::<serde::de::IgnoredAny>(data);
    match (&ours, &theirs) {
        (Ok(()), Err(e)) => panic!("fkit accepts what serde_json refuses: {e}"),
        (Err(e), Ok(_)) if !e.contains("surrogate") => {
            panic!("fkit refuses what serde_json accepts: {e}")
        }
        _ => {}
    }
});
