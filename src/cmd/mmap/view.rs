//! `fkit mmap view`: a byte range as xxd-style hex or as raw bytes.

use super::{name_of, open};
use crate::io::size::InvalidSize;
use crate::io::{Exit, Size, read_some};
use crate::io::{MapOrStream, Output};
use anyhow::{Context, Result};
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// Show a byte range of a file, as xxd does, or raw.
///
/// Offsets and lengths take sizes (4G, 512K) and hex (0x1be); an offset
/// with a minus sign counts from the end (`--offset -4K`: the last 4 KiB,
/// as xxd -s -4096). The layouts are xxd's, byte for byte: the default hex
/// lines (offset, bytes in groups, characters), -c columns, -g group size,
/// -u upper case, -a autoskip (a `*` line for repeated zero lines), -b
/// bits, -p plain hex, -i a C array. A mapped file (or stdin redirected
/// from one) pages in only the range shown; a pipe is streamed (the bytes
/// before --offset are read and dropped; with an offset from the end, the
/// last bytes are kept as they pass). `fkit mmap unview` turns a hex or
/// plain dump back into bytes.
///
/// Examples:
///   fkit mmap view disk.img --offset 0x1be --length 64       # xxd -s 0x1be -l 64
///   fkit mmap view big.log --offset -4K                      # the last 4 KiB
///   fkit mmap view fw.bin -c 32 -g 4 -u -a                   # xxd -c 32 -g 4 -u -a
///   fkit mmap view key.bin -p                                # xxd -p
///   fkit mmap view logo.png -i > logo.h                      # xxd -i
///   fkit mmap view big.log --offset 4G --length 200 --text   # the raw bytes
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// File to read; `-` or nothing reads stdin.
    file: Option<PathBuf>,

    /// First byte to show: 4096, 4K, 0x1000; -4K counts from the end.
    #[arg(
        short,
        long,
        value_name = "OFFSET",
        default_value = "0",
        allow_hyphen_values = true
    )]
    offset: Offset,

    /// Number of bytes to show (default: to the end of the file).
    #[arg(short, long, value_name = "SIZE")]
    length: Option<Size>,

    /// Hex dump with offsets and characters, like xxd (the default).
    #[arg(long, conflicts_with_all = ["text", "plain", "include"])]
    hex: bool,

    /// The raw bytes, unchanged.
    #[arg(long, conflicts_with_all = ["plain", "include", "bits"])]
    text: bool,

    /// Bytes per line (xxd -c): default 16, 6 with -b, 30 with -p, 12 with -i.
    #[arg(short = 'c', long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=256))]
    cols: Option<u16>,

    /// Bytes per group, 0 for one group (xxd -g): default 2, 1 with -b.
    #[arg(short = 'g', long, value_name = "N")]
    group: Option<usize>,

    /// Plain hex, no offsets or characters (xxd -p).
    #[arg(short = 'p', long, conflicts_with_all = ["include", "bits"])]
    plain: bool,

    /// A C array and its length (xxd -i).
    #[arg(short = 'i', long, conflicts_with = "bits")]
    include: bool,

    /// Bits instead of hex digits (xxd -b).
    #[arg(short = 'b', long)]
    bits: bool,

    /// Upper case hex digits (xxd -u).
    #[arg(short = 'u', long)]
    upper: bool,

    /// Autoskip: a single `*` for a run of zero lines (xxd -a).
    #[arg(short = 'a', long)]
    autoskip: bool,

    /// Hold a shared advisory lock on the file while reading it.
    #[arg(long)]
    lock: bool,
}

/// Where the range starts: from the beginning, or counted from the end.
#[derive(Clone, Copy, Debug)]
enum Offset {
    Start(u64),
    FromEnd(u64),
}

impl std::str::FromStr for Offset {
    type Err = InvalidSize;

    fn from_str(text: &str) -> Result<Offset, Self::Err> {
        match text.strip_prefix('-') {
            Some(rest) => rest.parse::<Size>().map(|s| Offset::FromEnd(s.bytes())),
            None => text.parse::<Size>().map(|s| Offset::Start(s.bytes())),
        }
    }
}

