//! The kinds of change fkit reports, and the rules that turn what a backend
//! saw into the events reported: a rename's two halves become one event, a
//! write session one modify, an editor's save a modify of the saved file.

use super::kind::Kind;
use super::scope::{Scope, shown};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// One reported change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct WatchEvent {
    pub(super) kind: Kind,
    /// None for an overflow.
    pub(super) path: Option<PathBuf>,
    /// A rename's (or a save's) old name.
    pub(super) from: Option<PathBuf>,
    /// About a directory (inotifywait's ISDIR), where the backend tells.
    pub(super) is_dir: bool,
}

/// A change as a backend saw it, with paths spelled as the user would.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Change {
    Created {
        path: PathBuf,
        is_dir: bool,
    },
    /// The first half of a rename.
    MovedFrom {
        path: PathBuf,
        cookie: usize,
        is_dir: bool,
    },
    /// The second half of a rename (cookie: its first half), or a move in
    /// from outside.
    MovedTo {
        path: PathBuf,
        cookie: Option<usize>,
        is_dir: bool,
    },
    /// A watched directory itself was moved (inotify's IN_MOVE_SELF).
    SelfMoved(PathBuf),
    Modified(PathBuf),
    /// What fkit reports as it is and keeps no track of: attributes
    /// changed (attrib), a read (access), an open, a close unwritten
    /// (close_nowrite).
    Noticed {
        kind: Kind,
        path: PathBuf,
        is_dir: bool,
    },
    /// A file opened for writing was closed: its write session ended.
    ClosedWrite(PathBuf),
    Removed {
        path: PathBuf,
        is_dir: bool,
    },
    /// The kernel's queue overflowed: changes were lost.
    Overflow,
}

/// What a change means for the watches.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum WatchOp {
    /// A directory appeared (with -r): watch it and report what is inside.
    New(PathBuf),
    /// A directory moved in from outside (with -r): watch it.
    MovedIn(PathBuf),
    /// A directory was renamed within the tree (with -r): its watches
    /// follow it, under the new name.
    Moved { from: PathBuf, to: PathBuf },
    /// A path went away: drop its watches and those under it.
    Gone(PathBuf),
    /// Events were lost (a queue overflow), renames perhaps among them:
    /// walk the roots again.
    Rescan,
}

/// What is known of the watched tree from one change to the next, and what
/// each change means: the events to report and the watch operations to do.
pub(super) struct Tracker {
    /// When the changes being handled were read: one clock read a batch,
    /// for the write sessions and the printed time.
    pub(super) now: SystemTime,
    /// Files known to exist: a rename onto one of them replaces it (a save).
    files: BTreeSet<PathBuf>,
    /// The first half of a rename (path, cookie, is a directory), until
    /// its second half arrives.
    pending_from: Option<(PathBuf, usize, bool)>,
    /// The last file created or modified, to report one modify per write
    /// session rather than one per write(2).
    writing: Session,
    /// The last reported event, to drop the kernel's doubles (a directory's
    /// own delete and its parent's).
    last: Option<WatchEvent>,
    /// Paths reported by scanning a new directory; their own create events
    /// may still arrive.
    synthetic: HashSet<PathBuf>,
    /// Paths under just-created directories reported by their own events
    /// before the directory was scanned (notify: the scan runs later, on
    /// the main thread).
    seen_new: HashSet<PathBuf>,
    /// What the backend must do with its watches after the changes handled.
    ops: Vec<WatchOp>,
    /// Watched roots still there (the watched files count as one).
    live_roots: usize,
}

impl Tracker {
    pub(super) fn new(scope: &Scope) -> Tracker {
        let dirs = scope.roots.iter().filter(|r| r.is_dir).count();
        let files = scope.roots.iter().any(|r| !r.is_dir);
        Tracker {
            now: SystemTime::now(),
            files: BTreeSet::new(),
            pending_from: None,
            writing: Session::default(),
            last: None,
            synthetic: HashSet::new(),
            seen_new: HashSet::new(),
            ops: Vec::new(),
            live_roots: dirs + usize::from(files),
        }
    }

