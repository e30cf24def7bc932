//! fkit's bzip2 encoder: whatever the input, libbz2 and fkit's own decoder
//! give it back byte for byte. The first byte picks the level and threads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    let Some((&knob, plain)) = data.split_first() else {
        return;
    };
    let level = 1 + u32::from(knob % 9);
    let threads = 1 + usize::from(knob >> 7);
    let packed = fkit::fuzzing::bzip2_compress(plain, level, threads);
    let mut back = Vec::new();
    bzip2::read::MultiBzDecoder::new(&packed[..])
        .read_to_end(&mut back)
        .expect("libbz2 reads what fkit wrote");
    assert!(back == plain, "libbz2 decodes other bytes");
    if !packed.is_empty() {
        let (ours, trailing) = fkit::fuzzing::decompress_stream(&packed, threads)
            .expect("bzip2 magic")
            .expect("fkit reads what it wrote");
        assert!(trailing.is_none() && ours == plain, "fkit decodes other bytes");
    }
});
