//! How a command tells `main` which exit code to use.
//!
//! Most failures are plain `anyhow` errors and exit 1. A command that needs
//! another code (a usage error, flock's conflict code, a child's status)
//! returns an [`Exit`], alone or somewhere in the context chain.

use std::fmt;
use std::io;

/// An error that carries its own exit code.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    message: Option<String>,
}

impl Exit {
    /// Exit with `code` and print nothing more (the message, if any, was
    /// already printed, or the code speaks for itself: a child's status).
    pub fn silent(code: i32) -> Exit {
        Exit {
            code,
            message: None,
        }
    }

    /// Exit with `code` after printing `message` as `fkit: <cmd>: <message>`.
    pub fn with(code: i32, message: impl Into<String>) -> Exit {
        Exit {
            code,
            message: Some(message.into()),
        }
    }

    /// A usage error: exit code 2, as clap uses for bad arguments.
    pub fn usage(message: impl Into<String>) -> Exit {
        Exit::with(2, message)
    }

    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

impl std::error::Error for Exit {}

/// What `main` should do with an error a command returned.
pub enum Outcome {
    /// Exit with this code and print nothing.
    Quiet(i32),
    /// Print this line (without the `fkit: <cmd>: ` prefix) and exit with the code.
    Report(i32, String),
}

/// Decide the exit code and the message for an error.
///
/// A closed pipe on stdout (`fkit … | head`) is not a failure the user needs
/// to hear about: it ends quietly with status 0, as ripgrep does.
pub fn outcome(err: &anyhow::Error) -> Outcome {
    let broken_pipe = err
        .chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe);
    if broken_pipe {
        return Outcome::Quiet(0);
    }
    if let Some(exit) = err.downcast_ref::<Exit>() {
        return match exit.message() {
            None => Outcome::Quiet(exit.code),
            Some(_) => Outcome::Report(exit.code, format!("{err:#}")),
        };
    }
    let code = err
        .chain()
        .find_map(|e| e.downcast_ref::<Exit>())
        .map_or(1, |e| e.code);
    Outcome::Report(code, format!("{err:#}"))
}
