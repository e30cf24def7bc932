mod common;

use common::{Background, Workdir};
use crossbeam_channel::{Receiver, unbounded};
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A running `fkit watch` whose output lines arrive on a channel; killed
/// when dropped, so that a failed assertion leaves nothing running.
struct Watching {
    child: Background,
    lines: Receiver<String>,
}

impl Watching {
    /// Start `fkit watch ARGS` in the work dir.
    fn start(wd: &Workdir, args: &[&str]) -> Watching {
        let mut all = vec!["watch"];
        all.extend_from_slice(args);
        Watching::spawn(wd.command(&all).stdin(Stdio::null()).stderr(Stdio::null()))
    }

    /// Start `cmd`, a `fkit watch`, with its output lines sent to `lines`.
    fn spawn(cmd: &mut Command) -> Watching {
        let mut child = Background::spawn(cmd.stdout(Stdio::piped()));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watching { child, lines }
    }

    /// Touch `probe` (a path in a watched place) until a line about it
    /// comes, so the watches are surely in place; then drop pending lines.
    fn ready(&self, wd: &Workdir, probe: &str) {
        self.ready_seeing(wd, probe, probe);
    }

    /// The same, for output that shows `probe` as `needle`.
    fn ready_seeing(&self, wd: &Workdir, probe: &str, needle: &str) {
        let start = Instant::now();
        loop {
            // Created anew each time, for watches that only report creates.
            let _ = fs::remove_file(wd.join(probe));
            wd.write(probe, "p");
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200))
                && line.contains(needle)
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "fkit watch never reported {probe}"
            );
        }
        fs::remove_file(wd.join(probe)).unwrap();
        sleep(Duration::from_millis(100));
        while self.lines.try_recv().is_ok() {}
    }

    /// For a watch of one file, which must not be removed: write to it
    /// until a line comes; then drop pending lines.
    fn ready_on_file(&self, wd: &Workdir, file: &str) {
        let start = Instant::now();
        loop {
            wd.write(file, "again");
            if self.lines.recv_timeout(Duration::from_millis(300)).is_ok() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "fkit watch never reported {file}"
            );
        }
        sleep(Duration::from_millis(100));
        while self.lines.try_recv().is_ok() {}
    }

    /// The next line, or panic after `secs`.
    fn next(&self, secs: u64) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(secs))
            .expect("no event reported in time")
    }

    /// Lines until one contains `needle` (returned last); panics on timeout.
    fn until(&self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no line with {needle:?}; got {seen:?}"));
            let done = line.contains(needle);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    /// Kill it now, before the end of the test (as dropping it does).
    fn stop(self) {
        drop(self.child);
    }
}

/// With --exec fkit prints nothing itself: write `w/probe` until the
/// command's output shows it ran, let the run end, then drop its output.
fn ready_exec(wd: &Workdir, w: &Watching, settle: Duration) {
    let start = Instant::now();
    loop {
        wd.write("w/probe", "p");
        if w.lines.recv_timeout(Duration::from_millis(800)).is_ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "--exec never ran"
        );
    }
    sleep(settle);
    while w.lines.try_recv().is_ok() {}
}

/// `<time> <kind> <rest>` without the time.
fn event(line: &str) -> String {
    line.split_once(' ')
        .map(|(_, e)| e.to_string())
        .unwrap_or_default()
}

#[test]
fn create_modify_remove_rename_are_reported() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(&wd, &["w"]);
    w.ready(&wd, "w/probe");
    wd.write("w/a.txt", "one");
    assert_eq!(event(&w.next(10)), "create w/a.txt");
    sleep(Duration::from_millis(50));
    fs::write(wd.join("w/a.txt"), "two").unwrap();
    assert_eq!(event(&w.next(10)), "modify w/a.txt");
    fs::rename(wd.join("w/a.txt"), wd.join("w/b.txt")).unwrap();
    assert_eq!(event(&w.next(10)), "rename w/a.txt -> w/b.txt");
    fs::remove_file(wd.join("w/b.txt")).unwrap();
    assert_eq!(event(&w.next(10)), "remove w/b.txt");
    // Moved out of the watched directory: gone from here.
    wd.write("w/c.txt", "c");
    w.until("create w/c.txt");
    fs::rename(wd.join("w/c.txt"), wd.join("elsewhere.txt")).unwrap();
    assert_eq!(event(&w.next(10)), "remove w/c.txt");
    // Moved in: new here.
    fs::rename(wd.join("elsewhere.txt"), wd.join("w/d.txt")).unwrap();
    assert_eq!(event(&w.next(10)), "create w/d.txt");
    w.stop();
}

#[test]
fn editor_save_is_a_change_of_the_target() {
    let wd = Workdir::new();
    wd.write("w/notes.txt", "old");
    // A directory watch: the save is a modify of notes.txt.
    let w = Watching::start(&wd, &["w", "--format", "json"]);
    w.ready(&wd, "w/probe");
    wd.write("w/.notes.txt.swp", "new");
    fs::rename(wd.join("w/.notes.txt.swp"), wd.join("w/notes.txt")).unwrap();
    let lines = w.until("\"path\":\"w/notes.txt\"");
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["kind"], "modify");
    assert_eq!(last["from"], "w/.notes.txt.swp");
    w.stop();

    // A file watch survives the save (its inode is replaced) and sees the
    // next one too.
    let w = Watching::start(&wd, &["w/notes.txt"]);
    // (The file must exist when fkit starts: no removing probes here.)
    w.ready_on_file(&wd, "w/notes.txt");
    for round in 0..2 {
        wd.write("w/tmp123", format!("v{round}"));
        fs::rename(wd.join("w/tmp123"), wd.join("w/notes.txt")).unwrap();
        assert_eq!(event(&w.next(10)), "modify w/notes.txt");
    }
    w.stop();
}

#[test]
fn json_lines_have_time_kind_path_from() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(&wd, &["w", "--json"]);
    w.ready(&wd, "w/probe");
    wd.write("w/x", "x");
    let v: serde_json::Value = serde_json::from_str(&w.next(10)).unwrap();
    assert_eq!(v["kind"], "create");
    assert_eq!(v["path"], "w/x");
    assert!(v["from"].is_null());
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
    w.stop();
}

