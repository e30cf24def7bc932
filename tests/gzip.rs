//! `fkit gzip` against the real gzip, bzip2 and pigz.

mod common;

use common::{Workdir, have, pseudo_random, run_command};
use std::process::Command;

/// Text that compresses like a log: repeated words with numbers.
fn text(len: usize) -> Vec<u8> {
    let words = [
        "GET",
        "/index.html",
        "200",
        "timeout",
        "user=alice",
        "POST",
        "/api/v1",
        "500",
    ];
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!("{} {} {}\n", i, words[(i * 7 % 8) as usize], i % 977).as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// Inputs of every interesting shape.
fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", Vec::new()),
        ("one", b"x".to_vec()),
        ("text", text(200_000)),
        ("random", pseudo_random(100_000, 7)),
        ("big", text(3_000_000)),
    ]
}

/// Run an external tool in the work dir with stdin; return stdout.
fn tool(wd: &Workdir, cmd: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut c = Command::new(cmd);
    c.args(args).current_dir(wd.path());
    let run = run_command(&mut c, stdin);
    assert_eq!(run.status, 0, "{cmd} {args:?} failed: {}", run.stderr);
    run.stdout
}

fn skip(tool: &str) -> bool {
    if have(tool) {
        return false;
    }
    eprintln!("skipped: {tool} is not installed");
    true
}

#[test]
fn gzip_reads_what_fkit_writes_at_every_level_and_thread_count() {
    if skip("gzip") {
        return;
    }
    let wd = Workdir::new();
    for (name, data) in samples() {
        for level in ["-1", "-6", "-9"] {
            for threads in ["1", "4"] {
                // Small blocks so that "big" crosses many block boundaries.
                let gz = wd
                    .run_stdin(&["gzip", level, "-p", threads, "-b", "64K"], &data)
                    .ok()
                    .stdout;
                let back = tool(&wd, "gzip", &["-dc"], &gz);
                assert!(back == data, "{name} {level} -p{threads}: gzip -d differs");
                let again = wd
                    .run_stdin(&["gzip", "-dc", "-p", threads], &gz)
                    .ok()
                    .stdout;
                assert!(again == data, "{name} {level} -p{threads}: fkit -d differs");
            }
        }
    }
}

#[test]
fn fkit_reads_what_gzip_writes() {
    if skip("gzip") {
        return;
    }
    let wd = Workdir::new();
    for (name, data) in samples() {
        for level in ["-1", "-6", "-9"] {
            let gz = tool(&wd, "gzip", &["-c", level], &data);
            let back = wd.run_stdin(&["gzip", "-d"], &gz).ok().stdout;
            assert!(back == data, "{name} {level}: differs");
            wd.write("in.gz", &gz);
            let back = wd.run(&["gzip", "-dc", "-p", "4", "in.gz"]).ok().stdout;
            assert!(back == data, "{name} {level} from a file: differs");
        }
    }
}

#[test]
fn pigz_interop() {
    if skip("pigz") {
        return;
    }
    let wd = Workdir::new();
    let data = text(2_000_000);
    let gz = wd.run_stdin(&["gzip", "-b", "128K"], &data).ok().stdout;
    assert!(tool(&wd, "pigz", &["-dc"], &gz) == data);
    let pz = tool(&wd, "pigz", &["-c", "-p", "4"], &data);
    assert!(wd.run_stdin(&["gzip", "-d"], &pz).ok().stdout == data);
}

#[test]
fn bzip2_round_trips_both_ways() {
    if skip("bzip2") {
        return;
    }
    let wd = Workdir::new();
    for (name, data) in samples() {
        for (level, threads) in [("-1", "1"), ("-9", "4"), ("-1", "4")] {
            let bz = wd
                .run_stdin(&["gzip", "--bzip2", level, "-p", threads], &data)
                .ok()
                .stdout;
            let back = tool(&wd, "bzip2", &["-dc"], &bz);
            assert!(back == data, "{name} {level} -p{threads}: bzip2 -d differs");
            wd.write("f.bz2", &bz);
            let again = wd.run(&["gzip", "-dc", "-p", threads, "f.bz2"]).ok().stdout;
            assert!(again == data, "{name} {level} -p{threads}: fkit -d differs");
        }
        let bz = tool(&wd, "bzip2", &["-c"], &data);
        assert!(
            wd.run_stdin(&["gzip", "-d"], &bz).ok().stdout == data,
            "{name}: from bzip2"
        );
    }
}

