//! Where a decoder's compressed input comes from (a mapped file or a
//! stream), what may follow its last member or stream, and giving the pages
//! of a map that were read back to the kernel.

use std::io::{self, BufRead};

/// What followed the last member or stream.
pub(crate) struct Trailing {
    /// Where it starts in the compressed input.
    pub at: u64,
    /// Zeros only (tape padding), which gzip ignores.
    pub only_zeros: bool,
}

/// Where the compressed bytes come from: a file (mapped, so that members can
/// be found and inflated in parallel), or a stream.
pub(crate) enum Source<'a> {
    File(&'a crate::io::MappedFile),
    Stream(&'a mut (dyn BufRead + Send)),
}

/// Read a file from `offset` on, with ordinary reads (pages read this way
/// are not counted in the process's memory, unlike a map's).
pub(super) fn tail(
    file: &std::fs::File,
    offset: usize,
) -> io::Result<io::BufReader<&std::fs::File>> {
    use std::io::Seek;
    let mut f = file;
    f.seek(io::SeekFrom::Start(offset as u64))?;
    Ok(io::BufReader::with_capacity(1 << 20, f))
}

/// Whether the rest of `reader` is only zero bytes (read to its end).
pub(super) fn all_zeros(reader: &mut dyn BufRead) -> io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        if buf.iter().any(|&b| b != 0) {
            return Ok(false);
        }
        let n = buf.len();
        reader.consume(n);
    }
}

/// Give the pages of the map that were read back to the kernel every this
/// many bytes, so that a huge file does not stay resident.
const RELEASE_EVERY: usize = 8 << 20;

/// Gives mapped pages that will not be read again back to the kernel, a
/// stretch at a time (each call costs a page-table walk and a TLB flush).
pub(super) struct Release<'a> {
    map: &'a [u8],
    done: usize,
}

impl<'a> Release<'a> {
    pub(super) fn new(map: &'a [u8]) -> Release<'a> {
        Release { map, done: 0 }
    }

    /// Everything before `upto` has been read for the last time.
    pub(super) fn upto(&mut self, upto: usize) {
        if upto >= self.done + RELEASE_EVERY {
            self.release(upto);
        }
    }

    #[cfg(unix)]
    fn release(&mut self, upto: usize) {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|&p| p > 0)
            .unwrap_or(4096);
        let (from, to) = (self.done / page * page, upto / page * page);
        if to > from {
            // SAFETY: the range lies inside the mapping, which starts on a
            // page boundary; MADV_DONTNEED on a read-only file mapping only
            // drops pages, which are read back from the file if touched.
            unsafe {
                libc::madvise(
                    self.map[from..].as_ptr() as *mut libc::c_void,
                    to - from,
                    libc::MADV_DONTNEED,
                )
            };
            self.done = to;
        }
    }

    #[cfg(not(unix))]
    fn release(&mut self, upto: usize) {
        let _ = self.map;
        self.done = upto;
    }
}
