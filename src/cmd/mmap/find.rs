//! `fkit mmap find` and `fkit mmap lines`: parallel scans of a mapped file.

use super::matcher::{Matcher, Syntax, count_lines};
use super::{
    STREAM_BLOCK, ScanProgress, cores, line_blocks, line_slices, name_of, open, scan_slices, slices,
};
use crate::io::input::grep_name;
use crate::io::{Exit, Input, read_some};
use crate::io::{MapOrStream, Output};
use anyhow::{Context, Result};
use memchr::memmem::Finder;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::path::PathBuf;

/// Find a byte string or regex, as grep -F -b -o, grep -c and rg -c do.
///
/// Prints the byte offset of each match, one per line (--offsets, the
/// default), how many matches there are (--count), how many lines match
/// (--lines, grep -c's count), or the names of the files with a match
/// (-l). Matches do not overlap: after a match, the search goes on after
/// its last byte. A mapped file is searched in slices on all cores (a
/// match across two slices counts once); so is stdin redirected from a
/// file (`< big.log`); a pipe streams on one core.
///
/// The arguments are FILE... PATTERN: the files, then the pattern, as in
/// `fkit mmap find big.log ERROR`. With -e or -f every argument is a file.
/// No file, or `-`, reads stdin. With several files each output line
/// starts with the file's name and a colon, as grep's.
///
/// A pattern is a literal byte string unless --regex (the regex crate's
/// syntax, as rg's). -i, -w, --regex and several patterns search line by
/// line: a match never spans a newline, as in grep and rg. -x matches
/// whole lines only (grep's --line-regexp). A pattern with
/// newlines is several patterns, as in grep.
///
/// Exit status is 0 when something was found, 1 when nothing was, 2 on an
/// error (the other files are still searched), as grep's.
///
/// Examples:
///   fkit mmap find big.log 'status=500' --count
///   fkit mmap find big.log --regex 'ERR[O]R .*timeout' --lines     # rg -c
///   fkit mmap find -i error --lines a.log b.log                      # grep -ci
///   fkit mmap find -l -w -e panic -e fatal *.log                     # grep -lw
///   fkit mmap find -v -f known.txt --lines big.log                   # grep -cvFf
///   fkit mmap find -x -e OK --lines status.log                       # grep -cxF
///   fkit mmap find disk.img --hex-pattern '55 aa' --offsets --max 5
///   fkit mmap find big.log ' ERROR ' --count --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The files to search, then PATTERN (unless -e or -f gives it).
    #[arg(value_name = "FILE... PATTERN", required_unless_present_any = ["regexp", "pattern_file"])]
    args: Vec<OsString>,

    /// A pattern to find; repeat for several (any of them matches).
    #[arg(short = 'e', long, value_name = "PATTERN")]
    regexp: Vec<OsString>,

    /// Read patterns from FILE, one per line (`-` reads stdin).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pattern_file: Vec<PathBuf>,

    /// The patterns are regexes (the regex crate's syntax, as rg's).
    #[arg(short = 'E', long)]
    regex: bool,

    /// Ignore case (Unicode simple case folding, as rg -i).
    #[arg(short, long)]
    ignore_case: bool,

    /// Match whole words only: no letter, digit or `_` right before or
    /// after the match, as grep -w in the C locale.
    #[arg(short, long = "word-regexp")]
    word: bool,

    /// Match whole lines only: the pattern must match a line from its
    /// first byte to its last, as grep -x.
    #[arg(short = 'x', long = "line-regexp")]
    line: bool,

    /// Select the lines that do not match (with --lines or -l), as grep -v.
    #[arg(short = 'v', long = "invert-match")]
    invert: bool,

    /// Print only the number of matches.
    #[arg(short, long, conflicts_with_all = ["offsets", "lines", "files_with_matches"])]
    count: bool,

    /// Print only the number of matching lines, as grep -c and rg -c.
    #[arg(long, conflicts_with_all = ["offsets", "files_with_matches"])]
    lines: bool,

    /// Print only the names of the files with a match, as grep -l.
    #[arg(short = 'l', long, conflicts_with_all = ["offsets", "json", "max"])]
    files_with_matches: bool,

    /// Print the byte offset of every match, one per line (the default).
    #[arg(short, long)]
    offsets: bool,

    /// PATTERN is hex: `deadbeef`, `de ad be ef`, `0x55aa` (long form
    /// only: -x is grep's --line-regexp).
    #[arg(long)]
    hex_pattern: bool,

    /// Stop after N matches (N lines with --lines), in each file.
    #[arg(short, long, value_name = "N")]
    max: Option<u64>,

    /// Print a JSON object per file: file, pattern, count or lines (and
    /// offsets unless --count or --lines).
    #[arg(long)]
    json: bool,

    /// Hold a shared advisory lock on the file while reading it.
    #[arg(long)]
    lock: bool,

    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// What is printed for each file.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Offsets,
    Count,
    Lines,
    Files,
}

