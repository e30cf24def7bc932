//! Compressed inputs, told apart by their magic bytes (never by the name).
//!
//! This is the one place that decides whether an input is compressed and
//! how: the input layer asks it before handing the bytes to
//! `codec::decoder`, `fkit gzip` for `-d`, `-t` and `-l`, and csv before
//! mapping a file. The formats themselves live in `codec`.

/// A compressed format fkit reads.
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

    /// The format's name in messages and `--list`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
        }
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
