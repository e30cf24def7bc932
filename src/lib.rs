//! fkit: a command-line Swiss-army knife for files.
//!
//! The binary is a thin shell over this library: [`cmd`] holds one module
//! per subcommand, [`io`] the I/O layer they all share.

pub mod cmd;
pub mod io;
