//! `fkit gzip`: gzip, bzip2, zstd and xz as GNU gzip behaves, on every core.

use crate::codec::gzip::{Engine, GzipOptions, parse_header};
use crate::codec::zlib::{self, Container, ZipEntry};
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

/// Compress or decompress files in gzip, bzip2, zstd or xz format, on every core.
///
/// Behaves as GNU gzip: each FILE becomes FILE.gz (FILE.bz2 with --bzip2,
/// FILE.zst with --zstd, FILE.xz with --xz), keeping its mode and
/// modification time, and FILE is removed only after FILE.gz is completely
/// written and synced (fsync: the one copy of the data is on disk before
/// the other goes; with -k nothing is removed, and FILE.gz is synced only
/// with --sync or when it replaces a file). With -d, FILE.gz becomes FILE
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
/// technique). zstd is written as independent frames with a seek table
/// (the zstd seekable format, which zstd -d reads as ordinary frames), so
/// fkit decodes its own zstd files on every core and --range reads only the
/// frames it needs; xz is written by liblzma's multi-threaded encoder in
/// blocks with their sizes recorded (as xz -T writes them, but equal in
/// size for every core), and any file of several such blocks is decoded
/// on every core through its index, --range only the blocks it touches.
/// Decompression streams in constant memory too.
///
/// Decompression, -t and -l detect the format from the magic bytes, never
/// from the name. Every member of a multi-member gzip file and every stream
/// of a concatenated bzip2 file is decoded. Damage is reported with the file
/// and the byte offset, with exit status 1, and the input is kept. Exit
/// status 2 means a warning (trailing garbage, a file skipped), as gzip.
/// With -f and output to stdout (-cdf), data that is not compressed passes
/// through unchanged, a whole file or what follows the last member (zcat -f).
///
/// Examples:
///   fkit gzip access.log                    # access.log -> access.log.gz
///   fkit gzip -d access.log.gz              # and back
///   fkit gzip -9 -k -p 4 big.tar            # keep big.tar, use 4 cores
///   tar c dir | fkit gzip > dir.tar.gz      # stdin to stdout
///   fkit gzip -dc logs/*.gz | grep ERROR    # decompress to stdout
///   fkit gzip --bzip2 data.csv              # data.csv.bz2
///   fkit gzip --zstd -19 data.csv           # data.csv.zst, zstd level 19
///   fkit gzip --xz -9 -e -p 2 data.csv      # data.csv.xz, as xz -9e -T2
///   fkit gzip -11 -b 1024 --rsyncable f     # zopfli, 1 MiB blocks, as pigz
///   fkit gzip --bgzf --index calls.vcf      # BGZF + .gzi, as bgzip -i
///   fkit gzip -cdf logs/*                   # as zcat -f: plain files pass through
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

    /// Compression level: gzip 1 fastest ... 9 best (default 6), 0 stored,
    /// 11 zopfli (as pigz); bzip2 1-9,
    /// the block size x 100 kB (default 9); zstd 1-19, to 22 with --ultra
    /// (default 3); xz 0-9 (default 6). `-19` and the like work too.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=22))]
    level: Option<u32>,
    /// Compress fastest (level 1; -0 ... -9 are the levels, -19 for zstd's 19).
    #[arg(short = '1', long = "fast", action = clap::ArgAction::Count)]
    l1: u8,
    #[arg(short = '0', hide = true, action = clap::ArgAction::Count)]
    l0: u8,
    #[arg(short = '2', hide = true, action = clap::ArgAction::Count)]
    l2: u8,
    #[arg(short = '3', hide = true, action = clap::ArgAction::Count)]
    l3: u8,
    #[arg(short = '4', hide = true, action = clap::ArgAction::Count)]
    l4: u8,
    #[arg(short = '5', hide = true, action = clap::ArgAction::Count)]
    l5: u8,
    #[arg(short = '6', hide = true, action = clap::ArgAction::Count)]
    l6: u8,
    #[arg(short = '7', hide = true, action = clap::ArgAction::Count)]
    l7: u8,
    #[arg(short = '8', hide = true, action = clap::ArgAction::Count)]
    l8: u8,
    /// Compress best (level 9).
    #[arg(short = '9', long = "best", action = clap::ArgAction::Count)]
    l9: u8,

    /// zstd: allow levels 20-22 (more memory to compress and decompress).
    #[arg(long)]
    ultra: bool,

    /// xz: the slower "extreme" variant of the level (as xz -e).
    #[arg(short = 'e', long)]
    extreme: bool,

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
    #[arg(long, short = 'j', conflicts_with_all = ["format", "zstd", "xz"])]
    bzip2: bool,

    /// Compress to zstd (same as --format zst).
    #[arg(long, conflicts_with_all = ["format", "xz"])]
    zstd: bool,

    /// Compress to xz (same as --format xz).
    #[arg(long, conflicts_with = "format")]
    xz: bool,

    /// Uncompressed bytes per parallel block (gzip: 1M, zstd: 4M, xz: a file
    /// is cut into equal blocks of about two dictionaries, as many as a
    /// multiple of -p, 16M at most at -6; a pipe into blocks of three
    /// dictionaries, as xz -T); a plain number counts KiB, as pigz -b.
    #[arg(short = 'b', long, value_name = "SIZE", value_parser = parse_block)]
    block_size: Option<Size>,

    /// Do not store the modification time (pigz -m; -n also drops the name).
    #[arg(short = 'm', long = "no-time")]
    no_time: bool,

    /// Store the modification time (pigz -M; the default).
    #[arg(short = 'M', long = "time", overrides_with = "no_time")]
    time: bool,

    /// Store COMMENT in the gzip header (pigz -C).
    #[arg(short = 'C', long, value_name = "COMMENT")]
    comment: Option<String>,

    /// Cut gzip blocks where the content says, so that rsync sends only
    /// what changed (gzip and pigz --rsyncable).
    #[arg(short = 'R', long)]
    rsyncable: bool,

    /// Write zlib (pigz -z, FILE.zz); with --bzip2, bzip2's -z (compress).
    #[arg(short = 'z', long, conflicts_with_all = ["format", "zstd", "xz", "zip"])]
    zlib: bool,

    /// Write BGZF, the blocked gzip htslib, samtools and tabix read (bgzip).
    #[arg(long, conflicts_with_all = ["format", "zstd", "xz", "bzip2", "zlib", "zip", "rsyncable"])]
    bgzf: bool,

    /// With --bgzf, also write FILE.gz.gzi, the index bgzip -i writes.
    #[arg(long, requires = "bgzf")]
    index: bool,

    /// Write a single-entry zip (pigz -K, FILE.zip).
    #[arg(short = 'K', long, conflicts_with_all = ["format", "zstd", "xz", "bzip2"])]
    zip: bool,

    /// Accepted for bzip2's -s (fkit's memory is bounded anyway).
    #[arg(short = 's', long = "small", hide = true)]
    small: bool,

    /// With -d, write only LEN bytes from uncompressed OFFSET to stdout ("OFFSET:LEN", or "OFFSET:" for the rest).
    #[arg(long, value_name = "OFFSET:LEN", requires = "decompress")]
    range: Option<String>,

    /// fsync every output file, even when nothing is removed or replaced
    /// (gzip --synchronous, pigz -Y).
    #[arg(short = 'Y', long, visible_alias = "synchronous")]
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
    #[value(alias = "zstd")]
    Zst,
    Xz,
    /// zlib (RFC 1950), as pigz -z writes it.
    #[value(alias = "zlib")]
    Zz,
    /// A single-entry zip, as pigz -K writes it.
    Zip,
}

