//! `fkit gzip`: gzip and bzip2 as GNU gzip behaves, on every core.

use crate::codec::gzip::{Engine, GzipOptions, parse_header};
use crate::codec::{self, Source, Trailing, Window};
use crate::io::counted::Counted;
use crate::io::detect::Format;
use crate::io::error::{Outcome, outcome};
use crate::io::{Exit, Input, MapOrStream, MappedFile, Output, Size};
use anyhow::{Context, Result, anyhow, bail};
use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Compress or decompress files in gzip or bzip2 format, on every core.
///
/// Behaves as GNU gzip: each FILE becomes FILE.gz (FILE.bz2 with --bzip2),
/// keeping its mode and modification time, and FILE is removed only after
/// FILE.gz is completely written and synced (fsync: the one copy of the data
/// is on disk before the other goes; with -k nothing is removed, and FILE.gz
/// is synced only with --sync or when it replaces a file). With -d, FILE.gz becomes FILE
/// again. With no FILE, or `-`, reads stdin and writes stdout. Compressed
/// data is never written to a terminal without -f. Existing outputs,
/// symbolic links and devices are left alone without -f. Many FILEs are
/// processed at the same time on all cores.
///
/// Compression streams in constant memory: the input is cut into blocks
/// (--block-size, 1 MiB) compressed on -p cores (the pigz technique). Each
/// gzip block is written as its own gzip member with a small index record in
/// its header: any gzip tool reads the file, and `fkit gzip -d` inflates it
/// on every core and can extract a byte range (--range) without inflating
/// the rest. Other gzip files decompress on one core (ISA-L, when built with
/// the `isal` feature). bzip2 blocks become concatenated streams; fkit finds
/// the blocks of any bzip2 file and decodes them on every core (lbzip2's
/// technique). Decompression streams in constant memory too.
///
/// Decompression, -t and -l detect the format from the magic bytes, never
/// from the name. Every member of a multi-member gzip file and every stream
/// of a concatenated bzip2 file is decoded. Damage is reported with the file
/// and the byte offset, with exit status 1, and the input is kept. Exit
/// status 2 means a warning (trailing garbage, a file skipped), as gzip.
///
/// Examples:
///   fkit gzip access.log                    # access.log -> access.log.gz
///   fkit gzip -d access.log.gz              # and back
///   fkit gzip -9 -k -p 4 big.tar            # keep big.tar, use 4 cores
///   tar c dir | fkit gzip > dir.tar.gz      # stdin to stdout
///   fkit gzip -dc logs/*.gz | grep ERROR    # decompress to stdout
///   fkit gzip --bzip2 data.csv              # data.csv.bz2
///   fkit gzip -t *.gz && fkit gzip -l --json *.gz
///   fkit gzip -d --range 1G:4K huge.log.gz  # 4 KiB at offset 1 GiB
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files to compress or decompress; `-` or none means stdin to stdout.
    files: Vec<PathBuf>,

    /// Decompress.
    #[arg(short, long, visible_alias = "uncompress")]
    decompress: bool,

    /// Write to stdout and keep the input files.
    #[arg(short = 'c', long = "stdout", visible_alias = "to-stdout")]
    stdout: bool,

    /// Keep the input files.
    #[arg(short, long)]
    keep: bool,

    /// Overwrite outputs, follow symbolic links, write compressed data to a terminal.
    #[arg(short, long)]
    force: bool,

    /// Test the integrity of compressed files.
    #[arg(short, long)]
    test: bool,

    /// List compressed size, uncompressed size, ratio and name.
    #[arg(short, long)]
    list: bool,

    /// With --list, print JSON.
    #[arg(long, requires = "list")]
    json: bool,

    /// Compression level: 1 fastest ... 9 best (bzip2: block size x 100 kB). Default 6 (bzip2: 9).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=9))]
    level: Option<u32>,
    /// Compress fastest (level 1; -2 ... -8 are the levels between).
    #[arg(short = '1', long = "fast")]
    l1: bool,
    #[arg(short = '2', hide = true)]
    l2: bool,
    #[arg(short = '3', hide = true)]
    l3: bool,
    #[arg(short = '4', hide = true)]
    l4: bool,
    #[arg(short = '5', hide = true)]
    l5: bool,
    #[arg(short = '6', hide = true)]
    l6: bool,
    #[arg(short = '7', hide = true)]
    l7: bool,
    #[arg(short = '8', hide = true)]
    l8: bool,
    /// Compress best (level 9).
    #[arg(short = '9', long = "best")]
    l9: bool,

    /// Compress directories' files too (recursively).
    #[arg(short, long)]
    recursive: bool,

    /// Suffix of compressed files (default .gz, or .bz2).
    #[arg(short = 'S', long, value_name = "SUF")]
    suffix: Option<String>,

    /// Report each file's ratio (and `OK` with --test).
    #[arg(short, long)]
    verbose: bool,

    /// Print no warnings.
    #[arg(short, long)]
    quiet: bool,

    /// Do not store (compress) or restore (decompress) the original name and time.
    #[arg(short = 'n', long = "no-name")]
    no_name: bool,

    /// Store or restore the original name and time (the default when compressing).
    #[arg(short = 'N', long = "name", overrides_with = "no_name")]
    name: bool,

    /// Threads to use (default: all cores).
    #[arg(
        short = 'p',
        long = "threads",
        visible_alias = "processes",
        value_name = "N"
    )]
    threads: Option<usize>,

    /// Compressed format when compressing (decompression reads the magic bytes).
    #[arg(long, value_enum, value_name = "FMT")]
    format: Option<CompressedFormat>,

    /// Compress to bzip2 (same as --format bz2).
    #[arg(long, short = 'j', conflicts_with = "format")]
    bzip2: bool,

    /// Uncompressed bytes per parallel gzip block.
    #[arg(short = 'b', long, value_name = "SIZE", default_value = "1M")]
    block_size: Size,

    /// With -d, write only LEN bytes from uncompressed OFFSET to stdout ("OFFSET:LEN", or "OFFSET:" for the rest).
    #[arg(long, value_name = "OFFSET:LEN", requires = "decompress")]
    range: Option<String>,

    /// fsync every output file, even when nothing is removed or replaced.
    #[arg(long, visible_alias = "synchronous")]
    sync: bool,

    /// Deflate engine for compression (for measurements).
    #[arg(long, value_enum, default_value = "auto", hide = true)]
    engine: Engine,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum CompressedFormat {
    #[value(alias = "gzip")]
    Gz,
    #[value(alias = "bzip2")]
    Bz2,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Compress,
    Decompress,
    Test,
}

