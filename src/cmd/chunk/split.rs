//! `fkit chunk split` and `fkit chunk plan`.

use super::copy::{ALGORITHM, Checksum, Span, copy_and_read_back, read_at};
use super::ranges::{ChunkPlan, Policy, Range, StreamChunk, StreamSplitter};
use super::round_robin;
use super::{
    Cut, MANIFEST_FORMAT, Manifest, ManifestChunk, Names, Naming, NumberKind, dir_or_dot, separator,
};
use crate::io::child::Child;
use crate::io::input::display_name;
use crate::io::output::{PendingFile, commit_all, copy_to_stdout, spill_file};
use crate::io::signal;
use crate::io::{Exit, Input, Output, Progress};
use crate::io::{FileOrStream, RegularInput};
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Split a file or stdin into numbered chunks, with a verified manifest.
///
/// Streams in constant memory. Chunks are named PREFIX + a zero-padded
/// number (big.log.0000, big.log.0001 …) in DIR; the manifest
/// PREFIX + `manifest.json` lists each chunk's name, offset, size and
/// xxh3-64 checksum, and the whole input's, for `fkit chunk join`. From a
/// file (or stdin redirected from one, from its position) the kernel
/// copies the chunks (copy_file_range), one per core, and fkit sums what
/// landed in each chunk file by reading it back; a pipe is summed as it
/// arrives. Nothing is replaced without --force; chunks
/// appear only once all are complete (fsynced first when they replace
/// files, or with --sync): an error or Ctrl-C leaves none behind.
///
/// split's options work with split's meaning: PREFIX after FILE, -b and
/// --bytes, --line-bytes, -a N,
/// --alpha (aa ab …), --numeric-suffixes[=FROM], -x, --additional-suffix,
/// -t SEP (records end with SEP; `\0` for NUL), -e (no empty chunks with
/// -n), -n K/N or l/K/N (only the Kth chunk, to stdout) and -n r/N (lines
/// dealt round robin into N files; no manifest, as those are not ranges
/// of the input; with --exec its N commands run at once). With --alpha,
/// --numeric-suffixes or -x the suffixes are split's: 2 long, growing (yz,
/// zaaa …) when more are needed. --no-manifest writes the chunks alone.
///
/// With --exec, nothing is written: each chunk is piped to CMD's stdin
/// (split --filter), run by `sh -c` with `{}`, $FILE and $FKIT_CHUNK set
/// to the chunk's name (and $FKIT_CHUNK_INDEX, $FKIT_CHUNK_OFFSET,
/// $FKIT_CHUNK_SIZE). -j N runs N at once; from a pipe, chunks are spooled
/// to anonymous temporary files in DIR so they can run in parallel. The
/// exit status is 1 if any CMD failed, and the failed chunks are named.
///
/// Examples:
///   fkit chunk split big.log --size 64M --dir parts
///   fkit chunk split big.log --size 64M --line-aligned      # like split -C 64M
///   fkit chunk split big.csv --lines 1000000 --prefix part- -a 3
///   fkit chunk split big.csv part- -l 1000000 --numeric-suffixes=1 --additional-suffix .csv
///   fkit chunk split big.iso --number 8
///   fkit chunk split big.log -n l/3/8 | wc -l               # only the 3rd of 8, whole lines
///   fkit chunk split list.txt -n r/4 --alpha                # lines dealt into 4 files
///   fkit chunk split big.log x -l 1000 --alpha --no-manifest   # split -l 1000 big.log x
///   find . -print0 | fkit chunk split -t '\0' -l 1000 - files.
///   cat big.log | fkit chunk split --size 1G
///   fkit chunk split big.log --lines 1000000 --exec 'gzip > $FILE.gz' -j 2
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// File to split; `-` or nothing reads stdin.
    file: Option<PathBuf>,

    /// Chunk names start with this, as split's PREFIX (a directory in it
    /// is where they go).
    #[arg(value_name = "PREFIX", conflicts_with = "prefix")]
    prefix_arg: Option<String>,

    #[command(flatten)]
    cut: Cut,

    /// Never cut a line: each chunk ends after the last whole line that
    /// fits (a line longer than a chunk is still cut).
    #[arg(short = 'C', long)]
    line_aligned: bool,

    /// Lines (records) end with this byte instead of a newline; `\0` is NUL.
    #[arg(short = 't', long, value_name = "SEP", value_parser = separator)]
    separator: Option<u8>,

    /// With --number: make no empty chunks.
    #[arg(short = 'e', long)]
    elide_empty_files: bool,

    #[command(flatten)]
    naming: Naming,

    /// Directory for the chunks and the manifest (created if missing).
    #[arg(short, long, value_name = "DIR")]
    dir: Option<PathBuf>,

    /// Write the manifest here instead of DIR/PREFIXmanifest.json.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,

    /// Write no manifest, as split (a glob such as `x*` then matches only
    /// the chunks; `join` takes them in order instead).
    #[arg(long, conflicts_with = "manifest")]
    no_manifest: bool,

    /// Replace existing chunks and manifest.
    #[arg(short, long)]
    force: bool,

    /// fsync the chunks and manifest even when they replace nothing
    /// (replacing files with --force always syncs the new ones first).
    #[arg(long)]
    sync: bool,

    /// No fsync of new chunks: the default now; accepted so that scripts
    /// written for it still run.
    #[arg(long, hide = true, conflicts_with = "sync")]
    no_sync: bool,

    /// Pipe each chunk to this shell command instead of writing it.
    #[arg(long, visible_alias = "filter", value_name = "CMD")]
    exec: Option<String>,

    /// With --exec: run this many commands at once (default: the cores).
    #[arg(short, long, value_name = "N", requires = "exec")]
    jobs: Option<usize>,

    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    let path = args.file.as_ref().filter(|p| p.as_os_str() != "-");
    let name = display_name(path.map(|p| p.as_path()));
    // split's PREFIX may name a directory too: the chunks go there.
    let (dir, prefix, show_dir) = match &args.prefix_arg {
        Some(p) => match p.rfind('/') {
            Some(i) => {
                let sub = Path::new(&p[..=i]);
                let dir = args
                    .dir
                    .as_ref()
                    .map_or_else(|| sub.to_path_buf(), |d| d.join(sub));
                (dir, p[i + 1..].to_string(), true)
            }
            None => (dir_or_dot(args.dir.as_ref()), p.clone(), args.dir.is_some()),
        },
        None => (
            dir_or_dot(args.dir.as_ref()),
            args.naming.prefix(path.map(|p| p.as_path())),
            args.dir.is_some(),
        ),
    };
    let sep = args.separator.unwrap_or(b'\n');
    let names = args.naming.names(&prefix, args.cut.parts())?;
    if let Some(n) = args.cut.number
        && n.kind == NumberKind::RoundRobin
    {
        let input = Input::at(path).progress(!args.quiet).open()?;
        let deal = round_robin::Deal {
            parts: n.parts,
            only: n.only,
            sep,
            elide: args.elide_empty_files,
            names: &names,
            dir: &dir,
            show_dir,
            force: args.force,
            sync: args.sync,
        };
        return match &args.exec {
            Some(cmd) => deal.exec(input, cmd, &name),
            None if n.only.is_some() => deal.to_stdout(input, &name),
            None => {
                make_dir(&dir)?;
                deal.to_files(input, &name)
            }
        };
    }
    let policy = args.cut.policy(args.line_aligned)?;
    // A regular file is read by position: a named one from its start,
    // stdin on one (`< big.log`) from stdin's position. Anything else (a
    // pipe, a device) is streamed.
    let input = Input::at(path)
        .progress(!args.quiet && args.cut.number.is_none_or(|n| n.only.is_none()))
        .open_file_or_stream()?;
    if let Some(k) = args.cut.number.and_then(|n| n.only) {
        return only_chunk(input, policy, sep, k, &name);
    }
    make_dir(&dir)?;
    let job = Job {
        policy,
        sep,
        elide: args.elide_empty_files,
        names: &names,
        dir: &dir,
        force: args.force,
        sync: args.sync,
        quiet: args.quiet,
    };
    if let Some(cmd) = &args.exec {
        let jobs = args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        return exec(&job, cmd, jobs, show_dir, input, path, &name);
    }
    let manifest_path = args
        .manifest
        .clone()
        .unwrap_or_else(|| dir.join(format!("{prefix}manifest.json")));
    // Created first, so that an existing manifest stops the split before
    // it starts; written last.
    let manifest_out = match args.no_manifest {
        true => None,
        false => Some(
            Output::to(Some(&manifest_path))
                .force(args.force)
                .sync(args.sync)
                .create()?,
        ),
    };
    let (entries, size, checksum) = match input {
        FileOrStream::File(f) => {
            let split = job.split_file(f.file(), f.start(), f.len(), &name)?;
            f.consumed()?;
            split
        }
        FileOrStream::Stream(mut stream) => job.split_stream(&mut stream, &name)?,
    };
    let (chunks, files): (Vec<ManifestChunk>, Vec<PendingFile>) = entries.into_iter().unzip();
    // All chunks are complete (and synced, with --sync): only now do they
    // get their names. Until the manifest is written too, an error or Ctrl-C
    // removes them.
    let committed = commit_all(files, args.force, args.sync)?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        algorithm: ALGORITHM.to_string(),
        source: name,
        size,
        checksum,
        chunks,
    };
    if let Some(mut out) = manifest_out {
        serde_json::to_writer_pretty(&mut out, &manifest)?;
        out.write_all(b"\n")?;
        out.finish()?;
    }
    committed.keep();
    Ok(())
}

