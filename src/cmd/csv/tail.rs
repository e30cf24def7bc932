//! `fkit csv tail`: the last rows, read from the end of a file.

use super::write_when_full;
use super::{Common, Table, chunks};
use anyhow::Result;
use std::collections::VecDeque;
use std::io::Write;

/// Print the last N data rows (10 by default), header included.
///
/// A plain file is read from its end: only the last rows' bytes are
/// touched, however big the file. Quoted newlines are found by counting
/// quotes backwards, which is exact in any file whose quotes are balanced
/// (one `validate` accepts); the rows found are then parsed forwards, so
/// uneven rows are reported as everywhere else. Stdin and compressed input
/// are read through, keeping the last N rows: memory grows with N.
///
/// Examples:
///   fkit csv tail data.csv
///   fkit csv tail -n 1000 data.csv -o last.csv
///   zcat log.csv.gz | fkit csv tail -n 5
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// How many rows.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 10)]
    rows: usize,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let mut out = args.common.create_output()?;
    let mut buf = Vec::with_capacity(1 << 16);
    table.write_header(&mut buf);
    let from = table
        .mapped_data()
        .map(|(map, start)| chunks::last_records_start(map, start, args.rows, b'"'));
    let n = args.rows;
    let last: VecDeque<Vec<u8>> = match from {
        Some(from) => table.sequential_from(from, |records| {
            let mut rows = VecDeque::new();
            while let Some(record) = records.next()? {
                rows.push_back(record.as_slice().to_vec());
            }
            Ok(rows)
        })?,
        None => table.sequential(|records| {
            let mut rows: VecDeque<Vec<u8>> = VecDeque::with_capacity(n.min(1 << 16));
            while let Some(record) = records.next()? {
                if n == 0 {
                    continue;
                }
                // Reuse the oldest row's buffer once N are kept.
                let mut row = if rows.len() == n {
                    rows.pop_front().unwrap_or_default()
                } else {
                    Vec::new()
                };
                row.clear();
                row.extend_from_slice(record.as_slice());
                rows.push_back(row);
            }
            Ok(rows)
        })?,
    };
    // The backward scan found at least N rows' start; keep exactly N.
    for row in last.iter().skip(last.len().saturating_sub(n)) {
        buf.extend_from_slice(row);
        buf.push(b'\n');
        write_when_full(&mut out, &mut buf)?;
    }
    out.write_all(&buf)?;
    out.finish()
}
