//! `fkit lock`: run a command while holding an advisory lock (flock(1)),
//! and say who holds a lock.

use crate::cmd::temp::exit_code_of;
use crate::io::at::{read_at, write_all_at};
use crate::io::{Exit, signal};
use anyhow::{Context, Result};
use fs2::FileExt;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
        return check(&args.lockfile, args.json);
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
    let held = signal::hold();
    let status = command
        .spawn()
        .map_err(|e| cannot_run(e, &program[0]))
        .and_then(|mut child| {
            signal::forward_to(child.id());
            drop(held);
            let status = child.wait();
            signal::stop_forwarding();
            status.context("waiting for the command")
        });
    if record {
        HolderRecord::clear(&file.file);
    }
    // Closing the file (when `file` drops) releases the lock.
    match exit_code_of(status?) {
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
                || e.raw_os_error() == Some(libc::EROFS) =>
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

fn try_lock(file: &File, shared: bool) -> io::Result<bool> {
    let result = if shared {
        FileExt::try_lock_shared(file)
    } else {
        FileExt::try_lock_exclusive(file)
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == fs2::lock_contended_error().kind() => Ok(false),
        Err(e) => Err(e),
    }
}

fn lock_blocking(file: &File, shared: bool) -> io::Result<()> {
    loop {
        let result = if shared {
            FileExt::lock_shared(file)
        } else {
            FileExt::lock_exclusive(file)
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
    let holder = || describe_holders(path, file);
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
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            return Err(anyhow::Error::new(io::Error::last_os_error())
                .context(format!("{fd}: bad file descriptor")));
        }
        // Borrowed, not owned: closing it here would drop the shell's lock.
        let file = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
        if args.unlock {
            return FileExt::unlock(&*file).with_context(|| format!("{fd}: cannot unlock"));
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
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags != -1 {
            libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        }
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
    match command.status() {
        Ok(status) => Exit::silent(exit_code_of(status)).into(),
        Err(e) => cannot_run(e, program),
    }
}

/// Who holds a lock, as written into the lock file by the holder.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
struct HolderRecord {
    fkit_lock: u32,
    pid: u32,
    host: String,
    command: String,
    /// Seconds since the Unix epoch.
    since: f64,
}

/// The first bytes of a holder record; a lock file that starts otherwise
/// (and is not empty) is the user's data and never written to.
const RECORD_MAGIC: &[u8] = b"{\"fkit_lock\":";

/// The value after [`RECORD_MAGIC`] once the holder has released the lock.
const RELEASED: &[u8] = b"0";

/// A longer lock file is rewritten whole (and shortened) rather than padded.
const MAX_RECORD: usize = 4096;

impl HolderRecord {
    /// Write our record if the lock file is empty or holds an old record.
    fn write(file: &File, program: &[OsString]) -> bool {
        let Ok(meta) = file.metadata() else {
            return false;
        };
        if !meta.is_file() || (meta.len() > 0 && !starts_with_magic(file)) {
            return false;
        }
        let command = program
            .iter()
            .map(|w| w.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        let record = HolderRecord {
            fkit_lock: 1,
            pid: std::process::id(),
            host: hostname(),
            command,
            since: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        };
        let Ok(mut line) = serde_json::to_vec(&record) else {
            return false;
        };
        // Overwrite the last holder's record in place, padded to its length
        // with spaces (JSON allows them), so the file never changes size:
        // growing and truncating it on every run made ext4 journal a block
        // allocation and an orphan-list update, a fifth of `fkit lock F
        // true`'s time.
        let old = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        if old > line.len() && old <= MAX_RECORD {
            line.resize(old - 1, b' ');
        }
        line.push(b'\n');
        let written = write_all_at(file, &line, 0).is_ok();
        if written && old > line.len() {
            let _ = file.set_len(line.len() as u64);
        }
        written
    }

    /// Mark the record released before the lock is: `"fkit_lock":1`
    /// becomes `"fkit_lock":0`, one byte written in place. The line stays
    /// as the last holder's, and is no longer read as a holder.
    fn clear(file: &File) {
        let _ = write_all_at(file, RELEASED, RECORD_MAGIC.len() as u64);
    }

    fn read(path: &Path) -> Option<HolderRecord> {
        let mut text = Vec::with_capacity(512);
        File::open(path)
            .ok()?
            .take(64 * 1024)
            .read_to_end(&mut text)
            .ok()?;
        if !text.starts_with(RECORD_MAGIC) {
            return None;
        }
        let line = text.split(|&b| b == b'\n').next()?;
        let record: HolderRecord = serde_json::from_slice(line).ok()?;
        // 0: the line of a holder that has released the lock.
        (record.fkit_lock != 0).then_some(record)
    }

    fn describe(&self) -> String {
        format!(
            "pid {} on {} ({}), since {}",
            self.pid,
            self.host,
            self.command,
            rfc3339(self.since)
        )
    }
}

fn starts_with_magic(file: &File) -> bool {
    let mut head = [0u8; 16];
    match read_at(file, &mut head, 0) {
        Ok(n) => head[..n].starts_with(RECORD_MAGIC),
        Err(_) => false,
    }
}

fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".into())
}

/// A process that holds the lock, as the kernel sees it (/proc/locks).
#[derive(serde::Serialize, Debug)]
struct LockHolder {
    pid: u32,
    mode: &'static str,
    command: Option<String>,
}

/// Holders of the flock on `file` (Linux; empty elsewhere).
fn kernel_holders(file: &File) -> Vec<LockHolder> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let (Ok(meta), Ok(locks)) = (file.metadata(), std::fs::read_to_string("/proc/locks"))
        else {
            return Vec::new();
        };
        let dev = meta.dev();
        let (major, minor) = (libc::major(dev), libc::minor(dev));
        parse_proc_locks(&locks, major as u64, minor as u64, meta.ino())
            .into_iter()
            .filter(|&(pid, _)| pid != std::process::id())
            .map(|(pid, mode)| LockHolder {
                pid,
                mode,
                command: process_command(pid),
            })
            .collect()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        Vec::new()
    }
}

/// `(pid, mode)` of the granted FLOCK locks on one inode, from the text of
/// /proc/locks: `1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`
/// (waiters are the lines with `->`).
fn parse_proc_locks(text: &str, major: u64, minor: u64, ino: u64) -> Vec<(u32, &'static str)> {
    let mut holders = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace().skip(1);
        if fields.next() != Some("FLOCK") {
            continue; // POSIX/OFD locks, or a waiter (`->`)
        }
        let (Some(_), Some(mode), Some(pid), Some(id)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let mut parts = id.split(':');
        let (Some(ma), Some(mi), Some(i)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let same = u64::from_str_radix(ma, 16).ok() == Some(major)
            && u64::from_str_radix(mi, 16).ok() == Some(minor)
            && i.parse::<u64>().ok() == Some(ino);
        if let (true, Ok(pid)) = (same, pid.parse::<u32>()) {
            let mode = if mode == "READ" {
                "shared"
            } else {
                "exclusive"
            };
            holders.push((pid, mode));
        }
    }
    holders
}

fn process_command(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words: Vec<_> = raw
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(String::from_utf8_lossy)
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Everything known about who holds the lock, for `--check`.
#[derive(serde::Serialize)]
struct LockState {
    path: String,
    held: bool,
    mode: Option<&'static str>,
    holder: Option<HolderRecord>,
    /// The recorded holder is gone (killed before it could clear its record).
    stale_record: bool,
    holders: Vec<LockHolder>,
}

impl LockState {
    fn describe(&self) -> String {
        let mut text = String::new();
        if let (Some(record), false) = (&self.holder, self.stale_record) {
            text = format!(" by {}", record.describe());
        } else if !self.holders.is_empty() {
            let who: Vec<String> = self
                .holders
                .iter()
                .map(|h| match &h.command {
                    Some(c) => format!("pid {} ({c})", h.pid),
                    // The locker exited; a process it started (which
                    // inherited the descriptor) holds the lock now.
                    None if !process_alive(h.pid) => {
                        format!(
                            "pid {} (exited; a process it started still holds it)",
                            h.pid
                        )
                    }
                    None => format!("pid {}", h.pid),
                })
                .collect();
            text = format!(" by {}", who.join(", "));
        }
        if let (Some(record), true) = (&self.holder, self.stale_record) {
            text.push_str(&format!("; stale record of {}", record.describe()));
        }
        text
    }
}

fn lock_state(path: &Path, file: &File, held: bool, mode: Option<&'static str>) -> LockState {
    let holders = if held {
        kernel_holders(file)
    } else {
        Vec::new()
    };
    let holder = HolderRecord::read(path);
    let stale_record = match &holder {
        None => false,
        // A free lock with a record: its holder was killed.
        Some(_) if !held => true,
        Some(r) if r.host == hostname() => {
            !process_alive(r.pid)
                || (!holders.is_empty() && !holders.iter().any(|h| h.pid == r.pid))
        }
        Some(_) => false,
    };
    let mode = mode.or_else(|| holders.first().map(|h| h.mode));
    LockState {
        path: path.display().to_string(),
        held,
        mode,
        holder,
        stale_record,
        holders,
    }
}

/// ` by pid … (command), since …` for messages about a busy lock.
fn describe_holders(path: &Path, file: &File) -> String {
    lock_state(path, file, true, None).describe()
}

/// `--check`: free or held, and by whom, without waiting or creating.
fn check(path: &Path, json: bool) -> Result<()> {
    let name = path.display().to_string();
    let state = match File::open(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => LockState {
            path: name.clone(),
            held: false,
            mode: None,
            holder: None,
            stale_record: false,
            holders: Vec::new(),
        },
        Err(e) => return Err(e).with_context(|| name.clone()),
        Ok(file) => {
            let (held, mode) = if try_lock(&file, false).with_context(|| name.clone())? {
                let _ = FileExt::unlock(&file);
                (false, None)
            } else if try_lock(&file, true).with_context(|| name.clone())? {
                // Others share it; drop ours so we are not listed among them.
                let _ = FileExt::unlock(&file);
                (true, Some("shared"))
            } else {
                (true, Some("exclusive"))
            };
            lock_state(path, &file, held, mode)
        }
    };
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &state)?;
        writeln!(out)?;
    } else if state.held {
        writeln!(
            out,
            "{name}: held ({}){}",
            state.mode.unwrap_or("exclusive"),
            state.describe()
        )?;
    } else {
        writeln!(out, "{name}: free{}", state.describe())?;
    }
    out.flush()?;
    match state.held {
        false => Ok(()),
        true => Err(Exit::silent(1).into()),
    }
}

/// Seconds since the epoch as `2026-01-31T12:34:56.789Z`.
pub(crate) fn rfc3339(seconds: f64) -> String {
    let millis = (seconds * 1000.0).round() as i64;
    String::from_utf8_lossy(&crate::io::time::rfc3339_millis(millis)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400.5), "2000-02-29T00:00:00.500Z");
        assert_eq!(rfc3339(1_767_225_599.999), "2025-12-31T23:59:59.999Z");
    }

    #[test]
    fn proc_locks() {
        let text = "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 4243 fd:01:1234 0 EOF\n\
                    2: FLOCK  ADVISORY  READ 17 fd:01:99 0 EOF\n\
                    3: POSIX  ADVISORY  WRITE 18 fd:01:1234 0 EOF\n\
                    4: FLOCK  ADVISORY  READ 19 08:01:1234 0 EOF\n";
        assert_eq!(
            parse_proc_locks(text, 0xfd, 1, 1234),
            vec![(4242, "exclusive")]
        );
        assert_eq!(parse_proc_locks(text, 0xfd, 1, 99), vec![(17, "shared")]);
        assert_eq!(parse_proc_locks(text, 8, 1, 1234), vec![(19, "shared")]);
    }
}
