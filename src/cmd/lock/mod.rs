//! `fkit lock`: run a command while holding an advisory lock (flock(1)),
//! and say who holds a lock.
//!
//! This file is the technique: open the lock file, take the lock (flock(2)
//! on Unix, LockFileEx on Windows, both through std's `File::lock`), run the
//! command, exit with its status. `holder` says who holds a lock: the
//! record fkit writes into the lock file, the kernel's /proc/locks, and
//! `--check`.

mod holder;

use crate::io::Exit;
use crate::io::child::Child;
use anyhow::{Context, Result};
use holder::HolderRecord;
use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Run a command while holding an advisory lock on a file (flock(1)).
///
/// Creates LOCKFILE if it is missing (a directory works too), takes the lock
/// (exclusive unless -s), runs COMMAND, releases the lock when COMMAND ends
/// and exits with COMMAND's status (128 + signal if a signal killed it).
/// SIGINT and SIGTERM are passed on to COMMAND. The kernel releases the lock
/// when its holder dies, even by SIGKILL; nothing is left to clean up.
///
/// Scripts written for flock(1) run unchanged: the same short and long
/// options, `-c 'shell command'` after LOCKFILE, the `fkit lock -n 9`
/// form on an inherited file descriptor, and flock's exit codes (-n on a
/// busy lock and an expired -w exit 1, or CODE from -E; 127 when COMMAND is
/// not found, 126 when it cannot run).
///
/// Who holds it: while an exclusive lock is held, fkit records the holder's
/// pid, host, command and start time in LOCKFILE itself, but only when
/// LOCKFILE is empty or holds such a record (a file with other content is
/// never written to); the record is removed when the lock is released. On
/// Linux the holders are also read from /proc/locks, so a lock taken by
/// flock(1) or any other program, shared or exclusive, is named too.
/// --check, -n and a waiting lock tell who holds it; a record left behind by
/// a killed holder is reported as stale.
///
/// Examples:
///   fkit lock /tmp/backup.lock rsync -a src/ dst/   # one backup at a time
///   fkit lock -n /tmp/cron.lock -c 'make report'    # skip if already running
///   fkit lock -w 10 -E 75 db.lock ./migrate         # wait at most 10 s, else exit 75
///   fkit lock -s cache.lock ./read-cache            # many readers at once
///   fkit lock --check /tmp/backup.lock --json       # free (0) or held (1), and by whom
///   ( fkit lock -n 9 || exit 1; critical ) 9>/tmp/my.lock
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Take a shared lock (many holders at once; exclusive waits for them).
    #[arg(short, long, visible_alias = "read", conflicts_with = "exclusive")]
    shared: bool,

    /// Take an exclusive lock (the default).
    #[arg(short = 'x', short_alias = 'e', long, visible_alias = "write")]
    exclusive: bool,

    /// Fail (exit 1 or -E CODE) rather than wait if the lock is held.
    #[arg(short, long, visible_alias = "nb", conflicts_with = "timeout")]
    nonblock: bool,

    /// Wait at most SECONDS (fractions allowed) for the lock, then fail.
    #[arg(short = 'w', long, visible_alias = "wait", value_name = "SECONDS",
          value_parser = parse_seconds)]
    timeout: Option<f64>,

    /// Exit code when the lock is busy (-n) or the wait timed out (-w).
    #[arg(short = 'E', long, value_name = "CODE", default_value_t = 1)]
    conflict_exit_code: u8,

    /// Close the lock file before running COMMAND, so processes COMMAND
    /// leaves behind do not keep the lock.
    #[arg(short = 'o', long)]
    close: bool,

    /// Do not fork: replace fkit by COMMAND, which keeps the lock.
    #[arg(short = 'F', long, conflicts_with_all = ["close", "check"])]
    no_fork: bool,

    /// Run this shell command ($SHELL -c, or /bin/sh -c).
    #[arg(short = 'c', long = "command", value_name = "COMMAND")]
    shell_command: Option<OsString>,

    /// With the FD form: release the lock instead of taking it.
    #[arg(short, long)]
    unlock: bool,

    /// Say whether LOCKFILE is free (exit 0) or held (exit 1), and by whom,
    /// without waiting or creating it.
    #[arg(long, conflicts_with_all = ["nonblock", "timeout", "shell_command", "unlock"])]
    check: bool,

    /// With --check: print the answer as JSON.
    #[arg(long, requires = "check")]
    json: bool,

    /// Say how long getting the lock took and what runs (flock --verbose).
    #[arg(long)]
    verbose: bool,

    /// The lock file or directory (or, with no COMMAND, an open file descriptor number).
    #[arg(value_name = "LOCKFILE")]
    lockfile: PathBuf,

    /// The command to run and its arguments.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<OsString>,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(format!(
            "invalid timeout \"{text}\" (seconds, like 10 or 0.5)"
        )),
    }
}

