//! `fkit gzip` against the real gzip, bzip2 and pigz.

mod common;

use common::{Background, Workdir, have, pseudo_random, run_command};
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
    // Trailing garbage after the stream is mentioned, and ignored with
    // success, as bzip2 does.
    let mut trailing = bz.clone();
    trailing.extend_from_slice(b"junk");
    wd.write("t.bz2", &trailing);
    let run = wd.run(&["gzip", "-dc", "-p", "2", "t.bz2"]).ok();
    assert!(run.stderr.contains("trailing garbage after EOF ignored"));
    assert!(run.stdout == data);
}

#[test]
fn interrupted_compression_leaves_no_output() {
    let wd = Workdir::new();
    // Random data at -9 on one core keeps a debug build busy for a while.
    wd.write("big.bin", pseudo_random(40_000_000, 5));
    let mut child = Background::spawn(
        wd.command(&["gzip", "-9", "-p", "1", "big.bin"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
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

/// One gzip member written by zlib (flate2) at `level`: a foreign member,
/// without fkit's index.
fn zlib_member(data: &[u8], level: u32) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    std::io::Write::write_all(&mut enc, data).unwrap();
    enc.finish().unwrap()
}

/// Decode `gz` as a file (mapped) with -dc and -t, and from stdin, and
/// check every way gives `want`.
fn decodes_every_way(wd: &Workdir, gz: &[u8], want: &[u8], what: &str) {
    wd.write("x.gz", gz);
    for threads in ["1", "2"] {
        let out = wd.run(&["gzip", "-dc", "-p", threads, "x.gz"]).ok().stdout;
        assert!(out == want, "{what}: file, -p{threads}");
        wd.run(&["gzip", "-t", "-p", threads, "x.gz"]).ok();
    }
    let out = wd.run_stdin(&["gzip", "-dc"], gz).ok().stdout;
    assert!(out == want, "{what}: stdin");
    let out = stdin_from_file(wd, &["gzip", "-dc"], "x.gz").stdout;
    assert!(out == want, "{what}: stdin on the file");
}

/// Run fkit with stdin opened on a file of the work dir (`fkit … < name`).
fn stdin_from_file(wd: &Workdir, args: &[&str], name: &str) -> std::process::Output {
    let file = std::fs::File::open(wd.join(name)).unwrap();
    let out = wd.command(args).stdin(file).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} < {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Stdin on a regular file is mapped and decoded like the file (bzip2 by
/// fkit's block decoder, fkit's gzip members on every core), `-l` reads it
/// too, and it is left at its end; from any other position it is streamed.
#[test]
fn stdin_on_a_regular_file_decodes_like_the_file() {
    let wd = Workdir::new();
    let data = text(3_000_000);
    wd.write("d", &data);
    wd.run(&["gzip", "-k", "-b", "256K", "d"]).ok();
    wd.run(&["gzip", "-k", "--bzip2", "-1", "d"]).ok();
    for name in ["d.gz", "d.bz2"] {
        for threads in ["1", "2"] {
            let out = stdin_from_file(&wd, &["gzip", "-dc", "-p", threads], name).stdout;
            assert!(out == data, "{name} -p{threads}");
        }
        stdin_from_file(&wd, &["gzip", "-t"], name);
        let listed = stdin_from_file(&wd, &["gzip", "-l", "--json"], name).stdout;
        let v: serde_json::Value = serde_json::from_slice(&listed).unwrap();
        assert_eq!(v[0]["uncompressed"], data.len(), "{name}");
        assert_eq!(v[0]["compressed"], wd.read(name).len(), "{name}");
        assert_eq!(v[0]["name"], "<stdin>");
        // Nothing is left on stdin for the next reader.
        let out = wd.sh(&format!(
            "{{ \"$FKIT\" gzip -dc > out; cat > rest; }} < {name}"
        ));
        assert!(out.status.success());
        assert!(wd.read("out") == data, "{name}: out");
        assert_eq!(wd.read("rest"), b"", "{name}: rest");
    }
    // Compressed data that starts after a header someone else read.
    let mut prefixed = b"hdr:\n".to_vec();
    prefixed.extend(wd.read("d.gz"));
    wd.write("p.gz", &prefixed);
    let out =
        wd.sh("{ dd bs=5 count=1 of=/dev/null 2>/dev/null; \"$FKIT\" gzip -dc; } < p.gz > out");
    assert!(out.status.success());
    assert!(wd.read("out") == data, "after a header");
}

#[test]
fn foreign_multi_member_files_decode_completely() {
    let wd = Workdir::new();
    let big = text(2_500_000);
    let random = pseudo_random(300_000, 11);
    let parts: Vec<&[u8]> = vec![&big, b"", b"x", &random, &big[..1 << 20], &big[7..70_007]];
    let mut gz = Vec::new();
    let mut want = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        gz.extend(zlib_member(part, [6, 1, 9, 0, 6, 3][i]));
        want.extend_from_slice(part);
    }
    decodes_every_way(&wd, &gz, &want, "zlib members");
    // Members fkit indexed, then foreign ones, then indexed ones again: the
    // indexed run is inflated in parallel, the rest one member at a time.
    let ours = wd
        .run_stdin(&["gzip", "-b", "64K"], &big[..500_000])
        .ok()
        .stdout;
    let mut mixed = ours.clone();
    mixed.extend(zlib_member(&random, 6));
    mixed.extend(&ours);
    let mut want = big[..500_000].to_vec();
    want.extend_from_slice(&random);
    want.extend_from_slice(&big[..500_000]);
    decodes_every_way(&wd, &mixed, &want, "indexed, foreign, indexed");
    if have("gzip") {
        let mut gnu = tool(&wd, "gzip", &["-6", "-c"], &big);
        gnu.extend(tool(&wd, "gzip", &["-1", "-c"], &random));
        let mut want = big.clone();
        want.extend_from_slice(&random);
        decodes_every_way(&wd, &gnu, &want, "GNU gzip members");
    }
}

#[test]
fn member_boundary_may_fall_anywhere() {
    // Members of every small length, stored and compressed, end at every
    // byte (and bit) position; members of about one output buffer (1 MiB)
    // end just before, at and just after a buffer fill.
    let wd = Workdir::new();
    let data = text(3 << 20);
    let mut gz = Vec::new();
    let mut want = Vec::new();
    for len in 0..64 {
        let part = &data[len * 31..len * 32 + len];
        gz.extend(zlib_member(part, (len % 10) as u32));
        want.extend_from_slice(part);
    }
    for len in [
        (1 << 20) - 1,
        1 << 20,
        (1 << 20) + 1,
        32 * 1024,
        32 * 1024 + 1,
    ] {
        for level in [0, 6] {
            gz.extend(zlib_member(&data[..len], level));
            want.extend_from_slice(&data[..len]);
        }
    }
    decodes_every_way(&wd, &gz, &want, "members of every length");
}

/// The byte offset the error message names after "at byte".
fn error_offset(stderr: &str) -> u64 {
    let at = stderr.find("at byte ").expect(stderr) + "at byte ".len();
    stderr[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn truncated_foreign_file_names_the_offset() {
    let wd = Workdir::new();
    let data = text(1_500_000);
    let mut gz = zlib_member(&data[..700_000], 6);
    let second = gz.len();
    gz.extend(zlib_member(&data[700_000..], 6));
    // Cut inside the first body, inside the second header, inside the
    // second body, and inside the last trailer.
    for cut in [second / 2, second + 5, second + 1000, gz.len() - 3] {
        wd.write("cut.gz", &gz[..cut]);
        for threads in ["1", "2"] {
            let run = wd.run(&["gzip", "-t", "-p", threads, "cut.gz"]).code(1);
            assert!(run.stderr.contains("cut.gz"), "{}", run.stderr);
            assert!(run.stderr.contains("truncated"), "{cut}: {}", run.stderr);
            assert_eq!(error_offset(&run.stderr), cut as u64, "{}", run.stderr);
        }
        let run = wd.run_stdin(&["gzip", "-dc"], &gz[..cut]).code(1);
        assert!(run.stderr.contains("truncated"), "{cut}: {}", run.stderr);
        // Decompressing to a file leaves nothing behind.
        wd.run(&["gzip", "-d", "cut.gz"]).code(1);
        assert_eq!(wd.list(), vec!["cut.gz"]);
    }
}

#[test]
fn corrupt_crc_and_length_are_errors_naming_the_member() {
    let wd = Workdir::new();
    let data = text(400_000);
    let mut gz = zlib_member(&data[..150_000], 6);
    let second = gz.len();
    gz.extend(zlib_member(&data[150_000..], 9));
    let n = gz.len();
    let mut bad_crc = gz.clone();
    bad_crc[n - 7] ^= 0x10;
    let mut bad_len = gz.clone();
    bad_len[n - 2] ^= 1;
    for (what, bytes) in [("crc error", bad_crc), ("length error", bad_len)] {
        wd.write("bad.gz", &bytes);
        let run = wd.run(&["gzip", "-t", "bad.gz"]).code(1);
        assert!(run.stderr.contains(what), "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("member that starts at byte {second}")),
            "{}",
            run.stderr
        );
        let run = wd.run_stdin(&["gzip", "-dc"], &bytes).code(1);
        assert!(run.stderr.contains(what), "{}", run.stderr);
    }
    // A flipped byte in a foreign body: an error at an offset inside it.
    let mut flipped = gz.clone();
    flipped[second + 2000] ^= 0x55;
    wd.write("flip.gz", &flipped);
    let run = wd.run(&["gzip", "-t", "flip.gz"]).code(1);
    assert!(error_offset(&run.stderr) >= second as u64, "{}", run.stderr);
}

#[test]
fn trailing_garbage_after_foreign_members() {
    let wd = Workdir::new();
    let data = text(100_000);
    let gz = [
        zlib_member(&data[..40_000], 6),
        zlib_member(&data[40_000..], 1),
    ]
    .concat();
    for (tail, warns) in [
        (&b"garbage!"[..], true),
        (b"\x1f", false),
        (b"\x1f\x8b", false),
        (&[0u8; 1000][..], false),
    ] {
        let mut bytes = gz.clone();
        bytes.extend_from_slice(tail);
        wd.write("g.gz", &bytes);
        if tail.starts_with(b"\x1f") {
            // The start of a header with nothing after it: truncated, as
            // GNU gzip says of a lone byte too.
            let run = wd.run(&["gzip", "-dc", "g.gz"]).code(1);
            assert!(run.stderr.contains("truncated"), "{}", run.stderr);
            continue;
        }
        let run = wd.run(&["gzip", "-dc", "g.gz"]);
        assert!(run.stdout == data, "{tail:?}");
        if warns {
            let run = run.code(2);
            assert!(
                run.stderr.contains(&format!(
                    "trailing garbage ignored (from byte {})",
                    gz.len()
                )),
                "{}",
                run.stderr
            );
        } else {
            run.ok();
        }
        let run = wd.run_stdin(&["gzip", "-dc"], &bytes);
        assert!(run.stdout == data, "{tail:?} from stdin");
        if warns {
            run.code(2);
        } else {
            run.ok();
        }
    }
}

#[test]
fn range_of_a_foreign_file() {
    let wd = Workdir::new();
    let data = text(3_000_000);
    let gz = [
        zlib_member(&data[..1_200_000], 6),
        zlib_member(&data[1_200_000..], 6),
    ]
    .concat();
    wd.write("f.gz", &gz);
    for (off, len) in [(0usize, 10usize), (1_199_990, 20), (2_000_000, 1_500_000)] {
        let arg = format!("{off}:{len}");
        let out = wd.run(&["gzip", "-d", "--range", &arg, "f.gz"]).ok().stdout;
        assert!(out == data[off..(off + len).min(data.len())], "{arg}");
    }
}

/// Decode `bz` with every bzip2 reader at hand (bzip2, lbzip2, Python's bz2
/// module, fkit itself) and check each gives back `data`.
fn all_readers_agree(wd: &Workdir, what: &str, bz: &[u8], data: &[u8]) {
    if have("bzip2") {
        assert!(tool(wd, "bzip2", &["-dc"], bz) == data, "{what}: bzip2 -d");
    }
    if have("lbzip2") {
        assert!(
            tool(wd, "lbzip2", &["-dc"], bz) == data,
            "{what}: lbzip2 -d"
        );
    }
    if have("python3") {
        let script =
            "import bz2,sys; sys.stdout.buffer.write(bz2.decompress(sys.stdin.buffer.read()))";
        assert!(
            tool(wd, "python3", &["-c", script], bz) == data,
            "{what}: python bz2"
        );
    }
    let back = wd.run_stdin(&["gzip", "-dc"], bz).ok().stdout;
    assert!(back == data, "{what}: fkit gzip -d");
}

/// Inputs at the edges of bzip2's run-length coding and block sorting.
fn bzip2_edge_cases() -> Vec<(String, Vec<u8>)> {
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("one byte".into(), b"x".to_vec()),
        ("two symbols".into(), b"ab".repeat(50_000)),
        ("periodic".into(), b"abcab".repeat(30_000)),
        ("one byte repeated".into(), vec![b'z'; 1_000_000]),
        ("zeros".into(), vec![0; 300_000]),
        ("random".into(), pseudo_random(300_000, 11)),
    ];
    // Runs of 4, 5, 255, 256 and 259 bytes, alone and between other bytes.
    for run in [1, 2, 3, 4, 5, 255, 256, 259, 510, 1000] {
        cases.push((format!("run of {run}"), vec![b'r'; run]));
        let mut mixed = Vec::new();
        for i in 0..50u8 {
            mixed.push(i);
            mixed.extend(std::iter::repeat_n(b'q', run));
        }
        cases.push((format!("runs of {run} between bytes"), mixed));
    }
    cases
}

#[test]
fn bzip2_encoder_edge_cases_decode_with_every_reader() {
    let wd = Workdir::new();
    for (name, data) in bzip2_edge_cases() {
        for level in ["-1", "-9"] {
            let bz = wd
                .run_stdin(&["gzip", "--bzip2", level, "-c"], &data)
                .ok()
                .stdout;
            all_readers_agree(&wd, &format!("{name} {level}"), &bz, &data);
        }
    }
}

#[test]
fn bzip2_encoder_every_level_and_block_boundaries() {
    let wd = Workdir::new();
    // Text across many blocks at every level.
    let data = text(1_200_000);
    for level in 1..=9 {
        let flag = format!("-{level}");
        let bz = wd
            .run_stdin(&["gzip", "--bzip2", &flag, "-p", "2"], &data)
            .ok()
            .stdout;
        assert_eq!(bz[3], b'0' + level as u8, "level digit");
        all_readers_agree(&wd, &flag, &bz, &data);
    }
    // Blocks exactly at the level 1 limit (100 000 - 19 run-length coded
    // bytes) and one byte past it; and input whose run-length coding grows
    // (runs of exactly 4 bytes) so that it needs a second block.
    let limit = 100_000 - 19;
    let runs4 = b"aaaabbbb".repeat(99_981 / 8 + 1);
    for (name, data) in [
        ("at the limit", text(limit)),
        ("past the limit", text(limit + 1)),
        ("two limits", text(2 * limit)),
        ("growing runs", runs4),
    ] {
        let bz = wd.run_stdin(&["gzip", "--bzip2", "-1"], &data).ok().stdout;
        all_readers_agree(&wd, name, &bz, &data);
    }
}

#[test]
fn bzip2_encoder_output_is_as_small_as_bzip2s() {
    if skip("bzip2") {
        return;
    }
    let wd = Workdir::new();
    let data = text(2_000_000);
    let ours = wd.run_stdin(&["gzip", "--bzip2", "-9"], &data).ok().stdout;
    let theirs = tool(&wd, "bzip2", &["-9", "-c"], &data);
    let ratio = ours.len() as f64 / theirs.len() as f64;
    assert!(
        ratio < 1.02,
        "{} bytes against bzip2's {}",
        ours.len(),
        theirs.len()
    );
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

#[test]
fn a_closed_pipe_ends_quietly() {
    let wd = Workdir::new();
    let data = text(8_000_000);
    let gz = wd.run_stdin(&["gzip"], &data).ok().stdout;
    wd.write("big.gz", &gz);
    let bz = wd.run_stdin(&["gzip", "--bzip2"], &data).ok().stdout;
    wd.write("big.bz2", &bz);
    for file in ["big.gz", "big.bz2"] {
        let out = wd.run_into_closed_pipe(&["gzip", "-dc", file]);
        assert_eq!(out.status.code(), Some(0), "{file}");
        assert!(
            out.stderr.is_empty(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Through a pipe, fkit's indexed members are read whole and inflated on
/// every core; what follows them (another tool's member, garbage) and any
/// damage are handled as for a file, with the same offsets.
#[test]
fn piped_indexed_members_then_anything() {
    let wd = Workdir::new();
    let data = text(2_000_000);
    let ours = wd
        .run_stdin(&["gzip", "-b", "64K"], &data[..1_500_000])
        .ok()
        .stdout;
    let mut gz = ours.clone();
    gz.extend(zlib_member(&data[1_500_000..], 6));
    for threads in ["1", "2"] {
        let out = wd
            .run_stdin(&["gzip", "-dc", "-p", threads], &gz)
            .ok()
            .stdout;
        assert!(out == data, "mixed, -p{threads}");
        let out = wd
            .run_stdin(
                &["gzip", "-dc", "-p", threads, "--range", "1400000:200000"],
                &gz,
            )
            .ok()
            .stdout;
        assert!(out == data[1_400_000..1_600_000], "range, -p{threads}");
    }
    // Garbage after the members: a warning naming where it starts.
    let mut junk = ours.clone();
    junk.extend(b"not gzip at all");
    let run = wd.run_stdin(&["gzip", "-dc"], &junk).code(2);
    assert!(run.stdout == data[..1_500_000], "garbage: data");
    assert!(run.stderr.contains("trailing garbage"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&ours.len().to_string()),
        "{}",
        run.stderr
    );
    // Cut anywhere: an error, never wrong data; and the same offset as
    // for the file.
    for cut in [ours.len() / 3, ours.len() / 2 + 7, ours.len() - 3] {
        let piped = wd.run_stdin(&["gzip", "-dc"], &ours[..cut]).code(1);
        wd.write("cut.gz", &ours[..cut]);
        let file = wd.run(&["gzip", "-dc", "cut.gz"]).code(1);
        assert_eq!(
            error_offset(&piped.stderr),
            error_offset(&file.stderr),
            "{cut}: {} / {}",
            piped.stderr,
            file.stderr
        );
    }
    // A range stops reading: damage after it goes unnoticed, as for a
    // file, and whole members before it are skipped unread.
    let mut late = ours.clone();
    let last = late.len() - 20;
    late[last] ^= 0x55;
    let out = wd
        .run_stdin(&["gzip", "-dc", "--range", "70000:10"], &late)
        .ok()
        .stdout;
    assert!(out == data[70_000..70_010], "range before damage");
    // A flipped byte inside a member's data: a CRC or data error naming the
    // member.
    let mut bad = ours.clone();
    let at = ours.len() / 2;
    bad[at] ^= 0x55;
    let run = wd.run_stdin(&["gzip", "-dc", "-p", "2"], &bad).code(1);
    assert!(
        run.stderr.contains("member that starts at byte"),
        "{}",
        run.stderr
    );
}

/// An error while the parallel pipeline reads a pipe ends fkit at once:
/// it does not wait for the writer of its stdin to close it.
#[test]
fn an_error_does_not_wait_for_a_stalled_writer() {
    use std::io::Write;
    use std::process::Stdio;
    let wd = Workdir::new();
    let data = text(600_000);
    let mut gz = wd.run_stdin(&["gzip", "-b", "64K"], &data).ok().stdout;
    let at = gz.len() / 3;
    gz[at] ^= 0x55;
    let mut child = Background::spawn(
        wd.command(&["gzip", "-t", "-p", "2"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // Everything is written, but the pipe stays open (a stalled writer).
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&gz).unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "fkit is still waiting for its stdin to close"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    drop(stdin);
    assert_eq!(status.code(), Some(1));
}

/// How one run over one file went: what a user would look at.
#[derive(Debug, PartialEq)]
struct Verdict {
    status: i32,
    stdout: Vec<u8>,
    input_kept: bool,
    output_made: bool,
}

/// Run `peer` (GNU gzip or bzip2) or fkit (`peer` None) with `args` on
/// `data`, named `name`, in a fresh directory: on the file, or with
/// `stdin`, on standard input. Returns the verdict and stderr.
fn judge(
    peer: Option<&str>,
    args: &[&str],
    name: &str,
    data: &[u8],
    stdin: bool,
) -> (Verdict, String) {
    let wd = Workdir::new();
    wd.write(name, data);
    let mut cmd = match peer {
        Some(p) => {
            let mut c = Command::new(p);
            c.current_dir(wd.path());
            c
        }
        None => wd.command(&["gzip"]),
    };
    cmd.args(args);
    if !stdin {
        cmd.arg(name);
    }
    let run = run_command(&mut cmd, if stdin { data } else { b"" });
    let output = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let verdict = Verdict {
        status: run.status,
        stdout: run.stdout,
        input_kept: wd.exists(name),
        output_made: wd.exists(output),
    };
    (verdict, run.stderr)
}

/// The reason in a peer's message, without its name and the file's.
fn reasons(stderr: &str, peer: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{peer}: ")))
        .map(|l| l.split_once(": ").map_or(l, |(_, why)| why).to_string())
        .collect()
}

/// Whatever follows a gzip member, in every mode, judged as GNU gzip judges
/// it (gzip.c's get_method): the same exit status (2 for trailing garbage,
/// 1 for a header cut short), the same output (with -cf non-gzip bytes pass
/// through, as zcat -f), the input removed only when gzip removes it, and
/// gzip's reason in the message.
#[test]
fn what_follows_a_gzip_member_is_judged_as_gnu_gzip_does() {
    if skip("gzip") {
        return;
    }
    let wd = Workdir::new();
    let m = tool(&wd, "gzip", &["-n"], b"xxx\n");
    let then = |tail: &[u8]| [&m[..], tail].concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("one member", m.clone()),
        ("two members", then(&m)),
        ("zero padding", then(&[0; 4])),
        ("one zero", then(&[0])),
        ("one other byte", then(b"y")),
        ("garbage", then(b"yyy\n")),
        ("zeros then garbage", then(b"\0\0y")),
        ("a lone 0x1f", then(b"\x1f")),
        ("gzip magic alone", then(b"\x1f\x8b")),
        ("a header cut short", then(b"\x1f\x8b\x08\x00\x00")),
        ("a member cut short", then(&m[..15])),
        ("a zip signature", then(b"PK\x03\x04abcd")),
        ("compress data", then(b"\x1f\x9dabc\n")),
        ("pack data", then(b"\x1f\x1eabc\n")),
        ("not gzip", b"hello\n".to_vec()),
        ("empty", Vec::new()),
        ("one byte", b"h".to_vec()),
        ("zeros only", vec![0, 0]),
        ("truncated", m[..15].to_vec()),
    ];
    let modes: [(&[&str], bool); 12] = [
        (&["-d"], false),
        (&["-dk"], false),
        (&["-df"], false),
        (&["-dq"], false),
        (&["-tv"], false),
        (&["-dc"], false),
        (&["-dcf"], false),
        (&["-t"], false),
        (&["-tf"], false),
        (&["-l"], false),
        (&["-dc"], true),
        (&["-dcf"], true),
    ];
    for (what, data) in &cases {
        for (args, stdin) in modes {
            let case = format!("{what}, {args:?}{}", if stdin { " < stdin" } else { "" });
            let (mut theirs, their_err) = judge(Some("gzip"), args, "c.gz", data, stdin);
            let (mut ours, our_err) = judge(None, args, "c.gz", data, stdin);
            if args == ["-l"] {
                // gzip 1.12 lists nothing for a file with anything after its
                // members; fkit lists it (README: differences).
                theirs.stdout.clear();
                ours.stdout.clear();
            }
            assert_eq!(ours, theirs, "{case}: ours {our_err}, gzip's {their_err}");
            // fkit does not read gzip's older formats: its own words.
            if !what.ends_with(" data") {
                for why in reasons(&their_err, "gzip") {
                    assert!(our_err.contains(&why), "{case}: {our_err} lacks {why}");
                }
            }
        }
    }
}

/// A member whose header names an unknown method: an error in every mode,
/// and, unlike GNU gzip (which removes the input though it exits 1), the
/// input stays.
#[test]
fn an_error_after_a_member_keeps_the_input() {
    let wd = Workdir::new();
    let mut gz = wd.run_stdin(&["gzip", "-n"], b"xxx\n").ok().stdout;
    gz.extend_from_slice(b"\x1f\x8b\x07\x00\x00\x00\x00\x00\x00\x03");
    wd.write("bad.gz", &gz);
    let run = wd.run(&["gzip", "-d", "bad.gz"]).code(1);
    assert!(run.stderr.contains("bad.gz"), "{}", run.stderr);
    assert_eq!(wd.list(), vec!["bad.gz"]);
}

/// The first bullet of issue 13: `-f` with stdout passes through what is not
/// gzip, after a member as well as for a whole file (`zcat -f`).
#[test]
fn force_stdout_passes_data_after_a_member_through() {
    let wd = Workdir::new();
    let gz = wd.run_stdin(&["gzip"], b"xxx\n").ok().stdout;
    let piped = wd.run_stdin(&["gzip", "-cdf"], [&gz[..], b"yyy\n"].concat());
    assert_eq!(piped.ok().stdout, b"xxx\nyyy\n");
    let bz = wd.run_stdin(&["gzip", "--bzip2"], b"xxx\n").ok().stdout;
    let piped = wd.run_stdin(&["gzip", "-cdf"], [&bz[..], b"yyy\n"].concat());
    assert_eq!(piped.ok().stdout, b"xxx\nyyy\n");
}

/// Whatever follows a bzip2 stream, judged as bzip2 judges it: trailing
/// bytes (zeros included) are mentioned and ignored, with success; a piece
/// of a stream's magic cut off by the end is an error, the input kept.
/// bzip2 exits 2 for damage where fkit exits 1 (fkit's code for an error),
/// and `bzip2 -dcf` re-emits the whole compressed file after the data where
/// fkit passes only the trailing bytes through (README: differences).
#[test]
fn what_follows_a_bzip2_stream_is_judged_as_bzip2_does() {
    if skip("bzip2") {
        return;
    }
    let wd = Workdir::new();
    let s = tool(&wd, "bzip2", &[], b"xxx\n");
    let then = |tail: &[u8]| [&s[..], tail].concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("one stream", s.clone()),
        ("two streams", then(&s)),
        ("zero padding", then(&[0; 4])),
        ("one other byte", then(b"y")),
        ("garbage", then(b"yyy\n")),
        (
            "a gzip member",
            then(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0]),
        ),
        ("B", then(b"B")),
        ("BZ", then(b"BZ")),
        ("BZh", then(b"BZh")),
        ("BZh9", then(b"BZh9")),
        ("a stream cut short", then(&s[..20])),
    ];
    let modes: [(&[&str], bool); 5] = [
        (&["-d"], false),
        (&["-dk"], false),
        (&["-dc"], false),
        (&["-t"], false),
        (&["-dc"], true),
    ];
    for (what, data) in &cases {
        for (args, stdin) in modes {
            let case = format!("{what}, {args:?}{}", if stdin { " < stdin" } else { "" });
            let (mut theirs, their_err) = judge(Some("bzip2"), args, "c.bz2", data, stdin);
            let (ours, our_err) = judge(None, args, "c.bz2", data, stdin);
            if theirs.status == 2 {
                theirs.status = 1;
            }
            assert_eq!(ours, theirs, "{case}: ours {our_err}, bzip2's {their_err}");
            let warned = their_err.contains("trailing garbage after EOF ignored");
            assert_eq!(
                our_err.contains("trailing garbage after EOF ignored"),
                warned,
                "{case}: {our_err}"
            );
        }
        // -cf: the data, then the trailing bytes as they are.
        let run = wd.run_stdin(&["gzip", "-dcf"], data);
        if run.status == 0 {
            let decoded = tool(&wd, "bzip2", &["-dc", "-q"], data);
            assert!(run.stdout.starts_with(&decoded), "{what}, -dcf");
        }
    }
}

/// The zstd and xz formats: (flag, suffix, their own tool).
const NEWER: [(&str, &str, &str); 2] = [("--zstd", "zst", "zstd"), ("--xz", "xz", "xz")];

/// fkit's zstd and xz files read by the zstd and xz commands, and theirs by
/// fkit, at several levels and thread counts; decompression recognises them
/// by their magic, whatever the name.
#[test]
fn zstd_and_xz_interoperate_with_their_own_tools() {
    let wd = Workdir::new();
    let data = text(3_000_000);
    for (flag, suffix, peer) in NEWER {
        let levels: &[&str] = if suffix == "zst" {
            &["-1", "-3", "-19", "--level=9"]
        } else {
            &["-0", "-1", "-6"]
        };
        for level in levels {
            for threads in ["1", "2"] {
                let what = format!("{flag} {level} -p{threads}");
                let ours = wd
                    .run_stdin(&["gzip", flag, level, "-p", threads, "-b", "256K"], &data)
                    .ok()
                    .stdout;
                wd.write("ours.bin", &ours);
                let back = wd.run(&["gzip", "-dc", "-p", threads, "ours.bin"]).ok();
                assert!(back.stdout == data, "{what}: fkit -d");
                let piped = wd.run_stdin(&["gzip", "-dc", "-p", threads], &ours).ok();
                assert!(piped.stdout == data, "{what}: fkit -d < pipe");
                if have(peer) {
                    assert!(
                        tool(&wd, peer, &["-dc"], &ours) == data,
                        "{what}: {peer} -d"
                    );
                }
            }
        }
        if !have(peer) {
            eprintln!("skipped: {peer} is not installed");
            continue;
        }
        for args in [&["-c"][..], &["-c", "-T2"], &["-c", "-9"]] {
            let theirs = tool(&wd, peer, args, &data);
            wd.write("theirs.bin", &theirs);
            let back = wd.run(&["gzip", "-dc", "theirs.bin"]).ok();
            assert!(back.stdout == data, "{peer} {args:?}: fkit -d");
            wd.run(&["gzip", "-t", "theirs.bin"]).ok();
        }
        // Concatenated files are read whole, as their tools read them.
        let two = [
            tool(&wd, peer, &["-c"], b"one\n"),
            tool(&wd, peer, &["-c"], b"two\n"),
        ]
        .concat();
        let run = wd.run_stdin(&["gzip", "-dc"], &two).ok();
        assert_eq!(run.stdout, b"one\ntwo\n", "{peer}: two streams");
    }
}

/// The gzip contract holds for zstd and xz: FILE becomes FILE.zst/.xz and
/// is removed only once that is written; -k keeps it, -c writes stdout,
/// an existing output needs -f, -r walks directories, -l and -t read them,
/// and damage is an error that leaves nothing behind.
#[test]
fn zstd_and_xz_keep_the_gzip_contract() {
    for (flag, suffix, _) in NEWER {
        let wd = Workdir::new();
        let data = text(500_000);
        wd.write("a.log", &data);
        wd.run(&["gzip", flag, "a.log"]).ok();
        let packed = format!("a.log.{suffix}");
        assert_eq!(wd.list(), vec![packed.clone()], "{flag}");
        let listed = wd.run(&["gzip", "-l", "--json", &packed]).ok().stdout;
        let v: serde_json::Value = serde_json::from_slice(&listed).unwrap();
        assert_eq!(v[0]["uncompressed"], data.len(), "{flag}: -l");
        wd.run(&["gzip", "-t", &packed]).ok();
        wd.run(&["gzip", "-dk", &packed]).ok();
        assert!(wd.read("a.log") == data, "{flag}: -dk");
        let run = wd.run(&["gzip", "-d", &packed]).code(2);
        assert!(run.stderr.contains("already exists"), "{}", run.stderr);
        wd.run(&["gzip", "-df", &packed]).ok();
        assert_eq!(wd.list(), vec!["a.log"], "{flag}: -df");
        let out = wd.run(&["gzip", flag, "-c", "a.log"]).ok().stdout;
        assert!(wd.exists("a.log") && !wd.exists(&packed), "{flag}: -c");
        // Damage: an error naming the file, the input kept, nothing left.
        let mut bad = out.clone();
        let n = bad.len();
        bad[n / 2] ^= 0x40;
        bad.truncate(n - 3);
        wd.write("bad.bin", &bad);
        let run = wd.run(&["gzip", "-d", "-S", ".bin", "bad.bin"]).code(1);
        assert!(run.stderr.contains("bad.bin"), "{flag}: {}", run.stderr);
        assert_eq!(wd.list(), vec!["a.log", "bad.bin"], "{flag}: damage");
        wd.run(&["gzip", "-t", "bad.bin"]).code(1);
        // -r, and the suffix is the format's.
        std::fs::create_dir(wd.join("dir")).unwrap();
        wd.write("dir/x.txt", b"x\n");
        wd.run(&["gzip", flag, "-r", "dir"]).ok();
        assert!(wd.exists(&format!("dir/x.txt.{suffix}")), "{flag}: -r");
        wd.run(&["gzip", "-dr", "dir"]).ok();
        assert_eq!(wd.read("dir/x.txt"), b"x\n");
    }
}

/// fkit writes zstd as independent frames with a seek table: a range is
/// read from the frames it touches, the same bytes as a whole decode.
#[test]
fn zstd_range_reads_the_frames_it_needs() {
    let wd = Workdir::new();
    let data = text(2_000_000);
    let zst = wd
        .run_stdin(&["gzip", "--zstd", "-b", "64K"], &data)
        .ok()
        .stdout;
    wd.write("r.zst", &zst);
    for (off, len) in [
        (0, 10),
        (65_530, 20),
        (1_000_000, 300_000),
        (1_999_990, 100),
    ] {
        let run = wd
            .run(&["gzip", "-d", "--range", &format!("{off}:{len}"), "r.zst"])
            .ok();
        let end = (off + len).min(data.len());
        assert!(run.stdout == data[off..end], "{off}:{len}");
    }
    // From a pipe: fkit's frames are found from their headers; cut short,
    // an error.
    let run = wd
        .run_stdin(
            &["gzip", "-d", "-p", "2", "--range", "1000000:300000"],
            &zst,
        )
        .ok();
    assert!(run.stdout == data[1_000_000..1_300_000]);
    wd.run_stdin(&["gzip", "-dc", "-p", "2"], &zst[..zst.len() / 2])
        .code(1);
    let xz = wd.run_stdin(&["gzip", "--xz", "-1"], &data).ok().stdout;
    wd.write("r.xz", &xz);
    let run = wd
        .run(&["gzip", "-d", "--range", "1000000:5000", "r.xz"])
        .ok();
    assert!(run.stdout == data[1_000_000..1_005_000]);
}

/// fkit cuts a file into equal xz blocks, as many as a multiple of -p, with
/// their sizes in the block headers and the index; `xz -lvv` lists them
/// and `xz -d` reads them. fkit decodes the blocks of any such file (its
/// own, xz -T's, several streams with padding between) on every core,
/// the same bytes as on one.
#[test]
fn xz_blocks_are_balanced_and_decoded_in_parallel() {
    let wd = Workdir::new();
    let data = text(3_000_000);
    wd.write("a.log", &data);
    // -1: a dictionary of 1 MiB, xz -T's blocks of 3 MiB; fkit's: two of 1.5 MB.
    wd.run(&["gzip", "--xz", "-1", "-p", "2", "-k", "a.log"])
        .ok();
    let ours = wd.read("a.log.xz");
    if have("xz") {
        let listed = tool(&wd, "xz", &["-lvv", "--robot", "a.log.xz"], b"");
        let listed = String::from_utf8(listed).unwrap();
        let sizes: Vec<&str> = listed
            .lines()
            .filter(|l| l.starts_with("block\t"))
            .map(|l| l.split('\t').nth(7).unwrap())
            .collect();
        assert_eq!(sizes, ["1500000", "1500000"], "{listed}");
        assert!(listed.contains("yes"), "sizes in headers: {listed}");
        assert!(tool(&wd, "xz", &["-dc"], &ours) == data, "xz -d");
        // xz on one core writes blocks without sizes in their headers: the
        // index still gives them; other checks and filter chains decode too.
        for args in [
            &["-c", "-1", "-T1", "--block-size=100KiB"][..],
            &[
                "-c",
                "-T1",
                "--check=sha256",
                "--x86",
                "--lzma2=preset=1",
                "--block-size=200KiB",
            ],
        ] {
            let theirs = tool(&wd, "xz", args, &data);
            wd.write("theirs.xz", &theirs);
            for threads in ["1", "2"] {
                let run = wd.run(&["gzip", "-dc", "-p", threads, "theirs.xz"]).ok();
                assert!(run.stdout == data, "xz {args:?}, -p {threads}");
            }
            let run = wd
                .run(&["gzip", "-dc", "--range", "2500000:1000", "theirs.xz"])
                .ok();
            assert!(
                run.stdout == data[2_500_000..2_501_000],
                "xz {args:?}, --range"
            );
        }
    }
    // Many blocks, two streams, stream padding between and after them.
    let small = wd
        .run_stdin(&["gzip", "--xz", "-1", "-b", "64K"], &data)
        .ok()
        .stdout;
    let mut two = small.clone();
    two.extend_from_slice(&[0; 8]);
    two.extend_from_slice(&ours);
    two.extend_from_slice(&[0; 4]);
    wd.write("two.xz", &two);
    let both = [&data[..], &data[..]].concat();
    for threads in ["1", "2", "3"] {
        let run = wd.run(&["gzip", "-dc", "-p", threads, "two.xz"]).ok();
        assert!(run.stdout == both, "-p {threads}");
    }
    wd.run(&["gzip", "-t", "two.xz"]).ok();
    let listed = wd.run(&["gzip", "-l", "--json", "two.xz"]).ok().stdout;
    let v: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(v[0]["uncompressed"], both.len());
    // Padding that is not a multiple of four is an error, as for xz.
    let mut odd = ours.clone();
    odd.extend_from_slice(&[0; 3]);
    wd.write("odd.xz", &odd);
    wd.run(&["gzip", "-dc", "odd.xz"]).code(1);
}

/// A --range of an xz file with several blocks is read from the blocks it
/// touches, found through the index: damage in a block the range does not
/// touch goes unnoticed, while a whole decode reports it with its place.
#[test]
fn xz_range_reads_the_blocks_it_needs() {
    let wd = Workdir::new();
    let data = text(2_000_000);
    let xz = wd
        .run_stdin(&["gzip", "--xz", "-1", "-b", "64K"], &data)
        .ok()
        .stdout;
    wd.write("r.xz", &xz);
    for (off, len) in [
        (0, 10),
        (65_530, 20),
        (1_000_000, 300_000),
        (1_999_990, 100),
    ] {
        for threads in ["1", "2"] {
            let range = format!("{off}:{len}");
            let run = wd
                .run(&["gzip", "-dc", "-p", threads, "--range", &range, "r.xz"])
                .ok();
            let end = (off + len).min(data.len());
            assert!(run.stdout == data[off..end], "{off}:{len} -p {threads}");
        }
    }
    // Damage the middle of the first block's compressed data: its header
    // (12 bytes of stream header, then the block header) stays intact.
    let mut bad = xz.clone();
    bad[12 + 2000] ^= 0x55;
    wd.write("bad.xz", &bad);
    let run = wd
        .run(&["gzip", "-dc", "--range", "1000000:300000", "bad.xz"])
        .ok();
    assert!(run.stdout == data[1_000_000..1_300_000]);
    let run = wd.run(&["gzip", "-dc", "bad.xz"]).code(1);
    assert!(
        run.stderr.contains("bad.xz") && run.stderr.contains("in the block that starts at byte 12"),
        "{}",
        run.stderr
    );
}

/// Levels as each format's own tool has them, and nothing else.
#[test]
fn zstd_and_xz_levels() {
    let wd = Workdir::new();
    wd.run_stdin(&["gzip", "--zstd", "-22"], b"x").code(2);
    wd.run_stdin(&["gzip", "--zstd", "--ultra", "-22"], b"x")
        .ok();
    wd.run_stdin(&["gzip", "--xz", "-9", "-e"], b"x").ok();
    wd.run_stdin(&["gzip", "--xz", "-12"], b"x").code(2);
    wd.run_stdin(&["gzip", "-19"], b"x").code(2);
    // -19 is level 19, not 9: smaller than -9's output on repetitive text.
    let data = text(400_000);
    let nine = wd.run_stdin(&["gzip", "--zstd", "-9"], &data).ok().stdout;
    let nineteen = wd.run_stdin(&["gzip", "--zstd", "-19"], &data).ok().stdout;
    assert!(nineteen.len() < nine.len());
}

/// csv and json read zstd and xz transparently, by their magic.
#[test]
fn csv_and_json_read_zstd_and_xz() {
    let wd = Workdir::new();
    for (flag, suffix, _) in NEWER {
        let csv = wd
            .run_stdin(&["gzip", flag], b"a,b\n1,2\n3,4\n")
            .ok()
            .stdout;
        let name = format!("t.{suffix}");
        wd.write(&name, &csv);
        assert_eq!(wd.run(&["csv", "count", &name]).ok().stdout, b"2\n");
        let json = wd
            .run_stdin(&["gzip", flag], b"{\"a\": [1, 2]}")
            .ok()
            .stdout;
        let out = wd.run_stdin(&["json", "min"], &json).ok().stdout;
        assert_eq!(out, b"{\"a\":[1,2]}\n", "{flag}");
    }
}

/// pigz's and gzip's flags as they mean them: -b in KiB (sizes still
/// work), -0 stored, -11 zopfli, -m no time, -C a comment, -R rsyncable,
/// -Y synchronous; every output read back by GNU gzip.
#[test]
fn pigz_flags_mean_what_pigz_means() {
    if skip("gzip") {
        return;
    }
    let wd = Workdir::new();
    let data = text(300_000);
    wd.write("p.txt", &data);
    let back = |gz: &[u8]| tool(&wd, "gzip", &["-dc"], gz);
    // -b 64 is 64 KiB: the same members as -b 64K.
    let kib = wd.run(&["gzip", "-c", "-b", "64", "p.txt"]).ok().stdout;
    let sized = wd.run(&["gzip", "-c", "-b", "64K", "p.txt"]).ok().stdout;
    assert_eq!(kib, sized);
    assert!(back(&kib) == data);
    wd.run(&["gzip", "-c", "-b", "1", "p.txt"]).code(2);
    // -0 stores: larger than the input, read back whole.
    let stored = wd.run(&["gzip", "-0", "-c", "p.txt"]).ok().stdout;
    assert!(stored.len() > data.len() && back(&stored) == data);
    // -11: zopfli, smaller than -9.
    let small = text(60_000);
    let nine = wd.run_stdin(&["gzip", "-9"], &small).ok().stdout;
    let eleven = wd.run_stdin(&["gzip", "-11"], &small).ok().stdout;
    assert!(
        eleven.len() < nine.len(),
        "{} vs {}",
        eleven.len(),
        nine.len()
    );
    assert!(back(&eleven) == small);
    wd.run_stdin(&["gzip", "-10"], &small).code(2);
    // -m: no time, the name kept; -C: the comment in the header.
    let gz = wd
        .run(&["gzip", "-m", "-C", "made by fkit", "-c", "p.txt"])
        .ok()
        .stdout;
    assert_eq!(&gz[4..8], &[0, 0, 0, 0], "-m stores no time");
    let header = &gz[..120];
    assert!(header.windows(6).any(|w| w == b"p.txt\0"));
    assert!(header.windows(13).any(|w| w == b"made by fkit\0"));
    assert!(back(&gz) == data);
    // -Y and -R still write ordinary gzip.
    wd.run(&["gzip", "-Y", "-k", "p.txt"]).ok();
    assert!(back(&wd.read("p.txt.gz")) == data);
    let rsync = wd.run(&["gzip", "-R", "-c", "p.txt"]).ok().stdout;
    assert!(back(&rsync) == data);
}

/// --rsyncable: an edit near the start leaves the compressed bytes after
/// the next content-defined cut unchanged, so rsync sends little.
#[test]
fn rsyncable_output_resynchronises_after_an_edit() {
    let wd = Workdir::new();
    let data = pseudo_random(3_000_000, 11)
        .iter()
        .map(|b| b"abcdefgh \n"[(*b % 10) as usize])
        .collect::<Vec<u8>>();
    let mut edited = data.clone();
    edited.splice(5000..5000, *b"an edit");
    let before = wd
        .run_stdin(&["gzip", "-R", "-b", "64K"], &data)
        .ok()
        .stdout;
    let after = wd
        .run_stdin(&["gzip", "-R", "-b", "64K"], &edited)
        .ok()
        .stdout;
    let common = before
        .iter()
        .rev()
        .zip(after.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        common > before.len() * 9 / 10,
        "{common} of {}",
        before.len()
    );
    let plain_before = wd.run_stdin(&["gzip", "-b", "64K"], &data).ok().stdout;
    let plain_after = wd.run_stdin(&["gzip", "-b", "64K"], &edited).ok().stdout;
    let plain_common = plain_before
        .iter()
        .rev()
        .zip(plain_after.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(plain_common < plain_before.len() / 10);
}

/// pigz -z (zlib) and -K (zip) outputs, read by pigz, Python's zlib and
/// zipfile; bzip2's -z and -s are accepted with --bzip2.
#[test]
fn zlib_zip_and_bzip2_flags() {
    let wd = Workdir::new();
    let data = text(500_000);
    wd.write("z.txt", &data);
    wd.run(&["gzip", "-z", "-k", "-b", "64K", "z.txt"]).ok();
    wd.run(&["gzip", "-K", "-k", "-b", "64K", "z.txt"]).ok();
    assert!(wd.exists("z.txt.zz") && wd.exists("z.txt.zip"));
    if have("python3") {
        let check = wd.sh(
            "python3 -c \"import zlib, zipfile; d = open('z.txt','rb').read(); \
             assert zlib.decompress(open('z.txt.zz','rb').read()) == d; \
             z = zipfile.ZipFile('z.txt.zip'); assert z.namelist() == ['z.txt']; \
             assert z.testzip() is None and z.read('z.txt') == d\"",
        );
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    if have("pigz") {
        assert!(tool(&wd, "pigz", &["-dc", "z.txt.zz"], b"") == data);
        assert!(tool(&wd, "pigz", &["-dc", "z.txt.zip"], b"") == data);
    }
    let bz = wd
        .run(&["gzip", "-j", "-z", "-s", "-c", "z.txt"])
        .ok()
        .stdout;
    assert!(wd.run_stdin(&["gzip", "-dc"], &bz).ok().stdout == data);
}

/// --bgzf writes what htslib reads: bgzip -d decodes it, bgzip -r rebuilds
/// the same .gzi index fkit wrote with --index, tabix indexes and queries
/// it; and fkit decodes bgzip's files (from a file, a pipe, a range).
#[test]
fn bgzf_interoperates_with_bgzip_and_tabix() {
    let wd = Workdir::new();
    let mut tsv = Vec::new();
    for i in 0..60_000u32 {
        tsv.extend_from_slice(
            format!("chr1\t{}\t{}\tsome words here\n", i * 10 + 1, i % 97).as_bytes(),
        );
    }
    wd.write("t.tsv", &tsv);
    wd.run(&["gzip", "--bgzf", "--index", "-k", "t.tsv"]).ok();
    let gz = wd.read("t.tsv.gz");
    // The end-of-file block ends the file, and fkit reads its own BGZF.
    assert_eq!(
        gz[gz.len() - 28..],
        [
            0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0,
            0, 0, 0, 0, 0
        ]
    );
    for threads in ["1", "2"] {
        let back = wd
            .run(&["gzip", "-dc", "-p", threads, "t.tsv.gz"])
            .ok()
            .stdout;
        assert!(back == tsv, "-p{threads}");
    }
    wd.run_stdin(&["gzip", "--index"], b"x").code(2);
    if !have("bgzip") {
        eprintln!("skipped: bgzip (Debian's tabix package) is not installed");
        return;
    }
    assert!(tool(&wd, "bgzip", &["-dc", "t.tsv.gz"], b"") == tsv);
    std::fs::copy(wd.join("t.tsv.gz"), wd.join("again.gz")).unwrap();
    tool(&wd, "bgzip", &["-r", "again.gz"], b"");
    assert_eq!(wd.read("again.gz.gzi"), wd.read("t.tsv.gz.gzi"));
    if have("tabix") {
        tool(
            &wd,
            "tabix",
            &["-s", "1", "-b", "2", "-e", "2", "t.tsv.gz"],
            b"",
        );
        let rows = tool(&wd, "tabix", &["t.tsv.gz", "chr1:500001-500050"], b"");
        let want: Vec<u8> = tsv
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| {
                let pos: u32 = std::str::from_utf8(l)
                    .unwrap()
                    .split('\t')
                    .nth(1)
                    .unwrap()
                    .parse()
                    .unwrap();
                (500_001..=500_050).contains(&pos)
            })
            .flatten()
            .copied()
            .collect();
        assert_eq!(rows, want);
    }
    // bgzip's own file: on every core, from a pipe, and a range.
    let theirs = tool(&wd, "bgzip", &["-c"], &tsv);
    wd.write("theirs.gz", &theirs);
    for threads in ["1", "2"] {
        let back = wd
            .run(&["gzip", "-dc", "-p", threads, "theirs.gz"])
            .ok()
            .stdout;
        assert!(back == tsv, "bgzip's, -p{threads}");
        let piped = wd
            .run_stdin(&["gzip", "-dc", "-p", threads], &theirs)
            .ok()
            .stdout;
        assert!(piped == tsv, "bgzip's from a pipe, -p{threads}");
    }
    let slice = wd
        .run(&["gzip", "-d", "--range", "1000000:70000", "theirs.gz"])
        .ok()
        .stdout;
    assert!(slice == tsv[1_000_000..1_070_000]);
}
