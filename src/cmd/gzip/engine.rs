//! The compressors and decompressors behind `fkit gzip`.
//!
//! Compression cuts the input into blocks and compresses them on every core
//! (the pigz/bgzip technique). Each gzip block becomes an independent member
//! whose header records its own length and its uncompressed length (fkit's
//! block index), so GNU gzip reads the file as an ordinary multi-member file
//! while fkit can inflate the members on every core and jump to any offset.
//! Each bzip2 block becomes a complete stream; bzip2 reads the concatenation.

use super::bzblocks::{Block, Blocks, Stop};
use super::bzdec::Decoder;
use super::pipeline;
use crate::io::compress::{self, GzipDecoder, parse_header, set_index, write_header};
use anyhow::{Context, Result, anyhow, bail};
use std::borrow::Cow;
use std::io::{self, BufRead, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Which deflate implementation compresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// The fastest measured for the level.
    Auto,
    Libdeflate,
    Isal,
    Zlib,
}

pub struct GzipOptions {
    pub level: u32,
    pub threads: usize,
    pub block: usize,
    pub name: Option<Vec<u8>>,
    pub mtime: u32,
    pub engine: Engine,
}

impl Engine {
    /// The engine and its own level for gzip level `level`, chosen by
    /// measurement on text (bench/rows/gzip.sh, 256 MB log, CPU seconds):
    /// libdeflate is faster than zlib-rs and its output smaller at every
    /// level (level 6: 56.4 MB against gzip -6's 56.5 MB, 1.7x less CPU than
    /// pigz -6). The fast levels are held to igzip -3's output size (68.5 MB)
    /// at the least CPU: libdeflate 1 (67.5 MB, 0.69x igzip -3's CPU) for
    /// -1 and -2, libdeflate 2 (65.5 MB, 0.81x) for -3. ISA-L's level 1 is
    /// faster still but its output (69.5 MB) is larger than igzip -3's, so
    /// it is only used on request.
    fn resolve(self, level: u32) -> (Engine, u32) {
        match self {
            Engine::Auto => (
                Engine::Libdeflate,
                match level {
                    0..=2 => 1,
                    3 => 2,
                    n => n,
                },
            ),
            Engine::Libdeflate => (Engine::Libdeflate, level.max(1)),
            Engine::Isal if !cfg!(feature = "isal") => (Engine::Libdeflate, level.max(1)),
            other => (other, level),
        }
    }
}

enum Deflater {
    Libdeflate(libdeflater::Compressor),
    #[cfg(feature = "isal")]
    Isal(isal::CompressionLevel),
    Zlib(flate2::Compress),
}

impl Deflater {
    fn new(engine: Engine, level: u32) -> Result<Deflater> {
        Ok(match engine {
            #[cfg(feature = "isal")]
            Engine::Isal => Deflater::Isal(if level <= 1 {
                isal::CompressionLevel::One
            } else {
                isal::CompressionLevel::Three
            }),
            Engine::Zlib => Deflater::Zlib(flate2::Compress::new(
                flate2::Compression::new(level),
                false,
            )),
            _ => {
                let lvl = libdeflater::CompressionLvl::new(level.clamp(1, 12) as i32)
                    .map_err(|_| anyhow!("bad compression level {level}"))?;
                Deflater::Libdeflate(libdeflater::Compressor::new(lvl))
            }
        })
    }

    /// Append the raw deflate stream of `data` to `out`.
    fn deflate(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        match self {
            Deflater::Libdeflate(c) => {
                let bound = c.deflate_compress_bound(data.len());
                out.resize(start + bound, 0);
                let n = c
                    .deflate_compress(data, &mut out[start..])
                    .map_err(|e| anyhow!("libdeflate: {e:?}"))?;
                out.truncate(start + n);
            }
            #[cfg(feature = "isal")]
            Deflater::Isal(level) => {
                // Stored blocks bound the expansion: 5 bytes per 64 KiB.
                let bound = data.len() + data.len() / 8192 + 1024;
                out.resize(start + bound, 0);
                let n = isal::compress_into(data, &mut out[start..], *level, isal::Codec::Deflate)
                    .map_err(|e| anyhow!("ISA-L: {e}"))?;
                out.truncate(start + n);
            }
            Deflater::Zlib(z) => {
                z.reset();
                out.reserve(data.len() + data.len() / 1000 + 64);
                loop {
                    let consumed = z.total_in() as usize;
                    let status =
                        z.compress_vec(&data[consumed..], out, flate2::FlushCompress::Finish)?;
                    if status == flate2::Status::StreamEnd {
                        break;
                    }
                    out.reserve(64 * 1024);
                }
            }
        }
        Ok(())
    }
}

