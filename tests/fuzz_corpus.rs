//! Replays the fuzzing seed corpora and the saved crash regressions through
//! the same oracles the libFuzzer targets use (`fuzz/src/oracle.rs`), on the
//! stable toolchain, as part of `cargo test`.
//!
//! - `fuzz/corpus/assemble/*`, `fuzz/regressions/assemble/*` → `oracle::assemble`
//! - `fuzz/corpus/run/*`, `fuzz/regressions/run/*` → `oracle::run` (and
//!   `oracle::assemble`)
//!
//! See docs/TESTING.md, "Fuzzing".

#[path = "../fuzz/src/oracle.rs"]
mod oracle;

use std::path::{Path, PathBuf};

fn inputs(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        // Hidden files (.gitkeep, libFuzzer's temporary files) are not inputs.
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

/// Run `check` on every input, each in `catch_unwind`, and fail once at the
/// end listing every input that panicked.
fn replay(dirs: &[&str], check: fn(&[u8])) -> usize {
    let mut count = 0;
    let mut failed = Vec::new();
    for dir in dirs {
        for path in inputs(dir) {
            let bytes = std::fs::read(&path).unwrap();
            count += 1;
            if std::panic::catch_unwind(|| check(&bytes)).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(
        failed.is_empty(),
        "inputs that fail the oracle:\n  {}",
        failed.join("\n  ")
    );
    count
}

#[test]
fn assemble_corpus() {
    let n = replay(
        &["fuzz/corpus/assemble", "fuzz/regressions/assemble"],
        oracle::assemble,
    );
    assert!(n >= 20, "the assemble seed corpus is missing ({n} inputs)");
}

#[test]
fn run_corpus() {
    let n = replay(&["fuzz/corpus/run", "fuzz/regressions/run"], oracle::run);
    assert!(n >= 20, "the run seed corpus is missing ({n} inputs)");
}

#[test]
fn run_corpus_assembles() {
    replay(
        &["fuzz/corpus/run", "fuzz/regressions/run"],
        oracle::assemble,
    );
}

#[test]
fn skip_list() {
    assert!(oracle::skipped(b"PUSH_INT 5\nSLEEP\n"));
    assert!(oracle::skipped(b"RECEIVE_AFTER"));
    assert!(oracle::skipped(b"IMPORT std/list"));
    assert!(oracle::skipped(b"PUSH_INT 0\nEXIT\n"));
    assert!(!oracle::skipped(b"PUSH_INT 1\nPRINT\n"));
    assert!(!oracle::skipped(
        b"PUSH_INT 2\nPUSH_STR normal\nEXIT_PROCESS\nTRUE\nTRAP_EXIT\n"
    ));
}

#[test]
fn repair_drops_bad_and_skipped_lines() {
    let input = b"PUSH_INT 1\nFOO\nPUSH_INT 5000\nSLEEP\nJMP nowhere\nPUSH_STR \"x\nPRINT\n";
    let (src, _) = oracle::runnable(input).expect("repairable");
    assert_eq!(src, "PUSH_INT 1\nPUSH_INT 5000\nPRINT\n");
    // A duplicate label is dropped at its second definition.
    let (src, _) = oracle::runnable(b"LABEL a\nLABEL a\nJMP a").unwrap();
    assert_eq!(src, "LABEL a\nJMP a");
}
