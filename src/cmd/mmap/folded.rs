//! An ASCII literal found regardless of case, 32 bytes at a time (AVX2)
//! or 16 (SSE2, every x86_64 CPU has it).
//!
//! The regex crate finds `(?i)error` through a Teddy prefilter over the 32
//! case variants, about half as fast as this on log text; the bench row
//! `mmap find -i --lines text.log` (against `rg -c -i -F`) is why this
//! exists.
//! Three bytes of the needle (first, second, last) are compared at once
//! for a block of positions, each folded to lower case by setting bit 0x20 when it
//! is a letter; the few positions where all three agree are checked in full.
//! Elsewhere than x86_64, [`FoldedLiteral::new`] declines and the regex
//! crate searches instead.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m128i, __m256i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8,
    _mm_or_si128, _mm_set1_epi8, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256,
    _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
};

/// A needle of ASCII bytes, matched ignoring ASCII case.
pub(super) struct FoldedLiteral {
    needle: Vec<u8>,
    /// The offsets in the needle of the three bytes compared first.
    probes: [usize; 3],
    /// The CPU has AVX2 (32 bytes at a time instead of 16).
    avx2: bool,
}

impl FoldedLiteral {
    /// `None` unless ASCII case folding is what Unicode case folding gives
    /// for this needle: ASCII, and no `k` or `s` (which also fold to the
    /// Kelvin sign and the long s); and no newline, so a match stays in
    /// its line.
    pub(super) fn new(needle: &[u8]) -> Option<FoldedLiteral> {
        let plain = !needle.is_empty()
            && needle.is_ascii()
            && !needle.contains(&b'\n')
            && !needle
                .iter()
                .any(|b| matches!(b.to_ascii_lowercase(), b'k' | b's'));
        if !plain || !cfg!(target_arch = "x86_64") {
            return None;
        }
        let last = needle.len() - 1;
        Some(FoldedLiteral {
            needle: needle.to_ascii_lowercase(),
            probes: [0, 1.min(last), last],
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            avx2: false,
        })
    }

    pub(super) fn len(&self) -> usize {
        self.needle.len()
    }

