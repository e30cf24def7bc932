//! What several targets share: a file to map the input from.

use fkit::io::MappedFile;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `data` written to this process's scratch file (in /dev/shm when there is
/// one, so no disk is touched) and mapped, as `fkit gzip -d FILE` maps it.
pub fn mapped(data: &[u8]) -> MappedFile {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    let path = PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("fkit-fuzz-{}", std::process::id()))
    });
    std::fs::write(path, data).expect("write the scratch file");
    MappedFile::open(path).expect("map the scratch file")
}
