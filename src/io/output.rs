//! Writing an output: stdout, or a file replaced atomically.
//!
//! A file output is written to a temporary file in the target's directory,
//! flushed, fsynced and renamed over the target only by [`Output::finish`].
//! If the command fails, panics or is interrupted first, the temporary file
//! is removed and an existing target is untouched. An existing target is
//! replaced only with `force`, and keeps its permissions.
//!
//! ```no_run
//! # use fkit::io::Output;
//! # use std::io::Write;
//! # fn f() -> anyhow::Result<()> {
//! let mut out = Output::to(Some("out.json")).force(false).create()?;
//! out.write_all(b"{}\n")?;
//! out.finish()?;
//! # Ok(()) }
//! ```

use super::input::{DEFAULT_BUFFER, display_name};
use super::signal;
use anyhow::{Context, Result, bail};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// Where an output goes and how. Build with [`Output::to`].
pub struct OutputSpec {
    path: Option<PathBuf>,
    force: bool,
    buffer: usize,
    sync: bool,
}

/// An output being written. Dropping it without [`Output::finish`] discards
/// a file output.
pub struct Output {
    name: String,
    sink: Sink,
}

enum Sink {
    Stdout(BufWriter<RawStdout>),
    /// A device, FIFO or socket: written in place (it cannot be replaced,
    /// and renaming a file over `/dev/null` would be a disaster).
    Special(BufWriter<File>),
    File {
        writer: BufWriter<NamedTempFile>,
        target: PathBuf,
        force: bool,
        sync: bool,
    },
}

impl Output {
    /// Start describing the output at `path`; `None` or `-` is stdout.
    pub fn to<P: AsRef<Path>>(path: Option<P>) -> OutputSpec {
        let path = path
            .map(|p| p.as_ref().to_path_buf())
            .filter(|p| p.as_os_str() != "-");
        OutputSpec {
            path,
            force: false,
            buffer: DEFAULT_BUFFER,
            sync: true,
        }
    }

    /// The output's name for messages: its path, or `<stdout>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Flush everything; for a file, fsync it and rename it into place.
    pub fn finish(self) -> Result<()> {
        let name = self.name;
        match self.sink {
            Sink::Stdout(mut w) => w.flush().with_context(|| name.clone()),
            Sink::Special(mut w) => w.flush().with_context(|| name.clone()),
            Sink::File {
                writer,
                target,
                force,
                sync,
            } => {
                let temp = writer
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| name.clone())?;
                commit(temp, &target, force, sync).with_context(|| name.clone())
            }
        }
    }
}

impl OutputSpec {
    /// Replace an existing file (`--force`). Without it an existing file is an error.
    pub fn force(mut self, yes: bool) -> Self {
        self.force = yes;
        self
    }

    /// Write in blocks of this many bytes.
    pub fn buffer(mut self, bytes: usize) -> Self {
        self.buffer = bytes.max(1);
        self
    }

    /// Whether to fsync a file output before it replaces the target
    /// (default yes: never report success for data still only in RAM).
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    pub fn create(self) -> Result<Output> {
        let name = match &self.path {
            None => "<stdout>".to_string(),
            Some(p) => display_name(Some(p)),
        };
        let sink = match self.path {
            None => Sink::Stdout(BufWriter::with_capacity(self.buffer, RawStdout::new())),
            Some(target) if is_special(&target) => {
                let file = fs::OpenOptions::new()
                    .write(true)
                    .open(&target)
                    .with_context(|| name.clone())?;
                Sink::Special(BufWriter::with_capacity(self.buffer, file))
            }
            Some(target) => {
                refuse_existing(&target, self.force)?;
                // Replace what a symlink points to, and keep the link.
                let target = match fs::symlink_metadata(&target) {
                    Ok(m) if m.file_type().is_symlink() => {
                        fs::canonicalize(&target).with_context(|| name.clone())?
                    }
                    _ => target,
                };
                let temp = temp_beside(&target).with_context(|| name.clone())?;
                Sink::File {
                    writer: BufWriter::with_capacity(self.buffer, temp),
                    target,
                    force: self.force,
                    sync: self.sync,
                }
            }
        };
        Ok(Output { name, sink })
    }
}

