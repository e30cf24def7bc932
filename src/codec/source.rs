//! Where a decoder's compressed input comes from (a mapped file or a
//! stream), and what becomes of the bytes that follow its last member or
//! stream: GNU gzip's rules for gzip, bzip2's for bzip2.

use crate::codec::window::Window;
use crate::io::detect::Format;
use anyhow::{Result, bail};
use std::io::{self, BufRead};

/// What followed the last member or stream, when the decoder's verdict is
/// still a success: the command decides what to say about it.
pub(crate) struct Trailing {
    /// Where it starts in the compressed input.
    pub at: u64,
    /// Zeros only (tape padding), which gzip ignores.
    pub only_zeros: bool,
}

/// Where the compressed bytes come from: a file (mapped, so that members can
/// be found and inflated in parallel), or a stream.
pub(crate) enum Source<'a> {
    File(&'a crate::io::MappedFile),
    Stream(&'a mut (dyn BufRead + Send)),
}

/// Judge what follows the last member or stream of `format`, from byte
/// `at` of the input: `held` (bytes the decoder already took), then `rest`.
/// With [`Window::pass_rest`] (`-cdf`, as `zcat -f`) it is copied to the
/// output as it is. Returns the bytes to report, if any.
///
/// gzip (gzip.c, get_method after the first member): two bytes that open
/// gzip's other formats (compress, pack, LZH, the old gzip magic) are
/// decoded as such, which fkit does not do: an error. Otherwise, with
/// `-cf` everything passes through; without, a single byte other than zero
/// is a header cut short ("unexpected end of file"), only zeros are tape
/// padding, anything else is trailing garbage.
///
/// bzip2 (bzip2.c, uncompressStream): a piece of a stream's magic (`B`,
/// `BZ`, `BZh`) cut off by the end is a truncated stream; anything else,
/// zeros included, is trailing garbage.
pub(super) fn after_last(
    format: Format,
    at: u64,
    held: &[u8],
    rest: &mut dyn BufRead,
    out: &mut Window,
) -> Result<Option<Trailing>> {
    // The first bytes decide; they may be spread over `held` and `rest`.
    let mut lead = held[..held.len().min(4)].to_vec();
    let held = &held[lead.len()..];
    while lead.len() < 4 {
        let buf = rest.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len().min(4 - lead.len());
        lead.extend_from_slice(&buf[..n]);
        rest.consume(n);
    }
    let truncated = || {
        anyhow::anyhow!(
            "unexpected end of file at byte {} (truncated input)",
            at + lead.len() as u64
        )
    };
    match format {
        Format::Gzip => {
            let other = match lead[..] {
                [0x1f, 0x9d, ..] => Some("compress (.Z)"),
                [0x1f, 0x1e, ..] => Some("pack"),
                [0x1f, 0xa0, ..] => Some("LZH"),
                [0x1f, 0x9e, ..] => Some("old gzip"),
                _ => None,
            };
            if let Some(other) = other {
                bail!("{other} data at byte {at}, after the gzip members, is not supported");
            }
            if !out.pass_rest && lead.len() == 1 && lead[0] != 0 {
                return Err(truncated());
            }
        }
        Format::Bzip2 => {
            if lead.len() < 4 && !lead.is_empty() && b"BZh".starts_with(&lead) {
                return Err(truncated());
            }
        }
        // Their decoders judge what follows themselves, as zstd and xz do.
        Format::Zstd | Format::Xz => {}
    }
    if out.pass_rest {
        out.put(&lead)?;
        out.put(held)?;
        loop {
            let buf = rest.fill_buf()?;
            if buf.is_empty() || out.full() {
                return Ok(None);
            }
            let n = buf.len();
            out.put(buf)?;
            rest.consume(n);
        }
    }
    if lead.is_empty() {
        return Ok(None);
    }
    let only_zeros =
        lead.iter().all(|&b| b == 0) && held.iter().all(|&b| b == 0) && all_zeros(rest)?;
    Ok(Some(Trailing { at, only_zeros }))
}

/// Read a file from `offset` on, with ordinary reads (pages read this way
/// are not counted in the process's memory, unlike a map's).
pub(super) fn tail(
    file: &std::fs::File,
    offset: usize,
) -> io::Result<io::BufReader<&std::fs::File>> {
    use std::io::Seek;
    let mut f = file;
    f.seek(io::SeekFrom::Start(offset as u64))?;
    Ok(io::BufReader::with_capacity(1 << 20, f))
}

/// Whether the rest of `reader` is only zero bytes (read to its end).
fn all_zeros(reader: &mut dyn BufRead) -> io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        if buf.iter().any(|&b| b != 0) {
            return Ok(false);
        }
        let n = buf.len();
        reader.consume(n);
    }
}
