//! `fkit chunk cat`: one byte range of a file to stdout.

use super::parse_range;
use crate::io::output::copy_to_stdout;
use crate::io::{Exit, Input};
use anyhow::{Context, Result, bail};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Stream one byte range of a file to stdout (for `plan` and engines).
///
/// Reads LENGTH bytes from OFFSET (sizes or hex on both sides); a range
/// past the end of the file is an error, so a job never silently gets
/// less than its share. The kernel moves the bytes where it can (splice,
/// copy_file_range).
///
/// Examples:
///   fkit chunk cat big.log --range 0:64M | wc -l
///   fkit chunk plan big.log -C -s 64M | parallel -k --sshlogin : 'fkit chunk cat big.log --range {} | gzip' > big.log.gz
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The file to read (a regular file).
    file: PathBuf,

    /// OFFSET:LENGTH, as `fkit chunk plan` prints them.
    #[arg(short, long, value_name = "OFFSET:LENGTH")]
    range: String,
}

pub fn run(args: Args) -> Result<()> {
    let (offset, length) = parse_range(&args.range)?;
    let name = args.file.display().to_string();
    let mut file = Input::at(Some(&args.file)).open_file()?.into_file();
    let len = file.metadata().with_context(|| name.clone())?.len();
    if offset.checked_add(length).is_none_or(|end| end > len) {
        return Err(Exit::with(
            1,
            format!("{name}: range {offset}:{length} runs past the end ({len} bytes)"),
        )
        .into());
    }
    file.seek(SeekFrom::Start(offset))
        .with_context(|| name.clone())?;
    let copied = copy_to_stdout(&mut file.take(length)).with_context(|| name.clone())?;
    if copied != length {
        bail!("{name}: ended after {copied} of {length} bytes (did it shrink?)");
    }
    Ok(())
}
