//! Polling, for file systems where the kernel's events never arrive: NFS
//! and other network shares, Docker volumes, WSL's Windows drives
//! (watchexec's --poll). Every interval the watched tree is listed again
//! and compared with the last listing: what appeared, went away, or
//! changed size, modification time, inode or mode. A path gone and
//! another come with the same inode is a rename.
//!
//! It works on the main thread (each look is its `idle`), so it needs no
//! thread, and no more than the main thread's lock on what it shares.

use super::{Backend, Core, lock};
use crate::cmd::watch::events::{Change, WatchEvent};
use crate::cmd::watch::kind::Kind;
use crate::cmd::watch::scope::Scope;
use anyhow::Result;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A look at the watched tree every `interval`.
pub(in crate::cmd::watch) struct Poll {
    scope: Arc<Scope>,
    core: Arc<Mutex<Core>>,
    interval: Duration,
    /// When the next look is due.
    next: Instant,
    /// What the last look saw.
    seen: Listing,
    /// Pairs a rename's two halves for the tracker.
    cookie: usize,
}

/// Each path seen, and what is compared from one look to the next.
type Listing = BTreeMap<PathBuf, Stat>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stat {
    is_dir: bool,
    len: u64,
    modified: Option<SystemTime>,
    /// (device, inode) where the platform has them; (0, 0) elsewhere.
    id: (u64, u64),
    /// The permission bits (or read-only, outside Unix).
    mode: u32,
}

impl Stat {
    fn of(meta: &Metadata) -> Stat {
        #[cfg(unix)]
        let (id, mode) = {
            use std::os::unix::fs::MetadataExt;
            ((meta.dev(), meta.ino()), meta.mode())
        };
        #[cfg(not(unix))]
        let (id, mode) = ((0, 0), u32::from(meta.permissions().readonly()));
        Stat {
            is_dir: meta.is_dir(),
            len: meta.len(),
            modified: meta.modified().ok(),
            id,
            mode,
        }
    }
}

impl Poll {
    /// Take the first look; the next is `interval` later.
    pub(in crate::cmd::watch) fn start(
        interval: Duration,
        scope: Arc<Scope>,
        core: Arc<Mutex<Core>>,
    ) -> Result<Poll> {
        let seen = look(&scope);
        let found = seen.iter().map(|(p, s)| (p.clone(), s.is_dir)).collect();
        lock(&core).tracker.known(found);
        Ok(Poll {
            scope,
            core,
            // (Zero would spin.)
            interval: interval.max(Duration::from_millis(10)),
            next: Instant::now() + interval,
            seen,
            cookie: 0,
        })
    }

    /// Look again; true if events were delivered.
    fn poll(&mut self) -> Result<bool> {
        let now = look(&self.scope);
        let changes = compare(&self.seen, &now, &mut self.cookie);
        self.seen = now;
        let mut core = lock(&self.core);
        let core = &mut *core;
        let tracker = &mut core.tracker;
        tracker.now = SystemTime::now();
        let mut events: Vec<WatchEvent> = Vec::new();
        for change in changes {
            tracker.handle(change, &self.scope, &mut events);
        }
        tracker.quiet(&self.scope, &mut events);
        tracker.writes_ended();
        // Each look lists the whole tree: no watches to add or drop.
        tracker.take_ops();
        core.reporter.deliver(&events, tracker.now)
    }
}

impl Backend for Poll {
    type Errand = Infallible;

    fn run_errand(&mut self, errand: Infallible) -> Result<bool> {
        match errand {}
    }

    fn wake_within(&self) -> Option<Duration> {
        Some(self.next.saturating_duration_since(Instant::now()))
    }

    fn idle(&mut self) -> Result<bool> {
        if Instant::now() < self.next {
            return Ok(false);
        }
        let delivered = self.poll();
        self.next = Instant::now() + self.interval;
        delivered
    }
}

/// Everything in scope under the roots, as the user spells the paths.
fn look(scope: &Scope) -> Listing {
    let mut seen = Listing::new();
    for root in &scope.roots {
        // A root is followed if it is a symlink; what is below is not.
        let target = match root.path.as_os_str().is_empty() {
            true => Path::new("."),
            false => &root.path,
        };
        let Ok(meta) = std::fs::metadata(target) else {
            continue; // gone: the comparison tells
        };
        seen.insert(root.path.clone(), Stat::of(&meta));
        if !root.is_dir || !meta.is_dir() {
            continue;
        }
        let mut stack = vec![root.path.clone()];
        while let Some(dir) = stack.pop() {
            let listing = match dir.as_os_str().is_empty() {
                true => std::fs::read_dir("."),
                false => std::fs::read_dir(&dir),
            };
            let Ok(entries) = listing else {
                continue; // gone since, or unreadable
            };
            for entry in entries.flatten() {
                let path = dir.join(entry.file_name());
                let Ok(meta) = entry.metadata() else {
                    continue;
                };
                let stat = Stat::of(&meta);
                if scope.ignored(&path, stat.is_dir) {
                    continue;
                }
                if stat.is_dir && scope.recursive {
                    stack.push(path.clone());
                }
                seen.insert(path, stat);
            }
        }
    }
    seen
}

