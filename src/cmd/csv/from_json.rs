//! `fkit csv from-json`: JSON records to CSV, through the shared flattening.

use crate::io::{Input, Output, flatten};
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

    /// Write here (atomically: temporary file, fsync, rename) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Replace OUTPUT if it exists.
    #[arg(short, long)]
    force: bool,

    /// Read compressed input as it is, without decoding gzip or bzip2.
    #[arg(long)]
    no_decompress: bool,

    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut input = Input::at(args.input.as_ref())
        .decompress(!args.no_decompress)
        .progress(!args.quiet)
        .buffer(1 << 20)
        .open()?;
    let mut out = Output::to(args.output.as_ref())
        .force(args.force)
        .create()?;
    flatten::json_to_csv(&mut input, &mut out, args.delimiter)?;
    out.finish()
}
