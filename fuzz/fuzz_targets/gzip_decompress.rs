//! gzip decompression by every path fkit has (a mapped file on two cores,
//! a stream, the reader csv and json use) against flate2's multi-member
//! decoder: where both decode the whole input without trailing data, the
//! bytes agree; what fkit accepts whole, flate2 accepts too.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use std::io::Read;

fuzz_target!(|data: &[u8]| {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return;
    }
    let threads = 1 + (data.len() % 2);
    let map = common::mapped(data);
    let file = fkit::fuzzing::decompress_file(&map, threads).expect("gzip magic");
    let stream = fkit::fuzzing::decompress_stream(data, threads).expect("gzip magic");
    let reader = fkit::fuzzing::decompress_reader(data).expect("gzip magic");
    let mut reference = Vec::new();
    let flate = flate2::read::MultiGzDecoder::new(data).read_to_end(&mut reference);
    if let Ok((out, None)) = &file {
        assert!(
            flate.is_ok() && &reference == out,
            "fkit decoded a whole file that flate2 does not ({flate:?})"
        );
    }
    if let Ok((out, None)) = &stream {
        assert!(
            flate.is_ok() && &reference == out,
            "fkit decoded a whole stream that flate2 does not ({flate:?})"
        );
    }
    if let (Ok((a, _)), Ok((b, _))) = (&file, &stream) {
        assert!(a == b, "the mapped and the streamed paths disagree");
    }
    if let (Ok(out), Ok((whole, None))) = (&reader, &file) {
        assert!(out == whole, "the reader and the file path disagree");
    }
});