fn make_dir(dir: &Path) -> Result<()> {
    // (create_dir_all would say "File exists" of a file in the way.)
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("{}: not a directory", dir.display());
    }
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    Ok(())
}

/// split -n K/N and l/K/N: only chunk K (1-based), to stdout.
fn only_chunk(input: FileOrStream, policy: Policy, sep: u8, k: u64, name: &str) -> Result<()> {
    let FileOrStream::File(f) = input else {
        return Err(Exit::with(
            1,
            format!(
                "{name}: --number needs the input's size: give a file (or `< file`), not a pipe"
            ),
        )
        .into());
    };
    let range = ChunkPlan::new(f.file(), f.len(), policy)
        .from(f.start())
        .separator(sep)
        .nth((k - 1) as usize)
        .context("no such chunk")?
        .with_context(|| name.to_string())?;
    let mut file = f.file().try_clone().with_context(|| name.to_string())?;
    file.seek(SeekFrom::Start(f.start() + range.offset))
        .with_context(|| name.to_string())?;
    let copied = copy_to_stdout(&mut file.take(range.length)).with_context(|| name.to_string())?;
    if copied != range.length {
        anyhow::bail!("{name}: ended early (truncated meanwhile?)");
    }
    f.consumed()
}

/// Everything a split needs to know besides its input.
struct Job<'a> {
    policy: Policy,
    /// The byte that ends a line.
    sep: u8,
    /// Leave out empty chunks.
    elide: bool,
    names: &'a Names,
    dir: &'a Path,
    force: bool,
    sync: bool,
    quiet: bool,
}

