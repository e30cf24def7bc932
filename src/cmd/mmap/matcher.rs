//! What `fkit mmap find` looks for, and the line-by-line scans that grep's
//! `-c`, `-l` and `-v` need.
//!
//! A single literal without `-i`/`-w` is searched with memchr's memmem;
//! everything else (regexes, several patterns, `-i`, `-w`) becomes one
//! regex of the regex crate, which finds its own literal prefilters
//! (memchr, Teddy) as ripgrep relies on it to. Matches never span lines:
//! a line is what grep and rg match against.

use super::folded::FoldedLiteral;
use crate::io::Exit;
use anyhow::Result;
use memchr::memmem::Finder;
use regex::bytes::{Regex, RegexBuilder};

/// The compiled patterns.
pub(super) enum Matcher {
    /// One byte string, searched with memmem; matches may span lines.
    Literal(Box<Finder<'static>>),
    /// One ASCII byte string, ignoring case (-i); matches may span lines.
    Folded(FoldedLiteral),
    /// Everything else; a match always lies within one line.
    Regex(Regex),
}

/// How the patterns are to be read (`-i`, `-w`, `-x`, `--regex`).
pub(super) struct Syntax {
    pub regex: bool,
    pub ignore_case: bool,
    pub word: bool,
    pub line: bool,
}

impl Matcher {
    /// Compile `patterns` (already split at newlines, as grep splits them).
    pub(super) fn new(patterns: &[Vec<u8>], syntax: &Syntax) -> Result<Matcher> {
        if let [one] = patterns
            && !syntax.regex
            && !syntax.ignore_case
            && !syntax.word
            && !syntax.line
            && !one.is_empty()
        {
            return Ok(Matcher::Literal(Box::new(Finder::new(one).into_owned())));
        }
        if let [one] = patterns
            && !syntax.regex
            && syntax.ignore_case
            && !syntax.word
            && !syntax.line
            && let Some(folded) = FoldedLiteral::new(one)
        {
            return Ok(Matcher::Folded(folded));
        }
        let mut alternatives: Vec<String> = Vec::with_capacity(patterns.len());
        if patterns.is_empty() {
            // -f of an empty file: grep matches nothing; an empty class
            // is a regex that never matches.
            alternatives.push("[a&&b]".to_string());
        }
        for p in patterns {
            if syntax.regex {
                let text = std::str::from_utf8(p).map_err(|_| {
                    Exit::usage(format!(
                        "the regex \"{}\" is not UTF-8",
                        String::from_utf8_lossy(p)
                    ))
                })?;
                alternatives.push(format!("(?:{text})"));
            } else {
                alternatives.push(escape_bytes(p));
            }
        }
        if !syntax.regex {
            // Literals as grep -F -o picks them: the longest at a position.
            // A regex alternation prefers the first that matches, so the
            // longer ones go first.
            alternatives.sort_by_key(|a| std::cmp::Reverse(a.len()));
        }
        let mut pattern = alternatives.join("|");
        if syntax.word {
            // grep -w in the C locale: no word byte (ASCII letter, digit,
            // `_`) right before or right after the match.
            pattern = format!(r"(?-u:\b{{start-half}})(?:{pattern})(?-u:\b{{end-half}})");
        }
        if syntax.line {
            // grep -x: the match is the whole line (multi-line `^`/`$`).
            pattern = format!("^(?:{pattern})$");
        }
        let regex = RegexBuilder::new(&pattern)
            .case_insensitive(syntax.ignore_case)
            .multi_line(true)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .map_err(|e| Exit::usage(format!("bad pattern: {e}")))?;
        Ok(Matcher::Regex(regex))
    }

