//! `fkit chunk join` and `fkit chunk cat`.

use super::Manifest;
use super::copy::{BLOCK, Checksum, STEP, Span, copy_and_read_back, copy_range_at, for_each_block};
use crate::io::output::{WriteFailed, copy_to_stdout, reader_of};
use crate::io::{Input, Output, Progress, signal};
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Join chunks back into the original: verified against a manifest, or
/// concatenated in the order given.
///
/// With a manifest (the one argument ends in .json and is an fkit chunk
/// manifest), every chunk's size and xxh3-64 checksum and the whole
/// result's are checked; a missing or corrupt chunk is an error that names
/// it. With -o the output is written to a temporary file beside OUT (the
/// kernel copies each chunk in, and fkit sums the copied bytes by reading
/// them back on a second core) and renamed into place only when
/// everything matched (fsynced first when it replaces a file, or with
/// --sync): on any error nothing is left behind. Stdout redirected to a file (`> out`, `>> out`) is
/// treated alike: copied while checked, and cut back to its old length on
/// a mismatch. To a pipe, every chunk is checked first and the bytes are
/// written only after all matched. Chunk paths in the manifest are
/// relative to its directory. Streams: memory use is a few buffers.
///
/// Examples:
///   fkit chunk join parts/big.log.manifest.json -o big.log
///   fkit chunk join parts/big.log.manifest.json | sha256sum
///   fkit chunk join big.log.0000 big.log.0001 big.log.0002 -o big.log
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A manifest written by `fkit chunk split`, or chunk files in order.
    #[arg(required = true, value_name = "MANIFEST|CHUNK")]
    inputs: Vec<PathBuf>,

    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Replace OUTPUT if it exists.
    #[arg(short, long)]
    force: bool,

    /// Treat a single .json argument as a chunk, not a manifest.
    #[arg(long)]
    no_manifest: bool,

    /// fsync OUTPUT even when it replaces nothing (replacing a file with
    /// --force always syncs the new one first).
    #[arg(long)]
    sync: bool,

    /// No fsync of a new OUTPUT: the default now; accepted so that scripts
    /// written for it still run.
    #[arg(long, hide = true, conflicts_with = "sync")]
    no_sync: bool,

    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// One piece of the output: a chunk file and what it must be.
struct Piece {
    path: PathBuf,
    name: String,
    size: u64,
    checksum: Option<String>,
}

impl Piece {
    fn open(&self) -> Result<File> {
        Ok(Input::at(Some(&self.path)).open_file()?.into_file())
    }
}

pub fn run(args: Args) -> Result<()> {
    let manifest_path = match args.inputs.as_slice() {
        [one] if !args.no_manifest && one.extension().is_some_and(|e| e == "json") => {
            Some(one.clone())
        }
        _ => None,
    };
    let (pieces, whole) = match &manifest_path {
        Some(path) => from_manifest(path)?,
        None => (plain_pieces(&args.inputs)?, None),
    };
    let total: u64 = pieces.iter().map(|p| p.size).sum();
    let mut progress = Progress::bytes(Some(total), !args.quiet);
    match &args.output {
        Some(out) => join_to_file(&pieces, whole.as_ref(), out, &args, &mut progress),
        None => {
            // A regular file on stdout: copy and check at once, and on a
            // mismatch cut the file back to where it was, so nothing of
            // the bad join is left.
            if let Some((mut out, start)) = crate::io::output::stdout_file() {
                // Ctrl-C cuts it back too: nothing unverified is left.
                signal::cut_back_on_interrupt(&out, start).context("<stdout>")?;
                let back = reader_of(&out);
                let joined = copy_verified(
                    &pieces,
                    whole.as_ref(),
                    &out,
                    back.as_ref(),
                    start,
                    "<stdout>",
                    &mut progress,
                );
                if joined.is_err() {
                    let _ = out.set_len(start);
                }
                signal::forget_cut_backs();
                joined?;
                // The bytes were written by position: move stdout past
                // them, so that whatever writes to it next appends.
                out.seek(SeekFrom::Start(start + total))
                    .context("<stdout>")?;
                return Ok(());
            }
            // A pipe cannot take bytes back: check everything first.
            if manifest_path.is_some() {
                verify(&pieces, whole.as_ref(), &AtomicBool::new(false))?;
            }
            for p in &pieces {
                let n =
                    copy_to_stdout(&mut p.open()?.take(p.size)).with_context(|| p.name.clone())?;
                if n != p.size {
                    bail!("{}: changed while being joined", p.name);
                }
                progress.inc(n);
            }
            Ok(())
        }
    }
}

