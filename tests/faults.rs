//! Faults injected into the real binary: a full disk under every writing
//! command, SIGKILL at random moments, a mapped input truncated by another
//! process (SIGBUS), and hostile sizes under a memory limit.
//!
//! The disk-full tests mount a 1 MiB tmpfs, which needs root (CI runs as
//! root); where mounting is not permitted they print that they were
//! skipped.
#![cfg(target_os = "linux")]

mod common;

use common::{Workdir, fkit_bin, pseudo_random};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A tmpfs of a fixed size mounted on a directory of a work dir; unmounted
/// when dropped (declare it after the `Workdir`, so it goes first).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(w: &Workdir, name: &str, size: &str) -> Option<Tmpfs> {
        let dir = w.join(name);
        fs::create_dir_all(&dir).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs (the disk-full tests need root)");
            return None;
        }
        Some(Tmpfs { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Every file under `dir` with its content, to compare before and after.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path.clone());
                files.insert(path, b"<dir>".to_vec());
            } else {
                files.insert(path.clone(), fs::read(&path).expect("read"));
            }
        }
    }
    files
}

fn names(files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    files.keys().map(|p| p.display().to_string()).collect()
}

/// Base64-like text lines: compresses a little, and CSV/JSON-safe.
fn text(len: usize, seed: u64) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out: Vec<u8> = pseudo_random(len, seed)
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()])
        .collect();
    for i in (60..len).step_by(61) {
        out[i] = b'\n';
    }
    out
}

fn csv(rows: usize, seed: u64) -> Vec<u8> {
    let noise = text(rows * 24, seed);
    let mut out = b"id,name,value\n".to_vec();
    for (i, chunk) in noise.chunks(24).enumerate() {
        let field: Vec<u8> = chunk.iter().copied().filter(|b| *b != b'\n').collect();
        out.extend(format!("{i},").as_bytes());
        out.extend(&field);
        out.extend(format!(",{}\n", i * 7 % 1000).as_bytes());
    }
    out
}

fn json(records: usize, seed: u64) -> Vec<u8> {
    let noise = text(records * 24, seed);
    let mut out = b"[".to_vec();
    for (i, chunk) in noise.chunks(24).enumerate() {
        let field: String = chunk
            .iter()
            .filter(|b| **b != b'\n')
            .map(|b| *b as char)
            .collect();
        if i > 0 {
            out.push(b',');
        }
        out.extend(format!("{{\"id\":{i},\"name\":\"{field}\",\"tags\":[1,2,3]}}").as_bytes());
    }
    out.extend(b"]\n");
    out
}

/// One writing command on a full disk.
struct FullDisk<'a> {
    args: Vec<String>,
    stdin: Vec<u8>,
    /// The output as the user named it: the message must name it.
    output: &'a str,
}

/// Run `case` in `w` with the tmpfs `full` and check the promises: exit
/// status 1, a message naming the output and the reason, nothing new or
/// changed on the full file system, the inputs (everything in `w`
/// outside it) unchanged.
fn check_full_disk(w: &Workdir, full: &Tmpfs, case: FullDisk) {
    let before_full = snapshot(&full.dir);
    let mut outside = snapshot(w.path());
    outside.retain(|p, _| !p.starts_with(&full.dir));
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let run = w.run_stdin(&args, &case.stdin);
    let shown = args.join(" ");
    assert_eq!(
        run.status, 1,
        "fkit {shown}: status; stderr: {}",
        run.stderr
    );
    // The output as given, then the reason: `fkit: buffer: full/out: no
    // space left on device` (a chunk's name starts with the one given).
    let named = run.stderr.lines().any(|line| {
        line.strip_prefix("fkit: ")
            .and_then(|line| line.split_once(": "))
            .and_then(|(_cmd, rest)| rest.strip_prefix(case.output))
            .and_then(|rest| rest.strip_suffix(": no space left on device"))
            .is_some_and(|more| !more.contains([' ', ':']))
    });
    assert!(
        named,
        "fkit {shown}: the message should name {} and say no space left on device: {}",
        case.output, run.stderr
    );
    assert!(
        !run.stderr.contains("fkit-tmp") && !run.stderr.contains("os error"),
        "fkit {shown}: the message names a temporary file or an OS code: {}",
        run.stderr
    );
    let after_full = snapshot(&full.dir);
    assert_eq!(
        names(&after_full),
        names(&before_full),
        "fkit {shown}: files left on the full disk"
    );
    assert!(
        after_full == before_full,
        "fkit {shown}: an existing file on the full disk changed"
    );
    let mut after_outside = snapshot(w.path());
    after_outside.retain(|p, _| !p.starts_with(&full.dir));
    assert_eq!(
        names(&after_outside),
        names(&outside),
        "fkit {shown}: files appeared or vanished outside the full disk"
    );
    assert!(after_outside == outside, "fkit {shown}: an input changed");
}

