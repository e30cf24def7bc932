//! `fkit csv explode` and `implode`: one field split into rows, and back.

use super::json_out::unquote_field;
use super::key::KeyColumns;
use super::write_when_full;
use super::{Common, Table, usage, write_field};
use anyhow::Result;
use std::io::Write;

/// Split one column's field on SEP into several rows, the other fields
/// repeated in each.
///
/// A field without SEP (an empty one included) stays one row. The pieces
/// are written quoted where they need it; other fields are copied byte for
/// byte. `implode` undoes it. Streams: constant memory.
///
/// Examples:
///   fkit csv explode tags '|' posts.csv
///   fkit csv explode -r tag tags ';' posts.csv.gz -o one-tag-per-row.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The column to split (one column).
    #[arg(value_name = "COL", allow_hyphen_values = true)]
    column: String,

    /// What separates the values inside the field.
    #[arg(value_name = "SEP", allow_hyphen_values = true)]
    separator: String,

    /// A new name for the column.
    #[arg(short, long, value_name = "NAME")]
    rename: Option<String>,

    #[command(flatten)]
    common: Common,
}

/// Join the COL fields of consecutive rows whose other fields are equal
/// into one field, separated by SEP: `explode` undone.
///
/// Rows are grouped only when they follow each other (sort first to group
/// rows further apart); other fields are compared with quotes removed and
/// copied from the group's first row. Streams: memory is one group.
///
/// Examples:
///   fkit csv implode tag '|' one-tag-per-row.csv
///   fkit csv sort -s id posts.csv | fkit csv implode -r tags tag ';'
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct ImplodeArgs {
    #[command(flatten)]
    args: Args,
}

/// The single column `text` selects in `table`, and the header with that
/// column renamed when asked.
fn one_column(table: &Table, text: &str, rename: Option<&str>) -> Result<(usize, Vec<u8>)> {
    let columns = KeyColumns::of(table, Some(text), false)?.into_columns();
    let [column] = columns[..] else {
        return Err(usage(format!(
            "{text}: selects {} columns, give one",
            columns.len()
        )));
    };
    let mut head = Vec::new();
    if table.has_headers() && !table.header().is_empty() {
        let delimiter = table.delimiter();
        for (i, name) in table.header().iter().enumerate() {
            if i > 0 {
                head.push(delimiter);
            }
            let name = match rename {
                Some(new) if i == column => new.as_bytes(),
                _ => name,
            };
            write_field(&mut head, name, delimiter);
        }
        head.push(b'\n');
    }
    Ok((column, head))
}

pub(crate) fn run(args: Args) -> Result<()> {
    if args.separator.is_empty() {
        return Err(usage("SEP is empty"));
    }
    let mut table = Table::open(&args.common)?;
    let (column, head) = one_column(&table, &args.column, args.rename.as_deref())?;
    let delimiter = table.delimiter();
    let sep = args.separator.as_bytes();
    let mut out = args.common.create_output()?;
    out.write_all(&head)?;
    table.write_chunks(&mut out, |records, sink| {
        while let Some(record) = records.next()? {
            let Some(field) = record.get(column) else {
                sink.buf.extend_from_slice(record.as_slice());
                sink.buf.push(b'\n');
                continue;
            };
            let value = unquote_field(field);
            let mut pieces = split_on(&value, sep);
            // The other fields, before and after the split column.
            let row = record.as_slice();
            let before = &row[..offset_of(row, field)];
            let after = &row[offset_of(row, field) + field.len()..];
            let first = pieces.next().unwrap_or(b"");
            for piece in std::iter::once(first).chain(pieces) {
                sink.buf.extend_from_slice(before);
                write_field(&mut sink.buf, piece, delimiter);
                sink.buf.extend_from_slice(after);
                sink.buf.push(b'\n');
            }
            sink.record_done()?;
        }
        Ok(())
    })?;
    out.finish()
}

pub(crate) fn run_implode(args: ImplodeArgs) -> Result<()> {
    let args = args.args;
    let mut table = Table::open(&args.common)?;
    let (column, head) = one_column(&table, &args.column, args.rename.as_deref())?;
    let delimiter = table.delimiter();
    let sep = args.separator.as_bytes();
    let mut out = args.common.create_output()?;
    let mut buf = head;
    // The group being built: its key (the other fields, unquoted), its
    // first row's fields before and after the column, and the values.
    let mut group: Option<Group> = None;
    let mut key = Vec::new();
    table.sequential(|records| {
        while let Some(record) = records.next()? {
            key.clear();
            for (i, field) in record.iter().enumerate() {
                if i != column {
                    let field = unquote_field(field);
                    key.extend_from_slice(&(field.len() as u64).to_le_bytes());
                    key.extend_from_slice(&field);
                }
            }
            let value = unquote_field(record.get(column).unwrap_or(b""));
            if let Some(g) = group.as_mut().filter(|g| g.key == key) {
                g.values.extend_from_slice(sep);
                g.values.extend_from_slice(&value);
                continue;
            }
            if let Some(g) = group.take() {
                g.write(&mut buf, delimiter);
            }
            let row = record.as_slice();
            let (before, after) = match record.get(column) {
                Some(field) => {
                    let at = offset_of(row, field);
                    (row[..at].to_vec(), row[at + field.len()..].to_vec())
                }
                None => (row.to_vec(), Vec::new()),
            };
            group = Some(Group {
                key: key.clone(),
                before,
                after,
                values: value.into_owned(),
                has_column: record.get(column).is_some(),
            });
            write_when_full(&mut out, &mut buf)?;
        }
        Ok(())
    })?;
    if let Some(g) = group.take() {
        g.write(&mut buf, delimiter);
    }
    out.write_all(&buf)?;
    out.finish()
}

struct Group {
    key: Vec<u8>,
    before: Vec<u8>,
    after: Vec<u8>,
    values: Vec<u8>,
    has_column: bool,
}

impl Group {
    fn write(self, out: &mut Vec<u8>, delimiter: u8) {
        out.extend_from_slice(&self.before);
        if self.has_column {
            write_field(out, &self.values, delimiter);
        }
        out.extend_from_slice(&self.after);
        out.push(b'\n');
    }
}

/// Where `field` (a slice of `row`) starts in `row`.
fn offset_of(row: &[u8], field: &[u8]) -> usize {
    field.as_ptr() as usize - row.as_ptr() as usize
}

/// The pieces of `text` between occurrences of `sep`.
fn split_on<'a>(text: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let now = rest?;
        match memchr::memmem::find(now, sep) {
            Some(i) => {
                rest = Some(&now[i + sep.len()..]);
                Some(&now[..i])
            }
            None => {
                rest = None;
                Some(now)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::split_on;

    #[test]
    fn split_keeps_empty_pieces() {
        let pieces: Vec<&[u8]> = split_on(b"a||b|", b"|").collect();
        assert_eq!(pieces, [&b"a"[..], b"", b"b", b""]);
        let one: Vec<&[u8]> = split_on(b"", b"|").collect();
        assert_eq!(one, [&b""[..]]);
    }
}