pub fn run(args: Args) -> Result<()> {
    let mode = if args.files_with_matches {
        Mode::Files
    } else if args.lines {
        Mode::Lines
    } else if args.count {
        Mode::Count
    } else {
        Mode::Offsets
    };
    let by_line = matches!(mode, Mode::Lines | Mode::Files);
    if args.invert && !by_line {
        return Err(Exit::usage("-v selects lines: use it with --lines or -l").into());
    }
    let (patterns, files) = patterns_and_files(&args)?;
    if !by_line && patterns.iter().any(|p| p.is_empty()) {
        return Err(Exit::usage("the pattern is empty").into());
    }
    if by_line && patterns.iter().any(|p| p.contains(&b'\n')) {
        return Err(Exit::usage("a pattern with a newline byte cannot match within a line").into());
    }
    let syntax = Syntax {
        regex: args.regex,
        ignore_case: args.ignore_case,
        word: args.word,
        line: args.line,
    };
    let matcher = Matcher::new(&patterns, &syntax)?;
    let search = Search {
        matcher,
        mode,
        invert: args.invert,
        max: args.max.unwrap_or(u64::MAX),
    };
    let many = files.len() > 1;
    let mut out = Output::stdout().buffer(1 << 16).create()?;
    let (mut found_any, mut failed) = (false, false);
    for file in &files {
        let name = name_of(file.as_ref());
        // Output lines name stdin as grep does; messages keep `<stdin>`.
        let shown = grep_name(file.as_deref());
        let prefix = many.then_some(shown.as_str());
        let searched = match open(file.as_ref(), args.lock, !args.quiet) {
            Ok(input) => {
                let mut report = Report::new(&mut out, &args, mode, prefix, &name, &patterns)?;
                search
                    .input(input, &mut report, &name, !args.quiet)
                    .map(|()| report)
            }
            Err(e) => Err(e),
        };
        match searched {
            Ok(report) => found_any |= report.finish(&shown)? > 0,
            Err(e) if is_broken_pipe(&e) => return Err(e),
            Err(e) => {
                // grep goes on with the other files and exits 2.
                out.flush()?;
                eprintln!("fkit: mmap: {e:#}");
                failed = true;
            }
        }
    }
    out.flush()?;
    if failed {
        return Err(Exit::silent(2).into());
    }
    if !found_any {
        return Err(Exit::silent(1).into());
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|c| c.kind() == io::ErrorKind::BrokenPipe)
}

/// The files to search; `None` is stdin.
type Files = Vec<Option<PathBuf>>;

/// The patterns (from -e, -f or the last argument; newlines split them,
/// as grep's) and the files (none means stdin).
fn patterns_and_files(args: &Args) -> Result<(Vec<Vec<u8>>, Files)> {
    let mut texts: Vec<Vec<u8>> = args
        .regexp
        .iter()
        .map(|p| p.as_encoded_bytes().to_vec())
        .collect();
    for path in &args.pattern_file {
        let mut input = Input::at(Some(path)).open()?;
        let mut all = Vec::new();
        input
            .read_to_end(&mut all)
            .with_context(|| input.name().to_string())?;
        if all.last() == Some(&b'\n') {
            all.pop();
        }
        // An empty file has no patterns (it matches nothing), as grep -f.
        if !all.is_empty() {
            texts.push(all);
        }
    }
    let mut files: Vec<&OsString> = args.args.iter().collect();
    if args.regexp.is_empty() && args.pattern_file.is_empty() {
        let last = files
            .pop()
            .ok_or_else(|| Exit::usage("no pattern: give one after the files, or -e/-f"))?;
        texts.push(last.as_encoded_bytes().to_vec());
    }
    let mut patterns = Vec::new();
    for text in texts {
        if args.hex_pattern {
            let text = String::from_utf8_lossy(&text);
            patterns.push(parse_hex(&text)?);
        } else {
            patterns.extend(text.split(|&b| b == b'\n').map(<[u8]>::to_vec));
        }
    }
    let files = if files.is_empty() {
        vec![None]
    } else {
        files.into_iter().map(|f| Some(PathBuf::from(f))).collect()
    };
    Ok((patterns, files))
}

