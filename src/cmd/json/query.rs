//! `fkit json query`: the jq language over JSON inputs.
//!
//! The filter runs in jaq's engine (src/query); what is fkit's own is how
//! the values get there. A reader thread parses the inputs with fkit's
//! streaming parser (exact numbers, positions, UTF-8 checked) and cuts them
//! into units: whole top-level values, or, when the filter starts by
//! iterating a path (`.[] | f`, `.items[] | f`), the elements at that path,
//! one at a time, so that a 10 GB array never sits in memory. Units go in
//! batches to one worker per core; the outputs are written in input order.

use super::parser::{Error as ParseError, Flow, Parser};
use crate::io::args::ReadArgs;
use crate::io::{Exit, Input, Output, ReadAhead};
use crate::query::{Colors, Failure, Indent, Program, Style, Value, parse_json, write_value};
use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Run a jq filter over JSON: the jq language, jq's options and exit codes.
///
/// FILTER is a jq program (jaq's engine runs it); the inputs are the FILEs
/// in order (stdin when none, or `-`), each a sequence of JSON values
/// separated by whitespace: one document, NDJSON, or concatenated values.
/// gzip and bzip2 input is decoded on the fly; a UTF-8 byte order mark at
/// the start of a file is skipped. Numbers that pass through unchanged keep
/// their exact text (12345678901234567890, 1e400), key order is kept, and
/// invalid UTF-8 is an error naming FILE:LINE:COLUMN.
///
/// Streaming: when the filter starts by iterating a path of the top-level
/// value, as in `.[]`, `.[] | f` or `.items[] | f` (object keys then `[]`,
/// then nothing or `|`), the elements are read and evaluated one at a time:
/// memory stays flat on arrays of any size. Inputs that are sequences of
/// values (NDJSON) are evaluated as each value arrives. Both are spread over
/// all cores, with the output in input order. Other filters (and -s, -n,
/// filters using `input`/`inputs`/`input_filename`) get each whole
/// top-level value in memory, as jq does.
///
/// Exit status: 0; 2 for a usage error or an input that is not JSON; 3 for
/// a filter that does not compile; 5 when the filter raised an error (the
/// other inputs are still processed); with -e, 1 when the last output was
/// false or null and 4 when there was no output; `halt_error` sets its own.
///
/// Examples:
///   fkit json query '.[] | select(.status == "error") | {id, msg}' events.json
///   fkit json query -r '.users[].email' users.json
///   fkit json query -c 'select(.score > 50)' events.ndjson.gz
///   fkit json query 'map(.price) | add' orders.json
///   fkit json query --arg user alice '.[] | select(.name == $user)' users.json
///   fkit json query -n '[inputs | .size] | add' *.json
///   fkit json query -i '.version = "2.0"' package.json   # rewrite in place
///   fkit json query -- '-1 | abs' -n                      # a filter starting with -
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(super) struct QueryArgs {
    /// The filter, then the input files (or, after --args/--jsonargs, the
    /// values of $ARGS.positional). With -f the filter comes from FILE.
    #[arg(value_name = "FILTER [FILE]", required_unless_present = "from_file")]
    positional: Vec<String>,

    /// Write strings raw, without quotes or escapes.
    #[arg(short = 'r', long)]
    raw_output: bool,

    /// Like -r, with no newline after each output.
    #[arg(short = 'j', long)]
    join_output: bool,

    /// Escape every non-ASCII character as \uXXXX.
    #[arg(short = 'a', long)]
    ascii_output: bool,

    /// One line per output, no spaces.
    #[arg(short = 'c', long)]
    compact_output: bool,

    /// Indent with one tab per level.
    #[arg(long)]
    tab: bool,

    /// Spaces per level (0 to 7; 0 is compact).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=7))]
    indent: Option<u8>,

    /// Write object keys sorted.
    #[arg(short = 'S', long)]
    sort_keys: bool,

    /// Read all inputs into one array and run the filter once on it.
    #[arg(short = 's', long)]
    slurp: bool,

    /// Run the filter once on null; `input` and `inputs` read the inputs.
    #[arg(short = 'n', long)]
    null_input: bool,

    /// Each input line is a string (with -s: the whole input, one string).
    #[arg(short = 'R', long)]
    raw_input: bool,

    /// Exit 1 if the last output was false or null, 4 if there was none.
    #[arg(short = 'e', long)]
    exit_status: bool,

    /// $NAME is the string VALUE.
    #[arg(long, num_args = 2, value_names = ["NAME", "VALUE"])]
    arg: Vec<String>,

    /// $NAME is the JSON value TEXT.
    #[arg(long, num_args = 2, value_names = ["NAME", "TEXT"])]
    argjson: Vec<String>,

    /// $NAME is the array of the JSON values in FILE.
    #[arg(long, num_args = 2, value_names = ["NAME", "FILE"])]
    slurpfile: Vec<String>,

    /// $NAME is the content of FILE as a string.
    #[arg(long, num_args = 2, value_names = ["NAME", "FILE"])]
    rawfile: Vec<String>,

    /// The arguments after the filter are strings in $ARGS.positional, not files.
    #[arg(long = "args", conflicts_with = "jsonargs")]
    string_args: bool,

    /// The arguments after the filter are JSON values in $ARGS.positional.
    #[arg(long)]
    jsonargs: bool,

    /// Read the filter from FILE; every argument is then an input file.
    #[arg(short = 'f', long, value_name = "FILE")]
    from_file: Option<PathBuf>,

    /// Write an ASCII record separator (0x1E) before each output (RFC 7464).
    #[arg(long)]
    seq: bool,

    /// Colour the output (the default on a terminal; JQ_COLORS is honoured).
    #[arg(short = 'C', long)]
    color_output: bool,

    /// Never colour the output.
    #[arg(short = 'M', long)]
    monochrome_output: bool,

    /// Rewrite each FILE with the filter's output, atomically, keeping its
    /// permissions; a file whose run fails is left untouched.
    #[arg(short = 'i', long)]
    in_place: bool,

    #[command(flatten)]
    read: ReadArgs,
}

