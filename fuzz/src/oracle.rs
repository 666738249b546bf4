//! Fuzzing oracles for ttvm, shared by the libFuzzer targets
//! (`fuzz/fuzz_targets/*.rs`) and the stable corpus replay test
//! (`tests/fuzz_corpus.rs`). Plain Rust: no libFuzzer dependency, so the
//! same checks run under `cargo test` on the stable toolchain.
//!
//! Both oracles check "never panics" (a panic is the failure libFuzzer
//! reports) plus a few cheap invariants, each an `assert!`.

#![allow(dead_code)]

use std::io::{self, Write};
use std::sync::Arc;

/// Reduction budget of one `run` input: enough for real loops, small enough
/// that libFuzzer sees thousands of inputs a second.
pub const REDUCTION_LIMIT: u64 = 200_000;

/// Substrings that make `run` skip an input (it is still assembled):
/// - `SLEEP` and the `RECEIVE` family wait on wall-clock time or forever;
/// - `IMPORT` reads other files from the disk (relative to the cwd);
/// - `EXIT` ends the whole VM early (it is also a prefix of `EXIT_PROCESS`).
pub const RUN_SKIP: &[&str] = &["SLEEP", "RECEIVE", "IMPORT", "EXIT"];

/// The text the assembler sees: lossy UTF-8, so invalid bytes become U+FFFD
/// (the `ttvm` command reads files the same way or rejects them; the
/// assembler itself only takes `&str`).
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Any bytes: assembling must return `Ok` or `Err`, never panic; an error
/// must render (without panicking) to a report that says "error"; a program
/// must disassemble without panicking.
pub fn assemble(bytes: &[u8]) {
    let src = text(bytes);
    match ttvm::load_source("fuzz.ttvm", &src) {
        Ok(program) => {
            let _ = ttvm::bytecode::disassemble(&program);
        }
        Err(e) => {
            let report = e.render();
            assert!(
                report.contains("error"),
                "a load error renders without the word \"error\": {report:?}"
            );
        }
    }
}

/// True when `run` skips this input (see [`RUN_SKIP`]).
pub fn skipped(bytes: &[u8]) -> bool {
    let src = text(bytes);
    RUN_SKIP.iter().any(|w| src.contains(w))
}

/// Any bytes: if they assemble, run the program sandboxed with a reduction
/// limit, empty stdin and output thrown away. It must end (the limit sees to
/// that) without panicking, with an exit status from SPEC §4.6 that a
/// program without `EXIT` can have: 0 (normal), 1 (abnormal or reduction
/// limit) or 4 (deadlock).
pub fn run(bytes: &[u8]) {
    if skipped(bytes) {
        // Still exercise the assembler on it.
        assemble(bytes);
        return;
    }
    let src = text(bytes);
    let program = match ttvm::load_source("fuzz.ttvm", &src) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            let _ = e.render();
            return;
        }
    };
    let config = ttvm::RunConfig {
        reduction_limit: Some(REDUCTION_LIMIT),
        max_call_depth: 10_000,
        max_stack: 100_000,
        sandbox: true,
        ..Default::default()
    };
    let io = ttvm::Io {
        stdout: Box::new(Bounded::default()),
        stderr: Box::new(Bounded::default()),
        stdin: Box::new(io::empty()),
    };
    let result = ttvm::run(program, config, io);
    assert!(
        matches!(result.exit_code, 0 | 1 | 4),
        "unexpected exit status {}",
        result.exit_code
    );
    if result.hit_reduction_limit {
        assert_eq!(result.exit_code, ttvm::EXIT_ABNORMAL);
    }
}

/// A sink that counts what is written (so writes are not optimised away)
/// but keeps nothing.
#[derive(Default)]
struct Bounded {
    written: u64,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written = self.written.wrapping_add(buf.len() as u64);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
