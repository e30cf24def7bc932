mod common;

use common::{Background, Workdir, have, pseudo_random, run_command};
use std::process::Command;

/// Log-like lines of varied length; `ERROR` occurs at most once per line,
/// so match counts compare with grep -c (which counts lines).
fn log_lines(lines: usize, seed: u64) -> Vec<u8> {
    let noise = pseudo_random(lines * 4, seed);
    let mut out = Vec::new();
    for i in 0..lines {
        let n = noise[i * 4] as usize % 90;
        out.extend_from_slice(format!("{i:06} worker-{} ", noise[i * 4 + 1] % 7).as_bytes());
        out.extend(std::iter::repeat_n(b'a' + noise[i * 4 + 2] % 26, n));
        if noise[i * 4 + 3].is_multiple_of(5) {
            out.extend_from_slice(b" ERROR disk");
        }
        out.push(b'\n');
    }
    out
}

/// Non-overlapping occurrences, searched naively from the start.
fn naive_offsets(hay: &[u8], needle: &[u8]) -> Vec<u64> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if &hay[i..i + needle.len()] == needle {
            found.push(i as u64);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    found
}

fn sh(wd: &Workdir, script: &str) -> String {
    String::from_utf8_lossy(&wd.sh(script).stdout).into_owned()
}

fn offsets_of(stdout: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| l.parse().expect("offset"))
        .collect()
}

#[test]
fn view_matches_xxd() {
    if !have("xxd") {
        eprintln!("skipped: xxd not installed");
        return;
    }
    let wd = Workdir::new();
    wd.write("bin", pseudo_random(1000, 3));
    for (offset, length) in [("0", "1000"), ("3", "20"), ("0x1f", "33"), ("990", "64")] {
        let ours = wd
            .run(&[
                "mmap", "view", "bin", "--offset", offset, "--length", length,
            ])
            .ok();
        let theirs = sh(&wd, &format!("xxd -s {offset} -l {length} bin"));
        assert_eq!(ours.stdout_str(), theirs, "offset {offset} length {length}");
    }
    // Whole file, and from stdin.
    let theirs = sh(&wd, "xxd bin");
    assert_eq!(wd.run(&["mmap", "view", "bin"]).ok().stdout_str(), theirs);
    let piped = wd.run_stdin(&["mmap", "view", "-", "--hex"], pseudo_random(1000, 3));
    assert_eq!(piped.ok().stdout_str(), theirs);
}

#[test]
fn view_text_is_the_raw_range() {
    let wd = Workdir::new();
    let data = pseudo_random(5000, 9);
    wd.write("bin", &data);
    let run = wd
        .run(&["mmap", "view", "bin", "-o", "1K", "-l", "100", "--text"])
        .ok();
    assert_eq!(run.stdout, &data[1024..1124]);
    // A length past the end stops at the end.
    let run = wd
        .run(&[
            "mmap", "view", "bin", "-o", "4990", "--length", "1M", "--text",
        ])
        .ok();
    assert_eq!(run.stdout, &data[4990..]);
    let run = wd.run_stdin(&["mmap", "view", "-o", "10", "-l", "5", "--text"], &data);
    assert_eq!(run.ok().stdout, &data[10..15]);
    // Past the end is an error naming the file.
    let run = wd.run(&["mmap", "view", "bin", "--offset", "6000"]).code(1);
    assert!(run.stderr.contains("bin") && run.stderr.contains("past the end"));
    let run = wd
        .run_stdin(&["mmap", "view", "--offset", "6000"], &data)
        .code(1);
    assert!(run.stderr.contains("past the end"));
}

#[test]
fn empty_file() {
    let wd = Workdir::new();
    wd.write("empty", "");
    assert_eq!(wd.run(&["mmap", "view", "empty"]).ok().stdout, b"");
    assert_eq!(
        wd.run(&["mmap", "lines", "empty"]).ok().stdout_str(),
        "0 empty\n"
    );
    let run = wd.run(&["mmap", "find", "empty", "x", "--count"]).code(1);
    assert_eq!(run.stdout_str(), "0\n");
}

#[test]
fn lines_agree_with_wc() {
    let wd = Workdir::new();
    let mut data = log_lines(3000, 1);
    data.extend_from_slice(b"no final newline");
    wd.write("log", &data);
    let want = sh(&wd, "wc -l < log").trim().to_string();
    for slice in ["1", "7", "4096", "100000", "1G"] {
        let run = wd
            .command(&["mmap", "lines", "log"])
            .env("FKIT_MMAP_SLICE", slice)
            .output()
            .expect("run");
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            format!("{want} log\n")
        );
    }
    let piped = wd.run_stdin(&["mmap", "lines"], &data).ok();
    assert_eq!(piped.stdout_str(), format!("{want}\n"));
    let json = wd.run(&["mmap", "lines", "log", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["lines"].to_string(), want);
    assert_eq!(v["bytes"].to_string(), data.len().to_string());
}