/// `deadbeef`, `de ad be ef`, `0xDEAD_BEEF`, `de:ad`, xxd -p's lines → bytes.
pub(super) fn parse_hex(text: &str) -> Result<Vec<u8>> {
    let t = text.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let digits: Vec<u8> = t
        .bytes()
        // Whitespace anywhere, so xxd -p's lines are hex too.
        .filter(|b| !(b.is_ascii_whitespace() || matches!(b, b':' | b'_' | b'-')))
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

/// One search (patterns, mode, -v, --max), applied to each input.
struct Search {
    matcher: Matcher,
    mode: Mode,
    invert: bool,
    max: u64,
}

impl Search {
    fn input(
        &self,
        input: MapOrStream,
        report: &mut Report,
        name: &str,
        progress: bool,
    ) -> Result<()> {
        let max = if self.mode == Mode::Files {
            1
        } else {
            self.max
        };
        match input {
            MapOrStream::Map(map) => {
                let progress = ScanProgress::new(map.len(), progress);
                match &self.matcher {
                    Matcher::Literal(finder) if !self.by_line() => {
                        let needle = finder.needle();
                        let overlapping = self_overlapping(needle);
                        let search = |from: usize, end: usize, limit: usize| {
                            literal_hits(
                                &map,
                                finder,
                                from,
                                end,
                                limit,
                                self.mode == Mode::Offsets,
                                overlapping,
                            )
                        };
                        search_slices(
                            &map,
                            &slices(map.len()),
                            search,
                            overlapping,
                            max,
                            report,
                            &progress,
                        )
                    }
                    _ => {
                        let search = |from: usize, end: usize, limit: usize| {
                            self.slice(&map, from, end, limit)
                        };
                        search_slices(
                            &map,
                            &line_slices(&map),
                            search,
                            false,
                            max,
                            report,
                            &progress,
                        )
                    }
                }
            }
            MapOrStream::Stream(input) => match &self.matcher {
                Matcher::Literal(finder) if !self.by_line() => {
                    search_stream(input, finder, max, report)
                }
                _ => self.stream_lines(input, max, report),
            }
            .with_context(|| name.to_string()),
        }
    }

    fn by_line(&self) -> bool {
        matches!(self.mode, Mode::Lines | Mode::Files)
    }

    /// Search `hay[from..end]`, a whole number of lines, for at most
    /// `limit` hits: matching lines (--lines, -l) or matches.
    fn slice(&self, hay: &[u8], from: usize, end: usize, limit: usize) -> SliceHits {
        let mut hits = SliceHits::default();
        if self.by_line() {
            hits.count = count_lines(&self.matcher, hay, from, end, self.invert, limit as u64);
            return hits;
        }
        let mut at = from;
        while at < end && (hits.count as usize) < limit {
            let Some((s, e)) = self.matcher.find(hay, at, end) else {
                break;
            };
            if e == s {
                // An empty match (`x*`) is no match to print, as grep -o.
                at = s + 1;
                continue;
            }
            hits.count += 1;
            if self.mode == Mode::Offsets {
                hits.offsets.push(s as u64);
            }
            at = e;
        }
        hits
    }

    /// Search a stream a block of whole lines at a time.
    fn stream_lines(&self, mut input: Input, max: u64, report: &mut Report) -> Result<()> {
        let mut base = 0u64;
        line_blocks(&mut input, |buf, cut| {
            let limit = (max - report.found).min(usize::MAX as u64) as usize;
            let hits = self.slice(buf, 0, cut, limit);
            report.hits(hits, base, max)?;
            base += cut as u64;
            Ok(report.found < max)
        })
    }
}

/// The literal's matches that start in `hay[from..end]` (looking past
/// `end` for one that starts inside), at most `limit` of them unless the
/// pattern can overlap itself (see [`search_slices`]).
fn literal_hits(
    hay: &[u8],
    finder: &Finder,
    from: usize,
    end: usize,
    limit: usize,
    offsets: bool,
    overlapping: bool,
) -> SliceHits {
    let m = finder.needle().len();
    let window = &hay[from..(end + m - 1).min(hay.len())];
    let mut hits = SliceHits::default();
    for p in finder.find_iter(window) {
        let at = (from + p) as u64;
        hits.first.get_or_insert(at);
        hits.last_end = at + m as u64;
        hits.count += 1;
        if offsets {
            hits.offsets.push(at);
        }
        // Without self-overlap no later slice looks at this one's last
        // match, so the search can stop at the limit.
        if !overlapping && hits.count as usize >= limit {
            break;
        }
    }
    hits
}

/// Search the slices `parts` of `hay` on all cores with `search(from, end,
/// limit)` and report the hits in order, at most `max` of them.
///
/// A literal's slices each own the matches that start inside them and
/// look m - 1 bytes past their end for them, so a match across a boundary
/// is found exactly once. A pattern that can overlap itself (`aa`, `abab`)
/// makes the slices depend on each other: which matches count is decided
/// from the start of the file. So each slice also reports where its first
/// match starts, and one that begins inside the previous slice's last
/// match is searched again from that match's end, in order (rare: only at
/// a boundary a match straddles).
fn search_slices(
    hay: &[u8],
    parts: &[Range<usize>],
    search: impl Fn(usize, usize, usize) -> SliceHits + Sync,
    overlapping: bool,
    max: u64,
    report: &mut Report,
    progress: &ScanProgress,
) -> Result<()> {
    if hay.is_empty() {
        return Ok(());
    }
    let threads = cores();
    // Slices go in ordered batches: offsets print in order, the work stays
    // parallel, and --max stops the scan early.
    // A batch is at least a few slices per core and about 256 MiB, which
    // bounds the offsets held at once and the threads started per batch.
    let slice_len = parts.first().map_or(1, |r| r.len().max(1));
    let per_batch = (threads * 2).max((256 << 20) / slice_len);
    let limit = if report.counting_only && report.mode != Mode::Files {
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
            report.hits(hits, 0, max)?;
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
    /// Matches, or matching lines (--lines, -l).
    count: u64,
    /// Where the first match starts (literals only).
    first: Option<u64>,
    /// Where the last match ends (literals only).
    last_end: u64,
    /// Every match's offset, when they are printed.
    offsets: Vec<u64>,
}

/// Search a stream block by block for a literal, keeping the last m - 1
/// bytes of each block so a match across two reads is found.
fn search_stream(mut input: Input, finder: &Finder, max: u64, report: &mut Report) -> Result<()> {
    let m = finder.needle().len();
    let mut buf: Vec<u8> = Vec::with_capacity(STREAM_BLOCK + m);
    // Absolute offset of buf[0]; no match may start before `next`.
    let (mut base, mut next) = (0u64, 0u64);
    loop {
        let have = buf.len();
        buf.resize(have + STREAM_BLOCK, 0);
        let n = read_some(&mut input, &mut buf[have..])?;
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

/// Prints one file's result as it is found: offsets, a count, a file
/// name, or JSON; with several files, each line starts with `name:`.
struct Report<'a> {
    out: &'a mut dyn Write,
    mode: Mode,
    counting_only: bool,
    json: bool,
    /// The file's name, when lines are prefixed with it.
    prefix: Option<&'a str>,
    found: u64,
}

impl<'a> Report<'a> {
    fn new(
        out: &'a mut dyn Write,
        args: &Args,
        mode: Mode,
        prefix: Option<&'a str>,
        name: &str,
        patterns: &[Vec<u8>],
    ) -> Result<Report<'a>> {
        if args.json {
            let text = |p: &Vec<u8>| match std::str::from_utf8(p) {
                Ok(text) if !args.hex_pattern => serde_json::Value::from(text),
                _ => serde_json::Value::from(
                    p.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                ),
            };
            let pattern = match patterns {
                [one] => format!("\"pattern\":{}", text(one)),
                _ => format!(
                    "\"patterns\":{}",
                    serde_json::Value::from(patterns.iter().map(text).collect::<Vec<_>>())
                ),
            };
            write!(
                out,
                "{{\"file\":{},{pattern},\"hex\":{}",
                serde_json::Value::from(name),
                args.hex_pattern
            )?;
            if mode == Mode::Offsets {
                write!(out, ",\"offsets\":[")?;
            }
        }
        Ok(Report {
            out,
            mode,
            counting_only: mode != Mode::Offsets,
            json: args.json,
            prefix,
            found: 0,
        })
    }

    /// A slice's hits, its offsets relative to `base`; at most `max` in all.
    fn hits(&mut self, hits: SliceHits, base: u64, max: u64) -> io::Result<()> {
        if self.counting_only {
            self.found += hits.count.min(max - self.found);
            return Ok(());
        }
        for pos in hits.offsets {
            if self.found >= max {
                break;
            }
            self.offset(base + pos)?;
        }
        Ok(())
    }

    fn offset(&mut self, at: u64) -> io::Result<()> {
        if !self.counting_only {
            if self.json {
                if self.found > 0 {
                    self.out.write_all(b",")?;
                }
                write!(self.out, "{at}")?;
            } else {
                if let Some(name) = self.prefix {
                    write!(self.out, "{name}:")?;
                }
                writeln!(self.out, "{at}")?;
            }
        }
        self.found += 1;
        Ok(())
    }

    /// End the file's report; the number found.
    fn finish(self, name: &str) -> Result<u64> {
        if self.json {
            match self.mode {
                Mode::Offsets => self.out.write_all(b"]")?,
                Mode::Lines => write!(self.out, ",\"lines\":{}", self.found)?,
                _ => {}
            }
            if self.mode == Mode::Lines {
                writeln!(self.out, "}}")?;
            } else {
                writeln!(self.out, ",\"count\":{}}}", self.found)?;
            }
        } else if self.mode == Mode::Files {
            if self.found > 0 {
                writeln!(self.out, "{name}")?;
            }
        } else if self.counting_only {
            if let Some(name) = self.prefix {
                write!(self.out, "{name}:")?;
            }
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
