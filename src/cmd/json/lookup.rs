//! get, keys, type and length: walk to the paths asked for, skipping
//! everything else without building it, and stop reading once answered.

use super::parser::{Collect, Error, Flow, Parser, Skip, decode_string};
use super::path::{self, JsonPath, Step, walk};
use super::write::{Layout, Writer};
use super::{Io, documents, finish};
use crate::io::Exit;
use crate::io::ReadAhead;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug)]
pub(super) enum Report {
    Keys,
    Type,
    Length,
}

/// Split `PATH... [FILE]`: the last argument is the file when there are more
/// than `min_paths` arguments and it is `-`, an existing file, or does not
/// look like a path; or when there are more than `max_paths` arguments.
fn split(
    args: &[String],
    min_paths: usize,
    max_paths: usize,
) -> Result<(Vec<JsonPath>, Option<PathBuf>)> {
    let mut args = args.to_vec();
    let last_is_file = match args.last() {
        Some(last) if args.len() > min_paths => {
            args.len() > max_paths
                || last == "-"
                || !path::looks_like_path(last)
                || Path::new(last).is_file()
        }
        _ => false,
    };
    let file = if last_is_file {
        args.pop().map(PathBuf::from)
    } else {
        None
    };
    if args.len() < min_paths {
        return Err(
            Exit::usage("a PATH is required (like /users/0/name or .users[0].name)").into(),
        );
    }
    let paths = args
        .iter()
        .map(|a| path::parse(a).map_err(|m| Exit::usage(m).into()))
        .collect::<Result<Vec<_>>>()?;
    Ok((paths, file))
}

/// After a walk that did not find everything: read to the end of the
/// document, then say which paths are missing.
fn missing(p: &mut Parser<'_>, lines: bool, paths: &[&str]) -> Error {
    let line = lines.then(|| p.line());
    let rest = if lines {
        p.finish_line()
    } else {
        p.end_of_input()
    };
    if let Err(e) = rest {
        return e;
    }
    let what = paths
        .iter()
        .map(|p| if p.is_empty() { "\"\"" } else { p })
        .collect::<Vec<_>>()
        .join(", ");
    Error::missing(line, format!("{what}: not found"))
}

pub(super) fn get(args: &[String], raw: bool, compact: bool, io: &Io) -> Result<()> {
    let (paths, file) = split(args, 1, usize::MAX)?;
    let input = io.read.open(file.as_deref())?;
    let name = input.name().to_string();
    let mut output = io.out.create()?;
    let out_name = output.name().to_string();
    let layout = match compact {
        true => Layout::Minified,
        false => Layout::Pretty(b"  ".to_vec()),
    };
    let mut w = Writer::new(&mut output, &layout);
    let mut p = Parser::new(ReadAhead::new(input, 4)).lines(io.lines);
    let steps: Vec<(usize, &[Step])> = paths
        .iter()
        .enumerate()
        .map(|(i, path)| (i, &path.steps[..]))
        .collect();
    // One path streams its value straight out; with several, each value is
    // held until the walk ends, to print them in the order asked.
    let single = paths.len() == 1;
    let one = |p: &mut Parser<'_>, w: &mut Writer<'_>| -> Result<Flow, Error> {
        let mut answers: Vec<Option<Vec<u8>>> = vec![None; paths.len()];
        let mut remaining = paths.len();
        let flow = walk(p, &steps, &mut remaining, &mut |id, p| {
            if single {
                answers[id] = Some(Vec::new());
                print_value(p, w, raw)
            } else {
                answers[id] = Some(p.capture()?);
                Ok(())
            }
        })?;
        if !single {
            for bytes in answers.iter().flatten() {
                print_value(&mut Parser::from_bytes(bytes.clone()), w, raw)?;
            }
        }
        if remaining > 0 {
            let lost: Vec<&str> = paths
                .iter()
                .zip(&answers)
                .filter(|(_, a)| a.is_none())
                .map(|(path, _)| path.text.as_str())
                .collect();
            return Err(missing(p, io.lines, &lost));
        }
        Ok(flow)
    };
    let result = documents(&mut p, &name, &mut w, io.lines, one);
    w.finish().with_context(|| out_name)?;
    finish(result, output)
}

