//! Scheduler stress tests (issue #4, item 4). Each workload is a .ttvm
//! program (below) run by the `ttvm` binary with `-S 2`, `-S 4` and `-S 8`
//! — more scheduler threads than cores is part of the test. The program
//! checks its own invariants (counts, per-sender sequence numbers, exactly
//! one DOWN/EXIT per process) and prints a summary line, which the test
//! compares; a lost message or signal shows as a wrong count, or as a hang
//! that ends in the VM's deadlock exit (status 4) or in the timeout here.
//!
//! All sizes are the issue's, always on (in a debug build each run takes a
//! few seconds of CPU):
//!
//! | test | workload |
//! |---|---|
//! | `messages_*` | 10,000 processes each send 100 messages to random peers |
//! | `exit_storm_*` | 1,000 processes linked to and monitored by main, and monitored by 4 watchers, crash at once; 10 rounds |
//! | `link_cascade_*` | 1,000 processes linked to 10 hubs: half crash at once, links take down the rest; trappers and unlinked processes live on; 10 rounds |
//! | `churn_*` | 1,000,000 processes spawned and ended, then the live count is back to 1 (main) |
//! | `churn_frees_every_context` | 100,000 processes in-process (`ttvm::run`): no process context is left after the run |
//! | `unlink_*`, `unlink_trapping_*`, `relink_*`, `demonitor_*` | 300 rounds: a tester UNLINKs / DEMONITORs 16 children that end at once; nothing from a child arrives after its UNLINK / DEMONITOR returned; a LINK right after UNLINK gets exactly one EXIT (issue 12) |
//! | `timers_pending_*` | 2,000 times, a child waits 1 ms in RECEIVE_AFTER while main waits in RECEIVE (and busy threads load every core): not a deadlock |
//!
//! `TTVM_STRESS_REPEAT=n cargo test --release --test stress` runs each
//! program n times (to hunt rare races); `TTVM_STRESS_BIN=path` runs
//! another `ttvm` binary.

mod common;

use common::Ttvm;
use std::path::PathBuf;
use std::time::Duration;

/// A run that takes longer than this is a hang.
const TIMEOUT: Duration = Duration::from_secs(180);

struct Output {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    seconds: f64,
}

fn repeat() -> usize {
    std::env::var("TTVM_STRESS_REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// The binary under test: this build's ([`common::binary`]), or
/// `TTVM_STRESS_BIN` (e.g. to run these tests against a release or an
/// older build).
fn ttvm() -> Ttvm {
    match std::env::var_os("TTVM_STRESS_BIN") {
        Some(bin) => Ttvm::new().binary(bin),
        None => Ttvm::new(),
    }
}

/// Run `text` (saved as `<tag>.ttvm` in the target's scratch folder) with
/// `flags`, passing `args` to the program; stdout and stderr are read as
/// they come, so a program that prints a lot (crash reports) never blocks
/// on a pipe.
fn run_ttvm(tag: &str, text: &str, flags: &[&str], args: &[&str]) -> Output {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stress");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.ttvm"));
    std::fs::write(&path, text).unwrap();
    let r = ttvm()
        .args(flags)
        .arg(&path)
        .arg("--")
        .args(args)
        .timeout(TIMEOUT)
        .report_timeout()
        .run();
    if r.note
        .as_deref()
        .is_some_and(|n| n.starts_with("timed out"))
    {
        panic!(
            "HANG: `ttvm {} {} -- {}` still running after {:?}\nstdout:\n{}\nstderr (end):\n{}",
            flags.join(" "),
            path.display(),
            args.join(" "),
            TIMEOUT,
            r.stdout,
            tail(&r.stderr)
        );
    }
    Output {
        status: r.status,
        stdout: r.stdout,
        stderr: r.stderr,
        seconds: r.elapsed.as_secs_f64(),
    }
}

/// The end of a long stderr, without the crash reports the storms print
/// on purpose.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            !(l.starts_with("error: process ")
                || l.starts_with("  at ")
                || l.starts_with("  call stack")
                || l.starts_with("    <process"))
        })
        .collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Run `program` with `-S schedulers` (and `extra` flags) `repeat()` times;
