//! Rows as jq values, for `filter` and `map`: the fields an expression
//! reads (found from its tokens), the row object built from only those, and
//! computed values written back as CSV fields.
//!
//! Building every field of every row would cost more than parsing it, so a
//! row object holds just the fields the expression names (`.age`,
//! `."first name"`, `{city}`). An expression that could read fields it
//! does not name (`.[]`, `keys`, `tojson`, a bare `.`, a function not
//! known to act only on what it is given) gets every field.

use super::json_out::{is_json_number, unquote_field};
use super::plain_expr::PlainExpr;
use crate::query::{Failure, Program, Value};
use anyhow::Result;
use jaq_core::load::lex::{Lexer, StrPart, Tok, Token};
use jaq_json::Num;
use simd_csv::ZeroCopyByteRecord;
use std::cell::RefCell;
use std::rc::Rc;

/// A compiled row expression and what it reads.
pub(crate) struct RowExpr {
    code: String,
    /// The header's names, as the keys of row objects.
    names: Vec<Vec<u8>>,
    /// The columns a row object holds, in header order.
    reads: Vec<usize>,
    /// The expression, when it is of the kind evaluated without the engine.
    plain: Option<PlainExpr>,
}

/// jq words that are not functions.
const KEYWORDS: &[&str] = &[
    "def", "if", "then", "elif", "else", "end", "as", "reduce", "foreach", "try", "catch", "label",
    "import", "include", "and", "or", "__loc__",
];

/// Functions that, given the row itself, read none of its fields (they
/// work on strings and numbers, and fail on an object whatever it holds).
const SCALAR_FUNCTIONS: &[&str] = &[
    "select",
    "empty",
    "not",
    "true",
    "false",
    "null",
    "type",
    "error",
    "test",
    "match",
    "capture",
    "startswith",
    "endswith",
    "ltrimstr",
    "rtrimstr",
    "ascii_downcase",
    "ascii_upcase",
    "tonumber",
    "floor",
    "ceil",
    "round",
    "sqrt",
    "fabs",
    "abs",
    "log",
    "log2",
    "log10",
    "exp",
    "exp2",
    "exp10",
    "pow",
    "split",
    "splits",
    "join",
    "trim",
    "ltrim",
    "rtrim",
    "sub",
    "gsub",
    "ascii",
    "implode",
    "explode",
    "infinite",
    "nan",
    "isnan",
    "isinfinite",
    "isnormal",
    "now",
    "todate",
    "fromdate",
    "strftime",
    "strptime",
    "mktime",
    "gmtime",
    "trunc",
    "significand",
];

/// What the tokens of an expression say about the fields it reads.
#[derive(Default)]
struct Reads {
    /// Names read from the row (`.age`), with where they are in the code.
    named: Vec<(String, usize)>,
    /// Names that may be read from the row if it has them (`{city}`).
    maybe: Vec<String>,
    /// Names assigned to (`.total = …`): fields the expression may add.
    assigned: Vec<String>,
    /// The expression may read fields it does not name.
    all: bool,
}