#[test]
fn multi_member_and_multi_stream_decode_completely() {
    let wd = Workdir::new();
    let mut gz = Vec::new();
    let mut bz = Vec::new();
    for part in [&b"first\n"[..], b"", b"second\n", b"third\n"] {
        gz.extend(wd.run_stdin(&["gzip", "-p", "1"], part).ok().stdout);
        bz.extend(wd.run_stdin(&["gzip", "--bzip2"], part).ok().stdout);
    }
    if have("gzip") {
        // Members written by another tool, without fkit's index.
        gz.extend(tool(&wd, "gzip", &["-c"], b"fourth\n"));
        assert_eq!(
            tool(&wd, "gzip", &["-dc"], &gz),
            b"first\nsecond\nthird\nfourth\n"
        );
        assert!(
            wd.run_stdin(&["gzip", "-d"], &gz).ok().stdout == b"first\nsecond\nthird\nfourth\n"
        );
    }
    wd.write("m.gz", &gz);
    let out = wd.run(&["gzip", "-dc", "m.gz"]).ok().stdout;
    assert!(out.starts_with(b"first\nsecond\nthird\n"));
    wd.write("m.bz2", &bz);
    for threads in ["1", "2"] {
        let out = wd.run(&["gzip", "-dc", "-p", threads, "m.bz2"]).ok().stdout;
        assert_eq!(out, b"first\nsecond\nthird\n");
    }
}

/// A gzip file written by fkit, and the damaged variants of it.
fn damaged(data: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let wd = Workdir::new();
    let good = wd.run_stdin(&["gzip", "-n"], data).ok().stdout;
    let n = good.len();
    let mut flipped = good.clone();
    flipped[n / 2] ^= 0x55;
    let mut bad_crc = good.clone();
    bad_crc[n - 8] ^= 1;
    let truncated = good[..n - 100].to_vec();
    let mut wrong_magic = good.clone();
    wrong_magic[1] = 0x8c;
    vec![
        ("flipped", flipped),
        ("bad-crc", bad_crc),
        ("truncated", truncated),
        ("wrong-magic", wrong_magic),
    ]
}

#[test]
fn test_mode_accepts_good_and_rejects_damaged_data() {
    let wd = Workdir::new();
    let data = text(300_000);
    let good = wd.run_stdin(&["gzip"], &data).ok().stdout;
    wd.write("good.gz", &good);
    wd.run(&["gzip", "-t", "good.gz"]).ok();
    let bz = wd.run_stdin(&["gzip", "--bzip2"], &data).ok().stdout;
    wd.write("good.bz2", &bz);
    wd.run(&["gzip", "-t", "good.bz2"]).ok();
    for (kind, bytes) in damaged(&data) {
        wd.write("bad.gz", &bytes);
        for threads in ["1", "2"] {
            let run = wd.run(&["gzip", "-t", "-p", threads, "bad.gz"]).code(1);
            assert!(run.stderr.contains("bad.gz"), "{kind}: {}", run.stderr);
            if kind != "wrong-magic" {
                assert!(
                    run.stderr.contains("byte"),
                    "{kind}: no offset: {}",
                    run.stderr
                );
            }
            // From a pipe too, with -c: a non-zero exit.
            wd.run_stdin(&["gzip", "-dc"], &bytes).code(1);
        }
    }
    let mut bad_bz = bz.clone();
    let n = bad_bz.len();
    bad_bz[n / 2] ^= 0x55;
    wd.write("bad.bz2", &bad_bz);
    wd.run(&["gzip", "-t", "bad.bz2"]).code(1);
    wd.write("short.bz2", &bz[..n - 20]);
    wd.run(&["gzip", "-t", "short.bz2"]).code(1);
    wd.write("plain.gz", b"just text\n");
    let run = wd.run(&["gzip", "-t", "plain.gz"]).code(1);
    assert!(run.stderr.contains("not in gzip"), "{}", run.stderr);
}

