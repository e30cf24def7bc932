//! `fkit json query`: the jq language with jq's options, read like the
//! shell sessions a jq user would type.

mod common;

use common::Workdir;

fn query(wd: &Workdir, args: &[&str], stdin: &str) -> common::Run {
    let mut all = vec!["json", "query"];
    all.extend_from_slice(args);
    wd.run_stdin(&all, stdin)
}

fn out(wd: &Workdir, args: &[&str], stdin: &str) -> String {
    query(wd, args, stdin).ok().stdout_str()
}

#[test]
fn help_examples_run() {
    let wd = Workdir::new();
    wd.write(
        "events.json",
        r#"[{"id":1,"status":"error","msg":"disk"},{"id":2,"status":"ok","msg":"-"}]"#,
    );
    wd.write(
        "users.json",
        r#"{"users":[{"name":"alice","email":"a@x"},{"name":"bob","email":"b@x"}]}"#,
    );
    wd.write("orders.json", r#"[{"price":2},{"price":3.5}]"#);
    wd.write("events.ndjson", "{\"score\":60}\n{\"score\":10}\n");
    assert_eq!(
        out(
            &wd,
            &[
                "-c",
                r#".[] | select(.status == "error") | {id, msg}"#,
                "events.json"
            ],
            ""
        ),
        "{\"id\":1,\"msg\":\"disk\"}\n"
    );
    assert_eq!(
        out(&wd, &["-r", ".users[].email", "users.json"], ""),
        "a@x\nb@x\n"
    );
    assert_eq!(
        out(&wd, &["-c", "select(.score > 50)", "events.ndjson"], ""),
        "{\"score\":60}\n"
    );
    assert_eq!(out(&wd, &["map(.price) | add", "orders.json"], ""), "5.5\n");
    wd.write("big.json", r#"[{"score":60},{"score":10},{"score":51}]"#);
    assert_eq!(
        out(&wd, &["map(select(.score > 50)) | length", "big.json"], ""),
        "2\n"
    );
    assert_eq!(
        out(
            &wd,
            &[
                "--arg",
                "user",
                "alice",
                "-c",
                ".users[] | select(.name == $user)",
                "users.json"
            ],
            ""
        ),
        "{\"name\":\"alice\",\"email\":\"a@x\"}\n"
    );
    assert_eq!(
        out(&wd, &["-n", "[inputs[] | .price] | add", "orders.json"], ""),
        "5.5\n"
    );
    assert_eq!(out(&wd, &["-n", "--", "-1 | abs"], ""), "1\n");
}

#[test]
fn layout_options_are_jqs() {
    let wd = Workdir::new();
    let doc = r#"{"b":[1,{"c":"é"}],"a":null}"#;
    assert_eq!(
        out(&wd, &["."], doc),
        "{\n  \"b\": [\n    1,\n    {\n      \"c\": \"é\"\n    }\n  ],\n  \"a\": null\n}\n"
    );
    assert_eq!(
        out(&wd, &["-c", "."], doc),
        "{\"b\":[1,{\"c\":\"é\"}],\"a\":null}\n"
    );
    assert_eq!(
        out(&wd, &["-cS", "."], doc),
        "{\"a\":null,\"b\":[1,{\"c\":\"é\"}]}\n"
    );
    assert_eq!(
        out(&wd, &["-ca", "."], doc),
        "{\"b\":[1,{\"c\":\"\\u00e9\"}],\"a\":null}\n"
    );
    assert_eq!(
        out(&wd, &["--tab", ".b"], doc),
        "[\n\t1,\n\t{\n\t\t\"c\": \"é\"\n\t}\n]\n"
    );
    assert_eq!(
        out(&wd, &["--indent", "1", ".b[1]"], doc),
        "{\n \"c\": \"é\"\n}\n"
    );
    assert_eq!(
        out(&wd, &["--indent", "0", ".b"], doc),
        "[1,{\"c\":\"é\"}]\n"
    );
    assert_eq!(
        out(&wd, &["-r", ".b[1].c, .b"], doc),
        "é\n[\n  1,\n  {\n    \"c\": \"é\"\n  }\n]\n"
    );
    assert_eq!(out(&wd, &["-j", ".b[1].c, .b[0]"], doc), "é1");
    assert_eq!(out(&wd, &["-c", "--seq", ".a"], doc), "\u{1e}null\n");
    // Colours when asked (jq's defaults): keys blue, strings green.
    let coloured = out(&wd, &["-C", "-c", ".b[1]"], doc);
    assert!(coloured.contains("\x1b[34;1m\"c\"\x1b[0m"), "{coloured:?}");
    assert!(coloured.contains("\x1b[0;32m\"é\"\x1b[0m"), "{coloured:?}");
    assert_eq!(out(&wd, &["-M", "-c", ".b[1]"], doc), "{\"c\":\"é\"}\n");
    // --indent is jq's 0 to 7.
    assert_eq!(query(&wd, &["--indent", "8", "."], doc).status, 2);
}

#[test]
fn numbers_keys_and_computed_values() {
    let wd = Workdir::new();
    let doc = r#"{"big": 12345678901234567890, "huge": 1e400, "tiny": 0.10000000000000000001, "z": 1, "a": 2}"#;
    assert_eq!(
        out(&wd, &["-c", "."], doc),
        "{\"big\":12345678901234567890,\"huge\":1e400,\"tiny\":0.10000000000000000001,\"z\":1,\"a\":2}\n"
    );
    assert_eq!(
        out(&wd, &["-c", "[.z / 2, .a * 1.5, 1 / 3, 1e300 * 1e10]"], doc),
        "[0.5,3,0.3333333333333333,1.7976931348623157e+308]\n"
    );
    assert_eq!(
        out(&wd, &["-c", "keys_unsorted"], doc),
        "[\"big\",\"huge\",\"tiny\",\"z\",\"a\"]\n"
    );
}

#[test]
fn inputs_are_read_as_jq_reads_them() {
    let wd = Workdir::new();
    // Whitespace-separated values, NDJSON, several files in order, a BOM.
    assert_eq!(
        out(&wd, &["-c", ".a"], "{\"a\":1} {\"a\":2}\n{\"a\":3}\n"),
        "1\n2\n3\n"
    );
    wd.write("one.json", "\u{feff}{\"n\":1}\n");
    wd.write("two.ndjson", "{\"n\":2}\n{\"n\":3}\n");
    assert_eq!(out(&wd, &[".n", "one.json", "two.ndjson"], ""), "1\n2\n3\n");
    assert_eq!(
        out(&wd, &["-c", "-s", "map(.n)", "one.json", "two.ndjson"], ""),
        "[1,2,3]\n"
    );
    assert_eq!(
        out(
            &wd,
            &["-n", "[inputs.n] | add", "one.json", "two.ndjson"],
            ""
        ),
        "6\n"
    );
    assert_eq!(
        out(&wd, &["-n", "input.n", "one.json", "two.ndjson"], ""),
        "1\n"
    );
    assert_eq!(
        out(&wd, &["input_filename", "one.json"], ""),
        "\"one.json\"\n"
    );
    // Raw input: lines as strings, or the whole text with -s.
    assert_eq!(out(&wd, &["-R", "length"], "ab\nc\n"), "2\n1\n");
    assert_eq!(out(&wd, &["-Rs", "."], "ab\nc\n"), "\"ab\\nc\\n\"\n");
    assert_eq!(
        out(&wd, &["-nR", "[inputs]", "-c"], "ab\nc\n"),
        "[\"ab\",\"c\"]\n"
    );
}

#[test]
fn compressed_input_is_decoded() {
    let wd = Workdir::new();
    if !common::have("gzip") {
        eprintln!("skipped: no gzip");
        return;
    }
    wd.write("data.json", "[{\"id\":1},{\"id\":2}]");
    let made = wd.sh("gzip -k data.json");
    assert!(made.status.success());
    assert_eq!(out(&wd, &[".[].id", "data.json.gz"], ""), "1\n2\n");
    assert_eq!(out(&wd, &["length", "data.json.gz"], ""), "2\n");
}

#[test]
fn variables_and_arguments() {
    let wd = Workdir::new();
    wd.write("values.json", "1 2 3");
    wd.write("note.txt", "hello\n");
    wd.write("prog.jq", "# a comment\n[$n, $j.k]");
    assert_eq!(
        out(
            &wd,
            &[
                "-nc",
                "--arg",
                "n",
                "5",
                "--argjson",
                "j",
                "{\"k\":[1]}",
                "[$n, $j, $ARGS.named]"
            ],
            ""
        ),
        "[\"5\",{\"k\":[1]},{\"n\":\"5\",\"j\":{\"k\":[1]}}]\n"
    );
    assert_eq!(
        out(
            &wd,
            &[
                "-nc",
                "--slurpfile",
                "v",
                "values.json",
                "--rawfile",
                "t",
                "note.txt",
                "[$v, $t]"
            ],
            ""
        ),
        "[[1,2,3],\"hello\\n\"]\n"
    );
    assert_eq!(
        out(&wd, &["-nc", "$ARGS.positional", "--args", "a", "b"], ""),
        "[\"a\",\"b\"]\n"
    );
    assert_eq!(
        out(
            &wd,
            &["-nc", "$ARGS.positional", "--jsonargs", "1", "{}"],
            ""
        ),
        "[1,{}]\n"
    );
    assert_eq!(
        out(
            &wd,
            &[
                "-nc",
                "-f",
                "prog.jq",
                "--arg",
                "n",
                "x",
                "--argjson",
                "j",
                "{\"k\":2}"
            ],
            ""
        ),
        "[\"x\",2]\n"
    );
    let mut cmd = wd.command(&[
        "json",
        "query",
        "-n",
        "$ENV.FKIT_TEST_VAR, env.FKIT_TEST_VAR",
    ]);
    cmd.env("FKIT_TEST_VAR", "here");
    let run = common::run_command(&mut cmd, b"").ok();
    assert_eq!(run.stdout_str(), "\"here\"\n\"here\"\n");
    // A bad --argjson is a usage error.
    assert_eq!(
        query(&wd, &["-n", "--argjson", "x", "{", "$x"], "").status,
        2
    );
}

#[test]
fn jq_assignment_rules() {
    let wd = Workdir::new();
    assert_eq!(out(&wd, &["-c", ".a.b = 1"], "{}"), "{\"a\":{\"b\":1}}\n");
    assert_eq!(
        out(&wd, &["-c", ".[4] = 1"], "[1]"),
        "[1,null,null,null,1]\n"
    );
    assert_eq!(
        out(&wd, &["-c", ".n += 1 | .m //= 2"], "{\"n\":1}"),
        "{\"n\":2,\"m\":2}\n"
    );
    assert_eq!(out(&wd, &["-c", "del(.[0, 2])"], "[1,2,3]"), "[2]\n");
    assert_eq!(
        out(
            &wd,
            &["-c", "[.[] | .x |= . * 10]"],
            "[{\"x\":1},{\"x\":2}]"
        ),
        "[{\"x\":10},{\"x\":20}]\n"
    );
}

#[test]
fn errors_and_exit_codes_are_jqs() {
    let wd = Workdir::new();
    // Compile error: 3, with the position and a caret.
    let run = query(&wd, &[".a | map(", "-n"], "");
    assert_eq!(run.status, 3);
    assert!(run.stderr.contains("1:10: syntax error"), "{}", run.stderr);
    assert!(
        run.stderr.contains("\n    .a | map(\n             ^"),
        "{}",
        run.stderr
    );
    let run = query(&wd, &["-n", "nosuch(1)"], "");
    assert_eq!(run.status, 3);
    assert!(
        run.stderr.contains("nosuch/1 is not defined"),
        "{}",
        run.stderr
    );
    // Runtime error: 5, naming FILE:LINE; the other inputs still run.
    wd.write("in.ndjson", "{\"a\":1}\n\"x\"\n{\"a\":3}\n");
    let run = query(&wd, &[".a", "in.ndjson"], "");
    assert_eq!(run.status, 5);
    assert_eq!(run.stdout_str(), "1\n3\n");
    assert!(
        run.stderr.contains("error (at in.ndjson:2)"),
        "{}",
        run.stderr
    );
    assert_eq!(query(&wd, &["-n", "error(\"boom\")"], "").status, 5);
    // Input that is not JSON: 2, with its position.
    let run = query(&wd, &["."], "{\"a\":1}\n{\"a\": tru}\n");
    assert_eq!(run.status, 2);
    assert_eq!(run.stdout_str(), "{\n  \"a\": 1\n}\n");
    assert!(run.stderr.contains("<stdin>:2:"), "{}", run.stderr);
    wd.write("bad.json", b"[\"ok\", \"\xff\"]".as_slice());
    let run = query(&wd, &[".", "bad.json"], "");
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("bad.json:1:") && run.stderr.contains("UTF-8"),
        "{}",
        run.stderr
    );
    // -e: 1 when the last output is false or null, 4 when there is none.
    assert_eq!(query(&wd, &["-e", ".a"], "{\"a\":true}").status, 0);
    assert_eq!(query(&wd, &["-e", ".a"], "{\"a\":null}").status, 1);
    assert_eq!(query(&wd, &["-e", "empty"], "{}").status, 4);
    // halt_error: the message on stderr, its exit code.
    let run = query(&wd, &["-n", "\"bye\\n\" | halt_error(3)"], "");
    assert_eq!(run.status, 3);
    assert!(run.stderr.contains("bye"), "{}", run.stderr);
    // A missing file: 2.
    assert_eq!(query(&wd, &[".", "nosuch.json"], "").status, 2);
    // … and the files after it are still read.
    wd.write("ok.json", "7");
    let run = query(&wd, &[".", "ok.json", "nosuch.json", "ok.json"], "");
    assert_eq!((run.status, run.stdout_str().as_str()), (2, "7\n7\n"));
}

#[test]
fn in_place_rewrites_atomically_and_keeps_permissions() {
    let wd = Workdir::new();
    let path = wd.write("package.json", "{\"version\":\"1.0\",\"name\":\"x\"}\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    query(&wd, &["-i", "-c", ".version = \"2.0\"", "package.json"], "").ok();
    assert!(path.is_file());
    assert_eq!(
        wd.read("package.json"),
        b"{\"version\":\"2.0\",\"name\":\"x\"}\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    // A failing filter leaves the file as it was.
    let run = query(&wd, &["-i", ".version | error", "package.json"], "");
    assert_eq!(run.status, 5);
    assert_eq!(
        wd.read("package.json"),
        b"{\"version\":\"2.0\",\"name\":\"x\"}\n"
    );
    assert_eq!(wd.list(), ["package.json"]);
}

#[test]
fn streams_keep_input_order_across_cores() {
    let wd = Workdir::new();
    let lines: String = (0..20_000).map(|i| format!("{{\"i\":{i}}}\n")).collect();
    let want: String = (0..20_000).map(|i| format!("{}\n", i * 2)).collect();
    assert_eq!(out(&wd, &[".i * 2"], &lines), want);
    let array = format!(
        "[{}]",
        (0..20_000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(out(&wd, &[".[] | . * 2"], &array), want);
    let object = format!("{{\"items\":{array},\"other\":1}}");
    assert_eq!(out(&wd, &[".items[] | . * 2"], &object), want);
    // Where the path is not an array, the whole filter runs, as jq would.
    let run = query(&wd, &[".items[]"], "{\"other\":1}");
    assert_eq!(run.status, 5);
    assert!(run.stderr.contains("null"), "{}", run.stderr);
    assert_eq!(
        out(&wd, &["-c", ".items[]"], "{\"items\":{\"a\":[1]}}"),
        "[1]\n"
    );
}

/// `map(F) | G` and `[.[] | F] | G` run F on each element as the array
/// streams by, and G on F's outputs: the results, errors and exit codes are
/// those of the same filter written so that it is not planned.
#[test]
fn map_filters_stream_and_match_the_whole_document() {
    let wd = Workdir::new();
    let big = format!(
        "[{}]",
        (0..5000)
            .map(|i| format!("{{\"i\":{i},\"s\":{},\"t\":\"x{i}\"}}", i % 100))
            .collect::<Vec<_>>()
            .join(",")
    );
    let exact = "[12345678901234567890, 1e400, 0.10000000000000000001, 1.50]";
    let several = "[1,2]\n{\"a\":3,\"b\":4}\n[4, {\"x\":1}, 5]\n7\n[]\n[[1],[2,3]]";
    let cases: &[(&str, &str)] = &[
        // select on fields (the text shortcut), and through the engine
        ("map(select(.s > 50)) | length", &big),
        ("map(select(.s > 50))", &big),
        ("map(select(.s > 50) | .i + 1) | add", &big),
        ("[.[] | select(.s == 7) | .t] | join(\",\")", &big),
        ("[.[] | .i, .s] | length", &big),
        ("map(empty)", &big),
        // an error raised by F, early and in a later batch: G never runs
        (
            "map(if .i == 4000 then error(\"boom\") else . end) | length",
            &big,
        ),
        ("map(.i + .t) | length", &big),
        // without G; exact numbers pass through unchanged
        ("map(.)", exact),
        ("map(select(. != 0))", exact),
        // objects (values), scalars, and several values in one input
        ("map(. * 10)", several),
        ("map(length) | add", several),
        ("map(.[]?) | length", several),
        (
            "map(select(.s > 50)) | length",
            "{\"a\":{\"s\":60},\"b\":{\"s\":1}}",
        ),
        ("map(.)", "5"),
        ("map(.)", "null"),
        ("map(. + 1)", "[1, \"x\", 3, {\"a\":1}]"),
        ("map(map(. + 1)) | .[1]", "[[1],[2,3]]"),
    ];
    for (filter, input) in cases {
        let unplanned = format!(". as $all | $all | {filter}");
        let planned = query(&wd, &["-c", filter], input);
        let whole = query(&wd, &["-c", &unplanned], input);
        assert_eq!(
            (planned.status, planned.stdout_str(), &planned.stderr),
            (whole.status, whole.stdout_str(), &whole.stderr),
            "{filter}"
        );
    }
    // What the comparison covers, spelled out for a few cases.
    assert_eq!(
        out(&wd, &["-c", "map(.)"], exact),
        "[12345678901234567890,1e400,0.10000000000000000001,1.50]\n"
    );
    let run = query(&wd, &["-c", "map(. * 10)"], several);
    assert_eq!(run.status, 5);
    assert_eq!(run.stdout_str(), "[10,20]\n[30,40]\n[]\n");
    assert_eq!(
        run.stderr.matches("error (at <stdin>:").count(),
        3,
        "{}",
        run.stderr
    );
    let run = query(
        &wd,
        &["map(if .i == 4000 then error(\"boom\") else . end) | length"],
        &big,
    );
    assert_eq!((run.status, run.stdout_str()), (5, String::new()));
    assert!(
        run.stderr.contains("error (at <stdin>:1): boom"),
        "{}",
        run.stderr
    );
    // Variables, $ENV, and -e work in F and G.
    for filter in [
        "map(select(.t == $want and $ENV.FKIT_TEST_MAP == \"on\")) | length > 0",
        ". as $all | $all | map(select(.t == $want and $ENV.FKIT_TEST_MAP == \"on\")) | length > 0",
    ] {
        let mut cmd = wd.command(&["json", "query", "-e", "--arg", "want", "x7", filter]);
        cmd.env("FKIT_TEST_MAP", "on");
        let run = common::run_command(&mut cmd, big.as_bytes());
        assert_eq!(
            (run.status, run.stdout_str()),
            (0, "true\n".into()),
            "{filter}"
        );
        let mut cmd = wd.command(&["json", "query", "-e", "--arg", "want", "x7", filter]);
        cmd.env("FKIT_TEST_MAP", "off");
        let run = common::run_command(&mut cmd, big.as_bytes());
        assert_eq!(
            (run.status, run.stdout_str()),
            (1, "false\n".into()),
            "{filter}"
        );
    }
}

/// A generated array larger than the memory limit streams through `.[] | f`,
/// while a filter that needs the whole document fails under the same limit.
#[cfg(target_os = "linux")]
#[test]
fn element_streams_run_in_constant_memory() {
    let wd = Workdir::new();
    // One element: a 1 MB string; the array: 400 of them, 400 MB, through a pipe.
    let element = format!("\"{}\"", "x".repeat(1 << 20));
    wd.write("element", element);
    let generate = "{ printf '['; i=1; while [ $i -lt 400 ]; do cat element; printf ','; i=$((i+1)); done; cat element; printf ']'; }";
    let limit = "ulimit -v 262144"; // 256 MB of address space
    let env = "MALLOC_ARENA_MAX=2";
    let streamed = wd.sh(&format!(
        "{generate} | ({limit}; {env} \"$FKIT\" json query '.[] | length') | uniq -c"
    ));
    assert!(
        streamed.status.success(),
        "{}",
        String::from_utf8_lossy(&streamed.stderr)
    );
    let counted = String::from_utf8_lossy(&streamed.stdout);
    assert_eq!(
        counted.split_whitespace().collect::<Vec<_>>(),
        ["400", "1048576"]
    );
    // `map(F) | G` keeps only F's outputs: 400 numbers.
    let mapped = wd.sh(&format!(
        "{generate} | ({limit}; {env} \"$FKIT\" json query 'map(length) | add')"
    ));
    assert!(
        mapped.status.success(),
        "{}",
        String::from_utf8_lossy(&mapped.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&mapped.stdout), "419430400\n");
    let kept = wd.sh(&format!(
        "{generate} | ({limit}; {env} \"$FKIT\" json query 'map(select(length > 2000000)) | length')"
    ));
    assert_eq!(String::from_utf8_lossy(&kept.stdout), "0\n");
    // The same filter, written so that it is not planned, needs the document.
    let whole = wd.sh(&format!(
        "{generate} | ({limit}; {env} \"$FKIT\" json query '. as $all | $all | map(length) | add')"
    ));
    assert!(
        !whole.status.success(),
        "the limit did not bind: the test proves nothing"
    );
}

/// With -n and no `input`/`inputs`, stdin is not read (jq does not wait
/// for the end of a terminal's input either).
#[cfg(unix)]
#[test]
fn null_input_does_not_read_stdin() {
    let wd = Workdir::new();
    let run = wd.sh("sleep 5 | timeout 3 \"$FKIT\" json query -n '1 + 1'");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout), "2\n");
}
