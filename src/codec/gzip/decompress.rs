//! Which way each part of a gzip input is inflated: the members fkit indexed
//! on every core ([`super::index`]), then any other members straight from
//! the map ([`super::mapped`]) or, from a stream, one after another
//! ([`super::stream`]).

use super::index::{StreamMembers, Untrusted, indexed_members, inflate_indexed, inflate_members};
use super::mapped::inflate_mapped;
use super::stream::GzipDecoder;
use crate::codec::source::{Source, Trailing, after_last};
use crate::codec::window::Window;
use crate::io::detect::Format;
use anyhow::Result;
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};

/// Decompress gzip from `src` into `out`. Members fkit indexed are inflated
/// on `threads` cores and, with a range, only those that overlap it; any
/// other members are inflated on one core, straight from the map.
pub(crate) fn decompress(
    src: Source,
    out: &mut Window,
    threads: usize,
) -> Result<Option<Trailing>> {
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
    // Skip whole members before the range: the index says how long they
    // are. Without a range nothing is skipped (an empty member's CRC is
    // checked too).
    let mut first = 0;
    while first < members.len() && out.skip > 0 && out.skip >= members[first].data_len as u64 {
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
    // An indexed member that does not inflate cleanly to where its index
    // says it ends: from it on, the file is decoded without the index, so
    // the verdict is GNU gzip's (which never reads the index).
    let (rest_at, before) = match inflate_indexed(file, &wanted[..last], out, threads) {
        Ok(()) if out.full() || rest_at == map.len() && !members.is_empty() => return Ok(None),
        Ok(()) => (rest_at, members.len()),
        Err(e) => {
            let Some(bad) = e.downcast_ref::<Untrusted>() else {
                return Err(e);
            };
            let at = bad.at as usize;
            (
                at,
                members
                    .iter()
                    .take_while(|m| (m.offset as usize) < at)
                    .count(),
            )
        }
    };
    match inflate_mapped(file, rest_at, before as u64, out, threads)? {
        Some(at) if !out.full() => {
            after_last(Format::Gzip, at as u64, &map[at..], &mut io::empty(), out)
        }
        _ => Ok(None),
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
    after_last(Format::Gzip, at, &held, &mut rest, out)
}
