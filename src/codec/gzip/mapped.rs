//! Gzip members that carry no index (any file GNU gzip, pigz or zlib wrote),
//! inflated one after another straight from a memory map of the file (with
//! more than one thread, the writes overlap the inflating).
//!
//! Rather than the streaming decoder ([`super::stream`]) over reads of the
//! file (bench row "gzip -d (file gzip wrote)": 1.05x igzip -d's time, 0.30x
//! pigz -d's), the inflater is given everything that is left of the file at
//! once: no read copies the compressed bytes into a buffer, and the inflater
//! never stops for want of input (stopping costs it a slow path for the next
//! block). The output goes to one reused buffer of [`OUT_BUF`] bytes, each
//! fill written with one write. Every member is checked against its
//! trailer (CRC-32 and length; the inflater computes the CRC as it writes).

use super::inflate::Inflater;
use super::member::{HeaderError, parse_header};
use crate::codec::window::Window;
use crate::io::MappedFile;
use crate::io::map::ReleaseBehind;
use anyhow::{Result, bail};

/// Output bytes per write. ISA-L keeps the last 32 KiB of every fill as
/// history and decodes the start of the next fill through its own buffer,
/// so fills much smaller than this cost a few percent; much larger ones
/// leave the CPU caches for nothing.
const OUT_BUF: usize = 1 << 20;

/// Inflate the members of `map` from byte `start` on (after
/// `members_before` members already decoded), into `out`. With more than
/// one thread, the writes (a copy into a pipe or the page cache, 20-30% of
/// the inflating time) run on this thread while another inflates.
pub(super) fn inflate_mapped(
    map: &MappedFile,
    start: usize,
    members_before: u64,
    out: &mut Window,
    threads: usize,
) -> Result<Option<usize>> {
    if threads <= 1 {
        let mut buf = vec![0u8; OUT_BUF];
        return inflate_members(map, start, members_before, &mut buf, |buf, len| {
            out.put(&buf[..len])?;
            Ok(!out.full())
        });
    }
    // Three buffers: one being filled, one waiting, one being written.
    let (full_tx, full_rx) = crossbeam_channel::bounded::<(Vec<u8>, usize)>(1);
    let (spare_tx, spare_rx) = crossbeam_channel::bounded::<Vec<u8>>(2);
    for _ in 0..2 {
        let _ = spare_tx.send(vec![0u8; OUT_BUF]);
    }
    std::thread::scope(|scope| {
        let inflating = scope.spawn(move || {
            let mut buf = vec![0u8; OUT_BUF];
            inflate_members(map, start, members_before, &mut buf, |buf, len| {
                // A closed channel: the writer stopped (range complete, or
                // a write error it reports itself).
                let Ok(spare) = spare_rx.recv() else {
                    return Ok(false);
                };
                let full = std::mem::replace(buf, spare);
                Ok(full_tx.send((full, len)).is_ok())
            })
        });
        let mut written = Ok(());
        for (buf, len) in &full_rx {
            written = out.put(&buf[..len]);
            if written.is_err() || out.full() {
                break;
            }
            let _ = spare_tx.send(buf);
        }
        // Ends the inflating thread if it is still going.
        drop((full_rx, spare_tx));
        let inflated = inflating
            .join()
            .map_err(|_| anyhow::anyhow!("the inflating thread stopped"))?;
        written?;
        if out.full() {
            return Ok(None);
        }
        inflated
    })
}

/// Inflate members from `start` on, handing each fill of `buf` to `emit`
/// (which may swap in another buffer of the same length), until the end,
/// or until `emit` says no more is wanted. Returns where bytes that are not
/// a member follow the last member, if they do.
fn inflate_members(
    file: &MappedFile,
    start: usize,
    members_before: u64,
    buf: &mut Vec<u8>,
    mut emit: impl FnMut(&mut Vec<u8>, usize) -> Result<bool>,
) -> Result<Option<usize>> {
    // The slice once, not a deref of the map at every step.
    let map: &[u8] = file;
    let mut inflater = Inflater::new();
    let mut release = ReleaseBehind::new(file, 0);
    let mut off = start;
    let mut members = members_before;
    let mut more = true;
    while more {
        let rest = &map[off..];
        if rest.is_empty() {
            if members > 0 {
                break;
            }
            bail!("unexpected end of file at byte {off} (truncated input)");
        }
        let header = match parse_header(rest) {
            Ok(h) => h,
            // One stray byte after the members is trailing garbage, as gzip
            // says; a longer piece of a header is a truncated member.
            Err(HeaderError::Short) if members > 0 && rest.len() < 2 => {
                return Ok(Some(off));
            }
            Err(HeaderError::Short) => {
                bail!(
                    "unexpected end of file at byte {} (truncated input)",
                    map.len()
                )
            }
            Err(HeaderError::NotGzip) if members > 0 => return Ok(Some(off)),
            Err(HeaderError::NotGzip) => bail!("not in gzip format at byte {off}"),
            Err(HeaderError::Unsupported(why)) => bail!("{why} at byte {off}"),
        };
        let member_start = off;
        off += header.len;
        inflater.reset();
        let mut member_out = 0u64;
        loop {
            let input = &map[off..];
            if input.is_empty() {
                bail!("unexpected end of file at byte {off} (truncated input)");
            }
            let step = inflater.inflate(input, &mut buf[..]).map_err(|e| {
                anyhow::anyhow!(
                    "{} at byte {}, in the member that starts at byte {member_start}",
                    e.why,
                    off + e.consumed
                )
            })?;
            // Bytes the inflater read past the end of the deflate stream are
            // the trailer's: they are read again from the map.
            // (They may have been counted in an earlier step: subtract last.)
            off = off + step.consumed - step.held.len();
            member_out += step.produced as u64;
            if step.produced > 0 {
                more = emit(buf, step.produced)?;
            }
            release.upto(off);
            if step.finished {
                // Check the trailer even when no more output is wanted.
                break;
            }
            if !more {
                return Ok(None);
            }
            if step.consumed == 0 && step.produced == 0 {
                bail!(
                    "invalid compressed data at byte {off}, in the member that starts at byte {member_start}"
                );
            }
        }
        let Some(trailer) = map.get(off..off + 8) else {
            bail!(
                "unexpected end of file at byte {} (truncated input)",
                map.len()
            );
        };
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        if crc != inflater.crc() {
            bail!("crc error in the member that starts at byte {member_start}, at byte {off}");
        }
        if size != member_out as u32 {
            bail!(
                "length error in the member that starts at byte {member_start}, at byte {}",
                off + 4
            );
        }
        off += 8;
        members += 1;
    }
    Ok(None)
}
