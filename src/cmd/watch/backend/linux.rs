//! Linux: inotify read directly, in the thread that prints.
//!
//! One thread does a blocking read(2) of the inotify descriptor, turns each
//! event into a `Change`, and prints what a batch of events yields with one
//! write(2): one wake-up between the kernel and stdout, as in inotifywait.
//! It asks the kernel only for the events the chosen kinds need, and keeps
//! its own map from watch descriptors to paths, renamed along with the
//! directories, so that a path is never reported under a stale name.

use super::{Backend, Core, News, Watches, instance_limit, is_watch_limit, lock, watch_limit};
use crate::cmd::watch::events::{Change, Tracker, WatchEvent, WatchOp, rebase};
use crate::cmd::watch::kind::Kind;
use crate::cmd::watch::scope::{Scope, shown};
use anyhow::{Context, Result};
use clap::ValueEnum;
use crossbeam_channel::Sender;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fs::inotify;
use rustix::io::Errno;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Watch descriptor to directory: looked up for every event.
type Dirs = std::collections::HashMap<i32, PathBuf, foldhash::fast::RandomState>;

/// inotify, read on a thread of its own that handles and prints what it
/// reads, and keeps its own time for what waits for a quiet moment: the
/// main thread has nothing to do for it.
pub(in crate::cmd::watch) struct Reader;

impl Reader {
    /// Watch the roots; from then on changes are handled and printed on
    /// the reader's thread, which sends its news to `tx`.
    pub(in crate::cmd::watch) fn start(
        scope: Arc<Scope>,
        core: Arc<Mutex<Core>>,
        tx: Sender<News<Infallible>>,
    ) -> Result<Reader> {
        // A blocking descriptor: the reader sleeps in read(2) itself.
        let fd = inotify::init(inotify::CreateFlags::CLOEXEC).map_err(|e| match e {
            Errno::MFILE => instance_limit(),
            _ => anyhow::Error::new(io::Error::from(e)).context("inotify"),
        })?;
        // fkit's own listing of the roots would be reported as opens and
        // reads of them: those kinds are asked for once it is done.
        let mask = mask_for(&scope);
        let reads = libc::IN_OPEN | libc::IN_ACCESS | libc::IN_CLOSE_NOWRITE;
        let mut inotify = Inotify {
            fd,
            mask: mask & !reads,
            dirs: Dirs::default(),
            wds: BTreeMap::new(),
        };
        inotify.add_roots(&scope, &core)?;
        if mask & reads != 0 {
            inotify.mask = mask;
            let dirs: Vec<PathBuf> = inotify.wds.keys().cloned().collect();
            for dir in dirs {
                match inotify.add(&scope, &dir) {
                    Err(e) if is_watch_limit(&e) => return Err(e),
                    _ => {} // gone since: its parent's events tell
                }
            }
        }
        std::thread::Builder::new()
            .name("inotify".into())
            .spawn(move || {
                if let Err(e) = read_changes(inotify, &scope, &core, &tx) {
                    let _ = tx.send(News::Fail(e));
                }
            })
            .context("cannot start the inotify reader")?;
        Ok(Reader)
    }
}

impl Backend for Reader {
    type Errand = Infallible;

    fn run_errand(&mut self, errand: Infallible) -> Result<bool> {
        match errand {}
    }

    fn wake_within(&self) -> Option<Duration> {
        None
    }

    fn idle(&mut self) -> Result<bool> {
        Ok(false)
    }
}

/// The kernel events the chosen kinds need, and no more: each one asked
/// for but not reported would still cost a wake-up.
fn mask_for(scope: &Scope) -> u32 {
    let moves = libc::IN_MOVED_FROM | libc::IN_MOVED_TO;
    // A watched directory's own end is always news.
    let mut mask = libc::IN_DELETE_SELF | libc::IN_MOVE_SELF;
    if scope.recursive {
        // New and moved directories, to keep the watches and names right.
        mask |= libc::IN_CREATE | moves;
    }
    let asked = Kind::value_variants().iter().copied();
    for kind in asked.filter(|&k| scope.kinds.contains(k)) {
        mask |= match kind {
            Kind::Create => libc::IN_CREATE | moves,
            // Creates, removes and moves keep the known files right, so
            // that a rename over one is told apart as an editor's save;
            // a close ends a write session.
            Kind::Modify => {
                libc::IN_MODIFY | libc::IN_CLOSE_WRITE | libc::IN_CREATE | libc::IN_DELETE | moves
            }
            Kind::Remove => libc::IN_DELETE | moves,
            Kind::Rename => moves,
            Kind::Attrib => libc::IN_ATTRIB,
            Kind::CloseWrite => libc::IN_CLOSE_WRITE,
            Kind::Access => libc::IN_ACCESS,
            Kind::Open => libc::IN_OPEN,
            Kind::CloseNowrite => libc::IN_CLOSE_NOWRITE,
            // The kernel tells of an overflow unasked.
            Kind::Overflow => 0,
        };
    }
    mask
}

