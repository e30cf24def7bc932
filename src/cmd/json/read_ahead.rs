//! Reading on a second thread, so that the read system calls (and gzip or
//! bzip2 decoding) overlap with parsing instead of taking turns with it.

use crossbeam_channel::{Receiver, Sender, bounded};
use std::io::{self, Read};
use std::thread;

/// Bytes per block handed from the reading thread to the parser.
const BLOCK: usize = 256 * 1024;
/// Blocks in flight: bounds the memory read ahead to 4 blocks.
const DEPTH: usize = 4;

/// A reader fed by a thread that reads `source` ahead. Dropping it stops
/// the thread at its next block (a query that stopped early reads no more).
pub(crate) struct ReadAhead {
    blocks: Receiver<io::Result<Vec<u8>>>,
    spare: Sender<Vec<u8>>,
    block: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    pub fn new(mut source: impl Read + Send + 'static) -> ReadAhead {
        let (full_tx, full_rx) = bounded::<io::Result<Vec<u8>>>(DEPTH);
        let (spare_tx, spare_rx) = bounded::<Vec<u8>>(DEPTH + 2);
        thread::spawn(move || {
            loop {
                let mut block = spare_rx.try_recv().unwrap_or_default();
                block.resize(BLOCK, 0);
                let n = loop {
                    match source.read(&mut block) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                let last = !matches!(n, Ok(n) if n > 0);
                let message = n.map(|n| {
                    block.truncate(n);
                    block
                });
                if full_tx.send(message).is_err() || last {
                    return;
                }
            }
        });
        ReadAhead {
            blocks: full_rx,
            spare: spare_tx,
            block: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.block.len() {
            if self.done {
                return Ok(0);
            }
            match self.blocks.recv() {
                Ok(Ok(block)) if block.is_empty() => self.done = true,
                Ok(Ok(block)) => {
                    let old = std::mem::replace(&mut self.block, block);
                    let _ = self.spare.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => self.done = true,
            }
        }
        let n = buf.len().min(self.block.len() - self.pos);
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
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
        ReadAhead::new(io::Cursor::new(data.clone()))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }
}
