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
    Zstd,
    Xz,
}

impl Format {
    /// The format whose magic bytes start `head`, if any. `head` should hold
    /// at least 4 bytes when the input has that many (xz's magic is six
    /// bytes long; four tell it apart from the others).
    pub fn detect(head: &[u8]) -> Option<Format> {
        match head {
            [0x1f, 0x8b, ..] => Some(Format::Gzip),
            // "BZh" then the block size digit 1-9.
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Format::Bzip2),
            // A frame, or a skippable frame (magic 0x184D2A50-5F).
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Format::Zstd),
            [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..] => Some(Format::Zstd),
            [0xfd, b'7', b'z', b'X', ..] => Some(Format::Xz),
            _ => None,
        }
    }

    /// The format's name in messages and `--list`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Zstd => "zstd",
            Format::Xz => "xz",
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
        assert_eq!(
            Format::detect(&[0x28, 0xb5, 0x2f, 0xfd]),
            Some(Format::Zstd)
        );
        assert_eq!(
            Format::detect(&[0x5e, 0x2a, 0x4d, 0x18]),
            Some(Format::Zstd)
        );
        assert_eq!(Format::detect(b"\xfd7zXZ\0"), Some(Format::Xz));
        assert_eq!(Format::detect(b"id,name"), None);
        assert_eq!(Format::detect(b""), None);
    }
}
