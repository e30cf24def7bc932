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
/// (0700) and prints its path. A TEMPLATE ending in at least three X's works
/// as with mktemp (`build.XXXXXX`): the X's become random characters, and the
/// path is relative to the current directory unless --in is given. Without a
/// template the path is in $TMPDIR (or /tmp) and named tmp.XXXXXXXXXX.
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
///   d=$(fkit temp -d --prefix build.)       # like mktemp -d -t build.XXXXXX
///   fkit temp out.XXXXXX --suffix .json     # ./out.a8Zk2q.json
///   fkit temp -d --exec -- tar xf pkg.tar -C {}
///   sort data.txt | fkit temp --soak data.txt      # like sponge
///   grep -v tmp list | fkit temp --soak --append list
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// mktemp-style template whose trailing X's become random (at least 3).
    #[arg(value_name = "TEMPLATE", conflicts_with_all = ["prefix", "soak"])]
    template: Option<String>,

    /// Create a directory instead of a file.
    #[arg(short, long)]
    directory: bool,

    /// Start the name with this.
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,

    /// End the name with this.
    #[arg(long, value_name = "SUFFIX")]
    suffix: Option<String>,

    /// Create the path in this directory (default: $TMPDIR, or /tmp).
    #[arg(long = "in", value_name = "DIR")]
    dir: Option<PathBuf>,

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

pub fn run(args: Args) -> Result<()> {
    if let Some(target) = &args.soak {
        return soak(target, args.append, args.sync);
    }
    if !args.command.is_empty() && !args.exec {
        return Err(Exit::usage("a COMMAND after `--` needs --exec").into());
    }
    let path = create(&args)?;
    if !args.exec {
        let mut out = Output::stdout().create()?;
        out.write_all(path.as_os_str().as_encoded_bytes())?;
        out.write_all(b"\n")?;
        return out.finish();
    }
    signal::remove_on_interrupt(&path);
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

/// Create the file or directory and keep it (it is the user's now).
fn create(args: &Args) -> Result<PathBuf> {
    let (dir, prefix, random, relative) = match &args.template {
        Some(template) => {
            let stem = template.trim_end_matches('X');
            let random = template.len() - stem.len();
            if random < 3 {
                return Err(Exit::usage(format!(
                    "template \"{template}\" must end in at least 3 X's"
                ))
                .into());
            }
            let (parent, name) = match stem.rfind('/') {
                Some(i) => (Some(PathBuf::from(&stem[..=i])), stem[i + 1..].to_string()),
                None => (None, stem.to_string()),
            };
            // Like mktemp, a bare template is printed as the relative path it is.
            let relative = args.dir.is_none() && parent.is_none();
            let dir = match (&args.dir, parent) {
                (Some(d), Some(p)) => d.join(p),
                (Some(d), None) => d.clone(),
                (None, Some(p)) => p,
                (None, None) => PathBuf::from("."),
            };
            (dir, name, random, relative)
        }
        None => {
            let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
            let prefix = args.prefix.clone().unwrap_or_else(|| "tmp.".to_string());
            (dir, prefix, 10, false)
        }
    };
    let suffix = args.suffix.as_deref().unwrap_or("");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(suffix).rand_bytes(random);
    // Private, as mktemp makes them: only the owner may read or enter.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if args.directory { 0o700 } else { 0o600 };
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    let path = if args.directory {
        builder.tempdir_in(&dir).map(|d| d.keep())
    } else {
        builder
            .tempfile_in(&dir)
            .and_then(|f| f.keep().map_err(|e| e.error))
            .map(|(_, path)| path)
    };
    let path =
        path.with_context(|| format!("{}: cannot create a temporary path", dir.display()))?;
    match path.file_name() {
        Some(name) if relative => Ok(PathBuf::from(name)),
        _ => Ok(path),
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
