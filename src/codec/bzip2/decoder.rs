//! fkit's own bzip2 block decoder, instead of libbz2's (the bzip2 crate):
//! faster per core, and a block is decoded in place, so the blocks of one
//! stream decode on every core (bench row "bzip2 -d (file bzip2 wrote)":
//! 0.28x bzip2 -d's time).
//!
//! A block is decoded straight from the bit where its magic starts (as
//! found by blocks.rs), with no copy into a stream of its own:
//! - Huffman symbols through a 10-bit lookup table per coding table, with
//!   a canonical-code search for the rare longer codes, reading a 64-bit
//!   big-endian window at every symbol;
//! - move-to-front with the first 16 entries moved as one 128-bit word
//!   (text almost only uses those), RUNA/RUNB run lengths;
//! - the inverse BWT walked as many independent chains at once, started
//!   from rows spread over the matrix and joined afterwards. Each step is a
//!   load whose address depends on the previous one and usually misses the
//!   cache, so one chain (as in libbz2) waits for every miss in turn, while
//!   many keep many misses in flight. Each array entry packs the next row
//!   (high bits) with the byte (low 8), as libbz2's fast path does;
//! - the initial run-length coding (RLE1) undone in one pass, then the
//!   block's CRC checked.
//!
//! Every length and index read from the input is checked: corrupt or
//! hostile data is an error, never a panic or an out-of-bounds access, and
//! nothing is allocated beyond what the stream's block size allows.
//! Randomised blocks (written only by bzip2 0.9.0 and older) are reported
//! as [`BlockError::Randomised`]; the caller decodes those with libbz2.

use crc::{Crc, Table};

static CRC: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&crc::CRC_32_BZIP2);

const BLOCK_MAGIC: u64 = 0x3141_5926_5359;

/// Most selectors a block may use; libbz2 reads and ignores any beyond.
const MAX_SELECTORS: usize = 18002;
/// Bits looked up at once when decoding a Huffman symbol.
const FAST_BITS: u32 = 10;
const MAX_CODE_LEN: u32 = 20;
const MAX_ALPHA: usize = 258;

/// Why a block did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockError {
    /// The data is not a valid block (the reason says what is wrong).
    Corrupt(&'static str),
    /// The decoded data does not match the block's CRC.
    Crc,
    /// The obsolete randomised mode of bzip2 0.9.0.
    Randomised,
    /// The caller's budget for decoded bytes refused the block.
    Cancelled,
}

impl std::fmt::Display for BlockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockError::Corrupt(why) => write!(f, "invalid compressed data ({why})"),
            BlockError::Crc => f.write_str("crc error"),
            BlockError::Cancelled => f.write_str("decoding cancelled"),
            BlockError::Randomised => {
                f.write_str("randomised block (bzip2 0.9.0), not supported by this decoder")
            }
        }
    }
}

impl std::error::Error for BlockError {}

fn corrupt<T>(why: &'static str) -> Result<T, BlockError> {
    Err(BlockError::Corrupt(why))
}

/// A big-endian bit reader over the whole input; reads past the end see
/// zeros (and `overrun` tells), so that no read is out of bounds.
struct Bits<'a> {
    data: &'a [u8],
    pos: u64,
}

impl Bits<'_> {
    /// At least the next 57 bits, left-aligned.
    #[inline(always)]
    fn peek(&self) -> u64 {
        let byte = (self.pos >> 3) as usize;
        let word = match self.data.get(byte..byte + 8) {
            Some(b) => u64::from_be_bytes(b.try_into().expect("8 bytes")),
            None => self.peek_tail(byte),
        };
        word << (self.pos & 7)
    }

    #[cold]
    fn peek_tail(&self, byte: usize) -> u64 {
        let mut w = [0u8; 8];
        if byte < self.data.len() {
            let n = (self.data.len() - byte).min(8);
            w[..n].copy_from_slice(&self.data[byte..byte + n]);
        }
        u64::from_be_bytes(w)
    }

    /// The next `n` bits (1 to 32).
    #[inline(always)]
    fn get(&mut self, n: u32) -> u32 {
        let v = (self.peek() >> (64 - n)) as u32;
        self.pos += n as u64;
        v
    }

    #[inline(always)]
    fn bit(&mut self) -> bool {
        self.get(1) == 1
    }

    fn overrun(&self) -> bool {
        self.pos > self.data.len() as u64 * 8
    }
}

