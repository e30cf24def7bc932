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
