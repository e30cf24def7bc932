use crate::io::Output;
use clap::CommandFactory;

/// Print fkit's man page (roff).
///
/// Examples:
///   fkit man | man -l -
///   fkit man > /usr/local/share/man/man1/fkit.1
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    let cmd = super::Cli::command();
    let mut out = Output::stdout().create()?;
    clap_mangen::Man::new(cmd).render(&mut out)?;
    out.finish()
}
