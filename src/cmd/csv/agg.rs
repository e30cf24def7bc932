//! `fkit csv agg`: aggregators over every row; also the aggregator
//! language (`sum:balance:total`) and the accumulators `groupby` shares.

use super::groupby;
use super::selection::Selection;
use super::{Options, usage};
use anyhow::{Result, bail};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;

type Hasher = foldhash::fast::RandomState;

/// Aggregate all rows into one: sums, means, extremes, counts and more.
///
/// Each AGG is `NAME`, `NAME:COLUMN` or `NAME:COLUMN:OUTPUT` (the output
/// column's name; the default is `NAME(COLUMN)`). COLUMN is a header name or
/// a 1-based index. Empty fields are nulls: every aggregator on a column
/// skips them.
///
///   count              rows (count:COL: non-empty values of COL)
///   sum  mean          exact for plain decimals of up to 38 digits, even
///                      those a float cannot hold; else in floating point
///   min  max           numeric when every value is a number, else by bytes
///   var  stddev        population variance and standard deviation
///   median  p<N>       median; N-th percentile by nearest rank (p90, p99.9)
///   distinct           the number of distinct values
///   first  last  mode  first, last and most common value (ties: first seen)
///   values             all values joined by --separator
///
/// Memory is constant, except that median and p<N> keep every value (as
/// floats), and distinct and mode every distinct value. The numeric
/// aggregators stop with an error on a value that is not a number. Runs on
/// both cores over a regular file.
///
/// FILE is the last argument when it is not an aggregator (`-` or nothing
/// reads stdin; write `./count` for a file named like an aggregator).
///
/// Examples:
///   fkit csv agg count sum:balance mean:score data.csv
///   fkit csv agg min:age max:age p90:score:p90_score data.csv.gz
///   fkit csv agg distinct:city values:city --separator ';' data.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Aggregators, then optionally the CSV file to read.
    #[arg(value_name = "AGG", required = true)]
    rest: Vec<OsString>,

    #[command(flatten)]
    pub(crate) shared: Shared,
}

/// The flags `agg` and `groupby` share.
#[derive(clap::Args, Debug)]
pub(crate) struct Shared {
    /// What `values` puts between the values it joins.
    #[arg(long, value_name = "TEXT", default_value = "|")]
    pub(crate) separator: String,

    #[command(flatten)]
    pub(crate) options: Options,
}

pub(crate) fn run(args: Args) -> Result<()> {
    groupby::run_grouped(None, &args.rest, false, &args.shared)
}

/// What an aggregator computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Count,
    Sum,
    Mean,
    Min,
    Max,
    Var,
    Stddev,
    Median,
    Percentile(f64),
    Distinct,
    First,
    Last,
    Mode,
    Values,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "count" => Kind::Count,
            "sum" => Kind::Sum,
            "mean" => Kind::Mean,
            "min" => Kind::Min,
            "max" => Kind::Max,
            "var" => Kind::Var,
            "stddev" => Kind::Stddev,
            "median" => Kind::Median,
            "distinct" => Kind::Distinct,
            "first" => Kind::First,
            "last" => Kind::Last,
            "mode" => Kind::Mode,
            "values" => Kind::Values,
            _ => {
                let n: f64 = name.strip_prefix('p')?.parse().ok()?;
                if !(0.0..=100.0).contains(&n)
                    || !name[1..].starts_with(|c: char| c.is_ascii_digit())
                {
                    return None;
                }
                Kind::Percentile(n)
            }
        })
    }
}

/// Whether `arg` reads as an aggregator (by its name before any `:`), which
/// is how the file argument after the aggregators is told apart.
pub(crate) fn looks_like_aggregator(arg: &str) -> bool {
    Kind::parse(arg.split(':').next().unwrap_or(arg)).is_some()
}

/// One aggregator as the user wrote it, resolved against the header.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) kind: Kind,
    /// The column it reads; `None` for a plain `count`.
    pub(crate) column: Option<usize>,
    /// The output column's name.
    pub(crate) name: Vec<u8>,
    /// As written, for errors.
    pub(crate) text: String,
}

