//! Where changes come from: the platform's way of watching directories.
//!
//! On Linux fkit reads inotify itself (`linux.rs`), in the thread that
//! prints; elsewhere (macOS, Windows, the BSDs) it uses the notify crate
//! (`portable.rs`). Either way a backend turns what it sees into `Change`s,
//! hands them to the shared [`Tracker`] and delivers the events they yield
//! on a thread of its own; the main thread keeps the time (--debounce,
//! --exec, --once, --timeout, signals) and sees the backend only through
//! [`Backend`].

use super::events::{Tracker, WatchEvent};
use super::report::Reporter;
use super::scope::Scope;
use super::scope::shown;
use anyhow::Result;
use crossbeam_channel::Sender;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

#[cfg(target_os = "linux")]
mod linux;
// Also built for the tests on Linux, so that it keeps compiling.
mod poll;
#[cfg(any(not(target_os = "linux"), test))]
mod portable;

pub(super) use poll::Poll;

/// This platform's backend: the one place the choice is made.
#[cfg(target_os = "linux")]
pub(super) type Platform = linux::Reader;
#[cfg(not(target_os = "linux"))]
pub(super) type Platform = portable::Notify;

/// A backend, as the main thread sees it. (Each starts in its own way:
/// the kernel's backends with `start(scope, core, tx)`, from then on
/// handling and delivering changes on a thread of their own that sends
/// its news to `tx`; polling with its interval.)
pub(super) trait Backend: Sized {
    /// Work the backend's thread hands to the main thread.
    type Errand: Send + 'static;

    /// Do an errand; true if events were delivered.
    fn run_errand(&mut self, errand: Self::Errand) -> Result<bool>;

    /// How long the main thread may sleep, at most, before `idle` is due.
    fn wake_within(&self) -> Option<Duration>;

    /// No news came for a while; true if events were delivered.
    fn idle(&mut self) -> Result<bool>;
}

/// News from the backend's thread for the main thread.
pub(super) enum News<E> {
    /// Something was reported or gathered (for --debounce, --exec, --once).
    Activity,
    /// Work that only the main thread may do. (None on Linux, where the
    /// reader does all its work itself.)
    #[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))]
    Errand(E),
    /// The watch cannot go on.
    Fail(anyhow::Error),
}

/// Everything the backend's thread and the main thread share, behind one
/// lock: what the changes mean, and where the events go.
pub(super) struct Core {
    pub(super) tracker: Tracker,
    pub(super) reporter: Reporter,
}

impl Core {
    /// Print events, or gather them; true if anything happened.
    fn deliver(&mut self, events: &[WatchEvent]) -> Result<bool> {
        self.reporter.deliver(events, self.tracker.now)
    }

    /// Deliver `events` (emptied after) and tell the main thread if it has
    /// something to do about them.
    fn publish<E>(&mut self, events: &mut Vec<WatchEvent>, tx: &Sender<News<E>>) -> Result<()> {
        let delivered = self.deliver(events);
        events.clear();
        if delivered? && self.reporter.wakes_main_thread() {
            let _ = tx.send(News::Activity);
        }
        Ok(())
    }
}

pub(super) fn lock(core: &Mutex<Core>) -> MutexGuard<'_, Core> {
    // A panic on the backend's thread would abort (panic = "abort"), so the
    // lock cannot be poisoned in practice; take it anyway if it were.
    core.lock().unwrap_or_else(|e| e.into_inner())
}

/// A backend's watches, as the walks that add them see them.
trait Watches {
    /// Watch the directory `dir` (not what is under it).
    fn add(&mut self, scope: &Scope, dir: &Path) -> Result<()>;

    /// Watch `dir` and, with -r, every directory under it that is not
    /// ignored; returns the entries seen on the way (path, is a directory).
    fn add_tree(&mut self, scope: &Scope, dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
        self.add(scope, dir)?;
        let mut found = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let listing = if dir.as_os_str().is_empty() {
                std::fs::read_dir(".")
            } else {
                std::fs::read_dir(&dir)
            };
            let Ok(entries) = listing else {
                continue; // gone already, or unreadable: nothing to watch
            };
            for entry in entries.flatten() {
                let path = dir.join(entry.file_name());
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if scope.ignored(&path, is_dir) {
                    continue;
                }
                if is_dir && scope.recursive {
                    match self.add(scope, &path) {
                        Ok(()) => stack.push(path.clone()),
                        Err(e) if is_watch_limit(&e) => return Err(e),
                        Err(_) => continue, // removed while we looked
                    }
                }
                found.push((path, is_dir));
            }
        }
        Ok(found)
    }

    /// Watch the roots (a file through its directory: its inode changes
    /// on a save), and let the tracker know the files found.
    fn add_roots(&mut self, scope: &Scope, core: &Mutex<Core>) -> Result<()> {
        for root in &scope.roots {
            let found = if root.is_dir {
                self.add_tree(scope, &root.path)?
            } else {
                self.add(scope, root.watched_dir())?;
                vec![(root.path.clone(), false)]
            };
            lock(core).tracker.known(found);
        }
        Ok(())
    }
}

fn is_watch_limit(e: &anyhow::Error) -> bool {
    e.to_string().contains("max_user_watches")
}

/// The kernel refused one more watch (inotify's ENOSPC).
fn watch_limit(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: the inotify watch limit is reached; raise it with \
         `sudo sysctl fs.inotify.max_user_watches=524288` (now {}), or watch less (--ignore, --gitignore)",
        shown(path),
        std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "?".into())
    )
}

/// The kernel refused one more inotify instance (EMFILE).
fn instance_limit() -> anyhow::Error {
    anyhow::anyhow!(
        "too many inotify instances; raise `sudo sysctl fs.inotify.max_user_instances=1024`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_limit_names_the_sysctl() {
        let e = watch_limit(Path::new("src"));
        let text = e.to_string();
        assert!(
            text.starts_with("src: the inotify watch limit is reached"),
            "{text}"
        );
        assert!(
            text.contains("sysctl fs.inotify.max_user_watches="),
            "{text}"
        );
        assert!(is_watch_limit(&e));
    }
}
