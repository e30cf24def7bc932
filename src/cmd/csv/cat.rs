//! `fkit csv cat rows` and `fkit csv cat columns`: several files as one.

use super::write_when_full;
use super::{Options, Table, push_record, write_row};
use crate::io::Output;
use crate::io::map::ReleaseBehind;
use anyhow::{Context, Result};
use simd_csv::ByteRecord;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

/// Join CSV files into one: their rows one after another, or their columns
/// side by side.
///
/// Examples:
///   fkit csv cat rows jan.csv feb.csv.gz mar.csv -o q1.csv
///   fkit csv cat rows --pad old.csv new.csv
///   fkit csv cat columns ids.csv names.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    Rows(RowsArgs),
    Columns(ColumnsArgs),
}

/// The rows of each file, one file after another, under one header.
///
/// The files must have the same header (the first file's is printed once),
/// unless --pad: then the header is the union of the files' columns by name
/// (in the order first seen; a repeated name counts as one column per
/// repetition), and each row has its file's fields in their columns, the
/// others empty. With --no-headers, --pad widens every row to the widest
/// file's first row.
///
/// A plain file whose header matches and whose delimiter is the output's
/// (the first file's) is copied as bytes after its header line, without
/// parsing, at the speed of cat(1): its rows are not checked. Others are
/// parsed, one at a time. Streams: constant memory.
///
/// Examples:
///   fkit csv cat rows jan.csv feb.csv.gz mar.csv -o q1.csv
///   fkit csv cat rows --pad old.csv new.csv
///   zcat part2.csv.gz | fkit csv cat rows part1.csv -
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct RowsArgs {
    /// The files, in order (`-` is stdin, at most once).
    #[arg(value_name = "FILE", required = true)]
    inputs: Vec<PathBuf>,

    /// Take the union of the files' columns by name; missing fields are empty.
    #[arg(long)]
    pad: bool,

    #[command(flatten)]
    options: Options,
}

/// The columns of each file side by side: row N of the output is row N of
/// every file.
///
/// The output stops with the shortest file, unless --pad: then it goes on
/// to the longest, a file that has ended giving empty fields. Names that
/// several files have appear once per file (`select 'id[1]'` picks the
/// second). Streams: constant memory.
///
/// Examples:
///   fkit csv cat columns ids.csv names.csv
///   fkit csv cat columns --pad left.csv right.csv.gz -o wide.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct ColumnsArgs {
    /// The files, left to right (`-` is stdin, at most once).
    #[arg(value_name = "FILE", required = true)]
    inputs: Vec<PathBuf>,

    /// Go on to the end of the longest file, padding the others.
    #[arg(long)]
    pad: bool,

    #[command(flatten)]
    options: Options,
}

pub(crate) fn run(args: Args) -> Result<()> {
    match args.action {
        Action::Rows(a) => rows(a),
        Action::Columns(a) => columns(a),
    }
}

fn check_stdin_once(inputs: &[PathBuf]) -> Result<()> {
    if inputs.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(super::usage("stdin (`-`) can be read only once"));
    }
    Ok(())
}

fn rows(args: RowsArgs) -> Result<()> {
    check_stdin_once(&args.inputs)?;
    let o = &args.options;
    // A first pass reads each header (and keeps stdin, which cannot be
    // opened twice); the files are opened again, one at a time, to copy.
    let mut headers: Vec<ByteRecord> = Vec::new();
    let mut stdin: Option<Table> = None;
    let mut delimiter = b',';
    for (i, path) in args.inputs.iter().enumerate() {
        let table = Table::open_at(Some(path), o)?;
        if i == 0 {
            delimiter = table.delimiter();
        }
        if !args.pad && table.has_headers() && i > 0 && table.header() != &headers[0] {
            anyhow::bail!(
                "{}: its header differs from that of {} (--pad takes the union of the columns)",
                table.name(),
                args.inputs[0].display()
            );
        }
        headers.push(table.header().clone());
        if path.as_os_str() == "-" {
            stdin = Some(table);
        }
    }
    let union = if args.pad {
        Union::of(&headers, !o.no_headers)
    } else {
        Union::same(&headers[0])
    };
    let mut out = o.create_output()?;
    if !o.no_headers && !union.names.is_empty() {
        let mut head = Vec::new();
        write_row(&mut head, union.names.iter().map(|n| &n[..]), delimiter);
        out.write_all(&head)?;
    }
    for (path, header) in args.inputs.iter().zip(&headers) {
        let mut table = match stdin.take() {
            Some(table) if path.as_os_str() == "-" => table,
            kept => {
                stdin = kept;
                Table::open_at(Some(path), o)?
            }
        };
        let columns = union.columns_of(header);
        // Without --pad every file's rows are copied as they are (under
        // --no-headers, whatever their width).
        let identity = !args.pad
            || (columns.iter().enumerate().all(|(i, c)| *c == Some(i))
                && columns.len() == header.len());
        if identity
            && table.delimiter() == delimiter
            && let Some((map, start)) = table.mapped_data()
        {
            copy_bytes(map, start, &mut out)?;
            continue;
        }
        let from = table.delimiter();
        table.write_chunks(&mut out, |records, sink| {
            while let Some(record) = records.next()? {
                if identity {
                    push_record(&mut sink.buf, &record, from, delimiter);
                } else {
                    for (n, column) in columns.iter().enumerate() {
                        if n > 0 {
                            sink.buf.push(delimiter);
                        }
                        if let Some(field) = column.and_then(|i| record.get(i)) {
                            push_field(&mut sink.buf, field, from, delimiter);
                        }
                    }
                }
                sink.buf.push(b'\n');
                sink.record_done()?;
            }
            Ok(())
        })?;
    }
    out.finish()
}

