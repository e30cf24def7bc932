//! --exec: run a shell command after each burst of changes, one run at a
//! time (entr, watchexec).
//!
//! What depends on the platform (a process group, signals to it, a status
//! as an exit code) is kept to the small functions at the end.

use super::report::Reporter;
use super::scope::shown;
use crate::io::child::{self, Child, Running};
use anyhow::{Context, Result};
use crossbeam_channel::Receiver;
use std::io;
use std::process::Command;
use std::time::Duration;

/// How long a stopped CMD has to end before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// Runs --exec CMD, one run at a time.
pub(super) struct Runner {
    command: String,
    restart: bool,
    clear: bool,
    /// The running CMD, the leader of its own process group (so that a
    /// stop reaches all it started), waited for on a thread of its own.
    running: Option<Running>,
    /// What [`Runner::ended`] gives while nothing runs.
    idle: Receiver<io::Result<i32>>,
    /// A burst settled: run (again) as soon as nothing runs.
    pending: bool,
    /// Runs started so far.
    runs: usize,
    last_code: i32,
}

impl Runner {
    /// `restart`: a burst stops a running CMD; `clear`: clear the screen
    /// before each run.
    pub(super) fn new(command: &str, restart: bool, clear: bool) -> Runner {
        Runner {
            command: command.to_string(),
            restart,
            clear,
            running: None,
            idle: crossbeam_channel::never(),
            pending: false,
            runs: 0,
            last_code: 0,
        }
    }

    /// The exit code of a run, when it ends: pass it to [`Runner::finished`].
    pub(super) fn ended(&self) -> &Receiver<io::Result<i32>> {
        self.running.as_ref().map_or(&self.idle, Running::exited)
    }

    /// A burst of changes settled: run CMD, after the running one (or,
    /// with --restart, instead of it).
    pub(super) fn burst(&mut self) {
        self.pending = true;
        if self.restart {
            self.stop(child::SIGTERM);
        }
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

    /// Start CMD if a burst is waiting for a run and none is running; it
    /// is given the paths changed since the last run.
    pub(super) fn start_if_due(&mut self, reporter: &mut Reporter) -> Result<()> {
        if !self.pending || self.running.is_some() {
            return Ok(());
        }
        self.pending = false;
        let paths = reporter.take_changed();
        if self.clear {
            reporter.clear_screen()?;
        }
        let list: Vec<String> = paths.iter().map(|p| shown(p)).collect();
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(&self.command)
            .env("FKIT_PATHS", list.join("\n"));
        let child = Child::spawn_group(&mut command)
            .with_context(|| format!("cannot run {}", self.command))?;
        self.running = Some(child.wait_on_thread());
        self.runs += 1;
        Ok(())
    }

    /// Stop a running CMD and all it started: `sig`, up to [`GRACE`] to
    /// end, then SIGKILL.
    pub(super) fn stop(&mut self, sig: i32) {
        if let Some(running) = self.running.take() {
            // Stuck even after SIGKILL (in the kernel): as a shell reports it.
            let code = running.stop(sig, GRACE).unwrap_or(Ok(128 + 9));
            self.finished(code);
        }
    }
}
