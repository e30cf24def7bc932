//! `fkit csv groupby`, `agg`, `filter` and `map`, driven through the real
//! binary; results checked against the obvious Python (csv module)
//! computation on generated data with quoted fields, empty fields and
//! numbers a float cannot hold.

mod common;

use common::{Workdir, have};
use std::process::Command;

fn csv(wd: &Workdir, args: &[&str]) -> String {
    let mut all = vec!["csv"];
    all.extend_from_slice(args);
    wd.run(&all).ok().stdout_str()
}

/// A deterministic CSV of `rows` rows, big enough at 60000 rows to be cut
/// into several parallel chunks: quoted keys with commas and quotes, empty
/// fields, decimals and 25-digit integers.
fn sales(rows: usize) -> String {
    const CITIES: [&str; 7] = [
        "Berlin",
        "\"New York, NY\"",
        "Lagos",
        "\"Say \"\"hi\"\"\"",
        "Oslo",
        "\"Line\nbreak\"",
        "Lima",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut s = String::from("id,city,amount,qty,name,flag\n");
    for i in 0..rows {
        let r = next();
        // Cities appear late for the first time, in a later chunk.
        let city = CITIES[if i < 1000 {
            (r % 3) as usize
        } else {
            (r % 7) as usize
        }];
        let amount = match r % 11 {
            0 => String::new(),
            1 => format!("{}{:023}", 1 + r % 9, r % 100_000_000_000_000),
            2 => format!("-{}.{:02}", (r >> 8) % 1000, (r >> 20) % 100),
            _ => format!("{}.{:02}", (r >> 8) % 100_000, (r >> 20) % 100),
        };
        let qty = if r % 13 == 5 {
            String::new()
        } else {
            ((r >> 30) % 50).to_string()
        };
        let name = ["ann", "bob", "\"c, d\"", "", "eve"][((r >> 40) % 5) as usize];
        let flag = if (r >> 50) % 2 == 0 { "true" } else { "false" };
        s.push_str(&format!("{i},{city},{amount},{qty},{name},{flag}\n"));
    }
    s
}

/// Python's answer for `groupby city count sum:amount mean:qty min:qty
/// max:amount var:qty stddev:qty median:qty p90:qty distinct:name first:name
/// last:name mode:name values:name count:amount`, as CSV.
const PY_GROUPBY: &str = r#"
import csv, sys, math, statistics
from collections import Counter
from decimal import Decimal, getcontext
getcontext().prec = 200
rows = list(csv.reader(open(sys.argv[1], newline='')))
h = rows[0]; c = {n: i for i, n in enumerate(h)}
groups = {}
for r in rows[1:]:
    groups.setdefault(r[c['city']] if len(sys.argv) < 3 else '', []).append(r)
out = csv.writer(sys.stdout, lineterminator='\n')
def vals(g, col): return [r[c[col]] for r in g if r[c[col]] != '']
for key, g in groups.items():
    amount = vals(g, 'amount'); qty = [float(x) for x in vals(g, 'qty')]; names = vals(g, 'name')
    total = sum((Decimal(x) for x in amount), Decimal(0))
    n90 = sorted(qty)[max(0, math.ceil(0.9 * len(qty)) - 1)] if qty else ''
    cnt = Counter(names)
    mode = max(cnt, key=lambda v: (cnt[v], -names.index(v))) if names else ''
    out.writerow(([] if len(sys.argv) >= 3 else [key]) + [len(g), str(total),
        repr(statistics.fmean(qty)) if qty else '', repr(min(qty)) if qty else '',
        max(amount, key=Decimal) if amount else '',
        repr(statistics.pvariance(qty)) if qty else '', repr(statistics.pstdev(qty)) if qty else '',
        repr(float(statistics.median(qty))) if qty else '', repr(n90), len(set(names)),
        names[0] if names else '', names[-1] if names else '', mode, '|'.join(names), len(amount)])
"#;

const AGGS: [&str; 15] = [
    "count",
    "sum:amount",
    "mean:qty",
    "min:qty",
    "max:amount",
    "var:qty",
    "stddev:qty",
    "median:qty",
    "p90:qty",
    "distinct:name",
    "first:name",
    "last:name",
    "mode:name",
    "values:name",
    "count:amount",
];

fn read_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("valid CSV").iter().map(str::to_string).collect())
        .collect()
}

