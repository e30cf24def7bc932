//! `fkit chunk`: split big files into verified chunks and join them back.

mod cat;
mod copy;
mod join;
mod plan;
mod ranges;
mod round_robin;
mod split;

use crate::io::{Exit, Size};
use anyhow::{Context, Result};
use ranges::Policy;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Split big files into chunks and join them back, verified.
///
/// `split` streams a file or stdin into numbered chunk files in constant
/// memory (from a file the kernel copies and fkit reads each chunk back to
/// sum it; a pipe is summed as it arrives) and
/// writes a JSON manifest with each chunk's name, offset, size and xxh3-64
/// checksum; `join` checks every chunk against it and rebuilds the
/// original atomically. `split --exec` pipes each chunk to a command
/// instead, several at once. `plan` prints the chunk boundaries and `cat`
/// streams one range, so other engines (GNU parallel across hosts, a
/// cluster's job array) can work on the chunks of a shared file.
///
/// Examples:
///   fkit chunk split big.log --size 64M --dir parts
///   fkit chunk join parts/big.log.manifest.json -o big.log
///   fkit chunk split big.log --lines 1000000 --exec 'gzip > {}.gz' -j 4
///   fkit chunk plan big.log --size 256M --line-aligned --json
///   fkit chunk cat big.log --range 268435456:268435456 | wc -l
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    Split(split::Args),
    Join(join::Args),
    Plan(plan::Args),
    Cat(cat::Args),
}

pub fn run(args: Args) -> Result<()> {
    match args.action {
        Action::Split(a) => split::run(a),
        Action::Join(a) => join::run(a),
        Action::Plan(a) => plan::run(a),
        Action::Cat(a) => cat::run(a),
    }
}

/// How to cut: exactly one of --size, --line-bytes, --lines, --number.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
struct Cut {
    /// Chunks of this many bytes (64M, 1G; KB = 1000; also -b and
    /// --bytes, as split's); the last may be shorter.
    #[arg(short, long, short_alias = 'b', alias = "bytes", value_name = "SIZE")]
    size: Option<Size>,

    /// At most SIZE bytes of whole lines each: --size SIZE --line-aligned
    /// (split's --line-bytes; its -C SIZE is -C -s SIZE here).
    #[arg(long, value_name = "SIZE")]
    line_bytes: Option<Size>,

    /// Chunks of this many lines (records, with -t).
    #[arg(short, long, value_name = "N")]
    lines: Option<u64>,

    /// N chunks of nearly equal size, as split -n: `N` (bytes), `l/N` (whole
    /// lines), `r/N` (lines round robin); `K/N`, `l/K/N`, `r/K/N` write only
    /// the Kth to stdout. Bytes and l/ need a file or `< file`, not a pipe.
    #[arg(short, long, value_name = "[l/|r/][K/]N")]
    number: Option<Number>,
}

/// split -n's argument: how many parts, cut how, and maybe only one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Number {
    parts: u64,
    /// 1-based: only this part, to stdout.
    only: Option<u64>,
    kind: NumberKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NumberKind {
    Bytes,
    Lines,
    RoundRobin,
}

impl std::str::FromStr for Number {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Number, String> {
        let bad = || {
            format!(
                "invalid number of chunks \"{text}\" (expected N, K/N, l/N, l/K/N, r/N or r/K/N)"
            )
        };
        let (kind, rest) = match text.split_once('/') {
            Some(("l", rest)) => (NumberKind::Lines, rest),
            Some(("r", rest)) => (NumberKind::RoundRobin, rest),
            _ => (NumberKind::Bytes, text),
        };
        let count = |t: &str| t.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(bad);
        let (only, parts) = match rest.split_once('/') {
            Some((k, n)) => (Some(count(k)?), count(n)?),
            None => (None, count(rest)?),
        };
        if only.is_some_and(|k| k > parts) {
            return Err(format!(
                "invalid chunk number in \"{text}\": K is more than N"
            ));
        }
        Ok(Number { parts, only, kind })
    }
}

