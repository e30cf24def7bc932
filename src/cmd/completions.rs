use crate::io::Output;
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;

/// Print a shell completion script.
///
/// Examples:
///   fkit completions bash > /etc/bash_completion.d/fkit
///   fkit completions zsh > "${fpath[1]}/_fkit"
///   fkit completions fish > ~/.config/fish/completions/fkit.fish
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The shell: bash, zsh, fish, powershell or elvish.
    shell: Shell,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut cmd = super::Cli::command();
    let mut out = Output::stdout().create()?;
    clap_complete::generate(args.shell, &mut cmd, "fkit", &mut out);
    out.flush()?;
    out.finish()
}
