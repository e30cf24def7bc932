//! Ctrl-C and termination signals.
//!
//! Two rules hold for every command:
//! * no partial output survives an interrupt: every temporary path the I/O
//!   layer creates is registered here and removed before the process exits;
//! * a command that runs a child (`lock`, `temp --exec`, `chunk split
//!   --exec`, `watch --exec`, all through `io::child`) forwards the signal
//!   to it and keeps running until the child is gone, then exits with the
//!   child's status (128 + signal when it was killed).
//!
//! A third rule holds for commands that map files: a mapped input that
//! another process truncates while fkit reads it (the SIGBUS hazard of
//! `io::map`) ends fkit with a message naming the file and exit status 1,
//! its temporary outputs removed, instead of a crash with a core dump.
//!
//! Nothing is installed until it is needed: until then the default action
//! (exit at once) loses nothing, and start-up stays cheap for scripts that
//! call fkit a thousand times. Forwarding needs no thread: its handler only
//! calls `kill`, which is async-signal-safe. Removing files is not, so
//! cleanup runs on a listener thread, started by the first temporary path.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

static TEMP_PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Files written in place (stdout on a regular file) and the length to cut
/// each back to on an interrupt.
static CUT_BACKS: Mutex<Vec<(File, u64)>> = Mutex::new(Vec::new());
/// Held (shared) by each write to a file in [`CUT_BACKS`], and by each
/// creation of a temporary path until it is registered; the cleanup takes
/// it exclusively, so that no write lands after the cut and no temporary
/// file is made after the removal (nor made and not yet registered).
static WRITE_GATE: RwLock<()> = RwLock::new(());
/// The last signal received while a child was running (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
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

/// Hold while writing to a file given to [`cut_back_on_interrupt`], or
/// while creating a temporary path and giving it to
/// [`remove_on_interrupt`]: an interrupt then waits for the write to
/// finish before cutting the file, or for the path to be registered
/// before removing the registered ones.
pub fn writing() -> RwLockReadGuard<'static, ()> {
    WRITE_GATE.read().unwrap_or_else(|p| p.into_inner())
}

// Where signals go while children run. Each child takes a slot: FREE,
// STARTING (being spawned: a signal is kept for it in KEPT) or its target,
// a pid or a negated process group id as kill(2) takes it. A fixed table of
// atomics, because the signal handler may touch nothing else; `chunk split
// --exec -j N` runs N children at once.
const SLOTS: usize = 256;
const FREE: i32 = 0;
const STARTING: i32 = i32::MIN;
static TARGETS: [AtomicI32; SLOTS] = [const { AtomicI32::new(FREE) }; SLOTS];
/// A signal that arrived while the slot's child was being started.
static KEPT: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

/// Call before spawning a child, and [`Held::forward_to`] once it runs: a
/// SIGINT, SIGTERM or SIGHUP in between is kept and passed on to the child
/// then, instead of ending fkit and leaving the child running unsignalled.
/// If the child never starts, dropping the guard acts on a kept signal as
/// if it had just arrived (unless other children got it).
///
/// `io::child` does all of this; commands use it rather than these calls.
/// With more than 256 children at once, the rest run unsignalled.
#[must_use = "signals are kept for the child only while the guard lives"]
pub struct Held {
    slot: Option<usize>,
}

/// A child is about to be spawned: see [`Held`].
pub fn hold() -> Held {
    install_forwarding();
    let slot = TARGETS.iter().position(|target| {
        target
            .compare_exchange(FREE, STARTING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    Held { slot }
}

impl Held {
    /// The child runs: SIGINT, SIGTERM and SIGHUP go to `pid` instead of
    /// ending fkit, until the [`Forwarding`] is dropped.
    pub fn forward_to(self, pid: u32) -> Forwarding {
        self.forward(i32::try_from(pid).unwrap_or(FREE))
    }

    /// Like [`Held::forward_to`], for a child that leads its own process
    /// group: the signal goes to the whole group (everything it started).
    pub fn forward_to_group(self, pgid: u32) -> Forwarding {
        self.forward(-i32::try_from(pgid).unwrap_or(FREE))
    }

    fn forward(mut self, target: i32) -> Forwarding {
        let slot = self.slot.take();
        if let Some(slot) = slot {
            forward(slot, target);
        }
        Forwarding { slot }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(slot) = self.slot else { return };
        // (Not STARTING any more: a `forward_to` by slot took it over.)
        if TARGETS[slot]
            .compare_exchange(STARTING, FREE, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            let sig = KEPT[slot].swap(0, Ordering::SeqCst);
            if sig != 0 && !children() {
                cleanup();
                std::process::exit(128 + sig);
            }
        }
    }
}

/// Signals go to a child until this is dropped (when the child has ended).
#[must_use = "signals go to the child only while this lives"]
pub struct Forwarding {
    slot: Option<usize>,
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            release(slot);
        }
    }
}

fn forward(slot: usize, target: i32) {
    TARGETS[slot].store(target, Ordering::SeqCst);
    // A signal kept while the child was being started.
    let sig = KEPT[slot].swap(0, Ordering::SeqCst);
    if sig != 0 {
        kill(target, sig);
    }
}

fn release(slot: usize) {
    TARGETS[slot].store(FREE, Ordering::SeqCst);
    KEPT[slot].store(0, Ordering::SeqCst);
}

/// Some child is running or being started.
fn children() -> bool {
    TARGETS
        .iter()
        .any(|target| target.load(Ordering::SeqCst) != FREE)
}

/// Send `sig` to `target`, a pid or a negated process group id (as
/// kill(2) takes it); a target that has just ended is no error.
pub(crate) fn kill(target: i32, sig: i32) {
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, kill_process, kill_process_group};
        let (Some(pid), Some(sig)) = (Pid::from_raw(target.abs()), Signal::from_named_raw(sig))
        else {
            return;
        };
        let _ = match target < 0 {
            true => kill_process_group(pid, sig),
            false => kill_process(pid, sig),
        };
    }
    #[cfg(not(unix))]
    let _ = (target, sig);
}

