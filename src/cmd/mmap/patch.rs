//! `fkit mmap patch`: overwrite bytes in place through a writable map.

use super::find::parse_hex;
use crate::io::map::MappedRange;
use crate::io::{Input, Output, Size};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Overwrite bytes of a file in place, through a writable map.
///
/// Writes the new bytes at --offset and flushes them to the file (msync)
/// before exiting. Never grows or shrinks the file: a range that runs past
/// the end is an error and nothing is changed (like dd conv=notrunc, but
/// checked). --backup first saves the bytes being replaced, synced, to
/// FILE.patch-OFFSET.bak; patching that file back undoes the change:
///   fkit mmap patch FILE --offset OFFSET --from FILE.patch-OFFSET.bak
///
/// Examples:
///   fkit mmap patch disk.img --offset 0x1fe --hex 55aa --backup
///   fkit mmap patch app.cfg --offset 120 --data 'debug=1' --lock
///   fkit mmap patch disk.img --offset 0x1fe --from disk.img.patch-510.bak
///   fkit mmap patch fw.bin --offset 0x40 --hex "$(xxd -p patch.bin)"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The file to change (a regular file: stdin cannot be patched).
    file: PathBuf,

    /// Where the new bytes go: 4096, 4K, 0x1000.
    #[arg(short, long, value_name = "OFFSET")]
    offset: Size,

    /// The new bytes, as text.
    #[arg(short, long, value_name = "STRING", group = "bytes", required = true)]
    data: Option<String>,

    /// The new bytes, as hex: `55aa`, `de ad be ef`, xxd -p's plain dump.
    #[arg(short = 'x', long, value_name = "HEX", group = "bytes")]
    hex: Option<String>,

    /// The new bytes are the contents of this file (a --backup, to undo).
    #[arg(long, value_name = "FILE", group = "bytes")]
    from: Option<PathBuf>,

    /// Save the bytes being replaced to FILE.patch-OFFSET.bak first.
    #[arg(short, long)]
    backup: bool,

    /// Replace an existing backup file.
    #[arg(short, long)]
    force: bool,

    /// Hold an exclusive advisory lock on the file while patching it.
    #[arg(long)]
    lock: bool,
}

pub fn run(args: Args) -> Result<()> {
    let name = args.file.display().to_string();
    let data = match (&args.data, &args.hex, &args.from) {
        (Some(text), _, _) => text.as_bytes().to_vec(),
        (_, Some(hex), _) => parse_hex(hex)?,
        (_, _, Some(path)) => {
            let mut input = Input::at(Some(path)).open()?;
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut input, &mut data)
                .with_context(|| input.name().to_string())?;
            data
        }
        _ => unreachable!("clap requires one of --data, --hex, --from"),
    };
    let offset = args.offset.bytes();
    // Opening checks the range against the file's size: nothing is
    // written unless every byte lands inside the file.
    let mut map = MappedRange::open(&args.file, offset, data.len(), args.lock)?;
    if args.backup {
        let backup = backup_path(&args.file, offset);
        // The backup is the only copy of the bytes about to be overwritten.
        let mut out = Output::to(Some(&backup))
            .force(args.force)
            .last_copy(true)
            .create()?;
        out.write_all(&map)?;
        out.finish()?;
    }
    map.copy_from_slice(&data);
    map.flush()
        .with_context(|| format!("{name}: writing the patched bytes"))?;
    Ok(())
}

fn backup_path(file: &Path, offset: u64) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".patch-{offset}.bak"));
    PathBuf::from(name)
}
