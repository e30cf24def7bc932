//! Reading on a thread of its own, a few blocks ahead of the consumer.
//!
//! Two commands need this, for two reasons:
//! * overlap: `json` parses while the reading thread waits in `read(2)` or
//!   decodes gzip, instead of the two taking turns;
//! * cancellation: a parallel pipeline (`gzip` from a pipe) that stops on an
//!   error must join the thread that feeds it. Were that thread blocked in
//!   `read(2)` on a pipe whose writer stalls (`(cat x.gz; sleep 60) | fkit
//!   gzip -d`), fkit would wait for the writer. Through a [`ReadAhead`] the
//!   feeding thread waits on a channel instead, which [`cancel_reads`]
//!   interrupts; the reading thread is never joined and simply ends with
//!   the process (or at its next block once the reader is dropped).

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Bytes per block handed from the reading thread to the consumer.
const BLOCK: usize = 256 << 10;

/// Reads from every [`ReadAhead`] fail from now on (see the module note).
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Make every read-ahead reader fail at its next wait: a pipeline stopped
/// on an error and must not wait for more input.
pub fn cancel_reads() {
    CANCELLED.store(true, Ordering::SeqCst);
}

/// A reader fed by a thread that reads `source` up to `depth` blocks ahead
/// (memory read ahead: `depth` × 256 KiB). Dropping it stops the thread at
/// its next block.
pub struct ReadAhead {
    /// Blocks read, each with how much of it is filled.
    full: Receiver<io::Result<(Vec<u8>, usize)>>,
    /// Blocks given back to the thread, to be filled again.
    free: Sender<Vec<u8>>,
    block: Vec<u8>,
    len: usize,
    at: usize,
    ended: bool,
}

impl ReadAhead {
    /// Start reading `source` on a new thread, `depth` blocks ahead.
    pub fn new(mut source: impl Read + Send + 'static, depth: usize) -> ReadAhead {
        let depth = depth.max(1);
        CANCELLED.store(false, Ordering::SeqCst);
        let (full_tx, full) = bounded(depth);
        let (free, free_rx) = bounded::<Vec<u8>>(depth + 2);
        std::thread::spawn(move || {
            loop {
                let mut block = free_rx
                    .try_recv()
                    .ok()
                    .filter(|b| b.len() == BLOCK)
                    .unwrap_or_else(|| vec![0u8; BLOCK]);
                match source.read(&mut block) {
                    // The end: dropping the sender says so.
                    Ok(0) => return,
                    Ok(n) => {
                        if full_tx.send(Ok((block, n))).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        ReadAhead {
            full,
            free,
            block: Vec::new(),
            len: 0,
            at: 0,
            ended: false,
        }
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.len && !self.ended {
            match self.full.recv_timeout(Duration::from_millis(20)) {
                Ok(Ok((next, len))) => {
                    let _ = self.free.try_send(std::mem::replace(&mut self.block, next));
                    (self.at, self.len) = (0, len);
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Disconnected) => self.ended = true,
                Err(RecvTimeoutError::Timeout) => {
                    if CANCELLED.load(Ordering::SeqCst) {
                        return Err(io::Error::other("reading the input was cancelled"));
                    }
                }
            }
        }
        Ok(&self.block[self.at..self.len])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.len);
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_every_byte_in_order() {
        let data: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        ReadAhead::new(io::Cursor::new(data.clone()), 4)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn an_error_reaches_the_reader() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let err = ReadAhead::new(Failing, 2)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
    }
}
