//! A streaming JSON parser: one pass over the input bytes, constant memory.
//!
//! The parser never builds a tree. It reads the input through one buffer and
//! reports each token to a [`Sink`] (the minifier, the pretty-printer, the
//! duplicate-key checker, or nothing at all for plain validation), copying
//! strings and numbers byte for byte as they were written. Nesting is kept
//! on an explicit stack of one byte per level, so a document nested 100,000
//! levels deep costs 100 KB, never a stack overflow.
//!
//! Positions: lines are counted at the newlines between tokens (a JSON
//! string cannot hold a raw newline, so that is every newline of a valid
//! document); columns are bytes from the start of the line, 1-based.

use std::io::{self, Read};

/// Bytes read per refill: big enough that read calls stop mattering, small
/// enough to stay in cache.
const CHUNK: usize = 256 * 1024;

/// Receives the tokens of a document in order. Every method has a no-op
/// default, so validation is `Skip`, a sink that does nothing at all.
pub(crate) trait Sink {
    /// A non-empty object or array opens (`{` or `[`).
    fn open(&mut self, _bracket: u8) {}
    /// The innermost non-empty container closes (`}` or `]`).
    fn close(&mut self, _bracket: u8) {}
    /// An empty object or array, `{}` or `[]` (whatever whitespace was inside).
    fn empty(&mut self, _pair: &'static [u8]) {}
    /// The comma between two members or elements.
    fn comma(&mut self) {}
    /// The colon after an object key.
    fn colon(&mut self) {}
    /// Bytes of a string (quotes and escapes included), number or literal,
    /// exactly as written; a long token may come in several pieces.
    fn raw(&mut self, _bytes: &[u8]) {}
    /// The string that follows is an object key.
    fn key_begin(&mut self) {}
    /// The key is complete; a message here stops the parse (`--strict`).
    fn key_end(&mut self) -> Option<String> {
        None
    }
    /// True once the sink cannot go on (its output failed).
    fn failed(&self) -> bool {
        false
    }
}

/// The sink that keeps nothing: validation, and skipping unwanted values.
pub(crate) struct Skip;

impl Sink for Skip {}

/// Collects the raw bytes of scalars (a key, a string to decode).
pub(crate) struct Collect<'a>(pub &'a mut Vec<u8>);

impl Sink for Collect<'_> {
    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// Why a parse stopped. Kept to two words, so that the `Result` of every
/// token comes back in registers.
#[derive(Debug)]
pub(crate) enum Error {
    /// The input is not valid JSON here.
    Syntax(Box<Syntax>),
    /// Valid JSON, but the operation does not apply (`length` of `true`).
    Other(Box<Note>),
    /// A path is not in the document (which was read whole).
    Missing(Box<Note>),
    /// Reading the input failed.
    Io(io::Error),
    /// The sink failed (its output is closed or full); it holds the error.
    Stopped,
}

#[derive(Debug, Clone)]
pub(crate) struct Syntax {
    pub offset: u64,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

/// A message, and its line in NDJSON.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub line: Option<u64>,
    pub message: String,
}

impl Error {
    pub fn other(line: Option<u64>, message: String) -> Error {
        Error::Other(Box::new(Note { line, message }))
    }

    pub fn missing(line: Option<u64>, message: String) -> Error {
        Error::Missing(Box::new(Note { line, message }))
    }

    /// `name:line:column: message`, or `name: message` without a position.
    pub fn describe(&self, name: &str) -> String {
        match self {
            Error::Syntax(s) => format!("{name}:{}:{}: {}", s.line, s.column, s.message),
            Error::Other(note) | Error::Missing(note) => match note.line {
                Some(line) => format!("{name}:{line}: {}", note.message),
                None => format!("{name}: {}", note.message),
            },
            Error::Io(e) => format!("{name}: {e}"),
            Error::Stopped => format!("{name}: output failed"),
        }
    }
}

/// Whether a walk over the input should go on or stop reading.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

