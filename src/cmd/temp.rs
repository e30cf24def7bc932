//! `fkit temp`: temporary files and directories (mktemp, sponge).

use crate::io::child::Child;
use crate::io::output::spill_file;
use crate::io::{Exit, Input, Output, signal};
use anyhow::{Context, Result, bail};
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Create temporary files and directories; soak stdin into a file.
///
/// Creates a file (mode 0600, created exclusively) or, with -d, a directory
/// (0700) and prints its path; as with mktemp the umask still applies
/// (umask 277 gives 0400). Takes mktemp's options with mktemp's meaning: a
/// TEMPLATE has at least three consecutive X's, the last run of which
/// becomes random characters; what follows the last X is a suffix
/// (`out.XXXXXX.json`). TEMPLATE is relative to the current directory,
/// or to DIR with -p DIR/--tmpdir[=DIR] ($TMPDIR or /tmp without DIR);
/// -t puts a TEMPLATE of one name in $TMPDIR (or DIR, or /tmp). Without a
/// template the path is in $TMPDIR (or /tmp) and named tmp.XXXXXXXXXX.
/// -u prints a name that does not exist yet and creates nothing; -q fails
/// without a message when the path cannot be created. Errors exit 1, as
/// mktemp's do.
///
/// With --exec, the path is created, handed to COMMAND as `{}` in its
/// arguments and as FKIT_TEMP in its environment, and removed when COMMAND
/// ends, whether it succeeded, failed or was interrupted; fkit exits with
/// COMMAND's status.
///
/// With --soak FILE (sponge), all of stdin is read first, spilled to a
/// temporary file beside FILE (not RAM), then FILE is replaced atomically,
/// keeping its permissions; so a pipeline may read and write the same file.
/// Without FILE the soaked input goes to stdout.
///
/// Examples:
///   f=$(fkit temp)                          # like mktemp
///   d=$(fkit temp -d -t build.XXXXXX)       # like mktemp -d -t build.XXXXXX
///   fkit temp out.XXXXXX.json               # out.a8Zk2q.json here, like mktemp
///   fkit temp -p /var/tmp -u job.XXXX       # /var/tmp/job.Q3ac (not created)
///   fkit temp --tmpdir -q cache.XXXXXX || exit 1
///   fkit temp -d --exec -- tar xf pkg.tar -C {}
///   sort data.txt | fkit temp --soak data.txt      # like sponge
///   grep -v tmp list | fkit temp --soak --append list
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// mktemp-style template: its last run of X's (at least 3) becomes
    /// random; what follows it is a suffix.
    #[arg(value_name = "TEMPLATE", conflicts_with_all = ["prefix", "soak"])]
    template: Option<String>,

    /// Create a directory instead of a file.
    #[arg(short, long)]
    directory: bool,

    /// Print a name that does not exist yet; create nothing (mktemp -u).
    #[arg(short = 'u', long, conflicts_with_all = ["exec", "soak"])]
    dry_run: bool,

    /// Fail without a message when the path cannot be created.
    #[arg(short, long)]
    quiet: bool,

    /// TEMPLATE is one name, in $TMPDIR if set, else DIR of -p, else /tmp.
    #[arg(short = 't')]
    in_tmpdir: bool,

    /// Start the name with this (instead of a TEMPLATE; then ten X's follow).
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,

    /// End the name with this (TEMPLATE must then end in X).
    #[arg(long, value_name = "SUFFIX")]
    suffix: Option<String>,

    /// TEMPLATE is relative to DIR (mktemp -p).
    #[arg(short = 'p', long = "in", value_name = "DIR", conflicts_with = "tmpdir", value_parser = any_path())]
    dir: Option<PathBuf>,

    /// TEMPLATE is relative to DIR, or to $TMPDIR (or /tmp) without DIR.
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true, value_parser = any_path())]
    tmpdir: Option<Option<PathBuf>>,

    /// Run COMMAND with the path, then remove the path.
    #[arg(long, requires = "command", conflicts_with = "soak")]
    exec: bool,

    /// Read all of stdin, then replace FILE with it atomically (sponge).
    /// `-` writes to stdout.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    soak: Option<PathBuf>,

    /// With --soak: append to FILE instead of replacing its content.
    #[arg(short, long, requires = "soak")]
    append: bool,

    /// With --soak: fsync FILE even when it is new (replacing a file
    /// always syncs the new content first).
    #[arg(long, requires = "soak")]
    sync: bool,

    /// The command and its arguments, after `--` (with --exec).
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// A directory as mktemp takes it: an empty one means the default.
fn any_path() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().map(PathBuf::from)
}