/// Everything a file's job needs to know.
struct Plan {
    mode: Mode,
    format: CompressedFormat,
    level: u32,
    threads: usize,
    block: usize,
    suffix: String,
    to_stdout: bool,
    keep: bool,
    force: bool,
    sync: bool,
    verbose: bool,
    quiet: bool,
    no_name: bool,
    restore_name: bool,
    range: Option<(u64, u64)>,
    engine: Engine,
    /// A progress bar on a terminal (one file at a time, not --quiet).
    progress: bool,
}

/// How a file went, short of an error.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Ok,
    Warning,
}

pub fn run(args: Args) -> Result<()> {
    let format = match (args.bzip2, args.format) {
        (true, _) => CompressedFormat::Bz2,
        (false, f) => f.unwrap_or(CompressedFormat::Gz),
    };
    let digits = [
        args.l1, args.l2, args.l3, args.l4, args.l5, args.l6, args.l7, args.l8, args.l9,
    ];
    let default_level = if format == CompressedFormat::Bz2 {
        9
    } else {
        6
    };
    let level = args
        .level
        .or_else(|| digits.iter().rposition(|&d| d).map(|i| i as u32 + 1))
        .unwrap_or(default_level);
    let suffix = args.suffix.clone().unwrap_or_else(|| match format {
        CompressedFormat::Gz => ".gz".into(),
        CompressedFormat::Bz2 => ".bz2".into(),
    });
    if suffix.is_empty() || suffix.contains('/') {
        return Err(Exit::usage("invalid suffix (must be non-empty, without '/')").into());
    }
    let block = args.block_size.as_usize();
    if !(4096..=codec::gzip::MAX_BLOCK).contains(&block) {
        return Err(Exit::usage("--block-size must be between 4K and 256M").into());
    }
    let range = args.range.as_deref().map(parse_range).transpose()?;
    let mode = if args.test {
        Mode::Test
    } else if args.decompress || args.list {
        Mode::Decompress
    } else {
        Mode::Compress
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut inputs: Vec<Option<PathBuf>> = if args.files.is_empty() {
        vec![None]
    } else {
        args.files
            .iter()
            .map(|f| (f.as_os_str() != "-").then(|| f.clone()))
            .collect()
    };
    if args.recursive {
        inputs = expand_dirs(inputs, mode == Mode::Compress && !args.force, &suffix);
    }
    let plan = Plan {
        mode,
        format,
        level,
        threads,
        block,
        suffix,
        to_stdout: args.stdout || range.is_some(),
        keep: args.keep || args.stdout,
        force: args.force,
        sync: args.sync,
        verbose: args.verbose,
        quiet: args.quiet,
        no_name: args.no_name,
        restore_name: args.name,
        range,
        engine: args.engine,
        progress: !args.quiet && inputs.len() == 1,
    };
    if args.list {
        return list(&inputs, &plan, args.json);
    }
    let writes_stdout = plan.to_stdout || inputs.iter().any(|i| i.is_none());
    if mode == Mode::Compress && writes_stdout && !plan.force && io::stdout().is_terminal() {
        bail!("compressed data not written to a terminal (use -f to force it; see --help)");
    }
    let (worst, failed) = run_all(&inputs, &plan, writes_stdout);
    if failed {
        return Err(Exit::silent(1).into());
    }
    if worst == Status::Warning {
        return Err(Exit::silent(2).into());
    }
    Ok(())
}

/// Process every input, several at once when they go to separate files;
/// returns the worst status and whether any failed.
fn run_all(inputs: &[Option<PathBuf>], plan: &Plan, writes_stdout: bool) -> (Status, bool) {
    let report = |input: &Option<PathBuf>, plan: &Plan| match process(input.as_deref(), plan) {
        Ok(status) => (status, false),
        Err(e) => match outcome(&e) {
            // A closed pipe on stdout (`fkit gzip -dc f.gz | head`) ends
            // quietly, as it does for every command.
            Outcome::Quiet(code) => (Status::Ok, code != 0),
            Outcome::Report(_, message) => {
                eprintln!("fkit: gzip: {message}");
                (Status::Ok, true)
            }
        },
    };
    // Output to stdout must keep the files' order; one file uses all cores.
    if writes_stdout || inputs.len() == 1 || plan.threads == 1 {
        return inputs
            .iter()
            .map(|i| report(i, plan))
            .fold((Status::Ok, false), merge);
    }
    // The async technique: as many files in flight as there are cores, the
    // cores shared out among them.
    let outer = plan.threads.min(inputs.len());
    let inner = Plan {
        threads: plan.threads.div_ceil(outer),
        ..plan.clone()
    };
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..outer)
            .map(|_| {
                s.spawn(|| {
                    let mut acc = (Status::Ok, false);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else {
                            return acc;
                        };
                        acc = merge(acc, report(input, &inner));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or((Status::Ok, true)))
            .fold((Status::Ok, false), merge)
    })
}

fn merge(a: (Status, bool), b: (Status, bool)) -> (Status, bool) {
    (a.0.max(b.0), a.1 || b.1)
}

impl Clone for Plan {
    fn clone(&self) -> Plan {
        Plan {
            suffix: self.suffix.clone(),
            ..*self
        }
    }
}

/// "OFFSET:LEN" or "OFFSET:" (to the end), sizes as 4K, 1G, 0x1000.
fn parse_range(text: &str) -> Result<(u64, u64)> {
    let usage = || {
        Exit::usage(format!(
            "--range {text}: expected OFFSET:LEN, like 1G:4K or 0:"
        ))
    };
    let (offset, len) = text.split_once(':').ok_or_else(usage)?;
    let offset: Size = offset.parse().map_err(|_| usage())?;
    let len = if len.is_empty() {
        u64::MAX
    } else {
        len.parse::<Size>().map_err(|_| usage())?.bytes()
    };
    Ok((offset.bytes(), len))
}

/// Replace directories by the files under them (-r). When compressing,
/// files that already have the suffix are skipped, as gzip -r does.
fn expand_dirs(
    inputs: Vec<Option<PathBuf>>,
    skip_suffixed: bool,
    suffix: &str,
) -> Vec<Option<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<Option<PathBuf>>, skip: &dyn Fn(&Path) -> bool) {
        let Ok(entries) = fs::read_dir(dir) else {
            out.push(Some(dir.to_path_buf()));
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            match fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => walk(&p, out, skip),
                _ if skip(&p) => {}
                _ => out.push(Some(p)),
            }
        }
    }
    let skip = |p: &Path| skip_suffixed && p.to_string_lossy().ends_with(suffix);
    let mut out = Vec::new();
    for input in inputs {
        match input {
            Some(p) if fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) => {
                walk(&p, &mut out, &skip)
            }
            other => out.push(other),
        }
    }
    out
}

