//! A progress bar on stderr, shown only when a person can see it.
//!
//! The bar stays hidden when stderr is not a terminal, when `--quiet` was
//! given, and for the first half second of work, so short runs print nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, BufRead, IsTerminal, Read};
use std::time::{Duration, Instant};

const DELAY: Duration = Duration::from_millis(500);

/// Byte progress of one long piece of work.
pub struct Progress {
    bar: ProgressBar,
    wanted: bool,
    shown: bool,
    started: Instant,
    /// Check the clock only every so many updates: `inc` sits on hot paths.
    ticks: u32,
}

impl Progress {
    /// A bar for `total` bytes (a spinner when the total is unknown).
    /// `enabled` is false under `--quiet`.
    pub fn bytes(total: Option<u64>, enabled: bool) -> Progress {
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::hidden())
                .with_style(
                    ProgressStyle::with_template(
                        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()).with_style(
                ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        Progress {
            bar,
            wanted: enabled && io::stderr().is_terminal(),
            shown: false,
            started: Instant::now(),
            ticks: 0,
        }
    }

    /// `n` more bytes are done.
    pub fn inc(&mut self, n: u64) {
        self.bar.inc(n);
        if self.wanted && !self.shown {
            self.ticks = self.ticks.wrapping_add(1);
            if self.ticks % 64 == 1 && self.started.elapsed() >= DELAY {
                self.bar.set_draw_target(ProgressDrawTarget::stderr());
                self.shown = true;
            }
        }
    }

    /// Draw at once instead of after the usual delay (`--progress`).
    pub fn show_now(&mut self) {
        if self.wanted && !self.shown {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        if self.shown {
            self.bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A reader that reports the bytes it passes through to a [`Progress`].
pub struct ProgressReader<R> {
    inner: R,
    progress: Progress,
}

impl<R> ProgressReader<R> {
    pub fn new(inner: R, progress: Progress) -> Self {
        ProgressReader { inner, progress }
    }
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for ProgressReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.progress.inc(amt as u64);
    }
}
