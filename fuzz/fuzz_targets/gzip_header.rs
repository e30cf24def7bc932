//! The gzip member header parser and fkit's block index: no panic, and a
//! header never claims more bytes than it was given.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((len, _index)) = fkit::fuzzing::gzip_header(data) {
        assert!(len <= data.len());
    }
    let map = common::mapped(data);
    let _ = fkit::fuzzing::gzip_indexed_members(&map);
});
