//! `fkit buffer`: copy bytes with an explicit buffer size (dd bs=, mbuffer, pv).

use crate::io::at::read_at;
use crate::io::input::{FileOrStream, RegularInput};
use crate::io::size::human_bytes;
use crate::io::{Input, Output, Progress, Size, read_some};
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Copy or pipe bytes with an explicit buffer size, and measure it.
///
/// Reads INPUT (a file, or stdin for `-` or nothing; several are read one
/// after the other, as cat does) with reads of exactly SIZE bytes and
/// writes what each read returned to OUTPUT (stdout unless -o). Always
/// streams: memory use is one buffer, or the ring with --ring.
///
/// dd's placement: --skip, --seek and --count take blocks of SIZE (as dd's
/// skip=, seek=, count= with bs=SIZE) or, with a unit, bytes (`--skip
/// 128M`, `--count 100c`: dd's iflag=skip_bytes,count_bytes). A regular
/// file is skipped by position, not read. --seek keeps OUTPUT's first
/// bytes (zeros where it was shorter; zeros on stdout), --no-truncate
/// keeps what follows the bytes written (dd conv=notrunc), --append writes
/// after OUTPUT's content, --sparse leaves holes for blocks of zeros in
/// OUTPUT (dd conv=sparse). OUTPUT is still replaced atomically.
///
/// pv's progress: --total SIZE (pv -s: a bar with an ETA for a pipe), -l
/// (count lines), -n (numeric: a percentage, or the count when the total
/// is unknown, once a second on stderr), -N NAME, --force-progress (pv -f:
/// draw even when stderr is not a terminal). SIGUSR1 prints dd's
/// statistics so far (records in and out, bytes, seconds, rate).
///
/// With --ring, a reader thread and a writer thread are joined by a ring of
/// SIZE blocks in RAM (as mbuffer does), so a bursty producer and a slow
/// consumer overlap; --stats then says how often the ring ran empty (the
/// writer waited for data) or full (the reader waited for room).
///
/// Examples:
///   fkit buffer -s 1M big.iso -o copy.iso                  # dd bs=1M
///   fkit buffer -s 1M --skip 128 --count 1 big.log         # dd bs=1M skip=128 count=1
///   fkit buffer --skip 4K --count 512c disk.img > boot.bin # dd iflag=skip_bytes,count_bytes
///   fkit buffer -s 512 --seek 1 --no-truncate mbr.bin -o disk.img   # dd seek=1 conv=notrunc
///   tar c dir | fkit buffer --ring 256M | ssh host 'tar x'
///   tar c dir | fkit buffer --total 3G -N backup > dir.tar # pv -s 3G -N backup
///   fkit buffer --rate 10M --progress big.log > /dev/null  # pv -L 10M
///   fkit buffer part1 part2 part3 -o whole                 # cat, with a progress bar
///   fkit buffer --stats --json < in > out
///   fkit buffer --bench big.log                            # throughput per buffer size
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files to read, one after the other; `-` or nothing reads stdin.
    inputs: Vec<PathBuf>,

    /// Write here (atomically: temporary file, rename) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Replace OUTPUT if it exists.
    #[arg(short, long)]
    force: bool,

    /// Bytes per read and write: 512, 64K, 1M, 1.5G …
    #[arg(short, long, value_name = "SIZE", default_value = "128K")]
    size: Size,

    /// Skip this much of the input first: N blocks of SIZE, or bytes with
    /// a unit (4K, 100c), as dd's skip=.
    #[arg(long, value_name = "N")]
    skip: Option<Amount>,

    /// Start writing this far into OUTPUT, keeping what is before (dd's
    /// seek=): N blocks of SIZE, or bytes with a unit.
    #[arg(long, value_name = "N")]
    seek: Option<Amount>,

    /// Copy at most this much: N blocks of SIZE, or bytes with a unit
    /// (dd's count=).
    #[arg(long, value_name = "N")]
    count: Option<Amount>,

    /// Keep OUTPUT's bytes after those written (dd conv=notrunc).
    #[arg(long, conflicts_with = "append")]
    no_truncate: bool,

    /// Write after OUTPUT's content (dd oflag=append conv=notrunc; --seek
    /// then has no effect, as with dd).
    #[arg(long)]
    append: bool,

    /// Leave holes in OUTPUT for blocks of zeros (dd conv=sparse).
    #[arg(long)]
    sparse: bool,

    /// Decouple reading and writing through a ring of this many bytes in RAM.
    #[arg(long, value_name = "SIZE", conflicts_with = "sparse")]
    ring: Option<Size>,

    /// Copy at most this many bytes per second (like pv -L).
    #[arg(long, value_name = "SIZE")]
    rate: Option<Size>,

    /// The expected total, for a bar with an ETA on a pipe (pv -s; -s is
    /// the buffer size here, as dd's bs=).
    #[arg(long, value_name = "SIZE")]
    total: Option<Size>,

    /// Count lines, not bytes, in the progress (pv -l).
    #[arg(short, long)]
    lines: bool,

    /// Numeric progress for dialog boxes (pv -n): a percentage a line
    /// once a second on stderr, or the count when the total is unknown.
    #[arg(short, long)]
    numeric: bool,

    /// Name the progress (pv -N).
    #[arg(short = 'N', long, value_name = "NAME")]
    name: Option<String>,

    /// Draw the progress even when stderr is not a terminal (pv -f; -f is
    /// --force here).
    #[arg(long)]
    force_progress: bool,

    /// fsync the output before exiting (a file output is otherwise synced
    /// only when it replaces a file).
    #[arg(long, visible_alias = "sync")]
    fsync: bool,

    /// Show a progress bar at once (when stderr is a terminal).
    #[arg(long)]
    progress: bool,

    /// Print bytes, seconds, throughput and call counts on stderr at the end.
    #[arg(long)]
    stats: bool,

    /// Print statistics (--stats, --bench) as JSON.
    #[arg(long)]
    json: bool,

    /// Copy FILE to a sink with every buffer size from 512 bytes to 16M and
    /// print throughput and call counts per size.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["inputs", "output", "ring", "rate"])]
    bench: Option<PathBuf>,

    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// A dd amount: blocks (a plain number) or bytes (with a unit; `c` is one