/// The decoding tables of one Huffman code.
struct Huffman {
    /// Indexed by the next FAST_BITS bits: symbol << 5 | code length, or 0
    /// when the code is longer (or the bits start no code).
    fast: [u16; 1 << FAST_BITS],
    /// For each length, the first left-aligned 20-bit value past the codes
    /// of that length, the first code of that length, and the index in
    /// `perm` of its first symbol.
    limit: [u32; MAX_CODE_LEN as usize + 1],
    first: [u32; MAX_CODE_LEN as usize + 1],
    offset: [u16; MAX_CODE_LEN as usize + 1],
    max_len: u32,
    /// The symbols sorted by code length, then by value.
    perm: [u16; MAX_ALPHA],
}

impl Huffman {
    fn new() -> Huffman {
        Huffman {
            fast: [0; 1 << FAST_BITS],
            limit: [0; MAX_CODE_LEN as usize + 1],
            first: [0; MAX_CODE_LEN as usize + 1],
            offset: [0; MAX_CODE_LEN as usize + 1],
            max_len: 0,
            perm: [0; MAX_ALPHA],
        }
    }

    /// Build the canonical code of the lengths (each 1..=20), as bzip2
    /// assigns it: by length, then by symbol value. An over-subscribed set
    /// of lengths is an error; an incomplete one is accepted, and the
    /// unused codes are errors when met.
    #[allow(clippy::needless_range_loop)] // indexes several arrays by length
    fn build(&mut self, lens: &[u8]) -> Result<(), BlockError> {
        let mut count = [0u32; MAX_CODE_LEN as usize + 1];
        for &l in lens {
            count[l as usize] += 1;
        }
        let mut code = 0u32;
        let mut index = 0u32;
        self.max_len = 0;
        for len in 1..=MAX_CODE_LEN as usize {
            self.first[len] = code;
            self.offset[len] = index as u16;
            code += count[len];
            index += count[len];
            if code > 1 << len {
                return corrupt("over-subscribed Huffman code");
            }
            self.limit[len] = code << (MAX_CODE_LEN as usize - len);
            if count[len] > 0 {
                self.max_len = len as u32;
            }
            code <<= 1;
        }
        let mut next = self.offset;
        for (sym, &l) in lens.iter().enumerate() {
            let slot = &mut next[l as usize];
            self.perm[*slot as usize] = sym as u16;
            *slot += 1;
        }
        self.fast.fill(0);
        for len in 1..=FAST_BITS as usize {
            let (start, end) = (self.offset[len] as usize, next[len] as usize);
            for (rank, &sym) in self.perm[start..end].iter().enumerate() {
                let code = self.first[len] + rank as u32;
                let shift = FAST_BITS as usize - len;
                let lo = (code as usize) << shift;
                let hi = (code as usize + 1) << shift;
                self.fast[lo..hi].fill((sym << 5) | len as u16);
            }
        }
        Ok(())
    }

    /// Decode a symbol whose code is longer than FAST_BITS (or invalid);
    /// `window` is what `Bits::peek` returned.
    #[cold]
    #[inline(never)]
    fn slow(&self, bits: &mut Bits, window: u64) -> Result<usize, BlockError> {
        let v = (window >> (64 - MAX_CODE_LEN)) as u32;
        for len in FAST_BITS + 1..=self.max_len {
            let l = len as usize;
            if v < self.limit[l] {
                let code = v >> (MAX_CODE_LEN - len);
                let i = self.offset[l] as usize + (code - self.first[l]) as usize;
                bits.pos += len as u64;
                return Ok(self.perm[i] as usize);
            }
        }
        corrupt("invalid Huffman code")
    }
}

