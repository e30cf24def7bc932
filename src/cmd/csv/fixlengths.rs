//! `fkit csv fixlengths`: every row made the same length.

use super::{Common, Table, write_field};
use anyhow::Result;
use simd_csv::ZeroCopyByteRecord;
use std::io::Write;

/// Pad short rows with empty fields and cut long ones, so every row,
/// header included, has the same number of fields.
///
/// The length is -l, or by default the longest row's: a file is read
/// twice for it (the first pass only counts fields), stdin is held in RAM
/// to be read twice. Fields are copied byte for byte. With -l: streams,
/// constant memory.
///
/// Examples:
///   fkit csv fixlengths ragged.csv
///   fkit csv fixlengths -l 3 ragged.csv.gz -o fixed.csv
///   cat ragged.csv | fkit csv fixlengths
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Make every row this long (default: the longest row's length).
    #[arg(short, long, value_name = "N")]
    length: Option<usize>,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    if args.length == Some(0) {
        return Err(super::usage("--length must be at least 1"));
    }
    let mut table = Table::open(&args.common)?;
    table.accept_uneven();
    let header: Vec<Vec<u8>> = table.header().iter().map(<[u8]>::to_vec).collect();
    let delimiter = table.delimiter();
    let mut out = args.common.create_output()?;
    let is_stdin = args.common.reads_stdin();
    let width = match args.length {
        Some(n) => n,
        None if is_stdin => {
            // One pass over stdin: keep the rows, then fix them.
            let rows = table.sequential(|records| {
                let mut rows: Vec<Vec<Vec<u8>>> = Vec::new();
                while let Some(record) = records.next()? {
                    rows.push(record.iter().map(<[u8]>::to_vec).collect());
                }
                Ok(rows)
            })?;
            let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
            let width = longest.max(if table.has_headers() { header.len() } else { 0 });
            let mut buf = Vec::new();
            write_header(&table, &header, width, &mut buf);
            for row in &rows {
                fix_fields(row.iter().map(Vec::as_slice), width, delimiter, &mut buf);
            }
            out.write_all(&buf)?;
            return out.finish();
        }
        None => {
            let mut first = Table::open(&args.common)?;
            first.accept_uneven();
            let mut longest = if first.has_headers() { header.len() } else { 0 };
            first.for_each_chunk(
                &mut std::io::sink(),
                |records, _| {
                    let mut longest = 0;
                    while let Some(record) = records.next()? {
                        longest = longest.max(record.len());
                    }
                    Ok(longest)
                },
                |n| {
                    longest = longest.max(n);
                    Ok(())
                },
            )?;
            longest
        }
    };
    let mut head = Vec::new();
    write_header(&table, &header, width, &mut head);
    out.write_all(&head)?;
    table.write_chunks(&mut out, |records, sink| {
        while let Some(record) = records.next()? {
            fix(&record, width, delimiter, &mut sink.buf);
            sink.record_done()?;
        }
        Ok(())
    })?;
    out.finish()
}

/// Write `record` with exactly `width` fields, and a newline.
#[inline]
fn fix(record: &ZeroCopyByteRecord, width: usize, delimiter: u8, out: &mut Vec<u8>) {
    if record.len() == width {
        out.extend_from_slice(record.as_slice());
        out.push(b'\n');
    } else {
        fix_fields(record.iter(), width, delimiter, out);
    }
}

/// Write the first `width` of `fields` (raw, as written), then empty
/// fields up to `width`, and a newline.
fn fix_fields<'a>(
    fields: impl Iterator<Item = &'a [u8]>,
    width: usize,
    delimiter: u8,
    out: &mut Vec<u8>,
) {
    let mut fields = fields.fuse();
    for i in 0..width {
        if i > 0 {
            out.push(delimiter);
        }
        out.extend_from_slice(fields.next().unwrap_or(b""));
    }
    out.push(b'\n');
}

/// The header row, padded with empty names or cut to `width`.
fn write_header(table: &Table, header: &[Vec<u8>], width: usize, out: &mut Vec<u8>) {
    if !table.has_headers() || header.is_empty() {
        return;
    }
    let delimiter = table.delimiter();
    for i in 0..width {
        if i > 0 {
            out.push(delimiter);
        }
        write_field(out, header.get(i).map_or(b"", Vec::as_slice), delimiter);
    }
    out.push(b'\n');
}
