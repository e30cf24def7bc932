//! `fkit csv search`: rows whose field matches a regex.

use super::json_out::unquote_field;
use super::selection::Selection;
use super::{Common, Table, write_row};
use anyhow::{Context, Result};
use regex::bytes::RegexBuilder;
use std::io::Write;

/// Print the rows where a field matches a regular expression.
///
/// PATTERN is a Rust regex (the syntax of ripgrep) matched against each
/// field's text, quotes removed; -s limits the search to some columns (the
/// selection language of `select`). Matching rows are copied byte for byte.
/// Streams: constant memory.
///
/// Examples:
///   fkit csv search -s city '^Ber' data.csv
///   fkit csv search -i -v 'test|dummy' data.csv.gz -o clean.csv
///   fkit csv search -s 'name,note' 'ken\b' data.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The regular expression.
    #[arg(value_name = "PATTERN", allow_hyphen_values = true)]
    pattern: String,

    /// Search only these columns.
    #[arg(short, long, value_name = "COLS", allow_hyphen_values = true)]
    select: Option<String>,

    /// Match case-insensitively.
    #[arg(short, long)]
    ignore_case: bool,

    /// Print the rows that do not match instead.
    #[arg(short = 'v', long)]
    invert_match: bool,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let regex = RegexBuilder::new(&args.pattern)
        .case_insensitive(args.ignore_case)
        .build()
        .map_err(|e| super::usage(format!("invalid pattern: {e}")))?;
    let mut table = Table::open(&args.common)?;
    let names: Vec<&[u8]> = table.header().iter().collect();
    let columns = match &args.select {
        Some(sel) => Some(
            Selection::parse(sel)
                .and_then(|s| s.resolve(&names, table.has_headers()))
                .map_err(|e| super::usage(e.to_string()))?,
        ),
        None => None,
    };
    let delimiter = table.delimiter();
    let mut out = args.common.create_output()?;
    if table.has_headers() && !names.is_empty() {
        let mut head = Vec::new();
        write_row(&mut head, names.iter().copied(), delimiter);
        out.write_all(&head)?;
    }
    let invert = args.invert_match;
    let prefilter = Prefilter::new(&args.pattern, args.ignore_case);
    table.write_chunks(&mut out, |records, sink| {
        while let Some(record) = records.next()? {
            let raw = record.as_slice();
            let found = prefilter.may_match(raw)
                && match &columns {
                    Some(cols) => cols.iter().any(|&i| {
                        record
                            .get(i)
                            .is_some_and(|f| regex.is_match(&unquote_field(f)))
                    }),
                    None => record.iter().any(|f| regex.is_match(&unquote_field(f))),
                };
            if found != invert {
                sink.buf.extend_from_slice(raw);
                sink.buf.push(b'\n');
                sink.record_done()?;
            }
        }
        Ok(())
    })?;
    out.finish().context("writing the matches")
}

/// A cheap test on a whole raw row that rules out most rows before the
/// per-field regex runs: every match of the pattern starts with one of a
/// finite set of literals, and a field's text (quotes removed) is a part of
/// the row's bytes, so a row holding none of them cannot match. Used only
/// when the literals hold no quote (an escaped `""` reads as `"`).
struct Prefilter {
    finder: Option<aho_corasick::AhoCorasick>,
}

impl Prefilter {
    fn new(pattern: &str, ignore_case: bool) -> Prefilter {
        let finder = (|| {
            let hir = regex_syntax::ParserBuilder::new()
                .case_insensitive(ignore_case)
                .utf8(false)
                .build()
                .parse(pattern)
                .ok()?;
            let seq = regex_syntax::hir::literal::Extractor::new().extract(&hir);
            let literals = seq.literals()?;
            if literals.is_empty()
                || literals
                    .iter()
                    .any(|l| l.as_bytes().is_empty() || l.as_bytes().contains(&b'"'))
            {
                return None;
            }
            aho_corasick::AhoCorasick::builder()
                .build(literals.iter().map(|l| l.as_bytes()))
                .ok()
        })();
        Prefilter { finder }
    }

    #[inline]
    fn may_match(&self, row: &[u8]) -> bool {
        self.finder.as_ref().is_none_or(|f| f.is_match(row))
    }
}
