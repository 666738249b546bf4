//! Replays the fuzzing seed corpora and the saved crash regressions through
//! the same oracles the libFuzzer targets use (`fuzz/src/oracle.rs`), on the
//! stable toolchain, as part of `cargo test`.
//!
//! - `fuzz/corpus/assemble/*`, `fuzz/regressions/assemble/*` → `oracle::assemble`
//! - `fuzz/corpus/run/*`, `fuzz/regressions/run/*` → `oracle::run_input`
//!   (text → `oracle::run`, a first byte ≥ 0x80 → `oracle::run_generated`,
//!   ≥ 0xC0 → also `oracle::run_generated_smp`) and `oracle::assemble`
//! - `fuzz/corpus/roundtrip/*`, `fuzz/regressions/roundtrip/*` (and the
//!   assemble corpus) → `oracle::roundtrip`
//! - `fuzz/corpus/differential/*`, `fuzz/regressions/differential/*` →
//!   `oracle::differential`
//! - `fuzz/corpus/framing/*`, `fuzz/regressions/framing/*` (and random
//!   bytes) → `oracle::framing` (issue 16)
//! - `fuzz/corpus/terms/*`, `fuzz/regressions/terms/*` (and random
//!   bytes) → `oracle::terms` (issue 17)
//!
//! Plus programs generated from fixed pseudo-random bytes, through the
//! `run` oracle (on one scheduler and on two) and the `differential` one,
//! and a check that the generator uses
//! every feature it claims to.
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
    let n = replay(
        &["fuzz/corpus/run", "fuzz/regressions/run"],
        oracle::run_input,
    );
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

#[test]
fn roundtrip_corpus() {
    let n = replay(
        &[
            "fuzz/corpus/roundtrip",
            "fuzz/regressions/roundtrip",
            "fuzz/corpus/assemble",
        ],
        oracle::roundtrip,
    );
    assert!(n >= 60, "the roundtrip seed corpus is missing ({n} inputs)");
}

#[test]
fn differential_corpus() {
    let n = replay(
        &["fuzz/corpus/differential", "fuzz/regressions/differential"],
        oracle::differential,
    );
    assert!(
        n >= 20,
        "the differential seed corpus is missing ({n} inputs)"
    );
}

/// Fixed pseudo-random inputs (xorshift), `count` of them, 16 to 4,096
/// bytes long.
/// The framing parser's seeds and saved crashes, and random bytes
/// (issue 16; the `framing` fuzz target).
#[test]
fn framing_corpus() {
    let n = replay(
        &["fuzz/corpus/framing", "fuzz/regressions/framing"],
        oracle::framing,
    );
    assert!(n >= 6, "the framing seed corpus is missing ({n} inputs)");
    for bytes in random_inputs(0x9E37_79B9_7F4A_7C15, 2000) {
        oracle::framing(&bytes);
    }
}

/// The term decoder's seeds (terms Erlang's `term_to_binary` wrote,
/// hostile headers) and saved findings, and random bytes (issue 17; the
/// `terms` fuzz target).
#[test]
fn terms_corpus() {
    let n = replay(
        &["fuzz/corpus/terms", "fuzz/regressions/terms"],
        oracle::terms,
    );
    assert!(n >= 20, "the terms seed corpus is missing ({n} inputs)");
    for mut bytes in random_inputs(0x2545_F491_4F6C_DD1D, 2000) {
        // Half of them look like terms from their second byte on.
        if bytes[0] & 1 == 0 && bytes.len() > 1 {
            bytes[1] = 131;
        }
        oracle::terms(&bytes);
    }
}

fn random_inputs(seed: u64, count: usize) -> Vec<Vec<u8>> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..count)
        .map(|_| {
            let len = 16 + (next() % 4080) as usize;
            (0..len).map(|_| next() as u8).collect()
        })
        .collect()
}

/// Run `check` on each input in `catch_unwind`; fail listing the failures
/// (as the index of the input).
fn replay_bytes(inputs: &[Vec<u8>], check: fn(&[u8])) {
    let failed: Vec<usize> = inputs
        .iter()
        .enumerate()
        .filter(|(_, b)| std::panic::catch_unwind(|| check(b)).is_err())
        .map(|(i, _)| i)
        .collect();
    assert!(failed.is_empty(), "inputs that fail the oracle: {failed:?}");
}