#[test]
fn recursive_watches_new_directories() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(&wd, &["-r", "w"]);
    w.ready(&wd, "w/probe");
    // The file is created before fkit can add a watch for the new
    // directories: it is found by scanning them.
    fs::create_dir_all(wd.join("w/a/b/c")).unwrap();
    wd.write("w/a/b/c/f", "f");
    let lines: Vec<String> = w
        .until("create w/a/b/c/f")
        .iter()
        .map(|l| event(l))
        .collect();
    assert_eq!(lines[0], "create w/a");
    // Later changes deep inside are seen directly.
    sleep(Duration::from_millis(100));
    wd.write("w/a/b/c/g", "g");
    assert_eq!(
        event(&w.until("w/a/b/c/g").pop().unwrap()),
        "create w/a/b/c/g"
    );
    w.stop();
}

#[test]
fn globs_and_ignores_filter() {
    let wd = Workdir::new();
    fs::create_dir_all(wd.join("w/target")).unwrap();
    wd.write("w/.gitignore", "*.log\n");
    wd.write("w/sub/.gitignore", "*.gen.rs\n");
    let w = Watching::start(
        &wd,
        &[
            "-r",
            "w",
            "--glob",
            "*.rs",
            "--glob",
            "probe",
            "--ignore",
            "target",
            "--gitignore",
        ],
    );
    w.ready(&wd, "w/probe");
    wd.write("w/target/skip.rs", "");
    wd.write("w/skip.txt", "");
    wd.write("w/skip.log", "");
    wd.write("w/sub/skip.gen.rs", "");
    wd.write("w/keep.rs", "");
    assert_eq!(event(&w.next(10)), "create w/keep.rs");
    wd.write("w/sub/deeper/keep.rs", "");
    assert_eq!(
        event(&w.until("keep.rs").pop().unwrap()),
        "create w/sub/deeper/keep.rs"
    );
    w.stop();
}

#[test]
fn ten_thousand_creates_are_all_counted_or_overflow_is_said() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(&wd, &["w", "-e", "create"]);
    w.ready(&wd, "w/probe");
    for i in 0..10_000 {
        fs::File::create(wd.join(&format!("w/f{i}"))).unwrap();
    }
    let (mut creates, mut overflow) = (0, false);
    let deadline = Instant::now() + Duration::from_secs(60);
    while creates < 10_000 && !overflow && Instant::now() < deadline {
        match w.lines.recv_timeout(Duration::from_secs(5)) {
            Ok(line) if line.contains(" create w/f") => creates += 1,
            Ok(line) if line.contains(" overflow") => overflow = true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(
        creates == 10_000 || overflow,
        "{creates} creates and no overflow event"
    );
    w.stop();
}

#[test]
fn debounce_collapses_a_burst_into_one_run() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(
        &wd,
        &[
            "w",
            "--postpone",
            "--debounce",
            "300",
            "--exec",
            "echo \"$FKIT_PATHS\" | sort > paths; echo run >> runs; echo ran",
        ],
    );
    ready_exec(&wd, &w, Duration::from_millis(500));
    fs::remove_file(wd.join("runs")).unwrap();
    for i in 0..50 {
        wd.write(&format!("w/f{i:02}"), "x");
        sleep(Duration::from_millis(2));
    }
    w.next(10);
    sleep(Duration::from_millis(800));
    assert_eq!(String::from_utf8_lossy(&wd.read("runs")), "run\n");
    let paths = String::from_utf8_lossy(&wd.read("paths")).into_owned();
    let expected: Vec<String> = (0..50).map(|i| format!("w/f{i:02}")).collect();
    assert_eq!(paths.lines().collect::<Vec<_>>(), expected);
    w.stop();
}

#[test]
fn exec_never_runs_twice_at_once() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(
        &wd,
        &[
            "w",
            "--postpone",
            "--debounce",
            "20",
            "--exec",
            "echo start >> log; sleep 0.6; echo end >> log; echo done",
        ],
    );
    ready_exec(&wd, &w, Duration::from_millis(1500));
    fs::remove_file(wd.join("log")).unwrap();
    wd.write("w/one", "1");
    sleep(Duration::from_millis(300));
    wd.write("w/two", "2"); // while the first run is still going
    w.next(20);
    w.next(20);
    let log = String::from_utf8_lossy(&wd.read("log")).into_owned();
    assert_eq!(log, "start\nend\nstart\nend\n");
    w.stop();
}

#[test]
fn restart_stops_the_running_command() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(
        &wd,
        &[
            "w",
            "--postpone",
            "--restart",
            "--debounce",
            "20",
            "--exec",
            "echo started; echo start >> log; sleep 30; echo end >> log",
        ],
    );
    ready_exec(&wd, &w, Duration::from_millis(300));
    fs::remove_file(wd.join("log")).unwrap();
    wd.write("w/one", "1");
    assert_eq!(w.next(20), "started");
    wd.write("w/two", "2");
    assert_eq!(w.next(20), "started");
    sleep(Duration::from_millis(200));
    assert_eq!(String::from_utf8_lossy(&wd.read("log")), "start\nstart\n");
    w.stop();
}

#[test]
fn once_and_timeout() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    // Nothing happens: --once --timeout exits 2 as inotifywait -t does.
    let start = Instant::now();
    wd.run(&["watch", "w", "--once", "--timeout", "0.5"])
        .code(2);
    assert!(start.elapsed() < Duration::from_secs(5));
    wd.run(&["watch", "w", "--timeout", "0.3"]).ok();
    // --once exits after the first change.
    let mut child = Background::spawn(
        wd.command(&["watch", "w", "--once", "--timeout", "20"])
            .stdout(Stdio::piped()),
    );
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        wd.write("w/poke", "x");
        sleep(Duration::from_millis(100));
        assert!(start.elapsed() < Duration::from_secs(20));
    }
    assert!(child.wait().unwrap().success());
}