/// Blocks of `size` bytes read from `input`; always at least one (an empty
/// input still makes one empty gzip member or bzip2 stream).
fn blocks<'a>(
    input: &'a mut (dyn Read + Send),
    size: usize,
    read_total: &'a mut u64,
) -> impl Iterator<Item = Result<(usize, Vec<u8>)>> + Send + 'a {
    let mut index = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut block = Vec::with_capacity(size);
        match input.take(size as u64).read_to_end(&mut block) {
            Ok(n) => {
                *read_total += n as u64;
                if n < size {
                    done = true;
                }
                if n == 0 && index > 0 {
                    return None;
                }
                index += 1;
                Some(Ok((index - 1, block)))
            }
            Err(e) => {
                done = true;
                Some(Err(anyhow::Error::new(e).context("read error")))
            }
        }
    })
}

/// Compress `input` to gzip on `opts.threads` cores; returns the number of
/// bytes read.
pub fn compress_gzip(
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    opts: &GzipOptions,
) -> Result<u64> {
    let (engine, level) = opts.engine.resolve(opts.level);
    Deflater::new(engine, level)?;
    let mut total = 0;
    pipeline::ordered(
        opts.threads,
        blocks(input, opts.block, &mut total),
        || Deflater::new(engine, level).expect("checked above"),
        |deflater, (index, data): (usize, Vec<u8>)| {
            let mut member = Vec::with_capacity(data.len() / 2 + 128);
            let first = index == 0;
            let name = if first { opts.name.as_deref() } else { None };
            write_header(
                &mut member,
                name,
                if first { opts.mtime } else { 0 },
                opts.level,
                true,
            );
            deflater.deflate(&data, &mut member)?;
            member.extend_from_slice(&crc32fast::hash(&data).to_le_bytes());
            member.extend_from_slice(&(data.len() as u32).to_le_bytes());
            set_index(&mut member, data.len() as u32);
            Ok(member)
        },
        |member| out.write_all(&member).context("write error"),
    )?;
    Ok(total)
}

/// Compress `input` to bzip2: each block of `level` x 100 kB becomes a
/// complete stream, compressed on its own core by fkit's own encoder
/// (bzenc.rs: on text.log 2.4x less CPU than libbz2 and 1.5x less than
/// lbzip2, output within 0.1% of bzip2 -9's).
pub fn compress_bzip2(
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    level: u32,
    threads: usize,
) -> Result<u64> {
    let level = level.clamp(1, 9);
    // As much input as bzip2 puts in a block when run-length coding does not
    // shrink it; should the coding grow it (runs of exactly 4 bytes), the
    // rest goes into a second block of the same stream.
    let block = level as usize * 100_000 - 19;
    let mut total = 0;
    pipeline::ordered(
        threads,
        blocks(input, block, &mut total),
        super::bzenc::BlockEncoder::new,
        |encoder, (_, data): (usize, Vec<u8>)| {
            let mut stream = Vec::with_capacity(data.len() / 3 + 64);
            encoder.stream(&data, level, &mut stream)?;
            Ok(stream)
        },
        |stream| out.write_all(&stream).context("write error"),
    )?;
    Ok(total)
}

/// Where decompressed bytes go: all of them, or only the slice a `--range`
/// asked for.
pub struct Window<'a> {
    out: &'a mut dyn Write,
    skip: u64,
    left: u64,
    pub written: u64,
    progress: Option<crate::io::Progress>,
}

