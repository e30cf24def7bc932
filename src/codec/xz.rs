//! xz through liblzma, on every core both ways: compression by liblzma's
//! multi-threaded encoder, which cuts the input into blocks and records
//! each block's sizes in its header and in the index (what `xz -T` writes);
//! decompression by its multi-threaded decoder, which decodes such blocks
//! in parallel whoever wrote them (as `xz -T2 -d`), and any other xz file
//! on one core. Concatenated streams and stream padding are read as the
//! xz command reads them.

use crate::codec::source::{MapStream, Source, Trailing};
use crate::codec::window::Window;
use anyhow::{Context, Result, bail};
use liblzma::stream::{Check, MtStreamBuilder, PRESET_EXTREME, Stream};
use std::io::{self, BufRead, Read, Write};

/// Compress `input` to xz at `level` (0-9, `extreme` for -e) on `threads`
/// cores, in blocks of `block` bytes (0: liblzma's default, three times the
/// dictionary, as xz -T); returns the number of bytes read.
pub(crate) fn compress(
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    level: u32,
    extreme: bool,
    threads: usize,
    block: usize,
) -> Result<u64> {
    let preset = level.min(9) | if extreme { PRESET_EXTREME } else { 0 };
    let stream = MtStreamBuilder::new()
        .threads(threads.clamp(1, 64) as u32)
        .preset(preset)
        .check(Check::Crc64)
        .block_size(block as u64)
        .encoder()
        .context("xz")?;
    let mut encoder = liblzma::write::XzEncoder::new_stream(out, stream);
    let read = io::copy(input, &mut encoder).context("xz")?;
    encoder.finish().context("write error")?;
    Ok(read)
}

fn decoder(threads: usize) -> Result<Stream> {
    MtStreamBuilder::new()
        .threads(threads.clamp(1, 64) as u32)
        // Blocks are decoded in parallel only while the memory allows;
        // past this liblzma falls back to one thread rather than failing.
        .memlimit_threading(256 << 20)
        .memlimit_stop(u64::MAX)
        .decoder()
        .context("xz")
}

/// Decompress xz from `src` into `out` on `threads` cores: every stream of
/// a concatenation, with the zero padding allowed between and after them
/// (a multiple of four bytes); anything else after them is an error, as
/// for `xz -d`.
pub(crate) fn decompress(
    src: Source,
    out: &mut Window,
    threads: usize,
) -> Result<Option<Trailing>> {
    let mut mapped;
    let reader: &mut dyn BufRead = match src {
        Source::Stream(reader) => reader,
        Source::File(file) => {
            mapped = MapStream::new(file);
            &mut mapped
        }
    };
    let mut input = crate::io::counted::Counted::new(reader);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let start = input.count();
        let mut xz = liblzma::bufread::XzDecoder::new_stream(&mut input, decoder(threads)?);
        while !out.full() {
            let n = match xz.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => bail!(
                    "unexpected end of file (truncated input), in the stream that starts at byte {start}"
                ),
                Err(e) => bail!("{e}, in the stream that starts at byte {start}"),
            };
            if n == 0 {
                break;
            }
            out.put(&buf[..n])?;
        }
        drop(xz);
        if out.full() {
            return Ok(None);
        }
        // Stream padding: zeros, a multiple of four bytes.
        let padding_at = input.count();
        loop {
            let buf = input.fill_buf()?;
            let zeros = buf.iter().take_while(|&&b| b == 0).count();
            if zeros == 0 {
                break;
            }
            input.consume(zeros);
        }
        let padding = input.count() - padding_at;
        let rest = input.fill_buf()?;
        if rest.is_empty() && padding.is_multiple_of(4) {
            return Ok(None);
        }
        if !padding.is_multiple_of(4) || !rest.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            bail!("trailing data at byte {padding_at} is neither an xz stream nor stream padding");
        }
    }
}
