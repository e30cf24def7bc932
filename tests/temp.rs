mod common;

use common::{Run, Workdir, have_gnu, run_command};
use std::path::PathBuf;
use std::process::Command;

fn created(run: common::Run) -> PathBuf {
    let text = run.ok().stdout_str();
    assert!(text.ends_with('\n'), "one path and a newline: {text:?}");
    PathBuf::from(text.trim_end())
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn creates_a_private_file_and_directory() {
    let wd = Workdir::new();
    let dir = wd.path().to_str().unwrap();
    let file = created(wd.run(&["temp", "--in", dir]));
    assert!(file.is_file() && file.starts_with(wd.path()));
    assert!(
        file.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("tmp.")
    );
    let sub = created(wd.run(&[
        "temp", "-d", "--in", dir, "--prefix", "build.", "--suffix", ".d",
    ]));
    assert!(sub.is_dir());
    let name = sub.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("build.") && name.ends_with(".d"), "{name}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&sub), 0o700);
    }
}

#[test]
fn mktemp_templates() {
    let wd = Workdir::new();
    let path = created(wd.run(&["temp", "out.XXXXXX", "--suffix", ".json"]));
    let name = path.to_str().unwrap();
    assert!(path.is_relative(), "printed relative like mktemp: {name}");
    assert_eq!(name.len(), "out.XXXXXX.json".len());
    assert!(name.starts_with("out.") && name.ends_with(".json") && !name.contains("XXX"));
    assert!(wd.join(name).is_file());

    std::fs::create_dir(wd.join("sub")).unwrap();
    let nested = created(wd.run(&["temp", "-d", "sub/t.XXXXXXXX"]));
    assert!(wd.path().join(&nested).is_dir());

    // mktemp's exit status for a bad template: 1.
    let run = wd.run(&["temp", "bad.XX"]).code(1);
    assert!(run.stderr.contains("bad.XX: too few X's"), "{}", run.stderr);
}

#[test]
fn two_temps_never_collide() {
    let wd = Workdir::new();
    let dir = wd.path().to_str().unwrap();
    let a = created(wd.run(&["temp", "--in", dir]));
    let b = created(wd.run(&["temp", "--in", dir]));
    assert_ne!(a, b);
}

#[test]
fn exec_passes_the_path_and_removes_it_after_success() {
    let wd = Workdir::new();
    let dir = wd.path().to_str().unwrap();
    let run = wd
        .run(&[
            "temp",
            "--in",
            dir,
            "--exec",
            "--",
            "sh",
            "-c",
            "test -f {} && test \"$FKIT_TEMP\" = {} && echo hi > {} && echo \"$FKIT_TEMP\"",
        ])
        .ok();
    let path = PathBuf::from(run.stdout_str().trim());
    assert!(path.starts_with(wd.path()), "{path:?}");
    assert!(!path.exists(), "removed after the command");
}

#[test]
fn exec_removes_a_directory_after_failure_and_passes_the_status_on() {
    let wd = Workdir::new();
    let dir = wd.path().to_str().unwrap();
    let run = wd
        .run(&[
            "temp",
            "-d",
            "--in",
            dir,
            "--exec",
            "--",
            "sh",
            "-c",
            "touch {}/a {}/b; echo $FKIT_TEMP; exit 7",
        ])
        .code(7);
    let path = PathBuf::from(run.stdout_str().trim());
    assert!(!path.exists());
    assert!(
        run.stderr.is_empty(),
        "the command's status speaks for itself: {}",
        run.stderr
    );
}

#[test]
fn exec_of_a_missing_program_fails_and_cleans_up() {
    let wd = Workdir::new();
    let dir = wd.path().to_str().unwrap();
    let run = wd
        .run(&["temp", "--in", dir, "--exec", "--", "no-such-program-fkit"])
        .code(1);
    assert!(
        run.stderr.contains("no-such-program-fkit"),
        "{}",
        run.stderr
    );
    assert!(wd.list().is_empty(), "{:?}", wd.list());
}