impl CompressedFormat {
    /// The suffix of files in the format.
    fn suffix(self) -> &'static str {
        match self {
            CompressedFormat::Gz => ".gz",
            CompressedFormat::Bz2 => ".bz2",
            CompressedFormat::Zst => ".zst",
            CompressedFormat::Xz => ".xz",
            CompressedFormat::Zz => ".zz",
            CompressedFormat::Zip => ".zip",
        }
    }

    /// The levels the format has, and its default (as its own tool).
    fn levels(self, ultra: bool) -> (std::ops::RangeInclusive<u32>, u32) {
        match self {
            // 10 is not a level: checked apart.
            CompressedFormat::Gz => (0..=11, 6),
            CompressedFormat::Bz2 => (1..=9, 9),
            CompressedFormat::Zst if ultra => (1..=22, 3),
            CompressedFormat::Zst => (1..=19, 3),
            CompressedFormat::Xz => (0..=9, 6),
            CompressedFormat::Zz | CompressedFormat::Zip => (0..=9, 6),
        }
    }

    /// Uncompressed bytes per parallel block unless -b says otherwise
    /// (xz: 0, liblzma's choice).
    fn default_block(self) -> usize {
        match self {
            CompressedFormat::Zst => 4 << 20,
            CompressedFormat::Xz => 0,
            _ => 1 << 20,
        }
    }
}