/// byte, as in dd).
#[derive(Clone, Copy, Debug)]
enum Amount {
    Blocks(u64),
    Bytes(u64),
}

impl std::str::FromStr for Amount {
    type Err = crate::io::size::InvalidSize;

    fn from_str(text: &str) -> Result<Amount, Self::Err> {
        if text.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = text.parse()
        {
            return Ok(Amount::Blocks(n));
        }
        if let Some(n) = text.strip_suffix('c')
            && let Ok(n) = n.parse()
        {
            return Ok(Amount::Bytes(n));
        }
        text.parse::<Size>().map(|s| Amount::Bytes(s.bytes()))
    }
}

impl Amount {
    fn bytes(self, block: usize) -> u64 {
        match self {
            Amount::Blocks(n) => n.saturating_mul(block as u64),
            Amount::Bytes(n) => n,
        }
    }
}

/// What a copy did, for --stats and SIGUSR1.
#[derive(Default)]
struct CopyStats {
    bytes: u64,
    reads: u64,
    writes: u64,
    /// Reads and writes of less than a whole block (dd's `+N records`).
    partial_reads: u64,
    partial_writes: u64,
    /// Ring mode: times the writer found no filled block waiting.
    ring_empty: u64,
    /// Ring mode: times the reader found no free block.
    ring_full: u64,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(file) = &args.bench {
        return bench(file, args.json);
    }
    let size = args.size.as_usize().max(1);
    let paths: Vec<Option<&PathBuf>> = if args.inputs.is_empty() {
        vec![None]
    } else {
        args.inputs.iter().map(Some).collect()
    };
    let mut input = Chain::open(&paths, size)?;
    if let Some(skip) = args.skip {
        input.skip(skip.bytes(size))?;
    }
    if let Some(count) = args.count {
        input.limit = count.bytes(size);
    }
    let total = args.total.map(Size::bytes).or_else(|| {
        (!args.lines)
            .then(|| input.remaining())
            .flatten()
            .map(|n| n.min(input.limit))
    });
    let mut progress = Progress::bytes(total, !args.quiet)
        .lines(args.lines)
        .named(args.name.as_deref())
        .numeric(args.numeric)
        .forced(args.force_progress);
    if args.progress {
        progress.show_now();
    }
    // --seek, --no-truncate and --append change OUTPUT, so they need no --force.
    let in_place = args.seek.is_some() || args.no_truncate || args.append;
    let mut output = Output::to(args.output.as_ref())
        .force(args.force || in_place)
        .append(args.append)
        .sync(args.fsync)
        .buffer(size)
        .create()?;
    let old = match (&args.output, in_place && !args.append) {
        (Some(path), true) if path.exists() => Some(path),
        _ => None,
    };
    // dd's oflag=append writes at the end whatever seek= says.
    let seek = match args.seek {
        Some(s) if !args.append => s.bytes(size),
        _ => 0,
    };
    if seek > 0 {
        keep_prefix(&mut output, old, seek)?;
    }
    let limiter = args.rate.map(|r| RateLimit::new(r.bytes()));
    let started = Instant::now();
    let live = Arc::new(LiveStats::default());
    let shown = Arc::clone(&live);
    crate::io::signal::on_usr1(move || {
        eprint!("{}", dd_status(&shown.now(), started.elapsed()));
    });
    let watch = Watch {
        live: &live,
        lines: args.lines,
        sparse: args.sparse,
    };
    let stats = match args.ring {
        None => copy_direct(
            &mut input,
            &mut output,
            size,
            limiter,
            &mut progress,
            &watch,
        ),
        Some(ring) => copy_ring(
            &mut input,
            &mut output,
            size,
            ring.bytes(),
            limiter,
            &mut progress,
            &watch,
        ),
    }
    .with_context(|| input.name().to_string())?;
    input.done()?;
    if args.sparse {
        end_sparse(&mut output)?;
    }
    if args.no_truncate
        && let Some(old) = old
    {
        keep_rest(&mut output, old, seek + stats.bytes)?;
    }
    if args.fsync && args.output.is_none() {
        sync_stdout().context("fsync <stdout>")?;
    }
    output.finish()?;
    progress.finish();
    if args.stats {
        report(
            &stats,
            started.elapsed(),
            size,
            args.ring.map(|r| r.bytes()),
            args.json,
        );
    }
    Ok(())
}