/// A finished chunk: its manifest entry and its file, not yet renamed.
type Written = (ManifestChunk, PendingFile);

impl Job<'_> {
    /// A new file for chunk `index`, beside its final name: its name, the
    /// open file (closed once the chunk is written) and the pending file
    /// (removed if dropped, renamed when the batch commits).
    fn chunk_file(&self, index: u64) -> Result<(String, File, PendingFile)> {
        let name = self.names.name(index)?;
        let (file, pending) = PendingFile::create(self.dir.join(&name), self.force)?;
        Ok((name, file, pending))
    }

    /// From a file: the kernel copies the chunks (copy_file_range), one
    /// per core, while this thread reads back what was copied and sums
    /// it. The boundaries are found lazily, so copying starts at once.
    fn split_file(
        &self,
        file: &File,
        base: u64,
        len: u64,
        name: &str,
    ) -> Result<(Vec<Written>, u64, String)> {
        let mut progress = Progress::bytes(Some(len), !self.quiet);
        let mut ranges = ChunkPlan::new(file, len, self.policy)
            .from(base)
            .separator(self.sep)
            .elide_empty(self.elide);
        let mut made: Vec<(Range, String, PendingFile)> = Vec::new();
        let mut plan = |_: usize| -> Option<Result<Span>> {
            let next = (|| -> Result<Option<Span>> {
                let Some(range) = ranges.next() else {
                    return Ok(None);
                };
                let r = range.with_context(|| name.to_string())?;
                let (chunk, dst, pending) = self.chunk_file(r.index)?;
                let shown = pending.target().display().to_string();
                let back = dst.try_clone().with_context(|| shown.clone())?;
                let src = file.try_clone().with_context(|| name.to_string())?;
                made.push((r, chunk, pending));
                Ok(Some(Span {
                    src,
                    src_at: base + r.offset,
                    dst,
                    dst_at: 0,
                    back,
                    back_at: 0,
                    len: r.length,
                    sync: self.sync,
                    what: format!("{name}: copying into {shown}"),
                    output: shown,
                }))
            })();
            next.transpose()
        };
        let mut whole = Checksum::new();
        let mut sum = Checksum::new();
        let mut sums = Vec::new();
        let mut check = |_: usize, bytes: &[u8]| -> Result<()> {
            if bytes.is_empty() {
                sums.push(std::mem::take(&mut sum).hex());
            } else {
                sum.update(bytes);
                whole.update(bytes);
                progress.inc(bytes.len() as u64);
            }
            Ok(())
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        copy_and_read_back(cores, &mut plan, &mut check)?;
        progress.finish();
        let entries = made
            .into_iter()
            .zip(sums)
            .map(|((r, chunk, pending), checksum)| {
                let entry = ManifestChunk {
                    name: chunk,
                    offset: r.offset,
                    size: r.length,
                    checksum,
                };
                (entry, pending)
            })
            .collect();
        Ok((entries, len, whole.hex()))
    }

    /// From stdin: bytes go straight into each chunk's file.
    fn split_stream(&self, input: &mut Input, name: &str) -> Result<(Vec<Written>, u64, String)> {
        let pending: Mutex<Vec<(String, PendingFile)>> = Mutex::new(Vec::new());
        let mut entries = Vec::new();
        let mut new_file = |index: u64| -> Result<File> {
            let (chunk, file, made) = self.chunk_file(index)?;
            pending
                .lock()
                .map_err(|_| anyhow::anyhow!("lock poisoned"))?
                .push((chunk, made));
            Ok(file)
        };
        let sync = self.sync;
        let mut done = |c: StreamChunk| -> Result<()> {
            if sync {
                c.file.sync_all()?;
            }
            entries.push((c.range, c.checksum));
            Ok(())
        };
        let total = StreamSplitter::new(self.policy, &mut new_file, &mut done)
            .separator(self.sep)
            .run(input)
            .with_context(|| name.to_string())?;
        let files = pending
            .into_inner()
            .map_err(|_| anyhow::anyhow!("lock poisoned"))?;
        let written = files
            .into_iter()
            .zip(entries)
            .map(|((chunk, made), (r, checksum))| {
                let entry = ManifestChunk {
                    name: chunk,
                    offset: r.offset,
                    size: r.length,
                    checksum,
                };
                (entry, made)
            })
            .collect();
        Ok((written, total.size, total.checksum))
    }
}