/// each run must exit 0 and print `expected` as its first line, and
/// nothing else unless `more_lines` (lines the test does not compare).
fn check(
    name: &str,
    program: &str,
    schedulers: usize,
    extra: &[&str],
    args: &[&str],
    expected: &str,
    more_lines: bool,
) {
    let s = schedulers.to_string();
    let mut flags = vec!["-S", s.as_str()];
    flags.extend_from_slice(extra);
    for i in 0..repeat() {
        let tag = format!("{name}_s{schedulers}");
        let out = run_ttvm(&tag, program, &flags, args);
        let what = format!(
            "{name} with -S {schedulers} (run {}): `ttvm {} {tag}.ttvm -- {}` in {:.1} s",
            i + 1,
            flags.join(" "),
            args.join(" "),
            out.seconds
        );
        let first = out.stdout.lines().next().unwrap_or("");
        let ok = out.status == Some(0)
            && first == expected
            && (more_lines || out.stdout.lines().count() == 1)
            && !out.stderr.contains("panicked");
        assert!(
            ok,
            "{what}\nexit status {:?} (4 = deadlock: something waits for a lost message)\nexpected first line: {expected}\nstdout:\n{}\nstderr (end):\n{}",
            out.status,
            out.stdout,
            tail(&out.stderr)
        );
    }
}

macro_rules! modes {
    ($check:ident: $($name:ident = $n:expr),*) => {
        $(
            #[test]
            fn $name() {
                $check($n);
            }
        )*
    };
}

// ---------------------------------------------------------------------
// 10,000 processes x 100 messages to random peers

fn messages(schedulers: usize) {
    check(
        "messages",
        MESSAGES,
        schedulers,
        &[],
        &["10000", "100", "16"],
        "received 1000000 of 1000000, errors 0",
        false,
    );
}

modes!(messages: messages_s2 = 2, messages_s4 = 4, messages_s8 = 8);

// ---------------------------------------------------------------------
// 1,000 linked and monitored processes crash at once

fn exit_storm(schedulers: usize) {
    check(
        "exit_storm",
        EXIT_STORM,
        schedulers,
        &[],
        &["1000", "4", "10"],
        // 10 rounds: 1,000 EXITs to main and 5 x 1,000 DOWNs (main and
        // the 4 watchers) each
        "storm: 10000 crashed, EXIT 10000, DOWN 50000, errors 0",
        false,
    );
}

modes!(exit_storm: exit_storm_s2 = 2, exit_storm_s4 = 4, exit_storm_s8 = 8);

// ---------------------------------------------------------------------
// Exit signals cascading through links: who must die dies, who must
// live lives

fn link_cascade(schedulers: usize) {
    check(
        "link_cascade",
        LINK_CASCADE,
        schedulers,
        &[],
        &["1000", "10", "10", "10", "10"],
        // 10 rounds: 10 hubs + 1,000 workers go down, 10 trappers (each
        // trapping 10 EXITs) and 10 unlinkers live on
        "cascade: DOWN 10100 of 10100, survivors 200 of 200, trapped EXIT 1000, errors 0",
        false,
    );
}

modes!(link_cascade: link_cascade_s2 = 2, link_cascade_s4 = 4, link_cascade_s8 = 8);

// ---------------------------------------------------------------------
// Spawn/exit churn of 1,000,000 processes; the live count comes back

fn churn(schedulers: usize) {
    check(
        "churn",
        CHURN,
        schedulers,
        &["--max-processes", "2048"],
        &["1000000", "4", "250", "2048"],
        "churn: 1000000 of 1000000 processes, 2047 waiters fit afterwards, errors 0",
        // the second line says how often a spawn at the limit had to be
        // retried (a process that just ended leaves the count a moment
        // after its DOWN/EXIT is sent)
        true,
    );
}

modes!(churn: churn_s2 = 2, churn_s4 = 4, churn_s8 = 8);