impl Spec {
    pub(crate) fn parse(text: &str, header: &[&[u8]], has_names: bool) -> Result<Spec> {
        let mut parts = text.splitn(3, ':');
        let name = parts.next().unwrap_or_default();
        let Some(kind) = Kind::parse(name) else {
            bail!(
                "unknown aggregator {name:?} in {text:?} (count, sum, mean, min, max, var, stddev, median, p<N>, distinct, first, last, mode, values)"
            );
        };
        let column = match parts.next() {
            None | Some("") if kind == Kind::Count => None,
            None | Some("") => bail!("aggregator {text:?} needs a column: {name}:COLUMN"),
            Some(col) => {
                let picked = Selection::parse(col)
                    .and_then(|s| s.resolve(header, has_names))
                    .map_err(|e| anyhow::anyhow!("aggregator {text:?}: {e}"))?;
                match picked[..] {
                    [one] => Some(one),
                    _ => bail!("aggregator {text:?}: name exactly one column"),
                }
            }
        };
        let output = match parts.next() {
            Some(out) if !out.is_empty() => out.as_bytes().to_vec(),
            _ => match column {
                None => name.as_bytes().to_vec(),
                Some(c) => {
                    let col: Vec<u8> = match header.get(c) {
                        Some(h) if has_names => h.to_vec(),
                        _ => (c + 1).to_string().into_bytes(),
                    };
                    [name.as_bytes(), b"(", &col, b")"].concat()
                }
            },
        };
        Ok(Spec {
            kind,
            column,
            name: output,
            text: text.to_string(),
        })
    }
}

/// A field's number: exact (an integer and a decimal scale) when it is a
/// plain decimal of at most 38 significant digits, else the nearest float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Exact { digits: i128, scale: u32 },
    Float(f64),
}

const MAX_DIGITS: u32 = 38;

impl Number {
    /// `[+-]digits[.digits]` exactly; other numbers (`1e3`, 50 digits) as
    /// floats; anything else (`abc`, `inf`, empty) is `None`.
    #[inline]
    pub(crate) fn parse(s: &[u8]) -> Option<Number> {
        let (negative, body) = match s.first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        // Up to 18 digits (and a point) fit a u64: the common case, in
        // cheaper arithmetic than i128's.
        if body.len() <= 19 {
            let (mut small, mut scale, mut any, mut point) = (0u64, 0u32, false, false);
            for &b in body {
                match b {
                    b'0'..=b'9' => {
                        small = small * 10 + (b - b'0') as u64;
                        scale += point as u32;
                        any = true;
                    }
                    b'.' if !point => point = true,
                    _ => return Number::float(s),
                }
            }
            let digits = small as i128;
            return any.then_some(Number::Exact {
                digits: if negative { -digits } else { digits },
                scale,
            });
        }
        let mut digits: i128 = 0;
        let (mut significant, mut scale, mut any) = (0u32, 0u32, false);
        let mut point = false;
        for &b in body {
            match b {
                b'0'..=b'9' => {
                    if digits != 0 || b != b'0' {
                        significant += 1;
                        if significant > MAX_DIGITS {
                            return Number::float(s);
                        }
                    }
                    digits = digits * 10 + (b - b'0') as i128;
                    scale += point as u32;
                    any = true;
                }
                b'.' if !point => point = true,
                _ => return Number::float(s),
            }
        }
        if !any {
            return None;
        }
        Some(Number::Exact {
            digits: if negative { -digits } else { digits },
            scale,
        })
    }

    fn float(s: &[u8]) -> Option<Number> {
        super::stats::parse_number(s).map(|(x, _)| Number::Float(x))
    }

    /// Compare two numbers: exactly when both are exact decimals.
    pub(crate) fn compare(&self, other: &Number) -> Ordering {
        if let (
            Number::Exact {
                digits: a,
                scale: s,
            },
            Number::Exact {
                digits: b,
                scale: t,
            },
        ) = (self, other)
        {
            let up = |d: i128, by: u32| 10i128.checked_pow(by).and_then(|p| d.checked_mul(p));
            let to = (*s).max(*t);
            if let (Some(a), Some(b)) = (up(*a, to - s), up(*b, to - t)) {
                return a.cmp(&b);
            }
        }
        self.to_f64().total_cmp(&other.to_f64())
    }

