//! Sinks that write JSON out: minified or pretty-printed, keys as written or
//! sorted, and the duplicate-key check of `validate --strict`.

use super::parser::{Parser, Sink, decode_string};
use std::collections::HashSet;
use std::io::{self, Write};

/// Output is gathered here and written in blocks of about this size.
const BLOCK: usize = 256 * 1024;

/// How to lay out JSON.
#[derive(Clone, Debug)]
pub(crate) enum Layout {
    /// No whitespace at all.
    Minified,
    /// One member per line, indented by this unit per level.
    Pretty(Vec<u8>),
}

/// Writes the tokens it receives as JSON, minified or pretty-printed.
/// Output errors are kept and reported by [`Writer::finish`]; meanwhile
/// `failed()` tells the parser to stop.
pub(crate) struct Writer<'w> {
    buf: Vec<u8>,
    dest: &'w mut dyn Write,
    error: Option<io::Error>,
    /// The indent unit, or `None` for minified output.
    unit: Option<Vec<u8>>,
    /// The current indentation, grown as nesting deepens.
    indent: Vec<u8>,
    depth: usize,
    /// NDJSON: bytes of `buf` before this index belong to finished lines;
    /// the rest may still be taken back if the line turns out bad.
    committed: usize,
    holding: bool,
}

impl<'w> Writer<'w> {
    pub fn new(dest: &'w mut dyn Write, layout: &Layout) -> Writer<'w> {
        Writer {
            buf: Vec::with_capacity(BLOCK + 4096),
            dest,
            error: None,
            unit: match layout {
                Layout::Minified => None,
                Layout::Pretty(unit) => Some(unit.clone()),
            },
            indent: Vec::new(),
            depth: 0,
            committed: 0,
            holding: false,
        }
    }

    /// Start an NDJSON record: its output can be taken back with
    /// [`Writer::rollback`] until [`Writer::commit`]. A record's output
    /// stays in memory until it is committed.
    pub fn begin_record(&mut self) {
        self.holding = true;
        self.committed = self.buf.len();
    }

    pub fn commit(&mut self) {
        self.committed = self.buf.len();
    }

    /// Drop the output of the current record (it was bad).
    pub fn rollback(&mut self) {
        self.buf.truncate(self.committed);
        self.depth = 0;
    }

    /// Bytes outside any document (a newline after it, a raw string).
    pub fn write(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.maybe_flush();
    }

    /// Flush everything; the first output error, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        self.holding = false;
        self.flush_now();
        match self.error.take() {
            Some(e) => Err(e),
            None => self.dest.flush(),
        }
    }

    #[inline]
    fn maybe_flush(&mut self) {
        if self.buf.len() >= BLOCK {
            self.flush_now();
        }
    }

    #[cold]
    fn flush_now(&mut self) {
        let ready = if self.holding {
            self.committed
        } else {
            self.buf.len()
        };
        if ready == 0 {
            return;
        }
        if self.error.is_none()
            && let Err(e) = self.dest.write_all(&self.buf[..ready])
        {
            self.error = Some(e);
        }
        self.buf.drain(..ready);
        self.committed = 0;
    }

    #[inline]
    fn newline(&mut self) {
        if let Some(unit) = &self.unit {
            let width = unit.len() * self.depth;
            if self.indent.len() < width {
                while self.indent.len() < width {
                    self.indent.extend_from_slice(unit);
                }
            }
            self.buf.push(b'\n');
            self.buf.extend_from_slice(&self.indent[..width]);
        }
    }
}

impl Sink for Writer<'_> {
    #[inline]
    fn open(&mut self, bracket: u8) {
        self.buf.push(bracket);
        self.depth += 1;
        self.newline();
    }
    #[inline]
    fn close(&mut self, bracket: u8) {
        self.depth -= 1;
        self.newline();
        self.buf.push(bracket);
        self.maybe_flush();
    }
    #[inline]
    fn empty(&mut self, pair: &'static [u8]) {
        self.buf.extend_from_slice(pair);
    }
    #[inline]
    fn comma(&mut self) {
        self.buf.push(b',');
        self.newline();
        self.maybe_flush();
    }
    #[inline]
    fn colon(&mut self) {
        if self.unit.is_some() {
            self.buf.extend_from_slice(b": ");
        } else {
            self.buf.push(b':');
        }
    }
    #[inline]
    fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.maybe_flush();
    }
    fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// Validation that also rejects duplicate keys in an object (`--strict`).
/// Memory: the keys of the objects currently open.
#[derive(Default)]
pub(crate) struct StrictKeys {
    /// One entry per open container: the keys seen, for objects.
    open: Vec<Option<HashSet<String>>>,
    key: Vec<u8>,
    in_key: bool,
}