#[test]
fn failed_decompression_keeps_input_and_leaves_nothing() {
    let wd = Workdir::new();
    let data = text(300_000);
    for (kind, bytes) in damaged(&data) {
        wd.write("bad.gz", &bytes);
        wd.run(&["gzip", "-d", "bad.gz"]).code(1);
        assert_eq!(wd.list(), vec!["bad.gz"], "{kind}: leftovers");
        assert!(wd.read("bad.gz") == bytes, "{kind}: input changed");
    }
}

#[test]
fn compresses_a_file_in_place_keeping_mode_and_time() {
    let wd = Workdir::new();
    let data = text(500_000);
    let path = wd.write("a.log", &data);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let old = filetime::FileTime::from_unix_time(1_600_000_000, 0);
    filetime::set_file_mtime(&path, old).unwrap();
    wd.run(&["gzip", "a.log"]).ok();
    assert_eq!(wd.list(), vec!["a.log.gz"]);
    let meta = std::fs::metadata(wd.join("a.log.gz")).unwrap();
    assert_eq!(filetime::FileTime::from_last_modification_time(&meta), old);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    }
    if have("gzip") {
        // gzip -N restores the stored name and time.
        let run = tool(&wd, "gzip", &["-lN", "a.log.gz"], b"");
        assert!(String::from_utf8_lossy(&run).contains("a.log"));
    }
    wd.run(&["gzip", "-d", "a.log.gz"]).ok();
    assert_eq!(wd.list(), vec!["a.log"]);
    assert!(wd.read("a.log") == data);
    let meta = std::fs::metadata(wd.join("a.log")).unwrap();
    assert_eq!(filetime::FileTime::from_last_modification_time(&meta), old);
}

#[test]
fn keep_stdout_and_restore_name() {
    let wd = Workdir::new();
    wd.write("b.txt", "hello\n");
    wd.run(&["gzip", "-k", "b.txt"]).ok();
    assert_eq!(wd.list(), vec!["b.txt", "b.txt.gz"]);
    let out = wd.run(&["gzip", "-c", "b.txt"]).ok().stdout;
    assert_eq!(&out[..2], &[0x1f, 0x8b]);
    std::fs::rename(wd.join("b.txt.gz"), wd.join("renamed.gz")).unwrap();
    std::fs::remove_file(wd.join("b.txt")).unwrap();
    wd.run(&["gzip", "-dN", "renamed.gz"]).ok();
    assert_eq!(wd.list(), vec!["b.txt"]);
    let out = wd.run(&["gzip", "-dc", "-"]).stdout;
    assert!(out.is_empty());
}

#[test]
fn existing_output_is_not_overwritten_without_force() {
    let wd = Workdir::new();
    wd.write("c.txt", "new\n");
    wd.write("c.txt.gz", "precious");
    let run = wd.run(&["gzip", "c.txt"]).code(2);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(wd.read("c.txt.gz"), b"precious");
    assert!(wd.exists("c.txt"));
    wd.run(&["gzip", "-f", "c.txt"]).ok();
    assert!(!wd.exists("c.txt"));
    assert_eq!(wd.run(&["gzip", "-dc", "c.txt.gz"]).ok().stdout, b"new\n");
    wd.write("c.txt", "other\n");
    wd.run(&["gzip", "-d", "c.txt.gz"]).code(2);
    assert_eq!(wd.read("c.txt"), b"other\n");
    assert_eq!(wd.list(), vec!["c.txt", "c.txt.gz"]);
}