pub(crate) struct Parser<'r> {
    buf: Vec<u8>,
    /// Next byte to look at.
    pos: usize,
    /// End of the bytes read into `buf`.
    end: usize,
    /// Offset in the input of `buf[0]`.
    base: u64,
    /// 1-based line of `pos`, and the input offset where that line starts.
    line: u64,
    line_start: u64,
    reader: Box<dyn Read + 'r>,
    eof: bool,
    /// The open containers, innermost last: `{` or `[`.
    stack: Vec<u8>,
    /// NDJSON: a newline ends a document instead of being whitespace.
    lines: bool,
}

impl<'r> Parser<'r> {
    pub fn new(reader: impl Read + 'r) -> Parser<'r> {
        Parser {
            buf: vec![0; CHUNK],
            pos: 0,
            end: 0,
            base: 0,
            line: 1,
            line_start: 0,
            reader: Box::new(reader),
            eof: false,
            stack: Vec::new(),
            lines: false,
        }
    }

    /// A parser over bytes already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Parser<'static> {
        Parser {
            end: bytes.len(),
            buf: bytes,
            pos: 0,
            base: 0,
            line: 1,
            line_start: 0,
            reader: Box::new(io::empty()),
            eof: true,
            stack: Vec::new(),
            lines: false,
        }
    }

    /// Treat the input as NDJSON: one document per line.
    pub fn lines(mut self, yes: bool) -> Self {
        self.lines = yes;
        self
    }

