//! Compressed formats, told apart by their magic bytes (never by the name).
//!
//! The input layer uses [`Format::detect`] and [`decoder`] to read gzip and
//! bzip2 transparently; `fkit gzip` uses the same detection for `-d`, `-t`
//! and `-l`. Every member of a multi-member gzip file and every stream of a
//! concatenated bzip2 file is decoded, as GNU gzip and bzip2 do.
//!
//! gzip is inflated by ISA-L (igzip's engine) when fkit is built with the
//! `isal` feature, and by zlib-rs otherwise; both stream in constant memory.
//! fkit's own gzip files carry a block index (see [`MemberHeader::index`]):
//! every member records its compressed and uncompressed length in an extra
//! field, so a reader can find members without inflating anything.

use std::io::{self, BufRead, Read};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Bzip2,
}

impl Format {
    /// The format whose magic bytes start `head`, if any. `head` should hold
    /// at least 4 bytes when the input has that many.
    pub fn detect(head: &[u8]) -> Option<Format> {
        match head {
            [0x1f, 0x8b, ..] => Some(Format::Gzip),
            // "BZh" then the block size digit 1-9.
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Format::Bzip2),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
        }
    }
}

/// A reader of the decompressed bytes of `input`, which holds `format`.
pub fn decoder<'a>(
    format: Format,
    input: Box<dyn BufRead + Send + 'a>,
) -> Box<dyn Read + Send + 'a> {
    match format {
        Format::Gzip => Box::new(GzipDecoder::new(input)),
        Format::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
    }
}

/// The two bytes that name fkit's block-index subfield in a gzip header.
pub(crate) const INDEX_ID: [u8; 2] = *b"FK";
const FTEXT_MASK: u8 = 1;
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

/// What a gzip member header says.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemberHeader {
    /// Length of the header in bytes.
    pub len: usize,
    /// The original file name (FNAME), without its terminating zero.
    pub name: Option<Vec<u8>>,
    /// Modification time in seconds since the epoch; 0 means none.
    pub mtime: u32,
    /// fkit's block index: (whole member length, uncompressed length).
    pub index: Option<(u32, u32)>,
}

/// Why a header could not be read.
#[derive(Debug)]
pub(crate) enum HeaderError {
    /// More bytes are needed than `buf` holds.
    Short,
    NotGzip,
    Unsupported(&'static str),
}

/// Parse the gzip member header that starts `buf`.
pub(crate) fn parse_header(buf: &[u8]) -> Result<MemberHeader, HeaderError> {
    if buf.len() >= 2 && buf[..2] != [0x1f, 0x8b] || buf.len() == 1 && buf[0] != 0x1f {
        return Err(HeaderError::NotGzip);
    }
    if buf.len() < 10 {
        return Err(HeaderError::Short);
    }
    if buf[2] != 8 {
        return Err(HeaderError::Unsupported("unknown compression method"));
    }
    let flags = buf[3];
    if flags & 0xe0 != 0 {
        return Err(HeaderError::Unsupported("reserved header flags are set"));
    }
    let _ = FTEXT_MASK;
    let mut header = MemberHeader {
        mtime: u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ..MemberHeader::default()
    };
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let xlen = buf.get(pos..pos + 2).ok_or(HeaderError::Short)?;
        let xlen = u16::from_le_bytes([xlen[0], xlen[1]]) as usize;
        pos += 2;
        let extra = buf.get(pos..pos + xlen).ok_or(HeaderError::Short)?;
        pos += xlen;
        let mut sub = extra;
        while sub.len() >= 4 {
            let len = u16::from_le_bytes([sub[2], sub[3]]) as usize;
            let Some(data) = sub.get(4..4 + len) else {
                break;
            };
            if sub[..2] == INDEX_ID && len == 8 {
                header.index = Some((
                    u32::from_le_bytes([data[0], data[1], data[2], data[3]]),
                    u32::from_le_bytes([data[4], data[5], data[6], data[7]]),
                ));
            }
            sub = &sub[4 + len..];
        }
    }
    if flags & FNAME != 0 {
        let rest = buf.get(pos..).ok_or(HeaderError::Short)?;
        let end = memchr::memchr(0, rest).ok_or(HeaderError::Short)?;
        header.name = Some(rest[..end].to_vec());
        pos += end + 1;
    }
    if flags & FCOMMENT != 0 {
        let rest = buf.get(pos..).ok_or(HeaderError::Short)?;
        let end = memchr::memchr(0, rest).ok_or(HeaderError::Short)?;
        pos += end + 1;
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    if buf.len() < pos {
        return Err(HeaderError::Short);
    }
    header.len = pos;
    Ok(header)
}

/// Append a gzip member header. With `index`, room is left for fkit's block
/// index, to be filled by [`set_index`] once the member's length is known.
pub(crate) fn write_header(
    out: &mut Vec<u8>,
    name: Option<&[u8]>,
    mtime: u32,
    level: u32,
    index: bool,
) {
    let mut flags = 0;
    if index {
        flags |= FEXTRA;
    }
    if name.is_some() {
        flags |= FNAME;
    }
    // XFL as zlib sets it: 2 = slowest, 4 = fastest.
    let xfl = match level {
        9.. => 2,
        0..=1 => 4,
        _ => 0,
    };
    out.extend_from_slice(&[0x1f, 0x8b, 8, flags]);
    out.extend_from_slice(&mtime.to_le_bytes());
    // OS 3 = Unix, as gzip writes on Unix.
    out.extend_from_slice(&[xfl, 3]);
    if index {
        out.extend_from_slice(&12u16.to_le_bytes());
        out.extend_from_slice(&INDEX_ID);
        out.extend_from_slice(&8u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
    }
    if let Some(name) = name {
        // A zero byte would end the field early; gzip stores the name as is.
        out.extend(name.iter().copied().filter(|&b| b != 0));
        out.push(0);
    }
}

/// Fill in the block index of the member that starts `member` (written by
/// [`write_header`] with `index`).
pub(crate) fn set_index(member: &mut [u8], data_len: u32) {
    let member_len = member.len() as u32;
    member[16..20].copy_from_slice(&member_len.to_le_bytes());
    member[20..24].copy_from_slice(&data_len.to_le_bytes());
}

fn invalid(offset: u64, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what} at byte {offset}"),
    )
}

