//! The jq language, through jaq's crates (jaq-core, jaq-std, jaq-json): a
//! filter is compiled once into a [`Program`], then run on many values.
//!
//! `fkit json query` feeds it documents and array elements; `fkit csv
//! filter/map` feed it rows as objects. Everything jq-specific that jaq
//! leaves out or does differently, and that can be said in jq itself, is in
//! `compat.jq`, loaded after jaq's own definitions so that it wins.

mod assign;
mod paths;
mod raw;
mod read;
mod write;

pub(crate) use jaq_json::Val as Value;
pub(crate) use raw::RawFilter;
pub(crate) use read::parse_minified;
pub(crate) use write::{Colors, Indent, Style, write_value};

use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::{Ctx, DataT, Lut, Vars, compile::Compiler, data::HasLut};
use jaq_std::input::{HasInputs, Inputs, RcIter};
use std::io::Write;

/// The kind of data filters run on: jaq-json values, plus the input stream
/// that `input` and `inputs` read.
pub(crate) struct Engine;

impl DataT for Engine {
    type V<'a> = Value;
    type Data<'a> = &'a Data<'a>;
}

pub(crate) struct Data<'a> {
    lut: &'a Lut<Engine>,
    inputs: Inputs<'a, Value>,
    filename: &'a Value,
}

impl<'a> HasLut<'a, Engine> for &'a Data<'a> {
    fn lut(&self) -> &'a Lut<Engine> {
        self.lut
    }
}

impl<'a> HasInputs<'a, Value> for &'a Data<'a> {
    fn inputs(&self) -> Inputs<'a, Value> {
        self.inputs
    }
}

/// A compiled filter and the names of the global variables it was compiled
/// with (`$ENV`, `--arg` names, …), whose values every run passes in order.
pub(crate) struct Program {
    filter: jaq_core::Filter<Engine>,
    /// `$ENV`, the first global of every run.
    env: Value,
    /// True when the filter mentions `input`, `inputs` or `input_filename`:
    /// it reads the input stream itself, so it cannot run on one value alone.
    reads_inputs: bool,
}

/// A filter that did not compile: what went wrong, and where in the code.
#[derive(Debug)]
pub(crate) struct CompileError {
    pub message: String,
    /// Byte offsets in the filter's code.
    pub span: std::ops::Range<usize>,
}

impl CompileError {
    /// `LINE:COLUMN: message`, the line of code, and a caret under the spot.
    pub fn render(&self, code: &str) -> String {
        let start = self.span.start.min(code.len());
        let line_start = code[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = code[start..].find('\n').map_or(code.len(), |i| start + i);
        let line = code[..start].matches('\n').count() + 1;
        let column = code[line_start..start].chars().count() + 1;
        let width = code[start..self.span.end.clamp(start, line_end)]
            .chars()
            .count()
            .max(1);
        format!(
            "{line}:{column}: {}\n    {}\n    {}{}",
            self.message,
            &code[line_start..line_end],
            " ".repeat(column - 1),
            "^".repeat(width)
        )
    }
}

/// Why a run stopped producing values.
pub(crate) enum Failure {
    /// An error, as jq's `error` raises it: its value (a message string, most often).
    Error(Value),
    /// `halt`, `halt_error`: stop with this exit code.
    Halt(i32),
}

impl Failure {
    /// The error as jq prints it: a string as it is, anything else as JSON
    /// with " (not a string)" after it.
    pub fn message(&self) -> String {
        match self {
            Failure::Error(Value::TStr(s)) => String::from_utf8_lossy(s).into_owned(),
            Failure::Error(v) => format!("{v} (not a string)"),
            Failure::Halt(code) => format!("halt with status {code}"),
        }
    }
}

/// jq definitions that jaq lacks or defines differently.
const COMPAT: &str = include_str!("compat.jq");

impl Program {
    /// Compile `code`; `globals` are the names of the variables (without
    /// `$`) whose values [`Program::run`] will be given, in this order.
    pub fn compile(code: &str, globals: &[&str]) -> Result<Program, Vec<CompileError>> {
        let located = locate(code);
        let code = located.as_deref().unwrap_or(code);
        let assigned = assign::rewrite(code);
        let code = assigned.as_deref().unwrap_or(code);
        let compat = load::parse(COMPAT, |p| p.defs()).expect("compat.jq parses");
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs())
            .chain(compat);
        let arena = Arena::default();
        let modules = Loader::new(defs)
            .load(&arena, File { path: (), code })
            .map_err(|errors| load_errors(code, errors))?;
        let names: Vec<String> = std::iter::once("ENV")
            .chain(globals.iter().copied())
            .map(|g| format!("${g}"))
            .collect();
        let filter = Compiler::default()
            .with_funs(functions())
            .with_global_vars(names.iter().map(String::as_str))
            .compile(modules)
            .map_err(|errors| {
                errors
                    .into_iter()
                    .flat_map(|(_, errs)| errs)
                    .map(|(found, undefined)| {
                        let what = match undefined {
                            jaq_core::compile::Undefined::Filter(arity) => {
                                format!("{found}/{arity} is not defined")
                            }
                            other => format!("{} {found} is not defined", other.as_str()),
                        };
                        CompileError {
                            message: what,
                            span: span_in(code, found),
                        }
                    })
                    .collect::<Vec<_>>()
            })?;
        let reads_inputs = ["input", "inputs", "input_filename"]
            .iter()
            .any(|word| mentions(code, word));
        let env = std::env::vars_os()
            .map(|(k, v)| {
                let key = Value::from(k.to_string_lossy().into_owned());
                (key, Value::from(v.to_string_lossy().into_owned()))
            })
            .collect();
        Ok(Program {
            filter,
            env: Value::obj(env),
            reads_inputs,
        })
    }