#[test]
fn symlinks_and_suffixed_files_are_skipped() {
    let wd = Workdir::new();
    wd.write("d.txt", "data\n");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("d.txt", wd.join("link")).unwrap();
        wd.run(&["gzip", "link"]).code(2);
        assert!(!wd.exists("link.gz"));
    }
    wd.run(&["gzip", "d.txt"]).ok();
    wd.run(&["gzip", "d.txt.gz"]).code(2);
    assert!(!wd.exists("d.txt.gz.gz"));
    wd.write("e.unknown", "x");
    wd.run(&["gzip", "-d", "e.unknown"]).code(2);
}

#[test]
fn many_files_and_recursion() {
    let wd = Workdir::new();
    let mut names = Vec::new();
    for i in 0..12 {
        let name = format!("dir/sub{}/f{i}.txt", i % 3);
        wd.write(&name, text(10_000 + i * 1000));
        names.push(name);
    }
    wd.run(&["gzip", "-r", "-p", "4", "dir"]).ok();
    for name in &names {
        assert!(wd.exists(&format!("{name}.gz")), "{name}.gz");
        assert!(!wd.exists(name));
    }
    wd.run(&["gzip", "-dr", "dir"]).ok();
    for (i, name) in names.iter().enumerate() {
        assert!(wd.read(name) == text(10_000 + i * 1000));
    }
}

#[test]
fn trailing_garbage_is_a_warning() {
    let wd = Workdir::new();
    let mut gz = wd.run_stdin(&["gzip"], b"payload\n").ok().stdout;
    gz.extend_from_slice(b"garbage!");
    wd.write("t.gz", &gz);
    let run = wd.run(&["gzip", "-dc", "t.gz"]).code(2);
    assert_eq!(run.stdout, b"payload\n");
    assert!(run.stderr.contains("trailing garbage"), "{}", run.stderr);
    let mut zeros = wd.run_stdin(&["gzip"], b"payload\n").ok().stdout;
    zeros.extend_from_slice(&[0; 100]);
    wd.write("z.gz", &zeros);
    assert_eq!(wd.run(&["gzip", "-dc", "z.gz"]).ok().stdout, b"payload\n");
}

#[test]
fn list_matches_gzip() {
    if skip("gzip") {
        return;
    }
    let wd = Workdir::new();
    wd.write("l1.txt", text(100_000));
    wd.write("l2.txt", pseudo_random(5000, 3));
    tool(&wd, "gzip", &["-k", "l1.txt", "l2.txt"], b"");
    let ours = wd
        .run(&["gzip", "-l", "l1.txt.gz", "l2.txt.gz"])
        .ok()
        .stdout_str();
    let theirs =
        String::from_utf8(tool(&wd, "gzip", &["-l", "l1.txt.gz", "l2.txt.gz"], b"")).unwrap();
    assert_eq!(ours, theirs);
    let json = wd
        .run(&["gzip", "-l", "--json", "l1.txt.gz"])
        .ok()
        .stdout_str();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["uncompressed"], 100_000);
    // A file fkit wrote in many members: the index gives the exact total.
    wd.run(&["gzip", "-b", "16K", "-f", "l1.txt"]).ok();
    let ours = wd
        .run(&["gzip", "-l", "--json", "l1.txt.gz"])
        .ok()
        .stdout_str();
    let v: serde_json::Value = serde_json::from_str(&ours).unwrap();
    assert_eq!(v[0]["uncompressed"], 100_000);
}

#[test]
fn range_reads_a_slice() {
    let wd = Workdir::new();
    let data = text(1_000_000);
    let gz = wd.run_stdin(&["gzip", "-b", "64K"], &data).ok().stdout;
    wd.write("r.gz", &gz);
    for (off, len) in [
        (0usize, 10usize),
        (65_530, 20),
        (999_990, 100),
        (300_000, 200_000),
    ] {
        let arg = format!("{off}:{len}");
        let out = wd.run(&["gzip", "-d", "--range", &arg, "r.gz"]).ok().stdout;
        let end = (off + len).min(data.len());
        assert!(out == data[off..end], "range {arg}");
        // A stream, or a file without the index, gives the same slice.
        let out = wd
            .run_stdin(&["gzip", "-d", "--range", &arg], &gz)
            .ok()
            .stdout;
        assert!(out == data[off..end], "range {arg} from stdin");
    }
    let out = wd
        .run(&["gzip", "-d", "--range", "999000:", "r.gz"])
        .ok()
        .stdout;
    assert!(out == data[999_000..]);
    assert!(wd.exists("r.gz"));
    wd.run(&["gzip", "-d", "--range", "nonsense", "r.gz"])
        .code(2);
}

