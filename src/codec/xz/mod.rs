//! xz through liblzma, on every core both ways: compression by liblzma's
//! multi-threaded encoder, which records each block's sizes in its header
//! and in the index (what `xz -T` writes), in equal blocks for the cores;
//! decompression of a file of several blocks, whoever wrote it, block by
//! block on every core, the blocks found through the index ([`index`]),
//! each decoded by liblzma's ordinary decoder; anything else (a pipe, a
//! file of one block) by liblzma's multi-threaded decoder. Concatenated
//! streams and stream padding are read as the xz command reads them.

mod index;

use crate::codec::pipeline;
use crate::codec::source::{Source, Trailing};
use crate::codec::window::Window;
use crate::io::map::ReleaseBehind;
use anyhow::{Context, Result, anyhow, bail};
use liblzma::stream::{
    Action, Check, Filters, LzmaOptions, MtStreamBuilder, PRESET_EXTREME, Status, Stream,
};
use std::io::{self, BufRead, Read, Write};

/// Compress `input` to xz at `level` (0-9, `extreme` for -e) on `threads`
/// cores, in blocks of `block` bytes (0: fkit's choice, see
/// [`balanced_block`]); `len` is the input's size when it is known in
/// advance. Returns the number of bytes read.
pub(crate) fn compress(
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    level: u32,
    extreme: bool,
    threads: usize,
    block: usize,
    len: Option<u64>,
) -> Result<u64> {
    let preset = level.min(9) | if extreme { PRESET_EXTREME } else { 0 };
    let block = match (block, len) {
        (0, Some(len)) => {
            let mut filters = Filters::new();
            filters.lzma2(&LzmaOptions::new_preset(preset).context("xz")?);
            balanced_block(filters.mt_block_size(), len, threads)
        }
        _ => block as u64,
    };
    let stream = MtStreamBuilder::new()
        .threads(threads.clamp(1, 64) as u32)
        .preset(preset)
        .check(Check::Crc64)
        .block_size(block)
        .encoder()
        .context("xz")?;
    let mut encoder = liblzma::write::XzEncoder::new_stream(out, stream);
    let read = io::copy(input, &mut encoder).context("xz")?;
    encoder.finish().context("write error")?;
    Ok(read)
}

/// The block size for `len` bytes on `threads` cores, from liblzma's
/// default `xz_block` (three times the dictionary, what `xz -T` uses).
///
/// xz's own choice leaves cores idle: 32 MiB at -6 is a block of 24 MiB and
/// one of 8 MiB, so two cores take the time of 24 MiB to compress, and of
/// 24 MiB again to decompress. fkit cuts the input into equal blocks, as
/// many as a multiple of the cores, of about two dictionaries each (at most
/// 16 MiB at -6, so that decoding two at once stays within 64 MB). Smaller
/// blocks cost size, as each starts with an empty dictionary: on 32 MiB of
/// text.log at -6 (xz -6 -T2: 5,235,104 bytes), blocks of 16 MiB gave
/// 1.0002x that, of 10.7 MiB 1.008x, of 8 MiB 1.015x; so a block is never
/// cut smaller than one dictionary.
fn balanced_block(xz_block: u64, len: u64, threads: usize) -> u64 {
    let threads = threads.max(1) as u64;
    let dict = (xz_block / 3).max(1);
    if threads == 1 || len <= dict {
        return xz_block;
    }
    let blocks = len
        .div_ceil(2 * dict)
        .next_multiple_of(threads)
        .min((len / dict).max(1));
    len.div_ceil(blocks)
}

fn decoder(threads: usize) -> Result<Stream> {
    MtStreamBuilder::new()
        .threads(threads.clamp(1, 64) as u32)
        // Blocks are decoded in parallel only while the memory allows;
        // past this liblzma falls back to one thread rather than failing.
        .memlimit_threading(256 << 20)
        .memlimit_stop(u64::MAX)
        .decoder()
        .context("xz")
}

/// Decompress xz from `src` into `out` on `threads` cores: every stream of
/// a concatenation, with the zero padding allowed between and after them
/// (a multiple of four bytes); anything else after them is an error, as
/// for `xz -d`.
pub(crate) fn decompress(
    src: Source,
    out: &mut Window,
    threads: usize,
) -> Result<Option<Trailing>> {
    if let Source::File(file) = &src
        && let Some(layout) = index::layout(file).filter(|l| by_blocks(l, threads))
    {
        decode_blocks(file, &layout, out, threads)?;
        return Ok(None);
    }
    let mut mapped;
    let reader: &mut dyn BufRead = match src {
        Source::Stream(reader) => reader,
        Source::File(file) => {
            mapped = file.reader_from(0);
            &mut mapped
        }
    };
    let mut input = crate::io::counted::Counted::new(reader);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let start = input.count();
        let mut xz = liblzma::bufread::XzDecoder::new_stream(&mut input, decoder(threads)?);
        while !out.full() {
            let n = match xz.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => bail!(
                    "unexpected end of file (truncated input), in the stream that starts at byte {start}"
                ),
                Err(e) => bail!("{e}, in the stream that starts at byte {start}"),
            };
            if n == 0 {
                break;
            }
            out.put(&buf[..n])?;
        }
        drop(xz);
        if out.full() {
            return Ok(None);
        }
        // Stream padding: zeros, a multiple of four bytes.
        let padding_at = input.count();
        loop {
            let buf = input.fill_buf()?;
            let zeros = buf.iter().take_while(|&&b| b == 0).count();
            if zeros == 0 {
                break;
            }
            input.consume(zeros);
        }
        let padding = input.count() - padding_at;
        let rest = input.fill_buf()?;
        if rest.is_empty() && padding.is_multiple_of(4) {
            return Ok(None);
        }
        if !padding.is_multiple_of(4) || !rest.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            bail!("trailing data at byte {padding_at} is neither an xz stream nor stream padding");
        }
    }
}

