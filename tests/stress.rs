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
//! | `timers_pending_*` | 2,000 times, a child waits 1 ms in RECEIVE_AFTER while main waits in RECEIVE (and busy threads load every core): not a deadlock |
//!
//! `TTVM_STRESS_REPEAT=n cargo test --release --test stress` runs each
//! program n times (to hunt rare races); `TTVM_STRESS_BIN=path` runs
//! another `ttvm` binary.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// The binary under test: this build's, or `TTVM_STRESS_BIN` (e.g. to run
/// these tests against a release or an older build).
fn ttvm_binary() -> std::ffi::OsString {
    std::env::var_os("TTVM_STRESS_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_ttvm").into())
}

/// Run `text` (saved as `<tag>.ttvm` in the target's scratch folder) with
/// `flags`, passing `args` to the program; stdout and stderr go to files,
/// so a program that prints a lot (crash reports) never blocks on a pipe.
fn run_ttvm(tag: &str, text: &str, flags: &[&str], args: &[&str]) -> Output {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stress");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.ttvm"));
    std::fs::write(&path, text).unwrap();
    let out_path = dir.join(format!("{tag}.out"));
    let err_path = dir.join(format!("{tag}.err"));
    let started = Instant::now();
    let mut child = Command::new(ttvm_binary())
        .args(flags)
        .arg(&path)
        .arg("--")
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start ttvm");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            panic!(
                "HANG: `ttvm {} {} -- {}` still running after {:?}\nstdout:\n{}\nstderr (end):\n{}",
                flags.join(" "),
                path.display(),
                args.join(" "),
                TIMEOUT,
                std::fs::read_to_string(&out_path).unwrap_or_default(),
                tail(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status: status.code(),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        seconds: started.elapsed().as_secs_f64(),
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
// The programs

const MESSAGES: &str = r##"; Message storm: N processes each send M messages to random peers.
; Arguments: N M W. Peer j of process i is drawn by a per-process LCG among
; the W processes after it (i+1 .. i+W, mod N), so each receiver keeps one
; expected sequence number per possible sender: a message [s, k, 0] from
; sender s must carry exactly the number of messages s sent to it before
; (no loss, no duplicate, per-sender order). After its M messages a sender
; sends [s, count, 1] to each of its W peers; a receiver ends when it has W
; of them, each with the count it received. Main sums the reports.
GET_ARGS
STORE args
LOAD args
PUSH_INT 0
INDEX
TO_INT
STORE n
LOAD args
PUSH_INT 1
INDEX
TO_INT
STORE m
LOAD args
PUSH_INT 2
INDEX
TO_INT
STORE w
MAKE_FUNCTION worker
STORE f
MAKE_LIST 0
STORE pids
PUSH_INT 0
STORE i
LABEL spawn_loop
LOAD pids
LOAD f
SPAWN
APPEND
STORE pids
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD n
LT
JNZ spawn_loop
; go: ["go", pids, main, index, n, m, w]
PUSH_INT 0
STORE i
LABEL go_loop
PUSH_STR "go"
LOAD pids
SELF
LOAD i
LOAD n
LOAD m
LOAD w
MAKE_LIST 7
LOAD pids
LOAD i
INDEX
SEND
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD n
LT
JNZ go_loop
; collect [index, received, errors]
PUSH_INT 0
STORE total
PUSH_INT 0
STORE errors
PUSH_INT 0
STORE i
LABEL collect
RECEIVE
STORE r
LOAD total
LOAD r
PUSH_INT 1
INDEX
ADD
STORE total
LOAD errors
LOAD r
PUSH_INT 2
INDEX
ADD
STORE errors
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD n
LT
JNZ collect
PUSH_STR "received "
LOAD total
CONCAT
PUSH_STR " of "
CONCAT
LOAD n
LOAD m
MUL
CONCAT
PUSH_STR ", errors "
CONCAT
LOAD errors
CONCAT
PRINT
HALT

LABEL worker
PUSH_STR "go"
NULL
NULL
NULL
NULL
NULL
NULL
MAKE_LIST 7
RECEIVE_MATCH
STORE go
LOAD go
PUSH_INT 1
INDEX
STORE pids
LOAD go
PUSH_INT 2
INDEX
STORE main
LOAD go
PUSH_INT 3
INDEX
STORE me
LOAD go
PUSH_INT 4
INDEX
STORE n
LOAD go
PUSH_INT 5
INDEX
STORE m
LOAD go
PUSH_INT 6
INDEX
STORE w
; cnt[d]: messages sent to peer me+1+d; exp[o]: next sequence number
; expected from sender me-1-o (-1 once its end marker came)
MAKE_LIST 0
STORE cnt
PUSH_INT 0
STORE i
LABEL zero_loop
LOAD cnt
PUSH_INT 0
APPEND
STORE cnt
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD w
LT
JNZ zero_loop
LOAD cnt
STORE exp
LOAD me
PUSH_INT 7919
MUL
PUSH_INT 104729
ADD
STORE x
PUSH_INT 0
STORE k
PUSH_INT 0
STORE got
PUSH_INT 0
STORE ends
PUSH_INT 0
STORE errors
LABEL step
LOAD k
LOAD m
LT
JZ send_ends
; x = (x * 1103515245 + 12345) mod 2^31; d = (x / 65536) mod w
LOAD x
PUSH_INT 1103515245
MUL
PUSH_INT 12345
ADD
PUSH_INT 2147483648
MOD
DUP
STORE x
PUSH_INT 65536
DIV
LOAD w
MOD
STORE d
; [me, cnt[d], 0] to pids[(me + 1 + d) mod n]; cnt[d] += 1
LOAD me
LOAD cnt
LOAD d
INDEX
DUP
STORE seq
PUSH_INT 0
MAKE_LIST 3
LOAD pids
LOAD me
LOAD d
ADD
PUSH_INT 1
ADD
LOAD n
MOD
INDEX
SEND
LOAD cnt
LOAD d
LOAD seq
PUSH_INT 1
ADD
SET_INDEX
STORE cnt
LOAD k
PUSH_INT 1
ADD
STORE k
PUSH_INT 0
RECEIVE_AFTER
JNZ handle
POP
JMP step
LABEL send_ends
LOAD k
LOAD m
EQ
JZ wait
PUSH_INT 0
STORE d
LABEL end_loop
LOAD me
LOAD cnt
LOAD d
INDEX
PUSH_INT 1
MAKE_LIST 3
LOAD pids
LOAD me
LOAD d
ADD
PUSH_INT 1
ADD
LOAD n
MOD
INDEX
SEND
LOAD d
PUSH_INT 1
ADD
DUP
STORE d
LOAD w
LT
JNZ end_loop
LOAD k
PUSH_INT 1
ADD
STORE k
LABEL wait
LOAD ends
LOAD w
LT
JZ finish
RECEIVE
LABEL handle
; a message [s, k, end]; o = (me - s + n) mod n - 1 must be in 0..w-1
STORE msg
LOAD me
LOAD msg
PUSH_INT 0
INDEX
SUB
LOAD n
ADD
LOAD n
MOD
PUSH_INT 1
SUB
DUP
STORE o
PUSH_INT 0
LT
LOAD o
LOAD w
GE
OR
JNZ bad
LOAD msg
PUSH_INT 1
INDEX
LOAD exp
LOAD o
INDEX
NE
JNZ bad
LOAD msg
PUSH_INT 2
INDEX
JNZ got_end
LOAD exp
LOAD o
LOAD msg
PUSH_INT 1
INDEX
PUSH_INT 1
ADD
SET_INDEX
STORE exp
LOAD got
PUSH_INT 1
ADD
STORE got
JMP step
LABEL got_end
LOAD exp
LOAD o
PUSH_INT -1
SET_INDEX
STORE exp
LOAD ends
PUSH_INT 1
ADD
STORE ends
JMP step
LABEL bad
LOAD errors
PUSH_INT 1
ADD
STORE errors
JMP step
LABEL finish
LOAD me
LOAD got
LOAD errors
MAKE_LIST 3
LOAD main
SEND
RET
"##;

const EXIT_STORM: &str = r##"; Exit storm: N processes linked to main (which traps exits) and
; monitored by main and by K watcher processes crash at once, R rounds.
; Arguments: N K R. Every EXIT and every DOWN must arrive exactly once,
; with the crash reason. Even workers THROW, odd ones EXIT_PROCESS
; themselves; both end with reason "boom".
GET_ARGS
STORE args
LOAD args
PUSH_INT 0
INDEX
TO_INT
STORE n
LOAD args
PUSH_INT 1
INDEX
TO_INT
STORE k
LOAD args
PUSH_INT 2
INDEX
TO_INT
STORE rounds
TRUE
TRAP_EXIT
PUSH_INT 0
STORE errors
PUSH_INT 0
STORE exits_total
PUSH_INT 0
STORE downs_total
PUSH_INT 0
STORE round
LABEL round_loop
; the watchers
MAKE_LIST 0
STORE watchers
PUSH_INT 0
STORE i
LABEL spawn_watchers
LOAD watchers
MAKE_FUNCTION watcher
SPAWN
APPEND
STORE watchers
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD k
LT
JNZ spawn_watchers
; the workers: linked and monitored; their PIDs must be consecutive
MAKE_LIST 0
STORE pids
MAKE_LIST 0
STORE seen_exit
PUSH_INT 0
STORE i
LABEL spawn_workers
LOAD i
MAKE_FUNCTION worker i
SPAWN_LINK
DUP
STORE p
MONITOR
POP
LOAD pids
LOAD p
APPEND
STORE pids
LOAD seen_exit
PUSH_INT 0
APPEND
STORE seen_exit
LOAD i
JNZ not_first
LOAD p
STORE first
LABEL not_first
LOAD p
LOAD first
LOAD i
ADD
NE
JZ consecutive
PUSH_STR "worker PIDs are not consecutive"
THROW
LABEL consecutive
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD n
LT
JNZ spawn_workers
LOAD seen_exit
STORE seen_down
; watchers monitor every worker, then say ready
PUSH_INT 0
STORE i
LABEL watch_loop
PUSH_STR "watch"
LOAD pids
LOAD first
SELF
MAKE_LIST 4
LOAD watchers
LOAD i
INDEX
SEND
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD k
LT
JNZ watch_loop
PUSH_INT 0
STORE i
LABEL ready_loop
PUSH_STR "ready"
NULL
MAKE_LIST 2
RECEIVE_MATCH
POP
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD k
LT
JNZ ready_loop
; crash them all
PUSH_INT 0
STORE i
LABEL go_loop
PUSH_STR "go"
LOAD pids
LOAD i
INDEX
SEND
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD n
LT
JNZ go_loop
; N EXITs, N DOWNs and K watcher reports, in any order
PUSH_INT 0
STORE exits
PUSH_INT 0
STORE downs
PUSH_INT 0
STORE reports
LABEL collect
LOAD exits
LOAD n
LT
LOAD downs
LOAD n
LT
OR
LOAD reports
LOAD k
LT
OR
JZ collected
RECEIVE
STORE msg
LOAD msg
PUSH_INT 0
INDEX
STORE tag
LOAD tag
PUSH_STR "EXIT"
EQ
JNZ on_exit
LOAD tag
PUSH_STR "DOWN"
EQ
JNZ on_down
LOAD tag
PUSH_STR "watched"
EQ
JNZ on_report
JMP bad
LABEL on_exit
LOAD exits
PUSH_INT 1
ADD
STORE exits
LOAD msg
PUSH_INT 2
INDEX
PUSH_STR "boom"
NE
JNZ bad
LOAD msg
PUSH_INT 1
INDEX
LOAD first
SUB
DUP
STORE j
PUSH_INT 0
LT
LOAD j
LOAD n
GE
OR
JNZ bad
LOAD seen_exit
LOAD j
INDEX
JNZ bad
LOAD seen_exit
LOAD j
PUSH_INT 1
SET_INDEX
STORE seen_exit
LOAD exits_total
PUSH_INT 1
ADD
STORE exits_total
JMP collect
LABEL on_down
LOAD downs
PUSH_INT 1
ADD
STORE downs
LOAD msg
PUSH_INT 3
INDEX
PUSH_STR "boom"
NE
JNZ bad
LOAD msg
PUSH_INT 2
INDEX
LOAD first
SUB
DUP
STORE j
PUSH_INT 0
LT
LOAD j
LOAD n
GE
OR
JNZ bad
LOAD seen_down
LOAD j
INDEX
JNZ bad
LOAD seen_down
LOAD j
PUSH_INT 1
SET_INDEX
STORE seen_down
LOAD downs_total
PUSH_INT 1
ADD
STORE downs_total
JMP collect
LABEL on_report
LOAD reports
PUSH_INT 1
ADD
STORE reports
LOAD errors
LOAD msg
PUSH_INT 2
INDEX
ADD
STORE errors
LOAD downs_total
LOAD msg
PUSH_INT 1
INDEX
ADD
STORE downs_total
JMP collect
LABEL bad
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "unexpected: "
LOAD msg
CONCAT
PRINT
JMP collect
LABEL collected
; nothing more may come
PUSH_INT 20
RECEIVE_AFTER
JZ quiet
STORE msg
JMP bad
LABEL quiet
POP
LOAD round
PUSH_INT 1
ADD
DUP
STORE round
LOAD rounds
LT
JNZ round_loop
PUSH_STR "storm: "
LOAD rounds
LOAD n
MUL
CONCAT
PUSH_STR " crashed, EXIT "
CONCAT
LOAD exits_total
CONCAT
PUSH_STR ", DOWN "
CONCAT
LOAD downs_total
CONCAT
PUSH_STR ", errors "
CONCAT
LOAD errors
CONCAT
PRINT
HALT

LABEL worker
RECEIVE
POP
LOAD i
PUSH_INT 2
MOD
JNZ odd
PUSH_STR "boom"
THROW
LABEL odd
SELF
PUSH_STR "boom"
EXIT_PROCESS
PUSH_STR "EXIT_PROCESS self returned"
PRINT

; ["watch", pids, first, main]: monitor all, say ready, count the DOWNs
; (each exactly once, reason "boom"), then report ["watched", count, errors]
LABEL watcher
PUSH_STR "watch"
NULL
NULL
NULL
MAKE_LIST 4
RECEIVE_MATCH
STORE w
LOAD w
PUSH_INT 1
INDEX
STORE pids
LOAD w
PUSH_INT 2
INDEX
STORE first
LOAD w
PUSH_INT 3
INDEX
STORE main
LOAD pids
LEN
STORE n
MAKE_LIST 0
STORE seen
PUSH_INT 0
STORE i
LABEL w_monitor
LOAD pids
LOAD i
INDEX
MONITOR
POP
LOAD seen
PUSH_INT 0
APPEND
STORE seen
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD n
LT
JNZ w_monitor
PUSH_STR "ready"
SELF
MAKE_LIST 2
LOAD main
SEND
PUSH_INT 0
STORE count
PUSH_INT 0
STORE errors
LABEL w_loop
LOAD count
LOAD n
LT
JZ w_done
RECEIVE
STORE msg
LOAD count
PUSH_INT 1
ADD
STORE count
LOAD msg
PUSH_INT 0
INDEX
PUSH_STR "DOWN"
NE
JNZ w_bad
LOAD msg
PUSH_INT 3
INDEX
PUSH_STR "boom"
NE
JNZ w_bad
LOAD msg
PUSH_INT 2
INDEX
LOAD first
SUB
DUP
STORE j
PUSH_INT 0
LT
LOAD j
LOAD n
GE
OR
JNZ w_bad
LOAD seen
LOAD j
INDEX
JNZ w_bad
LOAD seen
LOAD j
PUSH_INT 1
SET_INDEX
STORE seen
JMP w_loop
LABEL w_bad
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "watcher got unexpected: "
LOAD msg
CONCAT
PRINT
JMP w_loop
LABEL w_done
PUSH_INT 20
RECEIVE_AFTER
JZ w_quiet
STORE msg
LOAD count
PUSH_INT 1
ADD
STORE count
JMP w_bad
LABEL w_quiet
POP
PUSH_STR "watched"
LOAD count
LOAD errors
SUB
LOAD errors
MAKE_LIST 3
LOAD main
SEND
RET
"##;

const LINK_CASCADE: &str = r##"; Link cascade: N workers are each linked to the same H hubs (none traps
; exits); every even worker crashes at once, and the hubs carry the exit
; to the odd ones. T trappers linked to every hub must each get one EXIT
; per hub and live on; U processes that linked to every hub and unlinked
; again must hear nothing and live on (half of them trap exits, half do
; not). Main monitors everyone: each hub and worker must send exactly one
; DOWN, with reason "boom", and no trapper or unlinker may go down.
; (Main's report request may overtake a hub's EXIT to a trapper: signals
; from different senders have no order. So a trapper answers once it has
; its H EXITs; a lost one shows as "no answer" after 5 s.)
; Arguments: N H T U R (R rounds).
GET_ARGS
STORE args
LOAD args
PUSH_INT 0
INDEX
TO_INT
STORE n
LOAD args
PUSH_INT 1
INDEX
TO_INT
STORE h
LOAD args
PUSH_INT 2
INDEX
TO_INT
STORE t
LOAD args
PUSH_INT 3
INDEX
TO_INT
STORE u
LOAD args
PUSH_INT 4
INDEX
TO_INT
STORE rounds
; everyone this round: hubs, trappers, unlinkers, workers, spawned in that
; order with consecutive PIDs first .. first+total-1
LOAD h
LOAD t
ADD
LOAD u
ADD
LOAD n
ADD
STORE total
PUSH_INT 0
STORE errors
PUSH_INT 0
STORE downs_total
PUSH_INT 0
STORE exits_total
PUSH_INT 0
STORE survivors_total
PUSH_INT 0
STORE round
LABEL round_loop
MAKE_LIST 0
STORE pids
MAKE_LIST 0
STORE seen
PUSH_INT 0
STORE i
LABEL spawn_loop
LOAD i
LOAD h
LT
JZ not_hub
MAKE_FUNCTION hub
JMP spawn_it
LABEL not_hub
LOAD i
LOAD h
LOAD t
ADD
LT
JZ not_trapper
MAKE_FUNCTION trapper
JMP spawn_it
LABEL not_trapper
LOAD i
LOAD h
LOAD t
ADD
LOAD u
ADD
LT
JZ not_unlinker
LOAD i
PUSH_INT 2
MOD
MAKE_FUNCTION unlinker trap
JMP spawn_it
LABEL not_unlinker
LOAD i
PUSH_INT 2
DIV
PUSH_INT 2
MOD
MAKE_FUNCTION worker odd
LABEL spawn_it
SPAWN
DUP
STORE p
MONITOR
POP
LOAD pids
LOAD p
APPEND
STORE pids
LOAD seen
PUSH_INT 0
APPEND
STORE seen
LOAD i
JNZ not_first
LOAD p
STORE first
LABEL not_first
LOAD p
LOAD first
LOAD i
ADD
NE
JZ consecutive
PUSH_STR "PIDs are not consecutive"
THROW
LABEL consecutive
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD total
LT
JNZ spawn_loop
; hubs: the first h PIDs
MAKE_LIST 0
STORE hubs
PUSH_INT 0
STORE i
LABEL hubs_loop
LOAD hubs
LOAD pids
LOAD i
INDEX
APPEND
STORE hubs
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD h
LT
JNZ hubs_loop
; everyone but the hubs links (and unlinks) and says ready
LOAD h
STORE i
LABEL setup_loop
PUSH_STR "hubs"
LOAD hubs
SELF
MAKE_LIST 3
LOAD pids
LOAD i
INDEX
SEND
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD total
LT
JNZ setup_loop
LOAD h
STORE i
LABEL ready_loop
PUSH_STR "ready"
NULL
MAKE_LIST 2
RECEIVE_MATCH
POP
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD total
LT
JNZ ready_loop
; crash the even workers
LOAD h
LOAD t
ADD
LOAD u
ADD
STORE wfirst
LOAD wfirst
STORE i
LABEL go_loop
PUSH_STR "go"
LOAD pids
LOAD i
INDEX
SEND
LOAD i
PUSH_INT 2
ADD
DUP
STORE i
LOAD total
LT
JNZ go_loop
; h + n DOWNs, reason "boom", one per hub and worker
PUSH_INT 0
STORE downs
LABEL down_loop
LOAD downs
LOAD h
LOAD n
ADD
LT
JZ downs_done
PUSH_STR "DOWN"
NULL
NULL
NULL
MAKE_LIST 4
RECEIVE_MATCH
STORE msg
LOAD downs
PUSH_INT 1
ADD
STORE downs
LOAD msg
PUSH_INT 3
INDEX
PUSH_STR "boom"
NE
JNZ bad
LOAD msg
PUSH_INT 2
INDEX
LOAD first
SUB
DUP
STORE j
PUSH_INT 0
LT
LOAD j
LOAD total
GE
OR
JNZ bad
LOAD j
LOAD h
GE
LOAD j
LOAD wfirst
LT
AND
JNZ bad
LOAD seen
LOAD j
INDEX
JNZ bad
LOAD seen
LOAD j
PUSH_INT 1
SET_INDEX
STORE seen
LOAD downs_total
PUSH_INT 1
ADD
STORE downs_total
JMP down_loop
LABEL bad
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "unexpected: "
LOAD msg
CONCAT
PRINT
JMP down_loop
LABEL downs_done
; the survivors report: ["alive", pid, exits, errors]; 5 s to answer
LOAD h
STORE i
LABEL report_loop
PUSH_STR "report"
LOAD pids
LOAD i
INDEX
SEND
PUSH_STR "alive"
LOAD pids
LOAD i
INDEX
NULL
NULL
MAKE_LIST 4
PUSH_INT 5000
RECEIVE_MATCH_AFTER
JZ no_answer
STORE msg
LOAD survivors_total
PUSH_INT 1
ADD
STORE survivors_total
LOAD exits_total
LOAD msg
PUSH_INT 2
INDEX
ADD
STORE exits_total
LOAD errors
LOAD msg
PUSH_INT 3
INDEX
ADD
STORE errors
; a trapper must have had one EXIT per hub, an unlinker none
LOAD i
LOAD h
LOAD t
ADD
LT
JZ check_unlinker
LOAD msg
PUSH_INT 2
INDEX
LOAD h
EQ
JNZ reported
JMP bad_report
LABEL check_unlinker
LOAD msg
PUSH_INT 2
INDEX
JZ reported
LABEL bad_report
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "bad report: "
LOAD msg
CONCAT
PRINT
JMP reported
LABEL no_answer
POP
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "no answer from "
LOAD pids
LOAD i
INDEX
CONCAT
PRINT
LABEL reported
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD wfirst
LT
JNZ report_loop
; stop the survivors; their DOWNs say "normal"
LOAD h
STORE i
LABEL stop_loop
PUSH_STR "stop"
LOAD pids
LOAD i
INDEX
SEND
PUSH_STR "DOWN"
NULL
LOAD pids
LOAD i
INDEX
NULL
MAKE_LIST 4
RECEIVE_MATCH
STORE msg
LOAD msg
PUSH_INT 3
INDEX
PUSH_STR "normal"
EQ
JNZ stopped
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "survivor ended badly: "
LOAD msg
CONCAT
PRINT
LABEL stopped
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD wfirst
LT
JNZ stop_loop
; nothing more may come
PUSH_INT 20
RECEIVE_AFTER
JZ quiet
STORE msg
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "unexpected: "
LOAD msg
CONCAT
PRINT
JMP next_round
LABEL quiet
POP
LABEL next_round
LOAD round
PUSH_INT 1
ADD
DUP
STORE round
LOAD rounds
LT
JNZ round_loop
PUSH_STR "cascade: DOWN "
LOAD downs_total
CONCAT
PUSH_STR " of "
CONCAT
LOAD rounds
LOAD h
LOAD n
ADD
MUL
CONCAT
PUSH_STR ", survivors "
CONCAT
LOAD survivors_total
CONCAT
PUSH_STR " of "
CONCAT
LOAD rounds
LOAD t
LOAD u
ADD
MUL
CONCAT
PUSH_STR ", trapped EXIT "
CONCAT
LOAD exits_total
CONCAT
PUSH_STR ", errors "
CONCAT
LOAD errors
CONCAT
PRINT
HALT

