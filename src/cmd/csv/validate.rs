//! `fkit csv validate`: every problem of a CSV file, with where it is.

use super::Common;
use super::json_out::write_json_string;
use super::write_when_full;
use crate::io::{Exit, Input};
use anyhow::Result;
use std::io::{BufRead, Write};

/// Check that input is well-formed CSV and report every problem.
///
/// Reports each row whose number of fields differs from the header's
/// (unless --flexible), invalid UTF-8, a quote left open at the end of the
/// input, a quote inside an unquoted field and text after a closing quote,
/// each with its line and byte offset (from 0). Prints `valid: R rows, C
/// columns` and exits 0 when all is well, else lists the problems and exits
/// 1. Streams: constant memory.
///
/// Examples:
///   fkit csv validate data.csv
///   fkit csv validate --json upload.csv.gz || echo rejected
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Print a JSON object {"valid", "rows", "columns", "problems": [...]}.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    common: Common,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    /// Between records: blank lines are skipped here.
    RecordStart,
    Unquoted,
    Quoted,
    /// Just after a quote inside a quoted field: a closing or escaping quote.
    QuoteSeen,
}

struct Problem {
    kind: &'static str,
    line: u64,
    byte: u64,
    message: String,
}

struct Scanner {
    delimiter: u8,
    flexible: bool,
    state: State,
    /// Byte offset and line of the next byte.
    byte: u64,
    line: u64,
    record: Vec<u8>,
    record_byte: u64,
    record_line: u64,
    fields: usize,
    field_len: usize,
    open_quote: (u64, u64),
    width: Option<usize>,
    rows: u64,
    problems: u64,
    stray_reported: bool,
}

impl Scanner {
    fn feed(&mut self, data: &[u8], report: &mut dyn FnMut(Problem) -> Result<()>) -> Result<()> {
        for &b in data {
            match self.state {
                State::RecordStart => {
                    if b == b'\n' || b == b'\r' {
                        self.advance(b);
                        continue;
                    }
                    self.record.clear();
                    self.record_byte = self.byte;
                    self.record_line = self.line;
                    self.fields = 1;
                    self.field_len = 0;
                    self.stray_reported = false;
                    self.state = State::Unquoted;
                    self.unquoted(b, report)?;
                }
                State::Unquoted => self.unquoted(b, report)?,
                State::Quoted => {
                    if b == b'"' {
                        self.state = State::QuoteSeen;
                    }
                    self.record.push(b);
                }
                State::QuoteSeen => {
                    if b == b'"' {
                        self.state = State::Quoted;
                        self.record.push(b);
                    } else if b == self.delimiter {
                        self.state = State::Unquoted;
                        self.fields += 1;
                        self.field_len = 0;
                        self.record.push(b);
                    } else if b == b'\n' {
                        self.end_record(report)?;
                    } else if b == b'\r' {
                        self.record.push(b);
                    } else {
                        self.problem(
                            report,
                            "after-quote",
                            self.line,
                            self.byte,
                            "text after the closing quote of a field".into(),
                        )?;
                        self.state = State::Unquoted;
                        self.field_len += 1;
                        self.record.push(b);
                    }
                }
            }
            self.advance(b);
        }
        Ok(())
    }

    #[inline]
    fn advance(&mut self, b: u8) {
        self.byte += 1;
        if b == b'\n' {
            self.line += 1;
        }
    }

    #[inline]
    fn unquoted(&mut self, b: u8, report: &mut dyn FnMut(Problem) -> Result<()>) -> Result<()> {
        if b == self.delimiter {
            self.fields += 1;
            self.field_len = 0;
        } else if b == b'\n' {
            return self.end_record(report);
        } else if b == b'"' {
            if self.field_len > 0 && !self.stray_reported {
                self.stray_reported = true;
                self.problem(
                    report,
                    "stray-quote",
                    self.line,
                    self.byte,
                    "quote inside an unquoted field (it opens a quoted section)".into(),
                )?;
            }
            self.open_quote = (self.line, self.byte);
            self.state = State::Quoted;
        } else {
            self.field_len += 1;
        }
        self.record.push(b);
        Ok(())
    }