#[test]
fn find_count_agrees_with_grep_across_slice_boundaries() {
    let wd = Workdir::new();
    let mut data = log_lines(5000, 2);
    data.extend_from_slice(b"last line ERROR without newline");
    wd.write("log", &data);
    let want = sh(&wd, "grep -c -F ERROR log").trim().to_string();
    assert!(want.parse::<u64>().unwrap() > 500);
    let offsets = naive_offsets(&data, b"ERROR");
    // Small slices put many matches across slice boundaries.
    for slice in ["1", "3", "5", "6", "4096", "1G"] {
        let mut cmd = wd.command(&["mmap", "find", "log", "ERROR", "--count"]);
        cmd.env("FKIT_MMAP_SLICE", slice);
        let run = run_command(&mut cmd, b"").ok();
        assert_eq!(run.stdout_str().trim(), want, "slice {slice}");
        let mut cmd = wd.command(&["mmap", "find", "log", "ERROR"]);
        cmd.env("FKIT_MMAP_SLICE", slice);
        let run = run_command(&mut cmd, b"").ok();
        assert_eq!(offsets_of(&run.stdout), offsets, "slice {slice}");
    }
    let piped = wd
        .run_stdin(&["mmap", "find", "-", "ERROR", "-c"], &data)
        .ok();
    assert_eq!(piped.stdout_str().trim(), want);
    let piped = wd.run_stdin(&["mmap", "find", "-", "ERROR"], &data).ok();
    assert_eq!(offsets_of(&piped.stdout), offsets);
}

#[test]
fn find_offsets_match_grep_b_o() {
    let wd = Workdir::new();
    wd.write("log", log_lines(800, 5));
    let theirs: Vec<u64> = sh(&wd, "grep -b -o -F 'ERROR disk' log")
        .lines()
        .map(|l| l.split(':').next().unwrap().parse().unwrap())
        .collect();
    let ours = wd
        .run(&["mmap", "find", "log", "ERROR disk", "--offsets"])
        .ok();
    assert_eq!(offsets_of(&ours.stdout), theirs);
}

#[test]
fn every_boundary_position_counts_once() {
    // A match at every possible position relative to a slice boundary.
    let wd = Workdir::new();
    let mut data = Vec::new();
    for gap in 0..40 {
        data.extend(std::iter::repeat_n(b'.', gap));
        data.extend_from_slice(b"NEEDLE");
    }
    wd.write("d", &data);
    let want = naive_offsets(&data, b"NEEDLE");
    for slice in 1..=24 {
        let mut cmd = wd.command(&["mmap", "find", "d", "NEEDLE"]);
        cmd.env("FKIT_MMAP_SLICE", slice.to_string());
        let run = run_command(&mut cmd, b"").ok();
        assert_eq!(offsets_of(&run.stdout), want, "slice {slice}");
    }
}

#[test]
fn self_overlapping_patterns_do_not_overlap() {
    let wd = Workdir::new();
    let data = b"aaaaaaa-abababab-aaa".to_vec();
    wd.write("d", &data);
    for pattern in ["aa", "abab", "aaa", "a-a", "aaaa"] {
        let want = naive_offsets(&data, pattern.as_bytes());
        for slice in ["1", "2", "3", "4", "7", "1G"] {
            let mut cmd = wd.command(&["mmap", "find", "d", pattern]);
            cmd.env("FKIT_MMAP_SLICE", slice);
            let run = run_command(&mut cmd, b"").ok();
            assert_eq!(offsets_of(&run.stdout), want, "{pattern} slice {slice}");
        }
        for slice in ["1", "2", "3", "5", "1G"] {
            let mut cmd = wd.command(&["mmap", "find", "d", pattern, "--count"]);
            cmd.env("FKIT_MMAP_SLICE", slice);
            let run = run_command(&mut cmd, b"").ok();
            assert_eq!(
                run.stdout_str().trim(),
                want.len().to_string(),
                "{pattern} count slice {slice}"
            );
        }
        let piped = wd.run_stdin(&["mmap", "find", "-", pattern], &data).ok();
        assert_eq!(offsets_of(&piped.stdout), want, "{pattern} stdin");
    }
}