fn truncated(offset: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("unexpected end of file at byte {offset} (truncated input)"),
    )
}

/// A streaming raw-deflate decompressor that stops exactly at the end of a
/// deflate stream, so the gzip trailer and the next member can follow.
pub(crate) struct Inflater {
    #[cfg(feature = "isal")]
    state: IsalState,
    #[cfg(not(feature = "isal"))]
    state: flate2::Decompress,
    #[cfg(not(feature = "isal"))]
    crc: crc32fast::Hasher,
}

/// ISA-L's inflate state. Its pointers point into the caller's buffers only
/// during a call to `Inflater::inflate`, so moving it to another thread
/// between calls is sound.
#[cfg(feature = "isal")]
struct IsalState(Box<isal::isal_sys::igzip_lib::inflate_state>);

#[cfg(feature = "isal")]
// SAFETY: see above: no pointer is dereferenced outside `inflate`.
unsafe impl Send for IsalState {}

/// Why inflating failed, and how far into the input the inflater had read
/// (for the byte offset in the message).
#[derive(Debug)]
pub(crate) struct InflateError {
    pub why: String,
    pub consumed: usize,
}

/// What one step of inflating did.
pub(crate) struct Step {
    pub consumed: usize,
    pub produced: usize,
    pub finished: bool,
    /// Input bytes past the end of the deflate stream that the inflater had
    /// already taken (counted in `consumed`): the caller reads them next.
    pub held: Vec<u8>,
}

#[cfg(feature = "isal")]
impl Inflater {
    pub fn new() -> Inflater {
        use isal::isal_sys::igzip_lib as isal;
        let mut state: Box<std::mem::MaybeUninit<isal::inflate_state>> = Box::new_uninit();
        // SAFETY: isal_inflate_init initialises every field the decoder reads.
        let mut state = unsafe {
            isal::isal_inflate_init(state.as_mut_ptr());
            state.assume_init()
        };
        state.crc_flag = isal::ISAL_GZIP_NO_HDR;
        Inflater {
            state: IsalState(state),
        }
    }

    pub fn reset(&mut self) {
        use isal::isal_sys::igzip_lib as isal;
        // SAFETY: the state was initialised by isal_inflate_init.
        unsafe { isal::isal_inflate_reset(&mut *self.state.0) };
        self.state.0.crc_flag = isal::ISAL_GZIP_NO_HDR;
    }

    /// The CRC-32 of everything produced since the last reset.
    pub fn crc(&self) -> u32 {
        self.state.0.crc
    }

