//! gzip compression on every core (the pigz/bgzip technique): the input is
//! cut into blocks, each deflated on its own core and written, in order, as
//! an independent member whose header carries fkit's block index. Rather
//! than flate2's `GzEncoder` (one core) or a parallel gzip crate such as
//! gzp: no crate writes the index, which is what lets fkit inflate its own
//! files on every core (bench row "gzip -6 text.log": 0.58x pigz -6's time
//! at 0.999x gzip -6's size).

use super::member::{set_index, write_header};
use crate::codec::pipeline;
use anyhow::{Context, Result, anyhow};
use std::io::{Read, Write};

/// Which deflate implementation compresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Engine {
    /// The fastest measured for the level.
    Auto,
    Libdeflate,
    Isal,
    Zlib,
}

/// How to compress: the gzip level, cores, block size, and what the first
/// member's header records.
pub(crate) struct GzipOptions {
    /// 0 (stored) to 9, or 11 (zopfli, as pigz -11).
    pub level: u32,
    pub threads: usize,
    pub block: usize,
    pub name: Option<Vec<u8>>,
    pub comment: Option<Vec<u8>>,
    pub mtime: u32,
    pub engine: Engine,
    /// Cut blocks where the content says (`--rsyncable`), not every
    /// `block` bytes.
    pub rsyncable: bool,
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
    pub(super) fn resolve(self, level: u32) -> (Engine, u32) {
        match self {
            // Stored blocks, and pigz's -11: zopfli, whatever the engine.
            _ if level == 0 || level == 11 => (Engine::Libdeflate, level),
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
    /// pigz -11: zopfli's exhaustive search, 1.5-2 orders of magnitude slower
    /// than level 9 for a few percent less output.
    Zopfli,
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
            _ if level == 11 => Deflater::Zopfli,
            _ => {
                let lvl = libdeflater::CompressionLvl::new(level.min(12) as i32)
                    .map_err(|_| anyhow!("bad compression level {level}"))?;
                Deflater::Libdeflate(libdeflater::Compressor::new(lvl))
            }
        })
    }

    /// Append the raw deflate stream of `data` to `out`.
    fn deflate(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        match self {
            Deflater::Zopfli => {
                zopfli::compress(
                    zopfli::Options::default(),
                    zopfli::Format::Deflate,
                    data,
                    &mut *out,
                )
                .map_err(|e| anyhow!("zopfli: {e}"))?;
            }
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

/// Compress `input` to gzip on `opts.threads` cores; returns the number of
/// bytes read.
pub(crate) fn compress(
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    opts: &GzipOptions,
) -> Result<u64> {
    let (engine, level) = opts.engine.resolve(opts.level);
    Deflater::new(engine, level)?;
    let mut total = 0;
    let blocks: Box<dyn Iterator<Item = Result<(usize, Vec<u8>)>> + Send> = if opts.rsyncable {
        // Cuts average one block size; a block is at most twice that.
        let max = (opts.block * 2).min(super::MAX_BLOCK);
        Box::new(pipeline::content_blocks(input, opts.block, max, &mut total))
    } else {
        Box::new(pipeline::input_blocks(input, opts.block, &mut total))
    };
    pipeline::ordered(
        opts.threads,
        blocks,
        || Deflater::new(engine, level).expect("checked above"),
        |deflater, (index, data): (usize, Vec<u8>)| {
            let mut member = Vec::with_capacity(data.len() / 2 + 128);
            let first = index == 0;
            let name = if first { opts.name.as_deref() } else { None };
            let comment = if first { opts.comment.as_deref() } else { None };
            write_header(
                &mut member,
                name,
                comment,
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