    /// True when the filter reads the input stream itself (`input`,
    /// `inputs`, `input_filename`) and so must see the inputs in one sequence.
    pub fn reads_inputs(&self) -> bool {
        self.reads_inputs
    }

    /// Run on `input` with the globals' values; `each` gets every output,
    /// or the failure that ends the run, and returns false to stop early.
    pub fn run(
        &self,
        input: Value,
        globals: &[Value],
        each: &mut dyn FnMut(Result<Value, Failure>) -> bool,
    ) {
        let none: Box<dyn Iterator<Item = Result<Value, String>>> = Box::new(std::iter::empty());
        let inputs = RcIter::new(none);
        let filename = Value::Null;
        self.run_with(input, globals, &inputs, &filename, each);
    }

    /// As [`Program::run`], with the stream that `input` and `inputs` read
    /// from, and the name `input_filename` gives.
    pub fn run_with<'i>(
        &self,
        input: Value,
        globals: &[Value],
        inputs: Inputs<'i, Value>,
        filename: &'i Value,
        each: &mut dyn FnMut(Result<Value, Failure>) -> bool,
    ) {
        let data = Data {
            lut: &self.filter.lut,
            inputs,
            filename,
        };
        let values = std::iter::once(&self.env).chain(globals).cloned();
        let ctx = Ctx::<Engine>::new(&data, Vars::new(values));
        for out in self.filter.id.run((ctx, input)) {
            let out = out.map_err(|exn| match exn.get_err() {
                Ok(err) => Failure::Error(err.into_val()),
                Err(exn) => Failure::Halt(exn.get_halt().unwrap_or(5)),
            });
            let stop = out.is_err();
            if !each(out) || stop {
                return;
            }
        }
    }
}

/// Parse one JSON text into a value (numbers keep their exact text).
pub(crate) fn parse_json(text: &[u8]) -> Result<Value, String> {
    jaq_json::read::parse_single(text).map_err(|e| e.to_string())
}