; A hub waits forever (until a link takes it down).
LABEL hub
PUSH_STR "never"
RECEIVE_MATCH
RET

; ["hubs", hubs, main]: link to every hub, say ready, then wait for "go"
; (crash, if even) or for the cascade.
LABEL worker
PUSH_STR "hubs"
NULL
NULL
MAKE_LIST 3
RECEIVE_MATCH
DUP
PUSH_INT 1
INDEX
STORE hubs
PUSH_INT 2
INDEX
STORE main
PUSH_INT 0
STORE i
LABEL worker_link
LOAD hubs
LOAD i
INDEX
LINK
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD hubs
LEN
LT
JNZ worker_link
PUSH_STR "ready"
SELF
MAKE_LIST 2
LOAD main
SEND
PUSH_STR "go"
RECEIVE_MATCH
POP
LOAD odd
JNZ worker_exit
PUSH_STR "boom"
THROW
LABEL worker_exit
SELF
PUSH_STR "boom"
EXIT_PROCESS

; Traps exits, links to every hub, says ready, then takes one EXIT per hub
; (each hub exactly once, reason "boom"). Then it answers "report" with
; the number of EXITs it took (and errors), and ends on "stop"; any other
; message is an error.
LABEL trapper
TRUE
TRAP_EXIT
PUSH_STR "hubs"
NULL
NULL
MAKE_LIST 3
RECEIVE_MATCH
DUP
PUSH_INT 1
INDEX
STORE hubs
PUSH_INT 2
INDEX
STORE main
MAKE_LIST 0
STORE seen
PUSH_INT 0
STORE i
LABEL trapper_link
LOAD hubs
LOAD i
INDEX
LINK
LOAD seen
PUSH_INT 0
APPEND
STORE seen
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD hubs
LEN
LT
JNZ trapper_link
PUSH_STR "ready"
SELF
MAKE_LIST 2
LOAD main
SEND
PUSH_INT 0
STORE exits
PUSH_INT 0
STORE errors
LABEL trapper_loop
LOAD exits
LOAD hubs
LEN
LT
JZ trapper_commands
PUSH_STR "EXIT"
NULL
NULL
MAKE_LIST 3
RECEIVE_MATCH
STORE msg
LOAD exits
PUSH_INT 1
ADD
STORE exits
LOAD msg
PUSH_INT 2
INDEX
PUSH_STR "boom"
NE
JNZ trapper_bad
; which hub?
PUSH_INT 0
STORE i
LABEL trapper_find
LOAD i
LOAD hubs
LEN
GE
JNZ trapper_bad
LOAD hubs
LOAD i
INDEX
LOAD msg
PUSH_INT 1
INDEX
EQ
JNZ trapper_found
LOAD i
PUSH_INT 1
ADD
STORE i
JMP trapper_find
LABEL trapper_found
LOAD seen
LOAD i
INDEX
JNZ trapper_bad
LOAD seen
LOAD i
PUSH_INT 1
SET_INDEX
STORE seen
JMP trapper_loop
LABEL trapper_bad
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "trapper got unexpected: "
LOAD msg
CONCAT
PRINT
JMP trapper_loop
LABEL trapper_commands
RECEIVE
STORE msg
LOAD msg
PUSH_STR "report"
EQ
JNZ trapper_report
LOAD msg
PUSH_STR "stop"
EQ
JNZ trapper_stop
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "trapper got unexpected: "
LOAD msg
CONCAT
PRINT
JMP trapper_commands
LABEL trapper_report
PUSH_STR "alive"
SELF
LOAD exits
LOAD errors
MAKE_LIST 4
LOAD main
SEND
JMP trapper_commands
LABEL trapper_stop
RET