/// What a run decided from the options: how to write, what to bind.
struct Plan {
    code: String,
    /// Names (without `$`) and values of the globals, in compile order; the
    /// values as JSON text, so each worker thread can build its own.
    globals: Vec<(String, String)>,
    style: Style,
    raw: bool,
    newline: bool,
    seq: bool,
    /// Where the filter iterates: the keys before `[]`, and the filter after it.
    stream: Option<(Vec<String>, String)>,
}

pub(super) fn run(args: QueryArgs) -> Result<()> {
    let mut positional = args.positional.clone();
    let code = match &args.from_file {
        Some(path) => read_text(path, &args.read)?,
        None => positional.remove(0),
    };
    let (files, values): (Vec<String>, Vec<String>) = if args.string_args || args.jsonargs {
        (Vec::new(), positional)
    } else {
        (positional, Vec::new())
    };
    let plan = plan(&args, code, &values)?;
    let names: Vec<&str> = plan.globals.iter().map(|(n, _)| n.as_str()).collect();
    let program = match Program::compile(&plan.code, &names) {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors {
                eprintln!("fkit: json: compile error: {}", e.render(&plan.code));
            }
            let n = errors.len();
            let s = if n == 1 { "" } else { "s" };
            return Err(Exit::with(3, format!("{n} compile error{s}")).into());
        }
    };
    let files: Vec<Option<PathBuf>> = if files.is_empty() {
        if args.in_place {
            return Err(Exit::usage("-i/--in-place needs at least one FILE").into());
        }
        vec![None]
    } else {
        files
            .iter()
            .map(|f| (f != "-").then(|| PathBuf::from(f)))
            .collect()
    };
    let mode = Mode {
        slurp: args.slurp,
        null_input: args.null_input,
        raw_input: args.raw_input,
    };
    let mut status = Status::default();
    if args.in_place {
        for file in &files {
            let Some(path) = file else {
                return Err(Exit::usage("-i/--in-place cannot rewrite stdin").into());
            };
            let meta = std::fs::metadata(path).with_context(|| path.display().to_string())?;
            let output = Output::to(Some(path))
                .force(true)
                .keep_metadata(&meta)
                .mtime(filetime::FileTime::now())
                .create()?;
            let mut one = Status::default();
            let output = execute(
                &plan,
                &program,
                mode,
                std::slice::from_ref(file),
                &args.read,
                output,
                &mut one,
            )?;
            if one.failed() {
                eprintln!("fkit: json: {}: left unchanged", path.display());
            } else {
                output.finish()?;
            }
            status.merge(one);
        }
    } else {
        let output = Output::stdout().create()?;
        let output = execute(
            &plan,
            &program,
            mode,
            &files,
            &args.read,
            output,
            &mut status,
        )?;
        output.finish()?;
    }
    status.exit(args.exit_status)
}

