//! `fkit mmap unview`: a hex dump back to bytes, as xxd -r.

use crate::io::{Exit, Input, Output};
use anyhow::{Context, Result};
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Turn a hex dump back into bytes, as xxd -r does.
///
/// Reads xxd's lines (`00000010: 3031 3233 ...  0123...`, as `fkit mmap
/// view` writes them) or, with -p, plain hex digits (whitespace anywhere,
/// as `view -p` and xxd -p write them). In a line dump each line's offset
/// says where its bytes go: a gap (the `*` that -a leaves for zero lines)
/// is filled with zero bytes, as xxd -r fills it on a pipe; lines without
/// an offset are skipped, and an offset behind the bytes already written
/// is an error. At most -c bytes are read from a line (default 16), so
/// the characters column is never taken for hex.
///
/// The bytes go to stdout or to -o FILE, written atomically (never over an
/// existing file without --force). xxd -r writes into an existing file
/// without truncating it instead; `fkit mmap patch --from` does that.
///
/// Examples:
///   fkit mmap view fw.bin > fw.hex && vi fw.hex && fkit mmap unview fw.hex -o fw.bin --force
///   fkit mmap view -p key.bin | fkit mmap unview -p > key.copy
///   fkit mmap view -a disk.img | fkit mmap unview -o disk.copy
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The dump to read; `-` or nothing reads stdin.
    dump: Option<PathBuf>,

    /// Where the bytes go; `-` or nothing is stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// The dump is plain hex digits (xxd -r -p).
    #[arg(short, long)]
    plain: bool,

    /// Bytes per line at most in a line dump (xxd -r -c).
    #[arg(short, long, value_name = "N", default_value_t = 16)]
    cols: usize,

    /// Replace an existing output file.
    #[arg(short, long)]
    force: bool,
}

pub fn run(args: Args) -> Result<()> {
    let mut input = Input::at(args.dump.as_ref()).open()?;
    let name = input.name().to_string();
    let mut out = Output::to(args.output.as_ref())
        .force(args.force)
        .create()?;
    let mut line = Vec::new();
    let mut bytes = Vec::new();
    let mut written = 0u64;
    // A plain dump's digit waiting for its pair (pairs may span lines).
    let mut high: Option<u8> = None;
    for number in 1.. {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .with_context(|| name.clone())?
            == 0
        {
            break;
        }
        bytes.clear();
        if args.plain {
            for (col, &c) in line.iter().enumerate() {
                if c.is_ascii_whitespace() {
                    continue;
                }
                let Some(v) = hex_value(c) else {
                    return Err(Exit::with(
                        1,
                        format!(
                            "{name}: line {number}, column {}: \"{}\" is not a hex digit",
                            col + 1,
                            c.escape_ascii()
                        ),
                    )
                    .into());
                };
                match high.take() {
                    None => high = Some(v),
                    Some(h) => bytes.push(h << 4 | v),
                }
            }
        } else {
            let Some(at) = line_bytes(&line, args.cols, &mut bytes) else {
                continue;
            };
            if at < written {
                return Err(Exit::with(
                    1,
                    format!(
                        "{name}: line {number}: offset {at:#x} is behind the {written} bytes already written"
                    ),
                )
                .into());
            }
            crate::io::write_zeros(&mut out, at - written)?;
            written = at;
        }
        out.write_all(&bytes)?;
        written += bytes.len() as u64;
    }
    if high.is_some() {
        return Err(Exit::with(1, format!("{name}: an odd number of hex digits")).into());
    }
    out.finish()
}

fn hex_value(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|v| v as u8)
}

/// The offset and bytes of one xxd line, or `None` for a line that has no
/// offset (such as `*`). The hex digits run from after the colon to two
/// spaces in a row (the characters column) or `cols` bytes.
fn line_bytes(line: &[u8], cols: usize, bytes: &mut Vec<u8>) -> Option<u64> {
    let colon = memchr::memchr(b':', line)?;
    let address = std::str::from_utf8(&line[..colon]).ok()?.trim();
    let at = u64::from_str_radix(address, 16).ok()?;
    let rest = &line[colon + 1..];
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let mut high: Option<u8> = None;
    let mut i = 0;
    while i < rest.len() && bytes.len() < cols {
        let c = rest[i];
        if c == b' ' || c == b'\t' {
            if matches!(rest.get(i + 1), Some(b' ' | b'\t')) {
                break;
            }
        } else if let Some(v) = hex_value(c) {
            match high.take() {
                None => high = Some(v),
                Some(h) => bytes.push(h << 4 | v),
            }
        } else {
            break;
        }
        i += 1;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxd_lines() {
        let mut bytes = Vec::new();
        let at = line_bytes(b"00000010: 6162 630a 64  abc.d\n", 16, &mut bytes);
        assert_eq!((at, bytes.as_slice()), (Some(16), &b"abc\nd"[..]));
        bytes.clear();
        // The characters column holds hex-looking text: it is not read.
        let at = line_bytes(
            b"00000000: 6361 6665                                cafe\n",
            16,
            &mut bytes,
        );
        assert_eq!((at, bytes.as_slice()), (Some(0), &b"cafe"[..]));
        bytes.clear();
        assert_eq!(line_bytes(b"*\n", 16, &mut bytes), None);
        let at = line_bytes(b"00000000: 6162 6364  abcd\n", 3, &mut bytes);
        assert_eq!((at, bytes.as_slice()), (Some(0), &b"abc"[..]));
    }
}
