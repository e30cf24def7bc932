//! `fkit csv`: a CSV toolkit (count, headers, select, search, slice, sort,
//! stats, frequency, fmt, conversions to and from JSON, validate, join,
//! cat, dedup, sample, head, tail, reverse, table, fixlengths, flatten,
//! rename, behead, enum, fill, explode, implode, transpose, split,
//! partition).
//!
//! Every op reads its input through one [`Table`]: a regular uncompressed
//! file is memory-mapped and cut into record-aligned chunks that both cores
//! parse at once (the cut is exact, quoted newlines included, see
//! [`chunks`]); stdin and compressed input stream through one parser. The
//! parser is simd-csv's zero-copy reader (the one xan uses): fields come
//! back as they are written, quotes and all, so ops that do not need the
//! text copy bytes untouched.

mod agg;
mod behead;
mod cat;
pub(crate) mod chunks;
mod count;
mod dedup;
mod enumerate;
mod explode;
mod expr;
mod fill;
mod filter;
mod fixlengths;
mod flatten;
mod fmt;
mod frequency;
mod groupby;
mod head;
mod headers;
mod join;
mod json_out;
mod key;
mod map;
mod partition;
mod plain_expr;
mod rename;
mod reverse;
mod runs;
mod sample;
mod search;
pub(crate) mod selection;
mod slice;
mod sort;
mod split;
mod stats;
mod table;
mod tail;
mod transpose;
mod validate;

use crate::io::args::{OutputArgs, ReadArgs};
use crate::io::{Exit, Input, MapOrStream, MappedFile, Output, Progress};
use anyhow::{Context, Result};
use simd_csv::{ByteRecord, ZeroCopyByteRecord, ZeroCopyReader, ZeroCopyReaderBuilder};
use std::io::{Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// CSV toolkit: count, select, search, sort, join, reshape, split, convert.
///
/// Every op reads FILE (or stdin for `-` or nothing), decompressing gzip
/// and bzip2 input on the fly, and writes to stdout or, atomically, to -o.
/// The first row is the header unless --no-headers. Rows of uneven length
/// are an error naming the line, unless --flexible.
///
/// Examples:
///   fkit csv count data.csv
///   fkit csv select name,3-5 data.csv.gz -o some.csv
///   fkit csv search -s city '^Ber' data.csv
///   fkit csv sort -N -R -s score data.csv | fkit csv slice --len 10
///   fkit csv stats --json data.csv
///   fkit csv to-json --infer data.csv > data.json
///   fkit csv join city data.csv city cities.csv | fkit csv table
///   fkit csv partition -s city by-city data.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    Count(count::Args),
    Headers(headers::Args),
    Select(select::Args),
    Search(search::Args),
    Slice(slice::Args),
    Sort(sort::Args),
    Stats(stats::Args),
    Frequency(frequency::Args),
    Fmt(fmt::Args),
    ToJson(json_out::Args),
    ToNdjson(json_out::NdArgs),
    FromJson(from_json::Args),
    Validate(validate::Args),
    Join(join::Args),
    Cat(cat::Args),
    Dedup(dedup::Args),
    Sample(sample::Args),
    Head(head::Args),
    Tail(tail::Args),
    Reverse(reverse::Args),
    Groupby(groupby::Args),
    Agg(agg::Args),
    Filter(filter::Args),
    Map(map::Args),
    Table(table::Args),
    Fixlengths(fixlengths::Args),
    Flatten(flatten::Args),
    Rename(rename::Args),
    Behead(behead::Args),
    Enum(enumerate::Args),
    Fill(fill::Args),
    Explode(explode::Args),
    Implode(explode::ImplodeArgs),
    Transpose(transpose::Args),
    Split(split::Args),
    Partition(partition::Args),
}

mod from_json;
mod select;

