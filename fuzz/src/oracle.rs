//! Fuzzing oracles for ttvm, shared by the libFuzzer targets
//! (`fuzz/fuzz_targets/*.rs`) and the stable corpus replay test
//! (`tests/fuzz_corpus.rs`). Plain Rust: no libFuzzer dependency, so the
//! same checks run under `cargo test` on the stable toolchain.
//!
//! Both oracles check "never panics" (a panic is the failure libFuzzer
//! reports) plus a few cheap invariants, each an `assert!`.

#![allow(dead_code)]

#[path = "gen/mod.rs"]
pub mod gen;

use std::hash::Hasher;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// Any bytes the assembler accepts: printing the program back as source
/// ([`ttvm::bytecode::to_source`]) and assembling that gives the same
/// program (see [`same_program`]), and printing it again gives the same text.
pub fn roundtrip(bytes: &[u8]) {
    roundtrip_source(NAME, &text(bytes));
}

/// [`roundtrip`] for a named source (the name decides where IMPORT and
/// spawned files are looked for). Returns false when `src` does not
/// assemble (nothing to check).
pub fn roundtrip_source(name: &str, src: &str) -> bool {
    let Ok(first) = ttvm::load_source(name, src) else {
        return false;
    };
    let printed = ttvm::bytecode::to_source(&first);
    let second = match ttvm::load_source(name, &printed) {
        Ok(p) => p,
        Err(e) => panic!(
            "the printed program does not assemble:\n{}\n--- printed:\n{printed}",
            e.render()
        ),
    };
    if let Err(why) = same_program(&first, &second) {
        panic!("the printed program differs: {why}\n--- printed:\n{printed}");
    }
    let again = ttvm::bytecode::to_source(&second);
    assert_eq!(printed, again, "printing the re-assembled program differs");
    true
}

/// Whether two loaded programs are the same: the same instructions with the
/// same operands, resolved targets, variable slots and TRY pairing; the same
/// modules with the same labels; the same frame layouts and basic blocks.
/// (Source locations differ, and so may the text of warnings.)
pub fn same_program(a: &ttvm::Program, b: &ttvm::Program) -> Result<(), String> {
    if a.code.len() != b.code.len() {
        return Err(format!(
            "{} instructions, then {}",
            a.code.len(),
            b.code.len()
        ));
    }
    for (i, (x, y)) in a.code.iter().zip(&b.code).enumerate() {
        // Debug shows every operand, resolved targets and slots included
        // (a NaN shows as NaN whatever its bits: the VM can't tell them
        // apart either).
        let (x, y) = (format!("{x:?}"), format!("{y:?}"));
        if x != y {
            return Err(format!("instruction {i}: {x} became {y}"));
        }
    }
    if a.modules.len() != b.modules.len() {
        return Err("a different number of modules".into());
    }
    for (m, (x, y)) in a.modules.iter().zip(&b.modules).enumerate() {
        if (x.start, x.end) != (y.start, y.end) || x.labels != y.labels || x.exports != y.exports {
            return Err(format!("module {m} differs (bounds, labels or exports)"));
        }
    }
    let names = |p: &ttvm::Program| -> Vec<String> {
        p.layouts.iter().map(|l| format!("{:?}", l.names)).collect()
    };
    if a.layout_of != b.layout_of || names(a) != names(b) {
        return Err("different frame layouts".into());
    }
    if a.block_start != b.block_start || a.block_cost != b.block_cost {
        return Err("different basic blocks".into());
    }
    if a.label_at != b.label_at || a.spawn_files != b.spawn_files {
        return Err("different label names or spawned files".into());
    }
    if a.warnings.len() != b.warnings.len() {
        return Err(format!(
            "{} warnings, then {}",
            a.warnings.len(),
            b.warnings.len()
        ));
    }
    Ok(())
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
    runnable_without(bytes, &[])
}

/// [`runnable`], also dropping the lines that contain a word of `extra`.
pub fn runnable_without(bytes: &[u8], extra: &[&str]) -> Option<(String, ttvm::Program)> {
    let src: String = text(bytes)
        .split('\n')
        .filter(|l| !skipped(l.as_bytes()) && !extra.iter().any(|w| l.contains(w)))
        .collect::<Vec<_>>()
        .join("\n");
    assemble_repaired(src)
}