#[test]
fn find_hex_max_json_and_status() {
    let wd = Workdir::new();
    let mut data = pseudo_random(3000, 4);
    data[100..102].copy_from_slice(&[0x55, 0xaa]);
    data[2000..2002].copy_from_slice(&[0x55, 0xaa]);
    wd.write("bin", &data);
    let want = naive_offsets(&data, &[0x55, 0xaa]);
    let run = wd
        .run(&["mmap", "find", "bin", "55 AA", "--hex-pattern"])
        .ok();
    assert_eq!(offsets_of(&run.stdout), want);
    let run = wd
        .run(&[
            "mmap",
            "find",
            "bin",
            "0x55aa",
            "--hex-pattern",
            "--max",
            "1",
        ])
        .ok();
    assert_eq!(offsets_of(&run.stdout), want[..1]);
    let run = wd
        .run(&[
            "mmap",
            "find",
            "bin",
            "55aa",
            "--hex-pattern",
            "--count",
            "--max",
            "1",
        ])
        .ok();
    assert_eq!(run.stdout_str(), "1\n");
    let run = wd
        .run(&["mmap", "find", "bin", "55aa", "--hex-pattern", "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["count"].to_string(), want.len().to_string());
    assert_eq!(v["offsets"][0].to_string(), want[0].to_string());
    assert_eq!(v["pattern"], "55aa");
    // Bad hex is a usage error; no match is status 1, like grep.
    wd.run(&["mmap", "find", "bin", "5g", "--hex-pattern"])
        .code(2);
    wd.run(&["mmap", "find", "bin", "", "--count"]).code(2);
    let run = wd
        .run(&["mmap", "find", "bin", "no such bytes here", "-c"])
        .code(1);
    assert_eq!(run.stdout_str(), "0\n");
}

#[test]
fn patch_changes_exactly_the_given_bytes() {
    let wd = Workdir::new();
    let data = pseudo_random(10_000, 6);
    wd.write("f", &data);
    wd.run(&["mmap", "patch", "f", "--offset", "0x100", "--data", "HELLO"])
        .ok();
    let mut want = data.clone();
    want[256..261].copy_from_slice(b"HELLO");
    assert_eq!(wd.read("f"), want);
    wd.run(&["mmap", "patch", "f", "-o", "9998", "--hex", "dead"])
        .ok();
    want[9998..].copy_from_slice(&[0xde, 0xad]);
    assert_eq!(wd.read("f"), want);
    // One byte past the end: an error, and nothing changes or grows.
    let run = wd
        .run(&["mmap", "patch", "f", "-o", "9999", "--hex", "beef"])
        .code(1);
    assert!(run.stderr.contains("past the end"), "{}", run.stderr);
    assert_eq!(wd.read("f"), want);
    wd.run(&["mmap", "patch", "f", "-o", "20000", "--data", "x"])
        .code(1);
    assert_eq!(wd.read("f"), want);
    // Stdin cannot be patched.
    wd.run(&["mmap", "patch", "-", "-o", "0", "--data", "x"])
        .code(1);
}

#[test]
fn patch_backup_undoes() {
    let wd = Workdir::new();
    let data = pseudo_random(4096, 7);
    wd.write("disk.img", &data);
    wd.run(&[
        "mmap", "patch", "disk.img", "-o", "510", "--hex", "55aa", "--backup",
    ])
    .ok();
    assert_eq!(wd.read("disk.img.patch-510.bak"), &data[510..512]);
    assert_eq!(wd.read("disk.img")[510..512], [0x55, 0xaa]);
    // A second backup does not silently replace the first.
    wd.run(&[
        "mmap", "patch", "disk.img", "-o", "510", "--hex", "0000", "--backup",
    ])
    .code(1);
    assert_eq!(wd.read("disk.img")[510..512], [0x55, 0xaa]);
    wd.run(&[
        "mmap",
        "patch",
        "disk.img",
        "-o",
        "510",
        "--from",
        "disk.img.patch-510.bak",
    ])
    .ok();
    assert_eq!(wd.read("disk.img"), data);
}

#[test]
fn beyond_4_gib() {
    let wd = Workdir::new();
    let path = wd.join("sparse");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: no disk space used.
    file.set_len((5u64 << 30) + 100).unwrap();
    drop(file);
    wd.run(&["mmap", "patch", "sparse", "-o", "4G", "--data", "far away"])
        .ok();
    let run = wd
        .run(&[
            "mmap",
            "view",
            "sparse",
            "-o",
            "0x100000000",
            "-l",
            "8",
            "--text",
        ])
        .ok();
    assert_eq!(run.stdout, b"far away");
    let run = wd
        .run(&["mmap", "view", "sparse", "-o", "4G", "-l", "16"])
        .ok();
    assert!(
        run.stdout_str().starts_with("100000000: 6661 7220"),
        "{}",
        run.stdout_str()
    );
}

#[test]
fn lock_waits_for_an_exclusive_holder() {
    if !have("flock") {
        eprintln!("skipped: flock not installed");
        return;
    }
    let wd = Workdir::new();
    wd.write("f", "0123456789\n");
    let mut holder = Background::spawn(
        Command::new("flock")
            .args(["-x", "f", "sleep", "1.5"])
            .current_dir(wd.path()),
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    let started = std::time::Instant::now();
    let run = wd.run(&["mmap", "lines", "f", "--lock"]).ok();
    assert_eq!(run.stdout_str(), "1 f\n");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(700),
        "--lock did not wait for the exclusive lock"
    );
    holder.wait().unwrap();
    wd.run(&["mmap", "patch", "f", "-o", "0", "--data", "X", "--lock"])
        .ok();
    assert_eq!(wd.read("f"), b"X123456789\n");
}

#[test]
fn help_has_examples() {
    let wd = Workdir::new();
    for sub in ["view", "find", "lines", "patch", "unview"] {
        let run = wd.run(&["mmap", sub, "--help"]).ok();
        assert!(run.stdout_str().contains("Examples:"), "{sub}");
    }
    // The example that says it is grep -c counts what grep -c counts,
    // on a log where one line holds ERROR twice.
    wd.write("big.log", "ERROR a ERROR\nok\nERROR b\n");
    let help = wd.run(&["mmap", "--help"]).ok().stdout_str();
    let line = help
        .lines()
        .find(|l| l.contains("# like grep -c -F"))
        .expect("a grep -c example");
    let example = line.split('#').next().unwrap().trim();
    let ours = sh(&wd, &format!("\"$FKIT\" {}", &example["fkit ".len()..]));
    assert_eq!(ours, sh(&wd, "grep -c -F ERROR big.log"), "{line}");
}

/// Stdin on a regular file is mapped like the file (and left at its end);
/// from another position, or from a pipe, it is streamed.
#[test]
fn stdin_on_a_regular_file_is_mapped() {
    let wd = Workdir::new();
    let data = log_lines(20_000, 4);
    wd.write("log", &data);
    let lines = sh(&wd, "wc -l < log").trim().to_string();
    let count = sh(&wd, "grep -c -F ERROR log").trim().to_string();
    let got = sh(
        &wd,
        "\"$FKIT\" mmap lines < log; \"$FKIT\" mmap find -c - ERROR < log",
    );
    assert_eq!(got, format!("{lines}\n{count}\n"));
    let got = sh(&wd, "\"$FKIT\" mmap find - ERROR --max 2 < log");
    let want: Vec<u64> = naive_offsets(&data, b"ERROR").into_iter().take(2).collect();
    assert_eq!(offsets_of(got.as_bytes()), want);
    let got = sh(&wd, "\"$FKIT\" mmap view - -o 100 -l 20 --text < log");
    assert_eq!(got.as_bytes(), &data[100..120]);
    // Left at the end, as reading it would leave it.
    let rest = sh(&wd, "{ \"$FKIT\" mmap lines > /dev/null; wc -c; } < log");
    assert_eq!(rest.trim(), "0");
    // After a line someone else read, only the rest is counted.
    let first_line = data.iter().position(|&b| b == b'\n').unwrap() + 1;
    let after = sh(
        &wd,
        &format!(
            "{{ dd bs={first_line} count=1 of=/dev/null 2>/dev/null; \"$FKIT\" mmap lines; }} < log"
        ),
    );
    let want = lines.parse::<u64>().unwrap() - 1;
    assert_eq!(after.trim(), want.to_string());
}

/// Files that report a size of 0 but have content (/proc) are streamed,
/// named or on stdin, not mapped as empty.
#[cfg(target_os = "linux")]
#[test]
fn files_without_a_size_are_streamed() {
    let wd = Workdir::new();
    let want = sh(&wd, "wc -l < /proc/self/mountinfo").trim().to_string();
    assert_ne!(want, "0");
    let named = sh(&wd, "\"$FKIT\" mmap lines /proc/self/mountinfo");
    let stdin = sh(&wd, "\"$FKIT\" mmap lines < /proc/self/mountinfo");
    // Each process sees its own mounts: compare counts, not content.
    assert_eq!(named.split_whitespace().next(), Some(want.as_str()));
    assert_eq!(stdin.trim(), want);
}

/// Log-like lines that give -i, -w and regexes something to tell apart:
/// `error` in several cases, inside words, more than once per line, and
/// non-ASCII text.
fn mixed_lines(lines: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 14] = [
        "error", "Error", "ERRORS", "xerror", "error_x", "timeout", "time-out", "ok", "déjà",
        "naïve", "ERROR", "(error)", "ERR", "über",
    ];
    let noise = pseudo_random(lines * 6, seed);
    let mut out = Vec::new();
    for i in 0..lines {
        out.extend_from_slice(format!("{i:05} ").as_bytes());
        for k in 0..(noise[i * 6] % 6) as usize {
            out.extend_from_slice(
                WORDS[noise[i * 6 + 1 + k % 5] as usize % WORDS.len()].as_bytes(),
            );
            out.push(if k % 2 == 0 { b' ' } else { b',' });
        }
        out.push(b'\n');
    }
    out.extend_from_slice(b"last ERROR then timeout, no newline");
    out
}

/// `fkit mmap find ARGS` and the peer's shell command print the same, on a
/// mapped file (with tiny slices too) and on a pipe.
fn same_as_peer(wd: &Workdir, fkit: &[&str], peer: &str) {
    let theirs = sh(wd, &format!("LC_ALL=C {peer}"));
    for slice in ["1", "100", "1G"] {
        let mut cmd = wd.command(&[&["mmap", "find"], fkit].concat());
        cmd.env("FKIT_MMAP_SLICE", slice);
        let run = run_command(&mut cmd, b"");
        assert_eq!(run.stdout_str(), theirs, "{fkit:?} slice {slice} vs {peer}");
    }
}

#[test]
fn find_line_regexp_is_grep_x() {
    let wd = Workdir::new();
    let mut data = mixed_lines(2000, 3);
    data.extend_from_slice(b"\nerror\nERROR\nerror \n error\nerror");
    wd.write("log", data);
    same_as_peer(
        &wd,
        &["-x", "-e", "error", "--lines", "log"],
        "grep -c -x -F error log",
    );
    same_as_peer(
        &wd,
        &["--line-regexp", "-i", "-e", "error", "--lines", "log"],
        "grep -c -x -i -F error log",
    );
    same_as_peer(
        &wd,
        &["-x", "-v", "-e", "error", "--lines", "log"],
        "grep -c -x -v -F error log",
    );
    same_as_peer(
        &wd,
        &["-x", "-E", "-e", "[0-9]+ ok.*", "--lines", "log"],
        "grep -c -x -E '[0-9]+ ok.*' log",
    );
    // Byte offsets of whole-line matches, as grep -b -o -x.
    same_as_peer(
        &wd,
        &["-x", "-e", "error", "log"],
        "grep -b -o -x -F error log | cut -d: -f1",
    );
}

#[test]
fn find_lines_case_words_and_regexes_agree_with_grep() {
    let wd = Workdir::new();
    wd.write("log", mixed_lines(4000, 7));
    same_as_peer(&wd, &["log", "error", "--lines"], "grep -c -F error log");
    same_as_peer(
        &wd,
        &["log", "-i", "error", "--lines"],
        "grep -c -i -F error log",
    );
    same_as_peer(
        &wd,
        &["-w", "-e", "error", "--lines", "log"],
        "grep -c -w -F error log",
    );
    same_as_peer(
        &wd,
        &["-i", "-w", "--lines", "-e", "error", "log"],
        "grep -c -i -w -F error log",
    );
    same_as_peer(
        &wd,
        &["-v", "-i", "--lines", "-e", "error", "log"],
        "grep -c -v -i -F error log",
    );
    same_as_peer(
        &wd,
        &["log", "--regex", "ERR[O]R.*time", "--lines"],
        "grep -c -E 'ERR[O]R.*time' log",
    );
    same_as_peer(
        &wd,
        &["log", "-E", "^[0-9]+ ok", "--lines"],
        "grep -c -E '^[0-9]+ ok' log",
    );
    same_as_peer(
        &wd,
        &["log", "-E", "out$", "--lines"],
        "grep -c -E 'out$' log",
    );
    same_as_peer(
        &wd,
        &["-e", "ok", "-e", "timeout", "--lines", "log"],
        "grep -c -F -e ok -e timeout log",
    );
    same_as_peer(
        &wd,
        &["--lines", "--max", "7", "-i", "-e", "error", "log"],
        "grep -c -m 7 -i -F error log",
    );
    // Byte offsets of every match, as grep -b -o prints them.
    same_as_peer(
        &wd,
        &["-i", "-e", "error", "log"],
        "grep -b -o -i -F error log | cut -d: -f1",
    );
    same_as_peer(
        &wd,
        &["-w", "-e", "error", "log"],
        "grep -b -o -w -F error log | cut -d: -f1",
    );
    same_as_peer(
        &wd,
        &["-E", "-e", "[a-z]+_x|ERR", "log"],
        "grep -b -o -E '[a-z]+_x|ERR' log | cut -d: -f1",
    );
    same_as_peer(
        &wd,
        &["-e", "error", "-e", "errors", "-i", "log"],
        "grep -b -o -i -F -e error -e errors log | cut -d: -f1",
    );
    same_as_peer(
        &wd,
        &["-E", "-e", "déjà|über", "--count", "log"],
        "grep -o -E 'déjà|über' log | wc -l",
    );
    // A pipe gives the same answers, one block of lines at a time.
    let theirs = sh(&wd, "grep -c -i -w -F error log");
    let piped = wd.run_stdin(
        &["mmap", "find", "-i", "-w", "-", "error", "--lines"],
        wd.read("log"),
    );
    assert_eq!(piped.ok().stdout_str(), theirs);
    let theirs = sh(&wd, "grep -b -o -E 'ERR[A-Z]*' log | cut -d: -f1");
    let piped = wd.run_stdin(&["mmap", "find", "-", "-E", "ERR[A-Z]*"], wd.read("log"));
    assert_eq!(piped.ok().stdout_str(), theirs);
    if have("rg") {
        same_as_peer(
            &wd,
            &["log", "--regex", "ERR[O]R .*timeout", "--lines"],
            "rg -c 'ERR[O]R .*timeout' log",
        );
        same_as_peer(
            &wd,
            &["log", "-i", "error", "--lines"],
            "rg -c -i -F error log",
        );
    }
}

#[test]
fn find_several_files_pattern_files_and_names() {
    let wd = Workdir::new();
    wd.write("a.log", mixed_lines(500, 1));
    wd.write("b.log", mixed_lines(300, 2));
    wd.write("c.log", b"nothing here\n");
    wd.write("pats", "timeout\nnaïve\n");
    same_as_peer(
        &wd,
        &["a.log", "b.log", "c.log", "-i", "error", "--lines"],
        "grep -c -i -F error a.log b.log c.log",
    );
    same_as_peer(
        &wd,
        &["-f", "pats", "--lines", "a.log", "b.log"],
        "grep -c -F -f pats a.log b.log",
    );
    same_as_peer(
        &wd,
        &["-l", "-w", "-e", "ERR", "a.log", "b.log", "c.log"],
        "grep -l -w -F ERR a.log b.log c.log",
    );
    same_as_peer(
        &wd,
        &["-l", "-v", "-e", "e", "a.log", "c.log"],
        "grep -l -v -F e a.log c.log",
    );
    same_as_peer(
        &wd,
        &["-e", "timeout", "a.log", "b.log"],
        "grep -b -o -F timeout a.log b.log | cut -d: -f1,2",
    );
    same_as_peer(
        &wd,
        &["a.log", "b.log", "ok", "--count"],
        "grep -o -F ok a.log | wc -l | sed 's/^/a.log:/'; grep -o -F ok b.log | wc -l | sed 's/^/b.log:/'",
    );
    // stdin is `(standard input)` in -l and FILE: output, as grep names it.
    let theirs = sh(&wd, "grep -l -F ERR - c.log < a.log");
    let run = wd
        .run_stdin(
            &["mmap", "find", "-l", "-e", "ERR", "-", "c.log"],
            wd.read("a.log"),
        )
        .ok();
    assert_eq!(run.stdout_str(), theirs);
    assert_eq!(theirs, "(standard input)\n");
    let theirs = sh(&wd, "cat a.log | grep -c -F ERR c.log -");
    let run = wd
        .run_stdin(
            &["mmap", "find", "--lines", "-e", "ERR", "c.log", "-"],
            wd.read("a.log"),
        )
        .ok();
    assert_eq!(run.stdout_str(), theirs);
    let run = wd
        .run_stdin(&["mmap", "find", "-l", "-e", "ERR"], wd.read("a.log"))
        .ok();
    assert_eq!(run.stdout_str(), "(standard input)\n");
    // Status as grep's: 0 found, 1 not, 2 a file could not be read (the
    // others are still searched).
    wd.run(&["mmap", "find", "-l", "-e", "zzz", "a.log", "c.log"])
        .code(1);
    let run = wd
        .run(&[
            "mmap",
            "find",
            "--lines",
            "-e",
            "nothing",
            "missing.log",
            "c.log",
        ])
        .code(2);
    assert_eq!(run.stdout_str(), "c.log:1\n");
    assert!(
        run.stderr.contains("fkit: mmap: missing.log:"),
        "{}",
        run.stderr
    );
    // An empty pattern file matches nothing, as grep -f.
    wd.write("none", b"");
    let run = wd
        .run(&["mmap", "find", "-f", "none", "--lines", "a.log"])
        .code(1);
    assert_eq!(run.stdout_str(), "0\n");
    // -v selects lines; a bad regex is a usage error.
    wd.run(&["mmap", "find", "-v", "a.log", "x"]).code(2);
    wd.run(&["mmap", "find", "-E", "a.log", "(x"]).code(2);
    let json = wd
        .run(&[
            "mmap", "find", "--json", "--lines", "-e", "ok", "-e", "ERR", "a.log",
        ])
        .ok();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v["lines"].to_string(),
        sh(&wd, "grep -c -F -e ok -e ERR a.log").trim()
    );
    assert_eq!(v["patterns"][1], "ERR");
    // One JSON object a file; a file that cannot be read leaves none.
    let run = wd
        .run(&[
            "mmap", "find", "--json", "--lines", "-e", "ok", "a.log", "missing", "b.log",
        ])
        .code(2);
    let objects: Vec<serde_json::Value> = run
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object a line"))
        .collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[1]["file"], "b.log");
    assert_eq!(
        objects[1]["lines"].to_string(),
        sh(&wd, "grep -c -F ok b.log").trim()
    );
}

