//! Ctrl-C and termination signals.
//!
//! Two rules hold for every command:
//! * no partial output survives an interrupt: every temporary path the I/O
//!   layer creates is registered here and removed before the process exits;
//! * a command that runs a child (`lock`, `temp --exec`, `watch --exec`)
//!   forwards the signal to it and keeps running until the child is gone,
//!   then exits with the child's status (128 + signal when it was killed).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

static TEMP_PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Pid of a child process that signals are forwarded to (0: none).
static CHILD: AtomicU32 = AtomicU32::new(0);
/// The last signal received while a child was running (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

static INSTALL: std::sync::Once = std::sync::Once::new();

/// Start listening for SIGINT, SIGTERM and SIGHUP, once. Done lazily, when
/// there is first something to clean up or a child to forward to: until
/// then the default action (exit at once) loses nothing, and short commands
/// such as `fkit temp` skip the listener thread (start-up cost matters to
/// scripts that call fkit a thousand times).
pub fn install() {
    INSTALL.call_once(|| {
        #[cfg(unix)]
        unix::install();
    });
}

/// Remove `path` if the process is interrupted before [`forget`] is called.
pub fn remove_on_interrupt(path: &Path) {
    install();
    if let Ok(mut paths) = TEMP_PATHS.lock() {
        paths.push(path.to_path_buf());
    }
}

/// The path was committed or removed already: no longer ours to clean up.
pub fn forget(path: &Path) {
    if let Ok(mut paths) = TEMP_PATHS.lock()
        && let Some(i) = paths.iter().rposition(|p| p == path)
    {
        paths.swap_remove(i);
    }
}

/// While a child runs, signals go to it instead of ending fkit.
pub fn forward_to(pid: u32) {
    install();
    CHILD.store(pid, Ordering::SeqCst);
}

/// The child has exited: signals end fkit again.
pub fn stop_forwarding() {
    CHILD.store(0, Ordering::SeqCst);
}

/// The signal number received while forwarding, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// Remove every registered temporary path now (used just before exiting).
pub fn cleanup() {
    let paths = match TEMP_PATHS.lock() {
        Ok(mut paths) => std::mem::take(&mut *paths),
        Err(_) => return,
    };
    for path in paths {
        let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
    }
}

#[cfg(unix)]
mod unix {
    use super::*;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;

    pub(super) fn install() {
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            for sig in signals.forever() {
                let child = CHILD.load(Ordering::SeqCst);
                if child != 0 {
                    RECEIVED.store(sig, Ordering::SeqCst);
                    // A terminal's Ctrl-C already reached the child through
                    // its process group; a `kill` aimed at fkit did not.
                    // Sending it again is harmless for the programs people
                    // run under fkit, and is what makes `kill` work.
                    unsafe {
                        libc::kill(child as libc::pid_t, sig);
                    }
                    continue;
                }
                cleanup();
                std::process::exit(128 + sig);
            }
        });
    }
}
