//! `fkit csv stats`: summary statistics per column, in one streaming pass.

use super::json_out::{unquote_field, write_json_string};
use super::{Common, Table, write_row};
use anyhow::Result;
use std::collections::HashSet;
use std::io::Write;

/// Summary statistics for every column, in one pass.
///
/// For each column: the inferred type (int, float, date, string, or empty
/// when every value is), the number of values and of empty ones (nulls),
/// min and max (numeric for numbers, by bytes otherwise), mean and
/// population standard deviation (numbers only), and the shortest and
/// longest value in bytes. Dates are ISO 8601: `2024-03-01`, optionally
/// followed by a time. Runs on all cores over a file; constant memory
/// unless --median or --cardinality, which keep values.
///
/// Examples:
///   fkit csv stats data.csv
///   fkit csv stats --median --cardinality --json data.csv.gz
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Also compute the median of numeric columns (keeps their values).
    #[arg(long)]
    median: bool,

    /// Also count distinct values (keeps them).
    #[arg(long)]
    cardinality: bool,

    /// Print a JSON array of objects, one per column.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    common: Common,
}

/// What every value seen so far could be.
const INT: u8 = 1;
const FLOAT: u8 = 2;
const DATE: u8 = 4;

#[derive(Clone)]
struct Column {
    count: u64,
    nulls: u64,
    /// Bit set of types all non-empty values fit (INT | FLOAT | DATE).
    fits: u8,
    numbers: u64,
    mean: f64,
    /// Sum of squared deviations (Welford), merged with Chan's formula.
    m2: f64,
    min_number: f64,
    max_number: f64,
    min_text: Option<Vec<u8>>,
    max_text: Option<Vec<u8>>,
    min_len: usize,
    max_len: usize,
    values: Vec<f64>,
    distinct: Option<HashSet<Vec<u8>, foldhash::fast::RandomState>>,
}

impl Column {
    fn new(median: bool, cardinality: bool) -> Column {
        let _ = median;
        Column {
            count: 0,
            nulls: 0,
            fits: INT | FLOAT | DATE,
            numbers: 0,
            mean: 0.0,
            m2: 0.0,
            min_number: f64::INFINITY,
            max_number: f64::NEG_INFINITY,
            min_text: None,
            max_text: None,
            min_len: usize::MAX,
            max_len: 0,
            values: Vec::new(),
            distinct: cardinality.then(HashSet::default),
        }
    }

    #[inline]
    fn add(&mut self, value: &[u8], median: bool) {
        self.count += 1;
        self.min_len = self.min_len.min(value.len());
        self.max_len = self.max_len.max(value.len());
        if let Some(set) = &mut self.distinct
            && !set.contains(value)
        {
            set.insert(value.to_vec());
        }
        if value.is_empty() {
            self.nulls += 1;
            return;
        }
        match &self.min_text {
            Some(m) if value >= &m[..] => {}
            _ => self.min_text = Some(value.to_vec()),
        }
        match &self.max_text {
            Some(m) if value <= &m[..] => {}
            _ => self.max_text = Some(value.to_vec()),
        }
        if self.fits & (INT | FLOAT) != 0 {
            match parse_number(value) {
                Some((x, is_int)) => {
                    if !is_int {
                        self.fits &= !INT;
                    }
                    self.fits &= !DATE;
                    self.numbers += 1;
                    let delta = x - self.mean;
                    self.mean += delta / self.numbers as f64;
                    self.m2 += delta * (x - self.mean);
                    self.min_number = self.min_number.min(x);
                    self.max_number = self.max_number.max(x);
                    if median {
                        self.values.push(x);
                    }
                    return;
                }
                None => self.fits &= !(INT | FLOAT),
            }
        }
        if self.fits & DATE != 0 && !is_date(value) {
            self.fits &= !DATE;
        }
    }

