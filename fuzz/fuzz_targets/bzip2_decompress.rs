//! bzip2 decompression, fkit's parallel block decoder against the `bzip2`
//! crate (libbz2's reference decoder): same verdict, same bytes, for input
//! that is bzip2 streams and nothing else.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    if !data.starts_with(b"BZh") {
        return;
    }
    let threads = 1 + (data.len() % 2);
    let map = common::mapped(data);
    // `BZh` and a level digit; anything else is not bzip2 to fkit.
    let Some(file) = fkit::fuzzing::decompress_file(&map, threads) else {
        return;
    };
    let stream = fkit::fuzzing::decompress_stream(data, threads).expect("bzip2 magic");
    let mut reference = Vec::new();
    let bz = bzip2::read::MultiBzDecoder::new(data).read_to_end(&mut reference);
    match (&file, &bz) {
        (Ok((out, None)), Ok(_)) => assert!(out == &reference, "bytes differ"),
        (Ok((_, None)), Err(e)) => panic!("fkit accepted what libbz2 refuses: {e}"),
        (Err(e), Ok(_)) => panic!("fkit refused what libbz2 accepts: {e}"),
        _ => {}
    }
    if let (Ok((a, _)), Ok((b, _))) = (&file, &stream) {
        assert!(a == b, "the mapped and the streamed paths disagree");
    }
});
