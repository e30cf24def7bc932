//! `fkit mmap lines`: count lines, words, characters and bytes as wc
//! does, on every core.

use super::{ScanProgress, line_blocks, line_slices, name_of, open, scan_slices};
use crate::io::{Exit, Input, MapOrStream, Output};
use anyhow::{Context, Result};
use std::io::{self, Write};
use std::path::PathBuf;

/// Count lines (and words, characters, bytes), as wc -l (-w, -m, -c) does.
///
/// Lines are newline bytes: a last line without a newline is not counted,
/// as with wc -l. Words are runs of printable bytes between whitespace
/// (space, \t, \n, \v, \f, \r), as wc -w counts them in the C locale:
/// other bytes (controls, bytes >= 0x80) neither start nor end a word.
/// Characters (-m) are UTF-8 characters, as wc -m counts them in a UTF-8
/// locale (a byte that is not valid UTF-8 is not a character; glibc's
/// wc also counts the forbidden forms above U+10FFFF, F4 90 .. F7 and
/// 5-byte sequences, so on binary data its -m can be a little higher).
///
/// With no flag, only lines are counted. The counts print in wc's order
/// (lines, words, characters, bytes) and layout; with several files a
/// `total` line follows. A mapped file (or stdin redirected from one) is
/// counted on all cores; a pipe streams on one.
///
/// Examples:
///   fkit mmap lines big.log
///   fkit mmap lines -w big.log                   # wc -w
///   fkit mmap lines -l -w -c a.log b.log         # wc: both, then "total"
///   fkit mmap lines big.log --json
///   zcat big.log.gz | fkit mmap lines
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files to count; `-` or nothing reads stdin.
    files: Vec<PathBuf>,

    /// Count lines (the default when no count is asked for).
    #[arg(short, long)]
    lines: bool,

    /// Count words, as wc -w in the C locale.
    #[arg(short, long)]
    words: bool,

    /// Count UTF-8 characters, as wc -m in a UTF-8 locale.
    #[arg(short = 'm', long)]
    chars: bool,

    /// Count bytes, as wc -c.
    #[arg(short = 'c', long)]
    bytes: bool,

    /// Print a JSON object per file: file, lines, bytes (and words and
    /// chars when asked for).
    #[arg(long)]
    json: bool,

    /// Hold a shared advisory lock on the file while reading it.
    #[arg(long)]
    lock: bool,

    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// Which counts to take.
#[derive(Clone, Copy)]
struct Wanted {
    lines: bool,
    words: bool,
    chars: bool,
    bytes: bool,
}

/// The counts of some bytes.
#[derive(Clone, Copy, Default)]
struct Counts {
    lines: u64,
    words: u64,
    chars: u64,
    bytes: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.lines += o.lines;
        self.words += o.words;
        self.chars += o.chars;
        self.bytes += o.bytes;
    }
}

pub fn run(args: Args) -> Result<()> {
    let none = !(args.lines || args.words || args.chars || args.bytes);
    let want = Wanted {
        lines: args.lines || none,
        words: args.words,
        chars: args.chars,
        bytes: args.bytes,
    };
    let asked = [want.lines, want.words, want.chars, want.bytes]
        .iter()
        .filter(|&&w| w)
        .count();
    let named = !args.files.is_empty();
    let files: Vec<Option<&PathBuf>> = if named {
        args.files.iter().map(Some).collect()
    } else {
        vec![None]
    };
    // Count everything first: wc's column width depends on every file.
    let mut results = Vec::new();
    let mut failed = false;
    for file in &files {
        let name = if named {
            file.map_or("-".to_string(), |p| p.display().to_string())
        } else {
            name_of(None)
        };
        match count(*file, want, &args) {
            Ok((counts, size)) => results.push((name, counts, size)),
            Err(e) => {
                eprintln!("fkit: mmap: {e:#}");
                failed = true;
            }
        }
    }
    let mut out = Output::stdout().create()?;
    let mut total = Counts::default();
    for (_, c, _) in &results {
        total += *c;
    }
    if args.json {
        for (name, c, _) in &results {
            let mut report = serde_json::json!({"file": name, "lines": c.lines, "bytes": c.bytes});
            if want.words {
                report["words"] = c.words.into();
            }
            if want.chars {
                report["chars"] = c.chars.into();
            }
            writeln!(out, "{report}")?;
        }
    } else {
        let width = if files.len() == 1 && asked == 1 {
            1
        } else {
            number_width(&results)
        };
        for (name, c, _) in &results {
            write_counts(&mut out, c, want, width, named.then_some(name.as_str()))?;
        }
        if files.len() > 1 {
            write_counts(&mut out, &total, want, width, Some("total"))?;
        }
    }
    out.finish()?;
    if failed {
        return Err(Exit::silent(1).into());
    }
    Ok(())
}

/// wc's column width: the digits of the regular files' total size, at
/// least 7 when some input's size is unknown (a pipe).
fn number_width(results: &[(String, Counts, Option<u64>)]) -> usize {
    let mut total = 0u64;
    let mut minimum = 1;
    for (_, _, size) in results {
        match size {
            Some(s) => total += s,
            None => minimum = 7,
        }
    }
    total.to_string().len().max(minimum)
}