/// Any bytes: the program they make — the lines with [`RUN_SKIP`] words
/// dropped, then repaired by dropping bad lines (see [`assemble_repaired`])
/// — runs sandboxed with a reduction limit, empty stdin and output thrown
/// away (see [`run_checked`]: no panic, no hang, no leaked process). It must
/// end with an exit status from SPEC §4.6 that a program without `EXIT` can
/// have: 0 (normal), 1 (abnormal or reduction limit) or 4 (deadlock).
pub fn run(bytes: &[u8]) {
    assemble(bytes);
    let Some((_, program)) = runnable(bytes) else {
        return;
    };
    let out = run_checked(program, config());
    check_status(&out.result, &[]);
}

/// The `run` target: inputs whose first byte is [`GENERATED`] or more are
/// generated programs ([`run_generated`] of the rest); others are program
/// text ([`run`]). Text never starts with such a byte (it would be the
/// middle of a UTF-8 character), and the seed programs stay readable.
///
/// From [`GENERATED_SMP`] on, the generated program runs a second time on
/// [`SMP_SCHEDULERS`] schedulers ([`run_generated_smp`]).
pub fn run_input(bytes: &[u8]) {
    match bytes.split_first() {
        Some((&mode, rest)) if mode >= GENERATED_SMP => {
            run_generated(rest);
            run_generated_smp(rest);
        }
        Some((&mode, rest)) if mode >= GENERATED => run_generated(rest),
        _ => run(bytes),
    }
}

/// First bytes that select generated mode (see [`run_input`]).
pub const GENERATED: u8 = 0x80;

/// First bytes that select generated mode with a second run on several
/// schedulers (see [`run_input`]): half of the generated inputs.
pub const GENERATED_SMP: u8 = 0xC0;

/// Schedulers of [`run_generated_smp`].
pub const SMP_SCHEDULERS: usize = 2;

/// The program [`gen::generate`] makes from `bytes`; it must assemble.
pub fn generated(bytes: &[u8], opts: gen::Options) -> (gen::Generated, ttvm::Program) {
    let mut u = arbitrary::Unstructured::new(bytes);
    let g = gen::generate(&mut u, opts).expect("the generator only fails on bad input lengths");
    match ttvm::load_source(NAME, &g.source) {
        Ok(p) => (g, p),
        Err(e) => panic!(
            "a generated program does not assemble:\n{}\n--- source:\n{}",
            e.render(),
            g.source
        ),
    }
}

/// Any bytes → a generated valid program ([`gen`], with short timers) that
/// spawns, sends, receives, links, monitors and throws; run as in [`run`]:
/// no panic, no hang, no leaked process, an exit status of 0, 1 or 4 or one
/// of its `EXIT` codes, 1 when the reduction limit stopped it. The program
/// also prints back to source and re-assembles to itself ([`roundtrip`]).
pub fn run_generated(bytes: &[u8]) {
    let (g, program) = generated(bytes, gen::Options { timers: true });
    roundtrip_source(NAME, &g.source);
    let out = run_checked(program, generated_config());
    check_status(&out.result, &g.exit_codes);
}

/// [`run_generated`] on [`SMP_SCHEDULERS`] schedulers: the order in which
/// processes run now depends on the threads, so nothing is compared with
/// another run; checked are only what holds in every interleaving — no
/// panic, no hang, no leaked process (every context freed once the run
/// returns), an exit status of 0, 1 or 4 or one of its `EXIT` codes, and 1
/// when the reduction limit (shared by the schedulers) stopped it.
pub fn run_generated_smp(bytes: &[u8]) {
    let (g, program) = generated(bytes, gen::Options { timers: true });
    let out = run_checked(program, smp_config());
    check_status(&out.result, &g.exit_codes);
}

/// The `differential` target: the same program with one scheduler under the
/// interpreter and under the JIT (`jit_threshold` 0: everything compiled
/// before it runs) gives the same stdout and exit status, unless either run
/// hit the reduction limit. The program is generated (first byte
/// [`GENERATED`] or more, no timers so the run is deterministic) or text
/// (as in [`run`], also without the lines that read the clock).
pub fn differential(bytes: &[u8]) {
    let (program, config) = match bytes.split_first() {
        Some((&mode, rest)) if mode >= GENERATED => (
            generated(rest, gen::Options { timers: false }).1,
            generated_config(),
        ),
        _ => {
            assemble(bytes);
            let Some((_, p)) = runnable_without(bytes, DIFFERENTIAL_SKIP) else {
                return;
            };
            (p, config())
        }
    };
    let program = Arc::new(program);
    let interp = run_checked(
        program.clone(),
        ttvm::RunConfig {
            jit: false,
            ..config.clone()
        },
    );
    let jit = run_checked(
        program,
        ttvm::RunConfig {
            jit: true,
            jit_threshold: 0,
            ..config
        },
    );
    if interp.result.hit_reduction_limit || jit.result.hit_reduction_limit {
        return;
    }
    assert_eq!(
        interp.result.exit_code, jit.result.exit_code,
        "exit status: interpreter {}, JIT {}",
        interp.result.exit_code, jit.result.exit_code
    );
    assert!(
        interp.stdout == jit.stdout,
        "stdout differs:\n--- interpreter ({} bytes):\n{}\n--- JIT ({} bytes):\n{}",
        interp.stdout.len,
        String::from_utf8_lossy(&interp.stdout.head),
        jit.stdout.len,
        String::from_utf8_lossy(&jit.stdout.head)
    );
}

