//! The JIT tier: CLIF snapshots of the lowering of core instructions (so a
//! change to the code it makes is seen and reviewed, `cargo insta review`),
//! and the command-line face of the JIT (`--jit-dump`, `--stats`).
//! Equivalence with the interpreter is checked by the golden programs,
//! which all run interpreted, JIT-eager and mixed (tests/golden.rs).

use std::process::Command;
use std::sync::Arc;

fn clif(src: &str, at: u32) -> String {
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    ttvm::engine::clif_of(Arc::new(p), at).expect("lowers")
}

#[test]
fn clif_counting_loop() {
    // LOAD/PUSH_INT/ADD/STORE with an Int guard, the Int compare and
    // branch, and the reduction check at the loop header.
    insta::assert_snapshot!(clif(
        "PUSH_INT 0\nSTORE i\nLABEL loop\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nLOAD i\nPUSH_INT 10\nLT\nJNZ loop\nHALT\n",
        0
    ));
}

#[test]
fn clif_float_arith_and_truthiness() {
    insta::assert_snapshot!(clif(
        "PUSH_FLOAT 1.5\nPUSH_FLOAT 2\nMUL_F\nNEG\nDUP\nPUSH_FLOAT 0.5\nGT_F\nJZ done\nPOP\nLABEL done\nHALT\n",
        0
    ));
}

#[test]
fn clif_stack_shuffles_and_helpers() {
    // SWAP/OVER stay in registers; PRINT and MAKE_LIST call the helper.
    insta::assert_snapshot!(clif(
        "PUSH_INT 1\nPUSH_INT 2\nSWAP\nOVER\nMAKE_LIST 3\nPRINT\nHALT\n",
        0
    ));
}

#[test]
fn clif_direct_entry() {
    // A recursive function's direct entry: arguments and result in
    // registers, the unchecked and checked copies of its blocks, the
    // base case run inline before the recursive call, and the `leave`
    // paths that write the frame when it leaves compiled code.
    let src = "PUSH_INT 3\nCALL sum n\nPRINT\nHALT\nLABEL sum\nLOAD n\nJZ base\nLOAD n\nPUSH_INT 1\nSUB\nCALL sum n\nLOAD n\nADD\nRET\nLABEL base\nPUSH_INT 0\nRET\n";
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    insta::assert_snapshot!(ttvm::engine::direct_clif_of(Arc::new(p), 4).expect("lowers"));
}

fn ttvm(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ttvm"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs")
}

#[test]
fn jit_dump_prints_the_ir_of_each_compiled_function() {
    let out = ttvm(&[
        "--jit",
        "--jit-threshold",
        "0",
        "--jit-dump",
        "--no-smp",
        "benches/programs/fib30.ttvm",
    ]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "832040\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("; fib (benches/programs/fib30.ttvm:7)"),
        "{err}"
    );
    assert!(err.contains("function u0:"), "{err}");
    assert!(err.contains("call_indirect"), "{err}");
}

