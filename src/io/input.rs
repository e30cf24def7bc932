//! Opening an input: a path, or stdin for `-` and no path.
//!
//! Every command opens its input here, through a small builder:
//!
//! ```no_run
//! # use fkit::io::Input;
//! # fn f() -> anyhow::Result<()> {
//! let input = Input::at(Some("data.csv")).buffer(1 << 20).decompress(true).open()?;
//! # Ok(()) }
//! ```

use super::detect::Format;
use super::map::MappedFile;
use super::progress::{Progress, ProgressReader};
use super::read_ahead::ReadAhead;
use crate::codec;
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The default read size: large enough that syscalls stop mattering.
pub const DEFAULT_BUFFER: usize = 128 * 1024;

/// Where an input comes from and how to read it. Build with [`Input::at`].
pub struct InputSpec {
    path: Option<PathBuf>,
    buffer: usize,
    decompress: bool,
    progress: bool,
    lock: bool,
    read_ahead: usize,
}

/// An open input: buffered bytes, its name for messages, and its length
/// when that is known (a regular file that is not decompressed).
pub struct Input {
    name: String,
    path: Option<PathBuf>,
    len: Option<u64>,
    reader: Box<dyn BufRead + Send>,
}

impl Input {
    /// Start describing the input at `path`; `None` or `-` is stdin.
    pub fn at<P: AsRef<Path>>(path: Option<P>) -> InputSpec {
        let path = path
            .map(|p| p.as_ref().to_path_buf())
            .filter(|p| p.as_os_str() != "-");
        InputSpec {
            path,
            buffer: DEFAULT_BUFFER,
            decompress: false,
            progress: false,
            lock: false,
            read_ahead: 0,
        }
    }

    /// The input's name for messages: its path, or `<stdin>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file path, or `None` for stdin.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The number of bytes this input will yield, when known in advance.
    pub fn len(&self) -> Option<u64> {
        self.len
    }

    /// True when the input is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len == Some(0)
    }
}

impl InputSpec {
    /// Read with buffers of this many bytes.
    pub fn buffer(mut self, bytes: usize) -> Self {
        self.buffer = bytes.max(1);
        self
    }

    /// Decode gzip and bzip2 on the fly, recognised by their magic bytes
    /// (commands that read records turn this on unless `--no-decompress`).
    pub fn decompress(mut self, yes: bool) -> Self {
        self.decompress = yes;
        self
    }

    /// Show a progress bar on stderr while reading (when it is a terminal
    /// and the work is long). Pass `!quiet`.
    pub fn progress(mut self, yes: bool) -> Self {
        self.progress = yes;
        self
    }

    /// The name messages use for this input.
    pub fn name(&self) -> String {
        display_name(self.path.as_deref())
    }

    /// Map the input under a shared advisory lock (`--lock`): cooperating
    /// writers then wait while it is read. A named input that cannot be
    /// mapped is an error (a lock on a stream would protect nothing).
    pub fn lock(mut self, yes: bool) -> Self {
        self.lock = yes;
        self
    }

    /// Read a stream on a thread of its own, `blocks` blocks of 256 KiB
    /// ahead ([`ReadAhead`]): reading overlaps the consumer's work, and a
    /// pipeline stopped on an error never waits for a stalled writer.
    pub fn read_ahead(mut self, blocks: usize) -> Self {
        self.read_ahead = blocks;
        self
    }

    /// Open the input as a stream.
    pub fn open(self) -> Result<Input> {
        let name = self.name();
        let (raw, len): (Box<dyn Read + Send>, Option<u64>) = match &self.path {
            None => (Box::new(io::stdin()), None),
            Some(path) => {
                let file = File::open(path).with_context(|| name.clone())?;
                let meta = file.metadata().with_context(|| name.clone())?;
                if meta.is_dir() {
                    anyhow::bail!("{name}: is a directory");
                }
                let len = meta.is_file().then_some(meta.len());
                (Box::new(file), len)
            }
        };
        self.stream(name, raw, len)
    }