pub fn run(args: Args) -> Result<()> {
    match args.action {
        Action::Count(a) => count::run(a),
        Action::Headers(a) => headers::run(a),
        Action::Select(a) => select::run(a),
        Action::Search(a) => search::run(a),
        Action::Slice(a) => slice::run(a),
        Action::Sort(a) => sort::run(a),
        Action::Stats(a) => stats::run(a),
        Action::Frequency(a) => frequency::run(a),
        Action::Fmt(a) => fmt::run(a),
        Action::ToJson(a) => json_out::run(a, false),
        Action::ToNdjson(a) => json_out::run(a.args, true),
        Action::FromJson(a) => from_json::run(a),
        Action::Validate(a) => validate::run(a),
        Action::Join(a) => join::run(a),
        Action::Cat(a) => cat::run(a),
        Action::Dedup(a) => dedup::run(a),
        Action::Sample(a) => sample::run(a),
        Action::Head(a) => head::run(a),
        Action::Tail(a) => tail::run(a),
        Action::Reverse(a) => reverse::run(a),
        Action::Groupby(a) => groupby::run(a),
        Action::Agg(a) => agg::run(a),
        Action::Filter(a) => filter::run(a),
        Action::Map(a) => map::run(a),
        Action::Table(a) => table::run(a),
        Action::Fixlengths(a) => fixlengths::run(a),
        Action::Flatten(a) => flatten::run(a),
        Action::Rename(a) => rename::run(a),
        Action::Behead(a) => behead::run(a),
        Action::Enum(a) => enumerate::run(a),
        Action::Fill(a) => fill::run(a),
        Action::Explode(a) => explode::run(a),
        Action::Implode(a) => explode::run_implode(a),
        Action::Transpose(a) => transpose::run(a),
        Action::Split(a) => split::run(a),
        Action::Partition(a) => partition::run(a),
    }
}

/// Options every op shares: one input, and how to read and write it.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Common {
    /// CSV file to read; `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,

    #[command(flatten)]
    options: Options,
}

impl Common {
    pub(crate) fn create_output(&self) -> Result<Output> {
        self.options.create_output()
    }

    /// The field delimiter of the input.
    pub(crate) fn delimiter(&self) -> u8 {
        self.options.delimiter_for(self.input.as_deref())
    }

    /// Whether the input is stdin, which can be read only once.
    pub(crate) fn reads_stdin(&self) -> bool {
        self.input.as_deref().is_none_or(|p| p.as_os_str() == "-")
    }
}

/// How inputs are read and the output written, for ops that take one
/// input ([`Common`]) and those that take several (`join`, `cat`).
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Options {
    /// Field delimiter: one byte such as `,` `;` `|`, or `\t` / `tab`
    /// (default: tab for files named *.tsv or *.tab, else a comma).
    #[arg(short, long, value_name = "CHAR", value_parser = parse_delimiter)]
    delimiter: Option<u8>,

    /// Tab-separated: short for `-d '\t'`.
    #[arg(short = 't', long = "tabs", conflicts_with = "delimiter")]
    tabs: bool,

    /// The first row is data, not a header.
    #[arg(long)]
    no_headers: bool,

    /// Accept rows whose number of fields differs from the header's.
    #[arg(long)]
    flexible: bool,

    #[command(flatten)]
    out: OutputArgs,

    #[command(flatten)]
    read: ReadArgs,
}

impl Options {
    pub(crate) fn create_output(&self) -> Result<Output> {
        self.out.create()
    }

    /// The delimiter of the input at `path`: -d if given, else a tab for
    /// `.tsv` and `.tab` files (compressed too: `x.tsv.gz`), else a comma.
    pub(crate) fn delimiter_for(&self, path: Option<&Path>) -> u8 {
        if let Some(d) = self.delimiter {
            return d;
        }
        if self.tabs {
            return b'\t';
        }
        let name = path
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let name = [".gz", ".bz2"]
            .iter()
            .find_map(|ext| name.strip_suffix(ext))
            .unwrap_or(&name);
        if name.ends_with(".tsv") || name.ends_with(".tab") {
            b'\t'
        } else {
            b','
        }
    }
}

