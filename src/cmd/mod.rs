//! One module per subcommand: its `Args` (the `--help` text) and `run()`.

use clap::{Args as _, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;

pub mod buffer;
pub mod chunk;
pub mod completions;
pub mod csv;
pub mod gzip;
pub mod json;
pub mod lock;
pub mod man;
pub mod mmap;
pub mod temp;
pub mod watch;

/// A fast, dependable command-line Swiss-army knife for files.
///
/// One subcommand per file-handling technique: buffering, memory maps,
/// locking, temporary files, compression, CSV, JSON, chunking and watching.
/// `-` or no path means stdin/stdout. Exit status: 0 success, 1 failure,
/// 2 usage error (and a peer tool's documented code where fkit mirrors one).
#[derive(Parser, Debug)]
#[command(name = "fkit", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse the command line. When it names a subcommand, only that
    /// subcommand's arguments are built: building all of them is a fifth of
    /// fkit's start-up, and scripts call `fkit lock` or `fkit temp` in loops.
    pub fn parse_args() -> Result<Cli, clap::Error> {
        let args: Vec<OsString> = std::env::args_os().collect();
        let name = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
        match subcommand(name) {
            Some(sub) => {
                let mut matches = top_level().subcommand(sub).try_get_matches_from(&args)?;
                // `_mut` takes the values out; the plain form clones them
                // all first (a tenth of `fkit lock F true`'s own work).
                Cli::from_arg_matches_mut(&mut matches)
            }
            None => Cli::try_parse_from(args),
        }
    }
}

/// The top-level command without its subcommands: the `#[command]`
/// settings of [`Cli`], which a unit test keeps in step.
fn top_level() -> clap::Command {
    clap::Command::new("fkit")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .max_term_width(100)
        .subcommand_required(true)
}

/// One subcommand's arguments, as the derived [`Command`] builds them.
fn subcommand(name: &str) -> Option<clap::Command> {
    type Augment = fn(clap::Command) -> clap::Command;
    let (name, augment): (&'static str, Augment) = match name {
        "buffer" => ("buffer", buffer::Args::augment_args),
        "mmap" => ("mmap", mmap::Args::augment_args),
        "lock" => ("lock", lock::Args::augment_args),
        "temp" => ("temp", temp::Args::augment_args),
        "gzip" => ("gzip", gzip::Args::augment_args),
        "csv" => ("csv", csv::Args::augment_args),
        "json" => ("json", json::Args::augment_args),
        "chunk" => ("chunk", chunk::Args::augment_args),
        "watch" => ("watch", watch::Args::augment_args),
        "completions" => ("completions", completions::Args::augment_args),
        "man" => ("man", man::Args::augment_args),
        _ => return None,
    };
    Some(augment(clap::Command::new(name)))
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Buffer(buffer::Args),
    Mmap(mmap::Args),
    Lock(lock::Args),
    Temp(temp::Args),
    Gzip(gzip::Args),
    Csv(csv::Args),
    Json(json::Args),
    Chunk(chunk::Args),
    Watch(watch::Args),
    Completions(completions::Args),
    Man(man::Args),
}

impl Command {
    /// The subcommand's name, for `fkit: <cmd>: …` messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Buffer(_) => "buffer",
            Command::Mmap(_) => "mmap",
            Command::Lock(_) => "lock",
            Command::Temp(_) => "temp",
            Command::Gzip(_) => "gzip",
            Command::Csv(_) => "csv",
            Command::Json(_) => "json",
            Command::Chunk(_) => "chunk",
            Command::Watch(_) => "watch",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Buffer(args) => buffer::run(args),
        Command::Mmap(args) => mmap::run(args),
        Command::Lock(args) => lock::run(args),
        Command::Temp(args) => temp::run(args),
        Command::Gzip(args) => gzip::run(args),
        Command::Csv(args) => csv::run(args),
        Command::Json(args) => json::run(args),
        Command::Chunk(args) => chunk::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The one-subcommand parser must say exactly what the full one says.
    #[test]
    fn single_subcommand_trees_match_the_full_tree() {
        let mut full = Cli::command();
        full.build();
        for sub in full.get_subcommands() {
            let name = sub.get_name().to_string();
            if name == "help" {
                // clap's own `fkit help …`: parsed by the full tree.
                continue;
            }
            let mut alone = top_level().subcommand(subcommand(&name).expect("listed"));
            alone.build();
            let mine = alone.find_subcommand(&name).expect("built");
            let mut a = mine.clone();
            let mut b = sub.clone();
            assert_eq!(
                a.render_long_help().to_string(),
                b.render_long_help().to_string(),
                "{name}"
            );
            assert_eq!(
                a.render_usage().to_string(),
                b.render_usage().to_string(),
                "{name}"
            );
            assert_eq!(mine.get_version(), sub.get_version(), "{name}");
        }
        assert_eq!(top_level().get_name(), full.get_name());
        assert_eq!(
            top_level().get_version(),
            full.get_version(),
            "the version is the package's"
        );
    }
}
