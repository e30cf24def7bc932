//! `fkit watch`: report file changes as they happen (inotifywait -m), or run
//! a command after each burst of changes (entr, watchexec).
//!
//! Two backends feed the same logic ([`Core::handle`]): on Linux,
//! `linux.rs` reads inotify itself, in the thread that prints; elsewhere,
//! `portable.rs` uses the notify crate.

use crate::cmd::temp::exit_code_of;
use crate::io::output::RawStdout;
use crate::io::{Exit, signal};
use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender, select};
use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[cfg(target_os = "linux")]
mod linux;
// Also built for the tests on Linux, so that it keeps compiling.
#[cfg(any(not(target_os = "linux"), test))]
mod portable;

/// Watch files and directories; print each change, or run a command.
///
/// Prints one line per change, flushed at once (so `fkit watch . | grep`
/// works): `<time> <kind> <path>`, or with --format json one JSON object per
/// line: {"time", "kind", "path", "from"}. Kinds: create, modify, remove,
/// rename (`from -> path`), attrib, and overflow when the kernel's event
/// queue overflowed and changes were lost (rescan if you keep state).
///
/// With --exec CMD, runs CMD (with sh -c) after each burst of changes has
/// settled for --debounce milliseconds (default 50), with the changed paths,
/// one per line, in FKIT_PATHS. Never two runs at once: changes made while
/// CMD runs start one more run when it ends; --restart instead stops the
/// running CMD (SIGTERM to its process group) and starts it again.
///
/// A watched FILE is watched through its directory, so an editor's atomic
/// save (write a temporary file, rename it over FILE) and delete-then-create
/// are seen: such a save is reported as `modify FILE` (JSON "from" names the
/// temporary file). With -r, directories created later are watched too and
/// files already in them when they are first seen are reported as created.
/// A renamed directory keeps its watches: later changes under it are
/// reported under its new name. A watched directory that is deleted or
/// moved away is reported as `remove`; fkit keeps watching the other paths
/// and exits 1 when none is left. Default events: create, modify, remove,
/// rename (add attrib with -e).
///
/// Examples:
///   fkit watch -r src                        # print every change under src/
///   fkit watch -r . --glob '*.rs' --gitignore --format json | jq .path
///   fkit watch -r src --exec 'cargo test'    # rerun the tests after changes
///   fkit watch -r . --restart --exec './server'   # restart a server (entr -r)
///   fkit watch config.toml --once --timeout 60     # wait for one change
///   fkit watch -r /srv/in -e create,rename --exec 'process "$FKIT_PATHS"'
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files and directories to watch (default: the current directory).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Watch directories recursively, including ones created later.
    #[arg(short, long)]
    recursive: bool,

    /// Only these kinds of change, comma-separated.
    #[arg(
        short,
        long = "events",
        value_name = "KINDS",
        value_delimiter = ',',
        default_value = "create,modify,remove,rename"
    )]
    events: Vec<Kind>,

    /// Only paths matching this glob (`*.rs`, `src/**/*.c`); repeatable.
    /// A glob without `/` matches the file name.
    #[arg(long, value_name = "GLOB")]
    glob: Vec<String>,

    /// Ignore paths matching this glob (and, for a directory, all under it).
    #[arg(long, value_name = "GLOB")]
    ignore: Vec<String>,

    /// Ignore what the .gitignore files in the watched directories (and
    /// below) and .git/info/exclude ignore, and .git itself.
    #[arg(long)]
    gitignore: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    json: bool,

    /// Wait until changes pause for MS milliseconds, then report the burst
    /// once (each path once per kind) or run --exec once.
    #[arg(long, value_name = "MS")]
    debounce: Option<u64>,

    /// Exit after the first change (or the first --exec run).
    #[arg(long)]
    once: bool,

    /// Stop after SECONDS (exit 0; with --once and no change, exit 2 as
    /// inotifywait -t does).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,

    /// Run this shell command after each burst of changes.
    #[arg(long, value_name = "CMD")]
    exec: Option<String>,

    /// With --exec: stop a still-running CMD and start it again.
    #[arg(long, requires = "exec")]
    restart: bool,

    /// With --exec: clear the screen before each run.
    #[arg(long, requires = "exec")]
    clear: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Create,
    Modify,
    Remove,
    Rename,
    Attrib,
}

/// The kinds to report, as bits: asked for each event.
#[derive(Clone, Copy, Debug, Default)]
struct Kinds(u8);

impl Kinds {
    fn contains(self, kind: Kind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }
}