/// Lines [`differential`] also drops from text programs: the clock differs
/// between two runs; DUMP_SCOPE writes only to stderr, which is not
/// compared, and costs one reduction for up to 64 KiB of text per variable
/// (a loop dumping a list nested deeper each round wrote gigabytes within
/// the reduction limit: `regressions/differential/dump-scope-deep-list-stderr-only`).
pub const DIFFERENTIAL_SKIP: &[&str] = &["NOW_MS", "GET_TIME", "DUMP_SCOPE"];

/// The configuration of every oracle run.
pub fn config() -> ttvm::RunConfig {
    ttvm::RunConfig {
        reduction_limit: Some(REDUCTION_LIMIT),
        max_call_depth: 10_000,
        // 10,000 rather than 100,000: a loop that leaves a growing list on
        // the stack each round and APPENDs to it copies the list each time
        // (it is shared), so memory grows with (stack depth × list length);
        // at 100,000 one such 81-line input reached 1.7 GB (3.6 GB RSS under
        // the sanitizer) within the reduction limit.
        max_stack: 10_000,
        max_processes: MAX_PROCESSES,
        // One scheduler, not pinned: a deterministic run (libFuzzer needs
        // an input to behave the same each time) that doesn't fight other
        // jobs for a core.
        schedulers: 1,
        pin: false,
        sandbox: true,
        ..Default::default()
    }
}

/// Live processes per run.
pub const MAX_PROCESSES: usize = 10_000;

/// Live processes per run of a generated program: low, so that spawning in
/// loops reaches the cap (`too many processes`) often.
pub const GENERATED_MAX_PROCESSES: usize = 12;

/// [`config`] with the process cap of generated programs.
pub fn generated_config() -> ttvm::RunConfig {
    ttvm::RunConfig {
        max_processes: GENERATED_MAX_PROCESSES,
        ..config()
    }
}

/// [`generated_config`] on [`SMP_SCHEDULERS`] schedulers (not pinned).
pub fn smp_config() -> ttvm::RunConfig {
    ttvm::RunConfig {
        schedulers: SMP_SCHEDULERS,
        ..generated_config()
    }
}

/// Wall-clock time a run may go without ending or printing before it
/// counts as a hang. The reduction limit stops every run long before (a
/// limited run takes well under a second natively); generated programs wait
/// at most a few short timers.
pub const HANG_LIMIT: Duration = Duration::from_secs(20);

/// Wall-clock time any run may take. Longer than [`HANG_LIMIT`] because a
/// reduction costs one instruction, not one unit of work: PRINT of a list
/// that grows every round prints O(n²) bytes in O(n) reductions (a fuzzed
/// input printed 140 MB within the limit: 5 s natively in a debug build,
/// over 20 s under the address sanitizer on a loaded machine).
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Exit status allowed for a program whose `EXIT`s give `exit_codes`.
fn check_status(result: &ttvm::RunResult, exit_codes: &[i32]) {
    assert!(
        matches!(result.exit_code, 0 | 1 | 4) || exit_codes.contains(&result.exit_code),
        "unexpected exit status {}",
        result.exit_code
    );
    if result.hit_reduction_limit {
        assert_eq!(result.exit_code, ttvm::EXIT_ABNORMAL);
    }
}

/// What a run printed: its length, a hash of all of it and its first
/// [`HEAD`] bytes (for reports), so a run that prints gigabytes costs no
/// memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Printed {
    pub len: u64,
    pub hash: u64,
    pub head: Vec<u8>,
}

const HEAD: usize = 4096;

/// How a checked run ended.
pub struct Checked {
    pub result: ttvm::RunResult,
    pub stdout: Printed,
}

/// Only one oracle run at a time in a process, so the count of live process
/// contexts after a run is that run's (`cargo test` runs tests in threads).
static ONE_RUN: Mutex<()> = Mutex::new(());

