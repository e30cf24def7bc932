//! zstd, compressed on every core as the zstd seekable format: the input is
//! cut into frames compressed independently, then a skippable frame holds
//! the seek table (each frame's compressed and decompressed size). `zstd -d`
//! reads such a file as ordinary concatenated frames and skips the table;
//! fkit finds the frames through it, decodes them on every core and decodes
//! only the frames a `--range` touches. libzstd's own multi-threaded mode
//! writes one frame, which nobody can decode in parallel. Any other zstd
//! input is decoded by libzstd frame after frame on one core.

use crate::codec::pipeline;
use crate::codec::source::{Source, Trailing};
use crate::codec::window::Window;
use crate::io::map::ReleaseBehind;
use anyhow::{Context, Result, anyhow, bail};
use std::io::{Read, Write};
use zstd::zstd_safe::CParameter;

/// The magic of the skippable frame that holds the seek table.
const SEEK_TABLE_FRAME: u32 = 0x184D_2A5E;
/// The magic that ends the seek table.
const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;
/// Number of frames (4), descriptor (1), magic (4).
const FOOTER: usize = 9;

/// Compress `input` to zstd at `level` on `threads` cores, in independent
/// frames of `frame` input bytes, then the seek table; returns the number of
/// bytes read.
pub(crate) fn compress(
    input: &mut (dyn Read + Send),
    out: &mut dyn Write,
    level: i32,
    threads: usize,
    frame: usize,
) -> Result<u64> {
    let compressor = || -> Result<zstd::bulk::Compressor<'static>> {
        let mut c = zstd::bulk::Compressor::new(level).context("zstd")?;
        // As the zstd command: a checksum of the content in every frame.
        c.set_parameter(CParameter::ChecksumFlag(true))
            .context("zstd")?;
        Ok(c)
    };
    compressor()?;
    let mut total = 0;
    let mut table = Vec::new();
    pipeline::ordered(
        threads,
        pipeline::input_blocks(input, frame, &mut total),
        || compressor().expect("checked above"),
        |c, (_, data): (usize, Vec<u8>)| {
            let frame = c.compress(&data).context("zstd")?;
            Ok((frame, data.len()))
        },
        |(frame, len)| {
            table.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            table.extend_from_slice(&(len as u32).to_le_bytes());
            out.write_all(&frame).context("write error")
        },
    )?;
    let frames = (table.len() / 8) as u32;
    let mut skippable = Vec::with_capacity(table.len() + 8 + FOOTER);
    skippable.extend_from_slice(&SEEK_TABLE_FRAME.to_le_bytes());
    skippable.extend_from_slice(&((table.len() + FOOTER) as u32).to_le_bytes());
    skippable.extend_from_slice(&table);
    skippable.extend_from_slice(&frames.to_le_bytes());
    // Descriptor: no per-frame checksums in the table (the frames have theirs).
    skippable.push(0);
    skippable.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
    out.write_all(&skippable).context("write error")?;
    Ok(total)
}

/// A frame the seek table names: where it is and what it decodes to.
#[derive(Clone, Copy)]
struct Frame {
    offset: usize,
    len: usize,
    data_len: usize,
}

/// The frames of a seekable file, from the seek table at its end, when the
/// table accounts for every byte of the file.
fn seek_table(map: &[u8]) -> Option<Vec<Frame>> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(map.get(at..at + 4)?.try_into().ok()?))
    };
    let end = map.len().checked_sub(FOOTER)?;
    if u32_at(end + 5)? != SEEKABLE_MAGIC {
        return None;
    }
    let frames = u32_at(end)? as usize;
    let descriptor = map[end + 4];
    if descriptor & 0x7c != 0 {
        return None;
    }
    let entry = if descriptor & 0x80 != 0 { 12 } else { 8 };
    let entries = frames.checked_mul(entry)?;
    let start = end.checked_sub(entries)?.checked_sub(8)?;
    if u32_at(start)? != SEEK_TABLE_FRAME || u32_at(start + 4)? as usize != entries + FOOTER {
        return None;
    }
    let mut offset = 0;
    let mut list = Vec::with_capacity(frames);
    for i in 0..frames {
        let at = start + 8 + i * entry;
        let len = u32_at(at)? as usize;
        let data_len = u32_at(at + 4)? as usize;
        // Frames fkit writes are at most --block-size's limit: a table that
        // claims more is not trusted with an allocation that size.
        if data_len > crate::codec::gzip::MAX_BLOCK {
            return None;
        }
        list.push(Frame {
            offset,
            len,
            data_len,
        });
        offset += len;
    }
    (offset == start).then_some(list)
}