/// Assert two byte strings are equal without printing megabytes.
#[track_caller]
fn same(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: {} bytes where {} were expected (first difference at {at:?})",
            got.len(),
            want.len()
        );
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_full_disk_fails_cleanly_under_every_writing_command() {
    let w = Workdir::new();
    let Some(full) = Tmpfs::mount(&w, "full", "1m") else {
        return;
    };
    w.write("big", pseudo_random(2 << 20, 1));
    w.write("big.csv", csv(60_000, 2));
    w.write("big.json", json(40_000, 3));
    w.write("full/out", "the old content\n");

    check_full_disk(
        &w,
        &full,
        FullDisk {
            args: strings(&["buffer", "big", "-o", "full/out", "--force"]),
            stdin: Vec::new(),
            output: "full/out",
        },
    );
    check_full_disk(
        &w,
        &full,
        FullDisk {
            args: strings(&["temp", "--soak", "full/out"]),
            stdin: pseudo_random(2 << 20, 4),
            output: "full/out",
        },
    );
    check_full_disk(
        &w,
        &full,
        FullDisk {
            args: strings(&["csv", "select", "1,2", "big.csv", "-o", "full/out", "-f"]),
            stdin: Vec::new(),
            output: "full/out",
        },
    );
    check_full_disk(
        &w,
        &full,
        FullDisk {
            args: strings(&["json", "fmt", "big.json", "-o", "full/out", "-f"]),
            stdin: Vec::new(),
            output: "full/out",
        },
    );
    check_full_disk(
        &w,
        &full,
        FullDisk {
            args: strings(&["chunk", "split", "big", "-s", "256K", "-d", "full"]),
            stdin: Vec::new(),
            output: "full/big.",
        },
    );
    w.command(&["chunk", "split", "big", "-s", "512K", "-d", "parts", "-q"])
        .status()
        .expect("split outside the full disk");
    check_full_disk(
        &w,
        &full,
        FullDisk {
            args: strings(&[
                "chunk",
                "join",
                "parts/big.manifest.json",
                "-o",
                "full/out",
                "-f",
                "-q",
            ]),
            stdin: Vec::new(),
            output: "full/out",
        },
    );
}

#[test]
fn a_full_disk_fails_cleanly_under_gzip_and_its_input_stays() {
    let w = Workdir::new();
    let Some(full) = Tmpfs::mount(&w, "full", "1m") else {
        return;
    };
    // Compress: the input fits, its compressed copy does not.
    fs::write(full.dir.join("data"), pseudo_random(600 << 10, 5)).expect("input");
    for format in [&[][..], &["--bzip2"][..]] {
        let mut args = strings(&["gzip", "full/data"]);
        args.extend(strings(format));
        let suffix = if format.is_empty() { "gz" } else { "bz2" };
        let output = format!("full/data.{suffix}");
        check_full_disk(
            &w,
            &full,
            FullDisk {
                args,
                stdin: Vec::new(),
                output: &output,
            },
        );
    }
    fs::remove_file(full.dir.join("data")).expect("remove");
    // Decompress: 3 MiB of repetitive text in a small compressed file.
    let plain: Vec<u8> = (0..100_000)
        .flat_map(|i| format!("line {:05}\n", i % 977).into_bytes())
        .collect();
    assert!(plain.len() > 1 << 20);
    w.write("plain", &plain);
    for (suffix, flag) in [("gz", "--fast"), ("bz2", "--bzip2")] {
        let out = w
            .command(&["gzip", "-c", flag, "plain"])
            .output()
            .expect("compress");
        assert!(out.status.success());
        fs::write(full.dir.join(format!("data.{suffix}")), &out.stdout).expect("write");
        check_full_disk(
            &w,
            &full,
            FullDisk {
                args: strings(&["gzip", "-d", &format!("full/data.{suffix}")]),
                stdin: Vec::new(),
                output: "full/data",
            },
        );
        fs::remove_file(full.dir.join(format!("data.{suffix}"))).expect("remove");
    }
}

