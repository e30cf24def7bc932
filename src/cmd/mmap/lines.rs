//! `fkit mmap lines`: count lines as wc -l does, on every core.

use super::{STREAM_BLOCK, ScanProgress, name_of, open, scan_slices, slices};
use crate::io::{Input, MapOrStream, Output};
use anyhow::{Context, Result};
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// Count lines: the newline bytes in a file, as wc -l prints it.
///
/// A last line without a newline is not counted, as with wc -l. A mapped
/// file (or stdin redirected from one) is counted on all cores; a pipe
/// streams on one.
///
/// Examples:
///   fkit mmap lines big.log
///   fkit mmap lines big.log --json
///   zcat big.log.gz | fkit mmap lines
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// File to count; `-` or nothing reads stdin.
    file: Option<PathBuf>,

    /// Print a JSON object: file, lines, bytes.
    #[arg(long)]
    json: bool,

    /// Hold a shared advisory lock on the file while reading it.
    #[arg(long)]
    lock: bool,

    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    let name = name_of(args.file.as_ref());
    let (lines, bytes) = match open(args.file.as_ref(), args.lock, !args.quiet)? {
        MapOrStream::Map(map) => {
            let progress = ScanProgress::new(map.len(), !args.quiet);
            let count = scan_slices(&slices(map.len()), |r| {
                let n = bytecount::count(&map[r.clone()], b'\n') as u64;
                progress.done(r.len());
                n
            })
            .into_iter()
            .sum();
            (count, map.len() as u64)
        }
        MapOrStream::Stream(input) => count_stream(input).with_context(|| name.clone())?,
    };
    let mut out = Output::stdout().create()?;
    if args.json {
        let report = serde_json::json!({"file": name, "lines": lines, "bytes": bytes});
        writeln!(out, "{report}")?;
    } else if args.file.is_some() && name != "<stdin>" {
        writeln!(out, "{lines} {name}")?;
    } else {
        writeln!(out, "{lines}")?;
    }
    out.finish()
}

fn count_stream(mut input: Input) -> io::Result<(u64, u64)> {
    let mut buf = vec![0u8; STREAM_BLOCK];
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok((lines, bytes)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        lines += bytecount::count(&buf[..n], b'\n') as u64;
        bytes += n as u64;
    }
}
