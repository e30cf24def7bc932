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
    table.copy_rows(&mut out)?;
    out.finish()
}
