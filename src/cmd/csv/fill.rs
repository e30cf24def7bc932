//! `fkit csv fill`: empty fields filled from a value or the row above.

use super::key::KeyColumns;
use super::write_when_full;
use super::{Common, Table, write_field};
use anyhow::Result;
use std::io::Write;

/// Fill empty fields: with --value, or by default forward, with the last
/// non-empty value of the same column in the rows above.
///
/// -s limits the columns filled (default: all). A field is empty when it
/// holds nothing or only `""`. Forward filling leaves a column empty until
/// its first value. Other fields are copied byte for byte. Streams:
/// constant memory.
///
/// Examples:
///   fkit csv fill -s region sales.csv
///   fkit csv fill -v 0 -s 3- counts.csv.gz -o filled.csv
///   fkit csv fill -v 'n/a' survey.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The columns to fill (default: all).
    #[arg(short, long, value_name = "COLS", allow_hyphen_values = true)]
    select: Option<String>,

    /// Fill with this value instead of the one above.
    #[arg(short, long, value_name = "TEXT", allow_hyphen_values = true)]
    value: Option<String>,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let columns = KeyColumns::of(&table, args.select.as_deref(), false)?.into_columns();
    let delimiter = table.delimiter();
    let width = table.header().len();
    let mut fill = vec![false; columns.iter().max().map_or(0, |&m| m + 1)];
    for &i in &columns {
        fill[i] = true;
    }
    let value = args.value.map(|v| {
        let mut field = Vec::new();
        write_field(&mut field, v.as_bytes(), delimiter);
        field
    });
    let mut out = args.common.create_output()?;
    let mut buf = Vec::with_capacity(1 << 16);
    table.write_header(&mut buf);
    // The last non-empty field of each column, as written.
    let mut above: Vec<Vec<u8>> = vec![Vec::new(); width.max(fill.len())];
    table.sequential(|records| {
        while let Some(record) = records.next()? {
            for (i, field) in record.iter().enumerate() {
                if i > 0 {
                    buf.push(delimiter);
                }
                let empty = field.is_empty() || field == b"\"\"";
                if !fill.get(i).copied().unwrap_or(false) {
                    buf.extend_from_slice(field);
                } else if !empty {
                    buf.extend_from_slice(field);
                    if value.is_none() {
                        if above.len() <= i {
                            above.resize(i + 1, Vec::new());
                        }
                        above[i].clear();
                        above[i].extend_from_slice(field);
                    }
                } else {
                    match &value {
                        Some(v) => buf.extend_from_slice(v),
                        None => buf.extend_from_slice(above.get(i).map_or(b"", Vec::as_slice)),
                    }
                }
            }
            buf.push(b'\n');
            write_when_full(&mut out, &mut buf)?;
        }
        Ok(())
    })?;
    out.write_all(&buf)?;
    out.finish()
}