impl<'a> Window<'a> {
    pub fn new(out: &'a mut dyn Write, range: Option<(u64, u64)>) -> Window<'a> {
        let (skip, left) = range.unwrap_or((0, u64::MAX));
        Window {
            out,
            skip,
            left,
            written: 0,
            progress: None,
        }
    }

    /// Show the bytes written on a progress spinner (on a terminal only).
    pub fn progress(mut self, enabled: bool) -> Self {
        self.progress = enabled.then(|| crate::io::Progress::bytes(None, true));
        self
    }

    /// Whether the range is complete (nothing more is wanted).
    pub fn full(&self) -> bool {
        self.left == 0
    }

    /// Write what of `data` falls inside the range.
    pub(super) fn put(&mut self, mut data: &[u8]) -> Result<()> {
        let skip = self.skip.min(data.len() as u64) as usize;
        self.skip -= skip as u64;
        data = &data[skip..];
        let take = self.left.min(data.len() as u64) as usize;
        if take > 0 {
            self.out.write_all(&data[..take]).context("write error")?;
            self.left -= take as u64;
            self.written += take as u64;
            if let Some(p) = &mut self.progress {
                p.inc(take as u64);
            }
        }
        Ok(())
    }
}

/// What followed the last member or stream.
pub struct Trailing {
    pub at: u64,
    pub only_zeros: bool,
}

/// Where the compressed bytes come from: a file (mapped, so that members can
/// be found and inflated in parallel), or a stream.
pub enum Source<'a> {
    File(&'a crate::io::MappedFile),
    Stream(&'a mut (dyn BufRead + Send)),
}

/// Read a file from `offset` on, with ordinary reads (pages read this way
/// are not counted in the process's memory, unlike a map's).
fn tail(file: &std::fs::File, offset: usize) -> io::Result<io::BufReader<&std::fs::File>> {
    use std::io::Seek;
    let mut f = file;
    f.seek(io::SeekFrom::Start(offset as u64))?;
    Ok(io::BufReader::with_capacity(1 << 20, f))
}

/// One member found through fkit's block index.
#[derive(Clone, Copy)]
struct Member {
    offset: u64,
    header_len: usize,
    len: usize,
    data_len: usize,
}

/// The members at the start of `map` that carry fkit's block index, and
/// the offset where the first one without it (or the end) is.
fn indexed_members(map: &[u8]) -> (Vec<Member>, usize) {
    let mut members = Vec::new();
    let mut off = 0;
    while off < map.len() {
        let Ok(h) = parse_header(&map[off..]) else {
            break;
        };
        let Some((len, data_len)) = h.index else {
            break;
        };
        let (len, data_len) = (len as usize, data_len as usize);
        if !plausible(h.len, len, data_len)
            || off + len > map.len()
            || map[off + len - 4..off + len] != (data_len as u32).to_le_bytes()
        {
            break;
        }
        members.push(Member {
            offset: off as u64,
            header_len: h.len,
            len,
            data_len,
        });
        off += len;
    }
    (members, off)
}

/// The largest block fkit writes (`--block-size`), uncompressed.
pub const MAX_BLOCK: usize = 256 << 20;

/// Whether an index entry can be right: room for the header and trailer,
/// an expansion deflate can reach (at most 1032 times), and sizes fkit
/// writes (a block of at most MAX_BLOCK, which deflate's stored blocks
/// grow by less than 1%). Anything else is damage or another writer's,
/// and must not make fkit allocate gigabytes: it is decoded as a stream.
fn plausible(header_len: usize, len: usize, data_len: usize) -> bool {
    len >= header_len + 8
        && data_len / 1032 <= len
        && data_len <= MAX_BLOCK
        && len <= MAX_BLOCK + MAX_BLOCK / 64
}

/// Sum of the uncompressed lengths in fkit's block index, when the whole
/// file is indexed (for `--list`).
pub fn indexed_length(map: &[u8]) -> Option<u64> {
    let (members, end) = indexed_members(map);
    (end == map.len() && !members.is_empty())
        .then(|| members.iter().map(|m| m.data_len as u64).sum())
}

/// Decompress gzip from `src` into `out`. Members fkit indexed are inflated
/// on `threads` cores and, with a range, only those that overlap it; any
/// other members are inflated on one core, straight from the map.
pub fn decompress_gzip(src: Source, out: &mut Window, threads: usize) -> Result<Option<Trailing>> {
    let (file, rest_at, members) = match src {
        Source::Stream(reader) => {
            // Members fkit indexed, as they arrive, on every core; then
            // whatever follows, from where they end.
            let full = AtomicBool::new(out.full());
            let mut feed = StreamMembers {
                reader,
                pending: Vec::new(),
                offset: 0,
                members: 0,
                stop: &full,
            };
            // Whole members before a range are skipped unread, as in a file.
            while out.skip > 0 {
                match feed.next_member()? {
                    Some(m) if m.data_len as u64 <= out.skip => {
                        out.skip -= m.data_len as u64;
                        feed.take_member(&m);
                    }
                    _ => break,
                }
            }
            // Once the range is written, no more members are read.
            let stop = |_, done: bool| {
                if done {
                    full.store(true, Ordering::Relaxed);
                }
            };
            inflate_members(&mut feed, stop, out, threads)?;
            let StreamMembers {
                reader,
                pending,
                offset,
                members,
                ..
            } = feed;
            if out.full() {
                return Ok(None);
            }
            if members > 0 && pending.is_empty() && reader.fill_buf()?.is_empty() {
                return Ok(None);
            }
            let mut rest = io::Cursor::new(pending).chain(reader);
            return inflate_stream(&mut rest, offset, members, out);
        }
        Source::File(file) => {
            let (members, rest_at) = indexed_members(file);
            (file, rest_at, members)
        }
    };
    let map: &[u8] = file;
    // Skip whole members before the range: the index says how long they are.
    let mut first = 0;
    while first < members.len() && out.skip >= members[first].data_len as u64 {
        out.skip -= members[first].data_len as u64;
        first += 1;
    }
    let wanted = &members[first..];
    let mut left = out.left.saturating_add(out.skip);
    let last = wanted
        .iter()
        .position(|m| {
            let done = left <= m.data_len as u64;
            left = left.saturating_sub(m.data_len as u64);
            done
        })
        .map_or(wanted.len(), |i| i + 1);
    inflate_indexed(map, &wanted[..last], out, threads)?;
    if out.full() || rest_at == map.len() && !members.is_empty() {
        return Ok(None);
    }
    super::gzdec_map::inflate_mapped(map, rest_at, members.len() as u64, out, threads)
}

/// Inflate indexed members of a mapped file on `threads` cores, releasing
/// the pages behind them as they are done.
fn inflate_indexed(map: &[u8], members: &[Member], out: &mut Window, threads: usize) -> Result<()> {
    let mut release = super::gzdec_map::Release::new(map);
    let jobs = members.iter().map(|m| {
        let at = m.offset as usize;
        Ok((Cow::Borrowed(&map[at..at + m.len]), *m))
    });
    inflate_members(jobs, |end, _| release.upto(end), out, threads)
}

/// Inflate members (their bytes, and where the index says they are) on
/// `threads` cores, writing each whole member with one write, in order;
/// `done(end, full)` follows each with the offset where it ends and whether
/// the output window is now complete. Output buffers
/// go round between the workers and the writer: a fresh buffer would cost
/// a page fault per 4 KiB.
fn inflate_members<'a>(
    jobs: impl Iterator<Item = Result<(Cow<'a, [u8]>, Member)>> + Send,
    mut done: impl FnMut(usize, bool),
    out: &mut Window,
    threads: usize,
) -> Result<()> {
    let (spare_tx, spare_rx) = crossbeam_channel::bounded::<Vec<u8>>(threads * 4 + 4);
    pipeline::ordered(
        threads,
        jobs,
        compress::WholeInflater::new,
        |inflater, (bytes, m): (Cow<[u8]>, Member)| {
            let body = &bytes[m.header_len..m.len - 8];
            let mut buf = spare_rx.try_recv().unwrap_or_default();
            if buf.len() < m.data_len {
                buf.resize(m.data_len, 0);
            }
            let crc = inflater
                .inflate_into(body, &mut buf[..m.data_len])
                .map_err(|what| anyhow!("{what} in the member that starts at byte {}", m.offset))?;
            if crc.to_le_bytes() != bytes[m.len - 8..m.len - 4] {
                bail!("crc error in the member that starts at byte {}", m.offset);
            }
            Ok((buf, m.data_len, m.offset as usize + m.len))
        },
        |(buf, len, end)| {
            out.put(&buf[..len])?;
            done(end, out.full());
            let _ = spare_tx.try_send(buf);
            Ok(())
        },
    )
}

/// The members fkit indexed at the start of a stream, read one whole
/// member at a time (its length is in its header). It stops at the first
/// member without the index, or at anything else; `pending` then holds the
/// bytes read past the last member, which start the rest of the stream.
struct StreamMembers<'r> {
    reader: &'r mut (dyn BufRead + Send),
    pending: Vec<u8>,
    /// Where `pending` starts in the stream.
    offset: u64,
    /// Members handed out so far.
    members: u64,
    /// Set when no more members are wanted (the output range is complete).
    stop: &'r AtomicBool,
}

impl StreamMembers<'_> {
    /// Read up to `want` more bytes into `pending`; false at the end.
    fn more(&mut self, want: usize) -> io::Result<bool> {
        let got = (&mut self.reader)
            .take(want as u64)
            .read_to_end(&mut self.pending)?;
        Ok(got > 0)
    }

