//! `fkit json`: format, minify, validate, query and convert JSON and NDJSON
//! in one streaming pass, never building a tree.

mod lookup;
pub(crate) mod parser;
pub(crate) mod path;
mod query;
mod write;

use crate::io::ReadAhead;
use crate::io::args::{OutputArgs, ReadArgs};
use crate::io::{Exit, Output};
use anyhow::{Context, Result, anyhow};
use parser::{Error, Flow, Parser, Skip};
use std::path::{Path, PathBuf};
use write::{Layout, SortedKeys, StrictKeys, Writer};

/// Format, minify, validate, query and convert JSON and NDJSON, streaming.
///
/// Every operation reads its input once, token by token, without building a
/// tree: fmt, min and validate run in constant memory on files of any size,
/// and get/keys/type/length skip what they do not need and stop reading once
/// they have the answer. Numbers and strings are copied exactly as written
/// (12345678901234567890, 1e400 and 0.10000000000000000001 survive), key
/// order and duplicate keys are kept, and nesting depth is limited only by
/// memory (one byte per level). Errors say where: FILE:LINE:COLUMN.
///
/// With --lines the input is NDJSON: each line is its own document, handled
/// and streamed on its own; a bad line is reported with its line number and
/// the rest go on (exit status 1 at the end). gzip and bzip2 input is
/// decoded on the fly.
///
/// Examples:
///   fkit json fmt data.json                      # pretty-print, 2 spaces
///   fkit json min data.json -o data.min.json     # minify, written atomically
///   fkit json validate --lines events.ndjson.gz  # every bad line, with its number
///   fkit json get .users[0].name data.json       # or /users/0/name
///   fkit json keys /users/0 data.json
///   fkit json to-csv records.json -o records.csv
///   fkit json query '.[] | select(.age > 30) | .name' users.json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    Fmt(FmtArgs),
    Min(MinArgs),
    Validate(ValidateArgs),
    Get(GetArgs),
    /// The keys of an object, or the indexes of an array.
    ///
    /// Keys come in document order (duplicates included), one per line, or
    /// as a JSON array with --json. PATH (optional: the whole document by
    /// default) is a JSON Pointer or a dotted path, as for get. Streams: the
    /// value at PATH is read without being built.
    ///
    /// Examples:
    ///   fkit json keys config.json
    ///   fkit json keys --json /users/0 users.json
    ///   fkit json keys --lines events.ndjson
    #[command(verbatim_doc_comment)]
    Keys(ReportArgs),
    /// The type of a value: object, array, string, number, boolean or null.
    ///
    /// PATH (optional: the whole document by default) is a JSON Pointer or a
    /// dotted path, as for get. Only the first byte of the value is read, so
    /// the rest of the input is not checked.
    ///
    /// Examples:
    ///   fkit json type data.json
    ///   fkit json type --json .users[0].age users.json   # "number"
    #[command(verbatim_doc_comment)]
    Type(ReportArgs),
    /// The length of a value: members of an object, elements of an array,
    /// characters of a string, 0 for null.
    ///
    /// PATH (optional: the whole document by default) is a JSON Pointer or a
    /// dotted path, as for get. Streams: elements are counted without being
    /// built, so the length of a 10 GB array takes a few MB.
    ///
    /// Examples:
    ///   fkit json length data.json
    ///   fkit json length /items data.json
    ///   fkit json length --lines .tags events.ndjson
    #[command(verbatim_doc_comment)]
    Length(ReportArgs),
    ToCsv(ToCsvArgs),
    Query(query::QueryArgs),
}

/// Input and output options every operation shares.
#[derive(clap::Args, Debug)]
struct Io {
    /// NDJSON: one document per line, each handled on its own.
    #[arg(long)]
    lines: bool,

    #[command(flatten)]
    out: OutputArgs,

    #[command(flatten)]
    read: ReadArgs,
}

/// Pretty-print JSON (streams, constant memory).
///
/// Indents each member and element on its own line. Streams token by token:
/// a 10 GB document formats in a few MB of memory. Numbers, strings and keys
/// are copied exactly as written; only whitespace changes. --sort-keys has
/// to hold each object in memory until it closes (arrays outside any object
/// still stream, so a top-level array of records holds one record at a time).
///
/// Examples:
///   fkit json fmt data.json
///   curl -s https://api.example.com/x | fkit json fmt --sort-keys
///   fkit json fmt --tab --lines events.ndjson
///   fkit json fmt data.json -o pretty.json --force
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
struct FmtArgs {
    /// File to read; `-` or nothing reads stdin.
    input: Option<PathBuf>,