fn parse_delimiter(s: &str) -> std::result::Result<u8, String> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && !matches!(s, "\"" | "\n" | "\r") => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(format!(
            "invalid delimiter '{s}': give one ASCII character other than a quote or newline"
        )),
    }
}

/// Chunks of about this many bytes are parsed in parallel; a few per core
/// are in flight at once, which bounds memory to a few of them.
const CHUNK: usize = 1 << 20;

/// With [`Table::keep_pages_mapped`], files up to this size keep their
/// pages mapped from the cut into chunks to the parse of each (the parse
/// gives them back).
const KEEP_MAPPED: usize = 512 << 20;

/// The input of an op: a mapped regular file, or a stream.
pub(crate) struct Table {
    name: String,
    source: TableData,
    delimiter: u8,
    no_headers: bool,
    flexible: bool,
    /// The header row, unescaped (or the first row under --no-headers).
    header: ByteRecord,
    /// Where the data rows start in a mapped file.
    data_start: usize,
    /// Show a progress bar over a mapped file (a stream has its own).
    progress: bool,
    /// Keep a mapped file's pages from the cut to the parse (see
    /// [`Table::keep_pages_mapped`]).
    keep_pages: bool,
}

enum TableData {
    Mapped(MappedFile),
    Stream(Box<ZeroCopyReader<Box<dyn Read>>>),
}

/// One record-aligned stretch of the input being parsed, with the checks
/// every op wants (uneven rows) and error positions.
pub(crate) struct Records<'r, 'd> {
    reader: &'r mut ZeroCopyReader<Box<dyn Read + 'd>>,
    /// Byte offset of this chunk in the input.
    base: u64,
    width: usize,
    flexible: bool,
    name: &'r str,
    /// The whole mapped input, to turn a byte offset into a line number.
    whole: Option<&'r [u8]>,
    /// The bytes of this chunk of a mapped file (from `base`).
    chunk: Option<&'r [u8]>,
    /// Rows read so far (names the row in errors on a stream).
    rows: u64,
}

impl Records<'_, '_> {
    /// The next record, or `None` at the end of the chunk.
    #[inline]
    pub(crate) fn next(&mut self) -> Result<Option<ZeroCopyByteRecord<'_>>> {
        let check = Check {
            base: self.base,
            width: self.width,
            flexible: self.flexible,
            name: self.name,
            whole: self.whole,
        };
        check.read(self.reader, &mut self.rows)
    }

    /// The whole mapped input, for [`position`].
    pub(crate) fn whole(&self) -> Option<&[u8]> {
        self.whole
    }

    /// Byte offset in the input where the next record starts.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.reader.position()
    }

    /// Before any record is read: this chunk's bytes, when it is part of
    /// a mapped file, with the row width every record must have (`None`
    /// under --flexible or without a header), for an op that only needs
    /// where records start (`sample`) to find them without the parser.
    pub(crate) fn unread_chunk(&self) -> Option<(&[u8], Option<usize>)> {
        let width = (!self.flexible && self.width > 0).then_some(self.width);
        self.chunk
            .filter(|_| self.reader.position() == 0)
            .map(|c| (c, width))
    }
}

/// What every record read is checked for, and how errors name it.
struct Check<'a> {
    base: u64,
    width: usize,
    flexible: bool,
    name: &'a str,
    whole: Option<&'a [u8]>,
}

