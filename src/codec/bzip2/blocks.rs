//! Finding the blocks of a bzip2 stream so that they decode in parallel
//! (the lbzip2 technique). No crate does this: libbz2 (the bzip2 crate)
//! only decodes a stream from its start, on one core.
//!
//! A bzip2 stream is "BZh" + a level digit, then blocks that each start with
//! the 48-bit magic 0x314159265359 at any bit offset, then the end-of-stream
//! magic 0x177245385090, the stream's CRC and padding to a byte. Each block
//! is found by its magic and handed on as its bit range in the input, which
//! fkit's block decoder (decoder.rs) decodes in place. The magic may also occur
//! by chance inside compressed data; then a block does not decode to exactly
//! its range and the caller decodes that stream sequentially instead.

const BLOCK_MAGIC: u64 = 0x3141_5926_5359;
const END_MAGIC: u64 = 0x1772_4538_5090;

/// One block: where it is in the input.
pub(crate) struct Block {
    /// Byte offset of the stream the block belongs to.
    pub stream: usize,
    /// The block's CRC, and the stream's CRC when this is its last block.
    pub crc: u32,
    pub stream_crc: Option<u32>,
    /// Byte offset of the end of the block: the input before it is done.
    pub end: usize,
    /// The bits of the block: from its magic to the next magic.
    pub start_bit: u64,
    pub end_bit: u64,
    /// The stream's level (1..=9): its blocks hold up to level x 100 kB.
    pub level: u32,
}

/// Where the block search stopped.
pub(crate) enum Stop {
    /// Every stream up to the end of the input was cut into blocks.
    End,
    /// From this byte offset on (a stream whose blocks could not be found,
    /// or bytes that are not a stream) the input is decoded sequentially.
    At(usize),
}

/// 48 bits starting at bit `bit` of `data` (zeros past the end).
fn bits48(data: &[u8], bit: u64) -> u64 {
    let byte = (bit / 8) as usize;
    let mut word = [0u8; 8];
    let avail = data.len().saturating_sub(byte).min(8);
    word[..avail].copy_from_slice(&data[byte..byte + avail]);
    (u64::from_be_bytes(word) << (bit % 8)) >> 16
}

/// The 5 whole bytes a magic covers when it starts `shift` bits into a byte;
/// they begin one byte after that byte.
fn pattern(magic: u64, shift: u32) -> [u8; 5] {
    let mut p = [0u8; 5];
    for (j, b) in p.iter_mut().enumerate() {
        *b = (magic >> (shift + 8 * (4 - j as u32))) as u8;
    }
    p
}

/// Finds the next block or end-of-stream magic at or after a bit offset.
struct MagicFinder {
    finders: Vec<(memchr::memmem::Finder<'static>, u32, u64)>,
}

impl MagicFinder {
    fn new() -> MagicFinder {
        let mut finders = Vec::new();
        for magic in [BLOCK_MAGIC, END_MAGIC] {
            for shift in 0..8 {
                let finder = memchr::memmem::Finder::new(&pattern(magic, shift)).into_owned();
                finders.push((finder, shift, magic));
            }
        }
        MagicFinder { finders }
    }

    /// The first (bit offset, magic) at or after `from`, searching at most
    /// `limit` bytes on.
    fn next(&self, data: &[u8], from: u64, limit: usize) -> Option<(u64, u64)> {
        const CHUNK: usize = 64 * 1024;
        let mut start = (from / 8) as usize;
        let end = data.len().min(start + limit);
        while start < end {
            // Overlap chunks so a magic across a boundary is seen.
            let stop = (start + CHUNK + 8).min(data.len());
            let hay = &data[start..stop];
            let mut best: Option<(u64, u64)> = None;
            for (finder, shift, magic) in &self.finders {
                let mut at = 0;
                while let Some(i) = finder.find(&hay[at..]) {
                    let pos = start + at + i;
                    at += i + 1;
                    // The magic starts `shift` bits into the byte before.
                    if pos == 0 {
                        continue;
                    }
                    let bit = (pos as u64 - 1) * 8 + *shift as u64;
                    if bit < from || bits48(data, bit) != *magic {
                        continue;
                    }
                    if best.is_none_or(|(b, _)| bit < b) {
                        best = Some((bit, *magic));
                    }
                    break;
                }
            }
            if best.is_some() {
                return best;
            }
            start += CHUNK;
        }
        None
    }
}

/// The blocks of the bzip2 streams in `data`, one by one; a block's
/// compressed size is bounded, so each search looks at most this far.
pub(crate) struct Blocks<'a> {
    data: &'a [u8],
    finder: MagicFinder,
    /// Byte offset of the current stream, its level, and the bit where the
    /// next block or end magic must be.
    stream: usize,
    level: u8,
    bit: u64,
    in_stream: bool,
    pub stop: Option<Stop>,
}

impl<'a> Blocks<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Blocks<'a> {
        Blocks {
            data,
            finder: MagicFinder::new(),
            stream: 0,
            level: b'9',
            bit: 0,
            in_stream: false,
            stop: None,
        }
    }

    fn stop(&mut self, stop: Stop) -> Option<Block> {
        self.stop = Some(stop);
        None
    }
}