/// Compare fkit's rows with Python's: exactly, except fields that are
/// floats on both sides, which may differ in the last bits (and in how a
/// whole number is written: `4` against `4.0`).
fn assert_same_rows(fkit: &[Vec<String>], python: &[Vec<String>]) {
    assert_eq!(fkit.len(), python.len(), "row counts differ");
    for (a, b) in fkit.iter().zip(python) {
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
        for (x, y) in a.iter().zip(b) {
            if x == y {
                continue;
            }
            let (fx, fy): (f64, f64) = match (x.parse(), y.parse()) {
                (Ok(fx), Ok(fy)) if y.contains('.') || y.contains('e') => (fx, fy),
                _ => panic!("field {x:?} differs from Python's {y:?} in {a:?} vs {b:?}"),
            };
            assert!(
                (fx - fy).abs() <= 1e-9 * fy.abs().max(1.0),
                "{x} vs Python's {y} in {a:?}"
            );
        }
    }
}

fn python(wd: &Workdir, script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(wd.path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn groupby_matches_python_on_several_chunks() {
    if !have("python3") {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let wd = Workdir::new();
    wd.write("sales.csv", sales(60_000));
    let mut args = vec!["groupby", "city"];
    args.extend(AGGS);
    args.push("sales.csv");
    let fkit = read_csv(&csv(&wd, &args));
    let expected = read_csv(&python(&wd, PY_GROUPBY, &["sales.csv"]));
    let mut header = vec!["city".to_string()];
    header.extend(AGGS.iter().map(|a| match a.split_once(':') {
        Some((agg, col)) => format!("{agg}({col})"),
        None => a.to_string(),
    }));
    assert_eq!(fkit[0], header);
    assert_eq!(fkit.len(), 8, "seven cities and the header");
    assert_same_rows(&fkit[1..], &expected);
    // Sums hold 25-digit integers: exact, not rounded to a float.
    assert!(fkit[1][2].len() > 24, "{:?}", fkit[1][2]);
}

#[test]
fn agg_matches_python_and_reads_stdin() {
    if !have("python3") {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let wd = Workdir::new();
    let data = sales(3000);
    wd.write("sales.csv", &data);
    let mut args = vec!["csv", "agg"];
    args.extend(AGGS);
    let fkit = read_csv(&wd.run_stdin(&args, &data).ok().stdout_str());
    let expected = read_csv(&python(&wd, PY_GROUPBY, &["sales.csv", "all"]));
    assert_same_rows(&fkit[1..], &expected);
}

#[test]
fn groupby_sorts_and_names_outputs() {
    let wd = Workdir::new();
    wd.write("t.csv", "k,v\nb,1\na,2\nb,3\n\"a\",4\nc,\n");
    assert_eq!(
        csv(&wd, &["groupby", "k", "sum:v:total", "count", "t.csv"]),
        "k,total,count\nb,4,2\na,6,2\nc,0,1\n"
    );
    assert_eq!(
        csv(&wd, &["groupby", "--sort", "k", "max:v", "mean:v", "t.csv"]),
        "k,max(v),mean(v)\na,4,3\nb,3,2\nc,,\n"
    );
    // Several key columns; --no-headers names columns by index.
    wd.write("n.csv", "x,1,p\nx,2,q\ny,3,p\nx,4,p\n");
    assert_eq!(
        csv(
            &wd,
            &[
                "groupby",
                "1,3",
                "sum:2",
                "values:2",
                "--no-headers",
                "n.csv"
            ]
        ),
        "1,3,sum(2),values(2)\nx,p,5,1|4\nx,q,2,2\ny,p,3,3\n"
    );
}

#[test]
fn agg_of_nothing_is_one_row() {
    let wd = Workdir::new();
    wd.write("empty.csv", "a,b\n");
    assert_eq!(
        csv(&wd, &["agg", "count", "sum:a", "mean:b", "empty.csv"]),
        "count,sum(a),mean(b)\n0,0,\n"
    );
    assert_eq!(
        csv(&wd, &["groupby", "a", "count", "empty.csv"]),
        "a,count\n"
    );
}

#[test]
fn aggregator_errors() {
    let wd = Workdir::new();
    wd.write("t.csv", "k,v\na,1\nb,x y\n");
    let run = wd.run(&["csv", "groupby", "k", "sum:v", "t.csv"]).code(1);
    assert!(
        run.stderr
            .contains("t.csv: line 3, byte 8: sum:v: \"x y\" is not a number"),
        "{}",
        run.stderr
    );
    let run = wd.run(&["csv", "agg", "sum:nope", "t.csv"]).code(2);
    assert!(
        run.stderr.contains("sum:nope") && run.stderr.contains("nope"),
        "{}",
        run.stderr
    );
    let run = wd.run(&["csv", "agg", "avg:v", "t.csv"]).code(2);
    assert!(
        run.stderr.contains("unknown aggregator \"avg\""),
        "{}",
        run.stderr
    );
    let run = wd.run(&["csv", "agg", "t.csv"]).code(2);
    assert!(
        run.stderr.contains("\"t.csv\" is not an aggregator"),
        "{}",
        run.stderr
    );
    let run = wd.run(&["csv", "agg", "sum", "t.csv"]).code(2);
    assert!(run.stderr.contains("needs a column"), "{}", run.stderr);
}

/// Python's `filter '.qty > 20 and .flag'` (and its -v) and `map '.total =
/// .qty * 2 | .city |= ascii_downcase'` on the sales data, as CSV.
const PY_ROWS: &str = r#"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
h = rows[0]; c = {n: i for i, n in enumerate(h)}
out = csv.writer(sys.stdout, lineterminator='\n')
def keep(r): return r[c['qty']] != '' and int(r[c['qty']]) > 20 and r[c['flag']] == 'true'
if sys.argv[2] == 'filter':
    out.writerows([h] + [r for r in rows[1:] if keep(r)])
elif sys.argv[2] == 'filter-v':
    out.writerows([h] + [r for r in rows[1:] if not keep(r)])
else:
    out.writerow(h + ['total'])
    for r in rows[1:]:
        q = r[c['qty']]
        r = list(r); r[c['city']] = r[c['city']].lower()
        out.writerow(r + [str(int(q) * 2) if q != '' else '0'])
"#;

#[test]
fn filter_and_map_match_python_on_several_chunks() {
    if !have("python3") {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let wd = Workdir::new();
    wd.write("sales.csv", sales(60_000));
    let cases: [(&[&str], &str); 3] = [
        (&["filter", ".qty > 20 and .flag"], "filter"),
        (&["filter", "-v", ".qty > 20 and .flag"], "filter-v"),
        (
            &["map", ".total = (.qty // 0) * 2 | .city |= ascii_downcase"],
            "map",
        ),
    ];
    for (args, mode) in cases {
        let mut all = args.to_vec();
        all.push("sales.csv");
        let fkit = read_csv(&csv(&wd, &all));
        let expected = read_csv(&python(&wd, PY_ROWS, &["sales.csv", mode]));
        assert!(fkit.len() > 1000, "{mode}: {} rows", fkit.len());
        assert_eq!(fkit, expected, "{mode}");
    }
}

#[test]
fn filter_keeps_rows_byte_for_byte_from_stdin() {
    let wd = Workdir::new();
    let data = "id,name,age\n1,\"Ann, B\",51\n2,\"bob\",40\n3,eve,\n4,\"q\"\"q\",60\n";
    let run = wd.run_stdin(&["csv", "filter", ".age > 50"], data).ok();
    assert_eq!(
        run.stdout_str(),
        "id,name,age\n1,\"Ann, B\",51\n4,\"q\"\"q\",60\n"
    );
    let run = wd
        .run_stdin(&["csv", "filter", "-v", ".age > 50"], data)
        .ok();
    assert_eq!(run.stdout_str(), "id,name,age\n2,\"bob\",40\n3,eve,\n");
    // Strings compare as strings; an empty field is null.
    let run = wd
        .run_stdin(
            &["csv", "filter", r#".name == "bob" or .age == null"#],
            data,
        )
        .ok();
    assert_eq!(run.stdout_str(), "id,name,age\n2,\"bob\",40\n3,eve,\n");
    // Under --no-headers the keys are column numbers.
    let run = wd
        .run_stdin(&["csv", "filter", "--no-headers", r#".["3"] == 40"#], data)
        .ok();
    assert_eq!(run.stdout_str(), "2,\"bob\",40\n");
}

#[test]
fn map_writes_numbers_exactly_and_nulls_empty() {
    let wd = Workdir::new();
    wd.write(
        "p.csv",
        "id,score,big\n1,2.5,123456789012345678901\n2,0.1,\n3,,7\n",
    );
    assert_eq!(
        csv(
            &wd,
            &[
                "map",
                ".double = (.score // 0) * 2 | .next = .big + 1 | .sum = .score + 0.2",
                "p.csv"
            ]
        ),
        "id,score,big,double,next,sum\n\
         1,2.5,123456789012345678901,5,123456789012345678902,2.7\n\
         2,0.1,,0.2,1,0.30000000000000004\n\
         3,,7,0,8,0.2\n"
    );
    // From stdin, where the first row is read before the header is written.
    let run = wd
        .run_stdin(
            &["csv", "map", ".id = .id * 10 | .x = .id + 1"],
            "id,v\n1,a\n2,b\n",
        )
        .ok();
    assert_eq!(run.stdout_str(), "id,v,x\n10,a,11\n20,b,21\n");
    // Untouched fields keep their bytes; a changed one is quoted as needed.
    wd.write("q.csv", "a,b\n\"x\",\"y\"\n");
    assert_eq!(
        csv(&wd, &["map", r#".b = "1, \"2\"""#, "q.csv"]),
        "a,b\n\"x\",\"1, \"\"2\"\"\"\n"
    );
    // No result drops the row; two results make two rows.
    assert_eq!(
        csv(&wd, &["map", "select(.id != 2)", "p.csv"]),
        "id,score,big\n1,2.5,123456789012345678901\n3,,7\n"
    );
    assert_eq!(
        csv(&wd, &["map", ".id = (.id, .id * 10) | del(.big)", "p.csv"]),
        "id,score,big\n1,2.5,\n10,2.5,\n2,0.1,\n20,0.1,\n3,,\n30,,\n"
    );
}

#[test]
fn expression_errors() {
    let wd = Workdir::new();
    wd.write("p.csv", "id,age\n1,51\n2,x\n");
    let run = wd.run(&["csv", "filter", ".age >", "p.csv"]).code(2);
    assert!(
        run.stderr.contains("1:7: syntax error")
            && run.stderr.contains("\n    .age >\n          ^"),
        "{}",
        run.stderr
    );
    let run = wd.run(&["csv", "filter", ".agee > 5", "p.csv"]).code(2);
    assert!(run.stderr.contains("field \"agee\""), "{}", run.stderr);
    let run = wd.run(&["csv", "map", ".n = .age + 1", "p.csv"]).code(1);
    assert!(
        run.stderr.contains("p.csv: line 3, byte 12: ") && run.stderr.contains("cannot"),
        "{}",
        run.stderr
    );
    let run = wd.run(&["csv", "map", ".age", "p.csv"]).code(1);
    assert!(
        run.stderr.contains("gave 51, not a row object"),
        "{}",
        run.stderr
    );
    let run = wd
        .run(&["csv", "map", "if .id == 2 then .z = 1 else . end", "p.csv"])
        .code(1);
    assert!(run.stderr.contains("adds field \"z\""), "{}", run.stderr);
}

/// The expressions evaluated without the engine give what the engine gives:
/// each is run as written and in a form only the engine takes (`| .`).
#[test]
fn plain_expressions_agree_with_the_engine() {
    let wd = Workdir::new();
    wd.write("sales.csv", sales(20_000));
    let pairs = [
        (
            "map",
            ".t = .amount + .id * 2 | .u = .t / 4 | .qty = -.id",
            ".t = .amount + .id * 2 | .u = .t / 4 | .qty = -.id | .",
        ),
        (
            "map",
            ".t = .amount + .id * 2 | .u = .t / 4",
            ".t = .amount + .id * 2 | .u = .t / 4 | .",
        ),
        (
            "filter",
            r#".amount > 5000.5 or .name == "bob" and .flag"#,
            r#"[.amount > 5000.5 or .name == "bob" and .flag] | .[0]"#,
        ),
        (
            "filter",
            r#"(.qty <= 10 | not) and .city != "Lagos" and .amount != null"#,
            r#"[(.qty <= 10 | not) and .city != "Lagos" and .amount != null] | .[0]"#,
        ),
    ];
    for (verb, plain, engine) in pairs {
        let a = csv(&wd, &[verb, plain, "sales.csv"]);
        let b = csv(&wd, &[verb, engine, "sales.csv"]);
        assert!(a.lines().count() > 100, "{plain}");
        assert_eq!(a, b, "{plain}");
    }
}
