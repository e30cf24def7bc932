//! zlib and single-entry zip output (pigz -z and -K), deflated on every
//! core: the input is cut into blocks, each deflated on its own core by
//! zlib-rs and ended with a full flush (byte-aligned, no reference to what
//! came before), so the blocks concatenate into one deflate stream, closed
//! by an empty final block. The checksums of the blocks are combined in
//! order: Adler-32 for zlib, CRC-32 for zip. libdeflate, which compresses
//! fkit's gzip members, always ends its output with a final block, so it
//! cannot write the pieces of one stream.

use crate::codec::pipeline;
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};

/// Which container wraps the deflate stream.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// RFC 1950: a 2-byte header, the stream, the Adler-32 of the data.
    Zlib,
    /// One entry named `name`, stored with a data descriptor (its sizes
    /// and CRC follow the data), then the central directory.
    Zip,
}

/// An empty final block with fixed Huffman codes: BFINAL=1, BTYPE=01, the
/// end-of-block code; what ends the stream after the flushed blocks.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// One block deflated, with its checksum and length.
struct Piece {
    deflated: Vec<u8>,
    adler: u32,
    crc: crc32fast::Hasher,
    len: u64,
}

fn deflate_block(z: &mut flate2::Compress, data: &[u8]) -> Result<Piece> {
    z.reset();
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let consumed = z.total_in() as usize;
        z.compress_vec(&data[consumed..], &mut out, flate2::FlushCompress::Full)?;
        // The flush is complete once the input is taken and it left room.
        if z.total_in() as usize == data.len() && out.len() < out.capacity() {
            break;
        }
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(data);
    Ok(Piece {
        deflated: out,
        adler: simd_adler32::adler32(&data),
        crc,
        len: data.len() as u64,
    })
}

/// The Adler-32 of two pieces of data from theirs and the second's length
/// (RFC 1950's sums, taken modulo 65521).
fn adler32_combine(first: u32, second: u32, second_len: u64) -> u32 {
    const BASE: u64 = 65521;
    let rem = second_len % BASE;
    let (a1, b1) = (first as u64 & 0xffff, first as u64 >> 16);
    let (a2, b2) = (second as u64 & 0xffff, second as u64 >> 16);
    let a = (a1 + a2 + BASE - 1) % BASE;
    let b = (rem * a1 % BASE + b1 + b2 + BASE - rem) % BASE;
    (a | (b << 16)) as u32
}

/// What the zip entry records besides its data.
pub(crate) struct ZipEntry<'a> {
    pub name: &'a [u8],
    /// Modification time as the zip format keeps it (MS-DOS date and time).
    pub dos_time: (u16, u16),
}

