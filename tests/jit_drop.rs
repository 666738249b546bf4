//! Drops of heap values of unknown kind with one locked add
//! (src/jit/lower/ordinary.rs, `drop_heap`; docs/JIT.md, "Drops of values
//! of unknown kinds"): a STORE over a variable whose old value's kind is
//! not known, a POP of a list element. Outputs equal `--no-jit`'s with
//! the drop compiled this way and with the compare-and-swap it replaced
//! (`TTVM_JIT_DROP=cas`), values shared and unshared, last references
//! freed; and the main body compiles to fewer blocks than with the
//! compare-and-swap (the test fails without the mechanism).

mod common;

use common::Ttvm;

/// A loop over a list of values of every kind, some lists shared with
/// the list and a variable, some made in the loop and dropped there (the
/// last reference), strings, Ints, Floats and Null; each is stored over
/// the same variables, whose old values' kinds are not known.
const SRC: &str = "\
MAKE_LIST 0
PUSH_INT 1
PUSH_INT 2
MAKE_LIST 2
STORE shared
LOAD shared
APPEND
PUSH_STR \"text\"
APPEND
PUSH_INT 7
APPEND
PUSH_FLOAT 2.5
APPEND
NULL
APPEND
LOAD shared
APPEND
STORE xs
PUSH_INT 0
STORE i
PUSH_INT 0
STORE total
PUSH_INT 0
STORE v
PUSH_INT 0
STORE w
LABEL loop
LOAD i
PUSH_INT 3000
GE
JNZ done
LOAD xs
LOAD i
PUSH_INT 6
MOD
INDEX
STORE v
LOAD i
PUSH_INT 1
PUSH_INT 2
MAKE_LIST 3
STORE w
LOAD xs
LOAD i
PUSH_INT 5
MOD
INDEX
POP
LOAD v
TO_STR
LEN
LOAD w
LEN
ADD
LOAD total
ADD
STORE total
LOAD i
PUSH_INT 1
ADD
STORE i
JMP loop
LABEL done
LOAD total
PRINT
LOAD v
PRINT
LOAD w
PRINT
LOAD shared
PRINT
HALT
";

/// `ttvm --jit --jit-sync --no-smp ARGS` on [`SRC`] with `TTVM_JIT_DROP`
/// set to `mode` (when given): stdout and stderr (the run must succeed).
fn run(name: &str, args: &[&str], mode: Option<&str>) -> (String, String) {
    let dir = common::scratch(&format!("jit-drop-{name}"));
    let path = dir.join("p.ttvm");
    std::fs::write(&path, SRC).expect("writes");
    let mut t = Ttvm::new()
        .args(["--jit", "--jit-sync", "--no-smp"])
        .args(args)
        .arg(&path)
        .cwd(&dir);
    if let Some(m) = mode {
        t = t.env("TTVM_JIT_DROP", m);
    }
    let out = t.run();
    assert!(out.status == Some(0), "{}", out.stderr);
    (out.stdout, out.stderr)
}

#[test]
fn drops_of_unknown_kinds_run_as_interpreted() {
    let interp = common::run_source("jit-drop-interp", SRC, &["--no-jit"]);
    assert!(interp.status == Some(0), "{}", interp.stderr);
    for (name, mode) in [("add", None), ("cas", Some("cas"))] {
        for args in [&[][..], &["--jit-threshold", "0"][..]] {
            let (out, _) = run(name, args, mode);
            assert_eq!(out, interp.stdout, "TTVM_JIT_DROP={mode:?} {args:?}");
        }
    }
}

/// Blocks and `atomic_cas` instructions of the main body's IR
/// (`--jit-dump`, the first function).
fn main_body(err: &str) -> (usize, usize, usize) {
    let body = err
        .split("\nfunction ")
        .nth(1)
        .unwrap_or_else(|| panic!("no function dumped: {err}"));
    let body = body.split("\n}").next().unwrap_or("");
    let lines = || body.lines().map(str::trim);
    let blocks = lines()
        .filter(|l| l.starts_with("block") && l.ends_with(':'))
        .count();
    let cas = lines().filter(|l| l.contains("atomic_cas")).count();
    let add = lines().filter(|l| l.contains("atomic_rmw.i64 add")).count();
    (blocks, cas, add)
}

#[test]
fn a_drop_of_unknown_kind_is_two_blocks() {
    let args = ["--jit-threshold", "0", "--jit-dump"];
    let (_, err) = run("dump-add", &args, None);
    let (_, err_cas) = run("dump-cas", &args, Some("cas"));
    let (blocks, _, adds) = main_body(&err);
    let (blocks_cas, cas, adds_cas) = main_body(&err_cas);
    assert!(cas > 0, "no compare-and-swap to replace:\n{err_cas}");
    assert!(
        adds > adds_cas,
        "no locked add for the drops ({adds} against {adds_cas}):\n{err}"
    );
    assert!(
        blocks < blocks_cas,
        "main body: {blocks} blocks, {blocks_cas} with the compare-and-swap:\n{err}"
    );
}