    /// The one decision "read by position, or stream": a regular file
    /// (named, or stdin redirected from one with content, from stdin's
    /// current position) can be read at any offset, copied by the kernel or
    /// mapped; anything else (a pipe, a terminal, a device, stdin on a file
    /// that claims a size of 0 as /proc's do) is a stream.
    pub fn open_file_or_stream(self) -> Result<FileOrStream> {
        let name = self.name();
        match &self.path {
            None => match stdin_file() {
                Some((file, start)) => {
                    let end = file.metadata().with_context(|| name.clone())?.len();
                    Ok(FileOrStream::File(RegularInput {
                        file,
                        start,
                        len: end.saturating_sub(start),
                        name,
                        stdin: true,
                    }))
                }
                None => self.open().map(FileOrStream::Stream),
            },
            Some(path) => {
                let file = File::open(path).with_context(|| name.clone())?;
                let meta = file.metadata().with_context(|| name.clone())?;
                if meta.is_dir() {
                    anyhow::bail!("{name}: is a directory");
                }
                if meta.is_file() {
                    return Ok(FileOrStream::File(RegularInput {
                        file,
                        start: 0,
                        len: meta.len(),
                        name,
                        stdin: false,
                    }));
                }
                if self.lock {
                    anyhow::bail!("{name}: --lock needs a regular file");
                }
                self.stream(name, Box::new(file), None)
                    .map(FileOrStream::Stream)
            }
        }
    }

    /// Map the input when it can be mapped (see [`open_file_or_stream`]:
    /// a regular file read from its start), else stream it. With
    /// [`decompress`] on, a mapped input that is compressed is decoded as
    /// a stream from the map. Stdin mapped is left at its end, as reading
    /// it through would leave it.
    ///
    /// [`open_file_or_stream`]: InputSpec::open_file_or_stream
    /// [`decompress`]: InputSpec::decompress
    pub fn open_map_or_stream(self) -> Result<MapOrStream> {
        let regular = match self.clone_settings().open_file_or_stream()? {
            FileOrStream::Stream(input) => return Ok(MapOrStream::Stream(input)),
            FileOrStream::File(regular) => regular,
        };
        if regular.start != 0 || regular.len == 0 {
            // Stdin part read already: the rest is read as a stream. A
            // size of 0 may be a lie (/proc, /sys): a stream too.
            if self.lock && !regular.stdin {
                anyhow::bail!("{}: --lock needs a regular file", regular.name);
            }
            let name = regular.name.clone();
            let len = (regular.len > 0).then_some(regular.len);
            return self
                .stream(name, Box::new(regular.file), len)
                .map(MapOrStream::Stream);
        }
        let map = regular.map(self.lock)?;
        if self.decompress && Format::detect(&map[..map.len().min(4)]).is_some() {
            let name = self.name();
            let len = map.len() as u64;
            return self
                .stream(name, Box::new(map.into_reader()), Some(len))
                .map(MapOrStream::Stream);
        }
        Ok(MapOrStream::Map(map))
    }

    /// Open a regular file to read by position (`chunk cat`, the chunks
    /// of a join): anything else is an error, since its size must be known.
    pub fn open_file(self) -> Result<RegularInput> {
        let name = self.name();
        match self.open_file_or_stream()? {
            FileOrStream::File(file) => Ok(file),
            FileOrStream::Stream(_) => {
                anyhow::bail!("{name}: not a regular file (its size must be known)")
            }
        }
    }

    /// The same settings, for a second look at the input.
    fn clone_settings(&self) -> InputSpec {
        InputSpec {
            path: self.path.clone(),
            ..*self
        }
    }

    /// Wrap `raw` as this spec asks: progress, buffering, decoding.
    fn stream(self, name: String, raw: Box<dyn Read + Send>, len: Option<u64>) -> Result<Input> {
        let raw: Box<dyn Read + Send> = if self.progress {
            Box::new(ProgressReader::new(raw, Progress::bytes(len, true)))
        } else {
            raw
        };
        let mut reader: Box<dyn BufRead + Send> = if self.read_ahead > 0 {
            Box::new(ReadAhead::new(raw, self.read_ahead))
        } else {
            Box::new(BufReader::with_capacity(self.buffer, raw))
        };
        let mut format = None;
        if self.decompress {
            format = sniff(&mut reader).with_context(|| name.clone())?;
            if let Some(f) = format {
                let decoded = codec::decoder(f, reader);
                reader = Box::new(BufReader::with_capacity(self.buffer, decoded));
            }
        }
        Ok(Input {
            name,
            path: self.path,
            len: if format.is_some() { None } else { len },
            reader,
        })
    }
}

/// An input that is a regular file with content: named, or stdin
/// redirected from one. It can be read by position from [`start`], copied
/// by the kernel, or mapped.
///
/// [`start`]: RegularInput::start
pub struct RegularInput {
    file: File,
    start: u64,
    len: u64,
    name: String,
    stdin: bool,
}

