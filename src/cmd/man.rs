//! `fkit man`: manual pages, one per command and subcommand, made from the
//! same text as `--help` (clap_mangen renders the sections).

use crate::io::{Exit, Output};
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

/// Print a man page (roff), or write them all.
///
/// Without SUBCOMMAND, fkit's own page, which lists the others; with one
/// (or a nested one: `csv join`), that command's page: name, synopsis,
/// description, options and the same examples as its --help. --dir writes
/// every page into DIR, named as man looks them up: fkit.1, fkit-gzip.1,
/// fkit-csv-join.1 …; existing pages are replaced only with --force.
///
/// Examples:
///   fkit man | man -l -
///   fkit man csv join | man -l -
///   fkit man > /usr/local/share/man/man1/fkit.1
///   fkit man --dir /usr/local/share/man/man1 --force && mandb -q
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The command whose page to print (`gzip`, `csv join`).
    #[arg(value_name = "SUBCOMMAND", conflicts_with = "dir")]
    path: Vec<String>,

    /// Write every page into DIR (created if missing) instead.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,

    /// With --dir: replace existing pages.
    #[arg(short, long, requires = "dir")]
    force: bool,
}

pub fn run(args: Args) -> Result<()> {
    let mut root = without_help(super::Cli::command());
    root.build();
    if let Some(dir) = &args.dir {
        if !dir.is_dir() {
            std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        }
        let mut pages = Vec::new();
        collect(&root, &mut pages);
        for cmd in pages {
            let path = dir.join(format!("{}.1", page_name(cmd)));
            let mut out = Output::to(Some(&path)).force(args.force).create()?;
            render(cmd, &mut out).with_context(|| path.display().to_string())?;
            out.finish()?;
        }
        return Ok(());
    }
    let mut cmd = &root;
    for name in &args.path {
        cmd = cmd
            .get_subcommands()
            .find(|sub| sub.get_name() == name)
            .ok_or_else(|| {
                Exit::usage(format!(
                    "{}: no such subcommand (see `{} --help`)",
                    args.path.join(" "),
                    cmd.get_bin_name().unwrap_or("fkit")
                ))
            })?;
    }
    let mut out = Output::stdout().create()?;
    render(cmd, &mut out)?;
    out.finish()
}

/// clap's `help` subcommands are not commands of fkit's: no page lists them.
fn without_help(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    let mut cmd = cmd.disable_help_subcommand(true);
    for name in names {
        cmd = cmd.mut_subcommand(name, without_help);
    }
    cmd
}

/// Every command of the tree, the root first.
fn collect<'a>(cmd: &'a clap::Command, pages: &mut Vec<&'a clap::Command>) {
    pages.push(cmd);
    for sub in cmd.get_subcommands() {
        collect(sub, pages);
    }
}

/// `fkit-csv-join`: the name clap gives a built subcommand, and the one
/// its parent's page refers to.
fn page_name(cmd: &clap::Command) -> &str {
    cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
}

/// One page. clap_mangen renders the title, synopsis, options and
/// subcommands; the description is set here, because clap_mangen fills
/// every line of it into paragraphs, and the help text's indented lines
/// (tables, examples) must stay lines: they are set without filling, and
/// the examples in an EXAMPLES section.
fn render(cmd: &clap::Command, out: &mut dyn Write) -> Result<()> {
    let about = cmd
        .get_long_about()
        .or_else(|| cmd.get_about())
        .map(|a| a.to_string())
        .unwrap_or_default();
    let (prose, examples) = match about.split_once("\nExamples:\n") {
        Some((prose, examples)) => (prose, Some(examples)),
        None => (about.as_str(), None),
    };
    let has_args = cmd
        .get_arguments()
        .any(|a| !a.is_hide_set() && a.get_id() != "help" && a.get_id() != "version");
    let has_subcommands = cmd.get_subcommands().next().is_some();
    let source = format!("fkit {}", env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(cmd.clone()).source(source);
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    writeln!(out, ".SH DESCRIPTION")?;
    write_text(prose, out)?;
    if has_args {
        man.render_options_section(out)?;
    }
    if has_subcommands {
        man.render_subcommands_section(out)?;
    }
    if let Some(examples) = examples {
        writeln!(out, ".SH EXAMPLES")?;
        write_text(examples, out)?;
    }
    man.render_version_section(out)?;
    Ok(())
}

/// Paragraphs of help text: plain lines are filled, indented ones kept as
/// they are (`.nf`), with their indentation less the help's two spaces.
fn write_text(text: &str, out: &mut dyn Write) -> Result<()> {
    let mut verbatim = false;
    for (i, paragraph) in text.trim().split("\n\n").enumerate() {
        if i > 0 {
            writeln!(out, ".PP")?;
        }
        for line in paragraph.lines() {
            let indented = line.starts_with(' ');
            if indented != verbatim {
                writeln!(out, "{}", if indented { ".nf" } else { ".fi" })?;
                verbatim = indented;
            }
            let line = if indented {
                line.strip_prefix("  ").unwrap_or(line)
            } else {
                line
            };
            writeln!(out, "{}", roff_line(line))?;
        }
    }
    if verbatim {
        writeln!(out, ".fi")?;
    }
    Ok(())
}

/// A line of text as roff prints it: backslashes escaped, dashes as
/// dashes (not hyphens, so a copied `--flag` works), and a leading `.` or
/// `'` not taken for a request.
fn roff_line(line: &str) -> String {
    let mut text = line.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        text.insert_str(0, "\\&");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page_and_the_names_parents_refer_to() {
        let mut root = without_help(crate::cmd::Cli::command());
        root.build();
        let mut pages = Vec::new();
        collect(&root, &mut pages);
        let names: Vec<&str> = pages.iter().map(|c| page_name(c)).collect();
        for want in ["fkit", "fkit-gzip", "fkit-csv-join", "fkit-chunk-split"] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.ends_with("-help")), "{names:?}");
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(roff_line(r"a\b --x"), r"a\eb \-\-x");
        assert_eq!(roff_line(".hidden"), r"\&.hidden");
    }
}
