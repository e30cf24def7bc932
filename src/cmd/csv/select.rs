//! `fkit csv select`: pick, reorder and repeat columns.

use super::selection::Selection;
use super::{Common, Table, write_row};
use anyhow::Result;
use std::io::Write;

/// Pick, reorder and repeat columns with xsv's selection language.
///
/// COLS is a comma-separated list: names (`city`), 1-based indexes (`3`),
/// ranges (`2-5`, `id-city`, open ends `4-`, `-name`, backwards `5-2`), a
/// repeated name's n-th occurrence from 0 (`name[1]`), quoted names for
/// names holding commas or dashes (`"a, b"`), and a leading `!` for every
/// column except those. Fields are copied byte for byte, quotes included.
/// Streams: constant memory.
///
/// Examples:
///   fkit csv select 1,3 data.csv
///   fkit csv select 'name,city-score' data.csv -o part.csv
///   fkit csv select '!note' data.csv.gz
///   fkit csv select '"Date - Opening",id' data.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The columns to keep, in output order.
    #[arg(value_name = "COLS", allow_hyphen_values = true)]
    columns: String,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let selection = Selection::parse(&args.columns).map_err(|e| super::usage(e.to_string()))?;
    let mut table = Table::open(&args.common)?;
    let names: Vec<&[u8]> = table.header().iter().collect();
    let picked = selection
        .resolve(&names, table.has_headers())
        .map_err(|e| super::usage(e.to_string()))?;
    let delimiter = table.delimiter();
    let mut out = args.common.create_output()?;
    if table.has_headers() && !names.is_empty() {
        let mut head = Vec::new();
        write_row(&mut head, picked.iter().map(|&i| names[i]), delimiter);
        out.write_all(&head)?;
    }
    table.write_chunks(&mut out, |records, sink| {
        while let Some(record) = records.next()? {
            for (n, &i) in picked.iter().enumerate() {
                if n > 0 {
                    sink.buf.push(delimiter);
                }
                // Raw bytes: a quoted field stays quoted as written.
                sink.buf.extend_from_slice(record.get(i).unwrap_or(b""));
            }
            sink.buf.push(b'\n');
            sink.record_done()?;
        }
        Ok(())
    })?;
    out.finish()
}
