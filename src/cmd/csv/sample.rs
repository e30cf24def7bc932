//! `fkit csv sample`: N rows drawn uniformly at random, in one pass.

use super::{Common, Table, chunks};
use anyhow::Result;
use std::collections::BinaryHeap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Print N data rows drawn at random, every row equally likely, in their
/// input order.
///
/// One pass, without knowing the number of rows: each row gets a random
/// priority and the N smallest are kept (a reservoir). The priority comes
/// from --seed and the row's byte offset, so a seed gives the same sample
/// of a file every time, read mapped on all cores or streamed from stdin.
/// Memory: N rows.
///
/// Examples:
///   fkit csv sample 1000 data.csv
///   fkit csv sample 100 --seed 42 data.csv.gz -o sample.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// How many rows.
    #[arg(value_name = "N")]
    size: usize,

    /// Draw the same sample every time (default: a new one each run).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,

    #[command(flatten)]
    common: Common,
}

/// A kept row: its priority, its offset (the output order) and its bytes.
/// The heap's top is the largest priority, the first to be pushed out.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Kept {
    priority: u64,
    offset: u64,
    row: Vec<u8>,
}

/// The row's priority: SplitMix64's output function on the seed and the
/// row's offset (independent, uniform 64-bit values).
#[inline]
fn priority(seed: u64, offset: u64) -> u64 {
    let mut z = seed ^ offset.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One chunk's reservoir: its N smallest priorities so far, and the bar a
/// row's priority must be under to enter it.
struct Draw {
    heap: BinaryHeap<Kept>,
    n: usize,
    bar: u64,
}

impl Draw {
    /// Keep the row at `offset` if its priority `p` is among the N
    /// smallest; its bytes are copied only then.
    #[inline]
    fn offer<'a>(&mut self, p: u64, offset: u64, row: impl FnOnce() -> &'a [u8]) {
        if p >= self.bar {
            return;
        }
        if self.heap.len() < self.n {
            self.heap.push(Kept {
                priority: p,
                offset,
                row: row().to_vec(),
            });
        } else if let Some(mut top) = self.heap.peek_mut() {
            // Replace the largest in place, reusing its buffer.
            top.priority = p;
            top.offset = offset;
            top.row.clear();
            top.row.extend_from_slice(row());
        }
        if self.heap.len() == self.n
            && let Some(top) = self.heap.peek()
        {
            self.bar = self.bar.min(top.priority);
        }
    }
}

pub(crate) fn run(args: Args) -> Result<()> {
    let seed = args.seed.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        priority(now, u64::from(std::process::id()))
    });
    let n = args.size;
    let mut table = Table::open(&args.common)?;
    table.keep_pages_mapped();
    let delimiter = table.delimiter();
    let mut kept: BinaryHeap<Kept> = BinaryHeap::new();
    // Once N rows are kept, a row needs a smaller priority than the
    // largest of them: the chunks still being parsed skip the others
    // without copying them (the sample is the same, whatever the timing).
    let bar = AtomicU64::new(u64::MAX);
    table.for_each_chunk(
        &mut std::io::sink(),
        |records, _| {
            let global = bar.load(Ordering::Relaxed);
            let mut draw = Draw {
                heap: BinaryHeap::new(),
                n,
                bar: global,
            };
            // A mapped chunk: records found without the parser, unless it
            // holds a blank line or an uneven row (the parser skips the
            // one and names the other in its error).
            if let Some((bytes, width)) = records.unread_chunk() {
                let base = records.offset();
                let whole = chunks::record_starts(bytes, delimiter, b'"', |range, fields| {
                    if width.is_some_and(|w| w != fields)
                        || chunks::leaves_quote_open(bytes, &range, b'"')
                    {
                        return false;
                    }
                    let offset = base + range.start as u64;
                    let row = &bytes[range];
                    draw.offer(priority(seed, offset), offset, || {
                        row.strip_suffix(b"\r").unwrap_or(row)
                    });
                    true
                });
                if whole {
                    return Ok(draw.heap);
                }
                draw.heap.clear();
                draw.bar = global;
            }
            loop {
                let offset = records.offset();
                let Some(record) = records.next()? else { break };
                draw.offer(priority(seed, offset), offset, || record.as_slice());
            }
            Ok(draw.heap)
        },
        |part| {
            for k in part {
                if kept.len() < n {
                    kept.push(k);
                } else if let Some(mut top) = kept.peek_mut()
                    && k.priority < top.priority
                {
                    *top = k;
                }
            }
            if kept.len() == n
                && let Some(top) = kept.peek()
            {
                bar.store(top.priority, Ordering::Relaxed);
            }
            Ok(())
        },
    )?;
    let mut rows = kept.into_vec();
    rows.sort_unstable_by_key(|k| k.offset);
    let mut buf = Vec::new();
    table.write_header(&mut buf);
    for k in rows {
        buf.extend_from_slice(&k.row);
        buf.push(b'\n');
    }
    let mut out = args.common.create_output()?;
    out.write_all(&buf)?;
    out.finish()
}