    /// Remove member `m`, the next one, from `pending`; its bytes.
    fn take_member(&mut self, m: &Member) -> Vec<u8> {
        let rest = self.pending.split_off(m.len);
        self.offset += m.len as u64;
        self.members += 1;
        std::mem::replace(&mut self.pending, rest)
    }

    /// The next member, whole in `pending`, if it carries fkit's index.
    fn next_member(&mut self) -> io::Result<Option<Member>> {
        // A header is short; one with a long name may take a few reads.
        let header = loop {
            match parse_header(&self.pending) {
                Ok(h) => break h,
                Err(compress::HeaderError::Short) if self.pending.len() < 1 << 16 => {
                    if !self.more(1 << 12)? {
                        return Ok(None);
                    }
                }
                Err(_) => return Ok(None),
            }
        };
        let Some((len, data_len)) = header.index else {
            return Ok(None);
        };
        let (len, data_len) = (len as usize, data_len as usize);
        if !plausible(header.len, len, data_len) {
            return Ok(None);
        }
        if self.pending.len() < len {
            let want = len - self.pending.len();
            self.more(want)?;
            if self.pending.len() < len {
                // Truncated: the stream decoder names where.
                return Ok(None);
            }
        }
        if self.pending[len - 4..len] != (data_len as u32).to_le_bytes() {
            return Ok(None);
        }
        Ok(Some(Member {
            offset: self.offset,
            header_len: header.len,
            len,
            data_len,
        }))
    }
}