#[test]
fn deleted_watched_directory_is_reported_and_ends_the_watch() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let child = Background::spawn(
        wd.command(&["watch", "w"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    sleep(Duration::from_millis(500));
    fs::remove_dir(wd.join("w")).unwrap();
    let out = child.wait_with_output();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.ends_with(" remove w\n"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("w: watched directory was removed"),
        "{stderr}"
    );
}

#[test]
fn missing_path_is_an_error() {
    let wd = Workdir::new();
    let run = wd.run(&["watch", "nope"]).code(1);
    assert!(
        run.stderr.starts_with("fkit: watch: nope: "),
        "{}",
        run.stderr
    );
}

#[test]
#[cfg(target_os = "linux")] // (inotify's queue)
fn kernel_queue_overflow_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    fs::set_permissions(wd.path(), fs::Permissions::from_mode(0o777)).unwrap();
    fs::set_permissions(wd.join("w"), fs::Permissions::from_mode(0o777)).unwrap();
    let Some(mut cmd) = fkit_with_a_limited_queue() else {
        return;
    };
    let mut child = Background::spawn(
        cmd.args(["watch", "w", "-e", "create"])
            .current_dir(wd.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut creates = 0;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.ends_with(" overflow") {
                return (creates, true);
            }
            creates += 1;
        }
        (creates, false)
    });
    sleep(Duration::from_millis(800));
    // Stop the reader while far more events than the queue holds
    // (fs.inotify.max_queued_events, 16384 by default) come in.
    let max: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16384);
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    for i in 0..max + 1000 {
        fs::File::create(wd.join(&format!("w/f{i}"))).unwrap();
    }
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let start = Instant::now();
    while !reader.is_finished() && start.elapsed() < Duration::from_secs(30) {
        sleep(Duration::from_millis(50));
    }
    drop(child); // (killed: the reader's pipe closes)
    let (creates, overflow) = reader.join().unwrap();
    assert!(overflow, "no overflow event after {creates} creates");
    assert!(creates < max + 1000);
}

#[test]
fn a_renamed_directory_is_reported_under_its_new_name() {
    let wd = Workdir::new();
    fs::create_dir_all(wd.join("w/d/sub")).unwrap();
    let w = Watching::start(&wd, &["-r", "w"]);
    w.ready(&wd, "w/probe");
    // A write right after the rename, before fkit can have reported it: the
    // watches of the directory and of those below it took the new name.
    fs::rename(wd.join("w/d"), wd.join("w/e")).unwrap();
    wd.write("w/e/sub/f", "f");
    assert_eq!(event(&w.next(10)), "rename w/d -> w/e");
    assert_eq!(event(&w.next(10)), "create w/e/sub/f");
    fs::rename(wd.join("w/e/sub"), wd.join("w/e/sub2")).unwrap();
    assert_eq!(event(&w.next(10)), "rename w/e/sub -> w/e/sub2");
    fs::write(wd.join("w/e/sub2/f"), "g").unwrap();
    assert_eq!(event(&w.next(10)), "modify w/e/sub2/f");
    // Moved out of the tree: removed, and no longer watched.
    fs::rename(wd.join("w/e"), wd.join("gone")).unwrap();
    assert_eq!(event(&w.next(10)), "remove w/e");
    wd.write("gone/sub2/h", "h");
    wd.write("w/marker", "m");
    assert_eq!(event(&w.next(10)), "create w/marker");
    w.stop();
}

#[test]
fn a_deleted_watched_file_is_reported_and_still_watched() {
    let wd = Workdir::new();
    wd.write("w/notes.txt", "old");
    wd.write("w/other", "x");
    let w = Watching::start(&wd, &["w/notes.txt"]);
    w.ready_on_file(&wd, "w/notes.txt");
    fs::remove_file(wd.join("w/other")).unwrap(); // not watched: not reported
    fs::remove_file(wd.join("w/notes.txt")).unwrap();
    assert_eq!(event(&w.next(10)), "remove w/notes.txt");
    wd.write("w/notes.txt", "back");
    assert_eq!(event(&w.next(10)), "create w/notes.txt");
    w.stop();
}

#[test]
fn running_out_of_watches_is_an_error_naming_the_sysctl() {
    let wd = Workdir::new();
    fs::create_dir_all(wd.join("w/a/b")).unwrap();
    fs::create_dir_all(wd.join("w/c")).unwrap();
    // A user namespace of our own has a watch limit of its own, which may
    // be lowered there (no change to the machine's).
    let lower = "echo 2 > /proc/sys/user/max_inotify_watches";
    let can = common::have("unshare")
        && wd
            .sh(&format!("unshare -U -r sh -c '{lower}'"))
            .status
            .success();
    if !can {
        eprintln!("skipped: no user namespace with its own inotify limit");
        return;
    }
    let out = wd.sh(&format!(
        "unshare -U -r sh -c '{lower} && exec \"$FKIT\" watch -r w --timeout 10'"
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("fkit: watch: w/")
            && stderr.contains("the inotify watch limit is reached")
            && stderr.contains("sysctl fs.inotify.max_user_watches="),
        "{stderr}"
    );
}

#[test]
#[cfg(target_os = "linux")] // (names are bytes: macOS takes only UTF-8)
fn text_lines_carry_a_name_as_its_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let mut child = Background::spawn(
        wd.command(&["watch", "w", "-e", "create", "--once", "--timeout", "20"])
            .stdout(Stdio::piped()),
    );
    // Latin-1 "café": not UTF-8, printed as it is (as inotifywait does).
    let file = wd.join("w").join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        let _ = fs::remove_file(&file);
        fs::write(&file, "x").unwrap();
        sleep(Duration::from_millis(100));
        assert!(start.elapsed() < Duration::from_secs(20));
    }
    let out = child.wait_with_output();
    assert!(
        out.stdout.ends_with(b" create w/caf\xe9\n"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// fkit as a command whose inotify queue the kernel limits: as nobody
/// when the tests run as root (the kernel does not limit root's queue).
/// None (skip) when that cannot be done.
#[cfg(target_os = "linux")]
fn fkit_with_a_limited_queue() -> Option<Command> {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(Command::new(common::fkit_bin()));
    }
    if !common::have("setpriv") {
        eprintln!("skipped: running as root without setpriv");
        return None;
    }
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::fkit_bin());
    Some(c)
}