/// The chunks a manifest lists, checked for presence and size up front.
/// The whole original's size and checksum, from a manifest.
type Whole = (u64, String);

fn from_manifest(path: &Path) -> Result<(Vec<Piece>, Option<Whole>)> {
    let manifest = Manifest::read(path)?;
    let base = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut pieces = Vec::with_capacity(manifest.chunks.len());
    let mut expected_offset = 0u64;
    for c in &manifest.chunks {
        // Chunks live beside their manifest: a name that leads elsewhere
        // (`../x`, `/etc/x`) is not one split wrote.
        let plain = matches!(
            Path::new(&c.name)
                .components()
                .collect::<Vec<_>>()
                .as_slice(),
            [std::path::Component::Normal(_)]
        );
        if !plain {
            bail!(
                "{}: chunk name \"{}\" is not a file name in the manifest's directory",
                path.display(),
                c.name
            );
        }
        let chunk_path = base.join(&c.name);
        let shown = chunk_path.display().to_string();
        if c.offset != expected_offset {
            bail!(
                "{}: chunk {} is listed at offset {}, expected {expected_offset}",
                path.display(),
                c.name,
                c.offset
            );
        }
        expected_offset += c.size;
        let size = match std::fs::metadata(&chunk_path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                bail!(
                    "{shown}: chunk missing (expected {} bytes at offset {})",
                    c.size,
                    c.offset
                )
            }
            Err(e) => return Err(e).with_context(|| shown.clone()),
        };
        if size != c.size {
            bail!(
                "{shown}: chunk is {size} bytes, the manifest says {} (corrupt or truncated)",
                c.size
            );
        }
        pieces.push(Piece {
            path: chunk_path,
            name: shown,
            size: c.size,
            checksum: Some(c.checksum.clone()),
        });
    }
    if expected_offset != manifest.size {
        bail!(
            "{}: the chunks add up to {expected_offset} bytes, the manifest says {}",
            path.display(),
            manifest.size
        );
    }
    Ok((pieces, Some((manifest.size, manifest.checksum))))
}

fn plain_pieces(paths: &[PathBuf]) -> Result<Vec<Piece>> {
    paths
        .iter()
        .map(|p| {
            let name = p.display().to_string();
            let meta = std::fs::metadata(p).with_context(|| name.clone())?;
            if !meta.is_file() {
                bail!("{name}: not a regular file");
            }
            Ok(Piece {
                path: p.clone(),
                name,
                size: meta.len(),
                checksum: None,
            })
        })
        .collect()
}

/// Sum every chunk and the whole; stop early when `stop` is set (the
/// copy failed). The error names the first chunk that does not match.
fn verify(pieces: &[Piece], whole: Option<&Whole>, stop: &AtomicBool) -> Result<()> {
    let mut all = Checksum::new();
    let mut buf = vec![0u8; BLOCK];
    for p in pieces {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let file = p.open()?;
        let mut sum = Checksum::new();
        for_each_block(&file, 0, p.size, &mut buf, |b| {
            sum.update(b);
            all.update(b);
        })
        .with_context(|| format!("{}: reading (truncated?)", p.name))?;
        check_chunk(&p.name, &sum, p.checksum.as_deref())?;
    }
    check_whole(&all, whole)
}

/// A chunk's bytes must have the checksum the manifest gives (if any).
fn check_chunk(name: &str, sum: &Checksum, want: Option<&str>) -> Result<()> {
    if let Some(want) = want
        && sum.hex() != want
    {
        bail!(
            "{name}: chunk is corrupt: checksum {} but the manifest says {want}",
            sum.hex()
        );
    }
    Ok(())
}