/// True for an existing target that is not a regular file or a directory
/// (after following symlinks): `/dev/null`, a FIFO, a terminal.
pub fn is_special(target: &Path) -> bool {
    fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Error unless `target` may be written: it does not exist, or `force`.
pub fn refuse_existing(target: &Path, force: bool) -> Result<()> {
    if !force && fs::symlink_metadata(target).is_ok() {
        bail!(
            "{}: already exists (use --force to overwrite)",
            target.display()
        );
    }
    Ok(())
}

/// A new temporary file in the directory of `target`, so that the final
/// rename stays on one file system and is atomic. It is registered for
/// removal on Ctrl-C. New files get 0666 less the umask, like any file a
/// shell redirection creates; a replaced file's mode is copied at commit.
pub fn temp_beside(target: &Path) -> io::Result<NamedTempFile> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{file_name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".fkit-tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let temp = builder.tempfile_in(dir)?;
    signal::remove_on_interrupt(temp.path());
    Ok(temp)
}

/// Sync `temp` and rename it over `target`; the old file's permissions are
/// kept. Without `force` the rename refuses to replace a file that appeared
/// meanwhile.
pub fn commit(temp: NamedTempFile, target: &Path, force: bool, sync: bool) -> io::Result<()> {
    let temp_path = temp.path().to_path_buf();
    if is_special(target) {
        // Never rename over a device or FIFO: copy into it instead.
        let result = io::copy(
            &mut File::open(&temp_path)?,
            &mut fs::OpenOptions::new().write(true).open(target)?,
        )
        .map(drop);
        signal::forget(&temp_path);
        return result;
    }
    let result = (|| {
        if let Ok(meta) = fs::metadata(target) {
            temp.as_file().set_permissions(meta.permissions())?;
        }
        if sync {
            temp.as_file().sync_all()?;
        }
        let persisted = if force {
            temp.persist(target)
        } else {
            temp.persist_noclobber(target)
        };
        persisted.map_err(|e| e.error)?;
        if sync {
            sync_parent(target)?;
        }
        Ok(())
    })();
    signal::forget(&temp_path);
    result
}

/// Make a rename durable: fsync the directory that holds `path`.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Stdout(w) => w.write(buf),
            Sink::Special(w) => w.write(buf),
            Sink::File { writer, .. } => writer.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(w) => w.write_all(buf),
            Sink::Special(w) => w.write_all(buf),
            Sink::File { writer, .. } => writer.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(w) => w.flush(),
            Sink::Special(w) => w.flush(),
            Sink::File { writer, .. } => writer.flush(),
        }
    }
}

/// Stdout without std's line buffering: writes go to fd 1 in the sizes the
/// caller chose (std's `Stdout` is a `LineWriter`, which splits writes at
/// newlines and copies the tail).
pub struct RawStdout {
    #[cfg(unix)]
    file: std::mem::ManuallyDrop<File>,
    #[cfg(not(unix))]
    out: io::Stdout,
}

impl RawStdout {
    pub fn new() -> RawStdout {
        #[cfg(unix)]
        {
            use std::os::unix::io::FromRawFd;
            // SAFETY: fd 1 stays open for the life of the process and is
            // never closed here (ManuallyDrop).
            let file = unsafe { File::from_raw_fd(1) };
            RawStdout {
                file: std::mem::ManuallyDrop::new(file),
            }
        }
        #[cfg(not(unix))]
        RawStdout { out: io::stdout() }
    }
}

impl Default for RawStdout {
    fn default() -> Self {
        RawStdout::new()
    }
}

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(unix)]
        return (&*self.file).write(buf);
        #[cfg(not(unix))]
        return self.out.write(buf);
    }

    fn flush(&mut self) -> io::Result<()> {
        #[cfg(not(unix))]
        self.out.flush()?;
        Ok(())
    }
}