    pub fn inflate(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, InflateError> {
        use isal::isal_sys::igzip_lib as isal;
        // ISA-L takes 32-bit lengths.
        let input = &input[..input.len().min(1 << 30)];
        let out_len = output.len().min(1 << 30);
        let s = &mut *self.state.0;
        s.next_in = input.as_ptr() as *mut u8;
        s.avail_in = input.len() as u32;
        s.next_out = output.as_mut_ptr();
        s.avail_out = out_len as u32;
        // SAFETY: next_in/next_out point into live slices of the given lengths.
        let ret = unsafe { isal::isal_inflate(s) };
        if ret < 0 {
            return Err(InflateError {
                why: match ret {
                    isal::ISAL_INVALID_BLOCK => "invalid deflate block".into(),
                    isal::ISAL_INVALID_SYMBOL => "invalid deflate symbol".into(),
                    isal::ISAL_INVALID_LOOKBACK => "invalid distance too far back".into(),
                    other => format!("invalid compressed data (ISA-L error {other})"),
                },
                consumed: input.len() - s.avail_in as usize,
            });
        }
        let finished = s.block_state == isal::isal_block_state_ISAL_BLOCK_FINISH;
        let mut held = Vec::new();
        if finished {
            // ISA-L reads ahead: whole bytes left in its bit buffer, then in
            // its small input buffer, follow the deflate stream (the gzip
            // trailer, the next member) and go back to the caller.
            let bytes = (s.read_in_length.max(0) / 8) as usize;
            let bits = s.read_in >> (s.read_in_length.max(0) % 8);
            held.extend_from_slice(&bits.to_le_bytes()[..bytes.min(8)]);
            let tmp = (s.tmp_in_size.max(0) as usize).min(s.tmp_in_buffer.len());
            held.extend_from_slice(&s.tmp_in_buffer[..tmp]);
            s.read_in = 0;
            s.read_in_length = 0;
            s.tmp_in_size = 0;
        }
        Ok(Step {
            consumed: input.len() - s.avail_in as usize,
            produced: out_len - s.avail_out as usize,
            finished,
            held,
        })
    }
}

#[cfg(not(feature = "isal"))]
impl Inflater {
    pub fn new() -> Inflater {
        Inflater {
            state: flate2::Decompress::new(false),
            crc: crc32fast::Hasher::new(),
        }
    }

    pub fn reset(&mut self) {
        self.state.reset(false);
        self.crc = crc32fast::Hasher::new();
    }

    pub fn crc(&self) -> u32 {
        self.crc.clone().finalize()
    }

    pub fn inflate(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, InflateError> {
        let (before_in, before_out) = (self.state.total_in(), self.state.total_out());
        let status = self
            .state
            .decompress(input, output, flate2::FlushDecompress::None)
            .map_err(|e| InflateError {
                why: e.to_string(),
                consumed: (self.state.total_in() - before_in) as usize,
            })?;
        let consumed = (self.state.total_in() - before_in) as usize;
        let produced = (self.state.total_out() - before_out) as usize;
        self.crc.update(&output[..produced]);
        Ok(Step {
            consumed,
            produced,
            finished: status == flate2::Status::StreamEnd,
            held: Vec::new(),
        })
    }
}

/// Inflates a whole raw deflate stream whose uncompressed length is known
/// (a member of fkit's indexed gzip), the fastest way the build allows.
pub(crate) struct WholeInflater {
    #[cfg(feature = "isal")]
    state: IsalState,
    #[cfg(not(feature = "isal"))]
    state: libdeflater::Decompressor,
}

impl WholeInflater {
    #[cfg(feature = "isal")]
    pub fn new() -> WholeInflater {
        WholeInflater {
            state: Inflater::new().state,
        }
    }

    #[cfg(not(feature = "isal"))]
    pub fn new() -> WholeInflater {
        WholeInflater {
            state: libdeflater::Decompressor::new(),
        }
    }

    /// Inflate `body` into all of `out` and return the CRC-32 of `out`; an
    /// error unless `body` is one complete deflate stream of exactly
    /// `out.len()` bytes. `out` is the caller's, so that it can be reused
    /// (fresh pages cost a fault each).
    #[cfg(feature = "isal")]
    pub fn inflate_into(&mut self, body: &[u8], out: &mut [u8]) -> Result<u32, &'static str> {
        use isal::isal_sys::igzip_lib as isal;
        if body.len() > u32::MAX as usize || out.len() > u32::MAX as usize {
            return Err("member too large");
        }
        let s = &mut *self.state.0;
        // SAFETY: the state was initialised by isal_inflate_init.
        unsafe { isal::isal_inflate_reset(s) };
        // ISA-L computes the CRC-32 of what it writes (one pass, no second
        // read of the output by the caller).
        s.crc_flag = isal::ISAL_GZIP_NO_HDR;
        s.next_in = body.as_ptr() as *mut u8;
        s.avail_in = body.len() as u32;
        s.next_out = out.as_mut_ptr();
        s.avail_out = out.len() as u32;
        // SAFETY: ISA-L reads `avail_in` bytes of `body` and writes at most
        // `avail_out` bytes of `out`.
        let ret = unsafe { isal::isal_inflate_stateless(s) };
        if ret != isal::ISAL_DECOMP_OK as i32 || s.avail_out != 0 || s.avail_in != 0 {
            return Err("invalid compressed data");
        }
        Ok(s.crc)
    }