impl Offset {
    /// The first byte, in an input of `len` bytes.
    fn resolve(self, len: u64) -> u64 {
        match self {
            Offset::Start(at) => at,
            Offset::FromEnd(back) => len.saturating_sub(back),
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let name = name_of(args.file.as_ref());
    let length = args.length.map_or(u64::MAX, Size::bytes);
    let layout = Layout::of(&args)?;
    let mut out = Output::stdout().buffer(1 << 16).create()?;
    let past_end = |offset: u64, len: u64, what: &str| -> anyhow::Error {
        Exit::with(
            1,
            format!("{name}: offset {offset} is past the end of the {what} ({len} bytes)"),
        )
        .into()
    };
    let mut dump;
    match open(args.file.as_ref(), args.lock, false)? {
        MapOrStream::Map(map) => {
            let len = map.len() as u64;
            let offset = args.offset.resolve(len);
            if offset > len {
                return Err(past_end(offset, len, "file"));
            }
            let end = offset.saturating_add(length).min(len);
            let bytes = &map[offset as usize..end as usize];
            map.advise_sequential();
            dump = Dump::new(layout, offset).upper(args.upper);
            dump.start(&mut out)?;
            for block in bytes.chunks(1 << 20) {
                dump.write(&mut out, block)?;
            }
        }
        MapOrStream::Stream(mut input) => match args.offset {
            Offset::Start(offset) => {
                let skipped = io::copy(&mut (&mut input).take(offset), &mut io::sink())
                    .with_context(|| name.clone())?;
                if skipped < offset {
                    return Err(past_end(offset, skipped, "input"));
                }
                dump = Dump::new(layout, offset).upper(args.upper);
                dump.start(&mut out)?;
                let mut limited = input.take(length);
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = read_some(&mut limited, &mut buf).with_context(|| name.clone())?;
                    if n == 0 {
                        break;
                    }
                    dump.write(&mut out, &buf[..n])?;
                }
            }
            Offset::FromEnd(back) => {
                let (tail, total) = last_bytes(&mut input, back).with_context(|| name.clone())?;
                let offset = total - tail.len() as u64;
                dump = Dump::new(layout, offset).upper(args.upper);
                dump.start(&mut out)?;
                let shown = tail.len().min(length.min(usize::MAX as u64) as usize);
                dump.write(&mut out, &tail[..shown])?;
            }
        },
    }
    dump.finish(&mut out)?;
    out.finish()
}

/// The last `n` bytes of a stream (fewer if it is shorter), and its length.
fn last_bytes(input: &mut impl Read, n: u64) -> io::Result<(Vec<u8>, u64)> {
    let keep = usize::try_from(n).unwrap_or(usize::MAX);
    let mut tail: Vec<u8> = Vec::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let got = read_some(input, &mut buf)?;
        if got == 0 {
            break;
        }
        total += got as u64;
        tail.extend_from_slice(&buf[..got]);
        // Trim now and then, not on every read: memory stays under 2n.
        if tail.len() >= keep.saturating_mul(2).max(1 << 16) {
            tail.drain(..tail.len() - keep.min(tail.len()));
        }
    }
    if tail.len() > keep {
        tail.drain(..tail.len() - keep);
    }
    Ok((tail, total))
}

/// How bytes are written out.
enum Layout {
    /// The bytes themselves (--text).
    Raw,
    /// xxd's lines: offset, groups of hex digits (or bits), characters.
    Lines {
        cols: usize,
        group: usize,
        bits: bool,
        autoskip: bool,
    },
    /// Hex digits only, `cols` bytes a line (0: one line).
    Plain { cols: usize },
    /// A C array, `cols` bytes a line; named after the file, as xxd -i
    /// names it (none for stdin: only the numbers).
    Include { cols: usize, name: Option<String> },
}

impl Layout {
    fn of(args: &Args) -> Result<Layout> {
        let cols = args.cols.map(usize::from).filter(|&c| c > 0);
        Ok(if args.text {
            Layout::Raw
        } else if args.plain {
            // xxd -p -c 0 writes one line.
            Layout::Plain {
                cols: args.cols.map_or(30, usize::from),
            }
        } else if args.include {
            let name = args
                .file
                .as_ref()
                .filter(|p| p.as_os_str() != "-")
                .map(|p| c_name(&p.to_string_lossy()));
            Layout::Include {
                cols: cols.unwrap_or(12),
                name,
            }
        } else {
            let cols = cols.unwrap_or(if args.bits { 6 } else { 16 });
            let group = args.group.unwrap_or(if args.bits { 1 } else { 2 });
            // xxd: a group of 0, or wider than a line, is the whole line.
            let group = if group == 0 || group > cols {
                cols
            } else {
                group
            };
            Layout::Lines {
                cols,
                group,
                bits: args.bits,
                autoskip: args.autoskip,
            }
        })
    }
}