impl FromIterator<Kind> for Kinds {
    fn from_iter<I: IntoIterator<Item = Kind>>(kinds: I) -> Kinds {
        Kinds(kinds.into_iter().fold(0, |bits, k| bits | 1 << k as u8))
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

/// One reported change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct WatchEvent {
    kind: &'static str,
    path: Option<PathBuf>,
    from: Option<PathBuf>,
}

/// A path given on the command line.
struct Root {
    /// As given, without `./` parts ("" for the current directory).
    path: PathBuf,
    /// Absolute, as notify reports paths under it.
    #[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))]
    abs: PathBuf,
    is_dir: bool,
    gitignore: Option<Gitignore>,
}

/// Which paths are reported: roots, kinds, globs and ignores.
struct Scope {
    roots: Vec<Root>,
    /// With --gitignore: the .gitignore files of directories below the roots.
    nested: Mutex<HashMap<PathBuf, Option<Arc<Gitignore>>>>,
    kinds: Kinds,
    globs: Option<(GlobSet, GlobSet)>,
    ignores: Option<(GlobSet, GlobSet)>,
    recursive: bool,
    /// Every path under a root is reported: no globs, no ignores, no
    /// watched files (so no neighbours of theirs to leave out).
    everything: bool,
}

pub fn run(args: Args) -> Result<()> {
    let format = if args.json { Format::Json } else { args.format };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let cwd = std::env::current_dir().context("current directory")?;
    let mut roots = Vec::new();
    for path in &paths {
        let meta = std::fs::metadata(path).with_context(|| path.display().to_string())?;
        let gitignore = (args.gitignore && meta.is_dir()).then(|| gitignore_of(path));
        roots.push(Root {
            path: normal(path),
            abs: normal(&cwd.join(path)),
            is_dir: meta.is_dir(),
            gitignore,
        });
    }
    let scope = Scope::new(
        roots,
        args.events.iter().copied().collect(),
        glob_sets(&args.glob)?,
        glob_sets(&args.ignore)?,
        args.recursive,
    );

    let scope = Arc::new(scope);
    let immediate = args.exec.is_none() && args.debounce.unwrap_or(0) == 0;
    let core = Arc::new(Mutex::new(Core {
        state: State::default(),
        files: BTreeSet::new(),
        reporter: Reporter::new(format, args.exec.is_some()),
        live_roots: scope.roots.iter().filter(|r| r.is_dir).count()
            + usize::from(scope.roots.iter().any(|r| !r.is_dir)),
        seen_any: false,
        immediate,
        once: args.once,
        done: false,
        seen_new: HashSet::new(),
        ops: Vec::new(),
        now: SystemTime::now(),
    }));

    // Changes are handled, and printed, on the backend's thread as they
    // come (one thread wake-up between the kernel and stdout); this thread
    // keeps the time: --debounce, --exec, --once, --timeout, signals.
    let (tx, rx) = crossbeam_channel::unbounded::<Op>();
    #[cfg(target_os = "linux")]
    linux::start(Arc::clone(&scope), Arc::clone(&core), tx.clone())?;
    #[cfg(not(target_os = "linux"))]
    let mut watcher = portable::Backend::start(Arc::clone(&scope), Arc::clone(&core), tx.clone())?;
    #[cfg(not(target_os = "linux"))]
    let mut rename_pending = false;

    let mut runner = args.exec.as_ref().map(|cmd| Runner {
        command: cmd.clone(),
        restart: args.restart,
        clear: args.clear,
        running: None,
        done: crossbeam_channel::bounded(1),
        pending: false,
        runs: 0,
        last_code: 0,
    });
    let debounce =
        Duration::from_millis(
            args.debounce
                .unwrap_or(if runner.is_some() { 50 } else { 0 }),
        );
    let deadline = args
        .timeout
        .map(|s| Instant::now() + Duration::from_secs_f64(s));
    let mut burst_deadline: Option<Instant> = None;

    loop {
        // How long to sleep: until the burst settles, the timeout, or a
        // periodic check for signals and the roots.
        let now = Instant::now();
        let mut wake = now + Duration::from_millis(100);
        if let Some(t) = burst_deadline {
            wake = wake.min(t);
        }
        #[cfg(not(target_os = "linux"))]
        if rename_pending {
            wake = wake.min(now + Duration::from_millis(2));
        }
        if let Some(t) = deadline {
            wake = wake.min(t);
        }
        let never = crossbeam_channel::never();
        let done_rx = runner.as_ref().map_or(&never, |r| &r.done.1);
        select! {
            recv(rx) -> op => match op {
                Ok(Op::Activity) => burst_deadline = Some(Instant::now() + debounce),
                #[cfg(not(target_os = "linux"))]
                Ok(Op::RenamePending) => rename_pending = true,
                #[cfg(not(target_os = "linux"))]
                Ok(Op::Watch(op)) => {
                    if watcher.apply(op, &core, &scope)? {
                        burst_deadline = Some(Instant::now() + debounce);
                    }
                }
                // (The notify backend's, built on Linux only for its tests.)
                #[cfg(all(target_os = "linux", test))]
                Ok(Op::RenamePending) => {}
                #[cfg(all(target_os = "linux", test))]
                Ok(Op::Watch(op)) => drop(op),
                Ok(Op::Fail(e)) => return Err(e),
                Err(_) => break,
            },
            recv(done_rx) -> status => {
                if let (Some(r), Ok(status)) = (runner.as_mut(), status) {
                    r.finished(status);
                }
            }
            default(wake.saturating_duration_since(now)) => {
                // (On Linux the reader keeps this time itself.)
                #[cfg(not(target_os = "linux"))]
                {
                    rename_pending = false;
                    if watcher.quiet(&core, &scope)? {
                        burst_deadline = Some(Instant::now() + debounce);
                    }
                }
            }
        }
        let now = Instant::now();
        if burst_deadline.is_some_and(|t| t <= now) {
            burst_deadline = None;
            match runner.as_mut() {
                Some(r) => r.burst(),
                None => lock(&core).reporter.print_burst()?,
            }
        }
        let (seen_any, done, live_roots) = {
            let core = lock(&core);
            (core.seen_any, core.done, core.live_roots)
        };
        if let Some(r) = runner.as_mut() {
            let mut core = lock(&core);
            r.start_if_due(&mut core.reporter)?;
            if args.once && r.ran() {
                return match r.last_code {
                    0 => Ok(()),
                    code => Err(Exit::silent(code).into()),
                };
            }
        } else if args.once && (done || (seen_any && burst_deadline.is_none())) {
            return Ok(());
        }
        if let Some(sig) = signal::received() {
            if let Some(r) = runner.as_mut() {
                r.stop(sig);
            }
            return Err(Exit::silent(128 + sig).into());
        }
        if deadline.is_some_and(|t| t <= now) {
            if let Some(r) = runner.as_mut() {
                r.stop(libc::SIGTERM);
            }
            return match (args.once, seen_any) {
                (true, false) => Err(Exit::silent(2).into()),
                _ => Ok(()),
            };
        }
        if live_roots == 0 {
            return Err(Exit::with(1, "nothing left to watch").into());
        }
    }
    Ok(())
}

/// News from the backend's thread for this one.
enum Op {
    /// Something was reported or gathered (for --debounce, --exec, --once).
    Activity,
    /// The first half of a rename waits for its second.
    #[cfg(any(not(target_os = "linux"), test))]
    RenamePending,
    /// Work that needs notify's watcher, which only this thread may call
    /// (notify's thread would wait for itself).
    #[cfg(any(not(target_os = "linux"), test))]
    Watch(WatchOp),
    Fail(anyhow::Error),
}

/// What a change means for the watches.
#[derive(Debug, PartialEq, Eq)]
enum WatchOp {
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

/// A change as a backend saw it, with paths spelled as the user would.
#[derive(Debug, PartialEq, Eq)]
enum Change {
    Created {
        path: PathBuf,
        is_dir: bool,
    },
    /// The first half of a rename.
    MovedFrom {
        path: PathBuf,
        cookie: usize,
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
    Attrib(PathBuf),
    /// A file opened for writing was closed: its write session ended.
    ClosedWrite(PathBuf),
    Removed(PathBuf),
    /// The kernel's queue overflowed: changes were lost.
    Overflow,
}

fn lock(core: &Mutex<Core>) -> std::sync::MutexGuard<'_, Core> {
    // A panic on the backend's thread would abort (panic = "abort"), so the
    // lock cannot be poisoned in practice; take it anyway if it were.
    core.lock().unwrap_or_else(|e| e.into_inner())
}

/// Watch `dir` (through `add`) and, with -r, every directory under it that
/// is not ignored; returns the entries seen on the way (path, is a directory).
fn watch_tree(
    scope: &Scope,
    dir: &Path,
    mut add: impl FnMut(&Path) -> Result<()>,
) -> Result<Vec<(PathBuf, bool)>> {
    add(dir)?;
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
                match add(&path) {
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

/// Paths at and under `dir` in `set`.
fn under(set: &BTreeSet<PathBuf>, dir: &Path) -> Vec<PathBuf> {
    set.range(dir.to_path_buf()..)
        .take_while(|p| p.starts_with(dir))
        .cloned()
        .collect()
}

/// `path`, which is at or under `from`, moved to `to`.
fn rebase(path: &Path, from: &Path, to: &Path) -> PathBuf {
    match path.strip_prefix(from) {
        // (Joining "" would add a trailing slash.)
        Ok(rel) if !rel.as_os_str().is_empty() => to.join(rel),
        _ => to.to_path_buf(),
    }
}

/// Everything the backend's thread and the main thread share.
struct Core {
    state: State,
    /// Files known to exist: a rename onto one of them replaces it (a save).
    files: BTreeSet<PathBuf>,
    reporter: Reporter,
    /// Watched roots still there.
    live_roots: usize,
    seen_any: bool,
    /// Print at once (no --debounce, no --exec).
    immediate: bool,
    once: bool,
    /// --once: the one event is out.
    done: bool,
    /// Paths under just-created directories reported by their own events
    /// before the directory was scanned (notify: the scan runs later, on
    /// the main thread).
    seen_new: HashSet<PathBuf>,
    /// What the backend must do with its watches after the changes handled.
    ops: Vec<WatchOp>,
    /// When the changes being handled were read: one clock read a batch,
    /// for the write sessions and the printed time.
    now: SystemTime,
}

impl Core {
    /// Remember the files a scan found.
    fn known(&mut self, found: Vec<(PathBuf, bool)>) {
        for (path, is_dir) in found {
            if !is_dir {
                self.files.insert(path);
            }
        }
    }

    /// Report what a new directory held before its watch existed.
    fn found_in_new_dir(
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
            self.state.synthetic.insert(path.clone());
            self.state
                .emit(scope, out, Kind::Create, "create", path, None);
        }
    }

    /// Print events, or gather them; true if anything happened.
    fn deliver(&mut self, events: &[WatchEvent]) -> Result<bool> {
        if events.is_empty() || self.done {
            return Ok(false);
        }
        self.seen_any = true;
        if !self.immediate {
            self.reporter.collect(events);
        } else if self.once {
            self.done = true;
            self.reporter.print(&events[..1], self.now)?;
        } else {
            self.reporter.print(events, self.now)?;
        }
        Ok(true)
    }

    /// Deliver `events` (emptied after) and tell the main thread if it has
    /// something to do about them.
    fn publish(&mut self, events: &mut Vec<WatchEvent>, tx: &Sender<Op>) -> Result<()> {
        let delivered = self.deliver(events);
        events.clear();
        // Printed at once with nothing more to do, the main thread is left
        // asleep: waking it would only compete with the reader for a CPU.
        if delivered? && (self.once || !self.immediate) {
            let _ = tx.send(Op::Activity);
        }
        Ok(())
    }

    /// Nothing came for a moment: an unpaired rename was a move out of
    /// sight, and the creates a scan reported have had their own events.
    fn quiet(&mut self, scope: &Scope, out: &mut Vec<WatchEvent>) {
        self.flush_rename(scope, out);
        self.state.synthetic.clear();
        self.seen_new.clear();
    }

    fn flush_rename(&mut self, scope: &Scope, out: &mut Vec<WatchEvent>) {
        if let Some((from, _)) = self.state.pending_from.take() {
            forget_files(&mut self.files, &from);
            self.ops.push(WatchOp::Gone(from.clone()));
            self.state
                .emit(scope, out, Kind::Remove, "remove", from, None);
        }
    }

    /// One change: update what is known, say what to report (`out`) and
    /// what the backend must do with its watches (`self.ops`).
    fn handle(&mut self, change: Change, scope: &Scope, out: &mut Vec<WatchEvent>) {
        let now = self.now;
        // The second half of a rename follows its first half at once.
        if let Some((_, cookie)) = &self.state.pending_from {
            let pairs = matches!(&change,
                Change::MovedTo { cookie: Some(c), .. } if c == cookie);
            if !pairs {
                self.flush_rename(scope, out);
            }
        }
        let state = &mut self.state;
        match change {
            Change::Overflow => {
                self.ops.push(WatchOp::Rescan);
                out.push(WatchEvent {
                    kind: "overflow",
                    path: None,
                    from: None,
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
                if state.synthetic.remove(&path) {
                    return;
                }
                if is_dir {
                    if scope.recursive && scope.in_tree(&path) && !scope.ignored(&path, true) {
                        self.ops.push(WatchOp::New(path.clone()));
                    }
                } else {
                    self.files.insert(path.clone());
                }
                state.writing.start(&path, now);
                state.emit(scope, out, Kind::Create, "create", path, None);
            }
            Change::MovedFrom { path, cookie } => state.pending_from = Some((path, cookie)),
            Change::SelfMoved(path) => {
                // Only news for a watched root: a directory below one is
                // reported by its parent's events.
                if scope.roots.iter().any(|r| r.is_dir && r.path == path) {
                    self.live_roots = self.live_roots.saturating_sub(1);
                    self.ops.push(WatchOp::Gone(path.clone()));
                    state.emit(scope, out, Kind::Remove, "remove", path.clone(), None);
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
                let from = match state.pending_from.take() {
                    Some((from, c)) if cookie == Some(c) => Some(from),
                    other => {
                        state.pending_from = other;
                        None
                    }
                };
                // Renamed over an existing file: that file was replaced.
                let replaced = self.files.contains(&path);
                if let Some(from) = &from {
                    move_files(&mut self.files, from, &path);
                }
                if is_dir {
                    let watched =
                        scope.recursive && scope.in_tree(&path) && !scope.ignored(&path, true);
                    self.ops.push(match (&from, watched) {
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
                state.writing.end();
                match from {
                    Some(from) if replaced => {
                        state.emit(scope, out, Kind::Modify, "modify", path, Some(from));
                    }
                    Some(from) => state.emit(scope, out, Kind::Rename, "rename", path, Some(from)),
                    // Moved in from outside: new here.
                    None => state.emit(scope, out, Kind::Create, "create", path, None),
                }
            }
            Change::Attrib(path) => state.emit(scope, out, Kind::Attrib, "attrib", path, None),
            Change::Modified(path) => {
                if !state.writing.goes_on(&path, now) {
                    state.writing.start(&path, now);
                    state.emit(scope, out, Kind::Modify, "modify", path, None);
                }
            }
            Change::ClosedWrite(path) => {
                if state.writing.is(&path) {
                    state.writing.end();
                }
            }
            Change::Removed(path) => {
                forget_files(&mut self.files, &path);
                let is_root = scope.roots.iter().any(|r| r.is_dir && r.path == path);
                // A directory's own delete and its parent's: report once.
                let double = state
                    .last
                    .as_ref()
                    .is_some_and(|l| l.kind == "remove" && l.path.as_ref() == Some(&path));
                if !double {
                    self.ops.push(WatchOp::Gone(path.clone()));
                    if is_root {
                        self.live_roots = self.live_roots.saturating_sub(1);
                        eprintln!(
                            "fkit: watch: {}: watched directory was removed",
                            shown(&path)
                        );
                    }
                    state.emit(scope, out, Kind::Remove, "remove", path, None);
                }
            }
        }
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

/// What the event loop remembers between kernel events.
#[derive(Default)]
struct State {
    /// The first half of a rename (path, cookie), until its second half
    /// arrives.
    pending_from: Option<(PathBuf, usize)>,
    /// The last file created or modified, to report one modify per write
    /// session rather than one per write(2).
    writing: Session,
    /// The last reported event, to drop the kernel's doubles (a directory's
    /// own delete and its parent's).
    last: Option<WatchEvent>,
    /// Paths reported by scanning a new directory; their own create events
    /// may still arrive.
    synthetic: HashSet<PathBuf>,
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

impl State {
    fn emit(
        &mut self,
        scope: &Scope,
        out: &mut Vec<WatchEvent>,
        kind: Kind,
        name: &'static str,
        path: PathBuf,
        from: Option<PathBuf>,
    ) {
        if !scope.kinds.contains(kind) {
            return;
        }
        let wanted = scope.wants(&path) || from.as_deref().is_some_and(|f| scope.wants(f));
        if !wanted {
            return;
        }
        let event = WatchEvent {
            kind: name,
            path: Some(path),
            from,
        };
        // Only removes are compared (see `last`): no need to copy others.
        if kind == Kind::Remove || self.last.is_some() {
            self.last = (kind == Kind::Remove).then(|| event.clone());
        }
        out.push(event);
    }
}

impl Scope {
    fn new(
        roots: Vec<Root>,
        kinds: Kinds,
        globs: Option<(GlobSet, GlobSet)>,
        ignores: Option<(GlobSet, GlobSet)>,
        recursive: bool,
    ) -> Scope {
        let everything = globs.is_none()
            && ignores.is_none()
            && roots.iter().all(|r| r.is_dir && r.gitignore.is_none());
        Scope {
            roots,
            nested: Mutex::new(HashMap::new()),
            kinds,
            globs,
            ignores,
            recursive,
            everything,
        }
    }

    /// Under a directory root being watched recursively.
    fn in_tree(&self, path: &Path) -> bool {
        self.roots
            .iter()
            .any(|r| r.is_dir && path.starts_with(&r.path))
    }

    /// The root that `path` belongs to, if any.
    fn root_of(&self, path: &Path) -> Option<&Root> {
        self.roots.iter().find(|r| {
            if r.is_dir {
                path.starts_with(&r.path)
            } else {
                path == r.path
            }
        })
    }

    fn ignored(&self, path: &Path, is_dir: bool) -> bool {
        let Some(root) = self.root_of(path) else {
            return false;
        };
        let rel = path.strip_prefix(&root.path).unwrap_or(path);
        if let Some((names, paths)) = &self.ignores {
            let mut p = Some(rel);
            // An ignored directory hides everything under it.
            while let Some(part) = p.filter(|p| !p.as_os_str().is_empty()) {
                if paths.is_match(part) || part.file_name().is_some_and(|n| names.is_match(n)) {
                    return true;
                }
                p = part.parent();
            }
        }
        let Some(gi) = &root.gitignore else {
            return false;
        };
        if rel.as_os_str().is_empty() {
            return false;
        }
        // As in git, a deeper .gitignore decides before a shallower one.
        let mut dir = rel.parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            if let Some(nested) = self.nested_gitignore(&root.path.join(d))
                && let Ok(sub) = rel.strip_prefix(d)
            {
                let verdict = nested.matched_path_or_any_parents(sub, is_dir);
                if verdict.is_ignore() {
                    return true;
                }
                if verdict.is_whitelist() {
                    return false;
                }
            }
            dir = d.parent();
        }
        gi.matched_path_or_any_parents(rel, is_dir).is_ignore()
    }

    /// The .gitignore of a directory below a root, read once when first needed.
    fn nested_gitignore(&self, dir: &Path) -> Option<Arc<Gitignore>> {
        let mut cache = self.nested.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                let file = dir.join(".gitignore");
                if !file.is_file() {
                    return None;
                }
                let mut builder = GitignoreBuilder::new(dir);
                builder.add(file);
                builder.build().ok().map(Arc::new)
            })
            .clone()
    }

    /// Reported: inside a root, not ignored, and matching --glob if given.
    fn wants(&self, path: &Path) -> bool {
        if self.everything {
            return true; // (a backend only reports paths under its roots)
        }
        let Some(root) = self.root_of(path) else {
            return false;
        };
        if self.ignored(path, false) {
            return false;
        }
        match &self.globs {
            None => true,
            Some((names, paths)) => {
                let rel = path.strip_prefix(&root.path).unwrap_or(path);
                paths.is_match(rel) || path.file_name().is_some_and(|n| names.is_match(n))
            }
        }
    }
}

/// Globs without `/` match a file name; the others a path relative to the
/// watched directory.
fn glob_sets(globs: &[String]) -> Result<Option<(GlobSet, GlobSet)>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
    for text in globs {
        let glob = Glob::new(text).map_err(|e| Exit::usage(format!("bad glob \"{text}\": {e}")))?;
        if text.contains('/') {
            paths.add(glob);
        } else {
            names.add(glob);
        }
    }
    Ok(Some((names.build()?, paths.build()?)))
}

fn gitignore_of(dir: &Path) -> Gitignore {
    let mut builder = GitignoreBuilder::new(dir);
    builder.add(dir.join(".gitignore"));
    builder.add(dir.join(".git/info/exclude"));
    let _ = builder.add_line(None, ".git/");
    builder.build().unwrap_or_else(|_| Gitignore::empty())
}

/// A path as the user wrote it, without `./` parts.
fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn shown(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        ".".into()
    } else {
        path.display().to_string()
    }
}

/// A path for output: "." for the current directory.
struct Shown<'a>(&'a Path);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.as_os_str().is_empty() {
            f.write_str(".")
        } else {
            self.0.display().fmt(f)
        }
    }
}

impl serde::Serialize for Shown<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One line of --format json.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    time: &'a str,
    kind: &'a str,
    path: Option<Shown<'a>>,
    from: Option<Shown<'a>>,
}

/// A path in text output: its bytes as the kernel has them on Unix (as
/// inotifywait prints them), "." for the current directory.
fn write_path(out: &mut impl Write, path: &Path) -> io::Result<()> {
    if path.as_os_str().is_empty() {
        return out.write_all(b".");
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        out.write_all(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    write!(out, "{}", path.display())
}

/// `now` in RFC 3339, UTC, with milliseconds (`2026-11-25T14:51:31.716Z`).
fn stamp(now: SystemTime) -> [u8; 24] {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::io::time::rfc3339_millis(i64::try_from(since.as_millis()).unwrap_or(0))
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

/// Prints events, or gathers a burst of them for --debounce and --exec.
struct Reporter {
    format: Format,
    /// Straight to fd 1: std's Stdout would add a lock and a line buffer.
    out: io::BufWriter<RawStdout>,
    burst: Vec<WatchEvent>,
    in_burst: HashSet<WatchEvent>,
    /// Changed paths for the next --exec run.
    changed: Vec<PathBuf>,
    in_changed: HashSet<PathBuf>,
    for_exec: bool,
}

impl Reporter {
    fn new(format: Format, for_exec: bool) -> Reporter {
        Reporter {
            format,
            out: io::BufWriter::with_capacity(64 * 1024, RawStdout::new()),
            burst: Vec::new(),
            in_burst: HashSet::new(),
            changed: Vec::new(),
            in_changed: HashSet::new(),
            for_exec,
        }
    }

    /// Print `events` with one write(2), so that each line is out at once.
    fn print(&mut self, events: &[WatchEvent], now: SystemTime) -> Result<()> {
        let time = stamp(now);
        let out = &mut self.out;
        for event in events {
            match self.format {
                // Byte slices into the buffer: this runs between the
                // kernel's event and the printed line.
                Format::Text => {
                    out.write_all(&time)?;
                    out.write_all(b" ")?;
                    out.write_all(event.kind.as_bytes())?;
                    if let Some(from) = &event.from
                        && event.kind == "rename"
                    {
                        out.write_all(b" ")?;
                        write_path(out, from)?;
                        out.write_all(b" ->")?;
                    }
                    if let Some(path) = &event.path {
                        out.write_all(b" ")?;
                        write_path(out, path)?;
                    }
                    out.write_all(b"\n")?;
                }
                Format::Json => {
                    let line = JsonLine {
                        time: std::str::from_utf8(&time).unwrap_or_default(),
                        kind: event.kind,
                        path: event.path.as_deref().map(Shown),
                        from: event.from.as_deref().map(Shown),
                    };
                    serde_json::to_writer(&mut *out, &line)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        out.flush()?;
        Ok(())
    }

    fn collect(&mut self, events: &[WatchEvent]) {
        for event in events {
            if self.for_exec {
                // A saved file's temporary name is gone: not worth passing on.
                if let Some(from) = &event.from
                    && event.kind == "modify"
                {
                    self.in_changed.remove(from);
                    self.changed.retain(|p| p != from);
                }
                if let Some(p) = &event.path
                    && self.in_changed.insert(p.clone())
                {
                    self.changed.push(p.clone());
                }
            } else if self.in_burst.insert(event.clone()) {
                self.burst.push(event.clone());
            }
        }
    }

    fn print_burst(&mut self) -> Result<()> {
        let burst = std::mem::take(&mut self.burst);
        self.in_burst.clear();
        self.print(&burst, SystemTime::now())
    }

    fn take_changed(&mut self) -> Vec<PathBuf> {
        self.in_changed.clear();
        std::mem::take(&mut self.changed)
    }
}

/// Runs --exec CMD, one run at a time.
struct Runner {
    command: String,
    restart: bool,
    clear: bool,
    /// Pid (and process group) of the running CMD.
    running: Option<u32>,
    done: (Sender<ExitStatus>, Receiver<ExitStatus>),
    /// A burst settled: run (again) as soon as nothing runs.
    pending: bool,
    /// Runs started so far.
    runs: usize,
    last_code: i32,
}

impl Runner {
    fn burst(&mut self) {
        self.pending = true;
        if self.restart
            && let Some(pid) = self.running
        {
            kill_group(pid, libc::SIGTERM);
            // The waiter thread reports its end; start_if_due waits for it.
            if let Ok(status) = self.done.1.recv_timeout(Duration::from_secs(5)) {
                self.finished(status);
            } else {
                kill_group(pid, libc::SIGKILL);
                if let Ok(status) = self.done.1.recv() {
                    self.finished(status);
                }
            }
        }
    }

    fn finished(&mut self, status: ExitStatus) {
        self.running = None;
        signal::stop_forwarding();
        self.last_code = exit_code_of(status);
    }

    /// A run was started and has ended (for --once).
    fn ran(&self) -> bool {
        self.running.is_none() && self.runs > 0
    }

    fn start_if_due(&mut self, reporter: &mut Reporter) -> Result<()> {
        if !self.pending || self.running.is_some() {
            return Ok(());
        }
        self.pending = false;
        let paths = reporter.take_changed();
        if self.clear {
            reporter.out.write_all(b"\x1b[2J\x1b[3J\x1b[H")?;
            reporter.out.flush()?;
        }
        let list: Vec<String> = paths.iter().map(|p| shown(p)).collect();
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(&self.command)
            .env("FKIT_PATHS", list.join("\n"));
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group, so --restart stops all it started.
            command.process_group(0);
        }
        let held = signal::hold();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot run {}", self.command))?;
        let pid = child.id();
        self.running = Some(pid);
        self.runs += 1;
        // The child leads its own group (on unix): a signal reaches all it started.
        #[cfg(unix)]
        signal::forward_to_group(pid);
        #[cfg(not(unix))]
        signal::forward_to(pid);
        drop(held);
        let tx = self.done.0.clone();
        std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(status);
            }
        });
        Ok(())
    }

    /// fkit is ending: end CMD and all it started first.
    fn stop(&mut self, sig: i32) {
        if let Some(pid) = self.running {
            kill_group(pid, sig);
            if self.done.1.recv_timeout(Duration::from_secs(5)).is_err() {
                kill_group(pid, libc::SIGKILL);
            }
            self.running = None;
            signal::stop_forwarding();
        }
    }
}

fn kill_group(pid: u32, sig: i32) {
    #[cfg(unix)]
    unsafe {
        libc::kill(-(pid as libc::pid_t), sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn scope(root: &str, globs: &[&str], ignores: &[&str]) -> Scope {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Scope::new(
            vec![Root {
                path: normal(Path::new(root)),
                abs: PathBuf::from("/work/x").join(normal(Path::new(root))),
                is_dir: true,
                gitignore: None,
            }],
            [Kind::Create, Kind::Modify, Kind::Remove, Kind::Rename]
                .into_iter()
                .collect(),
            glob_sets(&own(globs)).unwrap(),
            glob_sets(&own(ignores)).unwrap(),
            true,
        )
    }

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

    fn moved_from(path: &str, cookie: usize) -> Change {
        Change::MovedFrom {
            path: path.into(),
            cookie,
        }
    }

    fn core() -> Core {
        Core {
            state: State::default(),
            files: BTreeSet::new(),
            reporter: Reporter::new(Format::Text, false),
            live_roots: 1,
            seen_any: false,
            immediate: true,
            once: false,
            done: false,
            seen_new: HashSet::new(),
            ops: Vec::new(),
            now: SystemTime::now(),
        }
    }

    fn event(kind: &'static str, path: &str, from: Option<&str>) -> WatchEvent {
        WatchEvent {
            kind,
            path: Some(path.into()),
            from: from.map(PathBuf::from),
        }
    }

    #[test]
    fn globs_match_names_or_relative_paths() {
        let s = scope("src", &["*.rs", "doc/**/*.md"], &["target", "*.tmp"]);
        assert!(s.wants(Path::new("src/deep/a.rs")));
        assert!(s.wants(Path::new("src/doc/x/y.md")));
        assert!(!s.wants(Path::new("src/a.c")));
        assert!(!s.wants(Path::new("src/target/a.rs")));
        assert!(!s.wants(Path::new("src/b.tmp")));
        assert!(!s.wants(Path::new("elsewhere/a.rs")));
        assert!(s.ignored(Path::new("src/target"), true));
    }

    #[test]
    fn a_renamed_directory_takes_its_watches_along() {
        let (s, mut c, mut out) = (scope("w", &[], &[]), core(), Vec::new());
        c.files.insert("w/a/f".into());
        c.handle(moved_from("w/a", 7), &s, &mut out);
        assert!(out.is_empty(), "the first half waits for the second");
        let to = Change::MovedTo {
            path: "w/b".into(),
            cookie: Some(7),
            is_dir: true,
        };
        c.handle(to, &s, &mut out);
        assert_eq!(out, [event("rename", "w/b", Some("w/a"))]);
        let moved = WatchOp::Moved {
            from: "w/a".into(),
            to: "w/b".into(),
        };
        assert_eq!(c.ops, [moved]);
        assert_eq!(c.files.iter().collect::<Vec<_>>(), [Path::new("w/b/f")]);
    }

    #[test]
    fn a_move_out_of_sight_is_a_remove() {
        let (s, mut c, mut out) = (scope("w", &[], &[]), core(), Vec::new());
        c.handle(moved_from("w/a", 7), &s, &mut out);
        c.handle(Change::Modified("w/x".into()), &s, &mut out);
        assert_eq!(
            out,
            [event("remove", "w/a", None), event("modify", "w/x", None)]
        );
        assert_eq!(c.ops, [WatchOp::Gone("w/a".into())]);
        // Or nothing more comes.
        let (mut c, mut out) = (core(), Vec::new());
        c.handle(moved_from("w/a", 7), &s, &mut out);
        c.quiet(&s, &mut out);
        assert_eq!(out, [event("remove", "w/a", None)]);
    }

    #[test]
    fn a_rename_over_a_known_file_is_a_save() {
        let (s, mut c, mut out) = (scope("w", &[], &[]), core(), Vec::new());
        c.files.insert("w/f".into());
        c.handle(moved_from("w/.f.swp", 3), &s, &mut out);
        let to = Change::MovedTo {
            path: "w/f".into(),
            cookie: Some(3),
            is_dir: false,
        };
        c.handle(to, &s, &mut out);
        assert_eq!(out, [event("modify", "w/f", Some("w/.f.swp"))]);
        assert!(c.ops.is_empty());
    }

    #[test]
    fn one_modify_per_write_session() {
        let (s, mut c, mut out) = (scope("w", &[], &[]), core(), Vec::new());
        for _ in 0..3 {
            c.handle(Change::Modified("w/f".into()), &s, &mut out);
        }
        c.handle(Change::ClosedWrite("w/f".into()), &s, &mut out);
        c.handle(Change::Modified("w/f".into()), &s, &mut out);
        assert_eq!(
            out,
            [event("modify", "w/f", None), event("modify", "w/f", None)]
        );
    }

    #[test]
    fn time_stamps_are_rfc3339_utc_millis() {
        for ms in [0, 951_782_400_500, 1_767_225_599_999, 1_795_000_000_123] {
            let t = UNIX_EPOCH + Duration::from_millis(ms);
            let want = crate::cmd::lock::rfc3339(ms as f64 / 1000.0);
            assert_eq!(std::str::from_utf8(&stamp(t)).unwrap(), want);
        }
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
