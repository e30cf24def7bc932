//! `fkit buffer`: copy bytes with an explicit buffer size (dd bs=, mbuffer, pv).

use crate::io::size::human_bytes;
use crate::io::{Input, Output, Progress, Size};
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Copy or pipe bytes with an explicit buffer size, and measure it.
///
/// Reads INPUT (a file, or stdin for `-` or nothing) with reads of exactly
/// SIZE bytes and writes what each read returned to OUTPUT (stdout unless
/// -o). Always streams: memory use is one buffer, or the ring with --ring.
///
/// With --ring, a reader thread and a writer thread are joined by a ring of
/// SIZE blocks in RAM (as mbuffer does), so a bursty producer and a slow
/// consumer overlap; --stats then says how often the ring ran empty (the
/// writer waited for data) or full (the reader waited for room).
///
/// Examples:
///   fkit buffer -s 1M big.iso -o copy.iso          # dd bs=1M
///   tar c dir | fkit buffer --ring 256M | ssh host 'tar x'
///   fkit buffer --rate 10M --progress big.log > /dev/null   # pv -L 10M
///   fkit buffer --stats --json < in > out
///   fkit buffer --bench big.log                    # throughput per buffer size
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// File to read; `-` or nothing reads stdin.
    input: Option<PathBuf>,

    /// Write here (atomically: temporary file, fsync, rename) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Replace OUTPUT if it exists.
    #[arg(short, long)]
    force: bool,

    /// Bytes per read and write: 512, 64K, 1M, 1.5G …
    #[arg(short, long, value_name = "SIZE", default_value = "128K")]
    size: Size,

    /// Decouple reading and writing through a ring of this many bytes in RAM.
    #[arg(long, value_name = "SIZE")]
    ring: Option<Size>,

    /// Copy at most this many bytes per second (like pv -L).
    #[arg(long, value_name = "SIZE")]
    rate: Option<Size>,

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
    #[arg(long, value_name = "FILE", conflicts_with_all = ["input", "output", "ring", "rate"])]
    bench: Option<PathBuf>,

    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// What a copy did, for --stats.
#[derive(Default)]
struct CopyStats {
    bytes: u64,
    reads: u64,
    writes: u64,
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
    let mut input = Input::at(args.input.as_ref()).buffer(size).open()?;
    let mut progress = Progress::bytes(input.len(), !args.quiet);
    if args.progress {
        progress.show_now();
    }
    let mut output = Output::to(args.output.as_ref())
        .force(args.force)
        .sync(args.fsync)
        .buffer(size)
        .create()?;
    let limiter = args.rate.map(|r| RateLimit::new(r.bytes()));
    let started = Instant::now();
    let stats = match args.ring {
        None => copy_direct(&mut input, &mut output, size, limiter, &mut progress),
        Some(ring) => copy_ring(
            &mut input,
            &mut output,
            size,
            ring.bytes(),
            limiter,
            &mut progress,
        ),
    }
    .with_context(|| input.name().to_string())?;
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

/// One buffer: read, write what the read returned, repeat.
fn copy_direct(
    input: &mut Input,
    output: &mut Output,
    size: usize,
    mut limiter: Option<RateLimit>,
    progress: &mut Progress,
) -> Result<CopyStats> {
    let mut stats = CopyStats::default();
    let mut buf = vec![0u8; size];
    let want = limiter.as_ref().map_or(size, |l| l.chunk(size));
    loop {
        let n = read_once(input, &mut buf[..want])?;
        stats.reads += 1;
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n])?;
        stats.writes += 1;
        stats.bytes += n as u64;
        progress.inc(n as u64);
        if let Some(l) = &mut limiter {
            l.wait(stats.bytes);
        }
    }
    Ok(stats)
}

/// A reader thread and a writer thread joined by a ring of blocks: full
/// blocks travel to the writer, empty ones back to the reader.
fn copy_ring(
    input: &mut Input,
    output: &mut Output,
    size: usize,
    ring_bytes: u64,
    mut limiter: Option<RateLimit>,
    progress: &mut Progress,
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
                let n = read_once(input, &mut block[..want])?;
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
                stats.bytes += n as u64;
                progress.inc(n as u64);
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
        stats.ring_full = full;
        Ok(stats)
    })
}

/// One read, retried on EINTR.
fn read_once(input: &mut Input, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
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
            let n = read_once(&mut input, &mut buf).with_context(|| input.name().to_string())?;
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
