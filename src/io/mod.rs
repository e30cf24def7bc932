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
