//! `fkit csv sort`: a stable sort by columns, in RAM or through temp files.

use super::json_out::unquote_field;
use super::runs::RunSorter;
use super::selection::Selection;
use super::write_when_full;
use super::{Common, Table, write_row};
use crate::io::Size;
use anyhow::Result;
use rayon::prelude::*;
use simd_csv::ZeroCopyByteRecord;
use std::cmp::Ordering;
use std::io::Write;
use std::path::PathBuf;

/// Sort rows by one or more columns; stable (equal keys keep their order).
///
/// Text sorts by bytes; -N sorts numerically (values that are not numbers
/// come first, in input order). A mapped file up to --memory is sorted in
/// place: only a small key per row is held, the rows stay in the file's
/// pages. Larger input, and any stdin or compressed input, is read in runs
/// of --memory bytes, each sorted and written to a temporary file, then
/// merged: inputs larger than RAM sort in bounded memory.
///
/// Examples:
///   fkit csv sort -s name data.csv
///   fkit csv sort -N -R -s score,id data.csv -o ranked.csv
///   zcat huge.csv.gz | fkit csv sort -s 2 --memory 1G > sorted.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The columns to sort by, most significant first (default: all).
    #[arg(short, long, value_name = "COLS", allow_hyphen_values = true)]
    select: Option<String>,

    /// Compare as numbers.
    #[arg(short = 'N', long)]
    numeric: bool,

    /// Largest first.
    #[arg(short = 'R', long)]
    reverse: bool,

    /// Input bytes held in RAM at once before spilling sorted runs to disk.
    #[arg(short = 'S', long, value_name = "SIZE", default_value = "512M")]
    memory: Size,

    /// Directory for the temporary run files (default: the system's).
    #[arg(long, value_name = "DIR")]
    temp_dir: Option<PathBuf>,

    #[command(flatten)]
    common: Common,
}

/// How rows compare: a byte string per row whose plain byte order is the
/// order wanted (see [`encode_key`]), so every comparison is a memcmp.
struct Keys {
    columns: Vec<usize>,
    numeric: bool,
}

impl Keys {
    /// Append the sort key of `record` to `out`.
    #[inline]
    fn encode(&self, record: &ZeroCopyByteRecord, out: &mut Vec<u8>) {
        for &i in &self.columns {
            let field = unquote_field(record.get(i).unwrap_or(b""));
            if self.numeric {
                encode_number(&field, out);
            } else {
                encode_text(&field, out);
            }
        }
    }
}

