//! Writing an output: stdout, or a file replaced atomically.
//!
//! A file output is written to a temporary file in the target's directory,
//! flushed and renamed over the target only by [`Output::finish`]. If the
//! command fails, panics or is interrupted first, the temporary file is
//! removed and an existing target is untouched. An existing target is
//! replaced only with `force`, and keeps its permissions.
//!
//! The sync rule, decided here once ([`Durability`]): a file output is
//! fsynced (with its directory) when old data is about to go away: when it
//! replaces an existing file, or when the command says it will remove or
//! overwrite the data this output now holds the only copy of
//! ([`OutputSpec::last_copy`]: gzip removing its input, the bytes
//! `mmap patch --backup` saves). A new file beside an input that stays is
//! renamed into place without fsync, unless `--sync`
//! ([`OutputSpec::sync`]): a crash then loses at most the new file, never
//! the data it was made from.
//!
//! A write that fails names the output, whatever the command was reading
//! at the time ([`WriteFailed`]).
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
use filetime::FileTime;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use tempfile::{NamedTempFile, TempPath};

/// Where an output goes and how. Build with [`Output::to`].
pub struct OutputSpec {
    path: Option<PathBuf>,
    force: bool,
    buffer: usize,
    sync: bool,
    last_copy: bool,
    discard: bool,
    append: bool,
    keep: Option<Kept>,
}

/// A source's mode and times, given to the file that replaces it.
struct Kept {
    permissions: fs::Permissions,
    atime: FileTime,
    mtime: FileTime,
}

/// An output being written. Dropping it without [`Output::finish`] discards
/// a file output.
pub struct Output {
    name: String,
    /// One buffer in front of every destination: a small write is a copy
    /// into it, with no dispatch on where the bytes go (a large one goes
    /// straight through).
    writer: BufWriter<Destination>,
}

/// Where the bytes of an [`Output`] go.
enum Destination {
    Stdout(RawStdout),
    /// A device, FIFO or socket: written in place (it cannot be replaced,
    /// and renaming a file over `/dev/null` would be a disaster).
    Special(File),
    /// A temporary file beside the target, renamed over it by `finish`.
    File(Box<Replacement>),
    /// Nowhere (`gzip -t`: the data is decoded only to be checked).
    Discard,
}

struct Replacement {
    temp: NamedTempFile,
    target: PathBuf,
    force: bool,
    durability: Durability,
    keep: Option<Kept>,
}

/// What a command asked of an output's durability; [`Durability::syncs`]
/// applies the sync rule to it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Durability {
    /// `--sync`: fsync even a new file that replaces nothing.
    pub requested: bool,
    /// The command removes or overwrites, once this output is finished,
    /// the data the output is the only other copy of.
    pub last_copy: bool,
}

