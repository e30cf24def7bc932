mod common;

use common::{Workdir, pseudo_random, run_command};
use std::process::Command;
use std::time::Duration;

const SIZE: usize = 4096;

fn sizes() -> Vec<usize> {
    vec![0, 1, SIZE - 1, SIZE, SIZE + 1, 3 * 1024 * 1024 + 17]
}

#[test]
fn copies_files_byte_for_byte_at_every_boundary() {
    let wd = Workdir::new();
    for (i, len) in sizes().into_iter().enumerate() {
        let data = pseudo_random(len, i as u64);
        wd.write("in", &data);
        let out = format!("out{i}");
        wd.run(&["buffer", "-s", "4K", "in", "-o", &out]).ok();
        assert_eq!(wd.read(&out), data, "file copy of {len} bytes");
    }
}

#[test]
fn copies_pipes_byte_for_byte_direct_and_through_the_ring() {
    let wd = Workdir::new();
    for (i, len) in sizes().into_iter().enumerate() {
        let data = pseudo_random(len, 100 + i as u64);
        let direct = wd.run_stdin(&["buffer", "-s", "4K"], &data).ok();
        assert_eq!(direct.stdout, data, "pipe copy of {len} bytes");
        let ring = wd
            .run_stdin(&["buffer", "-s", "4K", "--ring", "64K", "-"], &data)
            .ok();
        assert_eq!(ring.stdout, data, "ring copy of {len} bytes");
    }
}

#[test]
fn stats_count_reads_and_writes_of_the_chosen_size() {
    let wd = Workdir::new();
    wd.write("in", pseudo_random(10 * 1024, 7));
    let run = wd
        .run(&["buffer", "-s", "1K", "--stats", "--json", "in"])
        .ok();
    let stats: serde_json::Value = serde_json::from_str(run.stderr.trim()).expect("stats JSON");
    assert_eq!(stats["bytes"], 10240);
    assert_eq!(stats["buffer_size"], 1024);
    assert_eq!(stats["writes"], 10);
    assert_eq!(stats["reads"], 11, "ten full reads and one at end of file");
    assert_eq!(run.stdout.len(), 10240);

    let ring = wd
        .run(&[
            "buffer", "-s", "1K", "--ring", "8K", "--stats", "--json", "in",
        ])
        .ok();
    let stats: serde_json::Value = serde_json::from_str(ring.stderr.trim()).expect("ring JSON");
    assert_eq!(stats["ring"]["bytes"], 8192);
    assert!(stats["ring"]["empty"].is_u64() && stats["ring"]["full"].is_u64());
}