pub fn run(args: Args) -> Result<()> {
    if let Some(target) = &args.soak {
        return soak(target, args.append, args.sync);
    }
    if !args.command.is_empty() && !args.exec {
        return Err(Exit::usage("a COMMAND after `--` needs --exec").into());
    }
    let name = Name::from_args(&args)?;
    // With --exec, made and registered for removal under the interrupt
    // gate: a Ctrl-C between the two would leave the path behind.
    let gate = args.exec.then(signal::writing);
    let path = match create(&name, &args) {
        Ok(path) => path,
        Err(_) if args.quiet => return Err(Exit::silent(1).into()),
        Err(e) => return Err(e),
    };
    if !args.exec {
        let mut out = Output::stdout().create()?;
        out.write_all(path.as_os_str().as_encoded_bytes())?;
        out.write_all(b"\n")?;
        return out.finish();
    }
    signal::remove_on_interrupt(&path);
    drop(gate);
    let status = run_with(&path, &args.command);
    let removed = remove(&path, args.directory);
    signal::forget(&path);
    let code = status?;
    removed.with_context(|| format!("{}: could not remove", path.display()))?;
    match code {
        0 => Ok(()),
        code => Err(Exit::silent(code).into()),
    }
}

/// A temporary path to make: DIR / PREFIX + random + SUFFIX, decided as
/// mktemp decides it.
#[derive(Debug, PartialEq)]
struct Name {
    /// What the user gave, for messages.
    template: String,
    /// The directory, or None for the current one (printed without `./`).
    dir: Option<PathBuf>,
    prefix: String,
    random: usize,
    suffix: String,
}

impl Name {
    fn from_args(args: &Args) -> Result<Name> {
        let dest_dir = args
            .dir
            .clone()
            .or_else(|| args.tmpdir.clone().flatten())
            .filter(|d| !d.as_os_str().is_empty());
        let in_dest_dir = args.template.is_none()
            || args.in_tmpdir
            || args.dir.is_some()
            || args.tmpdir.is_some();
        let tmpdir = std::env::var_os("TMPDIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        let template = match &args.template {
            Some(t) => t.clone(),
            None => format!("{}XXXXXXXXXX", args.prefix.as_deref().unwrap_or("tmp.")),
        };
        let dir = if !in_dest_dir {
            None
        } else if args.in_tmpdir {
            Some(tmpdir.or(dest_dir).unwrap_or_else(|| "/tmp".into()))
        } else {
            Some(dest_dir.or(tmpdir).unwrap_or_else(|| "/tmp".into()))
        };
        Name::parse(
            &template,
            args.suffix.as_deref(),
            dir,
            args.in_tmpdir,
            args.template.is_some(),
        )
    }

    /// mktemp's rules for a template, with its messages' meaning.
    fn parse(
        template: &str,
        suffix: Option<&str>,
        dir: Option<PathBuf>,
        one_name: bool,
        given: bool,
    ) -> Result<Name> {
        let bad = |reason: String| Exit::with(1, format!("{template}: {reason}"));
        let (stem, suffix) = match suffix {
            Some(s) => {
                if given && !template.ends_with('X') {
                    return Err(bad("with --suffix, the template must end in X".into()).into());
                }
                (template, s)
            }
            // What follows the last X is the suffix.
            None => match template.rfind('X') {
                Some(i) => template.split_at(i + 1),
                None => (template, ""),
            },
        };
        if suffix.contains('/') {
            return Err(bad(format!("invalid suffix \"{suffix}\", contains a '/'")).into());
        }
        let name_part = stem.trim_end_matches('X');
        let random = stem.len() - name_part.len();
        if random < 3 {
            return Err(bad("too few X's in the template (at least 3)".into()).into());
        }
        if one_name && template.contains('/') {
            return Err(bad("with -t the template may not contain a '/'".into()).into());
        }
        if dir.is_some() && Path::new(template).is_absolute() {
            return Err(bad("with -p or --tmpdir the template may not be absolute".into()).into());
        }
        let (parent, prefix) = match name_part.rfind('/') {
            Some(i) => (Some(&name_part[..=i]), &name_part[i + 1..]),
            None => (None, name_part),
        };
        let dir = match (dir, parent) {
            (Some(d), Some(p)) => Some(d.join(p)),
            (Some(d), None) => Some(d),
            (None, Some(p)) => Some(PathBuf::from(p)),
            (None, None) => None,
        };
        Ok(Name {
            template: template.to_string(),
            dir,
            prefix: prefix.to_string(),
            random,
            suffix: suffix.to_string(),
        })
    }
}

