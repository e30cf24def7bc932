//! The gzip member header (RFC 1952), with fkit's block index in its extra
//! field. Hand-written rather than taken from flate2, whose `GzHeader` is only
//! parsed by a decoder reading a stream: fkit parses headers in place in a
//! map, to find members without inflating, and patches the index once the
//! member's length is known.
//!
//! fkit's own gzip files carry a block index (see [`MemberHeader::index`]):
//! every member records its compressed and uncompressed length in an extra
//! field, so a reader can find members without inflating anything.

/// The two bytes that name fkit's block-index subfield in a gzip header.
const INDEX_ID: [u8; 2] = *b"FK";
const FTEXT_MASK: u8 = 1;
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

/// What a gzip member header says.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemberHeader {
    /// Length of the header in bytes.
    pub len: usize,
    /// The original file name (FNAME), without its terminating zero.
    pub name: Option<Vec<u8>>,
    /// Modification time in seconds since the epoch; 0 means none.
    pub mtime: u32,
    /// fkit's block index: (whole member length, uncompressed length).
    pub index: Option<(u32, u32)>,
    /// BGZF's `BC` subfield: the whole member's length (the uncompressed
    /// length is in its trailer).
    pub bgzf_len: Option<u32>,
}

/// Why a header could not be read.
#[derive(Debug)]
pub(crate) enum HeaderError {
    /// More bytes are needed than `buf` holds.
    Short,
    NotGzip,
    Unsupported(&'static str),
}

/// Parse the gzip member header that starts `buf`.
pub(crate) fn parse_header(buf: &[u8]) -> Result<MemberHeader, HeaderError> {
    if buf.len() >= 2 && buf[..2] != [0x1f, 0x8b] || buf.len() == 1 && buf[0] != 0x1f {
        return Err(HeaderError::NotGzip);
    }
    if buf.len() < 10 {
        return Err(HeaderError::Short);
    }
    if buf[2] != 8 {
        return Err(HeaderError::Unsupported("unknown compression method"));
    }
    let flags = buf[3];
    if flags & 0xe0 != 0 {
        return Err(HeaderError::Unsupported("reserved header flags are set"));
    }
    let _ = FTEXT_MASK;
    let mut header = MemberHeader {
        mtime: u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ..MemberHeader::default()
    };
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let xlen = buf.get(pos..pos + 2).ok_or(HeaderError::Short)?;
        let xlen = u16::from_le_bytes([xlen[0], xlen[1]]) as usize;
        pos += 2;
        let extra = buf.get(pos..pos + xlen).ok_or(HeaderError::Short)?;
        pos += xlen;
        let mut sub = extra;
        while sub.len() >= 4 {
            let len = u16::from_le_bytes([sub[2], sub[3]]) as usize;
            let Some(data) = sub.get(4..4 + len) else {
                break;
            };
            if sub[..2] == *b"BC" && len == 2 {
                header.bgzf_len = Some(u16::from_le_bytes([data[0], data[1]]) as u32 + 1);
            }
            if sub[..2] == INDEX_ID && len == 8 {
                header.index = Some((
                    u32::from_le_bytes([data[0], data[1], data[2], data[3]]),
                    u32::from_le_bytes([data[4], data[5], data[6], data[7]]),
                ));
            }
            sub = &sub[4 + len..];
        }
    }
    if flags & FNAME != 0 {
        let rest = buf.get(pos..).ok_or(HeaderError::Short)?;
        let end = memchr::memchr(0, rest).ok_or(HeaderError::Short)?;
        header.name = Some(rest[..end].to_vec());
        pos += end + 1;
    }
    if flags & FCOMMENT != 0 {
        let rest = buf.get(pos..).ok_or(HeaderError::Short)?;
        let end = memchr::memchr(0, rest).ok_or(HeaderError::Short)?;
        pos += end + 1;
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    if buf.len() < pos {
        return Err(HeaderError::Short);
    }
    header.len = pos;
    Ok(header)
}

/// Append a gzip member header. With `index`, room is left for fkit's block
/// index, to be filled by [`set_index`] once the member's length is known.
pub(crate) fn write_header(
    out: &mut Vec<u8>,
    name: Option<&[u8]>,
    comment: Option<&[u8]>,
    mtime: u32,
    level: u32,
    index: bool,
) {
    let mut flags = 0;
    if index {
        flags |= FEXTRA;
    }
    if name.is_some() {
        flags |= FNAME;
    }
    if comment.is_some() {
        flags |= FCOMMENT;
    }
    // XFL as zlib sets it: 2 = slowest, 4 = fastest.
    let xfl = match level {
        9.. => 2,
        0..=1 => 4,
        _ => 0,
    };
    out.extend_from_slice(&[0x1f, 0x8b, 8, flags]);
    out.extend_from_slice(&mtime.to_le_bytes());
    // OS 3 = Unix, as gzip writes on Unix.
    out.extend_from_slice(&[xfl, 3]);
    if index {
        out.extend_from_slice(&12u16.to_le_bytes());
        out.extend_from_slice(&INDEX_ID);
        out.extend_from_slice(&8u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
    }
    if let Some(name) = name {
        // A zero byte would end the field early; gzip stores the name as is.
        out.extend(name.iter().copied().filter(|&b| b != 0));
        out.push(0);
    }
    if let Some(comment) = comment {
        out.extend(comment.iter().copied().filter(|&b| b != 0));
        out.push(0);
    }
}

/// Fill in the block index of the member that starts `member` (written by
/// [`write_header`] with `index`).
pub(crate) fn set_index(member: &mut [u8], data_len: u32) {
    let member_len = member.len() as u32;
    member[16..20].copy_from_slice(&member_len.to_le_bytes());
    member[20..24].copy_from_slice(&data_len.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let mut h = Vec::new();
        write_header(&mut h, Some(b"a.txt"), None, 1234, 6, true);
        let parsed = parse_header(&h).unwrap();
        assert_eq!(parsed.len, h.len());
        assert_eq!(parsed.name.as_deref(), Some(&b"a.txt"[..]));
        assert_eq!(parsed.mtime, 1234);
        h.extend_from_slice(&[0; 10]);
        set_index(&mut h, 77);
        assert_eq!(parse_header(&h).unwrap().index, Some((h.len() as u32, 77)));
        assert!(matches!(parse_header(&h[..5]), Err(HeaderError::Short)));
        assert!(matches!(
            parse_header(b"PK\x03\x04"),
            Err(HeaderError::NotGzip)
        ));
    }
}