/// The inotify descriptor and its watches.
struct Inotify {
    fd: OwnedFd,
    mask: u32,
    /// Each watch's directory, as the user would write it.
    dirs: Dirs,
    /// The same by path, to find the watches under a moved or removed
    /// directory.
    wds: BTreeMap<PathBuf, i32>,
}

impl Watches for Inotify {
    fn add(&mut self, scope: &Scope, dir: &Path) -> Result<()> {
        let target = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let mut mask = self.mask;
        // A root (or a watched file's directory) may be a symlink to follow;
        // a directory found below a root is taken as it is (a symlink there
        // is not descended into), and must still be one when watched.
        let given = scope.roots.iter().any(|r| r.watched_dir() == dir);
        if !given {
            mask |= libc::IN_DONT_FOLLOW | libc::IN_ONLYDIR;
        }
        let flags = inotify::WatchFlags::from_bits_retain(mask);
        let wd = inotify::add_watch(&self.fd, target, flags).map_err(|e| match e {
            Errno::NOSPC => watch_limit(target),
            _ => anyhow::Error::new(io::Error::from(e)).context(shown(target)),
        })?;
        // The kernel hands back the same descriptor for a directory watched
        // already (reached by a second path): the newest name wins.
        if let Some(old) = self.dirs.insert(wd, dir.to_path_buf()) {
            self.forget_path(&old, wd);
        }
        self.wds.insert(dir.to_path_buf(), wd);
        Ok(())
    }
}

impl Inotify {
    /// Drop the watches at and under `dir`.
    fn remove_tree(&mut self, dir: &Path) {
        for (path, wd) in under_map(&self.wds, dir) {
            // A watch the kernel dropped already only fails with EINVAL.
            let _ = inotify::remove_watch(&self.fd, wd);
            self.wds.remove(&path);
            self.dirs.remove(&wd);
        }
    }

    /// A watched directory was renamed: its watches (the kernel keeps them,
    /// they follow the inode) and those under it take the new name.
    fn rename(&mut self, from: &Path, to: &Path) -> bool {
        let moved = under_map(&self.wds, from);
        for (path, _) in &moved {
            self.wds.remove(path);
        }
        for (path, wd) in &moved {
            let new = rebase(path, from, to);
            self.dirs.insert(*wd, new.clone());
            self.wds.insert(new, *wd);
        }
        !moved.is_empty()
    }

    /// The kernel dropped watch `wd` (its directory is gone).
    fn forget(&mut self, wd: i32) {
        if let Some(path) = self.dirs.remove(&wd) {
            self.forget_path(&path, wd);
        }
    }

    fn forget_path(&mut self, path: &Path, wd: i32) {
        // Unless another watch has the name by now (a directory renamed
        // over this one).
        if self.wds.get(path) == Some(&wd) {
            self.wds.remove(path);
        }
    }