impl Cut {
    fn policy(&self, line_aligned: bool) -> Result<Policy> {
        let positive = |n: u64, flag: &str| {
            if n == 0 {
                Err(Exit::usage(format!("{flag} must be at least 1")))
            } else {
                Ok(n)
            }
        };
        if let Some(s) = self.line_bytes {
            return Ok(Policy::LineAligned(positive(s.bytes(), "--line-bytes")?));
        }
        Ok(match (self.size, self.lines, self.number) {
            (Some(s), _, _) => {
                let n = positive(s.bytes(), "--size")?;
                if line_aligned {
                    Policy::LineAligned(n)
                } else {
                    Policy::Size(n)
                }
            }
            // Whole lines already: --line-aligned changes nothing.
            (_, Some(n), _) => Policy::Lines(positive(n, "--lines")?),
            (_, _, Some(n)) => match n.kind {
                NumberKind::Bytes | NumberKind::Lines => Policy::Number {
                    k: n.parts,
                    line_aligned: line_aligned || n.kind == NumberKind::Lines,
                },
                NumberKind::RoundRobin => {
                    return Err(Exit::usage("r/N: the parts are not ranges of the input").into());
                }
            },
            _ => return Err(Exit::usage("give --size, --line-bytes, --lines or --number").into()),
        })
    }

    /// The number of chunks when it is known before reading (split -n).
    fn parts(&self) -> Option<u64> {
        self.number.map(|n| n.parts)
    }
}

/// `-t SEP`, as split takes it: one byte, or `\0` for NUL.
fn separator(text: &str) -> std::result::Result<u8, String> {
    match text.as_bytes() {
        [] => Err("empty record separator".to_string()),
        [b] => Ok(*b),
        b"\\0" => Ok(0),
        _ => Err(format!(
            "multi-character separator \"{text}\" (one byte, or \\0)"
        )),
    }
}

/// Chunk file names: PREFIX + a suffix + the additional suffix.
#[derive(clap::Args, Debug)]
struct Naming {
    /// Chunk names start with this (default: the input's file name and a
    /// dot, or `chunk.` for stdin).
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,

    /// Suffix length (default 4; 2 with --alpha, --numeric-suffixes or -x,
    /// growing as split's do when more are needed).
    #[arg(short = 'a', long = "suffix-length", visible_alias = "digits", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=19))]
    suffix_length: Option<u32>,

    /// Alphabetic suffixes (aa, ab, …), as split's default.
    #[arg(long, conflicts_with_all = ["numeric_suffixes", "hex_suffixes"])]
    alpha: bool,

    /// Decimal suffixes from FROM (default 0), as split -d.
    #[arg(long, value_name = "FROM", num_args = 0..=1, require_equals = true, default_missing_value = "0", conflicts_with = "hex_suffixes")]
    numeric_suffixes: Option<String>,

    /// Hexadecimal suffixes from FROM (default 0), as split -x.
    #[arg(short = 'x', long, value_name = "FROM", num_args = 0..=1, require_equals = true, default_missing_value = "0")]
    hex_suffixes: Option<String>,

    /// Append SUF to every chunk name (`.csv`).
    #[arg(long, value_name = "SUF")]
    additional_suffix: Option<String>,
}

impl Naming {
    fn prefix(&self, input: Option<&Path>) -> String {
        match (&self.prefix, input) {
            (Some(p), _) => p.clone(),
            (None, Some(path)) => match path.file_name() {
                Some(name) => format!("{}.", name.to_string_lossy()),
                None => "chunk.".to_string(),
            },
            (None, None) => "chunk.".to_string(),
        }
    }

    /// The names of the chunks after `prefix`, for a cut into `parts`
    /// chunks when that is known, decided as split decides them.
    fn names(&self, prefix: &str, parts: Option<u64>) -> Result<Names> {
        let split_style =
            self.alpha || self.numeric_suffixes.is_some() || self.hex_suffixes.is_some();
        let (alphabet, start) = match (&self.numeric_suffixes, &self.hex_suffixes) {
            _ if self.alpha => (ALPHA, None),
            (Some(from), _) => (DECIMAL, Some(from.as_str())),
            (_, Some(from)) => (HEX, Some(from.as_str())),
            (None, None) => (DECIMAL, None),
        };
        let base = alphabet.len() as u64;
        let start = match start {
            None => 0,
            Some(from) => {
                let digits = from.trim_start_matches('0');
                let value =
                    u64::from_str_radix(if digits.is_empty() { "0" } else { digits }, base as u32)
                        .ok()
                        .filter(|_| from.bytes().all(|b| alphabet.contains(&b)));
                value.ok_or_else(|| {
                    Exit::usage(format!("{from}: invalid start value for numerical suffix"))
                })?
            }
        };
        if let Some(suffix) = &self.additional_suffix
            && suffix.contains('/')
        {
            return Err(
                Exit::usage(format!("invalid suffix \"{suffix}\": it contains a '/'")).into(),
            );
        }
        let given = self.suffix_length;
        // Enough characters for every chunk when their number is known.
        let needed = parts.map(|n| {
            let mut last = (n - 1).saturating_add(start);
            let mut width = 1;
            while last >= base {
                last /= base;
                width += 1;
            }
            width
        });
        let default = if split_style { 2 } else { 4 };
        let length = given.unwrap_or(default).max(if given.is_none() {
            needed.unwrap_or(0)
        } else {
            0
        });
        if let (Some(g), Some(n)) = (given, needed)
            && g < n
        {
            return Err(Exit::usage(format!("the suffix length needs to be at least {n}")).into());
        }
        if start > 0 && capacity(base, length).is_some_and(|c| start >= c) {
            return Err(
                Exit::usage("the suffix start value is too large for the suffix length").into(),
            );
        }
        Ok(Names {
            prefix: prefix.to_string(),
            alphabet,
            length,
            start,
            // split widens its suffixes as needed unless their length or
            // number was given, or they start elsewhere than at 0.
            widen: split_style && given.is_none() && parts.is_none() && start == 0,
            additional: self.additional_suffix.clone().unwrap_or_default(),
        })
    }
}

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const DECIMAL: &[u8] = b"0123456789";
const HEX: &[u8] = b"0123456789abcdef";

