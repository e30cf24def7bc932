//! `fkit mmap view`: a byte range as xxd-style hex or as raw bytes.

use super::{name_of, open};
use crate::io::{Exit, Size};
use crate::io::{MapOrStream, Output};
use anyhow::{Context, Result};
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// Show a byte range of a file, as hex (like xxd) or raw.
///
/// Offsets and lengths take sizes (4G, 512K) and hex (0x1be). Hex lines
/// are xxd's: offset, 16 bytes in pairs, then the printable characters.
/// A mapped file (or stdin redirected from one) pages in only the range
/// shown; a pipe is streamed (the bytes before --offset are read and
/// dropped).
///
/// Examples:
///   fkit mmap view disk.img --offset 0x1be --length 64
///   fkit mmap view big.log --offset 4G --length 200 --text
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// File to read; `-` or nothing reads stdin.
    file: Option<PathBuf>,

    /// First byte to show: 4096, 4K, 0x1000.
    #[arg(short, long, value_name = "OFFSET", default_value = "0")]
    offset: Size,

    /// Number of bytes to show (default: to the end of the file).
    #[arg(short, long, value_name = "SIZE")]
    length: Option<Size>,

    /// Hex dump with offsets and characters, like xxd (the default).
    #[arg(long, conflicts_with = "text")]
    hex: bool,

    /// The raw bytes, unchanged.
    #[arg(long)]
    text: bool,

    /// Hold a shared advisory lock on the file while reading it.
    #[arg(long)]
    lock: bool,
}

pub fn run(args: Args) -> Result<()> {
    let name = name_of(args.file.as_ref());
    let offset = args.offset.bytes();
    let length = args.length.map_or(u64::MAX, Size::bytes);
    let mut out = Output::stdout().buffer(1 << 16).create()?;
    let mut dump = Dump::new(args.text, offset);
    match open(args.file.as_ref(), args.lock, false)? {
        MapOrStream::Map(map) => {
            let len = map.len() as u64;
            if offset > len {
                return Err(Exit::with(
                    1,
                    format!("{name}: offset {offset} is past the end of the file ({len} bytes)"),
                )
                .into());
            }
            let end = offset.saturating_add(length).min(len);
            let bytes = &map[offset as usize..end as usize];
            map.advise_sequential();
            for block in bytes.chunks(1 << 20) {
                dump.write(&mut out, block)?;
            }
        }
        MapOrStream::Stream(mut input) => {
            let skipped = io::copy(&mut (&mut input).take(offset), &mut io::sink())
                .with_context(|| name.clone())?;
            if skipped < offset {
                return Err(Exit::with(
                    1,
                    format!(
                        "{name}: offset {offset} is past the end of the input ({skipped} bytes)"
                    ),
                )
                .into());
            }
            let mut limited = input.take(length);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = match limited.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e).with_context(|| name.clone()),
                };
                dump.write(&mut out, &buf[..n])?;
            }
        }
    }
    dump.finish(&mut out)?;
    out.finish()
}

/// Turns bytes into output lines; keeps a partial hex line between blocks.
struct Dump {
    raw: bool,
    /// Offset of the first byte in `pending`.
    at: u64,
    pending: Vec<u8>,
    line: Vec<u8>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Dump {
    fn new(raw: bool, at: u64) -> Dump {
        Dump {
            raw,
            at,
            pending: Vec::with_capacity(16),
            line: Vec::with_capacity(80),
        }
    }

    fn write(&mut self, out: &mut impl Write, mut bytes: &[u8]) -> io::Result<()> {
        if self.raw {
            return out.write_all(bytes);
        }
        if !self.pending.is_empty() {
            let take = (16 - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() < 16 {
                return Ok(());
            }
            let row = std::mem::take(&mut self.pending);
            self.row(out, &row)?;
            self.pending = row;
            self.pending.clear();
        }
        let mut rows = bytes.chunks_exact(16);
        for row in &mut rows {
            self.row(out, row)?;
        }
        self.pending.extend_from_slice(rows.remainder());
        Ok(())
    }

    fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        if !self.pending.is_empty() {
            let row = std::mem::take(&mut self.pending);
            self.row(out, &row)?;
        }
        Ok(())
    }

    /// One xxd line: `00000010: 3031 3233 ...  0123...`, the hex column
    /// padded so the characters line up on a short last row.
    fn row(&mut self, out: &mut impl Write, row: &[u8]) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        // The offset in hex, at least 8 digits (xxd's `%08x`), written by
        // hand: through `write!` it cost a third of the whole dump.
        let digits = (64 - self.at.leading_zeros() as usize).div_ceil(4).max(8);
        for shift in (0..digits).rev() {
            line.push(HEX[((self.at >> (shift * 4)) & 15) as usize]);
        }
        line.push(b':');
        for (i, &b) in row.iter().enumerate() {
            if i % 2 == 0 {
                line.push(b' ');
            }
            line.push(HEX[(b >> 4) as usize]);
            line.push(HEX[(b & 15) as usize]);
        }
        // A full row's hex column is 8 pairs of " xxxx": 40 characters.
        let hex_len = row.len() * 2 + row.len().div_ceil(2);
        line.resize(line.len() + (40 - hex_len) + 2, b' ');
        line.extend(
            row.iter()
                .map(|&b| if (0x20..0x7f).contains(&b) { b } else { b'.' }),
        );
        line.push(b'\n');
        self.at += row.len() as u64;
        out.write_all(line)
    }
}
