//! `fkit csv rename`: new column names.

use super::selection::Selection;
use super::{Common, Table, usage, write_row};
use anyhow::Result;
use simd_csv::ZeroCopyReaderBuilder;
use std::io::Write;

/// Replace the header's names.
///
/// NAMES is one CSV row (quote a name that holds a comma): one name per
/// column, or, with -s, one per selected column, the others keeping
/// theirs. Under --no-headers the names become a header added on top.
/// Rows are copied byte for byte. Streams: constant memory.
///
/// Examples:
///   fkit csv rename id,full_name,town people.csv
///   fkit csv rename -s city town people.csv -o renamed.csv
///   fkit csv rename -s 2-3 '"name, full",town' people.csv
///   fkit csv rename --no-headers a,b,c raw.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The new names, comma-separated (a CSV row).
    #[arg(value_name = "NAMES", allow_hyphen_values = true)]
    names: String,

    /// Rename only these columns (default: all, in order).
    #[arg(short, long, value_name = "COLS", allow_hyphen_values = true)]
    select: Option<String>,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let new = parse_names(&args.names)?;
    let old: Vec<&[u8]> = table.header().iter().collect();
    let columns = match &args.select {
        Some(text) => Selection::parse(text)
            .and_then(|s| s.resolve(&old, table.has_headers()))
            .map_err(|e| usage(format!("{}: {e}", table.name())))?,
        None => (0..old.len()).collect(),
    };
    if new.len() != columns.len() {
        return Err(usage(format!(
            "{}: {} new names for {} column{}",
            table.name(),
            new.len(),
            columns.len(),
            if columns.len() == 1 { "" } else { "s" }
        )));
    }
    let mut names: Vec<Vec<u8>> = if table.has_headers() {
        old.iter().map(|n| n.to_vec()).collect()
    } else {
        vec![Vec::new(); old.len()]
    };
    for (&i, name) in columns.iter().zip(new) {
        names[i] = name;
    }
    let mut out = args.common.create_output()?;
    let mut head = Vec::new();
    if !names.is_empty() {
        write_row(
            &mut head,
            names.iter().map(Vec::as_slice),
            table.delimiter(),
        );
    }
    out.write_all(&head)?;
    table.copy_rows(&mut out)?;
    out.finish()
}

/// The names of NAMES, read as one comma-separated CSV row.
fn parse_names(text: &str) -> Result<Vec<Vec<u8>>> {
    let mut reader = ZeroCopyReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let record = reader
        .read_byte_record()
        .map_err(|e| usage(format!("NAMES: {e}")))?
        .ok_or_else(|| usage("NAMES is empty"))?;
    Ok(record
        .iter()
        .map(|f| super::json_out::unquote_field(f).into_owned())
        .collect())
}