#[test]
#[cfg(target_os = "linux")] // (inotify's queue)
fn a_rename_lost_in_an_overflow_is_caught_up() {
    use std::os::unix::fs::PermissionsExt;
    let wd = Workdir::new();
    fs::create_dir_all(wd.join("w/d")).unwrap();
    fs::create_dir_all(wd.join("w/x")).unwrap();
    for dir in ["", "w", "w/d", "w/x"] {
        fs::set_permissions(wd.join(dir), fs::Permissions::from_mode(0o777)).unwrap();
    }
    let Some(mut cmd) = fkit_with_a_limited_queue() else {
        return;
    };
    let w = Watching::spawn(
        cmd.args(["watch", "-r", "w", "-e", "create"])
            .current_dir(wd.path())
            .stderr(Stdio::null()),
    );
    w.ready(&wd, "w/x/probe");
    let max: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16384);
    // Fill the queue while fkit is stopped, then rename: the kernel drops
    // the rename's events.
    let pid = w.child.id() as libc::pid_t;
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    for i in 0..max + 100 {
        fs::File::create(wd.join(&format!("w/x/f{i}"))).unwrap();
    }
    fs::rename(wd.join("w/d"), wd.join("w/e")).unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let (mut creates, mut overflow) = (0, false);
    while !overflow && creates < max + 100 {
        match w.lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.ends_with(" overflow") => overflow = true,
            Ok(_) => creates += 1,
            Err(_) => panic!("{creates} creates, then nothing"),
        }
    }
    if !overflow {
        // fkit kept reading after all (seen once, on a loaded machine): the
        // rename was then handled as it came. The name must be right anyway.
        eprintln!("note: the queue did not overflow this time");
    }
    // The overflow made fkit walk the tree again: w/e is known by its name.
    wd.write("w/e/f", "f");
    let last = w.until("/f");
    assert_eq!(event(last.last().unwrap()), "create w/e/f");
    w.stop();
}

#[test]
fn a_command_runs_at_the_start_then_after_each_change() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let started = Instant::now();
    // No shell: `{}` is the watched path at the start, then what changed.
    let w = Watching::start(&wd, &["w", "--", "echo", "ran", "{}"]);
    assert_eq!(w.next(20), "ran w");
    let first_run = started.elapsed();
    // (20 ms for a release build on an idle machine: see the README; this
    // is a debug build on a loaded one.)
    assert!(first_run < Duration::from_millis(1500), "{first_run:?}");
    sleep(Duration::from_millis(200));
    wd.write("w/a", "x");
    assert_eq!(w.next(20), "ran w/a");
}

#[test]
fn postpone_waits_for_the_first_change() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(&wd, &["w", "--postpone", "-c", "echo \"[$FKIT_PATHS]\""]);
    assert!(w.lines.recv_timeout(Duration::from_millis(700)).is_err());
    wd.write("w/a", "x");
    assert_eq!(w.next(20), "[w/a]");
}

#[test]
fn changed_paths_as_arguments_environment_and_workdir() {
    let wd = Workdir::new();
    fs::create_dir_all(wd.join("w")).unwrap();
    fs::create_dir_all(wd.join("elsewhere")).unwrap();
    let w = Watching::start(
        &wd,
        &[
            "w",
            "--postpone",
            "--debounce",
            "300",
            "-E",
            "GREETING=hi there",
            "--workdir",
            "elsewhere",
            "--",
            "sh",
            "-c",
            "echo \"$GREETING|$(basename \"$PWD\")|$#|$1|$2\"",
            "sh",
            "{}",
        ],
    );
    sleep(Duration::from_millis(300));
    wd.write("w/a", "x");
    wd.write("w/b", "x");
    // Absolute paths: relative ones would not name them from elsewhere/.
    let got = w.next(20);
    let fields: Vec<&str> = got.split('|').collect();
    assert_eq!(fields[..3], ["hi there", "elsewhere", "2"], "{got}");
    let root = fs::canonicalize(wd.path()).unwrap();
    // (Compared canonical: the temp dir may be reached through a symlink.)
    for (field, name) in fields[3..].iter().zip(["w/a", "w/b"]) {
        assert!(field.starts_with('/'), "{got}");
        assert_eq!(fs::canonicalize(field).unwrap(), root.join(name), "{got}");
    }
}

#[test]
fn a_shell_string_runs_with_the_shell_chosen() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(&wd, &["w", "-c", "echo \"$0\"", "--shell", "bash"]);
    assert_eq!(w.next(20), "bash");
    let w = Watching::start(&wd, &["w", "--exec", "echo \"$0\""]);
    assert_eq!(w.next(20), "/bin/sh");
}

/// A command that says when it starts and when a signal reaches it, and
/// only ends when killed or when fkit (its parent) is gone: its trap keeps
/// it going through signals, and a killed test must not leave it behind.
const TRAPPER: &str = "trap 'echo got-$0' HUP USR1 TERM INT; echo started; \
                       while kill -0 $PPID 2>/dev/null; do sleep 0.05; done";

#[test]
fn on_busy_signal_sends_the_signal_and_lets_it_run() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(
        &wd,
        &[
            "w",
            "--on-busy",
            "signal",
            "--signal",
            "HUP",
            "--",
            "sh",
            "-c",
            TRAPPER,
            "hup",
        ],
    );
    assert_eq!(w.next(20), "started");
    wd.write("w/a", "x");
    assert_eq!(w.next(20), "got-hup");
    wd.write("w/b", "x");
    assert_eq!(w.next(20), "got-hup");
    // Not started again.
    assert!(w.lines.recv_timeout(Duration::from_millis(500)).is_err());
}

#[test]
fn restart_sends_the_signal_then_kills_after_the_stop_timeout() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(
        &wd,
        &[
            "w",
            "--restart",
            "--signal",
            "USR1",
            "--stop-timeout",
            "700ms",
            "--",
            "sh",
            "-c",
            TRAPPER,
            "usr1",
        ],
    );
    assert_eq!(w.next(20), "started");
    wd.write("w/a", "x");
    assert_eq!(w.next(20), "got-usr1");
    let signalled = Instant::now();
    // It outlived the signal: SIGKILL after 700 ms, then the new run.
    assert_eq!(w.next(20), "started");
    let waited = signalled.elapsed();
    assert!(waited >= Duration::from_millis(600), "{waited:?}");
}

#[test]
fn the_stop_signal_ends_the_command_when_fkit_times_out() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let script = "trap 'echo stopped-by-int; exit 3' INT; echo started; \
                  while :; do sleep 0.05; done";
    let out = wd.run(&[
        "watch",
        "w",
        "--timeout",
        "1",
        "--stop-signal",
        "INT",
        "-c",
        script,
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout_str(), "started\nstopped-by-int\n");
}

