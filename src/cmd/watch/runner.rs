//! Running a command on change (entr, watchexec): once at the start, then
//! after each burst, one run at a time; what a burst does to a run still
//! going is the --on-busy policy.
//!
//! What depends on the platform (the default shell) is kept to the small
//! function at the end; process groups and signals are `io::child`'s.

use super::events::WatchEvent;
use super::report::{Reporter, stamp, write_json};
use super::scope::shown;
use crate::io::Output;
use crate::io::child::{Child, Running};
use anyhow::{Context, Result};
use crossbeam_channel::Receiver;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What runs: a program with its arguments, or a string for a shell.
#[derive(Debug)]
pub(super) enum Program {
    /// `-- cargo test`: run as given, no shell; an argument `{}` stands
    /// for the changed paths.
    Args(Vec<OsString>),
    /// `--exec STRING` / `-c STRING`: `SH -c STRING`.
    Shell {
        shell: Option<String>,
        script: String,
    },
}

/// What a burst of changes does while the command still runs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OnBusy {
    /// Run once more when it ends (the default).
    Queue,
    /// Stop it (--signal, then SIGKILL after --stop-timeout) and start it again.
    Restart,
    /// Nothing: changes made during a run are dropped.
    DoNothing,
    /// Send it --signal and let it go on (for a command that reloads).
    Signal,
}

/// Where --emit-events puts the events that led to a run (as watchexec's
/// --emit-events-to json-stdio and json-file do).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EmitEvents {
    /// On the command's stdin, one JSON line each, then closed.
    Stdin,
    /// In a file whose path is in FKIT_EVENTS_FILE, one JSON line each.
    File,
}

/// Runs the command, one run at a time.
pub(super) struct Runner {
    program: Program,
    on_busy: OnBusy,
    /// Sent at a change (--on-busy signal and restart).
    change_signal: i32,
    /// Sent to stop the command when fkit ends (--timeout).
    stop_signal: i32,
    /// How long a stopped command has to end before it is killed.
    stop_timeout: Duration,
    clear: bool,
    env: Vec<(String, String)>,
    workdir: Option<PathBuf>,
    /// What `{}` stands for when no path changed (the first run).
    roots: Vec<PathBuf>,
    /// --emit-events.
    emit: Option<EmitEvents>,
    /// --emit-events file: a directory of fkit's own, removed when the
    /// watch ends, where each run's events replace the last run's.
    events_dir: Option<tempfile::TempDir>,
    /// The running command, the leader of its own process group (so that
    /// a stop reaches all it started), waited for on a thread of its own.
    running: Option<Running>,
    /// What [`Runner::ended`] gives while nothing runs.
    idle: Receiver<io::Result<i32>>,
    /// Run (again) as soon as nothing runs.
    pending: bool,
    /// Runs started so far.
    runs: usize,
    last_code: i32,
}

impl Runner {
    /// Run `program` at the start and after each burst, queueing bursts
    /// that settle while it runs; `stop_signal` ends it (SIGKILL after
    /// `stop_timeout`). The builder calls below change the rest.
    pub(super) fn new(program: Program, stop_signal: i32, stop_timeout: Duration) -> Runner {
        Runner {
            program,
            on_busy: OnBusy::Queue,
            change_signal: stop_signal,
            stop_signal,
            stop_timeout,
            clear: false,
            env: Vec::new(),
            workdir: None,
            roots: Vec::new(),
            emit: None,
            events_dir: None,
            running: None,
            idle: crossbeam_channel::never(),
            pending: true,
            runs: 0,
            last_code: 0,
        }
    }

    /// What a burst does to a running command, and the signal it sends
    /// (`None`: the stop signal).
    pub(super) fn on_busy(mut self, policy: OnBusy, signal: Option<i32>) -> Runner {
        self.on_busy = policy;
        self.change_signal = signal.unwrap_or(self.stop_signal);
        self
    }

    /// Wait for the first burst instead of running at the start.
    pub(super) fn postpone(mut self, yes: bool) -> Runner {
        self.pending = !yes;
        self
    }

    /// Clear the screen before each run.
    pub(super) fn clear(mut self, yes: bool) -> Runner {
        self.clear = yes;
        self
    }

    /// Set these environment variables for the command.
    pub(super) fn env(mut self, vars: Vec<(String, String)>) -> Runner {
        self.env = vars;
        self
    }

