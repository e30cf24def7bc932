//! Sorting rows by a byte-string key in bounded memory: rows gather up to
//! a budget, each full batch is sorted (stably) and spilled to an
//! anonymous temporary file as a run, and the runs are merged. `sort` uses
//! it for input larger than `-S`; `join` for two files that do not fit.

use crate::io::output::spill_file;
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::PathBuf;

/// Rows being sorted by key: the current batch in RAM, and the runs
/// already spilled.
pub(crate) struct RunSorter {
    budget: usize,
    reverse: bool,
    dir: PathBuf,
    rows: Vec<u8>,
    keys: Vec<u8>,
    entries: Vec<Entry>,
    /// The spilled runs, in the order their rows were pushed, each with
    /// its level: how many merges it has been through.
    runs: Vec<(File, u32)>,
}

/// Runs merged at once. Each run is an open (anonymous) file, so an
/// unbounded number of them would run out of file descriptors: whenever
/// this many runs of one level pile up, they are merged into one run of
/// the next level, as an LSM tree does (each row is rewritten once per
/// level, log base 64 of the number of runs).
const FAN_IN: usize = 64;

/// One row of a batch: where its key and its bytes are.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    key_start: usize,
    key_len: u32,
    row_start: usize,
    row_len: u32,
}

impl RunSorter {
    /// Sort with at most about `budget` bytes of rows and keys in RAM,
    /// largest key first with `reverse`, spilling runs into `dir` (default:
    /// the system's temporary directory).
    pub(crate) fn new(budget: usize, reverse: bool, dir: Option<PathBuf>) -> RunSorter {
        RunSorter {
            budget: budget.max(1),
            reverse,
            dir: dir.unwrap_or_else(std::env::temp_dir),
            rows: Vec::new(),
            keys: Vec::new(),
            entries: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Add a row; `key` appends the row's key to the buffer it is given.
    #[inline]
    pub(crate) fn push(&mut self, key: impl FnOnce(&mut Vec<u8>), row: &[u8]) -> Result<()> {
        let key_start = self.keys.len();
        key(&mut self.keys);
        self.entries.push(Entry {
            key_start,
            key_len: (self.keys.len() - key_start) as u32,
            row_start: self.rows.len(),
            row_len: row.len() as u32,
        });
        self.rows.extend_from_slice(row);
        if self.rows.len() + self.keys.len() + self.entries.len() * 24 >= self.budget {
            self.sort_batch();
            let run = self.spill()?;
            self.runs.push((run, 0));
            self.rows.clear();
            self.keys.clear();
            self.entries.clear();
            self.merge_full_levels()?;
        }
        Ok(())
    }

    /// While the last FAN_IN runs share a level, merge them into one run
    /// of the next level. They are consecutive, so ties keep their order.
    fn merge_full_levels(&mut self) -> Result<()> {
        while let Some(&(_, level)) = self.runs.last() {
            let same = self.runs.iter().rev().take_while(|r| r.1 == level).count();
            if same < FAN_IN {
                break;
            }
            let tail = self.runs.split_off(self.runs.len() - FAN_IN);
            let file = self
                .merge_runs(tail)
                .with_context(|| format!("{}: merging sorted runs", self.dir.display()))?;
            self.runs.push((file, level + 1));
        }
        Ok(())
    }

    /// FAN_IN runs merged into one new run file, rewound for reading.
    fn merge_runs(&self, tail: Vec<(File, u32)>) -> Result<File> {
        let mut merged = merge(tail.into_iter().map(|r| r.0), self.reverse)?;
        let file = spill_file(Some(&self.dir))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        while let Some((key, row)) = merged.next()? {
            write_entry(&mut w, key, row)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(file)
    }

    /// All rows pushed, in key order (equal keys in the order pushed).
    pub(crate) fn finish(mut self) -> Result<Sorted> {
        self.sort_batch();
        if self.runs.is_empty() {
            return Ok(Sorted::Memory {
                rows: self.rows,
                keys: self.keys,
                entries: self.entries.into_iter(),
            });
        }
        if !self.entries.is_empty() {
            let run = self.spill()?;
            self.runs.push((run, 0));
        }
        merge(self.runs.into_iter().map(|r| r.0), self.reverse)
    }

    fn sort_batch(&mut self) {
        let keys = &self.keys;
        let key = |e: &Entry| &keys[e.key_start..][..e.key_len as usize];
        let reverse = self.reverse;
        self.entries.par_sort_by(|a, b| {
            let order = key(a).cmp(key(b));
            if reverse { order.reverse() } else { order }
        });
    }

    /// Write the sorted batch to a new run file, rewound for reading. An
    /// error names the spill directory, which is not the output the user
    /// gave (a full /tmp is the usual cause).
    fn spill(&self) -> Result<File> {
        self.write_run()
            .with_context(|| format!("{}: spilling a sorted run", self.dir.display()))
    }

    fn write_run(&self) -> Result<File> {
        let file = spill_file(Some(&self.dir))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        for e in &self.entries {
            let key = &self.keys[e.key_start..][..e.key_len as usize];
            let row = &self.rows[e.row_start..][..e.row_len as usize];
            write_entry(&mut w, key, row)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(file)
    }
}

/// Runs (rewound, in push order) merged into one sorted stream.
fn merge(runs: impl Iterator<Item = File>, reverse: bool) -> Result<Sorted> {
    let mut readers: Vec<BufReader<File>> =
        runs.map(|f| BufReader::with_capacity(1 << 16, f)).collect();
    let mut heap = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(h) = read_head(r, i, reverse)? {
            heap.push(h);
        }
    }
    Ok(Sorted::Merge {
        readers,
        heap,
        current: None,
    })
}

/// One row of a run file: the key's length and bytes, the row's.
fn write_entry(w: &mut impl Write, key: &[u8], row: &[u8]) -> std::io::Result<()> {
    w.write_all(&(key.len() as u32).to_le_bytes())?;
    w.write_all(key)?;
    w.write_all(&(row.len() as u32).to_le_bytes())?;
    w.write_all(row)
}

/// Sorted rows, read one at a time: from RAM when they all fit, else by
/// merging the runs.
pub(crate) enum Sorted {
    Memory {
        rows: Vec<u8>,
        keys: Vec<u8>,
        entries: std::vec::IntoIter<Entry>,
    },
    Merge {
        readers: Vec<BufReader<File>>,
        heap: BinaryHeap<Head>,
        current: Option<Head>,
    },
}

impl Sorted {
    /// The next row and its key, or `None` after the last.
    pub(crate) fn next(&mut self) -> Result<Option<(&[u8], &[u8])>> {
        match self {
            Sorted::Memory {
                rows,
                keys,
                entries,
            } => Ok(entries.next().map(|e| {
                (
                    &keys[e.key_start..][..e.key_len as usize],
                    &rows[e.row_start..][..e.row_len as usize],
                )
            })),
            Sorted::Merge {
                readers,
                heap,
                current,
            } => {
                *current = heap.pop();
                if let Some(head) = current.as_ref()
                    && let Some(next) = read_head(&mut readers[head.run], head.run, head.reverse)?
                {
                    heap.push(next);
                }
                Ok(current.as_ref().map(|h| (&h.key[..], &h.row[..])))
            }
        }
    }
}

/// A run's next row, ordered for the merge heap: smallest key first, ties
/// to the earlier run (which keeps the sort stable).
pub(crate) struct Head {
    key: Vec<u8>,
    row: Vec<u8>,
    run: usize,
    reverse: bool,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: invert so the smallest comes first.
        let by_key = if self.reverse {
            self.key.cmp(&other.key)
        } else {
            other.key.cmp(&self.key)
        };
        by_key.then_with(|| other.run.cmp(&self.run))
    }
}

fn read_head(r: &mut impl Read, run: usize, reverse: bool) -> Result<Option<Head>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e).context("reading a temporary run"),
    }
    let mut key = vec![0; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut key).context("reading a temporary run")?;
    r.read_exact(&mut len).context("reading a temporary run")?;
    let mut row = vec![0; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut row).context("reading a temporary run")?;
    Ok(Some(Head {
        key,
        row,
        run,
        reverse,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(budget: usize, reverse: bool, items: &[(&str, &str)]) -> Vec<String> {
        let mut s = RunSorter::new(budget, reverse, None);
        for (k, r) in items {
            s.push(|b| b.extend_from_slice(k.as_bytes()), r.as_bytes())
                .unwrap();
        }
        let mut sorted = s.finish().unwrap();
        let mut out = Vec::new();
        while let Some((_, row)) = sorted.next().unwrap() {
            out.push(String::from_utf8(row.to_vec()).unwrap());
        }
        out
    }

    #[test]
    fn runs_merge_to_the_same_stable_order_as_one_batch() {
        let items: Vec<(String, String)> = (0..500)
            .map(|i| (format!("{}", (i * 7919) % 37), format!("row{i}")))
            .collect();
        let items: Vec<(&str, &str)> = items.iter().map(|(k, r)| (&k[..], &r[..])).collect();
        for reverse in [false, true] {
            let in_ram = sorted(1 << 30, reverse, &items);
            // About 40 bytes a row: runs of a few rows each.
            assert_eq!(sorted(200, reverse, &items), in_ram);
            assert_eq!(in_ram.len(), 500);
        }
        assert_eq!(
            sorted(1, false, &[("b", "1"), ("a", "2"), ("b", "3"), ("a", "4")]),
            ["2", "4", "1", "3"]
        );
    }

    #[test]
    fn many_runs_merge_in_levels_and_stay_stable() {
        // A run per row: 64² + 5 runs go through two levels of merges, so
        // no more than about 2 × 64 run files are ever open at once.
        let items: Vec<(String, String)> = (0..FAN_IN * FAN_IN + 5)
            .map(|i| (format!("{}", (i * 7919) % 101), format!("row{i}")))
            .collect();
        let items: Vec<(&str, &str)> = items.iter().map(|(k, r)| (&k[..], &r[..])).collect();
        let mut s = RunSorter::new(1, false, None);
        let mut most_open = 0;
        for (k, r) in &items {
            s.push(|b| b.extend_from_slice(k.as_bytes()), r.as_bytes())
                .unwrap();
            most_open = most_open.max(s.runs.len());
        }
        assert!(most_open < 2 * FAN_IN, "{most_open} runs open");
        let mut merged = s.finish().unwrap();
        let mut out = Vec::new();
        while let Some((_, row)) = merged.next().unwrap() {
            out.push(String::from_utf8(row.to_vec()).unwrap());
        }
        assert_eq!(out, sorted(1 << 30, false, &items));
    }
}
