//! The notify crate as the backend, where fkit does not read the kernel's
//! events itself (macOS, Windows, the BSDs). Built on Linux for the tests
//! only, so that it keeps compiling.
#![cfg_attr(target_os = "linux", allow(dead_code))]

use super::{Backend, Core, News, Watches, instance_limit, is_watch_limit, lock, watch_limit};
use crate::cmd::watch::events::{Change, WatchOp, under};
use crate::cmd::watch::kind::Kind;
use crate::cmd::watch::scope::{Scope, normal, shown};
use anyhow::Result;
use crossbeam_channel::Sender;
use notify::event::{
    AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RemoveKind, RenameMode,
};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// notify's watcher, and the directories it watches (so that a removed or
/// moved tree can be unwatched as a whole).
pub(in crate::cmd::watch) struct Notify {
    watcher: RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
    scope: Arc<Scope>,
    core: Arc<Mutex<Core>>,
    /// The first half of a rename waits for its second: `idle` is due soon.
    rename_pending: bool,
}

/// What notify's thread leaves to the main thread.
pub(in crate::cmd::watch) enum Errand {
    /// The first half of a rename waits for its second: look again soon.
    RenamePending,
    /// Work that needs notify's watcher, which only the main thread may
    /// call (notify's thread would wait for itself).
    Watch(WatchOp),
}

impl Notify {
    /// Watch the roots; changes are handled and printed on notify's thread,
    /// and what needs the watcher comes back to the main thread as an errand.
    pub(in crate::cmd::watch) fn start(
        scope: Arc<Scope>,
        core: Arc<Mutex<Core>>,
        tx: Sender<News<Errand>>,
    ) -> Result<Notify> {
        let handler = {
            let (core, scope) = (Arc::clone(&core), Arc::clone(&scope));
            move |msg: notify::Result<notify::Event>| {
                let event = match msg {
                    Ok(event) => event,
                    Err(e) => {
                        let _ = tx.send(News::Fail(watch_error(e, Path::new(""))));
                        return;
                    }
                };
                let mut core = lock(&core);
                core.tracker.now = SystemTime::now();
                let mut events = Vec::new();
                if let Some(change) = translate(event, &scope) {
                    core.tracker.handle(change, &scope, &mut events);
                }
                let published = core.publish(&mut events, &tx);
                let ops = core.tracker.take_ops();
                let pending = core.tracker.rename_pending();
                drop(core);
                if let Err(e) = published {
                    let _ = tx.send(News::Fail(e));
                }
                if pending {
                    let _ = tx.send(News::Errand(Errand::RenamePending));
                }
                for op in ops {
                    let _ = tx.send(News::Errand(Errand::Watch(op)));
                }
            }
        };
        let watcher = notify::recommended_watcher(handler)
            .map_err(|e| watch_error(e, Path::new("inotify")))?;
        let mut backend = Notify {
            watcher,
            watched: BTreeSet::new(),
            scope: Arc::clone(&scope),
            core: Arc::clone(&core),
            rename_pending: false,
        };
        backend.add_roots(&scope, &core)?;
        Ok(backend)
    }
}

impl Backend for Notify {
    type Errand = Errand;

    fn run_errand(&mut self, errand: Errand) -> Result<bool> {
        match errand {
            Errand::RenamePending => {
                self.rename_pending = true;
                Ok(false)
            }
            Errand::Watch(op) => self.apply(op),
        }
    }

    fn wake_within(&self) -> Option<Duration> {
        self.rename_pending.then_some(Duration::from_millis(2))
    }

    /// Nothing came for a moment (see `Tracker::quiet`).
    fn idle(&mut self) -> Result<bool> {
        self.rename_pending = false;
        let (mut delivered, ops) = {
            let mut core = lock(&self.core);
            core.tracker.now = SystemTime::now();
            let mut events = Vec::new();
            core.tracker.quiet(&self.scope, &mut events);
            (core.deliver(&events)?, core.tracker.take_ops())
        };
        for op in ops {
            delivered |= self.apply(op)?;
        }
        Ok(delivered)
    }
}

impl Watches for Notify {
    fn add(&mut self, _: &Scope, dir: &Path) -> Result<()> {
        let target = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        self.watcher
            .watch(target, RecursiveMode::NonRecursive)
            .map_err(|e| watch_error(e, target))?;
        self.watched.insert(dir.to_path_buf());
        Ok(())
    }
}

impl Notify {
    fn remove_tree(&mut self, dir: &Path) {
        for path in under(&self.watched, dir) {
            let _ = self.watcher.unwatch(&path);
            self.watched.remove(&path);
        }
    }

    /// Do what a change asked for; true if events were delivered.
    fn apply(&mut self, op: WatchOp) -> Result<bool> {
        let scope = Arc::clone(&self.scope);
        match op {
            WatchOp::New(dir) => {
                let found = match self.add_tree(&scope, &dir) {
                    Err(e) if is_watch_limit(&e) => return Err(e),
                    other => other.unwrap_or_default(),
                };
                let mut core = lock(&self.core);
                core.tracker.now = SystemTime::now();
                let mut events = Vec::new();
                core.tracker.found_in_new_dir(&scope, found, &mut events);
                core.deliver(&events)
            }
            WatchOp::MovedIn(dir) => {
                // notify's watches keep the name they were made with:
                // watch a renamed tree anew under its new name.
                let found = self.add_tree(&scope, &dir).unwrap_or_default();
                lock(&self.core).tracker.known(found);
                Ok(false)
            }
            WatchOp::Moved { from, to } => {
                self.remove_tree(&from);
                self.apply(WatchOp::MovedIn(to))
            }
            WatchOp::Gone(path) => {
                self.remove_tree(&path);
                Ok(false)
            }
            // notify keeps its watches by path itself.
            WatchOp::Rescan => Ok(false),
        }
    }
}

