//! Ctrl-C and termination signals.
//!
//! Two rules hold for every command:
//! * no partial output survives an interrupt: every temporary path the I/O
//!   layer creates is registered here and removed before the process exits;
//! * a command that runs a child (`lock`, `temp --exec`, `watch --exec`)
//!   forwards the signal to it and keeps running until the child is gone,
//!   then exits with the child's status (128 + signal when it was killed).
//!
//! Nothing is installed until it is needed: until then the default action
//! (exit at once) loses nothing, and start-up stays cheap for scripts that
//! call fkit a thousand times. Forwarding needs no thread: its handler only
//! calls `kill`, which is async-signal-safe. Removing files is not, so
//! cleanup runs on a listener thread, started by the first temporary path.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

static TEMP_PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Files written in place (stdout on a regular file) and the length to cut
/// each back to on an interrupt.
static CUT_BACKS: Mutex<Vec<(File, u64)>> = Mutex::new(Vec::new());
/// Held (shared) by each write to a file in [`CUT_BACKS`]; the cleanup
/// takes it exclusively, so that no write lands after the cut.
static WRITE_GATE: RwLock<()> = RwLock::new(());
/// Where signals go while a child runs: a pid, a negated process group id
/// (as `kill` takes it), or 0 for nowhere.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// The last signal received while a child was running (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The cleanup listener is running: it decides what a signal without a
/// child does.
static CLEANUP: AtomicBool = AtomicBool::new(false);
static INSTALL_CLEANUP: std::sync::Once = std::sync::Once::new();
static INSTALL_FORWARDING: std::sync::Once = std::sync::Once::new();

/// Remove `path` if the process is interrupted before [`forget`] is called.
pub fn remove_on_interrupt(path: &Path) {
    INSTALL_CLEANUP.call_once(|| {
        #[cfg(unix)]
        unix::install_cleanup();
    });
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

/// Cut `file` back to `len` bytes if the process is interrupted before
/// [`forget_cut_backs`]: output written in place, where there is no
/// temporary file to remove. Writes to it should hold [`writing`].
pub fn cut_back_on_interrupt(file: &File, len: u64) -> std::io::Result<()> {
    INSTALL_CLEANUP.call_once(|| {
        #[cfg(unix)]
        unix::install_cleanup();
    });
    let file = file.try_clone()?;
    CUT_BACKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((file, len));
    Ok(())
}

/// The files written in place are complete (or were cut back already).
pub fn forget_cut_backs() {
    CUT_BACKS.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

/// Hold while writing to a file given to [`cut_back_on_interrupt`]: an
/// interrupt then waits for the write to finish before cutting the file.
pub fn writing() -> RwLockReadGuard<'static, ()> {
    WRITE_GATE.read().unwrap_or_else(|p| p.into_inner())
}

/// A child is being started: signals now wait in [`PENDING`] for its pid.
const STARTING: i32 = i32::MIN;
/// A signal that arrived while a child was being started (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);

/// Call before spawning a child, and [`forward_to`] once it runs: a
/// SIGINT, SIGTERM or SIGHUP in between is kept and passed on to the child
/// then, instead of ending fkit and leaving the child running unsignalled.
/// If the child never starts, dropping the guard acts on a kept signal as
/// if it had just arrived.
#[must_use = "signals are kept for the child only while the guard lives"]
pub struct Held(());

pub fn hold() -> Held {
    install_forwarding();
    PENDING.store(0, Ordering::SeqCst);
    CHILD.store(STARTING, Ordering::SeqCst);
    Held(())
}

impl Drop for Held {
    fn drop(&mut self) {
        if CHILD
            .compare_exchange(STARTING, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            let sig = PENDING.swap(0, Ordering::SeqCst);
            if sig != 0 {
                cleanup();
                std::process::exit(128 + sig);
            }
        }
    }
}

/// While a child runs, SIGINT, SIGTERM and SIGHUP go to it instead of
/// ending fkit.
pub fn forward_to(pid: u32) {
    forward(i32::try_from(pid).unwrap_or(0));
}

/// Like [`forward_to`], for a child that leads its own process group: the
/// signal goes to the whole group (everything the child started).
pub fn forward_to_group(pgid: u32) {
    forward(-i32::try_from(pgid).unwrap_or(0));
}

fn forward(target: i32) {
    install_forwarding();
    CHILD.store(target, Ordering::SeqCst);
    // A signal kept while the child was being started.
    let sig = PENDING.swap(0, Ordering::SeqCst);
    #[cfg(unix)]
    if sig != 0 {
        RECEIVED.store(sig, Ordering::SeqCst);
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(target, sig) };
    }
    #[cfg(not(unix))]
    let _ = sig;
}

fn install_forwarding() {
    INSTALL_FORWARDING.call_once(|| {
        #[cfg(unix)]
        unix::install_forwarding();
    });
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

/// Remove every registered temporary path and cut back every file written
/// in place, now (used just before exiting).
pub fn cleanup() {
    let cuts = std::mem::take(&mut *CUT_BACKS.lock().unwrap_or_else(|p| p.into_inner()));
    if !cuts.is_empty() {
        // No write may start or be in flight from here on: the process is
        // about to exit, so the gate stays closed.
        std::mem::forget(WRITE_GATE.write().unwrap_or_else(|p| p.into_inner()));
        for (file, len) in cuts {
            let _ = file.set_len(len);
        }
    }
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

    const SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

    pub(super) fn install_cleanup() {
        let Ok(mut signals) = Signals::new(SIGNALS) else {
            return;
        };
        CLEANUP.store(true, Ordering::SeqCst);
        std::thread::spawn(move || {
            for sig in signals.forever() {
                if CHILD.load(Ordering::SeqCst) != 0 {
                    // The forwarding handler passed it on (or keeps it for
                    // a child being started); the child decides.
                    continue;
                }
                cleanup();
                std::process::exit(128 + sig);
            }
        });
    }

    pub(super) fn install_forwarding() {
        for sig in SIGNALS {
            // SAFETY: the action only touches atomics and calls kill(2) and
            // _exit(2), all async-signal-safe.
            let _ = unsafe {
                signal_hook::low_level::register(sig, move || {
                    let target = CHILD.load(Ordering::SeqCst);
                    if target == STARTING {
                        // No pid yet: `forward` passes it on.
                        PENDING.store(sig, Ordering::SeqCst);
                    } else if target != 0 {
                        RECEIVED.store(sig, Ordering::SeqCst);
                        // A terminal's Ctrl-C already reached the child
                        // through its process group; a `kill` aimed at fkit
                        // did not. Sending it again is harmless for the
                        // programs people run under fkit, and makes `kill` work.
                        libc::kill(target, sig);
                    } else if !CLEANUP.load(Ordering::SeqCst) {
                        // Registering replaced the default action: keep it.
                        libc::_exit(128 + sig);
                    }
                })
            };
        }
    }
}