    /// Spaces per level (0 writes minified output, like jq).
    #[arg(long, value_name = "N", default_value_t = 2, conflicts_with = "tab")]
    indent: usize,

    /// Indent with one tab per level.
    #[arg(long)]
    tab: bool,

    /// Write object members sorted by key (buffers each object).
    #[arg(short = 'S', long)]
    sort_keys: bool,

    #[command(flatten)]
    io: Io,
}

/// Minify JSON: remove all whitespace (streams, constant memory).
///
/// Numbers, strings and keys are copied exactly as written, duplicate keys
/// included. With --lines, each NDJSON line is minified onto one line.
///
/// Examples:
///   fkit json min data.json > data.min.json
///   fkit json min --lines events.ndjson.gz -o events.ndjson
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
struct MinArgs {
    /// File to read; `-` or nothing reads stdin.
    input: Option<PathBuf>,

    #[command(flatten)]
    io: Io,
}

/// Check that input is valid JSON (streams, constant memory).
///
/// Exit status 0 when every input is valid, 1 when not; each problem is
/// reported as FILE:LINE:COLUMN: MESSAGE (column in bytes). Strict RFC 8259:
/// one value per input (use --lines for NDJSON), no byte order mark, valid
/// UTF-8, no lone surrogate escapes, no trailing commas, no comments.
/// --strict also rejects duplicate keys in an object.
///
/// Examples:
///   fkit json validate config.json && deploy
///   fkit json validate --lines --json events.ndjson   # every bad line, as JSON
///   fkit json validate --strict *.json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
struct ValidateArgs {
    /// Files to check; `-` or nothing reads stdin.
    files: Vec<PathBuf>,

    /// NDJSON: check every line and report each bad one.
    #[arg(long)]
    lines: bool,

    /// Also reject duplicate keys in an object.
    #[arg(long)]
    strict: bool,

    /// Print one JSON report per file on stdout:
    /// {"file":…,"valid":…,"errors":[{"line":…,"column":…,"offset":…,"message":…}]}
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    read: ReadArgs,
}

/// Print the values at one or more paths.
///
/// A PATH is a JSON Pointer (RFC 6901: /users/0/name, "" for the whole
/// document) or a dotted path (.users[0].name, .["key.with.dots"], "." for
/// the whole document). The last argument is the input FILE when it is `-`,
/// an existing file, or does not look like a path; otherwise stdin is read.
///
/// Streams: values off the paths are skipped without being built, and
/// reading stops as soon as every path is found (the rest of the input is
/// not checked). With several paths, each value is printed in the order the
/// paths were given. On duplicate keys the first wins. A path that is not in
/// the document is an error naming it (exit status 1).
///
/// Examples:
///   fkit json get /0/id data.json
///   fkit json get -r .users[0].name .users[0].email users.json
///   fkit json get --lines -r .id events.ndjson     # one answer per line
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
struct GetArgs {
    /// JSON Pointers or dotted paths, then optionally the input FILE.
    #[arg(required = true, value_name = "PATH")]
    args: Vec<String>,

    /// Print strings raw (no quotes, escapes decoded), like jq -r.
    #[arg(short, long)]
    raw: bool,

    /// Print values minified, one per line.
    #[arg(short, long)]
    compact: bool,

    #[command(flatten)]
    io: Io,
}

/// Arguments of keys, type and length.
#[derive(clap::Args, Debug)]
struct ReportArgs {
    /// A JSON Pointer or dotted path; the whole document by default.
    path: Option<String>,

    /// File to read; `-` or nothing reads stdin. A lone argument that is
    /// `-`, an existing file, or does not look like a path is the FILE.
    file: Option<String>,

    /// Print the answer as JSON (keys as an array, the type as a string).
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    io: Io,
}

/// Convert an array of objects, or NDJSON, to CSV.
///
/// Nested objects and arrays flatten to dotted columns (address.city,
/// tags.0); the header is the union of all keys in first-seen order; null is
/// an empty field; numbers are kept exactly as written. The same flattening
/// as `fkit csv from-json`. Records are spilled to a temporary file while the
/// header grows, so memory holds the header, not the data. A top-level array
/// and NDJSON are both recognised (--lines is accepted and changes nothing).
///
/// Examples:
///   fkit json to-csv users.json -o users.csv
///   fkit json to-csv --lines -d ';' events.ndjson.gz > events.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
struct ToCsvArgs {
    /// File to read; `-` or nothing reads stdin.
    input: Option<PathBuf>,

    /// Field delimiter: one byte, or `tab`.
    #[arg(short, long, default_value = ",", value_parser = delimiter)]
    delimiter: u8,