/// What changed from `before` to `after`, in the order inotify would tell
/// it: removes (deepest first), renames, creates (shallowest first), then
/// changes in place.
fn compare(before: &Listing, after: &Listing, cookie: &mut usize) -> Vec<Change> {
    let mut gone: Vec<(&PathBuf, &Stat)> = Vec::new();
    let mut new: Vec<(&PathBuf, &Stat)> = Vec::new();
    let mut changed = Vec::new();
    for (path, old) in before {
        match after.get(path) {
            None => gone.push((path, old)),
            Some(now) if now.is_dir != old.is_dir => {
                gone.push((path, old));
                new.push((path, now));
            }
            Some(now) if now.is_dir => {}
            Some(now) if now.id != old.id || now.len != old.len || now.modified != old.modified => {
                changed.push(Change::Modified(path.clone()));
            }
            Some(now) if now.mode != old.mode => changed.push(Change::Noticed {
                kind: Kind::Attrib,
                path: path.clone(),
                is_dir: false,
            }),
            Some(_) => {}
        }
    }
    new.extend(after.iter().filter(|(p, _)| !before.contains_key(*p)));
    new.sort_by_key(|(p, _)| *p);

    // The same inode gone from one path and come at another: a rename. (A
    // rename keeps a file's size and time; a new file given the inode of
    // one just removed does not, most likely.) A renamed directory's
    // entries move with it, and are not news.
    let by_id: HashMap<(u64, u64), (&PathBuf, &Stat)> = gone
        .iter()
        .filter(|(_, s)| s.id != (0, 0))
        .map(|(p, s)| (s.id, (*p, *s)))
        .collect();
    let mut renames: Vec<(PathBuf, PathBuf, bool)> = Vec::new();
    for (path, stat) in &new {
        let Some((from, old)) = by_id.get(&stat.id) else {
            continue;
        };
        let same = match stat.is_dir {
            true => old.is_dir,
            false => !old.is_dir && old.len == stat.len && old.modified == stat.modified,
        };
        let inside = renames
            .iter()
            .any(|(f, t, dir)| *dir && from.starts_with(f) && path.starts_with(t));
        if same && !inside {
            renames.push(((*from).clone(), (*path).clone(), stat.is_dir));
        }
    }
    let moved_from = |p: &Path| {
        renames
            .iter()
            .any(|(f, _, d)| p == f || (*d && p.starts_with(f)))
    };
    let moved_to = |p: &Path| {
        renames
            .iter()
            .any(|(_, t, d)| p == t || (*d && p.starts_with(t)))
    };

    let mut changes = Vec::new();
    for (path, stat) in gone.iter().rev().filter(|(p, _)| !moved_from(p)) {
        changes.push(Change::Removed {
            path: (*path).clone(),
            is_dir: stat.is_dir,
        });
    }
    for (from, to, is_dir) in &renames {
        *cookie += 1;
        changes.push(Change::MovedFrom {
            path: from.clone(),
            cookie: *cookie,
            is_dir: *is_dir,
        });
        changes.push(Change::MovedTo {
            path: to.clone(),
            cookie: Some(*cookie),
            is_dir: *is_dir,
        });
    }
    for (path, stat) in new.iter().filter(|(p, _)| !moved_to(p)) {
        changes.push(Change::Created {
            path: (*path).clone(),
            is_dir: stat.is_dir,
        });
    }
    changes.extend(changed);
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(is_dir: bool, ino: u64, len: u64) -> Stat {
        Stat {
            is_dir,
            len,
            modified: None,
            id: (1, ino),
            mode: 0o644,
        }
    }

    fn listing(entries: &[(&str, Stat)]) -> Listing {
        entries
            .iter()
            .map(|(p, s)| (PathBuf::from(p), *s))
            .collect()
    }

    #[test]
    fn two_looks_compare_into_changes() {
        let before = listing(&[
            ("w", stat(true, 1, 0)),
            ("w/a", stat(false, 2, 5)),
            ("w/b", stat(false, 3, 5)),
            ("w/d", stat(true, 4, 0)),
            ("w/d/x", stat(false, 5, 1)),
            ("w/gone", stat(false, 6, 1)),
        ]);
        let mut chmod = stat(false, 3, 5);
        chmod.mode = 0o600;
        let after = listing(&[
            ("w", stat(true, 1, 0)),
            ("w/a", stat(false, 2, 9)),
            ("w/b", chmod),
            ("w/e", stat(true, 4, 0)),
            ("w/e/x", stat(false, 5, 1)),
            ("w/new", stat(false, 7, 0)),
        ]);
        let mut cookie = 0;
        let changes = compare(&before, &after, &mut cookie);
        let removed = Change::Removed {
            path: "w/gone".into(),
            is_dir: false,
        };
        let from = Change::MovedFrom {
            path: "w/d".into(),
            cookie: 1,
            is_dir: true,
        };
        let to = Change::MovedTo {
            path: "w/e".into(),
            cookie: Some(1),
            is_dir: true,
        };
        let created = Change::Created {
            path: "w/new".into(),
            is_dir: false,
        };
        let attrib = Change::Noticed {
            kind: Kind::Attrib,
            path: "w/b".into(),
            is_dir: false,
        };
        assert_eq!(
            changes,
            [
                removed,
                from,
                to,
                created,
                Change::Modified("w/a".into()),
                attrib
            ]
        );
    }

    #[test]
    fn an_inode_used_again_by_a_new_file_is_no_rename() {
        let before = listing(&[("probe", stat(false, 2, 1))]);
        let after = listing(&[("a", stat(false, 2, 3))]);
        let changes = compare(&before, &after, &mut 0);
        assert!(matches!(
            changes[..],
            [Change::Removed { .. }, Change::Created { .. }]
        ));
    }

    #[test]
    fn a_new_inode_at_the_same_path_is_a_modify() {
        let before = listing(&[("f", stat(false, 2, 5))]);
        let after = listing(&[("f", stat(false, 9, 5))]);
        assert_eq!(
            compare(&before, &after, &mut 0),
            [Change::Modified("f".into())]
        );
    }
}