impl Iterator for &mut StreamMembers<'_> {
    type Item = Result<(Cow<'static, [u8]>, Member)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        match self.next_member() {
            Ok(Some(m)) => Some(Ok((Cow::Owned(self.take_member(&m)), m))),
            Ok(None) => None,
            Err(e) => Some(Err(e.into())),
        }
    }
}

/// Inflate members one after another from a stream.
fn inflate_stream(
    reader: &mut dyn BufRead,
    base: u64,
    members_before: u64,
    out: &mut Window,
) -> Result<Option<Trailing>> {
    let mut decoder = GzipDecoder::new(reader)
        .starting_at(base)
        .after_members(members_before);
    let mut buf = vec![0u8; 1 << 20];
    while !out.full() {
        let n = decoder.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.put(&buf[..n])?;
    }
    if out.full() {
        return Ok(None);
    }
    let Some(at) = decoder.trailing_at else {
        return Ok(None);
    };
    let (held, mut rest) = decoder.into_rest();
    Ok(Some(Trailing {
        at,
        only_zeros: held.iter().all(|&b| b == 0) && all_zeros(&mut rest)?,
    }))
}

fn all_zeros(reader: &mut dyn BufRead) -> io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        if buf.iter().any(|&b| b != 0) {
            return Ok(false);
        }
        let n = buf.len();
        reader.consume(n);
    }
}

/// A bzip2 stream in a file that failed to decode on its own: the streams
/// from here on are decoded one after another instead.
#[derive(Debug)]
struct ResumeAt(usize);

impl std::fmt::Display for ResumeAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "resume at {}", self.0)
    }
}

impl std::error::Error for ResumeAt {}

