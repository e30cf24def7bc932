//! Where chunks begin and end: a `ChunkPlan` over a file (random access)
//! and a `StreamSplitter` over a stream (stdin), both in constant memory.

use super::copy::{BLOCK, Checksum, for_each_block, read_exact_at};
use anyhow::{Result, bail};
use std::fs::File;
use std::io::{self, Read, Write};

/// How the input is cut.
#[derive(Clone, Copy, Debug)]
pub enum Policy {
    /// Every N bytes (split -b).
    Size(u64),
    /// At most N bytes, cut after the last whole line that fits; a line
    /// longer than N is cut at N bytes (split -C).
    LineAligned(u64),
    /// Every N lines (split -l).
    Lines(u64),
    /// K chunks of nearly equal size (split -n K), or of whole lines with
    /// `line_aligned` (split -n l/K: a chunk may then be empty).
    Number { k: u64, line_aligned: bool },
}

/// One planned chunk: `length` bytes of the input from `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub index: u64,
    pub offset: u64,
    pub length: u64,
}

/// The chunks of a file of known size, found lazily one after another:
/// the first can be copied while the next are still being found.
pub struct ChunkPlan<'a> {
    file: &'a File,
    /// Where the input starts in `file` (offsets are relative to it).
    base: u64,
    len: u64,
    policy: Policy,
    next_offset: u64,
    /// The next chunk's index, and the next part's of `Policy::Number`
    /// (they differ once empty parts are left out).
    index: u64,
    part: u64,
    /// The byte that ends a line (a record): `\n`, or split -t's.
    sep: u8,
    /// Leave out empty chunks (split -e).
    elide: bool,
    buf: Vec<u8>,
}

impl<'a> ChunkPlan<'a> {
    pub fn new(file: &'a File, len: u64, policy: Policy) -> ChunkPlan<'a> {
        ChunkPlan {
            file,
            base: 0,
            len,
            policy,
            next_offset: 0,
            index: 0,
            part: 0,
            sep: b'\n',
            elide: false,
            buf: Vec::new(),
        }
    }

    /// Lines end with `sep` instead of `\n` (split -t).
    pub fn separator(mut self, sep: u8) -> Self {
        self.sep = sep;
        self
    }

    /// Leave out the empty chunks `Policy::Number` can give (split -e);
    /// the others are numbered without gaps.
    pub fn elide_empty(mut self, yes: bool) -> Self {
        self.elide = yes;
        self
    }

    /// The input is the `len` bytes of the file from `base` on (stdin
    /// opened on a regular file, read from its position).
    pub fn from(mut self, base: u64) -> Self {
        self.base = base;
        self
    }

    /// The end of the chunk that starts at `start`.
    fn end_of(&mut self, start: u64) -> io::Result<u64> {
        let len = self.len;
        Ok(match self.policy {
            Policy::Size(n) => start.saturating_add(n).min(len),
            Policy::LineAligned(n) => {
                let limit = start.saturating_add(n);
                if limit >= len {
                    len
                } else {
                    // After the last newline in start..limit, looking back
                    // one block at a time; a longer line is cut at the limit.
                    self.last_line_end(start, limit)?.unwrap_or(limit)
                }
            }
            Policy::Lines(n) => self.after_lines(start, n)?,
            Policy::Number { k, line_aligned } => {
                let i = self.part + 1;
                if i >= k {
                    len
                } else {
                    // As split -n: K - 1 parts of len / K bytes (at least
                    // 1: a short input gives a byte to each first part),
                    // the rest in the last.
                    let nominal = (len / k).max(1).saturating_mul(i).min(len);
                    let nominal = nominal.max(start);
                    if line_aligned && nominal > 0 {
                        // The next line starts after the newline at or
                        // after nominal - 1.
                        self.after_lines(nominal - 1, 1)?
                    } else {
                        nominal
                    }
                }
            }
        })
    }

    fn buffer(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(BLOCK, 0);
        buf
    }

    /// One past the last `\n` in `start..limit`, if there is one.
    fn last_line_end(&mut self, start: u64, limit: u64) -> io::Result<Option<u64>> {
        let mut buf = self.buffer();
        let mut hi = limit;
        let mut found = None;
        while hi > start {
            let lo = hi.saturating_sub(BLOCK as u64).max(start);
            let want = (hi - lo) as usize;
            read_exact_at(self.file, &mut buf[..want], self.base + lo)?;
            if let Some(p) = memchr::memrchr(self.sep, &buf[..want]) {
                found = Some(lo + p as u64 + 1);
                break;
            }
            hi = lo;
        }
        self.buf = buf;
        Ok(found)
    }

    /// One past the `n`-th `\n` at or after `start` (or the end of the file).
    fn after_lines(&mut self, start: u64, n: u64) -> io::Result<u64> {
        let mut buf = self.buffer();
        let mut left = n;
        let mut at = start;
        let mut end = self.len;
        while at < self.len {
            let want = (self.len - at).min(BLOCK as u64) as usize;
            read_exact_at(self.file, &mut buf[..want], self.base + at)?;
            let block = &buf[..want];
            let count = bytecount::count(block, self.sep) as u64;
            if count < left {
                left -= count;
                at += want as u64;
                continue;
            }
            let p = memchr::memchr_iter(self.sep, block)
                .nth((left - 1) as usize)
                .unwrap_or(want - 1);
            end = at + p as u64 + 1;
            break;
        }
        self.buf = buf;
        Ok(end)
    }
}

impl Iterator for ChunkPlan<'_> {
    type Item = io::Result<Range>;

