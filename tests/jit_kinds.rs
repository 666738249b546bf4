//! Kinds of list elements read from the frame when a unit gets hot
//! (docs/JIT.md, "Kinds of list elements"; `src/jit/elems.rs`): the
//! INDEX of a function compiled while it walks Ints is a guarded Int
//! load, which fails when the same function later walks Floats, strings
//! and lists, until its unit is compiled again without the guard; the
//! output is the interpreter's, with the JIT's compiler thread too, and
//! with the kinds turned off (`TTVM_JIT_ELEM_KINDS=0`) nothing is compiled
//! again.

mod common;

use common::{Captured, Ttvm};

const PROGRAM: &str = "tests/programs/jit/index_kinds_frame.ttvm";

fn ttvm(env: Option<&str>, args: &[&str]) -> Captured {
    let mut t = Ttvm::new().cwd(env!("CARGO_MANIFEST_DIR"));
    if let Some(k) = env {
        t = t.env("TTVM_JIT_ELEM_KINDS", k);
    }
    t.args(args).run()
}

/// `--stats`' line of the unit compiled again without a kind guard, if
/// `walk_any` was.
fn again(stderr: &str) -> bool {
    stderr
        .lines()
        .any(|l| l.contains("walk_any (") && l.contains("again, with wider guards"))
}

#[test]
fn a_guessed_kind_that_stops_holding_is_compiled_away() {
    let want = ttvm(None, &["--no-jit", PROGRAM]);
    assert_eq!(want.status, Some(0), "{}", want.stderr);
    let sync = [
        "--jit",
        "--jit-sync",
        "--jit-threshold",
        "2",
        "--stats",
        "--no-smp",
        PROGRAM,
    ];
    let got = ttvm(None, &sync);
    assert_eq!(got.status, Some(0), "{}", got.stderr);
    assert_eq!(got.stdout, want.stdout);
    // Guarded for the Ints of its first calls, compiled again once Floats
    // kept failing the guard.
    assert!(again(&got.stderr), "{}", got.stderr);
    // Without the kinds: no guard, nothing compiled again.
    let off = ttvm(Some("0"), &sync);
    assert_eq!(off.status, Some(0), "{}", off.stderr);
    assert_eq!(off.stdout, want.stdout);
    assert!(!again(&off.stderr), "{}", off.stderr);
    // The compiler thread compiles from the frame read on the process's.
    let bg = ttvm(None, &["--jit", "--jit-threshold", "2", PROGRAM]);
    assert_eq!(bg.status, Some(0), "{}", bg.stderr);
    assert_eq!(bg.stdout, want.stdout);
}
