//! Running another program: the one way fkit starts a child, passes signals
//! on to it, waits for it, stops it and turns its status into an exit code.
//!
//! `lock`, `temp --exec`, `chunk split --exec` and `watch --exec` run
//! commands; what that means is decided here once:
//! * while a child runs, SIGINT, SIGTERM and SIGHUP go to it (to its whole
//!   process group, for [`Child::spawn_group`]) instead of ending fkit, and
//!   one that arrives while it is being started is kept for it
//!   ([`signal::hold`]);
//! * its status becomes the shell's exit code: the code, or 128 + the
//!   signal that killed it ([`exit_code`]);
//! * it can be stopped, with everything it started when it leads its own
//!   group: a signal, a grace period, then SIGKILL ([`Running::stop`]),
//!   while another thread waits for it.
//!
//! On Windows there are no signals to pass on (Ctrl-C reaches every
//! process on the console) and no process groups: a stop ends the child's
//! process tree at once (`taskkill /T /F`).
//!
//! ```ignore
//! use crate::io::child::{self, Child};
//!
//! // In the foreground (lock, temp --exec): fkit then exits with `code`.
//! let code = Child::spawn(Command::new("make").arg("all"))?.wait()?;
//!
//! // Waited for on a thread of its own while this one goes on (watch
//! // --exec), in its own process group so a stop reaches all it started.
//! let mut sh = Command::new("/bin/sh");
//! let running = Child::spawn_group(sh.args(["-c", script]))?.wait_on_thread();
//! crossbeam_channel::select! {
//!     recv(running.exited()) -> code => { /* it ended by itself */ }
//!     default(Duration::from_millis(100)) => {
//!         // --restart: SIGTERM, up to 5 s to end, then SIGKILL.
//!         let term = child::signal_number("TERM").unwrap();
//!         let code = running.stop(term, Duration::from_secs(5));
//!     }
//! }
//! ```

use crate::io::signal;
use crossbeam_channel::Receiver;
use std::io;
use std::process::{ChildStdin, Command, ExitStatus};
use std::time::Duration;

/// The number of the signal named `name` (`TERM`, `SIGTERM`, `term` or
/// `15`), for options that take one (`watch --stop-signal`).
pub(crate) fn signal_number(name: &str) -> Option<i32> {
    if let Ok(n) = name.parse::<i32>() {
        return (n > 0).then_some(n);
    }
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNALS
        .iter()
        .find(|(n, _)| *n == bare)
        .map(|&(_, num)| num)
}

/// The signals worth sending to a command by name.
#[cfg(unix)]
const SIGNALS: [(&str, i32); 11] = [
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("WINCH", libc::SIGWINCH),
];
/// (Windows has no signals: the names parse, and a stop ends the process
/// tree whatever the signal.)
#[cfg(not(unix))]
const SIGNALS: [(&str, i32); 5] = [
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("KILL", 9),
    ("TERM", 15),
];

/// The shell's view of a status: the code, or 128 + the number of the
/// signal that killed the child.
pub(crate) fn exit_code(status: ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    status.code().unwrap_or(1)
}

/// A started child. Signals reach it until it has been waited for (or this
/// is dropped).
pub(crate) struct Child {
    child: std::process::Child,
    target: Target,
    // Dropped with the child: signals end fkit again.
    _forwarding: signal::Forwarding,
}

impl Child {
    /// Start `command`; SIGINT, SIGTERM and SIGHUP go to it until it ends.
    pub(crate) fn spawn(command: &mut Command) -> io::Result<Child> {
        Child::start(command, false)
    }

    /// Start `command` as the leader of a new process group, so signals
    /// and [`Running::stop`] reach everything it starts (`watch --restart`
    /// stops a server and its workers). A terminal's Ctrl-C no longer
    /// reaches the group directly; fkit passes it on.
    pub(crate) fn spawn_group(command: &mut Command) -> io::Result<Child> {
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(command, 0);
        Child::start(command, cfg!(unix))
    }

    fn start(command: &mut Command, group: bool) -> io::Result<Child> {
        // A signal between the spawn and the forwarding is kept for the
        // child; if the spawn fails, dropping `held` acts on it.
        let held = signal::hold();
        let child = command.spawn()?;
        let target = Target {
            pid: child.id(),
            group,
        };
        let forwarding = match group {
            true => held.forward_to_group(target.pid),
            false => held.forward_to(target.pid),
        };
        Ok(Child {
            child,
            target,
            _forwarding: forwarding,
        })
    }

    /// The pipe to the child's stdin, when the command asked for one
    /// (`Stdio::piped()`); dropping it closes the child's input.
    pub(crate) fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Wait for the child to end; its exit code ([`exit_code`]).
    pub(crate) fn wait(self) -> io::Result<i32> {
        self.wait_status().map(exit_code)
    }