/// How long to wait for a busy lock.
#[derive(Clone, Copy)]
enum Wait {
    Forever,
    No,
    For(Duration),
}

pub fn run(args: Args) -> Result<()> {
    let wait = match (args.nonblock, args.timeout) {
        (true, _) => Wait::No,
        // flock(1) treats -w 0 as -n.
        (_, Some(0.0)) => Wait::No,
        (_, Some(s)) => Wait::For(Duration::from_secs_f64(s)),
        (false, None) => Wait::Forever,
    };
    if args.check {
        return holder::check(&args.lockfile, args.json);
    }
    let program = program(&args)?;
    if program.is_empty() {
        return lock_descriptor(&args, wait);
    }
    let name = args.lockfile.display().to_string();
    let file = open(&args.lockfile).with_context(|| format!("{name}: cannot open lock file"))?;
    let shared = args.shared && !args.exclusive;
    let started = Instant::now();
    acquire(&file.file, shared, wait, &args.lockfile, args.verbose).map_err(|e| {
        if let Some(busy) = e.downcast_ref::<Busy>() {
            return Exit::with(args.conflict_exit_code.into(), format!("{name}: {busy}")).into();
        }
        e.context(name.clone())
    })?;
    if args.verbose {
        eprintln!(
            "fkit: lock: {name}: got the lock after {:.6} seconds",
            started.elapsed().as_secs_f64()
        );
    }
    let record = !shared && file.writable && HolderRecord::write(&file.file, &program);

    let mut command = Command::new(&program[0]);
    command.args(&program[1..]);
    #[cfg(unix)]
    if !args.close {
        // Like flock(1), COMMAND inherits the locked descriptor (-o closes it).
        inherit(&file.file);
    }
    if args.verbose {
        eprintln!("fkit: lock: executing {}", program[0].to_string_lossy());
    }
    if args.no_fork {
        return Err(exec(command, &program[0]));
    }
    let code = Child::spawn(&mut command)
        .map_err(|e| cannot_run(e, &program[0]))
        .and_then(|child| child.wait().context("waiting for the command"));
    if record {
        HolderRecord::clear(&file.file);
    }
    // Closing the file (when `file` drops) releases the lock.
    match code? {
        0 => Ok(()),
        code => Err(Exit::silent(code).into()),
    }
}

/// COMMAND and its arguments, from `-c` or the trailing words.
fn program(args: &Args) -> Result<Vec<OsString>> {
    let mut words = args.command.clone();
    let mut shell_command = args.shell_command.clone();
    // flock(1) takes `-c COMMAND` after LOCKFILE: `flock F -c 'cmd'`.
    if shell_command.is_none() && matches!(words.first(), Some(w) if w == "-c" || w == "--command")
    {
        if words.len() != 2 {
            return Err(Exit::usage("-c requires exactly one command argument").into());
        }
        shell_command = words.pop();
        words.clear();
    }
    if let Some(line) = shell_command {
        if !words.is_empty() {
            return Err(Exit::usage("-c takes one command string; nothing may follow it").into());
        }
        let shell = std::env::var_os("SHELL")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        return Ok(vec![shell, "-c".into(), line]);
    }
    Ok(words)
}

struct LockFile {
    file: File,
    /// Opened read-write, so a holder record can be written into it.
    writable: bool,
}

/// Open (creating if needed) the lock file as flock(1) does; read-only for a
/// directory or a file we may not write.
fn open(path: &Path) -> io::Result<LockFile> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o666).custom_flags(libc::O_NOCTTY);
    }
    match options.open(path) {
        Ok(file) => Ok(LockFile {
            file,
            writable: true,
        }),
        Err(e)
            if e.kind() == io::ErrorKind::PermissionDenied
                || e.kind() == io::ErrorKind::IsADirectory
                || e.kind() == io::ErrorKind::ReadOnlyFilesystem =>
        {
            File::open(path).map(|file| LockFile {
                file,
                writable: false,
            })
        }
        Err(e) => Err(e),
    }
}

/// The lock is held by someone else and we may not (or no longer) wait.
#[derive(Debug)]
struct Busy(String);

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Busy {}