    /// One kernel event as a `Change`, or None for what is not news.
    fn change(&mut self, scope: &Scope, raw: &RawEvent) -> Option<Change> {
        if raw.mask & libc::IN_Q_OVERFLOW != 0 {
            return Some(Change::Overflow);
        }
        if raw.mask & libc::IN_IGNORED != 0 {
            self.forget(raw.wd);
            return None;
        }
        let dir = self.dirs.get(&raw.wd)?; // a watch dropped already
        let is_dir = raw.mask & libc::IN_ISDIR != 0;
        if raw.name.is_empty() {
            // About the watched directory itself.
            let path = dir.clone();
            return match raw.mask {
                m if m & (libc::IN_DELETE_SELF | libc::IN_UNMOUNT) != 0 => {
                    // Below a root, its parent's IN_DELETE tells.
                    let is_dir = true;
                    scope
                        .is_root_dir(&path)
                        .then_some(Change::Removed { path, is_dir })
                }
                m if m & libc::IN_MOVE_SELF != 0 => Some(Change::SelfMoved(path)),
                m => noticed(m).map(|kind| Change::Noticed {
                    kind,
                    path,
                    is_dir: true,
                }),
            };
        }
        let path = child(dir, raw.name);
        let m = raw.mask;
        Some(if m & libc::IN_CREATE != 0 {
            Change::Created { path, is_dir }
        } else if m & libc::IN_MODIFY != 0 {
            Change::Modified(path)
        } else if m & libc::IN_CLOSE_WRITE != 0 {
            Change::ClosedWrite(path)
        } else if m & libc::IN_MOVED_FROM != 0 {
            Change::MovedFrom {
                path,
                cookie: raw.cookie as usize,
                is_dir,
            }
        } else if m & libc::IN_MOVED_TO != 0 {
            Change::MovedTo {
                path,
                cookie: Some(raw.cookie as usize),
                is_dir,
            }
        } else if m & libc::IN_DELETE != 0 {
            Change::Removed { path, is_dir }
        } else {
            Change::Noticed {
                kind: noticed(m)?,
                path,
                is_dir,
            }
        })
    }

    /// Do what the changes handled asked of the watches.
    fn apply(
        &mut self,
        tracker: &mut Tracker,
        scope: &Scope,
        out: &mut Vec<WatchEvent>,
    ) -> Result<()> {
        for op in tracker.take_ops() {
            match op {
                WatchOp::New(dir) => match self.add_tree(scope, &dir) {
                    Ok(found) => tracker.found_in_new_dir(scope, found, out),
                    Err(e) if is_watch_limit(&e) => return Err(e),
                    Err(_) => {} // gone again already
                },
                WatchOp::Moved { from, to } => {
                    if !self.rename(&from, &to) {
                        // Not watched under its old name (it was ignored):
                        // watch it now.
                        self.moved_in(tracker, scope, &to)?;
                    }
                }
                WatchOp::MovedIn(dir) => self.moved_in(tracker, scope, &dir)?,
                WatchOp::Gone(path) => self.remove_tree(&path),
                WatchOp::Rescan => self.rescan(tracker, scope, out)?,
            }
        }
        Ok(())
    }

    /// After lost events: walk the roots again. The kernel hands back the
    /// watch a directory has already (so its name is made right again, if
    /// a rename was lost), new directories get one, and the watches of
    /// directories no longer found are dropped.
    fn rescan(
        &mut self,
        tracker: &mut Tracker,
        scope: &Scope,
        out: &mut Vec<WatchEvent>,
    ) -> Result<()> {
        let (dirs, wds) = (
            std::mem::take(&mut self.dirs),
            std::mem::take(&mut self.wds),
        );
        tracker.forget_all_files();
        for root in &scope.roots {
            let dir = root.watched_dir();
            if !wds.contains_key(dir) {
                continue; // reported gone already
            }
            let found = match root.is_dir {
                true => self.add_tree(scope, dir),
                false => self
                    .add(scope, dir)
                    .map(|()| vec![(root.path.clone(), false)]),
            };
            match found {
                Ok(found) => tracker.known(found),
                Err(e) if is_watch_limit(&e) => return Err(e),
                // Its end was among the lost events.
                Err(_) if root.is_dir => {
                    let gone = Change::Removed {
                        path: root.path.clone(),
                        is_dir: true,
                    };
                    tracker.handle(gone, scope, out)
                }
                Err(_) => {}
            }
        }
        for wd in dirs.keys().filter(|wd| !self.dirs.contains_key(wd)) {
            // (A watch dropped already: see remove_tree.)
            let _ = inotify::remove_watch(&self.fd, *wd);
        }
        Ok(())
    }

    fn moved_in(&mut self, tracker: &mut Tracker, scope: &Scope, dir: &Path) -> Result<()> {
        match self.add_tree(scope, dir) {
            Ok(found) => tracker.known(found),
            Err(e) if is_watch_limit(&e) => return Err(e),
            Err(_) => {}
        }
        Ok(())
    }
}