; Links to every hub and unlinks again; traps exits if `trap`. On
; "report" answers with the number of messages other than report/stop.
LABEL unlinker
LOAD trap
NOT
NOT
TRAP_EXIT
PUSH_STR "hubs"
NULL
NULL
MAKE_LIST 3
RECEIVE_MATCH
DUP
PUSH_INT 1
INDEX
STORE hubs
PUSH_INT 2
INDEX
STORE main
PUSH_INT 0
STORE i
LABEL unlinker_link
LOAD hubs
LOAD i
INDEX
LINK
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD hubs
LEN
LT
JNZ unlinker_link
PUSH_INT 0
STORE i
LABEL unlinker_unlink
LOAD hubs
LOAD i
INDEX
UNLINK
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD hubs
LEN
LT
JNZ unlinker_unlink
PUSH_STR "ready"
SELF
MAKE_LIST 2
LOAD main
SEND
PUSH_INT 0
STORE other
LABEL unlinker_loop
RECEIVE
STORE msg
LOAD msg
PUSH_STR "report"
EQ
JNZ unlinker_report
LOAD msg
PUSH_STR "stop"
EQ
JNZ unlinker_stop
LOAD other
PUSH_INT 1
ADD
STORE other
PUSH_STR "unlinker got: "
LOAD msg
CONCAT
PRINT
JMP unlinker_loop
LABEL unlinker_report
PUSH_STR "alive"
SELF
LOAD other
PUSH_INT 0
MAKE_LIST 4
LOAD main
SEND
JMP unlinker_loop
LABEL unlinker_stop
RET
"##;