/// `sh -c CMD` for the chunk named `label`, reading it on stdin: `{}` in
/// CMD, $FILE (as split --filter sets it) and $FKIT_CHUNK are its name.
pub(super) fn chunk_command(cmd: &str, label: &str, index: u64) -> Command {
    let script = cmd.replace("{}", &shell_quote(label));
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(&script)
        .env("FILE", label)
        .env("FKIT_CHUNK", label)
        .env("FKIT_CHUNK_INDEX", index.to_string())
        .stdin(Stdio::piped());
    command
}

/// Where an --exec job reads its chunk from.
enum ChunkSource {
    /// The input file itself, at the chunk's offset.
    Input,
    /// A spooled copy of a chunk of stdin, from its start.
    Spool(File),
}

struct ExecJob {
    range: Range,
    label: String,
    source: ChunkSource,
}

fn exec(
    job: &Job,
    cmd: &str,
    jobs: usize,
    show_dir: bool,
    input: FileOrStream,
    path: Option<&PathBuf>,
    name: &str,
) -> Result<()> {
    let (file, stream) = match input {
        FileOrStream::File(file) => (Some(file), None),
        FileOrStream::Stream(stream) => (None, Some(stream)),
    };
    let file = file.as_ref();
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let label = |index: u64| -> Result<String> {
        let chunk = job.names.name(index)?;
        Ok(if show_dir {
            job.dir.join(chunk).display().to_string()
        } else {
            chunk
        })
    };
    let (tx, rx) = crossbeam_channel::bounded::<ExecJob>(jobs);
    let fed = std::thread::scope(|scope| -> Result<()> {
        for _ in 0..jobs {
            let rx = rx.clone();
            let failures = &failures;
            scope.spawn(move || {
                for j in rx {
                    // Interrupted: the running commands got the signal;
                    // start no more (the feeder stops when all have left).
                    if signal::received().is_some() {
                        break;
                    }
                    if let Err(e) = run_one(cmd, &j, path, file) {
                        let mut list = failures.lock().unwrap_or_else(|p| p.into_inner());
                        list.push(format!("{}: {e:#}", j.label));
                    }
                }
            });
        }
        drop(rx);
        let fed = (|| -> Result<()> {
            match (file, stream) {
                (Some(f), _) => {
                    let plan = ChunkPlan::new(f.file(), f.len(), job.policy)
                        .from(f.start())
                        .separator(job.sep)
                        .elide_empty(job.elide);
                    for range in plan {
                        let range = range.with_context(|| name.to_string())?;
                        let job = ExecJob {
                            label: label(range.index)?,
                            range,
                            source: ChunkSource::Input,
                        };
                        if tx.send(job).is_err() {
                            break;
                        }
                    }
                }
                (None, stream) => {
                    let mut input = stream.context("no input")?;
                    let mut new_file = |_: u64| -> Result<File> {
                        spill_file(Some(job.dir)).context("spooling a chunk")
                    };
                    let mut done = |c: StreamChunk| -> Result<()> {
                        let job = ExecJob {
                            label: label(c.range.index)?,
                            range: c.range,
                            source: ChunkSource::Spool(c.file),
                        };
                        tx.send(job)
                            .map_err(|_| anyhow::anyhow!("the command runners stopped"))
                    };
                    StreamSplitter::new(job.policy, &mut new_file, &mut done)
                        .separator(job.sep)
                        .run(&mut input)
                        .with_context(|| name.to_string())?;
                }
            }
            Ok(())
        })();
        drop(tx);
        fed
    });
    // fkit ends as the commands did, not with the feeder's complaint.
    if let Some(sig) = signal::received() {
        return Err(Exit::silent(128 + sig).into());
    }
    fed?;
    let failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    super::commands_succeeded(&failures)?;
    match file {
        Some(f) => f.consumed(),
        None => Ok(()),
    }
}