/// `-b`: a plain number counts KiB, as pigz's -b; `1M`, `64K` are sizes.
fn parse_block(text: &str) -> Result<Size, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let kib: u64 = text.parse().map_err(|_| format!("invalid size {text:?}"))?;
        return kib
            .checked_mul(1024)
            .map(Size)
            .ok_or_else(|| format!("invalid size {text:?}"));
    }
    text.parse::<Size>().map_err(|e| e.to_string())
}

/// A level of more than one digit (`-19`, `-11`) among the command's
/// arguments: clap reads `-19` as the flags -1 and -9, so the number is
/// taken from the arguments themselves, as zstd and pigz read it.
fn multi_digit_level() -> Option<u32> {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .filter_map(|a| {
            let digits = a.to_str()?.strip_prefix('-')?;
            (digits.len() > 1 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse().ok())
                .flatten()
        })
        .last()
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
    extreme: bool,
    suffix: String,
    to_stdout: bool,
    keep: bool,
    force: bool,
    sync: bool,
    verbose: bool,
    quiet: bool,
    no_name: bool,
    /// pigz -m: no modification time in the header.
    no_time: bool,
    comment: Option<String>,
    rsyncable: bool,
    bgzf: bool,
    gzi: bool,
    restore_name: bool,
    range: Option<(u64, u64)>,
    engine: Engine,
    /// A progress bar on a terminal (one file at a time, not --quiet).
    progress: bool,
}

impl Plan {
    /// Whether bytes that are not compressed pass through to the output
    /// (`-cdf`, `zcat -f`): as GNU gzip, with --force when the output is
    /// stdout (stdin implies it) or nothing (-t).
    fn passes_rest(&self, stdin: bool) -> bool {
        self.force && (self.to_stdout || stdin || self.mode == Mode::Test)
    }
}

/// How a file went, short of an error.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Ok,
    Warning,
}

pub fn run(args: Args) -> Result<()> {
    let format = if args.bzip2 {
        CompressedFormat::Bz2
    } else if args.zstd {
        CompressedFormat::Zst
    } else if args.xz {
        CompressedFormat::Xz
    } else if args.zlib {
        CompressedFormat::Zz
    } else if args.zip {
        CompressedFormat::Zip
    } else {
        args.format.unwrap_or(CompressedFormat::Gz)
    };
    let digits = [
        args.l0, args.l1, args.l2, args.l3, args.l4, args.l5, args.l6, args.l7, args.l8, args.l9,
    ];
    let (levels, default_level) = format.levels(args.ultra);
    let level = args
        .level
        .or_else(multi_digit_level)
        .or_else(|| digits.iter().rposition(|&d| d > 0).map(|i| i as u32))
        .unwrap_or(default_level);
    let gzip_ten = format == CompressedFormat::Gz && level == 10;
    if !levels.contains(&level) || gzip_ten {
        let ultra = if format == CompressedFormat::Zst && !args.ultra && level <= 22 {
            " (levels 20-22 need --ultra)"
        } else {
            ""
        };
        let gzip = if format == CompressedFormat::Gz {
            " or 11 (zopfli)"
        } else {
            ""
        };
        return Err(Exit::usage(format!(
            "level {level} is not a {} level: {}-{}{gzip}{ultra}",
            format.suffix().trim_start_matches('.'),
            levels.start(),
            if gzip.is_empty() { *levels.end() } else { 9 }
        ))
        .into());
    }
    let suffix = args
        .suffix
        .clone()
        .unwrap_or_else(|| format.suffix().into());
    if suffix.is_empty() || suffix.contains('/') {
        return Err(Exit::usage("invalid suffix (must be non-empty, without '/')").into());
    }
    let block = args
        .block_size
        .map_or(format.default_block(), |b| b.as_usize());
    if args.block_size.is_some() && !(4096..=codec::gzip::MAX_BLOCK).contains(&block) {
        return Err(Exit::usage("--block-size must be between 4K and 256M").into());
    }
    if args.index && (args.stdout || args.files.is_empty() || args.files.iter().any(|f| f == "-")) {
        return Err(Exit::usage(
            "--index writes FILE.gz.gzi beside FILE.gz: it needs FILEs, not stdout",
        )
        .into());
    }
    if args.bgzf && level == 11 {
        return Err(Exit::usage("--bgzf is written at levels 0-9").into());
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
        extreme: args.extreme,
        suffix,
        to_stdout: args.stdout || range.is_some(),
        keep: args.keep || args.stdout,
        force: args.force,
        sync: args.sync,
        verbose: args.verbose,
        quiet: args.quiet,
        no_name: args.no_name,
        no_time: args.no_time,
        comment: args.comment.clone(),
        rsyncable: args.rsyncable,
        bgzf: args.bgzf,
        gzi: args.index,
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
            comment: self.comment.clone(),
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
        comment: plan.comment.as_ref().map(|c| c.as_bytes().to_vec()),
        mtime,
        engine: plan.engine,
        rsyncable: plan.rsyncable,
    }
}