#[test]
fn a_full_spill_directory_fails_csv_sort_cleanly() {
    let w = Workdir::new();
    let Some(full) = Tmpfs::mount(&w, "full", "1m") else {
        return;
    };
    w.write("big.csv", csv(60_000, 7));
    let run = w.run(&[
        "csv",
        "sort",
        "-s",
        "name",
        "-S",
        "256K",
        "--temp-dir",
        "full",
        "big.csv",
        "-o",
        "sorted.csv",
    ]);
    assert_eq!(run.status, 1, "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("full") && run.stderr.contains("no space left on device"),
        "the message should name the spill directory and the reason: {}",
        run.stderr
    );
    assert!(!w.exists("sorted.csv"), "a partial output was left");
    assert!(snapshot(&full.dir).is_empty(), "spill files were left");
}

#[test]
fn a_full_disk_fails_mmap_patch_backup_before_any_byte_changes() {
    let w = Workdir::new();
    let Some(full) = Tmpfs::mount(&w, "full", "1m") else {
        return;
    };
    fs::write(full.dir.join("file"), pseudo_random(700 << 10, 8)).expect("file");
    w.write("patch.bin", pseudo_random(400 << 10, 9));
    check_full_disk(
        &w,
        &full,
        FullDisk {
            args: strings(&[
                "mmap",
                "patch",
                "full/file",
                "--offset",
                "0",
                "--from",
                "patch.bin",
                "--backup",
            ]),
            stdin: Vec::new(),
            output: "full/file.patch-0.bak",
        },
    );
}

/// A tiny deterministic PRNG (xorshift), for kill moments.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Start `args` in `w` (stdin from `stdin`, if given), SIGKILL it after
/// `delay`, and wait for it. Returns whether it had finished by itself.
fn kill_after(w: &Workdir, args: &[&str], stdin: Option<&Path>, delay: Duration) -> bool {
    let mut cmd = w.command(args);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    match stdin {
        Some(path) => cmd.stdin(fs::File::open(path).expect("stdin file")),
        None => cmd.stdin(Stdio::null()),
    };
    let mut child = cmd.spawn().expect("spawn");
    std::thread::sleep(delay);
    let finished = child.try_wait().expect("try_wait").is_some();
    let _ = child.kill();
    let _ = child.wait();
    finished
}

/// How long a command takes when left alone (the range kills are drawn from).
fn timed(w: &Workdir, args: &[&str], stdin: Option<&Path>) -> Duration {
    let mut cmd = w.command(args);
    cmd.stdout(Stdio::null());
    if let Some(path) = stdin {
        cmd.stdin(fs::File::open(path).expect("stdin file"));
    }
    let started = Instant::now();
    let status = cmd.status().expect("run");
    assert!(status.success(), "fkit {}", args.join(" "));
    started.elapsed()
}

const KILLS: u64 = 15;

/// Kill `args` (which replace `target` with `--force`) at random moments;
/// each time the target must hold either `old` or the whole of `new`.
fn check_replacement_survives_kills(
    w: &Workdir,
    args: &[&str],
    stdin: Option<&Path>,
    target: &str,
    old: &[u8],
    rng: &mut Rng,
) {
    w.write(target, old);
    let full_run = timed(w, args, stdin);
    let new = w.read(target);
    assert_ne!(new, old, "the test needs a change to see");
    let (mut olds, mut news) = (0, 0);
    for _ in 0..KILLS {
        w.write(target, old);
        let delay = Duration::from_micros(rng.below(full_run.as_micros() as u64 * 5 / 4));
        kill_after(w, args, stdin, delay);
        let now = w.read(target);
        if now == old {
            olds += 1;
        } else if now == new {
            news += 1;
        } else {
            panic!(
                "fkit {} killed after {delay:?}: {target} is neither the old file nor the new one ({} bytes)",
                args.join(" "),
                now.len()
            );
        }
    }
    eprintln!(
        "fkit {}: {olds} kills left the old file, {news} the new one",
        args.join(" ")
    );
}

