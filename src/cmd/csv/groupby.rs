//! `fkit csv groupby`: one row per distinct key, with aggregators over the
//! key's rows (the aggregators themselves are in `agg`).

use super::agg::{self, Shared, Spec, State};
use super::json_out::unquote_field;
use super::selection::Selection;
use super::{Table, position, usage, write_row};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

/// Group rows by the values of COLS; one output row per group.
///
/// Each output row holds the group's key (the COLS fields) and then one
/// field per aggregator, over the group's rows. Groups come in the order
/// they are first seen, or sorted by key (bytewise) with --sort. The
/// aggregators are those of `fkit csv agg` (see its --help): count, sum,
/// mean, min, max, var, stddev, median, p<N>, distinct, first, last, mode,
/// values, each written `NAME:COLUMN[:OUTPUT]` (`sum:balance:total`).
///
/// Memory grows with the number of groups, not of rows: sums, means and
/// variances stream. median and p<N> keep every value of every group (as
/// floats), and distinct and mode every distinct value. Runs on both cores
/// over a regular file.
///
/// FILE is the last argument when it is not an aggregator (`-` or nothing
/// reads stdin; write `./count` for a file named like an aggregator).
///
/// Examples:
///   fkit csv groupby city count sum:balance mean:score data.csv
///   fkit csv groupby city,active count median:age --sort data.csv.gz
///   fkit csv groupby 3 max:balance:richest first:name data.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The key columns, as `select` takes them (`city`, `city,active`, `3`).
    #[arg(value_name = "COLS", allow_hyphen_values = true)]
    columns: String,

    /// Aggregators, then optionally the CSV file to read.
    #[arg(value_name = "AGG", required = true)]
    rest: Vec<OsString>,

    /// Sort the groups by their key, bytewise, instead of first seen.
    #[arg(long)]
    sort: bool,

    #[command(flatten)]
    shared: Shared,
}

pub(crate) fn run(args: Args) -> Result<()> {
    run_grouped(Some(&args.columns), &args.rest, args.sort, &args.shared)
}

/// The groups seen in one stretch of rows, in the order first seen.
struct Groups {
    index: HashMap<Vec<u8>, usize, foldhash::fast::RandomState>,
    /// Each group's key: its one key field, or each of several as a 4-byte
    /// length and bytes.
    keys: Vec<Vec<u8>>,
    states: Vec<Vec<State>>,
}

impl Groups {
    fn new() -> Groups {
        Groups {
            index: HashMap::default(),
            keys: Vec::new(),
            states: Vec::new(),
        }
    }

    #[inline]
    fn group(&mut self, key: &[u8], specs: &[Spec]) -> &mut Vec<State> {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => self.insert(
                key.to_vec(),
                specs.iter().map(|s| State::new(s.kind)).collect(),
            ),
        };
        &mut self.states[i]
    }

    fn insert(&mut self, key: Vec<u8>, states: Vec<State>) -> usize {
        let i = self.keys.len();
        self.index.insert(key.clone(), i);
        self.keys.push(key);
        self.states.push(states);
        i
    }

    /// Fold in the groups of the rows after ours: known groups merge, new
    /// ones follow ours in their own order.
    fn merge(&mut self, later: Groups, separator: &[u8]) {
        if self.keys.is_empty() {
            *self = later;
            return;
        }
        for (key, states) in later.keys.into_iter().zip(later.states) {
            match self.index.get(&key) {
                Some(&i) => {
                    for (a, b) in self.states[i].iter_mut().zip(states) {
                        a.merge(b, separator);
                    }
                }
                None => {
                    self.insert(key, states);
                }
            }
        }
    }
}

/// Append `field` to a group key.
#[inline]
fn push_key_field(key: &mut Vec<u8>, field: &[u8]) {
    key.extend_from_slice(&(field.len() as u32).to_le_bytes());
    key.extend_from_slice(field);
}

/// The fields of a group key (of `columns` key columns: one is the key
/// itself).
fn key_fields(key: &[u8], columns: usize) -> Vec<&[u8]> {
    if columns == 1 {
        return vec![key];
    }
    let mut fields = Vec::new();
    let mut rest = key;
    while rest.len() >= 4 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        fields.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    fields
}

