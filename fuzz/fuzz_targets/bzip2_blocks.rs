//! The bzip2 block finder (bit-aligned magic in arbitrary bytes) and
//! fkit's block decoder on whatever it finds: no panic, blocks in order and
//! inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let blocks = fkit::fuzzing::bzip2_blocks(data);
    for pair in blocks.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlapping blocks");
    }
});