#[test]
fn sigkill_leaves_the_old_target_or_the_whole_new_one() {
    let w = Workdir::new();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    w.write("big", text(8 << 20, 11));
    w.write("big.csv", csv(200_000, 12));
    w.write("big.json", json(100_000, 13));
    let old = b"the old content\n";
    check_replacement_survives_kills(
        &w,
        &["buffer", "big", "-o", "out", "--force"],
        None,
        "out",
        old,
        &mut rng,
    );
    check_replacement_survives_kills(
        &w,
        &["temp", "--soak", "out"],
        Some(&w.join("big")),
        "out",
        old,
        &mut rng,
    );
    check_replacement_survives_kills(
        &w,
        &["csv", "select", "2,1", "big.csv", "-o", "out", "-f"],
        None,
        "out",
        old,
        &mut rng,
    );
    check_replacement_survives_kills(
        &w,
        &["json", "min", "big.json", "-o", "out", "-f"],
        None,
        "out",
        old,
        &mut rng,
    );
    w.command(&["chunk", "split", "big", "-s", "1M", "-d", "parts", "-q"])
        .status()
        .expect("split");
    check_replacement_survives_kills(
        &w,
        &[
            "chunk",
            "join",
            "parts/big.manifest.json",
            "-o",
            "out",
            "-f",
            "-q",
        ],
        None,
        "out",
        old,
        &mut rng,
    );
}

#[test]
fn sigkill_during_gzip_never_loses_the_data() {
    let w = Workdir::new();
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    let plain = text(2 << 20, 14);
    for flag in ["--fast", "--bzip2"] {
        let suffix = if flag == "--bzip2" { "bz2" } else { "gz" };
        let packed = format!("data.{suffix}");
        let _ = fs::remove_file(w.join(&packed));
        w.write("data", &plain);
        let full_run = timed(&w, &["gzip", flag, "data"], None);
        let compressed = w.read(&packed);
        fs::remove_file(w.join(&packed)).expect("remove");
        w.write("data", &plain);
        let unpack_run = {
            w.write(&packed, &compressed);
            fs::remove_file(w.join("data")).expect("remove");
            let t = timed(&w, &["gzip", "-d", &packed], None);
            same(&w.read("data"), &plain, "gzip -d");
            t
        };
        for _ in 0..KILLS {
            // gzip FILE: FILE or a complete FILE.gz, always.
            let _ = fs::remove_file(w.join(&packed));
            w.write("data", &plain);
            let delay = Duration::from_micros(rng.below(full_run.as_micros() as u64 * 5 / 4));
            kill_after(&w, &["gzip", flag, "data"], None, delay);
            if w.exists("data") {
                same(
                    &w.read("data"),
                    &plain,
                    &format!("gzip {flag} killed: data"),
                );
            } else {
                // Whole: it decodes to the input (its header holds the
                // input's time, which differs from run to run).
                let decoded = w.run(&["gzip", "-dc", &packed]);
                assert_eq!(decoded.status, 0, "{}", decoded.stderr);
                same(
                    &decoded.stdout,
                    &plain,
                    &format!("gzip {flag} killed after {delay:?}: the input is gone and {packed}"),
                );
            }
            // gzip -d FILE.gz: FILE.gz or a complete FILE, always.
            let _ = fs::remove_file(w.join("data"));
            w.write(&packed, &compressed);
            let delay = Duration::from_micros(rng.below(unpack_run.as_micros() as u64 * 5 / 4));
            kill_after(&w, &["gzip", "-d", &packed], None, delay);
            if w.exists(&packed) {
                assert_eq!(
                    w.read(&packed),
                    compressed,
                    "gzip -d killed: {packed} changed"
                );
            } else {
                same(
                    &w.read("data"),
                    &plain,
                    &format!("gzip -d killed after {delay:?}: {packed} is gone and data"),
                );
            }
        }
    }
}

