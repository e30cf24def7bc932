//! `fkit json`: each test reads like the shell session a user would type.

mod common;

use common::Workdir;

fn run(wd: &Workdir, args: &[&str], stdin: &str) -> common::Run {
    wd.run_stdin(args, stdin)
}

const NUMBERS: &str = r#"{"big": 12345678901234567890, "huge": 1e400, "tiny": 0.10000000000000000001, "neg": -0.0E-7}"#;

#[test]
fn min_and_fmt_keep_numbers_keys_and_duplicates_exactly() {
    let wd = Workdir::new();
    let out = run(&wd, &["json", "min"], NUMBERS).ok();
    assert_eq!(
        out.stdout_str(),
        "{\"big\":12345678901234567890,\"huge\":1e400,\"tiny\":0.10000000000000000001,\"neg\":-0.0E-7}\n"
    );
    let out = run(
        &wd,
        &["json", "fmt"],
        r#"{"z":1,"a":[],"z":{"b":[1,{}]},"e":"\u00e9\n"}"#,
    )
    .ok();
    assert_eq!(
        out.stdout_str(),
        "{\n  \"z\": 1,\n  \"a\": [],\n  \"z\": {\n    \"b\": [\n      1,\n      {}\n    ]\n  },\n  \"e\": \"\\u00e9\\n\"\n}\n"
    );
}

#[test]
fn fmt_indent_tab_and_sort_keys() {
    let wd = Workdir::new();
    let doc = r#"[{"b": 1, "a": {"d": [3, {"y": 1, "x": 2}], "c": null}}, 5]"#;
    let out = run(&wd, &["json", "fmt", "--sort-keys", "--indent", "0"], doc).ok();
    assert_eq!(
        out.stdout_str(),
        "[{\"a\":{\"c\":null,\"d\":[3,{\"x\":2,\"y\":1}]},\"b\":1},5]\n"
    );
    let out = run(&wd, &["json", "fmt", "--tab"], "{\"a\":[1]}").ok();
    assert_eq!(out.stdout_str(), "{\n\t\"a\": [\n\t\t1\n\t]\n}\n");
    let out = run(
        &wd,
        &["json", "fmt", "--indent", "4", "-S"],
        "{\"b\":1,\"a\":2}",
    )
    .ok();
    assert_eq!(out.stdout_str(), "{\n    \"a\": 2,\n    \"b\": 1\n}\n");
}

#[test]
fn validate_reports_file_line_column() {
    let wd = Workdir::new();
    wd.write("bad.json", "{\n  \"a\": 1,\n  \"b\": tru\n}\n");
    let out = wd.run(&["json", "validate", "bad.json"]).code(1);
    assert_eq!(
        out.stderr.trim(),
        "fkit: json: bad.json:3:8: invalid literal: expected 'true'"
    );
    wd.write("good.json", "[1, 2]\n");
    wd.run(&["json", "validate", "good.json"]).ok();
    let out = wd
        .run(&["json", "validate", "--json", "good.json", "bad.json"])
        .code(1);
    let lines: Vec<serde_json::Value> = out
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(lines[1]["errors"][0]["line"], 3);
    assert_eq!(lines[1]["errors"][0]["column"], 8);
    // A missing file is reported and the others are still checked.
    let out = wd
        .run(&["json", "validate", "nope.json", "good.json", "bad.json"])
        .code(1);
    assert!(out.stderr.contains("nope.json"), "{}", out.stderr);
    assert!(out.stderr.contains("bad.json:3:8"), "{}", out.stderr);
}

#[test]
fn validate_names_each_kind_of_bad_input() {
    let wd = Workdir::new();
    let cases: &[(&[u8], &str)] = &[
        (b"\xEF\xBB\xBF{}", "1:1: byte order mark"),
        (
            b"\xFF\xFE[\x001\x00]\x00",
            "1:1: the input looks like UTF-16",
        ),
        (b"[\"ok\xff\"]", "1:5: invalid UTF-8"),
        (b"[\"\\ud800\"]", "1:3: lone surrogate \\ud800"),
        (b"[\"\\udc00\\ud800\"]", "1:3: lone surrogate \\udc00"),
        (b"{\"a\":1} x", "1:9: unexpected 'x' after the JSON value"),
        (b"[1,]", "1:4: expected a value, found ']'"),
        (
            b"[1 2]",
            "1:4: expected ',' or ']' after an array element, found '2'",
        ),
        (b"[01]", "leading zeros"),
        (b"[1.]", "digit after the decimal point"),
        (b"[\"a\tb\"]", "control character 0x09"),
        (b"", "empty input"),
        (
            b"{\"a\":[1,",
            "end of input (an array still open: 2 unclosed)",
        ),
        (b"{'a':1}", "expected a string key or '}', found '''"),
    ];
    for (input, want) in cases {
        let out = wd.run_stdin(&["json", "validate"], input).code(1);
        assert!(
            out.stderr.contains(want),
            "{:?}: want {want:?}, got {}",
            String::from_utf8_lossy(input),
            out.stderr
        );
    }
}

