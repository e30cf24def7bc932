//! The column selection language, as xsv users type it.
//!
//! A selection is a comma-separated list of items, each picking columns in
//! the order given (repeats allowed):
//!
//! - `name` — the column with that header; `name[n]` — its n-th occurrence
//!   (0-based) when the header repeats a name;
//! - `3` — a 1-based index;
//! - `a-b` — a range between two names or indexes, either end open
//!   (`3-`, `-name`), backwards too (`5-2`);
//! - `"a name, with commas"` — quotes around a name that would otherwise read
//!   as syntax (`""` is a quote inside);
//! - a leading `!` — every column except those the rest selects.
//!
//! An unquoted item that equals a header name is that name even when it holds
//! a `-` (`first-name`), so common headers need no quotes.

use anyhow::{Result, bail};

/// One end of a range, or a single column.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    Index(usize),
    Name(String, usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    One(Column),
    Range(Option<Column>, Option<Column>),
}

/// A parsed selection, ready to apply to a header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Selection {
    negated: bool,
    items: Vec<(Item, Option<Column>)>,
}

impl Selection {
    pub(crate) fn parse(text: &str) -> Result<Selection> {
        let (negated, body) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut items = Vec::new();
        for raw in split_items(body)? {
            // Keep the whole item as a plain name too: it wins when it
            // matches a header exactly (`first-name`).
            let plain = (!raw.quoted_anywhere).then(|| Column::Name(raw.text.clone(), 0));
            items.push((parse_item(&raw)?, plain));
        }
        if items.is_empty() {
            bail!("empty selection: name at least one column");
        }
        Ok(Selection { negated, items })
    }

    /// The 0-based column indexes the selection picks from `header`
    /// (`width` columns; names are unusable when `has_names` is false).
    pub(crate) fn resolve(&self, header: &[&[u8]], has_names: bool) -> Result<Vec<usize>> {
        let width = header.len();
        let mut picked = Vec::new();
        for (item, plain) in &self.items {
            if let (Item::Range(..), Some(plain)) = (item, plain)
                && has_names
                && let Ok(i) = find(plain, header, true)
            {
                picked.push(i);
                continue;
            }
            match item {
                Item::One(c) => picked.push(find(c, header, has_names)?),
                Item::Range(a, b) => {
                    if width == 0 {
                        bail!(
                            "selection {}: the input has no columns",
                            describe_range(a, b)
                        );
                    }
                    let start = match a {
                        Some(c) => find(c, header, has_names)?,
                        None => 0,
                    };
                    let end = match b {
                        Some(c) => find(c, header, has_names)?,
                        None => width - 1,
                    };
                    if start <= end {
                        picked.extend(start..=end);
                    } else {
                        picked.extend((end..=start).rev());
                    }
                }
            }
        }
        if self.negated {
            picked = (0..width).filter(|i| !picked.contains(i)).collect();
        }
        if picked.is_empty() {
            bail!("the selection names no column");
        }
        Ok(picked)
    }
}

fn describe_range(a: &Option<Column>, b: &Option<Column>) -> String {
    let end = |c: &Option<Column>| match c {
        None => String::new(),
        Some(Column::Index(i)) => i.to_string(),
        Some(Column::Name(n, _)) => n.clone(),
    };
    format!("'{}-{}'", end(a), end(b))
}

fn find(column: &Column, header: &[&[u8]], has_names: bool) -> Result<usize> {
    match column {
        Column::Index(0) => bail!("column indexes start at 1, not 0"),
        Column::Index(i) if *i > header.len() => {
            bail!(
                "column {i} is out of range: the input has {} columns",
                header.len()
            )
        }
        Column::Index(i) => Ok(i - 1),
        Column::Name(name, _) if !has_names => {
            bail!("cannot select '{name}' by name with --no-headers: use indexes")
        }
        Column::Name(name, nth) => header
            .iter()
            .enumerate()
            .filter(|(_, h)| **h == name.as_bytes())
            .map(|(i, _)| i)
            .nth(*nth)
            .ok_or_else(|| match nth {
                0 => anyhow::anyhow!("no column named '{name}'"),
                n => anyhow::anyhow!("no occurrence [{n}] of column '{name}'"),
            }),
    }
}

/// An item as typed, before parsing: its text with quotes resolved, where
/// the unquoted dashes were, and whether any part was quoted.
struct RawItem {
    text: String,
    /// Parts split at unquoted `-`, each with whether it was quoted.
    parts: Vec<(String, bool)>,
    quoted_anywhere: bool,
}