fn install_forwarding() {
    INSTALL_FORWARDING.call_once(|| {
        #[cfg(unix)]
        unix::install_forwarding();
    });
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
    // No write or creation may start or be in flight from here on: the
    // process is about to exit, so the gate stays closed. (Other threads
    // go on meanwhile: `chunk split` makes a file per chunk, and one made
    // while the registered ones were removed was left behind.)
    std::mem::forget(WRITE_GATE.write().unwrap_or_else(|p| p.into_inner()));
    let cuts = std::mem::take(&mut *CUT_BACKS.lock().unwrap_or_else(|p| p.into_inner()));
    for (file, len) in cuts {
        let _ = file.set_len(len);
    }
    let paths = match TEMP_PATHS.lock() {
        Ok(mut paths) => std::mem::take(&mut *paths),
        Err(_) => return,
    };
    for path in paths {
        let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
    }
}

/// Mapped files by address range, so that a SIGBUS can be reported with
/// the name of the file that shrank.
static MAPS: Mutex<Vec<(usize, usize, String)>> = Mutex::new(Vec::new());

/// `len` bytes mapped at `start` are the file `name`: if another process
/// truncates it while fkit reads them, fkit removes its temporary files and
/// exits 1 with a message naming it (see [`forget_map`]).
pub fn watch_map(start: *const u8, len: usize, name: &str) {
    #[cfg(unix)]
    bus::install();
    MAPS.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((start as usize, len, name.to_string()));
}

/// The map at `start` is gone.
pub fn forget_map(start: *const u8) {
    let mut maps = MAPS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = maps.iter().rposition(|m| m.0 == start as usize) {
        maps.swap_remove(i);
    }
}

/// The name of the mapped file that holds `addr`, if one does.
#[cfg(unix)]
fn mapped_at(addr: usize) -> Option<String> {
    let maps = MAPS.lock().unwrap_or_else(|p| p.into_inner());
    maps.iter()
        .find(|(start, len, _)| (*start..start + len).contains(&addr))
        .map(|(_, _, name)| name.clone())
}

/// The SIGBUS of a truncated map: the faulting thread cannot go on (the
/// bytes are gone) and a signal handler may not allocate, lock or remove
/// files. So the handler only records the address and wakes a watcher
/// thread through a pipe; the watcher, an ordinary thread, names the file,
/// runs [`cleanup`] and exits 1, while the faulting thread waits in the
/// handler. Should the watcher not finish (it never should), the handler
/// exits by itself after a few seconds.
#[cfg(unix)]
mod bus {
    use super::*;
    use std::io::Read;
    use std::os::fd::{AsRawFd, IntoRawFd};
    use std::sync::atomic::AtomicUsize;

    static INSTALL: std::sync::Once = std::sync::Once::new();
    /// The write end of the watcher's pipe (-1: none).
    static WAKE: AtomicI32 = AtomicI32::new(-1);
    static FAULT_ADDRESS: AtomicUsize = AtomicUsize::new(0);
    const FALLBACK: &[u8] =
        b"fkit: a mapped input was truncated by another process while being read\n";

