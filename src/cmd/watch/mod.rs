//! `fkit watch`: report file changes as they happen (inotifywait -m), or run
//! a command after each burst of changes (entr, watchexec).
//!
//! A backend (`backend/`: inotify on Linux, the notify crate elsewhere)
//! watches the directories in the `scope`, and on a thread of its own turns
//! what it sees into events (`events`) that it delivers (`report`): printed
//! at once, or gathered. This thread keeps the time: it settles bursts for
//! --debounce and --exec (`runner`), and ends the watch for --once,
//! --timeout, a signal, or when nothing is left to watch.

mod backend;
mod events;
mod kind;
mod report;
mod runner;
mod scope;
mod template;

use self::backend::{Backend, Core, News, Platform, Poll, lock};
use self::events::Tracker;
use self::kind::{Kind, Kinds, kinds_parser};
use self::report::{Format, Reporter};
use self::runner::{EmitEvents, OnBusy, Program, Runner, parse_duration, parse_env, parse_signal};
use self::scope::{Root, Scope, glob_sets, ignore_files, regex_set, watch_list};
use self::template::{Given, Template};
use crate::io::{Exit, signal};
use anyhow::Result;
use crossbeam_channel::select;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Watch files and directories; print each change, or run a command.
///
/// Prints one line per change, flushed at once (so `fkit watch . | grep`
/// works): `<time> <kind> <path>`, or with --format json one JSON object per
/// line: {"time", "kind", "path", "from"}. Kinds: create, modify, remove,
/// rename (`from -> path`), attrib, close_write (a file open for writing
/// was closed: written, as after an upload or a copy; inotify only),
/// access, open and close_nowrite (read, opened, closed unwritten; only
/// when -e asks for them), and overflow when the kernel's event queue
/// overflowed and changes were lost (rescan if you keep state). -e also
/// takes inotifywait's names: delete, delete_self, move_self (remove),
/// move, moved_from, moved_to (rename), close (close_write and
/// close_nowrite).
///
/// With a command, runs it at the start (unless --postpone) and again after
/// each burst of changes has settled for --debounce milliseconds (default
/// 50): `-- PROGRAM ARGS...` runs without a shell, and an argument `{}`
/// becomes the changed paths, one argument each (at the first run, the
/// watched paths); --exec CMD (-c CMD) runs `sh -c CMD` (or --shell SH).
/// Either way the changed paths are in FKIT_PATHS, one per line (empty at
/// the first run); --emit-events stdin writes the events themselves to its
/// stdin as JSON lines (as --format json prints them) and closes it,
/// --emit-events file writes them to a file named by FKIT_EVENTS_FILE (as
/// watchexec's --emit-events-to json-stdio and json-file do). -E KEY=VALUE
/// adds to the environment, --workdir DIR runs it in DIR. Never two runs
/// at once; a burst while it runs does what --on-busy says: queue (one
/// more run when it ends, the default), restart (--restart: stop it and
/// start it again), do-nothing, or signal (send it --signal and let it go
/// on). A command is stopped with --stop-signal (TERM) to its process
/// group, then SIGKILL after --stop-timeout (5s).
/// With --once, it waits for the first change, runs once, and exits with
/// the command's status.
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
///   fkit watch -r src -- cargo test          # test now and after changes
///   fkit watch -r . --restart -- ./server    # restart a server (entr -r)
///   fkit watch -r . --on-busy signal --signal HUP -- ./server   # reload it
///   fkit watch -r src --ext rs --postpone -- rustfmt {}  # format each changed file
///   fkit watch -r src -c 'make && ./test.sh' --postpone
///   fkit watch -r src --emit-events stdin -- ./on-change.py  # JSON events on stdin
///   fkit watch config.toml --once --timeout 60     # wait for one change
///   fkit watch /srv/in -e close_write -- ./ingest {}  # each upload, once written
///   fkit watch -r d --format '%T %w%f %e' --timefmt '%H:%M:%S'  # as inotifywait
///   fkit watch -r d --csv -e create,close_write
///   find /srv -name incoming | fkit watch --fromfile - --exclude '\.part$'
///   fkit watch -r /srv/in -e create,rename --exec 'process "$FKIT_PATHS"'
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("run").args(["exec", "command"])))]
pub struct Args {
    /// Files and directories to watch (default: the current directory);
    /// `@PATH` leaves PATH (and all under it) out, as in inotifywait.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Also watch the paths in FILE, one a line (`-`: stdin); a line
    /// `@PATH` leaves PATH out (inotifywait's --fromfile).
    #[arg(long, value_name = "FILE")]
    fromfile: Option<PathBuf>,

