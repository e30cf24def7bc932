//! Where a decoder's compressed input comes from (a mapped file or a
//! stream), and what may follow its last member or stream.

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