/// notify's event as a `Change`, or None for what fkit does not report
/// (opens, reads).
fn translate(event: notify::Event, scope: &Scope) -> Option<Change> {
    if event.need_rescan() {
        return Some(Change::Overflow);
    }
    let abs = event.paths.first()?;
    let path = user_path(scope, abs);
    Some(match event.kind {
        EventKind::Create(kind) => Change::Created {
            path,
            is_dir: kind == CreateKind::Folder,
        },
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => match event.tracker() {
            Some(cookie) => Change::MovedFrom {
                is_dir: abs.is_dir(),
                path,
                cookie,
            },
            // inotify's MOVE_SELF comes without a cookie.
            None => Change::SelfMoved(path),
        },
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => Change::MovedTo {
            is_dir: abs.is_dir(),
            path,
            cookie: event.tracker(),
        },
        EventKind::Modify(ModifyKind::Name(_)) => return None, // the pair again
        EventKind::Modify(ModifyKind::Metadata(_)) => Change::Noticed {
            kind: Kind::Attrib,
            is_dir: abs.is_dir(),
            path,
        },
        EventKind::Modify(_) => Change::Modified(path),
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Change::ClosedWrite(path),
        EventKind::Access(access) => Change::Noticed {
            kind: match access {
                AccessKind::Read => Kind::Access,
                AccessKind::Open(_) => Kind::Open,
                AccessKind::Close(_) => Kind::CloseNowrite,
                _ => return None,
            },
            is_dir: abs.is_dir(),
            path,
        },
        EventKind::Remove(kind) => Change::Removed {
            path,
            is_dir: kind == RemoveKind::Folder,
        },
        _ => return None,
    })
}

/// notify's absolute path as the user would write it: under the root it
/// belongs to, spelled as that root was given.
fn user_path(scope: &Scope, path: &Path) -> PathBuf {
    let path = normal(path);
    let best = scope
        .roots
        .iter()
        .filter(|r| path.starts_with(&r.abs))
        .max_by_key(|r| r.abs.as_os_str().len());
    if let Some(r) = best {
        return match path.strip_prefix(&r.abs) {
            Ok(rel) if rel.as_os_str().is_empty() => r.path.clone(),
            Ok(rel) => r.path.join(rel),
            Err(_) => path,
        };
    }
    // Beside a watched file (an editor's temporary file).
    for r in scope.roots.iter().filter(|r| !r.is_dir) {
        if let (Some(dir), Some(abs_dir)) = (r.path.parent(), r.abs.parent())
            && let Ok(rel) = path.strip_prefix(abs_dir)
        {
            return dir.join(rel);
        }
    }
    path
}

fn watch_error(e: notify::Error, path: &Path) -> anyhow::Error {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => watch_limit(path),
        notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::EMFILE) => instance_limit(),
        _ => anyhow::Error::new(e).context(shown(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::watch::scope::tests::scope;

    #[test]
    fn paths_are_shown_as_the_user_wrote_them() {
        assert_eq!(normal(Path::new("./a/./b")), PathBuf::from("a/b"));
        let s = scope(".", &[], &[]);
        assert_eq!(
            user_path(&s, Path::new("/work/x/./src/a.rs")),
            PathBuf::from("src/a.rs")
        );
        assert_eq!(shown(&user_path(&s, Path::new("/work/x"))), ".");
        let s = scope("src", &[], &[]);
        assert_eq!(
            user_path(&s, Path::new("/work/x/src/a.rs")),
            PathBuf::from("src/a.rs")
        );
    }

    #[test]
    fn notify_events_become_changes() {
        use notify::event::{Event, RemoveKind};
        let s = scope("w", &[], &[]);
        let from = Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::From)))
            .add_path("/work/x/w/a".into())
            .set_tracker(9);
        assert_eq!(
            translate(from, &s),
            Some(Change::MovedFrom {
                path: "w/a".into(),
                cookie: 9,
                is_dir: false,
            })
        );
        let gone = Event::new(EventKind::Remove(RemoveKind::File)).add_path("/work/x/w/b".into());
        let removed = Change::Removed {
            path: "w/b".into(),
            is_dir: false,
        };
        assert_eq!(translate(gone, &s), Some(removed));
        let open = Event::new(EventKind::Access(AccessKind::Open(AccessMode::Any)))
            .add_path("/work/x/w/b".into());
        let opened = Change::Noticed {
            kind: Kind::Open,
            path: "w/b".into(),
            is_dir: false,
        };
        assert_eq!(translate(open, &s), Some(opened));
        let other = Event::new(EventKind::Access(AccessKind::Other)).add_path("/work/x/w/b".into());
        assert_eq!(translate(other, &s), None);
    }

    #[test]
    fn notify_s_watch_limit_is_the_shared_watch_limit_error() {
        let e = watch_error(
            notify::Error::new(notify::ErrorKind::MaxFilesWatch),
            Path::new("src"),
        );
        assert_eq!(e.to_string(), watch_limit(Path::new("src")).to_string());
        assert!(is_watch_limit(&e));
    }
}