const CHURN: &str = r##"; Spawn/exit churn: C churner processes spawn TOTAL processes between them,
; B at a time, and wait for one notice per child before the next batch:
; a message from the child (plain SPAWN), an ["EXIT", pid, "normal"]
; (SPAWN_LINK, the churner traps exits) or a DOWN (SPAWN then MONITOR),
; in turn. Then the live count must be back to 1 (main): run with
; --max-processes L and main fills the table with exactly L - 1 waiting
; processes, after which one more SPAWN must raise `too many processes`.
; Arguments: TOTAL C B L.
GET_ARGS
STORE args
LOAD args
PUSH_INT 0
INDEX
TO_INT
STORE total
LOAD args
PUSH_INT 1
INDEX
TO_INT
STORE c
LOAD args
PUSH_INT 2
INDEX
TO_INT
STORE b
LOAD args
PUSH_INT 3
INDEX
TO_INT
STORE limit
PUSH_INT 0
STORE i
LABEL start_churners
; churner i spawns (total / c) children, the last one the remainder too
LOAD total
LOAD c
DIV
LOAD i
LOAD c
PUSH_INT 1
SUB
EQ
JZ even_share
LOAD total
LOAD c
MOD
ADD
LABEL even_share
LOAD b
SELF
MAKE_FUNCTION churner count b main
SPAWN
MONITOR
POP
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD c
LT
JNZ start_churners
; each churner reports ["churned", count, errors], then ends: its DOWN
; comes after its report (same sender, in order)
PUSH_INT 0
STORE churned
PUSH_INT 0
STORE errors
PUSH_INT 0
STORE i
LABEL collect
PUSH_STR "churned"
NULL
NULL
MAKE_LIST 3
RECEIVE_MATCH
DUP
PUSH_INT 1
INDEX
LOAD churned
ADD
STORE churned
PUSH_INT 2
INDEX
LOAD errors
ADD
STORE errors
PUSH_STR "DOWN"
NULL
NULL
PUSH_STR "normal"
MAKE_LIST 4
RECEIVE_MATCH
POP
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD c
LT
JNZ collect
; fill the table: limit - 1 waiters must fit (a process that has just
; ended may take a moment to leave the count: retry for up to 5 s), and
; then one more must not
MAKE_FUNCTION waiter
STORE f
MAKE_LIST 0
STORE waiters
PUSH_INT 0
STORE retries
LABEL fill
LOAD waiters
LEN
LOAD limit
PUSH_INT 1
SUB
LT
JZ full
TRY spawn_failed
LOAD f
SPAWN
STORE p
END_TRY
LOAD waiters
LOAD p
APPEND
STORE waiters
JMP fill
LABEL spawn_failed
STORE e
LOAD retries
PUSH_INT 1
ADD
DUP
STORE retries
PUSH_INT 5000
GT
JNZ leaked
PUSH_INT 1
SLEEP
JMP fill
LABEL leaked
PUSH_STR "live count not back: only "
LOAD waiters
LEN
CONCAT
PUSH_STR " waiters fit: "
CONCAT
LOAD e
CONCAT
PRINT
LOAD errors
PUSH_INT 1
ADD
STORE errors
JMP release
LABEL full
TRY over_limit
LOAD f
SPAWN
END_TRY
PUSH_STR "spawn beyond --max-processes succeeded"
PRINT
LOAD errors
PUSH_INT 1
ADD
STORE errors
JMP release
LABEL over_limit
GET_FIELD message
PUSH_STR "too many processes"
EQ
JNZ release
PUSH_STR "unexpected spawn error"
PRINT
LOAD errors
PUSH_INT 1
ADD
STORE errors
LABEL release
PUSH_INT 0
STORE i
LABEL release_loop
LOAD i
LOAD waiters
LEN
LT
JZ released
PUSH_STR "stop"
LOAD waiters
LOAD i
INDEX
SEND
LOAD i
PUSH_INT 1
ADD
STORE i
JMP release_loop
LABEL released
PUSH_STR "churn: "
LOAD churned
CONCAT
PUSH_STR " of "
CONCAT
LOAD total
CONCAT
PUSH_STR " processes, "
CONCAT
LOAD waiters
LEN
CONCAT
PUSH_STR " waiters fit afterwards, errors "
CONCAT
LOAD errors
CONCAT
PRINT
PUSH_STR "retries "
LOAD retries
CONCAT
PRINT
HALT

