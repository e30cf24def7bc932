//! Memory maps of files: whole files read-only, byte ranges writable.
//!
//! Hazard: if another process truncates a file while it is mapped, touching
//! the lost pages raises SIGBUS (there is no error to return: the bytes are
//! simply gone); `io::signal` turns it into a message naming the file, exit
//! status 1 and the removal of temporary outputs. Commands that map files offer
//! `--lock`, an advisory lock that cooperating writers (flock(1), `fkit
//! lock`) respect: shared while reading, exclusive while writing.

use anyhow::{Context, Result, bail};
use memmap2::{Mmap, MmapMut, MmapOptions};
use std::borrow::Borrow;
use std::fs::{File, OpenOptions};
use std::ops::{Deref, DerefMut, Range};
use std::path::Path;

/// The bytes of a file through a read-only map. An empty file gives an
/// empty slice (a zero-length map is an error on most systems).
pub struct MappedFile {
    map: Option<Mmap>,
    file: File,
}

impl MappedFile {
    /// Map `path` (a lock, when wanted, comes with
    /// [`InputSpec::lock`](crate::io::input::InputSpec::lock)).
    pub fn open(path: &Path) -> Result<MappedFile> {
        let file = File::open(path).with_context(|| path.display().to_string())?;
        MappedFile::of_file(file, &path.display().to_string(), false)
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
            // A truncation while mapped ends fkit with a message, not a crash.
            super::signal::watch_map(map.as_ptr(), map.len(), name);
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

impl MappedFile {
    /// Give the pages that lie wholly inside `range` back to the kernel:
    /// they stay in the page cache but stop counting as this process's
    /// memory, so one pass over a huge file stays small. Touching them
    /// again reads them back from the file.
    pub fn release(&self, range: Range<usize>) {
        let Some(map) = &self.map else { return };
        let page = page_size();
        let range = range.start.min(map.len())..range.end.min(map.len());
        // The map starts on a page boundary: offsets into it align as
        // addresses do.
        let start = range.start.div_ceil(page) * page;
        let end = if range.end == map.len() {
            range.end
        } else {
            range.end / page * page
        };
        if end > start {
            #[cfg(unix)]
            // SAFETY: `start..end` lies inside the map, which stays alive
            // for `&self`'s lifetime. MADV_DONTNEED on a read-only shared
            // file map only drops page-table entries; the bytes are read
            // back from the file when touched. Anonymous memory would be
            // zeroed instead, which is why this is a method of the map.
            unsafe {
                let _ = map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start,
                    end - start,
                );
            }
        }
    }

    /// A reader of the map from `pos` on that gives the pages behind it
    /// back to the kernel as it goes (see [`release`](MappedFile::release)).
    pub fn reader_from(&self, pos: usize) -> MapReader<&MappedFile> {
        MapReader::new(self, pos)
    }

    /// Like [`reader_from`](MappedFile::reader_from)`(0)`, owning the map.
    pub fn into_reader(self) -> MapReader<MappedFile> {
        MapReader::new(self, 0)
    }
}

/// Gives the pages of a map that will not be read again back to the kernel,
/// a stretch at a time: each call costs a page-table walk and a TLB flush,
/// so it waits until 8 MiB are behind.
pub struct ReleaseBehind<'a> {
    map: &'a MappedFile,
    done: usize,
}

/// How much [`ReleaseBehind`] and [`MapReader`] let pass before they
/// release it.
const STRETCH: usize = 8 << 20;

impl<'a> ReleaseBehind<'a> {
    /// Nothing before `from` is ours to release.
    pub fn new(map: &'a MappedFile, from: usize) -> ReleaseBehind<'a> {
        ReleaseBehind { map, done: from }
    }

    /// Everything before `upto` has been read for the last time.
    pub fn upto(&mut self, upto: usize) {
        if upto >= self.done + STRETCH {
            self.map.release(self.done..upto);
            self.done = upto;
        }
    }
}

/// Reads a map front to back (as `Read`, or as `BufRead` straight from the
/// map, for a streaming decoder such as libzstd's or liblzma's), releasing
/// what it has passed, so a whole file does not stay resident to the end
/// ([`MappedFile::reader_from`], [`MappedFile::into_reader`]).
pub struct MapReader<M> {
    map: M,
    pos: usize,
    released: usize,
}

impl<M: Borrow<MappedFile>> MapReader<M> {
    fn new(map: M, pos: usize) -> MapReader<M> {
        let pos = pos.min(map.borrow().len());
        MapReader {
            map,
            pos,
            released: pos,
        }
    }
}

impl<M: Borrow<MappedFile>> std::io::BufRead for MapReader<M> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        // A megabyte at a time, so that a streaming decoder borrowing the
        // bytes in place consumes, and so releases, them in step.
        let rest = &self.map.borrow()[self.pos..];
        Ok(&rest[..rest.len().min(1 << 20)])
    }

    fn consume(&mut self, n: usize) {
        let map: &MappedFile = self.map.borrow();
        self.pos = (self.pos + n).min(map.len());
        if self.pos >= self.released + STRETCH {
            map.release(self.released..self.pos);
            self.released = self.pos;
        }
    }
}

impl<M: Borrow<MappedFile>> std::io::Read for MapReader<M> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let map: &MappedFile = self.map.borrow();
        let rest = &map[self.pos..];
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

/// The system's page size (4 KiB on most machines, 16 KiB on Apple's ARM
/// and some other ARM systems, 64 KiB on some others).
pub fn page_size() -> usize {
    #[cfg(unix)]
    return rustix::param::page_size();
    #[cfg(not(unix))]
    4096
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        if let Some(map) = &self.map {
            super::signal::forget_map(map.as_ptr());
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
            super::signal::watch_map(map.as_ptr(), map.len(), &name());
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

impl Drop for MappedRange {
    fn drop(&mut self) {
        if let Some(map) = &self.map {
            super::signal::forget_map(map.as_ptr());
        }
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
