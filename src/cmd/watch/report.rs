//! Where events go: printed at once as text or JSON lines, or gathered into
//! a burst for --debounce, or into the changed paths for --exec.

use super::events::WatchEvent;
use super::kind::Kind;
use super::scope::Shown;
use super::template::Template;
use crate::io::Output;
use anyhow::Result;
use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// How events are printed.
pub(super) enum Format {
    /// `<time> <kind> <path>`.
    Text,
    /// One JSON object a line.
    Json,
    /// As inotifywait prints them: --format with `%` conversions, --csv.
    Inotifywait(Box<Template>),
}

impl Format {
    /// `--format`: text, json, or a template with inotifywait's
    /// conversions.
    pub(super) fn parse(text: &str) -> Result<Format> {
        match text {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            t if t.contains('%') => Ok(Format::Inotifywait(Box::new(Template::parse(t)?))),
            _ => Err(crate::io::Exit::usage(format!(
                "bad --format \"{text}\": text, json, or a template with \
                 inotifywait's conversions (%w %f %e %T)"
            ))
            .into()),
        }
    }
}

/// Prints events, or gathers a burst of them for --debounce and --exec.
pub(super) struct Reporter {
    format: Format,
    /// Block-buffered stdout, flushed after each batch of lines.
    out: Output,
    /// Print at once (no --debounce, no --exec).
    immediate: bool,
    once: bool,
    /// --once: the one event is out.
    done: bool,
    seen_any: bool,
    burst: Vec<WatchEvent>,
    in_burst: HashSet<WatchEvent>,
    /// Changed paths for the next --exec run.
    changed: Vec<PathBuf>,
    in_changed: HashSet<PathBuf>,
    for_exec: bool,
    /// --emit-events: the events since the last --exec run, each once,
    /// with the time each was read.
    run_events: Option<Vec<(SystemTime, WatchEvent)>>,
}

impl Reporter {
    /// `immediate`: print each event as it comes (no --debounce, no --exec).
    pub(super) fn new(
        format: Format,
        for_exec: bool,
        immediate: bool,
        once: bool,
    ) -> Result<Reporter> {
        Ok(Reporter {
            format,
            out: Output::stdout().buffer(64 * 1024).create()?,
            immediate,
            once,
            done: false,
            seen_any: false,
            burst: Vec::new(),
            in_burst: HashSet::new(),
            changed: Vec::new(),
            in_changed: HashSet::new(),
            for_exec,
            run_events: None,
        })
    }

    /// Also keep the events themselves for the next --exec run
    /// (--emit-events), not only the changed paths.
    pub(super) fn keep_run_events(mut self, yes: bool) -> Reporter {
        self.run_events = yes.then(Vec::new);
        self
    }

    /// Print events (read at `now`), or gather them; true if anything
    /// happened.
    pub(super) fn deliver(&mut self, events: &[WatchEvent], now: SystemTime) -> Result<bool> {
        if events.is_empty() || self.done {
            return Ok(false);
        }
        self.seen_any = true;
        if !self.immediate {
            self.collect(events, now);
        } else if self.once {
            self.done = true;
            self.print(&events[..1], now)?;
        } else {
            self.print(events, now)?;
        }
        Ok(true)
    }

    /// What was delivered leaves the main thread something to do: a burst
    /// to settle, or --once to end. (Printed at once with nothing more to
    /// do, the main thread is left asleep: waking it would only compete
    /// with the backend's thread for a CPU.)
    pub(super) fn wakes_main_thread(&self) -> bool {
        self.once || !self.immediate
    }

    /// Some event was delivered.
    pub(super) fn seen_any(&self) -> bool {
        self.seen_any
    }

    /// --once: the one event is printed.
    pub(super) fn done(&self) -> bool {
        self.done
    }

