//! `fkit csv fmt`: rewrite delimiters, quoting and line endings.

use super::json_out::unquote_field;
use super::{Common, Table};
use anyhow::Result;
use std::io::Write;

/// Rewrite CSV with another delimiter, quote style or line ending.
///
/// Fields are read (quotes removed) and written again: quoted only when
/// they need it (the delimiter, a quote, CR or LF inside), or always with
/// --quote-all. A BOM is dropped. Streams: constant memory.
///
/// Examples:
///   fkit csv fmt -t '\t' data.csv > data.tsv
///   fkit csv fmt -d ';' --crlf excel.csv -o clean.csv
///   fkit csv fmt --quote-all data.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
// `-t` is the output delimiter here, as in xsv; `--tabs` keeps its long form.
#[command(mut_arg("tabs", |a| a.short(None)))]
pub(crate) struct Args {
    /// Delimiter of the output (default: the input's).
    #[arg(short = 't', long, value_name = "CHAR", value_parser = super::parse_delimiter)]
    out_delimiter: Option<u8>,

    /// Quote every field.
    #[arg(long)]
    quote_all: bool,

    /// End lines with CRLF instead of LF.
    #[arg(long)]
    crlf: bool,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let delimiter = args.out_delimiter.unwrap_or(table.delimiter());
    let newline: &[u8] = if args.crlf { b"\r\n" } else { b"\n" };
    let quote_all = args.quote_all;
    let write = move |buf: &mut Vec<u8>, fields: &mut dyn Iterator<Item = &[u8]>| {
        for (i, field) in fields.enumerate() {
            if i > 0 {
                buf.push(delimiter);
            }
            if quote_all {
                buf.push(b'"');
                for &b in field {
                    if b == b'"' {
                        buf.push(b'"');
                    }
                    buf.push(b);
                }
                buf.push(b'"');
            } else {
                super::write_field(buf, field, delimiter);
            }
        }
        buf.extend_from_slice(newline);
    };
    let mut out = args.common.create_output()?;
    if table.has_headers() && !table.header().is_empty() {
        let mut head = Vec::new();
        write(&mut head, &mut table.header().iter());
        out.write_all(&head)?;
    }
    table.write_chunks(&mut out, |records, sink| {
        while let Some(record) = records.next()? {
            let fields: Vec<std::borrow::Cow<[u8]>> = record.iter().map(unquote_field).collect();
            write(&mut sink.buf, &mut fields.iter().map(|f| &f[..]));
            sink.record_done()?;
        }
        Ok(())
    })?;
    out.finish()
}
