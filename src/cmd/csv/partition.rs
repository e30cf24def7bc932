//! `fkit csv partition`: one file per distinct value of a column.

use super::json_out::unquote_field;
use super::key::KeyColumns;
use super::split::FileNames;
use super::{Common, Table, usage};
use crate::io::output::{PendingFile, commit_all};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Write the rows into one file per distinct value of the -s columns,
/// each file with the header, rows in input order.
///
/// Files go into OUTDIR (made if missing), named by --filename with `{}`
/// replaced by the value made safe: letters, digits, `-`, `_` and `.` are
/// kept, anything else (`/` included) becomes `_`, a leading dot too, an
/// empty value is `empty`, names are cut to 100 bytes, and two values that
/// would get the same name (also when differing only in case) get `_2`,
/// `_3`, ... So no name leaves OUTDIR, whatever the data holds. Several
/// columns join their values with `-`. At most 64 files are open at once:
/// any number of groups works. The files appear together at the end (an
/// error leaves none); an existing one is replaced only with --force.
/// Rows are copied byte for byte. Memory: the distinct values.
///
/// Examples:
///   fkit csv partition -s city by-city data.csv
///   fkit csv partition -s region,city --filename 'sales-{}.csv' out sales.csv.gz
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The columns whose values name the files.
    #[arg(
        short,
        long,
        value_name = "COLS",
        allow_hyphen_values = true,
        required = true
    )]
    select: String,

    /// Directory to write the files into.
    #[arg(value_name = "OUTDIR")]
    dir: PathBuf,

    /// File name template; `{}` is the value, made safe.
    #[arg(long, value_name = "TEMPLATE", default_value = "{}.csv")]
    filename: String,

    #[command(flatten)]
    common: Common,
}

/// Files kept open at once; the least recently written is closed first.
const MAX_OPEN: usize = 64;

/// The file of one group: closed (None) when it was least recently used.
struct GroupFile {
    pending: PendingFile,
    writer: Option<BufWriter<File>>,
    last_used: u64,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let naming = FileNames::new(&args.filename)?;
    if args.common.options.out.output.is_some() {
        return Err(usage(
            "partition writes its files into OUTDIR; -o has no meaning here",
        ));
    }
    let mut table = Table::open(&args.common)?;
    let keys = KeyColumns::of(&table, Some(&args.select), false)?;
    let columns = keys.columns().to_vec();
    crate::io::dir::create_dir_all(&args.dir)?;
    let force = args.common.options.out.force;
    let mut header = Vec::new();
    table.write_header(&mut header);
    let mut groups: Vec<GroupFile> = Vec::new();
    let mut by_key: HashMap<Vec<u8>, usize, foldhash::fast::RandomState> = HashMap::default();
    let mut names_taken: HashSet<String> = HashSet::new();
    let mut open = 0usize;
    let mut clock = 0u64;
    let mut key = Vec::new();
    table.sequential(|records| {
        while let Some(record) = records.next()? {
            keys.encode(&record, &mut key);
            clock += 1;
            let g = match by_key.get(&key) {
                Some(&g) => g,
                None => {
                    let values: Vec<_> = columns
                        .iter()
                        .map(|&i| unquote_field(record.get(i).unwrap_or(b"")))
                        .collect();
                    let value = safe_name(&values, &mut names_taken);
                    let path = args.dir.join(naming.name(value));
                    let (file, pending) = PendingFile::create(path, force)?;
                    let mut writer = BufWriter::with_capacity(1 << 16, file);
                    writer.write_all(&header)?;
                    groups.push(GroupFile {
                        pending,
                        writer: Some(writer),
                        last_used: clock,
                    });
                    open += 1;
                    by_key.insert(key.clone(), groups.len() - 1);
                    groups.len() - 1
                }
            };
            if groups[g].writer.is_none() {
                groups[g].writer = Some(BufWriter::with_capacity(
                    1 << 16,
                    groups[g].pending.reopen()?,
                ));
                open += 1;
            }
            if open > MAX_OPEN {
                let oldest = (0..groups.len())
                    .filter(|&i| i != g && groups[i].writer.is_some())
                    .min_by_key(|&i| groups[i].last_used);
                if let Some(i) = oldest {
                    close(&mut groups[i])?;
                    open -= 1;
                }
            }
            let group = &mut groups[g];
            group.last_used = clock;
            if let Some(w) = group.writer.as_mut() {
                w.write_all(record.as_slice())
                    .and_then(|()| w.write_all(b"\n"))
                    .with_context(|| group.pending.target().display().to_string())?;
            }
        }
        Ok(())
    })?;
    let mut pending = Vec::with_capacity(groups.len());
    for mut group in groups {
        close(&mut group)?;
        pending.push(group.pending);
    }
    commit_all(pending, force, true)?.keep();
    Ok(())
}

/// Flush and sync a group's file and close it.
fn close(group: &mut GroupFile) -> Result<()> {
    if let Some(writer) = group.writer.take() {
        let name = || group.pending.target().display().to_string();
        let file = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(name)?;
        file.sync_all().with_context(name)?;
    }
    Ok(())
}

/// A file name for the values of a group that cannot leave the output
/// directory nor collide with a name given before (`taken`, compared
/// case-insensitively for file systems that ignore case).
fn safe_name(values: &[std::borrow::Cow<'_, [u8]>], taken: &mut HashSet<String>) -> String {
    let mut name = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            name.push('-');
        }
        for c in String::from_utf8_lossy(value).chars() {
            let keep = c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
            name.push(if keep { c } else { '_' });
        }
    }
    if name.is_empty() {
        name.push_str("empty");
    }
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    // Windows reserves these names, whatever follows a dot.
    let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        name.push('_');
    }
    if name.len() > 100 {
        let mut end = 100;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    let mut unique = name.clone();
    let mut n = 1;
    while !taken.insert(unique.to_lowercase()) {
        n += 1;
        unique = format!("{name}_{n}");
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::safe_name;
    use std::borrow::Cow;
    use std::collections::HashSet;

    fn name(values: &[&str], taken: &mut HashSet<String>) -> String {
        let values: Vec<Cow<[u8]>> = values.iter().map(|v| Cow::Borrowed(v.as_bytes())).collect();
        safe_name(&values, taken)
    }

    #[test]
    fn names_stay_in_the_directory_and_never_collide() {
        let mut taken = HashSet::new();
        assert_eq!(name(&["../../etc/passwd"], &mut taken), "_._.._etc_passwd");
        assert_eq!(name(&[".."], &mut taken), "_.");
        assert_eq!(name(&[""], &mut taken), "empty");
        assert_eq!(name(&["Berlin"], &mut taken), "Berlin");
        assert_eq!(name(&["berlin"], &mut taken), "berlin_2");
        assert_eq!(name(&["a b"], &mut taken), "a_b");
        assert_eq!(name(&["a/b"], &mut taken), "a_b_2");
        assert_eq!(name(&["Zürich", "2024"], &mut taken), "Zürich-2024");
        assert_eq!(name(&["nul"], &mut taken), "nul_");
        assert_eq!(name(&[&"x".repeat(300)], &mut taken).len(), 100);
    }
}
