//! `fkit chunk`: split big files into verified chunks and join them back.

mod cat;
mod copy;
mod join;
mod plan;
mod ranges;
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

/// How to cut: exactly one of --size, --lines, --number.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
struct Cut {
    /// Chunks of this many bytes (64M, 1G); the last may be shorter.
    #[arg(short, long, value_name = "SIZE")]
    size: Option<Size>,

    /// Chunks of this many lines.
    #[arg(short, long, value_name = "N")]
    lines: Option<u64>,

    /// This many chunks of nearly equal size (needs a file or `< file`, not a pipe).
    #[arg(short, long, value_name = "K")]
    number: Option<u64>,
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
            (_, _, Some(k)) => Policy::Number {
                k: positive(k, "--number")?,
                line_aligned,
            },
            _ => return Err(Exit::usage("give --size, --lines or --number").into()),
        })
    }
}

/// Chunk file names: PREFIX + the index, zero-padded to DIGITS.
#[derive(clap::Args, Debug)]
struct Naming {
    /// Chunk names start with this (default: the input's file name and a
    /// dot, or `chunk.` for stdin).
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,

    /// Digits in the chunk number (chunk names sort in order).
    #[arg(long, value_name = "D", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=19))]
    digits: u32,
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

    /// The name of chunk `index`; an error once the digits run out, as
    /// wider names would no longer sort in order.
    fn name(&self, prefix: &str, index: u64) -> Result<String> {
        if self.digits < 20 && index >= 10u64.pow(self.digits) {
            return Err(Exit::with(
                1,
                format!(
                    "more than {} chunks: use more --digits or bigger chunks",
                    10u64.pow(self.digits)
                ),
            )
            .into());
        }
        Ok(format!(
            "{prefix}{index:0width$}",
            width = self.digits as usize
        ))
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

    #[test]
    fn names() {
        let n = Naming {
            prefix: None,
            digits: 2,
        };
        assert_eq!(n.prefix(Some(Path::new("dir/big.log"))), "big.log.");
        assert_eq!(n.name("x.", 7).unwrap(), "x.07");
        assert!(n.name("x.", 100).is_err());
    }
}
