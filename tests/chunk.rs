mod common;

#[cfg(unix)]
use common::Background;
use common::{Workdir, fkit_bin, have, have_gnu, pseudo_random, run_command};
use std::process::Command;

/// Lines of varied length (some empty, one longer than the small chunk
/// sizes used below), optionally without a final newline.
fn text(len: usize, seed: u64) -> Vec<u8> {
    let noise = pseudo_random(len, seed);
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while out.len() < len {
        let n = match noise[i % noise.len()] % 16 {
            0 => 0,
            1 => 700,
            k => k as usize * 5,
        };
        out.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, n));
        out.push(b'\n');
        i += 1;
    }
    out.truncate(len);
    out
}

fn read_manifest(wd: &Workdir, path: &str) -> serde_json::Value {
    serde_json::from_slice(&wd.read(path)).expect("manifest is JSON")
}

/// Split `data` (from a file or stdin) and join it back both ways.
fn round_trip(data: &[u8], cut: &[&str], stdin: bool) {
    let wd = Workdir::new();
    wd.write("in", data);
    let mut args = vec!["chunk", "split"];
    if !stdin {
        args.push("in");
    }
    args.extend_from_slice(&["--dir", "parts", "--prefix", "in."]);
    args.extend_from_slice(cut);
    if stdin {
        wd.run_stdin(&args, data).ok();
    } else {
        wd.run(&args).ok();
    }
    let m = read_manifest(&wd, "parts/in.manifest.json");
    assert_eq!(m["algorithm"], "xxh3-64");
    assert_eq!(m["size"].to_string(), data.len().to_string());
    let chunks = m["chunks"].as_array().unwrap();
    // Each listed chunk holds exactly its range of the input.
    for c in chunks {
        let name = c["name"].as_str().unwrap();
        let offset: usize = c["offset"].to_string().parse().unwrap();
        let size: usize = c["size"].to_string().parse().unwrap();
        assert_eq!(
            wd.read(&format!("parts/{name}")),
            &data[offset..offset + size]
        );
    }
    wd.run(&["chunk", "join", "parts/in.manifest.json", "-o", "out"])
        .ok();
    assert_eq!(wd.read("out"), data, "{cut:?} stdin={stdin}");
    let run = wd.run(&["chunk", "join", "parts/in.manifest.json"]).ok();
    assert_eq!(run.stdout, data);
    // Nothing else was left in the work dir.
    assert_eq!(wd.list(), vec!["in", "out", "parts"]);
}

#[test]
fn round_trips_by_size() {
    for stdin in [false, true] {
        for len in [0usize, 1, 999, 1000, 1001, 25_000] {
            let data = text(len, len as u64);
            round_trip(&data, &["--size", "1000"], stdin);
            round_trip(&data, &["--size", "1000", "--line-aligned"], stdin);
        }
        let bin = pseudo_random(10_001, 1);
        round_trip(&bin, &["-s", "1K"], stdin);
        round_trip(&bin, &["-s", "1K", "-C"], stdin);
    }
}

#[test]
fn round_trips_by_lines_and_number() {
    for stdin in [false, true] {
        for len in [0usize, 1, 5000, 30_001] {
            let data = text(len, 40 + len as u64);
            round_trip(&data, &["--lines", "100"], stdin);
            round_trip(&data, &["--lines", "1"], stdin);
        }
    }
    for len in [0usize, 1, 5000, 30_001] {
        let data = text(len, 80 + len as u64);
        round_trip(&data, &["--number", "7"], false);
        round_trip(&data, &["--number", "7", "--line-aligned"], false);
    }
}

/// The chunks are the ones GNU split makes with the same cut.
#[test]
fn chunks_match_gnu_split() {
    if !have_gnu("split") {
        eprintln!("skipped: GNU split not installed");
        return;
    }
    let data = text(50_000, 9);
    for (ours, theirs) in [
        (vec!["--size", "4096"], "-b 4096"),
        (vec!["--size", "4096", "--line-aligned"], "-C 4096"),
        (vec!["--lines", "300"], "-l 300"),
        (vec!["--number", "5"], "-n 5"),
        (vec!["--number", "5", "--line-aligned"], "-n l/5"),
    ] {
        let wd = Workdir::new();
        wd.write("in", &data);
        let mut args = vec!["chunk", "split", "in", "--prefix", "ours.", "--digits", "2"];
        args.extend_from_slice(&ours);
        wd.run(&args).ok();
        let status = Command::new("sh")
            .args(["-c", &format!("split -d {theirs} in theirs.")])
            .current_dir(wd.path())
            .status()
            .unwrap();
        assert!(status.success());
        let mut i = 0;
        while wd.exists(&format!("theirs.{i:02}")) {
            assert_eq!(
                wd.read(&format!("ours.{i:02}")),
                wd.read(&format!("theirs.{i:02}")),
                "{theirs} chunk {i}"
            );
            i += 1;
        }
        assert!(!wd.exists(&format!("ours.{i:02}")), "{theirs}: extra chunk");
    }
}

fn split_small(wd: &Workdir) -> Vec<u8> {
    let data = text(10_000, 11);
    wd.write("big.log", &data);
    wd.run(&["chunk", "split", "big.log", "-s", "3000", "-d", "parts"])
        .ok();
    data
}