#[test]
fn refuses_to_overwrite_without_force_and_keeps_permissions_with_it() {
    let wd = Workdir::new();
    wd.write("in", "new content\n");
    wd.write("out", "old content\n");
    let run = wd.run(&["buffer", "in", "-o", "out"]).code(1);
    assert!(
        run.stderr.contains("fkit: buffer: out: already exists"),
        "{}",
        run.stderr
    );
    assert_eq!(wd.read("out"), b"old content\n");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(wd.join("out"), std::fs::Permissions::from_mode(0o640)).unwrap();
        wd.run(&["buffer", "in", "-o", "out", "--force"]).ok();
        assert_eq!(wd.read("out"), b"new content\n");
        let mode = std::fs::metadata(wd.join("out"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    assert_eq!(
        wd.list(),
        vec!["in", "out"],
        "no temporary file left behind"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_failing_copy_leaves_no_partial_output_and_the_old_file_intact() {
    let wd = Workdir::new();
    wd.write("out", "precious\n");
    // Reading /proc/self/mem at offset 0 fails with an I/O error after the
    // output was opened.
    let run = wd
        .run(&["buffer", "/proc/self/mem", "-o", "out", "--force"])
        .code(1);
    assert!(
        run.stderr.starts_with("fkit: buffer: /proc/self/mem: "),
        "{}",
        run.stderr
    );
    assert_eq!(wd.read("out"), b"precious\n");
    assert_eq!(wd.list(), vec!["out"]);
}

#[cfg(unix)]
#[test]
fn ctrl_c_removes_the_temporary_output_and_exits_130() {
    use common::Background;
    use std::process::Stdio;
    let wd = Workdir::new();
    wd.write("out", "precious\n");
    let mut child = Background::spawn(
        wd.command(&["buffer", "--rate", "1K", "-o", "out", "--force"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, &[b'x'; 4096]).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        wd.list().iter().any(|n| n.ends_with(".fkit-tmp")),
        "the temporary output exists while copying: {:?}",
        wd.list()
    );
    // SAFETY: kill(2) on our own child; no memory is involved.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(wd.read("out"), b"precious\n");
    assert_eq!(wd.list(), vec!["out"]);
}

#[test]
fn bad_sizes_are_usage_errors() {
    let wd = Workdir::new();
    let run = wd.run(&["buffer", "-s", "12Q"]).code(2);
    assert!(
        run.stderr.contains(
            "fkit: buffer: invalid value '12Q' for '--size <SIZE>': invalid size \"12Q\""
        ),
        "{}",
        run.stderr
    );
    wd.run(&["buffer", "--ring", "lots"]).code(2);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let wd = Workdir::new();
    wd.write("big", pseudo_random(8 * 1024 * 1024, 3));
    let out = wd.run_into_closed_pipe(&["buffer", "big"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn missing_input_names_the_file() {
    let wd = Workdir::new();
    let run = wd.run(&["buffer", "nope"]).code(1);
    assert!(
        run.stderr.starts_with("fkit: buffer: nope: "),
        "{}",
        run.stderr
    );
}

#[test]
fn rate_limit_slows_the_copy() {
    let wd = Workdir::new();
    wd.write("in", vec![b'a'; 20 * 1024]);
    let started = std::time::Instant::now();
    let run = wd.run(&["buffer", "--rate", "40K", "in"]).ok();
    assert_eq!(run.stdout.len(), 20 * 1024);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn bench_reports_every_size_from_512_bytes_to_16m() {
    let wd = Workdir::new();
    wd.write("in", pseudo_random(64 * 1024, 9));
    let run = wd.run(&["buffer", "--bench", "in", "--json"]).ok();
    let rows: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 16);
    assert_eq!(rows[0]["buffer_size"], 512);
    assert_eq!(rows[0]["reads"], 129);
    assert_eq!(rows[15]["buffer_size"], 16 << 20);
    assert!(rows.iter().all(|r| r["bytes"] == 65536));
    let text = wd.run(&["buffer", "--bench", "in"]).ok().stdout_str();
    assert!(
        text.contains("512 B") && text.contains("16.0 MiB"),
        "{text}"
    );
}

#[test]
fn help_has_examples() {
    let wd = Workdir::new();
    let help = wd.run(&["buffer", "--help"]).ok().stdout_str();
    assert!(
        help.contains("Examples:") && help.contains("fkit buffer -s 1M"),
        "{help}"
    );
    let mut cmd = Command::new(common::fkit_bin());
    cmd.args(["temp", "--help"]);
    let temp = run_command(&mut cmd, b"").ok().stdout_str();
    assert!(
        temp.contains("Examples:") && temp.contains("--soak"),
        "{temp}"
    );
}

#[test]
fn help_examples_with_dd_comments_copy_what_dd_copies() {
    let wd = Workdir::new();
    let help = wd.run(&["buffer", "--help"]).ok().stdout_str();
    // Sparse but for 1 MiB of data at 128M, where `--skip 128` lands.
    wd.write("mid", pseudo_random(1 << 20, 31));
    let made = wd.sh(
        "truncate -s 130M big.log && dd if=mid of=big.log bs=1M seek=128 conv=notrunc status=none",
    );
    assert!(made.status.success());
    wd.write("disk.img", pseudo_random(64 << 10, 32));
    let mut checked = 0;
    for line in help.lines().map(str::trim) {
        // Examples that read a file to stdout, commented with dd's operands.
        let Some((ours, theirs)) = line.split_once("# dd ") else {
            continue;
        };
        let Some(ours) = ours.trim().strip_prefix("fkit buffer ") else {
            continue;
        };
        let ours = ours.split_once(" >").map_or(ours, |(cmd, _)| cmd);
        if ours.contains(" -o ") || theirs.contains("conv=") {
            continue;
        }
        let file = ours.split_whitespace().last().unwrap();
        let mut dd = format!("dd if={file} status=none");
        for op in theirs.split_whitespace() {
            dd.push(' ');
            dd.push_str(op);
        }
        // The example's skip/count values in dd's spelling.
        let value = |flag: &str| {
            let words: Vec<&str> = ours.split_whitespace().collect();
            words
                .iter()
                .position(|w| *w == flag)
                .map(|i| words[i + 1].trim_end_matches('c').to_string())
        };
        if !theirs.contains("skip=") {
            for (flag, op) in [("--skip", "skip"), ("--count", "count")] {
                if let Some(v) = value(flag) {
                    dd.push_str(&format!(" {op}={v}"));
                }
            }
        }
        let want = wd.sh(&dd);
        assert!(want.status.success(), "{dd}");
        let args: Vec<&str> = ours.split_whitespace().collect();
        let got = wd.run(&[&["buffer", "-q"], &args[..]].concat()).ok();
        assert!(!want.stdout.is_empty(), "{dd}");
        assert_eq!(got.stdout, want.stdout, "{line}");
        checked += 1;
    }
    assert!(checked >= 2, "{help}");
}

#[cfg(unix)]
#[test]
fn a_device_output_is_written_in_place_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let wd = Workdir::new();
    wd.write("in", "data\n");
    wd.run(&["buffer", "in", "-o", "/dev/null"]).ok();
    wd.run(&["buffer", "in", "-o", "/dev/null", "--force"]).ok();
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "/dev/null is still a device"
    );
}

#[cfg(unix)]
#[test]
fn force_through_a_symlink_replaces_its_target_and_keeps_the_link() {
    let wd = Workdir::new();
    wd.write("in", "new\n");
    wd.write("real", "old\n");
    std::os::unix::fs::symlink("real", wd.join("link")).unwrap();
    wd.run(&["buffer", "in", "-o", "link"]).code(1);
    wd.run(&["buffer", "in", "-o", "link", "--force"]).ok();
    assert_eq!(wd.read("real"), b"new\n");
    assert!(
        std::fs::symlink_metadata(wd.join("link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

fn dd_peer(wd: &Workdir, script: &str) -> Vec<u8> {
    wd.sh(script).stdout
}

#[test]
fn skip_seek_count_agree_with_dd() {
    let wd = Workdir::new();
    let data = pseudo_random(300_000, 21);
    wd.write("in", &data);
    // Blocks of -s, and bytes with a unit (dd's iflag=skip_bytes,count_bytes).
    for (ours, theirs) in [
        ("-s 4K --skip 3 --count 5", "bs=4K skip=3 count=5"),
        ("-s 1000 --skip 299 --count 9", "bs=1000 skip=299 count=9"),
        (
            "-s 4K --skip 10000c --count 7K",
            "bs=4K iflag=skip_bytes,count_bytes skip=10000 count=7K",
        ),
        ("-s 512 --skip 1M", "bs=512 iflag=skip_bytes skip=1M"),
        ("-s 64K --count 0", "bs=64K count=0"),
        ("-s 7 --skip 2 --count 3", "bs=7 skip=2 count=3"),
    ] {
        let want = dd_peer(&wd, &format!("dd if=in {theirs} status=none"));
        let args: Vec<&str> = ours.split_whitespace().collect();
        let file = wd.run(&[&["buffer", "in"], &args[..]].concat()).ok();
        assert_eq!(file.stdout, want, "file: {ours}");
        let pipe = wd.sh(&format!("cat in | \"$FKIT\" buffer {ours}"));
        assert_eq!(pipe.stdout, want, "pipe: {ours}");
        let ring = wd.sh(&format!("cat in | \"$FKIT\" buffer --ring 64K {ours}"));
        assert_eq!(ring.stdout, want, "ring: {ours}");
    }
    // Stdin on a file is left just after what was read, as dd leaves it.
    let rest = wd.sh("{ \"$FKIT\" buffer -s 1000 --count 3 > /dev/null; wc -c; } < in");
    assert_eq!(
        String::from_utf8_lossy(&rest.stdout).trim(),
        (300_000 - 3000).to_string()
    );
    // --seek keeps the start of OUTPUT, --no-truncate its end; --append
    // writes after it. Each against dd on a copy of the same file.
    wd.write("piece", pseudo_random(5000, 22));
    for (ours, theirs) in [
        ("-s 1K --seek 3 --no-truncate", "bs=1K seek=3 conv=notrunc"),
        ("-s 1K --seek 3", "bs=1K seek=3"),
        ("-s 1K --seek 400", "bs=1K seek=400"),
        ("-s 1K --no-truncate", "bs=1K conv=notrunc"),
        (
            "-s 100 --seek 10000c --no-truncate",
            "bs=100 oflag=seek_bytes seek=10000 conv=notrunc",
        ),
        ("--append", "oflag=append conv=notrunc"),
        // O_APPEND writes at the end: dd's seek= changes nothing.
        (
            "-s 1K --seek 3 --append",
            "bs=1K seek=3 oflag=append conv=notrunc",
        ),
    ] {
        wd.write("ours", &data[..200_000]);
        wd.write("theirs", &data[..200_000]);
        let args: Vec<&str> = ours.split_whitespace().collect();
        wd.run(&[&["buffer", "piece", "-o", "ours"], &args[..]].concat())
            .ok();
        wd.sh(&format!("dd if=piece of=theirs {theirs} status=none"));
        assert_eq!(wd.read("ours"), wd.read("theirs"), "{ours}");
    }
}

#[test]
fn skip_reads_through_a_file_whose_size_says_zero() {
    // procfs files are regular files of "0 bytes" that hold more; dd
    // skips into them.
    if !std::path::Path::new("/proc/version").exists() {
        eprintln!("skipped: no /proc");
        return;
    }
    let wd = Workdir::new();
    let run = wd.sh(
        "dd if=/proc/version bs=1 skip=3 count=9 iflag=skip_bytes,count_bytes status=none > theirs; \
         \"$FKIT\" buffer --skip 3c --count 9c /proc/version > ours",
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(wd.read("theirs").len(), 9);
    assert_eq!(wd.read("ours"), wd.read("theirs"));
}

#[test]
fn sparse_output_has_holes_like_dd_conv_sparse() {
    let wd = Workdir::new();
    let mut data = vec![0u8; 4 << 20];
    data[1 << 20..(1 << 20) + 10].copy_from_slice(b"not zeros!");
    data.extend_from_slice(&[0u8; 1 << 20]);
    wd.write("in", &data);
    wd.run(&["buffer", "--sparse", "-s", "64K", "in", "-o", "ours"])
        .ok();
    wd.sh("dd if=in of=theirs bs=64K conv=sparse status=none");
    assert_eq!(wd.read("ours"), data);
    assert_eq!(wd.read("theirs"), data);
    let blocks = |f: &str| -> u64 {
        String::from_utf8_lossy(&wd.sh(&format!("stat -c %b {f}")).stdout)
            .trim()
            .parse()
            .unwrap()
    };
    // On a file system with holes, both take about one block of 64K.
    let full = (data.len() / 512) as u64;
    if blocks("theirs") < full / 2 {
        assert!(
            blocks("ours") < full / 2,
            "ours {} theirs {}",
            blocks("ours"),
            blocks("theirs")
        );
    }
}

#[test]
fn several_inputs_are_concatenated() {
    let wd = Workdir::new();
    wd.write("a", pseudo_random(10_000, 1));
    wd.write("b", b"");
    wd.write("c", pseudo_random(777, 2));
    let want = wd.sh("cat a b c a").stdout;
    assert_eq!(
        wd.run(&["buffer", "-s", "4K", "a", "b", "c", "a"])
            .ok()
            .stdout,
        want
    );
    let run = wd.run_stdin(&["buffer", "a", "-", "c"], b"middle");
    let want = wd.sh("printf middle | cat a - c").stdout;
    assert_eq!(run.ok().stdout, want);
    // --skip and --count run across the joins.
    let want = wd
        .sh("cat a b c | dd bs=1 iflag=skip_bytes skip=9990 count=30 status=none")
        .stdout;
    let run = wd.run(&["buffer", "a", "b", "c", "--skip", "9990c", "--count", "30c"]);
    assert_eq!(run.ok().stdout, want);
    wd.run(&["buffer", "a", "missing"]).code(1);
}

#[test]
fn pv_numeric_names_lines_and_forced_progress() {
    let wd = Workdir::new();
    let data = pseudo_random(3_000_000, 5);
    wd.write("in", &data);
    // pv -n: the percentage at the end (of a file's size, or --total).
    let run = wd.run(&["buffer", "-n", "in"]).ok();
    assert_eq!(run.stdout, data);
    assert_eq!(run.stderr, "100\n");
    let run = wd.sh("cat in | \"$FKIT\" buffer -n --total 6000000 > /dev/null");
    assert_eq!(String::from_utf8_lossy(&run.stderr), "50\n");
    if common::have("pv") {
        assert_eq!(wd.sh("pv -n in 2>&1 >/dev/null").stdout, b"100\n");
        assert_eq!(
            wd.sh("cat in | pv -n -s 6000000 2>&1 >/dev/null").stdout,
            b"50\n"
        );
    }
    // Without a total: the count, in lines with -l.
    let lines = data.iter().filter(|&&b| b == b'\n').count();
    let run = wd.sh("cat in | \"$FKIT\" buffer -n -l > /dev/null");
    assert_eq!(String::from_utf8_lossy(&run.stderr), format!("{lines}\n"));
    // pv -f -N: the named bar on a stderr that is no terminal.
    let run = wd
        .run(&["buffer", "--force-progress", "-N", "backup", "in"])
        .ok();
    assert!(run.stderr.contains("backup: "), "{}", run.stderr);
    assert!(run.stderr.contains("2.86 MiB/2.86 MiB"), "{}", run.stderr);
    // --quiet wins.
    let run = wd
        .run(&["buffer", "-q", "-n", "--force-progress", "in"])
        .ok();
    assert_eq!(run.stderr, "");
}

#[test]
fn pv_numeric_prints_once_a_second_on_a_slow_pipe() {
    let wd = Workdir::new();
    wd.write("in", pseudo_random(1_000_000, 9));
    // Three blocks, 1.5 s apart: a line after each pause, as pv -n prints
    // one a second, not only the last.
    let run = wd.sh("(cat in; sleep 1.5; cat in; sleep 1.5; cat in) \
         | \"$FKIT\" buffer -n --total 3000000 > /dev/null");
    let lines = String::from_utf8_lossy(&run.stderr).into_owned();
    let numbers: Vec<u64> = lines.lines().map(|l| l.parse().unwrap()).collect();
    assert!(numbers.len() >= 3, "{lines}");
    assert_eq!(numbers.last(), Some(&100), "{lines}");
    assert!(numbers[0] < 100, "{lines}");
}

#[test]
fn sigusr1_prints_dd_statistics_so_far() {
    use common::Background;
    use std::io::Write;
    let wd = Workdir::new();
    let data = pseudo_random(10_000, 9);
    wd.write("in", &data);
    let mut child = Background::spawn(
        wd.command(&["buffer", "-s", "4096"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped()),
    );
    child.stdin.as_mut().unwrap().write_all(&data).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let pid = child.id().to_string();
    Command::new("kill").args(["-USR1", &pid]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(child.stdin.take());
    let out = child.wait_with_output();
    assert!(out.status.success());
    let ours = String::from_utf8_lossy(&out.stderr).into_owned();
    // dd's own report of the same copy, up to the timing.
    let theirs =
        String::from_utf8_lossy(&wd.sh("dd if=in of=/dev/null bs=4096 2>&1").stdout).into_owned();
    let head = |s: &str| s.split(" copied").next().unwrap().to_string();
    assert_eq!(head(&ours), head(&theirs), "ours:\n{ours}theirs:\n{theirs}");
    assert!(ours.ends_with("B/s\n"), "{ours}");
}
