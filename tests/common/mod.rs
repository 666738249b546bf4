//! Running the `ttvm` binary from integration tests: one builder,
//! [`Ttvm`] (arguments, working folder, environment, stdin, a time limit;
//! stdout and stderr captured), with a hang guard. A test that needs the
//! child itself (a long-lived server on pipes, its resource usage, stdout
//! on a device) takes the configured [`Command`] from [`Ttvm::command`].

#![allow(dead_code)]

pub mod golden;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: this build's, or `TTVM_TEST_BIN` (to check that
/// a test fails against an older build).
pub fn binary() -> std::ffi::OsString {
    std::env::var_os("TTVM_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_ttvm").into())
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How long a run may take by default before the hang guard kills it.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(300);

/// One run of the binary, built up:
/// `Ttvm::new().args(["--jit", "p.ttvm"]).cwd(&dir).stdin("x\n").run()`.
///
/// By default stdin is empty, the working folder is the test's, and a run
/// that has not ended after [`DEFAULT_LIMIT`] is killed and fails the test
/// (a hang guard, not a timing assertion); [`Ttvm::report_timeout`] makes it
/// a result instead.
#[derive(Debug)]
pub struct Ttvm {
    bin: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    limit: Duration,
    /// `None`: a timeout is reported in [`Captured::note`]; else the test
    /// fails with this text (what the unfixed code did there).
    why_hang: Option<String>,
    /// Where stdout goes instead of being captured (a device, a file).
    stdout_file: Option<std::fs::File>,
}

impl Default for Ttvm {
    fn default() -> Self {
        Self::new()
    }
}

impl Ttvm {
    /// The binary under test ([`binary`]), no arguments.
    pub fn new() -> Ttvm {
        Ttvm {
            bin: binary(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            stdin: None,
            limit: DEFAULT_LIMIT,
            why_hang: Some("it hung".to_string()),
            stdout_file: None,
        }
    }

    /// Run another build of `ttvm` instead (a release build, an older one).
    pub fn binary(mut self, bin: impl Into<OsString>) -> Ttvm {
        self.bin = bin.into();
        self
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Ttvm {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Ttvm
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// The working folder.
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Ttvm {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Ttvm {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// What the run reads on stdin (bytes or text); none: empty.
    pub fn stdin(mut self, data: impl AsRef<[u8]>) -> Ttvm {
        self.stdin = Some(data.as_ref().to_vec());
        self
    }

    /// Stdout goes to `file` (`/dev/full`, say) instead of being captured
    /// ([`Captured::stdout`] is then empty).
    pub fn stdout_to(mut self, file: std::fs::File) -> Ttvm {
        self.stdout_file = Some(file);
        self
    }

    /// The time limit (see [`Ttvm::hang_means`] and [`Ttvm::report_timeout`]).
    pub fn timeout(mut self, limit: Duration) -> Ttvm {
        self.limit = limit;
        self
    }

    /// A run still going at the limit fails the test, saying `why` (what
    /// the unfixed code did there).
    pub fn hang_means(mut self, why: &str) -> Ttvm {
        self.why_hang = Some(why.to_string());
        self
    }

    /// A run still going at the limit is killed and reported as such
    /// (status `None`, [`Captured::note`]): the caller decides.
    pub fn report_timeout(mut self) -> Ttvm {
        self.why_hang = None;
        self
    }

    /// The command line, for messages.
    pub fn describe(&self) -> String {
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
        format!("`ttvm {}`", args.join(" "))
    }

    /// The configured command (binary, arguments, folder, environment;
    /// stdin, stdout and stderr left to the caller), for a test that runs
    /// the child itself.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.args);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Wait for `child` (started from [`Ttvm::command`]) under this run's
    /// time limit: its exit status (`None`: killed by a signal), or, past
    /// the limit, killed and `Err` with a note — or the test fails, per
    /// [`Ttvm::hang_means`].
    pub fn wait(&self, child: &mut std::process::Child) -> Result<Option<i32>, String> {
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(st)) => return Ok(st.code()),
                Ok(None) if started.elapsed() > self.limit => {
                    let _ = child.kill();
                    let _ = child.wait();
                    if let Some(why) = &self.why_hang {
                        panic!(
                            "{} did not end within {:?}: {why}",
                            self.describe(),
                            self.limit
                        );
                    }
                    return Err(format!(
                        "timed out after {}s (killed)",
                        self.limit.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    let _ = child.kill();
                    return Err(format!("wait failed: {e}"));
                }
            }
        }
    }

    /// Run it: stdout (unless [`Ttvm::stdout_to`]) and stderr captured
    /// through pipes.
    pub fn run(mut self) -> Captured {
        use std::io::{Read, Write};
        let start = Instant::now();
        let mut cmd = self.command();
        cmd.stdout(match self.stdout_file.take() {
            Some(f) => Stdio::from(f),
            None => Stdio::piped(),
        })
        .stderr(Stdio::piped())
        .stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return Captured {
                    status: None,
                    stdout: String::new(),
                    stderr: String::new(),
                    note: Some(format!("cannot start ttvm: {e}")),
                    elapsed: start.elapsed(),
                }
            }
        };
        let writer = child.stdin.take().map(|mut w| {
            let data = self.stdin.clone().unwrap_or_default();
            std::thread::spawn(move || {
                let _ = w.write_all(&data);
            })
        });
        fn read_all<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut buf);
                }
                buf
            })
        }
        let out = read_all(child.stdout.take());
        let err = read_all(child.stderr.take());
        let (status, mut note) = match self.wait(&mut child) {
            Ok(status) => (status, None),
            Err(note) => (None, Some(note)),
        };
        if status.is_none() && note.is_none() {
            note = Some("killed by a signal".to_string());
        }
        if let Some(w) = writer {
            let _ = w.join();
        }
        let text = |h: std::thread::JoinHandle<Vec<u8>>| {
            String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned()
        };
        Captured {
            status,
            stdout: text(out),
            stderr: text(err),
            note,
            elapsed: start.elapsed(),
        }
    }
}