/// The kind of an event reported as it is (see `Change::Noticed`).
fn noticed(mask: u32) -> Option<Kind> {
    Some(match mask {
        m if m & libc::IN_ATTRIB != 0 => Kind::Attrib,
        m if m & libc::IN_ACCESS != 0 => Kind::Access,
        m if m & libc::IN_OPEN != 0 => Kind::Open,
        m if m & libc::IN_CLOSE_NOWRITE != 0 => Kind::CloseNowrite,
        _ => return None,
    })
}

/// `dir/name` with one allocation (Path::join copies, then grows).
fn child(dir: &Path, name: &[u8]) -> PathBuf {
    let dir = dir.as_os_str().as_bytes();
    let mut path = Vec::with_capacity(dir.len() + 1 + name.len());
    path.extend_from_slice(dir);
    if !dir.is_empty() && !dir.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    PathBuf::from(OsString::from_vec(path))
}

/// Entries at and under `dir` in `map`.
fn under_map<V: Copy>(map: &BTreeMap<PathBuf, V>, dir: &Path) -> Vec<(PathBuf, V)> {
    map.range(dir.to_path_buf()..)
        .take_while(|(p, _)| p.starts_with(dir))
        .map(|(p, v)| (p.clone(), *v))
        .collect()
}

/// One `struct inotify_event` in the read buffer.
struct RawEvent<'a> {
    wd: i32,
    mask: u32,
    cookie: u32,
    /// The name within the watched directory; empty for the directory itself.
    name: &'a [u8],
}

/// The events in `buf` (what one read(2) returned).
fn raw_events(buf: &[u8]) -> impl Iterator<Item = RawEvent<'_>> {
    const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
    let word = |b: &[u8], at: usize| [b[at], b[at + 1], b[at + 2], b[at + 3]];
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.len() < HEADER {
            return None;
        }
        let len = u32::from_ne_bytes(word(rest, 12)) as usize;
        let end = (HEADER + len).min(rest.len());
        // The name is padded with NULs to an aligned length.
        let name = &rest[HEADER..end];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        let event = RawEvent {
            wd: i32::from_ne_bytes(word(rest, 0)),
            mask: u32::from_ne_bytes(word(rest, 4)),
            cookie: u32::from_ne_bytes(word(rest, 8)),
            name,
        };
        rest = &rest[end..];
        Some(event)
    })
}

/// The reader's loop: sleep in read(2) until the kernel has events, handle
/// them all, print what they yield at once.
fn read_changes(
    mut inotify: Inotify,
    scope: &Scope,
    core: &Mutex<Core>,
    tx: &Sender<News<Infallible>>,
) -> Result<()> {
    // Room for a few thousand events: a burst is handled, and printed, in
    // few reads and writes.
    let mut buf = vec![0u8; 256 * 1024];
    let mut events = Vec::new();
    // How long to wait for a quiet moment, if something waits for one.
    let mut quiet_after: Option<Duration> = None;
    loop {
        if let Some(wait) = quiet_after.take()
            && !readable(&inotify.fd, wait)?
        {
            let mut core = lock(core);
            let tracker = &mut core.tracker;
            tracker.now = SystemTime::now();
            tracker.quiet(scope, &mut events);
            let applied = inotify.apply(tracker, scope, &mut events);
            core.publish(&mut events, tx)?;
            applied?;
            continue;
        }
        let n = match rustix::io::read(&inotify.fd, &mut buf[..]) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => {
                return Err(
                    anyhow::Error::new(io::Error::from(e)).context("reading inotify events")
                );
            }
        };
        let mut core = lock(core);
        let tracker = &mut core.tracker;
        tracker.now = SystemTime::now();
        let mut applied = Ok(());
        for raw in raw_events(&buf[..n]) {
            if let Some(change) = inotify.change(scope, &raw) {
                tracker.handle(change, scope, &mut events);
                // At once: the next event's path may depend on it.
                applied = inotify.apply(tracker, scope, &mut events);
                if applied.is_err() {
                    break;
                }
            }
        }
        // What was seen is out before an error ends the watch.
        core.publish(&mut events, tx)?;
        applied?;
        quiet_after = if core.tracker.rename_pending() {
            // The second half of a rename comes with its first half, or not
            // at all (a move out of sight).
            Some(Duration::from_millis(2))
        } else if core.tracker.scan_pending() {
            // Creates a scan reported may still come as events: see Tracker::quiet.
            Some(Duration::from_millis(50))
        } else {
            None
        };
    }
}

