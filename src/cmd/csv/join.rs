//! `fkit csv join`: SQL's joins of two CSV files on key columns.

use super::key::KeyColumns;
use super::runs::{RunSorter, Sorted};
use super::{Options, RowOutput, Table, push_record, usage, write_row};
use crate::io::Size;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Join two CSV files on key columns, as SQL joins two tables.
///
/// COLS1 are the key columns of FILE1 and COLS2 those of FILE2, in the
/// selection language of `select`; several columns (`city,zip`) pair up in
/// order. Keys compare as text, quotes removed; -i ignores case. A key whose
/// fields are all empty matches nothing unless --nulls.
///
/// Default, the inner join: each pair of rows with equal keys, FILE1's
/// columns then FILE2's. A name both headers have appears twice, kept apart
/// by position (`select 'name[1]'` picks the second).
///   --left   also FILE1's rows that match nothing, FILE2's columns empty
///   --right  also FILE2's rows that match nothing, FILE1's columns empty
///   --full   both
///   --semi   FILE1's rows that have a match, FILE1's columns only
///   --anti   FILE1's rows that have none, FILE1's columns only
///   --cross  every row of FILE1 with every row of FILE2 (no key columns:
///            `join --cross FILE1 FILE2`)
///
/// Memory: the smaller file (by size; stdin and compressed input count as
/// the larger) is held in RAM, hashed by key, up to --memory; the other
/// streams, parsed on all cores when it is a plain file. Rows come out in
/// the streamed file's order, each with its matches in the held file's
/// order; rows of the held file that --left, --right, --full, --semi or
/// --anti keep come last, in its order. When neither file fits in
/// --memory, both are sorted by key through temporary files (half of
/// --memory each) and merged, so files larger than RAM join; rows then
/// come out in key order, and one key's rows of FILE2 are held at a time.
/// stdin as the file to hold cannot be read twice: it must fit (so must
/// the smaller file of --cross). Both files can be gzip or bzip2; one of
/// them can be stdin (`-`). The output uses FILE1's delimiter.
///
/// Examples:
///   fkit csv join city data.csv city cities.csv
///   fkit csv join --left id,date visits.csv id,date sales.csv.gz -o all.csv
///   fkit csv join -i --anti email users.csv email unsubscribed.csv
///   fkit csv join --cross sizes.csv colours.csv
///   fkit csv join -S 1G --temp-dir /var/tmp id huge-a.csv id huge-b.csv -o joined.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// COLS1 FILE1 COLS2 FILE2 (with --cross: FILE1 FILE2).
    #[arg(value_name = "COLS1 FILE1 COLS2 FILE2", num_args = 2..=4, required = true)]
    operands: Vec<OsString>,

    /// Keep FILE1's rows without a match too.
    #[arg(long, group = "kind")]
    left: bool,

    /// Keep FILE2's rows without a match too.
    #[arg(long, group = "kind")]
    right: bool,

    /// Keep the rows of both files without a match.
    #[arg(long, group = "kind")]
    full: bool,

    /// Every row of FILE1 with every row of FILE2.
    #[arg(long, group = "kind")]
    cross: bool,

    /// Only FILE1's rows that have a match, once each.
    #[arg(long, group = "kind")]
    semi: bool,

    /// Only FILE1's rows that have no match.
    #[arg(long, group = "kind")]
    anti: bool,

    /// Compare keys case-insensitively.
    #[arg(short, long)]
    ignore_case: bool,

    /// Let empty keys match each other.
    #[arg(long)]
    nulls: bool,

    /// The most RAM the held (smaller) file may take.
    #[arg(short = 'S', long, value_name = "SIZE", default_value = "2G")]
    memory: Size,

    /// Directory for the temporary files of a sort-merge join (default:
    /// the system's; give one on disk when /tmp is in RAM).
    #[arg(long, value_name = "DIR")]
    temp_dir: Option<PathBuf>,

    #[command(flatten)]
    options: Options,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
    Semi,
    Anti,
}

