//! The compressed formats fkit reads and writes, and their parallel encoders
//! and decoders, apart from any command: `fkit gzip` drives them, and the
//! input layer ([`crate::io::input`]) reads compressed inputs through
//! [`decoder`]. Which format an input holds is decided by its magic bytes,
//! in [`crate::io::detect`].
//!
//! - `gzip/`: the member format with fkit's block index, the inflaters,
//!   compression and decompression on every core, the streaming reader;
//! - `bzip2/`: fkit's own block encoder and decoder, the block finder, and
//!   compression and decompression on every core;
//! - `pipeline.rs`: the ordered parallel pipeline every one of them runs on;
//! - `source.rs`: where compressed bytes come from (a map or a stream) and
//!   what may follow the last member;
//! - `window.rs`: where decompressed bytes go (all, or a `--range`).

pub(crate) mod bzip2;
pub(crate) mod gzip;
mod pipeline;
mod source;
mod window;

pub(crate) use source::{Source, Trailing};
pub(crate) use window::Window;

use crate::io::detect::Format;
use std::io::{BufRead, Read};

/// Decompress `src`, which holds `format`, into `out` on `threads` cores
/// (where the format allows it); what follows the last member, if
/// anything, is returned for the caller to judge.
pub(crate) fn decompress(
    format: Format,
    src: Source,
    out: &mut Window,
    threads: usize,
) -> anyhow::Result<Option<Trailing>> {
    match format {
        Format::Gzip => gzip::decompress(src, out, threads),
        Format::Bzip2 => bzip2::decompress(src, out, threads),
    }
}

/// A reader of the decompressed bytes of `input`, which holds `format`:
/// every member of a gzip input, every stream of a concatenated bzip2 one,
/// as GNU gzip and bzip2 read them, in constant memory.
pub(crate) fn decoder<'a>(
    format: Format,
    input: Box<dyn BufRead + Send + 'a>,
) -> Box<dyn Read + Send + 'a> {
    match format {
        Format::Gzip => Box::new(gzip::GzipDecoder::new(input)),
        Format::Bzip2 => Box::new(::bzip2::bufread::MultiBzDecoder::new(input)),
    }
}