    /// Watch directories recursively, including ones created later.
    #[arg(short, long)]
    recursive: bool,

    /// Only these kinds of change, comma-separated.
    #[arg(
        short,
        long = "events",
        value_name = "KINDS",
        value_delimiter = ',',
        value_parser = kinds_parser(),
        default_value = "create,modify,remove,rename"
    )]
    events: Vec<Kinds>,

    /// Only paths matching this glob (`*.rs`, `src/**/*.c`); repeatable.
    /// A glob without `/` matches the file name.
    #[arg(long, value_name = "GLOB")]
    glob: Vec<String>,

    /// Only files with these extensions, comma-separated (`--ext rs,toml`
    /// is `--glob '*.rs' --glob '*.toml'`).
    #[arg(long, value_name = "EXTS", value_delimiter = ',')]
    ext: Vec<String>,

    /// Ignore paths matching this glob (and, for a directory, all under it).
    #[arg(long, value_name = "GLOB")]
    ignore: Vec<String>,

    // (Boxed: the subcommands' arguments share one enum.)
    #[command(flatten)]
    patterns: Box<Patterns>,

    /// Ignore what the .gitignore and .ignore files in the watched
    /// directories (and below) and .git/info/exclude ignore.
    #[arg(long)]
    gitignore: bool,

    /// Ignore what FILE (in .gitignore's syntax) ignores, its patterns
    /// matched against paths relative to each watched directory; repeatable.
    #[arg(long, value_name = "FILE")]
    ignore_file: Vec<PathBuf>,

    /// Watch version-control directories too (.git, .hg, .svn: left out
    /// by default).
    #[arg(long)]
    include_vcs: bool,

    #[command(flatten)]
    printing: Box<Printing>,

    /// Wait until changes pause for MS milliseconds, then report the burst
    /// once (each path once per kind) or run the command once.
    #[arg(long, value_name = "MS")]
    debounce: Option<u64>,

    /// Exit after the first change (with a command: after its run that
    /// the first change starts).
    #[arg(long)]
    once: bool,

    /// Look for changes every INTERVAL (default 1s; `--poll=250ms`)
    /// instead of asking the kernel: for NFS and other network shares,
    /// Docker volumes and WSL, where no events come. Sees create, modify,
    /// remove, rename (by inode) and attrib (mode); -e with close_write,
    /// access, open or close_nowrite is an error.
    #[arg(long, value_name = "INTERVAL", num_args = 0..=1, require_equals = true,
          default_missing_value = "1s", value_parser = parse_duration)]
    poll: Option<Duration>,

    /// Stop after SECONDS (exit 0; with --once and no change, exit 2 as
    /// inotifywait -t does).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,

    /// Run this shell command (`sh -c CMD`, or --shell) at the start and
    /// after each burst of changes.
    #[arg(short = 'c', long, value_name = "CMD", conflicts_with = "command")]
    exec: Option<String>,

    /// The shell that runs --exec CMD as `SH -c CMD` (default: sh; on
    /// Windows cmd, as `cmd /C CMD`).
    #[arg(long, value_name = "SH", requires = "exec")]
    shell: Option<String>,

    /// With a command: do not run it at the start; wait for the first change.
    #[arg(long, requires = "run")]
    postpone: bool,

    /// With a command: what a burst of changes does while it still runs.
    #[arg(long, value_enum, value_name = "POLICY", requires = "run")]
    on_busy: Option<OnBusy>,

    /// Same as --on-busy restart (entr -r).
    #[arg(long, requires = "run", conflicts_with = "on_busy")]
    restart: bool,

    /// The signal a change sends to a running command with --on-busy
    /// signal or restart (default: the --stop-signal).
    #[arg(long, value_name = "SIG", value_parser = parse_signal, requires = "run")]
    signal: Option<i32>,

    /// The signal that stops the command (at a restart, and when --timeout
    /// ends fkit; a signal fkit receives is passed on as it is).
    #[arg(long, value_name = "SIG", value_parser = parse_signal, default_value = "TERM")]
    stop_signal: i32,

    /// How long a stopped command has to end before SIGKILL (5s, 500ms, 1m).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "5s")]
    stop_timeout: Duration,

    /// With a command: set this environment variable for it; repeatable.
    #[arg(short = 'E', long = "env", value_name = "KEY=VALUE", value_parser = parse_env,
          requires = "run")]
    env: Vec<(String, String)>,

    /// With a command: run it in DIR (the changed paths are then absolute).
    #[arg(long, value_name = "DIR", requires = "run")]
    workdir: Option<PathBuf>,

    /// With a command: give it the events that led to the run as JSON
    /// lines, on its stdin (then closed) or in a file whose path is in
    /// FKIT_EVENTS_FILE.
    #[arg(long, value_enum, value_name = "WHERE", requires = "run")]
    emit_events: Option<EmitEvents>,

    /// With a command: clear the screen before each run.
    #[arg(long, requires = "run")]
    clear: bool,

    /// The command to run and its arguments, after `--`, without a shell;
    /// an argument `{}` becomes the changed paths, one argument each.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// How events are printed (boxed: see `patterns`).
