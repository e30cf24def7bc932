use fkit::cmd::Cli;
use fkit::io::error::{Outcome, outcome};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let name = cli.command.name();
    match fkit::cmd::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
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
/// failed validation (a bad size, say) reads `fkit: <cmd>: <reason>`.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    use std::error::Error;
    if err.kind() == ErrorKind::ValueValidation
        && let Some(source) = err.source()
    {
        let cmd = std::env::args().nth(1).unwrap_or_default();
        eprintln!("fkit: {cmd}: {source}");
        eprintln!("For more information, try 'fkit {cmd} --help'.");
        return ExitCode::from(2);
    }
    let _ = err.print();
    exit_code(err.exit_code())
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