fn warn(plan: &Plan, msg: impl std::fmt::Display) -> Result<Status> {
    if !plan.quiet {
        eprintln!("fkit: gzip: {msg}");
    }
    Ok(Status::Warning)
}

fn process(input: Option<&Path>, plan: &Plan) -> Result<Status> {
    let Some(path) = input else {
        return match plan.mode {
            Mode::Compress => compress_stdin(plan),
            _ => decompress_stdin(plan),
        };
    };
    let shown = path.display();
    let link = fs::symlink_metadata(path).with_context(|| shown.to_string())?;
    if link.is_dir() {
        return warn(plan, format!("{shown}: is a directory -- ignored"));
    }
    let writes_file = !plan.to_stdout && plan.mode != Mode::Test;
    if link.file_type().is_symlink() && !plan.force && writes_file {
        return warn(
            plan,
            format!("{shown}: is a symbolic link -- ignored (use -f to follow it)"),
        );
    }
    let meta = fs::metadata(path).with_context(|| shown.to_string())?;
    if !meta.is_file() && !plan.force {
        return warn(
            plan,
            format!("{shown}: is not a directory or a regular file -- ignored"),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if writes_file && !plan.keep && meta.nlink() > 1 && !plan.force {
            let others = meta.nlink() - 1;
            return warn(
                plan,
                format!("{shown}: has {others} other link(s) -- unchanged"),
            );
        }
    }
    match plan.mode {
        Mode::Compress => compress_file(path, &meta, plan),
        _ => decompress_file(path, &meta, plan),
    }
}

/// Where decoded or encoded bytes go: the file beside the input (written
/// atomically, given the input's mode and times), stdout, or nowhere for
/// `-t`.
fn create_output(
    plan: &Plan,
    target: Option<&Path>,
    meta: Option<&fs::Metadata>,
    mtime: Option<filetime::FileTime>,
) -> Result<Output> {
    // Without -k the input goes once its output is finished: the output
    // is then the only copy, synced first.
    let mut spec = Output::to(target)
        .force(plan.force)
        .sync(plan.sync)
        .last_copy(!plan.keep)
        .discard(plan.mode == Mode::Test);
    if let Some(meta) = meta {
        spec = spec.keep_metadata(meta);
    }
    if let Some(mtime) = mtime {
        spec = spec.mtime(mtime);
    }
    spec.create()
}

fn gzip_options(plan: &Plan, name: Option<Vec<u8>>, mtime: u32) -> GzipOptions {
    GzipOptions {
        level: plan.level,
        threads: plan.threads,
        block: plan.block,
        name,
        mtime,
        engine: plan.engine,
    }
}

fn compress_into(
    plan: &Plan,
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    name: Option<Vec<u8>>,
    mtime: u32,
) -> Result<u64> {
    match plan.format {
        CompressedFormat::Gz => codec::gzip::compress(input, out, &gzip_options(plan, name, mtime)),
        CompressedFormat::Bz2 => codec::bzip2::compress(input, out, plan.level, plan.threads),
    }
}

fn compress_stdin(plan: &Plan) -> Result<Status> {
    let mut input = Input::at(None::<&Path>).read_ahead(PIPE_AHEAD).open()?;
    let mut out = create_output(plan, None, None, None)?;
    compress_into(plan, &mut input, &mut out, None, 0).context("<stdin>")?;
    out.finish()?;
    Ok(Status::Ok)
}

fn compress_file(path: &Path, meta: &fs::Metadata, plan: &Plan) -> Result<Status> {
    let shown = path.display().to_string();
    if !plan.to_stdout && !plan.force && shown.ends_with(&plan.suffix) {
        return warn(
            plan,
            format!("{shown}: already has {} suffix -- unchanged", plan.suffix),
        );
    }
    let target = PathBuf::from(format!("{shown}{}", plan.suffix));
    if !plan.to_stdout && !plan.force && fs::symlink_metadata(&target).is_ok() {
        return warn(
            plan,
            format!(
                "{}: already exists; not overwritten (use -f)",
                target.display()
            ),
        );
    }
    let mut file = Input::at(Some(path)).progress(plan.progress).open()?;
    let mtime = filetime::FileTime::from_last_modification_time(meta);
    let (name, stamp) = if plan.no_name {
        (None, 0)
    } else {
        let name = path.file_name().map(|n| n.as_encoded_bytes().to_vec());
        (name, mtime.unix_seconds().clamp(0, u32::MAX as i64) as u32)
    };
    let mut out = create_output(
        plan,
        (!plan.to_stdout).then_some(target.as_path()),
        Some(meta),
        Some(mtime),
    )?;
    let written = {
        let mut counted = Counted::new(&mut out);
        let read = compress_into(plan, &mut file, &mut counted, name, stamp)
            .with_context(|| shown.clone())?;
        (read, counted.count())
    };
    out.finish()?;
    if plan.to_stdout {
        return Ok(Status::Ok);
    }
    // gzip keeps the input until the output is synced; it is now.
    if !plan.keep {
        fs::remove_file(path).with_context(|| shown.clone())?;
    }
    if plan.verbose {
        let (read, wrote) = written;
        let saved = if read == 0 {
            0.0
        } else {
            100.0 * (read as f64 - wrote as f64) / read as f64
        };
        let what = if plan.keep {
            "created"
        } else {
            "replaced with"
        };
        eprintln!("{shown}:\t{saved:5.1}% -- {what} {}", target.display());
    }
    Ok(Status::Ok)
}

/// The name of the decompressed file: FILE.gz -> FILE, x.tgz -> x.tar.
fn strip_suffix(name: &str, suffix: &str) -> Option<String> {
    let known = [
        (suffix, ""),
        (".gz", ""),
        (".bz2", ""),
        (".z", ""),
        (".Z", ""),
        ("-gz", ""),
        ("-z", ""),
        ("_z", ""),
        (".bz", ""),
        (".tgz", ".tar"),
        (".taz", ".tar"),
        (".tbz2", ".tar"),
        (".tbz", ".tar"),
    ];
    let file = name.rsplit('/').next().unwrap_or(name);
    known.iter().find_map(|(suf, new)| {
        (file.len() > suf.len() && name.ends_with(suf))
            .then(|| format!("{}{new}", &name[..name.len() - suf.len()]))
    })
}

fn decompress_stdin(plan: &Plan) -> Result<Status> {
    let stdin = io::stdin();
    if stdin.is_terminal() && !plan.force {
        bail!("compressed data not read from a terminal (use -f to force it; see --help)");
    }
    match Input::at(None::<&Path>)
        .read_ahead(PIPE_AHEAD)
        .open_map_or_stream()?
    {
        MapOrStream::Map(map) => decompress_stdin_map(plan, map),
        MapOrStream::Stream(input) => decompress_stdin_stream(plan, input),
    }
}

/// Blocks of 256 KiB a pipe is read ahead (see [`ReadAhead`]).
///
/// [`ReadAhead`]: crate::io::ReadAhead
const PIPE_AHEAD: usize = 16;

/// A pipe: read ahead on a thread of its own, so that a pipeline stopped
/// on an error never waits for a stalled writer.
fn decompress_stdin_stream(plan: &Plan, mut input: Input) -> Result<Status> {
    let mut head = Vec::with_capacity(4);
    (&mut input)
        .take(4)
        .read_to_end(&mut head)
        .context("<stdin>")?;
    let mut reader = io::Cursor::new(head.clone()).chain(input);
    let Some(format) = Format::detect(&head) else {
        return pass_through(plan, "<stdin>", &mut reader);
    };
    let mut out = create_output(plan, None, None, None)?;
    let mut window = Window::new(&mut out, plan.range);
    let trailing = codec::decompress(
        format,
        Source::Stream(&mut reader),
        &mut window,
        plan.threads,
    )
    .context("<stdin>")?;
    out.finish()?;
    report_trailing(plan, "<stdin>", trailing)
}

/// Stdin on a regular file (`< big.gz`) is mapped like a named file, so
/// that members and blocks are found and decoded on every core.
fn decompress_stdin_map(plan: &Plan, map: MappedFile) -> Result<Status> {
    let shown = "<stdin>";
    map.advise_sequential();
    match Format::detect(&map[..map.len().min(4)]) {
        None => pass_through(plan, shown, &mut &map[..]),
        Some(format) => {
            let mut out = create_output(plan, None, None, None)?;
            let trailing = decode_mapped(&map, format, &mut out, plan, shown)?;
            out.finish()?;
            report_trailing(plan, shown, trailing)
        }
    }
}

/// Decode the mapped compressed file into `out`: gzip members or bzip2
/// blocks on `plan.threads` cores where they can be found.
fn decode_mapped(
    map: &MappedFile,
    format: Format,
    out: &mut Output,
    plan: &Plan,
    shown: &str,
) -> Result<Option<Trailing>> {
    let mut window = Window::new(out, plan.range).progress(plan.progress);
    codec::decompress(format, Source::File(map), &mut window, plan.threads)
        .with_context(|| shown.to_string())
}

/// `gzip -cdf` copies input that is not compressed unchanged (as zcat -f).
fn pass_through(plan: &Plan, shown: &str, input: &mut dyn Read) -> Result<Status> {
    if !(plan.force && plan.to_stdout && plan.mode == Mode::Decompress) {
        bail!("{shown}: not in gzip or bzip2 format");
    }
    let mut out = Output::stdout().create()?;
    io::copy(input, &mut out).with_context(|| shown.to_string())?;
    out.finish()?;
    Ok(Status::Ok)
}

fn report_trailing(plan: &Plan, shown: &str, trailing: Option<Trailing>) -> Result<Status> {
    match trailing {
        None => Ok(Status::Ok),
        // gzip ignores trailing zeros (tape padding) and mentions them only with -v.
        Some(t) if t.only_zeros && !plan.verbose => Ok(Status::Ok),
        Some(t) if t.only_zeros => warn(
            plan,
            format!(
                "{shown}: decompression OK, trailing zero bytes ignored (from byte {})",
                t.at
            ),
        ),
        Some(t) => warn(
            plan,
            format!(
                "{shown}: decompression OK, trailing garbage ignored (from byte {})",
                t.at
            ),
        ),
    }
}

fn decompress_file(path: &Path, meta: &fs::Metadata, plan: &Plan) -> Result<Status> {
    let shown = path.display().to_string();
    let writes_file = !plan.to_stdout && plan.mode != Mode::Test;
    let mut target = None;
    if writes_file {
        match strip_suffix(&shown, &plan.suffix) {
            Some(t) => target = Some(PathBuf::from(t)),
            None => return warn(plan, format!("{shown}: unknown suffix -- ignored")),
        }
    }
    // SIGBUS if another process truncates the file while it is mapped; the
    // map is what lets members be inflated in parallel.
    let map = MappedFile::open(path)?;
    map.advise_sequential();
    let Some(format) = Format::detect(&map[..map.len().min(4)]) else {
        return pass_through(plan, &shown, &mut &map[..]);
    };
    let header = (format == Format::Gzip)
        .then(|| parse_header(&map).ok())
        .flatten();
    if plan.restore_name && writes_file {
        let stored = header.as_ref().and_then(|h| h.name.as_ref());
        // Only the last component: a stored name must not place the output elsewhere.
        if let Some(name) = stored.and_then(|n| {
            Path::new(&*String::from_utf8_lossy(n))
                .file_name()
                .map(|n| n.to_owned())
        }) {
            target = Some(path.with_file_name(name));
        }
    }
    if let Some(t) = &target
        && !plan.force
        && fs::symlink_metadata(t).is_ok()
    {
        return warn(
            plan,
            format!("{}: already exists; not overwritten (use -f)", t.display()),
        );
    }
    let mtime = match header.map(|h| h.mtime) {
        Some(t) if plan.restore_name && t > 0 => filetime::FileTime::from_unix_time(t as i64, 0),
        _ => filetime::FileTime::from_last_modification_time(meta),
    };
    let mut out = create_output(plan, target.as_deref(), Some(meta), Some(mtime))?;
    let trailing = decode_mapped(&map, format, &mut out, plan, &shown)?;
    out.finish()?;
    let Some(target) = target else {
        if plan.mode == Mode::Test && plan.verbose {
            eprintln!("{shown}:\t OK");
        }
        return report_trailing(plan, &shown, trailing);
    };
    drop(map);
    if !plan.keep {
        fs::remove_file(path).with_context(|| shown.clone())?;
    }
    if plan.verbose {
        let what = if plan.keep {
            "created"
        } else {
            "replaced with"
        };
        eprintln!("{shown}:\t -- {what} {}", target.display());
    }
    report_trailing(plan, &shown, trailing)
}

/// How many bytes `src` decodes to (for `--list`), decoded into nothing.
fn decoded_len(src: Source, format: Format, threads: usize) -> Result<u64> {
    let mut count = Counted::new(io::sink());
    {
        let mut w: &mut dyn Write = &mut count;
        let mut window = Window::new(&mut w, None);
        codec::decompress(format, src, &mut window, threads)?;
    }
    Ok(count.count())
}

/// `--list` of an input that cannot be mapped (a pipe): decoded to count.
fn list_stream(input: Input, threads: usize) -> Result<Listing> {
    let shown = &input.name().to_string();
    let mut data = Counted::new(input);
    let head = io::BufRead::fill_buf(&mut data)?.to_vec();
    let format =
        Format::detect(&head).ok_or_else(|| anyhow!("{shown}: not in gzip or bzip2 format"))?;
    let uncompressed = decoded_len(Source::Stream(&mut data), format, threads)
        .with_context(|| shown.to_string())?;
    let compressed = data.count();
    Ok(Listing {
        name: shown.to_string(),
        format: format.name(),
        compressed,
        uncompressed,
        ratio: ratio(compressed, uncompressed, 0),
        header_bytes: 0,
    })
}

/// One line of `--list`.
#[derive(serde::Serialize)]
struct Listing {
    name: String,
    format: &'static str,
    compressed: u64,
    uncompressed: u64,
    ratio: f64,
    #[serde(skip)]
    header_bytes: u64,
}

fn ratio(compressed: u64, uncompressed: u64, header_bytes: u64) -> f64 {
    if uncompressed == 0 {
        return 0.0;
    }
    // As gzip -l: the share saved, not counting the header and trailer.
    100.0 * (uncompressed as f64 - (compressed as f64 - header_bytes as f64)) / uncompressed as f64
}

fn list_one(input: Option<&Path>, plan: &Plan) -> Result<Listing> {
    let shown = crate::io::input::display_name(input);
    let map = match Input::at(input)
        .read_ahead(PIPE_AHEAD)
        .open_map_or_stream()?
    {
        MapOrStream::Map(map) => map,
        MapOrStream::Stream(stream) => return list_stream(stream, plan.threads),
    };
    let format = Format::detect(&map[..map.len().min(4)])
        .ok_or_else(|| anyhow!("{shown}: not in gzip or bzip2 format"))?;
    let compressed = map.len() as u64;
    let mut name = strip_suffix(&shown, &plan.suffix).unwrap_or_else(|| shown.clone());
    let (uncompressed, header_bytes) = match format {
        Format::Gzip => {
            let header = parse_header(&map).map_err(|_| anyhow!("{shown}: invalid gzip header"))?;
            if plan.restore_name
                && let Some(n) = &header.name
            {
                name = String::from_utf8_lossy(n).into_owned();
            }
            if map.len() < header.len + 8 {
                bail!("{shown}: unexpected end of file (truncated input)");
            }
            // As gzip: the last member's length field, unless fkit's index
            // gives the exact total of every member.
            let tail = &map[map.len() - 4..];
            let isize = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
            (
                codec::gzip::indexed_length(&map).unwrap_or(isize),
                header.len as u64 + 8,
            )
        }
        Format::Bzip2 => (
            decoded_len(Source::File(&map), format, plan.threads).with_context(|| shown.clone())?,
            0,
        ),
    };
    Ok(Listing {
        name,
        format: format.name(),
        compressed,
        uncompressed,
        ratio: ratio(compressed, uncompressed, header_bytes),
        header_bytes,
    })
}

fn list(inputs: &[Option<PathBuf>], plan: &Plan, json: bool) -> Result<()> {
    let mut rows = Vec::new();
    let mut failed = false;
    for input in inputs {
        match list_one(input.as_deref(), plan) {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("fkit: gzip: {e:#}");
                failed = true;
            }
        }
    }
    let mut out = Output::stdout().create()?;
    if json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "         compressed        uncompressed  ratio uncompressed_name"
        )?;
        for r in &rows {
            writeln!(
                out,
                "{:>19} {:>19} {:5.1}% {}",
                r.compressed, r.uncompressed, r.ratio, r.name
            )?;
        }
        if rows.len() > 1 {
            let c: u64 = rows.iter().map(|r| r.compressed).sum();
            let u: u64 = rows.iter().map(|r| r.uncompressed).sum();
            // gzip's totals line counts the header bytes of the last file only.
            let h = rows.last().map_or(0, |r| r.header_bytes);
            writeln!(out, "{c:>19} {u:>19} {:5.1}% (totals)", ratio(c, u, h))?;
        }
    }
    out.finish()?;
    if failed {
        return Err(Exit::silent(1).into());
    }
    Ok(())
}