/// Compress `input` into `container` at zlib `level` on `threads` cores,
/// in blocks of `block` bytes; returns the number of bytes read.
pub(crate) fn compress(
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    container: Container,
    entry: &ZipEntry,
    level: u32,
    threads: usize,
    block: usize,
) -> Result<u64> {
    let level = flate2::Compression::new(level.min(9));
    let mut out = crate::io::counted::Counted::new(out);
    let local_header = zip_local_header(entry);
    match container {
        // CMF: deflate with a 32 KiB window; FLG: the level and the check bits.
        Container::Zlib => {
            let flevel: u16 = match level.level() {
                0..=1 => 0,
                2..=5 => 1,
                6 => 2,
                _ => 3,
            };
            let header = (0x78u16 << 8) | (flevel << 6);
            let header = header + (31 - header % 31);
            out.write_all(&header.to_be_bytes())
                .context("write error")?;
        }
        Container::Zip => out.write_all(&local_header).context("write error")?,
    }
    let data_start = out.count();
    let (mut adler, mut crc, mut total) = (1u32, crc32fast::Hasher::new(), 0u64);
    let mut read = 0;
    pipeline::ordered(
        threads,
        pipeline::input_blocks(input, block, &mut read),
        || flate2::Compress::new(level, false),
        |z, (_, data): (usize, Vec<u8>)| deflate_block(z, &data),
        |piece| {
            adler = adler32_combine(adler, piece.adler, piece.len);
            crc.combine(&piece.crc);
            total += piece.len;
            out.write_all(&piece.deflated).context("write error")
        },
    )?;
    out.write_all(&FINAL_BLOCK).context("write error")?;
    match container {
        Container::Zlib => out.write_all(&adler.to_be_bytes()).context("write error")?,
        Container::Zip => {
            let deflated = out.count() - data_start;
            if deflated > u32::MAX as u64 || total > u32::MAX as u64 {
                bail!("zip output over 4 GiB needs zip64, which fkit does not write");
            }
            let crc = crc.finalize();
            let mut tail = Vec::new();
            // Data descriptor.
            tail.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
            tail.extend_from_slice(&crc.to_le_bytes());
            tail.extend_from_slice(&(deflated as u32).to_le_bytes());
            tail.extend_from_slice(&(total as u32).to_le_bytes());
            // Central directory: one entry, then its end record.
            let directory_at = out.count() + tail.len() as u64;
            let mut directory = Vec::new();
            directory.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            directory.extend_from_slice(&[20, 3]); // made by: 2.0, Unix
            directory.extend_from_slice(&local_header[4..14]);
            directory.extend_from_slice(&crc.to_le_bytes());
            directory.extend_from_slice(&(deflated as u32).to_le_bytes());
            directory.extend_from_slice(&(total as u32).to_le_bytes());
            directory.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
            // Extra field, comment, disk, internal attributes.
            directory.extend_from_slice(&[0; 8]);
            // External attributes: a regular file, mode 0644.
            directory.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
            directory.extend_from_slice(&0u32.to_le_bytes()); // local header at 0
            directory.extend_from_slice(entry.name);
            tail.extend_from_slice(&directory);
            tail.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
            tail.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
            tail.extend_from_slice(&(directory.len() as u32).to_le_bytes());
            if directory_at > u32::MAX as u64 {
                bail!("zip output over 4 GiB needs zip64, which fkit does not write");
            }
            tail.extend_from_slice(&(directory_at as u32).to_le_bytes());
            tail.extend_from_slice(&[0, 0]); // no comment
            out.write_all(&tail).context("write error")?;
        }
    }
    Ok(read)
}

/// The local file header of the one entry: deflate, sizes and CRC in the
/// data descriptor after the data (flag bit 3).
fn zip_local_header(entry: &ZipEntry) -> Vec<u8> {
    let mut h = Vec::with_capacity(30 + entry.name.len());
    h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    h.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
    h.extend_from_slice(&8u16.to_le_bytes()); // flags: data descriptor
    h.extend_from_slice(&8u16.to_le_bytes()); // method: deflate
    h.extend_from_slice(&entry.dos_time.1.to_le_bytes());
    h.extend_from_slice(&entry.dos_time.0.to_le_bytes());
    h.extend_from_slice(&[0; 12]); // CRC and sizes: in the descriptor
    h.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(entry.name);
    h
}

/// Seconds since the epoch as MS-DOS (date, time), in UTC; times before
/// 1980, which the format cannot hold, become its first day.
pub(crate) fn dos_time(unix: i64) -> (u16, u16) {
    let unix = unix.max(315_532_800); // 1980-01-01
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = crate::io::time::civil_from_days(days);
    let date = (((year - 1980).min(127) << 9) | (month << 5) | day) as u16;
    let time = (((secs / 3600) << 11) | ((secs % 3600 / 60) << 5) | (secs % 60 / 2)) as u16;
    (date, time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_combines_as_one_pass() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for cut in [0, 1, 5552, 65521, 100_000, 200_000] {
            let (a, b) = data.split_at(cut);
            let whole = simd_adler32::adler32(&data.as_slice());
            let parts = adler32_combine(
                simd_adler32::adler32(&a),
                simd_adler32::adler32(&b),
                b.len() as u64,
            );
            assert_eq!(parts, whole, "cut at {cut}");
        }
    }

    #[test]
    fn blocks_make_one_zlib_stream() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("{} ", i % 977).into_bytes())
            .collect();
        let entry = ZipEntry {
            name: b"x",
            dos_time: dos_time(0),
        };
        let mut out = Vec::new();
        compress(
            &mut &data[..],
            &mut out,
            Container::Zlib,
            &entry,
            6,
            2,
            64 * 1024,
        )
        .unwrap();
        let mut back = Vec::new();
        flate2::read::ZlibDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data);
    }

    #[test]
    fn dos_time_of_a_known_date() {
        // 2024-02-29 13:45:30 UTC.
        let (date, time) = dos_time(1_709_214_330);
        assert_eq!(date, ((2024 - 1980) << 9) | (2 << 5) | 29);
        assert_eq!(time, (13 << 11) | (45 << 5) | 15);
    }
}