/// One wc line: the wanted counts right-aligned in `width`, then the name.
fn write_counts(
    out: &mut impl Write,
    c: &Counts,
    want: Wanted,
    width: usize,
    name: Option<&str>,
) -> io::Result<()> {
    let fields = [
        (want.lines, c.lines),
        (want.words, c.words),
        (want.chars, c.chars),
        (want.bytes, c.bytes),
    ];
    let mut first = true;
    for (_, n) in fields.iter().filter(|(w, _)| *w) {
        if !first {
            out.write_all(b" ")?;
        }
        write!(out, "{n:>width$}")?;
        first = false;
    }
    if let Some(name) = name {
        write!(out, " {name}")?;
    }
    writeln!(out)
}

/// The counts of one input, and its size when it is a regular file.
fn count(path: Option<&PathBuf>, want: Wanted, args: &Args) -> Result<(Counts, Option<u64>)> {
    Ok(match open(path, args.lock, !args.quiet)? {
        MapOrStream::Map(map) => {
            let progress = ScanProgress::new(map.len(), !args.quiet);
            let mut counts = Counts::default();
            for part in scan_slices(&line_slices(&map), |r| {
                let c = tally(
                    &map[r.clone()],
                    want.words && in_word_before(&map[..r.start]),
                    want,
                );
                progress.done(r.len());
                c.0
            }) {
                counts += part;
            }
            counts.bytes = map.len() as u64;
            (counts, Some(map.len() as u64))
        }
        MapOrStream::Stream(input) => {
            // wc's width counts the size of every regular file, streamed
            // ones too (an empty file, /proc's files that claim 0 bytes).
            let size = input
                .len()
                .or_else(|| crate::io::input::regular_file_size(path?));
            let name = input.name().to_string();
            (count_stream(input, want).with_context(|| name)?, size)
        }
    })
}

/// Count a stream a block of whole lines at a time (a character never
/// spans a newline), carrying the unfinished last line.
fn count_stream(mut input: Input, want: Wanted) -> io::Result<Counts> {
    let mut counts = Counts::default();
    let mut in_word = false;
    line_blocks(&mut input, |buf, cut| {
        let (c, after) = tally(&buf[..cut], in_word, want);
        counts += c;
        in_word = after;
        Ok::<_, io::Error>(true)
    })?;
    Ok(counts)
}

/// How wc's C locale sees a byte.
#[derive(PartialEq)]
enum Class {
    Space,
    /// Printable, not space: part of a word.
    Word,
    /// Neither: changes nothing.
    Other,
}

fn class(b: u8) -> Class {
    match b {
        b'\t'..=b'\r' | b' ' => Class::Space,
        0x21..=0x7e => Class::Word,
        _ => Class::Other,
    }
}

/// Whether a word is open at the end of `before` (the bytes ahead of a
/// slice): its last byte that is space or printable is printable.
fn in_word_before(before: &[u8]) -> bool {
    before
        .iter()
        .rev()
        .map(|&b| class(b))
        .find(|c| *c != Class::Other)
        == Some(Class::Word)
}

/// The counts of `bytes`, a word open before them or not; and whether
/// one is open after them.
fn tally(bytes: &[u8], mut in_word: bool, want: Wanted) -> (Counts, bool) {
    let mut c = Counts {
        bytes: bytes.len() as u64,
        ..Counts::default()
    };
    if want.lines {
        c.lines = bytecount::count(bytes, b'\n') as u64;
    }
    if want.chars {
        c.chars = bytes
            .utf8_chunks()
            .map(|chunk| bytecount::num_chars(chunk.valid().as_bytes()) as u64)
            .sum();
    }
    if want.words {
        c.words = word_starts(bytes, &mut in_word);
    }
    (c, in_word)
}