    #[command(flatten)]
    io: Io,
}

impl ReportArgs {
    fn positionals(&self) -> Vec<String> {
        self.path.iter().chain(&self.file).cloned().collect()
    }
}

fn delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if text.len() == 1 => Ok(text.as_bytes()[0]),
        _ => Err(format!("invalid delimiter {text:?}: one byte, or `tab`")),
    }
}

pub fn run(args: Args) -> Result<()> {
    match args.action {
        Action::Fmt(a) => {
            let layout = match (a.tab, a.indent) {
                (true, _) => Layout::Pretty(b"\t".to_vec()),
                (false, 0) => Layout::Minified,
                (false, n) => Layout::Pretty(vec![b' '; n]),
            };
            transcode(a.input.as_deref(), &a.io, &layout, a.sort_keys)
        }
        Action::Min(a) => transcode(a.input.as_deref(), &a.io, &Layout::Minified, false),
        Action::Validate(a) => validate(&a),
        Action::Get(a) => lookup::get(&a.args, a.raw, a.compact, &a.io),
        Action::Keys(a) => lookup::report(lookup::Report::Keys, &a.positionals(), a.json, &a.io),
        Action::Type(a) => lookup::report(lookup::Report::Type, &a.positionals(), a.json, &a.io),
        Action::Length(a) => {
            lookup::report(lookup::Report::Length, &a.positionals(), a.json, &a.io)
        }
        Action::Query(a) => query::run(a),
        Action::ToCsv(a) => {
            let mut input = a.io.read.open(a.input.as_deref())?;
            let mut output = a.io.out.create()?;
            crate::records::flatten::json_to_csv(&mut input, &mut output, a.delimiter)?;
            output.finish()
        }
    }
}

/// fmt and min: copy the input token by token through a writer.
fn transcode(path: Option<&Path>, io: &Io, layout: &Layout, sort_keys: bool) -> Result<()> {
    let input = io.read.open(path)?;
    let name = input.name().to_string();
    let mut output = io.out.create()?;
    let out_name = output.name().to_string();
    let mut writer = Writer::new(&mut output, layout);
    let mut p = Parser::new(ReadAhead::new(input, 4)).lines(io.lines);
    let one = |p: &mut Parser<'_>, w: &mut Writer<'_>| -> Result<Flow, Error> {
        if sort_keys {
            p.value(&mut SortedKeys::new(w))?;
        } else {
            p.value(w)?;
        }
        w.write(b"\n");
        Ok(Flow::Continue)
    };
    let result = documents(&mut p, &name, &mut writer, io.lines, one);
    writer.finish().with_context(|| out_name)?;
    finish(result, output)
}

/// Run `one` on the input's document, or on each line's with --lines
/// (reporting a bad line and going on). Returns the number of bad documents.
fn documents(
    p: &mut Parser<'_>,
    name: &str,
    w: &mut Writer<'_>,
    lines: bool,
    one: impl FnMut(&mut Parser<'_>, &mut Writer<'_>) -> Result<Flow, Error>,
) -> Result<u64> {
    if lines {
        each_line(p, name, w, one, &mut print_error)
    } else {
        whole(p, name, w, one)
    }
}

/// Commit the output only when every document was good.
fn finish(result: Result<u64>, output: Output) -> Result<()> {
    match result? {
        0 => output.finish(),
        _ => Err(Exit::silent(1).into()),
    }
}

/// A single-document input: `each` reads the value; then only whitespace
/// may follow (unless `each` stopped early). Returns 0 bad documents, or the error.
fn whole(
    p: &mut Parser<'_>,
    name: &str,
    w: &mut Writer<'_>,
    each: impl FnOnce(&mut Parser<'_>, &mut Writer<'_>) -> Result<Flow, Error>,
) -> Result<u64> {
    let result = p
        .start()
        .and_then(|()| each(p, w))
        .and_then(|flow| match flow {
            Flow::Continue => p.end_of_input(),
            Flow::Stop => Ok(()),
        });
    result.map_err(|e| fail(e, name))?;
    Ok(0)
}