#[derive(Clone, Copy)]
struct Mode {
    slurp: bool,
    null_input: bool,
    raw_input: bool,
}

/// How the run went, for the exit status.
#[derive(Default)]
struct Status {
    outputs: u64,
    last_truthy: Option<bool>,
    /// A runtime error was reported (exit 5).
    errors: bool,
    /// An input could not be read or parsed (exit 2).
    bad_input: bool,
    halt: Option<i32>,
}

impl Status {
    fn failed(&self) -> bool {
        self.errors || self.bad_input || self.halt.is_some_and(|c| c != 0)
    }

    fn merge(&mut self, other: Status) {
        self.outputs += other.outputs;
        self.last_truthy = other.last_truthy.or(self.last_truthy);
        self.errors |= other.errors;
        self.bad_input |= other.bad_input;
        self.halt = self.halt.or(other.halt);
    }

    fn exit(&self, exit_status: bool) -> Result<()> {
        let code = match () {
            _ if self.halt.is_some() => self.halt.unwrap_or(0),
            _ if self.bad_input => 2,
            _ if self.errors => 5,
            _ if exit_status && self.outputs == 0 => 4,
            _ if exit_status && self.last_truthy == Some(false) => 1,
            _ => 0,
        };
        if code == 0 {
            Ok(())
        } else {
            Err(Exit::silent(code).into())
        }
    }
}

fn plan(args: &QueryArgs, code: String, values: &[String]) -> Result<Plan> {
    let mut globals: Vec<(String, String)> = Vec::new();
    let mut named: Vec<(String, String)> = Vec::new();
    let string_json = |s: &str| {
        let mut out = Vec::new();
        crate::query::write_value(&mut out, &Value::from(s.to_string()), &compact());
        String::from_utf8_lossy(&out).into_owned()
    };
    for pair in args.arg.chunks(2) {
        named.push((pair[0].clone(), string_json(&pair[1])));
    }
    for pair in args.argjson.chunks(2) {
        let value = parse_json(pair[1].as_bytes())
            .map_err(|e| Exit::usage(format!("--argjson {}: invalid JSON text: {e}", pair[0])))?;
        named.push((pair[0].clone(), json_text(&value)));
    }
    for pair in args.slurpfile.chunks(2) {
        let text = read_text(Path::new(&pair[1]), &args.read)?;
        let values = parse_many(text.as_bytes())
            .map_err(|e| Exit::usage(format!("--slurpfile {}: {}: {e}", pair[0], pair[1])))?;
        named.push((pair[0].clone(), json_text(&values.into_iter().collect())));
    }
    for pair in args.rawfile.chunks(2) {
        let text = read_text(Path::new(&pair[1]), &args.read)?;
        named.push((pair[0].clone(), string_json(&text)));
    }
    let mut positional = Vec::new();
    for v in values {
        if args.jsonargs {
            let value = parse_json(v.as_bytes())
                .map_err(|e| Exit::usage(format!("--jsonargs: invalid JSON text {v:?}: {e}")))?;
            positional.push(json_text(&value));
        } else {
            positional.push(string_json(v));
        }
    }
    let named_obj = named
        .iter()
        .map(|(k, v)| format!("{}:{v}", string_json(k)))
        .collect::<Vec<_>>()
        .join(",");
    globals.push((
        "ARGS".into(),
        format!(
            "{{\"positional\":[{}],\"named\":{{{named_obj}}}}}",
            positional.join(",")
        ),
    ));
    globals.extend(named);

    let indent = match (args.tab, args.indent, args.compact_output) {
        (_, _, true) => Indent::Compact,
        (true, _, _) => Indent::Tab,
        (false, Some(0), _) => Indent::Compact,
        (false, Some(n), _) => Indent::Spaces(n as usize),
        (false, None, _) => Indent::Spaces(2),
    };
    let color = !args.monochrome_output
        && !args.in_place
        && (args.color_output
            || (std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()));
    let style = Style {
        indent,
        sort_keys: args.sort_keys,
        ascii: args.ascii_output,
        colors: color.then(|| Colors::from_env(std::env::var("JQ_COLORS").ok().as_deref())),
    };
    let streamable = !(args.slurp || args.null_input || args.raw_input);
    let stream = streamable.then(|| stream_shape(&code)).flatten();
    Ok(Plan {
        code,
        globals,
        style,
        raw: args.raw_output || args.join_output,
        newline: !args.join_output,
        seq: args.seq,
        stream,
    })
}