    /// Run in `dir` (the changed paths are then passed on absolute).
    pub(super) fn workdir(mut self, dir: Option<PathBuf>) -> Result<Runner> {
        if let Some(dir) = &dir
            && !std::fs::metadata(dir).is_ok_and(|m| m.is_dir())
        {
            anyhow::bail!("{}: --workdir is not a directory", dir.display());
        }
        self.workdir = dir;
        Ok(self)
    }

    /// The watched paths, for `{}` at a run with no changed path.
    pub(super) fn roots(mut self, roots: Vec<PathBuf>) -> Runner {
        self.roots = roots;
        self
    }

    /// Give the command the events that led to each run (--emit-events).
    pub(super) fn emit_events(mut self, emit: Option<EmitEvents>) -> Result<Runner> {
        if emit == Some(EmitEvents::File) {
            let dir = tempfile::Builder::new()
                .prefix("fkit-watch-")
                .tempdir()
                .context("cannot create a directory for --emit-events file")?;
            // Removed when the watch ends (dropped), or by a signal that
            // ends fkit while no command runs.
            crate::io::signal::remove_on_interrupt(dir.path());
            self.events_dir = Some(dir);
        }
        self.emit = emit;
        Ok(self)
    }

    /// A path as the command is given it: absolute with --workdir
    /// (relative, it would name another file from there).
    fn placed(&self, path: &Path) -> PathBuf {
        match &self.workdir {
            Some(_) => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            None => path.to_path_buf(),
        }
    }

    /// The exit code of a run, when it ends: pass it to [`Runner::finished`].
    pub(super) fn ended(&self) -> &Receiver<io::Result<i32>> {
        self.running.as_ref().map_or(&self.idle, Running::exited)
    }

    /// A burst of changes settled. False if its changes are dropped (a
    /// run is going on, with --on-busy do-nothing or signal).
    pub(super) fn burst(&mut self) -> bool {
        let Some(running) = &self.running else {
            self.pending = true;
            return true;
        };
        match self.on_busy {
            OnBusy::Queue => self.pending = true,
            OnBusy::Restart => {
                self.pending = true;
                self.stop(self.change_signal);
            }
            OnBusy::DoNothing => return false,
            OnBusy::Signal => {
                running.signal(self.change_signal);
                return false;
            }
        }
        true
    }

    /// The run ended with `code` (as [`Runner::ended`] gave it).
    pub(super) fn finished(&mut self, code: io::Result<i32>) {
        self.running = None;
        self.last_code = code.unwrap_or(1);
    }

    /// A run was started and has ended (for --once).
    pub(super) fn ran(&self) -> bool {
        self.running.is_none() && self.runs > 0
    }

    /// The exit code of the last run that ended.
    pub(super) fn last_code(&self) -> i32 {
        self.last_code
    }

    /// Start the command if a run is due and none is going on, with the
    /// paths changed since the last run: one per line in FKIT_PATHS, and
    /// in place of an argument `{}`.
    pub(super) fn start_if_due(&mut self, reporter: &mut Reporter) -> Result<()> {
        if !self.pending || self.running.is_some() {
            return Ok(());
        }
        self.pending = false;
        if self.clear {
            reporter.clear_screen()?;
        }
        let changed = reporter.take_changed();
        let events = reporter.take_run_events();
        let place =
            |paths: &[PathBuf]| -> Vec<PathBuf> { paths.iter().map(|p| self.placed(p)).collect() };
        let paths = place(&changed);
        let mut command = match &self.program {
            Program::Args(args) => {
                let braces = match paths.is_empty() {
                    true => place(&self.roots),
                    false => paths.clone(),
                };
                let mut command = Command::new(&args[0]);
                for arg in &args[1..] {
                    match arg == "{}" {
                        true => command.args(&braces),
                        false => command.arg(arg),
                    };
                }
                command
            }
            Program::Shell { shell, script } => shell_command(shell.as_deref(), script),
        };
        let list: Vec<String> = paths.iter().map(|p| shown(p)).collect();
        command
            .env("FKIT_PATHS", list.join("\n"))
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.workdir {
            command.current_dir(dir);
        }
        let lines = match self.emit {
            Some(_) => self.event_lines(&events)?,
            None => Vec::new(),
        };
        if let Some(dir) = &self.events_dir {
            // Replaced whole (written aside, renamed over): a command of
            // the last run still reading its file keeps the old one.
            let path = dir.path().join("events.jsonl");
            // (Not synced: a scratch file, gone when fkit ends.)
            let mut file = Output::to(Some(&path)).force(true).sync(false).create()?;
            file.write_all(&lines)?;
            file.finish()?;
            command.env("FKIT_EVENTS_FILE", &path);
        }
        if self.emit == Some(EmitEvents::Stdin) {
            command.stdin(Stdio::piped());
        }
        let mut child = Child::spawn_group(&mut command)
            .with_context(|| format!("cannot run {}", self.program))?;
        if let Some(mut stdin) = child.take_stdin() {
            // On a thread of its own: a command that reads slowly, or not
            // at all, must not hold up the watch. A command that exits
            // without reading all is its own business (EPIPE is ignored).
            std::thread::spawn(move || {
                let _ = stdin.write_all(&lines);
            });
        }
        self.running = Some(child.wait_on_thread());
        self.runs += 1;
        Ok(())
    }