/// xxd -i's variable name for a file: letters and digits kept, anything
/// else `_`, and `__` ahead of a leading digit.
fn c_name(path: &str) -> String {
    let mut name: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "__");
    }
    name
}

/// Turns bytes into output lines; keeps a partial line between blocks.
struct Dump {
    layout: Layout,
    digits: &'static [u8; 16],
    /// Offset of the first byte in `pending`.
    at: u64,
    /// Bytes written so far (plain and include layouts).
    count: u64,
    pending: Vec<u8>,
    line: Vec<u8>,
    /// Where each byte of a row goes in `line`, and where the characters
    /// start (xxd's column arithmetic).
    columns: Vec<usize>,
    text_at: usize,
    skip: Autoskip,
}

const HEX: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

impl Dump {
    fn new(layout: Layout, at: u64) -> Dump {
        Dump {
            layout,
            digits: HEX,
            at,
            count: 0,
            pending: Vec::new(),
            line: Vec::with_capacity(128),
            columns: Vec::new(),
            text_at: 0,
            skip: Autoskip::default(),
        }
    }

    /// The opening text (xxd -i's declaration).
    fn start(&mut self, out: &mut impl Write) -> io::Result<()> {
        if let Layout::Include {
            name: Some(name), ..
        } = &self.layout
        {
            writeln!(out, "unsigned char {name}[] = {{")?;
        }
        Ok(())
    }

    fn upper(mut self, yes: bool) -> Dump {
        if yes {
            self.digits = HEX_UPPER;
        }
        self
    }

    fn write(&mut self, out: &mut impl Write, mut bytes: &[u8]) -> io::Result<()> {
        let cols = match self.layout {
            Layout::Raw => return out.write_all(bytes),
            Layout::Plain { cols } => return self.plain(out, bytes, cols),
            Layout::Include { cols, .. } => return self.include(out, bytes, cols),
            Layout::Lines { cols, .. } => cols,
        };
        if !self.pending.is_empty() {
            let take = (cols - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() < cols {
                return Ok(());
            }
            let row = std::mem::take(&mut self.pending);
            self.row(out, &row)?;
            self.pending = row;
            self.pending.clear();
        }
        let mut rows = bytes.chunks_exact(cols);
        for row in &mut rows {
            self.row(out, row)?;
        }
        self.pending.extend_from_slice(rows.remainder());
        Ok(())
    }

    fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        match &self.layout {
            Layout::Raw => {}
            Layout::Plain { cols } => {
                // xxd ends a short last line, and the one line of -c 0.
                let open = match *cols {
                    0 => self.count > 0,
                    n => !self.count.is_multiple_of(n as u64),
                };
                if open {
                    out.write_all(b"\n")?;
                }
            }
            Layout::Include { name, .. } => {
                if self.count > 0 {
                    out.write_all(b"\n")?;
                }
                if let Some(name) = name {
                    writeln!(out, "}};\nunsigned int {name}_len = {};", self.count)?;
                }
            }
            Layout::Lines { .. } => {
                if !self.pending.is_empty() {
                    let row = std::mem::take(&mut self.pending);
                    self.row(out, &row)?;
                } else {
                    self.skip.end(out)?;
                }
            }
        }
        Ok(())
    }

    fn plain(&mut self, out: &mut impl Write, bytes: &[u8], cols: usize) -> io::Result<()> {
        let line = &mut self.line;
        for &b in bytes {
            line.push(self.digits[(b >> 4) as usize]);
            line.push(self.digits[(b & 15) as usize]);
            self.count += 1;
            if cols > 0 && self.count.is_multiple_of(cols as u64) {
                line.push(b'\n');
            }
            if line.len() >= 1 << 16 {
                write_out(out, line)?;
            }
        }
        write_out(out, line)
    }

