//! Command-line options that many commands share, defined once and
//! `#[command(flatten)]`ed into each command's `Args`.

use super::{Input, Output};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// `-o/--output FILE`, `-f/--force` and `--sync`: where a command writes
/// its data.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Write here (atomically: temporary file, then rename) instead of
    /// stdout; on any error the file is left untouched.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace OUTPUT if it exists (it is fsynced before it replaces it).
    #[arg(short, long)]
    pub force: bool,

    /// fsync OUTPUT even when it replaces nothing.
    #[arg(long)]
    pub sync: bool,
}

impl OutputArgs {
    pub fn create(&self) -> Result<Output> {
        Output::to(self.output.as_ref())
            .force(self.force)
            .sync(self.sync)
            .create()
    }
}

/// `--no-decompress` and `-q/--quiet`: how a record-reading command opens
/// its input (gzip and bzip2 decoded on the fly, a progress bar).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReadArgs {
    /// Read gzip and bzip2 input as it is, without decoding it.
    #[arg(long)]
    pub no_decompress: bool,

    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

impl ReadArgs {
    pub fn open(&self, path: Option<&Path>) -> Result<Input> {
        Input::at(path)
            .decompress(!self.no_decompress)
            .progress(!self.quiet)
            .open()
    }
}
