// On Linux with glibc, fkit starts from C's `main` rather than std's
// runtime start-up. That start-up finds the main thread's stack guard by
// parsing /proc/self/maps (pthread_getattr_np): a fifth of the instructions
// of a short run such as `fkit lock F true`, and what kept lock's start-up
// above flock(1)'s. Without it, argv still reaches std::env::args (glibc
// hands it to std's init_array hook; musl does not, hence `gnu` only). The
// two other things that start-up does are done here: SIGPIPE ignored, so a
// closed pipe is an EPIPE error that ends quietly, and descriptors 0-2
// reopened on /dev/null when closed, so no file fkit opens becomes stdout.
// A stack overflow then ends in SIGSEGV without std's message; nothing in
// fkit recurses on input depth (the JSON parser keeps its own stack).
// Children still start with SIGPIPE at its default: std resets it in every
// Command it spawns.
#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]

use fkit::cmd::Cli;
use fkit::io::error::{Outcome, outcome};

#[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: plain system calls on descriptors 0-2 and SIGPIPE's
    // disposition, made before any other thread exists.
    unsafe {
        for fd in 0..3 {
            if libc::fcntl(fd, libc::F_GETFD) == -1 {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let code = run();
    // Flush what is buffered before returning to C's exit.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    code.into()
}

#[cfg(any(not(all(target_os = "linux", target_env = "gnu")), test))]
fn main() -> std::process::ExitCode {
    run().into()
}

/// Parse, run and report; the process exit status.
fn run() -> u8 {
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let name = cli.command.name();
    match fkit::cmd::run(cli.command) {
        Ok(()) => 0,
        Err(err) => match outcome(&err) {
            Outcome::Quiet(code) => exit_code(code),
            Outcome::Report(code, message) => {
                eprintln!("fkit: {name}: {message}");
                exit_code(code)
            }
        },
    }
}

/// clap's own messages for help, version and most mistakes; a value that
/// failed validation (a bad size, say) reads `fkit: <cmd>: <reason>`.
fn usage_error(err: clap::Error) -> u8 {
    use clap::error::ErrorKind;
    use std::error::Error;
    if err.kind() == ErrorKind::ValueValidation
        && let Some(source) = err.source()
    {
        let cmd = std::env::args().nth(1).unwrap_or_default();
        eprintln!("fkit: {cmd}: {source}");
        eprintln!("For more information, try 'fkit {cmd} --help'.");
        return 2;
    }
    let _ = err.print();
    exit_code(err.exit_code())
}

fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}
