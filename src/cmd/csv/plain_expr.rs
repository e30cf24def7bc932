//! The common core of jq row expressions, evaluated on the raw fields
//! without the jq engine: comparisons, arithmetic, `and`/`or` over fields
//! and literals (`.age > 50`), and assignments chained with `|`
//! (`.double = .score * 2 | .flag = true`). Building a jq object per row
//! and running jaq on it costs several times the parse (see the `csv
//! filter` and `csv map` bench rows); this path gives the same values as
//! jq for what it covers, and hands a row to the engine whenever it meets
//! anything else (a big integer, a type error, `null * 2`), so errors and
//! rare cases stay jq's.

use super::json_out::{is_json_number, unquote_field};
use jaq_core::load::lex::{Lexer, StrPart, Tok, Token};
use simd_csv::ZeroCopyByteRecord;
use std::borrow::Cow;
use std::cmp::Ordering;

/// A parsed expression of the covered kind.
pub(crate) enum PlainExpr {
    /// A test, for `filter`.
    Test(Node),
    /// Assignments in order, for `map`: (column, value), the columns
    /// numbered in `columns` (the header's, then those assigned anew).
    Assign {
        steps: Vec<(usize, Node)>,
        columns: Vec<Vec<u8>>,
    },
}

#[derive(Debug)]
pub(crate) enum Node {
    /// A field, by column: the input's or one assigned earlier.
    Field(usize),
    Literal(Lit),
    Not(Box<Node>),
    Neg(Box<Node>),
    Binary(Op, Box<Node>, Box<Node>),
}

#[derive(Debug, Clone)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// A value while evaluating: a field's text is borrowed.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// A float, with the field text it was read from (written back as is).
    Float(f64, Option<&'a [u8]>),
    Str(Cow<'a, [u8]>),
}

/// The engine must take this row: the expression meets a case this path
/// does not cover.
pub(crate) struct Unsupported;

type Eval<T> = Result<T, Unsupported>;

impl PlainExpr {
    /// Parse `code` when it is of the covered kind, with fields resolved
    /// against `names` (assignments may add columns after them).
    pub(crate) fn parse(code: &str, names: &[Vec<u8>], assign: bool) -> Option<PlainExpr> {
        let tokens = Lexer::new(code).lex().ok()?;
        let mut parser = Parser {
            tokens: &tokens,
            at: 0,
            names: names.to_vec(),
        };
        let expr = if assign {
            let mut steps = Vec::new();
            loop {
                let target = parser.field_name()?;
                parser.expect("=")?;
                let value = parser.or()?;
                let column = parser.column(&target);
                steps.push((column, value));
                if parser.at == tokens.len() {
                    break;
                }
                parser.expect("|")?;
            }
            PlainExpr::Assign {
                steps,
                columns: std::mem::take(&mut parser.names),
            }
        } else {
            PlainExpr::Test(parser.or()?)
        };
        (parser.at == tokens.len()).then_some(expr)
    }
}

struct Parser<'t, 'c> {
    tokens: &'t [Token<&'c str>],
    at: usize,
    /// The header's names, then the columns assignments add.
    names: Vec<Vec<u8>>,
}

impl<'t, 'c> Parser<'t, 'c> {
    fn peek(&self) -> Option<&'t Token<&'c str>> {
        self.tokens.get(self.at)
    }

    fn expect(&mut self, sym: &str) -> Option<()> {
        match self.peek() {
            Some(Token(s, Tok::Sym)) if *s == sym => {
                self.at += 1;
                Some(())
            }
            _ => None,
        }
    }