#[test]
fn help_has_examples() {
    let wd = Workdir::new();
    let help = wd.run(&["gzip", "--help"]).ok().stdout_str();
    assert!(help.contains("Examples:"));
    assert!(help.contains("--range"));
}

#[test]
fn bzip2_written_file_decodes_block_by_block_in_parallel() {
    if skip("bzip2") {
        return;
    }
    let wd = Workdir::new();
    // Level 1: 100 kB blocks, so one stream holds many blocks.
    let data = text(1_500_000);
    let bz = tool(&wd, "bzip2", &["-1", "-c"], &data);
    wd.write("one.bz2", &bz);
    for threads in ["1", "2", "4"] {
        let out = wd
            .run(&["gzip", "-dc", "-p", threads, "one.bz2"])
            .ok()
            .stdout;
        assert!(out == data, "-p{threads}");
    }
    // Damage in a middle block: an error, nothing left behind.
    let mut bad = bz.clone();
    let n = bad.len();
    bad[n / 2] ^= 0x10;
    wd.write("bad.bz2", &bad);
    let run = wd.run(&["gzip", "-d", "-p", "2", "bad.bz2"]).code(1);
    assert!(run.stderr.contains("bad.bz2"), "{}", run.stderr);
    assert!(!wd.exists("bad"));
    // Trailing garbage after the stream is a warning.
    let mut trailing = bz.clone();
    trailing.extend_from_slice(b"junk");
    wd.write("t.bz2", &trailing);
    let run = wd.run(&["gzip", "-dc", "-p", "2", "t.bz2"]).code(2);
    assert!(run.stdout == data);
}