/// Take the lock if it is free: true, or false if someone holds it.
fn try_lock(file: &File, shared: bool) -> io::Result<bool> {
    let result = if shared {
        file.try_lock_shared()
    } else {
        file.try_lock()
    };
    match result {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

fn lock_blocking(file: &File, shared: bool) -> io::Result<()> {
    loop {
        let result = if shared {
            file.lock_shared()
        } else {
            file.lock()
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Take the lock, waiting as told; a busy lock becomes a [`Busy`] error.
fn acquire(file: &File, shared: bool, wait: Wait, path: &Path, verbose: bool) -> Result<()> {
    // The common case, a free lock, costs one system call.
    if try_lock(file, shared)? {
        return Ok(());
    }
    let holder = || holder::describe_holders(path, file);
    let held = || match holder() {
        who if who.is_empty() => String::new(),
        who => format!(", held{who}"),
    };
    // Whom we wait for, on a terminal (a cron job's log stays as flock's).
    let tell = verbose || io::stderr().is_terminal();
    match wait {
        Wait::No => Err(Busy(format!("already locked{}", holder())).into()),
        Wait::Forever => {
            if tell {
                eprintln!(
                    "fkit: lock: {}: waiting for the lock{}",
                    path.display(),
                    held()
                );
            }
            lock_blocking(file, shared).map_err(Into::into)
        }
        Wait::For(limit) => {
            if tell {
                eprintln!(
                    "fkit: lock: {}: waiting up to {:.3}s for the lock{}",
                    path.display(),
                    limit.as_secs_f64(),
                    held()
                );
            }
            // The blocking flock runs on a thread so the wait can end on
            // time; if it ends first, fkit exits and the kernel drops
            // whatever that thread got.
            let waiter = file.try_clone()?;
            let (tx, rx) = crossbeam_channel::bounded(1);
            std::thread::spawn(move || {
                let _ = tx.send(lock_blocking(&waiter, shared));
            });
            match rx.recv_timeout(limit) {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(Busy(format!(
                    "timed out after {:.3}s; locked{}",
                    limit.as_secs_f64(),
                    holder()
                ))
                .into()),
            }
        }
    }
}

/// `fkit lock [-s|-x|-u] [-n|-w S] FD`: lock a descriptor the shell opened
/// (`9>file`); the lock outlives fkit because it belongs to the open file.
fn lock_descriptor(args: &Args, wait: Wait) -> Result<()> {
    let text = args.lockfile.to_string_lossy();
    let Ok(fd) = text.parse::<i32>() else {
        return Err(Exit::usage(format!(
            "{text}: a COMMAND (or -c) is needed, unless LOCKFILE is a file descriptor number"
        ))
        .into());
    };
    #[cfg(unix)]
    {
        use std::os::unix::io::FromRawFd;
        // SAFETY: F_GETFD reads a descriptor's flags and touches no memory;
        // for a number that is not an open descriptor it fails with EBADF.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            return Err(anyhow::Error::new(io::Error::last_os_error())
                .context(format!("{fd}: bad file descriptor")));
        }
        // Borrowed, not owned: closing it here would drop the shell's lock.
        // SAFETY: `fd` is open (checked above) and stays open while fkit
        // runs: nothing else in fkit closes a descriptor it did not open,
        // and ManuallyDrop keeps this File from closing it.
        let file = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
        if args.unlock {
            return file
                .unlock()
                .with_context(|| format!("{fd}: cannot unlock"));
        }
        let path = PathBuf::from(format!("/proc/self/fd/{fd}"));
        acquire(&file, args.shared, wait, &path, args.verbose).map_err(|e| {
            match e.downcast_ref::<Busy>() {
                Some(busy) => {
                    Exit::with(args.conflict_exit_code.into(), format!("{fd}: {busy}")).into()
                }
                None => e.context(format!("{fd}")),
            }
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (fd, wait);
        Err(Exit::usage("the file descriptor form needs a Unix system").into())
    }
}

#[cfg(unix)]
fn inherit(file: &File) {
    use rustix::io::{FdFlags, fcntl_getfd, fcntl_setfd};
    if let Ok(flags) = fcntl_getfd(file) {
        let _ = fcntl_setfd(file, flags - FdFlags::CLOEXEC);
    }
}

fn cannot_run(e: io::Error, program: &OsString) -> anyhow::Error {
    // The shell's codes, which flock(1) uses too.
    let code = if e.kind() == io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    let reason = if code == 127 {
        "command not found".to_string()
    } else {
        e.to_string()
    };
    Exit::with(code, format!("{}: {reason}", program.to_string_lossy())).into()
}

#[cfg(unix)]
fn exec(mut command: Command, program: &OsString) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    cannot_run(command.exec(), program)
}

#[cfg(not(unix))]
fn exec(mut command: Command, program: &OsString) -> anyhow::Error {
    // No exec(2): run it and pass its status on.
    match Child::spawn(&mut command).map(Child::wait) {
        Ok(Ok(code)) => Exit::silent(code).into(),
        Ok(Err(e)) => anyhow::Error::new(e).context("waiting for the command"),
        Err(e) => cannot_run(e, program),
    }
}