    fn next(&mut self) -> Option<io::Result<Range>> {
        loop {
            let start = self.next_offset;
            let more = match self.policy {
                // split -n K makes K files even when some are empty.
                Policy::Number { k, .. } => self.part < k,
                _ => start < self.len,
            };
            if !more {
                return None;
            }
            let end = match self.end_of(start) {
                Ok(end) => end,
                Err(e) => return Some(Err(e)),
            };
            self.part += 1;
            self.next_offset = end;
            if self.elide && end == start {
                continue;
            }
            let range = Range {
                index: self.index,
                offset: start,
                length: end - start,
            };
            self.index += 1;
            return Some(Ok(range));
        }
    }
}

/// A finished chunk of a stream: where it lies in the input, its bytes in
/// `file` (from position 0) and their checksum.
pub struct StreamChunk {
    pub range: Range,
    pub file: File,
    pub checksum: String,
}

/// What the whole stream was: its size and checksum.
pub struct StreamTotal {
    pub size: u64,
    pub checksum: String,
}

/// Cuts a stream into chunks as it arrives, in constant memory: bytes go
/// straight into the chunk's file. For line-aligned chunks the bytes after
/// the last newline are written ahead too; when the chunk fills up they
/// are moved from its file into the next chunk's, and the file is cut back.
pub struct StreamSplitter<'a> {
    policy: Policy,
    sep: u8,
    new_file: &'a mut dyn FnMut(u64) -> Result<File>,
    done: &'a mut dyn FnMut(StreamChunk) -> Result<()>,
}

struct Current {
    index: u64,
    offset: u64,
    file: File,
    len: u64,
    lines: u64,
    /// Line-aligned: the length up to and including the last newline.
    committed: u64,
    checksum: Checksum,
    /// Bytes were moved out after being summed: sum the file again.
    resum: bool,
}