/// What a run of the binary did.
#[derive(Debug)]
pub struct Captured {
    /// `None`: killed by a signal, or by us after the limit.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Why there is no status, when we know (timed out, could not start).
    pub note: Option<String>,
    pub elapsed: Duration,
}

/// The older name of [`Captured`].
pub type Run = Captured;

/// Run `ttvm ARGS` in `cwd`, stdin empty. A run that has not ended after
/// `limit` is killed and the test fails with `why_hang` (what the unfixed
/// code did there): a hang guard, not a timing assertion.
pub fn ttvm_in(cwd: &Path, args: &[&str], limit: Duration, why_hang: &str) -> Run {
    Ttvm::new()
        .args(args)
        .cwd(cwd)
        .timeout(limit)
        .hang_means(why_hang)
        .run()
}

/// Run `ttvm ARGS` in `cwd` with `env` set and `stdin` (none: empty);
/// past `limit` the run is killed and reported as such (not a panic: the
/// caller decides).
pub fn run_captured(
    cwd: &Path,
    args: &[String],
    env: &[(&str, &str)],
    stdin: Option<&str>,
    limit: Duration,
) -> Captured {
    let mut t = Ttvm::new()
        .args(args)
        .cwd(cwd)
        .timeout(limit)
        .report_timeout();
    for (k, v) in env {
        t = t.env(k, v);
    }
    if let Some(data) = stdin {
        t = t.stdin(data);
    }
    t.run()
}

/// A loop of `iters` iterations whose body has `branches` branches of 11
/// instructions each (`i mod 3` compared with `k mod 3`; `acc += k` when
/// equal): 11 × `branches` + 15 instructions in one unit. Its output, as
/// computed here.
pub fn branchy_loop(branches: usize, iters: i64) -> (String, String) {
    let mut src = String::from("PUSH_INT 0\nSTORE i\nPUSH_INT 0\nSTORE acc\nLABEL loop\n");
    for k in 0..branches {
        src.push_str(&format!(
            "LOAD i\nPUSH_INT 3\nMOD\nPUSH_INT {}\nEQ\nJZ s{k}\nLOAD acc\nPUSH_INT {k}\nADD\nSTORE acc\nJMP s{k}\nLABEL s{k}\n",
            k % 3
        ));
    }
    src.push_str(&format!(
        "LOAD i\nPUSH_INT 1\nADD\nSTORE i\nLOAD i\nPUSH_INT {iters}\nLT\nJNZ loop\nLOAD acc\nPRINT\nHALT\n"
    ));
    let acc: i64 = (0..iters)
        .map(|i| (0..branches as i64).filter(|k| k % 3 == i % 3).sum::<i64>())
        .sum();
    (src, format!("{acc}\n"))
}

/// Run `ttvm ARGS FILE` in the crate root on the program `src`, written
/// to a temporary file (its folder named after `name` and this process).
pub fn run_source(name: &str, src: &str, args: &[&str]) -> Captured {
    let dir = std::env::temp_dir().join(format!("ttvm-src-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join("p.ttvm");
    std::fs::write(&path, src).expect("writes");
    let mut all: Vec<&str> = args.to_vec();
    all.push(path.to_str().expect("utf-8"));
    let out = Ttvm::new().args(&all).cwd(env!("CARGO_MANIFEST_DIR")).run();
    std::fs::remove_dir_all(&dir).ok();
    out
}