    /// Watched roots still there: none left ends the watch.
    pub(super) fn live_roots(&self) -> usize {
        self.live_roots
    }

    /// The first half of a rename waits for its second (or for a quiet
    /// moment, which makes it a move out of sight).
    pub(super) fn rename_pending(&self) -> bool {
        self.pending_from.is_some()
    }

    /// What the backend must do with its watches for the changes handled.
    pub(super) fn take_ops(&mut self) -> Vec<WatchOp> {
        std::mem::take(&mut self.ops)
    }

    /// Remember the files a scan found.
    pub(super) fn known(&mut self, found: Vec<(PathBuf, bool)>) {
        for (path, is_dir) in found {
            if !is_dir {
                self.files.insert(path);
            }
        }
    }

    /// Report what a new directory held before its watch existed.
    pub(super) fn found_in_new_dir(
        &mut self,
        scope: &Scope,
        found: Vec<(PathBuf, bool)>,
        out: &mut Vec<WatchEvent>,
    ) {
        for (path, is_dir) in found {
            if !is_dir {
                self.files.insert(path.clone());
            }
            if self.seen_new.contains(&path) {
                continue;
            }
            self.synthetic.insert(path.clone());
            self.emit(scope, out, Kind::Create, path, None, is_dir);
        }
    }

    /// Nothing came for a moment: an unpaired rename was a move out of
    /// sight, and the creates a scan reported have had their own events.
    pub(super) fn quiet(&mut self, scope: &Scope, out: &mut Vec<WatchEvent>) {
        self.flush_rename(scope, out);
        self.synthetic.clear();
        self.seen_new.clear();
    }

    /// A backend that sees no closes (polling): a write session ends with
    /// each look, so that the next look's change is reported too.
    pub(super) fn writes_ended(&mut self) {
        self.writing.end();
    }

    fn flush_rename(&mut self, scope: &Scope, out: &mut Vec<WatchEvent>) {
        if let Some((from, _, is_dir)) = self.pending_from.take() {
            forget_files(&mut self.files, &from);
            self.ops.push(WatchOp::Gone(from.clone()));
            self.emit(scope, out, Kind::Remove, from, None, is_dir);
        }
    }

