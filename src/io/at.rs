//! Positioned reads and writes: at an offset, without moving the file's
//! position, so that threads (or a lock holder's record) can share one
//! open file.

use std::fs::File;
use std::io;

/// Read at `offset` without moving the file position on Unix (threads
/// share files; Windows moves it, which no caller relies on).
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

/// Fill `buf` from `offset`; a file that ends first is `UnexpectedEof`.
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match read_at(file, &mut buf[done..], offset + done as u64) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Write `bytes` at `offset` of `dst` without moving its position.
pub fn write_all_at(dst: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        dst.write_all_at(bytes, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        let mut done = 0;
        while done < bytes.len() {
            match dst.seek_write(&bytes[done..], offset + done as u64) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Copy up to `len` bytes of `src` from byte `src_at` into `dst`, in the
/// kernel (copy_file_range): at `dst_at`, or at `dst`'s own position (which
/// then moves past them) when `None`. The bytes never visit user space; the
/// kernel copies page cache to page cache, or shares extents where the file
/// system can. Returns how much it copied: 0 when the kernel cannot copy
/// between these two files (another file system on an old kernel, an
/// `O_APPEND` output, a pipe), and the caller copies the rest itself. A
/// source that ends first is `UnexpectedEof`.
#[cfg(target_os = "linux")]
pub fn kernel_copy(
    src: &File,
    src_at: u64,
    len: u64,
    dst: &File,
    dst_at: Option<u64>,
) -> io::Result<u64> {
    use rustix::io::Errno;
    let mut from = src_at;
    let mut to = dst_at;
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(1 << 30) as usize;
        match rustix::fs::copy_file_range(src, Some(&mut from), dst, to.as_mut(), want) {
            // The source ended early: it shrank under us.
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n as u64,
            Err(Errno::INTR) => {}
            Err(
                Errno::NOSYS
                | Errno::XDEV
                | Errno::INVAL
                | Errno::OPNOTSUPP
                | Errno::PERM
                | Errno::BADF,
            ) if done == 0 => return Ok(0),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

/// Elsewhere the kernel copies nothing: the caller's loop does it all.
#[cfg(not(target_os = "linux"))]
pub fn kernel_copy(_: &File, _: u64, _: u64, _: &File, _: Option<u64>) -> io::Result<u64> {
    Ok(0)
}
