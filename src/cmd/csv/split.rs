//! `fkit csv split`: one CSV into files of N rows, or K equal parts.

use super::{Common, Table, usage};
use crate::io::Output;
use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Split the rows into files of N rows (-n, 1000 by default) or into K
/// parts of equal size (-k), each file with the header.
///
/// Files go into OUTDIR (made if missing), named by --filename with `{}`
/// replaced by the number of the file's first row, counted from 0 (as xsv
/// names them): `0.csv`, `1000.csv`, ... A name cannot leave OUTDIR. Each
/// file is written atomically, and an existing one is replaced only with
/// --force. Rows are copied byte for byte, quoted newlines included. With
/// -k the rows are counted first, so the input must be a file (it is read
/// twice); a part holds rows/K rows, the first rows%K parts one more.
/// Streams: constant memory.
///
/// Examples:
///   fkit csv split parts data.csv
///   fkit csv split -n 100000 --filename 'data-{}.csv' parts data.csv.gz
///   fkit csv split -k 4 quarters data.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Directory to write the files into.
    #[arg(value_name = "OUTDIR")]
    dir: PathBuf,

    /// Rows per file.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 1000)]
    rows: u64,

    /// Split into this many parts of equal size instead.
    #[arg(short = 'k', long, value_name = "K", conflicts_with = "rows")]
    parts: Option<u64>,

    /// File name template; `{}` is the number of the file's first row.
    #[arg(long, value_name = "TEMPLATE", default_value = "{}.csv")]
    filename: String,

    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let naming = FileNames::new(&args.filename)?;
    if args.common.options.out.output.is_some() {
        return Err(usage(
            "split writes its files into OUTDIR; -o has no meaning here",
        ));
    }
    if args.rows == 0 || args.parts == Some(0) {
        return Err(usage("-n and -k must be at least 1"));
    }
    // How many rows each file gets, in order (the last size repeats).
    let sizes: Vec<u64> = match args.parts {
        None => vec![args.rows],
        Some(k) => {
            if args.common.reads_stdin() {
                return Err(usage(
                    "-k counts the rows first and needs a file, not stdin; use -n",
                ));
            }
            let total = count_rows(&args.common)?;
            let (each, extra) = (total / k, total % k);
            let mut sizes: Vec<u64> = (0..k).map(|i| each + u64::from(i < extra)).collect();
            sizes.retain(|&n| n > 0);
            sizes
        }
    };
    let mut table = Table::open(&args.common)?;
    crate::io::dir::create_dir_all(&args.dir)?;
    let mut header = Vec::new();
    table.write_header(&mut header);
    let force = args.common.options.out.force;
    let mut file: Option<Output> = None;
    let (mut row, mut left, mut part) = (0u64, 0u64, 0usize);
    table.sequential(|records| {
        while let Some(record) = records.next()? {
            if left == 0 {
                if let Some(done) = file.take() {
                    done.finish()?;
                }
                let Some(&size) = sizes.get(part).or(sizes.last()) else {
                    break;
                };
                let path = args.dir.join(naming.name(row));
                let mut out = Output::to(Some(&path)).force(force).create()?;
                out.write_all(&header)?;
                file = Some(out);
                (left, part) = (size, part + 1);
            }
            if let Some(out) = file.as_mut() {
                out.write_all(record.as_slice())?;
                out.write_all(b"\n")?;
            }
            left -= 1;
            row += 1;
        }
        Ok(())
    })?;
    if let Some(done) = file.take() {
        done.finish()?;
    }
    Ok(())
}

/// The data rows of the input, counted in a first pass.
fn count_rows(common: &Common) -> Result<u64> {
    Table::open(common)?.count_rows()
}

/// File names from a template holding `{}` once, checked to name a file
/// inside the output directory.
pub(crate) struct FileNames {
    before: String,
    after: String,
}

impl FileNames {
    pub(crate) fn new(template: &str) -> Result<FileNames> {
        let Some((before, after)) = template.split_once("{}") else {
            return Err(usage(format!("--filename {template:?}: must hold {{}}")));
        };
        if after.contains("{}") {
            return Err(usage(format!("--filename {template:?}: holds {{}} twice")));
        }
        if template.chars().any(|c| c == '/' || c == '\\' || c == '\0')
            || Path::new(template).is_absolute()
        {
            return Err(usage(format!(
                "--filename {template:?}: a file name, without a directory"
            )));
        }
        Ok(FileNames {
            before: before.to_string(),
            after: after.to_string(),
        })
    }

    /// The name with `{}` replaced by `part` (made safe by the caller).
    pub(crate) fn name(&self, part: impl std::fmt::Display) -> String {
        format!("{}{part}{}", self.before, self.after)
    }
}