    /// One change: update what is known, say what to report (`out`) and
    /// what the backend must do with its watches (`take_ops`).
    pub(super) fn handle(&mut self, change: Change, scope: &Scope, out: &mut Vec<WatchEvent>) {
        let now = self.now;
        // The second half of a rename follows its first half at once.
        if let Some((_, cookie, _)) = &self.pending_from {
            let pairs = matches!(&change,
                Change::MovedTo { cookie: Some(c), .. } if c == cookie);
            if !pairs {
                self.flush_rename(scope, out);
            }
        }
        match change {
            Change::Overflow => {
                self.ops.push(WatchOp::Rescan);
                out.push(WatchEvent {
                    kind: Kind::Overflow,
                    path: None,
                    from: None,
                    is_dir: false,
                });
            }
            Change::Created { path, is_dir } => {
                // A create reported while a new directory is about to be
                // scanned: the scan must not report it again. Only creates
                // count: a file created before the directory's watch
                // existed shows up first as its close or modify, and the
                // scan is what reports its creation.
                if is_dir || !self.seen_new.is_empty() {
                    self.seen_new.insert(path.clone());
                }
                if self.synthetic.remove(&path) {
                    return;
                }
                if is_dir {
                    if scope.watches_new_dir(&path) {
                        self.ops.push(WatchOp::New(path.clone()));
                    }
                } else {
                    self.files.insert(path.clone());
                }
                self.writing.start(&path, now);
                self.emit(scope, out, Kind::Create, path, None, is_dir);
            }
            Change::MovedFrom {
                path,
                cookie,
                is_dir,
            } => self.pending_from = Some((path, cookie, is_dir)),
            Change::SelfMoved(path) => {
                // Only news for a watched root: a directory below one is
                // reported by its parent's events.
                if scope.is_root_dir(&path) {
                    self.live_roots = self.live_roots.saturating_sub(1);
                    self.ops.push(WatchOp::Gone(path.clone()));
                    self.emit(scope, out, Kind::Remove, path.clone(), None, true);
                    eprintln!(
                        "fkit: watch: {}: watched directory was moved away",
                        shown(&path)
                    );
                }
            }
            Change::MovedTo {
                path,
                cookie,
                is_dir,
            } => {
                let from = match self.pending_from.take() {
                    Some((from, c, _)) if cookie == Some(c) => Some(from),
                    other => {
                        self.pending_from = other;
                        None
                    }
                };
                // Renamed over an existing file: that file was replaced.
                let replaced = self.files.contains(&path);
                if let Some(from) = &from {
                    move_files(&mut self.files, from, &path);
                }
                if is_dir {
                    self.ops.push(match (&from, scope.watches_new_dir(&path)) {
                        (Some(from), true) => WatchOp::Moved {
                            from: from.clone(),
                            to: path.clone(),
                        },
                        (Some(from), false) => WatchOp::Gone(from.clone()),
                        (None, true) => WatchOp::MovedIn(path.clone()),
                        (None, false) => WatchOp::Gone(path.clone()),
                    });
                } else {
                    self.files.insert(path.clone());
                }
                self.writing.end();
                match from {
                    Some(from) if replaced => {
                        self.emit(scope, out, Kind::Modify, path, Some(from), false);
                    }
                    Some(from) => self.emit(scope, out, Kind::Rename, path, Some(from), is_dir),
                    // Moved in from outside: new here.
                    None => self.emit(scope, out, Kind::Create, path, None, is_dir),
                }
            }
            Change::Noticed { kind, path, is_dir } => {
                self.emit(scope, out, kind, path, None, is_dir)
            }
            Change::Modified(path) => {
                if !self.writing.goes_on(&path, now) {
                    self.writing.start(&path, now);
                    self.emit(scope, out, Kind::Modify, path, None, false);
                }
            }
            Change::ClosedWrite(path) => {
                if self.writing.is(&path) {
                    self.writing.end();
                }
                self.emit(scope, out, Kind::CloseWrite, path, None, false);
            }
            Change::Removed { path, is_dir } => {
                forget_files(&mut self.files, &path);
                // A directory's own delete and its parent's: report once.
                let double = self
                    .last
                    .as_ref()
                    .is_some_and(|l| l.kind == Kind::Remove && l.path.as_ref() == Some(&path));
                if !double {
                    self.ops.push(WatchOp::Gone(path.clone()));
                    if scope.is_root_dir(&path) {
                        self.live_roots = self.live_roots.saturating_sub(1);
                        eprintln!(
                            "fkit: watch: {}: watched directory was removed",
                            shown(&path)
                        );
                    }
                    self.emit(scope, out, Kind::Remove, path, None, is_dir);
                }
            }
        }
    }

    /// Report `kind` of `path` if the scope wants it.
    fn emit(
        &mut self,
        scope: &Scope,
        out: &mut Vec<WatchEvent>,
        kind: Kind,
        path: PathBuf,
        from: Option<PathBuf>,
        is_dir: bool,
    ) {
        if !scope.kinds.contains(kind) {
            return;
        }
        let wanted = scope.wants(&path) || from.as_deref().is_some_and(|f| scope.wants(f));
        if !wanted {
            return;
        }
        let event = WatchEvent {
            kind,
            path: Some(path),
            from,
            is_dir,
        };
        // Only removes are compared (see `last`): no need to copy others.
        if kind == Kind::Remove || self.last.is_some() {
            self.last = (kind == Kind::Remove).then(|| event.clone());
        }
        out.push(event);
    }
}