    fn merge(&mut self, other: Column) {
        self.count += other.count;
        self.nulls += other.nulls;
        self.fits &= other.fits;
        if other.numbers > 0 {
            let n = (self.numbers + other.numbers) as f64;
            let delta = other.mean - self.mean;
            self.mean += delta * other.numbers as f64 / n;
            self.m2 += other.m2 + delta * delta * self.numbers as f64 * other.numbers as f64 / n;
            self.numbers += other.numbers;
        }
        self.min_number = self.min_number.min(other.min_number);
        self.max_number = self.max_number.max(other.max_number);
        if let Some(m) = other.min_text
            && self.min_text.as_ref().is_none_or(|s| m < *s)
        {
            self.min_text = Some(m);
        }
        if let Some(m) = other.max_text
            && self.max_text.as_ref().is_none_or(|s| m > *s)
        {
            self.max_text = Some(m);
        }
        self.min_len = self.min_len.min(other.min_len);
        self.max_len = self.max_len.max(other.max_len);
        self.values.extend(other.values);
        if let (Some(a), Some(b)) = (&mut self.distinct, other.distinct) {
            if a.len() < b.len() {
                let small = std::mem::replace(a, b);
                a.extend(small);
            } else {
                a.extend(b);
            }
        }
    }

    fn kind(&self) -> &'static str {
        if self.count == self.nulls {
            "empty"
        } else if self.fits & INT != 0 {
            "int"
        } else if self.fits & FLOAT != 0 {
            "float"
        } else if self.fits & DATE != 0 {
            "date"
        } else {
            "string"
        }
    }
}

/// A number as a CSV holds one: optional sign, digits, optional fraction
/// and exponent. Returns the value and whether it is an integer.
#[inline]
pub(crate) fn parse_number(s: &[u8]) -> Option<(f64, bool)> {
    let first = s[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    let digits = if first == b'-' || first == b'+' {
        &s[1..]
    } else {
        s
    };
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        let mut n: i64 = 0;
        for &d in digits {
            n = n * 10 + (d - b'0') as i64;
        }
        return Some((if first == b'-' { -n } else { n } as f64, true));
    }
    if !s
        .iter()
        .all(|&b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let x: f64 = text.parse().ok()?;
    let is_int = digits.iter().all(u8::is_ascii_digit);
    Some((x, is_int))
}

/// `YYYY-MM-DD`, optionally followed by `T` or a space and a time.
#[inline]
fn is_date(s: &[u8]) -> bool {
    if s.len() < 10 {
        return false;
    }
    let d = |i: usize| s[i].is_ascii_digit();
    let ymd = d(0)
        && d(1)
        && d(2)
        && d(3)
        && s[4] == b'-'
        && d(5)
        && d(6)
        && s[7] == b'-'
        && d(8)
        && d(9);
    if !ymd {
        return false;
    }
    let month = (s[5] - b'0') * 10 + (s[6] - b'0');
    let day = (s[8] - b'0') * 10 + (s[9] - b'0');
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    match s.get(10) {
        None => true,
        Some(b'T' | b' ') => s.len() >= 16 && d(11) && d(12) && s[13] == b':' && d(14) && d(15),
        Some(_) => false,
    }
}

pub(crate) fn run(args: Args) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let width = table.header().len();
    let (median, cardinality) = (args.median, args.cardinality);
    let mut columns: Vec<Column> = vec![Column::new(median, cardinality); width];
    table.for_each_chunk(
        &mut std::io::sink(),
        |records, _| {
            let mut cols: Vec<Column> = vec![Column::new(median, cardinality); width];
            while let Some(record) = records.next()? {
                for (col, field) in cols.iter_mut().zip(record.iter()) {
                    col.add(&unquote_field(field), median);
                }
                // A short row (--flexible) has empty values at its end.
                for col in cols.iter_mut().skip(record.len()) {
                    col.add(b"", median);
                }
            }
            Ok(cols)
        },
        |cols| {
            for (total, part) in columns.iter_mut().zip(cols) {
                total.merge(part);
            }
            Ok(())
        },
    )?;
    let names: Vec<Vec<u8>> = if table.has_headers() {
        table.header().iter().map(<[u8]>::to_vec).collect()
    } else {
        (1..=width).map(|i| i.to_string().into_bytes()).collect()
    };
    let mut fields = vec![
        "field",
        "type",
        "count",
        "nulls",
        "min",
        "max",
        "mean",
        "stddev",
        "min_length",
        "max_length",
    ];
    if median {
        fields.push("median");
    }
    if cardinality {
        fields.push("cardinality");
    }
    let mut buf = Vec::new();
    if args.json {
        buf.push(b'[');
    } else {
        write_row(&mut buf, fields.iter().map(|f| f.as_bytes()), b',');
    }
    for (i, (name, col)) in names.iter().zip(&mut columns).enumerate() {
        let kind = col.kind();
        let numeric = kind == "int" || kind == "float";
        let number = |x: f64| {
            if x.is_finite() {
                format!("{x}")
            } else {
                String::new()
            }
        };
        let (min, max) = if numeric {
            (
                number(col.min_number).into_bytes(),
                number(col.max_number).into_bytes(),
            )
        } else {
            (
                col.min_text.clone().unwrap_or_default(),
                col.max_text.clone().unwrap_or_default(),
            )
        };
        let (mean, stddev) = if numeric && col.numbers > 0 {
            (
                number(col.mean),
                number((col.m2 / col.numbers as f64).sqrt()),
            )
        } else {
            (String::new(), String::new())
        };
        let (min_len, max_len) = if col.count > 0 {
            (col.min_len.to_string(), col.max_len.to_string())
        } else {
            (String::new(), String::new())
        };
        let mut values: Vec<(Vec<u8>, bool)> = vec![
            (name.clone(), false),
            (kind.as_bytes().to_vec(), false),
            (col.count.to_string().into_bytes(), true),
            (col.nulls.to_string().into_bytes(), true),
            (min, numeric),
            (max, numeric),
            (mean.into_bytes(), true),
            (stddev.into_bytes(), true),
            (min_len.into_bytes(), true),
            (max_len.into_bytes(), true),
        ];
        if median {
            let m = if numeric {
                median_of(&mut col.values)
            } else {
                None
            };
            values.push((m.map(number).unwrap_or_default().into_bytes(), true));
        }
        if let Some(set) = &col.distinct {
            values.push((set.len().to_string().into_bytes(), true));
        }
        if args.json {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"\n{");
            for (j, (key, (value, is_number))) in fields.iter().zip(&values).enumerate() {
                if j > 0 {
                    buf.push(b',');
                }
                write_json_string(&mut buf, key.as_bytes());
                buf.push(b':');
                if value.is_empty() {
                    buf.extend_from_slice(b"null");
                } else if *is_number {
                    buf.extend_from_slice(value);
                } else {
                    write_json_string(&mut buf, String::from_utf8_lossy(value).as_bytes());
                }
            }
            buf.push(b'}');
        } else {
            write_row(&mut buf, values.iter().map(|(v, _)| &v[..]), b',');
        }
    }
    if args.json {
        buf.extend_from_slice(if width == 0 { b"]\n" } else { b"\n]\n" });
    }
    let mut out = args.common.create_output()?;
    out.write_all(&buf)?;
    out.finish()
}