    fn column(&mut self, name: &[u8]) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(c) => c,
            None => {
                self.names.push(name.to_vec());
                self.names.len() - 1
            }
        }
    }

    /// `.name` or `."name"`.
    fn field_name(&mut self) -> Option<Vec<u8>> {
        match self.peek()? {
            Token(s, Tok::Sym) if s.len() > 1 && s.starts_with('.') && !s.starts_with("..") => {
                self.at += 1;
                Some(s.as_bytes()[1..].to_vec())
            }
            Token(".", Tok::Sym) => match self.tokens.get(self.at + 1) {
                Some(Token(_, Tok::Str(parts))) => {
                    let name = string(parts)?;
                    self.at += 2;
                    Some(name)
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn or(&mut self) -> Option<Node> {
        let mut left = self.and()?;
        while matches!(self.peek(), Some(Token("or", Tok::Word))) {
            self.at += 1;
            left = Node::Binary(Op::Or, Box::new(left), Box::new(self.and()?));
        }
        Some(left)
    }

    fn and(&mut self) -> Option<Node> {
        let mut left = self.compare()?;
        while matches!(self.peek(), Some(Token("and", Tok::Word))) {
            self.at += 1;
            left = Node::Binary(Op::And, Box::new(left), Box::new(self.compare()?));
        }
        Some(left)
    }

    fn compare(&mut self) -> Option<Node> {
        let left = self.sum()?;
        let op = match self.peek() {
            Some(Token(s, Tok::Sym)) => match *s {
                "==" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                _ => return Some(left),
            },
            _ => return Some(left),
        };
        self.at += 1;
        Some(Node::Binary(op, Box::new(left), Box::new(self.sum()?)))
    }

    fn sum(&mut self) -> Option<Node> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek() {
                Some(Token("+", Tok::Sym)) => Op::Add,
                Some(Token("-", Tok::Sym)) => Op::Sub,
                _ => return Some(left),
            };
            self.at += 1;
            left = Node::Binary(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Option<Node> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Token("*", Tok::Sym)) => Op::Mul,
                Some(Token("/", Tok::Sym)) => Op::Div,
                Some(Token("%", Tok::Sym)) => Op::Mod,
                _ => return Some(left),
            };
            self.at += 1;
            left = Node::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Option<Node> {
        if matches!(self.peek(), Some(Token("-", Tok::Sym))) {
            self.at += 1;
            return Some(Node::Neg(Box::new(self.unary()?)));
        }
        let node = self.term()?;
        // `E | not` only as the whole of a parenthesised test.
        Some(node)
    }

    fn term(&mut self) -> Option<Node> {
        if let Some(name) = self.field_name() {
            let column = self.names.iter().position(|n| *n == name)?;
            return Some(Node::Field(column));
        }
        let token = self.peek()?;
        let node = match &token.1 {
            Tok::Num => {
                let text = token.0;
                match text.parse::<i64>() {
                    Ok(i) if !text.contains(['.', 'e', 'E']) => Node::Literal(Lit::Int(i)),
                    _ => Node::Literal(Lit::Float(text.parse().ok()?)),
                }
            }
            Tok::Str(parts) => Node::Literal(Lit::Str(string(parts)?)),
            Tok::Word => match token.0 {
                "true" => Node::Literal(Lit::Bool(true)),
                "false" => Node::Literal(Lit::Bool(false)),
                "null" => Node::Literal(Lit::Null),
                _ => return None,
            },
            Tok::Block(inner) if token.0.starts_with('(') => {
                let mut sub = Parser {
                    tokens: inner,
                    at: 0,
                    names: std::mem::take(&mut self.names),
                };
                let node = sub.or();
                // `( E | not )`
                let node = match (node, sub.peek()) {
                    (Some(n), Some(Token("|", Tok::Sym)))
                        if matches!(inner.get(sub.at + 1), Some(Token("not", Tok::Word))) =>
                    {
                        sub.at += 2;
                        Some(Node::Not(Box::new(n)))
                    }
                    (n, _) => n,
                };
                let closed = sub.expect(")").is_some() && sub.at == inner.len();
                self.names = sub.names;
                if !closed {
                    return None;
                }
                node?
            }
            _ => return None,
        };
        self.at += 1;
        Some(node)
    }
}

/// A string literal's bytes (escapes resolved; no interpolation).
fn string(parts: &[StrPart<&str, Token<&str>>]) -> Option<Vec<u8>> {
    let mut out = String::new();
    for part in parts {
        match part {
            StrPart::Str(s) => out.push_str(s),
            StrPart::Char(c) => out.push(*c),
            StrPart::Term(_) => return None,
        }
    }
    Some(out.into_bytes())
}

/// A field's text as a value, typed as `to-json --infer` types it.
#[inline]
fn field(text: Cow<'_, [u8]>) -> Eval<Val<'_>> {
    if let Some(i) = small_integer(&text) {
        return Ok(Val::Int(i));
    }
    if text.is_empty() {
        return Ok(Val::Null);
    }
    match &text[..] {
        b"true" => return Ok(Val::Bool(true)),
        b"false" => return Ok(Val::Bool(false)),
        _ => {}
    }
    if !is_json_number(&text) {
        return Ok(Val::Str(text));
    }
    if !text.iter().any(|&b| matches!(b, b'.' | b'e' | b'E')) {
        // jq keeps integers beyond 64 bits exactly: the engine's case.
        return std::str::from_utf8(&text)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .map(Val::Int)
            .ok_or(Unsupported);
    }
    let x: f64 = std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(Unsupported)?;
    match text {
        Cow::Borrowed(raw) => Ok(Val::Float(x, Some(raw))),
        Cow::Owned(_) => Ok(Val::Float(x, None)),
    }
}

/// `-?[0-9]{1,18}` as JSON writes an integer (no leading zero), the
/// common case, read without the general parser.
#[inline]
fn small_integer(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || digits.len() > 18 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (d - b'0') as i64;
    }
    Some(if digits.len() < text.len() { -n } else { n })
}

impl Val<'_> {
    fn truthy(&self) -> bool {
        !matches!(self, Val::Null | Val::Bool(false))
    }

    fn number(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(x, _) => Some(*x),
            _ => None,
        }
    }

    /// jq's order of types: null, false, true, numbers, strings.
    fn rank(&self) -> u8 {
        match self {
            Val::Null => 0,
            Val::Bool(false) => 1,
            Val::Bool(true) => 2,
            Val::Int(_) | Val::Float(..) => 3,
            Val::Str(_) => 4,
        }
    }

    /// jq's total order (numbers by value, strings by code point).
    fn compare(&self, other: &Val) -> Ordering {
        match (self, other) {
            (Val::Int(a), Val::Int(b)) => a.cmp(b),
            (Val::Str(a), Val::Str(b)) => a.cmp(b),
            _ => match (self.number(), other.number()) {
                (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
                _ => self.rank().cmp(&other.rank()),
            },
        }
    }

    /// Append as a CSV field's text, as `expr::push_value_text` writes the
    /// engine's values: a field's number as it was written, computed ones
    /// in their shortest form, null as nothing.
    fn push_text(&self, out: &mut Vec<u8>, delimiter: u8) {
        match self {
            Val::Null => {}
            Val::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Val::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Val::Float(_, Some(text)) => out.extend_from_slice(text),
            Val::Float(x, None) => push_float(out, *x),
            Val::Str(s) => super::write_field(out, s, delimiter),
        }
    }
}

fn arithmetic<'a>(op: Op, a: Val<'a>, b: Val<'a>) -> Eval<Val<'a>> {
    use Val::{Float, Int, Null, Str};
    Ok(match (op, a, b) {
        (Op::Add, Null, x) | (Op::Add, x, Null) => x,
        (Op::Add, Str(a), Str(b)) => Str(Cow::Owned([&a[..], &b[..]].concat())),
        (Op::Add, Int(a), Int(b)) => Int(a.checked_add(b).ok_or(Unsupported)?),
        (Op::Sub, Int(a), Int(b)) => Int(a.checked_sub(b).ok_or(Unsupported)?),
        (Op::Mul, Int(a), Int(b)) => Int(a.checked_mul(b).ok_or(Unsupported)?),
        (Op::Mod, Int(a), Int(b)) if a >= 0 && b > 0 => Int(a % b),
        (op @ (Op::Add | Op::Sub | Op::Mul | Op::Div), a, b) => {
            let (Some(x), Some(y)) = (a.number(), b.number()) else {
                return Err(Unsupported);
            };
            match op {
                Op::Add => Float(x + y, None),
                Op::Sub => Float(x - y, None),
                Op::Mul => Float(x * y, None),
                _ if y == 0.0 => return Err(Unsupported),
                _ => Float(x / y, None),
            }
        }
        _ => return Err(Unsupported),
    })
}

/// Evaluates nodes on one record, with the values assigned so far.
struct Row<'r, 's> {
    record: &'r ZeroCopyByteRecord<'r>,
    width: usize,
    /// (column, value) of the assignments done so far, latest last.
    assigned: &'s [(usize, Val<'r>)],
}

