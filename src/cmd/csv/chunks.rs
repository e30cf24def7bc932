//! Cutting a mapped CSV file into record-aligned chunks, exactly.
//!
//! simd-csv's parser flips between "inside quotes" and "outside" at every
//! quote byte (an escaped `""` flips twice), and ends a record only at a
//! newline seen outside quotes. So a newline ends a record exactly when an
//! even number of quotes precedes it. The cut counts the quotes of fixed
//! pieces in parallel, sums their parities, and moves each cut forward to
//! the first newline at even parity: the chunks parse to the same records as
//! one pass over the whole file, quoted newlines included.

use rayon::prelude::*;
use std::ops::Range;

/// Record-aligned ranges covering `data[start..]`, about `target` bytes
/// each. `release` is called with each range once scanned (a map gives its
/// pages back: [`MappedFile::release`](crate::io::MappedFile::release)).
pub(crate) fn record_ranges(
    data: &[u8],
    start: usize,
    target: usize,
    quote: u8,
    release: &(dyn Fn(Range<usize>) + Sync),
) -> Vec<Range<usize>> {
    let len = data.len();
    if start >= len {
        return Vec::new();
    }
    let pieces: Vec<Range<usize>> = (start..len)
        .step_by(target)
        .map(|s| s..(s + target).min(len))
        .collect();
    if pieces.len() == 1 {
        return pieces;
    }
    let odd: Vec<bool> = pieces
        .par_iter()
        .map(|r| {
            let n = memchr::memchr_iter(quote, &data[r.clone()]).count();
            release(r.clone());
            n % 2 == 1
        })
        .collect();
    let mut cuts = vec![start];
    let mut inside = false;
    for (piece, odd) in pieces.iter().zip(&odd) {
        if piece.start > start
            && let Some(cut) = next_record_start(data, piece.start, inside, quote)
            && cut > *cuts.last().unwrap_or(&start)
            && cut < len
        {
            cuts.push(cut);
        }
        inside ^= odd;
    }
    cuts.push(len);
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// The first record start at or after `from`, given whether `from` is
/// inside quotes: just past the first newline seen outside quotes.
fn next_record_start(data: &[u8], from: usize, mut inside: bool, quote: u8) -> Option<usize> {
    for i in memchr::memchr2_iter(b'\n', quote, &data[from..]) {
        let at = from + i;
        if data[at] == quote {
            inside = !inside;
        } else if !inside {
            return Some(at + 1);
        }
    }
    None
}

/// Where the last `n` records of `data[start..]` begin, found from the
/// end without reading what comes before them (`tail`).
///
/// A newline ends a record when an even number of quotes precede it. In a
/// file whose quotes are balanced (an even number in all, as in any file
/// the parser reads to its end outside quotes), that is exactly when an
/// even number follow it, which a backward scan can count. A stretch
/// holding nothing but a CR is a blank line, not a record.
pub(crate) fn last_records_start(data: &[u8], start: usize, n: usize, quote: u8) -> usize {
    if n == 0 || start >= data.len() {
        return data.len();
    }
    let mut odd_after = false;
    let mut found = 0;
    let mut end = data.len();
    for i in memchr::memrchr2_iter(quote, b'\n', &data[start..]) {
        let at = start + i;
        if data[at] == quote {
            odd_after = !odd_after;
            continue;
        }
        if odd_after {
            continue;
        }
        let record = &data[at + 1..end];
        if !record.is_empty() && record != b"\r" {
            found += 1;
            if found == n {
                return at + 1;
            }
        }
        end = at;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_records_are_found_from_the_end_across_quoted_newlines() {
        let data = b"h\n1,\"a\nb\"\n\n2,\"\"\"q\n\"\r\n3,x";
        let tail = |n| &data[last_records_start(data, 2, n, b'"')..];
        assert_eq!(tail(1), b"3,x");
        assert_eq!(tail(2), b"2,\"\"\"q\n\"\r\n3,x");
        assert_eq!(tail(3), &data[2..]);
        assert_eq!(tail(9), &data[2..]);
        assert_eq!(tail(0), b"");
        // A trailing newline ends the last record; it is not one.
        assert_eq!(
            &b"h\n1\n2\n"[last_records_start(b"h\n1\n2\n", 2, 1, b'"')..],
            b"2\n"
        );
    }

    fn cut(data: &[u8], target: usize) -> Vec<&[u8]> {
        record_ranges(data, 0, target, b'"', &|_| {})
            .into_iter()
            .map(|r| &data[r])
            .collect()
    }

    #[test]
    fn cuts_fall_after_newlines_outside_quotes() {
        let data = b"a,b\n\"x\ny\",2\n\"\"\"q\n\",3\nlast,4";
        for target in 1..data.len() + 2 {
            let parts = cut(data, target);
            assert_eq!(parts.concat(), data.to_vec(), "target {target}");
            for p in &parts[..parts.len() - 1] {
                assert!(p.ends_with(b"\n"), "target {target}: {p:?}");
            }
            // No cut inside the quoted newlines.
            for p in &parts {
                assert!(
                    !p.starts_with(b"y") && !p.starts_with(b"\",3"),
                    "target {target}"
                );
            }
        }
    }

    #[test]
    fn start_offset_and_empty_tail() {
        assert!(record_ranges(b"h\n", 2, 4, b'"', &|_| {}).is_empty());
        assert_eq!(
            record_ranges(b"h\n1\n2\n", 2, 1, b'"', &|_| {}),
            vec![2..4, 4..6]
        );
    }
}

/// What one piece of the input holds under both guesses of whether it
/// starts inside quotes (the guess is settled once the pieces before it
/// are summed).
struct PieceCount {
    odd_quotes: bool,
    /// Records ended in the piece, if it starts outside / inside quotes.
    ended: [u64; 2],
    /// Whether a non-blank record is still open at the piece's end.
    open: [bool; 2],
}

/// What [`count_records`] found.
pub(crate) struct RecordCount {
    pub records: u64,
    /// An odd number of quotes in all: the last field's quote is never
    /// closed, so the input is no CSV (the caller parses it to say where).
    pub ends_in_quotes: bool,
}

/// The number of records in `data[start..]`, as simd-csv counts them, in
/// one parallel pass: a record ends at a newline preceded by an even number
/// of quotes, and a stretch between two such newlines holding nothing but
/// CRs is a blank line, not a record. Each piece is counted under both
/// guesses of its starting quote state at once, so no second pass is needed.
pub(crate) fn count_records(
    data: &[u8],
    start: usize,
    target: usize,
    quote: u8,
    release: &(dyn Fn(Range<usize>) + Sync),
) -> RecordCount {
    let len = data.len();
    if start >= len {
        return RecordCount {
            records: 0,
            ends_in_quotes: false,
        };
    }
    // Pieces start just after a newline (any newline: the quote state is
    // settled later).
    let mut bounds = vec![start];
    let mut at = start + target;
    while at < len {
        match memchr::memchr(b'\n', &data[at..]) {
            Some(i) if at + i + 1 < len => {
                bounds.push(at + i + 1);
                at = at + i + 1 + target;
            }
            _ => break,
        }
    }
    bounds.push(len);
    let pieces: Vec<PieceCount> = bounds
        .par_windows(2)
        .map(|w| {
            let piece = count_piece(data, w[0], w[1], quote);
            release(w[0]..w[1]);
            piece
        })
        .collect();
    let mut inside = false;
    let mut total = 0;
    for piece in &pieces {
        total += piece.ended[inside as usize];
        inside ^= piece.odd_quotes;
    }
    if let Some(last) = pieces.last() {
        // The state at the start of the last piece decides its open record.
        let mut inside = false;
        for piece in &pieces[..pieces.len() - 1] {
            inside ^= piece.odd_quotes;
        }
        total += u64::from(last.open[inside as usize]);
    }
    RecordCount {
        records: total,
        ends_in_quotes: inside,
    }
}

fn count_piece(data: &[u8], from: usize, to: usize, quote: u8) -> PieceCount {
    let bytes = &data[from..to];
    // Guess 0 starts outside quotes, guess 1 inside. `odd` is the parity of
    // quotes seen in this piece; under guess g a newline ends a record when
    // odd == g. Segment starts are where each guess's current record began.
    let mut odd = false;
    let mut ended = [0u64; 2];
    let mut seg_start = [0usize; 2];
    // Under "inside", the first record began before the piece: not blank.
    let mut first = [false, true];
    let blank = |s: &[u8]| s.iter().all(|&b| b == b'\r');
    for i in memchr::memchr2_iter(b'\n', quote, bytes) {
        if bytes[i] == quote {
            odd = !odd;
            continue;
        }
        let g = odd as usize;
        if first[g] || !blank(&bytes[seg_start[g]..i]) {
            ended[g] += 1;
        }
        first[g] = false;
        seg_start[g] = i + 1;
    }
    // Under "inside" with no record ended here, the open record began
    // before the piece; otherwise a tail of only CRs is a blank line.
    let open = [
        !blank(&bytes[seg_start[0]..]),
        first[1] || !blank(&bytes[seg_start[1]..]),
    ];
    PieceCount {
        odd_quotes: odd,
        ended,
        open,
    }
}

#[cfg(test)]
mod count_tests {
    use super::*;

    fn simd_count(data: &[u8]) -> u64 {
        // The streaming reader, record by record (the reference semantics).
        let mut reader = simd_csv::ZeroCopyReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        let mut n = 0;
        while reader.read_byte_record().unwrap().is_some() {
            n += 1;
        }
        n
    }

    #[test]
    fn counts_like_the_parser_for_any_cut() {
        let alphabet = b"ab,\"\n\r";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 0..60 {
            for _ in 0..40 {
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        alphabet[(x % alphabet.len() as u64) as usize]
                    })
                    .collect();
                // simd-csv reads a quote right after `"\r` as data (an
                // off-by-one in its CRLF check), the one place where its
                // records are not cut by quote parity; such bytes are no CSV.
                if data.windows(3).any(|w| w == b"\"\r\"") {
                    continue;
                }
                let expected = simd_count(&data);
                for target in [1, 2, 3, 5, 8, 64] {
                    assert_eq!(
                        count_records(&data, 0, target, b'"', &|_| {}).records,
                        expected,
                        "{:?} target {target}",
                        String::from_utf8_lossy(&data)
                    );
                }
            }
        }
    }
}

