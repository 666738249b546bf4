//! Units compiled by cost (docs/JIT.md, "When a unit is compiled"; an
//! experiment, on with `TTVM_JIT_TIER_FACTOR`): a unit that costs much to
//! compile waits until the work interpreted in it would pay for compiling
//! it, so a big function whose loops run a few thousand times stays
//! interpreted, while cheap units keep `--jit-threshold`'s count; a loop
//! that dispatches through a chain of tests counts one arm per pass; an
//! interpreted caller counts its calls into compiled code. By `--stats`,
//! compiled with `--jit-sync` (counts that do not depend on timing).
//! `a_cheap_unit_keeps_the_threshold`, `a_dispatch_loop_counts_one_arm_per_pass`
//! and `calls_into_compiled_code_count_for_the_caller` fail against the
//! policy before (main dcffbaf).

mod common;

use common::Ttvm;

/// The cost policy on (`TTVM_JIT_TIER_FACTOR`, its default factor).
const ON: (&str, &str) = ("TTVM_JIT_TIER_FACTOR", "18000");

/// `ttvm --jit --jit-sync --stats --no-smp ARGS` on `src` with the cost
/// policy and the environment `env`: stdout and stderr (the run must
/// succeed).
fn run(name: &str, src: &str, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let dir = common::scratch(&format!("jit-cost-{name}"));
    let path = dir.join("p.ttvm");
    std::fs::write(&path, src).expect("writes");
    let mut t = Ttvm::new()
        .args(["--jit", "--jit-sync", "--stats", "--no-smp"])
        .args(args)
        .arg(&path)
        .cwd(&dir)
        .env(ON.0, ON.1);
    for (k, v) in env {
        t = t.env(k, v);
    }
    let out = t.run();
    assert!(out.status == Some(0), "{}", out.stderr);
    (out.stdout, out.stderr)
}

/// The interpreter's output.
fn interpreted(name: &str, src: &str) -> String {
    let out = common::run_source(&format!("jit-cost-{name}"), src, &["--no-jit"]);
    assert!(out.status == Some(0), "{}", out.stderr);
    out.stdout
}