    #[cfg(not(feature = "isal"))]
    pub fn inflate_into(&mut self, body: &[u8], out: &mut [u8]) -> Result<u32, &'static str> {
        match self.state.deflate_decompress(body, out) {
            Ok(n) if n == out.len() => Ok(libdeflater::crc32(out)),
            _ => Err("invalid compressed data"),
        }
    }
}

#[derive(PartialEq)]
enum State {
    Header,
    Body,
    Done,
}

/// A streaming reader of every member of a gzip input. Errors name the byte
/// offset in the compressed input where the damage was found.
pub(crate) struct GzipDecoder<R> {
    input: R,
    inflater: Inflater,
    state: State,
    /// Compressed bytes consumed so far.
    offset: u64,
    member_start: u64,
    member_out: u64,
    members: u64,
    header: Vec<u8>,
    /// Where bytes that are not a gzip member follow the last member.
    pub trailing_at: Option<u64>,
}

impl<R: BufRead> GzipDecoder<R> {
    pub fn new(input: R) -> GzipDecoder<R> {
        GzipDecoder {
            input,
            inflater: Inflater::new(),
            state: State::Header,
            offset: 0,
            member_start: 0,
            member_out: 0,
            members: 0,
            header: Vec::new(),
            trailing_at: None,
        }
    }

    /// Start counting offsets at `base` (the input is a tail of a file).
    pub fn starting_at(mut self, base: u64) -> Self {
        self.offset = base;
        self
    }

    /// Treat the input as following `n` members already read, so that
    /// bytes that are not a member are trailing garbage, not an error.
    pub fn after_members(mut self, n: u64) -> Self {
        self.members = n;
        self
    }

    /// What follows the last member (trailing garbage): bytes already
    /// taken from the input, then the input itself.
    pub fn into_rest(self) -> (Vec<u8>, R) {
        (self.header, self.input)
    }

    /// Read the next member header; false at a clean end of input or at
    /// trailing garbage (then `trailing_at` says where).
    fn read_header(&mut self) -> io::Result<bool> {
        loop {
            // Parse what is buffered; a header split across buffers (or a
            // body start left over from one) is gathered in `self.header`.
            let gathered = !self.header.is_empty();
            let (result, at_end) = if gathered {
                (parse_header(&self.header), false)
            } else {
                let buf = self.input.fill_buf()?;
                (parse_header(buf), buf.is_empty())
            };
            match result {
                Ok(h) => {
                    if gathered {
                        // What follows the header is the start of the body.
                        self.header.drain(..h.len);
                    } else {
                        self.input.consume(h.len);
                    }
                    self.member_start = self.offset;
                    self.offset += h.len as u64;
                    return Ok(true);
                }
                Err(HeaderError::Short) => {
                    let buf = self.input.fill_buf()?;
                    if buf.is_empty() {
                        if self.members > 0 && self.header.is_empty() {
                            return Ok(false);
                        }
                        if self.members > 0 && self.header.len() < 2 {
                            self.trailing_at = Some(self.offset);
                            return Ok(false);
                        }
                        if at_end && self.members == 0 {
                            return Err(truncated(self.offset));
                        }
                        return Err(truncated(self.offset + self.header.len() as u64));
                    }
                    let take = buf.len().min(64 * 1024);
                    self.header.extend_from_slice(&buf[..take]);
                    self.input.consume(take);
                }
                Err(HeaderError::NotGzip) => {
                    if self.members > 0 {
                        self.trailing_at = Some(self.offset);
                        return Ok(false);
                    }
                    return Err(invalid(self.offset, "not in gzip format"));
                }
                Err(HeaderError::Unsupported(why)) => {
                    return Err(invalid(self.offset, why));
                }
            }
        }
    }

