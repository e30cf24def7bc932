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

use super::compress::{self, Format};
use super::progress::{Progress, ProgressReader};
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
        let raw: Box<dyn Read + Send> = if self.progress {
            Box::new(ProgressReader::new(raw, Progress::bytes(len, true)))
        } else {
            raw
        };
        let mut reader: Box<dyn BufRead + Send> =
            Box::new(BufReader::with_capacity(self.buffer, raw));
        let mut format = None;
        if self.decompress {
            format = sniff(&mut reader).with_context(|| name.clone())?;
            if let Some(f) = format {
                let decoded = compress::decoder(f, reader);
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

/// Stdin (fd 0) or stdout (fd 1) as a file, and its current position,
/// when it is a regular file (`cmd < file`, `cmd > file`): then a command
/// can read or write it by position, or let the kernel copy, as it would
/// a named file. The descriptor is a duplicate: it shares the position
/// and flags of the original, and closing it leaves the original open.
#[cfg(unix)]
pub fn stdio_file(fd: i32) -> Option<(File, u64)> {
    use std::io::Seek;
    use std::os::unix::io::FromRawFd;
    // SAFETY: dup gives a new descriptor for the same open file; the File
    // owns and closes only the duplicate.
    let dup = unsafe { libc::dup(fd) };
    if dup < 0 {
        return None;
    }
    let mut file = unsafe { File::from_raw_fd(dup) };
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let position = file.stream_position().ok()?;
    Some((file, position))
}

#[cfg(not(unix))]
pub fn stdio_file(_fd: i32) -> Option<(File, u64)> {
    None
}

/// Stdin as a file to read by position or map ([`stdio_file`]), unless it
/// is empty: a size of 0 may be a lie (/proc, /sys and some FUSE files
/// have content but no size), so such a file, like an empty one, is read
/// as a stream.
pub fn stdin_file() -> Option<(File, u64)> {
    stdio_file(0).filter(|(file, _)| file.metadata().is_ok_and(|m| m.len() > 0))
}