#[test]
fn validate_lines_reports_every_bad_line() {
    let wd = Workdir::new();
    wd.write(
        "e.ndjson",
        "{\"a\":1}\n{\"a\":2,}\n\n[1\n{\"a\":3} {}\n\"ok\"\n",
    );
    let out = wd.run(&["json", "validate", "--lines", "e.ndjson"]).code(1);
    let errors: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(errors.len(), 3, "{}", out.stderr);
    assert!(errors[0].starts_with("fkit: json: e.ndjson:2:8: "));
    assert!(errors[1].starts_with("fkit: json: e.ndjson:4:3: "));
    assert!(errors[1].contains("end of line"));
    assert!(errors[2].starts_with("fkit: json: e.ndjson:5:9: "));
    // Without --lines, a second value is trailing data.
    let out = wd.run(&["json", "validate", "e.ndjson"]).code(1);
    assert!(
        out.stderr
            .contains("e.ndjson:2:1: unexpected '{' after the JSON value")
    );
}

#[test]
fn validate_strict_rejects_duplicate_keys() {
    let wd = Workdir::new();
    let doc = "{\"a\": {\"x\": 1, \"y\": [{\"x\": 2}]}, \"b\": 1, \"\\u0061\": 2}";
    run(&wd, &["json", "validate"], doc).ok();
    let out = run(&wd, &["json", "validate", "--strict"], doc).code(1);
    assert!(
        out.stderr.contains("1:42: duplicate key \"\\u0061\""),
        "{}",
        out.stderr
    );
}

#[test]
fn min_lines_drops_bad_lines_and_keeps_going() {
    let wd = Workdir::new();
    let out = run(
        &wd,
        &["json", "min", "--lines"],
        "{ \"a\" : 1 }\n{\"a\":2,}\r\n [ 1 , 2 ] \r\n",
    )
    .code(1);
    assert_eq!(out.stdout_str(), "{\"a\":1}\n[1,2]\n");
    assert!(out.stderr.contains("<stdin>:2:8: "));
    let out = run(
        &wd,
        &["json", "fmt", "--lines", "--indent", "1"],
        "{\"a\":[1]}\n",
    )
    .ok();
    assert_eq!(out.stdout_str(), "{\n \"a\": [\n  1\n ]\n}\n");
}

