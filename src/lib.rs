//! fkit: a command-line Swiss-army knife for files.
//!
//! The binary is a thin shell over this library: [`cmd`] holds one module
//! per subcommand, [`io`] the I/O layer they all share, [`records`] the
//! record conversions `csv` and `json` both use.

pub mod cmd;
pub mod io;
pub mod records;