pub(crate) fn median_of(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates() {
        assert_eq!(parse_number(b"42"), Some((42.0, true)));
        assert_eq!(parse_number(b"-7"), Some((-7.0, true)));
        assert_eq!(parse_number(b"3.5"), Some((3.5, false)));
        assert_eq!(parse_number(b"1e3"), Some((1000.0, false)));
        assert_eq!(parse_number(b"abc"), None);
        assert_eq!(parse_number(b"2024-01-02"), None);
        assert_eq!(parse_number(b"inf"), None);
        assert!(is_date(b"2024-01-02"));
        assert!(is_date(b"2024-01-02T10:20:30Z"));
        assert!(!is_date(b"2024-13-02"));
        assert!(!is_date(b"2024/01/02"));
    }

    #[test]
    fn merged_stats_equal_one_pass() {
        let values: Vec<String> = (0..100).map(|i| format!("{}", (i * 37) % 101)).collect();
        let mut whole = Column::new(false, true);
        values.iter().for_each(|v| whole.add(v.as_bytes(), false));
        let mut a = Column::new(false, true);
        let mut b = Column::new(false, true);
        values[..30].iter().for_each(|v| a.add(v.as_bytes(), false));
        values[30..].iter().for_each(|v| b.add(v.as_bytes(), false));
        a.merge(b);
        assert!((a.mean - whole.mean).abs() < 1e-9);
        assert!((a.m2 - whole.m2).abs() < 1e-6);
        assert_eq!(a.kind(), "int");
        assert_eq!(a.distinct.unwrap().len(), whole.distinct.unwrap().len());
    }
}
