//! `fkit csv sort`: a stable sort by columns, in RAM or through temp files.

use super::json_out::unquote_field;
use super::selection::Selection;
use super::{Common, Table, write_row};
use crate::io::Size;
use crate::io::output::spill_file;
use anyhow::{Context, Result};
use rayon::prelude::*;
use simd_csv::ZeroCopyByteRecord;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
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
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
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
    let cmp = compare(reverse);
    let mut runs: Vec<std::fs::File> = Vec::new();
    let mut rows: Vec<u8> = Vec::new();
    let mut arena: Vec<u8> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let dir = temp_dir.unwrap_or_else(std::env::temp_dir);
    let sort_run = |rows: &[u8], arena: &[u8], entries: &mut Vec<Entry>| {
        let key = |e: &Entry| &arena[e.key_start as usize..][..e.key_len as usize];
        entries.par_sort_by(|a, b| cmp(key(a), key(b)));
        let _ = rows;
    };
    let spill = |rows: &[u8], arena: &[u8], entries: &[Entry]| -> Result<std::fs::File> {
        let file = spill_file(Some(&dir))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        for e in entries {
            let key = &arena[e.key_start as usize..][..e.key_len as usize];
            let row = &rows[e.row_start as usize..][..e.row_len as usize];
            w.write_all(&(key.len() as u32).to_le_bytes())?;
            w.write_all(key)?;
            w.write_all(&(row.len() as u32).to_le_bytes())?;
            w.write_all(row)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(file)
    };
    table.sequential(|records| {
        while let Some(record) = records.next()? {
            let key_start = arena.len();
            keys.encode(&record, &mut arena);
            let row = record.as_slice();
            entries.push(Entry {
                key_start: key_start as u64,
                key_len: (arena.len() - key_start) as u32,
                row_len: row.len() as u32,
                row_start: rows.len() as u64,
            });
            rows.extend_from_slice(row);
            if rows.len() + arena.len() + entries.len() * 24 >= budget {
                sort_run(&rows, &arena, &mut entries);
                let run = spill(&rows, &arena, &entries)
                    .with_context(|| format!("{}: spilling a sorted run", dir.display()))?;
                runs.push(run);
                rows.clear();
                arena.clear();
                entries.clear();
            }
        }
        Ok(())
    })?;
    sort_run(&rows, &arena, &mut entries);
    let mut buf = Vec::with_capacity(1 << 17);
    if runs.is_empty() {
        for e in &entries {
            buf.extend_from_slice(&rows[e.row_start as usize..][..e.row_len as usize]);
            buf.push(b'\n');
            if buf.len() >= 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        out.write_all(&buf)?;
        return Ok(());
    }
    if !entries.is_empty() {
        runs.push(spill(&rows, &arena, &entries)?);
    }
    drop((rows, arena, entries));
    merge(runs, reverse, out)
}

/// A run's next row, ordered for the merge heap: smallest key first, ties
/// to the earlier run (which keeps the sort stable).
struct Head {
    key: Vec<u8>,
    row: Vec<u8>,
    run: usize,
    reverse: bool,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: invert so the smallest comes first.
        let by_key = if self.reverse {
            self.key.cmp(&other.key)
        } else {
            other.key.cmp(&self.key)
        };
        by_key.then_with(|| other.run.cmp(&self.run))
    }
}

fn read_head(r: &mut impl Read, run: usize, reverse: bool) -> Result<Option<Head>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e).context("reading a temporary run"),
    }
    let mut key = vec![0; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut key)?;
    r.read_exact(&mut len)?;
    let mut row = vec![0; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut row)?;
    Ok(Some(Head {
        key,
        row,
        run,
        reverse,
    }))
}

fn merge(runs: Vec<std::fs::File>, reverse: bool, out: &mut dyn Write) -> Result<()> {
    let mut readers: Vec<BufReader<std::fs::File>> = runs
        .into_iter()
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .collect();
    let mut heap = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(h) = read_head(r, i, reverse)? {
            heap.push(h);
        }
    }
    let mut buf = Vec::with_capacity(1 << 17);
    while let Some(head) = heap.pop() {
        buf.extend_from_slice(&head.row);
        buf.push(b'\n');
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
        if let Some(next) = read_head(&mut readers[head.run], head.run, reverse)? {
            heap.push(next);
        }
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
