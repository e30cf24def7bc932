//! Byte ranges of files: kernel-side copies, checked read-backs, checksums.

use crate::io::at::{kernel_copy, write_all_at};
pub use crate::io::at::{read_at, read_exact_at};
use crate::io::output::WriteFailed;
use anyhow::Context;
use std::fs::File;
use std::hash::Hasher;
use std::io;
use std::sync::{Condvar, Mutex};
use twox_hash::XxHash3_64;

/// The checksum every manifest uses, under the name the manifest gives it.
pub const ALGORITHM: &str = "xxh3-64";

/// Block size for reads that pass through user space.
pub const BLOCK: usize = 1 << 20;

/// A running XXH3-64 checksum (seed 0). twox-hash picks AVX2 at run time
/// where the CPU has it: about twice the speed of the SSE2 baseline.
#[derive(Clone, Default)]
pub struct Checksum(XxHash3_64);

impl Checksum {
    pub fn new() -> Checksum {
        Checksum(XxHash3_64::with_seed(0))
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    /// The digest as 16 hex digits, as the manifest stores it.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0.finish())
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

/// Copy `len` bytes of `src` at `src_at` into `dst` at `dst_at`, leaving
/// both positions alone: the kernel copies where it can, a read/write loop
/// elsewhere.
pub fn copy_range_at(src: &File, src_at: u64, len: u64, dst: &File, dst_at: u64) -> io::Result<()> {
    let copied = kernel_copy(src, src_at, len, dst, Some(dst_at))?;
    let (src_at, dst_at, len) = (src_at + copied, dst_at + copied, len - copied);
    if len == 0 {
        return Ok(());
    }
    let mut buf = vec![0u8; len.min(BLOCK as u64) as usize];
    let mut at = dst_at;
    let mut result = Ok(());
    for_each_block(src, src_at, len, &mut buf, |block| {
        if result.is_ok() {
            result = write_all_at(dst, block, at);
            at += block.len() as u64;
        }
    })?;
    result
}

/// One copy for [`copy_and_read_back`]: `len` bytes of `src` at `src_at`
/// into `dst` at `dst_at`, read back afterwards from `back` at `back_at`
/// (normally the destination itself, through a handle that can read it).
pub struct Span {
    pub src: File,
    pub src_at: u64,
    pub dst: File,
    pub dst_at: u64,
    pub back: File,
    pub back_at: u64,
    pub len: u64,
    /// fsync `dst` once this span is copied.
    pub sync: bool,
    /// Names the span in errors, as "chunk: copying into out".
    pub what: String,
    /// Names `dst` alone, for a failed write (a full disk).
    pub output: String,
}

/// How far the copies have got, shared by the copying threads and the
/// reader.
struct Board {
    /// Per span planned so far: its name for errors, where to read it back
    /// (taken by the reader, and closed once read, so that descriptors do
    /// not pile up with the number of spans), its length and how much of
    /// it is copied.
    spans: Vec<Posted>,
    /// The span the reader is on: workers stay a few spans ahead of it at
    /// most, so that open files do not pile up when copying is faster.
    reading: usize,
    /// No more spans will come.
    planned: bool,
    /// The first error of any thread: everyone stops.
    failed: Option<anyhow::Error>,
}

struct Posted {
    what: String,
    back: Option<(File, u64)>,
    len: u64,
    copied: u64,
}

/// Bytes the kernel copies before the reader may check them.
pub const STEP: u64 = 4 << 20;
/// Read-back block: small enough to stay in the CPU's L2 cache while summed.
const BACK: usize = 256 << 10;

/// Copy every span `plan` yields, on `workers` threads, with the kernel
/// (copy_file_range: the bytes stay in the page cache), while this thread
/// reads the copied bytes back, in plan order, and hands them to
/// `check(span, bytes)`; `check(span, &[])` follows the last bytes of each
/// span. What is checked is what was written, so a source that changes
/// meanwhile cannot pass unnoticed.
///
/// Reading back costs one pass through user space, where a copy through
/// user space costs two (read and write), and the kernel's copies run on
/// every core while the checksums, which need the bytes in order, run on
/// one. `plan(n)` is called under a lock for span n, in order. The first
/// error stops every thread and is returned.
pub fn copy_and_read_back(
    workers: usize,
    plan: &mut (dyn FnMut(usize) -> Option<anyhow::Result<Span>> + Send),
    check: &mut dyn FnMut(usize, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let ahead = 2 * workers.max(1) + 2;
    let board = Mutex::new(Board {
        spans: Vec::new(),
        reading: 0,
        planned: false,
        failed: None,
    });
    let changed = Condvar::new();
    let plan = Mutex::new(plan);
    let lock = || board.lock().unwrap_or_else(|p| p.into_inner());
    let fail = |e: anyhow::Error| {
        lock().failed.get_or_insert(e);
        changed.notify_all();
    };
    let copy = || -> anyhow::Result<()> {
        loop {
            // Take the next span and post it, in plan order.
            let (span, index) = {
                let mut plan = plan.lock().unwrap_or_else(|p| p.into_inner());
                let index = {
                    let mut b = lock();
                    while b.failed.is_none() && b.spans.len() >= b.reading + ahead {
                        b = changed.wait(b).unwrap_or_else(|p| p.into_inner());
                    }
                    if b.failed.is_some() || b.planned {
                        return Ok(());
                    }
                    b.spans.len()
                };
                let Some(span) = plan(index).transpose()? else {
                    lock().planned = true;
                    changed.notify_all();
                    return Ok(());
                };
                let Span {
                    src,
                    src_at,
                    dst,
                    dst_at,
                    back,
                    back_at,
                    len,
                    sync,
                    what,
                    output,
                } = span;
                lock().spans.push(Posted {
                    what: what.clone(),
                    back: Some((back, back_at)),
                    len,
                    copied: 0,
                });
                changed.notify_all();
                ((src, src_at, dst, dst_at, len, sync, what, output), index)
            };
            let (src, src_at, dst, dst_at, len, sync, what, output) = span;
            let what = || what.clone();
            let mut done = 0;
            while done < len {
                if lock().failed.is_some() {
                    return Ok(());
                }
                let n = (len - done).min(STEP);
                let _gate = crate::io::signal::writing();
                copy_range_at(&src, src_at + done, n, &dst, dst_at + done)
                    .map_err(|e| match e.kind() {
                        io::ErrorKind::UnexpectedEof => {
                            anyhow::anyhow!("ended early (truncated meanwhile?)")
                        }
                        _ => WriteFailed::wrap_if_writing(&output, e).into(),
                    })
                    .with_context(what)?;
                done += n;
                lock().spans[index].copied = done;
                changed.notify_all();
            }
            if sync {
                dst.sync_all()
                    .map_err(|e| WriteFailed::wrap(&output, e))
                    .with_context(what)?;
            }
        }
    };
    let mut read_back = || -> anyhow::Result<()> {
        let mut buf = vec![0u8; BACK];
        for index in 0.. {
            let mut at = 0u64;
            let mut back = None;
            let mut what = String::new();
            loop {
                // Wait until span `index` has bytes past `at`, or is done.
                let (len, ready) = {
                    let mut b = lock();
                    loop {
                        if b.failed.is_some() {
                            return Ok(());
                        }
                        match b.spans.get(index) {
                            Some(p) if p.copied > at || p.copied == p.len => break,
                            None if b.planned => return Ok(()),
                            _ => b = changed.wait(b).unwrap_or_else(|p| p.into_inner()),
                        }
                    }
                    if back.is_none() {
                        b.reading = index;
                        changed.notify_all();
                        back = b.spans[index].back.take();
                        what.clone_from(&b.spans[index].what);
                    }
                    let posted = &b.spans[index];
                    (posted.len, posted.copied)
                };
                let Some((file, back_at)) = &back else {
                    anyhow::bail!("{what}: nothing to read back");
                };
                while at < ready {
                    let want = (ready - at).min(BACK as u64) as usize;
                    read_exact_at(file, &mut buf[..want], back_at + at)
                        .with_context(|| format!("{what}: reading back what was copied"))?;
                    check(index, &buf[..want])?;
                    at += want as u64;
                }
                if at == len {
                    break;
                }
            }
            check(index, &[])?;
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                // A panicking worker must still wake the reader.
                let _stop = OnDrop(|| {
                    if std::thread::panicking() {
                        fail(anyhow::anyhow!("a copying thread panicked"));
                    }
                });
                if let Err(e) = copy() {
                    fail(e);
                }
            });
        }
        if let Err(e) = read_back() {
            fail(e);
        }
    });
    match board.into_inner().unwrap_or_else(|p| p.into_inner()).failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Runs its closure when dropped (also while unwinding from a panic).
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}
