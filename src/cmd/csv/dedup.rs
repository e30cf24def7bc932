//! `fkit csv dedup`: drop rows whose key was seen before.

use super::key::KeyColumns;
use super::{Common, Table};
use anyhow::Result;
use std::collections::HashSet;
use std::io::Write;

/// Drop duplicate rows, keeping the first of each key.
///
/// The key is the columns of -s (the whole row by default), compared as
/// text with quotes removed (`"a"` equals `a`); -i ignores case. Memory
/// grows with the number of distinct keys; with --sorted (input sorted or
/// grouped by the key, as `sort -s` leaves it) only the previous key is
/// kept, so any input runs in constant memory. A plain file's rows are
/// parsed and keyed on all cores, in order.
///
/// Examples:
///   fkit csv dedup data.csv
///   fkit csv dedup -s email -i users.csv -o unique.csv
///   fkit csv sort -s city data.csv | fkit csv dedup --sorted -s city
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The key columns (default: all).
    #[arg(short, long, value_name = "COLS", allow_hyphen_values = true)]
    select: Option<String>,

    /// Compare keys case-insensitively.
    #[arg(short, long)]
    ignore_case: bool,

    /// The input is grouped by the key: compare each row with the previous
    /// one only (constant memory).
    #[arg(long)]
    sorted: bool,

    #[command(flatten)]
    common: Common,
}

/// One chunk's candidate rows and their keys, parsed on a worker: the
/// rows whose key was not seen before in the same chunk (or, --sorted,
/// differs from the row above). No other row can be the first of its key,
/// so a chunk of a few distinct keys hands over a few rows, not all of
/// them (a chunk of mostly distinct keys stops sifting and hands over all). Which candidates are kept is decided in input order.
#[derive(Default)]
struct Keyed {
    rows: Vec<u8>,
    row_ends: Vec<usize>,
    keys: Vec<u8>,
    key_ends: Vec<usize>,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let keys = KeyColumns::of(&table, args.select.as_deref(), args.ignore_case)?;
    let mut out = args.common.create_output()?;
    let mut head = Vec::new();
    table.write_header(&mut head);
    out.write_all(&head)?;
    let mut seen: HashSet<Vec<u8>, foldhash::fast::RandomState> = HashSet::default();
    let mut previous: Option<Vec<u8>> = None;
    let mut buf = Vec::with_capacity(1 << 17);
    table.for_each_chunk(
        &mut std::io::sink(),
        |records, _| {
            let mut part = Keyed::default();
            let mut key = Vec::new();
            let mut seen_here: HashSet<Vec<u8>, foldhash::fast::RandomState> = HashSet::default();
            let mut above: Vec<u8> = Vec::new();
            let mut first = true;
            let (mut sift, mut rows) = (true, 0usize);
            while let Some(record) = records.next()? {
                keys.encode(&record, &mut key);
                let candidate = if args.sorted {
                    let new = first || above != key;
                    if new {
                        above.clone_from(&key);
                    }
                    new
                } else if !sift {
                    true
                } else if seen_here.contains(&key) {
                    false
                } else {
                    seen_here.insert(key.clone());
                    // Mostly distinct keys: sifting would only hash twice.
                    sift = seen_here.len() < 4096 || seen_here.len() * 2 < rows;
                    true
                };
                first = false;
                rows += 1;
                if candidate {
                    part.keys.extend_from_slice(&key);
                    part.key_ends.push(part.keys.len());
                    part.rows.extend_from_slice(record.as_slice());
                    part.row_ends.push(part.rows.len());
                }
            }
            Ok(part)
        },
        |part| {
            let (mut row_start, mut key_start) = (0, 0);
            for (&row_end, &key_end) in part.row_ends.iter().zip(&part.key_ends) {
                let key = &part.keys[key_start..key_end];
                let new = if args.sorted {
                    let new = previous.as_deref() != Some(key);
                    if new {
                        previous = Some(key.to_vec());
                    }
                    new
                } else if seen.contains(key) {
                    false
                } else {
                    seen.insert(key.to_vec());
                    true
                };
                if new {
                    buf.extend_from_slice(&part.rows[row_start..row_end]);
                    buf.push(b'\n');
                }
                (row_start, key_start) = (row_end, key_end);
            }
            out.write_all(&buf)?;
            buf.clear();
            Ok(())
        },
    )?;
    out.finish()
}