/// Decompress bzip2. In a file, the blocks of the streams are found by
/// their magic and decoded in place by fkit's block decoder on `threads`
/// cores (one core: the same, in this thread). Any doubt (a magic inside
/// compressed data, damage, a block this decoder does not handle) falls
/// back to libbz2 decoding one stream after another from the last stream
/// known to be good, which also reports where the damage is.
pub fn decompress_bzip2(src: Source, out: &mut Window, threads: usize) -> Result<Option<Trailing>> {
    let file = match src {
        Source::Stream(reader) => return bunzip_stream(reader, 0, 0, out),
        Source::File(file) => file,
    };
    let map: &[u8] = file;
    let mut blocks = Blocks::new(map);
    // The stream being written, the bytes written from it, and the CRC of
    // its blocks so far (combined as bzip2 does).
    let (mut stream, mut written, mut combined) = (usize::MAX, 0u64, 0u32);
    let mut release = super::gzdec_map::Release::new(map);
    let result = pipeline::ordered(
        threads,
        (&mut blocks).map(Ok),
        Decoder::new,
        |decoder, block: Block| {
            let mut data = Vec::with_capacity(block.level as usize * 100_000 + 1024);
            match decoder.decode_block(map, block.start_bit, block.level, &mut data) {
                Ok((end, crc)) if end == block.end_bit && crc == block.crc => Ok((data, block)),
                _ => Err(anyhow::Error::new(ResumeAt(block.stream))),
            }
        },
        |(data, block)| {
            if block.stream != stream {
                (stream, written, combined) = (block.stream, 0, 0);
            }
            combined = combined.rotate_left(1) ^ block.crc;
            if block.stream_crc.is_some_and(|crc| crc != combined) {
                return Err(anyhow::Error::new(ResumeAt(block.stream)));
            }
            release.upto(block.end);
            out.put(&data)?;
            written += data.len() as u64;
            Ok(())
        },
    );
    let resume = match result {
        Ok(()) => match blocks.stop {
            Some(Stop::At(at)) => at,
            _ => return Ok(None),
        },
        Err(e) => match e.downcast_ref::<ResumeAt>() {
            Some(ResumeAt(at)) => *at,
            None => return Err(e),
        },
    };
    // Decode the rest one stream after another, without repeating what
    // was already written from the stream it starts in.
    if resume == stream {
        out.skip += written;
    }
    let streams_before = usize::from(resume > 0);
    bunzip_stream(
        &mut tail(file.file(), resume)?,
        resume as u64,
        streams_before,
        out,
    )
}

/// A BufRead that counts what was consumed, for error offsets.
struct Counted<'a> {
    inner: &'a mut dyn BufRead,
    at: u64,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl BufRead for Counted<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.at += n as u64;
        self.inner.consume(n)
    }
}

/// Decode concatenated bzip2 streams one after another.
fn bunzip_stream(
    reader: &mut dyn BufRead,
    base: u64,
    streams_before: usize,
    out: &mut Window,
) -> Result<Option<Trailing>> {
    let mut input = Counted {
        inner: reader,
        at: base,
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut streams = streams_before;
    loop {
        let (head_len, format) = {
            let head = input.fill_buf()?;
            (head.len(), compress::Format::detect(head))
        };
        if head_len == 0 && streams > 0 {
            return Ok(None);
        }
        if format != Some(compress::Format::Bzip2) {
            if streams == 0 && head_len < 4 {
                bail!(
                    "unexpected end of file at byte {} (truncated input)",
                    input.at + head_len as u64
                );
            }
            if streams == 0 {
                bail!("not in bzip2 format at byte {}", input.at);
            }
            let at = input.at;
            return Ok(Some(Trailing {
                at,
                only_zeros: all_zeros(&mut input)?,
            }));
        }
        let start = input.at;
        let mut decoder = bzip2::bufread::BzDecoder::new(&mut input);
        loop {
            let n = match decoder.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let at = decoder.get_ref().at;
                    let what = if e.kind() == io::ErrorKind::UnexpectedEof {
                        "unexpected end of file (truncated input)".to_string()
                    } else {
                        format!("invalid compressed data ({e})")
                    };
                    bail!("{what} at byte {at}, in the stream that starts at byte {start}");
                }
            };
            if n == 0 {
                break;
            }
            out.put(&buf[..n])?;
            if out.full() {
                return Ok(None);
            }
        }
        drop(decoder);
        streams += 1;
    }
}