#[test]
fn sigkill_during_chunk_split_never_leaves_a_manifest_that_does_not_verify() {
    let w = Workdir::new();
    let mut rng = Rng(0x5eed_1234_abcd_0003);
    w.write("big", text(8 << 20, 15));
    let args = ["chunk", "split", "big", "-s", "1M", "-d", "parts", "-q"];
    let full_run = timed(&w, &args, None);
    for _ in 0..KILLS {
        let _ = fs::remove_dir_all(w.join("parts"));
        let delay = Duration::from_micros(rng.below(full_run.as_micros() as u64 * 5 / 4));
        kill_after(&w, &args, None, delay);
        if w.exists("parts/big.manifest.json") {
            let run = w.run(&["chunk", "join", "parts/big.manifest.json", "-q"]);
            assert_eq!(run.status, 0, "killed after {delay:?}: {}", run.stderr);
            same(
                &run.stdout,
                &w.read("big"),
                "chunk join after a killed split",
            );
        }
    }
}

/// A mapped input cut short by another process while fkit reads it ends
/// fkit with a message and status 1, not a crash, and its temporary
/// output is removed.
#[test]
fn a_mapped_input_truncated_mid_read_ends_with_a_message() {
    let w = Workdir::new();
    w.write("big", text(48 << 20, 16));
    let made = w
        .command(&["gzip", "--fast", "big"])
        .status()
        .expect("gzip");
    assert!(made.success());
    let packed = w.read("big.gz");
    let mut truncated_mid_read = 0;
    for delay_ms in [20u64, 50, 100, 200, 400] {
        w.write("big.gz", &packed);
        let child = w
            .command(&["gzip", "-d", "-p", "1", "big.gz"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        // Gone: gzip finished and removed it already.
        if let Ok(file) = fs::OpenOptions::new().write(true).open(w.join("big.gz")) {
            file.set_len(4096).expect("truncate");
        }
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            // It finished before the cut: nothing to learn from this run.
            let _ = fs::remove_file(w.join("big"));
            let _ = fs::remove_file(w.join("big.gz"));
            continue;
        }
        assert_eq!(
            out.status.code(),
            Some(1),
            "killed by a signal instead of ending with status 1: {:?} {stderr}",
            out.status
        );
        assert!(
            stderr.contains("big.gz") && stderr.contains("truncated"),
            "the message should name the file and say what happened: {stderr}"
        );
        let left: Vec<String> = w.list().into_iter().filter(|n| n != "big.gz").collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        truncated_mid_read += 1;
    }
    assert!(
        truncated_mid_read > 0,
        "every run finished before the truncation: make the input bigger"
    );
}

/// Run `script` under `sh` with a virtual memory limit (KiB) and at most
/// two malloc arenas (so that the limit measures data, not per-thread
/// reservations).
fn limited(w: &Workdir, limit_kib: u64, script: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {limit_kib} && {script}"))
        .env("FKIT", fkit_bin())
        .env("MALLOC_ARENA_MAX", "2")
        .current_dir(w.path())
        .output()
        .expect("sh")
}

/// Succeeded, or failed with status 1 and a message (no crash, no abort
/// from an allocation failure).
fn succeeded_or_failed_clearly(what: &str, out: &std::process::Output) -> bool {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return true;
    }
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: ended by a signal or an odd status: {:?} {stderr}",
        out.status
    );
    assert!(
        stderr.starts_with("fkit: ") && !stderr.contains("memory allocation"),
        "{what}: no clear message: {stderr}"
    );
    false
}

