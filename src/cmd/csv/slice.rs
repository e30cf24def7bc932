//! `fkit csv slice`: a range of rows by position.

use super::write_when_full;
use super::{Common, Table};
use anyhow::Result;
use std::io::Write;

/// Print a range of data rows by position (counted from 0, header apart).
///
/// --start is the first row printed (default 0); the range ends before
/// --end, or after --len rows, or at the end of the input. Reading stops as
/// soon as the range is printed. Rows are copied byte for byte. Streams:
/// constant memory.
///
/// Examples:
///   fkit csv slice --len 10 data.csv            # the first ten rows
///   fkit csv slice --start 1000 --end 2000 data.csv.gz -o part.csv
///   fkit csv slice -i 41 data.csv               # row 41 alone
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The first row to print (from 0).
    #[arg(short, long, value_name = "N")]
    start: Option<u64>,

    /// Stop before this row.
    #[arg(short, long, value_name = "N", conflicts_with = "len")]
    end: Option<u64>,

    /// Print this many rows.
    #[arg(short, long, value_name = "N")]
    len: Option<u64>,

    /// Print only row N (same as --start N --len 1).
    #[arg(short, long, value_name = "N", conflicts_with_all = ["start", "end", "len"])]
    index: Option<u64>,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let (start, end) = match args.index {
        Some(i) => (i, i.saturating_add(1)),
        None => {
            let start = args.start.unwrap_or(0);
            let end = match (args.end, args.len) {
                (Some(e), _) => e,
                (None, Some(n)) => start.saturating_add(n),
                (None, None) => u64::MAX,
            };
            (start, end)
        }
    };
    let mut table = Table::open(&args.common)?;
    let mut out = args.common.create_output()?;
    let mut head = Vec::new();
    table.write_header(&mut head);
    out.write_all(&head)?;
    let mut buf = Vec::with_capacity(1 << 16);
    table.sequential(|records| {
        let mut row = 0u64;
        while row < end {
            let Some(record) = records.next()? else { break };
            if row >= start {
                buf.extend_from_slice(record.as_slice());
                buf.push(b'\n');
                write_when_full(&mut out, &mut buf)?;
            }
            row += 1;
        }
        Ok(())
    })?;
    out.write_all(&buf)?;
    out.finish()
}