impl<'a> StreamSplitter<'a> {
    pub fn new(
        policy: Policy,
        new_file: &'a mut dyn FnMut(u64) -> Result<File>,
        done: &'a mut dyn FnMut(StreamChunk) -> Result<()>,
    ) -> StreamSplitter<'a> {
        StreamSplitter {
            policy,
            sep: b'\n',
            new_file,
            done,
        }
    }

    /// Lines end with `sep` instead of `\n` (split -t).
    pub fn separator(mut self, sep: u8) -> Self {
        self.sep = sep;
        self
    }

    pub fn run(&mut self, input: &mut dyn Read) -> Result<StreamTotal> {
        let limit = match self.policy {
            Policy::Size(n) | Policy::LineAligned(n) | Policy::Lines(n) => n,
            Policy::Number { .. } => {
                bail!("--number needs the input's size: give a file (or `< file`), not a pipe")
            }
        };
        let mut buf = vec![0u8; BLOCK];
        let mut whole = Checksum::new();
        let mut total = 0u64;
        let mut current: Option<Current> = None;
        let mut next_index = 0u64;
        loop {
            let n = match crate::io::read_some(input, &mut buf)? {
                0 => break,
                n => n,
            };
            whole.update(&buf[..n]);
            let mut data = &buf[..n];
            while !data.is_empty() {
                let mut c = match current.take() {
                    Some(c) => c,
                    None => {
                        // The chunk starts at the first byte not yet placed.
                        let at = total + (n - data.len()) as u64;
                        let c = self.open(next_index, at)?;
                        next_index += 1;
                        c
                    }
                };
                let full = match self.policy {
                    Policy::Size(_) => {
                        let take = (limit - c.len).min(data.len() as u64) as usize;
                        c.write(&data[..take])?;
                        data = &data[take..];
                        c.len == limit
                    }
                    Policy::Lines(_) => {
                        let left = limit - c.lines;
                        let count = bytecount::count(data, self.sep) as u64;
                        if count < left {
                            c.write(data)?;
                            c.lines += count;
                            data = &[];
                            false
                        } else {
                            let p = memchr::memchr_iter(self.sep, data)
                                .nth((left - 1) as usize)
                                .unwrap_or(data.len() - 1);
                            c.write(&data[..=p])?;
                            data = &data[p + 1..];
                            true
                        }
                    }
                    _ => {
                        let take = (limit - c.len).min(data.len() as u64) as usize;
                        let piece = &data[..take];
                        if let Some(p) = memchr::memrchr(self.sep, piece) {
                            c.committed = c.len + p as u64 + 1;
                        }
                        c.write(piece)?;
                        data = &data[take..];
                        c.len == limit
                    }
                };
                if !full {
                    current = Some(c);
                    continue;
                }
                let cut_back = matches!(self.policy, Policy::LineAligned(_))
                    && c.committed > 0
                    && c.committed < c.len;
                if cut_back {
                    let mut next = self.open(next_index, c.offset + c.committed)?;
                    next_index += 1;
                    move_tail(&mut c, &mut next)?;
                    self.finish(c)?;
                    current = Some(next);
                } else {
                    self.finish(c)?;
                }
            }
            total += n as u64;
        }
        if let Some(c) = current {
            self.finish(c)?;
        }
        Ok(StreamTotal {
            size: total,
            checksum: whole.hex(),
        })
    }

    fn open(&mut self, index: u64, offset: u64) -> Result<Current> {
        Ok(Current {
            index,
            offset,
            file: (self.new_file)(index)?,
            len: 0,
            lines: 0,
            committed: 0,
            checksum: Checksum::new(),
            resum: false,
        })
    }

    fn finish(&mut self, mut c: Current) -> Result<()> {
        if c.resum {
            let mut sum = Checksum::new();
            let mut buf = vec![0u8; c.len.min(BLOCK as u64).max(1) as usize];
            for_each_block(&c.file, 0, c.len, &mut buf, |b| sum.update(b))?;
            c.checksum = sum;
        }
        (self.done)(StreamChunk {
            range: Range {
                index: c.index,
                offset: c.offset,
                length: c.len,
            },
            checksum: c.checksum.hex(),
            file: c.file,
        })
    }
}

impl Current {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.checksum.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }
}