impl Reads {
    /// Scan `tokens`, the contents of an object's braces if `in_object`.
    fn scan(&mut self, code: &str, tokens: &[Token<&str>], in_object: bool) {
        let mut previous: Option<&Token<&str>> = None;
        for (i, token) in tokens.iter().enumerate() {
            let next = tokens.get(i + 1);
            let at_row = previous.is_none_or(starts_a_term);
            match &token.1 {
                Tok::Sym if token.0 == ".." => self.all = true,
                Tok::Sym if token.0.starts_with('.') && token.0.len() > 1 => {
                    let name = token.0[1..].to_string();
                    if at_row && next.is_some_and(assigns) {
                        // Assigned, so it may be a new field; read if it exists.
                        self.maybe.push(name.clone());
                        self.assigned.push(name);
                    } else if at_row {
                        self.named.push((name, offset(code, token.0)));
                    }
                }
                Tok::Sym if token.0 == "." => match next.map(|t| &t.1) {
                    Some(Tok::Str(parts)) => match plain(parts) {
                        Some(name) if at_row => self.named.push((name, offset(code, token.0))),
                        Some(_) => {}
                        None => self.all = true,
                    },
                    Some(Tok::Block(inner)) if next.is_some_and(|t| t.0.starts_with('[')) => {
                        match &inner[..] {
                            [Token(_, Tok::Str(parts)), Token("]", Tok::Sym)] => match plain(parts)
                            {
                                Some(name) if at_row => {
                                    self.named.push((name, offset(code, token.0)))
                                }
                                Some(_) => {}
                                None => self.all = true,
                            },
                            _ => self.all = true,
                        }
                    }
                    _ => self.all = true,
                },
                Tok::Word => {
                    let word = token.0;
                    let key = in_object && matches!(next, Some(Token(":", Tok::Sym)));
                    let shorthand = in_object
                        && matches!(previous, None | Some(Token(",", Tok::Sym)))
                        && matches!(next, Some(Token("," | "}", Tok::Sym)));
                    if shorthand {
                        self.maybe.push(word.to_string());
                    } else if !key && !KEYWORDS.contains(&word) && !SCALAR_FUNCTIONS.contains(&word)
                    {
                        self.all = true;
                    }
                }
                Tok::Fmt => self.all = true,
                Tok::Str(parts) => {
                    for part in parts {
                        if let StrPart::Term(term) = part {
                            self.scan(code, std::slice::from_ref(term), false);
                        }
                    }
                }
                Tok::Block(inner) => self.scan(code, inner, token.0.starts_with('{')),
                Tok::Sym | Tok::Var | Tok::Num => {}
            }
            previous = Some(token);
        }
    }
}

/// Whether a path right after `token` starts from the row: after an
/// operator, a separator or a keyword, not after a value (`$x.a`, `.a.b`,
/// `f(x).a`, `"s".a`).
fn starts_a_term(token: &Token<&str>) -> bool {
    match &token.1 {
        Tok::Sym => !(token.0.starts_with('.') || matches!(token.0, "?" | ")" | "]" | "}")),
        Tok::Word => KEYWORDS.contains(&token.0),
        _ => false,
    }
}

/// Whether `token` is an assignment operator (`=`, `|=`, `+=`, …).
fn assigns(token: &Token<&str>) -> bool {
    matches!(token.1, Tok::Sym)
        && matches!(
            token.0,
            "=" | "|=" | "+=" | "-=" | "*=" | "/=" | "%=" | "//="
        )
}

/// A string literal without escapes or interpolation.
fn plain(parts: &[StrPart<&str, Token<&str>>]) -> Option<String> {
    match parts {
        [] => Some(String::new()),
        [StrPart::Str(s)] => Some(s.to_string()),
        _ => None,
    }
}

fn offset(code: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(code.as_ptr() as usize)
}

thread_local! {
    /// Each thread's compiled copy of the expression: jq values are not
    /// shared between threads, so neither are compiled filters.
    static COMPILED: RefCell<Option<(String, Rc<Program>)>> = const { RefCell::new(None) };
}

/// A compile error, shown with the code and a caret under the spot.
fn compile(code: &str) -> Result<Program> {
    Program::compile(code, &[]).map_err(|errors| {
        let shown: Vec<String> = errors.iter().map(|e| e.render(code)).collect();
        super::usage(format!("expression does not compile: {}", shown.join("\n")))
    })
}

