//! Running the `ttvm` binary from integration tests, with a hang guard.

#![allow(dead_code)]

pub mod golden;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// `None`: killed by a signal.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

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

/// Run `ttvm ARGS` in `cwd`, stdin empty, stdout and stderr to files. A run
/// that has not ended after `limit` is killed and the test fails with
/// `why_hang` (what the unfixed code did there): a hang guard, not a timing
/// assertion.
pub fn ttvm_in(cwd: &Path, args: &[&str], limit: Duration, why_hang: &str) -> Run {
    let out_path = cwd.join(".stdout");
    let err_path = cwd.join(".stderr");
    let child = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start ttvm");
    let status = wait_or_kill(child, limit, args, why_hang);
    Run {
        status,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default()).into_owned(),
    }
}

/// Wait for `child`; past `limit`, kill it and fail.
pub fn wait_or_kill(
    mut child: std::process::Child,
    limit: Duration,
    args: &[&str],
    why_hang: &str,
) -> Option<i32> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`ttvm {}` did not end within {limit:?}: {why_hang}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What [`run_captured`] saw.
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

/// Run `ttvm ARGS` in `cwd` with `env` set and `stdin` (none: empty),
/// stdout and stderr captured through pipes; past `limit` the run is killed
/// and reported as such (not a panic: the caller decides).
pub fn run_captured(
    cwd: &Path,
    args: &[String],
    env: &[(&str, &str)],
    stdin: Option<&str>,
    limit: Duration,
) -> Captured {
    use std::io::{Read, Write};
    let start = Instant::now();
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
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
        let data = stdin.unwrap_or_default().to_string();
        std::thread::spawn(move || {
            let _ = w.write_all(data.as_bytes());
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
    let mut note = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st.code(),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                note = Some(format!("timed out after {}s (killed)", limit.as_secs()));
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                note = Some(format!("wait failed: {e}"));
                let _ = child.kill();
                break None;
            }
        }
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
