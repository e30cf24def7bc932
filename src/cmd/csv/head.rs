//! `fkit csv head`: the first rows.

use super::write_when_full;
use super::{Common, Table};
use anyhow::Result;
use std::io::Write;

/// Print the first N data rows (10 by default), header included.
///
/// Reading stops after them: the rest of the file is never read. Rows are
/// copied byte for byte. Streams: constant memory.
///
/// Examples:
///   fkit csv head data.csv
///   fkit csv head -n 1000 data.csv.gz -o sample.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// How many rows.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 10)]
    rows: u64,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let mut out = args.common.create_output()?;
    let mut buf = Vec::with_capacity(1 << 16);
    table.write_header(&mut buf);
    table.sequential(|records| {
        for _ in 0..args.rows {
            let Some(record) = records.next()? else { break };
            buf.extend_from_slice(record.as_slice());
            buf.push(b'\n');
            write_when_full(&mut out, &mut buf)?;
        }
        Ok(())
    })?;
    out.write_all(&buf)?;
    out.finish()
}