fn compact() -> Style {
    Style {
        indent: Indent::Compact,
        ..Style::default()
    }
}

fn json_text(value: &Value) -> String {
    let mut out = Vec::new();
    write_value(&mut out, value, &compact());
    String::from_utf8_lossy(&out).into_owned()
}

/// A small file read whole (`-f`, `--rawfile`, `--slurpfile`).
fn read_text(path: &Path, read: &ReadArgs) -> Result<String> {
    let mut input = Input::at(Some(path))
        .decompress(!read.no_decompress)
        .progress(false)
        .open()?;
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .with_context(|| path.display().to_string())?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: invalid UTF-8 at byte {}",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Every JSON value in `text`, through fkit's parser.
fn parse_many(text: &[u8]) -> Result<Vec<Value>, String> {
    let mut p = Parser::from_bytes(text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text).to_vec());
    let mut values = Vec::new();
    while p.peek_token().map_err(|e| e.describe("input"))?.is_some() {
        let bytes = p.capture().map_err(|e| e.describe("input"))?;
        values.push(parse_json(&bytes)?);
    }
    Ok(values)
}

/// The filter starts by iterating a path of the input: `.[]`, `.a.b[]`,
/// then the end or `|`. The path's keys, and the filter after the `|`.
fn stream_shape(code: &str) -> Option<(Vec<String>, String)> {
    let mut rest = code.trim_start().strip_prefix('.')?;
    let mut keys = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix("[]") {
            rest = after;
            break;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let key = &rest[..end];
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        keys.push(key.to_string());
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix('.') {
            rest = after;
        } else if !rest.starts_with("[]") {
            return None;
        }
    }
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Some((keys, ".".into()));
    }
    let after = rest.strip_prefix('|')?;
    // `.[] |= f` is an update, not a pipe.
    if after.starts_with('=') {
        return None;
    }
    Some((keys, after.to_string()))
}

/// One value to run the filter on.
struct Unit {
    file: Arc<str>,
    line: u64,
    kind: UnitKind,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq)]
enum UnitKind {
    /// JSON for the filter (the part after the streamed path, when streaming).
    Json,
    /// JSON of a whole top-level value, for the whole filter: streaming
    /// could not find an array or object at the path.
    Whole,
    /// A line of raw input (-R), or all of it (-R -s).
    Raw,
}

/// What the reader thread sends: units, or the error that ends an input.
enum Batch {
    Units(Vec<Unit>),
    BadInput(String),
}

const BATCH_UNITS: usize = 512;
const BATCH_BYTES: usize = 1 << 20;

/// Read every input into units on a thread of its own, run the filter,
/// write the outputs to `output`.
fn execute(
    plan: &Plan,
    program: &Program,
    mode: Mode,
    files: &[Option<PathBuf>],
    read: &ReadArgs,
    mut output: Output,
    status: &mut Status,
) -> Result<Output> {
    let (tx, rx) = bounded::<Batch>(4);
    let keys = plan.stream.as_ref().map(|(k, _)| k.clone());
    let raw = mode.raw_input.then_some(mode.slurp);
    std::thread::scope(|scope| -> Result<()> {
        let reader = scope.spawn(move || read_units(files, read, keys.as_deref(), raw, tx));
        let parallel = !(mode.slurp || mode.null_input || program.reads_inputs());
        let result = if parallel {
            run_parallel(plan, &rx, &mut output, status)
        } else {
            run_sequential(plan, program, mode, &rx, &mut output, status)
        };
        // Unblock the reader if the run stopped early, then wait for it.
        drop(rx);
        let _ = reader.join();
        result
    })?;
    Ok(output)
}