/// Move the entry at `idx` of the MTF list to its front and return it.
#[inline(always)]
fn move_to_front(mtf: &mut [u8; 256], idx: usize) -> u8 {
    if idx < 16 {
        // The first 16 entries as one word (entry 0 in the low byte).
        let head = u128::from_le_bytes(mtf[..16].try_into().expect("16 bytes"));
        let byte = (head >> (idx * 8)) as u8;
        let below = (1u128 << (idx * 8)) - 1;
        let above = !((below << 8) | 0xff);
        let moved = (head & above) | ((head & below) << 8) | byte as u128;
        mtf[..16].copy_from_slice(&moved.to_le_bytes());
        byte
    } else {
        let byte = mtf[idx];
        mtf.copy_within(0..idx, 1);
        mtf[0] = byte;
        byte
    }
}

/// A block decoder; its buffers are reused from one block to the next.
pub(crate) struct BlockDecoder {
    tables: Vec<Huffman>,
    selectors: Vec<u8>,
    /// The last column of the BWT matrix, as decoded from the symbols.
    last: Vec<u8>,
    /// For each row: the next row forwards (high 24 bits) and its byte.
    forward: Vec<u32>,
    /// The text the chains of the inverse BWT walk, in pieces.
    scratch: Vec<u8>,
    pieces: Vec<Piece>,
    /// The block before the RLE1 undo.
    text: Vec<u8>,
}

impl Default for BlockDecoder {
    fn default() -> Self {
        BlockDecoder::new()
    }
}

impl BlockDecoder {
    pub(crate) fn new() -> BlockDecoder {
        BlockDecoder {
            tables: (0..6).map(|_| Huffman::new()).collect(),
            selectors: Vec::new(),
            last: Vec::new(),
            forward: Vec::new(),
            scratch: Vec::new(),
            pieces: Vec::new(),
            text: Vec::new(),
        }
    }

    /// Decode the block whose magic starts at bit `bit` of `data`, in a
    /// stream of `level` (1..=9: blocks of level x 100 kB), appending its
    /// data to `out`. Returns the bit where the block ends and its CRC
    /// (checked against the data).
    pub(crate) fn decode_block(
        &mut self,
        data: &[u8],
        bit: u64,
        level: u32,
        out: &mut Vec<u8>,
    ) -> Result<(u64, u32), BlockError> {
        self.decode_block_within(data, bit, level, out, |_| true)
    }