impl RowExpr {
    /// Compile `code` for rows with the header `names`; an error names a
    /// field it reads that the header lacks.
    /// `map` expressions are assignments; `filter` ones tests.
    pub(crate) fn new(code: &str, names: Vec<Vec<u8>>, for_map: bool) -> Result<RowExpr> {
        let program = compile(code)?;
        if program.reads_inputs() {
            return Err(super::usage(
                "input, inputs and input_filename are not available on rows",
            ));
        }
        let mut reads = Reads::default();
        if let Ok(tokens) = Lexer::new(code).lex() {
            reads.scan(code, &tokens, false);
        } else {
            reads.all = true;
        }
        let column = |name: &str| names.iter().position(|n| n == name.as_bytes());
        let mut columns = Vec::new();
        for (name, at) in &reads.named {
            match column(name) {
                Some(c) => columns.push(c),
                None if reads.assigned.contains(name) => {}
                None => {
                    let known: Vec<String> = names
                        .iter()
                        .map(|n| String::from_utf8_lossy(n).into_owned())
                        .collect();
                    return Err(super::usage(format!(
                        "expression reads field {name:?} (at character {}), which the header lacks (it has: {})",
                        at + 1,
                        known.join(", ")
                    )));
                }
            }
        }
        columns.extend(reads.maybe.iter().filter_map(|n| column(n)));
        if reads.all {
            columns = (0..names.len()).collect();
        }
        columns.sort_unstable();
        columns.dedup();
        COMPILED.with(|c| *c.borrow_mut() = Some((code.to_string(), Rc::new(program))));
        Ok(RowExpr {
            code: code.to_string(),
            plain: PlainExpr::parse(code, &names, for_map),
            names,
            reads: columns,
        })
    }

    /// How many fields the header has.
    pub(crate) fn width(&self) -> usize {
        self.names.len()
    }

    /// The expression, when it is evaluated without the engine.
    pub(crate) fn plain(&self) -> Option<&PlainExpr> {
        self.plain.as_ref()
    }

    /// The columns a row object holds, in header order.
    pub(crate) fn reads(&self) -> &[usize] {
        &self.reads
    }

    /// This thread's compiled filter.
    fn program(&self) -> Result<Rc<Program>> {
        COMPILED.with(|c| {
            let mut c = c.borrow_mut();
            match &*c {
                Some((code, p)) if *code == self.code => Ok(p.clone()),
                _ => {
                    let p = Rc::new(compile(&self.code)?);
                    *c = Some((self.code.clone(), p.clone()));
                    Ok(p)
                }
            }
        })
    }
}

/// The keys of row objects: the header's names, or under --no-headers the
/// column numbers (`."1"`).
pub(crate) fn row_keys(table: &super::Table) -> Vec<Vec<u8>> {
    let header = table.header();
    if table.has_headers() {
        header.iter().map(<[u8]>::to_vec).collect()
    } else {
        (1..=header.len())
            .map(|i| i.to_string().into_bytes())
            .collect()
    }
}

impl RowExpr {
    /// A runner for this thread.
    pub(crate) fn runner(&self) -> Result<Runner<'_>> {
        Ok(Runner {
            expr: self,
            program: self.program()?,
            keys: self
                .names
                .iter()
                .map(|n| Value::utf8_str(n.clone()))
                .collect(),
        })
    }
}

/// Runs the expression on rows, on one thread.
pub(crate) struct Runner<'e> {
    expr: &'e RowExpr,
    program: Rc<Program>,
    keys: Vec<Value>,
}

impl Runner<'_> {
    /// The row object of `record`: the fields the expression reads, typed
    /// as `to-json --infer` types them; also their values, in `reads` order.
    pub(crate) fn row(&self, record: &ZeroCopyByteRecord, values: &mut Vec<Value>) -> Value {
        values.clear();
        let mut map =
            jaq_json::Map::with_capacity_and_hasher(self.expr.reads.len(), Default::default());
        for &c in &self.expr.reads {
            let value = infer(&unquote_field(record.get(c).unwrap_or(b"")));
            values.push(value.clone());
            map.insert(self.keys[c].clone(), value);
        }
        Value::obj(map)
    }

    /// Run on `row`; `each` gets every output and returns false to stop.
    /// The error that ends a run is returned as its message.
    pub(crate) fn run(
        &self,
        row: Value,
        each: &mut dyn FnMut(Value) -> bool,
    ) -> std::result::Result<(), String> {
        let mut failed = None;
        self.program.run(row, &[], &mut |out| match out {
            Ok(v) => each(v),
            Err(f) => {
                failed = Some(match f {
                    Failure::Halt(_) => "halt is not available on rows".to_string(),
                    f => f.message(),
                });
                false
            }
        });
        failed.map_or(Ok(()), Err)
    }
}