/// Compress `input` into `out` as the plan says; returns the bytes read.
/// For BGZF, where each block after the first starts goes to `gzi`.
fn compress_into(
    plan: &Plan,
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    name: Option<Vec<u8>>,
    mtime: u32,
    gzi: &mut Vec<(u64, u64)>,
    len: Option<u64>,
) -> Result<u64> {
    if plan.bgzf {
        let (read, index) = codec::gzip::bgzf::compress(input, out, plan.level, plan.threads)?;
        *gzi = index;
        return Ok(read);
    }
    match plan.format {
        CompressedFormat::Gz => codec::gzip::compress(input, out, &gzip_options(plan, name, mtime)),
        CompressedFormat::Bz2 => codec::bzip2::compress(input, out, plan.level, plan.threads),
        CompressedFormat::Zst => {
            codec::zstd::compress(input, out, plan.level as i32, plan.threads, plan.block)
        }
        CompressedFormat::Xz => codec::xz::compress(
            input,
            out,
            plan.level,
            plan.extreme,
            plan.threads,
            plan.block,
            len,
        ),
        CompressedFormat::Zz | CompressedFormat::Zip => {
            let container = if plan.format == CompressedFormat::Zz {
                Container::Zlib
            } else {
                Container::Zip
            };
            // pigz names the entry of stdin "-".
            let entry = ZipEntry {
                name: name.as_deref().unwrap_or(b"-"),
                dos_time: zlib::dos_time(mtime as i64),
            };
            zlib::compress(
                input,
                out,
                container,
                &entry,
                plan.level,
                plan.threads,
                plan.block,
            )
        }
    }
}