/// Text in an order-preserving form: 0x00 is escaped as 00 FF and the field
/// ends with 00 00, so a shorter field sorts before its extensions and the
/// next column only matters when the fields are equal.
fn encode_text(field: &[u8], out: &mut Vec<u8>) {
    if memchr::memchr(0, field).is_none() {
        out.extend_from_slice(field);
    } else {
        for &b in field {
            out.push(b);
            if b == 0 {
                out.push(0xFF);
            }
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// A number as 9 bytes that compare like the number: a tag (0 for "not a
/// number", which sorts first) and the IEEE bits made sign-monotonic.
fn encode_number(field: &[u8], out: &mut Vec<u8>) {
    let text = std::str::from_utf8(field).unwrap_or("").trim();
    match text.parse::<f64>() {
        Ok(x) if !x.is_nan() => {
            let bits = (x + 0.0).to_bits();
            let ordered = if bits >> 63 == 1 {
                !bits
            } else {
                bits | 1 << 63
            };
            out.push(1);
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        _ => out.extend_from_slice(&[0; 9]),
    }
}

/// One row: where its key and its bytes are.
#[derive(Clone, Copy)]
struct Entry {
    key_start: u64,
    key_len: u32,
    row_len: u32,
    row_start: u64,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let names: Vec<&[u8]> = table.header().iter().collect();
    let columns = match &args.select {
        Some(sel) => Selection::parse(sel)
            .and_then(|s| s.resolve(&names, table.has_headers()))
            .map_err(|e| super::usage(e.to_string()))?,
        None => (0..names.len()).collect(),
    };
    let keys = Keys {
        columns,
        numeric: args.numeric,
    };
    let mut head = Vec::new();
    if table.has_headers() && !names.is_empty() {
        write_row(&mut head, names.iter().copied(), table.delimiter());
    }
    let budget = args.memory.bytes().max(1) as usize;
    let mut out = args.common.create_output()?;
    out.write_all(&head)?;
    match table.mapped_data() {
        Some((data, _)) if data.len() <= budget => {
            sort_mapped(&mut table, &keys, args.reverse, &mut out)?
        }
        _ => sort_external(
            &mut table,
            &keys,
            args.reverse,
            budget,
            args.temp_dir,
            &mut out,
        )?,
    }
    out.finish()
}

fn compare(reverse: bool) -> impl Fn(&[u8], &[u8]) -> Ordering + Sync {
    move |a, b| if reverse { b.cmp(a) } else { a.cmp(b) }
}

/// Sort a mapped file: keys are gathered on all cores, sorted with a
/// parallel stable sort, and the rows are copied from the map in order.
fn sort_mapped(table: &mut Table, keys: &Keys, reverse: bool, out: &mut dyn Write) -> Result<()> {
    let mut arenas: Vec<Vec<u8>> = Vec::new();
    let mut entries: Vec<(u32, Entry)> = Vec::new();
    table.for_each_chunk(
        &mut std::io::sink(),
        |records, _| {
            let mut arena = Vec::new();
            let mut list = Vec::new();
            loop {
                let at = records.offset();
                let Some(record) = records.next()? else { break };
                let key_start = arena.len();
                keys.encode(&record, &mut arena);
                list.push(Entry {
                    key_start: key_start as u64,
                    key_len: (arena.len() - key_start) as u32,
                    row_len: record.as_slice().len() as u32,
                    row_start: at,
                });
            }
            Ok((arena, list))
        },
        |(arena, list)| {
            let id = arenas.len() as u32;
            arenas.push(arena);
            entries.extend(list.into_iter().map(|e| (id, e)));
            Ok(())
        },
    )?;
    let cmp = compare(reverse);
    let key = |(id, e): &(u32, Entry)| {
        &arenas[*id as usize][e.key_start as usize..][..e.key_len as usize]
    };
    entries.par_sort_by(|a, b| cmp(key(a), key(b)));
    let data: &[u8] = table.mapped().map_or(&[], |m| m);
    let mut buf = Vec::with_capacity(1 << 17);
    for (_, e) in &entries {
        let start = e.row_start as usize;
        // The record as the parser saw it, without its line ending (the
        // row's recorded length already excludes it).
        let row = row_at(data, start, e.row_len as usize);
        buf.extend_from_slice(row);
        buf.push(b'\n');
        write_when_full(out, &mut buf)?;
    }
    out.write_all(&buf)?;
    Ok(())
}

/// The bytes of the row at `start` of length `len`, skipping the empty
/// lines the parser skipped before it.
fn row_at(data: &[u8], mut start: usize, len: usize) -> &[u8] {
    while start < data.len() && (data[start] == b'\n' || data[start] == b'\r') && len > 0 {
        start += 1;
    }
    if start == 0 && data.starts_with(b"\xef\xbb\xbf") {
        start = 3;
    }
    &data[start..(start + len).min(data.len())]
}

/// Sort in runs of `budget` bytes spilled to temporary files, then merge.
fn sort_external(
    table: &mut Table,
    keys: &Keys,
    reverse: bool,
    budget: usize,
    temp_dir: Option<PathBuf>,
    out: &mut dyn Write,
) -> Result<()> {
    let mut sorter = RunSorter::new(budget, reverse, temp_dir);
    table.sequential(|records| {
        while let Some(record) = records.next()? {
            sorter.push(|key| keys.encode(&record, key), record.as_slice())?;
        }
        Ok(())
    })?;
    let mut sorted = sorter.finish()?;
    let mut buf = Vec::with_capacity(1 << 17);
    while let Some((_, row)) = sorted.next()? {
        buf.extend_from_slice(row);
        buf.push(b'\n');
        write_when_full(out, &mut buf)?;
    }
    out.write_all(&buf)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Vec<u8> {
        let mut v = Vec::new();
        encode_number(s.as_bytes(), &mut v);
        v
    }

    fn text(fields: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        fields
            .iter()
            .for_each(|f| encode_text(f.as_bytes(), &mut v));
        v
    }

    #[test]
    fn number_keys_order_like_numbers() {
        let mut xs = ["10", "-2.5", "abc", "0", "-0", "3e2", "-100", "", "2"];
        xs.sort_by_key(|x| num(x));
        assert_eq!(xs, ["abc", "", "-100", "-2.5", "0", "-0", "2", "10", "3e2"]);
    }

    #[test]
    fn text_keys_compare_column_by_column() {
        assert!(text(&["a", "z"]) < text(&["ab", "a"]));
        assert!(text(&["a\0", "b"]) > text(&["a", "z"]));
        assert!(text(&["", "b"]) < text(&["a", ""]));
    }
}