impl Check<'_> {
    /// Read the next record from `reader` (the `rows`-th so far), checking
    /// its length against the header's unless flexible.
    #[inline]
    fn read<'r, R: Read>(
        &self,
        reader: &'r mut ZeroCopyReader<R>,
        rows: &mut u64,
    ) -> Result<Option<ZeroCopyByteRecord<'r>>> {
        let at = reader.position();
        match reader.read_byte_record() {
            Ok(Some(record)) => {
                *rows += 1;
                // The parser ends a record inside a quote only at the end
                // of the input, and then the record holds an odd number of
                // quotes; every other record an even one. A mapped input
                // counts them in its last record only (within the two
                // line-end bytes trimmed off).
                let slice = record.as_slice();
                let near_end = match self.whole {
                    Some(data) => self.base + at + slice.len() as u64 + 2 >= data.len() as u64,
                    None => true,
                };
                if near_end && bytecount::count(slice, b'"') % 2 == 1 {
                    return Err(anyhow::anyhow!(
                        "{}: quote never closed before the end of the input",
                        position(self.whole, self.base + at + open_quote(slice) as u64)
                    ))
                    .with_context(|| self.name.to_string());
                }
                if record.len() != self.width && !self.flexible && self.width > 0 {
                    let found = record.len();
                    return Err(anyhow::anyhow!(
                        "{}: row has {found} fields, the header has {} (use --flexible to accept uneven rows)",
                        match self.whole {
                            Some(_) => position(self.whole, self.base + at),
                            None => format!("row {rows}, byte {}", self.base + at),
                        },
                        self.width
                    ))
                    .with_context(|| self.name.to_string());
                }
                Ok(Some(record))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e)).with_context(|| self.name.to_string()),
        }
    }
}

/// The data rows of one input, read one at a time, owning the input (for
/// ops that read several inputs side by side, such as `cat columns`).
/// Errors name the row and byte.
pub(crate) struct RowReader {
    reader: ZeroCopyReader<Box<dyn Read>>,
    base: u64,
    width: usize,
    flexible: bool,
    name: String,
    rows: u64,
}

impl RowReader {
    /// The next data row, or `None` at the end of the input.
    #[inline]
    pub(crate) fn next(&mut self) -> Result<Option<ZeroCopyByteRecord<'_>>> {
        let check = Check {
            base: self.base,
            width: self.width,
            flexible: self.flexible,
            name: &self.name,
            whole: None,
        };
        check.read(&mut self.reader, &mut self.rows)
    }
}

/// Where the quote left open in `record` (which holds an odd number of
/// quotes) starts: the last quote that opens a field rather than closing
/// one or escaping (`""`) inside one.
fn open_quote(record: &[u8]) -> usize {
    let quotes: Vec<usize> = memchr::memchr_iter(b'"', record).collect();
    let mut open = quotes[0];
    for pair in quotes.chunks(2).skip(1) {
        // pair[0] follows a closing quote; right after it, it escapes.
        if let [q] | [q, _] = pair
            && quotes.binary_search(&(q - 1)).is_err()
        {
            open = *q;
        }
    }
    open
}

/// "line L, byte B" when the input is mapped (lines counted in the file,
/// quoted newlines included), else "byte B".
pub(crate) fn position(whole: Option<&[u8]>, byte: u64) -> String {
    match whole {
        Some(data) => {
            let end = (byte as usize).min(data.len());
            let line = memchr::memchr_iter(b'\n', &data[..end]).count() + 1;
            format!("line {line}, byte {byte}")
        }
        None => format!("byte {byte}"),
    }
}

/// Collects one chunk's output; on a stream it drains to the real output
/// as it fills, so memory stays bounded.
pub(crate) struct RowOutput<'o> {
    pub(crate) buf: Vec<u8>,
    out: Option<&'o mut dyn Write>,
}

impl RowOutput<'_> {
    /// Call once per record: on a stream, pass full buffers on.
    #[inline]
    pub(crate) fn record_done(&mut self) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            write_when_full(out, &mut self.buf)?;
        }
        Ok(())
    }
}

/// How much output a verb gathers before writing it.
const OUT_CHUNK: usize = 1 << 16;

