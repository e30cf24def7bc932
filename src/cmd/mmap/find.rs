//! `fkit mmap find` and `fkit mmap lines`: parallel scans of a mapped file.

use super::{STREAM_BLOCK, ScanProgress, cores, name_of, open, scan_slices, slices};
use crate::io::{Exit, Input};
use crate::io::{MapOrStream, Output};
use anyhow::{Context, Result};
use memchr::memmem::Finder;
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// Find every occurrence of a byte string (like grep -F -b -o, or grep -c -F).
///
/// Prints the byte offset of each match, one per line (--offsets, the
/// default), or only how many there are (--count). Matches do not overlap:
/// after a match, the search goes on after its last byte. A mapped file is
/// searched in slices on all cores (a match across two slices counts once);
/// so is stdin redirected from a file (`< big.log`); a pipe streams on one
/// core. Exit status is 0 when something was found,
/// 1 when nothing was, as grep's.
///
/// Examples:
///   fkit mmap find big.log 'status=500' --count
///   fkit mmap find disk.img --hex-pattern '55 aa' --offsets --max 5
///   fkit mmap find big.log ' ERROR ' --count --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// File to search; `-` reads stdin.
    file: PathBuf,

    /// The bytes to find, taken literally (see --hex-pattern).
    pattern: String,

    /// Print only the number of matches.
    #[arg(short, long, conflicts_with = "offsets")]
    count: bool,

    /// Print the byte offset of every match, one per line (the default).
    #[arg(short, long)]
    offsets: bool,

    /// PATTERN is hex: `deadbeef`, `de ad be ef`, `0x55aa`.
    #[arg(short = 'x', long)]
    hex_pattern: bool,

    /// Stop after N matches.
    #[arg(short, long, value_name = "N")]
    max: Option<u64>,

    /// Print a JSON object: file, pattern, count (and offsets unless --count).
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
    let name = name_of(Some(&args.file));
    let needle = if args.hex_pattern {
        parse_hex(&args.pattern)?
    } else {
        args.pattern.as_bytes().to_vec()
    };
    if needle.is_empty() {
        return Err(Exit::usage("the pattern is empty").into());
    }
    let max = args.max.unwrap_or(u64::MAX);
    let mut out = Output::stdout().buffer(1 << 16).create()?;
    let mut report = Report::new(&mut out, &args, &name, &needle)?;
    match open(Some(&args.file), args.lock, !args.quiet)? {
        MapOrStream::Map(map) => {
            let progress = ScanProgress::new(map.len(), !args.quiet);
            search_map(&map, &needle, max, &mut report, &progress)?
        }
        MapOrStream::Stream(input) => {
            search_stream(input, &needle, max, &mut report).with_context(|| name.clone())?
        }
    }
    let found = report.finish()?;
    out.flush()?;
    if found == 0 {
        return Err(Exit::silent(1).into());
    }
    Ok(())
}

/// `deadbeef`, `de ad be ef`, `0xDEAD_BEEF`, `de:ad` → bytes.
pub(super) fn parse_hex(text: &str) -> Result<Vec<u8>> {
    let t = text.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let digits: Vec<u8> = t
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b':' | b'_' | b'-'))
        .collect();
    let value = |d: u8| (d as char).to_digit(16).map(|v| v as u8);
    if !digits.len().is_multiple_of(2) {
        return Err(Exit::usage(format!("hex \"{text}\" has an odd number of digits")).into());
    }
    digits
        .chunks(2)
        .map(|p| match (value(p[0]), value(p[1])) {
            (Some(h), Some(l)) => Ok(h << 4 | l),
            _ => Err(Exit::usage(format!("\"{text}\" is not hex")).into()),
        })
        .collect()
}

/// Whether a match can overlap the next one (`aa` in `aaa`, `abab` in
/// `ababab`): the pattern has a proper prefix that is also a suffix.
/// Only then do slices searched apart disagree with one search from the
/// start about which matches count.
fn self_overlapping(p: &[u8]) -> bool {
    // The KMP failure function: fail[i] = longest proper border of p[..=i].
    let mut fail = vec![0usize; p.len()];
    let mut k = 0;
    for i in 1..p.len() {
        while k > 0 && p[i] != p[k] {
            k = fail[k - 1];
        }
        if p[i] == p[k] {
            k += 1;
        }
        fail[i] = k;
    }
    fail.last().is_some_and(|&b| b > 0)
}

