//! How a command tells `main` which exit code to use.
//!
//! Most failures are plain `anyhow` errors and exit 1. A command that needs
//! another code (a usage error, flock's conflict code, a child's status)
//! returns an [`Exit`], alone or somewhere in the context chain.

use super::output::WriteFailed;
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
            Some(_) => Outcome::Report(exit.code, message(err)),
        };
    }
    let code = err
        .chain()
        .find_map(|e| e.downcast_ref::<Exit>())
        .map_or(1, |e| e.code);
    Outcome::Report(code, message(err))
}

/// The line `main` prints for an error: its chain of contexts joined by
/// `: `, OS errors as their bare reason. A failed write to an output
/// (a full disk) is reported as `<output>: <reason>` alone: the output is
/// what the user has to look at, not the input being read at the time or
/// the temporary file behind the output.
pub fn message(err: &anyhow::Error) -> String {
    let failed_write = err.chain().find_map(|e| {
        e.downcast_ref::<io::Error>()
            .and_then(|e| e.get_ref())
            .and_then(|inner| inner.downcast_ref::<WriteFailed>())
    });
    if let Some(failed) = failed_write {
        return failed.to_string();
    }
    let mut parts: Vec<String> = Vec::new();
    for e in err.chain() {
        match e.downcast_ref::<io::Error>() {
            // The reason says it all; what follows in the chain is the
            // same error again.
            Some(io) if io.raw_os_error().is_some() => {
                parts.push(reason(io));
                break;
            }
            _ => parts.push(e.to_string()),
        }
    }
    parts.join(": ")
}

/// An I/O error as fkit's messages word it: the OS's reason with a
/// lower-case first letter and without "(os error 28)":
/// `no space left on device`.
pub fn reason(err: &io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return err.to_string();
    };
    let text = io::Error::from_raw_os_error(code).to_string();
    let text = text
        .strip_suffix(&format!(" (os error {code})"))
        .unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_reasons_are_lower_case_without_the_code() {
        let err = io::Error::from_raw_os_error(28);
        assert_eq!(reason(&err), "no space left on device");
        let err = anyhow::Error::from(io::Error::from_raw_os_error(2)).context("in.csv");
        assert_eq!(message(&err), "in.csv: no such file or directory");
    }

    #[test]
    fn a_failed_write_names_the_output_not_the_input() {
        let full = WriteFailed::wrap("/mnt/out", io::Error::from_raw_os_error(28));
        assert_eq!(full.kind(), io::ErrorKind::StorageFull);
        let err = anyhow::Error::from(full).context("in");
        assert_eq!(message(&err), "/mnt/out: no space left on device");
        // Tagged once: the first output named stays.
        let again = WriteFailed::wrap("other", WriteFailed::wrap("out", io::Error::other("x")));
        assert_eq!(again.to_string(), "out: x");
    }
}
