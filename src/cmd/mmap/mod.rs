//! `fkit mmap`: view, search, count lines and patch bytes through a memory map
//! (and `unview`, which turns a dump back into bytes).

mod find;
mod folded;
mod lines;
mod matcher;
mod patch;
mod unview;
mod view;

use crate::io::{Input, MapOrStream, Progress, read_some};
use anyhow::Result;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// View, search, count lines and patch bytes of huge files through a memory map.
///
/// The file is mapped, not read: the kernel pages in only what is touched,
/// so a byte range of a 100 GB file costs what the range costs, and `find`
/// and `lines` scan slices of the map on every core at once. Stdin, pipes
/// and other inputs that cannot be mapped are streamed instead (constant
/// memory, one core); `patch` needs a regular file.
///
/// Hazard: if another process truncates a mapped file, touching the lost
/// pages kills fkit with SIGBUS. `--lock` takes a shared advisory lock while
/// reading and an exclusive one while patching, which writers that lock
/// (flock(1), `fkit lock`) respect.
///
/// Examples:
///   fkit mmap view disk.img --offset 0x1be --length 64     # like xxd -s 0x1be -l 64
///   fkit mmap view big.log --offset 4G --length 1K --text
///   fkit mmap find big.log 'ERROR' --lines                 # like grep -c -F
///   fkit mmap find disk.img --hex-pattern '55aa' --offsets --max 10
///   fkit mmap lines big.log                                # like wc -l
///   fkit mmap patch disk.img --offset 0x1fe --hex 55aa --backup
///   fkit mmap view -p key.bin | fkit mmap unview -p > key.copy   # like xxd -p | xxd -r -p
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    View(view::Args),
    Find(find::Args),
    Lines(lines::Args),
    Patch(patch::Args),
    Unview(unview::Args),
}

pub fn run(args: Args) -> Result<()> {
    match args.action {
        Action::View(a) => view::run(a),
        Action::Find(a) => find::run(a),
        Action::Lines(a) => lines::run(a),
        Action::Patch(a) => patch::run(a),
        Action::Unview(a) => unview::run(a),
    }
}

/// Map the input when it is a regular file (named, or on stdin), else
/// stream it. `progress`: show a bar for a stream (maps report per slice,
/// see [`ScanProgress`]).
fn open(path: Option<&PathBuf>, lock: bool, progress: bool) -> Result<MapOrStream> {
    Input::at(path)
        .lock(lock)
        .buffer(STREAM_BLOCK)
        .progress(progress)
        .open_map_or_stream()
}

/// Read size for inputs that cannot be mapped.
const STREAM_BLOCK: usize = 1 << 20;

/// Read a stream a block of whole lines at a time, carrying the unfinished
/// last line into the next block (the final block may lack its newline),
/// and hand each block to `each` until it returns `false`. `each` gets the
/// bytes read so far and where their whole lines end: a searcher may look
/// past the end for context, as it does on a map.
fn line_blocks<E: From<io::Error>>(
    input: &mut impl Read,
    mut each: impl FnMut(&[u8], usize) -> Result<bool, E>,
) -> Result<(), E> {
    let mut buf: Vec<u8> = Vec::with_capacity(2 * STREAM_BLOCK);
    loop {
        let have = buf.len();
        buf.resize(have + STREAM_BLOCK, 0);
        let n = read_some(input, &mut buf[have..])?;
        buf.truncate(have + n);
        let cut = if n == 0 {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(nl) => nl + 1,
                None => continue,
            }
        };
        if !each(&buf, cut)? || n == 0 {
            return Ok(());
        }
        buf.drain(..cut);
    }
}

/// The name of `path` in messages and reports.
fn name_of(path: Option<&PathBuf>) -> String {
    crate::io::input::display_name(path.map(Path::new))
}

/// The number of cores to scan on.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run `scan` on every slice, on all cores, and return the results in
/// slice order. Each thread takes the next slice when it finishes one, so
/// a core slowed by other work simply takes fewer. Plain scoped threads
/// that end when the slices run out: on a busy machine, idle pool workers
/// spinning for work would take CPU from the scan itself.
fn scan_slices<T: Send>(parts: &[Range<usize>], scan: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = cores().min(parts.len()).max(1);
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        while let Some(r) = parts.get(next.fetch_add(1, Ordering::Relaxed)) {
            done.push((r.start, scan(r.clone())));
        }
        done
    };
    let mut all = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for helper in helpers {
            match helper.join() {
                Ok(done) => all.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    all.sort_unstable_by_key(|(start, _)| *start);
    all.into_iter().map(|(_, t)| t).collect()
}

/// A progress bar that the threads scanning slices of a map share.
struct ScanProgress(Mutex<Progress>);

impl ScanProgress {
    fn new(len: usize, enabled: bool) -> ScanProgress {
        ScanProgress(Mutex::new(Progress::bytes(Some(len as u64), enabled)))
    }

    /// A slice of `n` bytes is done.
    fn done(&self, n: usize) {
        if let Ok(mut p) = self.0.lock() {
            p.inc(n as u64);
        }
    }
}

/// Split `0..len` into slices for a parallel scan: a few per core so a
/// core slowed by other work does not hold the rest up, and never so small
/// that the per-slice cost shows. `FKIT_MMAP_SLICE` (bytes) overrides the
/// size, so tests can force many slice boundaries on small files.
fn slices(len: usize) -> Vec<Range<usize>> {
    let forced = std::env::var("FKIT_MMAP_SLICE")
        .ok()
        .and_then(|s| s.parse::<crate::io::Size>().ok())
        .map(|s| s.as_usize().max(1));
    let size = forced.unwrap_or_else(|| {
        let threads = rayon::current_num_threads().max(1);
        // At most 64 MiB, so a progress bar on a huge file moves.
        len.div_ceil(threads * 4).clamp(4 << 20, 64 << 20)
    });
    (0..len.div_ceil(size))
        .map(|i| i * size..((i + 1) * size).min(len))
        .collect()
}

/// `0..len` in slices for [`scan_slices`], each boundary moved to just
/// after the next newline, so every slice holds whole lines.
pub(super) fn line_slices(hay: &[u8]) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut start = 0;
    for r in slices(hay.len()) {
        if r.end <= start {
            continue;
        }
        let end = if hay[r.end - 1] == b'\n' {
            r.end
        } else {
            memchr::memchr(b'\n', &hay[r.end..]).map_or(hay.len(), |nl| r.end + nl + 1)
        };
        parts.push(start..end);
        start = end;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_everything_once() {
        for len in [0usize, 1, 4 << 20, (4 << 20) + 1, 100 << 20] {
            let s = slices(len);
            let mut next = 0;
            for r in &s {
                assert_eq!(r.start, next);
                assert!(r.end > r.start);
                next = r.end;
            }
            assert_eq!(next, len);
        }
    }
}