#[test]
fn interrupted_compression_leaves_no_output() {
    let wd = Workdir::new();
    // Random data at -9 on one core keeps a debug build busy for a while.
    wd.write("big.bin", pseudo_random(40_000_000, 5));
    let mut child = wd
        .command(&["gzip", "-9", "-p", "1", "big.bin"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(400));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    if status.success() {
        eprintln!("skipped: compression finished before the interrupt");
        return;
    }
    assert_eq!(wd.list(), vec!["big.bin"]);
}

#[test]
fn force_stdout_passes_plain_data_through() {
    let wd = Workdir::new();
    wd.write("plain.txt", "not compressed\n");
    let gz = wd.run_stdin(&["gzip"], b"zipped\n").ok().stdout;
    wd.write("z.gz", &gz);
    // As zcat -f: compressed files are decompressed, others copied.
    let out = wd.run(&["gzip", "-dcf", "z.gz", "plain.txt"]).ok().stdout;
    assert_eq!(out, b"zipped\nnot compressed\n");
    assert_eq!(wd.run_stdin(&["gzip", "-dcf"], b"raw").ok().stdout, b"raw");
    wd.run(&["gzip", "-dc", "plain.txt"]).code(1);
}

/// Data whose runs sit on the edges of bzip2's first run-length coding
/// (4 bytes and a count of 0..=251 more), with text between them.
fn runs() -> Vec<u8> {
    let mut data = Vec::new();
    for (i, len) in [1, 3, 4, 5, 8, 9, 255, 256, 259, 260, 263, 1000, 4, 5]
        .into_iter()
        .enumerate()
    {
        data.extend(std::iter::repeat_n(b'a' + i as u8 % 3, len));
        data.extend_from_slice(format!("-{i}-").as_bytes());
    }
    // A run at the very end.
    data.extend(std::iter::repeat_n(b'z', 259));
    data
}

/// Decode `bz` as a file with 1 and 2 threads, and from a pipe; all must
/// give `want`.
fn decodes_to(wd: &Workdir, bz: &[u8], want: &[u8], what: &str) {
    wd.write("in.bz2", bz);
    for threads in ["1", "2"] {
        let out = wd
            .run(&["gzip", "-dc", "-p", threads, "in.bz2"])
            .ok()
            .stdout;
        assert!(out == want, "{what}: -p{threads} differs");
    }
    let out = wd.run_stdin(&["gzip", "-dc"], bz).ok().stdout;
    assert!(out == want, "{what}: from a pipe differs");
}

#[test]
fn bzip2_decoder_reads_every_level_and_shape() {
    if skip("bzip2") {
        return;
    }
    let wd = Workdir::new();
    let mut shapes = vec![
        ("empty", Vec::new()),
        ("one", b"x".to_vec()),
        ("runs", runs()),
        ("one-run", vec![0u8; 2_000_000]),
        ("random", pseudo_random(300_000, 11)),
    ];
    let mut mixed = text(700_000);
    mixed.extend(runs());
    mixed.extend(pseudo_random(50_000, 3));
    shapes.push(("mixed", mixed));
    for (name, data) in &shapes {
        for level in ["-1", "-5", "-9"] {
            let bz = tool(&wd, "bzip2", &[level, "-c"], data);
            decodes_to(&wd, &bz, data, &format!("{name} bzip2 {level}"));
        }
    }
    // Every level on one input: many blocks at -1, one at -9.
    let data = text(1_000_000);
    for level in 1..=9 {
        let level = format!("-{level}");
        let bz = tool(&wd, "bzip2", &[&level, "-c"], &data);
        decodes_to(&wd, &bz, &data, &format!("text bzip2 {level}"));
    }
}

#[test]
fn bzip2_decoder_reads_lbzip2_and_concatenated_streams() {
    let wd = Workdir::new();
    let data = text(2_500_000);
    if !skip("lbzip2") {
        for level in ["-1", "-9"] {
            let bz = tool(&wd, "lbzip2", &[level, "-n2", "-c"], &data);
            decodes_to(&wd, &bz, &data, &format!("lbzip2 {level}"));
        }
    }
    // Streams of fkit's, with an empty one between.
    let mut bz = Vec::new();
    let mut want = Vec::new();
    for part in [&data[..300_000], &[][..], &runs()[..]] {
        bz.extend(wd.run_stdin(&["gzip", "--bzip2", "-1"], part).ok().stdout);
        want.extend_from_slice(part);
    }
    decodes_to(&wd, &bz, &want, "concatenated");
}

#[test]
fn bzip2_decoder_rejects_damage_with_an_offset() {
    if skip("bzip2") {
        return;
    }
    let wd = Workdir::new();
    let data = text(600_000);
    let bz = tool(&wd, "bzip2", &["-2", "-c"], &data);
    let n = bz.len();
    let mut flipped = bz.clone();
    flipped[n / 2] ^= 0x08;
    // The first block's CRC is right after its magic (bytes 4..10).
    let mut bad_crc = bz.clone();
    bad_crc[11] ^= 0x01;
    let mut bad_stream_crc = bz.clone();
    bad_stream_crc[n - 3] ^= 0x40;
    let cases = [
        ("flipped", flipped),
        ("bad-block-crc", bad_crc),
        ("bad-stream-crc", bad_stream_crc),
        ("truncated", bz[..n - 30].to_vec()),
        ("truncated-early", bz[..n / 3].to_vec()),
    ];
    for (kind, bytes) in cases {
        wd.write("bad.bz2", &bytes);
        for threads in ["1", "2"] {
            let run = wd.run(&["gzip", "-t", "-p", threads, "bad.bz2"]).code(1);
            assert!(
                run.stderr.contains("bad.bz2") && run.stderr.contains("byte"),
                "{kind} -p{threads}: {}",
                run.stderr
            );
            let run = wd.run(&["gzip", "-d", "-p", threads, "bad.bz2"]).code(1);
            assert!(!run.stderr.contains("panicked"), "{kind}: {}", run.stderr);
            assert!(!wd.exists("bad"), "{kind}: output left behind");
            assert!(wd.exists("bad.bz2"), "{kind}: input removed");
        }
    }
}
