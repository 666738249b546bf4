//! Direct entries on heat (docs/JIT.md, "Direct entries on heat"): when a
//! function's direct entry is compiled, by `--stats`. Compiled with
//! `--jit-sync`, so the counts do not depend on timing. Each test fails
//! against the rule before (2,000 + 2,000 calls per instruction, every call
//! out counted alike): `TTVM_TEST_BIN=/tmp/ttvm-base cargo test --release
//! --test jit_heat`.

mod common;

use common::Ttvm;

/// `--jit --jit-sync --stats` on `src`: stdout and stderr.
fn run(name: &str, src: &str) -> (String, String) {
    let name = format!("jit-heat-{name}");
    let out = common::run_source(&name, src, &["--jit", "--jit-sync", "--stats", "--no-smp"]);
    assert!(out.status == Some(0), "{}", out.stderr);
    (out.stdout, out.stderr)
}

/// A small function: 2 for most `k`, 7 when `k` is 1 modulo 4.
const STEP: &str = "LABEL step
LOAD k
PUSH_INT 4
MOD
PUSH_INT 1
EQ
JNZ one
PUSH_INT 2
RET
LABEL one
PUSH_INT 7
RET
";

/// A small function called from a compiled loop gets its direct entry
/// after a few thousand calls: its entry costs little to compile (about
/// 2.7 M machine instructions for floodfill's 14-instruction `dx`, 1.3 KB),
/// and each call through a memory frame costs a few hundred instructions
/// more than a direct one. The rule before waited 2,000 + 2,000 calls per
/// instruction (22,000 here), longer than this loop runs.
#[test]
fn a_small_function_called_from_a_loop_gets_its_entry_soon() {
    let src = format!(
        "PUSH_INT 0
STORE i
PUSH_INT 0
STORE s
LABEL top
LOAD i
PUSH_INT 15000
GE
JNZ done
LOAD s
LOAD i
CALL step k
ADD
STORE s
LOAD i
PUSH_INT 1
ADD
STORE i
JMP top
LABEL done
LOAD s
PRINT
HALT
{STEP}"
    );
    let (out, err) = run("small", &src);
    assert_eq!(out, "48750\n");
    assert!(err.contains("jit:   direct entry for step"), "{err}");
}

/// A function called a few times from interpreted code, whose loop calls
/// small functions that have direct entries, does not get its own entry
/// for those calls when its loop runs too little to repay it: a call into
/// a compiled direct entry saves far less than one through a memory frame
/// (held-out floodfill's `bfs`, called four times: its 45 KB entry cost
/// 97 M machine instructions, a quarter of the run, compiled in the last
/// call; `dx` and `dy` get theirs).
#[test]
fn calls_into_direct_entries_do_not_buy_the_callers_entry_early() {
    let path = "benches/checks/heldout/floodfill.ttvm";
    let run = |mode: &str| {
        let out = Ttvm::new()
            .args([mode, "--jit-sync", "--stats", "--no-smp", path])
            .cwd(env!("CARGO_MANIFEST_DIR"))
            .run();
        assert!(out.status == Some(0), "{}", out.stderr);
        out
    };
    let jit = run("--jit");
    let interpreted = run("--no-jit");
    assert_eq!(jit.stdout, interpreted.stdout);
    let err = jit.stderr;
    assert!(err.contains("jit:   direct entry for dx"), "{err}");
    assert!(err.contains("jit:   direct entry for dy"), "{err}");
    assert!(!err.contains("jit:   direct entry for bfs"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("jit:   no direct entry for bfs (")
                && l.ends_with("not called often enough to pay for compiling one")),
        "{err}"
    );
}

/// A function called a dozen times from interpreted code whose loop calls a
/// small function 240,000 times in all gets its entry (its preempted
/// frames then resume in it, where the loop runs faster).
#[test]
fn a_caller_that_loops_long_enough_gets_its_entry() {
    let src = format!(
        "PUSH_INT 0
STORE r
LABEL again
LOAD r
PUSH_INT 12
GE
JNZ end
LOAD r
CALL walk m
POP
LOAD r
PUSH_INT 1
ADD
STORE r
JMP again
LABEL end
PUSH_INT 0
PRINT
HALT
LABEL walk
PUSH_INT 0
STORE i
PUSH_INT 0
STORE s
LABEL w_top
LOAD i
PUSH_INT 20000
GE
JNZ w_done
LOAD s
LOAD i
LOAD m
MUL
CALL step k
ADD
STORE s
LOAD i
PUSH_INT 1
ADD
STORE i
JMP w_top
LABEL w_done
LOAD s
RET
{STEP}"
    );
    let (out, err) = run("long", &src);
    assert_eq!(out, "0\n");
    assert!(err.contains("jit:   direct entry for step"), "{err}");
    assert!(err.contains("jit:   direct entry for walk"), "{err}");
}

/// The JIT's tuning variables take whole numbers; anything else is
/// reported on stderr, with the value used instead, and the run goes on.
#[test]
fn a_tuning_variable_that_is_not_a_number_is_reported() {
    for var in [
        "TTVM_JIT_DIRECT_HEAT",
        "TTVM_JIT_SECOND_TIER",
        "TTVM_JIT_TIER_FACTOR",
    ] {
        let out = Ttvm::new()
            .args(["--jit", "examples/hello.ttvm"])
            .cwd(env!("CARGO_MANIFEST_DIR"))
            .env(var, "lots")
            .run();
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(out.stdout, "Hello, world!\n");
        assert!(
            out.stderr
                .contains(&format!("ignoring {var}=lots: not a whole number")),
            "{var}: {}",
            out.stderr
        );
    }
}