impl<'r> Row<'r, '_> {
    fn eval(&self, node: &Node) -> Eval<Val<'r>> {
        Ok(match node {
            Node::Field(c) => match self.assigned.iter().rev().find(|(a, _)| a == c) {
                Some((_, v)) => v.clone(),
                None if *c < self.width => {
                    field(unquote_field(self.record.get(*c).unwrap_or(b"")))?
                }
                None => Val::Null,
            },
            Node::Literal(lit) => match lit {
                Lit::Null => Val::Null,
                Lit::Bool(b) => Val::Bool(*b),
                Lit::Int(i) => Val::Int(*i),
                Lit::Float(x) => Val::Float(*x, None),
                Lit::Str(s) => Val::Str(Cow::Owned(s.clone())),
            },
            Node::Not(n) => Val::Bool(!self.eval(n)?.truthy()),
            Node::Neg(n) => match self.eval(n)? {
                Val::Int(i) => Val::Int(i.checked_neg().ok_or(Unsupported)?),
                Val::Float(x, _) => Val::Float(-x, None),
                _ => return Err(Unsupported),
            },
            Node::Binary(Op::Or, a, b) => {
                Val::Bool(self.eval(a)?.truthy() || self.eval(b)?.truthy())
            }
            Node::Binary(Op::And, a, b) => {
                Val::Bool(self.eval(a)?.truthy() && self.eval(b)?.truthy())
            }
            Node::Binary(op, a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                let order = || a.compare(&b);
                match op {
                    Op::Eq => Val::Bool(order() == Ordering::Equal),
                    Op::Ne => Val::Bool(order() != Ordering::Equal),
                    Op::Lt => Val::Bool(order() == Ordering::Less),
                    Op::Le => Val::Bool(order() != Ordering::Greater),
                    Op::Gt => Val::Bool(order() == Ordering::Greater),
                    Op::Ge => Val::Bool(order() != Ordering::Less),
                    _ => arithmetic(*op, a, b)?,
                }
            }
        })
    }
}