/// Decompress zstd from `src` into `out`: the frames of a seekable file on
/// `threads` cores (only those a range touches), anything else one frame
/// after another. Whatever follows the frames is an error, as for `zstd -d`.
pub(crate) fn decompress(
    src: Source,
    out: &mut Window,
    threads: usize,
) -> Result<Option<Trailing>> {
    let file = match src {
        Source::Stream(reader) => return decode_piped(reader, out, threads),
        Source::File(file) => file,
    };
    let map: &[u8] = file;
    let Some(frames) = seek_table(map).or_else(|| walk_frames(map)) else {
        return decode_stream(&mut file.reader_from(0), out);
    };
    let mut first = 0;
    while first < frames.len() && out.skip >= frames[first].data_len as u64 {
        out.skip -= frames[first].data_len as u64;
        first += 1;
    }
    let mut left = out.left.saturating_add(out.skip);
    let wanted = frames[first..]
        .iter()
        .take_while(|f| {
            let more = left > 0;
            left = left.saturating_sub(f.data_len as u64);
            more
        })
        .copied();
    // Output buffers go back to the workers once written: fresh pages cost
    // a fault each, which is most of the time of a 4 MiB frame.
    let (spare_tx, spare_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    // The frames written are not read again: their pages are given back.
    let mut release = ReleaseBehind::new(file, 0);
    pipeline::ordered(
        threads,
        wanted.map(Ok),
        || zstd::bulk::Decompressor::new().expect("a zstd context"),
        |d, f: Frame| {
            let mut data = spare_rx.try_recv().unwrap_or_default();
            data.clear();
            data.reserve(f.data_len);
            d.decompress_to_buffer(&map[f.offset..f.offset + f.len], &mut data)
                .map_err(|e| anyhow!("{e} in the frame that starts at byte {}", f.offset))?;
            if data.len() != f.data_len {
                bail!(
                    "the frame that starts at byte {} decodes to {} bytes, its seek table says {}",
                    f.offset,
                    data.len(),
                    f.data_len
                );
            }
            Ok((data, f.offset + f.len))
        },
        |(data, end)| {
            out.put(&data)?;
            release.upto(end);
            let _ = spare_tx.send(data);
            Ok(())
        },
    )?;
    Ok(None)
}

/// What `frame_extent` found at the start of a buffer.
#[derive(Debug, PartialEq)]
enum Extent {
    /// A frame of this many bytes that records its content size.
    Frame { len: usize, data_len: usize },
    /// A skippable frame (a seek table, say) of this many bytes.
    Skippable(usize),
    /// More bytes are needed to tell.
    Short,
    /// Not a frame whose extent and size its headers give: decoded by
    /// libzstd as a stream instead (no content size, damage, not zstd).
    Other,
}

/// Where the zstd frame at the start of `buf` ends, from its header and its
/// blocks' headers (each gives its block's size), without decoding it; and
/// what it decodes to, from the header's content size.
fn frame_extent(buf: &[u8]) -> Extent {
    let Some(magic) = buf.get(..4) else {
        return Extent::Short;
    };
    let magic = u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]);
    if magic & 0xffff_fff0 == 0x184d_2a50 {
        return match buf.get(4..8) {
            Some(n) => Extent::Skippable(8 + u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize),
            None => Extent::Short,
        };
    }
    if magic != 0xfd2f_b528 {
        return Extent::Other;
    }
    let Some(&fhd) = buf.get(4) else {
        return Extent::Short;
    };
    let single_segment = fhd & 0x20 != 0;
    if fhd & 0x08 != 0 || (fhd >> 6 == 0 && !single_segment) {
        // Reserved bit set, or no content size recorded.
        return Extent::Other;
    }
    let window = usize::from(!single_segment);
    let dict = [0, 1, 2, 4][(fhd & 3) as usize];
    let fcs_len = [1, 2, 4, 8][(fhd >> 6) as usize];
    let fcs_at = 5 + window + dict;
    let Some(fcs) = buf.get(fcs_at..fcs_at + fcs_len) else {
        return Extent::Short;
    };
    let mut value = [0u8; 8];
    value[..fcs_len].copy_from_slice(fcs);
    let mut data_len = u64::from_le_bytes(value);
    if fcs_len == 2 {
        data_len += 256;
    }
    if data_len > crate::codec::gzip::MAX_BLOCK as u64 {
        return Extent::Other;
    }
    let mut at = fcs_at + fcs_len;
    loop {
        let Some(h) = buf.get(at..at + 3) else {
            return Extent::Short;
        };
        let h = u32::from_le_bytes([h[0], h[1], h[2], 0]);
        let size = (h >> 3) as usize;
        at += 3 + match (h >> 1) & 3 {
            0 | 2 => size,
            1 => 1,
            _ => return Extent::Other,
        };
        if h & 1 != 0 {
            break;
        }
    }
    let len = at + if fhd & 0x04 != 0 { 4 } else { 0 };
    if buf.len() < len {
        return Extent::Short;
    }
    Extent::Frame {
        len,
        data_len: data_len as usize,
    }
}

/// The frames of a file without a seek table, found from their headers,
/// when every frame records its content size (several frames of any
/// writer); None otherwise (one frame, as `zstd -T2` writes, gains nothing).
fn walk_frames(map: &[u8]) -> Option<Vec<Frame>> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < map.len() {
        match frame_extent(&map[at..]) {
            Extent::Frame { len, data_len } => {
                frames.push(Frame {
                    offset: at,
                    len,
                    data_len,
                });
                at += len;
            }
            Extent::Skippable(len) if at + len <= map.len() => at += len,
            _ => return None,
        }
    }
    (frames.len() > 1).then_some(frames)
}

