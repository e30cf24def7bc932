//! The blocks of an xz file, found through the index at the end of each of
//! its streams: where every block lies and what it decodes to, without
//! decoding anything. `xz -T` and fkit record every block there; this is
//! how `xz -lvv` lists them and how fkit decodes them on every core and
//! serves a `--range` from the blocks it touches only.

const HEADER_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
const FOOTER_MAGIC: [u8; 2] = [b'Y', b'Z'];
/// Stream header and footer are twelve bytes each.
const HEADER: usize = 12;

/// One block: where it lies in the file and what it decodes to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Block {
    /// The stream it belongs to (an index into [`Layout::streams`]).
    pub stream: usize,
    /// Its first byte (the block header) in the file.
    pub offset: usize,
    /// Header, compressed data and check, without the padding after it.
    pub unpadded: u64,
    /// Decoded bytes.
    pub data_len: u64,
}

/// Every stream and block of an xz file, in file order.
#[derive(Debug)]
pub(super) struct Layout {
    /// Where each stream's header is in the file (for its stream flags).
    pub streams: Vec<usize>,
    pub blocks: Vec<Block>,
}

/// A variable-length integer of the xz format at `buf[*at..]`: seven bits
/// a byte, low first, at most nine bytes, no needless zero byte at the end.
fn vli(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..9 {
        let b = *buf.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (i == 0 || b != 0).then_some(value);
        }
    }
    None
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

/// The records of the index in `index` (unpadded and decoded size of each
/// block), when its structure and CRC32 hold.
fn records(index: &[u8]) -> Option<Vec<(u64, u64)>> {
    let body = index.len().checked_sub(4)?;
    if index.first() != Some(&0) || u32_at(index, body)? != crc32fast::hash(&index[..body]) {
        return None;
    }
    let mut at = 1;
    let count = vli(index, &mut at)?;
    // Each record takes two bytes at least: a count the index cannot hold
    // is not trusted with an allocation.
    if count > (body / 2) as u64 {
        return None;
    }
    let mut list = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let unpadded = vli(index, &mut at)?;
        let data_len = vli(index, &mut at)?;
        // The smallest block: a header of 8, no data, no check; 1 byte more.
        if unpadded < 5 {
            return None;
        }
        list.push((unpadded, data_len));
    }
    // Index padding: zeros up to a multiple of four.
    if at > body || body - at >= 4 || index[at..body].iter().any(|&b| b != 0) {
        return None;
    }
    (body.is_multiple_of(4)).then_some(list)
}

/// The streams and blocks of `file`, read from the end: stream padding,
/// footer, index, then the stream's header at the start its sizes give, and
/// so on back to byte zero. None when anything does not add up (damage,
/// not xz, trailing bytes): the file is then decoded as a stream, which
/// says what is wrong and where.
pub(super) fn layout(file: &[u8]) -> Option<Layout> {
    let mut streams = Vec::new();
    let mut blocks_rev: Vec<Vec<Block>> = Vec::new();
    let mut end = file.len();
    while end > 0 {
        // Stream padding: zeros, in fours.
        let mut padding = 0;
        while end >= 4 && file[end - 4..end] == [0; 4] {
            end -= 4;
            padding += 4;
        }
        if end == 0 && padding > 0 {
            return None;
        }
        let footer = end.checked_sub(HEADER)?;
        let f = &file[footer..end];
        if f[10..12] != FOOTER_MAGIC || u32_at(f, 0)? != crc32fast::hash(&f[4..10]) {
            return None;
        }
        let flags = &f[8..10];
        let index_len = (u32_at(f, 4)? as usize + 1) * 4;
        let index_at = footer.checked_sub(index_len)?;
        let records = records(&file[index_at..footer])?;
        let blocks_len = records.iter().try_fold(0usize, |sum, (unpadded, _)| {
            sum.checked_add(usize::try_from(unpadded.next_multiple_of(4)).ok()?)
        })?;
        let header = index_at.checked_sub(blocks_len)?.checked_sub(HEADER)?;
        let h = &file[header..header + HEADER];
        if h[..6] != HEADER_MAGIC || &h[6..8] != flags || u32_at(h, 8)? != crc32fast::hash(flags) {
            return None;
        }
        let stream = streams.len();
        streams.push(header);
        let mut offset = header + HEADER;
        blocks_rev.push(
            records
                .into_iter()
                .map(|(unpadded, data_len)| {
                    let block = Block {
                        stream,
                        offset,
                        unpadded,
                        data_len,
                    };
                    offset += unpadded.next_multiple_of(4) as usize;
                    block
                })
                .collect(),
        );
        end = header;
    }
    // Read from the end: put the streams back in file order.
    let count = streams.len();
    streams.reverse();
    let blocks = blocks_rev
        .into_iter()
        .rev()
        .flatten()
        .map(|b| Block {
            stream: count - 1 - b.stream,
            ..b
        })
        .collect();
    (count > 0).then_some(Layout { streams, blocks })
}

impl Layout {
    /// A standalone xz stream holding only `block`, in three pieces: the
    /// header of its stream, the block as it lies in the file, then an
    /// index of that one block and a footer. liblzma's ordinary decoder
    /// decodes it and checks everything the original stream would have
    /// it check (the block header's CRC32, the block's check, its sizes
    /// against the index).
    pub(super) fn standalone<'a>(&self, file: &'a [u8], block: &Block) -> [Piece<'a>; 3] {
        let start = self.streams[block.stream];
        let header = &file[start..start + HEADER];
        let flags = &header[6..8];
        let body = &file[block.offset..block.offset + block.unpadded.next_multiple_of(4) as usize];
        let mut tail = vec![0u8];
        for value in [1, block.unpadded, block.data_len] {
            let mut v = value;
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    tail.push(byte);
                    break;
                }
                tail.push(byte | 0x80);
            }
        }
        tail.resize(tail.len().next_multiple_of(4), 0);
        let crc = crc32fast::hash(&tail);
        tail.extend_from_slice(&crc.to_le_bytes());
        let backward = (tail.len() / 4 - 1) as u32;
        let mut footer = Vec::with_capacity(HEADER);
        footer.extend_from_slice(&backward.to_le_bytes());
        footer.extend_from_slice(flags);
        let crc = crc32fast::hash(&footer);
        tail.extend_from_slice(&crc.to_le_bytes());
        tail.extend_from_slice(&footer);
        tail.extend_from_slice(&FOOTER_MAGIC);
        [
            Piece::Borrowed(header),
            Piece::Borrowed(body),
            Piece::Owned(tail),
        ]
    }
}

pub(super) enum Piece<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Piece<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Piece::Borrowed(b) => b,
            Piece::Owned(v) => v,
        }
    }
}
