//! `fkit csv`: not built yet (see the open issue).

use crate::io::Exit;

/// Not built yet: this subcommand exits 2 without doing anything.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<std::ffi::OsString>,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Err(Exit::usage("not built yet").into())
}