/// `groupby` with key `columns`, or `agg` (no key, always one row).
pub(crate) fn run_grouped(
    columns: Option<&str>,
    rest: &[OsString],
    sort: bool,
    shared: &Shared,
) -> Result<()> {
    let (texts, file) = agg::split_file(rest)?;
    let selection = columns
        .map(|c| Selection::parse(c).map_err(|e| usage(e.to_string())))
        .transpose()?;
    let mut table = Table::open_at(file.as_deref().map(Path::new), &shared.options)?;
    let has_names = table.has_headers();
    let names: Vec<Vec<u8>> = table.header().iter().map(<[u8]>::to_vec).collect();
    let refs: Vec<&[u8]> = names.iter().map(|n| &n[..]).collect();
    let keys = match &selection {
        Some(s) => s
            .resolve(&refs, has_names)
            .map_err(|e| usage(e.to_string()))?,
        None => Vec::new(),
    };
    let specs = texts
        .iter()
        .map(|t| Spec::parse(t, &refs, has_names).map_err(|e| usage(e.to_string())))
        .collect::<Result<Vec<Spec>>>()?;
    let separator = shared.separator.as_bytes();
    let name = table.name().to_string();
    let mut all = Groups::new();
    table.for_each_chunk(
        &mut std::io::sink(),
        |records, _| {
            let mut groups = Groups::new();
            let mut key = Vec::with_capacity(64);
            loop {
                let at = records.offset();
                let Some(record) = records.next()? else { break };
                let states = if let [k] = keys[..] {
                    // One key column: the field itself is the key.
                    groups.group(&unquote_field(record.get(k).unwrap_or(b"")), &specs)
                } else {
                    key.clear();
                    for &k in &keys {
                        push_key_field(&mut key, &unquote_field(record.get(k).unwrap_or(b"")));
                    }
                    groups.group(&key, &specs)
                };
                let mut bad = None;
                for (i, (state, spec)) in states.iter_mut().zip(&specs).enumerate() {
                    let Some(column) = spec.column else {
                        let _ = state.add(b"", separator);
                        continue;
                    };
                    let field = record.get(column).unwrap_or(b"");
                    if field.is_empty() {
                        continue;
                    }
                    let value = unquote_field(field);
                    if !value.is_empty() && state.add(&value, separator).is_err() {
                        bad = Some((i, value.into_owned()));
                        break;
                    }
                }
                if let Some((i, value)) = bad {
                    let at = position(records.whole(), at);
                    return Err(agg::not_a_number(&specs[i], &value, at))
                        .with_context(|| name.clone());
                }
            }
            Ok(groups)
        },
        |groups| {
            all.merge(groups, separator);
            Ok(())
        },
    )?;
    if selection.is_none() && all.keys.is_empty() {
        all.insert(
            Vec::new(),
            specs.iter().map(|s| State::new(s.kind)).collect(),
        );
    }
    let mut order: Vec<usize> = (0..all.keys.len()).collect();
    if sort {
        order.sort_by(|&a, &b| {
            key_fields(&all.keys[a], keys.len()).cmp(&key_fields(&all.keys[b], keys.len()))
        });
    }
    let mut buf = Vec::new();
    let header: Vec<Vec<u8>> = keys
        .iter()
        .map(|&k| match names.get(k) {
            Some(n) if has_names => n.clone(),
            _ => (k + 1).to_string().into_bytes(),
        })
        .chain(specs.iter().map(|s| s.name.clone()))
        .collect();
    write_row(&mut buf, header.iter().map(|h| &h[..]), b',');
    let mut states: Vec<Option<Vec<State>>> = all.states.into_iter().map(Some).collect();
    for i in order {
        let results: Vec<Vec<u8>> = states[i]
            .take()
            .into_iter()
            .flatten()
            .zip(&specs)
            .map(|(state, spec)| state.finish(spec.kind))
            .collect();
        let fields = key_fields(&all.keys[i], keys.len());
        write_row(
            &mut buf,
            fields.into_iter().chain(results.iter().map(|r| &r[..])),
            b',',
        );
    }
    let mut out = shared.options.create_output()?;
    out.write_all(&buf)?;
    out.finish()
}
