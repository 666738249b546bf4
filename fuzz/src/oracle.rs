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

/// Substrings `run` never executes (the assembler still sees them):
/// - `SLEEP` and the `RECEIVE` family wait on wall-clock time or forever;
/// - `IMPORT` reads other files from the disk (relative to the cwd);
/// - `EXIT` ends the whole VM early (`EXIT_PROCESS` and `TRAP_EXIT` are
///   harmless and are not counted as `EXIT`).
///
/// A line containing one of them is dropped before the program runs
/// (skipping such programs, done per line so the rest of the input still
/// runs).
pub const RUN_SKIP: &[&str] = &["SLEEP", "RECEIVE", "IMPORT", "EXIT"];

/// Rounds of "drop the lines the errors point at and assemble again" in
/// [`run`]: random bytes rarely assemble whole, and one bad line would
/// otherwise hide the rest of the program from the interpreter.
pub const REPAIR_ROUNDS: usize = 4;

/// The name the oracles give the source (error reports start with it).
const NAME: &str = "fuzz.ttvm";

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
    match ttvm::load_source(NAME, &src) {
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

/// True when `text` contains a word of [`RUN_SKIP`] (see there).
pub fn skipped(text: &[u8]) -> bool {
    let src = String::from_utf8_lossy(text)
        .replace("EXIT_PROCESS", " ")
        .replace("TRAP_EXIT", " ");
    RUN_SKIP.iter().any(|w| src.contains(w))
}

/// The line numbers (1-based) of the errors in `fuzz.ttvm` that a rendered
/// load error reports, from its `fuzz.ttvm:LINE:COL: error: …` lines.
fn error_lines(report: &str) -> Vec<usize> {
    let mut lines: Vec<usize> = report
        .lines()
        .filter_map(|l| l.strip_prefix(NAME)?.strip_prefix(':'))
        .filter(|rest| rest.contains(": error:"))
        .filter_map(|rest| rest.split(':').next()?.parse().ok())
        .collect();
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// Drop the 1-based lines `drop` (sorted) of `src`, keeping the line count
/// of everything else (lines are split at `\n`, as the reports count them).
fn drop_lines(src: &str, drop: &[usize]) -> String {
    src.split('\n')
        .enumerate()
        .filter(|(i, _)| drop.binary_search(&(i + 1)).is_err())
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Assemble `src`; while it fails, drop the lines the errors point at and
/// try again, at most [`REPAIR_ROUNDS`] times. Every failure is checked as
/// in [`assemble`].
fn assemble_repaired(mut src: String) -> Option<(String, ttvm::Program)> {
    for _ in 0..=REPAIR_ROUNDS {
        match ttvm::load_source(NAME, &src) {
            Ok(p) => return Some((src, p)),
            Err(e) => {
                let report = e.render();
                assert!(report.contains("error"), "{report:?}");
                let lines = error_lines(&report);
                if lines.is_empty() {
                    return None;
                }
                src = drop_lines(&src, &lines);
            }
        }
    }
    None
}

/// The source [`run`] runs for `bytes`, and its program: the lines with
/// [`RUN_SKIP`] words dropped, then repaired (see [`assemble_repaired`]).
/// None when no program comes out of it.
pub fn runnable(bytes: &[u8]) -> Option<(String, ttvm::Program)> {
    let src: String = text(bytes)
        .split('\n')
        .filter(|l| !skipped(l.as_bytes()))
        .collect::<Vec<_>>()
        .join("\n");
    assemble_repaired(src)
}

/// Any bytes: the program they make — the lines with [`RUN_SKIP`] words
/// dropped, then repaired by dropping bad lines (see [`assemble_repaired`])
/// — runs sandboxed with a reduction limit, empty stdin and output thrown
/// away. It must end (the limit sees to that) without panicking, with an
/// exit status from SPEC §4.6 that a program without `EXIT` can have: 0
/// (normal), 1 (abnormal or reduction limit) or 4 (deadlock).
pub fn run(bytes: &[u8]) {
    assemble(bytes);
    let Some((_, program)) = runnable(bytes) else {
        return;
    };
    let config = ttvm::RunConfig {
        reduction_limit: Some(REDUCTION_LIMIT),
        max_call_depth: 10_000,
        // 10,000 rather than 100,000: a loop that leaves a growing list on
        // the stack each round and APPENDs to it copies the list each time
        // (it is shared), so memory grows with (stack depth × list length);
        // at 100,000 one such 81-line input reached 1.7 GB (3.6 GB RSS under
        // the sanitizer) within the reduction limit.
        max_stack: 10_000,
        max_processes: 10_000,
        // One scheduler, not pinned: a deterministic run (libFuzzer needs
        // an input to behave the same each time) that doesn't fight other
        // jobs for a core.
        schedulers: 1,
        pin: false,
        sandbox: true,
        ..Default::default()
    };
    let io = ttvm::Io {
        stdout: Box::new(Bounded::default()),
        stderr: Box::new(Bounded::default()),
        stdin: Box::new(io::empty()),
    };
    let result = ttvm::run(Arc::new(program), config, io);
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