fn search_map(
    hay: &[u8],
    needle: &[u8],
    max: u64,
    report: &mut Report,
    progress: &ScanProgress,
) -> Result<()> {
    let finder = Finder::new(needle);
    let m = needle.len();
    if hay.len() < 2 * m {
        for pos in finder.find_iter(hay) {
            if report.found >= max {
                break;
            }
            report.offset(pos as u64)?;
        }
        return Ok(());
    }
    // Each slice owns the matches that start inside it and looks m - 1
    // bytes past its end for them, so a match across a boundary is found
    // exactly once. A pattern that can overlap itself (`aa`, `abab`) makes
    // the slices depend on each other: which matches count is decided from
    // the start of the file. So each slice also reports where its first
    // match starts, and one that begins inside the previous slice's last
    // match is searched again from that match's end, in order (rare: only
    // at a boundary a match straddles).
    let overlapping = self_overlapping(needle);
    let parts = slices(hay.len());
    let threads = cores();
    let counting = report.counting_only;
    let search = |from: usize, end: usize, limit: usize| -> SliceHits {
        let window = &hay[from..(end + m - 1).min(hay.len())];
        let mut hits = SliceHits::default();
        for p in finder.find_iter(window) {
            let at = (from + p) as u64;
            hits.first.get_or_insert(at);
            hits.last_end = at + m as u64;
            hits.count += 1;
            if !counting {
                hits.offsets.push(at);
            }
            // Without self-overlap no later slice looks at this one's last
            // match, so the search can stop at the limit.
            if !overlapping && hits.count as usize >= limit {
                break;
            }
        }
        hits
    };
    // Slices go in ordered batches: offsets print in order, the work stays
    // parallel, and --max stops the scan early.
    // A batch is at least a few slices per core and about 256 MiB, which
    // bounds the offsets held at once and the threads started per batch.
    let slice_len = parts.first().map_or(1, |r| r.len().max(1));
    let per_batch = (threads * 2).max((256 << 20) / slice_len);
    let limit = if counting {
        usize::MAX
    } else {
        max.min(usize::MAX as u64) as usize
    };
    let mut prev_end = 0u64;
    for batch in parts.chunks(per_batch) {
        let results: Vec<SliceHits> = scan_slices(batch, |r| {
            let hits = search(r.start, r.end, limit);
            progress.done(r.len());
            hits
        });
        for (r, mut hits) in batch.iter().zip(results) {
            if overlapping && hits.first.is_some_and(|f| f < prev_end) {
                hits = search(prev_end as usize, r.end, limit);
            }
            if hits.count > 0 {
                prev_end = hits.last_end;
            }
            if report.counting_only {
                report.add_count(hits.count.min(max - report.found));
            } else {
                for pos in hits.offsets {
                    if report.found >= max {
                        break;
                    }
                    report.offset(pos)?;
                }
            }
        }
        if report.found >= max {
            break;
        }
    }
    Ok(())
}

/// What one slice's search found.
#[derive(Default)]
struct SliceHits {
    count: u64,
    /// Where the first match starts.
    first: Option<u64>,
    /// Where the last match ends.
    last_end: u64,
    /// Every match's offset, unless only counting.
    offsets: Vec<u64>,
}

/// Search a stream block by block, keeping the last m - 1 bytes of each
/// block so a match across two reads is found.
fn search_stream(mut input: Input, needle: &[u8], max: u64, report: &mut Report) -> Result<()> {
    let finder = Finder::new(needle);
    let m = needle.len();
    let mut buf: Vec<u8> = Vec::with_capacity(STREAM_BLOCK + m);
    // Absolute offset of buf[0]; no match may start before `next`.
    let (mut base, mut next) = (0u64, 0u64);
    loop {
        let have = buf.len();
        buf.resize(have + STREAM_BLOCK, 0);
        let n = loop {
            match input.read(&mut buf[have..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        buf.truncate(have + n);
        let from = next.saturating_sub(base) as usize;
        for pos in finder.find_iter(&buf[from..]) {
            if report.found >= max {
                return Ok(());
            }
            let at = base + (from + pos) as u64;
            report.offset(at)?;
            next = at + m as u64;
        }
        if n == 0 {
            return Ok(());
        }
        let keep_from = buf
            .len()
            .saturating_sub(m - 1)
            .max(next.saturating_sub(base) as usize)
            .min(buf.len());
        buf.drain(..keep_from);
        base += keep_from as u64;
    }
}

/// Prints matches as they are found: offsets, a count, or JSON.
struct Report<'a> {
    out: &'a mut dyn Write,
    counting_only: bool,
    json: bool,
    found: u64,
}

impl<'a> Report<'a> {
    fn new(out: &'a mut dyn Write, args: &Args, name: &str, needle: &[u8]) -> Result<Report<'a>> {
        if args.json {
            let pattern = match std::str::from_utf8(needle) {
                Ok(text) if !args.hex_pattern => serde_json::Value::from(text),
                _ => serde_json::Value::from(
                    needle
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>(),
                ),
            };
            write!(
                out,
                "{{\"file\":{},\"pattern\":{pattern},\"hex\":{}",
                serde_json::Value::from(name),
                args.hex_pattern
            )?;
            if !args.count {
                write!(out, ",\"offsets\":[")?;
            }
        }
        Ok(Report {
            out,
            counting_only: args.count,
            json: args.json,
            found: 0,
        })
    }

    fn offset(&mut self, at: u64) -> io::Result<()> {
        if !self.counting_only {
            if self.json {
                if self.found > 0 {
                    self.out.write_all(b",")?;
                }
                write!(self.out, "{at}")?;
            } else {
                writeln!(self.out, "{at}")?;
            }
        }
        self.found += 1;
        Ok(())
    }

    fn add_count(&mut self, n: u64) {
        self.found += n;
    }

    fn finish(self) -> Result<u64> {
        if self.json {
            if !self.counting_only {
                self.out.write_all(b"]")?;
            }
            writeln!(self.out, ",\"count\":{}}}", self.found)?;
        } else if self.counting_only {
            writeln!(self.out, "{}", self.found)?;
        }
        Ok(self.found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_patterns() {
        assert_eq!(parse_hex("deadBEEF").unwrap(), vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(parse_hex("0x55 aa").unwrap(), vec![0x55, 0xaa]);
        assert_eq!(parse_hex("de:ad").unwrap(), vec![0xde, 0xad]);
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }

    #[test]
    fn overlap_detection() {
        assert!(self_overlapping(b"aa"));
        assert!(self_overlapping(b"abab"));
        assert!(self_overlapping(b"abca"));
        assert!(!self_overlapping(b"ab"));
        assert!(!self_overlapping(b"ERROR"));
        assert!(!self_overlapping(b"a"));
    }
}