/// NDJSON: `each` reads the document of every non-blank line. A bad line is
/// passed to `on_error`, its output taken back, and the next line goes on;
/// the count of bad lines.
fn each_line(
    p: &mut Parser<'_>,
    name: &str,
    w: &mut Writer<'_>,
    mut each: impl FnMut(&mut Parser<'_>, &mut Writer<'_>) -> Result<Flow, Error>,
    on_error: &mut dyn FnMut(&str, &Error),
) -> Result<u64> {
    let mut bad = 0;
    w.begin_record();
    loop {
        let result = match p.next_line() {
            Ok(false) => return Ok(bad),
            Ok(true) => each(p, w).and_then(|flow| match flow {
                Flow::Continue => p.finish_line(),
                Flow::Stop => p.skip_line(),
            }),
            Err(e) => Err(e),
        };
        if parser::Sink::failed(w) {
            return Err(fail(Error::Stopped, name));
        }
        match result {
            Ok(()) => w.commit(),
            Err(e @ (Error::Io(_) | Error::Stopped)) => return Err(fail(e, name)),
            Err(e @ Error::Missing(..)) => {
                // The line was read to its end: report it and go on.
                bad += 1;
                w.commit();
                on_error(name, &e);
            }
            Err(e) => {
                bad += 1;
                w.rollback();
                on_error(name, &e);
                p.skip_line().map_err(|e| fail(e, name))?;
            }
        }
    }
}

fn print_error(name: &str, e: &Error) {
    eprintln!("fkit: json: {}", e.describe(name));
}

/// A parse error as the command's error.
fn fail(e: Error, name: &str) -> anyhow::Error {
    match e {
        Error::Io(io) => anyhow!(io).context(name.to_string()),
        Error::Stopped => anyhow!("output failed"),
        other => anyhow!(other.describe(name)),
    }
}

fn validate(args: &ValidateArgs) -> Result<()> {
    let files: Vec<Option<&Path>> = if args.files.is_empty() {
        vec![None]
    } else {
        args.files.iter().map(|f| Some(f.as_path())).collect()
    };
    let mut all_valid = true;
    for file in files {
        // An unreadable file is one more invalid input: the others are still checked.
        let input = match args.read.open(file) {
            Ok(input) => input,
            Err(e) => {
                all_valid = false;
                let name = crate::io::input::display_name(file);
                if args.json {
                    let note = Error::other(None, format!("{e:#}"));
                    println!("{}", report_json(&name, &[note]));
                } else {
                    eprintln!("fkit: json: {e:#}");
                }
                continue;
            }
        };
        let name = input.name().to_string();
        let mut p = Parser::new(ReadAhead::new(input, 4)).lines(args.lines);
        let strict = args.strict;
        let check = |p: &mut Parser<'_>, _: &mut Writer<'_>| -> Result<Flow, Error> {
            if strict {
                p.value(&mut StrictKeys::default())?;
            } else {
                p.value(&mut Skip)?;
            }
            Ok(Flow::Continue)
        };
        // With --json the errors are kept for the report; otherwise each is
        // printed as it is found, so memory stays constant.
        let mut errors: Vec<Error> = Vec::new();
        let mut bad = 0;
        let mut keep = |name: &str, e: &Error| {
            bad += 1;
            if args.json {
                errors.push(clone_error(e));
            } else {
                print_error(name, e);
            }
        };
        let mut nowhere = std::io::sink();
        let mut w = Writer::new(&mut nowhere, &Layout::Minified);
        if args.lines {
            each_line(&mut p, &name, &mut w, check, &mut keep)?;
        } else {
            let result = p
                .start()
                .and_then(|()| check(&mut p, &mut w))
                .and_then(|_| p.end_of_input());
            match result {
                Ok(()) => {}
                Err(e @ (Error::Io(_) | Error::Stopped)) => return Err(fail(e, &name)),
                Err(e) => keep(&name, &e),
            }
        }
        all_valid &= bad == 0;
        if args.json {
            println!("{}", report_json(&name, &errors));
        }
    }
    if all_valid {
        Ok(())
    } else {
        Err(Exit::silent(1).into())
    }
}

fn clone_error(e: &Error) -> Error {
    match e {
        Error::Syntax(s) => Error::Syntax(s.clone()),
        Error::Other(note) => Error::Other(note.clone()),
        Error::Missing(note) => Error::Missing(note.clone()),
        other => Error::other(None, format!("{other:?}")),
    }
}

fn report_json(name: &str, errors: &[Error]) -> String {
    let errors: Vec<serde_json::Value> = errors
        .iter()
        .map(|e| match e {
            Error::Syntax(s) => serde_json::json!({
                "line": s.line, "column": s.column, "offset": s.offset, "message": s.message,
            }),
            Error::Other(note) | Error::Missing(note) => {
                serde_json::json!({ "message": note.message })
            }
            other => serde_json::json!({ "message": other.describe(name) }),
        })
        .collect();
    serde_json::json!({ "file": name, "valid": errors.is_empty(), "errors": errors }).to_string()
}