fn split_items(body: &str) -> Result<Vec<RawItem>> {
    let mut items = Vec::new();
    let mut chars = body.chars().peekable();
    let mut item = RawItem {
        text: String::new(),
        parts: vec![(String::new(), false)],
        quoted_anywhere: false,
    };
    let finish = |item: &mut RawItem, items: &mut Vec<RawItem>| {
        let done = std::mem::replace(
            item,
            RawItem {
                text: String::new(),
                parts: vec![(String::new(), false)],
                quoted_anywhere: false,
            },
        );
        if !done.text.is_empty() || done.quoted_anywhere {
            items.push(done);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ',' => finish(&mut item, &mut items),
            '"' => {
                item.quoted_anywhere = true;
                if let Some(part) = item.parts.last_mut() {
                    part.1 = true;
                }
                loop {
                    match chars.next() {
                        None => bail!("unterminated quote in the selection '{body}'"),
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            push_char(&mut item, '"');
                        }
                        Some('"') => break,
                        Some(other) => push_char(&mut item, other),
                    }
                }
            }
            '-' => {
                item.text.push('-');
                item.parts.push((String::new(), false));
            }
            other => push_char(&mut item, other),
        }
    }
    finish(&mut item, &mut items);
    Ok(items)
}

fn push_char(item: &mut RawItem, c: char) {
    item.text.push(c);
    if let Some(part) = item.parts.last_mut() {
        part.0.push(c);
    }
}

fn parse_item(raw: &RawItem) -> Result<Item> {
    match raw.parts.as_slice() {
        [one] => Ok(Item::One(parse_column(one, &raw.text)?.ok_or_else(
            || anyhow::anyhow!("empty column name in the selection"),
        )?)),
        [a, b] => {
            let (a, b) = (parse_column(a, &raw.text)?, parse_column(b, &raw.text)?);
            if a.is_none() && b.is_none() {
                bail!("'-' alone is not a selection: give at least one end of the range");
            }
            Ok(Item::Range(a, b))
        }
        _ => Ok(Item::One(Column::Name(raw.text.clone(), 0))),
    }
}

/// A column reference: empty (an open end), an index, or a name with an
/// optional `[n]` occurrence.
fn parse_column((text, quoted): &(String, bool), whole: &str) -> Result<Option<Column>> {
    if text.is_empty() && !quoted {
        return Ok(None);
    }
    if !quoted && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(|i| Some(Column::Index(i)))
            .map_err(|_| anyhow::anyhow!("column index too large in '{whole}'"));
    }
    if let Some(open) = text.rfind('[')
        && text.ends_with(']')
        && let Ok(nth) = text[open + 1..text.len() - 1].parse::<usize>()
    {
        return Ok(Some(Column::Name(text[..open].to_string(), nth)));
    }
    Ok(Some(Column::Name(text.clone(), 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[&[u8]] = &[b"a", b"b", b"c", b"a", b"first-name", b"x,y", b"d"];

    fn pick(sel: &str) -> Result<Vec<usize>> {
        Selection::parse(sel)?.resolve(HEADER, true)
    }

    #[test]
    fn names_and_indexes() {
        assert_eq!(pick("b,1").unwrap(), vec![1, 0]);
        assert_eq!(pick("c,c,2").unwrap(), vec![2, 2, 1]);
        assert_eq!(pick("7").unwrap(), vec![6]);
    }

    #[test]
    fn ranges_with_open_ends_and_backwards() {
        assert_eq!(pick("2-4").unwrap(), vec![1, 2, 3]);
        assert_eq!(pick("b-c").unwrap(), vec![1, 2]);
        assert_eq!(pick("6-").unwrap(), vec![5, 6]);
        assert_eq!(pick("-2").unwrap(), vec![0, 1]);
        assert_eq!(pick("3-1").unwrap(), vec![2, 1, 0]);
        assert_eq!(pick("c-").unwrap(), vec![2, 3, 4, 5, 6]);
    }

    #[test]
    fn duplicates_by_occurrence() {
        assert_eq!(pick("a").unwrap(), vec![0]);
        assert_eq!(pick("a[1]").unwrap(), vec![3]);
        assert!(pick("a[2]").is_err());
    }

    #[test]
    fn negation() {
        assert_eq!(pick("!1-2").unwrap(), vec![2, 3, 4, 5, 6]);
        assert_eq!(pick("!a,b,c,d").unwrap(), vec![3, 4, 5]);
        assert!(pick("!1-").is_err());
    }

    #[test]
    fn quoted_names_and_dashes_in_names() {
        assert_eq!(pick("\"x,y\"").unwrap(), vec![5]);
        assert_eq!(pick("first-name").unwrap(), vec![4]);
        assert_eq!(pick("\"first-name\",d").unwrap(), vec![4, 6]);
        assert_eq!(pick("\"a\"-\"c\"").unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn errors() {
        assert!(pick("").is_err());
        assert!(pick(",").is_err());
        assert!(pick("0").is_err());
        assert!(pick("8").is_err());
        assert!(pick("nope").is_err());
        assert!(pick("-").is_err());
        assert!(pick("\"open").is_err());
        assert!(
            Selection::parse("a")
                .unwrap()
                .resolve(HEADER, false)
                .is_err()
        );
        assert_eq!(
            Selection::parse("2")
                .unwrap()
                .resolve(HEADER, false)
                .unwrap(),
            vec![1]
        );
    }
}