impl Durability {
    /// The sync rule: fsync when old data is about to go away (the file
    /// this one replaces, or data the command removes next), or when asked.
    pub fn syncs(self, replaces_a_file: bool) -> bool {
        self.requested || self.last_copy || replaces_a_file
    }
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
            sync: false,
            last_copy: false,
            discard: false,
            append: false,
            keep: None,
        }
    }

    /// Start describing stdout as the output (block-buffered, unlike std's
    /// line-buffered `Stdout`).
    pub fn stdout() -> OutputSpec {
        Output::to(None::<&Path>)
    }

    /// The output's name for messages: its path, or `<stdout>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file being written, for positioned writes and kernel copies
    /// (copy_file_range): the temporary file of a file output, with what
    /// was buffered written to it first. `None` for stdout, a device or a
    /// discarded output.
    pub fn file(&mut self) -> io::Result<Option<&File>> {
        self.writer.flush()?;
        match self.writer.get_ref() {
            Destination::File(r) => Ok(Some(r.temp.as_file())),
            _ => Ok(None),
        }
    }

    /// Append `len` bytes of `src` from byte `at` by a kernel copy
    /// (copy_file_range), when the output is a file (its temporary file,
    /// or stdout redirected to a regular file): no page of them passes
    /// through this process. What was buffered is written first. Returns
    /// how many bytes the kernel copied: 0 when it cannot (a pipe, a
    /// terminal, `>>`, another file system on an old kernel); the caller
    /// writes the rest itself.
    pub fn append_from(&mut self, src: &File, at: u64, len: u64) -> io::Result<u64> {
        self.writer.flush()?;
        let dst = match self.writer.get_ref() {
            Destination::File(r) => r.temp.as_file(),
            Destination::Stdout(RawStdout::File(f)) if f.metadata()?.is_file() => f,
            _ => return Ok(0),
        };
        super::at::kernel_copy(src, at, len, dst, None)
    }

    /// Flush everything; for a file, fsync it when the sync rule says so
    /// and rename it into place. Once this returns, a file output is whole
    /// under its name (and on disk, if it was synced).
    pub fn finish(self) -> Result<()> {
        let name = self.name;
        let failed = |e: io::Error| anyhow::Error::from(WriteFailed::wrap(&name, e));
        let dest = self
            .writer
            .into_inner()
            .map_err(|e| failed(e.into_error()))?;
        match dest {
            Destination::Stdout(_) | Destination::Special(_) | Destination::Discard => Ok(()),
            Destination::File(r) => {
                let Replacement {
                    temp,
                    target,
                    force,
                    durability,
                    keep,
                } = *r;
                if let Some(kept) = &keep {
                    filetime::set_file_handle_times(
                        temp.as_file(),
                        Some(kept.atime),
                        Some(kept.mtime),
                    )
                    .map_err(failed)?;
                }
                if let Some(kept) = &keep {
                    // Before the rename: the file appears with its mode.
                    temp.as_file()
                        .set_permissions(kept.permissions.clone())
                        .map_err(failed)?;
                }
                let synced_dir =
                    commit(temp, &target, force, durability, keep.is_none()).map_err(failed)?;
                if let Some(dir) = synced_dir.then(|| parent_or_dot(&target)) {
                    File::open(dir).and_then(|d| sync_dir(&d)).map_err(failed)?;
                }
                Ok(())
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

    /// `--sync`: fsync a file output (and its directory) even when it
    /// replaces nothing. Without it the sync rule of this module decides.
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    /// The command will remove or overwrite, once this output is finished,
    /// the data the output is now the only other copy of (gzip's input
    /// without `-k`, the bytes `mmap patch --backup` saves): `finish`
    /// fsyncs it first, so the data is always whole on disk somewhere.
    pub fn last_copy(mut self, yes: bool) -> Self {
        self.last_copy = yes;
        self
    }

    /// Write nothing anywhere (a check that decodes only to verify).
    pub fn discard(mut self, yes: bool) -> Self {
        self.discard = yes;
        self
    }

    /// Keep what the target holds and write after it (`sponge -a`). The
    /// result still replaces the target in one rename: the old content is
    /// copied into the temporary file when the output is created.
    pub fn append(mut self, yes: bool) -> Self {
        self.append = yes;
        self
    }

    /// Give the new file `source`'s permissions and access and
    /// modification times (what gzip does for the file it makes).
    pub fn keep_metadata(mut self, source: &fs::Metadata) -> Self {
        self.keep = Some(Kept {
            permissions: source.permissions(),
            atime: FileTime::from_last_access_time(source),
            mtime: FileTime::from_last_modification_time(source),
        });
        self
    }

    /// With [`keep_metadata`](OutputSpec::keep_metadata): this
    /// modification time instead (one a gzip header carried, say).
    pub fn mtime(mut self, mtime: FileTime) -> Self {
        if let Some(kept) = &mut self.keep {
            kept.mtime = mtime;
        }
        self
    }

    pub fn create(self) -> Result<Output> {
        let name = match &self.path {
            None => "<stdout>".to_string(),
            Some(p) => display_name(Some(p)),
        };
        let dest = match self.path {
            _ if self.discard => Destination::Discard,
            None => Destination::Stdout(RawStdout::new()),
            Some(target) if is_special(&target) => {
                let file = fs::OpenOptions::new()
                    .write(true)
                    .append(self.append)
                    .open(&target)
                    .with_context(|| name.clone())?;
                Destination::Special(file)
            }
            Some(target) => {
                refuse_existing(&target, self.force || self.append)?;
                // Replace what a symlink points to, and keep the link.
                let target = match fs::symlink_metadata(&target) {
                    Ok(m) if m.file_type().is_symlink() => {
                        fs::canonicalize(&target).with_context(|| name.clone())?
                    }
                    _ => target,
                };
                let mut temp = temp_beside(&target).with_context(|| name.clone())?;
                if self.append {
                    match File::open(&target) {
                        Ok(mut old) => {
                            io::copy(&mut old, temp.as_file_mut()).with_context(|| name.clone())?;
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e).with_context(|| name.clone()),
                    }
                }
                Destination::File(Box::new(Replacement {
                    temp,
                    target,
                    force: self.force || self.append,
                    durability: Durability {
                        requested: self.sync,
                        last_copy: self.last_copy,
                    },
                    keep: self.keep,
                }))
            }
        };
        Ok(Output {
            name,
            writer: BufWriter::with_capacity(self.buffer, dest),
        })
    }
}

/// One file of a batch that appears all together or not at all (the
/// chunks of `chunk split`): written beside its final name, renamed into
/// place by [`commit_all`]. Dropped uncommitted, it is removed.
pub struct PendingFile {
    temp: TempPath,
    target: PathBuf,
}

impl PendingFile {
    /// A new temporary file beside `target`, open for writing. An existing
    /// `target` is an error unless `force`.
    pub fn create(target: PathBuf, force: bool) -> Result<(File, PendingFile)> {
        refuse_existing(&target, force)?;
        let temp = temp_beside(&target).with_context(|| target.display().to_string())?;
        let (file, temp) = temp.into_parts();
        Ok((file, PendingFile { temp, target }))
    }

    /// Open the temporary file again, to write at its end: a command that
    /// writes many pending files (`csv partition`) closes some and comes
    /// back to them, so open descriptors stay bounded.
    pub fn reopen(&self) -> Result<File> {
        fs::OpenOptions::new()
            .append(true)
            .open(&self.temp)
            .with_context(|| self.target.display().to_string())
    }

    /// The name it will have.
    pub fn target(&self) -> &Path {
        &self.target
    }
}

/// Rename every file of a batch into place, in order. Their contents must
/// be complete already; the sync rule applies to each file as to an
/// [`Output`] (`sync` is `--sync`), and the directories that hold synced
/// files are synced once after the renames. If one rename fails, the files
/// renamed before it are removed again. The renamed files stay removable:
/// until [`Committed::keep`] (once whatever describes them, a manifest, is
/// written too), an error, a drop or Ctrl-C removes them.
pub fn commit_all(files: Vec<PendingFile>, force: bool, sync: bool) -> Result<Committed> {
    let mut done = Committed { paths: Vec::new() };
    let mut dirs_to_sync: Vec<PathBuf> = Vec::new();
    let durability = Durability {
        requested: sync,
        last_copy: false,
    };
    for PendingFile { temp, target } in files {
        // Each file is opened again only to be renamed: open descriptors do
        // not grow with the number of files.
        let reopened = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&temp)
            .map(|file| NamedTempFile::from_parts(file, temp));
        // Renamed and registered under the gate: an interrupt between the
        // two would leave the renamed file behind.
        let gate = signal::writing();
        let synced = reopened
            .and_then(|temp| commit(temp, &target, force, durability, true))
            .map_err(|e| WriteFailed::wrap(&target.display().to_string(), e))?;
        signal::remove_on_interrupt(&target);
        drop(gate);
        let dir = parent_or_dot(&target).to_path_buf();
        done.paths.push(target);
        if synced && !dirs_to_sync.contains(&dir) {
            dirs_to_sync.push(dir);
        }
    }
    for dir in dirs_to_sync {
        File::open(&dir)
            .and_then(|d| sync_dir(&d))
            .with_context(|| dir.display().to_string())?;
    }
    Ok(done)
}

/// Files a batch renamed into place; removed when dropped unless kept.
#[must_use = "dropping the batch removes its files"]
pub struct Committed {
    paths: Vec<PathBuf>,
}

impl Committed {
    /// The batch is complete: its files stay.
    pub fn keep(mut self) {
        for path in std::mem::take(&mut self.paths) {
            signal::forget(&path);
        }
    }
}

impl Drop for Committed {
    fn drop(&mut self) {
        for path in &self.paths {
            let _ = fs::remove_file(path);
            signal::forget(path);
        }
    }
}

/// Stdout as a file, and where the output will start, when it is a regular
/// file written at its end (`> out`, `>> out`): a command can then copy
/// into it by position, and cut it back to that length if what it wrote
/// turns out wrong. Writing inside the file (`1<> out`) would overwrite
/// bytes that a cut could not bring back, so that is `None`, as are pipes
/// and terminals.
pub fn stdout_file() -> Option<(File, u64)> {
    let (file, position) = super::input::stdio_file(super::input::Stdio::Out)?;
    let len = file.metadata().ok()?.len();
    #[cfg(unix)]
    let append = rustix::fs::fcntl_getfl(&file)
        .ok()?
        .contains(rustix::fs::OFlags::APPEND);
    #[cfg(not(unix))]
    let append = false;
    (append || position == len).then_some((file, len))
}

/// An anonymous temporary file, to hold data that must wait or does not
/// fit in memory (sponge's soaked stdin, the sorted runs of an external
/// sort, a spooled chunk): it has no name, so nothing is left behind
/// whatever happens. In `dir`, or the system's temporary directory.
pub fn spill_file(dir: Option<&Path>) -> Result<File> {
    let file = match dir {
        Some(dir) => tempfile::tempfile_in(dir),
        None => tempfile::tempfile(),
    };
    let shown = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    file.with_context(|| format!("cannot create a temporary file in {}", shown.display()))
}

/// A handle that reads what is written through `file` (stdout, opened
/// write-only by the shell, say), where the system can give one.
pub fn reader_of(file: &File) -> Option<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        File::open(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}

/// Copy `input` to stdout unbuffered, letting the kernel move the bytes
/// where it can (std splices or sends a file to a pipe or socket).
pub fn copy_to_stdout(input: &mut impl io::Read) -> io::Result<u64> {
    io::copy(input, &mut io::stdout().lock())
}

/// True for an existing target that is not a regular file or a directory
/// (after following symlinks): `/dev/null`, a FIFO, a terminal.
fn is_special(target: &Path) -> bool {
    fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Error unless `target` may be written: it does not exist, or `force`.
fn refuse_existing(target: &Path, force: bool) -> Result<()> {
    if !force && fs::symlink_metadata(target).is_ok() {
        bail!(
            "{}: already exists (use --force to overwrite)",
            target.display()
        );
    }
    Ok(())
}

fn parent_or_dot(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A new temporary file in the directory of `target`, so that the final
/// rename stays on one file system and is atomic. It is registered for
/// removal on Ctrl-C. New files get 0666 less the umask, like any file a
/// shell redirection creates; a replaced file's mode is copied at commit.
fn temp_beside(target: &Path) -> io::Result<NamedTempFile> {
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
    // Made and registered under the gate: an interrupt's cleanup sees it.
    let _gate = signal::writing();
    let temp = builder.tempfile_in(parent_or_dot(target))?;
    signal::remove_on_interrupt(temp.path());
    Ok(temp)
}

/// Rename `temp` over `target`, fsyncing it first when the sync rule
/// says so; with `copy_mode`, a replaced file's permissions are kept.
/// Without `force` the rename refuses to replace a file that appeared
/// meanwhile. Returns whether the file was synced: its directory then
/// needs a sync too, for the rename to be durable.
fn commit(
    temp: NamedTempFile,
    target: &Path,
    force: bool,
    durability: Durability,
    copy_mode: bool,
) -> io::Result<bool> {
    let temp_path = temp.path().to_path_buf();
    if is_special(target) {
        // Never rename over a device or FIFO: copy into it instead.
        let result = io::copy(
            &mut File::open(&temp_path)?,
            &mut fs::OpenOptions::new().write(true).open(target)?,
        )
        .map(|_| false);
        signal::forget(&temp_path);
        return result;
    }
    let result = (|| {
        let replaced = fs::metadata(target).ok();
        if let Some(meta) = replaced.as_ref().filter(|_| copy_mode) {
            temp.as_file().set_permissions(meta.permissions())?;
        }
        let sync = durability.syncs(replaced.is_some());
        if sync {
            temp.as_file().sync_all()?;
        }
        let persisted = if force {
            temp.persist(target)
        } else {
            temp.persist_noclobber(target)
        };
        persisted.map_err(|e| e.error)?;
        Ok(sync)
    })();
    signal::forget(&temp_path);
    result
}

/// Make the renames in a directory durable (a no-op where directories
/// cannot be synced).
fn sync_dir(dir: &File) -> io::Result<()> {
    #[cfg(unix)]
    dir.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

impl Write for Output {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer
            .write(buf)
            .map_err(|e| WriteFailed::wrap(&self.name, e))
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer
            .write_all(buf)
            .map_err(|e| WriteFailed::wrap(&self.name, e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer
            .flush()
            .map_err(|e| WriteFailed::wrap(&self.name, e))
    }
}

/// A write to an output failed (a full disk, a quota, an I/O error). It
/// travels as the `io::Error` a `Write` must return, with the same kind,
/// and carries the output's name: `main` reports it as
/// `<output>: <reason>`, whatever input a command was reading when it
/// happened (see [`super::error::outcome`]).
#[derive(Debug)]
pub struct WriteFailed {
    output: String,
    error: io::Error,
}

impl WriteFailed {
    /// `error`, tagged with the output it happened on (once: an error
    /// already tagged keeps its name).
    pub fn wrap(output: &str, error: io::Error) -> io::Error {
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<WriteFailed>())
        {
            return error;
        }
        let kind = error.kind();
        io::Error::new(
            kind,
            WriteFailed {
                output: output.to_string(),
                error,
            },
        )
    }

    /// `error` of a copy into `output` (copy_file_range, which reads and
    /// writes in one call), tagged as a failed write when only writing can
    /// have caused it: a full disk or quota, a file too large, a read-only
    /// file system. Other errors are left to the caller's context.
    pub fn wrap_if_writing(output: &str, error: io::Error) -> io::Error {
        use io::ErrorKind::*;
        match error.kind() {
            StorageFull | QuotaExceeded | FileTooLarge | ReadOnlyFilesystem => {
                WriteFailed::wrap(output, error)
            }
            _ => error,
        }
    }

    /// The output's name, as the user gave it.
    pub fn output(&self) -> &str {
        &self.output
    }

    /// What went wrong.
    pub fn error(&self) -> &io::Error {
        &self.error
    }
}

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reason = super::error::reason(&self.error);
        write!(f, "{}: {reason}", self.output)
    }
}

impl std::error::Error for WriteFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Destination::Stdout(w) => w.write(buf),
            Destination::Special(w) => w.write(buf),
            // The file itself, not tempfile's wrapper, whose errors name
            // the temporary path: the message names the output instead.
            Destination::File(r) => r.temp.as_file_mut().write(buf),
            Destination::Discard => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::Stdout(w) => w.flush(),
            Destination::Special(w) => w.flush(),
            Destination::File(r) => r.temp.as_file_mut().flush(),
            Destination::Discard => Ok(()),
        }
    }
}

/// Stdout without std's line buffering: writes go to the stream in the
/// sizes the caller chose (std's `Stdout` is a `LineWriter`, which splits
/// writes at newlines and copies the tail). It writes through a duplicate
/// of the descriptor, which shares the stream's position and flags; std's
/// `Stdout` serves only where a duplicate cannot be had.
enum RawStdout {
    File(File),
    Std(io::Stdout),
}

impl RawStdout {
    fn new() -> RawStdout {
        match super::input::duplicate(&io::stdout()) {
            Some(file) => RawStdout::File(file),
            None => RawStdout::Std(io::stdout()),
        }
    }
}

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            RawStdout::File(file) => file.write(buf),
            RawStdout::Std(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            RawStdout::File(_) => Ok(()),
            RawStdout::Std(out) => out.flush(),
        }
    }
}
