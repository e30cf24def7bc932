//! Read-only memory maps of whole files.
//!
//! Hazard: if another process truncates a file while it is mapped, touching
//! the lost pages raises SIGBUS and kills the process. Commands that map
//! files offer `--lock` (a shared advisory lock) for cooperating writers.

use anyhow::{Context, Result};
use memmap2::Mmap;
use std::fs::File;
use std::ops::Deref;
use std::path::Path;

/// The bytes of a file through a read-only map. An empty file gives an
/// empty slice (a zero-length map is an error on most systems).
pub struct MappedFile {
    map: Option<Mmap>,
    file: File,
}

impl MappedFile {
    pub fn open(path: &Path) -> Result<MappedFile> {
        let file = File::open(path).with_context(|| path.display().to_string())?;
        let meta = file
            .metadata()
            .with_context(|| path.display().to_string())?;
        if !meta.is_file() {
            anyhow::bail!("{}: not a regular file, cannot be mapped", path.display());
        }
        let map = if meta.len() == 0 {
            None
        } else {
            // SAFETY: the map is read-only; see the module note on truncation.
            let map = unsafe { Mmap::map(&file) }.with_context(|| path.display().to_string())?;
            Some(map)
        };
        Ok(MappedFile { map, file })
    }

    /// The open file behind the map (to lock it, for example).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Tell the kernel the map will be read front to back.
    pub fn advise_sequential(&self) {
        #[cfg(unix)]
        if let Some(map) = &self.map {
            let _ = map.advise(memmap2::Advice::Sequential);
        }
    }
}

impl Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}