/// Wait up to `wait` for events; true if some came.
fn readable(fd: &OwnedFd, wait: Duration) -> Result<bool> {
    let wait = wait.max(Duration::from_millis(1));
    let timeout = Timespec::try_from(wait).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    });
    loop {
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(n) => return Ok(n > 0),
            Err(Errno::INTR) => {}
            Err(e) => {
                return Err(
                    anyhow::Error::new(io::Error::from(e)).context("waiting for inotify events")
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::watch::scope::tests::scope;

    fn raw(wd: i32, mask: u32, cookie: u32, name: &str) -> Vec<u8> {
        let mut b = Vec::new();
        let padded = if name.is_empty() {
            0
        } else {
            (name.len() + 1).next_multiple_of(16)
        };
        b.extend_from_slice(&wd.to_ne_bytes());
        b.extend_from_slice(&mask.to_ne_bytes());
        b.extend_from_slice(&cookie.to_ne_bytes());
        b.extend_from_slice(&(padded as u32).to_ne_bytes());
        b.extend_from_slice(name.as_bytes());
        b.resize(16 + padded, 0);
        b
    }

    #[test]
    fn events_are_parsed_from_the_read_buffer() {
        let mut buf = raw(1, libc::IN_CREATE, 0, "a.txt");
        buf.extend(raw(2, libc::IN_DELETE_SELF, 0, ""));
        buf.extend(raw(1, libc::IN_MOVED_FROM, 77, "a-long-name-past-sixteen"));
        let got: Vec<_> = raw_events(&buf)
            .map(|e| (e.wd, e.mask, e.cookie, e.name.to_vec()))
            .collect();
        assert_eq!(
            got,
            [
                (1, libc::IN_CREATE, 0, b"a.txt".to_vec()),
                (2, libc::IN_DELETE_SELF, 0, Vec::new()),
                (
                    1,
                    libc::IN_MOVED_FROM,
                    77,
                    b"a-long-name-past-sixteen".to_vec()
                ),
            ]
        );
    }

    #[test]
    fn only_the_needed_events_are_asked_for() {
        let mut s = scope("w", &[], &[]);
        s.recursive = false;
        s.kinds = [Kind::Attrib].into_iter().collect();
        assert_eq!(
            mask_for(&s),
            libc::IN_ATTRIB | libc::IN_DELETE_SELF | libc::IN_MOVE_SELF
        );
        s.kinds = [Kind::Modify].into_iter().collect();
        let m = mask_for(&s);
        assert_eq!(m & (libc::IN_OPEN | libc::IN_ACCESS | libc::IN_ATTRIB), 0);
        assert_ne!(m & libc::IN_MODIFY, 0);
    }

    #[test]
    fn renamed_directories_keep_their_watches_under_the_new_name() {
        let s = scope("w", &[], &[]);
        let fd = inotify::init(inotify::CreateFlags::CLOEXEC).expect("inotify_init1");
        let mut w = Inotify {
            fd,
            mask: 0,
            dirs: Dirs::default(),
            wds: BTreeMap::new(),
        };
        for (wd, path) in [(1, "w"), (2, "w/a"), (3, "w/a/b"), (4, "w/ab")] {
            w.dirs.insert(wd, path.into());
            w.wds.insert(path.into(), wd);
        }
        assert!(w.rename(Path::new("w/a"), Path::new("w/z")));
        let name = |w: &Inotify, wd| w.dirs[&wd].to_str().unwrap().to_string();
        assert_eq!(
            (name(&w, 2), name(&w, 3), name(&w, 4)),
            ("w/z".into(), "w/z/b".into(), "w/ab".into())
        );
        let created = w.change(
            &s,
            &RawEvent {
                wd: 3,
                mask: libc::IN_CREATE,
                cookie: 0,
                name: b"f",
            },
        );
        assert_eq!(
            created,
            Some(Change::Created {
                path: "w/z/b/f".into(),
                is_dir: false
            })
        );
        w.remove_tree(Path::new("w/z"));
        assert_eq!(
            w.wds.keys().collect::<Vec<_>>(),
            [Path::new("w"), Path::new("w/ab")]
        );
        assert_eq!(
            w.change(
                &s,
                &RawEvent {
                    wd: 3,
                    mask: libc::IN_MODIFY,
                    cookie: 0,
                    name: b"f"
                }
            ),
            None
        );
    }
}