#[derive(clap::Args, Debug)]
struct Printing {
    /// Output format: text, json, or a template with inotifywait's
    /// conversions: %w the watched directory (with a `/`) or file, %f the
    /// name in it, %e the event's names in inotifywait's spelling
    /// (CREATE, MODIFY, DELETE, MOVED_FROM and MOVED_TO, CLOSE_WRITE,CLOSE,
    /// ...,ISDIR), %Xe the same separated by X, %T the time (--timefmt;
    /// RFC 3339 without it), %0 a NUL, %n a line feed, %% a %.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: String,

    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    json: bool,

    /// The time as %T of --format prints it: a strftime(3) format, in
    /// local time (`%Y-%m-%d %H:%M:%S`, `%s`).
    #[arg(long, value_name = "FMT")]
    timefmt: Option<String>,

    /// Print as inotifywait --csv does: `%w,%e,%f`, a field quoted when it
    /// holds a comma, a quote or a line break.
    #[arg(long, conflicts_with_all = ["format", "json", "timefmt"])]
    csv: bool,

    /// With a --format template: no line feed after each event.
    #[arg(long)]
    no_newline: bool,
}

/// inotifywait's regular expressions.
#[derive(clap::Args, Debug)]
struct Patterns {
    /// Only paths this regular expression matches (inotifywait's
    /// --include: on the path as printed, a directory's also with a `/`);
    /// repeatable: any of them.
    #[arg(long, value_name = "REGEX")]
    include: Vec<String>,

    /// --include, ignoring case.
    #[arg(long, value_name = "REGEX")]
    includei: Vec<String>,

    /// Leave out paths this regular expression matches, and a matching
    /// directory with all under it (inotifywait's --exclude); repeatable.
    #[arg(long, value_name = "REGEX")]
    exclude: Vec<String>,

    /// --exclude, ignoring case.
    #[arg(long, value_name = "REGEX")]
    excludei: Vec<String>,
}