impl Iterator for Blocks<'_> {
    type Item = Block;

    fn next(&mut self) -> Option<Block> {
        if self.stop.is_some() {
            return None;
        }
        loop {
            let data = self.data;
            if !self.in_stream {
                let at = self.bit.div_ceil(8) as usize;
                if at >= data.len() {
                    return self.stop(Stop::End);
                }
                match &data[at..data.len().min(at + 4)] {
                    [b'B', b'Z', b'h', d @ b'1'..=b'9'] => {
                        self.stream = at;
                        self.level = *d;
                        self.bit = (at as u64 + 4) * 8;
                        self.in_stream = true;
                    }
                    _ => return self.stop(Stop::At(at)),
                }
            }
            let here = self.bit;
            let magic = if here / 8 + 6 <= data.len() as u64 {
                bits48(data, here)
            } else {
                0
            };
            if magic == END_MAGIC {
                // Stream CRC, then padding to a byte; the next stream follows.
                // A stream cut inside its CRC, or one without blocks whose
                // CRC is not 0, is left to libbz2, which reports it.
                let complete = (here + 80).div_ceil(8) <= data.len() as u64;
                let empty = here == (self.stream as u64 + 4) * 8;
                if !complete || empty && bits48(data, here + 48) >> 16 != 0 {
                    return self.stop(Stop::At(self.stream));
                }
                self.bit = here + 48 + 32;
                self.in_stream = false;
                continue;
            }
            if magic != BLOCK_MAGIC {
                return self.stop(Stop::At(self.stream));
            }
            // A block is at most level x 100 kB before compression; bzip2's
            // worst case expansion keeps it well under twice that.
            let limit = (self.level - b'0') as usize * 200_000 + 4096;
            let Some((end, next_magic)) = self.finder.next(data, here + 48, limit) else {
                return self.stop(Stop::At(self.stream));
            };
            let crc = (bits48(data, here + 48) >> 16) as u32;
            let stream_crc =
                (next_magic == END_MAGIC).then(|| (bits48(data, end + 48) >> 16) as u32);
            self.bit = end;
            return Some(Block {
                stream: self.stream,
                crc,
                stream_crc,
                end: (end / 8) as usize,
                start_bit: here,
                end_bit: end,
                level: (self.level - b'0') as u32,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn blocks_are_found_and_decode_in_place() {
        // Several blocks at level 1 (100 kB each), in two streams.
        let text: Vec<u8> = (0..400_000u32)
            .flat_map(|i| format!("{} ", i % 9973).into_bytes())
            .collect();
        for level in [1, 9] {
            check(&text, level);
        }
    }

    /// A long run of zeros fills whole blocks with `00 00 00 00 FB`
    /// repeated: the rows then form one cycle per repeat. Such blocks
    /// decode in place too (they once fell back to libbz2).
    #[test]
    fn blocks_of_one_repeated_string_decode_in_place() {
        check(&vec![0u8; 16 << 20], 1);
    }

    /// Files the real bzip2 and lbzip2 write (lbzip2 has its own encoder)
    /// decode block by block with fkit's decoder, with no fallback.
    #[test]
    fn blocks_of_bzip2_and_lbzip2_decode_in_place() {
        let mut text: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("{} {} ", i % 9973, i % 7).into_bytes())
            .collect();
        text.extend(std::iter::repeat_n(b'x', 100_000));
        let mut seed = 3u32;
        text.extend((0..200_000).map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        }));
        for (tool, args) in [("bzip2", ["-1", "-c"]), ("lbzip2", ["-1", "-c"])] {
            let child = std::process::Command::new(tool)
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn();
            let Ok(mut child) = child else {
                eprintln!("skipped: {tool} is not installed");
                continue;
            };
            let mut stdin = child.stdin.take().unwrap();
            let input = text.clone();
            let writer = std::thread::spawn(move || stdin.write_all(&input));
            let file = child.wait_with_output().unwrap().stdout;
            writer.join().unwrap().unwrap();
            let mut blocks = Blocks::new(&file);
            let mut decoder = super::super::decoder::BlockDecoder::new();
            let mut out = Vec::new();
            for b in &mut blocks {
                let (end, crc) = decoder
                    .decode_block(&file, b.start_bit, b.level, &mut out)
                    .unwrap();
                assert_eq!((end, crc), (b.end_bit, b.crc), "{tool}");
            }
            assert!(matches!(blocks.stop, Some(Stop::End)), "{tool}");
            assert!(out == text, "{tool}");
        }
    }

    fn check(text: &[u8], level: u32) {
        let mut file = Vec::new();
        for part in [text, &text[..1000]] {
            let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(level));
            enc.write_all(part).unwrap();
            file.extend(enc.finish().unwrap());
        }
        let mut blocks = Blocks::new(&file);
        let mut out = Vec::new();
        let mut count = 0;
        let mut decoder = super::super::decoder::BlockDecoder::new();
        for b in &mut blocks {
            assert_eq!(b.level, level);
            let (end, crc) = decoder
                .decode_block(&file, b.start_bit, b.level, &mut out)
                .unwrap();
            assert_eq!((end, crc), (b.end_bit, b.crc), "block {count}");
            count += 1;
        }
        assert!(matches!(blocks.stop, Some(Stop::End)));
        assert!(count > 2, "{count} blocks");
        let mut want = text.to_vec();
        want.extend_from_slice(&text[..1000]);
        assert!(out == want);
    }
}
