//! Row keys for the ops that compare rows by some of their columns (`join`,
//! `dedup`): the selected fields, unquoted, optionally case-folded, as one
//! byte string that is equal for two rows exactly when their fields are.

use super::json_out::unquote_field;
use super::selection::Selection;
use super::{Table, usage};
use anyhow::Result;
use simd_csv::ZeroCopyByteRecord;

/// Which columns make a row's key, and how they compare.
pub(crate) struct KeyColumns {
    columns: Vec<usize>,
    ignore_case: bool,
}

impl KeyColumns {
    /// The columns `selection` names in `table` (all of them for `None`).
    pub(crate) fn of(table: &Table, selection: Option<&str>, ignore_case: bool) -> Result<Self> {
        let names: Vec<&[u8]> = table.header().iter().collect();
        let columns = match selection {
            Some(text) => Selection::parse(text)
                .and_then(|s| s.resolve(&names, table.has_headers()))
                .map_err(|e| usage(format!("{}: {e}", table.name())))?,
            None => (0..names.len()).collect(),
        };
        Ok(KeyColumns {
            columns,
            ignore_case,
        })
    }

    /// The column indexes, in selection order.
    pub(crate) fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// The column indexes, in selection order.
    pub(crate) fn into_columns(self) -> Vec<usize> {
        self.columns
    }

    pub(crate) fn len(&self) -> usize {
        self.columns.len()
    }

    /// Put the key of `record` in `out` (cleared first). Returns false
    /// when every key field is empty: a null key, which `join` matches
    /// only with --nulls.
    #[inline]
    pub(crate) fn encode(&self, record: &ZeroCopyByteRecord, out: &mut Vec<u8>) -> bool {
        out.clear();
        let mut all_empty = true;
        let single = self.columns.len() == 1;
        for &i in &self.columns {
            let field = unquote_field(record.get(i).unwrap_or(b""));
            all_empty &= field.is_empty();
            // Several fields: each is prefixed with its length, so that
            // ("a,b", "c") and ("a", "b,c") stay different keys.
            let at = out.len();
            if !single {
                out.extend_from_slice(&[0; 4]);
            }
            if self.ignore_case {
                fold_case(&field, out);
            } else {
                out.extend_from_slice(&field);
            }
            if !single {
                let len = (out.len() - at - 4) as u32;
                out[at..at + 4].copy_from_slice(&len.to_le_bytes());
            }
        }
        !all_empty
    }
}

/// Lower-case `field` into `out`: Unicode lower case for UTF-8 text,
/// ASCII lower case for bytes that are not UTF-8.
fn fold_case(field: &[u8], out: &mut Vec<u8>) {
    if field.is_ascii() {
        out.extend(field.iter().map(u8::to_ascii_lowercase));
    } else if let Ok(text) = std::str::from_utf8(field) {
        out.extend_from_slice(text.to_lowercase().as_bytes());
    } else {
        out.extend(field.iter().map(u8::to_ascii_lowercase));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_folding_covers_unicode_and_raw_bytes() {
        let fold = |b: &[u8]| {
            let mut v = Vec::new();
            fold_case(b, &mut v);
            v
        };
        assert_eq!(fold(b"BeRLin"), b"berlin");
        assert_eq!(fold("ZÜRICH".as_bytes()), "zürich".as_bytes());
        assert_eq!(fold(b"AB\xff"), b"ab\xff");
    }
}
