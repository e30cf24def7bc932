//! An ordered parallel pipeline (the pigz technique): one thread reads jobs,
//! worker threads transform them, and the caller's thread consumes the
//! results in input order. At most a few jobs per worker are in flight, so
//! memory stays bounded whatever the input size. Every parallel encoder and
//! decoder in [`crate::codec`] runs on it. Scoped threads and crossbeam
//! channels rather than rayon, whose `par_bridge` neither keeps the order
//! nor bounds how far the reader runs ahead.

use anyhow::Result;
use crossbeam_channel::{Receiver, bounded};
use std::io::Read;

/// Run `work` on every job from `jobs` on `threads` workers (each with its
/// own state from `init`), handing the results to `sink` in job order.
/// The first error from any side stops the pipeline and is returned.
pub(crate) fn ordered<J, R, S>(
    threads: usize,
    jobs: impl Iterator<Item = Result<J>> + Send,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, J) -> Result<R> + Sync,
    sink: impl FnMut(R) -> Result<()>,
) -> Result<()>
where
    J: Send,
    R: Send,
{
    ordered_within(threads, threads * 2 + 3, jobs, init, work, sink)
}

/// [`ordered`], with at most `in_flight` jobs between the reader and the
/// sink (being worked on, or done and waiting their turn): at most that
/// many results exist at once, which bounds the memory when results are
/// large (xz blocks of 16 MiB). `in_flight` = `threads` keeps every worker
/// busy while the sink keeps up.
pub(crate) fn ordered_within<J, R, S>(
    threads: usize,
    in_flight: usize,
    jobs: impl Iterator<Item = Result<J>> + Send,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, J) -> Result<R> + Sync,
    mut sink: impl FnMut(R) -> Result<()>,
) -> Result<()>
where
    J: Send,
    R: Send,
{
    if threads <= 1 {
        let mut state = init();
        for job in jobs {
            sink(work(&mut state, job?)?)?;
        }
        return Ok(());
    }
    // The sink holds one reply while it waits; the channel the rest.
    let queued = in_flight.max(1) - 1;
    let (job_tx, job_rx) = bounded::<(J, crossbeam_channel::Sender<Result<R>>)>(queued.max(1));
    let (order_tx, order_rx) = bounded::<Receiver<Result<R>>>(queued);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            let (init, work) = (&init, &work);
            scope.spawn(move || {
                let mut state = init();
                for (job, reply) in job_rx {
                    let _ = reply.send(work(&mut state, job));
                }
            });
        }
        drop(job_rx);
        scope.spawn(move || {
            for job in jobs {
                let (reply_tx, reply_rx) = bounded(1);
                if order_tx.send(reply_rx).is_err() {
                    return;
                }
                match job {
                    Ok(job) => {
                        if job_tx.send((job, reply_tx)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = reply_tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        let mut result = Ok(());
        for reply in order_rx.iter() {
            let step = reply
                .recv()
                .map_err(|_| anyhow::anyhow!("a worker thread stopped"))
                .and_then(|r| r)
                .and_then(&mut sink);
            if let Err(e) = step {
                result = Err(e);
                break;
            }
        }
        // Dropping the receiver ends the reader, which ends the workers. A
        // reader waiting for stdin is told to stop, rather than waited for.
        drop(order_rx);
        if result.is_err() {
            crate::io::read_ahead::cancel_reads();
        }
        result
    })
}

/// Blocks of `size` bytes read from `input`; always at least one (an empty
/// input still makes one empty gzip member or bzip2 stream).
pub(crate) fn input_blocks<'a>(
    input: &'a mut (dyn Read + Send),
    size: usize,
    read_total: &'a mut u64,
) -> impl Iterator<Item = Result<(usize, Vec<u8>)>> + Send + 'a {
    let mut index = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut block = Vec::with_capacity(size);
        match input.take(size as u64).read_to_end(&mut block) {
            Ok(n) => {
                *read_total += n as u64;
                if n < size {
                    done = true;
                }
                if n == 0 && index > 0 {
                    return None;
                }
                index += 1;
                Some(Ok((index - 1, block)))
            }
            Err(e) => {
                done = true;
                Some(Err(anyhow::Error::new(e).context("read error")))
            }
        }
    })
}

