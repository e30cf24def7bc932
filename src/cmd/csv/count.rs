//! `fkit csv count`: the number of data rows.

use super::{Common, Table, chunks};
use anyhow::Result;
use std::io::Write;

/// Count the data rows (the header is not counted).
///
/// A memory-mapped file is split into record-aligned chunks counted on all
/// cores; quoted newlines stay inside their rows. Empty lines are not rows.
/// Streams: constant memory.
///
/// Examples:
///   fkit csv count data.csv
///   zcat big.csv.gz | fkit csv count --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Print {"rows": N} instead of N.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let rows = match table.mapped_data() {
        Some((map, start)) => {
            chunks::count_records(map, start, 8 << 20, b'"', &|range| map.release(range))
        }
        None => {
            // Counting checks no row lengths, like xan and xsv.
            table.accept_uneven();
            let mut rows = 0u64;
            let mut sink = std::io::sink();
            table.for_each_chunk(
                &mut sink,
                |records, _| {
                    let mut n = 0u64;
                    while records.next()?.is_some() {
                        n += 1;
                    }
                    Ok(n)
                },
                |n| {
                    rows += n;
                    Ok(())
                },
            )?;
            rows
        }
    };
    let mut out = args.common.create_output()?;
    if args.json {
        writeln!(out, "{{\"rows\":{rows}}}")?;
    } else {
        writeln!(out, "{rows}")?;
    }
    out.finish()
}
