//! `fkit csv to-json` and `to-ndjson`: rows as JSON objects.

use super::{Common, Table, position};
use anyhow::{Result, bail};
use std::io::Write;

/// Convert CSV to a JSON array of objects, one per row.
///
/// Keys are the header names; values are strings unless --infer, which
/// writes integers and decimals that are valid JSON numbers as numbers,
/// `true`/`false` as booleans and empty fields as null. With --no-headers
/// each row becomes an array. Each object sits on its own line. JSON needs
/// text: invalid UTF-8 is an error giving its line and byte offset.
/// Streams: constant memory.
///
/// Examples:
///   fkit csv to-json data.csv > data.json
///   fkit csv to-json --infer data.csv.gz -o data.json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Write numbers, booleans and nulls as such instead of strings.
    #[arg(long)]
    infer: bool,

    #[command(flatten)]
    common: Common,
}

/// Convert CSV to NDJSON: one JSON object per line, one line per row.
///
/// The same conversion as `to-json` (see its --help), without the
/// surrounding array. Streams: constant memory.
///
/// Examples:
///   fkit csv to-ndjson data.csv > data.ndjson
///   fkit csv to-ndjson --infer data.csv | jq -c 'select(.age > 30)'
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct NdArgs {
    #[command(flatten)]
    pub(crate) args: Args,
}

pub(crate) fn run(args: Args, ndjson: bool) -> Result<()> {
    let mut table = Table::open(&args.common)?;
    let has_headers = table.has_headers();
    // Each key pre-escaped once, with its quotes and colon: `"name":`.
    let keys: Vec<Vec<u8>> = table
        .header()
        .iter()
        .map(|name| {
            let mut key = Vec::with_capacity(name.len() + 3);
            write_json_string(&mut key, name);
            key.push(b':');
            key
        })
        .collect();
    if has_headers
        && let Some(bad) = table
            .header()
            .iter()
            .position(|n| std::str::from_utf8(n).is_err())
    {
        bail!(
            "{}: header field {} is not valid UTF-8",
            table.name(),
            bad + 1
        );
    }
    let infer = args.infer;
    let mut out = args.common.create_output()?;
    if !ndjson {
        out.write_all(b"[")?;
    }
    let mut rows = 0u64;
    {
        // Every row is written as ",\n{…}"; the very first comma is dropped.
        let mut body = DropFirst {
            inner: &mut out,
            left: if ndjson { 0 } else { 1 },
        };
        table.for_each_chunk(
            &mut body,
            |records, sink| {
                let mut n = 0u64;
                loop {
                    let at = records.offset();
                    let Some(record) = records.next()? else { break };
                    if std::str::from_utf8(record.as_slice()).is_err() {
                        bail!(
                            "{}: invalid UTF-8 in a row (JSON needs text)",
                            position(records.whole(), at)
                        );
                    }
                    let buf = &mut sink.buf;
                    if !ndjson {
                        buf.extend_from_slice(b",\n");
                    }
                    buf.push(if has_headers { b'{' } else { b'[' });
                    for (i, field) in record.iter().enumerate() {
                        if i > 0 {
                            buf.push(b',');
                        }
                        if has_headers {
                            match keys.get(i) {
                                Some(key) => buf.extend_from_slice(key),
                                None => {
                                    write_json_string(buf, (i + 1).to_string().as_bytes());
                                    buf.push(b':');
                                }
                            }
                        }
                        let value = unquote_field(field);
                        if infer {
                            write_inferred(buf, &value);
                        } else {
                            write_json_string(buf, &value);
                        }
                    }
                    buf.push(if has_headers { b'}' } else { b']' });
                    if ndjson {
                        buf.push(b'\n');
                    }
                    n += 1;
                    sink.record_done()?;
                }
                Ok(n)
            },
            |n| {
                rows += n;
                Ok(())
            },
        )?;
    }
    if !ndjson {
        out.write_all(if rows > 0 { b"\n]\n" } else { b"]\n" })?;
    }
    out.finish()
}

/// The text of a raw field: outer quotes removed, doubled quotes undone.
#[inline]
pub(crate) fn unquote_field(field: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if field.len() >= 2 && field[0] == b'"' && field[field.len() - 1] == b'"' {
        simd_csv::unescape(&field[1..field.len() - 1], b'"')
    } else {
        std::borrow::Cow::Borrowed(field)
    }
}

/// Drops the first `left` bytes written through it.
struct DropFirst<'a> {
    inner: &'a mut dyn Write,
    left: usize,
}

impl Write for DropFirst<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> std::io::Result<()> {
        if self.left > 0 {
            let skip = self.left.min(buf.len());
            self.left -= skip;
            buf = &buf[skip..];
        }
        self.inner.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Bytes that need escaping in a JSON string: controls, `"` and `\`.
static ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Write `text` (UTF-8) as a JSON string, quotes included.
#[inline]
pub(crate) fn write_json_string(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if !ESCAPE[b as usize] {
            continue;
        }
        out.extend_from_slice(&text[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
    out.push(b'"');
}

/// Write a field as a JSON number, boolean or null when it is one.
fn write_inferred(out: &mut Vec<u8>, value: &[u8]) {
    if value.is_empty() {
        out.extend_from_slice(b"null");
    } else if value == b"true" || value == b"false" || is_json_number(value) {
        out.extend_from_slice(value);
    } else {
        write_json_string(out, value);
    }
}

/// Whether `s` is a number exactly as JSON spells one (so it is copied
/// verbatim, every digit kept): `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`.
pub(crate) fn is_json_number(s: &[u8]) -> bool {
    let mut i = 0;
    let n = s.len();
    if i < n && s[i] == b'-' {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < n && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - from
    };
    let int_start = i;
    let int_len = digits(&mut i);
    if int_len == 0 || (int_len > 1 && s[int_start] == b'0') {
        return false;
    }
    if i < n && s[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if i < n && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if i < n && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers() {
        for yes in [
            "0",
            "-0",
            "12",
            "1.5",
            "-3.25e10",
            "1E-2",
            "123456789012345678901234567890",
        ] {
            assert!(is_json_number(yes.as_bytes()), "{yes}");
        }
        for no in [
            "", "-", "01", ".5", "5.", "1e", "0x10", "NaN", "inf", "1,5", " 1", "+1",
        ] {
            assert!(!is_json_number(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn strings_escape_controls_quotes_and_backslashes() {
        let mut out = Vec::new();
        write_json_string(&mut out, "a\"b\\c\nd\u{1}é".as_bytes());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\nd\\u0001é\""
        );
    }
}