    fn end_record(&mut self, report: &mut dyn FnMut(Problem) -> Result<()>) -> Result<()> {
        self.state = State::RecordStart;
        if let Err(e) = std::str::from_utf8(&self.record) {
            let upto = e.valid_up_to();
            let line =
                self.record_line + memchr::memchr_iter(b'\n', &self.record[..upto]).count() as u64;
            self.problem(
                report,
                "utf8",
                line,
                self.record_byte + upto as u64,
                "invalid UTF-8".into(),
            )?;
        }
        match self.width {
            None => self.width = Some(self.fields),
            Some(width) => {
                self.rows += 1;
                if self.fields != width && !self.flexible {
                    let message = format!("row has {} fields, the header has {width}", self.fields);
                    self.problem(
                        report,
                        "ragged",
                        self.record_line,
                        self.record_byte,
                        message,
                    )?;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, report: &mut dyn FnMut(Problem) -> Result<()>) -> Result<()> {
        match self.state {
            State::RecordStart => Ok(()),
            State::Quoted => {
                let (line, byte) = self.open_quote;
                self.problem(
                    report,
                    "unterminated-quote",
                    line,
                    byte,
                    "quote never closed before the end of the input".into(),
                )?;
                self.end_record(report)
            }
            State::Unquoted | State::QuoteSeen => self.end_record(report),
        }
    }

    fn problem(
        &mut self,
        report: &mut dyn FnMut(Problem) -> Result<()>,
        kind: &'static str,
        line: u64,
        byte: u64,
        message: String,
    ) -> Result<()> {
        self.problems += 1;
        report(Problem {
            kind,
            line,
            byte,
            message,
        })
    }
}

pub(crate) fn run(args: Args) -> Result<()> {
    let c = &args.common;
    let mut input = Input::at(c.input.as_ref())
        .decompress(!c.options.read.no_decompress)
        .progress(!c.options.read.quiet)
        .buffer(1 << 20)
        .open()?;
    let name = input.name().to_string();
    let mut out = c.create_output()?;
    let mut scanner = Scanner {
        delimiter: c.delimiter(),
        flexible: c.options.flexible,
        state: State::RecordStart,
        byte: 0,
        line: 1,
        record: Vec::new(),
        record_byte: 0,
        record_line: 1,
        fields: 0,
        field_len: 0,
        open_quote: (1, 0),
        width: None,
        rows: 0,
        problems: 0,
        stray_reported: false,
    };
    let json = args.json;
    let mut buf: Vec<u8> = Vec::new();
    if json {
        buf.extend_from_slice(b"{\"problems\":[");
    }
    let mut first = true;
    let mut report = |p: Problem| -> Result<()> {
        if json {
            if !first {
                buf.push(b',');
            }
            buf.extend_from_slice(
                format!(
                    "\n{{\"kind\":\"{}\",\"line\":{},\"byte\":{},\"message\":",
                    p.kind, p.line, p.byte
                )
                .as_bytes(),
            );
            write_json_string(&mut buf, p.message.as_bytes());
            buf.push(b'}');
        } else {
            buf.extend_from_slice(
                format!("{name}: line {}, byte {}: {}\n", p.line, p.byte, p.message).as_bytes(),
            );
        }
        first = false;
        write_when_full(&mut out, &mut buf)?;
        Ok(())
    };
    // A BOM is not data.
    let head = input.fill_buf()?;
    if head.starts_with(b"\xef\xbb\xbf") {
        input.consume(3);
        scanner.byte = 3;
    }
    loop {
        let data = input.fill_buf()?;
        if data.is_empty() {
            break;
        }
        let n = data.len();
        scanner.feed(data, &mut report)?;
        input.consume(n);
    }
    scanner.finish(&mut report)?;
    // Under --no-headers the first row is data too.
    let rows = scanner.rows + u64::from(c.options.no_headers && scanner.width.is_some());
    let columns = scanner.width.unwrap_or(0);
    let valid = scanner.problems == 0;
    if json {
        if !first {
            buf.push(b'\n');
        }
        buf.extend_from_slice(
            format!("],\"valid\":{valid},\"rows\":{rows},\"columns\":{columns}}}\n").as_bytes(),
        );
    } else if valid {
        buf.extend_from_slice(format!("valid: {rows} rows, {columns} columns\n").as_bytes());
    }
    out.write_all(&buf)?;
    out.finish()?;
    if !valid {
        return Err(Exit::with(1, format!("{name}: {} problems", scanner.problems)).into());
    }
    Ok(())
}