/// A field's text as a jq value: empty is null, `true`/`false` booleans,
/// JSON numbers numbers (keeping their text), anything else a string.
#[inline]
pub(crate) fn infer(text: &[u8]) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    if text == b"true" || text == b"false" {
        return Value::Bool(text == b"true");
    }
    if is_json_number(text) {
        if text.len() <= 18 && text.iter().all(|&b| b.is_ascii_digit() || b == b'-') {
            let mut n: isize = 0;
            for &d in text.iter().skip((text[0] == b'-') as usize) {
                n = n * 10 + (d - b'0') as isize;
            }
            return Value::from(if text[0] == b'-' { -n } else { n });
        }
        if let Ok(v) = crate::query::parse_json(text) {
            return v;
        }
    }
    Value::utf8_str(text.to_vec())
}

/// jq's truthiness: everything but `false` and `null`.
pub(crate) fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

/// Append a computed value as a CSV field's text: null as nothing,
/// strings as they are, numbers in their shortest exact form, arrays and
/// objects as JSON.
pub(crate) fn push_value_text(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::TStr(s) | Value::BStr(s) => out.extend_from_slice(s),
        Value::Num(Num::Float(x)) => super::plain_expr::push_float(out, *x),
        Value::Num(Num::Int(i)) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(code: &str) -> (Vec<String>, Vec<String>, bool) {
        let mut r = Reads::default();
        r.scan(code, &Lexer::new(code).lex().unwrap(), false);
        (
            r.named.into_iter().map(|(n, _)| n).collect(),
            r.maybe,
            r.all,
        )
    }

    #[test]
    fn finds_the_fields_an_expression_reads() {
        assert_eq!(reads(".age > 50"), (vec!["age".into()], vec![], false));
        assert_eq!(
            reads(".double = .score * 2 | .n += 1"),
            (
                vec!["score".into()],
                vec!["double".into(), "n".into()],
                false
            )
        );
        assert_eq!(
            reads(r#"select(."first name" | test("^A")) and .["x y"] != null"#).0,
            vec!["first name", "x y"]
        );
        assert_eq!(reads(".a.b | .c").0, vec!["a", "c"]);
        assert_eq!(reads("$x.a").0, Vec::<String>::new());
        assert_eq!(
            reads("{city, n: .age}"),
            (vec!["age".into()], vec!["city".into()], false)
        );
        assert_eq!(reads(r#""\(.name) is \(.age)""#).0, vec!["name", "age"]);
        assert!(reads("keys | length").2);
        assert!(reads(".[] | numbers").2);
        assert!(reads(". as $r | $r.a").2);
        assert!(reads("tojson | test(\"x\")").2);
        assert!(!reads("if .a then .b else null end").2);
        assert!(reads("[tojson, 1]").2);
    }

    #[test]
    fn fields_become_typed_values() {
        assert_eq!(infer(b""), Value::Null);
        assert_eq!(infer(b"true"), Value::Bool(true));
        assert_eq!(infer(b"-42"), Value::from(-42isize));
        assert_eq!(infer(b"007").to_string(), "\"007\"");
        assert_eq!(infer(b"2.50").to_string(), "2.50");
        assert_eq!(
            infer(b"123456789012345678901234").to_string(),
            "123456789012345678901234"
        );
        let mut out = Vec::new();
        push_value_text(&mut out, &Value::from(5.0f64));
        out.push(b' ');
        push_value_text(&mut out, &Value::from(0.1f64 + 0.2));
        assert_eq!(out, b"5 0.30000000000000004");
    }
}