LABEL waiter
RECEIVE
RET

LABEL churner
TRUE
TRAP_EXIT
MAKE_FUNCTION child_send parent
STORE send_f
MAKE_FUNCTION child_quiet
STORE quiet_f
PUSH_INT 0
STORE done
PUSH_INT 0
STORE errors
LABEL batch
LOAD done
LOAD count
LT
JZ churn_done
; this batch: min(b, count - done) children
LOAD count
LOAD done
SUB
DUP
LOAD b
GT
JZ small_batch
POP
LOAD b
LABEL small_batch
STORE size
PUSH_INT 0
STORE j
LABEL spawn_loop
LOAD done
LOAD j
ADD
PUSH_INT 3
MOD
DUP
JZ spawn_plain
PUSH_INT 1
EQ
JNZ spawn_linked
LOAD quiet_f
SPAWN
MONITOR
POP
JMP spawned
LABEL spawn_linked
LOAD quiet_f
SPAWN_LINK
POP
JMP spawned
LABEL spawn_plain
POP
SELF
LOAD send_f
SPAWN
POP
LABEL spawned
LOAD j
PUSH_INT 1
ADD
DUP
STORE j
LOAD size
LT
JNZ spawn_loop
; one notice per child
PUSH_INT 0
STORE j
LABEL notice_loop
RECEIVE
STORE msg
LOAD msg
PUSH_STR "bye"
EQ
JNZ noticed
LOAD msg
PUSH_INT 0
INDEX
PUSH_STR "EXIT"
EQ
LOAD msg
PUSH_INT 2
INDEX
PUSH_STR "normal"
EQ
AND
JNZ noticed
LOAD msg
PUSH_INT 0
INDEX
PUSH_STR "DOWN"
EQ
JNZ noticed
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "churner got: "
LOAD msg
CONCAT
PRINT
LABEL noticed
LOAD j
PUSH_INT 1
ADD
DUP
STORE j
LOAD size
LT
JNZ notice_loop
LOAD done
LOAD size
ADD
STORE done
JMP batch
LABEL churn_done
; nothing more may come
PUSH_INT 20
RECEIVE_AFTER
JZ churn_quiet
STORE msg
LOAD errors
PUSH_INT 1
ADD
STORE errors
PUSH_STR "churner got late: "
LOAD msg
CONCAT
PRINT
JMP churn_report
LABEL churn_quiet
POP
LABEL churn_report
PUSH_STR "churned"
LOAD done
LOAD errors
MAKE_LIST 3
LOAD main
SEND
RET

LABEL child_send
PUSH_STR "bye"
LOAD parent
SEND
RET

LABEL child_quiet
RET
"##;

const TIMERS_PENDING: &str = r##"; Arguments: ROUNDS K. Each round main spawns K children that wait 1 ms
; in RECEIVE_AFTER and then reply; main waits in RECEIVE (no timer of its
; own), so while the children wait, only their timers are pending.
GET_ARGS
DUP
PUSH_INT 0
INDEX
TO_INT
STORE rounds
PUSH_INT 1
INDEX
TO_INT
STORE k
PUSH_INT 0
STORE r
LABEL round
PUSH_INT 0
STORE i
LABEL spawn
SELF
MAKE_FUNCTION child parent
SPAWN
POP
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD k
LT
JNZ spawn
PUSH_INT 0
STORE i
LABEL replies
RECEIVE
POP
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
LOAD k
LT
JNZ replies
LOAD r
PUSH_INT 1
ADD
DUP
STORE r
LOAD rounds
LT
JNZ round
PUSH_STR "rounds "
LOAD r
CONCAT
PRINT
HALT
LABEL child
PUSH_INT 1
RECEIVE_AFTER
POP
POP
PUSH_STR "hi"
LOAD parent
SEND
RET
"##;