    fn include(&mut self, out: &mut impl Write, bytes: &[u8], cols: usize) -> io::Result<()> {
        let line = &mut self.line;
        let prefix: &[u8] = if self.digits == HEX_UPPER {
            b"0X"
        } else {
            b"0x"
        };
        for &b in bytes {
            line.extend_from_slice(match self.count {
                0 => b"  ",
                n if n.is_multiple_of(cols as u64) => b",\n  ",
                _ => b", ",
            });
            line.extend_from_slice(prefix);
            line.push(self.digits[(b >> 4) as usize]);
            line.push(self.digits[(b & 15) as usize]);
            self.count += 1;
            if line.len() >= 1 << 16 {
                write_out(out, line)?;
            }
        }
        write_out(out, line)
    }

    /// One xxd line: `00000010: 3031 3233 ...  0123...`. Byte p of a row
    /// goes to column addr + 1 + (group width * p) / group, the characters
    /// start at addr + 3 + (group width * cols - 1) / group: xxd's own
    /// arithmetic, which also places a short last row.
    fn row(&mut self, out: &mut impl Write, row: &[u8]) -> io::Result<()> {
        let Layout::Lines {
            cols,
            group,
            bits,
            autoskip,
        } = self.layout
        else {
            return Ok(());
        };
        let line = &mut self.line;
        line.clear();
        // The offset in hex, at least 8 digits (xxd's `%08x`), written by
        // hand: through `write!` it cost a third of the whole dump.
        let digits = (64 - self.at.leading_zeros() as usize).div_ceil(4).max(8);
        for shift in (0..digits).rev() {
            line.push(HEX[((self.at >> (shift * 4)) & 15) as usize]);
        }
        line.push(b':');
        let addr = line.len();
        if self.columns.len() != cols || self.text_at == 0 || self.columns[0] != addr + 1 {
            let width = if bits { 8 * group + 1 } else { 2 * group + 1 };
            self.columns = (0..cols).map(|p| addr + 1 + width * p / group).collect();
            self.text_at = addr + 3 + (width * cols - 1) / group;
        }
        line.resize(self.text_at + row.len(), b' ');
        for (&b, &c) in row.iter().zip(&self.columns) {
            if bits {
                for i in 0..8 {
                    line[c + i] = b'0' + ((b >> (7 - i)) & 1);
                }
            } else {
                line[c] = self.digits[(b >> 4) as usize];
                line[c + 1] = self.digits[(b & 15) as usize];
            }
        }
        for (slot, &b) in line[self.text_at..].iter_mut().zip(row) {
            *slot = if (0x20..0x7f).contains(&b) { b } else { b'.' };
        }
        line.push(b'\n');
        self.at += row.len() as u64;
        if autoskip {
            let zero = row.len() == cols && row.iter().all(|&b| b == 0);
            self.skip.line(out, line, zero)
        } else {
            out.write_all(line)
        }
    }
}

/// xxd -a: of a run of all-zero lines, the first is printed and the rest
/// become one `*` line, except that a run of two prints both. A run that
/// ends the input also prints its last line (and, of a run of three, all
/// three), as xxd does.
#[derive(Default)]
struct Autoskip {
    /// Zero lines in the current run.
    run: u64,
    /// The run's second line and its latest one.
    second: Vec<u8>,
    latest: Vec<u8>,
}

impl Autoskip {
    fn line(&mut self, out: &mut impl Write, line: &[u8], zero: bool) -> io::Result<()> {
        if !zero {
            match self.run {
                2 => out.write_all(&self.second)?,
                3.. => out.write_all(b"*\n")?,
                _ => {}
            }
            self.run = 0;
            return out.write_all(line);
        }
        self.run += 1;
        match self.run {
            1 => out.write_all(line)?,
            2 => self.second = line.to_vec(),
            _ => {}
        }
        self.latest.clear();
        self.latest.extend_from_slice(line);
        Ok(())
    }

    /// The input ended on a whole line.
    fn end(&mut self, out: &mut impl Write) -> io::Result<()> {
        match self.run {
            0 | 1 => {}
            2 => out.write_all(&self.latest)?,
            3 => {
                out.write_all(&self.second)?;
                out.write_all(&self.latest)?;
            }
            _ => {
                out.write_all(b"*\n")?;
                out.write_all(&self.latest)?;
            }
        }
        self.run = 0;
        Ok(())
    }
}

/// Write out and empty a dump's pending text.
#[inline]
fn write_out(out: &mut impl Write, line: &mut Vec<u8>) -> io::Result<()> {
    out.write_all(line)?;
    line.clear();
    Ok(())
}
