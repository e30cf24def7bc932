//! `fkit chunk plan`: where the chunks of a file would begin and end.

use super::ranges::ChunkPlan;
use super::{Cut, Naming, separator};
use crate::io::{Input, Output};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;

/// Print where the chunks of a file would begin and end; write nothing.
///
/// One `OFFSET:LENGTH` line per chunk, ready for `fkit chunk cat FILE
/// --range`, or with --json the file's size and each chunk's index, name,
/// offset, length and range. A driver for engines that schedule work on
/// other hosts: every range can be read on its own.
///
/// Examples:
///   fkit chunk plan big.log --size 256M --line-aligned
///   fkit chunk plan big.log --number 16 --line-aligned --json
///   fkit chunk plan big.log -C -s 64M | parallel -k --sshlogin : 'fkit chunk cat big.log --range {} | grep -c ERROR'
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The file to plan (a regular file: its size must be known).
    file: PathBuf,

    #[command(flatten)]
    cut: Cut,

    /// Never cut a line (see split).
    #[arg(short = 'C', long)]
    line_aligned: bool,

    /// Lines (records) end with this byte instead of a newline; `\0` is NUL.
    #[arg(short = 't', long, value_name = "SEP", value_parser = separator)]
    separator: Option<u8>,

    /// With --number: leave out empty chunks.
    #[arg(short = 'e', long)]
    elide_empty_files: bool,

    #[command(flatten)]
    naming: Naming,

    /// Print JSON: {"file", "size", "chunks": [{"index", "name", "offset", "length", "range"}]}.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let policy = args.cut.policy(args.line_aligned)?;
    let name = args.file.display().to_string();
    let input = Input::at(Some(&args.file)).open_file()?;
    let (file, len) = (input.file(), input.len());
    let prefix = args.naming.prefix(Some(&args.file));
    let names = args.naming.names(&prefix, args.cut.parts())?;
    let only = args.cut.number.and_then(|n| n.only);
    let mut out = Output::stdout().buffer(8 << 10).create()?;
    let mut chunks = Vec::new();
    let plan = ChunkPlan::new(file, len, policy)
        .separator(args.separator.unwrap_or(b'\n'))
        .elide_empty(args.elide_empty_files && only.is_none());
    for range in plan {
        let r = range.with_context(|| name.clone())?;
        // -n K/N: only the Kth.
        if only.is_some_and(|k| k != r.index + 1) {
            continue;
        }
        if args.json {
            chunks.push(serde_json::json!({
                "index": r.index,
                "name": names.name(r.index)?,
                "offset": r.offset,
                "length": r.length,
                "range": format!("{}:{}", r.offset, r.length),
            }));
        } else {
            writeln!(out, "{}:{}", r.offset, r.length)?;
        }
    }
    if args.json {
        let plan = serde_json::json!({"file": name, "size": len, "chunks": chunks});
        serde_json::to_writer_pretty(&mut out, &plan)?;
        writeln!(out)?;
    }
    out.finish()
}