/// --seek: OUTPUT's first `seek` bytes as they were, then zeros where it
/// was shorter (all zeros for stdout or a new file).
fn keep_prefix(output: &mut Output, old: Option<&PathBuf>, seek: u64) -> Result<()> {
    let mut kept = 0;
    if let Some(path) = old {
        let mut before = Input::at(Some(path)).open()?;
        kept = std::io::copy(&mut (&mut before).take(seek), output)
            .with_context(|| before.name().to_string())?;
    }
    crate::io::write_zeros(output, seek - kept)?;
    Ok(())
}

/// --no-truncate: OUTPUT's bytes after `from`, as they were.
fn keep_rest(output: &mut Output, old: &PathBuf, from: u64) -> Result<()> {
    let mut rest = Chain::open(&[Some(old)], 1 << 16)?;
    rest.skip(from)?;
    std::io::copy(&mut rest, output).with_context(|| old.display().to_string())?;
    Ok(())
}

/// --sparse: a block of zeros becomes a hole. Only a file output (its
/// temporary file) can hold one; elsewhere the zeros are written.
fn write_block(output: &mut Output, block: &[u8], sparse: bool) -> std::io::Result<()> {
    if sparse && block.iter().all(|&b| b == 0) {
        use std::io::Seek;
        if let Some(mut file) = output.file()? {
            file.seek(std::io::SeekFrom::Current(block.len() as i64))?;
            return Ok(());
        }
    }
    output.write_all(block)
}

