//! A work directory for integration tests: write files, run the real `fkit`
//! binary in it with arguments and stdin, read the results back.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub struct Workdir {
    dir: tempfile::TempDir,
}

/// What a run of fkit produced.
pub struct Run {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Panic with both streams unless the run succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(self.status, 0, "fkit failed: stderr: {}", self.stderr);
        self
    }

    /// Panic unless the run exited with `code`.
    pub fn code(self, code: i32) -> Run {
        assert_eq!(
            self.status,
            code,
            "unexpected exit status; stdout: {} stderr: {}",
            self.stdout_str(),
            self.stderr
        );
        self
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::Builder::new()
                .prefix("fkit-test.")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent");
        }
        fs::write(&path, data).expect("write test file");
        path
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.join(name).exists()
    }

    /// Names of the entries in the work dir, sorted (to spot leftovers).
    pub fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path())
            .expect("list work dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Run a shell script in the work dir, with `$FKIT` naming the fkit
    /// binary (for redirections and pipelines a `Command` cannot express).
    pub fn sh(&self, script: &str) -> Output {
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("FKIT", fkit_bin())
            .current_dir(self.path())
            .output()
            .expect("sh")
    }

    /// A `Command` for fkit with the work dir as its current directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(fkit_bin());
        cmd.args(args).current_dir(self.path());
        cmd
    }

    /// Run fkit with `args`, read the first bytes of its output, then close
    /// the pipe (as `fkit … | head -c 10` does) and wait for it to end.
    pub fn run_into_closed_pipe(&self, args: &[&str]) -> Output {
        use std::io::Read;
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut head = [0u8; 10];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut head)
            .unwrap();
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    }

    /// Run fkit with `args` and empty stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, b"")
    }

    /// Run fkit with `args`, feeding `stdin`.
    pub fn run_stdin(&self, args: &[&str], stdin: impl AsRef<[u8]>) -> Run {
        let mut cmd = self.command(args);
        run_command(&mut cmd, stdin.as_ref())
    }
}

impl Default for Workdir {
    fn default() -> Self {
        Workdir::new()
    }
}

/// Run any prepared command with `stdin` and collect its output.
pub fn run_command(cmd: &mut Command, stdin: &[u8]) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let data = stdin.to_vec();
    // Write from a thread so a command that fills its stdout first cannot deadlock.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait");
    let _ = writer.join();
    Run {
        status: status.code().unwrap_or(-1),
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A process a test started in the background (a `fkit watch`, a lock
/// holder): killed and reaped when dropped, so a failed assertion leaves
/// nothing running. Its pipes are reachable through `Deref` to the `Child`.
pub struct Background(Option<Child>);

impl Background {
    /// Start `cmd` in the background.
    pub fn spawn(cmd: &mut Command) -> Background {
        Background(Some(cmd.spawn().expect("spawn a background process")))
    }

    /// Wait for it to end by itself and collect what it wrote.
    pub fn wait_with_output(mut self) -> Output {
        let child = self.0.take().expect("running");
        child.wait_with_output().expect("wait")
    }
}

impl std::ops::Deref for Background {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("running")
    }
}

impl std::ops::DerefMut for Background {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn fkit_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fkit"))
}

/// `../shared` beside the repository (or `$FKIT_SHARED`), if it is there;
/// tests that need it print that they were skipped when it is not.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FKIT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    dir.is_dir().then_some(dir)
}

/// Whether an external tool (gzip, flock, …) is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether `tool` on PATH is the GNU one (`tool --version` says GNU): a
/// peer other than the one a test compares with (moreutils' `parallel`,
/// BusyBox's `split`) must not fail the test, only skip it.
pub fn have_gnu(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).contains("GNU"))
        .unwrap_or(false)
}

/// Deterministic pseudo-random bytes (no rand crate needed).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