/// Move the bytes after `from.committed` to the start of `to`, and cut
/// `from` back to end at its last newline.
fn move_tail(from: &mut Current, to: &mut Current) -> io::Result<()> {
    let tail = from.len - from.committed;
    let mut buf = vec![0u8; tail.min(BLOCK as u64) as usize];
    let mut result = Ok(());
    for_each_block(&from.file, from.committed, tail, &mut buf, |b| {
        if result.is_ok() {
            result = to.write(b);
        }
    })?;
    result?;
    from.file.set_len(from.committed)?;
    from.len = from.committed;
    from.resum = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;

    fn plan(data: &[u8], policy: Policy) -> Vec<(u64, u64)> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(data).unwrap();
        ChunkPlan::new(&file, data.len() as u64, policy)
            .map(|r| r.map(|r| (r.offset, r.length)).unwrap())
            .collect()
    }

    fn stream(data: &[u8], policy: Policy) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut new_file = |_| Ok(tempfile::tempfile()?);
        let mut done = |c: StreamChunk| {
            let mut f = c.file;
            f.rewind()?;
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)?;
            let s = c.range.offset as usize;
            assert_eq!(bytes, &data[s..s + c.range.length as usize]);
            out.push((c.range.offset, c.range.length));
            Ok(())
        };
        let total = StreamSplitter::new(policy, &mut new_file, &mut done)
            .run(&mut &data[..])
            .unwrap();
        assert_eq!(total.size, data.len() as u64);
        out
    }

    #[test]
    fn sizes() {
        let data = b"0123456789";
        let want = vec![(0, 4), (4, 4), (8, 2)];
        assert_eq!(plan(data, Policy::Size(4)), want);
        assert_eq!(stream(data, Policy::Size(4)), want);
        assert_eq!(plan(b"", Policy::Size(4)), vec![]);
        assert_eq!(stream(b"", Policy::Size(4)), vec![]);
    }

    #[test]
    fn line_aligned_like_split_c() {
        let data = b"aa\nbbbb\nc\nddddddddd\ne";
        // split -C 5: "aa\n" "bbbb\n" "c\n" "ddddd" "dddd\n" "e"
        let want = vec![(0, 3), (3, 5), (8, 2), (10, 5), (15, 5), (20, 1)];
        assert_eq!(plan(data, Policy::LineAligned(5)), want);
        assert_eq!(stream(data, Policy::LineAligned(5)), want);
    }

    #[test]
    fn lines() {
        let data = b"a\nb\nc\nd\ne";
        let want = vec![(0, 4), (4, 4), (8, 1)];
        assert_eq!(plan(data, Policy::Lines(2)), want);
        assert_eq!(stream(data, Policy::Lines(2)), want);
    }

    #[test]
    fn number() {
        let data = b"0123456789";
        let p = Policy::Number {
            k: 3,
            line_aligned: false,
        };
        assert_eq!(plan(data, p), vec![(0, 3), (3, 3), (6, 4)]);
        let p = Policy::Number {
            k: 3,
            line_aligned: true,
        };
        assert_eq!(plan(b"aaaaaaa\nb\n", p), vec![(0, 8), (8, 0), (8, 2)]);
        // split -n 3 of 11 bytes: 3, 3 and the other 5.
        let p = Policy::Number {
            k: 3,
            line_aligned: false,
        };
        assert_eq!(plan(b"abcdefghijk", p), vec![(0, 3), (3, 3), (6, 5)]);
    }

    #[test]
    fn other_separators_and_elided_parts() {
        let data = b"a\0bb\0c\0";
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(data).unwrap();
        let got: Vec<(u64, u64, u64)> = ChunkPlan::new(&file, 7, Policy::Lines(2))
            .separator(0)
            .map(|r| r.map(|r| (r.index, r.offset, r.length)).unwrap())
            .collect();
        assert_eq!(got, vec![(0, 0, 5), (1, 5, 2)]);
        let p = Policy::Number {
            k: 3,
            line_aligned: true,
        };
        let mut long = tempfile::tempfile().unwrap();
        long.write_all(b"aaaaaaa\0b\0").unwrap();
        let got: Vec<(u64, u64, u64)> = ChunkPlan::new(&long, 10, p)
            .separator(0)
            .elide_empty(true)
            .map(|r| r.map(|r| (r.index, r.offset, r.length)).unwrap())
            .collect();
        assert_eq!(
            got,
            vec![(0, 0, 8), (1, 8, 2)],
            "the empty second part is left out"
        );
        let mut out = Vec::new();
        let mut new_file = |_| Ok(tempfile::tempfile()?);
        let mut done = |c: StreamChunk| {
            out.push((c.range.offset, c.range.length));
            Ok(())
        };
        StreamSplitter::new(Policy::LineAligned(4), &mut new_file, &mut done)
            .separator(0)
            .run(&mut &data[..])
            .unwrap();
        assert_eq!(out, vec![(0, 2), (2, 3), (5, 2)]);
    }
}
