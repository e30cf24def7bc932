//! `fkit csv flatten`: one line per field, for reading wide rows.

use super::json_out::unquote_field;
use super::write_when_full;
use super::{Common, Table};
use anyhow::Result;
use std::io::Write;

/// Show each row as `name  value` lines, one per field, with a separator
/// line between rows: wide rows become readable in a terminal.
///
/// Names are padded to the longest; a value holding newlines continues on
/// lines indented under it. Under --no-headers the names are column
/// numbers from 1. The output is for people, not CSV. Streams: constant
/// memory.
///
/// Examples:
///   fkit csv flatten data.csv | head -n 20
///   fkit csv slice -i 41 data.csv | fkit csv flatten
///   fkit csv flatten -s '---' data.csv.gz -o rows.txt
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The line written between rows.
    #[arg(
        short,
        long,
        value_name = "TEXT",
        default_value = "#",
        allow_hyphen_values = true
    )]
    separator: String,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    table.accept_uneven();
    let names: Vec<String> = if table.has_headers() {
        table
            .header()
            .iter()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect()
    } else {
        Vec::new()
    };
    let width = names
        .iter()
        .map(|n| unicode_width::UnicodeWidthStr::width(n.as_str()))
        .max()
        .unwrap_or(0);
    let mut out = args.common.create_output()?;
    let mut buf = Vec::with_capacity(1 << 16);
    let mut first = true;
    table.sequential(|records| {
        while let Some(record) = records.next()? {
            if !first {
                buf.extend_from_slice(args.separator.as_bytes());
                buf.push(b'\n');
            }
            first = false;
            let width = width.max(digits(record.len()));
            for (i, field) in record.iter().enumerate() {
                let name = match names.get(i) {
                    Some(n) => n.clone(),
                    None => (i + 1).to_string(),
                };
                let shown = unicode_width::UnicodeWidthStr::width(name.as_str());
                buf.extend_from_slice(name.as_bytes());
                buf.resize(buf.len() + width.saturating_sub(shown) + 2, b' ');
                let value = unquote_field(field);
                let mut lines = value.split(|&b| b == b'\n');
                buf.extend_from_slice(lines.next().unwrap_or(b""));
                for line in lines {
                    buf.push(b'\n');
                    buf.resize(buf.len() + width + 2, b' ');
                    buf.extend_from_slice(line);
                }
                buf.push(b'\n');
            }
            write_when_full(&mut out, &mut buf)?;
        }
        Ok(())
    })?;
    out.write_all(&buf)?;
    out.finish()
}

/// How many digits `n` has (the width of a column number).
fn digits(n: usize) -> usize {
    n.max(1).ilog10() as usize + 1
}