    /// The SIGBUS action. It only stores to atomics and calls write(2),
    /// nanosleep(2) and _exit(2), all async-signal-safe; it never returns
    /// (returning would fault again on the same access).
    extern "C" fn on_bus(_sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO
        // handler; si_addr is the faulting address for SIGBUS.
        let addr = unsafe {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            let addr = (*info).si_addr() as usize;
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            let addr = (*info).si_addr as usize;
            addr
        };
        FAULT_ADDRESS.store(addr, Ordering::SeqCst);
        let wake = WAKE.load(Ordering::SeqCst);
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: 10_000_000,
        };
        // SAFETY: plain system calls on a descriptor this module owns (or
        // stderr) and on buffers that live for the whole program.
        unsafe {
            if wake >= 0 {
                libc::write(wake, b"!".as_ptr().cast(), 1);
            }
            for _ in 0..500 {
                libc::nanosleep(&pause, std::ptr::null_mut());
            }
            libc::write(2, FALLBACK.as_ptr().cast(), FALLBACK.len());
            libc::_exit(1);
        }
    }

    pub(super) fn install() {
        INSTALL.call_once(|| {
            let Ok((mut reader, writer)) = std::io::pipe() else {
                return;
            };
            let watcher = std::thread::Builder::new()
                .name("fkit-sigbus".into())
                .spawn(move || {
                    let mut byte = [0u8; 1];
                    if reader.read_exact(&mut byte).is_err() {
                        return;
                    }
                    let addr = FAULT_ADDRESS.load(Ordering::SeqCst);
                    let what = mapped_at(addr).unwrap_or_else(|| "a mapped input".into());
                    let cmd = std::env::args().nth(1).unwrap_or_else(|| "fkit".into());
                    eprintln!(
                        "fkit: {cmd}: {what}: the file was truncated by another process \
                         while being read (its mapped bytes are gone)"
                    );
                    cleanup();
                    std::process::exit(1);
                });
            if watcher.is_err() {
                return;
            }
            let fd = writer.as_raw_fd();
            // The write end lives as long as the process.
            let _ = writer.into_raw_fd();
            WAKE.store(fd, Ordering::SeqCst);
            // Our own action replaces std's (its SIGBUS handler only
            // reports stack overflows, which on Linux come as SIGSEGV).
            // SAFETY: `on_bus` is async-signal-safe (see there); the
            // sigaction struct is zeroed, then filled as sigaction(2)
            // documents for an SA_SIGINFO handler.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_bus as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
            }
        });
    }
}

#[cfg(unix)]
mod unix {
    use super::*;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;
    use std::sync::atomic::AtomicBool;

    const SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

    /// The cleanup listener is running: it decides what a signal without a
    /// child does.
    static CLEANUP: AtomicBool = AtomicBool::new(false);

    pub(super) fn install_cleanup() {
        let Ok(mut signals) = Signals::new(SIGNALS) else {
            return;
        };
        CLEANUP.store(true, Ordering::SeqCst);
        std::thread::spawn(move || {
            for sig in signals.forever() {
                if children() {
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
                    let mut children = false;
                    for (target, kept) in TARGETS.iter().zip(&KEPT) {
                        match target.load(Ordering::SeqCst) {
                            FREE => continue,
                            STARTING => {
                                // No pid yet: `forward` passes it on. If
                                // it ran meanwhile, the pid is there now.
                                kept.store(sig, Ordering::SeqCst);
                                match target.load(Ordering::SeqCst) {
                                    STARTING => {}
                                    FREE => kept.store(0, Ordering::SeqCst),
                                    now => {
                                        if kept.swap(0, Ordering::SeqCst) != 0 {
                                            kill(now, sig);
                                        }
                                    }
                                }
                            }
                            // A terminal's Ctrl-C already reached the child
                            // through its process group; a `kill` aimed at
                            // fkit did not. Sending it again is harmless for
                            // the programs people run under fkit, and makes
                            // `kill` work.
                            running => kill(running, sig),
                        }
                        children = true;
                    }
                    if children {
                        RECEIVED.store(sig, Ordering::SeqCst);
                    } else if !CLEANUP.load(Ordering::SeqCst) {
                        // Registering replaced the default action: keep it.
                        libc::_exit(128 + sig);
                    }
                })
            };
        }
    }
}

/// Run `action` each time SIGUSR1 arrives (dd's "print the statistics so
/// far"), on a thread of its own, so it runs even while the work waits in
/// a read. Returns false where there is no SIGUSR1 (Windows) or it could
/// not be caught. Until this is called, SIGUSR1 keeps its default action
/// (ending the process), as for a program that does not catch it.
pub fn on_usr1(action: impl Fn() + Send + 'static) -> bool {
    #[cfg(unix)]
    {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([signal_hook::consts::SIGUSR1])
        else {
            return false;
        };
        std::thread::spawn(move || {
            for _ in signals.forever() {
                action();
            }
        });
        true
    }
    #[cfg(not(unix))]
    {
        let _ = action;
        false
    }
}