#[test]
fn a_csv_with_one_huge_field_stays_within_memory() {
    let w = Workdir::new();
    // 64 MiB in one quoted field (the 1 GiB, scaled to run in seconds).
    let mut data = b"id,blob,n\n1,\"".to_vec();
    data.extend(
        text(64 << 20, 17)
            .iter()
            .map(|b| if *b == b'\n' { b'x' } else { *b }),
    );
    data.extend(b"\",2\n2,small,3\n");
    w.write("huge.csv", &data);
    // Counting streams: memory must not follow the field.
    let out = limited(&w, 512 << 10, "\"$FKIT\" csv count huge.csv");
    assert!(
        succeeded_or_failed_clearly("csv count", &out),
        "csv count failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    // Selecting holds one record at a time: the field once or twice.
    let out = limited(
        &w,
        512 << 10,
        "\"$FKIT\" csv select n,id huge.csv -o picked.csv",
    );
    assert!(succeeded_or_failed_clearly("csv select", &out));
    assert_eq!(w.read("picked.csv"), b"n,id\n2,1\n3,2\n");
}

#[test]
fn a_json_string_of_huge_size_stays_within_memory() {
    let w = Workdir::new();
    let mut data = b"{\"big\":\"".to_vec();
    data.extend(
        text(64 << 20, 18)
            .iter()
            .map(|b| if *b == b'\n' { b'y' } else { *b }),
    );
    data.extend(b"\",\"n\":1}\n");
    w.write("huge.json", &data);
    for script in [
        "\"$FKIT\" json validate huge.json",
        "\"$FKIT\" json min huge.json -o min.json",
        "\"$FKIT\" json get .n huge.json",
    ] {
        let out = limited(&w, 512 << 10, script);
        assert!(
            succeeded_or_failed_clearly(script, &out),
            "{script}: failed under the limit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    same(&w.read("min.json"), &data, "json min");
}

/// One bzip2 stream, as GNU bzip2 -9 writes 45,000,000 bytes of `a`: a
/// single block that run-length coding lets expand 900,000 times, the most
/// bzip2 allows (50 bytes that decode to 45 MB).
const EXTREME_BLOCK: [u8; 50] = [
    0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x70, 0x76, 0x06, 0x3a, 0x01, 0x58,
    0xab, 0x01, 0x20, 0xa0, 0x00, 0x10, 0x00, 0x00, 0x08, 0x20, 0x00, 0x30, 0xcc, 0x05, 0x29, 0xa6,
    0x52, 0x48, 0x52, 0x6c, 0x54, 0x92, 0x14, 0x9e, 0x2e, 0xe4, 0x8a, 0x70, 0xa1, 0x20, 0xe0, 0xec,
    0x0c, 0x74,
];
const EXTREME_LEN: u64 = 45_000_000;

/// `copies` of the extreme block decoded at -p 16 under a 1 GiB limit:
/// the byte count fkit wrote, or the failure.
fn decode_extreme_blocks(copies: usize) -> (std::process::Output, u64) {
    let w = Workdir::new();
    w.write("runs.bz2", EXTREME_BLOCK.repeat(copies));
    let out = limited(&w, 1 << 20, "\"$FKIT\" gzip -d -c -p 16 runs.bz2 | wc -c");
    let count = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (out, count)
}

#[test]
fn bzip2_blocks_of_extreme_repetition_decode_within_memory_at_high_p() {
    let copies = 6;
    let (out, count) = decode_extreme_blocks(copies);
    assert!(
        out.status.success() && count == copies as u64 * EXTREME_LEN,
        "{copies} extreme blocks at -p 16 under 1 GiB: {count} bytes; {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// 40 extreme blocks at -p 16 under a 1 GiB limit: without a bound on
/// the decoded bytes in flight, 16 workers and the blocks queued behind
/// them held about 48 x 45 MB at once and the allocation aborted the
/// process (SIGABRT). The bzip2 decoder now holds at most 256 MiB of
/// decoded blocks beyond the one next in line (codec/bzip2's `InFlight`),
/// so this decodes within the limit.
#[test]
fn bzip2_extreme_blocks_at_high_p_stay_within_memory_or_fail_clearly() {
    let copies = 40;
    let (out, count) = decode_extreme_blocks(copies);
    // sh reports the pipeline's last status (wc's); fkit's own shows in
    // what it wrote and said.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let clear_failure = stderr.starts_with("fkit: ") && !stderr.contains("memory allocation");
    assert!(
        count == copies as u64 * EXTREME_LEN || clear_failure,
        "{count} bytes; {stderr}"
    );
}

/// An fkit gzip member's header: the FK extra field claims the member's
/// length and its uncompressed length; both are lies here.
fn member_claiming(member_len: u64, plain_len: u64, deflated: &[u8]) -> Vec<u8> {
    let mut m = vec![0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255];
    m.extend(12u16.to_le_bytes()); // XLEN
    m.extend(b"FK");
    m.extend(8u16.to_le_bytes());
    m.extend((member_len as u32).to_le_bytes());
    m.extend((plain_len as u32).to_le_bytes());
    m.extend(deflated);
    m
}

#[test]
fn a_gzip_index_that_claims_huge_members_fails_clearly() {
    let w = Workdir::new();
    // A stored deflate block of "hi" and a correct trailer.
    let deflated = [1u8, 2, 0, 0xfd, 0xff, b'h', b'i'];
    let crc = 0xd8932aac_u32; // crc32("hi")
    for (member_len, plain_len) in [
        (u32::MAX as u64, 2),
        (27, u32::MAX as u64),
        (u32::MAX as u64, u32::MAX as u64),
    ] {
        let mut file = member_claiming(member_len, plain_len, &deflated);
        file.extend(crc.to_le_bytes());
        file.extend(2u32.to_le_bytes());
        w.write("lies.gz", &file);
        for script in [
            "\"$FKIT\" gzip -d -c lies.gz",
            "cat lies.gz | \"$FKIT\" gzip -d -c",
            "\"$FKIT\" gzip -l lies.gz",
            "\"$FKIT\" gzip -t lies.gz",
        ] {
            let out = limited(&w, 512 << 10, script);
            let what = format!("{script} (claims {member_len}/{plain_len})");
            if succeeded_or_failed_clearly(&what, &out) && script.contains("-c") {
                assert_eq!(out.stdout, b"hi", "{what}");
            }
        }
    }
}

/// The fsync calls `args` makes (fsync, fdatasync, msync), counted by
/// strace; `None` when strace cannot trace here.
fn syncs(w: &Workdir, args: &[&str], stdin: &[u8]) -> Option<usize> {
    let log = w.join("strace.log");
    let mut cmd = Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=fsync,fdatasync,msync,sync_file_range",
        "-o",
    ])
    .arg(&log)
    .arg(fkit_bin())
    .args(args)
    .current_dir(w.path());
    let run = common::run_command(&mut cmd, stdin);
    if !log.exists() {
        return None;
    }
    assert_eq!(run.status, 0, "fkit {}: {}", args.join(" "), run.stderr);
    let text = fs::read_to_string(&log).expect("strace log");
    fs::remove_file(&log).expect("remove the log");
    Some(
        text.lines()
            // A call another thread interrupted shows as `<unfinished ...>`
            // and then `<... fsync resumed>`: count it once.
            .filter(|l| l.contains("resumed>") || l.contains("sync(") && !l.contains("<unfinished"))
            .count(),
    )
}

#[test]
fn the_sync_rule_syncs_only_when_old_data_goes_away() {
    if !common::have("strace") {
        eprintln!("skipped: strace is not installed");
        return;
    }
    let w = Workdir::new();
    w.write("in", text(100_000, 20));
    let Some(new_file) = syncs(&w, &["buffer", "in", "-o", "new"], b"") else {
        eprintln!("skipped: strace cannot trace here");
        return;
    };
    // Nothing goes away: no fsync, as cp and split do not.
    assert_eq!(
        new_file, 0,
        "a new file beside an input that stays was synced"
    );
    let kept = syncs(&w, &["gzip", "-k", "in"], b"").expect("traced");
    assert_eq!(kept, 0, "gzip -k synced");
    let split = syncs(
        &w,
        &["chunk", "split", "in", "-s", "16K", "-d", "parts", "-q"],
        b"",
    )
    .expect("traced");
    assert_eq!(split, 0, "new chunks were synced");
    // Old data goes away: the new file and its directory are synced first.
    for (what, args) in [
        (
            "replacing a file",
            &["buffer", "in", "-o", "new", "--force"][..],
        ),
        ("--sync", &["buffer", "in", "-o", "other", "--sync"][..]),
        ("gzip removing its input", &["gzip", "-f", "in"][..]),
        ("gzip -d removing its input", &["gzip", "-d", "in.gz"][..]),
        (
            "replacing chunks",
            &[
                "chunk", "split", "in", "-s", "16K", "-d", "parts", "-q", "-f",
            ][..],
        ),
    ] {
        let n = syncs(&w, args, b"").expect("traced");
        assert!(
            n >= 2,
            "{what}: {n} syncs, expected the file's and its directory's"
        );
    }
    let soaked = syncs(&w, &["temp", "--soak", "new"], b"new content\n").expect("traced");
    assert!(
        soaked >= 2,
        "temp --soak replaced a file with {soaked} syncs"
    );
    let patched = syncs(
        &w,
        &[
            "mmap", "patch", "new", "--offset", "0", "--data", "N", "--backup",
        ],
        b"",
    )
    .expect("traced");
    assert!(
        patched >= 3,
        "mmap patch --backup: {patched} syncs (backup, its directory, msync)"
    );
}