#[test]
fn stats_report_compiled_functions_and_fallbacks() {
    let out = ttvm(&[
        "--jit",
        "--stats",
        "--no-smp",
        "benches/programs/fib30.ttvm",
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("jit: functions compiled 1, fallbacks 0"),
        "{err}"
    );
    assert!(
        err.contains("jit:   compiled fib (benches/programs/fib30.ttvm:7): 16 instructions"),
        "{err}"
    );
    assert!(
        err.contains("jit:   direct entry for fib (benches/programs/fib30.ttvm:7): "),
        "{err}"
    );
    // A hot unit that mostly sends and receives stays interpreted, and
    // --stats says why.
    let out = ttvm(&[
        "--jit",
        "--stats",
        "--no-smp",
        "benches/programs/pingpong.ttvm",
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("interpreted pong"), "{err}");
    assert!(
        err.contains("runtime-bound: 2 of its 8 instructions are process operations"),
        "{err}"
    );
}

/// `--jit --stats` on the program `src` (written to a temporary file).
fn stats_of(name: &str, src: &str) -> String {
    let dir = std::env::temp_dir().join(format!("ttvm-jit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join("p.ttvm");
    std::fs::write(&path, src).expect("writes");
    let out = ttvm(&[
        "--jit",
        "--stats",
        "--no-smp",
        path.to_str().expect("utf-8"),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tiny_units_compile_only_for_compiled_callers() {
    // A hot loop calls `inc` (4 instructions): the engine counts it where
    // compiled code leaves for it, and it is compiled too.
    let err = stats_of(
        "tiny-called",
        "PUSH_INT 0\nSTORE i\nLABEL loop\nLOAD i\nCALL inc x\nSTORE i\nLOAD i\nPUSH_INT 5000\nLT\nJNZ loop\nHALT\nLABEL inc\nLOAD x\nPUSH_INT 1\nADD\nRET\n",
    );
    assert!(
        err.contains("jit: functions compiled 2, fallbacks 0"),
        "{err}"
    );
    assert!(err.contains("compiled inc"), "{err}");
    // 5000 processes start in `child` (1 instruction) from the
    // interpreter: it is not even counted.
    let err = stats_of(
        "tiny-spawned",
        "MAKE_FUNCTION child\nSTORE f\nPUSH_INT 5000\nSTORE n\nLABEL loop\nLOAD f\nSPAWN\nPOP\nLOAD n\nPUSH_INT 1\nSUB\nSTORE n\nLOAD n\nPUSH_INT 0\nGT\nJNZ loop\nHALT\nLABEL child\nRET\n",
    );
    assert!(
        err.contains("jit: functions compiled 0, fallbacks 1"),
        "{err}"
    );
    assert!(err.contains("runtime-bound"), "{err}");
}

#[test]
fn debug_and_trace_run_interpreted() {
    let out = ttvm(&[
        "--jit",
        "--jit-threshold",
        "0",
        "--stats",
        "--trace",
        "--no-smp",
        "examples/hello.ttvm",
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("jit:"), "--trace must not compile: {err}");
}

#[test]
fn no_jit_overrides_jit() {
    let out = ttvm(&[
        "--jit",
        "--no-jit",
        "--stats",
        "--no-smp",
        "benches/programs/fib30.ttvm",
    ]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("jit:"));
}

/// A compiled loop header assumes its counter is an Int (the tag on every
/// compiled path into it); once a side exit makes it a Float, the engine's
/// entries fail that check and the interpreter runs the block, and after
/// 100 failures the unit is compiled again without assumptions. The
/// output is the interpreter's all along.
#[test]
fn failed_entry_checks_fall_back_then_recompile() {
    let prog = "tests/programs/jit/entry_guards.ttvm";
    let plain = ttvm(&["--no-smp", prog]);
    let out = ttvm(&["--jit", "--jit-threshold", "0", "--stats", "--no-smp", prog]);
    assert!(out.status.success());
    assert_eq!(out.stdout, plain.stdout);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200\n0.5\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("entry checks failed 100\n"), "{err}");
    assert!(
        err.contains(
            "compiled @0 (tests/programs/jit/entry_guards.ttvm:7) again, without assumptions"
        ),
        "{err}"
    );
    // A loop whose types never change passes its checks.
    let out = ttvm(&[
        "--jit",
        "--stats",
        "--no-smp",
        "benches/programs/fib30.ttvm",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("entry checks failed 0\n"), "{err}");
}

/// Direct entries leave compiled code whenever a slice ends inside them
/// (`--reductions 50`: thousands of times in fib(30)); the result is the
/// interpreter's, and `--stats` counts the exits. A function that cannot
/// have a direct entry is named with the reason.
#[test]
fn direct_entries_leave_and_say_why_not() {
    let out = ttvm(&[
        "--jit",
        "--stats",
        "--no-smp",
        "--reductions",
        "50",
        "benches/programs/fib30.ttvm",
    ]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "832040\n");
    let err = String::from_utf8_lossy(&out.stderr);
    let left: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("jit: direct entries 1, left compiled code "))
        .and_then(|l| l.strip_suffix(" times"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no direct-entry line: {err}"));
    assert!(left > 1000, "{err}");
    let out = ttvm(&[
        "--jit",
        "--jit-threshold",
        "0",
        "--stats",
        "--no-smp",
        "examples/exceptions.ttvm",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("jit:   no direct entry for safe_div (examples/exceptions.ttvm:15): TRY at examples/exceptions.ttvm:15"),
        "{err}"
    );
}