/// For a backend that keeps the time for a quiet moment itself and walks
/// its roots again after lost events: inotify's reader.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl Tracker {
    /// Creates a scan reported may still come as events (see `quiet`).
    pub(super) fn scan_pending(&self) -> bool {
        !self.synthetic.is_empty() || !self.seen_new.is_empty()
    }

    /// Events were lost: the files are learnt again from a new scan.
    pub(super) fn forget_all_files(&mut self) {
        self.files.clear();
    }
}

/// A file being written: its first write is reported, the next ones until
/// it is closed (within a second) are not.
#[derive(Default)]
struct Session {
    /// (A buffer kept from session to session: no allocation per event.)
    path: PathBuf,
    /// (Wall-clock time, read once a batch anyway: a clock set back ends
    /// the session.)
    since: Option<SystemTime>,
}

impl Session {
    fn start(&mut self, path: &Path, now: SystemTime) {
        let buf = self.path.as_mut_os_string();
        buf.clear();
        buf.push(path.as_os_str());
        self.since = Some(now);
    }

    fn end(&mut self) {
        self.since = None;
    }

    fn is(&self, path: &Path) -> bool {
        // Spelled alike: both come from the same watch's name.
        self.since.is_some() && self.path.as_os_str() == path.as_os_str()
    }

    fn goes_on(&self, path: &Path, now: SystemTime) -> bool {
        self.is(path)
            && self.since.is_some_and(|t| {
                now.duration_since(t)
                    .is_ok_and(|d| d < Duration::from_secs(1))
            })
    }
}

/// Files under a renamed directory keep existing under the new name.
fn move_files(files: &mut BTreeSet<PathBuf>, from: &Path, to: &Path) {
    for path in under(files, from) {
        files.remove(&path);
        files.insert(rebase(&path, from, to));
    }
}

fn forget_files(files: &mut BTreeSet<PathBuf>, dir: &Path) {
    for path in under(files, dir) {
        files.remove(&path);
    }
}

/// Paths at and under `dir` in `set`.
pub(super) fn under(set: &BTreeSet<PathBuf>, dir: &Path) -> Vec<PathBuf> {
    set.range(dir.to_path_buf()..)
        .take_while(|p| p.starts_with(dir))
        .cloned()
        .collect()
}

