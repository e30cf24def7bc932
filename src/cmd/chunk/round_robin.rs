//! `fkit chunk split -n r/N`: lines dealt round robin into N parts, as
//! split does. The parts are not ranges of the input, so no manifest
//! describes them and `join` cannot rebuild it.

use super::Names;
use super::copy::BLOCK;
use super::split::chunk_command;
use crate::io::child::Child;
use crate::io::output::{PendingFile, commit_all};
use crate::io::{Input, Output};
use anyhow::{Context, Result};
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

/// One round-robin split: its parts, where they go and how they are named.
pub(super) struct Deal<'a> {
    pub parts: u64,
    /// 1-based: only this part, to stdout (split -n r/K/N).
    pub only: Option<u64>,
    pub sep: u8,
    /// Make no empty parts (split -e): only the last ones can be, so the
    /// others keep their consecutive names.
    pub elide: bool,
    pub names: &'a Names,
    pub dir: &'a Path,
    /// Name the parts with their directory (in $FILE and `{}`).
    pub show_dir: bool,
    pub force: bool,
    pub sync: bool,
}

impl Deal<'_> {
    /// Into N files, which appear together once all are complete.
    pub fn to_files(&self, mut input: Input, name: &str) -> Result<()> {
        let mut files = Vec::new();
        let mut pending = Vec::new();
        for index in 0..self.parts {
            let target = self.dir.join(self.names.name(index)?);
            let (file, made) = PendingFile::create(target, self.force)?;
            files.push(Some(BufWriter::with_capacity(64 << 10, file)));
            pending.push(made);
        }
        let written = deal(
            &mut input,
            self.sep,
            self.parts,
            |part, bytes| match &mut files[part] {
                Some(file) => file.write_all(bytes).map_err(anyhow::Error::from),
                None => Ok(()),
            },
        )
        .with_context(|| name.to_string())?;
        for (part, file) in files.into_iter().enumerate() {
            let file = file.context("a part without its file")?;
            let file = file.into_inner().map_err(|e| e.into_error())?;
            if self.sync {
                file.sync_all()
                    .with_context(|| pending[part].target().display().to_string())?;
            }
        }
        // Unwritten parts (fewer lines than N) are the last ones.
        if self.elide {
            pending.truncate(written.min(self.parts) as usize);
        }
        commit_all(pending, self.force, self.sync)?.keep();
        Ok(())
    }

    /// Only part K, to stdout.
    pub fn to_stdout(&self, mut input: Input, name: &str) -> Result<()> {
        let only = self.only.context("no part chosen")? - 1;
        let mut out = Output::stdout().create()?;
        deal(&mut input, self.sep, self.parts, |part, bytes| {
            if part == only as usize {
                out.write_all(bytes)?;
            }
            Ok(())
        })
        .with_context(|| name.to_string())?;
        out.finish()
    }

    /// Each part piped to its own `sh -c CMD`, all N running at once (each
    /// is started with its first line; with -e a part without lines runs
    /// no command).
    pub fn exec(&self, mut input: Input, cmd: &str, name: &str) -> Result<()> {
        let mut commands: Vec<Option<Running>> = (0..self.parts).map(|_| None).collect();
        let mut failures = Vec::new();
        let fed = deal(&mut input, self.sep, self.parts, |part, bytes| {
            let running = match &mut commands[part] {
                Some(running) => running,
                slot => slot.insert(self.start(cmd, part as u64)?),
            };
            running.feed(bytes)
        });
        if !self.elide {
            for (part, slot) in commands.iter_mut().enumerate() {
                if slot.is_none() {
                    *slot = Some(self.start(cmd, part as u64)?);
                }
            }
        }
        for running in commands.into_iter().flatten() {
            if let Err(e) = running.wait() {
                failures.push(e);
            }
        }
        fed.with_context(|| name.to_string())?;
        super::commands_succeeded(&failures)
    }

    fn start(&self, cmd: &str, index: u64) -> Result<Running> {
        let name = self.names.name(index)?;
        let label = if self.show_dir {
            self.dir.join(&name).display().to_string()
        } else {
            name
        };
        let mut child =
            Child::spawn(&mut chunk_command(cmd, &label, index)).context("cannot run sh")?;
        let stdin = child
            .take_stdin()
            .map(|s| BufWriter::with_capacity(64 << 10, s));
        Ok(Running {
            label,
            child,
            stdin,
        })
    }
}

/// A command reading one part.
struct Running {
    label: String,
    child: Child,
    /// None once the command stopped reading (`head`): the rest of its
    /// part is dropped, and its exit status decides.
    stdin: Option<BufWriter<std::process::ChildStdin>>,
}

impl Running {
    fn feed(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(stdin) = &mut self.stdin {
            match stdin.write_all(bytes) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => self.stdin = None,
                other => other.with_context(|| format!("{}: feeding the command", self.label))?,
            }
        }
        Ok(())
    }

    /// Close its stdin and wait; an error names the part and its status.
    fn wait(mut self) -> std::result::Result<(), String> {
        if let Some(stdin) = self.stdin.take() {
            match stdin.into_inner().map_err(|e| e.into_error()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    self.child.kill();
                    return Err(format!("{}: feeding the command: {e}", self.label));
                }
                _ => {}
            }
        }
        match self.child.wait_status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => match status.code() {
                Some(code) => Err(format!("{}: exit status {code}", self.label)),
                None => Err(format!("{}: killed by a signal ({status})", self.label)),
            },
            Err(e) => Err(format!("{}: {e:#}", self.label)),
        }
    }
}

/// Hand each record of `input` (ended by `sep`, the last one maybe not) to
/// `write(part, bytes)`, parts taking turns; a record may come in several
/// pieces. The number of records.
fn deal(
    input: &mut dyn Read,
    sep: u8,
    parts: u64,
    mut write: impl FnMut(usize, &[u8]) -> Result<()>,
) -> Result<u64> {
    let parts = usize::try_from(parts).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; BLOCK];
    let mut part = 0usize;
    let mut records = 0u64;
    // A record begun but not yet ended by `sep`.
    let mut open = false;
    loop {
        let n = match crate::io::read_some(input, &mut buf)? {
            0 => break,
            n => n,
        };
        let data = &buf[..n];
        let mut start = 0;
        for end in memchr::memchr_iter(sep, data) {
            write(part, &data[start..=end])?;
            start = end + 1;
            part = (part + 1) % parts;
            records += 1;
            open = false;
        }
        if start < n {
            write(part, &data[start..])?;
            open = true;
        }
    }
    Ok(records + u64::from(open))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_take_turns() {
        let mut got = vec![Vec::new(); 3];
        let n = deal(&mut &b"a\nbb\n\nc\nd"[..], b'\n', 3, |p, b| {
            got[p].extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 5);
        assert_eq!(got, [b"a\nc\n".to_vec(), b"bb\nd".to_vec(), b"\n".to_vec()]);
    }

    #[test]
    fn a_record_across_reads_stays_whole() {
        // A reader that hands out one byte at a time.
        struct Drip<'a>(&'a [u8]);
        impl Read for Drip<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = *first;
                self.0 = rest;
                Ok(1)
            }
        }
        let mut got = vec![Vec::new(); 2];
        deal(&mut Drip(b"abc\0de\0f\0"), 0, 2, |p, b| {
            got[p].extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, [b"abc\0f\0".to_vec(), b"de\0".to_vec()]);
    }
}
