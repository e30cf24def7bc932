//! `fkit csv headers`: the index and name of each column.

use super::{Common, Table};
use anyhow::Result;
use std::io::Write;

/// Print the index (from 1) and name of each column.
///
/// Only the first row is read. With --no-headers, the indexes of the first
/// row's fields and their values are printed.
///
/// Examples:
///   fkit csv headers data.csv
///   fkit csv headers --just-names data.csv.gz
///   fkit csv headers --json data.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Print only the names, one per line.
    #[arg(long)]
    just_names: bool,

    /// Print a JSON array of {"index": I, "name": NAME}.
    #[arg(long, conflicts_with = "just_names")]
    json: bool,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let table = Table::open(&args.common)?;
    let mut out = args.common.create_output()?;
    let mut buf = Vec::new();
    if args.json {
        buf.push(b'[');
        for (i, name) in table.header().iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(format!("{{\"index\":{},\"name\":", i + 1).as_bytes());
            super::json_out::write_json_string(&mut buf, name);
            buf.push(b'}');
        }
        buf.extend_from_slice(b"]\n");
    } else {
        for (i, name) in table.header().iter().enumerate() {
            if !args.just_names {
                buf.extend_from_slice(format!("{}\t", i + 1).as_bytes());
            }
            buf.extend_from_slice(name);
            buf.push(b'\n');
        }
    }
    out.write_all(&buf)?;
    out.finish()
}
