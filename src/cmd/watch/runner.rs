//! --exec: run a shell command after each burst of changes, one run at a
//! time (entr, watchexec).
//!
//! What depends on the platform (a process group, signals to it, a status
//! as an exit code) is kept to the small functions at the end.

use super::report::Reporter;
use super::scope::shown;
use crate::io::signal;
use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender};
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// How long a stopped CMD has to end before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// Runs --exec CMD, one run at a time.
pub(super) struct Runner {
    command: String,
    restart: bool,
    clear: bool,
    /// Pid (and process group) of the running CMD.
    running: Option<u32>,
    /// A waiter thread sends CMD's status here when it ends.
    done: (Sender<ExitStatus>, Receiver<ExitStatus>),
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
            done: crossbeam_channel::bounded(1),
            pending: false,
            runs: 0,
            last_code: 0,
        }
    }

    /// The status of a run, when it ends: pass it to [`Runner::finished`].
    pub(super) fn ended(&self) -> &Receiver<ExitStatus> {
        &self.done.1
    }

    /// A burst of changes settled: run CMD, after the running one (or,
    /// with --restart, instead of it).
    pub(super) fn burst(&mut self) {
        self.pending = true;
        if self.restart
            && let Some(pid) = self.running
        {
            signal_group(pid, libc::SIGTERM);
            // The waiter thread reports its end; start_if_due waits for it.
            if let Ok(status) = self.done.1.recv_timeout(GRACE) {
                self.finished(status);
            } else {
                kill_group(pid);
                if let Ok(status) = self.done.1.recv() {
                    self.finished(status);
                }
            }
        }
    }

    pub(super) fn finished(&mut self, status: ExitStatus) {
        self.running = None;
        signal::stop_forwarding();
        self.last_code = exit_code(status);
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
        // Its own process group, so --restart stops all it started.
        own_process_group(&mut command);
        let held = signal::hold();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot run {}", self.command))?;
        let pid = child.id();
        self.running = Some(pid);
        self.runs += 1;
        forward_signals(pid);
        drop(held);
        let tx = self.done.0.clone();
        std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(status);
            }
        });
        Ok(())
    }

    /// fkit is ending: end CMD and all it started first.
    pub(super) fn stop(&mut self, sig: i32) {
        if let Some(pid) = self.running {
            signal_group(pid, sig);
            if self.done.1.recv_timeout(GRACE).is_err() {
                kill_group(pid);
            }
            self.running = None;
            signal::stop_forwarding();
        }
    }
}

// What follows depends on the platform. (Outside Unix there is no process
// group to signal: a CMD to stop is left to end by itself.)

fn own_process_group(command: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    #[cfg(not(unix))]
    let _ = command;
}

/// fkit's SIGINT, SIGTERM and SIGHUP go to CMD while it runs: to its whole
/// process group on Unix, where it leads one (a signal then reaches all it
/// started).
fn forward_signals(pid: u32) {
    #[cfg(unix)]
    signal::forward_to_group(pid);
    #[cfg(not(unix))]
    signal::forward_to(pid);
}

/// Send `sig` to CMD's process group.
fn signal_group(pid: u32, sig: i32) {
    #[cfg(unix)]
    // SAFETY: kill(2) has no memory-safety preconditions; a group that is
    // gone already only makes it fail with ESRCH.
    unsafe {
        libc::kill(-(pid as libc::pid_t), sig);
    }
    #[cfg(not(unix))]
    let _ = (pid, sig);
}

/// CMD's group did not end within the grace period: kill it.
fn kill_group(pid: u32) {
    #[cfg(unix)]
    signal_group(pid, libc::SIGKILL);
    #[cfg(not(unix))]
    let _ = pid;
}

/// CMD's status as fkit's exit code: its own, or 128 + the signal that
/// killed it, as a shell reports it.
fn exit_code(status: ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    status.code().unwrap_or(1)
}