/// The words that start in `bytes` (a word is open before them when
/// `in_word`), 64 bytes a step (AVX2, else SSE2): a word starts at a
/// printable byte after a space, which compares and a shift of the byte
/// masks tell for a block with no other bytes in it. A block with
/// controls or non-ASCII bytes goes through wc's state machine instead.
fn word_starts(bytes: &[u8], in_word: &mut bool) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            // SAFETY: the CPU reported both features.
            return unsafe { word_starts_avx2(bytes, in_word) };
        }
        // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64 CPU
        // has it, so the target feature holds wherever this runs.
        unsafe { word_starts_sse2(bytes, in_word) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    word_starts_slowly(bytes, in_word)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn word_starts_sse2(bytes: &[u8], in_word: &mut bool) -> u64 {
    use super::folded::load;
    use std::arch::x86_64::{
        _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8,
    };
    let (space, tab, cr, del) = (
        _mm_set1_epi8(0x20),
        _mm_set1_epi8(0x08),
        _mm_set1_epi8(0x0e),
        _mm_set1_epi8(0x7f),
    );
    // The word and blank masks of 16 bytes, bit i for byte i.
    let masks = |block: &[u8]| {
        let v = load(block);
        // Signed compares: bytes >= 0x80 are negative, so neither class.
        let word = _mm_and_si128(_mm_cmpgt_epi8(v, space), _mm_cmplt_epi8(v, del));
        let blank = _mm_or_si128(
            _mm_cmpeq_epi8(v, space),
            _mm_and_si128(_mm_cmpgt_epi8(v, tab), _mm_cmplt_epi8(v, cr)),
        );
        (
            _mm_movemask_epi8(word) as u16 as u64,
            _mm_movemask_epi8(blank) as u16 as u64,
        )
    };
    let mut open = *in_word;
    let mut starts = 0u64;
    let mut blocks = bytes.chunks_exact(64);
    for block in &mut blocks {
        let (w0, b0) = masks(&block[..16]);
        let (w1, b1) = masks(&block[16..32]);
        let (w2, b2) = masks(&block[32..48]);
        let (w3, b3) = masks(&block[48..]);
        let word = w0 | w1 << 16 | w2 << 32 | w3 << 48;
        let blank = b0 | b1 << 16 | b2 << 32 | b3 << 48;
        starts += block_word_starts(block, word, blank, &mut open);
    }
    *in_word = open;
    starts + word_starts_slowly(blocks.remainder(), in_word)
}

/// [`word_starts_sse2`], 32 bytes a compare.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn word_starts_avx2(bytes: &[u8], in_word: &mut bool) -> u64 {
    use super::folded::load32;
    use std::arch::x86_64::{
        _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };
    let (space, tab, cr, del) = (
        _mm256_set1_epi8(0x20),
        _mm256_set1_epi8(0x08),
        _mm256_set1_epi8(0x0e),
        _mm256_set1_epi8(0x7f),
    );
    let masks = |block: &[u8]| {
        let v = load32(block);
        // Signed compares: bytes >= 0x80 are negative, so neither class.
        let word = _mm256_and_si256(_mm256_cmpgt_epi8(v, space), _mm256_cmpgt_epi8(del, v));
        let blank = _mm256_or_si256(
            _mm256_cmpeq_epi8(v, space),
            _mm256_and_si256(_mm256_cmpgt_epi8(v, tab), _mm256_cmpgt_epi8(cr, v)),
        );
        (
            _mm256_movemask_epi8(word) as u32 as u64,
            _mm256_movemask_epi8(blank) as u32 as u64,
        )
    };
    let mut open = *in_word;
    let mut starts = 0u64;
    let mut blocks = bytes.chunks_exact(64);
    for block in &mut blocks {
        let (w0, b0) = masks(&block[..32]);
        let (w1, b1) = masks(&block[32..]);
        starts += block_word_starts(block, w0 | w1 << 32, b0 | b1 << 32, &mut open);
    }
    *in_word = open;
    starts + word_starts_slowly(blocks.remainder(), in_word)
}

/// The word starts in a 64-byte block from its word and blank masks (bit i
/// for byte i): a bit trick when every byte is one or the other, else wc's
/// state machine. Inlined into each vector loop, which keeps its features.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block_word_starts(block: &[u8], word: u64, blank: u64, open: &mut bool) -> u64 {
    if word | blank != u64::MAX {
        return word_starts_slowly(block, open);
    }
    let before = (word << 1) | u64::from(*open);
    *open = word >> 63 != 0;
    u64::from((word & !before).count_ones())
}

/// wc's state machine, a byte at a time.
fn word_starts_slowly(bytes: &[u8], in_word: &mut bool) -> u64 {
    let mut starts = 0;
    for &b in bytes {
        match class(b) {
            Class::Space => *in_word = false,
            Class::Word => {
                starts += u64::from(!*in_word);
                *in_word = true;
            }
            Class::Other => {}
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(bytes: &[u8]) -> u64 {
        let want = Wanted {
            lines: false,
            words: true,
            chars: false,
            bytes: false,
        };
        tally(bytes, false, want).0.words
    }

    #[test]
    fn words_as_wc_in_the_c_locale() {
        assert_eq!(words(b"a\x01b c\x7f \xff d\xc2\xa0e\n"), 3);
        assert_eq!(words(b"  one\ttwo\n\x0bthree  "), 3);
        // The fast path and the byte-at-a-time path agree at every length.
        let text: Vec<u8> = (0..1000u32)
            .map(|i| match i {
                _ if i % 7 == 0 || i % 11 == 0 => b' ',
                _ if i % 97 == 0 => 0xc3,
                _ if i % 53 == 0 => b'\n',
                _ => b'a' + (i % 26) as u8,
            })
            .collect();
        for end in 0..text.len() {
            let mut in_word = false;
            let slow = word_starts_slowly(&text[..end], &mut in_word);
            assert_eq!(words(&text[..end]), slow, "{end}");
        }
    }

    #[test]
    fn a_word_open_before_a_slice() {
        assert!(in_word_before(b"ab\x01\x02"));
        assert!(!in_word_before(b"ab \x01"));
        assert!(!in_word_before(b""));
    }
}
