mod common;

use common::Workdir;

#[test]
fn version_and_top_level_help() {
    let wd = Workdir::new();
    let version = wd.run(&["--version"]).ok().stdout_str();
    assert!(version.starts_with("fkit "), "{version}");
    let help = wd.run(&["--help"]).ok().stdout_str();
    for cmd in [
        "buffer", "mmap", "lock", "temp", "gzip", "csv", "json", "chunk", "watch",
    ] {
        assert!(help.contains(cmd), "top-level help lists {cmd}");
    }
}

#[test]
fn every_subcommand_help_has_a_description_and_examples() {
    let wd = Workdir::new();
    for cmd in [
        "buffer",
        "mmap",
        "lock",
        "temp",
        "gzip",
        "csv",
        "json",
        "chunk",
        "watch",
        "completions",
        "man",
    ] {
        let help = wd.run(&[cmd, "--help"]).ok().stdout_str();
        let examples = help.matches(&format!("fkit {cmd}")).count();
        assert!(
            examples >= 2,
            "`fkit {cmd} --help` needs two examples:\n{help}"
        );
    }
}

#[test]
fn unknown_subcommands_and_flags_are_usage_errors() {
    let wd = Workdir::new();
    wd.run(&["frobnicate"]).code(2);
    wd.run(&["buffer", "--no-such-flag"]).code(2);
}

#[test]
fn completions_and_man_page() {
    let wd = Workdir::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = wd.run(&["completions", shell]).ok().stdout_str();
        assert!(script.contains("fkit"), "{shell} completions mention fkit");
    }
    let bash = wd.run(&["completions", "bash"]).ok().stdout_str();
    assert!(bash.contains("buffer") && bash.contains("--ring"));
    let man = wd.run(&["man"]).ok().stdout_str();
    assert!(
        man.starts_with(".ie") || man.contains(".TH fkit"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("buffer"));
}

/// The text of a man page as a reader sees it, by `man -l` (or groff);
/// None when neither is installed.
fn render_man_page(path: &std::path::Path) -> Option<common::Run> {
    use std::process::Command;
    let mut cmd = if common::have("man") {
        let mut cmd = Command::new("man");
        cmd.arg("-l").arg(path);
        cmd
    } else if common::have("groff") {
        let mut cmd = Command::new("groff");
        cmd.args(["-k", "-man", "-Tutf8"]).arg(path);
        cmd
    } else {
        return None;
    };
    cmd.env("MANWIDTH", "200")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("LC_ALL", "C.UTF-8")
        .env("GROFF_NO_SGR", "1");
    Some(common::run_command(&mut cmd, b""))
}

#[test]
fn a_man_page_for_every_command_with_its_examples() {
    let wd = Workdir::new();
    wd.run(&["man", "--dir", "pages"]).ok();
    let mut pages: Vec<String> = std::fs::read_dir(wd.join("pages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for want in [
        "fkit.1",
        "fkit-gzip.1",
        "fkit-csv-join.1",
        "fkit-chunk-split.1",
        "fkit-temp.1",
        "fkit-man.1",
    ] {
        assert!(pages.iter().any(|p| p == want), "{want} in {pages:?}");
    }
    // A page for one command is the one the set holds.
    assert_eq!(wd.run(&["man"]).ok().stdout, wd.read("pages/fkit.1"));
    assert_eq!(
        wd.run(&["man", "csv", "join"]).ok().stdout,
        wd.read("pages/fkit-csv-join.1")
    );
    let run = wd.run(&["man", "csv", "nosuch"]).code(2);
    assert!(run.stderr.contains("csv nosuch"), "{}", run.stderr);
    // Never replaced without --force.
    wd.run(&["man", "--dir", "pages"]).code(1);
    wd.run(&["man", "--dir", "pages", "--force"]).ok();

    let mut rendered_any = false;
    for page in &pages {
        let roff = String::from_utf8(wd.read(&format!("pages/{page}"))).unwrap();
        // Every page a SUBCOMMANDS section names exists.
        for line in roff.lines() {
            if let Some(name) = line.strip_suffix("(1)").filter(|l| l.starts_with("fkit")) {
                let file = format!("{}.1", name.replace("\\-", "-"));
                assert!(
                    pages.contains(&file),
                    "{page} names {file}, which is missing"
                );
            }
        }
        // The command the page is about, from its synopsis: `fkit csv join`.
        let synopsis = roff.split(".SH SYNOPSIS\n").nth(1).expect("a synopsis");
        let command = synopsis
            .strip_prefix("\\fB")
            .and_then(|s| s.split("\\fR").next())
            .expect("the command in bold")
            .replace("\\-", "-");
        let mut args: Vec<&str> = command.split(' ').skip(1).collect();
        args.push("--help");
        let help = wd.run(&args).ok().stdout_str();
        let Some(rendered) = render_man_page(&wd.join(&format!("pages/{page}"))) else {
            eprintln!("skipped rendering: neither man nor groff installed");
            continue;
        };
        rendered_any = true;
        assert_eq!(rendered.status, 0, "{page}: {}", rendered.stderr);
        // Long words that cannot be broken (a JSON shape in a help line)
        // only make groff say so; anything else is a broken page.
        let complaints: Vec<&str> = rendered
            .stderr
            .lines()
            .filter(|l| !l.contains("cannot adjust line") && !l.contains("cannot break line"))
            .collect();
        assert!(complaints.is_empty(), "{page}: {complaints:?}");
        let text = rendered.stdout_str();
        let name = page.trim_end_matches(".1");
        assert!(
            text.contains("NAME") && text.contains(name),
            "{page}:\n{text}"
        );
        let examples = help.split("Examples:\n").nth(1).unwrap_or("");
        let examples = examples.split("\nUsage:").next().unwrap_or("");
        // --help wraps long lines to the terminal: compare the words.
        let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words(&text).contains(&words(examples)),
            "{page}: the examples of `{command} --help` are not on the page:\n{examples}\n{text}"
        );
        if !examples.trim().is_empty() {
            assert!(text.contains("EXAMPLES"), "{page}");
        }
    }
    if !rendered_any {
        eprintln!("skipped: man and groff are not installed; pages were written, not rendered");
    }
}

#[test]
fn a_bad_flag_value_names_the_flag() {
    let wd = Workdir::new();
    wd.write("f", b"abc");
    let run = wd.run(&["mmap", "view", "--cols", "1000", "f"]).code(2);
    let stderr = run.stderr;
    assert!(
        stderr.starts_with(
            "fkit: mmap: invalid value '1000' for '--cols <N>': 1000 is not in 0..=256"
        ),
        "{stderr}"
    );
}