fn compress_stdin(plan: &Plan) -> Result<Status> {
    let mut input = Input::at(None::<&Path>).read_ahead(PIPE_AHEAD).open()?;
    let mut out = create_output(plan, None, None, None)?;
    compress_into(plan, &mut input, &mut out, None, 0, &mut Vec::new(), None).context("<stdin>")?;
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
        let stamp = if plan.no_time {
            0
        } else {
            mtime.unix_seconds().clamp(0, u32::MAX as i64) as u32
        };
        (name, stamp)
    };
    let mut out = create_output(
        plan,
        (!plan.to_stdout).then_some(target.as_path()),
        Some(meta),
        Some(mtime),
    )?;
    let mut gzi = Vec::new();
    let written = {
        let mut counted = Counted::new(&mut out);
        let read = compress_into(
            plan,
            &mut file,
            &mut counted,
            name,
            stamp,
            &mut gzi,
            meta.is_file().then_some(meta.len()),
        )
        .with_context(|| shown.clone())?;
        (read, counted.count())
    };
    out.finish()?;
    if plan.to_stdout {
        return Ok(Status::Ok);
    }
    if plan.gzi {
        let index = PathBuf::from(format!("{}.gzi", target.display()));
        let mut out = Output::to(Some(index.as_path())).force(true).create()?;
        out.write_all(&codec::gzip::bgzf::gzi(&gzi))
            .with_context(|| index.display().to_string())?;
        out.finish()?;
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
        (".zst", ""),
        (".xz", ""),
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
        (".tzst", ".tar"),
        (".txz", ".tar"),
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
        return pass_through(plan, "<stdin>", &head, &mut reader, true);
    };
    let mut out = create_output(plan, None, None, None)?;
    let mut window = Window::new(&mut out, plan.range).pass_rest(plan.passes_rest(true));
    let trailing = codec::decompress(
        format,
        Source::Stream(&mut reader),
        &mut window,
        plan.threads,
    )
    .context("<stdin>")?;
    out.finish()?;
    report_trailing(plan, "<stdin>", format, trailing)
}