    /// Wait for the child to end; its status, for a message that tells an
    /// exit code from a signal.
    pub(crate) fn wait_status(mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }

    /// End the child at once (SIGKILL, to its group if it leads one) and
    /// reap it: for a child fkit gives up on.
    pub(crate) fn kill(mut self) {
        match self.target.group {
            true => self.target.kill(),
            false => {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }

    /// Wait for the child on a thread of its own, so that this one can go
    /// on (and stop the child if it must).
    pub(crate) fn wait_on_thread(self) -> Running {
        let target = self.target;
        let (tx, exited) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let _ = tx.send(self.wait());
        });
        Running { exited, target }
    }
}

/// A child waited for on its own thread ([`Child::wait_on_thread`]).
pub(crate) struct Running {
    exited: Receiver<io::Result<i32>>,
    target: Target,
}

impl Running {
    /// Gets the child's exit code once it has ended (for `select!`).
    pub(crate) fn exited(&self) -> &Receiver<io::Result<i32>> {
        &self.exited
    }

    /// Send `signal` to the child (its process group, if it leads one)
    /// and let it go on: for a command that reloads on SIGHUP. Nothing
    /// happens where there are no signals (Windows).
    pub(crate) fn signal(&self, signal: i32) {
        self.target.signal(signal);
    }

    /// Stop the child and, if it leads a process group, all it started:
    /// send `signal` (the one fkit received, or one the user chose), give it
    /// `grace` to end, then send SIGKILL. Its exit code; `None` if it has
    /// still not ended `grace` after the SIGKILL (stuck in the kernel).
    pub(crate) fn stop(self, signal: i32, grace: Duration) -> Option<io::Result<i32>> {
        if self.target.signal(signal)
            && let Ok(code) = self.exited.recv_timeout(grace)
        {
            return Some(code);
        }
        self.target.kill();
        self.exited.recv_timeout(grace).ok()
    }
}

/// Whom a stop reaches: the child, or the process group it leads.
#[derive(Clone, Copy)]
struct Target {
    pid: u32,
    group: bool,
}

impl Target {
    /// Send `sig`; false where there are no signals (Windows).
    fn signal(self, sig: i32) -> bool {
        #[cfg(unix)]
        {
            let pid = i32::try_from(self.pid).unwrap_or(0);
            signal::kill(if self.group { -pid } else { pid }, sig);
            true
        }
        #[cfg(not(unix))]
        {
            let _ = sig;
            false
        }
    }

    fn kill(self) {
        #[cfg(unix)]
        self.signal(libc::SIGKILL);
        #[cfg(windows)]
        {
            use std::process::Stdio;
            // No handle to the child here (its waiting thread owns it), and
            // no groups: end the tree by pid.
            let _ = Command::new("taskkill")
                .args(["/T", "/F", "/PID", &self.pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::Instant;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn exit_codes_are_the_shells() {
        assert_eq!(Child::spawn(&mut sh("exit 7")).unwrap().wait().unwrap(), 7);
        let killed = Child::spawn(&mut sh("kill -TERM $$")).unwrap().wait();
        assert_eq!(killed.unwrap(), 128 + libc::SIGTERM);
    }

    #[test]
    fn signals_are_named_as_kill_names_them() {
        for name in ["TERM", "SIGTERM", "term", "15"] {
            assert_eq!(signal_number(name), Some(libc::SIGTERM), "{name}");
        }
        assert_eq!(signal_number("usr1"), Some(libc::SIGUSR1));
        assert_eq!(signal_number("NOPE"), None);
        assert_eq!(signal_number("0"), None);
    }

    #[test]
    fn a_stop_reaches_the_whole_group() {
        // The shell waits for a grandchild: only a signal to the group
        // ends both at once.
        let child = Child::spawn_group(&mut sh("sleep 30 & wait")).unwrap();
        let running = child.wait_on_thread();
        assert!(running.exited().try_recv().is_err());
        let code = running.stop(libc::SIGTERM, Duration::from_secs(10));
        assert_eq!(code.unwrap().unwrap(), 128 + libc::SIGTERM);
    }

    #[test]
    fn a_child_that_ignores_the_signal_is_killed_after_the_grace() {
        let script = "trap '' TERM; echo ready; while :; do sleep 0.05; done";
        let mut command = sh(script);
        command.stdout(std::process::Stdio::piped());
        let mut child = Child::spawn_group(&mut command).unwrap();
        // Wait until the trap is set.
        let mut ready = [0u8; 6];
        std::io::Read::read_exact(child.child.stdout.as_mut().unwrap(), &mut ready).unwrap();
        let started = Instant::now();
        let code = child
            .wait_on_thread()
            .stop(libc::SIGTERM, Duration::from_millis(300));
        assert_eq!(code.unwrap().unwrap(), 128 + libc::SIGKILL);
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