    /// [`Self::decode_block`], asking `reserve(n)` before the block's `n`
    /// decoded bytes are allocated (run-length coding lets a block of
    /// 900 kB decode to 46 MB): false stops the decoding
    /// ([`BlockError::Cancelled`]).
    pub(crate) fn decode_block_within(
        &mut self,
        data: &[u8],
        bit: u64,
        level: u32,
        out: &mut Vec<u8>,
        reserve: impl FnOnce(usize) -> bool,
    ) -> Result<(u64, u32), BlockError> {
        let max = level.clamp(1, 9) as usize * 100_000;
        let mut bits = Bits { data, pos: bit };
        let magic = ((bits.get(24) as u64) << 24) | bits.get(24) as u64;
        if magic != BLOCK_MAGIC {
            return corrupt("bad block magic");
        }
        let stored_crc = bits.get(32);
        if bits.bit() {
            return Err(BlockError::Randomised);
        }
        let orig_ptr = bits.get(24) as usize;

        // The bytes the block uses, in order.
        let mut used = [0u8; 256];
        let mut n_used = 0;
        let used16 = bits.get(16);
        for i in 0..16 {
            if used16 & (0x8000 >> i) != 0 {
                let map = bits.get(16);
                for j in 0..16 {
                    if map & (0x8000 >> j) != 0 {
                        used[n_used] = (i * 16 + j) as u8;
                        n_used += 1;
                    }
                }
            }
        }
        if n_used == 0 {
            return corrupt("no bytes used");
        }
        let alpha = n_used + 2;

        let n_groups = bits.get(3) as usize;
        if !(2..=6).contains(&n_groups) {
            return corrupt("bad number of Huffman tables");
        }
        let n_selectors = bits.get(15) as usize;
        if n_selectors == 0 {
            return corrupt("no selectors");
        }
        let mut order = [0u8, 1, 2, 3, 4, 5];
        self.selectors.clear();
        for i in 0..n_selectors {
            let mut j = 0;
            while bits.bit() {
                j += 1;
                if j >= n_groups {
                    return corrupt("bad selector");
                }
            }
            let v = order[j];
            order.copy_within(0..j, 1);
            order[0] = v;
            if i < MAX_SELECTORS {
                self.selectors.push(v);
            }
        }
        if bits.overrun() {
            return corrupt("truncated block");
        }

        let mut lens = [0u8; MAX_ALPHA];
        for t in 0..n_groups {
            let mut len = bits.get(5) as i32;
            for l in lens[..alpha].iter_mut() {
                loop {
                    if !(1..=MAX_CODE_LEN as i32).contains(&len) {
                        return corrupt("bad code length");
                    }
                    if !bits.bit() {
                        break;
                    }
                    len += if bits.bit() { -1 } else { 1 };
                }
                *l = len as u8;
            }
            self.tables[t].build(&lens[..alpha])?;
        }
        if bits.overrun() {
            return corrupt("truncated block");
        }

        // Symbols: run lengths and move-to-front indices, into `last`.
        if self.last.len() < max {
            self.last.resize(max, 0);
        }
        let last = &mut self.last[..max];
        let mut mtf = [0u8; 256];
        mtf[..n_used].copy_from_slice(&used[..n_used]);
        let mut counts = [0u32; 256];
        let end_of_block = n_used + 1;
        let mut n = 0usize;
        let (mut run, mut run_bit) = (0usize, 1usize);
        let mut next_selector = 0;
        let mut group_left = 0;
        let mut table = &self.tables[0];
        loop {
            if group_left == 0 {
                let Some(&s) = self.selectors.get(next_selector) else {
                    return corrupt("ran out of selectors");
                };
                if bits.overrun() {
                    return corrupt("truncated block");
                }
                table = &self.tables[s as usize];
                next_selector += 1;
                group_left = 50;
            }
            group_left -= 1;
            let window = bits.peek();
            let entry = table.fast[(window >> (64 - FAST_BITS)) as usize];
            let sym = if entry != 0 {
                bits.pos += (entry & 31) as u64;
                (entry >> 5) as usize
            } else {
                table.slow(&mut bits, window)?
            };
            if sym <= 1 {
                // RUNA adds 1, RUNB 2, times the bit's weight.
                run += run_bit << sym;
                run_bit <<= 1;
                if run > max {
                    return corrupt("run too long");
                }
                continue;
            }
            if run > 0 {
                let byte = mtf[0];
                let Some(dst) = last.get_mut(n..n + run) else {
                    return corrupt("block too long");
                };
                dst.fill(byte);
                counts[byte as usize] += run as u32;
                n += run;
                (run, run_bit) = (0, 1);
            }
            if sym == end_of_block {
                break;
            }
            // Symbols are below `alpha`, so the index is below n_used.
            let byte = move_to_front(&mut mtf, sym - 1);
            let Some(slot) = last.get_mut(n) else {
                return corrupt("block too long");
            };
            *slot = byte;
            counts[byte as usize] += 1;
            n += 1;
        }
        if bits.overrun() {
            return corrupt("truncated block");
        }
        if orig_ptr >= n {
            return corrupt("bad BWT origin");
        }

        self.text.clear();
        inverse_bwt(
            &self.last[..n],
            &counts,
            orig_ptr,
            &mut self.forward,
            &mut self.scratch,
            &mut self.pieces,
            &mut self.text,
        )?;
        let text = &self.text[..];

        // Undo RLE1: after four equal bytes comes a count of more.
        let len = rle1_len(text);
        if !reserve(len) {
            return Err(BlockError::Cancelled);
        }
        // Exactly: growing by doubling would hold up to twice the bytes.
        out.reserve_exact(len);
        let out_start = out.len();
        undo_rle1(text, out);
        let crc = CRC.checksum(&out[out_start..]);
        if crc != stored_crc {
            out.truncate(out_start);
            return Err(BlockError::Crc);
        }
        Ok((bits.pos, crc))
    }
}

/// Chains the inverse BWT walks at once (see `inverse_bwt`).
const CHAINS: usize = 48;
/// Marks the row a chain starts from, in `forward`.
const START: u32 = 1 << 31;

