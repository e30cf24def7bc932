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
use crate::query::{
    Colors, Failure, Indent, Program, RawFilter, Style, Value, map_shape, parse_json,
    parse_minified, write_value,
};
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
/// all cores, with the output in input order. `map(f)`, `map(f) | g`,
/// `[.[] | f]` and `[.[] | f] | g` run f on each element of a top-level
/// array as it streams by, on all cores, and g on f's outputs: only those
/// are held (not when f uses debug, stderr, input, halt or $__loc__). Other
/// filters (and -s, -n, filters using `input`/`inputs`/`input_filename`)
/// get each whole top-level value in memory, as jq does.
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
///   fkit json query 'map(select(.score > 50)) | length' big.json  # streams
///   fkit json query --arg user alice '.[] | select(.name == $user)' users.json
///   fkit json query -n '[inputs | .size] | add' *.json
///   fkit json query -i '.version = "2.0"' package.json   # rewrite in place
///   fkit json query -n -- '-1 | abs'                      # a filter starting with -
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
    /// `map(F) | G` (or `[.[] | F] | G`): F, run on each element of a
    /// top-level array as it streams by, and G, run on F's outputs collected.
    collect: Option<(String, Option<String>)>,
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
    let mut plan = plan(&args, code, &values)?;
    let names: Vec<&str> = plan.globals.iter().map(|(n, _)| n.as_str()).collect();
    // F and G compile whenever the whole filter does; if ever not, the
    // whole filter runs as written.
    if let Some((f, g)) = &plan.collect
        && (Program::compile(f, &names).is_err()
            || g.as_ref()
                .is_some_and(|g| Program::compile(g, &names).is_err()))
    {
        plan.collect = None;
    }
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
    let collect = if streamable && stream.is_none() {
        map_shape(&code)
    } else {
        None
    };
    let collect = collect.map(|(f, g)| (f.to_string(), g.map(str::to_string)));
    Ok(Plan {
        code,
        globals,
        style,
        raw: args.raw_output || args.join_output,
        newline: !args.join_output,
        seq: args.seq,
        stream,
        collect,
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

/// One value to run the filter on: its text is `range` of its batch's text.
struct Unit {
    file: Arc<str>,
    line: u64,
    kind: UnitKind,
    range: std::ops::Range<usize>,
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
    /// An element of a top-level array that the whole filter will get:
    /// parsed on a worker, put together on the writing thread.
    Element,
    /// An element of a top-level array that F of `map(F) | G` runs on, on a
    /// worker; its outputs are put together on the writing thread for G.
    Mapped,
    /// The end of that array (no text).
    ArrayEnd,
}

/// What the reader thread sends: units (their text in one buffer, so a
/// batch is two allocations, not one per value), or the error that ends
/// an input.
enum Batch {
    Units(Units),
    BadInput(String),
}

#[derive(Default)]
struct Units {
    text: Vec<u8>,
    units: Vec<Unit>,
}

impl Units {
    /// Add a unit whose text `write` appends.
    fn push<E>(
        &mut self,
        file: &Arc<str>,
        line: u64,
        kind: UnitKind,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.text.len();
        write(&mut self.text)?;
        self.units.push(Unit {
            file: file.clone(),
            line,
            kind,
            range: start..self.text.len(),
        });
        Ok(())
    }

    fn full(&self) -> bool {
        self.units.len() >= BATCH_UNITS || self.text.len() >= BATCH_BYTES
    }
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
    let (recycle, spare) = bounded::<Units>(8);
    let keys = plan.stream.as_ref().map(|(k, _)| k.clone());
    let raw = mode.raw_input.then_some(mode.slurp);
    // With -n, jq reads no input unless the filter asks for it (so stdin
    // on a terminal does not wait for end of file).
    let files = if mode.null_input && !program.reads_inputs() {
        &[]
    } else {
        files
    };
    let parallel = !(mode.slurp || mode.null_input || program.reads_inputs());
    // Whole top-level arrays are parsed (or, for `map(F) | G`, run through
    // F) element by element on the workers.
    let split = match () {
        _ if !parallel || keys.is_some() => Split::Off,
        _ if plan.collect.is_some() => Split::Mapped,
        _ => Split::Elements,
    };
    std::thread::scope(|scope| -> Result<()> {
        let reader =
            scope.spawn(move || read_units(files, read, keys.as_deref(), raw, split, tx, spare));
        let result = if parallel {
            run_parallel(plan, program, &rx, recycle, &mut output, status)
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

/// What becomes of the elements of a top-level array when no path streams.
#[derive(Clone, Copy, PartialEq)]
enum Split {
    /// The array is one unit.
    Off,
    /// Its elements are `Element` units.
    Elements,
    /// Its elements are `Mapped` units; other top-level values are `Whole`.
    Mapped,
}

/// Collects units into batches and sends each when it is full.
struct Batcher {
    current: Units,
    tx: Sender<Batch>,
    /// Batches the workers are done with, to fill again: their memory is
    /// already mapped, where a new one would fault in fresh pages.
    spare: Receiver<Units>,
    /// The receiving side is gone: stop reading.
    closed: bool,
}

impl Batcher {
    /// After a unit was added: send the batch if it is full. False once
    /// nobody listens.
    fn added(&mut self) -> bool {
        if self.current.full() {
            self.flush();
        }
        !self.closed
    }

    fn flush(&mut self) {
        if !self.current.units.is_empty() {
            let mut next = self.spare.try_recv().unwrap_or_default();
            next.text.clear();
            next.units.clear();
            let batch = std::mem::replace(&mut self.current, next);
            self.closed |= self.tx.send(Batch::Units(batch)).is_err();
        }
    }

    fn bad_input(&mut self, message: String) {
        self.flush();
        self.closed |= self.tx.send(Batch::BadInput(message)).is_err();
    }
}

/// The reader thread: parse each file into units, in batches.
fn read_units(
    files: &[Option<PathBuf>],
    read: &ReadArgs,
    keys: Option<&[String]>,
    raw: Option<bool>,
    split: Split,
    tx: Sender<Batch>,
    spare: Receiver<Units>,
) {
    let mut b = Batcher {
        current: Units::default(),
        tx,
        spare,
        closed: false,
    };
    let mut raw_all = Vec::new();
    for file in files {
        let input = match read.open(file.as_deref()) {
            Ok(input) => input,
            Err(e) => {
                b.bad_input(format!("{e:#}"));
                continue;
            }
        };
        let name: Arc<str> = input.name().into();
        let reader = SkipBom::new(ReadAhead::new(input, 4));
        let result = match raw {
            Some(slurp) => read_raw(reader, &name, slurp, &mut raw_all, &mut b),
            None => read_json(reader, &name, keys, split, &mut b),
        };
        if let Err(message) = result {
            b.bad_input(message);
            return;
        }
        if b.closed {
            return;
        }
    }
    if raw == Some(true) {
        let all: Arc<str> = "<stdin>".into();
        let _ = b.current.push(&all, 1, UnitKind::Raw, |t| {
            t.extend_from_slice(&raw_all);
            Ok::<_, ()>(())
        });
    }
    b.flush();
}

/// -R: each line a unit; with -s all text gathered into `all`.
fn read_raw(
    reader: impl Read,
    name: &Arc<str>,
    slurp: bool,
    all: &mut Vec<u8>,
    b: &mut Batcher,
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
        line += 1;
        let mut ended = false;
        b.current.push(name, line, UnitKind::Raw, |t| {
            let start = t.len();
            let n = reader
                .read_until(b'\n', t)
                .map_err(|e| format!("{name}: {e}"))?;
            ended = n == 0;
            if t.len() > start && t.last() == Some(&b'\n') {
                t.pop();
            }
            Ok::<_, String>(())
        })?;
        if ended {
            b.current.units.pop();
            return Ok(());
        }
        if !b.added() {
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
    split: Split,
    b: &mut Batcher,
) -> Result<(), String> {
    let mut p = Parser::new(reader);
    let fail = |e: ParseError| e.describe(name);
    while let Some(next) = p.peek_token().map_err(fail)? {
        let flow = match keys {
            None if split != Split::Off && next == b'[' => {
                let kind = if split == Split::Mapped {
                    UnitKind::Mapped
                } else {
                    UnitKind::Element
                };
                // Batches hold either elements of one array or other units.
                b.flush();
                let line = p.line();
                let flow = p
                    .elements(&mut |p, _| {
                        let line = p.line();
                        b.current.push(name, line, kind, |t| p.capture_into(t))?;
                        Ok(if b.added() {
                            Flow::Continue
                        } else {
                            Flow::Stop
                        })
                    })
                    .map_err(fail)?;
                let _ = b
                    .current
                    .push(name, line, UnitKind::ArrayEnd, |_| Ok::<_, ()>(()));
                b.flush();
                if b.closed { Flow::Stop } else { flow }
            }
            None => {
                let line = p.line();
                let kind = if split == Split::Mapped {
                    UnitKind::Whole
                } else {
                    UnitKind::Json
                };
                b.current
                    .push(name, line, kind, |t| p.capture_into(t))
                    .map_err(fail)?;
                if b.added() {
                    Flow::Continue
                } else {
                    Flow::Stop
                }
            }
            Some(keys) => elements(&mut p, name, keys, 0, b).map_err(fail)?,
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
    b: &mut Batcher,
) -> Result<Flow, ParseError> {
    let line = p.line();
    let go = |b: &mut Batcher| {
        if b.added() {
            Flow::Continue
        } else {
            Flow::Stop
        }
    };
    // The whole filter on `{"k1":{"k2":…VALUE…}}`, VALUE from `write`.
    let whole = |p: &mut Parser<'_>, b: &mut Batcher, empty: bool| {
        b.current.push(name, line, UnitKind::Whole, |t| {
            for key in &keys[..depth] {
                t.push(b'{');
                t.extend_from_slice(json_text(&Value::from(key.clone())).as_bytes());
                t.push(b':');
            }
            if empty {
                t.extend_from_slice(b"{}");
            } else {
                p.capture_into(t)?;
            }
            t.resize(t.len() + depth, b'}');
            Ok(())
        })?;
        Ok(go(b))
    };
    let next = p.peek_token()?;
    if depth == keys.len() {
        return match next {
            Some(b'[') => p.elements(&mut |p, _| {
                let line = p.line();
                b.current
                    .push(name, line, UnitKind::Json, |t| p.capture_into(t))?;
                Ok(go(b))
            }),
            Some(b'{') => p.members(&mut |p, _| {
                let line = p.line();
                b.current
                    .push(name, line, UnitKind::Json, |t| p.capture_into(t))?;
                Ok(go(b))
            }),
            _ => whole(p, b, false),
        };
    }
    if next != Some(b'{') {
        return whole(p, b, false);
    }
    let mut found = false;
    let mut stopped = false;
    p.members(&mut |p, key| {
        if found || key != keys[depth] {
            p.value(&mut super::parser::Skip)?;
            return Ok(Flow::Continue);
        }
        found = true;
        let flow = elements(p, name, keys, depth + 1, b)?;
        stopped = flow == Flow::Stop;
        Ok(flow)
    })?;
    if stopped {
        return Ok(Flow::Stop);
    }
    if !found {
        return whole(p, b, true);
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
    /// Elements of a top-level array, parsed (or F's outputs on them), in order.
    elements: Vec<Value>,
    /// The first error F raised on an element of a top-level array.
    mapped_error: Option<String>,
    /// The array ended in this batch: where it started, for errors.
    array_end: Option<(Arc<str>, u64)>,
}

/// Builds the values a unit stands for and runs the filter on them.
struct Runner<'p> {
    plan: &'p Plan,
    /// The filter for `Json` units (the part after the streamed path).
    part: &'p Program,
    /// The whole filter, for `Whole` units.
    whole: &'p Program,
    /// `part` run on the text of a value, when its shape allows.
    shortcut: Option<RawFilter>,
    globals: Vec<Value>,
}

impl Runner<'_> {
    fn globals(plan: &Plan) -> Vec<Value> {
        plan.globals
            .iter()
            .map(|(_, text)| parse_json(text.as_bytes()).unwrap_or(Value::Null))
            .collect()
    }

    /// The unit's value, or None with its error put in `out`.
    fn value_or_error(unit: &Unit, text: &[u8], out: &mut Outcome) -> Option<Value> {
        Runner::value(unit, text)
            .map_err(|e| out.errors.push((out.bytes.len(), e)))
            .ok()
    }

    fn value(unit: &Unit, text: &[u8]) -> Result<Value, String> {
        let text = &text[unit.range.clone()];
        match unit.kind {
            UnitKind::Raw => Ok(Value::from(String::from_utf8_lossy(text).into_owned())),
            // Captured by fkit's parser: minified.
            _ => parse_minified(text).map_err(|e| format!("{}:{}: {e}", unit.file, unit.line)),
        }
    }

    fn unit(&self, unit: &Unit, text: &[u8], out: &mut Outcome) {
        match unit.kind {
            UnitKind::Element => {
                match Runner::value(unit, text) {
                    Ok(v) => out.elements.push(v),
                    Err(e) => out.errors.push((out.bytes.len(), e)),
                }
                return;
            }
            UnitKind::ArrayEnd => {
                out.array_end = Some((unit.file.clone(), unit.line));
                return;
            }
            UnitKind::Mapped => {
                // After F's first error the array's result is that error.
                if out.mapped_error.is_none() {
                    self.mapped(unit, text, out);
                }
                return;
            }
            _ => {}
        }
        if unit.kind == UnitKind::Json
            && let Some(shortcut) = &self.shortcut
        {
            match shortcut.run(&text[unit.range.clone()], self.plan.raw, &mut out.bytes) {
                Some(None) => return,
                Some(Some(truthy)) => {
                    out.outputs += 1;
                    out.last_truthy = Some(truthy);
                    if self.plan.newline {
                        out.bytes.push(b'\n');
                    }
                    return;
                }
                None => {}
            }
        }
        let Some(value) = Runner::value_or_error(unit, text, out) else {
            return;
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

    /// F of `map(F)` on one element: its outputs into `out.elements`.
    fn mapped(&self, unit: &Unit, text: &[u8], out: &mut Outcome) {
        if let Some(shortcut) = &self.shortcut {
            let mut kept = Vec::new();
            match shortcut.run(&text[unit.range.clone()], false, &mut kept) {
                Some(None) => return,
                Some(Some(_)) => {
                    match parse_minified(&kept) {
                        Ok(v) => out.elements.push(v),
                        Err(e) => out.errors.push((out.bytes.len(), e)),
                    }
                    return;
                }
                None => {}
            }
        }
        let Some(value) = Runner::value_or_error(unit, text, out) else {
            return;
        };
        self.part
            .run(value, &self.globals, &mut |result| match result {
                Ok(v) => {
                    out.elements.push(v);
                    true
                }
                Err(Failure::Halt(code)) => {
                    out.halt = Some(code);
                    false
                }
                Err(failure) => {
                    out.mapped_error = Some(failure.message());
                    false
                }
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
                let message = runtime_error(file, line, &failure.message());
                out.errors.push((out.bytes.len(), message));
                true
            }
        }
    }
}

/// A runtime error as jq reports it, at the input value's FILE:LINE.
fn runtime_error(file: &str, line: u64, message: &str) -> String {
    if line == 0 {
        format!("error (at <unknown>): {message}")
    } else {
        format!("error (at {file}:{line}): {message}")
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
    program: &Program,
    rx: &Receiver<Batch>,
    recycle: Sender<Units>,
    output: &mut Output,
    status: &mut Status,
) -> Result<()> {
    let here = Runner {
        plan,
        part: program,
        whole: program,
        shortcut: None,
        globals: Runner::globals(plan),
    };
    let mut array: Vec<Value> = Vec::new();
    let mut mapped_error: Option<String> = None;
    // G of `map(F) | G`, run here on F's outputs.
    let names: Vec<&str> = plan.globals.iter().map(|(n, _)| n.as_str()).collect();
    let tail = match &plan.collect {
        Some((_, Some(g))) => Program::compile(g, &names).ok(),
        _ => None,
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (work_tx, work_rx) = bounded::<(u64, Batch)>(workers * 2);
    let (done_tx, done_rx) = bounded::<(u64, Outcome)>(workers * 2);
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..workers {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            let recycle = recycle.clone();
            scope.spawn(move || {
                let Some((part, whole)) = compile_pair(plan) else {
                    return;
                };
                let runner = Runner {
                    plan,
                    part: &part,
                    whole: &whole,
                    shortcut: shortcut(plan),
                    globals: Runner::globals(plan),
                };
                for (seq, batch) in work_rx {
                    let mut out = Outcome::default();
                    match batch {
                        Batch::Units(batch) => {
                            for unit in &batch.units {
                                runner.unit(unit, &batch.text, &mut out);
                                if out.halt.is_some() {
                                    break;
                                }
                            }
                            // A batch grown by one huge value is let go.
                            if batch.text.capacity() <= 2 * BATCH_BYTES {
                                let _ = recycle.try_send(batch);
                            }
                        }
                        // Reported in its place; the other inputs go on.
                        Batch::BadInput(message) => out.errors.push((0, message)),
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
        scope.spawn(move || {
            for (seq, batch) in rx.iter().enumerate() {
                if work_tx.send((seq as u64, batch)).is_err() {
                    return;
                }
            }
        });
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        let mut going = true;
        for (seq, outcome) in &done_rx {
            pending.insert(seq, outcome);
            while let Some(mut outcome) = pending.remove(&next) {
                next += 1;
                array.append(&mut outcome.elements);
                if mapped_error.is_none() {
                    mapped_error = outcome.mapped_error.take();
                }
                let end = outcome.array_end.take();
                if going {
                    going = deliver(outcome, output, status)?;
                }
                if let Some((file, line)) = &end
                    && going
                    && plan.collect.is_some()
                {
                    let (file, line) = (file.clone(), *line);
                    let mut out = Outcome::default();
                    let value = Value::Arr(std::mem::take(&mut array).into());
                    // F's outputs can be most of the document: freed as below.
                    let last = value.clone();
                    match (mapped_error.take(), &tail) {
                        (Some(message), _) => {
                            let message = runtime_error(&file, line, &message);
                            out.errors.push((0, message));
                        }
                        (None, Some(tail)) => tail.run(value, &here.globals, &mut |result| {
                            here.emit(result, &file, line, &mut out)
                        }),
                        (None, None) => {
                            here.emit(Ok(value), &file, line, &mut out);
                        }
                    }
                    std::thread::spawn(move || drop(last));
                    going = deliver(out, output, status)?;
                } else if let Some((file, line)) = end
                    && going
                {
                    // The whole filter on the array, here, as jq would.
                    let mut out = Outcome::default();
                    let value = Value::Arr(std::mem::take(&mut array).into());
                    // Freeing a document-sized tree takes as long as a
                    // fair part of parsing it: the last reference goes to
                    // a thread of its own, which the exit need not wait for.
                    let last = value.clone();
                    here.whole.run(value, &here.globals, &mut |result| {
                        here.emit(result, &file, line, &mut out)
                    });
                    std::thread::spawn(move || drop(last));
                    going = deliver(out, output, status)?;
                }
            }
            if !going {
                break;
            }
        }
        drop(done_rx);
        Ok(())
    })
}

/// The filter (after the streamed path) run on text, when its shape and
/// the output options allow: compact, unsorted, uncoloured, UTF-8 as is.
fn shortcut(plan: &Plan) -> Option<RawFilter> {
    let style = &plan.style;
    let plain = matches!(style.indent, Indent::Compact)
        && !style.sort_keys
        && !style.ascii
        && style.colors.is_none()
        && !plan.seq;
    let code = match (&plan.stream, &plan.collect) {
        (Some((_, rest)), _) => rest,
        // F's outputs are parsed back into values: any style will do.
        (None, Some((f, _))) => return RawFilter::compile(f),
        (None, None) => plan.code.as_str(),
    };
    plain.then(|| RawFilter::compile(code)).flatten()
}

/// The filter after the streamed path, and the whole filter.
fn compile_pair(plan: &Plan) -> Option<(Program, Program)> {
    let names: Vec<&str> = plan.globals.iter().map(|(n, _)| n.as_str()).collect();
    let whole = Program::compile(&plan.code, &names).ok()?;
    let part = match (&plan.stream, &plan.collect) {
        (Some((_, rest)), _) | (None, Some((rest, _))) => Program::compile(rest, &names).ok()?,
        (None, None) => Program::compile(&plan.code, &names).ok()?,
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
    use std::rc::Rc;
    let runner = Runner {
        plan,
        part: program,
        whole: program,
        shortcut: None,
        globals: Runner::globals(plan),
    };
    // Where the value last taken from the stream came from.
    let place: RefCell<(Arc<str>, u64)> = RefCell::new(("<stdin>".into(), 0));
    let bad: RefCell<Option<String>> = RefCell::new(None);
    let batches = rx.iter().filter_map(|batch| match batch {
        Batch::Units(units) => Some(Rc::new(units)),
        Batch::BadInput(message) => {
            *bad.borrow_mut() = Some(message);
            None
        }
    });
    let values = batches
        .flat_map(|batch| (0..batch.units.len()).map(move |i| (batch.clone(), i)))
        .map(|(batch, i)| {
            let unit = &batch.units[i];
            *place.borrow_mut() = (unit.file.clone(), unit.line);
            Runner::value(unit, &batch.text)
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