/// How many suffixes of `length` characters there are (None: more than a u64).
fn capacity(base: u64, length: u32) -> Option<u64> {
    base.checked_pow(length)
}

/// The name of each chunk, by its index.
#[derive(Debug, Clone)]
struct Names {
    prefix: String,
    alphabet: &'static [u8],
    length: u32,
    start: u64,
    /// split's growing suffixes: after `yz` come `zaaa` … `zzyz`, then
    /// `zzzaaaaa`: names still sort in order.
    widen: bool,
    additional: String,
}

impl Names {
    /// The name of chunk `index`; an error once the suffixes run out, as
    /// longer ones would no longer sort in order.
    fn name(&self, index: u64) -> Result<String> {
        let base = self.alphabet.len() as u64;
        let mut i = index;
        let mut length = self.length;
        let mut grown = 0usize;
        if self.widen {
            // Each width has (base - 1) · base^(width - 1) names that do
            // not start with the last letter; the next width starts with it.
            loop {
                match capacity(base, length - 1).and_then(|c| c.checked_mul(base - 1)) {
                    Some(block) if i >= block => {
                        i -= block;
                        grown += 1;
                        length += 1;
                    }
                    _ => break,
                }
            }
        } else {
            i = i.saturating_add(self.start);
            if capacity(base, length).is_some_and(|c| i >= c) {
                return Err(Exit::with(
                    1,
                    format!(
                        "output file suffixes exhausted after {} chunks: use a longer -a/--suffix-length or bigger chunks",
                        capacity(base, length).unwrap_or(u64::MAX) - self.start
                    ),
                )
                .into());
            }
        }
        let mut suffix = vec![self.alphabet[0]; length as usize];
        for slot in suffix.iter_mut().rev() {
            *slot = self.alphabet[(i % base) as usize];
            i /= base;
        }
        let last = *self.alphabet.last().unwrap_or(&b'z') as char;
        let mut name =
            String::with_capacity(self.prefix.len() + grown + suffix.len() + self.additional.len());
        name.push_str(&self.prefix);
        name.extend(std::iter::repeat_n(last, grown));
        name.push_str(std::str::from_utf8(&suffix).unwrap_or_default());
        name.push_str(&self.additional);
        Ok(name)
    }
}

/// What `split` writes beside the chunks and `join` checks them against.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Manifest {
    /// Marks the file as an fkit chunk manifest, and its version.
    format: String,
    /// The checksum algorithm of every `checksum` below.
    algorithm: String,
    /// The input's name when it was split (for people; join ignores it).
    source: String,
    /// The whole input's size and checksum.
    size: u64,
    checksum: String,
    chunks: Vec<ManifestChunk>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct ManifestChunk {
    /// File name, relative to the manifest's directory.
    name: String,
    offset: u64,
    size: u64,
    checksum: String,
}

const MANIFEST_FORMAT: &str = "fkit-chunk-manifest/1";

impl Manifest {
    pub(crate) fn read(path: &Path) -> Result<Manifest> {
        let mut input = crate::io::Input::at(Some(path)).open()?;
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut input, &mut text)
            .with_context(|| path.display().to_string())?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not an fkit chunk manifest", path.display()))?;
        if manifest.format != MANIFEST_FORMAT {
            anyhow::bail!(
                "{}: unknown manifest format \"{}\" (expected {MANIFEST_FORMAT})",
                path.display(),
                manifest.format
            );
        }
        if manifest.algorithm != copy::ALGORITHM {
            anyhow::bail!(
                "{}: checksum algorithm \"{}\" is not supported (only {})",
                path.display(),
                manifest.algorithm,
                copy::ALGORITHM
            );
        }
        Ok(manifest)
    }
}