/// The reader thread: parse each file into units, in batches.
fn read_units(
    files: &[Option<PathBuf>],
    read: &ReadArgs,
    keys: Option<&[String]>,
    raw: Option<bool>,
    tx: Sender<Batch>,
) {
    let mut batch = Vec::new();
    let mut bytes = 0;
    let mut send = |unit: Unit, batch: &mut Vec<Unit>| -> bool {
        bytes += unit.bytes.len();
        batch.push(unit);
        if batch.len() >= BATCH_UNITS || bytes >= BATCH_BYTES {
            bytes = 0;
            return tx.send(Batch::Units(std::mem::take(batch))).is_ok();
        }
        true
    };
    let mut raw_all = Vec::new();
    for file in files {
        let input = match read.open(file.as_deref()) {
            Ok(input) => input,
            Err(e) => {
                let _ = tx.send(Batch::Units(std::mem::take(&mut batch)));
                let _ = tx.send(Batch::BadInput(format!("{e:#}")));
                continue;
            }
        };
        let name: Arc<str> = input.name().into();
        let reader = SkipBom::new(ReadAhead::new(input, 4));
        let result = match raw {
            Some(slurp) => read_raw(reader, &name, slurp, &mut raw_all, &mut |u| {
                send(u, &mut batch)
            }),
            None => read_json(reader, &name, keys, &mut |u| send(u, &mut batch)),
        };
        if let Err(message) = result {
            let _ = tx.send(Batch::Units(std::mem::take(&mut batch)));
            let _ = tx.send(Batch::BadInput(message));
            return;
        }
    }
    if raw == Some(true) {
        let unit = Unit {
            file: "<stdin>".into(),
            line: 1,
            kind: UnitKind::Raw,
            bytes: raw_all,
        };
        batch.push(unit);
    }
    if !batch.is_empty() {
        let _ = tx.send(Batch::Units(batch));
    }
}

/// -R: each line a unit; with -s all text gathered into `all`.
fn read_raw(
    reader: impl Read,
    name: &Arc<str>,
    slurp: bool,
    all: &mut Vec<u8>,
    send: &mut dyn FnMut(Unit) -> bool,
) -> Result<(), String> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    if slurp {
        reader
            .read_to_end(all)
            .map_err(|e| format!("{name}: {e}"))?;
        return Ok(());
    }
    let mut line = 0;
    loop {
        let mut bytes = Vec::new();
        let n = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| format!("{name}: {e}"))?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        let unit = Unit {
            file: name.clone(),
            line,
            kind: UnitKind::Raw,
            bytes,
        };
        if !send(unit) {
            return Ok(());
        }
    }
}

/// JSON values separated by whitespace; with `keys`, the elements at that
/// path of each value instead.
fn read_json(
    reader: impl Read,
    name: &Arc<str>,
    keys: Option<&[String]>,
    send: &mut dyn FnMut(Unit) -> bool,
) -> Result<(), String> {
    let mut p = Parser::new(reader);
    let fail = |e: ParseError| e.describe(name);
    while p.peek_token().map_err(fail)?.is_some() {
        let flow = match keys {
            None => {
                let line = p.line();
                let bytes = p.capture().map_err(fail)?;
                let unit = Unit {
                    file: name.clone(),
                    line,
                    kind: UnitKind::Json,
                    bytes,
                };
                if send(unit) {
                    Flow::Continue
                } else {
                    Flow::Stop
                }
            }
            Some(keys) => elements(&mut p, name, keys, 0, send).map_err(fail)?,
        };
        if flow == Flow::Stop {
            return Ok(());
        }
    }
    Ok(())
}

