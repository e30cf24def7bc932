//! Who holds a lock: the record a holder writes into the lock file, the
//! kernel's list of flock holders (/proc/locks, on Linux), and `--check`,
//! which puts the two together.

use super::try_lock;
use crate::io::at::{read_at, write_all_at};
use crate::io::time::rfc3339;
use crate::io::{Exit, Output};
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Who holds a lock, as written into the lock file by the holder.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub(super) struct HolderRecord {
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
    pub(super) fn write(file: &File, program: &[OsString]) -> bool {
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
    pub(super) fn clear(file: &File) {
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
    // (What gethostname(2) returns: the node name.)
    #[cfg(unix)]
    return rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    #[cfg(not(unix))]
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown".into())
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
        let (major, minor) = (rustix::fs::major(dev), rustix::fs::minor(dev));
        parse_proc_locks(&locks, major.into(), minor.into(), meta.ino())
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
#[cfg(any(target_os = "linux", test))]
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

#[cfg(target_os = "linux")]
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
        use rustix::io::Errno;
        use rustix::process::{Pid, test_kill_process};
        let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            return false;
        };
        // EPERM: it is there, only not ours to signal.
        matches!(test_kill_process(pid), Ok(()) | Err(Errno::PERM))
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
pub(super) fn describe_holders(path: &Path, file: &File) -> String {
    lock_state(path, file, true, None).describe()
}

/// `--check`: free or held, and by whom, without waiting or creating.
pub(super) fn check(path: &Path, json: bool) -> Result<()> {
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
                let _ = file.unlock();
                (false, None)
            } else if try_lock(&file, true).with_context(|| name.clone())? {
                // Others share it; drop ours so we are not listed among them.
                let _ = file.unlock();
                (true, Some("shared"))
            } else {
                (true, Some("exclusive"))
            };
            lock_state(path, &file, held, mode)
        }
    };
    let mut out = Output::stdout().create()?;
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
    out.finish()?;
    match state.held {
        false => Ok(()),
        true => Err(Exit::silent(1).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
