//! fkit's block index: the members of a gzip file fkit wrote record their
//! own length and their uncompressed length in their header, so they are
//! found without inflating anything and inflated on every core, and a
//! `--range` inflates only the members it overlaps. BGZF members (bgzip's,
//! htslib's, fkit's `--bgzf`) record their length too, and their trailer
//! their uncompressed length: they are found and inflated the same way. No crate reads this
//! index; it is why a file fkit wrote decompresses faster than igzip can
//! (bench row "gzip -d (file fkit wrote)": 0.54x igzip -d's time).

use super::inflate::WholeInflater;
use super::member::{HeaderError, parse_header};
use crate::codec::pipeline;
use crate::codec::window::Window;
use crate::io::MappedFile;
use crate::io::map::ReleaseBehind;
use anyhow::Result;
use std::borrow::Cow;
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};

/// One member found through fkit's block index.
#[derive(Clone, Copy)]
pub(crate) struct Member {
    /// Where the member starts in the compressed input.
    pub(super) offset: u64,
    header_len: usize,
    /// The whole member's length: header, deflate stream and trailer.
    len: usize,
    /// Its uncompressed length.
    pub(super) data_len: usize,
}

/// The members at the start of `map` that carry fkit's block index, and
/// the offset where the first one without it (or the end) is.
pub(crate) fn indexed_members(file: &MappedFile) -> (Vec<Member>, usize) {
    let map: &[u8] = file;
    // Finding BGZF's 64 KiB members reads a header and a trailer on nearly
    // every page: they are given back as the walk goes, or the whole file
    // would count in the process's memory (62 MB for text.log in BGZF).
    let mut release = ReleaseBehind::new(file, 0);
    let mut members = Vec::new();
    let mut off = 0;
    while off < map.len() {
        release.upto(off);
        let Ok(h) = parse_header(&map[off..]) else {
            break;
        };
        let Some((len, data_len)) = member_lengths(&h, &map[off..]) else {
            break;
        };
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

/// A member's whole length and its uncompressed length, when its header
/// says where it ends: fkit's block index gives both; BGZF's `BC` subfield
/// gives the length, and the trailer at that length the uncompressed length
/// (`rest` starts with the member; None when it holds less than the member).
fn member_lengths(h: &super::member::MemberHeader, rest: &[u8]) -> Option<(usize, usize)> {
    if let Some((len, data_len)) = h.index {
        return Some((len as usize, data_len as usize));
    }
    let len = h.bgzf_len? as usize;
    let isize = rest.get(len.checked_sub(4)?..len)?;
    Some((len, u32::from_le_bytes(isize.try_into().ok()?) as usize))
}

/// The largest block fkit writes (`--block-size`), uncompressed.
pub(crate) const MAX_BLOCK: usize = 256 << 20;

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

/// An indexed member that did not inflate cleanly to the end its index
/// gives, or did not match the trailer there: the index is wrong or the
/// member damaged, and the index is not trusted from `at` on. A file is
/// then decoded from `at` as GNU gzip does, without the index, which finds
/// the real damage (or none: an index can be hit where the data is not);
/// a stream, whose bytes are gone, fails with this.
#[derive(Debug)]
pub(super) struct Untrusted {
    /// Where the member starts in the compressed input.
    pub(super) at: u64,
    why: &'static str,
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} in the member that starts at byte {}",
            self.why, self.at
        )
    }
}

impl std::error::Error for Untrusted {}

/// Inflate indexed members of a mapped file on `threads` cores, releasing
/// the pages behind them as they are done.
pub(super) fn inflate_indexed(
    file: &MappedFile,
    members: &[Member],
    out: &mut Window,
    threads: usize,
) -> Result<()> {
    let map: &[u8] = file;
    let mut release = ReleaseBehind::new(file, 0);
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
pub(super) fn inflate_members<'a>(
    jobs: impl Iterator<Item = Result<(Cow<'a, [u8]>, Member)>> + Send,
    mut done: impl FnMut(usize, bool),
    out: &mut Window,
    threads: usize,
) -> Result<()> {
    let (spare_tx, spare_rx) = crossbeam_channel::bounded::<Vec<u8>>(threads * 4 + 4);
    pipeline::ordered(
        threads,
        jobs,
        WholeInflater::new,
        |inflater, (bytes, m): (Cow<[u8]>, Member)| {
            let body = &bytes[m.header_len..m.len - 8];
            let mut buf = spare_rx.try_recv().unwrap_or_default();
            if buf.len() < m.data_len {
                buf.resize(m.data_len, 0);
            }
            // Offsets only: the deflate stream must end exactly at the
            // trailer the index points to, and match it.
            let untrusted = |why| Untrusted { at: m.offset, why };
            let crc = inflater
                .inflate_into(body, &mut buf[..m.data_len])
                .map_err(untrusted)?;
            if crc.to_le_bytes() != bytes[m.len - 8..m.len - 4] {
                return Err(untrusted("crc error").into());
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
pub(super) struct StreamMembers<'r> {
    pub(super) reader: &'r mut (dyn BufRead + Send),
    pub(super) pending: Vec<u8>,
    /// Where `pending` starts in the stream.
    pub(super) offset: u64,
    /// Members handed out so far.
    pub(super) members: u64,
    /// Set when no more members are wanted (the output range is complete).
    pub(super) stop: &'r AtomicBool,
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
    pub(super) fn take_member(&mut self, m: &Member) -> Vec<u8> {
        let rest = self.pending.split_off(m.len);
        self.offset += m.len as u64;
        self.members += 1;
        std::mem::replace(&mut self.pending, rest)
    }

    /// The next member, whole in `pending`, if it carries fkit's index.
    pub(super) fn next_member(&mut self) -> io::Result<Option<Member>> {
        // A header is short; one with a long name may take a few reads.
        let header = loop {
            match parse_header(&self.pending) {
                Ok(h) => break h,
                Err(HeaderError::Short) if self.pending.len() < 1 << 16 => {
                    if !self.more(1 << 12)? {
                        return Ok(None);
                    }
                }
                Err(_) => return Ok(None),
            }
        };
        let Some(len) = header
            .index
            .map(|(len, _)| len as usize)
            .or(header.bgzf_len.map(|len| len as usize))
        else {
            return Ok(None);
        };
        // Nothing implausible is read into memory (a damaged index could
        // claim gigabytes).
        if !plausible(header.len, len, 0) {
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
        let Some((len, data_len)) = member_lengths(&header, &self.pending) else {
            return Ok(None);
        };
        if !plausible(header.len, len, data_len) {
            return Ok(None);
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
