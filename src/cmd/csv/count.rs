//! `fkit csv count`: the number of data rows.

use super::{Options, Table, chunks};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;

/// Count the data rows (the header is not counted).
///
/// A memory-mapped file is split into record-aligned chunks counted on all
/// cores; quoted newlines stay inside their rows. Empty lines are not rows.
/// Streams: constant memory.
///
/// Several files: one `N FILE` line each, then `N total`, as wc(1) prints
/// them (--json: {"rows": TOTAL, "files": [{"file", "rows"}]}).
///
/// Examples:
///   fkit csv count data.csv
///   zcat big.csv.gz | fkit csv count --json
///   fkit csv count jan.csv feb.csv mar.csv.gz
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Print {"rows": N} instead of N.
    #[arg(long)]
    json: bool,

    /// CSV files to read; `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    inputs: Vec<PathBuf>,

    #[command(flatten)]
    options: Options,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut counts = Vec::new();
    for path in &args.inputs {
        let table = Table::open_at(Some(path), &args.options)?;
        counts.push((table.name().to_string(), count(table)?));
    }
    if args.inputs.is_empty() {
        counts.push((String::new(), count(Table::open_at(None, &args.options)?)?));
    }
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let mut out = args.options.create_output()?;
    let mut buf = Vec::new();
    match (counts.len(), args.json) {
        (1, false) => writeln!(buf, "{total}")?,
        (1, true) => writeln!(buf, "{{\"rows\":{total}}}")?,
        (_, false) => {
            for (name, n) in &counts {
                writeln!(buf, "{n} {name}")?;
            }
            writeln!(buf, "{total} total")?;
        }
        (_, true) => {
            write!(buf, "{{\"rows\":{total},\"files\":[")?;
            for (i, (name, n)) in counts.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"file\":");
                super::json_out::write_json_string(&mut buf, name.as_bytes());
                write!(buf, ",\"rows\":{n}}}")?;
            }
            buf.extend_from_slice(b"]}\n");
        }
    }
    out.write_all(&buf)?;
    out.finish()
}

/// The data rows of one input.
fn count(mut table: Table) -> Result<u64> {
    Ok(match table.mapped_data() {
        Some((map, start)) => {
            let count =
                chunks::count_records(map, start, 8 << 20, b'"', &|range| map.release(range));
            if !count.ends_in_quotes {
                return Ok(count.records);
            }
            // A quote never closed: the parser reads the file again to say
            // on which line and byte the open field began.
            table.accept_uneven();
            table.count_rows()?
        }
        None => {
            // Counting checks no row lengths, like xan and xsv.
            table.accept_uneven();
            table.count_rows()?
        }
    })
}