    /// The events as JSON lines, their paths as the command is given them.
    fn event_lines(&self, events: &[(std::time::SystemTime, WatchEvent)]) -> Result<Vec<u8>> {
        let mut lines = Vec::new();
        for (time, event) in events {
            let event = WatchEvent {
                kind: event.kind,
                path: event.path.as_deref().map(|p| self.placed(p)),
                from: event.from.as_deref().map(|p| self.placed(p)),
                is_dir: event.is_dir,
            };
            write_json(&mut lines, &stamp(*time), &event)?;
        }
        Ok(lines)
    }

    /// Stop a running command and all it started: `sig`, up to
    /// --stop-timeout to end, then SIGKILL.
    pub(super) fn stop(&mut self, sig: i32) {
        if let Some(running) = self.running.take() {
            // Stuck even after SIGKILL (in the kernel): as a shell reports it.
            let code = running.stop(sig, self.stop_timeout).unwrap_or(Ok(128 + 9));
            self.finished(code);
        }
    }

    /// Stop it as fkit ends by itself (--timeout): --stop-signal.
    pub(super) fn stop_at_exit(&mut self) {
        self.stop(self.stop_signal);
    }
}

impl std::fmt::Display for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Program::Args(args) => write!(f, "{}", Path::new(&args[0]).display()),
            Program::Shell { script, .. } => f.write_str(script),
        }
    }
}

/// `SH -c SCRIPT`; without SH, sh on Unix and `cmd /C` on Windows.
fn shell_command(shell: Option<&str>, script: &str) -> Command {
    let shell = shell.unwrap_or(if cfg!(windows) { "cmd" } else { "/bin/sh" });
    let flag = match Path::new(shell).file_stem().and_then(|s| s.to_str()) {
        Some(s) if s.eq_ignore_ascii_case("cmd") => "/C",
        _ => "-c",
    };
    let mut command = Command::new(shell);
    command.arg(flag).arg(script);
    command
}

/// `--stop-timeout`: `5s`, `500ms`, `1m`, or bare seconds (`2.5`).
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        _ => f64::NAN,
    };
    match number.parse::<f64>().map(|n| n * scale) {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "invalid duration \"{text}\" (like 5s, 500ms, 1m or 2.5)"
        )),
    }
}

/// `--signal` and `--stop-signal`: a name as kill takes it, or a number.
pub(super) fn parse_signal(text: &str) -> Result<i32, String> {
    crate::io::child::signal_number(text)
        .ok_or_else(|| format!("unknown signal \"{text}\" (like TERM, HUP, USR1 or 15)"))
}

/// `-E KEY=VALUE`.
pub(super) fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("invalid variable \"{text}\" (KEY=VALUE)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_or_seconds() {
        let ms = |n| Ok(Duration::from_millis(n));
        assert_eq!(parse_duration("5s"), ms(5000));
        assert_eq!(parse_duration("250ms"), ms(250));
        assert_eq!(parse_duration("1m"), ms(60_000));
        assert_eq!(parse_duration("2.5"), ms(2500));
        for bad in ["", "s", "5h", "-1s", "x"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn variables_are_key_equals_value() {
        assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_env("A="), Ok(("A".into(), String::new())));
        assert!(parse_env("=b").is_err());
        assert!(parse_env("A").is_err());
    }
}