#[test]
fn on_busy_do_nothing_drops_changes_made_during_a_run() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(
        &wd,
        &[
            "w",
            "--postpone",
            "--on-busy",
            "do-nothing",
            "--debounce",
            "20",
            "-c",
            "echo \"start $FKIT_PATHS\"; sleep 1; echo end",
        ],
    );
    sleep(Duration::from_millis(300));
    wd.write("w/a", "x");
    assert_eq!(w.next(20), "start w/a");
    wd.write("w/b", "x"); // during the run: dropped
    assert_eq!(w.next(20), "end");
    assert!(w.lines.recv_timeout(Duration::from_millis(800)).is_err());
    wd.write("w/c", "x");
    assert_eq!(w.next(20), "start w/c");
}

#[test]
fn ext_keeps_only_those_extensions() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    let w = Watching::start(&wd, &["w", "-e", "create", "--ext", "rs,.toml"]);
    w.ready(&wd, "w/probe.rs");
    for name in ["w/a.txt", "w/b.rs", "w/c", "w/d.toml"] {
        wd.write(name, "x");
    }
    let seen = w.until("d.toml");
    let seen: Vec<String> = seen.iter().map(|l| event(l)).collect();
    assert_eq!(seen, ["create w/b.rs", "create w/d.toml"]);
}

#[test]
#[cfg(target_os = "linux")] // (close_write is inotify's)
fn close_write_comes_when_a_slow_writer_is_done() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    // inotifywait's names are taken too.
    let w = Watching::start(&wd, &["w", "-e", "close_write,delete,moved_to"]);
    w.ready(&wd, "w/probe");
    let started = Instant::now();
    let out = wd.sh("{ echo a; sleep 0.5; echo b; } > w/upload");
    assert!(out.status.success());
    assert_eq!(event(&w.next(10)), "close_write w/upload");
    assert!(started.elapsed() >= Duration::from_millis(500));
    fs::remove_file(wd.join("w/upload")).unwrap();
    assert_eq!(event(&w.next(10)), "remove w/upload");
    assert!(w.lines.recv_timeout(Duration::from_millis(300)).is_err());
}

#[test]
fn version_control_directories_are_left_out_unless_included() {
    let wd = Workdir::new();
    wd.write("w/.git/HEAD", "ref");
    let w = Watching::start(&wd, &["w", "-r"]);
    w.ready(&wd, "w/probe");
    wd.write("w/.git/HEAD", "ref2");
    wd.write("w/.git/new", "x");
    wd.write("w/a", "x");
    let seen: Vec<String> = w.until("w/a").iter().map(|l| event(l)).collect();
    assert_eq!(seen, ["create w/a"]);
    w.stop();
    let w = Watching::start(&wd, &["w", "-r", "--include-vcs"]);
    w.ready(&wd, "w/probe");
    wd.write("w/.git/new2", "x");
    assert_eq!(event(&w.next(10)), "create w/.git/new2");
}

#[test]
fn ignore_files_and_dot_ignore_leave_paths_out() {
    let wd = Workdir::new();
    wd.write("patterns", "*.log\n/build/\n");
    wd.write("w/.ignore", "*.tmp\n");
    fs::create_dir_all(wd.join("w/build")).unwrap();
    let w = Watching::start(
        &wd,
        &[
            "w",
            "-r",
            "-e",
            "create",
            "--gitignore",
            "--ignore-file",
            "patterns",
        ],
    );
    w.ready(&wd, "w/probe");
    for name in ["w/a.log", "w/b.tmp", "w/build/c", "w/sub/build/d", "w/e"] {
        wd.write(name, "x");
    }
    let seen: Vec<String> = w.until("w/e").iter().map(|l| event(l)).collect();
    // /build/ is anchored at the watched directory: sub/build is kept.
    assert_eq!(
        seen,
        [
            "create w/sub",
            "create w/sub/build",
            "create w/sub/build/d",
            "create w/e"
        ]
    );
    let run = wd.run(&["watch", "w", "--ignore-file", "missing"]).code(1);
    assert!(
        run.stderr.starts_with("fkit: watch: missing"),
        "{}",
        run.stderr
    );
}

#[test]
fn emit_events_gives_the_command_the_events_on_stdin_or_in_a_file() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    wd.write("w/old", "x");
    // On stdin, then closed: `cat` ends, and the run with it.
    let w = Watching::start(
        &wd,
        &[
            "w",
            "--postpone",
            "--debounce",
            "200",
            "--emit-events",
            "stdin",
            "--",
            "cat",
        ],
    );
    sleep(Duration::from_millis(300));
    wd.write("w/a", "x");
    fs::rename(wd.join("w/old"), wd.join("w/new")).unwrap();
    let mut got: Vec<serde_json::Value> = (0..2)
        .map(|_| serde_json::from_str(&w.next(20)).unwrap())
        .collect();
    got.sort_by_key(|v| v["kind"].to_string());
    assert_eq!(
        (&got[0]["kind"], &got[0]["path"]),
        (&"create".into(), &"w/a".into())
    );
    assert_eq!(
        (&got[1]["kind"], &got[1]["path"]),
        (&"rename".into(), &"w/new".into())
    );
    assert_eq!(got[1]["from"], "w/old");
    assert!(got[0]["time"].as_str().unwrap().ends_with('Z'));
    // The next run gets only what changed since.
    sleep(Duration::from_millis(300));
    wd.write("w/b", "x");
    let v: serde_json::Value = serde_json::from_str(&w.next(20)).unwrap();
    assert_eq!(v["path"], "w/b");
    assert!(w.lines.recv_timeout(Duration::from_millis(500)).is_err());
    w.stop();

    // In a file: empty at the first run, then the run's events; the
    // directory it was in is gone when fkit ends.
    let script = "echo \"run [$(cat \"$FKIT_EVENTS_FILE\")]\"; echo \"$FKIT_EVENTS_FILE\"";
    let mut w = Watching::start(&wd, &["w", "--emit-events", "file", "-c", script]);
    assert_eq!(w.next(20), "run []");
    let file = w.next(5);
    sleep(Duration::from_millis(300));
    wd.write("w/c", "x");
    let line = w.next(20);
    let json = line
        .strip_prefix("run [")
        .and_then(|l| l.strip_suffix(']'))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!((&v["kind"], &v["path"]), (&"create".into(), &"w/c".into()));
    assert_eq!(w.next(5), file, "one file, replaced at each run");
    let pid = w.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    w.child.wait().unwrap();
    let dir = std::path::Path::new(&file).parent().unwrap();
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn access_open_and_close_nowrite_come_when_asked_for() {
    let wd = Workdir::new();
    wd.write("w/f", "data");
    let w = Watching::start(&wd, &["w", "-e", "open,access,close_nowrite"]);
    w.ready(&wd, "w/probe");
    assert_eq!(fs::read(wd.join("w/f")).unwrap(), b"data");
    let got: Vec<String> = (0..3).map(|_| event(&w.next(10))).collect();
    assert_eq!(got, ["open w/f", "access w/f", "close_nowrite w/f"]);
    // Not asked for: a write's open and close say nothing.
    let w = Watching::start(&wd, &["w", "-e", "close_nowrite"]);
    sleep(Duration::from_millis(300));
    wd.write("w/f", "new");
    assert!(w.lines.recv_timeout(Duration::from_millis(300)).is_err());
    fs::read(wd.join("w/f")).unwrap();
    assert_eq!(event(&w.next(10)), "close_nowrite w/f");
    // inotifywait's `close`: both closes.
    let w = Watching::start(&wd, &["w", "-e", "close"]);
    w.ready(&wd, "w/probe");
    fs::read(wd.join("w/f")).unwrap();
    assert_eq!(event(&w.next(10)), "close_nowrite w/f");
    wd.write("w/f", "again");
    assert_eq!(event(&w.next(10)), "close_write w/f");
}

