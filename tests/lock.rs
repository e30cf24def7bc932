// The lock tests drive sh, flock(1), signals and /proc: Unix only.
#![cfg(unix)]

mod common;

use common::{Background, Workdir};
use std::process::{Child, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Start `fkit lock ARGS` in the background (no output captured); it is
/// killed when the test ends, even by a failed assertion.
fn spawn(wd: &Workdir, args: &[&str]) -> Background {
    Background::spawn(
        wd.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// Wait until `name` exists in the work dir (a command's "I have the lock").
fn wait_for(wd: &Workdir, name: &str) {
    let start = Instant::now();
    while !wd.exists(name) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{name} never appeared"
        );
        sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) touches no memory of ours.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

#[test]
fn counter_under_lock_ends_exact() {
    let wd = Workdir::new();
    wd.write("counter", "0\n");
    // Eight workers at once; each must succeed.
    let out = wd.sh(
        "worker() { for i in $(seq 200); do \"$FKIT\" lock counter.lock sh -c 'n=$(cat counter); echo $((n+1)) > counter' || exit 1; done; }
         pids=; for w in $(seq 8); do worker & pids=\"$pids $!\"; done
         for p in $pids; do wait $p || exit 1; done",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&wd.read("counter")).trim(), "1600");
}

#[test]
fn runs_command_and_creates_lockfile() {
    let wd = Workdir::new();
    let run = wd.run(&["lock", "new.lock", "echo", "-n", "hello"]).ok();
    assert_eq!(run.stdout, b"hello");
    assert!(wd.exists("new.lock"));
    // The holder's record stays, marked released: no longer a holder.
    let record = String::from_utf8(wd.read("new.lock")).unwrap();
    assert!(record.starts_with("{\"fkit_lock\":0,"), "{record}");
    let run = wd.run(&["lock", "--check", "--json", "new.lock"]).ok();
    let state: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(state["held"], false);
    assert_eq!(state["stale_record"], false);
    assert!(state["holder"].is_null(), "{state}");
}

#[test]
fn a_shorter_record_is_padded_in_place_and_reads_back() {
    let wd = Workdir::new();
    let long = "a-much-longer-command-line-than-the-next-one";
    wd.run(&["lock", "l", "echo", long]).ok();
    let before = wd.read("l").len();
    let mut holder = spawn(&wd, &["lock", "l", "sh", "-c", "touch held; exec sleep 30"]);
    wait_for(&wd, "held");
    // The file keeps its size: the new, shorter line is padded.
    assert_eq!(wd.read("l").len(), before);
    let run = wd.run(&["lock", "--check", "--json", "l"]).code(1);
    let state: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(state["holder"]["pid"], holder.id());
    assert_eq!(
        state["holder"]["command"],
        "sh -c touch held; exec sleep 30"
    );
    signal(&holder, libc::SIGTERM);
    holder.wait().unwrap();
    let run = wd.run(&["lock", "--check", "--json", "l"]).ok();
    let state: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(state["held"], false);
    assert!(state["holder"].is_null(), "{state}");
}

#[test]
fn shell_command_after_lockfile_like_flock() {
    let wd = Workdir::new();
    let run = wd.run(&["lock", "l", "-c", "echo a; echo b"]).ok();
    assert_eq!(run.stdout_str(), "a\nb\n");
    let run = wd.run(&["lock", "-c", "echo c", "l"]).ok();
    assert_eq!(run.stdout_str(), "c\n");
}

#[test]
fn exit_status_passes_through() {
    let wd = Workdir::new();
    wd.run(&["lock", "l", "-c", "exit 7"]).code(7);
    wd.run(&["lock", "l", "sh", "-c", "kill -TERM $$"])
        .code(143);
    let run = wd.run(&["lock", "l", "no-such-command-xyz"]).code(127);
    assert!(run.stderr.contains("command not found"), "{}", run.stderr);
}

#[test]
fn nonblock_on_busy_lock_fails_with_holder() {
    let wd = Workdir::new();
    let mut holder = spawn(&wd, &["lock", "l", "sh", "-c", "touch held; exec sleep 30"]);
    wait_for(&wd, "held");
    let run = wd.run(&["lock", "-n", "l", "true"]).code(1);
    assert!(
        run.stderr.contains("fkit: lock: l: already locked by pid"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("touch held; exec sleep 30"),
        "{}",
        run.stderr
    );
    wd.run(&["lock", "--nonblock", "-E", "42", "l", "true"])
        .code(42);
    wd.run(&["lock", "-w", "0", "l", "true"]).code(1);
    signal(&holder, libc::SIGTERM);
    holder.wait().unwrap();
    wd.run(&["lock", "-n", "l", "true"]).ok();
}

#[test]
fn timeout_returns_after_about_the_timeout() {
    let wd = Workdir::new();
    let mut holder = spawn(&wd, &["lock", "l", "sh", "-c", "touch held; exec sleep 30"]);
    wait_for(&wd, "held");
    let start = Instant::now();
    let run = wd.run(&["lock", "-w", "0.5", "l", "true"]).code(1);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(480), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert!(
        run.stderr.contains("timed out after 0.500s"),
        "{}",
        run.stderr
    );
    wd.run(&[
        "lock",
        "--timeout",
        "0.2",
        "--conflict-exit-code",
        "5",
        "l",
        "true",
    ])
    .code(5);
    signal(&holder, libc::SIGTERM);
    holder.wait().unwrap();
}

#[test]
fn waiting_lock_gets_it_when_released() {
    let wd = Workdir::new();
    let mut holder = spawn(&wd, &["lock", "l", "sh", "-c", "touch held; sleep 0.5"]);
    wait_for(&wd, "held");
    let start = Instant::now();
    wd.run(&["lock", "-w", "10", "l", "true"]).ok();
    assert!(start.elapsed() >= Duration::from_millis(200));
    holder.wait().unwrap();
}

#[test]
fn shared_locks_run_together() {
    let wd = Workdir::new();
    // Each holder waits (up to 10 s) for the other to be inside too.
    let both = |me: &str, other: &str| {
        format!(
            "touch {me}; i=0; while [ ! -e {other} ]; do sleep 0.01; i=$((i+1)); [ $i -gt 1000 ] && exit 9; done; exit 0"
        )
    };
    let a = both("a", "b");
    let b = both("b", "a");
    let mut first = Background::spawn(&mut wd.command(&["lock", "-s", "l", "-c", &a]));
    let second = wd.run(&["lock", "--shared", "-n", "l", "-c", &b]);
    assert!(first.wait().unwrap().success());
    second.ok();
}

#[test]
fn exclusive_waits_for_shared() {
    let wd = Workdir::new();
    let mut reader = spawn(
        &wd,
        &[
            "lock",
            "-s",
            "l",
            "sh",
            "-c",
            "touch in; sleep 0.8; touch out",
        ],
    );
    wait_for(&wd, "in");
    // The exclusive holder must only run after the reader left.
    let run = wd
        .run(&["lock", "-x", "l", "sh", "-c", "test -e out && echo after"])
        .ok();
    assert_eq!(run.stdout_str(), "after\n");
    reader.wait().unwrap();
}

#[test]
fn signals_are_forwarded_to_the_command() {
    let wd = Workdir::new();
    let child = Background::spawn(
        wd.command(&[
            "lock",
            "l",
            "sh",
            "-c",
            "trap 'echo got-term; exit 3' TERM; touch ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::piped()),
    );
    wait_for(&wd, "ready");
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got-term\n");
    assert_eq!(out.status.code(), Some(3));
    wd.run(&["lock", "-n", "l", "true"]).ok();
}

#[test]
fn sigkill_of_holder_releases_lock_and_record_is_stale() {
    let wd = Workdir::new();
    // -o: the command does not inherit the lock, so fkit alone holds it.
    let mut holder = spawn(
        &wd,
        &[
            "lock",
            "-o",
            "l",
            "sh",
            "-c",
            "echo $$ > pid; touch held; exec sleep 30",
        ],
    );
    wait_for(&wd, "held");
    let run = wd.run(&["lock", "--check", "l"]).code(1);
    assert!(
        run.stdout_str().starts_with("l: held (exclusive) by pid"),
        "{}",
        run.stdout_str()
    );
    signal(&holder, libc::SIGKILL);
    holder.wait().unwrap();
    let run = wd.run(&["lock", "--check", "l", "--json"]).ok();
    let state: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(state["held"], false);
    assert_eq!(state["stale_record"], true);
    assert_eq!(
        state["holder"]["command"],
        "sh -c echo $$ > pid; touch held; exec sleep 30"
    );
    let run = wd.run(&["lock", "--check", "l"]).ok();
    assert!(
        run.stdout_str().contains("free; stale record of pid"),
        "{}",
        run.stdout_str()
    );
    wd.run(&["lock", "-n", "l", "true"]).ok();
    let sleeper: i32 = String::from_utf8_lossy(&wd.read("pid"))
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) touches no memory of ours.
    unsafe {
        libc::kill(sleeper, libc::SIGKILL);
    }
}

#[test]
fn check_reports_free_held_and_holder() {
    let wd = Workdir::new();
    let run = wd.run(&["lock", "--check", "missing"]).ok();
    assert_eq!(run.stdout_str(), "missing: free\n");
    assert!(
        !wd.exists("missing"),
        "--check must not create the lock file"
    );
    let mut holder = spawn(&wd, &["lock", "l", "sh", "-c", "touch held; exec sleep 30"]);
    wait_for(&wd, "held");
    let run = wd.run(&["lock", "--check", "--json", "l"]).code(1);
    let state: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(state["held"], true);
    assert_eq!(state["mode"], "exclusive");
    assert_eq!(state["stale_record"], false);
    assert_eq!(state["holder"]["pid"], holder.id());
    assert_eq!(
        state["holder"]["command"],
        "sh -c touch held; exec sleep 30"
    );
    assert!(state["holder"]["since"].as_f64().unwrap() > 1.6e9);
    signal(&holder, libc::SIGTERM);
    holder.wait().unwrap();
    wd.run(&["lock", "--check", "l"]).ok();
}

#[test]
fn shared_holders_are_named_from_the_kernel() {
    let wd = Workdir::new();
    let mut holder = spawn(
        &wd,
        &["lock", "-s", "l", "sh", "-c", "touch held; exec sleep 30"],
    );
    wait_for(&wd, "held");
    let run = wd.run(&["lock", "--check", "l"]).code(1);
    let text = run.stdout_str();
    assert!(text.starts_with("l: held (shared) by pid"), "{text}");
    assert!(text.contains(&format!("pid {}", holder.id())), "{text}");
    signal(&holder, libc::SIGTERM);
    holder.wait().unwrap();
}

#[test]
fn lockfile_with_content_is_left_alone() {
    let wd = Workdir::new();
    wd.write("data.csv", "a,b\n1,2\n");
    let run = wd.run(&["lock", "data.csv", "cat", "data.csv"]).ok();
    assert_eq!(run.stdout_str(), "a,b\n1,2\n");
    assert_eq!(wd.read("data.csv"), b"a,b\n1,2\n");
}

#[test]
fn directory_as_lockfile() {
    let wd = Workdir::new();
    std::fs::create_dir(wd.join("d")).unwrap();
    let mut holder = spawn(&wd, &["lock", "d", "sh", "-c", "touch held; exec sleep 30"]);
    wait_for(&wd, "held");
    wd.run(&["lock", "-n", "d", "true"]).code(1);
    signal(&holder, libc::SIGTERM);
    holder.wait().unwrap();
    wd.run(&["lock", "-n", "d", "true"]).ok();
}

#[test]
fn file_descriptor_form_like_flock() {
    let wd = Workdir::new();
    let out = wd.sh(
        "( \"$FKIT\" lock -n 9 || exit 1; touch held; sleep 1 ) 9>l & sleep 0.3; \"$FKIT\" lock -n l true; echo busy=$?; wait",
    );
    assert!(wd.exists("held"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "busy=1\n");
}

#[test]
fn no_fork_keeps_the_lock_in_the_command() {
    let wd = Workdir::new();
    let out = wd.sh(
        "\"$FKIT\" lock -F l sh -c 'touch held; sleep 1' & sleep 0.3; \"$FKIT\" lock -n l true; echo busy=$?; wait",
    );
    assert!(wd.exists("held"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "busy=1\n");
}

#[test]
fn usage_errors() {
    let wd = Workdir::new();
    let run = wd.run(&["lock", "l"]).code(2);
    assert!(run.stderr.contains("COMMAND"), "{}", run.stderr);
    wd.run(&["lock", "-s", "-x", "l", "true"]).code(2);
    wd.run(&["lock", "-w", "soon", "l", "true"]).code(2);
    wd.run(&["lock", "l", "-c"]).code(2);
}