/// Each record of `data` (a record-aligned chunk) as its bytes' range (up
/// to its newline, a CR before it included) and number of fields, found with the rule simd-csv parses by: the quote state flips
/// at every quote byte, and a newline or delimiter counts only outside
/// quotes. Most lines hold no quote, and their fields are a SIMD count of
/// delimiters. Returns false, having stopped, at a blank line (which the
/// parser skips; its caller parses such a chunk instead).
pub(crate) fn record_starts(
    data: &[u8],
    delimiter: u8,
    quote: u8,
    record: impl FnMut(Range<usize>, usize) -> bool,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt")
    {
        // SAFETY: the CPU supports AVX2 and POPCNT, checked just above.
        return unsafe { record_starts_avx2(data, delimiter, quote, record) };
    }
    record_starts_portable(data, delimiter, quote, record)
}

/// Whether the record at `range` of `data`, as [`record_starts`] found
/// it, leaves a quote open: only the last can (it runs to the end of
/// `data`), and then it holds an odd number of quotes. The parser reports
/// it; fast paths hand such a chunk to the parser.
pub(crate) fn leaves_quote_open(data: &[u8], range: &Range<usize>, quote: u8) -> bool {
    range.end == data.len() && bytecount::count(&data[range.clone()], quote) % 2 == 1
}

