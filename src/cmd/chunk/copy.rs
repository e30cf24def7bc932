//! Byte ranges of files: positioned reads, kernel-side copies, checksums.

use std::fs::File;
use std::io::{self, Write};
use xxhash_rust::xxh3::Xxh3;

/// The checksum every manifest uses, under the name the manifest gives it.
pub const ALGORITHM: &str = "xxh3-64";

/// Block size for reads that pass through user space.
pub const BLOCK: usize = 1 << 20;

/// A running XXH3-64 checksum (about 30 GB/s: never the bottleneck).
#[derive(Clone, Default)]
pub struct Checksum(Xxh3);

impl Checksum {
    pub fn new() -> Checksum {
        Checksum(Xxh3::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest as 16 hex digits, as the manifest stores it.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0.digest())
    }
}

/// Read at `offset` without moving the file position (threads share files).
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_at(buf, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        file.seek_read(buf, offset)
    }
}

/// Feed `len` bytes of `file` at `offset` to `each`, one block at a time.
/// A file shorter than the range is an `UnexpectedEof` error.
pub fn for_each_block(
    file: &File,
    offset: u64,
    len: u64,
    buf: &mut [u8],
    mut each: impl FnMut(&[u8]),
) -> io::Result<()> {
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(buf.len() as u64) as usize;
        let n = match read_at(file, &mut buf[..want], offset + done) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        each(&buf[..n]);
        done += n as u64;
    }
    Ok(())
}

/// Copy `len` bytes of `src` at `offset` to `dst` at its current position.
///
/// On Linux the kernel copies page cache to page cache (copy_file_range),
/// or shares extents on file systems that can; the bytes never visit user
/// space. Elsewhere, or where the kernel refuses (another file system on
/// old kernels, an O_APPEND output), a read/write loop does it.
pub fn copy_range(src: &File, offset: u64, len: u64, dst: &mut File) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    let (offset, len) = {
        let copied = kernel_copy(src, offset, len, dst)?;
        (offset + copied, len - copied)
    };
    if len == 0 {
        return Ok(());
    }
    let mut buf = vec![0u8; BLOCK.min(len as usize)];
    let mut result = Ok(());
    for_each_block(src, offset, len, &mut buf, |block| {
        if result.is_ok() {
            result = dst.write_all(block);
        }
    })?;
    result
}

/// copy_file_range until done; returns how much it copied (0 when the
/// kernel cannot do it here and the caller should fall back).
#[cfg(target_os = "linux")]
fn kernel_copy(src: &File, offset: u64, len: u64, dst: &File) -> io::Result<u64> {
    use std::os::unix::io::AsRawFd;
    let mut off_in = offset as libc::loff_t;
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(1 << 30) as usize;
        // SAFETY: valid descriptors; off_in is ours; a null off_out means
        // "at dst's position, and advance it", as write would.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                &mut off_in,
                dst.as_raw_fd(),
                std::ptr::null_mut(),
                want,
                0,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(
                    libc::ENOSYS
                    | libc::EXDEV
                    | libc::EINVAL
                    | libc::EOPNOTSUPP
                    | libc::EPERM
                    | libc::EBADF,
                ) if done == 0 => {
                    return Ok(0);
                }
                _ => return Err(err),
            }
        }
        if n == 0 {
            // The source ended early: it shrank under us.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        done += n as u64;
    }
    Ok(done)
}