/// A hole at the end of a sparse output still counts in its length.
fn end_sparse(output: &mut Output) -> std::io::Result<()> {
    use std::io::Seek;
    if let Some(mut file) = output.file()? {
        let end = file.stream_position()?;
        if file.metadata()?.len() < end {
            file.set_len(end)?;
        }
    }
    Ok(())
}

/// What the copy loops report besides the bytes.
struct Watch<'a> {
    /// The counts so far, for SIGUSR1.
    live: &'a LiveStats,
    /// Progress counts lines.
    lines: bool,
    sparse: bool,
}

impl Watch<'_> {
    /// After a block: the progress, and the counts SIGUSR1 prints.
    fn block(&self, stats: &CopyStats, block: &[u8], progress: &mut Progress) {
        let n = if self.lines {
            bytecount::count(block, b'\n') as u64
        } else {
            block.len() as u64
        };
        progress.inc(n);
        self.live.update(stats);
    }
}

/// The counts dd prints on SIGUSR1, shared with the thread that prints
/// them while the copy goes on.
#[derive(Default)]
struct LiveStats {
    bytes: AtomicU64,
    writes: AtomicU64,
    partial_reads: AtomicU64,
    partial_writes: AtomicU64,
}

impl LiveStats {
    fn update(&self, stats: &CopyStats) {
        self.bytes.store(stats.bytes, Ordering::Relaxed);
        self.writes.store(stats.writes, Ordering::Relaxed);
        self.partial_reads
            .store(stats.partial_reads, Ordering::Relaxed);
        self.partial_writes
            .store(stats.partial_writes, Ordering::Relaxed);
    }

    fn now(&self) -> CopyStats {
        CopyStats {
            bytes: self.bytes.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            partial_reads: self.partial_reads.load(Ordering::Relaxed),
            partial_writes: self.partial_writes.load(Ordering::Relaxed),
            ..CopyStats::default()
        }
    }
}

/// The inputs, one after the other, as one reader: regular files are read
/// by position (so skipping costs nothing), anything else streamed.
struct Chain {
    sources: Vec<Source>,
    current: usize,
    /// Bytes still to be read (--count).
    limit: u64,
}

enum Source {
    File { input: RegularInput, pos: u64 },
    Stream(Input),
}

impl Chain {
    fn open(paths: &[Option<&PathBuf>], size: usize) -> Result<Chain> {
        let mut sources = Vec::with_capacity(paths.len());
        for path in paths {
            sources.push(match Input::at(*path).buffer(size).open_file_or_stream()? {
                FileOrStream::File(input) => Source::File { input, pos: 0 },
                FileOrStream::Stream(input) => Source::Stream(input),
            });
        }
        Ok(Chain {
            sources,
            current: 0,
            limit: u64::MAX,
        })
    }

    fn name(&self) -> &str {
        match self.sources.get(self.current.min(self.sources.len() - 1)) {
            Some(Source::File { input, .. }) => input.name(),
            Some(Source::Stream(input)) => input.name(),
            None => "<stdin>",
        }
    }

    /// What is left to read, when every input's size is known.
    fn remaining(&self) -> Option<u64> {
        self.sources[self.current..]
            .iter()
            .map(|s| match s {
                // procfs and sysfs files say 0 bytes and hold more.
                Source::File { input, .. } if input.is_empty() => None,
                Source::File { input, pos } => Some(input.len().saturating_sub(*pos)),
                Source::Stream(input) => input.len(),
            })
            .sum()
    }