impl Args {
    fn kind(&self) -> Kind {
        match (
            self.left, self.right, self.full, self.cross, self.semi, self.anti,
        ) {
            (true, ..) => Kind::Left,
            (_, true, ..) => Kind::Right,
            (_, _, true, ..) => Kind::Full,
            (_, _, _, true, ..) => Kind::Cross,
            (.., true, _) => Kind::Semi,
            (.., true) => Kind::Anti,
            _ => Kind::Inner,
        }
    }
}

/// One side of the join as the command line gave it.
struct Side<'a> {
    columns: Option<String>,
    path: &'a Path,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let kind = args.kind();
    let [first, second] = sides(&args.operands, kind)?;
    let stdin = |p: &Path| p.as_os_str() == "-";
    if stdin(first.path) && stdin(second.path) {
        return Err(usage("only one of the two files can be stdin"));
    }
    let mut left = Table::open_at(Some(first.path), &args.options)?;
    let mut right = Table::open_at(Some(second.path), &args.options)?;
    let left_keys = KeyColumns::of(&left, first.columns.as_deref(), args.ignore_case)?;
    let right_keys = KeyColumns::of(&right, second.columns.as_deref(), args.ignore_case)?;
    if kind != Kind::Cross && left_keys.len() != right_keys.len() {
        return Err(usage(format!(
            "the key of {} has {} columns and that of {} has {}: they must pair up",
            left.name(),
            left_keys.len(),
            right.name(),
            right_keys.len()
        )));
    }
    let delimiter = left.delimiter();
    let widths = (left.header().len(), right.header().len());
    let mut out = args.options.create_output()?;
    if left.has_headers() && widths.0 > 0 {
        let mut head = Vec::new();
        write_row(&mut head, left.header().iter(), delimiter);
        if !matches!(kind, Kind::Semi | Kind::Anti) {
            head.pop();
            head.push(delimiter);
            write_row(&mut head, right.header().iter(), delimiter);
        }
        out.write_all(&head)?;
    }

    // Hold the smaller file; a size unknown in advance counts as larger.
    let hold_left = match (left.size_hint(), right.size_hint()) {
        (Some(l), Some(r)) => l < r,
        (Some(_), None) => true,
        _ => false,
    };
    let plan = Plan {
        kind,
        hold_left,
        nulls: args.nulls,
        delimiter,
        widths,
    };
    let budget = args.memory.bytes();
    let both_too_big = matches!(
        (left.size_hint(), right.size_hint()),
        (Some(l), Some(r)) if l.min(r) > budget
    );
    let held = if both_too_big && kind != Kind::Cross {
        None
    } else {
        let (held_table, held_keys, held_path) = if hold_left {
            (&mut left, &left_keys, first.path)
        } else {
            (&mut right, &right_keys, second.path)
        };
        match Held::load(held_table, held_keys, &plan, budget) {
            Ok(held) => Some(held),
            // Larger than its size said (compressed): read it again, sorted.
            Err(e) if e.is::<OverBudget>() && kind != Kind::Cross && !stdin(held_path) => {
                *held_table = Table::open_at(Some(held_path), &args.options)?;
                None
            }
            Err(e) if e.is::<OverBudget>() => {
                let why = if kind == Kind::Cross {
                    "--cross holds the smaller file"
                } else {
                    "stdin cannot be read twice to sort it"
                };
                return Err(e.context(format!("raise --memory ({why})")));
            }
            Err(e) => return Err(e),
        }
    };
    let Some(held) = held else {
        // Neither file fits: sort both by key through temporary runs and merge.
        plan.sort_merge(
            [(&mut left, &left_keys), (&mut right, &right_keys)],
            budget,
            args.temp_dir.as_ref(),
            &mut out,
        )?;
        return out.finish();
    };
    if hold_left {
        plan.stream(&mut right, &right_keys, &held, &mut out)?;
    } else {
        plan.stream(&mut left, &left_keys, &held, &mut out)?;
    }
    plan.leftovers(&held, &mut out)?;
    out.finish()
}

