//! Where a decoder's output goes: all of it, or the slice `--range` asked
//! for, with a progress spinner on a terminal. Decoders that can skip whole
//! members or blocks before the range (their lengths are known) do so through
//! `skip` and `left` rather than decoding them.

use anyhow::{Context, Result};
use std::io::Write;

/// Where decompressed bytes go: all of them, or only the slice a `--range`
/// asked for.
pub(crate) struct Window<'a> {
    out: &'a mut dyn Write,
    /// Decoded bytes still to drop before the range starts.
    pub(super) skip: u64,
    /// Bytes the range still wants (`u64::MAX`: all of them).
    pub(super) left: u64,
    progress: Option<crate::io::Progress>,
    /// Bytes after the last member are output as they are (`-cdf`).
    pub(super) pass_rest: bool,
}

impl<'a> Window<'a> {
    pub(crate) fn new(out: &'a mut dyn Write, range: Option<(u64, u64)>) -> Window<'a> {
        let (skip, left) = range.unwrap_or((0, u64::MAX));
        Window {
            out,
            skip,
            left,
            progress: None,
            pass_rest: false,
        }
    }

    /// Show the bytes written on a progress spinner (on a terminal only).
    pub(crate) fn progress(mut self, enabled: bool) -> Self {
        self.progress = enabled.then(|| crate::io::Progress::bytes(None, true));
        self
    }

    /// Output whatever follows the last member or stream as it is, as
    /// `gzip -cdf` (`zcat -f`) does, rather than judging it.
    pub(crate) fn pass_rest(mut self, yes: bool) -> Self {
        self.pass_rest = yes;
        self
    }

    /// Whether the range is complete (nothing more is wanted).
    pub(crate) fn full(&self) -> bool {
        self.left == 0
    }

    /// Write what of `data` falls inside the range.
    pub(super) fn put(&mut self, mut data: &[u8]) -> Result<()> {
        let skip = self.skip.min(data.len() as u64) as usize;
        self.skip -= skip as u64;
        data = &data[skip..];
        let take = self.left.min(data.len() as u64) as usize;
        if take > 0 {
            self.out.write_all(&data[..take]).context("write error")?;
            self.left -= take as u64;
            if let Some(p) = &mut self.progress {
                p.inc(take as u64);
            }
        }
        Ok(())
    }
}
