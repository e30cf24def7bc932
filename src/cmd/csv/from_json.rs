//! `fkit csv from-json`: JSON records to CSV, through the shared flattening.

use crate::io::args::{OutputArgs, ReadArgs};
use crate::records::flatten;
use anyhow::Result;
use std::path::PathBuf;

/// Convert a JSON array of objects, or NDJSON, to CSV.
///
/// Nested objects and arrays flatten to dotted keys (`address.city`,
/// `tags.0`); the header is the union of all keys in first-seen order; null
/// is an empty field; numbers keep every digit. Rows are spilled to a
/// temporary file while the header grows, so memory holds the header, never
/// the data. `fkit json to-csv` does the same conversion.
///
/// Examples:
///   fkit csv from-json data.json > data.csv
///   fkit csv from-json -d ';' events.ndjson.gz -o events.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// JSON or NDJSON file to read; `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,

    /// Field delimiter of the CSV written.
    #[arg(short, long, value_name = "CHAR", default_value = ",", value_parser = super::parse_delimiter)]
    delimiter: u8,

    #[command(flatten)]
    out: OutputArgs,

    #[command(flatten)]
    read: ReadArgs,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut input = args.read.open(args.input.as_deref())?;
    let mut out = args.out.create()?;
    flatten::json_to_csv(&mut input, &mut out, args.delimiter)?;
    out.finish()
}