impl Sink for StrictKeys {
    fn open(&mut self, bracket: u8) {
        self.open.push((bracket == b'{').then(HashSet::new));
    }
    fn close(&mut self, _bracket: u8) {
        self.open.pop();
    }
    fn raw(&mut self, bytes: &[u8]) {
        if self.in_key {
            self.key.extend_from_slice(bytes);
        }
    }
    fn key_begin(&mut self) {
        self.in_key = true;
        self.key.clear();
    }
    fn key_end(&mut self) -> Option<String> {
        self.in_key = false;
        let keys = self.open.last_mut()?.as_mut()?;
        let key = decode_string(&self.key);
        if keys.insert(key) {
            return None;
        }
        Some(format!(
            "duplicate key {} in this object",
            String::from_utf8_lossy(&self.key)
        ))
    }
}

/// `fmt --sort-keys`: every object is held in memory until it closes, then
/// written with its members sorted by key (stable: duplicates keep their
/// order). Arrays outside any object stream through, so a top-level array
/// of records holds one record at a time.
pub(crate) struct SortedKeys<'a, 'w> {
    out: &'a mut Writer<'w>,
    /// The containers open inside the outermost buffered object.
    frames: Vec<Frame>,
}

enum Frame {
    Array(Vec<u8>),
    Object {
        /// (key as written, value minified)
        members: Vec<(Vec<u8>, Vec<u8>)>,
        in_key: bool,
    },
}

impl<'a, 'w> SortedKeys<'a, 'w> {
    pub fn new(out: &'a mut Writer<'w>) -> Self {
        SortedKeys {
            out,
            frames: Vec::new(),
        }
    }

    /// A finished value inside a buffered object goes to its parent; the
    /// outermost object, now sorted, is written out.
    fn finished(&mut self, bytes: &[u8]) {
        match self.frames.last_mut() {
            None => {
                // Minified by construction, so this parse cannot fail.
                let _ = Parser::from_bytes(bytes.to_vec()).value(&mut *self.out);
            }
            Some(Frame::Array(buf)) => buf.extend_from_slice(bytes),
            Some(Frame::Object { members, .. }) => {
                if let Some((_, value)) = members.last_mut() {
                    value.extend_from_slice(bytes);
                }
            }
        }
    }
}

impl Sink for SortedKeys<'_, '_> {
    fn open(&mut self, bracket: u8) {
        if self.frames.is_empty() && bracket == b'[' {
            return self.out.open(bracket);
        }
        self.frames.push(match bracket {
            b'{' => Frame::Object {
                members: Vec::new(),
                in_key: false,
            },
            _ => Frame::Array(vec![b'[']),
        });
    }
    fn close(&mut self, bracket: u8) {
        let Some(frame) = self.frames.pop() else {
            return self.out.close(bracket);
        };
        let bytes = match frame {
            Frame::Array(mut buf) => {
                buf.push(b']');
                buf
            }
            Frame::Object { mut members, .. } => {
                members.sort_by_cached_key(|(key, _)| decode_string(key));
                let mut buf = vec![b'{'];
                for (n, (key, value)) in members.iter().enumerate() {
                    if n > 0 {
                        buf.push(b',');
                    }
                    buf.extend_from_slice(key);
                    buf.push(b':');
                    buf.extend_from_slice(value);
                }
                buf.push(b'}');
                buf
            }
        };
        self.finished(&bytes);
    }
    fn empty(&mut self, pair: &'static [u8]) {
        if self.frames.is_empty() {
            self.out.empty(pair);
        } else {
            self.finished(pair);
        }
    }
    fn comma(&mut self) {
        match self.frames.last_mut() {
            None => self.out.comma(),
            Some(Frame::Array(buf)) => buf.push(b','),
            Some(Frame::Object { .. }) => {}
        }
    }
    fn raw(&mut self, bytes: &[u8]) {
        match self.frames.last_mut() {
            None => self.out.raw(bytes),
            Some(Frame::Array(buf)) => buf.extend_from_slice(bytes),
            Some(Frame::Object { members, in_key }) => {
                if let Some((key, value)) = members.last_mut() {
                    if *in_key { key } else { value }.extend_from_slice(bytes);
                }
            }
        }
    }
    fn key_begin(&mut self) {
        if let Some(Frame::Object { members, in_key }) = self.frames.last_mut() {
            members.push((Vec::new(), Vec::new()));
            *in_key = true;
        }
    }
    fn colon(&mut self) {
        if let Some(Frame::Object { in_key, .. }) = self.frames.last_mut() {
            *in_key = false;
        }
    }
    fn failed(&self) -> bool {
        self.out.failed()
    }
}