/// How many units `--stats` says were compiled.
fn compiled(err: &str) -> usize {
    let line = err
        .lines()
        .find(|l| l.starts_with("jit: functions compiled "))
        .unwrap_or_else(|| panic!("no jit line: {err}"));
    line["jit: functions compiled ".len()..]
        .split(',')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

/// The work interpreted in the unit `name` and the work at which it would
/// have been compiled, from its `not run enough` line.
fn work_of(err: &str, name: &str) -> (u64, u64) {
    let line = err
        .lines()
        .find(|l| l.starts_with(&format!("jit:   interpreted {name} (")))
        .unwrap_or_else(|| panic!("no line for {name}: {err}"));
    line.split_once("not run enough to pay for compiling it (work ")
        .and_then(|(_, r)| r.strip_suffix(')')?.split_once(" of "))
        .and_then(|(w, b)| Some((w.parse().ok()?, b.parse().ok()?)))
        .unwrap_or_else(|| panic!("{line}"))
}

/// One loop of `n` iterations over a list of numbers, `k` its number:
/// about 30 instructions, a little different each time.
fn phase(k: usize, n: usize) -> String {
    format!(
        "PUSH_INT 0
STORE i{k}
LABEL loop{k}
LOAD i{k}
PUSH_INT {n}
GE
JNZ done{k}
LOAD acc
PUSH_INT {m}
MUL
LOAD xs
LOAD i{k}
PUSH_INT 16
MOD
INDEX
ADD
LOAD i{k}
PUSH_INT {k}
ADD
PUSH_INT 3
MOD
SUB
PUSH_INT 1000003
MOD
STORE acc
LOAD i{k}
PUSH_INT 1
ADD
STORE i{k}
JMP loop{k}
LABEL done{k}
LOAD acc
PRINT
",
        m = k + 2
    )
}

/// A big main body: eight different loops of `n` iterations each.
fn phases(n: usize) -> String {
    let mut src = String::from("PUSH_INT 0\nPUSH_INT 16\nRANGE\nSTORE xs\nPUSH_INT 1\nSTORE acc\n");
    for k in 0..8 {
        src.push_str(&phase(k, n));
    }
    src.push_str("HALT\n");
    src
}

/// A big function whose loops each run 2,000 times is not worth
/// compiling (about 250 instructions: ~100 M machine instructions of
/// Cranelift's work, against ~15 M to interpret it all); with a fixed
/// `--jit-threshold` it is compiled after 1,000 entries.
#[test]
fn a_big_unit_with_short_loops_stays_interpreted() {
    let src = phases(2_000);
    let want = interpreted("short", &src);
    let (out, err) = run("short", &src, &[], &[]);
    assert_eq!(out, want);
    assert_eq!(compiled(&err), 0, "{err}");
    let (work, budget) = work_of(&err, "@0");
    assert!(work > 8 * 2_000 * 10 && work < budget, "{err}");
    // A fixed threshold, and the policy turned off.
    let (out, err) = run("short-fixed", &src, &["--jit-threshold", "1000"], &[]);
    assert_eq!(out, want);
    assert_eq!(compiled(&err), 1, "{err}");
    let (out, err) = run("short-off", &src, &[], &[("TTVM_JIT_TIER_FACTOR", "0")]);
    assert_eq!(out, want);
    assert_eq!(compiled(&err), 1, "{err}");
}

/// The same function with loops that run long enough is compiled, early
/// in its run.
#[test]
fn a_big_unit_with_long_loops_is_compiled() {
    let src = phases(200_000);
    let want = interpreted("long", &src);
    let (out, err) = run("long", &src, &[], &[]);
    assert_eq!(out, want);
    assert_eq!(compiled(&err), 1, "{err}");
    assert!(err.contains("jit:   compiled @0 ("), "{err}");
}

/// A unit that costs little to compile keeps the count of
/// `--jit-threshold`: compiled after 1,000 entries into its loop.
#[test]
fn a_cheap_unit_keeps_the_threshold() {
    let src = format!(
        "PUSH_INT 0\nPUSH_INT 16\nRANGE\nSTORE xs\nPUSH_INT 1\nSTORE acc\n{}HALT\n",
        phase(0, 3_000)
    );
    let want = interpreted("cheap", &src);
    let (out, err) = run("cheap", &src, &[], &[]);
    assert_eq!(out, want);
    assert_eq!(compiled(&err), 1, "{err}");
    // Every unit by cost: this one is not worth it either.
    let (out, err) = run("cheap-all", &src, &[], &[("TTVM_JIT_TIER_MIN_COST", "0")]);
    assert_eq!(out, want);
    assert_eq!(compiled(&err), 0, "{err}");
}

/// A loop that dispatches on a value through a chain of tests counts what
/// one pass runs (its first tests and one arm), not the loop's length:
/// the work counted per iteration is well under the loop's 160-odd
/// instructions.
#[test]
fn a_dispatch_loop_counts_one_arm_per_pass() {
    let mut src = String::from("PUSH_INT 0\nSTORE i\nPUSH_INT 0\nSTORE acc\nLABEL top\nLOAD i\nPUSH_INT 3000\nGE\nJNZ out\nLOAD i\nPUSH_INT 8\nMOD\nSTORE k\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\n");
    for c in 0..8 {
        src.push_str(&format!("LOAD k\nPUSH_INT {c}\nEQ\nJNZ arm{c}\n"));
    }
    src.push_str("JMP top\n");
    for c in 0..8 {
        src.push_str(&format!("LABEL arm{c}\n"));
        for _ in 0..3 {
            src.push_str(&format!(
                "LOAD acc\nPUSH_INT {}\nADD\nPUSH_INT 1000003\nMOD\nSTORE acc\n",
                c + 1
            ));
        }
        src.push_str("JMP top\n");
    }
    src.push_str("LABEL out\nLOAD acc\nPRINT\nHALT\n");
    let want = interpreted("dispatch", &src);
    let (out, err) = run("dispatch", &src, &[], &[]);
    assert_eq!(out, want);
    assert_eq!(compiled(&err), 0, "{err}");
    let (work, _) = work_of(&err, "@0");
    let per_pass = work / 3_000;
    assert!((20..80).contains(&per_pass), "{per_pass} per pass: {err}");
}

/// An interpreted caller counts its calls into compiled code: each
/// return into it from compiled code adds `TTVM_JIT_RETURN_WORK` (32 by
/// default) to its work.
#[test]
fn calls_into_compiled_code_count_for_the_caller() {
    // `f` is cheap (five instructions, not tiny: compiled after 1,000 calls); the caller is big (its
    // eight loops) and calls `f` 3,000 times from its first loop.
    let mut src = phases(3_000).replace(
        "LOAD acc\nPUSH_INT 2\nMUL\n",
        "LOAD acc\nCALL f x\nPUSH_INT 2\nMUL\n",
    );
    src.push_str("LABEL f\nLOAD x\nPUSH_INT 7\nMOD\nPUSH_INT 1\nADD\nRET\n");
    assert!(src.contains("CALL f x"));
    let want = interpreted("calls", &src);
    let (out, err) = run("calls", &src, &[], &[]);
    assert_eq!(out, want);
    assert!(err.contains("jit:   compiled f ("), "{err}");
    let (with, _) = work_of(&err, "@0");
    let (out, err) = run("calls-0", &src, &[], &[("TTVM_JIT_RETURN_WORK", "0")]);
    assert_eq!(out, want);
    let (without, _) = work_of(&err, "@0");
    // The 2,000 calls after `f` is compiled count.
    assert!(with >= without + 32 * 2_000, "{with} against {without}");
}