pub fn run(args: Args) -> Result<()> {
    let extensions = args
        .ext
        .iter()
        .map(|e| format!("*.{}", e.trim_start_matches('.')));
    let globs: Vec<String> = args.glob.iter().cloned().chain(extensions).collect();
    let kinds = args
        .events
        .iter()
        .fold(Kinds::default(), |all, k| all.union(*k));
    if args.poll.is_some() {
        // A listing shows no opens, reads or closes: asked for, they would
        // never come, and the watch would wait for nothing.
        let unseen = [
            Kind::CloseWrite,
            Kind::Access,
            Kind::Open,
            Kind::CloseNowrite,
        ];
        if let Some(kind) = unseen.into_iter().find(|k| kinds.contains(*k)) {
            return Err(Exit::usage(format!(
                "--poll cannot see {}: it sees create, modify, remove, rename and attrib",
                kind.name()
            ))
            .into());
        }
    }
    let (paths, excluded) = watch_list(&args.paths, args.fromfile.as_deref())?;
    let scope = Arc::new(
        Scope::new(
            Root::given(&paths, args.gitignore)?,
            kinds,
            glob_sets(&globs)?,
            glob_sets(&args.ignore)?,
            args.recursive,
        )
        .ignoring(ignore_files(&args.ignore_file)?, args.include_vcs)
        .filtering(
            regex_set(&args.patterns.include, &args.patterns.includei)?,
            regex_set(&args.patterns.exclude, &args.patterns.excludei)?,
            excluded,
        ),
    );
    let format = format_of(*args.printing, &scope)?;
    let program = match (args.exec, args.command) {
        (Some(script), _) => Some(Program::Shell {
            shell: args.shell,
            script,
        }),
        (None, command) if !command.is_empty() => Some(Program::Args(command)),
        _ => None,
    };
    let runner = match program {
        Some(program) => Some(
            Runner::new(program, args.stop_signal, args.stop_timeout)
                .on_busy(
                    match args.restart {
                        true => OnBusy::Restart,
                        false => args.on_busy.unwrap_or(OnBusy::Queue),
                    },
                    args.signal,
                )
                // --once waits for a change, runs the command and exits.
                .postpone(args.postpone || args.once)
                .clear(args.clear)
                .env(args.env)
                .roots(scope.roots.iter().map(|r| r.path.clone()).collect())
                .workdir(args.workdir)?
                .emit_events(args.emit_events)?,
        ),
        None => None,
    };
    let immediate = runner.is_none() && args.debounce.unwrap_or(0) == 0;
    let core = Arc::new(Mutex::new(Core {
        tracker: Tracker::new(&scope),
        reporter: Reporter::new(format, runner.is_some(), immediate, args.once)?
            .keep_run_events(args.emit_events.is_some()),
    }));

    // Changes are handled, and printed, on the backend's thread as they
    // come (one thread wake-up between the kernel and stdout); this thread
    // keeps the time: --debounce, --exec, --once, --timeout, signals.
    let debounce =
        Duration::from_millis(
            args.debounce
                .unwrap_or(if runner.is_some() { 50 } else { 0 }),
        );
    let timing = Timing {
        debounce,
        deadline: args
            .timeout
            .map(|s| Instant::now() + Duration::from_secs_f64(s)),
        once: args.once,
    };
    // The backend's news (kept open here: a backend's thread that ended
    // has said why with News::Fail).
    let (tx, news) = crossbeam_channel::unbounded();
    match args.poll {
        Some(interval) => {
            let backend = Poll::start(interval, Arc::clone(&scope), Arc::clone(&core))?;
            watch(backend, &crossbeam_channel::never(), &core, runner, timing)
        }
        None => {
            let backend = Platform::start(Arc::clone(&scope), Arc::clone(&core), tx.clone())?;
            watch(backend, &news, &core, runner, timing)
        }
    }
}