/// The same churn in this process: afterwards no process context exists.
/// (The only test of this binary that runs a VM in-process, so the global
/// context count is not disturbed by another run.)
#[test]
fn churn_frees_every_context() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let program = Arc::new(
        ttvm::load_source("churn.ttvm", CHURN).unwrap_or_else(|e| panic!("{}", e.render())),
    );
    for schedulers in [2, 8] {
        let out = Shared::default();
        let io = ttvm::Io {
            stdout: Box::new(out.clone()),
            stderr: Box::new(std::io::sink()),
            stdin: Box::new(std::io::empty()),
        };
        let config = ttvm::RunConfig {
            schedulers,
            max_processes: 1024,
            args: ["100000", "4", "100", "1024"].map(String::from).to_vec(),
            ..Default::default()
        };
        let r = ttvm::run(program.clone(), config, io);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(r.exit_code, 0, "-S {schedulers}: {text}");
        assert_eq!(
            text.lines().next(),
            Some("churn: 100000 of 100000 processes, 1023 waiters fit afterwards, errors 0"),
            "-S {schedulers}"
        );
        assert_eq!(
            ttvm::exec::live_contexts(),
            0,
            "-S {schedulers}: process contexts left after the run"
        );
    }
}

// ---------------------------------------------------------------------
// Pending timers keep the run alive: while the only thing that can happen
// is a timer firing, the VM must wait for it, not declare a deadlock

fn timers_pending(schedulers: usize) {
    // The race this guards against needs a worker thread to be preempted
    // at the wrong moment: keep every core busy meanwhile.
    let _load = CpuLoad::start();
    check(
        "timers_pending",
        TIMERS_PENDING,
        schedulers,
        &[],
        &["2000", "1"],
        "rounds 2000",
        false,
    );
}

/// Busy threads, one per core, until dropped.
struct CpuLoad {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuLoad {
    fn start() -> CpuLoad {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                    }
                })
            })
            .collect();
        CpuLoad { stop, threads }
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

modes!(
    timers_pending: timers_pending_s2 = 2,
    timers_pending_s4 = 4,
    timers_pending_s8 = 8
);

// ---------------------------------------------------------------------
// UNLINK and DEMONITOR against exits already on their way (issue 12,
// findings 2 and 3): once they return, no exit signal or DOWN from that
// link or monitor reaches the caller. Before the fix every run at -S 4
// failed (10 of 10 in each mode: 260-272 of 300 testers killed after
// UNLINK returned, 36-69 late EXITs, 64-83 late DOWNs; relink: 56 rounds
// with a second EXIT). `relink` (UNLINK, then LINK again at once: exactly
// one EXIT, along the new link or `noproc`) failed in 1 of 5 runs with
// only the K2 check (without U1's mark); loom's `relink_races_exit`
// finds that every time.

fn signal_order(mode: &str, schedulers: usize) {
    check(
        &format!("unlink_demonitor_{mode}"),
        UNLINK_DEMONITOR,
        schedulers,
        &[],
        &["300", mode, "64", "16"],
        &format!("{mode}: 300 rounds, late 0, errors 0"),
        // the second line counts the testers a signal ended before their
        // UNLINK returned (allowed; varies)
        true,
    );
}

fn unlink(schedulers: usize) {
    signal_order("link", schedulers);
}

fn unlink_trapping(schedulers: usize) {
    signal_order("trap", schedulers);
}

fn relink(schedulers: usize) {
    signal_order("relink", schedulers);
}

fn demonitor(schedulers: usize) {
    signal_order("monitor", schedulers);
}

modes!(unlink: unlink_s2 = 2, unlink_s4 = 4, unlink_s8 = 8);
modes!(unlink_trapping: unlink_trapping_s2 = 2, unlink_trapping_s4 = 4, unlink_trapping_s8 = 8);
modes!(relink: relink_s2 = 2, relink_s4 = 4, relink_s8 = 8);
modes!(demonitor: demonitor_s2 = 2, demonitor_s4 = 4, demonitor_s8 = 8);

// ---------------------------------------------------------------------
// The programs

const MESSAGES: &str = include_str!("stress/messages.ttvm");

const EXIT_STORM: &str = include_str!("stress/exit_storm.ttvm");

const LINK_CASCADE: &str = include_str!("stress/link_cascade.ttvm");

const CHURN: &str = include_str!("stress/churn.ttvm");

const TIMERS_PENDING: &str = include_str!("stress/timers_pending.ttvm");

const UNLINK_DEMONITOR: &str = include_str!("stress/unlink_demonitor.ttvm");