#[test]
fn join_refuses_a_corrupt_chunk_and_leaves_nothing() {
    let wd = Workdir::new();
    split_small(&wd);
    let mut bytes = wd.read("parts/big.log.0002");
    bytes[17] ^= 1;
    wd.write("parts/big.log.0002", &bytes);
    let before = wd.list();
    let run = wd
        .run(&["chunk", "join", "parts/big.log.manifest.json", "-o", "out"])
        .code(1);
    assert!(run.stderr.contains("big.log.0002"), "{}", run.stderr);
    assert!(run.stderr.contains("corrupt"), "{}", run.stderr);
    assert_eq!(wd.list(), before);
    // To stdout nothing is written either: every chunk is checked first.
    let run = wd
        .run(&["chunk", "join", "parts/big.log.manifest.json"])
        .code(1);
    assert!(run.stdout.is_empty());
    // Stdout redirected to a file is cut back to where it started.
    wd.write("kept", "before\n");
    let out = wd.sh(
        "\"$FKIT\" chunk join parts/big.log.manifest.json > new; \"$FKIT\" chunk join parts/big.log.manifest.json >> kept",
    );
    assert!(!out.status.success());
    assert_eq!(wd.read("new"), b"");
    assert_eq!(wd.read("kept"), b"before\n");
}

#[test]
fn join_to_a_redirected_stdout() {
    let wd = Workdir::new();
    let data = split_small(&wd);
    wd.write("kept", "before\n");
    let out = wd.sh(
        "\"$FKIT\" chunk join parts/big.log.manifest.json > new && \"$FKIT\" chunk join parts/big.log.manifest.json >> kept",
    );
    assert!(out.status.success());
    assert_eq!(wd.read("new"), data);
    let mut want = b"before\n".to_vec();
    want.extend(&data);
    assert_eq!(wd.read("kept"), want);
}

#[test]
fn join_refuses_a_missing_or_truncated_chunk() {
    let wd = Workdir::new();
    split_small(&wd);
    std::fs::remove_file(wd.join("parts/big.log.0001")).unwrap();
    let run = wd
        .run(&["chunk", "join", "parts/big.log.manifest.json", "-o", "out"])
        .code(1);
    assert!(run.stderr.contains("big.log.0001"), "{}", run.stderr);
    assert!(run.stderr.contains("missing"), "{}", run.stderr);
    assert!(!wd.exists("out"));

    let wd = Workdir::new();
    split_small(&wd);
    let bytes = wd.read("parts/big.log.0003");
    wd.write("parts/big.log.0003", &bytes[..bytes.len() - 1]);
    let run = wd
        .run(&["chunk", "join", "parts/big.log.manifest.json", "-o", "out"])
        .code(1);
    assert!(run.stderr.contains("big.log.0003"), "{}", run.stderr);
    assert_eq!(wd.list(), vec!["big.log", "parts"]);
}

#[test]
fn join_chunks_in_the_order_given() {
    let wd = Workdir::new();
    wd.write("a", "first\n");
    wd.write("b", "second\n");
    wd.run(&["chunk", "join", "b", "a", "-o", "ba"]).ok();
    assert_eq!(wd.read("ba"), b"second\nfirst\n");
    let run = wd.run(&["chunk", "join", "a", "b"]).ok();
    assert_eq!(run.stdout, b"first\nsecond\n");
    // An existing output needs --force.
    wd.run(&["chunk", "join", "a", "-o", "ba"]).code(1);
    assert_eq!(wd.read("ba"), b"second\nfirst\n");
    wd.run(&["chunk", "join", "a", "-o", "ba", "--force"]).ok();
    assert_eq!(wd.read("ba"), b"first\n");
    let run = wd.run(&["chunk", "join", "a", "nope"]).code(1);
    assert!(run.stderr.contains("nope"));
}

#[test]
fn split_never_overwrites_and_leaves_nothing_on_error() {
    let wd = Workdir::new();
    let data = split_small(&wd);
    // Again without --force: refused, the old chunks untouched.
    let before = wd.read("parts/big.log.0000");
    let run = wd
        .run(&["chunk", "split", "big.log", "-s", "1000", "-d", "parts"])
        .code(1);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(wd.read("parts/big.log.0000"), before);
    // Too many chunks for the digits: an error, and no chunk is left.
    let run = wd
        .run(&[
            "chunk", "split", "big.log", "-s", "500", "--digits", "1", "-d", "new",
        ])
        .code(1);
    assert!(run.stderr.contains("suffix"), "{}", run.stderr);
    assert!(
        std::fs::read_dir(wd.join("new")).unwrap().next().is_none(),
        "chunks left behind"
    );
    let run = wd
        .run_stdin(
            &["chunk", "split", "-s", "500", "--digits", "1", "-d", "new"],
            &data,
        )
        .code(1);
    assert!(run.stderr.contains("suffix"), "{}", run.stderr);
    assert!(std::fs::read_dir(wd.join("new")).unwrap().next().is_none());
    // Usage errors.
    wd.run(&["chunk", "split", "big.log"]).code(2);
    wd.run(&["chunk", "split", "big.log", "-s", "0"]).code(2);
    wd.run(&["chunk", "split", "big.log", "-s", "1K", "-l", "5"])
        .code(2);
    let run = wd.run_stdin(&["chunk", "split", "-n", "3"], &data).code(1);
    assert!(run.stderr.contains("--number"), "{}", run.stderr);
}

