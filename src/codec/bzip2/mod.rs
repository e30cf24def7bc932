//! bzip2, compressed and decompressed on every core. Rather than the bzip2
//! crate (libbz2, one core) for everything: fkit's own encoder and block
//! decoder run on every core (bench rows "bzip2 -9 text.log": 0.24x
//! bzip2 -9's time, 0.71x lbzip2's; "bzip2 -d (file bzip2 wrote)": 0.28x
//! bzip2 -d's). libbz2 still decodes streams (a pipe) and whatever fkit's
//! decoder has any doubt about, and names where the damage is.
//!
//! Each block of `level` x 100 kB becomes a complete stream; bzip2 reads the
//! concatenation.
//!
//! - `encoder.rs`: the block encoder (BWT by libsais, then bzip2's stages);
//! - `blocks.rs`: finding the blocks of a stream by their magic;
//! - `decoder.rs`: decoding one block in place.

pub(crate) mod blocks;
pub(crate) mod decoder;
mod encoder;

use crate::codec::pipeline;
use crate::codec::source::{Source, Trailing, after_last, tail};
use crate::codec::window::Window;
use crate::io::counted::Counted;
use crate::io::detect::Format;
use crate::io::map::ReleaseBehind;
use anyhow::{Context, Result, bail};
use blocks::{Block, Blocks, Stop};
use decoder::BlockDecoder;
use encoder::BlockEncoder;
use std::io::{self, BufRead, Read, Write};

/// Compress `input` to bzip2: each block of `level` x 100 kB becomes a
/// complete stream, compressed on its own core by fkit's own encoder
/// (encoder.rs: on text.log 2.4x less CPU than libbz2 and 1.5x less than
/// lbzip2, output within 0.1% of bzip2 -9's).
pub(crate) fn compress(
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
        pipeline::input_blocks(input, block, &mut total),
        BlockEncoder::new,
        |encoder, (_, data): (usize, Vec<u8>)| {
            let mut stream = Vec::with_capacity(data.len() / 3 + 64);
            encoder.stream(&data, level, &mut stream)?;
            Ok(stream)
        },
        |stream| out.write_all(&stream).context("write error"),
    )?;
    Ok(total)
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

/// The decoded bytes that blocks decoding on every core may hold before
/// the writer takes them, beyond the block next in line (which is never
/// held back): a block of 900 kB can decode to 46 MB, so without a bound
/// `-p 16` could hold 48 such blocks (2 GB) at once. Ordinary blocks decode
/// to about 1 MB, so this holds back nothing else.
const IN_FLIGHT: usize = 256 << 20;

/// The budget of decoded bytes in flight between the block decoders and
/// the writer. A decoder takes a block's decoded length (known before it is
/// allocated, see [`BlockDecoder::decode_block_within`]) and waits while the
/// budget is spent, unless its block is the next to be written: that one
/// always proceeds (it may overdraw), so the writer never waits on a block
/// that waits on the writer.
struct InFlight {
    state: std::sync::Mutex<Budget>,
    freed: std::sync::Condvar,
    limit: usize,
}

struct Budget {
    /// Decoded bytes taken and not yet written.
    held: usize,
    /// The number of the block the writer writes next.
    next: usize,
    /// The writer stopped: nothing will be given back.
    cancelled: bool,
}

impl InFlight {
    fn new(limit: usize) -> InFlight {
        InFlight {
            state: std::sync::Mutex::new(Budget {
                held: 0,
                next: 0,
                cancelled: false,
            }),
            freed: std::sync::Condvar::new(),
            limit,
        }
    }

    /// Take `len` bytes for block `nth` (the blocks counted from 0),
    /// waiting for the writer if need be; false once cancelled.
    fn take(&self, nth: usize, len: usize) -> bool {
        let mut b = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !b.cancelled && nth != b.next && b.held + len > self.limit {
            b = self.freed.wait(b).unwrap_or_else(|e| e.into_inner());
        }
        b.held += len;
        !b.cancelled
    }

    /// The writer wrote the next block, of `len` decoded bytes.
    fn give_back(&self, len: usize) {
        let mut b = self.state.lock().unwrap_or_else(|e| e.into_inner());
        b.held = b.held.saturating_sub(len);
        b.next += 1;
        self.freed.notify_all();
    }

    /// The writer stops: every waiting decoder gives up.
    fn cancel(&self) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .cancelled = true;
        self.freed.notify_all();
    }
}

/// Decompress bzip2. In a file, the blocks of the streams are found by
/// their magic and decoded in place by fkit's block decoder on `threads`
/// cores (one core: the same, in this thread). Any doubt (a magic inside
/// compressed data, damage, a block this decoder does not handle) falls
/// back to libbz2 decoding one stream after another from the last stream
/// known to be good, which also reports where the damage is.
pub(crate) fn decompress(
    src: Source,
    out: &mut Window,
    threads: usize,
) -> Result<Option<Trailing>> {
    let file = match src {
        Source::Stream(reader) => return bunzip_stream(reader, 0, 0, out),
        Source::File(file) => file,
    };
    let map: &[u8] = file;
    let mut blocks = Blocks::new(map);
    // The stream being written, the bytes written from it, and the CRC of
    // its blocks so far (combined as bzip2 does).
    let (mut stream, mut written, mut combined) = (usize::MAX, 0u64, 0u32);
    let mut release = ReleaseBehind::new(file, 0);
    let budget = InFlight::new(IN_FLIGHT);
    let result = pipeline::ordered(
        threads,
        (&mut blocks).enumerate().map(Ok),
        BlockDecoder::new,
        |decoder, (nth, block): (usize, Block)| {
            let mut data = Vec::with_capacity(block.level as usize * 100_000 + 1024);
            let decoded =
                decoder.decode_block_within(map, block.start_bit, block.level, &mut data, |len| {
                    budget.take(nth, len)
                });
            match decoded {
                Ok((end, crc)) if end == block.end_bit && crc == block.crc => Ok((data, block)),
                _ => {
                    // The writer stops at this block or before: no block
                    // may wait for it to give bytes back.
                    budget.cancel();
                    Err(anyhow::Error::new(ResumeAt(block.stream)))
                }
            }
        },
        |(data, block)| {
            let written_now = (|| {
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
            })();
            match written_now {
                Ok(()) => budget.give_back(data.len()),
                Err(_) => budget.cancel(),
            }
            written_now
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

/// Decode concatenated bzip2 streams one after another with libbz2;
/// `reader` starts at byte `base` of the input, for the error offsets.
fn bunzip_stream(
    reader: &mut dyn BufRead,
    base: u64,
    streams_before: usize,
    out: &mut Window,
) -> Result<Option<Trailing>> {
    let mut input = Counted::new(reader);
    let mut buf = vec![0u8; 1 << 20];
    let mut streams = streams_before;
    loop {
        let (head_len, format) = {
            let head = input.fill_buf()?;
            (head.len(), Format::detect(head))
        };
        if head_len == 0 && streams > 0 {
            return Ok(None);
        }
        if format != Some(Format::Bzip2) {
            if streams == 0 && head_len < 4 {
                bail!(
                    "unexpected end of file at byte {} (truncated input)",
                    base + input.count() + head_len as u64
                );
            }
            if streams == 0 {
                bail!("not in bzip2 format at byte {}", base + input.count());
            }
            let at = base + input.count();
            return after_last(Format::Bzip2, at, &[], &mut input, out);
        }
        let start = base + input.count();
        let mut decoder = ::bzip2::bufread::BzDecoder::new(&mut input);
        loop {
            let n = match decoder.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let at = base + decoder.get_ref().count();
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
