//! A progress bar on stderr, shown only when a person can see it.
//!
//! The bar stays hidden when stderr is not a terminal, when `--quiet` was
//! given, and for the first half second of work, so short runs print nothing.
//! pv's options change that: [`forced`](Progress::forced) draws on any
//! stderr, [`numeric`](Progress::numeric) prints a percentage a line.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

const DELAY: Duration = Duration::from_millis(500);

/// Byte progress of one long piece of work.
pub struct Progress {
    bar: ProgressBar,
    /// Not `--quiet`.
    enabled: bool,
    wanted: bool,
    shown: bool,
    started: Instant,
    /// Check the clock only every so many updates: `inc` sits on hot paths.
    ticks: u32,
    /// The template's pieces: what is counted, and the name before it.
    unit: Unit,
    name: Option<String>,
    /// Draw on stderr even when it is not a terminal (pv -f).
    forced: bool,
    /// pv -n: a number a line instead of the bar; when the last one went.
    numeric: Option<Instant>,
}

/// What a [`Progress`] counts.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Bytes,
    Lines,
}

impl Progress {
    /// A bar for `total` bytes (a spinner when the total is unknown).
    /// `enabled` is false under `--quiet`.
    pub fn bytes(total: Option<u64>, enabled: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        let mut progress = Progress {
            bar,
            enabled,
            wanted: enabled && io::stderr().is_terminal(),
            shown: false,
            started: Instant::now(),
            ticks: 0,
            unit: Unit::Bytes,
            name: None,
            forced: false,
            numeric: None,
        };
        progress.restyle();
        progress
    }

    /// Count lines instead of bytes (pv -l); `total` is then in lines.
    pub fn lines(mut self, yes: bool) -> Progress {
        if yes {
            self.unit = Unit::Lines;
            self.restyle();
        }
        self
    }

    /// Put `name` ahead of the bar (pv -N).
    pub fn named(mut self, name: Option<&str>) -> Progress {
        self.name = name.map(str::to_string);
        self.restyle();
        self
    }

    /// Draw even when stderr is not a terminal (pv -f), unless `--quiet`.
    pub fn forced(mut self, yes: bool) -> Progress {
        if yes && !self.wanted && self.enabled {
            self.wanted = true;
            self.forced = !io::stderr().is_terminal();
            // pv -f draws from the start: a log shows even a short copy.
            self.draw();
        }
        self
    }

    /// pv -n: instead of the bar, the percentage done (the count when the
    /// total is unknown) as a line on stderr once a second and at the end.
    pub fn numeric(mut self, yes: bool) -> Progress {
        if yes && self.enabled {
            self.numeric = Some(self.started);
            self.wanted = false;
        }
        self
    }

    fn restyle(&mut self) {
        let name = self
            .name
            .as_ref()
            .map_or(String::new(), |n| format!("{n}: "));
        let known = self.bar.length().is_some();
        let template = match (self.unit, known) {
            (Unit::Bytes, true) => {
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
            }
            (Unit::Bytes, false) => "{spinner} {bytes} {binary_bytes_per_sec} {elapsed}",
            (Unit::Lines, true) => "{bar:30} {pos}/{len} lines {per_sec} ETA {eta}",
            (Unit::Lines, false) => "{spinner} {pos} lines {per_sec} {elapsed}",
        };
        let fallback = if known {
            ProgressStyle::default_bar()
        } else {
            ProgressStyle::default_spinner()
        };
        let style = ProgressStyle::with_template(&format!("{name}{template}")).unwrap_or(fallback);
        self.bar.set_style(style);
    }

    fn draw(&mut self) {
        let target = if self.forced {
            ProgressDrawTarget::term_like(Box::new(PlainStderr))
        } else {
            ProgressDrawTarget::stderr()
        };
        self.bar.set_draw_target(target);
        self.shown = true;
    }

    /// The number pv -n prints now.
    fn number(&self) -> u64 {
        let done = self.bar.position();
        match self.bar.length() {
            Some(total) if total > 0 => done.saturating_mul(100) / total,
            Some(_) => 100,
            None => done,
        }
    }

    /// `n` more bytes are done.
    pub fn inc(&mut self, n: u64) {
        self.bar.inc(n);
        if let Some(last) = self.numeric {
            // Every block looks at the clock: a slow pipe (a few blocks a
            // second, where pv -n feeds a dialog gauge) still gets its line
            // once a second. A clock read is cheap beside the read itself.
            if last.elapsed() >= Duration::from_secs(1) {
                eprintln!("{}", self.number());
                self.numeric = Some(Instant::now());
            }
        } else if self.wanted && !self.shown {
            self.ticks = self.ticks.wrapping_add(1);
            if self.ticks % 64 == 1 && self.started.elapsed() >= DELAY {
                self.draw();
            }
        }
    }

    /// Draw at once instead of after the usual delay (`--progress`).
    pub fn show_now(&mut self) {
        if self.wanted && !self.shown {
            self.draw();
        }
    }

    /// Remove the bar from the terminal (pv -n: print the last number).
    pub fn finish(&mut self) {
        if self.numeric.take().is_some() {
            eprintln!("{}", self.number());
        }
        if self.shown {
            self.shown = false;
            if self.forced {
                // A log keeps the last state, as pv -f leaves it.
                self.bar.finish();
                eprintln!();
            } else {
                self.bar.finish_and_clear();
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Stderr when it is not a terminal, for pv -f: each redraw returns to
/// the line's start with `\r`, as pv writes to a log.
#[derive(Debug)]
struct PlainStderr;

impl TermLike for PlainStderr {
    fn width(&self) -> u16 {
        80
    }

    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        io::stderr().write_all(s.as_bytes())
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        io::stderr().write_all(s.as_bytes())
    }

    fn clear_line(&self) -> io::Result<()> {
        io::stderr().write_all(b"\r")
    }

    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
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
