//! `fkit csv headers`: the index and name of each column.

use super::{Options, Table};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;

/// Print the index (from 1) and name of each column.
///
/// Only the first row is read. With --no-headers, the indexes of the first
/// row's fields and their values are printed. Several files: each file's
/// list under a `==> FILE <==` line, as head(1) prints them (--json: an
/// array of {"file", "headers"}).
///
/// Examples:
///   fkit csv headers data.csv
///   fkit csv headers --just-names data.csv.gz
///   fkit csv headers --json data.csv
///   fkit csv headers jan.csv feb.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Print only the names, one per line.
    #[arg(long)]
    just_names: bool,

    /// Print a JSON array of {"index": I, "name": NAME}.
    #[arg(long, conflicts_with = "just_names")]
    json: bool,

    /// CSV files to read; `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    inputs: Vec<PathBuf>,

    #[command(flatten)]
    options: Options,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut tables = Vec::new();
    for path in &args.inputs {
        tables.push(Table::open_at(Some(path), &args.options)?);
    }
    if tables.is_empty() {
        tables.push(Table::open_at(None, &args.options)?);
    }
    let several = tables.len() > 1;
    let mut buf = Vec::new();
    if several && args.json {
        buf.push(b'[');
    }
    for (n, table) in tables.iter().enumerate() {
        if several && args.json {
            if n > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"file\":");
            super::json_out::write_json_string(&mut buf, table.name().as_bytes());
            buf.extend_from_slice(b",\"headers\":");
        } else if several {
            if n > 0 {
                buf.push(b'\n');
            }
            buf.extend_from_slice(format!("==> {} <==\n", table.name()).as_bytes());
        }
        list(table, &args, &mut buf);
        if several && args.json {
            buf.pop();
            buf.push(b'}');
        }
    }
    if several && args.json {
        buf.extend_from_slice(b"]\n");
    }
    let mut out = args.options.create_output()?;
    out.write_all(&buf)?;
    out.finish()
}

/// The header of `table` as lines, or as a JSON array and a newline.
fn list(table: &Table, args: &Args, buf: &mut Vec<u8>) {
    if args.json {
        buf.push(b'[');
        for (i, name) in table.header().iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(format!("{{\"index\":{},\"name\":", i + 1).as_bytes());
            super::json_out::write_json_string(buf, name);
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
}