/// The held file did not fit in --memory.
#[derive(Debug)]
struct OverBudget;

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("over the memory budget")
    }
}

impl std::error::Error for OverBudget {}

/// COLS1 FILE1 COLS2 FILE2, or FILE1 FILE2 with --cross (which also
/// accepts the four operands, and ignores the columns).
fn sides(operands: &[OsString], kind: Kind) -> Result<[Side<'_>; 2]> {
    let side = |columns: Option<&OsString>, path| -> Result<Side<'_>> {
        let columns = match columns {
            Some(c) => Some(
                c.to_str()
                    .map(str::to_string)
                    .ok_or_else(|| usage(format!("key columns {c:?} are not UTF-8")))?,
            ),
            None => None,
        };
        Ok(Side {
            columns,
            path: Path::new(path),
        })
    };
    match (kind, operands) {
        (Kind::Cross, [a, b] | [_, a, _, b]) => Ok([side(None, a)?, side(None, b)?]),
        (_, [c1, a, c2, b]) => Ok([side(Some(c1), a)?, side(Some(c2), b)?]),
        (Kind::Cross, _) => Err(usage("--cross takes FILE1 FILE2")),
        _ => Err(usage("join takes COLS1 FILE1 COLS2 FILE2")),
    }
}

/// What to print, decided once from the kind of join and which file is
/// held.
#[derive(Clone, Copy)]
struct Plan {
    kind: Kind,
    hold_left: bool,
    nulls: bool,
    /// The output's delimiter (FILE1's).
    delimiter: u8,
    /// The number of columns of FILE1 and FILE2.
    widths: (usize, usize),
}

/// Marks a row whose key matches nothing (a null key without --nulls).
const NO_GROUP: u32 = u32::MAX;

/// The held file: its rows (in output form, without line endings) and,
/// for each distinct key, the list of rows that have it.
struct Held {
    rows: Vec<u8>,
    /// Where each row ends in `rows`; it starts where the previous ended.
    ends: Vec<usize>,
    /// Each row's key group, or [`NO_GROUP`].
    group_of: Vec<u32>,
    /// The next row of the same group, or [`NO_GROUP`].
    next: Vec<u32>,
    groups: HashMap<Vec<u8>, u32, foldhash::fast::RandomState>,
    /// Each group's first and last row.
    first: Vec<u32>,
    last: Vec<u32>,
    /// Whether a streamed row matched the group (for the outer joins,
    /// --semi and --anti held on the left).
    matched: Vec<AtomicBool>,
}

/// One chunk of the held file, parsed on a worker.
#[derive(Default)]
struct HeldPart {
    rows: Vec<u8>,
    ends: Vec<usize>,
    keys: Vec<u8>,
    /// Where each row's key ends in `keys`, `None` for a null key.
    key_ends: Vec<Option<usize>>,
}