#[test]
fn format_prints_what_inotifywait_prints_for_the_same_events() {
    if !common::have("inotifywait") {
        eprintln!("skipped: inotifywait (inotify-tools) is not installed");
        return;
    }
    let wd = Workdir::new();
    fs::create_dir(wd.join("d")).unwrap();
    let format = "%w%f|%w|%f|%e|%:e|%T";
    let timefmt = "%Y-%m-%d";
    let fkit = Watching::start(
        &wd,
        &[
            "d",
            "-r",
            "-e",
            "create,remove,rename,close_write",
            "--format",
            format,
            "--timefmt",
            timefmt,
        ],
    );
    let mut inotifywait = Command::new("inotifywait");
    inotifywait
        .current_dir(wd.path())
        .args([
            "-m",
            "-q",
            "-r",
            "d",
            "-e",
            "create,delete,move,close_write",
        ])
        .args(["--format", format, "--timefmt", timefmt])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let peer = Watching::spawn(&mut inotifywait);
    peer.ready(&wd, "d/probe");
    fkit.ready(&wd, "d/probe");
    while peer.lines.try_recv().is_ok() {}

    wd.write("d/begin", "");
    wd.write("d/a b", "text");
    fs::create_dir(wd.join("d/s")).unwrap();
    // (Both watch s/ before anything is made in it.)
    sleep(Duration::from_millis(300));
    wd.write("d/s/x,\"y\"", "x");
    fs::rename(wd.join("d/a b"), wd.join("d/c")).unwrap();
    fs::remove_file(wd.join("d/c")).unwrap();
    fs::remove_file(wd.join("d/s/x,\"y\"")).unwrap();
    fs::remove_dir(wd.join("d/s")).unwrap();
    wd.write("d/end", "");
    let from_begin = |w: &Watching| -> Vec<String> {
        let lines = w.until("|end|CLOSE_WRITE");
        let at = lines.iter().position(|l| l.contains("|begin|")).unwrap();
        lines[at..].to_vec()
    };
    let (ours, theirs) = (from_begin(&fkit), from_begin(&peer));
    assert_eq!(ours, theirs);
    // Each step's lines: creates and closes, a rename's two halves, removes.
    assert_eq!(ours.len(), 14, "{ours:#?}");
    let mkdir = format!("d/s|d/|s|CREATE,ISDIR|CREATE:ISDIR|{}", today(&ours[0]));
    assert!(ours.contains(&mkdir), "{ours:?}");
}

#[test]
fn format_spells_the_watched_paths_as_typed_as_inotifywait_does() {
    if !common::have("inotifywait") {
        eprintln!("skipped: inotifywait (inotify-tools) is not installed");
        return;
    }
    let wd = Workdir::new();
    fs::create_dir_all(wd.join("d/s")).unwrap();
    fs::create_dir(wd.join("e")).unwrap();
    let args = ["-r", "./d", "e/", "--format", "%w|%f|%e", "-e", "create"];
    let fkit = Watching::start(&wd, &args);
    let mut inotifywait = Command::new("inotifywait");
    inotifywait
        .current_dir(wd.path())
        .args(["-m", "-q"])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let peer = Watching::spawn(&mut inotifywait);
    peer.ready_seeing(&wd, "e/probe", "|probe|");
    fkit.ready_seeing(&wd, "e/probe", "|probe|");
    while peer.lines.try_recv().is_ok() {}
    for name in ["d/a", "d/s/b", "e/c", "e/end"] {
        wd.write(name, "");
    }
    let (ours, theirs) = (fkit.until("|end|"), peer.until("|end|"));
    assert_eq!(ours, theirs);
    assert_eq!(ours[0], "./d/|a|CREATE");
}

/// The %T field of a line of the test above.
fn today(line: &str) -> String {
    line.rsplit('|').next().unwrap().to_string()
}

#[test]
fn csv_is_written_as_inotifywait_writes_it() {
    if !common::have("inotifywait") {
        eprintln!("skipped: inotifywait (inotify-tools) is not installed");
        return;
    }
    let wd = Workdir::new();
    fs::create_dir(wd.join("d")).unwrap();
    let fkit = Watching::start(&wd, &["d", "--csv", "-e", "create"]);
    let mut inotifywait = Command::new("inotifywait");
    inotifywait
        .current_dir(wd.path())
        .args(["-m", "-q", "--csv", "d", "-e", "create"])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let peer = Watching::spawn(&mut inotifywait);
    peer.ready_seeing(&wd, "d/probe", ",probe");
    fkit.ready_seeing(&wd, "d/probe", ",probe");
    while peer.lines.try_recv().is_ok() {}
    for name in ["begin", "sp ace", "co,mma", "q\"uote", "end"] {
        wd.write(&format!("d/{name}"), "");
    }
    fs::create_dir(wd.join("d/dir")).unwrap();
    let ours = fkit.until("ISDIR");
    let theirs = peer.until("ISDIR");
    assert_eq!(ours, theirs);
    assert_eq!(ours[2], "d/,CREATE,\"co,mma\"");
}