/// Run `program` with `config`, sandboxed, empty stdin, stderr thrown away
/// and stdout summarised. Checks: the run ends within [`RUN_LIMIT`] and
/// never goes [`HANG_LIMIT`] without ending or printing, does not panic, and leaves no process context alive (every process of the
/// run, ended, killed or blocked forever, is freed).
pub fn run_checked(program: impl Into<Arc<ttvm::Program>>, config: ttvm::RunConfig) -> Checked {
    let program = program.into();
    let _one = ONE_RUN.lock().unwrap_or_else(|e| e.into_inner());
    let live = ttvm::exec::live_contexts();
    let stdout = Arc::new(Mutex::new(Summary::default()));
    let stderr = Arc::new(AtomicU64::new(0));
    let io = ttvm::Io {
        stdout: Box::new(Shared(stdout.clone())),
        stderr: Box::new(Bounded(stderr.clone())),
        stdin: Box::new(io::empty()),
    };
    let (tx, rx) = mpsc::channel();
    let runner = std::thread::Builder::new()
        .name("oracle-run".into())
        .spawn(move || {
            let _ = tx.send(ttvm::run(program, config, io));
        })
        .expect("a thread for the run");
    let started = Instant::now();
    // Bytes printed so far (stdout and stderr: DUMP_SCOPE of a big value
    // in a loop writes only to stderr, up to 64 KiB a time), and when that
    // last grew.
    let mut progress = (0u64, Instant::now());
    let result = loop {
        match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(r) => break r,
            Err(RecvTimeoutError::Timeout) => {
                let printed = stdout.lock().unwrap_or_else(|e| e.into_inner()).len
                    + stderr.load(Ordering::Relaxed);
                if printed != progress.0 {
                    progress = (printed, Instant::now());
                }
                assert!(
                    progress.1.elapsed() < HANG_LIMIT,
                    "the run neither ended nor printed for {HANG_LIMIT:?}"
                );
                assert!(
                    started.elapsed() < RUN_LIMIT,
                    "the run did not end within {RUN_LIMIT:?} ({printed} bytes printed)"
                );
            }
            Err(RecvTimeoutError::Disconnected) => {
                // The run panicked: show its panic.
                match runner.join() {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(()) => unreachable!("the runner sends before it ends"),
                }
            }
        }
    };
    let _ = runner.join();
    assert_eq!(
        ttvm::exec::live_contexts(),
        live,
        "process contexts leaked by the run"
    );
    let s = stdout.lock().unwrap_or_else(|e| e.into_inner());
    Checked {
        result,
        stdout: Printed {
            len: s.len,
            hash: s.hasher.finish(),
            head: s.head.clone(),
        },
    }
}

#[derive(Default)]
struct Summary {
    len: u64,
    hasher: std::collections::hash_map::DefaultHasher,
    head: Vec<u8>,
}