/// How events are printed, from the printing options.
fn format_of(printing: Printing, scope: &Scope) -> Result<Format> {
    let format = match (printing.json, printing.csv) {
        (true, _) => Format::Json,
        (_, true) => Format::Inotifywait(Box::new(Template::csv())),
        _ => Format::parse(&printing.format)?,
    };
    match format {
        Format::Inotifywait(template) => {
            let roots = scope.roots.iter().map(|r| Given {
                path: r.path.clone(),
                typed: r.typed.clone(),
                is_dir: r.is_dir,
            });
            let template = template
                .timefmt(printing.timefmt)?
                .newline(!printing.no_newline)
                .roots(roots.collect());
            Ok(Format::Inotifywait(Box::new(template)))
        }
        // As inotifywait: only a template shows the time as it says.
        _ if printing.timefmt.is_some() || printing.no_newline => {
            Err(Exit::usage("--timefmt and --no-newline need a --format template").into())
        }
        other => Ok(other),
    }
}

/// When the main thread acts: after --debounce, at --timeout, --once.
struct Timing {
    debounce: Duration,
    deadline: Option<Instant>,
    once: bool,
}

/// The main thread's loop, with the watches in place.
fn watch<B: Backend>(
    mut backend: B,
    news: &crossbeam_channel::Receiver<News<B::Errand>>,
    core: &Mutex<Core>,
    mut runner: Option<Runner>,
    timing: Timing,
) -> Result<()> {
    let Timing {
        debounce,
        deadline,
        once,
    } = timing;
    // The first run, once the watches are in place: nothing it changes is
    // missed.
    if let Some(r) = runner.as_mut() {
        r.start_if_due(&mut lock(core).reporter)?;
    }
    let mut burst_deadline: Option<Instant> = None;

    loop {
        // How long to sleep: until the burst settles, the backend's next
        // look, the timeout, or a periodic check for signals and the roots.
        let now = Instant::now();
        let backend_wake = backend.wake_within().map(|d| now + d);
        let wake = [burst_deadline, backend_wake, deadline]
            .into_iter()
            .flatten()
            .fold(now + Duration::from_millis(100), Instant::min);
        let never = crossbeam_channel::never();
        let run_ended = runner.as_ref().map_or(&never, Runner::ended);
        select! {
            recv(news) -> news => match news {
                Ok(News::Activity) => burst_deadline = Some(Instant::now() + debounce),
                Ok(News::Errand(errand)) => {
                    if backend.run_errand(errand)? {
                        burst_deadline = Some(Instant::now() + debounce);
                    }
                }
                Ok(News::Fail(e)) => return Err(e),
                Err(_) => break,
            },
            recv(run_ended) -> code => {
                if let (Some(r), Ok(code)) = (runner.as_mut(), code) {
                    r.finished(code);
                }
            }
            default(wake.saturating_duration_since(now)) => {
                if backend.idle()? {
                    burst_deadline = Some(Instant::now() + debounce);
                }
            }
        }
        let now = Instant::now();
        if burst_deadline.is_some_and(|t| t <= now) {
            burst_deadline = None;
            match runner.as_mut() {
                Some(r) => {
                    if !r.burst() {
                        lock(core).reporter.forget_changes();
                    }
                }
                None => lock(core).reporter.print_burst()?,
            }
        }
        let (seen_any, done, live_roots) = {
            let core = lock(core);
            (
                core.reporter.seen_any(),
                core.reporter.done(),
                core.tracker.live_roots(),
            )
        };
        if let Some(r) = runner.as_mut() {
            r.start_if_due(&mut lock(core).reporter)?;
            if once && r.ran() {
                return match r.last_code() {
                    0 => Ok(()),
                    code => Err(Exit::silent(code).into()),
                };
            }
        } else if once && (done || (seen_any && burst_deadline.is_none())) {
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
                r.stop_at_exit();
            }
            return match (once, seen_any) {
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
