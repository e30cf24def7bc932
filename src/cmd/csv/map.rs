//! `fkit csv map`: rows changed or extended by a jq expression.

use super::expr::{RowExpr, Runner, push_value_text};
use super::plain_expr::{self, Node, PlainExpr};
use super::{Common, Table, position, write_field, write_row};
use crate::query::Value;
use anyhow::{Context, Result};
use simd_csv::ZeroCopyByteRecord;
use std::collections::HashMap;
use std::io::Write;

/// Change or add fields with a jq expression that returns the row.
///
/// Each row is an object keyed by the header, typed as in `filter` (see
/// its --help). The expression returns the row with fields changed or
/// added: `.total = .price * .qty`. Fields it adds become new columns
/// after the header's, in the order the first row's result has them; a
/// later row whose result adds a field the first row's did not is an
/// error. Values are written back as CSV fields: numbers in their shortest
/// exact form, null as an empty field, arrays and objects as JSON; fields
/// the expression leaves alone are copied byte for byte. Each result is a
/// row: a row for which the expression gives nothing is dropped.
///
/// Only the fields the expression names are built into the object; a chain
/// of `.field = …` of comparisons and arithmetic on fields and literals
/// runs on the fields directly, without building an object at all. Runs on
/// both cores over a regular file, rows in input order; streams in
/// constant memory.
///
/// Examples:
///   fkit csv map '.double = .score * 2' data.csv
///   fkit csv map '.total = .price * .qty | .label = "\(.city)/\(.id)"' sales.csv
///   fkit csv map '.name |= ascii_upcase' data.csv.gz -o upper.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The jq expression that returns each row.
    #[arg(value_name = "EXPR")]
    expr: String,

    #[command(flatten)]
    common: Common,
}

/// The output's columns: the header's, then those the first result added.
struct Columns<'e> {
    index: HashMap<Vec<u8>, usize, foldhash::fast::RandomState>,
    /// How many the input has.
    input: usize,
    total: usize,
    /// For each input column the expression reads, where its value is in
    /// the row's values.
    read_at: Vec<Option<usize>>,
    /// The assignments, when they are evaluated without the engine.
    plain: Option<PlainSteps<'e>>,
}

/// Assignments evaluated without the engine, to columns of their own
/// numbering; `from_out` gives each output column's number in it.
struct PlainSteps<'e> {
    steps: &'e [(usize, Node)],
    from_out: Vec<Option<usize>>,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let names = super::expr::row_keys(&table);
    let expr = RowExpr::new(&args.expr, names.clone(), true)?;
    let delimiter = table.delimiter();
    let streamed = table.mapped().is_none();
    let name = table.name().to_string();
    let fail = |whole: Option<&[u8]>, at: u64, message: String| {
        anyhow::anyhow!("{}: {message}", position(whole, at)).context(name.clone())
    };
    // The first row's result names the added columns. A stream cannot be
    // read twice, so there its output is kept to be written first.
    let (added, first_rows) = table.sequential(|records| {
        let runner = expr.runner()?;
        let mut values = Vec::new();
        let at = records.offset();
        let Some(record) = records.next()? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut added: Vec<Vec<u8>> = Vec::new();
        let mut shape = Ok(());
        let run = runner.run(runner.row(&record, &mut values), &mut |v| {
            match &v {
                Value::Obj(fields) => {
                    for key in fields.keys() {
                        let key = key_bytes(key);
                        if !names.iter().any(|n| n == key) && !added.iter().any(|a| a == key) {
                            added.push(key.to_vec());
                        }
                    }
                }
                other => shape = Err(not_a_row(other)),
            }
            false
        });
        let mut rows = Vec::new();
        let checked = run.and(shape).and_then(|()| {
            if streamed {
                let columns = Columns::new(&expr, &names, &added);
                map_record(
                    &runner,
                    &record,
                    &mut values,
                    &columns,
                    delimiter,
                    &mut rows,
                )
            } else {
                Ok(())
            }
        });
        match checked {
            Ok(()) => Ok((added, rows)),
            Err(message) => Err(fail(records.whole(), at, message)),
        }
    })?;
    let columns = Columns::new(&expr, &names, &added);
    let mut out = args.common.create_output()?;
    let mut head = Vec::new();
    if table.has_headers() && !names.is_empty() {
        write_row(
            &mut head,
            names.iter().chain(&added).map(|n| &n[..]),
            delimiter,
        );
    }
    head.extend_from_slice(&first_rows);
    out.write_all(&head)?;
    table.write_chunks(&mut out, |records, sink| {
        // Room for the chunk's rows and a little more for what is added.
        if let Some((chunk, _)) = records.unread_chunk() {
            sink.buf.reserve(chunk.len() + chunk.len() / 4);
        }
        let runner = expr.runner()?;
        let mut values = Vec::new();
        loop {
            let at = records.offset();
            let Some(record) = records.next()? else { break };
            let mapped = map_record(
                &runner,
                &record,
                &mut values,
                &columns,
                delimiter,
                &mut sink.buf,
            );
            if let Err(message) = mapped {
                return Err(fail(records.whole(), at, message));
            }
            sink.record_done()?;
        }
        Ok(())
    })?;
    out.finish().context("writing the rows")
}

