//! `fkit csv reverse`: the rows from the last to the first.

use super::{Common, Table, chunks};
use anyhow::Result;
use std::io::Write;

/// Print the data rows in reverse order, header first.
///
/// A plain file is cut into record-aligned chunks (quoted newlines stay in
/// their rows) that are parsed on all cores from the last to the first,
/// each written backwards: memory is a few chunks, whatever the file's
/// size. Stdin and compressed input are held in RAM whole, then written
/// backwards. Rows are copied byte for byte.
///
/// Examples:
///   fkit csv reverse data.csv
///   fkit csv reverse log.csv.gz -o newest-first.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    table.keep_pages_mapped();
    let mut out = args.common.create_output()?;
    let mut head = Vec::new();
    table.write_header(&mut head);
    out.write_all(&head)?;
    let delimiter = table.delimiter();
    table.write_chunks_from_end(&mut out, |records, sink| {
        // A mapped chunk: its rows found without the parser and copied
        // from the map once, last first, unless it holds a blank line
        // or an uneven row (the parser skips the one and names the
        // other in its error).
        if let Some((bytes, width)) = records.unread_chunk() {
            let mut rows = Vec::new();
            let whole = chunks::record_starts(bytes, delimiter, b'"', |range, fields| {
                let fits = width.is_none_or(|w| w == fields)
                    && !chunks::leaves_quote_open(bytes, &range, b'"');
                rows.push(range);
                fits
            });
            if whole {
                sink.buf.reserve(bytes.len() + 1);
                for range in rows.into_iter().rev() {
                    let row = &bytes[range];
                    sink.buf
                        .extend_from_slice(row.strip_suffix(b"\r").unwrap_or(row));
                    sink.buf.push(b'\n');
                }
                return Ok(());
            }
        }
        // The chunk's rows, back to back, and where each ends.
        let mut rows = Vec::new();
        let mut ends = Vec::new();
        while let Some(record) = records.next()? {
            rows.extend_from_slice(record.as_slice());
            ends.push(rows.len());
        }
        sink.buf.reserve(rows.len() + ends.len());
        for i in (0..ends.len()).rev() {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            sink.buf.extend_from_slice(&rows[start..ends[i]]);
            sink.buf.push(b'\n');
            sink.record_done()?;
        }
        Ok(())
    })?;
    out.finish()
}