/// zstd from a pipe: frames that record their content size (fkit's, and
/// those of most writers of several frames) are read whole, one after
/// another, and decoded on `threads` cores; from the first one that does
/// not, the rest is decoded as a stream by libzstd.
fn decode_piped(
    reader: &mut (dyn std::io::BufRead + Send),
    out: &mut Window,
    threads: usize,
) -> Result<Option<Trailing>> {
    let mut pending: Vec<u8> = Vec::new();
    let mut read_error = None;
    {
        let (pending, read_error) = (&mut pending, &mut read_error);
        let reader = &mut *reader;
        let frames = std::iter::from_fn(move || {
            loop {
                match frame_extent(pending) {
                    Extent::Frame { len, data_len } => {
                        let rest = pending.split_off(len);
                        return Some(Ok((std::mem::replace(pending, rest), data_len)));
                    }
                    Extent::Skippable(len) if pending.len() >= len => {
                        pending.drain(..len);
                    }
                    Extent::Other => return None,
                    // A block is at most 128 KiB: read on, a bounded amount.
                    Extent::Short | Extent::Skippable(_) if pending.len() < 64 << 20 => {
                        let want = 256 * 1024;
                        match (&mut *reader).take(want).read_to_end(pending) {
                            Ok(0) => return None,
                            Ok(_) => {}
                            Err(e) => {
                                *read_error = Some(e);
                                return None;
                            }
                        }
                    }
                    Extent::Short | Extent::Skippable(_) => return None,
                }
            }
        });
        decode_frames(frames, out, threads)?;
    }
    if let Some(e) = read_error {
        return Err(anyhow::Error::new(e).context("read error"));
    }
    if out.full() || pending.is_empty() && reader.fill_buf()?.is_empty() {
        return Ok(None);
    }
    decode_stream(&mut std::io::Cursor::new(pending).chain(reader), out)
}

/// Decode `frames` (each whole, with its content size) on `threads` cores,
/// in order, into `out`.
fn decode_frames(
    frames: impl Iterator<Item = Result<(Vec<u8>, usize)>> + Send,
    out: &mut Window,
    threads: usize,
) -> Result<()> {
    let (spare_tx, spare_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
    pipeline::ordered(
        threads,
        frames,
        || zstd::bulk::Decompressor::new().expect("a zstd context"),
        |d, (frame, data_len): (Vec<u8>, usize)| {
            let mut data = spare_rx.try_recv().unwrap_or_default();
            data.clear();
            data.reserve(data_len);
            d.decompress_to_buffer(&frame[..], &mut data)
                .map_err(|e| anyhow!("invalid zstd data ({e})"))?;
            if data.len() != data_len {
                bail!(
                    "a frame decodes to {} bytes, its header says {data_len}",
                    data.len()
                );
            }
            Ok(data)
        },
        |data| {
            out.put(&data)?;
            let _ = spare_tx.send(data);
            Ok(())
        },
    )
}

/// Every frame of `reader` in turn, skipping skippable frames, by libzstd.
fn decode_stream(reader: &mut dyn std::io::BufRead, out: &mut Window) -> Result<Option<Trailing>> {
    let mut decoder = zstd::stream::read::Decoder::with_buffer(reader).context("zstd")?;
    let mut buf = vec![0u8; 1 << 20];
    while !out.full() {
        let n = match decoder.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                bail!("unexpected end of file (truncated input)")
            }
            Err(e) => bail!("invalid zstd data ({e})"),
        };
        if n == 0 {
            break;
        }
        out.put(&buf[..n])?;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seek_table_lists_every_frame() {
        let data: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut file = Vec::new();
        let read = compress(&mut &data[..], &mut file, 3, 2, 256 * 1024).unwrap();
        assert_eq!(read, data.len() as u64);
        let frames = seek_table(&file).expect("a seek table");
        assert_eq!(frames.len(), data.len().div_ceil(256 * 1024));
        let total: usize = frames.iter().map(|f| f.data_len).sum();
        assert_eq!(total, data.len());
        // libzstd reads it as concatenated frames, the table skipped.
        assert!(zstd::stream::decode_all(&file[..]).unwrap() == data);
        // A byte more or less and the table no longer accounts for the file.
        assert!(seek_table(&file[1..]).is_none());
        // Each frame's extent is found from its headers alone.
        let mut at = 0;
        for f in &frames {
            assert_eq!(
                frame_extent(&file[at..]),
                Extent::Frame {
                    len: f.len,
                    data_len: f.data_len
                }
            );
            assert_eq!(frame_extent(&file[at..at + f.len - 1]), Extent::Short);
            at += f.len;
        }
        assert!(matches!(frame_extent(&file[at..]), Extent::Skippable(n) if at + n == file.len()));
    }
}