    /// The nearest float.
    #[inline]
    pub(crate) fn to_f64(self) -> f64 {
        match self {
            Number::Float(x) => x,
            // Both operands are exact floats, so the quotient is the
            // correctly rounded value.
            Number::Exact { digits, scale } if digits.unsigned_abs() < 1 << 53 && scale <= 22 => {
                digits as f64 / 10f64.powi(scale as i32)
            }
            Number::Exact { digits, scale } => {
                decimal_text(digits, scale).parse().unwrap_or(f64::NAN)
            }
        }
    }
}

/// `digits` × 10^-`scale` written out: `-12.50`.
fn decimal_text(digits: i128, scale: u32) -> String {
    let mut text = format!(
        "{:0>width$}",
        digits.unsigned_abs(),
        width = scale as usize + 1
    );
    if scale > 0 {
        text.insert(text.len() - scale as usize, '.');
    }
    if digits < 0 {
        text.insert(0, '-');
    }
    text
}

/// A float as fkit writes computed numbers: the shortest text that reads
/// back as the same float; nothing for NaN and infinities.
pub(crate) fn float_text(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// An exact sum while every term is an exact decimal and it fits 38
/// digits; a float from the first term that is not.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sum {
    digits: i128,
    scale: u32,
    float: Option<f64>,
}

impl Sum {
    #[inline]
    fn add(&mut self, x: Number) {
        if self.float.is_none()
            && let Number::Exact { digits, scale } = x
            && let Some(sum) = self.exact_add(digits, scale)
        {
            (self.digits, self.scale) = sum;
            return;
        }
        self.float = Some(self.value_f64() + x.to_f64());
    }

    #[inline]
    fn exact_add(&self, digits: i128, scale: u32) -> Option<(i128, u32)> {
        let up = |d: i128, by: u32| 10i128.checked_pow(by).and_then(|p| d.checked_mul(p));
        let scale_to = self.scale.max(scale);
        let a = if self.scale == scale_to {
            self.digits
        } else {
            up(self.digits, scale_to - self.scale)?
        };
        let b = if scale == scale_to {
            digits
        } else {
            up(digits, scale_to - scale)?
        };
        Some((a.checked_add(b)?, scale_to))
    }

    fn merge(&mut self, other: &Sum) {
        match other.float {
            Some(x) => self.float = Some(self.value_f64() + x),
            None => self.add(Number::Exact {
                digits: other.digits,
                scale: other.scale,
            }),
        }
    }

    fn value_f64(&self) -> f64 {
        self.float.unwrap_or_else(|| {
            Number::Exact {
                digits: self.digits,
                scale: self.scale,
            }
            .to_f64()
        })
    }

    fn text(&self) -> String {
        match self.float {
            Some(x) => float_text(x),
            None => decimal_text(self.digits, self.scale),
        }
    }
}

/// Count, mean and sum of squared deviations (Welford's update; two
/// partial results merge with Chan's formula, as `stats` does).
#[derive(Debug, Clone, Default)]
pub(crate) struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    #[inline]
    fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        let n = (self.n + other.n) as f64;
        let delta = other.mean - self.mean;
        self.mean += delta * other.n as f64 / n;
        self.m2 += other.m2 + delta * delta * self.n as f64 * other.n as f64 / n;
        self.n += other.n;
    }

    fn variance(&self) -> Option<f64> {
        (self.n > 0).then(|| self.m2 / self.n as f64)
    }
}

/// The smallest or largest value: by number while every value is one,
/// else by bytes. The winning value's own text is kept.
#[derive(Debug, Clone)]
pub(crate) struct Extreme {
    all_numbers: bool,
    number: Option<(Number, Vec<u8>)>,
    text: Option<Vec<u8>>,
}

