//! `fkit csv behead`: the rows without the header.

use super::{Common, Table};
use anyhow::Result;

/// Print the data rows without the header row.
///
/// Rows are copied byte for byte (checked for uneven length unless
/// --flexible). Streams: constant memory.
///
/// Examples:
///   fkit csv behead data.csv
///   fkit csv behead data.csv.gz -o rows.csv
///   fkit csv cat rows a.csv b.csv | fkit csv behead | sort
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let mut out = args.common.create_output()?;
    table.for_each_chunk(
        &mut out,
        |records, sink| {
            while let Some(record) = records.next()? {
                sink.buf.extend_from_slice(record.as_slice());
                sink.buf.push(b'\n');
                sink.record_done()?;
            }
            Ok(())
        },
        |()| Ok(()),
    )?;
    out.finish()
}
