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

/// Stdin read a few blocks ahead by a thread of its own, which is never
/// joined. A parallel pipeline that stops on an error must join the thread
/// that feeds it; if that thread were blocked reading a pipe whose writer
/// stalls (`(cat x.gz; sleep 60) | fkit gzip -d | head`), fkit would wait
/// for the writer. Reading through the pump instead, the feeding thread
/// waits on a channel, which [`cancel_reads`] interrupts; the pump thread
/// itself simply ends with the process.
pub struct StdinPump {
    /// Blocks read, each with how much of it is filled.
    full: crossbeam_channel::Receiver<io::Result<(Vec<u8>, usize)>>,
    /// Blocks given back to the thread, to be filled again.
    free: crossbeam_channel::Sender<Vec<u8>>,
    block: Vec<u8>,
    len: usize,
    at: usize,
    ended: bool,
}

/// Pump reads fail from now on (see [`StdinPump`]).
static CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Make reads from the stdin pump fail (a pipeline stopped on an error
/// and must not wait for more input).
pub fn cancel_reads() {
    CANCELLED.store(true, std::sync::atomic::Ordering::SeqCst);
}

impl StdinPump {
    const BLOCK: usize = 256 << 10;
    const AHEAD: usize = 16;

    pub fn start() -> StdinPump {
        CANCELLED.store(false, std::sync::atomic::Ordering::SeqCst);
        let (full_tx, full) = crossbeam_channel::bounded(Self::AHEAD);
        let (free, free_rx) = crossbeam_channel::bounded::<Vec<u8>>(Self::AHEAD + 2);
        std::thread::spawn(move || {
            let mut stdin = io::stdin().lock();
            loop {
                let mut buf = free_rx
                    .try_recv()
                    .ok()
                    .filter(|b| b.len() == Self::BLOCK)
                    .unwrap_or_else(|| vec![0u8; Self::BLOCK]);
                match stdin.read(&mut buf) {
                    // The end: dropping the sender says so.
                    Ok(0) => return,
                    Ok(n) => {
                        if full_tx.send(Ok((buf, n))).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        StdinPump {
            full,
            free,
            block: Vec::new(),
            len: 0,
            at: 0,
            ended: false,
        }
    }
}

impl BufRead for StdinPump {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        use crossbeam_channel::RecvTimeoutError;
        while self.at == self.len && !self.ended {
            match self.full.recv_timeout(std::time::Duration::from_millis(20)) {
                Ok(Ok((next, len))) => {
                    let _ = self.free.try_send(std::mem::replace(&mut self.block, next));
                    (self.at, self.len) = (0, len);
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Disconnected) => self.ended = true,
                Err(RecvTimeoutError::Timeout) => {
                    if CANCELLED.load(std::sync::atomic::Ordering::SeqCst) {
                        return Err(io::Error::other("reading stdin was cancelled"));
                    }
                }
            }
        }
        Ok(&self.block[self.at..self.len])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.len);
    }
}

impl Read for StdinPump {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}