/// A filter of the form `map(F)`, `map(F) | G`, `[.[] | F]` or
/// `[.[] | F] | G`, as its parts `F` and `G`. jq defines `map(f)` as
/// `[.[] | f]`, so on an array such a filter is F on each element, in
/// order, the outputs collected into an array, then G on that array; the
/// first error F raises is the error of the whole. The shape is read from
/// jaq's own tokens, so strings, comments and brackets are told apart as
/// the engine tells them. `None` when F uses something that would notice
/// being run element by element on several threads (`debug`, `stderr`,
/// `input`, `halt`, `$__loc__`, ...), or when the filter defines things.
pub(crate) fn map_shape(code: &str) -> Option<(&str, Option<&str>)> {
    use jaq_core::load::lex::{Tok, Token};
    const UNSAFE: [&str; 9] = [
        "debug",
        "stderr",
        "input",
        "inputs",
        "input_filename",
        "input_line_number",
        "halt",
        "halt_error",
        "$__loc__",
    ];
    if UNSAFE.iter().any(|word| mentions(code, word)) {
        return None;
    }
    let tokens = jaq_core::load::Lexer::new(code).lex().ok()?;
    let sym = |t: &Token<&str>, s: &str| matches!(t.1, Tok::Sym) && t.0 == s;
    // The text between a block's delimiters.
    fn inside<'a>(t: &Token<&'a str>) -> &'a str {
        &t.0[1..t.0.len() - 1]
    }
    let (f, rest) = match &tokens[..] {
        [
            Token("map", Tok::Word),
            block @ Token(_, Tok::Block(_)),
            rest @ ..,
        ] if block.0.starts_with('(') => (inside(block), rest),
        [block @ Token(_, Tok::Block(items)), rest @ ..] if block.0.starts_with('[') => {
            // `[` `.` `[` `]` `|` F `]`
            match &items[..] {
                [dot, Token(iter, Tok::Block(empty)), pipe, .., _]
                    if sym(dot, ".")
                        && iter.starts_with('[')
                        && empty.len() == 1
                        && sym(pipe, "|") =>
                {
                    let body = inside(block);
                    let at = span_in(body, pipe.0);
                    (&body[at.end..], rest)
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    if f.trim().is_empty() {
        return None;
    }
    match rest {
        [] => Some((f, None)),
        [pipe, _, ..] if sym(pipe, "|") => {
            let at = span_in(code, pipe.0);
            Some((f, Some(&code[at.end..])))
        }
        _ => None,
    }
}

/// The native functions: jaq-core's, jaq-std's, jaq-json's, `input`,
/// `inputs`, `input_filename`.
fn functions() -> impl Iterator<Item = jaq_core::native::Fun<Engine>> {
    use jaq_core::native::{run, v};
    let inputs = jaq_std::input::funs::<Engine>()
        .into_vec()
        .into_iter()
        .map(run::<Engine>);
    let filename = run::<Engine>(("input_filename", v(0), |cv| {
        let name = cv.0.data().filename.clone();
        Box::new(std::iter::once(Ok(name)))
    }));
    let setpath = run::<Engine>(("_fkit_setpath", v(2), |mut cv| {
        let x = cv.0.pop_var();
        let path = cv.0.pop_var();
        let result = match &path {
            Value::Arr(keys) => paths::set(cv.1, keys, x),
            other => Err(format!("path must be specified as an array, not {other}")),
        };
        Box::new(std::iter::once(result.map_err(fail)))
    }));
    let delpaths = run::<Engine>(("_fkit_delpaths", v(1), |mut cv| {
        let list = cv.0.pop_var();
        let result = match &list {
            Value::Arr(list) => paths::delete_all(cv.1, list),
            other => Err(format!("paths must be specified as an array, not {other}")),
        };
        Box::new(std::iter::once(result.map_err(fail)))
    }));
    // jaq's debug, stderr and halt_error go to a logger fkit does not
    // install: these write to stderr as jq does, and output nothing.
    let debug = run::<Engine>(("_fkit_debug", v(0), |cv| {
        let mut line = b"[\"DEBUG:\",".to_vec();
        write_value(&mut line, &cv.1, &compact());
        line.extend_from_slice(b"]\n");
        let _ = std::io::stderr().write_all(&line);
        Box::new(std::iter::empty())
    }));
    let stderr = run::<Engine>(("_fkit_stderr", v(0), |cv| {
        let mut text = Vec::new();
        write_value(&mut text, &cv.1, &compact());
        let _ = std::io::stderr().write_all(&text);
        Box::new(std::iter::empty())
    }));
    let halt_message = run::<Engine>(("_fkit_halt_message", v(0), |cv| {
        let mut text = Vec::new();
        match &cv.1 {
            Value::TStr(s) => text.extend_from_slice(s),
            other => {
                write_value(&mut text, other, &compact());
                text.push(b'\n');
            }
        }
        let _ = std::io::stderr().write_all(&text);
        Box::new(std::iter::empty())
    }));
    jaq_core::funs::<Engine>()
        .chain(jaq_std::funs::<Engine>())
        .chain(jaq_json::funs::<Engine>())
        .chain(inputs)
        .chain([filename, setpath, delpaths, debug, stderr, halt_message])
}

/// jq's `$__loc__`, which jaq lacks: each one becomes the object
/// `{"file":"<top-level>","line":N}` for the line it is on.
fn locate(code: &str) -> Option<String> {
    const LOC: &str = "$__loc__";
    if !code.contains(LOC) {
        return None;
    }
    let mut out = String::new();
    let mut rest = code;
    let mut line = 1;
    while let Some(i) = rest.find(LOC) {
        line += rest[..i].matches('\n').count();
        out.push_str(&rest[..i]);
        out.push_str(&format!("{{\"file\":\"<top-level>\",\"line\":{line}}}"));
        rest = &rest[i + LOC.len()..];
    }
    out.push_str(rest);
    Some(out)
}

fn compact() -> Style {
    Style {
        indent: Indent::Compact,
        ..Style::default()
    }
}

fn fail<'a>(message: String) -> jaq_core::Exn<'a, Value> {
    jaq_core::Exn::from(jaq_core::Error::new(Value::from(message)))
}

/// True when `code` mentions the identifier `word`.
fn mentions(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    code.split(|c: char| !ident(c)).any(|token| token == word)
}

/// The byte range of `part` (a slice of `code`, or not) within `code`.
fn span_in(code: &str, part: &str) -> std::ops::Range<usize> {
    let (base, at) = (code.as_ptr() as usize, part.as_ptr() as usize);
    if at >= base && at + part.len() <= base + code.len() {
        load::span(code, part)
    } else {
        0..0
    }
}

fn load_errors(code: &str, errors: load::Errors<&str, ()>) -> Vec<CompileError> {
    let mut out = Vec::new();
    for (_, error) in errors {
        match error {
            load::Error::Io(errs) => out.extend(errs.into_iter().map(|(path, why)| CompileError {
                message: format!("cannot load module {path}: {why}"),
                span: span_in(code, path),
            })),
            load::Error::Lex(errs) => out.extend(errs.into_iter().map(|(expected, found)| {
                let first = found.chars().next().map_or(0, char::len_utf8);
                let message = match found.chars().next() {
                    None => format!(
                        "syntax error: expected {}, found the end",
                        expected.as_str()
                    ),
                    Some(c) => format!("syntax error: expected {}, found {c:?}", expected.as_str()),
                };
                let at = span_in(code, found);
                CompileError {
                    message,
                    span: at.start..at.start + first,
                }
            })),
            load::Error::Parse(errs) => out.extend(errs.into_iter().map(|(expected, found)| {
                let message = if found.is_empty() {
                    format!(
                        "syntax error: expected {}, found the end",
                        expected.as_str()
                    )
                } else {
                    format!(
                        "syntax error: expected {}, found {found:?}",
                        expected.as_str()
                    )
                };
                CompileError {
                    message,
                    span: span_in(code, found),
                }
            })),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(code: &str, input: &str) -> Vec<String> {
        let program = Program::compile(code, &[]).unwrap_or_else(|e| panic!("{e:?}"));
        let mut out = Vec::new();
        program.run(parse_json(input.as_bytes()).unwrap(), &[], &mut |v| {
            out.push(match v {
                Ok(v) => v.to_string(),
                Err(f) => format!("error: {}", f.message()),
            });
            true
        });
        out
    }

    #[test]
    fn runs_a_filter_on_a_value() {
        assert_eq!(
            outputs(".[] | .a", r#"[{"a":1},{"a":"x"}]"#),
            ["1", "\"x\""]
        );
    }

    #[test]
    fn literals_keep_their_text() {
        assert_eq!(
            outputs(".", "[12345678901234567890, 1e400, 0.10000000000000000001]"),
            ["[12345678901234567890,1e400,0.10000000000000000001]"]
        );
    }

    #[test]
    fn compile_errors_point_at_the_spot() {
        let code = ".a | foo(1)";
        let errors = Program::compile(code, &[]).err().expect("an error");
        let text = errors[0].render(code);
        assert!(text.starts_with("1:6: foo/1 is not defined"), "{text}");
        assert!(text.ends_with("\n         ^^^"), "{text:?}");
    }

    #[test]
    fn finds_the_map_shape() {
        assert_eq!(map_shape("map(.a)"), Some((".a", None)));
        assert_eq!(
            map_shape("map(select(.s > 50)) | length"),
            Some(("select(.s > 50)", Some(" length")))
        );
        assert_eq!(
            map_shape("[.[] | .a + 1] | add"),
            Some((" .a + 1", Some(" add")))
        );
        assert_eq!(
            map_shape(r#"map(select(.a == ")|")) | .[0]"#),
            Some((r#"select(.a == ")|")"#, Some(" .[0]")))
        );
        assert_eq!(map_shape("map(.a # ) | b\n)"), Some((".a # ) | b\n", None)));
        for other in [
            "map(.a)[0]",
            "map(.a)?",
            "map(.a) |= 1",
            "map(.a) as $x | $x",
            "map(.a), 1",
            "map(.a) // 1",
            "def f: 1; map(f)",
            "[.[]] | add",
            "[.[] | .a, 1][0]",
            "map(debug)",
            "map(input)",
            "map($__loc__)",
            "map(.a) |",
        ] {
            assert_eq!(map_shape(other), None, "{other}");
        }
    }

    #[test]
    fn finds_input_as_a_word() {
        assert!(mentions("[inputs]", "inputs"));
        assert!(mentions("input | .a", "input"));
        assert!(!mentions(".input_x", "input"));
        assert!(!mentions("$input", "input"));
    }
}