    /// Pass over `n` bytes: by position in regular files, by reading
    /// streams. Past the end is no error (dd only warns).
    fn skip(&mut self, mut n: u64) -> Result<()> {
        while n > 0 && self.current < self.sources.len() {
            let passed = match &mut self.sources[self.current] {
                // Its size says nothing (procfs, sysfs): read to skip.
                Source::File { input, pos } if input.is_empty() => {
                    let mut scratch = vec![0u8; n.min(1 << 16) as usize];
                    let mut passed = 0;
                    while passed < n {
                        let want = (n - passed).min(scratch.len() as u64) as usize;
                        let got = read_at(input.file(), &mut scratch[..want], input.start() + *pos)
                            .with_context(|| input.name().to_string())?;
                        if got == 0 {
                            break;
                        }
                        *pos += got as u64;
                        passed += got as u64;
                    }
                    passed
                }
                Source::File { input, pos } => {
                    let step = n.min(input.len().saturating_sub(*pos));
                    *pos += step;
                    step
                }
                Source::Stream(input) => std::io::copy(&mut input.take(n), &mut std::io::sink())
                    .with_context(|| input.name().to_string())?,
            };
            n -= passed;
            if n > 0 {
                self.current += 1;
            }
        }
        Ok(())
    }

    /// Leave stdin on a file just after what was read, as dd does.
    fn done(&self) -> Result<()> {
        use std::io::Seek;
        for source in &self.sources {
            if let Source::File { input, pos } = source {
                input
                    .file()
                    .seek(std::io::SeekFrom::Start(input.start() + pos))
                    .with_context(|| input.name().to_string())?;
            }
        }
        Ok(())
    }
}

impl Read for Chain {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min(self.limit.min(usize::MAX as u64) as usize);
        while want > 0 && self.current < self.sources.len() {
            let n = match &mut self.sources[self.current] {
                Source::File { input, pos } => {
                    let n = read_at(input.file(), &mut buf[..want], input.start() + *pos)?;
                    *pos += n as u64;
                    n
                }
                Source::Stream(input) => input.read(&mut buf[..want])?,
            };
            if n > 0 {
                self.limit -= n as u64;
                return Ok(n);
            }
            self.current += 1;
        }
        Ok(0)
    }
}

/// One buffer: read, write what the read returned, repeat.
fn copy_direct(
    input: &mut Chain,
    output: &mut Output,
    size: usize,
    mut limiter: Option<RateLimit>,
    progress: &mut Progress,
    watch: &Watch,
) -> Result<CopyStats> {
    let mut stats = CopyStats::default();
    let mut buf = vec![0u8; size];
    let want = limiter.as_ref().map_or(size, |l| l.chunk(size));
    loop {
        let n = read_some(input, &mut buf[..want])?;
        stats.reads += 1;
        if n == 0 {
            break;
        }
        stats.writes += 1;
        if n < want {
            stats.partial_reads += 1;
            stats.partial_writes += 1;
        }
        write_block(output, &buf[..n], watch.sparse)?;
        stats.bytes += n as u64;
        watch.block(&stats, &buf[..n], progress);
        if let Some(l) = &mut limiter {
            l.wait(stats.bytes);
        }
    }
    Ok(stats)
}

/// A reader thread and a writer thread joined by a ring of blocks: full
/// blocks travel to the writer, empty ones back to the reader.
fn copy_ring(
    input: &mut Chain,
    output: &mut Output,
    size: usize,
    ring_bytes: u64,
    mut limiter: Option<RateLimit>,
    progress: &mut Progress,
    watch: &Watch,
) -> Result<CopyStats> {
    let blocks = (ring_bytes / size as u64).clamp(2, 1 << 20) as usize;
    let want = limiter.as_ref().map_or(size, |l| l.chunk(size));
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(blocks);
    let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(blocks);
    for _ in 0..blocks {
        // Blocks are allocated lazily by the reader, so a short input never
        // touches the whole ring.
        let _ = free_tx.send(Vec::new());
    }
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> Result<(u64, u64)> {
            let (mut reads, mut full) = (0u64, 0u64);
            loop {
                let mut block = match free_rx.try_recv() {
                    Ok(b) => b,
                    Err(_) => {
                        full += 1;
                        match free_rx.recv() {
                            Ok(b) => b,
                            // The writer stopped (an error): stop reading.
                            Err(_) => return Ok((reads, full)),
                        }
                    }
                };
                block.resize(size, 0);
                let n = read_some(input, &mut block[..want])?;
                reads += 1;
                if n == 0 || full_tx.send((block, n)).is_err() {
                    return Ok((reads, full));
                }
            }
        });
        let mut stats = CopyStats::default();
        let written: Result<()> = (|| {
            loop {
                let (block, n) = match full_rx.try_recv() {
                    Ok(item) => item,
                    Err(mpsc::TryRecvError::Empty) => {
                        stats.ring_empty += 1;
                        match full_rx.recv() {
                            Ok(item) => item,
                            Err(_) => return Ok(()),
                        }
                    }
                    Err(mpsc::TryRecvError::Disconnected) => return Ok(()),
                };
                output.write_all(&block[..n])?;
                stats.writes += 1;
                if n < want {
                    stats.partial_writes += 1;
                }
                stats.bytes += n as u64;
                watch.block(&stats, &block[..n], progress);
                if let Some(l) = &mut limiter {
                    l.wait(stats.bytes);
                }
                let _ = free_tx.send(block);
            }
        })();
        // On a write error, dropping the receivers ends the reader.
        drop(full_rx);
        drop(free_tx);
        let read_result = reader
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("reader thread panicked")));
        written?;
        let (reads, full) = read_result?;
        stats.reads = reads;
        stats.partial_reads = stats.partial_writes;
        stats.ring_full = full;
        Ok(stats)
    })
}

