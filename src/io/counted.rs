//! A reader or writer that counts the bytes passing through it: bytes read
//! (or consumed, through `BufRead`) or bytes written. `fkit gzip` counts its
//! output for `-v`'s ratio, a pipe's compressed bytes for `--list`, and a
//! stream's offset for bzip2's error messages with it.

use std::io::{self, BufRead, Read, Write};

/// `inner`, counting what passes through it.
pub(crate) struct Counted<T> {
    inner: T,
    count: u64,
}

impl<T> Counted<T> {
    pub(crate) fn new(inner: T) -> Counted<T> {
        Counted { inner, count: 0 }
    }

    /// Bytes read, consumed or written so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Bytes count once consumed: a `fill_buf` alone takes nothing.
impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.count += n as u64;
        self.inner.consume(n)
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reads_consumes_and_writes() {
        let mut r = Counted::new(&b"hello world"[..]);
        let mut buf = [0u8; 5];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(r.fill_buf().unwrap(), b" world");
        assert_eq!(r.count(), 5);
        r.consume(3);
        assert_eq!(r.count(), 8);
        let mut w = Counted::new(Vec::new());
        w.write_all(b"abc").unwrap();
        w.write_all(b"de").unwrap();
        assert_eq!(w.count(), 5);
    }
}