#[test]
fn fromfile_include_and_exclude_as_inotifywait_takes_them() {
    let wd = Workdir::new();
    for dir in ["a/skip", "b"] {
        fs::create_dir_all(wd.join(dir)).unwrap();
    }
    let mut cmd = wd.command(&[
        "watch",
        "-r",
        "--fromfile",
        "-",
        "--exclude",
        r"\.tmp$",
        "--includei",
        r"\.TXT$",
    ]);
    let mut w = Watching::spawn(cmd.stdin(Stdio::piped()).stderr(Stdio::null()));
    let mut stdin = w.child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b"a\n@a/skip\n\nb\n").unwrap();
    drop(stdin);
    w.ready(&wd, "b/probe.txt");
    wd.write("a/skip/x.txt", "left out with its directory");
    wd.write("a/y.txt.tmp", "excluded");
    wd.write("a/z.c", "not included");
    wd.write("b/keep.TXT", "included, whatever the case");
    assert_eq!(event(&w.next(10)), "create b/keep.TXT");
    wd.write("a/ok.txt", "x");
    assert_eq!(event(&w.next(10)), "create a/ok.txt");

    // A file of only exclusions watches nothing: an error, as in inotifywait.
    wd.write("list", "@a\n");
    let out = wd.run(&["watch", "--fromfile", "list"]).code(2);
    assert!(
        out.stderr.contains("list: no paths to watch"),
        "{}",
        out.stderr
    );
    let out = wd.run(&["watch", ".", "--exclude", "("]).code(2);
    assert!(
        out.stderr.contains("bad regular expression \"(\""),
        "{}",
        out.stderr
    );
}

/// The help's `--ext rs --postpone -- rustfmt {}`: with --postpone the
/// first run's `{}` is a changed file; without it, the first run (at the
/// start) is given the watched directory, which rustfmt would refuse.
#[test]
fn postponed_braces_are_the_changed_files_only() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("src")).unwrap();
    let base = ["src", "-r", "--ext", "rs", "--", "echo", "{}"];
    let at_start = Watching::start(&wd, &base);
    assert_eq!(at_start.next(10), "src");
    let mut args = vec!["--postpone"];
    args.extend(base);
    let w = Watching::start(&wd, &args);
    // Written until a run comes: no guess at when the watch is ready.
    let start = Instant::now();
    let first = loop {
        assert!(start.elapsed().as_secs() < 20, "no run");
        wd.write("src/notes.txt", "not .rs");
        wd.write("src/a.rs", "fn main() {}");
        if let Ok(line) = w.lines.recv_timeout(Duration::from_millis(100)) {
            break line;
        }
    };
    assert_eq!(first, "src/a.rs");
}

#[test]
fn poll_refuses_the_kinds_a_listing_cannot_show() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    for kinds in ["create,close_write", "close", "access", "open"] {
        let out = wd.run(&["watch", "w", "--poll=100ms", "-e", kinds]).code(2);
        assert!(
            out.stderr.starts_with("fkit: watch: --poll cannot see "),
            "{kinds}: {}",
            out.stderr
        );
    }
}

#[test]
fn poll_sees_creates_modifies_renames_and_removes_without_inotify() {
    let wd = Workdir::new();
    fs::create_dir_all(wd.join("w/sub")).unwrap();
    let w = Watching::start(&wd, &["w", "-r", "--poll=100ms"]);
    w.ready(&wd, "w/probe");
    let look = || sleep(Duration::from_millis(250)); // more than one interval
    // (The probe's remove comes at the next look.)
    look();
    while w.lines.try_recv().is_ok() {}
    wd.write("w/sub/a", "one");
    assert_eq!(event(&w.next(10)), "create w/sub/a");
    look();
    wd.write("w/sub/a", "two, longer");
    assert_eq!(event(&w.next(10)), "modify w/sub/a");
    look();
    fs::rename(wd.join("w/sub/a"), wd.join("w/b")).unwrap();
    assert_eq!(event(&w.next(10)), "rename w/sub/a -> w/b");
    look();
    fs::remove_file(wd.join("w/b")).unwrap();
    assert_eq!(event(&w.next(10)), "remove w/b");
    // And a command runs after a change it polled.
    let w = Watching::start(
        &wd,
        &[
            "w",
            "--poll=100ms",
            "--postpone",
            "-c",
            "echo \"ran $FKIT_PATHS\"",
        ],
    );
    look();
    wd.write("w/c", "c");
    assert_eq!(w.next(10), "ran w/c");
}