/// Run CMD for one chunk with the chunk on its stdin.
fn run_one(
    cmd: &str,
    job: &ExecJob,
    path: Option<&PathBuf>,
    input: Option<&RegularInput>,
) -> Result<()> {
    // Each job reads its own descriptor (std then splices file to pipe in
    // the kernel); stdin's is shared, so it is read by position.
    let mut feed = match (&job.source, path, input) {
        (ChunkSource::Input, Some(p), _) => {
            let mut file = Input::at(Some(p)).open_file()?.into_file();
            file.seek(SeekFrom::Start(job.range.offset))?;
            Feed::Own(file.take(job.range.length))
        }
        (ChunkSource::Input, None, Some(f)) => Feed::Shared(io::BufReader::with_capacity(
            256 << 10,
            ReadAt {
                file: f.file(),
                at: f.start() + job.range.offset,
            }
            .take(job.range.length),
        )),
        (ChunkSource::Input, None, None) => anyhow::bail!("no input file"),
        (ChunkSource::Spool(f), _, _) => {
            let mut file = f.try_clone()?;
            file.seek(SeekFrom::Start(0))?;
            Feed::Own(file.take(job.range.length))
        }
    };
    let mut command = chunk_command(cmd, &job.label, job.range.index);
    command
        .env("FKIT_CHUNK_OFFSET", job.range.offset.to_string())
        .env("FKIT_CHUNK_SIZE", job.range.length.to_string());
    let mut child = Child::spawn(&mut command).context("cannot run sh")?;
    if let Some(mut stdin) = child.take_stdin() {
        let fed = match &mut feed {
            Feed::Own(file) => io::copy(file, &mut stdin),
            Feed::Shared(shared) => io::copy(shared, &mut stdin),
        };
        match fed {
            // A command that stops reading early (head) is not a failure
            // of fkit's; its exit status decides.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Err(e) => {
                child.kill();
                return Err(e).context("feeding the command");
            }
            Ok(_) => {}
        }
    }
    let status = child.wait_status()?;
    if status.success() {
        return Ok(());
    }
    match status.code() {
        Some(code) => anyhow::bail!("exit status {code}"),
        None => anyhow::bail!("killed by a signal ({status})"),
    }
}

/// Where a job's bytes come from: its own descriptor (std splices it to
/// the pipe in the kernel), or stdin's, shared, read by position.
enum Feed<'a> {
    Own(io::Take<File>),
    Shared(io::BufReader<io::Take<ReadAt<'a>>>),
}

/// Reads a shared file from `at` on, by position: its offset is not moved.
struct ReadAt<'a> {
    file: &'a File,
    at: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_at(self.file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// `name` as one shell word.
fn shell_quote(name: &str) -> String {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-/+,:@%".contains(&b));
    if plain && !name.is_empty() {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', r"'\''"))
    }
}