/// [`record_starts`] a line at a time with memchr: the path of CPUs
/// without AVX2, and the reference the AVX2 path is tested against.
fn record_starts_portable(
    data: &[u8],
    delimiter: u8,
    quote: u8,
    mut record: impl FnMut(Range<usize>, usize) -> bool,
) -> bool {
    let len = data.len();
    let mut at = 0;
    while at < len {
        let start = at;
        let mut fields = 1;
        let mut inside = false;
        let mut pos = at;
        let end = loop {
            let nl = memchr::memchr(b'\n', &data[pos..]).map_or(len, |i| pos + i);
            let line = &data[pos..nl];
            if !inside && memchr::memchr(quote, line).is_none() {
                fields += memchr::memchr_iter(delimiter, line).count();
            } else {
                for i in memchr::memchr2_iter(delimiter, quote, line) {
                    if line[i] == quote {
                        inside = !inside;
                    } else if !inside {
                        fields += 1;
                    }
                }
            }
            if !inside || nl == len {
                break nl;
            }
            pos = nl + 1;
        };
        if data[start..end].iter().all(|&b| b == b'\r') {
            return false;
        }
        if !record(start..end, fields) {
            return false;
        }
        at = end + 1;
    }
    true
}

/// [`record_starts`] 64 bytes at a time: AVX2 compares give bit masks of
/// the newlines, delimiters and quotes of a block; a prefix XOR of the
/// quote mask marks the bytes inside quotes, and each record's fields are
/// a popcount of the delimiters outside them. About twice the speed of
/// the line-at-a-time scan on short rows (bench rows `csv reverse`,
/// `csv sample 1000`), where memchr's per-call cost dominates.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn record_starts_avx2(
    data: &[u8],
    delimiter: u8,
    quote: u8,
    mut record: impl FnMut(Range<usize>, usize) -> bool,
) -> bool {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
    };
    let (newline_v, delimiter_v, quote_v) = (
        _mm256_set1_epi8(b'\n' as i8),
        _mm256_set1_epi8(delimiter as i8),
        _mm256_set1_epi8(quote as i8),
    );
    let masks = |block: &[u8; 64]| -> [u64; 3] {
        let mut m = [0u64; 3];
        for half in 0..2 {
            // SAFETY: `block` holds 64 bytes, so both 32-byte loads (at 0
            // and 32) are in bounds; loadu needs no alignment.
            let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * half).cast::<__m256i>()) };
            for (m, byte) in m.iter_mut().zip([newline_v, delimiter_v, quote_v]) {
                let bits = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, byte)) as u32;
                *m |= u64::from(bits) << (32 * half);
            }
        }
        m
    };
    // Bits at positions >= `from` (none for 64).
    let from_bit = |from: u32| u64::MAX.checked_shl(from).unwrap_or(0);
    let blank = |r: &[u8]| r.iter().all(|&b| b == b'\r');
    let len = data.len();
    let (mut start, mut fields) = (0usize, 1usize);
    // All ones when the previous block ended inside quotes.
    let mut inside = 0u64;
    let mut base = 0;
    while base < len {
        let n = (len - base).min(64);
        let [newlines, delimiters, quotes] = match data[base..].first_chunk::<64>() {
            Some(block) => masks(block),
            None => {
                let mut block = [0u8; 64];
                block[..n].copy_from_slice(&data[base..]);
                let valid = u64::MAX >> (64 - n);
                masks(&block).map(|m| m & valid)
            }
        };
        // Bit i set: an odd number of quotes at or before byte i.
        let mut odd = quotes;
        for shift in [1, 2, 4, 8, 16, 32] {
            odd ^= odd << shift;
        }
        let quoted = odd ^ inside;
        inside = 0u64.wrapping_sub(quoted >> 63);
        let mut ends = newlines & !quoted;
        let delimiters = delimiters & !quoted;
        let mut from = 0;
        while ends != 0 {
            let at = ends.trailing_zeros();
            fields += (delimiters & from_bit(from) & !from_bit(at)).count_ones() as usize;
            let end = base + at as usize;
            if blank(&data[start..end]) || !record(start..end, fields) {
                return false;
            }
            (start, fields, from) = (end + 1, 1, at + 1);
            ends &= ends - 1;
        }
        fields += (delimiters & from_bit(from)).count_ones() as usize;
        base += 64;
    }
    if start < len && (blank(&data[start..]) || !record(start..len, fields)) {
        return false;
    }
    true
}