#[test]
#[cfg(target_os = "linux")] // (inotify's limits)
fn poll_works_where_inotify_is_unavailable() {
    let wd = Workdir::new();
    fs::create_dir(wd.join("w")).unwrap();
    // A user namespace of our own may forbid inotify (no change to the
    // machine's limits).
    let forbid = "echo 0 > /proc/sys/user/max_inotify_instances";
    let can = common::have("unshare")
        && wd
            .sh(&format!("unshare -U -r sh -c '{forbid}'"))
            .status
            .success();
    if !can {
        eprintln!("skipped: no user namespace with its own inotify limit");
        return;
    }
    let out = wd.sh(&format!(
        "unshare -U -r sh -c '{forbid} && exec \"$FKIT\" watch w --timeout 10'"
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("too many inotify instances"), "{stderr}");
    // Polling asks nothing of inotify: the new file is seen.
    let out = wd.sh(&format!(
        "(sleep 0.5; echo x > w/new) & \
         unshare -U -r sh -c '{forbid} && exec \"$FKIT\" watch w --poll=100ms --once --timeout 10'"
    ));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(event(stdout.trim_end()), "create w/new");
}

/// `inotifywait -m -q ARGS` in the work dir, its lines on a channel.
fn inotifywait(wd: &Workdir, args: &[&str]) -> Watching {
    let mut cmd = Command::new("inotifywait");
    cmd.current_dir(wd.path())
        .args(["-m", "-q"])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    Watching::spawn(&mut cmd)
}

#[test]
fn moved_to_is_the_arriving_side_of_moves_as_in_inotifywait() {
    if !common::have("inotifywait") {
        eprintln!("skipped: inotifywait (inotify-tools) is not installed");
        return;
    }
    let wd = Workdir::new();
    fs::create_dir(wd.join("d")).unwrap();
    fs::create_dir(wd.join("out")).unwrap();
    // The upload loop: a file is there once written, or once moved in.
    let args = ["d", "-e", "close_write,moved_to", "--format", "%w%f|%e"];
    let fkit = Watching::start(&wd, &args);
    let text = Watching::start(&wd, &["d", "-e", "close_write,moved_to"]);
    let peer = inotifywait(&wd, &args);
    peer.ready_seeing(&wd, "d/probe", "|CLOSE_WRITE");
    fkit.ready_seeing(&wd, "d/probe", "|CLOSE_WRITE");
    text.ready(&wd, "d/probe");
    while peer.lines.try_recv().is_ok() {}

    wd.write("d/begin", "");
    // Moved in from outside the watched tree.
    wd.write("out/upload", "x");
    fs::rename(wd.join("out/upload"), wd.join("d/upload")).unwrap();
    // Written under a temporary name, renamed when complete; then again
    // over the file now there.
    for _ in 0..2 {
        wd.write("d/data.part", "y");
        fs::rename(wd.join("d/data.part"), wd.join("d/data")).unwrap();
    }
    // Moved out: nothing arrives.
    fs::rename(wd.join("d/upload"), wd.join("out/upload")).unwrap();
    fs::create_dir(wd.join("out/dir")).unwrap();
    fs::rename(wd.join("out/dir"), wd.join("d/dir")).unwrap();
    wd.write("d/end", "");
    let from_begin = |w: &Watching, end: &str| -> Vec<String> {
        let lines = w.until(end);
        let at = lines.iter().position(|l| l.contains("begin")).unwrap();
        lines[at..].to_vec()
    };
    let ours = from_begin(&fkit, "d/end|");
    assert_eq!(ours, from_begin(&peer, "d/end|"));
    assert_eq!(
        ours,
        [
            "d/begin|CLOSE_WRITE,CLOSE",
            "d/upload|MOVED_TO",
            "d/data.part|CLOSE_WRITE,CLOSE",
            "d/data|MOVED_TO",
            "d/data.part|CLOSE_WRITE,CLOSE",
            "d/data|MOVED_TO",
            "d/dir|MOVED_TO,ISDIR",
            "d/end|CLOSE_WRITE,CLOSE",
        ]
    );
    // fkit's own lines name the kind asked for, and never the old name.
    let seen: Vec<String> = from_begin(&text, "d/end")
        .iter()
        .map(|l| event(l))
        .collect();
    assert_eq!(
        seen,
        [
            "close_write d/begin",
            "moved_to d/upload",
            "close_write d/data.part",
            "moved_to d/data",
            "close_write d/data.part",
            "moved_to d/data",
            "moved_to d/dir",
            "close_write d/end",
        ]
    );
}

#[test]
fn moved_from_is_the_leaving_side_of_moves_as_in_inotifywait() {
    if !common::have("inotifywait") {
        eprintln!("skipped: inotifywait (inotify-tools) is not installed");
        return;
    }
    let wd = Workdir::new();
    fs::create_dir(wd.join("d")).unwrap();
    fs::create_dir(wd.join("out")).unwrap();
    for name in ["begin", "a", "b", "end"] {
        wd.write(&format!("d/{name}"), "");
    }
    let args = ["d", "--csv", "-e", "moved_from,create"];
    let fkit = Watching::start(&wd, &args);
    let peer = inotifywait(&wd, &args);
    peer.ready_seeing(&wd, "d/probe", ",probe");
    fkit.ready_seeing(&wd, "d/probe", ",probe");
    while peer.lines.try_recv().is_ok() {}

    fs::rename(wd.join("d/begin"), wd.join("d/begun")).unwrap();
    // Renamed within, moved out.
    fs::rename(wd.join("d/a"), wd.join("d/a2")).unwrap();
    fs::rename(wd.join("d/b"), wd.join("out/b")).unwrap();
    fs::rename(wd.join("d/end"), wd.join("out/end")).unwrap();
    let from_begin = |w: &Watching| -> Vec<String> {
        let lines = w.until(",end");
        let at = lines.iter().position(|l| l.contains("begin")).unwrap();
        lines[at..].to_vec()
    };
    let ours = from_begin(&fkit);
    assert_eq!(ours, from_begin(&peer));
    assert_eq!(
        ours,
        [
            "d/,MOVED_FROM,begin",
            "d/,MOVED_FROM,a",
            "d/,MOVED_FROM,b",
            "d/,MOVED_FROM,end",
        ]
    );
    // Moved in: fkit's create takes it in (inotifywait's create does not),
    // and names it for the move.
    fs::rename(wd.join("out/b"), wd.join("d/b")).unwrap();
    assert_eq!(fkit.next(10), "d/,MOVED_TO,b");
}

#[test]
fn move_self_is_a_watched_path_moved_as_in_inotifywait() {
    if !common::have("inotifywait") {
        eprintln!("skipped: inotifywait (inotify-tools) is not installed");
        return;
    }
    let wd = Workdir::new();
    fs::create_dir(wd.join("d")).unwrap();
    wd.write("f.txt", "x");
    // (create: to know when both watch.)
    let args = [
        "f.txt",
        "d",
        "-e",
        "move_self,create",
        "--format",
        "%w|%f|%e",
    ];
    let fkit = Watching::start(&wd, &args);
    let peer = inotifywait(&wd, &args);
    peer.ready_seeing(&wd, "d/probe", "|probe|");
    fkit.ready_seeing(&wd, "d/probe", "|probe|");
    while peer.lines.try_recv().is_ok() {}

    // A watched file renamed in its own directory, a watched directory
    // moved away.
    fs::rename(wd.join("f.txt"), wd.join("g.txt")).unwrap();
    fs::rename(wd.join("d"), wd.join("d2")).unwrap();
    let ours = fkit.until("d/||");
    assert_eq!(ours, peer.until("d/||"));
    assert_eq!(ours, ["f.txt||MOVE_SELF", "d/||MOVE_SELF"]);
}