/// A stdout that keeps a [`Summary`] of what is written.
struct Shared(Arc<Mutex<Summary>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.len += buf.len() as u64;
        s.hasher.write(buf);
        let room = HEAD.saturating_sub(s.head.len()).min(buf.len());
        s.head.extend_from_slice(&buf[..room]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that counts what is written (the run's progress, read by
/// [`run_checked`]) but keeps nothing.
struct Bounded(Arc<AtomicU64>);

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The `framing` target: the socket framing parser (issue 16,
/// `ttvm_runtime::net::framing`) on any bytes cut into pieces anywhere.
/// Byte 0 picks the framing (raw, line, 4-byte length) and text or bytes,
/// byte 1 the packet limit (1..=64), byte 2 the raw read size (0..=7);
/// the rest, in pieces whose lengths come from the bytes themselves, is
/// what the peer sends. Checks: no panic; packets come out in order and
/// are exactly the stream (framed again for `4`), none longer than the
/// limit; lines end with `\n` except the last at the end of the stream;
/// after an error nothing is lost silently (the error is the end); the
/// buffer never holds more than what was pushed and not handed out.
pub fn framing(data: &[u8]) {
    use ttvm_runtime::net::framing::{Framer, Packet};
    if data.len() < 3 {
        return;
    }
    let packet = match data[0] % 3 {
        0 => Packet::Raw,
        1 => Packet::Line,
        _ => Packet::Len4,
    };
    let text = data[0] & 0x80 != 0;
    let limit = 1 + (data[1] % 64) as usize;
    let max = (data[2] % 8) as usize;
    let stream = &data[3..];
    let mut f = Framer::new(packet, text, limit);
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut pushed = 0usize;
    let mut at = 0usize;
    let mut failed = false;
    let pull = |f: &mut Framer, eof: bool, out: &mut Vec<Vec<u8>>| -> bool {
        loop {
            match f.next(max, eof) {
                Ok(Some(p)) => {
                    if packet != Packet::Raw {
                        assert!(p.len() <= limit + 1, "a packet longer than the limit");
                    }
                    if packet == Packet::Raw && max > 0 && !text {
                        assert!(p.len() <= max, "a raw read longer than asked");
                    }
                    out.push(p);
                }
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    };
    while at < stream.len() && !failed {
        let n = 1 + (stream[at] as usize % 7);
        let piece = &stream[at..(at + n).min(stream.len())];
        at += piece.len();
        f.push(piece);
        pushed += piece.len();
        let given: usize = out.iter().map(Vec::len).sum();
        assert!(f.buffered() <= pushed - given.min(pushed) + 4 * out.len());
        failed = !pull(&mut f, false, &mut out);
    }
    if !failed {
        failed = !pull(&mut f, true, &mut out);
    }
    // What came out is the stream's beginning (all of it without an error).
    let mut again = Vec::new();
    for (i, p) in out.iter().enumerate() {
        match packet {
            Packet::Len4 => Framer::frame(packet, p, &mut again).unwrap(),
            Packet::Line => {
                let last = i + 1 == out.len();
                assert!(
                    p.ends_with(b"\n") || (last && !failed),
                    "a line without its end"
                );
                again.extend_from_slice(p);
            }
            Packet::Raw => again.extend_from_slice(p),
        }
    }
    assert!(stream.starts_with(&again), "the packets are not the stream");
    if !failed && packet != Packet::Len4 {
        assert_eq!(again.len(), stream.len(), "bytes lost without an error");
    }
}

/// The node the `terms` target converts for: a PID of `fuzz@host` with
/// creation 1 is a local PID (an Int).
struct TermNode;

impl ttvm_runtime::dist::term::NodeCtx for TermNode {
    fn node_name(&self) -> &str {
        "fuzz@host"
    }
    fn creation(&self) -> u32 {
        1
    }
}

/// Equal and of the same kinds (`EQ` takes 1 for 1.0, and NaN for unequal
/// to itself; no term makes a NaN).
fn same_value(a: &ttvm_runtime::Value, b: &ttvm_runtime::Value) -> bool {
    use ttvm_runtime::Value;
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same_value(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((k, p), (j, q))| k == j && same_value(p, q))
        }
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Int(_), Value::Float(_)) | (Value::Float(_), Value::Int(_)) => false,
        _ => a.equals(b),
    }
}

/// The `terms` target: the guarded decoder of Erlang's external term
/// format and the conversion to values (issue 17, `ttvm_runtime::dist::
/// term`) on any bytes. Byte 0 even: the rest is one term (`decode`); odd:
/// a frame's payload, terms back to back (`check_terms`, `decode_all`).
/// Checks: no panic, no abort (a huge allocation or a stack overflow is an
/// abort libFuzzer reports; `-rss_limit_mb`/`-malloc_limit_mb` bound the
/// memory); `check_terms` and `decode_all` agree; every term that decodes
/// and converts to a value converts back to a term, whose bytes decode and
/// convert to the same value (kinds, field order and all), and print; an
/// exit reason always converts.
pub fn terms(data: &[u8]) {
    use ttvm_runtime::dist::term;
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let ctx = TermNode;
    let decoded = if mode % 2 == 0 {
        term::decode(bytes).map(|t| vec![t])
    } else {
        let spans = term::check_terms(bytes);
        let all = term::decode_all(bytes);
        if let (Ok(s), Ok(a)) = (&spans, &all) {
            assert_eq!(s.len(), a.len(), "check_terms and decode_all disagree");
        }
        assert!(
            spans.is_ok() || all.is_err(),
            "decode_all took what check_terms refused"
        );
        all
    };
    let Ok(terms) = decoded else {
        return;
    };
    for t in terms {
        let _ = t.to_string();
        let reason = term::reason_from_term(t.clone(), &ctx);
        let _ = reason.to_string();
        let Ok(v) = term::from_term(t, &ctx) else {
            continue;
        };
        let _ = v.to_string();
        let back = term::to_term(&v, &ctx)
            .unwrap_or_else(|e| panic!("a received value does not convert back: {e}"));
        let bytes = term::encode(&back).expect("a converted term encodes");
        let again = term::decode(&bytes)
            .unwrap_or_else(|e| panic!("ttvm's own encoding does not decode: {e}"));
        let v2 = term::from_term(again, &ctx)
            .unwrap_or_else(|e| panic!("ttvm's own term does not convert: {e}"));
        assert!(same_value(&v, &v2), "{v} came back as {v2}");
    }
}