    /// Print `events` with one write(2), so that each line is out at once.
    fn print(&mut self, events: &[WatchEvent], now: SystemTime) -> Result<()> {
        // (A template formats the time itself, and only if it shows it.)
        let time = match self.format {
            Format::Inotifywait(_) => [0; 24],
            _ => stamp(now),
        };
        let out = &mut self.out;
        for event in events {
            match &mut self.format {
                // Byte slices into the buffer: this runs between the
                // kernel's event and the printed line.
                Format::Text => {
                    out.write_all(&time)?;
                    out.write_all(b" ")?;
                    out.write_all(event.kind.name().as_bytes())?;
                    if let Some(from) = &event.from
                        && event.kind == Kind::Rename
                    {
                        out.write_all(b" ")?;
                        write_path(out, from)?;
                        out.write_all(b" ->")?;
                    }
                    if let Some(path) = &event.path {
                        out.write_all(b" ")?;
                        write_path(out, path)?;
                    }
                    out.write_all(b"\n")?;
                }
                Format::Json => write_json(out, &time, event)?,
                Format::Inotifywait(template) => template.write(out, event, now)?,
            }
        }
        out.flush()?;
        Ok(())
    }

    fn collect(&mut self, events: &[WatchEvent], now: SystemTime) {
        for event in events {
            if self.for_exec {
                if let Some(kept) = &mut self.run_events
                    && self.in_burst.insert(event.clone())
                {
                    kept.push((now, event.clone()));
                }
                // A saved file's temporary name is gone: not worth passing on.
                if let Some(from) = &event.from
                    && event.kind == Kind::Modify
                {
                    self.in_changed.remove(from);
                    self.changed.retain(|p| p != from);
                }
                if let Some(p) = &event.path
                    && self.in_changed.insert(p.clone())
                {
                    self.changed.push(p.clone());
                }
            } else if self.in_burst.insert(event.clone()) {
                self.burst.push(event.clone());
            }
        }
    }

    /// The burst settled: print it, each event once.
    pub(super) fn print_burst(&mut self) -> Result<()> {
        let burst = std::mem::take(&mut self.burst);
        self.in_burst.clear();
        self.print(&burst, SystemTime::now())
    }

    /// The paths changed since the last --exec run, each once.
    pub(super) fn take_changed(&mut self) -> Vec<PathBuf> {
        self.in_changed.clear();
        std::mem::take(&mut self.changed)
    }

    /// A burst the command will not see (--on-busy do-nothing or signal
    /// while it runs): its changes are forgotten.
    pub(super) fn forget_changes(&mut self) {
        self.take_changed();
        self.take_run_events();
    }

    /// The events since the last --exec run (with --emit-events), each
    /// once, with the time each was read.
    pub(super) fn take_run_events(&mut self) -> Vec<(SystemTime, WatchEvent)> {
        self.in_burst.clear();
        self.run_events
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// --clear: an empty screen for the next --exec run.
    pub(super) fn clear_screen(&mut self) -> Result<()> {
        self.out.write_all(b"\x1b[2J\x1b[3J\x1b[H")?;
        self.out.flush()?;
        Ok(())
    }
}

/// One line of --format json.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    time: &'a str,
    kind: &'a str,
    path: Option<Shown<'a>>,
    from: Option<Shown<'a>>,
}

/// `event` as one line of --format json (and of --emit-events), read at
/// `time` (as [`stamp`] gives it).
pub(super) fn write_json(out: &mut impl Write, time: &[u8], event: &WatchEvent) -> Result<()> {
    let line = JsonLine {
        time: std::str::from_utf8(time).unwrap_or_default(),
        kind: event.kind.name(),
        path: event.path.as_deref().map(Shown),
        from: event.from.as_deref().map(Shown),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// A path in text output: its bytes as the kernel has them on Unix (as
/// inotifywait prints them), "." for the current directory.
fn write_path(out: &mut impl Write, path: &Path) -> io::Result<()> {
    if path.as_os_str().is_empty() {
        return out.write_all(b".");
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        out.write_all(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    write!(out, "{}", path.display())
}

/// `now` in RFC 3339, UTC, with milliseconds (`2026-11-25T14:51:31.716Z`).
pub(super) fn stamp(now: SystemTime) -> [u8; 24] {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::io::time::rfc3339_millis(i64::try_from(since.as_millis()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_stamps_are_rfc3339_utc_millis() {
        for ms in [0, 951_782_400_500, 1_767_225_599_999, 1_795_000_000_123] {
            let t = UNIX_EPOCH + Duration::from_millis(ms);
            let want = crate::io::time::rfc3339(ms as f64 / 1000.0);
            assert_eq!(std::str::from_utf8(&stamp(t)).unwrap(), want);
        }
    }
}