#[cfg(unix)]
#[test]
fn exec_cleans_up_when_interrupted() {
    use common::Background;
    use std::process::Stdio;
    use std::time::Duration;
    let wd = Workdir::new();
    let dir = wd.path().to_str().unwrap();
    let child = Background::spawn(
        wd.command(&[
            "temp",
            "-d",
            "--in",
            dir,
            "--exec",
            "--",
            "sh",
            "-c",
            "touch {}/inside; exec sleep 30",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped()),
    );
    // Wait for the command to have started inside the directory.
    let started = std::time::Instant::now();
    while !wd.list().iter().any(|n| wd.join(n).join("inside").exists()) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "command never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child; no memory is involved.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output();
    assert_eq!(out.status.code(), Some(130), "128 + SIGINT");
    assert!(wd.list().is_empty(), "directory removed: {:?}", wd.list());
}

#[test]
fn a_command_without_exec_is_a_usage_error() {
    let wd = Workdir::new();
    wd.run(&["temp", "--", "true"]).code(2);
}

#[test]
fn soak_replaces_the_file_it_reads_from() {
    let wd = Workdir::new();
    // Larger than a pipe buffer, so a non-soaking writer would truncate
    // the file while `cat` is still reading it.
    let mut data = String::new();
    for i in 0..50_000 {
        data.push_str(&format!("line {i}\n"));
    }
    wd.write("data.txt", &data);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(wd.join("data.txt"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
    }
    let out = wd.sh(r#"cat data.txt | tr a-z A-Z | "$FKIT" temp --soak data.txt"#);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(wd.read("data.txt")).unwrap(),
        data.to_uppercase()
    );
    #[cfg(unix)]
    assert_eq!(mode(&wd.join("data.txt")), 0o640);
    assert_eq!(wd.list(), vec!["data.txt"], "no temporary file left");
}

#[test]
fn soak_appends_creates_and_writes_stdout() {
    let wd = Workdir::new();
    wd.write("list", "a\n");
    wd.run_stdin(&["temp", "--soak", "list", "--append"], "b\n")
        .ok();
    assert_eq!(wd.read("list"), b"a\nb\n");
    wd.run_stdin(&["temp", "--soak", "fresh"], "new\n").ok();
    assert_eq!(wd.read("fresh"), b"new\n");
    let run = wd.run_stdin(&["temp", "--soak"], "to stdout\n").ok();
    assert_eq!(run.stdout, b"to stdout\n");
    assert_eq!(wd.list(), vec!["fresh", "list"]);
}

#[cfg(unix)]
#[test]
fn soak_writes_through_a_symlink() {
    let wd = Workdir::new();
    wd.write("real", "old\n");
    std::os::unix::fs::symlink("real", wd.join("link")).unwrap();
    wd.run_stdin(&["temp", "--soak", "link"], "new\n").ok();
    assert_eq!(wd.read("real"), b"new\n");
    assert!(
        std::fs::symlink_metadata(wd.join("link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// `mktemp ARGS` and `fkit temp ARGS` run the same way in `wd`, with
/// TMPDIR at wd/tmp (or unset) and the given umask.
fn both(wd: &Workdir, args: &[&str], tmpdir: bool, umask: &str) -> (Run, Run) {
    let run = |program: &std::path::Path, first: &[&str]| {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("umask {umask}; exec \"$@\""))
            .arg("sh")
            .arg(program)
            .args(first)
            .args(args)
            .current_dir(wd.path());
        if tmpdir {
            cmd.env("TMPDIR", wd.join("tmp"));
        } else {
            cmd.env_remove("TMPDIR");
        }
        run_command(&mut cmd, b"")
    };
    let fkit = common::fkit_bin();
    (
        run(std::path::Path::new("mktemp"), &[]),
        run(&fkit, &["temp"]),
    )
}

/// Same length, and where two names differ both have random characters.
fn same_shape(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| x == y || x.is_ascii_alphanumeric() && y.is_ascii_alphanumeric())
}

#[test]
fn names_modes_and_statuses_match_mktemp() {
    if !have_gnu("mktemp") {
        eprintln!("skipped: GNU mktemp not installed");
        return;
    }
    let wd = Workdir::new();
    std::fs::create_dir(wd.join("tmp")).unwrap();
    std::fs::create_dir(wd.join("sub")).unwrap();
    let cases: &[&[&str]] = &[
        &[],
        &["-d"],
        &["foo.XXXXXX.json"],
        &["-d", "x.XXX.y.XXXX.d"],
        &["-t", "job.XXXX"],
        &["-t", "-p", "sub", "job.XXXX"],
        &["-p", "sub", "aXXX.c"],
        &["-p", "", "aXXXXX"],
        &["--tmpdir", "bXXXXXXX"],
        &["--tmpdir=sub", "cXXX"],
        &["sub/dXXXXXX"],
        &["--suffix=.txt", "eXXXXX"],
        &["--suffix", ".txt"],
    ];
    for tmpdir in [true, false] {
        for case in cases {
            for dry in [false, true] {
                let mut args = case.to_vec();
                if dry {
                    args.push("-u");
                }
                // Without TMPDIR the real /tmp is used: names only.
                if !tmpdir && !dry {
                    continue;
                }
                let (peer, mine) = both(&wd, &args, tmpdir, "022");
                assert_eq!(peer.status, 0, "mktemp {args:?}: {}", peer.stderr);
                assert_eq!(mine.status, 0, "fkit temp {args:?}: {}", mine.stderr);
                let (p, m) = (peer.stdout_str(), mine.stdout_str());
                assert!(same_shape(&p, &m), "{args:?}: mktemp {p:?}, fkit {m:?}");
                let (p, m) = (wd.path().join(p.trim_end()), wd.path().join(m.trim_end()));
                assert_eq!(p.exists(), !dry, "{p:?}");
                assert_eq!(m.exists(), !dry, "{m:?}");
            }
        }
    }
    #[cfg(unix)]
    for umask in ["022", "077", "277", "0"] {
        for kind in [&["-p", "sub"][..], &["-d", "-p", "sub"][..]] {
            let (peer, mine) = both(&wd, kind, true, umask);
            let p = wd.path().join(peer.ok().stdout_str().trim_end());
            let m = wd.path().join(mine.ok().stdout_str().trim_end());
            assert_eq!(mode(&p), mode(&m), "umask {umask} {kind:?}");
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
            std::fs::set_permissions(&m, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
        }
    }
}

#[test]
fn failures_match_mktemp() {
    if !have_gnu("mktemp") {
        eprintln!("skipped: GNU mktemp not installed");
        return;
    }
    let wd = Workdir::new();
    std::fs::create_dir(wd.join("tmp")).unwrap();
    // (arguments, whether -q silences it: only a path that cannot be made)
    let cases: &[(&[&str], bool)] = &[
        (&["bad.XX"], false),
        (&["XXXa/b"], false),
        (&["-t", "a/bXXX"], false),
        (&["-p", ".", "/abs/XXX"], false),
        (&["--suffix=.x", "fooXXX.y"], false),
        (&["--suffix=a/b", "fooXXX"], false),
        (&["nodir/fooXXX"], true),
        (&["-d", "nodir/fooXXX"], true),
        (&["-p", "nodir"], true),
    ];
    for (args, quietened) in cases {
        for quiet in [false, true] {
            let mut args = args.to_vec();
            if quiet {
                args.insert(0, "-q");
            }
            let (peer, mine) = both(&wd, &args, true, "022");
            assert_eq!(peer.status, 1, "mktemp {args:?}");
            assert_eq!(mine.status, 1, "fkit temp {args:?}: {}", mine.stderr);
            assert!(mine.stdout.is_empty() && peer.stdout.is_empty());
            let silent = quiet && *quietened;
            assert_eq!(
                peer.stderr.is_empty(),
                silent,
                "mktemp {args:?}: {}",
                peer.stderr
            );
            assert_eq!(
                mine.stderr.is_empty(),
                silent,
                "fkit {args:?}: {}",
                mine.stderr
            );
            if !silent {
                assert!(
                    mine.stderr.starts_with("fkit: temp: "),
                    "{args:?}: {}",
                    mine.stderr
                );
            }
        }
    }
    assert_eq!(wd.list(), vec!["tmp"], "nothing created");
}
