//! The chunk manifest loader of `chunk join`: no panic on any file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a scratch directory"));
    let path = dir.path().join("fuzz.manifest.json");
    std::fs::write(&path, data).expect("write the manifest");
    let _ = fkit::fuzzing::chunk_manifest(&path);
});
