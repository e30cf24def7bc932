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
//! - `zstd.rs`: zstd through libzstd, in independent frames with a seek
//!   table, on every core;
//! - `xz/`: xz through liblzma, its blocks found through the index and
//!   decoded on every core;
//! - `zlib.rs`: zlib and single-entry zip output (pigz -z, -K) on every core;
//! - `pipeline.rs`: the ordered parallel pipeline every one of them runs on;
//! - `source.rs`: where compressed bytes come from (a map or a stream) and
//!   what may follow the last member;
//! - `window.rs`: where decompressed bytes go (all, or a `--range`).

pub(crate) mod bzip2;
pub(crate) mod gzip;
mod pipeline;
mod source;
mod window;
pub(crate) mod xz;
pub(crate) mod zlib;
pub(crate) mod zstd;

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
        Format::Zstd => zstd::decompress(src, out, threads),
        Format::Xz => xz::decompress(src, out, threads),
    }
}

/// A reader whose first read fails (a decoder that could not be set up).
struct Failing(Option<std::io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// A reader of the decompressed bytes of `input`, which holds `format`:
/// every member of a gzip input, every stream of a concatenated bzip2, zstd
/// or xz one, as their own tools read them, in constant memory.
pub(crate) fn decoder<'a>(
    format: Format,
    input: Box<dyn BufRead + Send + 'a>,
) -> Box<dyn Read + Send + 'a> {
    match format {
        Format::Gzip => Box::new(gzip::GzipDecoder::new(input)),
        Format::Bzip2 => Box::new(::bzip2::bufread::MultiBzDecoder::new(input)),
        Format::Zstd => match ::zstd::stream::read::Decoder::with_buffer(input) {
            Ok(d) => Box::new(d),
            Err(e) => Box::new(Failing(Some(e))),
        },
        Format::Xz => Box::new(::liblzma::bufread::XzDecoder::new_multi_decoder(input)),
    }
}