impl<'e> Columns<'e> {
    fn new(expr: &'e RowExpr, names: &[Vec<u8>], added: &[Vec<u8>]) -> Columns<'e> {
        let mut index = HashMap::default();
        for (i, n) in names.iter().chain(added).enumerate() {
            index.entry(n.clone()).or_insert(i);
        }
        let mut read_at = vec![None; names.len()];
        for (at, &c) in expr.reads().iter().enumerate() {
            read_at[c] = Some(at);
        }
        let total = names.len() + added.len();
        let plain = match expr.plain() {
            Some(PlainExpr::Assign { steps, columns }) => {
                let mut from_out = vec![None; total];
                let mut known = true;
                for (p, name) in columns.iter().enumerate() {
                    match index.get(name) {
                        Some(&c) => from_out[c] = Some(p),
                        None => known = false,
                    }
                }
                known.then_some(PlainSteps { steps, from_out })
            }
            _ => None,
        };
        Columns {
            index,
            input: names.len(),
            total,
            read_at,
            plain,
        }
    }
}

fn key_bytes(key: &Value) -> &[u8] {
    match key {
        Value::TStr(s) | Value::BStr(s) => s,
        _ => b"",
    }
}

fn not_a_row(v: &Value) -> String {
    let mut text = v.to_string();
    if text.len() > 60 {
        text.truncate(text.floor_char_boundary(57));
        text.push_str("...");
    }
    format!("the expression gave {text}, not a row object (to select rows, use filter)")
}

/// Run the expression on `record` and append each result as a row.
fn map_record(
    runner: &Runner,
    record: &ZeroCopyByteRecord,
    values: &mut Vec<Value>,
    columns: &Columns,
    delimiter: u8,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    if let Some(plain) = &columns.plain {
        let start = out.len();
        let (steps, from_out) = (plain.steps, &plain.from_out[..]);
        match plain_expr::assign_row(steps, from_out, record, columns.input, delimiter, out) {
            Ok(()) => return Ok(()),
            // Not covered: the engine computes this row (and words any error).
            Err(_) => out.truncate(start),
        }
    }
    let mut failed = Ok(());
    let mut slots: Vec<Option<Value>> = Vec::new();
    let row = runner.row(record, values);
    runner.run(row, &mut |v| {
        let Value::Obj(fields) = &v else {
            failed = Err(not_a_row(&v));
            return false;
        };
        slots.clear();
        slots.resize(columns.total, None);
        for (key, value) in fields.iter() {
            match columns.index.get(key_bytes(key)) {
                Some(&c) => slots[c] = Some(value.clone()),
                None => {
                    failed = Err(format!(
                        "the result adds field {key}, which the first row's result did not (give it a value on every row, null for none)"
                    ));
                    return false;
                }
            }
        }
        for (c, slot) in slots.iter().enumerate() {
            if c > 0 {
                out.push(delimiter);
            }
            let original = (c < columns.input).then(|| record.get(c).unwrap_or(b""));
            let read = columns.read_at.get(c).copied().flatten();
            match (slot, original, read) {
                // Not read by the expression: as it was.
                (_, Some(raw), None) => out.extend_from_slice(raw),
                // Read and given back unchanged: as it was.
                (Some(v), Some(raw), Some(at)) if *v == values[at] => out.extend_from_slice(raw),
                (Some(v), _, _) => {
                    let mut text = Vec::new();
                    push_value_text(&mut text, v);
                    write_field(out, &text, delimiter);
                }
                // Removed by the expression, or added by the first row only.
                (None, _, _) => {}
            }
        }
        out.push(b'\n');
        true
    })?;
    failed
}
