//! `fkit csv table`: aligned columns for people to read.

use super::json_out::unquote_field;
use super::{Common, Table};
use anyhow::Result;
use std::io::Write;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Print the rows as aligned columns, for reading in a terminal.
///
/// Columns are as wide as their widest field, two spaces apart. When the
/// lines would be wider than --width (default: the terminal's width when
/// writing to one, else no limit), the widest columns are narrowed until
/// they fit and longer fields end in `…`. Newlines and tabs inside fields
/// show as `↵` and `→`. Widths count terminal cells (CJK characters take
/// two). The output is not CSV. Holds the whole input in RAM.
///
/// Examples:
///   fkit csv table data.csv
///   fkit csv head -n 20 data.csv | fkit csv table --width 100
///   fkit csv table --width 0 data.csv.gz -o aligned.txt
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Lines at most this many cells wide (0: no limit).
    #[arg(short, long, value_name = "N")]
    width: Option<usize>,

    #[command(flatten)]
    common: Common,
}

/// Space between two columns.
const GAP: usize = 2;

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    table.accept_uneven();
    let mut rows: Vec<Vec<String>> = Vec::new();
    if table.has_headers() && !table.header().is_empty() {
        rows.push(table.header().iter().map(shown).collect());
    }
    table.sequential(|records| {
        while let Some(record) = records.next()? {
            rows.push(record.iter().map(|f| shown(&unquote_field(f))).collect());
        }
        Ok(())
    })?;
    let limit = match args.width {
        Some(0) => None,
        Some(n) => Some(n),
        // Only stdout can be a terminal; a file gets whole fields.
        None if args.common.options.out.output.is_none() => {
            terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
        }
        None => None,
    };
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        if widths.len() < row.len() {
            widths.resize(row.len(), 0);
        }
        for (w, field) in widths.iter_mut().zip(row) {
            *w = (*w).max(field.width());
        }
    }
    if let Some(limit) = limit {
        fit(&mut widths, limit);
    }
    let mut out = args.common.create_output()?;
    let mut buf = String::with_capacity(1 << 16);
    for row in &rows {
        for (i, field) in row.iter().enumerate() {
            if i > 0 {
                buf.push_str("  ");
            }
            let used = cut(field, widths[i], &mut buf);
            if i + 1 < row.len() {
                buf.extend(std::iter::repeat_n(' ', widths[i] - used));
            }
        }
        buf.push('\n');
        if buf.len() >= 1 << 16 {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    out.write_all(buf.as_bytes())?;
    out.finish()
}

/// A field as shown: text (invalid UTF-8 replaced), newlines and tabs as
/// visible marks so that every row stays one line.
fn shown(field: &[u8]) -> String {
    String::from_utf8_lossy(field)
        .replace("\r\n", "↵")
        .replace(['\n', '\r'], "↵")
        .replace('\t', "→")
}

/// Narrow the widest columns until the columns and their gaps fit in
/// `limit` cells: every column gets at most the largest cap that fits
/// (each keeps at least one cell, even if the line then overflows).
fn fit(widths: &mut [usize], limit: usize) {
    let gaps = GAP * widths.len().saturating_sub(1);
    let total = |cap: usize| widths.iter().map(|&w| w.min(cap)).sum::<usize>() + gaps;
    let widest = widths.iter().copied().max().unwrap_or(0);
    if total(widest) <= limit {
        return;
    }
    // The largest cap that fits, by bisection over 1..widest.
    let (mut low, mut high) = (1, widest);
    while low < high {
        let mid = (low + high).div_ceil(2);
        if total(mid) <= limit {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    for w in widths.iter_mut() {
        *w = (*w).min(low);
    }
}

/// Append `field` to `out` in at most `width` cells, ending in `…` when it
/// is cut. Returns the cells used.
fn cut(field: &str, width: usize, out: &mut String) -> usize {
    let full = field.width();
    if full <= width {
        out.push_str(field);
        return full;
    }
    let mut used = 0;
    for c in field.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    used + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_narrows_only_the_widest_columns() {
        let mut widths = vec![3, 20, 10];
        fit(&mut widths, 3 + 10 + 10 + 4);
        assert_eq!(widths, [3, 10, 10]);
        let mut wide = vec![5, 5];
        fit(&mut wide, 100);
        assert_eq!(wide, [5, 5]);
        let mut tiny = vec![9, 9, 9];
        fit(&mut tiny, 2);
        assert_eq!(tiny, [1, 1, 1]);
    }

    #[test]
    fn cutting_counts_cells_and_ends_in_an_ellipsis() {
        let mut s = String::new();
        assert_eq!(cut("Helsinki", 5, &mut s), 5);
        assert_eq!(s, "Hels…");
        s.clear();
        assert_eq!(cut("東京都庁", 5, &mut s), 5);
        assert_eq!(s, "東京…");
        s.clear();
        assert_eq!(cut("Oslo", 4, &mut s), 4);
        assert_eq!(s, "Oslo");
    }
}