/// Recover the block's text (before RLE1) from the last column of its
/// BWT matrix, into `text`.
///
/// Row p of the sorted matrix starts with byte F[p], and the row whose
/// last byte is last[i], the j-th occurrence of that byte in `last`, is the
/// one starting with the j-th occurrence of it in F; so `forward[p]` packs
/// the row that follows row p in the text (high bits) with F[p] (low 8).
/// Walking from the origin row gives the text in order, one dependent load
/// at a time, each usually a cache miss. So the walk starts at once from
/// several rows spread over the matrix, each chain stopping where another
/// starts (their entries carry the START bit), and the pieces are then
/// joined in text order: the misses of all chains overlap.
#[inline(never)]
fn inverse_bwt(
    last: &[u8],
    counts: &[u32; 256],
    origin: usize,
    forward: &mut Vec<u32>,
    scratch: &mut Vec<u8>,
    pieces: &mut Vec<Piece>,
    text: &mut Vec<u8>,
) -> Result<(), BlockError> {
    let n = last.len();
    debug_assert!(n < 1 << 23 && origin < n);
    forward.resize(n, 0);
    let forward = &mut forward[..n];
    let mut next = [0u32; 256];
    let mut sum = 0u32;
    for (s, &c) in next.iter_mut().zip(counts.iter()) {
        *s = sum;
        sum += c;
    }
    for (i, &c) in last.iter().enumerate() {
        let p = next[c as usize];
        next[c as usize] = p + 1;
        forward[p as usize] = ((i as u32) << 8) | c as u32;
    }

    // The rows the chains start from: the origin, then rows spread evenly.
    let mut starts = [0u32; CHAINS];
    let mut n_starts = 1;
    starts[0] = origin as u32;
    for k in 1..CHAINS {
        let row = (k * n / CHAINS) as u32;
        if !starts[..n_starts].contains(&row) {
            starts[n_starts] = row;
            n_starts += 1;
        }
    }
    for &row in &starts[..n_starts] {
        forward[row as usize] |= START;
    }

    // Each chain writes into regions of `scratch`; a chain whose region is
    // full stops there and a new one, starting at that row, takes a fresh
    // region. So every region but the last of each chain is full, and
    // `regions` of them are always enough.
    let region = 2 * n / CHAINS + 64;
    let regions = CHAINS + n / region + 1;
    scratch.resize(regions * region, 0);
    pieces.clear();
    // The active chains: their row, where they write, and their piece.
    let mut row = [0u32; CHAINS];
    let mut at = [0usize; CHAINS];
    let mut lim = [0usize; CHAINS];
    let mut piece = [0usize; CHAINS];
    let mut active = n_starts;
    for k in 0..n_starts {
        row[k] = starts[k];
        at[k] = k * region;
        lim[k] = at[k] + region;
        piece[k] = k;
        pieces.push(Piece {
            start: starts[k],
            from: k * region,
            len: 0,
            end: u32::MAX,
        });
    }
    let mut next_region = n_starts;
    // The first step of each chain is at its own START row.
    for k in 0..active {
        let e = forward[row[k] as usize];
        scratch[at[k]] = e as u8;
        at[k] += 1;
        row[k] = (e & !START) >> 8;
    }
    // A chain that never meets a start (in a damaged block) is stopped once
    // more rows were walked than the block holds.
    let mut walked = active;
    while active > 0 {
        walked += active;
        if walked > n + 2 * pieces.len() {
            return corrupt("bad BWT (a cycle)");
        }
        let mut k = 0;
        while k < active {
            let e = forward[row[k] as usize];
            if e & START != 0 || at[k] == lim[k] {
                let p = piece[k];
                pieces[p].len = at[k] - pieces[p].from;
                pieces[p].end = row[k];
                if e & START != 0 {
                    active -= 1;
                    row[k] = row[active];
                    at[k] = at[active];
                    lim[k] = lim[active];
                    piece[k] = piece[active];
                    continue;
                }
                if next_region == regions {
                    return corrupt("bad BWT");
                }
                piece[k] = pieces.len();
                at[k] = next_region * region;
                lim[k] = at[k] + region;
                pieces.push(Piece {
                    start: row[k],
                    from: at[k],
                    len: 0,
                    end: u32::MAX,
                });
                next_region += 1;
            }
            scratch[at[k]] = e as u8;
            at[k] += 1;
            row[k] = e >> 8;
            k += 1;
        }
    }

    // Join the pieces: each is followed by the one starting where it
    // ended; the one that ends at the origin is the last.
    text.reserve(n);
    let mut k = 0;
    for _ in 0..pieces.len() {
        let p = &pieces[k];
        text.extend_from_slice(&scratch[p.from..p.from + p.len]);
        if p.end == origin as u32 {
            break;
        }
        match pieces.iter().position(|q| q.start == p.end) {
            Some(next) => k = next,
            None => return corrupt("bad BWT"),
        }
    }
    if pieces[k].end != origin as u32 || text.is_empty() || text.len() > n {
        return corrupt("bad BWT");
    }
    // A block that is one string repeated (a run of zeros after RLE1 is
    // `00 00 00 00 FB` over and over) makes the rows one cycle per repeat;
    // the walk from the origin went round one of them. The text is that
    // cycle repeated, which is what walking n steps round it, as bzip2
    // does, gives. The block CRC still checks the result.
    let cycle = text.len();
    while text.len() < n {
        let take = cycle.min(n - text.len());
        text.extend_from_within(..take);
    }
    Ok(())
}