    /// The input offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The 1-based line of the next byte.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Read more input after `end`, keeping the bytes from `pos` on.
    /// False at the end of the input.
    #[cold]
    #[inline(never)]
    fn refill(&mut self) -> Result<bool, Error> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            let len = self.buf.len().max(64);
            self.buf.resize(len * 2, 0);
        }
        match crate::io::read_some(&mut self.reader, &mut self.buf[self.end..])
            .map_err(Error::Io)?
        {
            0 => {
                self.eof = true;
                Ok(false)
            }
            n => {
                self.end += n;
                Ok(true)
            }
        }
    }

    /// Make at least `n` bytes available from `pos`, unless the input ends first.
    fn ensure(&mut self, n: usize) -> Result<(), Error> {
        while self.end - self.pos < n {
            if !self.refill()? {
                break;
            }
        }
        Ok(())
    }

    #[cold]
    pub fn error_at(&self, offset: u64, message: impl Into<String>) -> Error {
        Error::Syntax(Box::new(Syntax {
            offset,
            line: self.line,
            column: offset.saturating_sub(self.line_start) + 1,
            message: message.into(),
        }))
    }

    #[cold]
    pub fn unexpected(&self, found: Option<u8>, expected: &str) -> Error {
        let found = match (found, self.stack.last()) {
            (None, None) => "end of input".to_string(),
            (None, Some(&open)) => format!(
                "end of input ({} still open: {} unclosed)",
                if open == b'{' {
                    "an object"
                } else {
                    "an array"
                },
                self.stack.len()
            ),
            (Some(b), _) => describe_byte(b),
        };
        self.error_at(self.offset(), format!("expected {expected}, found {found}"))
    }

    /// The next byte that is not whitespace, left unread; `None` at the end
    /// of the input. With `lines`, a newline is returned, not skipped.
    #[inline(always)]
    pub fn peek_token(&mut self) -> Result<Option<u8>, Error> {
        // Fast path: a token right here, or after the one space that JSON
        // writers put after ',' and ':'.
        if self.pos + 1 < self.end {
            let b = self.buf[self.pos];
            if b > b' ' {
                return Ok(Some(b));
            }
            let c = self.buf[self.pos + 1];
            if b == b' ' && c > b' ' {
                self.pos += 1;
                return Ok(Some(c));
            }
        }
        self.peek_token_slow()
    }

    #[inline(never)]
    fn peek_token_slow(&mut self) -> Result<Option<u8>, Error> {
        loop {
            while self.pos < self.end {
                let b = self.buf[self.pos];
                if b > b' ' {
                    return Ok(Some(b));
                }
                match b {
                    b' ' | b'\t' | b'\r' => self.pos += 1,
                    b'\n' if !self.lines => {
                        self.pos += 1;
                        self.line += 1;
                        self.line_start = self.offset();
                    }
                    _ => return Ok(Some(b)),
                }
            }
            if !self.refill()? {
                return Ok(None);
            }
        }
    }

    /// A whole document: one value, then nothing but whitespace.
    #[cfg(test)]
    pub fn document<S: Sink>(&mut self, sink: &mut S) -> Result<(), Error> {
        self.start()?;
        self.value(sink)?;
        self.end_of_input()
    }

    /// Check the start of the input: no byte order mark, not empty.
    pub fn start(&mut self) -> Result<(), Error> {
        self.no_bom()?;
        match self.peek_token()? {
            None => Err(self.error_at(self.offset(), "empty input: expected a JSON value")),
            Some(_) => Ok(()),
        }
    }

    fn no_bom(&mut self) -> Result<(), Error> {
        self.ensure(3)?;
        let head = &self.buf[self.pos..self.end];
        let problem = if head.starts_with(b"\xEF\xBB\xBF") {
            "byte order mark (U+FEFF) at the start: JSON text must not begin with one"
        } else if head.starts_with(b"\xFF\xFE")
            || head.starts_with(b"\xFE\xFF")
            || (head.len() >= 2 && (head[0] == 0 || head[1] == 0))
        {
            "the input looks like UTF-16: JSON text must be UTF-8"
        } else {
            return Ok(());
        };
        Err(self.error_at(self.offset(), problem))
    }

    /// After the value: only whitespace may follow.
    pub fn end_of_input(&mut self) -> Result<(), Error> {
        match self.peek_token()? {
            None => Ok(()),
            Some(b) => Err(self.error_at(
                self.offset(),
                format!(
                    "unexpected {} after the JSON value (one value per input; \
                     use --lines for NDJSON)",
                    describe_byte(b)
                ),
            )),
        }
    }

    /// NDJSON: skip blank lines up to the next document. False at the end.
    pub fn next_line(&mut self) -> Result<bool, Error> {
        if self.base == 0 && self.pos == 0 {
            self.no_bom()?;
        }
        loop {
            match self.peek_token()? {
                None => return Ok(false),
                Some(b'\n') => self.newline(),
                Some(_) => return Ok(true),
            }
        }
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.offset();
    }

    /// NDJSON: after a document, only whitespace until the end of the line.
    pub fn finish_line(&mut self) -> Result<(), Error> {
        match self.peek_token()? {
            None => Ok(()),
            Some(b'\n') => {
                self.newline();
                Ok(())
            }
            Some(b) => Err(self.error_at(
                self.offset(),
                format!(
                    "unexpected {} after the JSON value on this line",
                    describe_byte(b)
                ),
            )),
        }
    }

    /// NDJSON: drop the rest of the line (after an error, or once a query
    /// has its answer).
    pub fn skip_line(&mut self) -> Result<(), Error> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.pos..self.end]) {
                self.pos += i;
                self.newline();
                return Ok(());
            }
            self.pos = self.end;
            if !self.refill()? {
                return Ok(());
            }
        }
    }

    /// One complete value (scalar or container) to `sink`.
    pub fn value<S: Sink>(&mut self, sink: &mut S) -> Result<(), Error> {
        let depth = self.stack.len();
        let result = self.value_at(depth, sink);
        if result.is_err() {
            self.stack.truncate(depth);
        }
        result
    }

    fn value_at<S: Sink>(&mut self, depth: usize, sink: &mut S) -> Result<(), Error> {
        'value: loop {
            match self.peek_token()? {
                Some(b'{') => {
                    self.pos += 1;
                    match self.peek_token()? {
                        Some(b'}') => {
                            self.pos += 1;
                            sink.empty(b"{}");
                        }
                        Some(b'"') => {
                            self.stack.push(b'{');
                            sink.open(b'{');
                            self.key(sink)?;
                            continue 'value;
                        }
                        other => return Err(self.unexpected(other, "a string key or '}'")),
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    if self.peek_token()? == Some(b']') {
                        self.pos += 1;
                        sink.empty(b"[]");
                    } else {
                        self.stack.push(b'[');
                        sink.open(b'[');
                        continue 'value;
                    }
                }
                Some(b'"') => self.string(sink)?,
                Some(b'-' | b'0'..=b'9') => self.number(sink)?,
                Some(b't') => self.literal(b"true", sink)?,
                Some(b'f') => self.literal(b"false", sink)?,
                Some(b'n') => self.literal(b"null", sink)?,
                other => return Err(self.unexpected(other, "a value")),
            }
            // A value is complete: close containers until one has a next member.
            loop {
                if self.stack.len() == depth {
                    return Ok(());
                }
                let open = self.stack[self.stack.len() - 1];
                match self.peek_token()? {
                    Some(b',') => {
                        self.pos += 1;
                        sink.comma();
                        if sink.failed() {
                            return Err(Error::Stopped);
                        }
                        if open == b'{' {
                            match self.peek_token()? {
                                Some(b'"') => self.key(sink)?,
                                other => return Err(self.unexpected(other, "a string key")),
                            }
                        }
                        continue 'value;
                    }
                    Some(b'}') if open == b'{' => {
                        self.pos += 1;
                        self.stack.pop();
                        sink.close(b'}');
                    }
                    Some(b']') if open == b'[' => {
                        self.pos += 1;
                        self.stack.pop();
                        sink.close(b']');
                    }
                    other => {
                        let expected = if open == b'{' {
                            "',' or '}' after an object member"
                        } else {
                            "',' or ']' after an array element"
                        };
                        return Err(self.unexpected(other, expected));
                    }
                }
            }
        }
    }

    /// An object key and its colon; `pos` is at the opening quote.
    #[inline(always)]
    fn key<S: Sink>(&mut self, sink: &mut S) -> Result<(), Error> {
        let at = self.offset();
        sink.key_begin();
        self.string(sink)?;
        if let Some(message) = sink.key_end() {
            return Err(self.error_at(at, message));
        }
        match self.peek_token()? {
            Some(b':') => {
                self.pos += 1;
                sink.colon();
                Ok(())
            }
            other => Err(self.unexpected(other, "':' after an object key")),
        }
    }

    /// A string, `pos` at its opening quote: checked (escapes, UTF-8, no raw
    /// control characters) and passed on exactly as written.
    #[inline(always)]
    fn string<S: Sink>(&mut self, sink: &mut S) -> Result<(), Error> {
        // Fast path: plain ASCII up to the closing quote, all in the buffer.
        let i = scan_plain(&self.buf[..self.end], self.pos + 1);
        if i < self.end && self.buf[i] == b'"' {
            sink.raw(&self.buf[self.pos..=i]);
            self.pos = i + 1;
            return Ok(());
        }
        self.string_slow(sink)
    }

    #[inline(never)]
    fn string_slow<S: Sink>(&mut self, sink: &mut S) -> Result<(), Error> {
        let mut start = self.pos;
        let mut i = self.pos + 1;
        loop {
            i = scan_plain(&self.buf[..self.end], i);
            if i >= self.end {
                sink.raw(&self.buf[start..self.end]);
                self.pos = self.end;
                if !self.refill()? {
                    return Err(
                        self.error_at(self.offset(), "unexpected end of input inside a string")
                    );
                }
                start = self.pos;
                i = self.pos;
                continue;
            }
            match self.buf[i] {
                b'"' => {
                    sink.raw(&self.buf[start..=i]);
                    self.pos = i + 1;
                    return Ok(());
                }
                b'\\' => {
                    // An escape needs up to 12 bytes (a surrogate pair):
                    // move it to the front of the buffer if it may reach past.
                    if self.end - i < 12 && !self.eof {
                        sink.raw(&self.buf[start..i]);
                        self.pos = i;
                        self.ensure(12)?;
                        start = self.pos;
                        i = self.pos;
                    }
                    i = self.escape(i)?;
                }
                b @ 0..=0x1f => {
                    let message = if b == b'\n' {
                        "line break inside a string (strings must be on one line; \
                         is a closing quote missing?)"
                            .to_string()
                    } else {
                        format!("control character 0x{b:02x} inside a string must be escaped")
                    };
                    return Err(self.error_at(self.base + i as u64, message));
                }
                b => {
                    let width = utf8_width(b);
                    if self.end - i < width && !self.eof {
                        sink.raw(&self.buf[start..i]);
                        self.pos = i;
                        self.ensure(width)?;
                        start = self.pos;
                        i = self.pos;
                    }
                    if width == 0 || !utf8_valid(&self.buf[i..self.end], width) {
                        return Err(self.error_at(
                            self.base + i as u64,
                            format!("invalid UTF-8 (byte 0x{b:02x}) inside a string"),
                        ));
                    }
                    i += width;
                }
            }
        }
    }

    /// Check the escape at `buf[i]` (a backslash); the index after it.
    fn escape(&self, i: usize) -> Result<usize, Error> {
        let buf = &self.buf[..self.end];
        let at = self.base + i as u64;
        match buf.get(i + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
            Some(b'u') => {
                let Some(unit) = hex4(buf, i + 2) else {
                    return Err(self.error_at(at, "invalid \\u escape: expected 4 hex digits"));
                };
                match unit {
                    0xD800..=0xDBFF => {
                        if buf.get(i + 6) == Some(&b'\\')
                            && buf.get(i + 7) == Some(&b'u')
                            && let Some(0xDC00..=0xDFFF) = hex4(buf, i + 8)
                        {
                            return Ok(i + 12);
                        }
                        Err(self.error_at(
                            at,
                            format!(
                                "lone surrogate \\u{unit:04x}: a high surrogate must be \
                                 followed by a low one (\\udc00-\\udfff)"
                            ),
                        ))
                    }
                    0xDC00..=0xDFFF => Err(self.error_at(
                        at,
                        format!("lone surrogate \\u{unit:04x}: a low surrogate without a high one"),
                    )),
                    _ => Ok(i + 6),
                }
            }
            Some(&c) => Err(self.error_at(
                at,
                format!("invalid escape \\{} in a string", describe_char(c)),
            )),
            None => Err(self.error_at(at, "unexpected end of input inside a string")),
        }
    }

    /// A number, `pos` at its first byte, checked against the JSON grammar
    /// and passed on exactly as written (every digit kept).
    #[inline]
    fn number<S: Sink>(&mut self, sink: &mut S) -> Result<(), Error> {
        // Fast path: the whole number is in the buffer and well formed.
        let buf = &self.buf[..self.end];
        let digits = |mut i: usize| {
            while i < buf.len() && buf[i].is_ascii_digit() {
                i += 1;
            }
            i
        };
        let start = self.pos;
        let mut i = start + usize::from(buf[start] == b'-');
        let int = i;
        i = if buf.get(i) == Some(&b'0') {
            i + 1
        } else {
            digits(i)
        };
        let mut ok = i > int;
        if ok && buf.get(i) == Some(&b'.') {
            let frac = i + 1;
            i = digits(frac);
            ok = i > frac;
        }
        if ok && matches!(buf.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(buf.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let exp = i;
            i = digits(exp);
            ok = i > exp;
        }
        // Ends before the buffer does, and not with a digit after a leading 0.
        if ok && i < buf.len() && !buf[i].is_ascii_digit() {
            sink.raw(&buf[start..i]);
            self.pos = i;
            return Ok(());
        }
        self.number_slow(sink)
    }

    /// A number that may cross a refill, or is malformed: byte by byte.
    #[inline(never)]
    fn number_slow<S: Sink>(&mut self, sink: &mut S) -> Result<(), Error> {
        const SIGN: u8 = 0; // after '-': a digit must follow
        const ZERO: u8 = 1; // a leading 0: no more integer digits
        const INT: u8 = 2;
        const DOT: u8 = 3; // after '.': a digit must follow
        const FRAC: u8 = 4;
        const EXP: u8 = 5; // after 'e': a sign or digit must follow
        const EXP_SIGN: u8 = 6;
        const EXP_DIGITS: u8 = 7;
        let mut start = self.pos;
        let mut i = self.pos;
        let mut state = SIGN;
        if self.buf[i] == b'-' {
            i += 1;
        }
        loop {
            if i == self.end {
                sink.raw(&self.buf[start..i]);
                self.pos = i;
                let more = self.refill()?;
                start = self.pos;
                i = self.pos;
                if more {
                    continue;
                }
                break;
            }
            state = match (state, self.buf[i]) {
                (SIGN, b'0') => ZERO,
                (SIGN, b'1'..=b'9') | (INT, b'0'..=b'9') => INT,
                (ZERO | INT, b'.') => DOT,
                (DOT | FRAC, b'0'..=b'9') => FRAC,
                (ZERO | INT | FRAC, b'e' | b'E') => EXP,
                (EXP, b'+' | b'-') => EXP_SIGN,
                (EXP | EXP_SIGN | EXP_DIGITS, b'0'..=b'9') => EXP_DIGITS,
                _ => break,
            };
            i += 1;
        }
        sink.raw(&self.buf[start..i]);
        self.pos = i;
        let problem = match state {
            INT | FRAC | EXP_DIGITS => return Ok(()),
            ZERO if !matches!(self.buf[i..self.end].first(), Some(b'0'..=b'9')) => return Ok(()),
            ZERO => "invalid number: leading zeros are not allowed",
            SIGN => "invalid number: expected a digit after '-'",
            DOT => "invalid number: expected a digit after the decimal point",
            _ => "invalid number: expected a digit in the exponent",
        };
        Err(self.error_at(self.offset(), problem))
    }

    #[inline]
    fn literal<S: Sink>(&mut self, word: &'static [u8], sink: &mut S) -> Result<(), Error> {
        if self.end - self.pos < word.len() {
            self.ensure(word.len())?;
        }
        let have = &self.buf[self.pos..self.end.min(self.pos + word.len())];
        // Byte by byte: short enough that a memcmp call would dominate.
        if have.len() == word.len() && have.iter().zip(word).all(|(a, b)| a == b) {
            self.pos += word.len();
            sink.raw(word);
            return Ok(());
        }
        let word = String::from_utf8_lossy(word);
        Err(self.error_at(self.offset(), format!("invalid literal: expected '{word}'")))
    }

    /// An object, `pos` at its `{`: decode each key and call `each` with the
    /// parser at the member's value, which `each` must read (or stop).
    pub fn members(
        &mut self,
        each: &mut dyn FnMut(&mut Self, &str) -> Result<Flow, Error>,
    ) -> Result<Flow, Error> {
        self.pos += 1;
        let mut key = Vec::new();
        let mut first = true;
        loop {
            match self.peek_token()? {
                Some(b'}') if first => {
                    self.pos += 1;
                    return Ok(Flow::Continue);
                }
                Some(b'"') => {}
                other => return Err(self.unexpected(other, "a string key")),
            }
            key.clear();
            self.string(&mut Collect(&mut key))?;
            match self.peek_token()? {
                Some(b':') => self.pos += 1,
                other => return Err(self.unexpected(other, "':' after an object key")),
            }
            if each(self, &decode_string(&key))? == Flow::Stop {
                return Ok(Flow::Stop);
            }
            match self.peek_token()? {
                Some(b',') => {
                    self.pos += 1;
                    first = false;
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Flow::Continue);
                }
                other => return Err(self.unexpected(other, "',' or '}' after an object member")),
            }
        }
    }

    /// An array, `pos` at its `[`: call `each` with the parser at each
    /// element and its index; `each` must read the element (or stop).
    pub fn elements(
        &mut self,
        each: &mut dyn FnMut(&mut Self, u64) -> Result<Flow, Error>,
    ) -> Result<Flow, Error> {
        self.pos += 1;
        if self.peek_token()? == Some(b']') {
            self.pos += 1;
            return Ok(Flow::Continue);
        }
        let mut index = 0;
        loop {
            if each(self, index)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
            index += 1;
            match self.peek_token()? {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Flow::Continue);
                }
                other => return Err(self.unexpected(other, "',' or ']' after an array element")),
            }
        }
    }

    /// Read one value whole into memory, minified exactly as written.
    pub fn capture(&mut self) -> Result<Vec<u8>, Error> {
        let mut bytes = Vec::new();
        self.capture_into(&mut bytes)?;
        Ok(bytes)
    }

    /// Append one value to `bytes`, minified exactly as written.
    pub fn capture_into(&mut self, bytes: &mut Vec<u8>) -> Result<(), Error> {
        self.value(&mut Minified(bytes))
    }
}