/// The parser at a value `depth` keys down `keys`: walk to the last key and
/// send each element there as a unit. Where the path does not lead to an
/// array or object, the whole filter runs on what is there, wrapped back in
/// the keys above it (the filter's result depends on nothing else).
fn elements(
    p: &mut Parser<'_>,
    name: &Arc<str>,
    keys: &[String],
    depth: usize,
    send: &mut dyn FnMut(Unit) -> bool,
) -> Result<Flow, ParseError> {
    let line = p.line();
    let whole = |bytes: Vec<u8>, depth: usize| {
        let mut wrapped = Vec::new();
        for key in &keys[..depth] {
            wrapped.push(b'{');
            wrapped.extend_from_slice(json_text(&Value::from(key.clone())).as_bytes());
            wrapped.push(b':');
        }
        wrapped.extend_from_slice(&bytes);
        wrapped.resize(wrapped.len() + depth, b'}');
        Unit {
            file: name.clone(),
            line,
            kind: UnitKind::Whole,
            bytes: wrapped,
        }
    };
    let go = |flow: bool| if flow { Flow::Continue } else { Flow::Stop };
    let next = p.peek_token()?;
    if depth == keys.len() {
        return match next {
            Some(b'[') => p.elements(&mut |p, _| {
                let line = p.line();
                let bytes = p.capture()?;
                let unit = Unit {
                    file: name.clone(),
                    line,
                    kind: UnitKind::Json,
                    bytes,
                };
                Ok(go(send(unit)))
            }),
            Some(b'{') => p.members(&mut |p, _| {
                let line = p.line();
                let bytes = p.capture()?;
                let unit = Unit {
                    file: name.clone(),
                    line,
                    kind: UnitKind::Json,
                    bytes,
                };
                Ok(go(send(unit)))
            }),
            _ => {
                let bytes = p.capture()?;
                Ok(go(send(whole(bytes, depth))))
            }
        };
    }
    if next != Some(b'{') {
        let bytes = p.capture()?;
        return Ok(go(send(whole(bytes, depth))));
    }
    let mut found = false;
    let mut stopped = false;
    p.members(&mut |p, key| {
        if found || key != keys[depth] {
            p.value(&mut super::parser::Skip)?;
            return Ok(Flow::Continue);
        }
        found = true;
        let flow = elements(p, name, keys, depth + 1, send)?;
        stopped = flow == Flow::Stop;
        Ok(flow)
    })?;
    if stopped {
        return Ok(Flow::Stop);
    }
    if !found {
        return Ok(go(send(whole(b"{}".to_vec(), depth))));
    }
    Ok(Flow::Continue)
}

/// Skips a UTF-8 byte order mark at the start, as jq does.
struct SkipBom<R> {
    inner: R,
    head: Vec<u8>,
    started: bool,
}

