//! BGZF, the blocked gzip of htslib (samtools, tabix, bgzip): members of at
//! most 64 KiB, each naming its own length in a `BC` extra subfield, then an
//! empty end-of-file member. Written on every core (a batch of blocks per
//! job), with the `.gzi` index `bgzip -i` writes; read on every core through
//! the same subfield (see [`super::index`]), whoever wrote the file.

use super::compress::Engine;
use crate::codec::pipeline;
use anyhow::{Context, Result, anyhow};
use std::io::{Read, Write};

/// Uncompressed bytes per block, as bgzip: what deflate's worst case still
/// fits, with the header and trailer, in the 64 KiB a block may take.
const BLOCK_DATA: usize = 0xff00;
/// Blocks compressed by one job: 16 x 65280 bytes, about 1 MiB.
const BLOCKS_PER_JOB: usize = 16;
const HEADER_LEN: usize = 18;

/// The empty block that ends every BGZF file (the SAM specification's).
pub(crate) const EOF_BLOCK: [u8; 28] = [
    0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0,
    0, 0,
];

/// Compress `input` to BGZF at `level` on `threads` cores. Returns the bytes
/// read and, for the `.gzi` index, where each block after the first starts
/// (compressed offset, uncompressed offset).
pub(crate) fn compress(
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    level: u32,
    threads: usize,
) -> Result<(u64, Vec<(u64, u64)>)> {
    let (engine, level) = Engine::Auto.resolve(level);
    if engine != Engine::Libdeflate || level == 11 {
        return Err(anyhow!("BGZF is written at levels 0-9"));
    }
    let lvl = libdeflater::CompressionLvl::new(level as i32)
        .map_err(|_| anyhow!("bad compression level {level}"))?;
    let mut total = 0;
    let (mut written, mut decoded) = (0u64, 0u64);
    let mut index = Vec::new();
    pipeline::ordered(
        threads,
        pipeline::input_blocks(input, BLOCK_DATA * BLOCKS_PER_JOB, &mut total),
        || libdeflater::Compressor::new(lvl),
        |c, (_, data): (usize, Vec<u8>)| {
            let mut blocks = Vec::with_capacity(data.len() / 2 + 1024);
            let mut sizes = Vec::new();
            for chunk in data.chunks(BLOCK_DATA) {
                let start = blocks.len();
                block(c, chunk, &mut blocks)?;
                sizes.push((blocks.len() - start, chunk.len()));
            }
            Ok((blocks, sizes))
        },
        |(blocks, sizes): (Vec<u8>, Vec<(usize, usize)>)| {
            for (len, data_len) in sizes {
                if written > 0 {
                    index.push((written, decoded));
                }
                written += len as u64;
                decoded += data_len as u64;
            }
            out.write_all(&blocks).context("write error")
        },
    )?;
    out.write_all(&EOF_BLOCK).context("write error")?;
    Ok((total, index))
}

/// Append one BGZF block holding `data` (at most [`BLOCK_DATA`] bytes).
fn block(c: &mut libdeflater::Compressor, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[
        0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0, 0,
    ]);
    let bound = c.deflate_compress_bound(data.len());
    out.resize(start + HEADER_LEN + bound, 0);
    let n = c
        .deflate_compress(data, &mut out[start + HEADER_LEN..])
        .map_err(|e| anyhow!("libdeflate: {e:?}"))?;
    out.truncate(start + HEADER_LEN + n);
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let bsize = out.len() - start - 1;
    // 65280 bytes of any data deflate to less than 64 KiB with libdeflate.
    let bsize = u16::try_from(bsize).map_err(|_| anyhow!("a BGZF block over 64 KiB"))?;
    out[start + 16..start + 18].copy_from_slice(&bsize.to_le_bytes());
    Ok(())
}

/// The `.gzi` index of `entries`, as bgzip -i writes it: their number, then
/// each (compressed offset, uncompressed offset), all 64-bit little-endian.
pub(crate) fn gzi(entries: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + entries.len() * 16);
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (compressed, uncompressed) in entries {
        out.extend_from_slice(&compressed.to_le_bytes());
        out.extend_from_slice(&uncompressed.to_le_bytes());
    }
    out
}