/// Collects a value minified into a `Vec` (no output errors possible).
struct Minified<'a>(&'a mut Vec<u8>);

impl Sink for Minified<'_> {
    fn open(&mut self, bracket: u8) {
        self.0.push(bracket);
    }
    fn close(&mut self, bracket: u8) {
        self.0.push(bracket);
    }
    fn empty(&mut self, pair: &'static [u8]) {
        self.0.extend_from_slice(pair);
    }
    fn comma(&mut self) {
        self.0.push(b',');
    }
    fn colon(&mut self) {
        self.0.push(b':');
    }
    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// Bytes that end a run of plain string content: quote, backslash, control
/// characters, and the lead bytes of multi-byte UTF-8 (checked one by one).
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b == b'"' as usize || b == b'\\' as usize || b >= 0x80;
        b += 1;
    }
    table
};

/// The index of the first special byte in `buf` from `i`, or `buf.len()`.
/// Eight bytes at a time: a word has a special byte when one of its bytes
/// equals `"` or `\`, is below 0x20, or has its high bit set. The lowest
/// flagged byte is always a real one (borrows only run upwards).
#[inline(always)]
fn scan_plain(buf: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SSE2 is part of x86_64: 16 bytes per step. A signed compare below
        // 0x20 catches both control characters and bytes >= 0x80.
        while i + 16 <= buf.len() {
            // SAFETY: i + 16 <= buf.len(), and an unaligned load is allowed.
            let mask = unsafe {
                let v = _mm_loadu_si128(buf.as_ptr().add(i) as *const __m128i);
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                let low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), low))
            };
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    scan_plain_words(buf, i)
}

