//! `fkit csv enum`: an index column in front of the rows.

use super::write_when_full;
use super::{Common, Table, write_field};
use anyhow::Result;
use std::io::Write;

/// Add a column numbering the data rows, first.
///
/// The rows are parsed on all cores of a plain file and numbered in input
/// order, from --start (0 by default, as xsv and xan count). Rows are
/// copied byte for byte. Streams: constant memory.
///
/// Examples:
///   fkit csv enum data.csv
///   fkit csv enum -c row --start 1 data.csv.gz -o numbered.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Name of the new column.
    #[arg(short, long, value_name = "NAME", default_value = "index")]
    column: String,

    /// Number of the first row.
    #[arg(long, value_name = "N", default_value_t = 0)]
    start: u64,

    #[command(flatten)]
    common: Common,
}

/// One chunk's rows back to back, and where each ends.
struct Rows {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let delimiter = table.delimiter();
    let mut out = args.common.create_output()?;
    let mut buf = Vec::with_capacity(1 << 17);
    if table.has_headers() && !table.header().is_empty() {
        write_field(&mut buf, args.column.as_bytes(), delimiter);
        for name in table.header().iter() {
            buf.push(delimiter);
            write_field(&mut buf, name, delimiter);
        }
        buf.push(b'\n');
    }
    // u128: counting on from --start 18446744073709551615 cannot overflow.
    let mut next = u128::from(args.start);
    if table.mapped().is_none() {
        // A stream is one pass: number the rows as they come.
        table.sequential(|records| {
            while let Some(record) = records.next()? {
                write!(buf, "{next}")?;
                buf.push(delimiter);
                buf.extend_from_slice(record.as_slice());
                buf.push(b'\n');
                next += 1;
                write_when_full(&mut out, &mut buf)?;
            }
            Ok(())
        })?;
        out.write_all(&buf)?;
        return out.finish();
    }
    table.for_each_chunk(
        &mut std::io::sink(),
        |records, _| {
            let mut rows = Rows {
                bytes: Vec::new(),
                ends: Vec::new(),
            };
            while let Some(record) = records.next()? {
                rows.bytes.extend_from_slice(record.as_slice());
                rows.ends.push(rows.bytes.len());
            }
            Ok(rows)
        },
        |rows| {
            // Numbering happens here, in input order.
            let mut start = 0;
            for end in rows.ends {
                write!(buf, "{next}")?;
                buf.push(delimiter);
                buf.extend_from_slice(&rows.bytes[start..end]);
                buf.push(b'\n');
                next += 1;
                start = end;
                write_when_full(&mut out, &mut buf)?;
            }
            Ok(())
        },
    )?;
    out.write_all(&buf)?;
    out.finish()
}
