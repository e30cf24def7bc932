//! `fkit csv filter`: the rows for which a jq expression is true.

use super::expr::{RowExpr, truthy};
use super::plain_expr::{self, PlainExpr};
use super::{Common, Table, position};
use anyhow::{Context, Result};
use std::io::Write;

/// Keep the rows for which a jq expression is true.
///
/// Each row is an object keyed by the header, its fields typed as
/// `to-json --infer` types them: integers and decimals are numbers, `true`
/// and `false` booleans, empty fields null, the rest strings. A row is kept
/// when the expression's first result is neither false nor null (jq's
/// truthiness). Rows are copied byte for byte, in input order.
///
/// Only the fields the expression names are built into the object, so the
/// cost grows with what it reads, not with the width of the row; tests made
/// of comparisons, arithmetic, `and`, `or` and `not` on fields and literals
/// run on the fields directly, without building an object at all. A field it
/// names that the header lacks is an error; so is a row it fails on (an
/// error naming the line). Runs on both cores over a regular file; streams
/// in constant memory.
///
/// Examples:
///   fkit csv filter '.age > 50' data.csv
///   fkit csv filter '.city == "Berlin" and .active' data.csv.gz
///   fkit csv filter -v '.note | test("retry")' data.csv
///   fkit csv filter '."first name" | startswith("A")' people.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The jq expression each row is tested with.
    #[arg(value_name = "EXPR")]
    expr: String,

    /// Keep the other rows: those for which EXPR is false or null, or
    /// gives nothing.
    #[arg(short = 'v', long)]
    invert: bool,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let expr = RowExpr::new(&args.expr, super::expr::row_keys(&table), false)?;
    let mut out = args.common.create_output()?;
    let mut head = Vec::new();
    table.write_header(&mut head);
    out.write_all(&head)?;
    let name = table.name().to_string();
    let invert = args.invert;
    table.write_chunks(&mut out, |records, sink| {
        // A chunk's rows out are at most its bytes in: one allocation.
        if let Some((chunk, _)) = records.unread_chunk() {
            sink.buf.reserve(chunk.len());
        }
        let runner = expr.runner()?;
        let mut values = Vec::new();
        let plain = match expr.plain() {
            Some(PlainExpr::Test(node)) => Some(node),
            _ => None,
        };
        let width = expr.width();
        loop {
            let at = records.offset();
            let Some(record) = records.next()? else { break };
            let mut keep = false;
            let run = match plain.map(|node| plain_expr::test(node, &record, width)) {
                Some(Ok(test)) => {
                    keep = test;
                    Ok(())
                }
                // Not covered: the engine decides (and words any error).
                _ => runner.run(runner.row(&record, &mut values), &mut |v| {
                    keep = truthy(&v);
                    false
                }),
            };
            if run.is_ok() && keep != invert {
                sink.buf.extend_from_slice(record.as_slice());
                sink.buf.push(b'\n');
                sink.record_done()?;
            }
            if let Err(message) = run {
                return Err(anyhow::anyhow!(
                    "{}: {message}",
                    position(records.whole(), at)
                ))
                .with_context(|| name.clone());
            }
        }
        Ok(())
    })?;
    out.finish()
}