/// `path`, which is at or under `from`, moved to `to`.
pub(super) fn rebase(path: &Path, from: &Path, to: &Path) -> PathBuf {
    match path.strip_prefix(from) {
        // (Joining "" would add a trailing slash.)
        Ok(rel) if !rel.as_os_str().is_empty() => to.join(rel),
        _ => to.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::scope::tests::scope;
    use super::*;
    use clap::ValueEnum;

    fn moved_from(path: &str, cookie: usize) -> Change {
        Change::MovedFrom {
            path: path.into(),
            cookie,
            is_dir: false,
        }
    }

    fn tracker() -> Tracker {
        Tracker::new(&scope("w", &[], &[]))
    }

    fn event(kind: Kind, path: &str, from: Option<&str>) -> WatchEvent {
        WatchEvent {
            kind,
            path: Some(path.into()),
            from: from.map(PathBuf::from),
            is_dir: false,
        }
    }

    #[test]
    fn a_kind_is_named_as_minus_e_takes_it() {
        for kind in Kind::value_variants() {
            let value = kind.to_possible_value().unwrap();
            assert_eq!(value.get_name(), kind.name());
        }
        assert_eq!(Kind::Overflow.name(), "overflow");
    }

    #[test]
    fn a_renamed_directory_takes_its_watches_along() {
        let (s, mut c, mut out) = (scope("w", &[], &[]), tracker(), Vec::new());
        c.files.insert("w/a/f".into());
        c.handle(moved_from("w/a", 7), &s, &mut out);
        assert!(out.is_empty(), "the first half waits for the second");
        let to = Change::MovedTo {
            path: "w/b".into(),
            cookie: Some(7),
            is_dir: true,
        };
        c.handle(to, &s, &mut out);
        let renamed = WatchEvent {
            is_dir: true,
            ..event(Kind::Rename, "w/b", Some("w/a"))
        };
        assert_eq!(out, [renamed]);
        let moved = WatchOp::Moved {
            from: "w/a".into(),
            to: "w/b".into(),
        };
        assert_eq!(c.ops, [moved]);
        assert_eq!(c.files.iter().collect::<Vec<_>>(), [Path::new("w/b/f")]);
    }

    #[test]
    fn a_move_out_of_sight_is_a_remove() {
        let (s, mut c, mut out) = (scope("w", &[], &[]), tracker(), Vec::new());
        c.handle(moved_from("w/a", 7), &s, &mut out);
        c.handle(Change::Modified("w/x".into()), &s, &mut out);
        assert_eq!(
            out,
            [
                event(Kind::Remove, "w/a", None),
                event(Kind::Modify, "w/x", None)
            ]
        );
        assert_eq!(c.ops, [WatchOp::Gone("w/a".into())]);
        // Or nothing more comes.
        let (mut c, mut out) = (tracker(), Vec::new());
        c.handle(moved_from("w/a", 7), &s, &mut out);
        c.quiet(&s, &mut out);
        assert_eq!(out, [event(Kind::Remove, "w/a", None)]);
    }

    #[test]
    fn a_rename_over_a_known_file_is_a_save() {
        let (s, mut c, mut out) = (scope("w", &[], &[]), tracker(), Vec::new());
        c.files.insert("w/f".into());
        c.handle(moved_from("w/.f.swp", 3), &s, &mut out);
        let to = Change::MovedTo {
            path: "w/f".into(),
            cookie: Some(3),
            is_dir: false,
        };
        c.handle(to, &s, &mut out);
        assert_eq!(out, [event(Kind::Modify, "w/f", Some("w/.f.swp"))]);
        assert!(c.ops.is_empty());
    }

    #[test]
    fn one_modify_per_write_session() {
        let (s, mut c, mut out) = (scope("w", &[], &[]), tracker(), Vec::new());
        for _ in 0..3 {
            c.handle(Change::Modified("w/f".into()), &s, &mut out);
        }
        c.handle(Change::ClosedWrite("w/f".into()), &s, &mut out);
        c.handle(Change::Modified("w/f".into()), &s, &mut out);
        assert_eq!(
            out,
            [
                event(Kind::Modify, "w/f", None),
                event(Kind::Modify, "w/f", None)
            ]
        );
    }

    #[test]
    fn close_write_is_reported_when_asked_for() {
        let (mut s, mut c, mut out) = (scope("w", &[], &[]), tracker(), Vec::new());
        c.handle(Change::ClosedWrite("w/f".into()), &s, &mut out);
        assert!(out.is_empty());
        s.kinds = [Kind::Modify, Kind::CloseWrite].into_iter().collect();
        c.handle(Change::Modified("w/f".into()), &s, &mut out);
        c.handle(Change::ClosedWrite("w/f".into()), &s, &mut out);
        assert_eq!(
            out,
            [
                event(Kind::Modify, "w/f", None),
                event(Kind::CloseWrite, "w/f", None)
            ]
        );
    }

    #[test]
    fn rebase_keeps_no_trailing_slash() {
        let (from, to) = (Path::new("w/a"), Path::new("w/b"));
        assert_eq!(rebase(Path::new("w/a"), from, to).as_os_str(), "w/b");
        assert_eq!(
            rebase(Path::new("w/a/c/d"), from, to).as_os_str(),
            "w/b/c/d"
        );
    }
}