/// The commands' failures (one message each) as fkit's exit: status 1
/// naming every one, or success when there are none.
fn commands_succeeded(failures: &[String]) -> Result<()> {
    if failures.is_empty() {
        return Ok(());
    }
    Err(Exit::with(
        1,
        format!(
            "{} of the commands failed: {}",
            failures.len(),
            failures.join("; ")
        ),
    )
    .into())
}

/// Parse `OFFSET:LENGTH` (sizes or hex on both sides).
fn parse_range(text: &str) -> Result<(u64, u64)> {
    let bad = || Exit::usage(format!("invalid range \"{text}\" (expected OFFSET:LENGTH)"));
    let (offset, length) = text.split_once(':').ok_or_else(bad)?;
    let offset: Size = offset.parse().map_err(|_| bad())?;
    let length: Size = length.parse().map_err(|_| bad())?;
    Ok((offset.bytes(), length.bytes()))
}

fn dir_or_dot(dir: Option<&PathBuf>) -> PathBuf {
    dir.cloned().unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0:10").unwrap(), (0, 10));
        assert_eq!(parse_range("64M:0x10").unwrap(), (64 << 20, 16));
        assert!(parse_range("10").is_err());
        assert!(parse_range("a:b").is_err());
    }

    fn naming(length: Option<u32>) -> Naming {
        Naming {
            prefix: None,
            suffix_length: length,
            alpha: false,
            numeric_suffixes: None,
            hex_suffixes: None,
            additional_suffix: None,
        }
    }

    #[test]
    fn names() {
        let n = naming(Some(2));
        assert_eq!(n.prefix(Some(Path::new("dir/big.log"))), "big.log.");
        let names = n.names("x.", None).unwrap();
        assert_eq!(names.name(7).unwrap(), "x.07");
        assert!(names.name(100).is_err());
        assert_eq!(
            naming(None).names("p", None).unwrap().name(3).unwrap(),
            "p0003"
        );
    }

    #[test]
    fn split_style_names_widen_as_splits_do() {
        let mut n = naming(None);
        n.alpha = true;
        let names = n.names("x", None).unwrap();
        let all: Vec<String> = [0, 1, 25, 26, 649, 650, 651, 650 + 25 * 26 * 26]
            .iter()
            .map(|&i| names.name(i).unwrap())
            .collect();
        assert_eq!(
            all,
            [
                "xaa", "xab", "xaz", "xba", "xyz", "xzaaa", "xzaab", "xzzaaaa"
            ]
        );
        // A known number of chunks fixes the length (split -n 30: 2 letters).
        let fixed = n.names("x", Some(700)).unwrap();
        assert_eq!(fixed.name(699).unwrap(), "xbax");
        n.alpha = false;
        n.hex_suffixes = Some("0".into());
        n.additional_suffix = Some(".csv".into());
        assert_eq!(n.names("x", None).unwrap().name(29).unwrap(), "x1d.csv");
        n.hex_suffixes = None;
        n.numeric_suffixes = Some("5".into());
        let from5 = n.names("u", Some(3)).unwrap();
        assert_eq!(from5.name(0).unwrap(), "u05.csv");
        assert!(from5.name(95).is_err(), "no widening from a start value");
        n.suffix_length = Some(1);
        assert!(n.names("u", Some(6)).is_err(), "5 + 6 chunks need 2 digits");
        n.numeric_suffixes = Some("1a".into());
        assert!(n.names("u", None).is_err());
    }

    #[test]
    fn numbers_and_separators() {
        let n = |t: &str| t.parse::<Number>();
        assert_eq!(
            n("4"),
            Ok(Number {
                parts: 4,
                only: None,
                kind: NumberKind::Bytes
            })
        );
        assert_eq!(n("l/2/4").unwrap().only, Some(2));
        assert_eq!(n("r/4").unwrap().kind, NumberKind::RoundRobin);
        for bad in ["0", "5/4", "x/4", "l/", "r/0/3", "1/2/3"] {
            assert!(n(bad).is_err(), "{bad}");
        }
        assert_eq!(separator("\\0"), Ok(0));
        assert_eq!(separator(","), Ok(b','));
        assert!(separator("").is_err() && separator("ab").is_err());
    }
}