/// Whether `node` is true for `record`.
#[inline]
pub(crate) fn test(node: &Node, record: &ZeroCopyByteRecord, width: usize) -> Eval<bool> {
    let row = Row {
        record,
        width,
        assigned: &[],
    };
    Ok(row.eval(node)?.truthy())
}

/// Run the assignments on `record` and append the row they make: for each
/// output column, the value assigned to it (`from_out` gives its number
/// among the assignments' `count` columns), else the field as it was.
/// On `Unsupported`, nothing is appended.
pub(crate) fn assign_row(
    steps: &[(usize, Node)],
    from_out: &[Option<usize>],
    record: &ZeroCopyByteRecord,
    width: usize,
    delimiter: u8,
    out: &mut Vec<u8>,
) -> Eval<()> {
    // A few assignments live on the stack: no allocation per row.
    let mut stack: [(usize, Val); 4] = std::array::from_fn(|_| (usize::MAX, Val::Null));
    let mut heap = Vec::new();
    let assigned: &mut [(usize, Val)] = if steps.len() <= stack.len() {
        &mut stack[..steps.len()]
    } else {
        heap.resize(steps.len(), (usize::MAX, Val::Null));
        &mut heap
    };
    for (i, (column, node)) in steps.iter().enumerate() {
        let value = Row {
            record,
            width,
            assigned: &assigned[..i],
        }
        .eval(node)?;
        assigned[i] = (*column, value);
    }
    let value_of = |p: usize| assigned.iter().rev().find(|(c, _)| *c == p).map(|(_, v)| v);
    // Only new columns assigned (the usual `.total = …`): the row as it
    // was, then the new fields.
    let first_assigned = from_out
        .iter()
        .position(|p| p.is_some_and(|p| value_of(p).is_some()))
        .unwrap_or(from_out.len());
    let mut c = 0;
    if first_assigned >= width && record.len() == width {
        out.extend_from_slice(record.as_slice());
        c = width;
    }
    while c < from_out.len() {
        if c > 0 {
            out.push(delimiter);
        }
        match from_out[c].and_then(value_of) {
            Some(v) => v.push_text(out, delimiter),
            None if c < width => out.extend_from_slice(record.get(c).unwrap_or(b"")),
            None => {}
        }
        c += 1;
    }
    out.push(b'\n');
    Ok(())
}