impl Held {
    fn load(table: &mut Table, keys: &KeyColumns, plan: &Plan, budget: u64) -> Result<Held> {
        let cross = plan.kind == Kind::Cross;
        let (from, to, nulls) = (table.delimiter(), plan.delimiter, plan.nulls);
        let name = table.name().to_string();
        let over_budget = |bytes: usize| -> Result<()> {
            if bytes as u64 > budget {
                return Err(anyhow::Error::new(OverBudget)).with_context(|| {
                    format!(
                        "{name}: the smaller file takes more than --memory ({budget} bytes) to hold"
                    )
                });
            }
            Ok(())
        };
        let mut held = Held {
            rows: Vec::new(),
            ends: Vec::new(),
            group_of: Vec::new(),
            next: Vec::new(),
            groups: HashMap::default(),
            first: Vec::new(),
            last: Vec::new(),
            matched: Vec::new(),
        };
        if cross {
            held.first.push(NO_GROUP);
            held.last.push(NO_GROUP);
        }
        table.for_each_chunk(
            &mut std::io::sink(),
            |records, _| {
                let mut part = HeldPart::default();
                let mut key = Vec::new();
                while let Some(record) = records.next()? {
                    push_record(&mut part.rows, &record, from, to);
                    part.ends.push(part.rows.len());
                    if cross {
                        part.key_ends.push(Some(0));
                    } else if keys.encode(&record, &mut key) || nulls {
                        part.keys.extend_from_slice(&key);
                        part.key_ends.push(Some(part.keys.len()));
                    } else {
                        part.key_ends.push(None);
                    }
                    // A stream is one long chunk: stop it early.
                    if part.ends.len() % 4096 == 0 {
                        over_budget(part.rows.len() + part.keys.len() + part.ends.len() * 40)?;
                    }
                }
                Ok(part)
            },
            |part| {
                let base = held.rows.len();
                held.rows.extend_from_slice(&part.rows);
                held.ends.extend(part.ends.iter().map(|e| base + e));
                let mut start = 0;
                for end in part.key_ends {
                    let row = held.group_of.len() as u32;
                    let group = match end {
                        None => NO_GROUP,
                        Some(_) if cross => 0,
                        Some(end) => {
                            let key = &part.keys[start..end];
                            start = end;
                            match held.groups.get(key) {
                                Some(&g) => g,
                                None => {
                                    let g = held.first.len() as u32;
                                    held.groups.insert(key.to_vec(), g);
                                    held.first.push(NO_GROUP);
                                    held.last.push(NO_GROUP);
                                    g
                                }
                            }
                        }
                    };
                    held.group_of.push(group);
                    held.next.push(NO_GROUP);
                    if group != NO_GROUP {
                        let g = group as usize;
                        match held.last[g] {
                            NO_GROUP => held.first[g] = row,
                            last => held.next[last as usize] = row,
                        }
                        held.last[g] = row;
                    }
                }
                over_budget(held.rows.len() + held.ends.len() * 40 + held.groups.len() * 48)
            },
        )?;
        held.matched = (0..held.first.len())
            .map(|_| AtomicBool::new(false))
            .collect();
        Ok(held)
    }

    fn row(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.rows[start..self.ends[i]]
    }

    /// The rows of `group`, in the held file's order.
    fn members(&self, group: u32) -> impl Iterator<Item = &[u8]> {
        let mut at = self.first[group as usize];
        std::iter::from_fn(move || {
            (at != NO_GROUP).then(|| {
                let row = self.row(at);
                at = self.next[at as usize];
                row
            })
        })
    }
}

impl Plan {
    /// Read the streamed file, printing what each of its rows yields.
    fn stream(
        &self,
        table: &mut Table,
        keys: &KeyColumns,
        held: &Held,
        out: &mut dyn Write,
    ) -> Result<()> {
        let (from, to) = (table.delimiter(), self.delimiter);
        // The streamed file's unmatched rows are kept by --left (streamed
        // on the left) or --right (on the right), and by --full.
        let keep_unmatched = match self.kind {
            Kind::Full => true,
            Kind::Left => !self.hold_left,
            Kind::Right => self.hold_left,
            _ => false,
        };
        let semi_anti_streamed = matches!(self.kind, Kind::Semi | Kind::Anti) && !self.hold_left;
        let need_marks = !semi_anti_streamed && self.keeps_held_rows();
        table.write_chunks(out, |records, sink| {
            let mut key = Vec::new();
            let mut row = Vec::new();
            while let Some(record) = records.next()? {
                let group = if self.kind == Kind::Cross {
                    Some(0)
                } else if keys.encode(&record, &mut key) || self.nulls {
                    held.groups.get(&key[..]).copied()
                } else {
                    None
                };
                if let Some(g) = group
                    && need_marks
                {
                    held.matched[g as usize].store(true, Ordering::Relaxed);
                }
                if semi_anti_streamed {
                    if group.is_some() == (self.kind == Kind::Semi) {
                        push_record(&mut sink.buf, &record, from, to);
                        sink.buf.push(b'\n');
                        sink.record_done()?;
                    }
                    continue;
                }
                if matches!(self.kind, Kind::Semi | Kind::Anti) {
                    continue;
                }
                row.clear();
                push_record(&mut row, &record, from, to);
                match group {
                    Some(g) => {
                        for other in held.members(g) {
                            self.write_pair(sink, Some(&row), Some(other))?;
                        }
                    }
                    None if keep_unmatched => self.write_pair(sink, Some(&row), None)?,
                    None => {}
                }
            }
            Ok(())
        })
    }