/// Sleep as needed to keep the average at or under `rate` bytes per second.
struct RateLimit {
    rate: u64,
    started: Instant,
}

impl RateLimit {
    fn new(rate: u64) -> RateLimit {
        RateLimit {
            rate: rate.max(1),
            started: Instant::now(),
        }
    }

    /// Read in pieces of a tenth of a second's worth, so the flow is smooth.
    fn chunk(&self, size: usize) -> usize {
        size.min((self.rate / 10).max(1) as usize)
    }

    fn wait(&mut self, total: u64) {
        let due = Duration::from_secs_f64(total as f64 / self.rate as f64);
        let elapsed = self.started.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
    }
}

/// `--fsync` with stdout: sync whatever fd 1 is, when it can be synced
/// (a pipe or a terminal cannot, and that is not an error).
fn sync_stdout() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        match rustix::fs::fsync(std::io::stdout()) {
            Ok(()) | Err(Errno::INVAL | Errno::ROFS) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn report(stats: &CopyStats, elapsed: Duration, size: usize, ring: Option<u64>, json: bool) {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        stats.bytes as f64 / secs
    } else {
        0.0
    };
    if json {
        let mut value = serde_json::json!({
            "bytes": stats.bytes,
            "seconds": secs,
            "bytes_per_second": rate.round() as u64,
            "buffer_size": size,
            "reads": stats.reads,
            "writes": stats.writes,
        });
        if let Some(ring) = ring {
            value["ring"] = serde_json::json!({
                "bytes": ring,
                "empty": stats.ring_empty,
                "full": stats.ring_full,
            });
        }
        eprintln!("{value}");
    } else {
        eprintln!(
            "{} bytes ({}) copied in {secs:.3} s, {}/s; {} reads, {} writes of up to {}",
            stats.bytes,
            human_bytes(stats.bytes),
            human_bytes(rate as u64),
            stats.reads,
            stats.writes,
            human_bytes(size as u64),
        );
        if ring.is_some() {
            eprintln!(
                "ring ran empty {} times (writer waited), full {} times (reader waited)",
                stats.ring_empty, stats.ring_full
            );
        }
    }
}