/// A computed float as fkit writes one: the shortest text that reads back
/// as it (whole numbers without a fraction), NaN as nothing, infinities as
/// the largest floats, as jq writes them.
pub(crate) fn push_float(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        return;
    }
    let x = x.clamp(f64::MIN, f64::MAX);
    if x.fract() == 0.0 && x.abs() < 1e16 {
        out.extend_from_slice(itoa::Buffer::new().format(x as i64).as_bytes());
    } else {
        out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<Vec<u8>> {
        vec![b"age".to_vec(), b"name".to_vec(), b"score".to_vec()]
    }

    #[test]
    fn parses_the_covered_kind_only() {
        assert!(PlainExpr::parse(".age > 50", &names(), false).is_some());
        assert!(
            PlainExpr::parse(
                r#".name == "x" and (.age >= 3 or .score != null)"#,
                &names(),
                false
            )
            .is_some()
        );
        assert!(PlainExpr::parse("(.age > 5 | not)", &names(), false).is_some());
        assert!(PlainExpr::parse(".age | tostring", &names(), false).is_none());
        assert!(PlainExpr::parse(".nope > 1", &names(), false).is_none());
        assert!(PlainExpr::parse(r#""\(.age)" == "1""#, &names(), false).is_none());
        match PlainExpr::parse(".double = .score * 2 | .age = .double + 1", &names(), true) {
            Some(PlainExpr::Assign { steps, .. }) => {
                assert_eq!(steps.iter().map(|s| s.0).collect::<Vec<_>>(), [3, 0])
            }
            _ => panic!("assignments parse"),
        }
    }

    #[test]
    fn orders_and_computes_as_jq() {
        let v = |s: &'static [u8]| field(Cow::Borrowed(s)).ok().unwrap();
        assert_eq!(v(b"").compare(&v(b"false")), Ordering::Less);
        assert_eq!(v(b"true").compare(&v(b"-5")), Ordering::Less);
        assert_eq!(v(b"10").compare(&v(b"9.5")), Ordering::Greater);
        assert_eq!(v(b"10").compare(&v(b"a")), Ordering::Less);
        assert_eq!(v(b"2").compare(&v(b"2.0")), Ordering::Equal);
        assert!(field(Cow::Borrowed(b"123456789012345678901")).is_err());
        assert!(matches!(field(Cow::Borrowed(b"-0")), Ok(Val::Int(0))));
        assert!(matches!(field(Cow::Borrowed(b"007")), Ok(Val::Str(_))));
        let mut out = Vec::new();
        for x in [5.0, 0.1 + 0.2, -1e20, f64::INFINITY] {
            push_float(&mut out, x);
            out.push(b' ');
        }
        assert_eq!(out, b"5 0.30000000000000004 -1e20 1.7976931348623157e308 ");
        assert!(matches!(
            arithmetic(Op::Add, Val::Null, Val::Int(1)),
            Ok(Val::Int(1))
        ));
        assert!(arithmetic(Op::Mul, Val::Null, Val::Int(2)).is_err());
        assert!(arithmetic(Op::Add, Val::Int(i64::MAX), Val::Int(1)).is_err());
        assert!(
            matches!(arithmetic(Op::Div, Val::Int(1), Val::Int(4)), Ok(Val::Float(x, None)) if x == 0.25)
        );
    }
}
