//! Memory maps of files: whole files read-only, byte ranges writable.
//!
//! Hazard: if another process truncates a file while it is mapped, touching
//! the lost pages raises SIGBUS and kills the process (there is no error to
//! return: the bytes are simply gone). Commands that map files offer
//! `--lock`, an advisory lock that cooperating writers (flock(1), `fkit
//! lock`) respect: shared while reading, exclusive while writing.

use anyhow::{Context, Result, bail};
use memmap2::{Mmap, MmapMut, MmapOptions};
use std::fs::{File, OpenOptions};
use std::ops::{Deref, DerefMut};
use std::path::Path;

/// The bytes of a file through a read-only map. An empty file gives an
/// empty slice (a zero-length map is an error on most systems).
pub struct MappedFile {
    map: Option<Mmap>,
    file: File,
}

impl MappedFile {
    pub fn open(path: &Path) -> Result<MappedFile> {
        MappedFile::open_locked(path, false)
    }

    /// Map `path`; with `lock`, hold a shared advisory lock on it first
    /// (waiting for an exclusive holder) for as long as the map lives.
    pub fn open_locked(path: &Path, lock: bool) -> Result<MappedFile> {
        let file = File::open(path).with_context(|| path.display().to_string())?;
        MappedFile::of_file(file, &path.display().to_string(), lock)
    }

    /// Map an open file (stdin on a regular file, for example), named
    /// `name` in errors; with `lock`, under a shared advisory lock.
    pub fn of_file(file: File, name: &str, lock: bool) -> Result<MappedFile> {
        let meta = file.metadata().with_context(|| name.to_string())?;
        if !meta.is_file() {
            bail!("{name}: not a regular file, cannot be mapped");
        }
        if lock {
            file.lock_shared()
                .with_context(|| format!("{name}: taking a shared lock"))?;
        }
        // Measure again under the lock: a writer may have changed it.
        let len = file.metadata().with_context(|| name.to_string())?.len();
        let map = if len == 0 {
            None
        } else {
            // SAFETY: the map is read-only; see the module note on truncation.
            let map = unsafe { Mmap::map(&file) }.with_context(|| name.to_string())?;
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

/// A writable map of `len` bytes of a file at `offset`, for changing bytes
/// in place. It never grows the file: a range past the end is an error
/// before anything is mapped. Changes reach the file with [`flush`].
///
/// [`flush`]: MappedRange::flush
pub struct MappedRange {
    map: Option<MmapMut>,
    file: File,
}

impl MappedRange {
    /// Open `path` for writing and map `offset..offset + len`; with `lock`,
    /// hold an exclusive advisory lock on the file first.
    pub fn open(path: &Path, offset: u64, len: usize, lock: bool) -> Result<MappedRange> {
        let name = || path.display().to_string();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .with_context(name)?;
        let meta = file.metadata().with_context(name)?;
        if !meta.is_file() {
            bail!("{}: not a regular file, cannot be mapped", path.display());
        }
        if lock {
            file.lock()
                .with_context(|| format!("{}: taking an exclusive lock", path.display()))?;
        }
        let size = file.metadata().with_context(name)?.len();
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|end| end > size) {
            bail!(
                "{}: bytes {offset}..{} are past the end of the file ({size} bytes); nothing was changed",
                path.display(),
                offset as u128 + len as u128
            );
        }
        let map = if len == 0 {
            None
        } else {
            // SAFETY: the range lies inside the file (checked above); the
            // truncation hazard of the module note applies.
            let map = unsafe { MmapOptions::new().offset(offset).len(len).map_mut(&file) }
                .with_context(name)?;
            Some(map)
        };
        Ok(MappedRange { map, file })
    }

    /// Write the changed pages to the file (msync) and wait for them.
    pub fn flush(&self) -> std::io::Result<()> {
        if let Some(map) = &self.map {
            map.flush()?;
        }
        Ok(())
    }

    /// The open file behind the map.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl Deref for MappedRange {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

impl DerefMut for MappedRange {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.map.as_deref_mut().unwrap_or(&mut [])
    }
}
