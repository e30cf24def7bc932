//! The I/O layer every command shares: inputs (path or stdin, buffered,
//! optionally decompressed), atomic outputs, sizes, progress, memory maps,
//! signals and exit codes. Commands never open files or stdio themselves.

pub mod args;
pub mod at;
pub mod child;
pub(crate) mod counted;
pub mod detect;
pub mod dir;
pub mod error;
pub mod input;
pub mod map;
pub mod output;
pub mod progress;
pub mod read_ahead;
pub mod signal;
pub mod size;
pub mod time;

pub use error::Exit;
pub use input::{FileOrStream, Input, MapOrStream, RegularInput};
pub use map::MappedFile;
pub use output::Output;
pub use progress::Progress;
pub use read_ahead::ReadAhead;
pub use size::Size;

/// One `read`, retried when a signal interrupts it.
pub(crate) fn read_some(
    input: &mut (impl std::io::Read + ?Sized),
    buf: &mut [u8],
) -> std::io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Write `n` zero bytes to `out`.
pub(crate) fn write_zeros(
    out: &mut (impl std::io::Write + ?Sized),
    mut n: u64,
) -> std::io::Result<()> {
    let zeros = [0u8; 1 << 16];
    while n > 0 {
        let k = n.min(zeros.len() as u64) as usize;
        out.write_all(&zeros[..k])?;
        n -= k as u64;
    }
    Ok(())
}