/// Whether `x` should replace `best` (`None`: nothing yet): strictly
/// greater when looking for the maximum, strictly less for the minimum, so
/// that of equal values the first stays.
#[inline]
fn beats<T: ?Sized>(
    x: &T,
    best: Option<&T>,
    want_max: bool,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> bool {
    match best {
        None => true,
        Some(best) => {
            cmp(x, best)
                == if want_max {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
        }
    }
}

impl Extreme {
    fn new() -> Extreme {
        Extreme {
            all_numbers: true,
            number: None,
            text: None,
        }
    }

    #[inline]
    fn add(&mut self, value: &[u8], want_max: bool) {
        if self.all_numbers {
            match Number::parse(value) {
                Some(x) => {
                    if beats(
                        &x,
                        self.number.as_ref().map(|(n, _)| n),
                        want_max,
                        Number::compare,
                    ) {
                        self.number = Some((x, value.to_vec()));
                    }
                }
                None => self.all_numbers = false,
            }
        }
        if beats(value, self.text.as_deref(), want_max, Ord::cmp) {
            self.text = Some(value.to_vec());
        }
    }

    fn merge(&mut self, later: Extreme, want_max: bool) {
        self.all_numbers &= later.all_numbers;
        if let Some((x, text)) = later.number
            && beats(
                &x,
                self.number.as_ref().map(|(n, _)| n),
                want_max,
                Number::compare,
            )
        {
            self.number = Some((x, text));
        }
        if let Some(t) = later.text
            && beats(&t[..], self.text.as_deref(), want_max, Ord::cmp)
        {
            self.text = Some(t);
        }
    }

    fn text(&self) -> Vec<u8> {
        if self.all_numbers {
            self.number
                .as_ref()
                .map(|(_, t)| t.clone())
                .unwrap_or_default()
        } else {
            self.text.clone().unwrap_or_default()
        }
    }
}

/// How often each value occurs, and the order they were first seen in.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    counts: HashMap<Vec<u8>, (u64, u64), Hasher>,
}

impl Tally {
    #[inline]
    fn add(&mut self, value: &[u8], n: u64) {
        let next = self.counts.len() as u64;
        match self.counts.get_mut(value) {
            Some((count, _)) => *count += n,
            None => {
                self.counts.insert(value.to_vec(), (n, next));
            }
        }
    }

    /// Add a later stretch's tally: its new values come after ours.
    fn merge(&mut self, other: Tally) {
        let mut entries: Vec<_> = other.counts.into_iter().collect();
        entries.sort_unstable_by_key(|(_, (_, order))| *order);
        for (value, (n, _)) in entries {
            self.add(&value, n);
        }
    }

    fn mode(&self) -> Vec<u8> {
        self.counts
            .iter()
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
            .map(|(v, _)| v.clone())
            .unwrap_or_default()
    }
}

/// One aggregator's running state for one group.
#[derive(Debug, Clone)]
pub(crate) enum State {
    Count(u64),
    Sum(Sum),
    Mean(Sum, u64),
    Min(Extreme),
    Max(Extreme),
    Moments(Moments),
    Kept(Vec<f64>),
    Distinct(HashSet<Vec<u8>, Hasher>),
    First(Option<Vec<u8>>),
    Last(Option<Vec<u8>>),
    Mode(Tally),
    Values(Option<Vec<u8>>),
}

/// A value an aggregator needs as a number that is not one.
pub(crate) struct NotANumber;

impl State {
    pub(crate) fn new(kind: Kind) -> State {
        match kind {
            Kind::Count => State::Count(0),
            Kind::Sum => State::Sum(Sum::default()),
            Kind::Mean => State::Mean(Sum::default(), 0),
            Kind::Min => State::Min(Extreme::new()),
            Kind::Max => State::Max(Extreme::new()),
            Kind::Var | Kind::Stddev => State::Moments(Moments::default()),
            Kind::Median | Kind::Percentile(_) => State::Kept(Vec::new()),
            Kind::Distinct => State::Distinct(HashSet::default()),
            Kind::First => State::First(None),
            Kind::Last => State::Last(None),
            Kind::Mode => State::Mode(Tally::default()),
            Kind::Values => State::Values(None),
        }
    }

    /// Add one non-empty value (a plain `count` is given an empty one).
    #[inline]
    pub(crate) fn add(&mut self, value: &[u8], separator: &[u8]) -> Result<(), NotANumber> {
        match self {
            State::Count(n) => *n += 1,
            State::Sum(sum) => sum.add(Number::parse(value).ok_or(NotANumber)?),
            State::Mean(sum, n) => {
                sum.add(Number::parse(value).ok_or(NotANumber)?);
                *n += 1;
            }
            State::Min(e) => e.add(value, false),
            State::Max(e) => e.add(value, true),
            State::Moments(m) => m.add(Number::parse(value).ok_or(NotANumber)?.to_f64()),
            State::Kept(values) => values.push(Number::parse(value).ok_or(NotANumber)?.to_f64()),
            State::Distinct(set) => {
                if !set.contains(value) {
                    set.insert(value.to_vec());
                }
            }
            State::First(first) => {
                if first.is_none() {
                    *first = Some(value.to_vec());
                }
            }
            State::Last(last) => match last {
                Some(v) => {
                    v.clear();
                    v.extend_from_slice(value);
                }
                None => *last = Some(value.to_vec()),
            },
            State::Mode(tally) => tally.add(value, 1),
            State::Values(joined) => match joined {
                Some(v) => {
                    v.extend_from_slice(separator);
                    v.extend_from_slice(value);
                }
                None => *joined = Some(value.to_vec()),
            },
        }
        Ok(())
    }

    /// Fold in the state of the rows that came after this one's.
    pub(crate) fn merge(&mut self, later: State, separator: &[u8]) {
        match (self, later) {
            (State::Count(a), State::Count(b)) => *a += b,
            (State::Sum(a), State::Sum(b)) => a.merge(&b),
            (State::Mean(a, n), State::Mean(b, m)) => {
                a.merge(&b);
                *n += m;
            }
            (State::Min(a), State::Min(b)) => a.merge(b, false),
            (State::Max(a), State::Max(b)) => a.merge(b, true),
            (State::Moments(a), State::Moments(b)) => a.merge(&b),
            (State::Kept(a), State::Kept(b)) => a.extend(b),
            (State::Distinct(a), State::Distinct(b)) => {
                if a.len() < b.len() {
                    let small = std::mem::replace(a, b);
                    a.extend(small);
                } else {
                    a.extend(b);
                }
            }
            (State::First(a), State::First(b)) => {
                if a.is_none() {
                    *a = b;
                }
            }
            (State::Last(a), State::Last(b)) => {
                if b.is_some() {
                    *a = b;
                }
            }
            (State::Mode(a), State::Mode(b)) => a.merge(b),
            (State::Values(a), State::Values(b)) => match (a.as_mut(), b) {
                (Some(v), Some(w)) => {
                    v.extend_from_slice(separator);
                    v.extend_from_slice(&w);
                }
                (None, b) => *a = b,
                (Some(_), None) => {}
            },
            _ => unreachable!("states of one aggregator merge with their own kind"),
        }
    }

    /// The result, as the output field's text (empty when there is none).
    pub(crate) fn finish(self, kind: Kind) -> Vec<u8> {
        let text = match (self, kind) {
            (State::Count(n), _) => n.to_string(),
            (State::Sum(sum), _) => sum.text(),
            (State::Mean(sum, n), _) if n > 0 => float_text(sum.value_f64() / n as f64),
            (State::Mean(..), _) => String::new(),
            (State::Min(e) | State::Max(e), _) => return e.text(),
            (State::Moments(m), Kind::Stddev) => m
                .variance()
                .map(f64::sqrt)
                .map(float_text)
                .unwrap_or_default(),
            (State::Moments(m), _) => m.variance().map(float_text).unwrap_or_default(),
            (State::Kept(mut values), Kind::Percentile(p)) => {
                values.sort_unstable_by(f64::total_cmp);
                let rank = (p / 100.0 * values.len() as f64).ceil() as usize;
                values
                    .get(rank.max(1) - 1)
                    .copied()
                    .map(float_text)
                    .unwrap_or_default()
            }
            (State::Kept(mut values), _) => super::stats::median_of(&mut values)
                .map(float_text)
                .unwrap_or_default(),
            (State::Distinct(set), _) => set.len().to_string(),
            (State::First(v) | State::Last(v) | State::Values(v), _) => {
                return v.unwrap_or_default();
            }
            (State::Mode(tally), _) => return tally.mode(),
        };
        text.into_bytes()
    }
}

/// The error for a value `spec` needs as a number, found `at` a position.
pub(crate) fn not_a_number(spec: &Spec, value: &[u8], at: String) -> anyhow::Error {
    anyhow::anyhow!(
        "{at}: {}: {:?} is not a number",
        spec.text,
        String::from_utf8_lossy(value)
    )
}

/// Parse the aggregators in `args` (all but a last one that is not an
/// aggregator, which is the file): returns them and the file.
pub(crate) fn split_file(args: &[OsString]) -> Result<(Vec<String>, Option<OsString>)> {
    let mut aggs: Vec<String> = Vec::new();
    let mut file = None;
    for (i, arg) in args.iter().enumerate() {
        let text = arg.to_str();
        let last = i + 1 == args.len();
        match text {
            Some(t) if !last || looks_like_aggregator(t) => aggs.push(t.to_string()),
            _ if last && i > 0 => file = Some(arg.clone()),
            _ => {
                return Err(usage(format!(
                    "{:?} is not an aggregator (count, sum:COLUMN, mean:COLUMN, …)",
                    arg.to_string_lossy()
                )));
            }
        }
    }
    if aggs.is_empty() {
        return Err(usage(
            "give at least one aggregator, such as count or sum:COLUMN",
        ));
    }
    Ok((aggs, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_exactly() {
        assert_eq!(
            Number::parse(b"-12.50"),
            Some(Number::Exact {
                digits: -1250,
                scale: 2
            })
        );
        assert_eq!(Number::parse(b"1e3"), Some(Number::Float(1000.0)));
        assert_eq!(Number::parse(b"abc"), None);
        assert_eq!(Number::parse(b"-"), None);
        assert_eq!(Number::parse(b"."), None);
        assert!(matches!(
            Number::parse(b"123456789012345678901234567890"),
            Some(Number::Exact { scale: 0, .. })
        ));
        assert!(matches!(Number::parse(&[b'9'; 40]), Some(Number::Float(_))));
    }

    #[test]
    fn sums_stay_exact_beyond_a_float() {
        let mut sum = Sum::default();
        for v in ["12345678901234567890123", "1.5", "-0.25", "0.00"] {
            sum.add(Number::parse(v.as_bytes()).unwrap());
        }
        assert_eq!(sum.text(), "12345678901234567890124.25");
        let mut other = Sum::default();
        other.add(Number::parse(b"1e2").unwrap());
        sum.merge(&other);
        assert_eq!(sum.float, Some(12345678901234567890124.25 + 100.0));
    }

    #[test]
    fn kinds_and_names() {
        assert!(looks_like_aggregator("p99.9:score"));
        assert!(looks_like_aggregator("count"));
        assert!(!looks_like_aggregator("data.csv"));
        assert!(!looks_like_aggregator("p"));
        assert!(!looks_like_aggregator("p101"));
        let header: Vec<&[u8]> = vec![b"city", b"balance"];
        let spec = Spec::parse("sum:balance:total", &header, true).unwrap();
        assert_eq!(
            (spec.kind, spec.column, &spec.name[..]),
            (Kind::Sum, Some(1), &b"total"[..])
        );
        let spec = Spec::parse("mean:2", &header, true).unwrap();
        assert_eq!(spec.name, b"mean(balance)");
        assert!(Spec::parse("sum", &header, true).is_err());
        assert!(Spec::parse("sum:nope", &header, true).is_err());
    }

    #[test]
    fn mode_merges_in_first_seen_order() {
        let mut a = Tally::default();
        let mut b = Tally::default();
        a.add(b"x", 1);
        b.add(b"y", 1);
        b.add(b"x", 1);
        b.add(b"y", 1);
        a.add(b"z", 1);
        a.merge(b);
        // x and y are both seen twice; x was seen first.
        assert_eq!(a.mode(), b"x");
    }
}