/// Copy a mapped file's bytes from `start` as they are: by the kernel
/// when the output is a file (nothing to parse, so nothing to read here),
/// else from the map, giving pages back as they are written. A last line
/// without a newline gets one, so the next file starts on a line of its
/// own.
fn copy_bytes(map: &crate::io::MappedFile, start: usize, out: &mut Output) -> Result<()> {
    let data: &[u8] = map;
    let copied = out
        .append_from(
            map.file(),
            start as u64,
            data.len().saturating_sub(start) as u64,
        )
        .with_context(|| out.name().to_string())?;
    let mut at = start + copied as usize;
    let mut behind = ReleaseBehind::new(map, at);
    while at < data.len() {
        let end = (at + (4 << 20)).min(data.len());
        out.write_all(&data[at..end])?;
        behind.upto(end);
        at = end;
    }
    if data.len() > start && !data.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A raw field in the output's delimiter: as it is when the delimiters
/// agree, else unquoted and quoted again as the output needs.
fn push_field(out: &mut Vec<u8>, field: &[u8], from: u8, to: u8) {
    if from == to {
        out.extend_from_slice(field);
    } else {
        super::write_field(out, &super::json_out::unquote_field(field), to);
    }
}

/// The output's columns for `cat rows`: the first file's, or with --pad
/// every name of every file (a name repeated in one file counted once per
/// repetition), or under --no-headers as many as the widest file has.
struct Union {
    names: Vec<Vec<u8>>,
    /// The column of each (name, repetition); `None`: by position.
    index: Option<HashMap<(Vec<u8>, usize), usize>>,
    width: usize,
}

impl Union {
    /// Every file has the first one's columns.
    fn same(header: &ByteRecord) -> Union {
        Union {
            names: header.iter().map(<[u8]>::to_vec).collect(),
            index: None,
            width: header.len(),
        }
    }

    fn of(headers: &[ByteRecord], by_name: bool) -> Union {
        if !by_name {
            return Union {
                names: Vec::new(),
                index: None,
                width: headers.iter().map(ByteRecord::len).max().unwrap_or(0),
            };
        }
        let mut names = Vec::new();
        let mut index = HashMap::new();
        for header in headers {
            for (name, nth) in repetitions(header) {
                index.entry((name.to_vec(), nth)).or_insert_with(|| {
                    names.push(name.to_vec());
                    names.len() - 1
                });
            }
        }
        Union {
            width: names.len(),
            names,
            index: Some(index),
        }
    }

    /// For each output column, the column of a file with `header` that
    /// fills it.
    fn columns_of(&self, header: &ByteRecord) -> Vec<Option<usize>> {
        let mut columns = vec![None; self.width];
        match &self.index {
            Some(index) => {
                for (i, (name, nth)) in repetitions(header).enumerate() {
                    if let Some(&j) = index.get(&(name.to_vec(), nth)) {
                        columns[j] = Some(i);
                    }
                }
            }
            None => {
                for (i, column) in columns.iter_mut().enumerate().take(header.len()) {
                    *column = Some(i);
                }
            }
        }
        columns
    }
}

/// Each name of `header` with how many times it came before.
fn repetitions(header: &ByteRecord) -> impl Iterator<Item = (&[u8], usize)> {
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    header.iter().map(move |name| {
        let n = seen.entry(name).or_insert(0);
        *n += 1;
        (name, *n - 1)
    })
}

fn columns(args: ColumnsArgs) -> Result<()> {
    check_stdin_once(&args.inputs)?;
    let o = &args.options;
    let mut readers = Vec::new();
    let mut widths = Vec::new();
    let mut head = Vec::new();
    let mut delimiter = b',';
    for (i, path) in args.inputs.iter().enumerate() {
        let table = Table::open_at(Some(path), o)?;
        if i == 0 {
            delimiter = table.delimiter();
        }
        if table.has_headers() {
            if i > 0 {
                head.push(delimiter);
            }
            write_row(&mut head, table.header().iter(), delimiter);
            head.pop();
        }
        widths.push(table.header().len());
        let from = table.delimiter();
        readers.push((table.into_rows()?, from));
    }
    let mut out = o.create_output()?;
    if !o.no_headers {
        head.push(b'\n');
        out.write_all(&head)?;
    }
    let mut buf = Vec::with_capacity(1 << 17);
    let mut done = vec![false; readers.len()];
    loop {
        let start = buf.len();
        let mut any = false;
        for (i, (reader, from)) in readers.iter_mut().enumerate() {
            if i > 0 {
                buf.push(delimiter);
            }
            let record = if done[i] { None } else { reader.next()? };
            match record {
                Some(record) => {
                    any = true;
                    push_record(&mut buf, &record, *from, delimiter);
                }
                None => {
                    done[i] = true;
                    buf.extend(std::iter::repeat_n(delimiter, widths[i].saturating_sub(1)));
                }
            }
        }
        let stop = if args.pad {
            !any
        } else {
            done.iter().any(|&d| d)
        };
        if stop {
            buf.truncate(start);
            break;
        }
        buf.push(b'\n');
        write_when_full(&mut out, &mut buf)?;
    }
    out.write_all(&buf)?;
    out.finish()
}