/// Stdin on a regular file (`< big.gz`) is mapped like a named file, so
/// that members and blocks are found and decoded on every core.
fn decompress_stdin_map(plan: &Plan, map: MappedFile) -> Result<Status> {
    let shown = "<stdin>";
    map.advise_sequential();
    match Format::detect(&map[..map.len().min(4)]) {
        None => pass_through(plan, shown, &map[..map.len().min(4)], &mut &map[..], true),
        Some(format) => {
            let mut out = create_output(plan, None, None, None)?;
            let trailing = decode_mapped(&map, format, &mut out, plan, shown, true)?;
            out.finish()?;
            report_trailing(plan, shown, format, trailing)
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
    stdin: bool,
) -> Result<Option<Trailing>> {
    let mut window = Window::new(out, plan.range)
        .progress(plan.progress)
        .pass_rest(plan.passes_rest(stdin));
    codec::decompress(format, Source::File(map), &mut window, plan.threads)
        .with_context(|| shown.to_string())
}

/// An input that is not compressed at all: `gzip -cdf` copies it unchanged
/// (as `zcat -f`), `-tf` accepts it; otherwise it is an error, worded as
/// GNU gzip words it. `head` is its first bytes (up to 4).
fn pass_through(
    plan: &Plan,
    shown: &str,
    head: &[u8],
    input: &mut dyn Read,
    stdin: bool,
) -> Result<Status> {
    if !plan.passes_rest(stdin) {
        return Err(not_compressed(shown, head));
    }
    let mut out = create_output(plan, None, None, None)?;
    io::copy(input, &mut out).with_context(|| shown.to_string())?;
    out.finish()?;
    Ok(Status::Ok)
}

/// The error for an input in no format fkit reads, worded as GNU gzip's:
/// gzip reads two bytes of magic, so fewer is a file cut short, unless the
/// one byte is a zero (which gzip takes for padding, not gzip either).
fn not_compressed(shown: &str, head: &[u8]) -> anyhow::Error {
    if head.is_empty() || head.len() == 1 && head[0] != 0 {
        anyhow!("{shown}: unexpected end of file")
    } else {
        anyhow!("{shown}: not in gzip format (nor bzip2, zstd or xz)")
    }
}

/// Say what followed the last member or stream, as the format's own tool
/// does: GNU gzip warns (exit status 2) about trailing garbage, and about
/// zero padding only with -v; bzip2 mentions any trailing bytes but still
/// succeeds.
fn report_trailing(
    plan: &Plan,
    shown: &str,
    format: Format,
    trailing: Option<Trailing>,
) -> Result<Status> {
    let Some(t) = trailing else {
        return Ok(Status::Ok);
    };
    match format {
        Format::Bzip2 => {
            if !plan.quiet {
                eprintln!(
                    "fkit: gzip: {shown}: trailing garbage after EOF ignored (from byte {})",
                    t.at
                );
            }
            Ok(Status::Ok)
        }
        _ if t.only_zeros && !plan.verbose => Ok(Status::Ok),
        _ if t.only_zeros => warn(
            plan,
            format!(
                "{shown}: decompression OK, trailing zero bytes ignored (from byte {})",
                t.at
            ),
        ),
        _ => warn(
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
        return pass_through(plan, &shown, &map[..map.len().min(4)], &mut &map[..], false);
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
    let trailing = decode_mapped(&map, format, &mut out, plan, &shown, false)?;
    out.finish()?;
    let Some(target) = target else {
        if plan.mode == Mode::Test && plan.verbose {
            eprintln!("{shown}:\t OK");
        }
        return report_trailing(plan, &shown, format, trailing);
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
    report_trailing(plan, &shown, format, trailing)
}

/// How many bytes `src` decodes to (for `--list`), decoded into nothing,
/// and what followed its last member or stream.
fn decoded_len(src: Source, format: Format, threads: usize) -> Result<(u64, Option<Trailing>)> {
    let mut count = Counted::new(io::sink());
    let trailing = {
        let mut w: &mut dyn Write = &mut count;
        let mut window = Window::new(&mut w, None);
        codec::decompress(format, src, &mut window, threads)?
    };
    Ok((count.count(), trailing))
}

/// `--list` of an input that cannot be mapped (a pipe): decoded to count.
fn list_stream(input: Input, plan: &Plan) -> Result<(Listing, Status)> {
    let shown = &input.name().to_string();
    let mut data = Counted::new(input);
    let head = io::BufRead::fill_buf(&mut data)?.to_vec();
    let Some(format) = Format::detect(&head) else {
        return Err(not_compressed(shown, &head));
    };
    let (uncompressed, trailing) = decoded_len(Source::Stream(&mut data), format, plan.threads)
        .with_context(|| shown.to_string())?;
    let compressed = data.count();
    let listing = Listing {
        name: shown.to_string(),
        format: format.name(),
        compressed,
        uncompressed,
        ratio: ratio(compressed, uncompressed, 0),
        header_bytes: 0,
    };
    Ok((listing, report_trailing(plan, shown, format, trailing)?))
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

/// One file's line of `--list`. As GNU gzip 1.12 does, the whole input is
/// decoded: the uncompressed size is then exact (not the last member's
/// length field, modulo 4 GiB), and damage or trailing garbage is reported
/// as -t reports it.
fn list_one(input: Option<&Path>, plan: &Plan) -> Result<(Listing, Status)> {
    let shown = crate::io::input::display_name(input);
    let map = match Input::at(input)
        .read_ahead(PIPE_AHEAD)
        .open_map_or_stream()?
    {
        MapOrStream::Map(map) => map,
        MapOrStream::Stream(stream) => return list_stream(stream, plan),
    };
    let head = &map[..map.len().min(4)];
    let Some(format) = Format::detect(head) else {
        return Err(not_compressed(&shown, head));
    };
    let compressed = map.len() as u64;
    let mut name = strip_suffix(&shown, &plan.suffix).unwrap_or_else(|| shown.clone());
    let mut header_bytes = 0;
    if format == Format::Gzip
        && let Ok(header) = parse_header(&map)
    {
        if plan.restore_name
            && let Some(n) = &header.name
        {
            name = String::from_utf8_lossy(n).into_owned();
        }
        // gzip's ratio leaves out the header and trailer.
        header_bytes = header.len as u64 + 8;
    }
    let (uncompressed, trailing) =
        decoded_len(Source::File(&map), format, plan.threads).with_context(|| shown.clone())?;
    let listing = Listing {
        name,
        format: format.name(),
        compressed,
        uncompressed,
        ratio: ratio(compressed, uncompressed, header_bytes),
        header_bytes,
    };
    Ok((listing, report_trailing(plan, &shown, format, trailing)?))
}

fn list(inputs: &[Option<PathBuf>], plan: &Plan, json: bool) -> Result<()> {
    let mut rows = Vec::new();
    let mut failed = false;
    let mut worst = Status::Ok;
    for input in inputs {
        match list_one(input.as_deref(), plan) {
            Ok((row, status)) => {
                rows.push(row);
                worst = worst.max(status);
            }
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
    } else if !rows.is_empty() {
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
    if worst == Status::Warning {
        return Err(Exit::silent(2).into());
    }
    Ok(())
}