/// A stretch of the text one chain walked: from row `start` to row `end`
/// (exclusive), written at `from` in the scratch buffer.
struct Piece {
    start: u32,
    from: usize,
    len: usize,
    end: u32,
}

/// How many bytes [`undo_rle1`] makes of `text`: one pass that only reads
/// (the count bytes it adds), so the memory is asked for before it is used.
fn rle1_len(text: &[u8]) -> usize {
    let mut len = text.len();
    let mut i = 0;
    let n = text.len();
    while i + 4 <= n {
        let b = text[i];
        if text[i + 1] != b {
            i += 1;
        } else if text[i + 2] != b {
            i += 2;
        } else if text[i + 3] != b {
            i += 3;
        } else {
            // Four equal bytes, then a count byte that becomes `count` bytes.
            i += 4;
            if i < n {
                len = len - 1 + text[i] as usize;
                i += 1;
            }
        }
    }
    len
}

/// Append `text` to `out` with every run of four equal bytes followed by a
/// count byte expanded (the caller reserves [`rle1_len`] bytes first).
fn undo_rle1(text: &[u8], out: &mut Vec<u8>) {
    let mut lit = 0; // start of the bytes not yet copied
    let mut i = 0;
    let n = text.len();
    while i + 4 <= n {
        let b = text[i];
        if text[i + 1] != b {
            i += 1;
            continue;
        }
        if text[i + 2] != b {
            i += 2;
            continue;
        }
        if text[i + 3] != b {
            i += 3;
            continue;
        }
        // Four equal bytes, then a count.
        out.extend_from_slice(&text[lit..i + 4]);
        i += 4;
        if i < n {
            let count = text[i] as usize;
            out.resize(out.len() + count, b);
            i += 1;
        }
        lit = i;
    }
    out.extend_from_slice(&text[lit..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_rle1(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        let (mut prev, mut run) = (None, 0);
        while i < text.len() {
            let b = text[i];
            out.push(b);
            i += 1;
            if Some(b) == prev {
                run += 1;
            } else {
                (prev, run) = (Some(b), 1);
            }
            if run == 4 {
                if i < text.len() {
                    out.extend(std::iter::repeat_n(b, text[i] as usize));
                    i += 1;
                }
                (prev, run) = (None, 0);
            }
        }
        out
    }

    #[test]
    fn rle1_matches_a_plain_state_machine() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            b"a".to_vec(),
            b"aaaa".to_vec(),
            b"aaaa\x00".to_vec(),
            b"aaaa\x05b".to_vec(),
            b"aaaa\xffaaaa\x01".to_vec(),
            b"aaaaaaaa\x00".to_vec(),
            b"abbbb\x02cccc".to_vec(),
            b"aaab\x04".to_vec(),
        ];
        for c in cases {
            let mut out = Vec::new();
            undo_rle1(&c, &mut out);
            assert_eq!(out, reference_rle1(&c), "{c:?}");
            assert_eq!(rle1_len(&c), out.len(), "{c:?}");
        }
        let mut seed = 7u32;
        for _ in 0..200 {
            let text: Vec<u8> = (0..300)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    ((seed >> 16) % 3) as u8
                })
                .collect();
            let mut out = Vec::new();
            undo_rle1(&text, &mut out);
            assert_eq!(out, reference_rle1(&text));
            assert_eq!(rle1_len(&text), out.len());
        }
    }

    #[test]
    fn move_to_front_matches_a_plain_list() {
        let mut fast = [0u8; 256];
        let mut plain: Vec<u8> = (0..=255).collect();
        for (i, b) in fast.iter_mut().enumerate() {
            *b = i as u8;
        }
        let mut seed = 1u32;
        for _ in 0..10_000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let idx = ((seed >> 16) % 40) as usize;
            let b = plain.remove(idx);
            plain.insert(0, b);
            assert_eq!(move_to_front(&mut fast, idx), b);
            assert_eq!(&fast[..], &plain[..]);
        }
    }

    const END_MAGIC: u64 = 0x1772_4538_5090;

    /// Decode one whole stream with the block decoder, checking the
    /// stream's combined CRC.
    fn decode_stream(data: &[u8]) -> Result<Vec<u8>, BlockError> {
        let level = match data {
            [b'B', b'Z', b'h', d @ b'1'..=b'9', ..] => (d - b'0') as u32,
            _ => return corrupt("bad stream header"),
        };
        let mut decoder = BlockDecoder::new();
        let mut out = Vec::new();
        let mut pos = 32;
        let mut combined = 0u32;
        loop {
            let mut bits = Bits { data, pos };
            let magic = ((bits.get(24) as u64) << 24) | bits.get(24) as u64;
            if magic == END_MAGIC {
                let crc = bits.get(32);
                if bits.overrun() {
                    return corrupt("truncated");
                }
                return if crc == combined {
                    Ok(out)
                } else {
                    Err(BlockError::Crc)
                };
            }
            let (end, crc) = decoder.decode_block(data, pos, level, &mut out)?;
            combined = combined.rotate_left(1) ^ crc;
            pos = end;
        }
    }

    fn compress(data: &[u8], level: u32) -> Vec<u8> {
        use std::io::Write;
        let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(level));
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn sample() -> Vec<u8> {
        let mut data: Vec<u8> = (0..1500u32)
            .flat_map(|i| format!("{} {} ", i % 97, i % 13).into_bytes())
            .collect();
        for len in [4, 5, 255, 256, 259, 600] {
            data.extend(std::iter::repeat_n(b'q', len));
            data.push(b'.');
        }
        let mut seed = 99u32;
        data.extend((0..1000).map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        }));
        data
    }

    #[test]
    fn decodes_what_libbz2_writes() {
        for data in [vec![], b"x".to_vec(), vec![7u8; 100_000], sample()] {
            for level in [1, 9] {
                assert!(decode_stream(&compress(&data, level)).unwrap() == data);
            }
        }
    }

    #[test]
    fn randomised_blocks_are_reported_as_such() {
        // The bit after the first block's magic (bits 32..80) and CRC.
        let mut bz = compress(b"hello hello hello", 9);
        assert_eq!(bz[14] & 0x80, 0);
        bz[14] |= 0x80;
        assert_eq!(decode_stream(&bz), Err(BlockError::Randomised));
    }

    #[test]
    fn damage_anywhere_is_an_error_or_the_right_data_never_a_panic() {
        let data = sample();
        let good = compress(&data, 1);
        let mut seed = 5u32;
        for pos in 4..good.len() {
            for mask in [0x01u8, 0xff] {
                if mask == 0xff && pos % 2 == 0 {
                    continue;
                }
                let mut bad = good.clone();
                bad[pos] ^= mask;
                if let Ok(out) = decode_stream(&bad) {
                    assert!(out == data, "byte {pos} ^ {mask:#x}: wrong data");
                }
            }
            if pos % 5 != 0 {
                continue;
            }
            // And the stream cut short there, or random bytes from there on.
            assert!(decode_stream(&good[..pos]).is_err(), "cut at {pos}");
            let mut bad = good.clone();
            for b in &mut bad[pos..] {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (seed >> 16) as u8;
            }
            let _ = decode_stream(&bad);
        }
    }
}