/// Memory fkit's block decoder may hold in decoded blocks and their
/// dictionaries (liblzma's threaded decoder gets the same budget).
const BLOCK_MEMORY: u64 = 256 << 20;

/// Whether a file with `layout` is decoded block by block, through its
/// index: when it has several blocks, each small enough that `threads` of
/// them (and a dictionary as large, at most) fit in [`BLOCK_MEMORY`].
/// Otherwise it is decoded as a stream, in constant memory.
fn by_blocks(layout: &index::Layout, threads: usize) -> bool {
    let largest = layout.blocks.iter().map(|b| b.data_len).max().unwrap_or(0);
    let at_once = threads.clamp(1, layout.blocks.len()) as u64;
    layout.blocks.len() > 1 && largest.saturating_mul(2 * at_once) <= BLOCK_MEMORY
}

/// Decode the blocks of `file` that the window wants, found through its
/// index, on `threads` cores, each straight from the map into a buffer of
/// its decoded size; at most `threads` blocks are held at once.
fn decode_blocks(
    file: &crate::io::MappedFile,
    layout: &index::Layout,
    out: &mut Window,
    threads: usize,
) -> Result<()> {
    let map: &[u8] = file;
    let blocks = &layout.blocks;
    // A --range skips the blocks before it whole.
    let mut first = 0;
    while first < blocks.len() && out.skip >= blocks[first].data_len {
        out.skip -= blocks[first].data_len;
        first += 1;
    }
    let mut left = out.left.saturating_add(out.skip);
    let wanted = blocks[first..]
        .iter()
        .take_while(|b| {
            let more = left > 0;
            left = left.saturating_sub(b.data_len);
            more
        })
        .copied();
    let (spare_tx, spare_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    let mut release = ReleaseBehind::new(file, 0);
    pipeline::ordered_within(
        threads,
        threads.max(1),
        wanted.map(Ok),
        || (),
        |_, block: index::Block| {
            let mut data = spare_rx.try_recv().unwrap_or_default();
            data.clear();
            data.reserve_exact(block.data_len as usize);
            huge_pages(&mut data);
            decode_block(layout, map, &block, &mut data)?;
            Ok((data, block.offset + block.unpadded as usize))
        },
        |(data, end)| {
            out.put(&data)?;
            release.upto(end);
            let _ = spare_tx.send(data);
            Ok(())
        },
    )
}

/// Ask for the spare room of `data` in huge pages (2 MiB on x86-64), where
/// the system offers them on request: a 16 MiB block written into fresh
/// 4 KiB pages takes 4096 page faults, a tenth of its decoding time.
fn huge_pages(data: &mut Vec<u8>) {
    #[cfg(target_os = "linux")]
    {
        let spare = data.spare_capacity_mut();
        if spare.len() >= 4 << 20 {
            // SAFETY: the range is memory this Vec owns, for its lifetime;
            // MADV_HUGEPAGE changes only how its pages are backed, never
            // their contents, and the kernel ignores the part of the range
            // that does not cover whole huge pages.
            let _ = unsafe {
                rustix::mm::madvise(
                    spare.as_mut_ptr().cast(),
                    spare.len(),
                    rustix::mm::Advice::LinuxHugepage,
                )
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = data;
}

/// Decode one block into `data` (empty, with room for its decoded size).
fn decode_block(
    layout: &index::Layout,
    map: &[u8],
    block: &index::Block,
    data: &mut Vec<u8>,
) -> Result<()> {
    let at = block.offset;
    let mut stream = Stream::new_stream_decoder(u64::MAX, 0).context("xz")?;
    for piece in layout.standalone(map, block) {
        let mut used = 0;
        while used < piece.len() {
            let (before_in, before_out) = (stream.total_in(), stream.total_out());
            let status = stream
                .process_vec(&piece[used..], data, Action::Run)
                .map_err(|e| anyhow!("{e}, in the block that starts at byte {at}"))?;
            used += (stream.total_in() - before_in) as usize;
            if status == Status::StreamEnd {
                if data.len() as u64 != block.data_len {
                    bail!(
                        "the block that starts at byte {at} decodes to {} bytes, the index says {}",
                        data.len(),
                        block.data_len
                    );
                }
                return Ok(());
            }
            if stream.total_in() == before_in && stream.total_out() == before_out {
                bail!(
                    "the block that starts at byte {at} decodes to more than the {} bytes the index says",
                    block.data_len
                );
            }
        }
    }
    bail!("unexpected end of file (truncated input), in the block that starts at byte {at}")
}

#[cfg(test)]
mod tests {
    use super::balanced_block;

    const MIB: u64 = 1 << 20;

    #[test]
    fn blocks_are_equal_and_a_multiple_of_the_cores() {
        // -6: 8 MiB dictionary, xz's blocks of 24 MiB.
        let xz = 24 * MIB;
        assert_eq!(balanced_block(xz, 32 * MIB, 2), 16 * MIB);
        assert_eq!(balanced_block(xz, 256 * MIB, 2), 16 * MIB);
        assert_eq!(balanced_block(xz, 40 * MIB, 2), 10 * MIB);
        assert_eq!(balanced_block(xz, 32 * MIB, 4), 8 * MIB);
        // Never smaller than the dictionary: 12 MiB stays one block.
        assert!(balanced_block(xz, 12 * MIB, 2) >= 12 * MIB);
        assert!(balanced_block(xz, 1000, 2) >= 1000);
        // One core: xz's own blocks.
        assert_eq!(balanced_block(xz, 32 * MIB, 1), xz);
    }
}
