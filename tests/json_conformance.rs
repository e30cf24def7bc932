//! JSONTestSuite (../shared/conformance/JSONTestSuite/test_parsing): every
//! y_ case accepted, every n_ case rejected, every i_ case answered without
//! a crash; fmt and min of every y_ case re-parse to the same value.

mod common;

use common::Workdir;
use std::fs;
use std::path::PathBuf;

fn cases() -> Option<Vec<PathBuf>> {
    // FKIT_SHARED (as bench/compare.sh reads it) for a checkout elsewhere.
    let shared = common::shared_dir()
        .or_else(|| std::env::var_os("FKIT_SHARED").map(PathBuf::from))
        .filter(|d| d.is_dir());
    let Some(shared) = shared else {
        eprintln!("skipped: ../shared is not there (JSONTestSuite)");
        return None;
    };
    let dir = shared.join("conformance/JSONTestSuite/test_parsing");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read test_parsing")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    Some(files)
}

fn name(path: &std::path::Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn validate_accepts_y_rejects_n_survives_i() {
    let Some(files) = cases() else { return };
    let wd = Workdir::new();
    let mut args = vec!["json".to_string(), "validate".into(), "--json".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = wd.run(&args);
    assert_eq!(
        out.status, 1,
        "some n_ cases exist, so the run fails: {}",
        out.stderr
    );
    let reports: Vec<serde_json::Value> = out
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON report per file"))
        .collect();
    assert_eq!(reports.len(), files.len());
    let mut wrong = Vec::new();
    for (file, report) in files.iter().zip(&reports) {
        let n = name(file);
        let valid = report["valid"].as_bool().expect("valid");
        if (n.starts_with("y_") && !valid) || (n.starts_with("n_") && valid) {
            wrong.push(format!("{n}: {report}"));
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
    // Each case on its own as well: the exit status says it, nothing crashes.
    for file in &files {
        let n = name(file);
        let out = wd.run(&["json", "validate", &file.display().to_string()]);
        let want = if n.starts_with("y_") {
            vec![0]
        } else if n.starts_with("n_") {
            vec![1]
        } else {
            vec![0, 1]
        };
        assert!(
            want.contains(&out.status),
            "{n}: status {} {}",
            out.status,
            out.stderr
        );
        if out.status == 1 {
            assert!(
                out.stderr.contains(&format!("{}:", file.display())),
                "{n}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn fmt_and_min_of_every_y_case_reparse_to_the_same_value() {
    let Some(files) = cases() else { return };
    let wd = Workdir::new();
    for file in files.iter().filter(|f| name(f).starts_with("y_")) {
        let n = name(file);
        let original: serde_json::Value =
            serde_json::from_slice(&fs::read(file).unwrap()).expect("y_ case parses");
        for op in [
            &["fmt"][..],
            &["min"],
            &["fmt", "--sort-keys"],
            &["fmt", "--tab"],
        ] {
            let mut args = vec!["json"];
            args.extend_from_slice(op);
            let path = file.display().to_string();
            args.push(&path);
            let out = wd.run(&args);
            assert_eq!(out.status, 0, "{n} {op:?}: {}", out.stderr);
            let again: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{n} {op:?}: output does not parse: {e}"));
            if op == ["fmt", "--sort-keys"] {
                assert_eq!(sorted(&original), sorted(&again), "{n} {op:?}");
            } else {
                assert_eq!(original, again, "{n} {op:?}");
            }
            if op == ["min"] {
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(
                    !text.trim_end().contains(['\n', '\t']),
                    "{n}: min left whitespace"
                );
            }
        }
    }
}

/// The value with every object's keys in order, to compare --sort-keys.
fn sorted(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => {
            let mut members: Vec<_> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", sorted(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(sorted).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

/// The jq manual's examples (../shared/conformance/jq/man.test): blocks of
/// the program, one input line, then the expected outputs, one a line.
fn man_cases() -> Option<Vec<(String, String, Vec<String>)>> {
    let shared = common::shared_dir()
        .or_else(|| std::env::var_os("FKIT_SHARED").map(PathBuf::from))
        .filter(|d| d.is_dir());
    let Some(shared) = shared else {
        eprintln!("skipped: ../shared is not there (jq man.test)");
        return None;
    };
    let text = fs::read_to_string(shared.join("conformance/jq/man.test")).expect("man.test");
    let cases = text
        .split("\n\n")
        .filter_map(|block| {
            let mut lines = block
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
            let program = lines.next()?.to_string();
            let input = lines.next()?.to_string();
            Some((program, input, lines.map(str::to_string).collect()))
        })
        .collect();
    Some(cases)
}

/// Two JSON texts denote the same value, numbers compared as numbers (jq's
/// test runner compares values: 1.0 and 1 are equal).
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => {
            x.to_string() == y.to_string()
                || x.to_string().parse::<f64>().ok() == y.to_string().parse::<f64>().ok()
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b)),
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn jq_manual_examples_pass() {
    let Some(cases) = man_cases() else { return };
    let wd = Workdir::new();
    let mut passed = 0;
    let mut failures = Vec::new();
    for (program, input, expected) in &cases {
        let mut cmd = wd.command(&["json", "query", "-c", "--", program]);
        // jq's own test run sets PAGER for the $ENV examples.
        cmd.env("PAGER", "less");
        let out = common::run_command(&mut cmd, format!("{input}\n").as_bytes());
        let got: Vec<Option<serde_json::Value>> = out
            .stdout_str()
            .lines()
            .map(|l| serde_json::from_str(l).ok())
            .collect();
        let want: Vec<Option<serde_json::Value>> = expected
            .iter()
            .map(|l| serde_json::from_str(l).ok())
            .collect();
        let same = out.status == 0
            && got.len() == want.len()
            && got.iter().zip(&want).all(|(g, w)| match (g, w) {
                (Some(g), Some(w)) => same_json(g, w),
                _ => false,
            });
        if same {
            passed += 1;
        } else {
            failures.push(format!(
                "{program}\n  input: {input}\n  want:  {}\n  got:   {}{}",
                expected.join(" "),
                out.stdout_str().trim_end().replace('\n', " "),
                if out.stderr.is_empty() {
                    String::new()
                } else {
                    format!("\n  stderr: {}", out.stderr.trim_end())
                }
            ));
        }
    }
    eprintln!("jq manual examples: {passed} of {} pass", cases.len());
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    assert_eq!(cases.len(), 231, "man.test has changed");
    // 225 today; the six left are listed in the README's differences from jq.
    assert!(
        passed >= 225,
        "{passed} of {} pass (floor 225)",
        cases.len()
    );
}