    /// Join two files that do not fit in memory: each is sorted by key
    /// into temporary runs (half of `budget` each), then both are read in
    /// key order side by side. Only one key's rows of FILE2 are held at a
    /// time. Rows come out in key order.
    fn sort_merge(
        &self,
        sides: [(&mut Table, &KeyColumns); 2],
        budget: u64,
        temp_dir: Option<&PathBuf>,
        out: &mut dyn Write,
    ) -> Result<()> {
        // Pairs are written FILE1's row first, as write_pair does for a
        // stream on the left.
        let plan = Plan {
            hold_left: false,
            ..*self
        };
        let each = (budget / 2).max(1) as usize;
        let [(left, lk), (right, rk)] = sides;
        let mut l = SortedSide::new(self.sorted(left, lk, each, temp_dir)?);
        let mut r = SortedSide::new(self.sorted(right, rk, each, temp_dir)?);
        l.advance()?;
        r.advance()?;
        let mut sink = RowOutput {
            buf: Vec::with_capacity(1 << 17),
            out: Some(out),
        };
        let left_unmatched = matches!(self.kind, Kind::Left | Kind::Full | Kind::Anti);
        let right_unmatched = matches!(self.kind, Kind::Right | Kind::Full);
        let mut group: Vec<Vec<u8>> = Vec::new();
        loop {
            let order = match (&l.row, &r.row) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                // A null key (tag 0) matches nothing, not even another.
                (Some(_), Some(_)) if l.key[0] == 0 => std::cmp::Ordering::Less,
                (Some(_), Some(_)) if r.key[0] == 0 => std::cmp::Ordering::Greater,
                (Some(_), Some(_)) => l.key.cmp(&r.key),
            };
            match order {
                std::cmp::Ordering::Less => {
                    if let Some(row) = l.row.as_deref().filter(|_| left_unmatched) {
                        if self.kind == Kind::Anti {
                            sink.buf.extend_from_slice(row);
                            sink.buf.push(b'\n');
                            sink.record_done()?;
                        } else {
                            plan.write_pair(&mut sink, Some(row), None)?;
                        }
                    }
                    l.advance()?;
                }
                std::cmp::Ordering::Greater => {
                    if let Some(row) = r.row.as_deref().filter(|_| right_unmatched) {
                        plan.write_pair(&mut sink, None, Some(row))?;
                    }
                    r.advance()?;
                }
                std::cmp::Ordering::Equal => {
                    let key = r.key.clone();
                    group.clear();
                    while r.row.is_some() && r.key == key {
                        group.extend(r.row.take());
                        r.advance()?;
                    }
                    while let Some(row) = l.row.as_deref().filter(|_| l.key == key) {
                        match self.kind {
                            Kind::Semi => {
                                sink.buf.extend_from_slice(row);
                                sink.buf.push(b'\n');
                                sink.record_done()?;
                            }
                            Kind::Anti => {}
                            _ => {
                                for other in &group {
                                    plan.write_pair(&mut sink, Some(row), Some(other))?;
                                }
                            }
                        }
                        l.advance()?;
                    }
                }
            }
        }
        if let Some(out) = sink.out.take() {
            out.write_all(&sink.buf)?;
        }
        Ok(())
    }

    /// The rows of `table` in output form, sorted by key: a key is a tag
    /// byte (0 for a null key that matches nothing, else 1) and the
    /// encoded fields.
    fn sorted(
        &self,
        table: &mut Table,
        keys: &KeyColumns,
        budget: usize,
        temp_dir: Option<&PathBuf>,
    ) -> Result<Sorted> {
        let mut sorter = RunSorter::new(budget, false, temp_dir.cloned());
        let (from, to) = (table.delimiter(), self.delimiter);
        let (mut key, mut row) = (Vec::new(), Vec::new());
        table.sequential(|records| {
            while let Some(record) = records.next()? {
                let real = keys.encode(&record, &mut key) || self.nulls;
                row.clear();
                push_record(&mut row, &record, from, to);
                sorter.push(
                    |k| {
                        k.push(u8::from(real));
                        if real {
                            k.extend_from_slice(&key);
                        }
                    },
                    &row,
                )?;
            }
            Ok(())
        })?;
        sorter.finish()
    }

    /// Whether rows of the held file are printed after the stream.
    fn keeps_held_rows(&self) -> bool {
        match self.kind {
            Kind::Full => true,
            Kind::Left | Kind::Semi | Kind::Anti => self.hold_left,
            Kind::Right => !self.hold_left,
            Kind::Inner | Kind::Cross => false,
        }
    }

    /// Print the held file's rows that the join keeps after the stream:
    /// unmatched ones for the outer joins and --anti, matched ones for
    /// --semi.
    fn leftovers(&self, held: &Held, out: &mut dyn Write) -> Result<()> {
        if !self.keeps_held_rows() {
            return Ok(());
        }
        let mut sink = RowOutput {
            buf: Vec::with_capacity(1 << 17),
            out: Some(out),
        };
        for (i, &group) in held.group_of.iter().enumerate() {
            let matched = group != NO_GROUP && held.matched[group as usize].load(Ordering::Relaxed);
            let row = held.row(i as u32);
            match self.kind {
                Kind::Semi | Kind::Anti if matched == (self.kind == Kind::Semi) => {
                    sink.buf.extend_from_slice(row);
                    sink.buf.push(b'\n');
                    sink.record_done()?;
                }
                Kind::Semi | Kind::Anti => {}
                _ if !matched => self.write_pair(&mut sink, None, Some(row))?,
                _ => {}
            }
        }
        if let Some(out) = sink.out.take() {
            out.write_all(&sink.buf)?;
        }
        Ok(())
    }

    /// One output row: a streamed row and a held row (either missing:
    /// empty fields), FILE1's columns first.
    #[inline]
    fn write_pair(
        &self,
        sink: &mut RowOutput<'_>,
        streamed: Option<&[u8]>,
        held: Option<&[u8]>,
    ) -> Result<()> {
        let (l, r) = if self.hold_left {
            (held, streamed)
        } else {
            (streamed, held)
        };
        let d = self.delimiter;
        let empty = |buf: &mut Vec<u8>, width: usize| {
            buf.extend(std::iter::repeat_n(d, width.saturating_sub(1)));
        };
        match l {
            Some(row) => sink.buf.extend_from_slice(row),
            None => empty(&mut sink.buf, self.widths.0),
        }
        sink.buf.push(d);
        match r {
            Some(row) => sink.buf.extend_from_slice(row),
            None => empty(&mut sink.buf, self.widths.1),
        }
        sink.buf.push(b'\n');
        sink.record_done()
    }
}

/// One sorted file of a sort-merge join, and its current row (copied out
/// of the sorter, so that both files' rows can be looked at together).
struct SortedSide {
    sorted: Sorted,
    key: Vec<u8>,
    row: Option<Vec<u8>>,
}

impl SortedSide {
    fn new(sorted: Sorted) -> SortedSide {
        SortedSide {
            sorted,
            key: Vec::new(),
            row: None,
        }
    }

    /// Move to the next row (`row` is `None` after the last).
    fn advance(&mut self) -> Result<()> {
        match self.sorted.next()? {
            Some((key, row)) => {
                self.key.clear();
                self.key.extend_from_slice(key);
                let mut buf = self.row.take().unwrap_or_default();
                buf.clear();
                buf.extend_from_slice(row);
                self.row = Some(buf);
            }
            None => self.row = None,
        }
        Ok(())
    }
}
