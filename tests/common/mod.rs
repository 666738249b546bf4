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