    /// The first match (perhaps empty) in `hay[at..end]`, as `start..end`
    /// offsets into `hay`; a regex match lies within one line. `end` must
    /// be a line end for a regex, so that cutting there changes no `$`.
    pub(super) fn find(&self, hay: &[u8], at: usize, end: usize) -> Option<(usize, usize)> {
        match self {
            Matcher::Literal(f) => f
                .find(&hay[at..end])
                .map(|p| (at + p, at + p + f.needle().len())),
            Matcher::Folded(f) => f.find(hay, at, end).map(|p| (p, p + f.len())),
            Matcher::Regex(re) => {
                let hay = &hay[..end];
                let mut at = at;
                while at <= end {
                    let m = re.find_at(hay, at)?;
                    let (s, e) = (m.start(), m.end());
                    if s >= end {
                        return None;
                    }
                    let Some(nl) = memchr::memchr(b'\n', &hay[s..e]) else {
                        return Some((s, e));
                    };
                    // The leftmost match runs into the next line; a match
                    // inside this line can only start at or after `s`.
                    let line_end = s + nl;
                    if let Some(m) = re.find_at(&hay[..line_end], s) {
                        return Some((m.start(), m.end()));
                    }
                    at = line_end + 1;
                }
                None
            }
        }
    }
}

/// A byte string as a regex that matches it literally: valid UTF-8 as
/// characters (so `-i` folds them), other bytes as `\xNN` bytes.
fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&regex::escape(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!(r"(?-u:\x{b:02x})"));
        }
    }
    out
}

/// How many lines of `hay[from..end]` match (or, with `invert`, do not),
/// stopping at `limit`. `from` is a line start and `end` a line end (just
/// past a newline, or the end of the input), as grep -c counts: a last
/// line without a newline counts, the nothing after a final newline not.
pub(super) fn count_lines(
    m: &Matcher,
    hay: &[u8],
    from: usize,
    end: usize,
    invert: bool,
    limit: u64,
) -> u64 {
    let mut matching = 0u64;
    let mut pos = from;
    let lines_limit = if invert { u64::MAX } else { limit };
    while pos < end && matching < lines_limit {
        let Some((s, e)) = m.find(hay, pos, end) else {
            break;
        };
        matching += 1;
        // The match has no newline in it (or, for a literal, the line to
        // skip is the one where it ends): the line ends at the next one.
        let from_here = if e > s { e - 1 } else { s };
        pos = match memchr::memchr(b'\n', &hay[from_here..end]) {
            Some(nl) => from_here + nl + 1,
            None => end,
        };
    }
    if !invert {
        return matching;
    }
    let slice = &hay[from..end];
    let mut lines = bytecount::count(slice, b'\n') as u64;
    if slice.last().is_some_and(|&b| b != b'\n') {
        lines += 1;
    }
    (lines - matching).min(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(patterns: &[&str], regex: bool, ignore_case: bool, word: bool) -> Matcher {
        let patterns: Vec<Vec<u8>> = patterns.iter().map(|p| p.as_bytes().to_vec()).collect();
        Matcher::new(
            &patterns,
            &Syntax {
                regex,
                ignore_case,
                word,
                line: false,
            },
        )
        .unwrap()
    }

    fn lines(m: &Matcher, hay: &str, invert: bool) -> u64 {
        count_lines(m, hay.as_bytes(), 0, hay.len(), invert, u64::MAX)
    }

    #[test]
    fn regex_matches_stay_within_a_line() {
        let m = matcher(&["a[^x]*b"], true, false, false);
        assert_eq!(lines(&m, "a\nb\n", false), 0);
        assert_eq!(lines(&m, "a\nab\nb", false), 1);
        assert_eq!(m.find(b"a\nab", 0, 4), Some((2, 4)));
    }

    #[test]
    fn counts_lines_not_matches() {
        let m = matcher(&["o"], false, false, false);
        assert_eq!(lines(&m, "foo\nbar\nzoo", false), 2);
        assert_eq!(lines(&m, "foo\nbar\nzoo", true), 1);
        assert_eq!(lines(&m, "foo\nbar\n", true), 1);
        let any = matcher(&[""], false, false, false);
        assert_eq!(lines(&any, "a\n\nb", false), 3);
    }

    #[test]
    fn words_and_case() {
        let m = matcher(&["err"], false, true, true);
        assert_eq!(lines(&m, "ERR x\nerrors\n_err\n(Err)", false), 2);
        let m = matcher(&["ab", "abc"], false, false, false);
        assert_eq!(m.find(b"xabc", 0, 4), Some((1, 4)));
    }

    #[test]
    fn invalid_utf8_literals() {
        assert_eq!(escape_bytes(b"a.\xff"), r"a\.(?-u:\xff)");
        let m = Matcher::new(
            &[b"\xffz".to_vec(), b"q".to_vec()],
            &Syntax {
                regex: false,
                ignore_case: true,
                word: false,
                line: false,
            },
        )
        .unwrap();
        assert_eq!(m.find(b"a\xffZ", 0, 3), Some((1, 3)));
    }
}
