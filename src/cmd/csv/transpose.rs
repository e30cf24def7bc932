//! `fkit csv transpose`: rows become columns.

use super::write_when_full;
use super::{Common, Table, write_field};
use anyhow::Result;
use std::io::Write;

/// Swap rows and columns: the n-th output row holds the n-th field of
/// every input row, header included (so the header becomes the first
/// column).
///
/// Rows of uneven length are accepted; missing fields are written empty.
/// Fields are copied byte for byte. Holds the whole input in RAM.
///
/// Examples:
///   fkit csv transpose wide.csv
///   fkit csv head -n 3 data.csv | fkit csv transpose -o columns.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    table.accept_uneven();
    let delimiter = table.delimiter();
    // Every field as written, back to back; each row as its fields' ends.
    let mut fields = Vec::new();
    let mut rows: Vec<Vec<usize>> = Vec::new();
    if table.has_headers() && !table.header().is_empty() {
        let mut ends = Vec::new();
        for name in table.header().iter() {
            write_field(&mut fields, name, delimiter);
            ends.push(fields.len());
        }
        rows.push(ends);
    }
    table.sequential(|records| {
        while let Some(record) = records.next()? {
            let mut ends = Vec::with_capacity(record.len());
            for field in record.iter() {
                fields.extend_from_slice(field);
                ends.push(fields.len());
            }
            rows.push(ends);
        }
        Ok(())
    })?;
    let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = args.common.create_output()?;
    let mut buf = Vec::with_capacity(1 << 16);
    for column in 0..longest {
        for (r, ends) in rows.iter().enumerate() {
            if r > 0 {
                buf.push(delimiter);
            }
            if let Some(&end) = ends.get(column) {
                let start = match column {
                    0 => row_start(&rows, r),
                    _ => ends[column - 1],
                };
                buf.extend_from_slice(&fields[start..end]);
            }
        }
        buf.push(b'\n');
        write_when_full(&mut out, &mut buf)?;
    }
    out.write_all(&buf)?;
    out.finish()
}

/// Where row `r`'s first field starts: after the last field of the
/// nearest row above that has one.
fn row_start(rows: &[Vec<usize>], r: usize) -> usize {
    rows[..r]
        .iter()
        .rev()
        .find_map(|ends| ends.last().copied())
        .unwrap_or(0)
}