#[test]
fn exec_pipes_each_chunk_and_names_failures() {
    let wd = Workdir::new();
    let data = text(20_000, 12);
    wd.write("in", &data);
    wd.run(&[
        "chunk",
        "split",
        "in",
        "-s",
        "4K",
        "-C",
        "-j",
        "3",
        "--exec",
        "cat > {}.part && test \"$FKIT_CHUNK\" = {}",
    ])
    .ok();
    let m_wd = Workdir::new();
    m_wd.write("in", &data);
    m_wd.run(&["chunk", "split", "in", "-s", "4K", "-C"]).ok();
    let m = read_manifest(&m_wd, "in.manifest.json");
    let mut joined = Vec::new();
    for c in m["chunks"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert_eq!(wd.read(&format!("{name}.part")), m_wd.read(name));
        joined.extend(wd.read(&format!("{name}.part")));
    }
    assert_eq!(joined, data);
    // From stdin too, in parallel.
    let wd2 = Workdir::new();
    wd2.run_stdin(
        &[
            "chunk",
            "split",
            "-s",
            "4K",
            "-C",
            "-j",
            "2",
            "--exec",
            "cat > $FKIT_CHUNK",
        ],
        &data,
    )
    .ok();
    for c in m["chunks"].as_array().unwrap() {
        let idx = c["name"].as_str().unwrap().trim_start_matches("in.");
        assert_eq!(
            wd2.read(&format!("chunk.{idx}")),
            m_wd.read(c["name"].as_str().unwrap())
        );
    }
    // A failing command: status 1, the failed chunks named, others ran.
    let wd3 = Workdir::new();
    wd3.write("in", &data);
    let run = wd3
        .run(&[
            "chunk",
            "split",
            "in",
            "-s",
            "4K",
            "-j",
            "2",
            "--exec",
            "cat > {}; [ $FKIT_CHUNK_INDEX != 2 ] || exit 7",
        ])
        .code(1);
    assert!(
        run.stderr.contains("in.0002: exit status 7"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("in.0001"), "{}", run.stderr);
    assert!(wd3.exists("in.0004"));
    // A command that reads only part of its chunk is not an fkit error.
    wd3.run(&[
        "chunk",
        "split",
        "in",
        "-s",
        "4K",
        "--exec",
        "head -c 1 >/dev/null",
    ])
    .ok();
}

#[test]
fn plan_and_cat() {
    let wd = Workdir::new();
    let data = text(10_000, 13);
    wd.write("f", &data);
    let run = wd.run(&["chunk", "plan", "f", "-s", "3000", "-C"]).ok();
    let ranges: Vec<(usize, usize)> = run
        .stdout_str()
        .lines()
        .map(|l| {
            let (o, n) = l.split_once(':').unwrap();
            (o.parse().unwrap(), n.parse().unwrap())
        })
        .collect();
    let mut joined = Vec::new();
    for (o, n) in &ranges {
        assert!(*n <= 3000);
        let part = wd
            .run(&["chunk", "cat", "f", "--range", &format!("{o}:{n}")])
            .ok();
        assert_eq!(part.stdout, &data[*o..o + n]);
        if o + n < data.len() {
            assert_eq!(data[o + n - 1], b'\n', "cut inside a line");
        }
        joined.extend(part.stdout);
    }
    assert_eq!(joined, data);
    let json = wd
        .run(&["chunk", "plan", "f", "-s", "3000", "-C", "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["chunks"].as_array().unwrap().len(), ranges.len());
    assert_eq!(v["chunks"][1]["name"], "f.0001");
    assert_eq!(
        v["chunks"][1]["range"].as_str().unwrap(),
        format!("{}:{}", ranges[1].0, ranges[1].1)
    );
    // A range past the end is an error, not a short read.
    let run = wd.run(&["chunk", "cat", "f", "--range", "9999:2"]).code(1);
    assert!(run.stderr.contains("past the end"));
    wd.run(&["chunk", "cat", "f", "--range", "10"]).code(2);
}

/// The README recipe: plan --json drives GNU parallel; `--sshlogin :`
/// stands in for remote hosts. The ordered outputs join byte for byte.
#[test]
fn gnu_parallel_runs_the_plan() {
    // moreutils has a `parallel` too, with other options: only GNU's runs
    // this recipe.
    if !have_gnu("parallel") {
        eprintln!("skipped: GNU parallel not installed (`parallel --version` does not say GNU)");
        return;
    }
    if !have("jq") {
        eprintln!("skipped: jq not installed");
        return;
    }
    let wd = Workdir::new();
    let data = text(200_000, 14);
    wd.write("big.log", &data);
    let fkit = fkit_bin();
    let script = format!(
        "'{fkit}' chunk plan big.log --size 16K --line-aligned --json \
         | jq -r '.chunks[].range' \
         | parallel --will-cite -k -j 3 --sshlogin : \"cd '$PWD' && '{fkit}' chunk cat big.log --range {{}}\" > joined",
        fkit = fkit.display()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .current_dir(wd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(wd.read("joined"), data);
    // Per-range work joins back in order too: count lines per range.
    let script = format!(
        "'{fkit}' chunk plan big.log -n 5 -C | parallel --will-cite -k --sshlogin : \
         \"cd '$PWD' && '{fkit}' chunk cat big.log --range {{}} | wc -l\" | paste -sd+ | bc",
        fkit = fkit.display()
    );
    if have("bc") {
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(wd.path())
            .output()
            .unwrap();
        let lines = data.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            lines.to_string()
        );
    }
}

#[test]
fn help_has_examples() {
    let wd = Workdir::new();
    for sub in ["split", "join", "plan", "cat"] {
        let run = wd.run(&["chunk", sub, "--help"]).ok();
        assert!(run.stdout_str().contains("Examples:"), "{sub}");
    }
}

/// A `kill` aimed at fkit reaches every running command, no further
/// command starts, and fkit exits as they did (128 + signal).
#[cfg(unix)]
#[test]
fn exec_passes_a_signal_on_to_the_commands_and_starts_no_more() {
    let wd = Workdir::new();
    wd.write("in", "1\n2\n3\n4\n5\n6\n");
    let script = "cat > /dev/null; trap 'touch got.$FKIT_CHUNK_INDEX; exit 3' TERM; \
                  touch started.$FKIT_CHUNK_INDEX; while :; do sleep 0.05; done";
    let mut split = Background::spawn(&mut wd.command(&[
        "chunk", "split", "in", "--lines", "1", "-j", "2", "--exec", script,
    ]));
    let started = || {
        wd.list()
            .iter()
            .filter(|n| n.starts_with("started."))
            .count()
    };
    let start = std::time::Instant::now();
    while started() < 2 {
        assert!(start.elapsed().as_secs() < 20, "the commands never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: kill(2) touches no memory of ours.
    unsafe { libc::kill(split.id() as libc::pid_t, libc::SIGTERM) };
    let status = split.wait().unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    let got = wd.list().iter().filter(|n| n.starts_with("got.")).count();
    assert_eq!(got, 2, "{:?}", wd.list());
    assert_eq!(started(), 2, "{:?}", wd.list());
}

/// Ctrl-C while chunks of a pipe are still being made: none is left, not
/// even one made while the cleanup was removing the others.
#[cfg(unix)]
#[test]
fn interrupted_split_of_a_pipe_leaves_no_chunk() {
    use std::io::Write;
    for attempt in 0..5 {
        let wd = Workdir::new();
        std::fs::create_dir(wd.join("out")).unwrap();
        let mut split = Background::spawn(
            wd.command(&["chunk", "split", "-q", "-l", "10", "-", "out/x"])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null()),
        );
        let mut stdin = split.stdin.take().unwrap();
        // Fed without end until fkit is gone (a broken pipe then).
        let feeder = std::thread::spawn(move || {
            let block = "a line of the endless input\n".repeat(1000);
            while stdin.write_all(block.as_bytes()).is_ok() {}
        });
        let start = std::time::Instant::now();
        while std::fs::read_dir(wd.join("out")).unwrap().count() < 50 + 20 * attempt {
            assert!(start.elapsed().as_secs() < 20, "no chunks are being made");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // SAFETY: kill(2) touches no memory of ours.
        unsafe { libc::kill(split.id() as libc::pid_t, libc::SIGINT) };
        let status = split.wait().unwrap();
        feeder.join().unwrap();
        assert_eq!(status.code(), Some(128 + libc::SIGINT));
        let left: Vec<_> = std::fs::read_dir(wd.join("out")).unwrap().collect();
        assert!(left.is_empty(), "attempt {attempt}: {} left", left.len());
    }
}

/// The README's `--exec 'gzip > {}.gz'`: the compressed chunks, one gzip
/// member each, decompress in order to the input.
#[test]
fn exec_gzip_recipe() {
    if !have("gzip") {
        eprintln!("skipped: gzip not installed");
        return;
    }
    let wd = Workdir::new();
    let data = text(40_000, 15);
    wd.write("big.log", &data);
    wd.run(&[
        "chunk",
        "split",
        "-",
        "--lines",
        "100",
        "--dir",
        "gz",
        "--exec",
        "gzip > {}.gz",
        "-j",
        "2",
    ])
    .code(0);
    // `-` is stdin: here empty, so no chunk and no command ran.
    assert!(std::fs::read_dir(wd.join("gz")).unwrap().next().is_none());
    wd.run(&[
        "chunk",
        "split",
        "big.log",
        "--lines",
        "100",
        "--dir",
        "gz",
        "--exec",
        "gzip > {}.gz",
        "-j",
        "2",
    ])
    .ok();
    let out = Command::new("sh")
        .args(["-c", "cat gz/big.log.*.gz | gzip -dc"])
        .current_dir(wd.path())
        .output()
        .unwrap();
    assert_eq!(out.stdout, data);
}

#[test]
fn join_refuses_chunk_names_outside_the_manifest_dir() {
    let wd = Workdir::new();
    split_small(&wd);
    let text = String::from_utf8(wd.read("parts/big.log.manifest.json")).unwrap();
    wd.write(
        "parts/big.log.manifest.json",
        text.replace("\"big.log.0001\"", "\"../big.log\""),
    );
    let run = wd
        .run(&["chunk", "join", "parts/big.log.manifest.json", "-o", "out"])
        .code(1);
    assert!(run.stderr.contains("not a file name"), "{}", run.stderr);
    assert!(!wd.exists("out"));
}

/// Chunks larger than one kernel copy step (4 MiB), copied on several
/// threads, with a chunk boundary that is not page-aligned.
#[test]
fn large_chunks_round_trip_and_a_late_corruption_is_caught() {
    let data = text(11_000_123, 5);
    round_trip(&data, &["--size", "5000001"], false);
    round_trip(&data, &["--size", "4M", "--line-aligned"], false);

    let wd = Workdir::new();
    wd.write("big", &data);
    wd.run(&["chunk", "split", "big", "-s", "5000001", "-d", "parts"])
        .ok();
    let mut bytes = wd.read("parts/big.0001");
    let last = bytes.len() - 3;
    bytes[last] ^= 0x20;
    wd.write("parts/big.0001", &bytes);
    let run = wd
        .run(&["chunk", "join", "parts/big.manifest.json", "-o", "out"])
        .code(1);
    assert!(run.stderr.contains("big.0001"), "{}", run.stderr);
    assert!(run.stderr.contains("corrupt"), "{}", run.stderr);
    assert_eq!(wd.list(), vec!["big", "parts"]);
}

/// A join into redirected stdout leaves the descriptor after its bytes,
/// so what the shell writes next follows them.
#[test]
fn join_to_stdout_leaves_the_position_after_the_join() {
    let wd = Workdir::new();
    let data = text(9_000_000, 3);
    wd.write("big", &data);
    wd.run(&["chunk", "split", "big", "-s", "2M", "-d", "parts"])
        .ok();
    let out =
        wd.sh("{ echo head; \"$FKIT\" chunk join parts/big.manifest.json; echo tail; } > out");
    assert!(out.status.success());
    let mut want = b"head\n".to_vec();
    want.extend(&data);
    want.extend(b"tail\n");
    assert!(wd.read("out") == want, "joined bytes differ");
}

/// Stdin redirected from a regular file is split like the file, from
/// stdin's position on, and left at its end; --number then works too.
#[test]
fn split_of_stdin_on_a_regular_file_starts_at_its_position() {
    let wd = Workdir::new();
    let data = text(200_000, 9);
    wd.write("big.log", &data);
    let out = wd.sh(
        "{ dd bs=1000 count=1 of=/dev/null 2>/dev/null; \"$FKIT\" chunk split -s 30000 -C -d parts; cat; } < big.log > rest \
         && \"$FKIT\" chunk split -n 4 -d four --prefix q. < big.log",
    );
    assert!(out.status.success());
    // Nothing was left for `cat` after the split.
    assert_eq!(wd.read("rest"), b"");
    let m = read_manifest(&wd, "parts/chunk.manifest.json");
    assert_eq!(m["size"].to_string(), (data.len() - 1000).to_string());
    let run = wd.run(&["chunk", "join", "parts/chunk.manifest.json"]).ok();
    assert!(run.stdout == data[1000..], "joined bytes differ");
    assert_eq!(
        read_manifest(&wd, "four/q.manifest.json")["chunks"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let run = wd.run(&["chunk", "join", "four/q.manifest.json"]).ok();
    assert!(run.stdout == data, "joined bytes differ");
    // --exec reads its chunks from stdin's file too (by position), and
    // --number works there.
    let out = wd.sh(
        "{ dd bs=1000 count=1 of=/dev/null 2>/dev/null; \"$FKIT\" chunk split -n 3 -C --exec 'cat > $FKIT_CHUNK' -j 2 -d ex; cat; } < big.log > rest2",
    );
    assert!(out.status.success());
    assert_eq!(wd.read("rest2"), b"");
    let mut parts = Vec::new();
    for i in 0..3 {
        parts.extend(wd.read(&format!("ex/chunk.000{i}")));
    }
    assert!(parts == data[1000..], "exec chunks differ");
    // A file that reports no size but has content (/proc) is streamed.
    #[cfg(target_os = "linux")]
    {
        let out = wd.sh("\"$FKIT\" chunk split -s 100 -d procfs < /proc/self/mountinfo");
        assert!(out.status.success());
        let m = read_manifest(&wd, "procfs/chunk.manifest.json");
        assert!(m["size"].as_u64().unwrap() > 0, "{m}");
    }
    // From a pipe --number cannot know the size.
    let run = wd
        .run_stdin(&["chunk", "split", "-n", "4", "-d", "pipe"], &data)
        .code(1);
    assert!(run.stderr.contains("not a pipe"), "{}", run.stderr);
}

/// Offsets past 4 GiB, on a sparse file (nothing that large is written):
/// plan cuts it, and cat reads a range beyond 4 GiB exactly.
#[test]
fn plan_and_cat_past_4_gib() {
    let wd = Workdir::new();
    let path = wd.join("sparse");
    let file = std::fs::File::create(&path).unwrap();
    let size = (5u64 << 30) + 100;
    file.set_len(size).unwrap();
    let far = (4u64 << 30) + 10;
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = &file;
        f.seek(SeekFrom::Start(far)).unwrap();
        f.write_all(b"far away\n").unwrap();
    }
    let run = wd.run(&["chunk", "plan", "sparse", "-s", "3G"]).ok();
    assert_eq!(
        run.stdout_str(),
        format!("0:{}\n{}:{}\n", 3u64 << 30, 3u64 << 30, size - (3u64 << 30))
    );
    let run = wd
        .run(&["chunk", "plan", "sparse", "-n", "2", "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["size"].as_u64(), Some(size));
    assert_eq!(v["chunks"][1]["offset"].as_u64(), Some(size / 2));
    let run = wd
        .run(&["chunk", "cat", "sparse", "--range", &format!("{far}:9")])
        .ok();
    assert_eq!(run.stdout, b"far away\n");
    let run = wd
        .run(&["chunk", "cat", "sparse", "--range", "0x100000000:4"])
        .ok();
    assert_eq!(run.stdout, b"\0\0\0\0");
}

/// Ctrl-C during a join into redirected stdout cuts the file back to what
/// it held before: no unverified bytes are left.
#[cfg(unix)]
#[test]
fn interrupted_join_to_stdout_cuts_the_file_back() {
    let wd = Workdir::new();
    let data: Vec<u8> = (0..48_000_000u32).map(|i| (i % 251) as u8).collect();
    wd.write("big", &data);
    wd.run(&[
        "chunk",
        "split",
        "big",
        "-s",
        "8M",
        "-d",
        "parts",
        "--no-sync",
    ])
    .ok();
    wd.write("out", "before\n");
    let out = std::fs::OpenOptions::new()
        .append(true)
        .open(wd.join("out"))
        .unwrap();
    let mut child = Background::spawn(
        wd.command(&["chunk", "join", "parts/big.manifest.json"])
            .stdout(out),
    );
    // Interrupt once the join is under way.
    let started = std::time::Instant::now();
    while std::fs::metadata(wd.join("out")).unwrap().len() <= 7 {
        assert!(started.elapsed().as_secs() < 30, "the join never started");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let len = std::fs::metadata(wd.join("out")).unwrap().len();
    if status.success() {
        // It finished first: then all of it must be there.
        assert_eq!(len, 7 + data.len() as u64);
    } else {
        assert_eq!(status.code(), Some(130));
        assert_eq!(wd.read("out"), b"before\n");
    }
}

/// Descriptors do not pile up with the number of chunks: a join and a
/// split of hundreds of chunks work under a low open-files limit.
#[cfg(unix)]
#[test]
fn many_chunks_under_a_low_open_files_limit() {
    let wd = Workdir::new();
    let data = text(300_000, 21);
    wd.write("big", &data);
    // 300 chunks from a file and from a pipe, then joined both ways.
    let out = wd.sh(
        "ulimit -n 64 && \"$FKIT\" chunk split big -s 1000 -d parts --no-sync \
         && cat big | \"$FKIT\" chunk split -s 1000 -d piped-parts --no-sync \
         && \"$FKIT\" chunk join parts/big.manifest.json -o joined \
         && \"$FKIT\" chunk join piped-parts/chunk.manifest.json > piped",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(wd.read("joined") == data);
    assert!(wd.read("piped") == data);
}

/// Runs `split THEIRS` and `fkit chunk split OURS` in two fresh
/// directories under `wd` (the inputs are in `wd`: `../in`), with `stdin`;
/// their files (but fkit's manifest) must have the same names and bytes,
/// and their stdout the same bytes.
fn same_as_split(wd: &Workdir, ours: &[&str], theirs: &[&str], stdin: &[u8]) {
    let (a, b) = (wd.join("theirs"), wd.join("ours"));
    for dir in [&a, &b] {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
    }
    let peer = run_command(Command::new("split").args(theirs).current_dir(&a), stdin);
    assert_eq!(peer.status, 0, "split {theirs:?}: {}", peer.stderr);
    let mut args = vec!["chunk", "split", "-q", "--no-sync"];
    args.extend_from_slice(ours);
    let mine = run_command(Command::new(fkit_bin()).args(&args).current_dir(&b), stdin);
    assert_eq!(mine.status, 0, "fkit {ours:?}: {}", mine.stderr);
    assert!(mine.stdout == peer.stdout, "{ours:?}: stdout differs");
    let files = |dir: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut all: Vec<(String, Vec<u8>)> = walk(dir)
            .into_iter()
            .filter(|(name, _)| !name.ends_with("manifest.json"))
            .collect();
        all.sort();
        all
    };
    let (theirs_files, ours_files) = (files(&a), files(&b));
    // A manifest is there unless it cannot be (round robin, stdout, --exec).
    let manifests = walk(&b)
        .into_iter()
        .filter(|(n, _)| n.ends_with("manifest.json"))
        .count();
    let number = ours.iter().position(|a| *a == "-n").map(|i| ours[i + 1]);
    let one_or_dealt = number.is_some_and(|n| {
        n.starts_with("r/")
            || n.matches('/').count() == 2
            || !n.starts_with("l/") && n.contains('/')
    });
    let no_files = ["--exec", "--filter", "--no-manifest"];
    let expected = !one_or_dealt && !ours.iter().any(|a| no_files.contains(a));
    assert_eq!(manifests, usize::from(expected), "{ours:?}: manifests");
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours_files), names(&theirs_files), "{ours:?}");
    for ((name, mine), (_, peer)) in ours_files.iter().zip(&theirs_files) {
        assert!(mine == peer, "{ours:?}: {name} differs");
    }
}

/// Every file under `dir`, by its path relative to `dir`.
fn walk(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            for (sub, bytes) in walk(&path) {
                out.push((format!("{name}/{sub}"), bytes));
            }
        } else {
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn split_options_match_gnu_split() {
    if !have_gnu("split") {
        eprintln!("skipped: GNU split not installed");
        return;
    }
    let wd = Workdir::new();
    let data = text(30_011, 5);
    wd.write("in", &data);
    wd.write("small", b"abcdefghijk");
    // Many short lines: suffixes run past `yz` and `89`.
    let many: Vec<u8> = (0..1000)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect();
    wd.write("many", &many);
    let mut nul = Vec::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        nul.extend_from_slice(line);
        nul.push(if i % 3 == 0 { b'\n' } else { 0 });
    }
    wd.write("nul", &nul);
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["../in", "x", "-n", "3", "--alpha"],
            &["-n", "3", "../in", "x"],
        ),
        (
            &["../small", "w", "-n", "30", "--alpha"],
            &["-n", "30", "../small", "w"],
        ),
        (
            &["../small", "w", "-n", "30", "-e", "--alpha"],
            &["-e", "-n", "30", "../small", "w"],
        ),
        (
            &["../in", "v", "-n", "30", "-x"],
            &["-x", "-n", "30", "../in", "v"],
        ),
        // (GNU split 9.1 mangles hex start values with letters: `=a` gives v0:.)
        (
            &["../in", "v", "-n", "7", "--hex-suffixes=9"],
            &["--hex-suffixes=9", "-n", "7", "../in", "v"],
        ),
        (
            &["../in", "u", "-n", "3", "--numeric-suffixes=5"],
            &["--numeric-suffixes=5", "-n", "3", "../in", "u"],
        ),
        (
            &["../in", "y", "-n", "l/7", "--alpha"],
            &["-n", "l/7", "../in", "y"],
        ),
        (
            &["../in", "y", "-e", "-n", "l/40", "--alpha"],
            &["-e", "-n", "l/40", "../in", "y"],
        ),
        (
            &["../in", "r", "-n", "r/3", "--alpha"],
            &["-n", "r/3", "../in", "r"],
        ),
        (
            &["../small", "r", "-n", "r/4", "--alpha"],
            &["-n", "r/4", "../small", "r"],
        ),
        (
            &["../small", "r", "-e", "-n", "r/4", "--alpha"],
            &["-e", "-n", "r/4", "../small", "r"],
        ),
        (
            &["../nul", "r", "-t", "\\0", "-n", "r/5", "-x"],
            &["-t", "\\0", "-n", "r/5", "-x", "../nul", "r"],
        ),
        (
            &[
                "../in",
                "p",
                "-l",
                "70",
                "-a",
                "3",
                "--alpha",
                "--additional-suffix",
                ".txt",
            ],
            &[
                "-l",
                "70",
                "-a",
                "3",
                "--additional-suffix=.txt",
                "../in",
                "p",
            ],
        ),
        (
            &["../many", "z", "-l", "1", "--alpha"],
            &["-l", "1", "../many", "z"],
        ),
        (
            &["../many", "d", "-l", "1", "--numeric-suffixes"],
            &["-d", "-l", "1", "../many", "d"],
        ),
        (
            &["../many", "d", "-l", "12", "--numeric-suffixes=7"],
            &["--numeric-suffixes=7", "-l", "12", "../many", "d"],
        ),
        (
            &["../nul", "t", "-t", "\\0", "-l", "5", "--alpha"],
            &["-t", "\\0", "-l", "5", "../nul", "t"],
        ),
        (
            &["../nul", "t", "-t", "\\0", "-C", "-s", "1000", "--alpha"],
            &["-t", "\\0", "-C", "1000", "../nul", "t"],
        ),
        // split's long spellings.
        (
            &["../in", "t", "--line-bytes=700", "--alpha"],
            &["--line-bytes=700", "../in", "t"],
        ),
        (
            &["../in", "t", "--bytes=1K", "--alpha"],
            &["--bytes=1K", "../in", "t"],
        ),
        (
            &["../nul", "t", "-t", "\\0", "-n", "l/6", "--alpha"],
            &["-t", "\\0", "-n", "l/6", "../nul", "t"],
        ),
        (
            &["../in", "sub/q", "-l", "500", "--alpha"],
            &["-l", "500", "../in", "sub/q"],
        ),
        (
            &["../in", "k", "-b", "1K", "--alpha"],
            &["-b", "1K", "../in", "k"],
        ),
        (
            &["../in", "k", "-b", "2KB", "--alpha"],
            &["-b", "2KB", "../in", "k"],
        ),
        // split's b is a 512-byte block, not a byte.
        (
            &["../in", "k", "-b", "3b", "--alpha"],
            &["-b", "3b", "../in", "k"],
        ),
        (&["../in", "-n", "2/5"], &["-n", "2/5", "../in"]),
        (&["../in", "-n", "l/3/5"], &["-n", "l/3/5", "../in"]),
        (&["../in", "-n", "r/2/3"], &["-n", "r/2/3", "../in"]),
        (
            &["../nul", "-t", "\\0", "-n", "l/4/4"],
            &["-t", "\\0", "-n", "l/4/4", "../nul"],
        ),
        (
            &[
                "../in",
                "f",
                "-l",
                "400",
                "--alpha",
                "--filter",
                "cat > $FILE.out",
            ],
            &["-l", "400", "--filter", "cat > $FILE.out", "../in", "f"],
        ),
        (
            &[
                "../in",
                "sub/f",
                "-n",
                "r/3",
                "--alpha",
                "--exec",
                "wc -l > $FILE",
            ],
            &["-n", "r/3", "--filter", "wc -l > $FILE", "../in", "sub/f"],
        ),
    ];
    for (ours, theirs) in cases {
        same_as_split(&wd, ours, theirs, b"");
    }
    // --no-manifest: the chunks alone, as split leaves them.
    same_as_split(
        &wd,
        &["../in", "x", "-l", "999", "--alpha", "--no-manifest"],
        &["-l", "999", "../in", "x"],
        b"",
    );
    assert!(
        walk(&wd.join("ours"))
            .iter()
            .all(|(n, _)| !n.contains("manifest"))
    );
    // From stdin, a pipe.
    same_as_split(
        &wd,
        &["-", "s", "-l", "100", "--alpha"],
        &["-l", "100", "-", "s"],
        &data,
    );
    same_as_split(
        &wd,
        &["-", "s", "-n", "r/4", "-x"],
        &["-n", "r/4", "-x", "-", "s"],
        &data,
    );
}

#[test]
fn split_style_options_are_checked_as_split_checks_them() {
    let wd = Workdir::new();
    wd.write("in", text(5000, 3));
    for (args, says) in [
        (
            &["-n", "30", "-a", "1", "--alpha"][..],
            "suffix length needs to be at least 2",
        ),
        (&["-l", "1", "--numeric-suffixes=1x"], "invalid start value"),
        (&["-l", "1", "-t", "ab"], "multi-character separator"),
        (&["-n", "4/3"], "K is more than N"),
        (&["-n", "r/0"], "invalid number of chunks"),
        (&["-l", "1", "--additional-suffix", "a/b"], "invalid suffix"),
    ] {
        let mut all = vec!["chunk", "split", "in"];
        all.extend_from_slice(args);
        let run = wd.run(&all).code(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    // A file where the chunks' directory should be (split's -d, taken for
    // fkit's --dir, swallows the input's name so).
    let run = wd.run(&["chunk", "split", "-l", "1", "-d", "in"]).code(1);
    assert_eq!(run.stderr, "fkit: chunk: in: not a directory\n");
    // A fixed length runs out, as split's "output file suffixes exhausted".
    let run = wd
        .run(&["chunk", "split", "in", "-l", "1", "--alpha", "-a", "1"])
        .code(1);
    assert!(run.stderr.contains("suffixes exhausted"), "{}", run.stderr);
    assert_eq!(wd.list(), vec!["in"], "nothing left behind");
    // From a pipe, -n K/N cannot know the size (split says the same).
    let run = wd
        .run_stdin(&["chunk", "split", "-n", "1/2"], "a\nb\n")
        .code(1);
    assert!(run.stderr.contains("size"), "{}", run.stderr);
}

#[test]
fn round_robin_parts_and_elided_chunks() {
    let wd = Workdir::new();
    wd.write("in", "1\n2\n3\n4\n5\n6\n7");
    wd.run(&["chunk", "split", "in", "-n", "r/3", "--prefix", "p."])
        .ok();
    assert_eq!(wd.read("p.0000"), b"1\n4\n7");
    assert_eq!(wd.read("p.0001"), b"2\n5\n");
    assert_eq!(wd.read("p.0002"), b"3\n6\n");
    assert!(
        !wd.exists("p.manifest.json"),
        "round robin parts are not ranges"
    );
    // -e with --number: the empty chunks are not made, the rest keep
    // consecutive names, and the manifest still rebuilds the input.
    wd.write("long", "aaaaaaaaaaaaaaaaaaaa\nb\n");
    wd.run(&["chunk", "split", "long", "-n", "l/4", "-e", "--dir", "e"])
        .ok();
    let mut names: Vec<String> = std::fs::read_dir(wd.join("e"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["long.0000", "long.0001", "long.manifest.json"]);
    let run = wd.run(&["chunk", "join", "e/long.manifest.json"]).ok();
    assert_eq!(run.stdout, b"aaaaaaaaaaaaaaaaaaaa\nb\n");
}