/// The portable tail of [`scan_plain`], eight bytes at a time.
#[inline(always)]
fn scan_plain_words(buf: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= buf.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&buf[i..i + 8]);
        let v = u64::from_le_bytes(word);
        let quote = v ^ (ONES * b'"' as u64);
        let backslash = v ^ (ONES * b'\\' as u64);
        let flags = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (v.wrapping_sub(ONES * 0x20) & !v)
            | v;
        let flags = flags & HIGH;
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < buf.len() && !SPECIAL[buf[i] as usize] {
        i += 1;
    }
    i
}

/// The length of the UTF-8 sequence a lead byte starts; 0 if it cannot start one.
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

/// Whether `bytes` starts with a valid (shortest-form, non-surrogate) UTF-8
/// sequence of `width` bytes.
fn utf8_valid(bytes: &[u8], width: usize) -> bool {
    if bytes.len() < width {
        return false;
    }
    let cont = |b: u8| (0x80..=0xBF).contains(&b);
    let (lead, second) = (bytes[0], bytes[1]);
    let second_ok = match lead {
        0xE0 => (0xA0..=0xBF).contains(&second),
        0xED => (0x80..=0x9F).contains(&second),
        0xF0 => (0x90..=0xBF).contains(&second),
        0xF4 => (0x80..=0x8F).contains(&second),
        _ => cont(second),
    };
    second_ok && bytes[2..width].iter().all(|&b| cont(b))
}