/// Text with multibyte UTF-8, controls, tabs, runs of blanks, a stray
/// invalid byte and no final newline: what wc's rules tell apart.
fn wc_text(lines: usize, seed: u64) -> Vec<u8> {
    const PIECES: [&str; 12] = [
        "word",
        " ",
        "\t",
        "  ",
        "héllo",
        "wörld",
        "日本語",
        "\x01",
        "a\x7fb",
        "\r",
        "\x0b",
        "€uro",
    ];
    let noise = pseudo_random(lines * 8, seed);
    let mut out = Vec::new();
    for i in 0..lines {
        for k in 0..(noise[i * 8] % 8) as usize {
            out.extend_from_slice(PIECES[noise[i * 8 + k] as usize % PIECES.len()].as_bytes());
        }
        if i % 500 == 7 {
            out.push(0xff);
        }
        out.push(b'\n');
    }
    out.extend_from_slice("tail without newline ünïcode".as_bytes());
    out
}

#[test]
fn lines_words_chars_bytes_agree_with_wc() {
    let wd = Workdir::new();
    wd.write("a.txt", wc_text(3000, 11));
    wd.write("b.txt", wc_text(40, 12));
    wd.write("empty", b"");
    // Words as wc counts them in the C locale, characters in a UTF-8 one.
    for (flags, locale) in [
        (&["-w"][..], "C"),
        (&["-c"], "C"),
        (&["-l"], "C"),
        (&["-m"], "C.UTF-8"),
        (&["-l", "-w", "-c"], "C"),
        (&["-l", "-m", "-c"], "C.UTF-8"),
    ] {
        for files in [&["a.txt"][..], &["a.txt", "b.txt", "empty"]] {
            let theirs = sh(
                &wd,
                &format!("LC_ALL={locale} wc {} {}", flags.join(" "), files.join(" ")),
            );
            for slice in ["1", "333", "1G"] {
                let mut cmd = wd.command(&[&["mmap", "lines"], flags, files].concat());
                cmd.env("FKIT_MMAP_SLICE", slice);
                let run = run_command(&mut cmd, b"");
                assert_eq!(
                    run.stdout_str(),
                    theirs,
                    "{flags:?} {files:?} slice {slice}"
                );
            }
        }
        // From a pipe (wc pads to 7) and from stdin on a file.
        let theirs = sh(
            &wd,
            &format!("cat a.txt | LC_ALL={locale} wc {}", flags.join(" ")),
        );
        let ours = sh(
            &wd,
            &format!("cat a.txt | \"$FKIT\" mmap lines {}", flags.join(" ")),
        );
        assert_eq!(ours, theirs, "{flags:?} piped");
        let theirs = sh(
            &wd,
            &format!("LC_ALL={locale} wc {} < b.txt", flags.join(" ")),
        );
        let ours = sh(
            &wd,
            &format!("\"$FKIT\" mmap lines {} < b.txt", flags.join(" ")),
        );
        assert_eq!(ours, theirs, "{flags:?} stdin");
    }
    // Default: lines only, with a total line for several files.
    let theirs = sh(&wd, "wc -l a.txt b.txt");
    assert_eq!(
        wd.run(&["mmap", "lines", "a.txt", "b.txt"])
            .ok()
            .stdout_str(),
        theirs
    );
    // A missing file is reported; the others are still counted.
    let run = wd.run(&["mmap", "lines", "-c", "b.txt", "missing"]).code(1);
    assert!(
        run.stderr.contains("fkit: mmap: missing:"),
        "{}",
        run.stderr
    );
    assert!(run.stdout_str().contains(" b.txt\n"));
    let json = wd
        .run(&["mmap", "lines", "-w", "-m", "a.txt", "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v["words"].to_string(),
        sh(&wd, "LC_ALL=C wc -w < a.txt").trim()
    );
    assert_eq!(
        v["chars"].to_string(),
        sh(&wd, "LC_ALL=C.UTF-8 wc -m < a.txt").trim()
    );
}

/// Bytes with runs of zeros (for -a), text and random bytes.
fn dump_data(seed: u64) -> Vec<u8> {
    let mut data = pseudo_random(700, seed);
    data.extend_from_slice(&[0u8; 100]);
    data.extend_from_slice(b"plain text: cafe\n");
    data.extend_from_slice(&[0u8; 48]);
    data.extend_from_slice(&pseudo_random(33, seed + 1));
    data.extend_from_slice(&[0u8; 64]);
    data
}

#[test]
fn view_layouts_match_xxd() {
    if !have("xxd") {
        eprintln!("skipped: xxd not installed");
        return;
    }
    let wd = Workdir::new();
    wd.write("bin", dump_data(5));
    // Runs of 1 to 6 zero lines at the end, for -a's end rules.
    for k in 1..=6 {
        wd.write(&format!("z{k}"), vec![0u8; 16 * k]);
    }
    let layouts = [
        "",
        "-c 4",
        "-c 5 -g 2",
        "-g 0",
        "-g 4 -u",
        "-c 32 -g 8",
        "-c 256",
        "-b",
        "-b -c 3 -g 2",
        "-b -g 0",
        "-p",
        "-p -c 7",
        "-p -c 0",
        "-p -u",
        "-i",
        "-i -u -c 5",
        "-a",
        "-a -c 4",
        "-a -c 8 -g 3",
        "-u -a -b",
    ];
    for flags in layouts {
        let args: Vec<&str> = flags.split_whitespace().collect();
        for file in ["bin", "z1", "z2", "z3", "z4", "z6"] {
            let theirs = wd.sh(&format!("xxd {flags} {file}")).stdout;
            let ours = wd.run(&[&["mmap", "view", file], &args[..]].concat()).ok();
            assert_eq!(ours.stdout, theirs, "xxd {flags} {file}");
        }
        // The same from a pipe, and a range.
        let theirs = wd.sh(&format!("xxd {flags} < bin")).stdout;
        let ours = wd
            .sh(&format!("cat bin | \"$FKIT\" mmap view {flags}"))
            .stdout;
        assert_eq!(ours, theirs, "xxd {flags} < bin");
        let theirs = wd.sh(&format!("xxd {flags} -s 0x30 -l 100 bin")).stdout;
        let ours = wd.run(
            &[
                &["mmap", "view", "bin", "-o", "0x30", "-l", "100"],
                &args[..],
            ]
            .concat(),
        );
        assert_eq!(ours.ok().stdout, theirs, "xxd {flags} -s 0x30 -l 100");
    }
    // An offset from the end, mapped and piped, as xxd -s -N.
    let theirs = sh(&wd, "xxd -s -100 bin");
    assert_eq!(
        wd.run(&["mmap", "view", "bin", "--offset", "-100"])
            .ok()
            .stdout_str(),
        theirs
    );
    assert_eq!(
        sh(&wd, "cat bin | \"$FKIT\" mmap view --offset -100"),
        theirs
    );
    let theirs = sh(&wd, "xxd -s -512 -l 16 bin");
    assert_eq!(
        wd.run(&["mmap", "view", "bin", "-o", "-0.5K", "-l", "16"])
            .ok()
            .stdout_str(),
        theirs
    );
    // xxd -i names the array after the file as given.
    wd.write("1a-b.c", b"xy");
    assert_eq!(
        wd.run(&["mmap", "view", "-i", "1a-b.c"]).ok().stdout_str(),
        sh(&wd, "xxd -i 1a-b.c")
    );
}

#[test]
fn unview_reverses_dumps_like_xxd_r() {
    let wd = Workdir::new();
    let data = dump_data(8);
    wd.write("bin", &data);
    for flags in ["", "-a", "-c 5 -g 2", "-g 0", "-u", "-c 32 -g 4"] {
        let cols = flags
            .split("-c ")
            .nth(1)
            .map(|c| c.split(' ').next().unwrap());
        let cols_flag = cols.map(|c| format!("-c {c}")).unwrap_or_default();
        wd.sh(&format!("\"$FKIT\" mmap view {flags} bin > dump"));
        let ours = wd
            .sh(&format!("\"$FKIT\" mmap unview {cols_flag} dump"))
            .stdout;
        assert_eq!(ours, data, "view {flags} | unview");
        if have("xxd") {
            let theirs = wd.sh(&format!("xxd -r {cols_flag} dump")).stdout;
            assert_eq!(ours, theirs, "xxd -r of view {flags}");
        }
    }
    // Plain dumps, from stdin, to a file (atomically, --force to replace).
    wd.sh("\"$FKIT\" mmap view -p bin > plain");
    wd.run(&["mmap", "unview", "-p", "plain", "-o", "copy"])
        .ok();
    assert_eq!(wd.read("copy"), data);
    wd.run(&["mmap", "unview", "-p", "plain", "-o", "copy"])
        .code(1);
    let piped = wd.run_stdin(
        &["mmap", "unview", "-p", "-o", "copy", "--force"],
        wd.read("plain"),
    );
    piped.ok();
    assert_eq!(wd.read("copy"), data);
    // A dump that starts past 0 is preceded by zeros, as xxd -r on a pipe.
    wd.sh("\"$FKIT\" mmap view bin -o 0x40 > part");
    let mut want = vec![0u8; 0x40];
    want.extend_from_slice(&data[0x40..]);
    assert_eq!(wd.run(&["mmap", "unview", "part"]).ok().stdout, want);
    // Errors say where.
    wd.write("bad", "00ff\n0g\n");
    let run = wd.run(&["mmap", "unview", "-p", "bad"]).code(1);
    assert!(
        run.stderr.contains("bad: line 2, column 2"),
        "{}",
        run.stderr
    );
    wd.write("back", "00000010: 4142  AB\n00000000: 4142  AB\n");
    let run = wd.run(&["mmap", "unview", "back"]).code(1);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    // patch --hex takes xxd -p's lines.
    wd.write("target", vec![b'.'; 64]);
    wd.write("patch.bin", pseudo_random(40, 3));
    let hex = sh(&wd, "\"$FKIT\" mmap view -p -c 16 patch.bin");
    assert!(hex.contains('\n'));
    wd.run(&["mmap", "patch", "target", "-o", "8", "--hex", &hex])
        .ok();
    assert_eq!(&wd.read("target")[8..48], &pseudo_random(40, 3)[..]);
}
