//! Branches on constants folded before Cranelift (src/jit/code/fold.rs,
//! docs/JIT.md "Branches on constants"): where the translator knows an
//! operand's kind its kind tests are constants, and the `brif` on them
//! becomes a `jump`, so the path not taken is not compiled. By `--stats`
//! (the compiled bytes of the unit) and `--jit-dump`, with
//! `--jit-sync`, against the same run with `TTVM_JIT_FOLD=0`; outputs
//! equal `--no-jit`'s. Both tests fail without the folding.

mod common;

use common::Ttvm;

/// A main body whose loops INDEX lists held in variables with Int
/// indexes (their kinds are known after the first test, `facts`), and
/// add their elements.
const SRC: &str = "\
MAKE_LIST 0
STORE xs
PUSH_INT 0
STORE i
LABEL fill
LOAD i
PUSH_INT 300
GE
JNZ filled
LOAD xs
LOAD i
PUSH_INT 7
MUL
PUSH_INT 100
MOD
APPEND
STORE xs
LOAD i
PUSH_INT 1
ADD
STORE i
JMP fill
LABEL filled
PUSH_INT 0
STORE round
PUSH_INT 0
STORE total
LABEL rounds
LOAD round
PUSH_INT 20
GE
JNZ done
PUSH_INT 1
STORE i
LABEL walk
LOAD i
LOAD xs
LEN
GE
JNZ walked
LOAD xs
LOAD i
INDEX
LOAD xs
LOAD i
PUSH_INT 1
SUB
INDEX
SUB
LOAD total
ADD
STORE total
LOAD i
PUSH_INT 1
ADD
STORE i
JMP walk
LABEL walked
LOAD round
PUSH_INT 1
ADD
STORE round
JMP rounds
LABEL done
LOAD total
PRINT
HALT
";

/// `ttvm --jit --jit-sync --stats --no-smp ARGS` on [`SRC`] with the
/// environment `env`: stdout and stderr (the run must succeed).
fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let dir = common::scratch(&format!("jit-fold-{name}"));
    let path = dir.join("p.ttvm");
    std::fs::write(&path, SRC).expect("writes");
    let mut t = Ttvm::new()
        .args(["--jit", "--jit-sync", "--stats", "--no-smp"])
        .args(args)
        .arg(&path)
        .cwd(&dir);
    for (k, v) in env {
        t = t.env(k, v);
    }
    let out = t.run();
    assert!(out.status == Some(0), "{}", out.stderr);
    (out.stdout, out.stderr)
}

/// The bytes `--stats` gives for the compiled main body (`@0`).
fn main_bytes(err: &str) -> usize {
    let line = err
        .lines()
        .find(|l| l.starts_with("jit:   compiled @0"))
        .unwrap_or_else(|| panic!("main body not compiled: {err}"));
    let before = line
        .split(" bytes")
        .next()
        .unwrap_or_else(|| panic!("{line}"));
    before
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

#[test]
fn dead_paths_of_known_kinds_are_not_compiled() {
    let interp = common::run_source("jit-fold-interp", SRC, &["--no-jit"]);
    assert!(interp.status == Some(0), "{}", interp.stderr);
    let (out, err) = run("on", &[], &[]);
    let (out_off, err_off) = run("off", &[], &[("TTVM_JIT_FOLD", "0")]);
    assert_eq!(out, interp.stdout);
    assert_eq!(out_off, interp.stdout);
    let (on, off) = (main_bytes(&err), main_bytes(&err_off));
    assert!(
        on < off,
        "folded main body {on} bytes, unfolded {off}:\n{err}\n{err_off}"
    );
}

/// In the IR `--jit-dump` shows (after the folding), no `brif` tests a
/// value that an `iconst` defines; without the folding there are some.
#[test]
fn no_branch_on_a_constant_reaches_cranelift() {
    let consts = |err: &str| -> usize {
        let mut iconst = std::collections::HashSet::new();
        let mut n = 0;
        for l in err.lines().map(str::trim) {
            // Value numbers are per function.
            if l.starts_with("function ") {
                iconst.clear();
            }
            if let Some((v, rhs)) = l.split_once(" = ") {
                if rhs.starts_with("iconst") {
                    iconst.insert(v.to_string());
                }
            }
            if let Some(rest) = l.strip_prefix("brif ") {
                let c = rest.split(',').next().unwrap_or("");
                if iconst.contains(c) {
                    n += 1;
                }
            }
        }
        n
    };
    let (_, err) = run("dump-on", &["--jit-dump"], &[]);
    let (_, err_off) = run("dump-off", &["--jit-dump"], &[("TTVM_JIT_FOLD", "0")]);
    assert_eq!(consts(&err), 0, "{err}");
    assert!(
        consts(&err_off) > 0,
        "no brif on an iconst to fold:\n{err_off}"
    );
}
