//! Compressed formats, told apart by their magic bytes (never by the name).
//!
//! The input layer uses [`Format::detect`] and [`decoder`] to read gzip and
//! bzip2 transparently; `fkit gzip` uses the same detection for `-d`, `-t`
//! and `-l`. Every member of a multi-member gzip file and every stream of a
//! concatenated bzip2 file is decoded, as GNU gzip and bzip2 do.

use std::io::{BufRead, Read};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Bzip2,
}

impl Format {
    /// The format whose magic bytes start `head`, if any. `head` should hold
    /// at least 4 bytes when the input has that many.
    pub fn detect(head: &[u8]) -> Option<Format> {
        match head {
            [0x1f, 0x8b, ..] => Some(Format::Gzip),
            // "BZh" then the block size digit 1-9.
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Format::Bzip2),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
        }
    }
}

/// A reader of the decompressed bytes of `input`, which holds `format`.
pub fn decoder<'a>(
    format: Format,
    input: Box<dyn BufRead + Send + 'a>,
) -> Box<dyn Read + Send + 'a> {
    match format {
        Format::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Format::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic() {
        assert_eq!(Format::detect(&[0x1f, 0x8b, 8, 0]), Some(Format::Gzip));
        assert_eq!(Format::detect(b"BZh91AY"), Some(Format::Bzip2));
        assert_eq!(Format::detect(b"BZh0"), None);
        assert_eq!(Format::detect(b"id,name"), None);
        assert_eq!(Format::detect(b""), None);
    }
}
