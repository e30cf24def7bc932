//! One module per subcommand: its `Args` (the `--help` text) and `run()`.

use clap::{Parser, Subcommand};

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