    /// Where the needle first starts in `hay[at..end]`.
    pub(super) fn find(&self, hay: &[u8], at: usize, end: usize) -> Option<usize> {
        let n = self.needle.len();
        #[cfg(target_arch = "x86_64")]
        let blocks = if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU reported AVX2.
            unsafe { self.find_avx2(hay, at, end) }
        } else {
            // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64
            // CPU has it, so the target feature holds wherever this runs.
            unsafe { self.find_sse2(hay, at, end) }
        };
        #[cfg(target_arch = "x86_64")]
        let mut i = match blocks {
            (Some(found), _) => return Some(found),
            (None, next) => next,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let mut i = at;
        while i + n <= end {
            if hay[i..i + n].eq_ignore_ascii_case(&self.needle) {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// Search the 16-byte blocks of `hay[at..end]`: the match, or where the
    /// blocks stopped (the rest is shorter than a block plus the needle).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse2")]
    fn find_sse2(&self, hay: &[u8], at: usize, end: usize) -> (Option<usize>, usize) {
        let n = self.needle.len();
        let [p0, p1, p2] = self.probes;
        let [(f0, w0), (f1, w1), (f2, w2)] = self
            .probe_bytes()
            .map(|(f, w)| (_mm_set1_epi8(f), _mm_set1_epi8(w)));
        let mut i = at;
        while i + 16 + n - 1 <= end {
            let a = _mm_cmpeq_epi8(_mm_or_si128(load(&hay[i + p0..]), f0), w0);
            let b = _mm_cmpeq_epi8(_mm_or_si128(load(&hay[i + p1..]), f1), w1);
            let c = _mm_cmpeq_epi8(_mm_or_si128(load(&hay[i + p2..]), f2), w2);
            let mask = _mm_movemask_epi8(_mm_and_si128(_mm_and_si128(a, b), c)) as u32;
            if mask != 0
                && let Some(k) = self.verify(hay, i, mask)
            {
                return (Some(k), k);
            }
            i += 16;
        }
        (None, i)
    }
}

impl FoldedLiteral {
    /// For each probe: the bit that folds a haystack byte to lower case
    /// (0x20 where the needle has a letter, else 0), and the byte wanted.
    fn probe_bytes(&self) -> [(i8, i8); 3] {
        self.probes.map(|p| {
            let b = self.needle[p];
            (if b.is_ascii_alphabetic() { 0x20 } else { 0 }, b as i8)
        })
    }

    /// The first of the candidates in `mask` (bit j: position `at + j`)
    /// where the whole needle matches. Out of line: the scan loops keep
    /// their constants in registers when they make no call.
    #[cold]
    #[inline(never)]
    fn verify(&self, hay: &[u8], at: usize, mut mask: u32) -> Option<usize> {
        let n = self.needle.len();
        while mask != 0 {
            let k = at + mask.trailing_zeros() as usize;
            if hay[k..k + n].eq_ignore_ascii_case(&self.needle) {
                return Some(k);
            }
            mask &= mask - 1;
        }
        None
    }

    /// [`find_sse2`](FoldedLiteral::find_sse2), 32 bytes at a time.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn find_avx2(&self, hay: &[u8], at: usize, end: usize) -> (Option<usize>, usize) {
        let n = self.needle.len();
        let [p0, p1, p2] = self.probes;
        let [(f0, w0), (f1, w1), (f2, w2)] = self
            .probe_bytes()
            .map(|(f, w)| (_mm256_set1_epi8(f), _mm256_set1_epi8(w)));
        let mut i = at;
        while i + 32 + n - 1 <= end {
            let a = _mm256_cmpeq_epi8(_mm256_or_si256(load32(&hay[i + p0..]), f0), w0);
            let b = _mm256_cmpeq_epi8(_mm256_or_si256(load32(&hay[i + p1..]), f1), w1);
            let c = _mm256_cmpeq_epi8(_mm256_or_si256(load32(&hay[i + p2..]), f2), w2);
            let mask = _mm256_movemask_epi8(_mm256_and_si256(_mm256_and_si256(a, b), c)) as u32;
            if mask != 0
                && let Some(k) = self.verify(hay, i, mask)
            {
                return (Some(k), k);
            }
            i += 32;
        }
        (None, i)
    }
}

/// The first 32 bytes of `bytes` as a vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(super) fn load32(bytes: &[u8]) -> __m256i {
    let bytes: &[u8; 32] = bytes[..32].try_into().expect("a 32-byte block");
    // SAFETY: `bytes` is 32 readable bytes; the unaligned load has no
    // alignment requirement (and needs no CPU feature beyond AVX, which
    // the caller checked with AVX2).
    unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
}

/// The first 16 bytes of `bytes` as a vector (SSE2, the x86_64 baseline).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(super) fn load(bytes: &[u8]) -> __m128i {
    let bytes: &[u8; 16] = bytes[..16].try_into().expect("a 16-byte block");
    // SAFETY: `bytes` is 16 readable bytes; the unaligned load has no
    // alignment requirement.
    unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_like_a_folded_compare() {
        let hay = b"xx ErRoR yy error\nERROR..eRROR";
        let Some(mut f) = FoldedLiteral::new(b"error") else {
            return; // not x86_64
        };
        // The SSE2 loop too, on a CPU with AVX2.
        for avx2 in [f.avx2, false] {
            f.avx2 = avx2;
            let mut found = Vec::new();
            let mut at = 0;
            while let Some(p) = f.find(hay, at, hay.len()) {
                found.push(p);
                at = p + 1;
            }
            assert_eq!(found, vec![3, 12, 18, 25], "avx2: {avx2}");
        }
        assert_eq!(f.find(hay, 0, 7), None);
        assert!(FoldedLiteral::new(b"disk").is_none());
        assert!(FoldedLiteral::new("é".as_bytes()).is_none());
        // Every offset and length around the block size.
        let long: Vec<u8> = (0..100)
            .map(|i| if i % 7 == 0 { b'A' } else { b'x' })
            .collect();
        let f = FoldedLiteral::new(b"a").unwrap();
        for at in 0..long.len() {
            let want = (at..long.len()).find(|&i| long[i] == b'A');
            assert_eq!(f.find(&long, at, long.len()), want, "at {at}");
        }
    }
}
