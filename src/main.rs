//! The `fkit` binary: parse the command line, run the subcommand, report.
//!
//! std's start-up already does what a command-line tool needs before
//! `main`: SIGPIPE is ignored (a closed pipe is an EPIPE error that ends
//! quietly), and descriptors 0-2 are reopened on /dev/null when closed (so
//! no file fkit opens becomes stdout).

use fkit::cmd::Cli;
use fkit::io::error::{Outcome, outcome};
use std::process::ExitCode;

fn main() -> ExitCode {
    run().into()
}

/// Parse, run and report; the process exit status.
fn run() -> u8 {
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let name = cli.command.name();
    match fkit::cmd::run(cli.command) {
        Ok(()) => 0,
        Err(err) => match outcome(&err) {
            Outcome::Quiet(code) => exit_code(code),
            Outcome::Report(code, message) => {
                eprintln!("fkit: {name}: {message}");
                exit_code(code)
            }
        },
    }
}

/// clap's own messages for help, version and most mistakes; a value that
/// failed validation (a bad size, say) reads `fkit: <cmd>: invalid value
/// '<value>' for '<flag>': <reason>`, naming the flag as clap does.
fn usage_error(err: clap::Error) -> u8 {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use std::error::Error;
    if err.kind() == ErrorKind::ValueValidation
        && let Some(source) = err.source()
    {
        let cmd = std::env::args().nth(1).unwrap_or_default();
        let context = |kind| match err.get(kind) {
            Some(ContextValue::String(s)) => Some(s.as_str()),
            _ => None,
        };
        match (
            context(ContextKind::InvalidValue),
            context(ContextKind::InvalidArg),
        ) {
            (Some(value), Some(flag)) => {
                eprintln!("fkit: {cmd}: invalid value '{value}' for '{flag}': {source}")
            }
            _ => eprintln!("fkit: {cmd}: {source}"),
        }
        eprintln!("For more information, try 'fkit {cmd} --help'.");
        return 2;
    }
    let _ = err.print();
    exit_code(err.exit_code())
}

fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}
