//! `fkit csv frequency`: how often each value occurs in a column.

use super::json_out::{unquote_field, write_json_string};
use super::selection::Selection;
use super::{Common, Table, write_row};
use anyhow::Result;
use std::collections::HashMap;
use std::io::Write;

type Counts = HashMap<Vec<u8>, u64, foldhash::fast::RandomState>;

/// Count how often each value occurs in one or more columns.
///
/// Prints `field,value,count` rows, most frequent first (ties by value),
/// the top --limit of each selected column (all of them with --limit 0).
/// Memory grows with the number of distinct values.
///
/// Examples:
///   fkit csv frequency -s city data.csv
///   fkit csv frequency -s city,active --limit 0 data.csv.gz
///   fkit csv frequency -s 3 --json --no-headers data.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The columns to count (default: all).
    #[arg(short, long, value_name = "COLS", allow_hyphen_values = true)]
    select: Option<String>,

    /// Print at most this many values per column; 0 prints all.
    #[arg(short, long, value_name = "N", default_value_t = 10)]
    limit: usize,

    /// Print a JSON array of {"field", "value", "count"}.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let names: Vec<Vec<u8>> = table.header().iter().map(<[u8]>::to_vec).collect();
    let refs: Vec<&[u8]> = names.iter().map(|n| &n[..]).collect();
    let columns = match &args.select {
        Some(sel) => Selection::parse(sel)
            .and_then(|s| s.resolve(&refs, table.has_headers()))
            .map_err(|e| super::usage(e.to_string()))?,
        None => (0..names.len()).collect(),
    };
    let mut totals: Vec<Counts> = vec![Counts::default(); columns.len()];
    table.for_each_chunk(
        &mut std::io::sink(),
        |records, _| {
            let mut counts: Vec<Counts> = vec![Counts::default(); columns.len()];
            while let Some(record) = records.next()? {
                for (c, &i) in columns.iter().enumerate() {
                    let value = unquote_field(record.get(i).unwrap_or(b""));
                    match counts[c].get_mut(&value[..]) {
                        Some(n) => *n += 1,
                        None => {
                            counts[c].insert(value.into_owned(), 1);
                        }
                    }
                }
            }
            Ok(counts)
        },
        |counts| {
            for (total, part) in totals.iter_mut().zip(counts) {
                if total.is_empty() {
                    *total = part;
                } else {
                    for (value, n) in part {
                        *total.entry(value).or_insert(0) += n;
                    }
                }
            }
            Ok(())
        },
    )?;
    let mut out = args.common.create_output()?;
    let mut buf = Vec::new();
    if args.json {
        buf.push(b'[');
    } else {
        write_row(&mut buf, [&b"field"[..], b"value", b"count"], b',');
    }
    let mut first = true;
    for (c, counts) in columns.iter().zip(totals) {
        let field: Vec<u8> = if table.has_headers() {
            names[*c].clone()
        } else {
            (c + 1).to_string().into_bytes()
        };
        let mut sorted: Vec<(Vec<u8>, u64)> = counts.into_iter().collect();
        sorted.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if args.limit > 0 {
            sorted.truncate(args.limit);
        }
        for (value, n) in sorted {
            if args.json {
                if !first {
                    buf.push(b',');
                }
                first = false;
                buf.extend_from_slice(b"\n{\"field\":");
                write_json_string(
                    &mut buf,
                    &String::from_utf8_lossy(&field).into_owned().into_bytes(),
                );
                buf.extend_from_slice(b",\"value\":");
                write_json_string(&mut buf, String::from_utf8_lossy(&value).as_bytes());
                buf.extend_from_slice(format!(",\"count\":{n}}}").as_bytes());
            } else {
                write_row(
                    &mut buf,
                    [&field[..], &value, n.to_string().as_bytes()],
                    b',',
                );
            }
        }
    }
    if args.json {
        buf.extend_from_slice(if first { b"]\n" } else { b"\n]\n" });
    }
    out.write_all(&buf)?;
    out.finish()
}