fn hex4(buf: &[u8], at: usize) -> Option<u32> {
    let digits = buf.get(at..at + 4)?;
    let mut value = 0;
    for &d in digits {
        value = value * 16 + (d as char).to_digit(16)?;
    }
    Some(value)
}

/// A byte as a message shows it: `'x'`, `end of line`, `byte 0xc3`.
pub(crate) fn describe_byte(b: u8) -> String {
    match b {
        b'\n' => "end of line".to_string(),
        0xEF => "byte 0xef (a byte order mark?)".to_string(),
        0x21..=0x7E => format!("'{}'", b as char),
        _ => format!("byte 0x{b:02x}"),
    }
}

fn describe_char(b: u8) -> String {
    match b {
        0x21..=0x7E => (b as char).to_string(),
        _ => format!("(byte 0x{b:02x})"),
    }
}

/// The text of a JSON string token (quotes included, already checked).
pub(crate) fn decode_string(raw: &[u8]) -> String {
    let inner = raw
        .strip_prefix(b"\"")
        .and_then(|r| r.strip_suffix(b"\""))
        .unwrap_or(raw);
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let Some(k) = memchr::memchr(b'\\', &inner[i..]) else {
            out.extend_from_slice(&inner[i..]);
            break;
        };
        out.extend_from_slice(&inner[i..i + k]);
        i += k;
        let Some(&c) = inner.get(i + 1) else { break };
        i += 2;
        let simple = match c {
            b'b' => 0x08,
            b'f' => 0x0C,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => 0,
            other => other,
        };
        if c != b'u' {
            out.push(simple);
            continue;
        }
        let mut unit = hex4(inner, i).unwrap_or(0xFFFD);
        i += 4;
        if (0xD800..=0xDBFF).contains(&unit)
            && inner.get(i) == Some(&b'\\')
            && let Some(low @ 0xDC00..=0xDFFF) = hex4(inner, i + 2)
        {
            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
        }
        let ch = char::from_u32(unit).unwrap_or('\u{FFFD}');
        let mut tmp = [0; 4];
        out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &[u8]) -> Result<Vec<u8>, String> {
        let mut p = Parser::from_bytes(text.to_vec());
        let mut out = Vec::new();
        p.start().map_err(|e| e.describe("t"))?;
        p.value(&mut Minified(&mut out))
            .map_err(|e| e.describe("t"))?;
        p.end_of_input().map_err(|e| e.describe("t"))?;
        Ok(out)
    }

    /// Feeds the input one byte per read, so every token crosses a refill.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn minifies_exactly() {
        let text = br#" { "a" : [ 1e400 , -0.10000000000000000001, 12345678901234567890 ] ,
            "b\u00e9\ud83d\ude00" : "Z\u00fcrich \"q\" \u20ac", "c": {}, "d": [ ], "e": [true,false,null] } "#;
        let want = br#"{"a":[1e400,-0.10000000000000000001,12345678901234567890],"b\u00e9\ud83d\ude00":"Z\u00fcrich \"q\" \u20ac","c":{},"d":[],"e":[true,false,null]}"#;
        assert_eq!(check(text).unwrap(), want.to_vec());
        let mut p = Parser::new(Trickle(text));
        let mut out = Vec::new();
        p.document(&mut Minified(&mut out)).unwrap();
        assert_eq!(out, want.to_vec());
    }

    #[test]
    fn errors_have_positions() {
        let e = check(b"{\"a\": 1,\n  \"b\" 2}").unwrap_err();
        assert_eq!(e, "t:2:7: expected ':' after an object key, found '2'");
        let e = check(b"[1,]").unwrap_err();
        assert_eq!(e, "t:1:4: expected a value, found ']'");
        let e = check(b"\"\\ud800x\"").unwrap_err();
        assert!(e.starts_with("t:1:2: lone surrogate \\ud800"), "{e}");
        let e = check(b"[01]").unwrap_err();
        assert!(e.contains("leading zeros"), "{e}");
        let e = check(b"\"\xff\"").unwrap_err();
        assert!(e.contains("invalid UTF-8"), "{e}");
        let e = check(b"\xEF\xBB\xBF{}").unwrap_err();
        assert!(e.contains("byte order mark"), "{e}");
        let e = check(b"{} x").unwrap_err();
        assert!(
            e.starts_with("t:1:4: unexpected 'x' after the JSON value"),
            "{e}"
        );
    }

    #[test]
    fn scans_strings_eight_bytes_at_a_time() {
        for (text, want) in [
            (&b"abcdefghij\"k"[..], 10),
            (b"abcdefg\\", 7),
            (b"abc\x1fdefgh", 3),
            (b"abcdefgh\xc3\xa9", 8),
            (b"       !", 8),
        ] {
            assert_eq!(
                scan_plain(text, 0),
                want,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn decodes_strings() {
        assert_eq!(
            decode_string(br#""a\"b\\\/\n\u00e9\ud83d\ude00""#),
            "a\"b\\/\né😀"
        );
    }
}