#[cfg(test)]
mod record_starts_tests {
    use super::record_starts;

    fn starts(data: &str) -> Option<Vec<(usize, usize)>> {
        let mut found = Vec::new();
        record_starts(data.as_bytes(), b',', b'"', |r, f| {
            found.push((r.start, f));
            true
        })
        .then_some(found)
    }

    #[test]
    fn the_fast_scan_finds_what_the_line_scan_finds() {
        let alphabet = [b'a', b',', b'"', b'\n', b'\r', b';'];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for case in 0..3000 {
            let len = case % 300;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Mostly plain bytes, so that records are long enough
                    // to cross 64-byte blocks.
                    let r = (state % 40) as usize;
                    alphabet[if r < alphabet.len() { r } else { 0 }]
                })
                .collect();
            let scan = |fast: bool| {
                let mut found = Vec::new();
                let push = |r: std::ops::Range<usize>, f| {
                    found.push((r, f));
                    found.len() < 50
                };
                let whole = if fast {
                    super::record_starts(&data, b',', b'"', push)
                } else {
                    super::record_starts_portable(&data, b',', b'"', push)
                };
                (whole, found)
            };
            assert_eq!(
                scan(true),
                scan(false),
                "{:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }

    #[test]
    fn records_start_after_newlines_outside_quotes() {
        assert_eq!(starts("a,b\nc,d"), Some(vec![(0, 2), (4, 2)]));
        assert_eq!(
            starts("1,\"x,\ny\"\n2,\"q\"\"\"\n"),
            Some(vec![(0, 2), (9, 2)])
        );
        assert_eq!(starts("a\r\nb,c,d\r\n"), Some(vec![(0, 1), (3, 3)]));
        assert_eq!(starts("a\n\nb\n"), None);
    }
}