impl RegularInput {
    /// The open file (for stdin, a duplicate descriptor sharing its position).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the input starts: 0 for a named file, stdin's position for stdin.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The bytes from [`start`](RegularInput::start) to the end of the file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty named file (or one that claims to be, as /proc's
    /// do), and for stdin already at the end of its file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The input's name for messages: its path, or `<stdin>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All of it was read: stdin is left at its end, as reading it through
    /// would leave it (a named file's position is nobody's concern).
    pub fn consumed(&self) -> Result<()> {
        if self.stdin {
            use std::io::Seek;
            (&self.file)
                .seek(io::SeekFrom::Start(self.start + self.len))
                .with_context(|| self.name.clone())?;
        }
        Ok(())
    }

    /// The open file itself.
    pub fn into_file(self) -> File {
        self.file
    }

    /// Map the whole file; with `lock`, under a shared advisory lock.
    pub fn map(self, lock: bool) -> Result<MappedFile> {
        self.consumed()?;
        MappedFile::of_file(self.file, &self.name, lock)
    }
}

/// What [`InputSpec::open_file_or_stream`] found.
pub enum FileOrStream {
    File(RegularInput),
    Stream(Input),
}

/// What [`InputSpec::open_map_or_stream`] found.
pub enum MapOrStream {
    Map(MappedFile),
    Stream(Input),
}

/// Look at the first bytes without consuming them. A BufReader may return
/// fewer bytes than a magic number on its first fill (a pipe), so fill until
/// there are 4 or the input ends.
fn sniff(reader: &mut Box<dyn BufRead + Send>) -> io::Result<Option<Format>> {
    let head = reader.fill_buf()?;
    if head.len() >= 4 || head.is_empty() {
        return Ok(Format::detect(head));
    }
    // Rare: a short first read. Gather the head into a small buffer, then
    // chain it back in front of the rest.
    let mut first = Vec::with_capacity(4);
    while first.len() < 4 {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let take = buf.len().min(4 - first.len());
        first.extend_from_slice(&buf[..take]);
        reader.consume(take);
    }
    let format = Format::detect(&first);
    let rest = std::mem::replace(reader, Box::new(io::empty()));
    *reader = Box::new(io::Cursor::new(first).chain(rest));
    Ok(format)
}

/// `path` as messages show it; stdin is `<stdin>`.
pub fn display_name(path: Option<&Path>) -> String {
    match path {
        None => "<stdin>".to_string(),
        Some(p) if p.as_os_str() == "-" => "<stdin>".to_string(),
        Some(p) => p.display().to_string(),
    }
}

/// The size of the regular file at `path`; `None` for anything else
/// (a pipe, a directory, a path that cannot be read).
pub fn regular_file_size(path: &Path) -> Option<u64> {
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file().then_some(meta.len())
}

/// `path` as grep names it in its output (`-l`, `FILE:` prefixes): stdin
/// is `(standard input)`.
pub fn grep_name(path: Option<&Path>) -> String {
    match path {
        None => "(standard input)".to_string(),
        Some(p) if p.as_os_str() == "-" => "(standard input)".to_string(),
        Some(p) => p.display().to_string(),
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.reader.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.reader.consume(amt)
    }
}

/// Which standard stream [`stdio_file`] looks at.
pub(super) enum Stdio {
    In,
    Out,
}

/// Stdin or stdout as a file, and its current position, when it is a
/// regular file (`cmd < file`, `cmd > file`): then a command can read or
/// write it by position, or let the kernel copy, as it would a named file.
/// The descriptor is a duplicate: it shares the position and flags of the
/// original, and closing it leaves the original open.
pub(super) fn stdio_file(which: Stdio) -> Option<(File, u64)> {
    use std::io::Seek;
    let mut file = match which {
        Stdio::In => duplicate(&io::stdin()),
        Stdio::Out => duplicate(&io::stdout()),
    }?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let position = file.stream_position().ok()?;
    Some((file, position))
}

/// A duplicate of a standard stream's descriptor, as a file.
#[cfg(unix)]
pub(super) fn duplicate(stream: &impl std::os::fd::AsFd) -> Option<File> {
    stream.as_fd().try_clone_to_owned().ok().map(File::from)
}

#[cfg(windows)]
pub(super) fn duplicate(stream: &impl std::os::windows::io::AsHandle) -> Option<File> {
    stream.as_handle().try_clone_to_owned().ok().map(File::from)
}

#[cfg(not(any(unix, windows)))]
pub(super) fn duplicate<T>(_: &T) -> Option<File> {
    None
}

/// Stdin as a file to read by position or map ([`stdio_file`]), unless it
/// is empty: a size of 0 may be a lie (/proc, /sys and some FUSE files
/// have content but no size), so such a file, like an empty one, is read
/// as a stream.
fn stdin_file() -> Option<(File, u64)> {
    stdio_file(Stdio::In).filter(|(file, _)| file.metadata().is_ok_and(|m| m.len() > 0))
}
