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

/// Record-aligned ranges covering `data[start..]`, about `target` bytes each.
pub(crate) fn record_ranges(
    data: &[u8],
    start: usize,
    target: usize,
    quote: u8,
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
            release(data, r.clone());
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

/// Drop the pages of `range` from this process's map once parsed: the
/// kernel keeps them in the page cache, but they stop counting as our
/// memory, so a scan of a big file stays small.
pub(crate) fn release(data: &[u8], range: Range<usize>) {
    #[cfg(unix)]
    {
        const PAGE: usize = 4096;
        let base = data.as_ptr() as usize;
        let start = (base + range.start).div_ceil(PAGE) * PAGE;
        let end = (base + range.end) / PAGE * PAGE;
        if end > start {
            // SAFETY: the range lies inside a read-only shared file map that
            // stays alive; MADV_DONTNEED on it only drops page table entries,
            // and a later access faults the same bytes back in from the file.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (data, range);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(data: &[u8], target: usize) -> Vec<&[u8]> {
        record_ranges(data, 0, target, b'"')
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
        assert!(record_ranges(b"h\n", 2, 4, b'"').is_empty());
        assert_eq!(record_ranges(b"h\n1\n2\n", 2, 1, b'"'), vec![2..4, 4..6]);
    }
}