#[test]
fn generated_programs_run() {
    replay_bytes(
        &random_inputs(0x9E37_79B9_7F4A_7C15, 120),
        oracle::run_generated,
    );
}

/// The same inputs on two schedulers: only what holds in every
/// interleaving is checked (see `oracle::run_generated_smp`).
#[test]
fn generated_programs_run_smp() {
    replay_bytes(
        &random_inputs(0x9E37_79B9_7F4A_7C15, 120),
        oracle::run_generated_smp,
    );
}

#[test]
fn generated_programs_differential() {
    let inputs: Vec<Vec<u8>> = random_inputs(0xD1B5_4A32_D192_ED03, 60)
        .into_iter()
        .map(|mut b| {
            b[0] = oracle::GENERATED;
            b
        })
        .collect();
    replay_bytes(&inputs, oracle::differential);
}

/// The generator makes programs that use what the `run` target is meant to
/// exercise, and that mostly run: many print, many end normally.
#[test]
fn generator_covers_the_language() {
    use oracle::gen::{generate, Options};
    let mut seen = std::collections::HashSet::new();
    let mut shapes = std::collections::HashSet::new();
    let (mut printed, mut normal, mut count) = (0, 0, 0);
    for bytes in random_inputs(0x2545_F491_4F6C_DD1D, 150) {
        let mut u = arbitrary::Unstructured::new(&bytes);
        let g = generate(&mut u, Options { timers: true }).unwrap();
        shapes.extend(g.shapes.iter().copied());
        for line in g.source.lines() {
            seen.insert(line.split(' ').next().unwrap().to_string());
        }
        let program = ttvm::load_source("gen.ttvm", &g.source)
            .unwrap_or_else(|e| panic!("{}\n{}", e.render(), g.source));
        let out = oracle::run_checked(program, oracle::config());
        count += 1;
        printed += (out.stdout.len > 0) as u32;
        normal += (out.result.exit_code == 0) as u32;
    }
    // Every opcode of the op table (a new one is wanted until the
    // generator makes it, or it is listed here with the reason), and labels.
    let not_generated = [
        // The generator's programs touch no files, environment or modules
        // of their own.
        "EXPORT",
        "READ_FILE",
        "WRITE_FILE",
        "APPEND_FILE",
        "FILE_EXISTS",
        "DELETE_FILE",
        "GET_ENV",
        // Clock readings differ run to run (the differential oracle skips
        // them: `oracle::DIFFERENTIAL_SKIP`).
        "GET_TIME",
        "NOW_MS",
    ];
    let wanted: Vec<&str> = ttvm::bytecode::OPS
        .iter()
        // Library operations (issue 14) are among the generator's raw
        // instructions, each too rarely to be sure of in 150 programs;
        // src/library's unit tests cover each of them. Blocking operations
        // (cost `io`: stdin, files, programs) touch the host, which the
        // generator's programs do not (tests/io_pool.rs and the goldens
        // under tests/programs/host and io cover them).
        .filter(|o| !o.library && !o.blocking)
        // Sockets (issue 16) open ports on the host; the fuzz runs are
        // sandboxed, where every one of them raises `permission denied`
        // (tests/net_tcp.rs and tests/programs/net cover them).
        .filter(|o| o.section != "Network")
        .map(|o| o.mnemonic)
        .filter(|m| !not_generated.contains(m))
        .chain(["LABEL"])
        .collect();
    let missing: Vec<_> = wanted.iter().filter(|w| !seen.contains(**w)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
    // The shapes of code the JIT compiles specially (issue 15): functions
    // returning several values, objects' fields updated in a loop, small
    // lists grown and indexed in a loop, run-time field keys.
    let missing: Vec<_> = [
        "multi-return",
        "multi-store",
        "record-loop",
        "list-loop",
        "run-time-key",
    ]
    .into_iter()
    .filter(|s| !shapes.contains(s))
    .collect();
    assert!(missing.is_empty(), "shapes never generated: {missing:?}");
    assert!(
        printed * 2 >= count,
        "only {printed} of {count} programs print"
    );
    assert!(
        normal * 4 >= count,
        "only {normal} of {count} programs end normally"
    );
}