/// `--bench`: the lesson of buffering, measured. Every size copies the
/// whole file to a sink (/dev/null) once, after one warm-up pass so the file
/// is in the page cache for all of them.
fn bench(file: &std::path::Path, json: bool) -> Result<()> {
    let sizes: Vec<usize> = (9..=24).map(|p| 1usize << p).collect();
    let mut rows = Vec::new();
    let mut out = Output::stdout().create()?;
    for (i, &size) in std::iter::once(&(1 << 20)).chain(sizes.iter()).enumerate() {
        let mut input = Input::at(Some(file)).buffer(size).open()?;
        let mut sink = sink()?;
        let started = Instant::now();
        let mut stats = CopyStats::default();
        let mut buf = vec![0u8; size];
        loop {
            let n = read_some(&mut input, &mut buf).with_context(|| input.name().to_string())?;
            stats.reads += 1;
            if n == 0 {
                break;
            }
            sink.write_all(&buf[..n])?;
            stats.writes += 1;
            stats.bytes += n as u64;
        }
        let secs = started.elapsed().as_secs_f64();
        if i > 0 {
            rows.push((size, stats, secs));
        }
    }
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|(size, s, secs)| {
                serde_json::json!({
                    "buffer_size": size, "bytes": s.bytes, "seconds": secs,
                    "bytes_per_second": (s.bytes as f64 / secs.max(1e-9)).round() as u64,
                    "reads": s.reads, "writes": s.writes,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(list))?;
    } else {
        writeln!(
            out,
            "{:>10}  {:>12}  {:>10}  {:>10}  {:>9}",
            "buffer", "throughput", "reads", "writes", "seconds"
        )?;
        for (size, s, secs) in &rows {
            let rate = s.bytes as f64 / secs.max(1e-9);
            writeln!(
                out,
                "{:>10}  {:>10}/s  {:>10}  {:>10}  {:>9.3}",
                human_bytes(*size as u64),
                human_bytes(rate as u64),
                s.reads,
                s.writes,
                secs
            )?;
        }
    }
    out.finish()
}

/// Where the probe's writes go: the null device, one system call per
/// write as for a file (a buffer of 1 byte passes every write through).
fn sink() -> Result<Output> {
    #[cfg(unix)]
    return Output::to(Some("/dev/null")).buffer(1).create();
    #[cfg(not(unix))]
    return Output::stdout().discard(true).create();
}

/// dd's statistics: records in and out (whole + partial blocks), bytes
/// with their SI and IEC sizes, seconds and rate.
fn dd_status(stats: &CopyStats, elapsed: Duration) -> String {
    let whole = |all: u64, partial: u64| all - partial;
    let bytes = stats.bytes;
    let sizes = if bytes == 1 {
        "1 byte".to_string()
    } else if bytes < 1000 {
        format!("{bytes} bytes")
    } else if bytes < 1024 {
        format!("{bytes} bytes ({})", dd_human(bytes as f64, 1000.0, SI))
    } else {
        format!(
            "{bytes} bytes ({}, {})",
            dd_human(bytes as f64, 1000.0, SI),
            dd_human(bytes as f64, 1024.0, IEC)
        )
    };
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { bytes as f64 / secs } else { 0.0 };
    // Every read that returned bytes was one write (`reads` also counts
    // the read that found the end).
    format!(
        "{}+{} records in\n{}+{} records out\n{sizes} copied, {} s, {}/s\n",
        whole(stats.writes, stats.partial_reads),
        stats.partial_reads,
        whole(stats.writes, stats.partial_writes),
        stats.partial_writes,
        six_digits(secs),
        dd_rate(rate),
    )
}

const SI: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
const IEC: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// `3.0 MB`, `52 MB`: one decimal below 10, as dd rounds its sizes.
fn dd_human(mut n: f64, base: f64, units: [&str; 7]) -> String {
    let mut unit = 0;
    while n >= base && unit < units.len() - 1 {
        n /= base;
        unit += 1;
    }
    if n < 10.0 && unit > 0 {
        format!("{n:.1} {}", units[unit])
    } else {
        format!("{n:.0} {}", units[unit])
    }
}

/// A rate in kB/s at least, as dd prints it.
fn dd_rate(rate: f64) -> String {
    if rate < 1000.0 {
        format!("{:.1} kB", rate / 1000.0)
    } else {
        dd_human(rate, 1000.0, SI)
    }
}

/// Seconds with six significant digits, as dd's `%g`.
fn six_digits(secs: f64) -> String {
    if secs == 0.0 {
        return "0".to_string();
    }
    let digits = (5 - secs.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{secs:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}