impl<R: Read> SkipBom<R> {
    fn new(inner: R) -> Self {
        SkipBom {
            inner,
            head: Vec::new(),
            started: false,
        }
    }
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.started {
            self.started = true;
            let mut head = [0u8; 3];
            let mut n = 0;
            while n < 3 {
                match self.inner.read(&mut head[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            self.head = if head[..n] == *b"\xEF\xBB\xBF" {
                Vec::new()
            } else {
                head[..n].to_vec()
            };
        }
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// The outputs of some units, ready to write, and how the run went.
#[derive(Default)]
struct Outcome {
    bytes: Vec<u8>,
    /// Runtime errors, each with the length of `bytes` when it happened, so
    /// stderr and stdout interleave as they would have.
    errors: Vec<(usize, String)>,
    outputs: u64,
    last_truthy: Option<bool>,
    halt: Option<i32>,
}

/// Builds the values a unit stands for and runs the filter on them.
struct Runner<'p> {
    plan: &'p Plan,
    /// The filter for `Json` units (the part after the streamed path).
    part: &'p Program,
    /// The whole filter, for `Whole` units.
    whole: &'p Program,
    globals: Vec<Value>,
}

impl Runner<'_> {
    fn globals(plan: &Plan) -> Vec<Value> {
        plan.globals
            .iter()
            .map(|(_, text)| parse_json(text.as_bytes()).unwrap_or(Value::Null))
            .collect()
    }

    fn value(unit: &Unit) -> Result<Value, String> {
        match unit.kind {
            UnitKind::Raw => Ok(Value::from(
                String::from_utf8_lossy(&unit.bytes).into_owned(),
            )),
            _ => parse_json(&unit.bytes).map_err(|e| format!("{}:{}: {e}", unit.file, unit.line)),
        }
    }

    fn unit(&self, unit: &Unit, out: &mut Outcome) {
        let value = match Runner::value(unit) {
            Ok(v) => v,
            Err(e) => {
                out.errors.push((out.bytes.len(), e));
                return;
            }
        };
        let program = if unit.kind == UnitKind::Whole {
            self.whole
        } else {
            self.part
        };
        program.run(value, &self.globals, &mut |result| {
            self.emit(result, &unit.file, unit.line, out)
        });
    }

    /// One output or failure of the filter into `out`; false to stop.
    fn emit(
        &self,
        result: Result<Value, Failure>,
        file: &str,
        line: u64,
        out: &mut Outcome,
    ) -> bool {
        match result {
            Ok(value) => {
                out.outputs += 1;
                out.last_truthy = Some(!matches!(value, Value::Null | Value::Bool(false)));
                if self.plan.seq {
                    out.bytes.push(0x1e);
                }
                match &value {
                    Value::TStr(s) if self.plan.raw => out.bytes.extend_from_slice(s),
                    _ => write_value(&mut out.bytes, &value, &self.plan.style),
                }
                if self.plan.newline {
                    out.bytes.push(b'\n');
                }
                true
            }
            Err(Failure::Halt(code)) => {
                out.halt = Some(code);
                false
            }
            Err(failure) => {
                let at = if line == 0 {
                    "<unknown>".to_string()
                } else {
                    format!("{file}:{line}")
                };
                let message = format!("error (at {at}): {}", failure.message());
                out.errors.push((out.bytes.len(), message));
                true
            }
        }
    }
}

/// Write an outcome; false once the run must stop (halt).
fn deliver(outcome: Outcome, output: &mut Output, status: &mut Status) -> Result<bool> {
    let mut written = 0;
    for (at, message) in &outcome.errors {
        output.write_all(&outcome.bytes[written..*at])?;
        written = *at;
        output.flush()?;
        if message.starts_with("error (at") {
            status.errors = true;
        } else {
            status.bad_input = true;
        }
        eprintln!("fkit: json: {message}");
    }
    output.write_all(&outcome.bytes[written..])?;
    status.outputs += outcome.outputs;
    if outcome.last_truthy.is_some() {
        status.last_truthy = outcome.last_truthy;
    }
    if let Some(code) = outcome.halt {
        status.halt = Some(code);
        return Ok(false);
    }
    Ok(true)
}

fn report_bad_input(message: &str, output: &mut Output, status: &mut Status) -> Result<()> {
    output.flush()?;
    eprintln!("fkit: json: {message}");
    status.bad_input = true;
    Ok(())
}

/// One worker per core, each with its own compiled filter; outcomes are
/// put back in input order before they are written.
fn run_parallel(
    plan: &Plan,
    rx: &Receiver<Batch>,
    output: &mut Output,
    status: &mut Status,
) -> Result<()> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (work_tx, work_rx) = bounded::<(u64, Vec<Unit>)>(workers * 2);
    let (done_tx, done_rx) = bounded::<(u64, Outcome)>(workers * 2);
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..workers {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                let Some((part, whole)) = compile_pair(plan) else {
                    return;
                };
                let runner = Runner {
                    plan,
                    part: &part,
                    whole: &whole,
                    globals: Runner::globals(plan),
                };
                for (seq, units) in work_rx {
                    let mut out = Outcome::default();
                    for unit in &units {
                        runner.unit(unit, &mut out);
                        if out.halt.is_some() {
                            break;
                        }
                    }
                    if done_tx.send((seq, out)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(work_rx);
        drop(done_tx);
        // Feed the workers from here, on a thread, so this one can write.
        let feeder = scope.spawn(move || {
            let mut seq = 0;
            for batch in rx {
                match batch {
                    Batch::Units(units) => {
                        if work_tx.send((seq, units)).is_err() {
                            return None;
                        }
                        seq += 1;
                    }
                    // Everything before the bad input is still written.
                    Batch::BadInput(message) => return Some((seq, message)),
                }
            }
            None
        });
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        let mut going = true;
        for (seq, outcome) in &done_rx {
            pending.insert(seq, outcome);
            while let Some(outcome) = pending.remove(&next) {
                next += 1;
                if going {
                    going = deliver(outcome, output, status)?;
                }
            }
            if !going {
                break;
            }
        }
        drop(done_rx);
        if let Ok(Some((_, message))) = feeder.join()
            && going
        {
            report_bad_input(&message, output, status)?;
        }
        Ok(())
    })
}

/// The filter after the streamed path, and the whole filter.
fn compile_pair(plan: &Plan) -> Option<(Program, Program)> {
    let names: Vec<&str> = plan.globals.iter().map(|(n, _)| n.as_str()).collect();
    let whole = Program::compile(&plan.code, &names).ok()?;
    let part = match &plan.stream {
        Some((_, rest)) => Program::compile(rest, &names).ok()?,
        None => Program::compile(&plan.code, &names).ok()?,
    };
    Some((part, whole))
}

/// -s, -n, and filters that read `input`/`inputs` themselves: one thread,
/// the inputs as one stream that both the main loop and the filter pull from.
fn run_sequential(
    plan: &Plan,
    program: &Program,
    mode: Mode,
    rx: &Receiver<Batch>,
    output: &mut Output,
    status: &mut Status,
) -> Result<()> {
    use jaq_std::input::RcIter;
    use std::cell::RefCell;
    let runner = Runner {
        plan,
        part: program,
        whole: program,
        globals: Runner::globals(plan),
    };
    // Where the value last taken from the stream came from.
    let place: RefCell<(Arc<str>, u64)> = RefCell::new(("<stdin>".into(), 0));
    let bad: RefCell<Option<String>> = RefCell::new(None);
    let units = rx.iter().flat_map(|batch| match batch {
        Batch::Units(units) => units,
        Batch::BadInput(message) => {
            *bad.borrow_mut() = Some(message);
            Vec::new()
        }
    });
    let values = units.map(|unit| {
        *place.borrow_mut() = (unit.file.clone(), unit.line);
        Runner::value(&unit)
    });
    let stream: Box<dyn Iterator<Item = Result<Value, String>>> = Box::new(values);
    let inputs = RcIter::new(stream);
    let run_on = |value: Value, output: &mut Output, status: &mut Status| -> Result<bool> {
        let mut out = Outcome::default();
        let (file, line) = place.borrow().clone();
        let filename = if line == 0 {
            Value::Null
        } else {
            Value::from(file.to_string())
        };
        program.run_with(value, &runner.globals, &inputs, &filename, &mut |result| {
            runner.emit(result, &file, line, &mut out)
        });
        deliver(out, output, status)
    };
    if mode.null_input {
        run_on(Value::Null, output, status)?;
    } else if mode.slurp {
        let mut all = Vec::new();
        for value in &inputs {
            match value {
                Ok(v) => all.push(v),
                Err(e) => {
                    report_bad_input(&e, output, status)?;
                    return Ok(());
                }
            }
        }
        if let Some(message) = bad.borrow_mut().take() {
            report_bad_input(&message, output, status)?;
            return Ok(());
        }
        let value = if mode.raw_input {
            all.pop().unwrap_or_else(|| Value::from(String::new()))
        } else {
            all.into_iter().collect()
        };
        run_on(value, output, status)?;
    } else {
        loop {
            let next = (&inputs).next();
            match next {
                None => break,
                Some(Ok(value)) => {
                    if !run_on(value, output, status)? {
                        return Ok(());
                    }
                }
                Some(Err(e)) => report_bad_input(&e, output, status)?,
            }
        }
    }
    if let Some(message) = bad.borrow_mut().take() {
        report_bad_input(&message, output, status)?;
    }
    Ok(())
}