/// Blocks of `input` cut where its content says (gzip's and pigz's
/// `--rsyncable`), so that an edit changes only the blocks around it and
/// rsync finds the rest of the compressed file unchanged. A hash of the last
/// log2(`average`) bytes ends a block when it hits one value (about every
/// `average` bytes); a block is never longer than `max`.
pub(crate) fn content_blocks<'a>(
    input: &'a mut (dyn Read + Send),
    average: usize,
    max: usize,
    read_total: &'a mut u64,
) -> impl Iterator<Item = Result<(usize, Vec<u8>)>> + Send + 'a {
    let bits = average.max(4096).ilog2();
    let mask = (1u32 << bits) - 1;
    let hit = mask >> 1;
    let (mut hash, mut scanned, mut index) = (0u32, 0usize, 0usize);
    let (mut pending, mut eof, mut done) = (Vec::new(), false, false);
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        loop {
            while scanned < pending.len() {
                hash = ((hash << 1) ^ pending[scanned] as u32) & mask;
                scanned += 1;
                if hash == hit || scanned == max {
                    let rest = pending.split_off(scanned);
                    scanned = 0;
                    index += 1;
                    return Some(Ok((index - 1, std::mem::replace(&mut pending, rest))));
                }
            }
            if eof {
                done = true;
                if pending.is_empty() && index > 0 {
                    return None;
                }
                index += 1;
                return Some(Ok((index - 1, std::mem::take(&mut pending))));
            }
            let want = (max - pending.len()).min(1 << 20) as u64;
            match input.take(want).read_to_end(&mut pending) {
                Ok(0) => eof = true,
                Ok(n) => *read_total += n as u64,
                Err(e) => {
                    done = true;
                    return Some(Err(anyhow::Error::new(e).context("read error")));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_and_stops_on_error() {
        let mut seen = Vec::new();
        super::ordered(
            3,
            (0..100u64).map(Ok),
            || (),
            |_, n| Ok(n * 2),
            |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..100).map(|n| n * 2).collect::<Vec<_>>());
        let err = super::ordered(
            2,
            (0..100u64).map(Ok),
            || (),
            |_, n| {
                if n == 50 {
                    anyhow::bail!("boom")
                } else {
                    Ok(n)
                }
            },
            |_| Ok(()),
        );
        assert!(err.is_err());
    }

    #[test]
    fn at_most_in_flight_results_exist_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (live, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let mut seen = 0u64;
        super::ordered_within(
            3,
            3,
            (0..200u64).map(Ok),
            || (),
            |_, n| {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later jobs finish first, so that results wait their turn.
                std::thread::sleep(std::time::Duration::from_micros(200 * (3 - n % 3)));
                Ok(n)
            },
            |n| {
                assert_eq!(n, seen);
                seen += 1;
                live.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, 200);
        let most = most.into_inner();
        assert!((2..=3).contains(&most), "{most} results at once");
    }

    #[test]
    fn content_blocks_resynchronise_after_an_edit() {
        let text: Vec<u8> = (0..400_000u32)
            .flat_map(|i| format!("{} ", i.wrapping_mul(2_654_435_761) % 1000).into_bytes())
            .collect();
        let cut = |data: &[u8]| {
            let mut total = 0;
            let mut input = data;
            super::content_blocks(&mut input, 16 * 1024, 64 * 1024, &mut total)
                .map(|b| b.unwrap().1)
                .collect::<Vec<_>>()
        };
        let before = cut(&text);
        assert!(before.concat() == text);
        assert!(before.len() > 20 && before.iter().all(|b| b.len() <= 64 * 1024));
        // Insert bytes near the start: every block after the next cut is
        // the same as before.
        let mut edited = text.clone();
        edited.splice(1000..1000, *b"inserted");
        let after = cut(&edited);
        assert!(after.concat() == edited);
        let same = before
            .iter()
            .rev()
            .zip(after.iter().rev())
            .take_while(|(a, b)| a == b);
        assert!(same.count() >= before.len() - 2);
    }
}