#[test]
fn get_with_pointer_and_dotted_paths() {
    let wd = Workdir::new();
    wd.write(
        "users.json",
        r#"{"users": [{"name": "Ada", "tags": ["x"], "id": 12345678901234567890},
                     {"name": "Bo \"B\"", "a/b": {"m~n": true}}], "n": null}"#,
    );
    let get = |args: &[&str]| {
        let mut all = vec!["json", "get"];
        all.extend_from_slice(args);
        all.push("users.json");
        wd.run(&all)
    };
    assert_eq!(get(&["/users/0/name"]).ok().stdout_str(), "\"Ada\"\n");
    assert_eq!(get(&["-r", ".users[0].name"]).ok().stdout_str(), "Ada\n");
    assert_eq!(
        get(&["-r", ".users[1].name"]).ok().stdout_str(),
        "Bo \"B\"\n"
    );
    assert_eq!(
        get(&["/users/0/id"]).ok().stdout_str(),
        "12345678901234567890\n"
    );
    assert_eq!(get(&["/users/1/a~1b/m~0n"]).ok().stdout_str(), "true\n");
    assert_eq!(
        get(&[r#".users[1].["a/b"]"#]).ok().stdout_str(),
        "{\n  \"m~n\": true\n}\n"
    );
    assert_eq!(get(&["-c", "/users/0/tags"]).ok().stdout_str(), "[\"x\"]\n");
    assert_eq!(get(&["/n"]).ok().stdout_str(), "null\n");
    // Several paths print in the order given, even when nested in each other.
    let out = get(&["-c", "/users/0/tags/0", "/users/0", "/n"]).ok();
    assert_eq!(
        out.stdout_str(),
        "\"x\"\n{\"name\":\"Ada\",\"tags\":[\"x\"],\"id\":12345678901234567890}\nnull\n"
    );
    let out = get(&[".users[2].name"]).code(1);
    assert_eq!(
        out.stderr.trim(),
        "fkit: json: users.json: .users[2].name: not found"
    );
    let out = get(&["users"]).code(2);
    assert!(out.stderr.contains("JSON Pointer"), "{}", out.stderr);
    // stdin when the last argument is a path
    let out = run(&wd, &["json", "get", "/a", "/b"], "{\"b\":2,\"a\":1}").ok();
    assert_eq!(out.stdout_str(), "1\n2\n");
}

#[test]
fn get_stops_reading_once_found() {
    let wd = Workdir::new();
    // The garbage after the first element is never read.
    let out = run(&wd, &["json", "get", "/0/id"], "[{\"id\": 7}, {oops").ok();
    assert_eq!(out.stdout_str(), "7\n");
}

#[test]
fn get_lines_answers_each_line() {
    let wd = Workdir::new();
    let out = run(
        &wd,
        &["json", "get", "--lines", "-r", ".name"],
        "{\"name\":\"a\"}\n{\"x\":1}\n{\"name\":\"c\"}\n",
    )
    .code(1);
    assert_eq!(out.stdout_str(), "a\nc\n");
    assert_eq!(out.stderr.trim(), "fkit: json: <stdin>:2: .name: not found");
}

#[test]
fn keys_type_length() {
    let wd = Workdir::new();
    wd.write(
        "d.json",
        r#"{"b": [1, [2], {}], "a": {"x": 1, "y\n": 2}, "s": "héllo", "n": null, "t": true}"#,
    );
    let ok = |args: &[&str]| {
        let mut all = vec!["json"];
        all.extend_from_slice(args);
        wd.run(&all).ok().stdout_str()
    };
    assert_eq!(ok(&["keys", "d.json"]), "b\na\ns\nn\nt\n");
    assert_eq!(
        ok(&["keys", "--json", "/a", "d.json"]),
        "[\"x\",\"y\\n\"]\n"
    );
    assert_eq!(ok(&["keys", ".b", "d.json"]), "0\n1\n2\n");
    assert_eq!(ok(&["type", "d.json"]), "object\n");
    assert_eq!(ok(&["type", "--json", "/b/1", "d.json"]), "\"array\"\n");
    assert_eq!(ok(&["type", ".t", "d.json"]), "boolean\n");
    assert_eq!(ok(&["length", "d.json"]), "5\n");
    assert_eq!(ok(&["length", "/b", "d.json"]), "3\n");
    assert_eq!(ok(&["length", ".s", "d.json"]), "5\n");
    assert_eq!(ok(&["length", ".n", "d.json"]), "0\n");
    let out = wd.run(&["json", "length", ".t", "d.json"]).code(1);
    assert_eq!(
        out.stderr.trim(),
        "fkit: json: d.json: .t: a boolean has no length"
    );
    let out = wd.run(&["json", "keys", ".s", "d.json"]).code(1);
    assert!(out.stderr.contains("a string has no keys"));
    let out = run(&wd, &["json", "length", "--lines"], "[1,2]\n{}\n\"ab\"\n").ok();
    assert_eq!(out.stdout_str(), "2\n0\n2\n");
    let out = run(&wd, &["json", "type"], "  -1.5e3 ").ok();
    assert_eq!(out.stdout_str(), "number\n");
}

#[test]
fn output_is_atomic_and_never_overwrites_without_force() {
    let wd = Workdir::new();
    wd.write("in.json", "[1, 2]");
    wd.run(&["json", "min", "in.json", "-o", "out.json"]).ok();
    assert_eq!(wd.read("out.json"), b"[1,2]\n");
    let out = wd
        .run(&["json", "min", "in.json", "-o", "out.json"])
        .code(1);
    assert!(out.stderr.contains("already exists"));
    wd.write("bad.json", "[1, 2,");
    wd.run(&["json", "fmt", "bad.json", "-o", "out.json", "--force"])
        .code(1);
    assert_eq!(
        wd.read("out.json"),
        b"[1,2]\n",
        "a failed run must leave the target alone"
    );
    wd.run(&["json", "fmt", "bad.json", "-o", "new.json"])
        .code(1);
    assert!(!wd.exists("new.json"));
    assert_eq!(wd.list(), ["bad.json", "in.json", "out.json"]);
}

#[test]
fn reads_gzip_input() {
    if !common::have("gzip") {
        eprintln!("skipped: gzip not installed");
        return;
    }
    let wd = Workdir::new();
    wd.write("d.json", "{\"a\": [1, 2]}");
    let status = wd.command(&[]).status(); // keep the helper's binary path warm
    drop(status);
    std::process::Command::new("gzip")
        .arg("d.json")
        .current_dir(wd.path())
        .status()
        .expect("gzip");
    assert_eq!(
        wd.run(&["json", "min", "d.json.gz"]).ok().stdout_str(),
        "{\"a\":[1,2]}\n"
    );
    assert_eq!(
        wd.run(&["json", "get", "/a/1", "d.json.gz"])
            .ok()
            .stdout_str(),
        "2\n"
    );
    wd.run(&["json", "validate", "--no-decompress", "d.json.gz"])
        .code(1);
}

#[test]
fn deep_nesting_never_overflows_the_stack() {
    let wd = Workdir::new();
    let depth = 100_000;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    wd.write("deep.json", &deep);
    wd.run(&["json", "validate", "deep.json"]).ok();
    let out = wd.run(&["json", "min", "deep.json"]).ok();
    assert_eq!(out.stdout.len(), 2 * depth + 1);
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    wd.write("objects.json", &objects);
    wd.run(&["json", "validate", "--strict", "objects.json"])
        .ok();
    assert_eq!(
        wd.run(&["json", "length", "objects.json"])
            .ok()
            .stdout_str(),
        "1\n"
    );
    let out = wd
        .run(&[
            "json",
            "fmt",
            "--sort-keys",
            "--indent",
            "0",
            "objects.json",
        ])
        .ok();
    assert_eq!(out.stdout_str(), format!("{objects}\n"));
    let open = "[".repeat(depth);
    let out = wd.run_stdin(&["json", "validate"], &open).code(1);
    assert!(out.stderr.contains("100000 unclosed"), "{}", out.stderr);
    // Pretty-printing indents by depth, so the output grows quadratically.
    let shallow = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    let out = wd.run_stdin(&["json", "fmt"], &shallow).ok();
    let lines = out.stdout_str().lines().count();
    assert_eq!(lines, 4000 - 1);
}

#[test]
fn long_tokens_cross_buffer_boundaries() {
    let wd = Workdir::new();
    // Strings, numbers and escapes longer than the read buffer, with
    // multi-byte characters at every alignment.
    let mut doc = String::from("[");
    for i in 0..40_000 {
        doc.push_str(&format!(
            "\"é{}\\u00e9\\ud83d\\ude00✓\",",
            "x".repeat(i % 7)
        ));
    }
    doc.push_str(&format!("\"{}\",", "y".repeat(700_000)));
    doc.push_str(&format!(
        "{}.{}e-{}",
        "9".repeat(300_000),
        "1".repeat(300_000),
        "7".repeat(9)
    ));
    doc.push(']');
    wd.write("long.json", &doc);
    wd.run(&["json", "validate", "long.json"]).ok();
    let out = wd.run(&["json", "min", "long.json"]).ok();
    assert_eq!(out.stdout, format!("{doc}\n").into_bytes());
    let back = wd.run_stdin(
        &["json", "min"],
        wd.run(&["json", "fmt", "long.json"]).ok().stdout,
    );
    assert_eq!(back.ok().stdout, format!("{doc}\n").into_bytes());
}

#[test]
fn to_csv_uses_the_shared_flattening() {
    let wd = Workdir::new();
    let out = run(
        &wd,
        &["json", "to-csv"],
        r#"[{"id": 1, "a": {"b": "x"}}, {"id": 2, "tags": ["p", "q"], "n": null}]"#,
    )
    .ok();
    assert_eq!(
        out.stdout_str(),
        "id,a.b,tags.0,tags.1,n\n1,x,,,\n2,,p,q,\n"
    );
    let out = run(
        &wd,
        &["json", "to-csv", "--lines", "-d", "tab"],
        "{\"a\":1}\n{\"b\":2}\n",
    )
    .ok();
    assert_eq!(out.stdout_str(), "a\tb\n1\t\n\t2\n");
}

#[test]
fn help_has_examples() {
    let wd = Workdir::new();
    for op in [
        "fmt", "min", "validate", "get", "keys", "type", "length", "to-csv",
    ] {
        let out = wd.run(&["json", op, "--help"]).ok();
        assert!(out.stdout_str().contains("Examples:"), "{op}");
    }
    let out = wd.run(&["json", "--help"]).ok();
    assert!(out.stdout_str().contains("fkit json fmt data.json"));
}