/// Write `buf` to `out` and empty it once it holds [`OUT_CHUNK`] bytes:
/// call once per row, so a verb's memory stays bounded.
#[inline]
pub(crate) fn write_when_full(
    out: &mut (impl Write + ?Sized),
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    if buf.len() >= OUT_CHUNK {
        out.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}

impl Table {
    /// Keep a mapped file's pages from the cut into chunks to their parse,
    /// for ops whose parse is so light that faulting the pages in twice
    /// would cost more than it does (`reverse`, `sample`: bench rows
    /// `csv reverse`, `csv sample 1000`). Mapped pages count in the
    /// process's resident memory, so the others give them back.
    pub(crate) fn keep_pages_mapped(&mut self) {
        self.keep_pages = true;
    }

    /// Open the input of `c`: map a regular uncompressed file, else stream.
    pub(crate) fn open(c: &Common) -> Result<Table> {
        Table::open_at(c.input.as_deref(), &c.options)
    }

    /// Open the input at `path` (`None` or `-`: stdin) as `o` says.
    pub(crate) fn open_at(path: Option<&Path>, o: &Options) -> Result<Table> {
        let path = path.filter(|p| p.as_os_str() != "-");
        let name = crate::io::input::display_name(path);
        let delimiter = o.delimiter_for(path);
        let mut builder = ZeroCopyReaderBuilder::new();
        builder
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true);
        let opened = Input::at(path)
            .decompress(!o.read.no_decompress)
            .progress(!o.read.quiet)
            .buffer(1 << 20)
            .open_map_or_stream()?;
        let input = match opened {
            MapOrStream::Map(map) => {
                let mut peek = builder.from_reader(&map[..]);
                let header = peek
                    .byte_headers()
                    .map_err(anyhow::Error::new)
                    .with_context(|| name.clone())?
                    .clone();
                let data_start = if o.no_headers {
                    simd_bom(&map)
                } else {
                    peek.position() as usize
                };
                drop(peek);
                return Ok(Table {
                    name,
                    source: TableData::Mapped(map),
                    delimiter,
                    no_headers: o.no_headers,
                    flexible: o.flexible,
                    header,
                    data_start,
                    progress: !o.read.quiet,
                    keep_pages: false,
                });
            }
            MapOrStream::Stream(input) => input,
        };
        builder.has_headers(!o.no_headers);
        let mut reader = Box::new(builder.from_reader(Box::new(input) as Box<dyn Read>));
        let header = reader
            .byte_headers()
            .map_err(anyhow::Error::new)
            .with_context(|| name.clone())?
            .clone();
        Ok(Table {
            name,
            source: TableData::Stream(reader),
            delimiter,
            no_headers: o.no_headers,
            flexible: o.flexible,
            header,
            data_start: 0,
            progress: false,
            keep_pages: false,
        })
    }

    /// Stop checking row lengths (ops that do not care, like count).
    pub(crate) fn accept_uneven(&mut self) {
        self.flexible = true;
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The header names (under --no-headers: the first row, as a width).
    pub(crate) fn header(&self) -> &ByteRecord {
        &self.header
    }

    /// Append the header row to `buf`, as the output's first line, unless
    /// there is none to write (`--no-headers`, an empty input).
    pub(crate) fn write_header(&self, buf: &mut Vec<u8>) {
        if self.has_headers() && !self.header().is_empty() {
            write_row(buf, self.header().iter(), self.delimiter());
        }
    }

    pub(crate) fn has_headers(&self) -> bool {
        !self.no_headers
    }

    pub(crate) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The input's size in bytes, when known before reading it (a mapped
    /// file's).
    pub(crate) fn size_hint(&self) -> Option<u64> {
        self.mapped().map(|m| m.len() as u64)
    }

    /// The mapped bytes of the input, when it is a mapped file.
    pub(crate) fn mapped(&self) -> Option<&MappedFile> {
        match &self.source {
            TableData::Mapped(m) => Some(m),
            TableData::Stream(_) => None,
        }
    }

    /// The data rows of a mapped file (after the header).
    pub(crate) fn mapped_data(&self) -> Option<(&MappedFile, usize)> {
        self.mapped().map(|m| (m, self.data_start))
    }

    /// The data rows, one at a time, as a reader that owns the input.
    pub(crate) fn into_rows(self) -> Result<RowReader> {
        let width = self.header.len();
        let (reader, base) = match self.source {
            TableData::Stream(reader) => (*reader, 0),
            TableData::Mapped(map) => {
                map.advise_sequential();
                let start = self.data_start;
                let mut bytes = map.into_reader();
                std::io::copy(&mut (&mut bytes).take(start as u64), &mut std::io::sink())?;
                let reader = ZeroCopyReaderBuilder::new()
                    .delimiter(self.delimiter)
                    .has_headers(false)
                    .flexible(true)
                    .buffer_capacity(1 << 16)
                    .from_reader(Box::new(bytes) as Box<dyn Read>);
                (reader, start as u64)
            }
        };
        Ok(RowReader {
            reader,
            base,
            width,
            flexible: self.flexible,
            name: self.name,
            rows: 0,
        })
    }

    /// Run `work` once over all the data rows, in order, on this thread
    /// (for ops that stop early or need one sequence).
    pub(crate) fn sequential<T>(
        &mut self,
        work: impl FnOnce(&mut Records<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        let start = self.data_start;
        self.sequential_from(start, work)
    }

    /// [`sequential`](Table::sequential) from byte `start` of a mapped file
    /// (a record start at or after the data's); a stream starts where it is.
    pub(crate) fn sequential_from<T>(
        &mut self,
        start: usize,
        work: impl FnOnce(&mut Records<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        let width = self.header.len();
        let (delimiter, flexible) = (self.delimiter, self.flexible);
        let start = start.max(self.data_start);
        let name = self.name.as_str();
        match &mut self.source {
            TableData::Stream(reader) => work(&mut Records {
                reader,
                base: 0,
                width,
                flexible,
                name,
                whole: None,
                chunk: None,
                rows: 0,
            }),
            TableData::Mapped(map) => {
                let data: &[u8] = map;
                map.advise_sequential();
                let mut reader = ZeroCopyReaderBuilder::new()
                    .delimiter(delimiter)
                    .has_headers(false)
                    .flexible(true)
                    .buffer_capacity(1 << 16)
                    .from_reader(Box::new(map.reader_from(start)) as Box<dyn Read>);
                work(&mut Records {
                    reader: &mut reader,
                    base: start as u64,
                    width,
                    flexible,
                    name,
                    whole: Some(data),
                    chunk: Some(&data[start..]),
                    rows: 0,
                })
            }
        }
    }

    /// Run `work` over the data rows, in parallel chunks on a mapped file
    /// (each with its own [`RowOutput`]), or once over the stream (with a sink
    /// that drains into `out`). `done` gets each chunk's result in input
    /// order, after its output was written to `out`.
    pub(crate) fn for_each_chunk<T: Send>(
        &mut self,
        out: &mut dyn Write,
        work: impl Fn(&mut Records<'_, '_>, &mut RowOutput<'_>) -> Result<T> + Sync,
        done: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        self.chunks_in_order(false, out, work, done)
    }

    /// [`for_each_chunk`](Table::for_each_chunk) for work that only writes
    /// rows: nothing to hand back from a chunk.
    pub(crate) fn write_chunks(
        &mut self,
        out: &mut dyn Write,
        work: impl Fn(&mut Records<'_, '_>, &mut RowOutput<'_>) -> Result<()> + Sync,
    ) -> Result<()> {
        self.for_each_chunk(out, work, |()| Ok(()))
    }

    /// Copy the data rows to `out` byte for byte (each checked by the
    /// reader, ended with a newline), in parallel chunks on a mapped file.
    pub(crate) fn copy_rows(&mut self, out: &mut dyn Write) -> Result<()> {
        self.write_chunks(out, |records, sink| {
            while let Some(record) = records.next()? {
                sink.buf.extend_from_slice(record.as_slice());
                sink.buf.push(b'\n');
                sink.record_done()?;
            }
            Ok(())
        })
    }

    /// The number of data rows, counted in parallel chunks on a mapped file.
    pub(crate) fn count_rows(&mut self) -> Result<u64> {
        let mut total = 0;
        self.for_each_chunk(
            &mut std::io::sink(),
            |records, _| {
                let mut n = 0u64;
                while records.next()?.is_some() {
                    n += 1;
                }
                Ok(n)
            },
            |n| {
                total += n;
                Ok(())
            },
        )?;
        Ok(total)
    }

    /// [`for_each_chunk`](Table::for_each_chunk) taking a mapped file's
    /// chunks from the last to the first (`reverse`); a stream is still
    /// one pass from its start.
    pub(crate) fn for_each_chunk_from_end<T: Send>(
        &mut self,
        out: &mut dyn Write,
        work: impl Fn(&mut Records<'_, '_>, &mut RowOutput<'_>) -> Result<T> + Sync,
        done: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        self.chunks_in_order(true, out, work, done)
    }

    /// [`for_each_chunk_from_end`](Table::for_each_chunk_from_end) for
    /// work that only writes rows.
    pub(crate) fn write_chunks_from_end(
        &mut self,
        out: &mut dyn Write,
        work: impl Fn(&mut Records<'_, '_>, &mut RowOutput<'_>) -> Result<()> + Sync,
    ) -> Result<()> {
        self.for_each_chunk_from_end(out, work, |()| Ok(()))
    }

    fn chunks_in_order<T: Send>(
        &mut self,
        from_end: bool,
        out: &mut dyn Write,
        work: impl Fn(&mut Records<'_, '_>, &mut RowOutput<'_>) -> Result<T> + Sync,
        mut done: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let width = self.header.len();
        let (delimiter, flexible) = (self.delimiter, self.flexible);
        let name = self.name.as_str();
        match &mut self.source {
            TableData::Stream(reader) => {
                // The reader already read the header; it continues from there.
                let mut records = Records {
                    reader,
                    base: 0,
                    width,
                    flexible,
                    name,
                    whole: None,
                    chunk: None,
                    rows: 0,
                };
                let mut sink = RowOutput {
                    buf: Vec::with_capacity(1 << 17),
                    out: Some(out),
                };
                let result = work(&mut records, &mut sink)?;
                if let Some(out) = sink.out.take() {
                    out.write_all(&sink.buf)?;
                }
                done(result)
            }
            TableData::Mapped(map) => {
                let data: &[u8] = map;
                // The cut touches every page once and the parse again. By
                // default the cut gives the pages back at once, so memory
                // stays small whatever the file; ops that asked keep a small
                // enough file's pages between the two.
                let keep_mapped = self.keep_pages && data.len() <= KEEP_MAPPED;
                let mut ranges =
                    chunks::record_ranges(data, self.data_start, CHUNK, b'"', &|range| {
                        if !keep_mapped {
                            map.release(range)
                        }
                    });
                if from_end {
                    ranges.reverse();
                }
                let mut progress = Progress::bytes(Some(data.len() as u64), self.progress);
                // Output buffers written out come back for the next chunks:
                // fresh ones would fault in new pages every time.
                let (spare_tx, spare_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
                let process = |range: Range<usize>| -> Result<(T, Vec<u8>)> {
                    let bytes = &data[range.clone()];
                    let mut reader = ZeroCopyReaderBuilder::new()
                        .delimiter(delimiter)
                        .has_headers(false)
                        .flexible(true)
                        .buffer_capacity(1 << 16)
                        .from_reader(Box::new(bytes) as Box<dyn Read>);
                    let mut records = Records {
                        reader: &mut reader,
                        base: range.start as u64,
                        width,
                        flexible,
                        name,
                        whole: Some(data),
                        chunk: Some(bytes),
                        rows: 0,
                    };
                    let mut sink = RowOutput {
                        buf: spare_rx.try_recv().unwrap_or_default(),
                        out: None,
                    };
                    let value = work(&mut records, &mut sink)?;
                    map.release(range);
                    Ok((value, sink.buf))
                };
                // A pipeline, not batches: each worker takes the next chunk
                // as soon as it is free, and this thread writes the results
                // in input order. At most `window` chunks are taken ahead of
                // the one being written, which bounds memory.
                let threads = rayon::current_num_threads().max(1);
                let window = threads * 4;
                let (job_tx, job_rx) = crossbeam_channel::unbounded::<usize>();
                let (result_tx, result_rx) = crossbeam_channel::unbounded();
                std::thread::scope(|scope| {
                    for _ in 0..threads {
                        let (job_rx, result_tx) = (job_rx.clone(), result_tx.clone());
                        let (process, ranges) = (&process, &ranges);
                        scope.spawn(move || {
                            for i in job_rx {
                                if result_tx.send((i, process(ranges[i].clone()))).is_err() {
                                    break;
                                }
                            }
                        });
                    }
                    drop(result_tx);
                    let mut next_job = 0;
                    while next_job < ranges.len().min(window) {
                        let _ = job_tx.send(next_job);
                        next_job += 1;
                    }
                    let mut waiting = std::collections::HashMap::new();
                    let mut next_write = 0;
                    let written = (|| -> Result<()> {
                        while next_write < ranges.len() {
                            let (i, result) = result_rx
                                .recv()
                                .map_err(|_| anyhow::anyhow!("a parsing thread stopped"))?;
                            waiting.insert(i, result);
                            while let Some(result) = waiting.remove(&next_write) {
                                let (value, mut bytes) = result?;
                                out.write_all(&bytes)?;
                                bytes.clear();
                                let _ = spare_tx.send(bytes);
                                done(value)?;
                                progress.inc(ranges[next_write].len() as u64);
                                next_write += 1;
                                if next_job < ranges.len() {
                                    let _ = job_tx.send(next_job);
                                    next_job += 1;
                                }
                            }
                        }
                        Ok(())
                    })();
                    // On an error, cancel the chunks not started yet.
                    while job_rx.try_recv().is_ok() {}
                    drop(job_tx);
                    written
                })
            }
        }
    }
}

/// Length of a UTF-8 byte order mark at the start of `data` (0 or 3).
fn simd_bom(data: &[u8]) -> usize {
    if data.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    }
}

/// Write `field` as one CSV field, quoted (quotes doubled) only when it
/// holds the delimiter, a quote, CR or LF: exactly when a reader would
/// otherwise split or misread it.
pub(crate) fn write_field(out: &mut Vec<u8>, field: &[u8], delimiter: u8) {
    let needs = field
        .iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r');
    if !needs {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    let mut rest = field;
    while let Some(i) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=i]);
        out.push(b'"');
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Write a record of unescaped fields, then a newline.
pub(crate) fn write_row<'a>(
    out: &mut Vec<u8>,
    fields: impl IntoIterator<Item = &'a [u8]>,
    delimiter: u8,
) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        write_field(out, field, delimiter);
    }
    out.push(b'\n');
}

/// Append a parsed record to `out` as it is written when the input's
/// delimiter `from` is the output's `to` (quotes and all), else field by
/// field in the output's delimiter. No line ending.
#[inline]
pub(crate) fn push_record(out: &mut Vec<u8>, record: &ZeroCopyByteRecord, from: u8, to: u8) {
    if from == to {
        out.extend_from_slice(record.as_slice());
        return;
    }
    for (i, field) in record.iter().enumerate() {
        if i > 0 {
            out.push(to);
        }
        write_field(out, &json_out::unquote_field(field), to);
    }
}

/// A usage error for an op.
pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    Exit::usage(message).into()
}