/// All the bytes joined must have the whole file's checksum (if known).
fn check_whole(all: &Checksum, whole: Option<&Whole>) -> Result<()> {
    if let Some((_, want)) = whole
        && all.hex() != *want
    {
        bail!(
            "the joined bytes have checksum {} but the manifest says {want}",
            all.hex()
        );
    }
    Ok(())
}

/// Copy into a temporary file while another thread verifies; rename it
/// into place only when both succeeded.
fn join_to_file(
    pieces: &[Piece],
    whole: Option<&Whole>,
    out: &Path,
    args: &Args,
    progress: &mut Progress,
) -> Result<()> {
    let mut output = Output::to(Some(out))
        .force(args.force)
        .sync(args.sync)
        .create()?;
    let shown = output.name().to_string();
    let file = output
        .file()
        .with_context(|| shown.clone())?
        .with_context(|| format!("{shown}: not a regular file (join to stdout instead)"))?;
    copy_verified(pieces, whole, file, Some(file), 0, &shown, progress)?;
    progress.finish();
    output.finish()
}

/// Write every piece into `dest` from byte `start` on, checked against
/// the manifest on the way.
///
/// The kernel copies each chunk into `dest` (copy_file_range: no pass
/// through user space), while this thread reads the copied bytes back
/// through `back`, a handle that can read `dest`, and sums them: what is
/// checked is what was written. Without `back` (an output that cannot be
/// read), the chunks themselves are read for the sums. Without checksums
/// the kernel just copies.
fn copy_verified(
    pieces: &[Piece],
    whole: Option<&Whole>,
    dest: &File,
    back: Option<&File>,
    start: u64,
    shown: &str,
    progress: &mut Progress,
) -> Result<()> {
    if pieces.iter().all(|p| p.checksum.is_none()) {
        let mut at = start;
        for p in pieces {
            let file = p.open()?;
            // In steps, each under the write gate: an interrupt cuts a
            // redirected stdout back between two steps, never before one.
            let mut done = 0;
            while done < p.size {
                let n = (p.size - done).min(STEP);
                let _gate = signal::writing();
                copy_range_at(&file, done, n, dest, at + done)
                    .map_err(|e| WriteFailed::wrap_if_writing(shown, e))
                    .with_context(|| format!("{}: copying into {shown}", p.name))?;
                done += n;
            }
            at += p.size;
            progress.inc(p.size);
        }
        return Ok(());
    }
    let mut next = pieces.iter();
    let mut at = start;
    let mut plan = |_: usize| -> Option<Result<Span>> {
        let p = next.next()?;
        let dst_at = at;
        at += p.size;
        let span = (|| -> Result<Span> {
            let src = p.open()?;
            let (back, back_at) = match back {
                Some(b) => (b.try_clone().with_context(|| shown.to_string())?, dst_at),
                None => (src.try_clone().with_context(|| p.name.clone())?, 0),
            };
            Ok(Span {
                src,
                src_at: 0,
                dst: dest.try_clone().with_context(|| shown.to_string())?,
                dst_at,
                back,
                back_at,
                len: p.size,
                sync: false,
                what: format!("{}: copying into {shown}", p.name),
                output: shown.to_string(),
            })
        })();
        Some(span)
    };
    let mut all = Checksum::new();
    let mut sum = Checksum::new();
    let mut check = |index: usize, bytes: &[u8]| -> Result<()> {
        if bytes.is_empty() {
            let p = &pieces[index];
            return check_chunk(&p.name, &std::mem::take(&mut sum), p.checksum.as_deref());
        }
        sum.update(bytes);
        all.update(bytes);
        progress.inc(bytes.len() as u64);
        Ok(())
    };
    // One output file: a second copying thread would wait on its lock.
    copy_and_read_back(1, &mut plan, &mut check)?;
    check_whole(&all, whole)
}
