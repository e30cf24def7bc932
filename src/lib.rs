//! fkit: a command-line Swiss-army knife for files.
//!
//! The binary is a thin shell over this library: [`cmd`] holds one module
//! per subcommand, [`io`] the I/O layer they all share, [`records`] the
//! record conversions `csv` and `json` both use, and `codec` the compressed
//! formats, apart from the commands that use them.

pub mod cmd;
pub(crate) mod codec;
pub mod io;
pub(crate) mod query;
pub mod records;

/// Entry points for the fuzz targets in `fuzz/`; not an API.
#[doc(hidden)]
pub mod fuzzing;
