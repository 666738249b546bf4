//! Issue 12, finding 9: assembling, linking and analysing a program is
//! (near) linear in its size. Each test generates a large program of the
//! shape that made one pass quadratic and runs `ttvm check` (or `ttvm dis`)
//! on it with a 60 s hang guard — not a timing assertion: the fixed passes
//! take a few seconds in a debug build, the quadratic ones took minutes
//! (measured on the base build, debug, at a fifth of these sizes: TRY
//! pairing 21.6 s, variable slots 10.6 s, exports 7.4 s, shared imports
//! 7.4 s, unknown-label hints 9.0 s for an eighth, `dis` labels 4.7 s for a
//! tenth; each grows with the square of the size). The TRY pairing also has
//! a unit test that counts its work (`bytecode::tries`).

mod common;

use common::{scratch, ttvm_in, Run};
use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn check(dir: &Path, args: &[&str]) -> Run {
    ttvm_in(
        dir,
        args,
        LIMIT,
        "a pass is superlinear in the program's size",
    )
}

#[test]
fn try_pairing_is_linear() {
    let dir = scratch("scale-tries");
    let n = 100_000;
    let mut src = String::new();
    // Nested: n TRYs, then their n END_TRYs, catch labels at the end.
    for i in 0..n {
        let _ = writeln!(src, "TRY h{i}");
    }
    for _ in 0..n {
        src.push_str("END_TRY\n");
    }
    // Sequential: n TRY/END_TRY pairs.
    for i in 0..n {
        let _ = writeln!(src, "TRY s{i}\nEND_TRY\nLABEL s{i}");
    }
    src.push_str("HALT\n");
    for i in 0..n {
        let _ = writeln!(src, "LABEL h{i}");
    }
    src.push_str("CATCH\n");
    std::fs::write(dir.join("t.ttvm"), src).unwrap();
    let r = check(&dir, &["check", "t.ttvm"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert!(!r.stderr.contains("END_TRY is not owned"), "{}", r.stderr);
}

#[test]
fn variable_slots_are_linear_in_the_variables_of_a_frame() {
    let dir = scratch("scale-vars");
    let mut src = String::new();
    for i in 0..200_000 {
        let _ = writeln!(src, "PUSH_INT 1\nSTORE v{i}");
    }
    std::fs::write(dir.join("v.ttvm"), src).unwrap();
    let r = check(&dir, &["check", "v.ttvm"]);
    assert_eq!(r.status, Some(0), "{r:?}");
}

#[test]
fn exports_are_linear() {
    let dir = scratch("scale-exports");
    let mut src = String::new();
    for i in 0..100_000 {
        let _ = writeln!(src, "PUSH_INT 1\nSTORE v{i}\nEXPORT v{i}");
    }
    std::fs::write(dir.join("e.ttvm"), src).unwrap();
    let r = check(&dir, &["check", "e.ttvm"]);
    assert_eq!(r.status, Some(0), "{r:?}");
}

/// `n` IMPORTs of a module with `n` exports, then the last export printed.
fn imports_program(dir: &Path, n: usize) {
    let mut lib = String::new();
    for i in 0..n {
        let _ = writeln!(lib, "PUSH_INT {i}\nSTORE v{i}\nEXPORT v{i}");
    }
    std::fs::write(dir.join("lib.ttvm"), lib).unwrap();
    let mut main = "IMPORT lib\n".repeat(n);
    main.push_str(&format!("LOAD v{}\nPRINT\n", n - 1));
    std::fs::write(dir.join("m.ttvm"), &main).unwrap();
}

#[test]
fn repeated_imports_of_a_big_module_share_their_bindings() {
    // n IMPORTs of a module with n exports: n·n bindings before (memory and
    // time), n + n now.
    let dir = scratch("scale-imports");
    imports_program(&dir, 5_000);
    let r = check(&dir, &["check", "m.ttvm"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    // The shared bindings bind (run small: binding at run time is the
    // interpreter's, not the loader's).
    imports_program(&dir, 50);
    let r = check(&dir, &["m.ttvm"]);
    assert_eq!((r.status, r.stdout.as_str()), (Some(0), "49\n"), "{r:?}");
}

#[test]
fn running_a_module_with_many_exports_is_linear() {
    // EXPORT looked its name up in the run's list, and IMPORT each export
    // in its binds: quadratic (100,000 exports: 5.4 s in a release build,
    // 0.5 s now; a debug build took minutes, past the hang guard).
    let dir = scratch("scale-run-exports");
    let n = 100_000;
    let mut lib = String::new();
    for i in 0..n {
        let _ = writeln!(lib, "PUSH_INT {i}\nSTORE v{i}\nEXPORT v{i}");
    }
    std::fs::write(dir.join("lib.ttvm"), lib).unwrap();
    let main = format!("IMPORT lib\nIMPORT lib\nLOAD v{}\nPRINT\n", n - 1);
    std::fs::write(dir.join("m.ttvm"), main).unwrap();
    let r = check(&dir, &["--no-jit", "m.ttvm"]);
    assert_eq!((r.status, r.stdout.as_str()), (Some(0), "99999\n"), "{r:?}");
}

#[test]
fn unknown_label_hints_are_bounded() {
    // Each unknown label was compared with every label ("did you mean").
    let dir = scratch("scale-unknown");
    let n = 40_000;
    let mut src = String::new();
    for i in 0..n {
        let _ = writeln!(src, "LABEL l{i}\nJMP m{i}");
    }
    std::fs::write(dir.join("u.ttvm"), src).unwrap();
    let r = check(&dir, &["check", "u.ttvm"]);
    assert_eq!(r.status, Some(3), "{:?}", r.status);
    assert!(r.stderr.contains(&format!("{n} errors; nothing was run")));
    // The first ones still get a hint.
    assert!(r.stderr.contains("unknown label `m0`"));
    assert!(r.stderr.contains("help: did you mean `l0`?"));
}

#[test]
fn disassembling_many_labels_is_linear() {
    let dir = scratch("scale-dis");
    let n = 200_000;
    let mut src = String::new();
    for i in 0..n {
        let _ = writeln!(src, "LABEL l{i}\nPUSH_INT {i}");
    }
    std::fs::write(dir.join("d.ttvm"), src).unwrap();
    let r = check(&dir, &["dis", "d.ttvm"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert_eq!(r.stdout.matches("\nLABEL l").count(), n);
    assert!(r.stdout.contains("LABEL l199999\n"));
}