/// Print the value at `p`: JSON, or the decoded text of a string with `raw`.
fn print_value(p: &mut Parser<'_>, w: &mut Writer<'_>, raw: bool) -> Result<(), Error> {
    if raw && p.peek_token()? == Some(b'"') {
        let mut bytes = Vec::new();
        p.value(&mut Collect(&mut bytes))?;
        w.write(decode_string(&bytes).as_bytes());
    } else {
        p.value(w)?;
    }
    w.write(b"\n");
    Ok(())
}

pub(super) fn report(kind: Report, args: &[String], json: bool, io: &Io) -> Result<()> {
    let (paths, file) = split(args, 0, 1)?;
    let target = match paths.into_iter().next() {
        Some(path) => path,
        None => path::parse("").map_err(|m| anyhow::anyhow!(m))?,
    };
    let input = io.read.open(file.as_deref())?;
    let name = input.name().to_string();
    let mut output = io.out.create()?;
    let out_name = output.name().to_string();
    let mut w = Writer::new(&mut output, &Layout::Minified);
    let mut p = Parser::new(ReadAhead::new(input, 4)).lines(io.lines);
    let steps = [(0, &target.steps[..])];
    let one = |p: &mut Parser<'_>, w: &mut Writer<'_>| -> Result<Flow, Error> {
        let line = io.lines.then(|| p.line());
        let mut remaining = 1;
        let flow = walk(p, &steps, &mut remaining, &mut |_, p| {
            answer(kind, p, w, json).map_err(|e| match e {
                Error::Other(note) if target.text.is_empty() => Error::other(line, note.message),
                Error::Other(note) => {
                    Error::other(line, format!("{}: {}", target.text, note.message))
                }
                e => e,
            })
        })?;
        if remaining > 0 {
            return Err(missing(p, io.lines, &[target.text.as_str()]));
        }
        Ok(flow)
    };
    let result = documents(&mut p, &name, &mut w, io.lines, one);
    w.finish().with_context(|| out_name)?;
    finish(result, output)
}

/// Answer keys, type or length for the value at `p`.
fn answer(kind: Report, p: &mut Parser<'_>, w: &mut Writer<'_>, json: bool) -> Result<(), Error> {
    let first = p.peek_token()?;
    let type_name = match first {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b'-' | b'0'..=b'9') => "number",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        other => return Err(p.unexpected(other, "a value")),
    };
    let a = if type_name == "array" || type_name == "object" {
        "an"
    } else {
        "a"
    };
    match kind {
        Report::Type => {
            // Only the first byte is read: type does not check the rest.
            if json {
                w.write(format!("\"{type_name}\"\n").as_bytes());
            } else {
                w.write(format!("{type_name}\n").as_bytes());
            }
        }
        Report::Length => {
            let mut n = 0u64;
            match first {
                Some(b'[') => {
                    p.elements(&mut |p, _| {
                        n += 1;
                        p.value(&mut Skip).map(|()| Flow::Continue)
                    })?;
                }
                Some(b'{') => {
                    p.members(&mut |p, _| {
                        n += 1;
                        p.value(&mut Skip).map(|()| Flow::Continue)
                    })?;
                }
                Some(b'"') => {
                    let mut bytes = Vec::new();
                    p.value(&mut Collect(&mut bytes))?;
                    n = decode_string(&bytes).chars().count() as u64;
                }
                Some(b'n') => p.value(&mut Skip)?,
                _ => return Err(Error::other(None, format!("{a} {type_name} has no length"))),
            }
            w.write(format!("{n}\n").as_bytes());
        }
        Report::Keys => {
            let mut count = 0u64;
            let mut put = |w: &mut Writer<'_>, key: &str| {
                match (json, count) {
                    (true, 0) => w.write(b"["),
                    (true, _) => w.write(b","),
                    _ => {}
                }
                if json {
                    w.write(serde_json::to_string(key).unwrap_or_default().as_bytes());
                } else {
                    w.write(key.as_bytes());
                    w.write(b"\n");
                }
                count += 1;
            };
            match first {
                Some(b'{') => {
                    p.members(&mut |p, key| {
                        put(w, key);
                        p.value(&mut Skip).map(|()| Flow::Continue)
                    })?;
                }
                Some(b'[') => {
                    p.elements(&mut |p, index| {
                        put(w, &index.to_string());
                        p.value(&mut Skip).map(|()| Flow::Continue)
                    })?;
                }
                _ => return Err(Error::other(None, format!("{a} {type_name} has no keys"))),
            }
            if json {
                w.write(if count == 0 { b"[]\n" } else { b"]\n" });
            }
        }
    }
    Ok(())
}