    fn read_trailer(&mut self) -> io::Result<()> {
        let mut trailer = [0u8; 8];
        let mut got = 0;
        while got < 8 {
            if !self.header.is_empty() {
                let n = self.header.len().min(8 - got);
                trailer[got..got + n].copy_from_slice(&self.header[..n]);
                self.header.drain(..n);
                got += n;
                continue;
            }
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return Err(truncated(self.offset + got as u64));
            }
            let n = buf.len().min(8 - got);
            trailer[got..got + n].copy_from_slice(&buf[..n]);
            self.input.consume(n);
            got += n;
        }
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        if crc != self.inflater.crc() {
            return Err(invalid(
                self.offset,
                format!(
                    "crc error in the member that starts at byte {}",
                    self.member_start
                ),
            ));
        }
        if size != self.member_out as u32 {
            return Err(invalid(
                self.offset + 4,
                format!(
                    "length error in the member that starts at byte {}",
                    self.member_start
                ),
            ));
        }
        self.offset += 8;
        self.members += 1;
        Ok(())
    }
}

impl<R: BufRead> Read for GzipDecoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::Header => {
                    if self.read_header()? {
                        self.inflater.reset();
                        self.member_out = 0;
                        self.state = State::Body;
                    } else {
                        self.state = State::Done;
                    }
                }
                State::Body => {
                    let from_header = !self.header.is_empty();
                    let step = {
                        let input = if from_header {
                            &self.header[..]
                        } else {
                            self.input.fill_buf()?
                        };
                        if input.is_empty() {
                            return Err(truncated(self.offset));
                        }
                        self.inflater
                            .inflate(input, out)
                            .map_err(|e| invalid(self.offset + e.consumed as u64, e.why))?
                    };
                    if from_header {
                        self.header.drain(..step.consumed);
                    } else {
                        self.input.consume(step.consumed);
                    }
                    self.offset += step.consumed as u64;
                    if !step.held.is_empty() {
                        self.offset -= step.held.len() as u64;
                        self.header.splice(0..0, step.held);
                    }
                    self.member_out += step.produced as u64;
                    if step.finished {
                        self.read_trailer()?;
                        self.state = State::Header;
                    }
                    if step.produced > 0 {
                        return Ok(step.produced);
                    }
                    if !step.finished && step.consumed == 0 {
                        return Err(invalid(self.offset, "invalid compressed data"));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic() {
        assert_eq!(Format::detect(&[0x1f, 0x8b, 8, 0]), Some(Format::Gzip));
        assert_eq!(Format::detect(b"BZh91AY"), Some(Format::Bzip2));
        assert_eq!(Format::detect(b"BZh0"), None);
        assert_eq!(Format::detect(b"id,name"), None);
        assert_eq!(Format::detect(b""), None);
    }

    #[test]
    fn header_round_trip() {
        let mut h = Vec::new();
        write_header(&mut h, Some(b"a.txt"), 1234, 6, true);
        let parsed = parse_header(&h).unwrap();
        assert_eq!(parsed.len, h.len());
        assert_eq!(parsed.name.as_deref(), Some(&b"a.txt"[..]));
        assert_eq!(parsed.mtime, 1234);
        h.extend_from_slice(&[0; 10]);
        set_index(&mut h, 77);
        assert_eq!(parse_header(&h).unwrap().index, Some((h.len() as u32, 77)));
        assert!(matches!(parse_header(&h[..5]), Err(HeaderError::Short)));
        assert!(matches!(
            parse_header(b"PK\x03\x04"),
            Err(HeaderError::NotGzip)
        ));
    }

    #[test]
    fn decodes_members_in_sequence() {
        let mut data = Vec::new();
        for part in [&b"hello "[..], b"", b"world"] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            std::io::Write::write_all(&mut enc, part).unwrap();
            data.extend(enc.finish().unwrap());
        }
        let mut out = String::new();
        GzipDecoder::new(&data[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "hello world");
        let mut bad = data.clone();
        let n = bad.len();
        bad[n - 6] ^= 1;
        let err = GzipDecoder::new(&bad[..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("crc error"), "{err}");
    }

    #[test]
    fn decodes_with_tiny_buffers() {
        // Small reads on both sides exercise the inflater's read-ahead
        // across member boundaries.
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{i} ").into_bytes())
            .collect();
        let mut data = Vec::new();
        for part in [&text[..], b"x", &text[..5000], b""] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            std::io::Write::write_all(&mut enc, part).unwrap();
            data.extend(enc.finish().unwrap());
        }
        let mut want = text.clone();
        want.push(b'x');
        want.extend_from_slice(&text[..5000]);
        for (cap, chunk) in [(7, 13), (1, 1), (64 * 1024, 3), (5, 1 << 20)] {
            let mut dec = GzipDecoder::new(std::io::BufReader::with_capacity(cap, &data[..]));
            let mut out = Vec::new();
            let mut buf = vec![0u8; chunk];
            loop {
                let n = dec.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert!(out == want, "capacity {cap}, reads of {chunk}");
            assert_eq!(dec.trailing_at, None);
        }
    }
}