/// Create the file or directory and keep it (it is the user's now); with
/// --dry-run, only find a name that does not exist.
fn create(name: &Name, args: &Args) -> Result<PathBuf> {
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(&name.prefix)
        .suffix(&name.suffix)
        .rand_bytes(name.random)
        .disable_cleanup(true);
    // Private, as mktemp makes them: only the owner may read or enter. The
    // umask still applies, as it does to mktemp's open(2) and mkdir(2).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if args.directory { 0o700 } else { 0o600 };
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    let dir = name.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = if args.dry_run {
        builder
            .make_in(&dir, |p| match p.symlink_metadata() {
                Ok(_) => Err(io::ErrorKind::AlreadyExists.into()),
                Err(_) => Ok(()),
            })
            .map(|p| p.path().to_path_buf())
    } else if args.directory {
        builder.tempdir_in(&dir).map(|d| d.path().to_path_buf())
    } else {
        builder.tempfile_in(&dir).map(|f| f.path().to_path_buf())
    };
    let what = if args.directory { "directory" } else { "file" };
    let path = path
        .map_err(|e| io::Error::new(e.kind(), strip_path(e)))
        .with_context(|| {
            let template = format!("{}{}{}", name.prefix, "X".repeat(name.random), name.suffix);
            let shown = match &name.dir {
                Some(d) => d.join(template),
                None => PathBuf::from(template),
            };
            format!("{}: cannot create a {what}", shown.display())
        })?;
    // tempfile made the directory absolute; mktemp prints DIR as given,
    // and a bare template as the relative path it is.
    let file = path
        .file_name()
        .context("a temporary path without a name")?;
    Ok(match &name.dir {
        Some(d) => d.join(file),
        None => PathBuf::from(file),
    })
}

/// An error's reason without the random name tempfile appends to it
/// (`… at path "/abs/dir/fooQ3a"`, its only form): the message names the
/// template instead, as mktemp's does.
fn strip_path(e: io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at path \"") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Run COMMAND with `{}` replaced by the path; its exit code (128 + signal
/// when a signal ended it).
fn run_with(path: &Path, command: &[OsString]) -> Result<i32> {
    let args: Vec<OsString> = command
        .iter()
        .map(|a| match a.to_str() {
            Some(text) if text.contains("{}") => {
                OsString::from(text.replace("{}", &path.to_string_lossy()))
            }
            _ => a.clone(),
        })
        .collect();
    let mut command = Command::new(&args[0]);
    command.args(&args[1..]).env("FKIT_TEMP", path);
    let child = Child::spawn(&mut command)
        .with_context(|| format!("{}: cannot run", args[0].to_string_lossy()))?;
    child.wait().context("waiting for the command")
}

fn remove(path: &Path, directory: bool) -> io::Result<()> {
    let result = if directory {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        // The command may have removed it itself.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// sponge: soak up all of stdin before touching the target.
fn soak(target: &Path, append: bool, sync: bool) -> Result<()> {
    let mut input = Input::at(None::<&str>).open()?;
    if target.as_os_str() == "-" {
        // To stdout: spill to an anonymous temporary file, then copy.
        let mut spill = spill_file(None)?;
        io::copy(&mut input, &mut spill).context("<stdin>")?;
        io::Seek::rewind(&mut spill)?;
        let mut out = Output::stdout().create()?;
        io::copy(&mut spill, &mut out)?;
        return out.finish();
    }
    // Output replaces what a symlink points to, not the link itself, and
    // names the target as the user gave it.
    let name = target.display().to_string();
    if target.is_dir() {
        bail!("{name}: is a directory");
    }
    if !append {
        // Written beside the target and renamed over it at the end: the
        // target is untouched until all of stdin was soaked.
        let mut out = Output::to(Some(target)).force(true).sync(sync).create()?;
        io::copy(&mut input, &mut out).context("<stdin>")?;
        return out.finish();
    }
    // The old content goes first, and is read only once stdin has ended:
    // soak into an anonymous temporary file, then write both.
    let mut spill = spill_file(None)?;
    io::copy(&mut input, &mut spill).context("<stdin>")?;
    io::Seek::rewind(&mut spill)?;
    let mut out = Output::to(Some(target)).append(true).sync(sync).create()?;
    io::copy(&mut spill, &mut out).with_context(|| name.clone())?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(template: &str, suffix: Option<&str>) -> Option<(String, usize, String)> {
        let name = Name::parse(template, suffix, None, false, true).ok()?;
        Some((name.prefix, name.random, name.suffix))
    }

    #[test]
    fn the_last_run_of_xs_is_random_and_the_rest_a_suffix() {
        let t = |p: &str, n, s: &str| Some((p.to_string(), n, s.to_string()));
        assert_eq!(parse("foo.XXXXXX.json", None), t("foo.", 6, ".json"));
        assert_eq!(parse("XXX.XXXX.d", None), t("XXX.", 4, ".d"));
        assert_eq!(parse("aXXX", Some(".c")), t("a", 3, ".c"));
        assert_eq!(parse("aXX.XX", None), None, "too few X's in the last run");
        assert_eq!(
            parse("aXXX.c", Some(".d")),
            None,
            "--suffix needs a final X"
        );
        assert_eq!(parse("XXXa/b", None), None, "a suffix with a '/'");
        let name = Name::parse("sub/t.XXX", None, None, false, true).unwrap();
        assert_eq!(name.dir, Some(PathBuf::from("sub/")));
        assert!(
            Name::parse("a/XXX", None, None, true, true).is_err(),
            "-t: one name"
        );
        let abs = Name::parse("/a/XXX", None, Some("/tmp".into()), false, true);
        assert!(abs.is_err(), "-p with an absolute template");
    }
}
