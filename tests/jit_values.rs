//! Calls of function values from compiled code (docs/JIT.md, issue 15):
//! where slices end must be the interpreter's. A direct entry without a
//! loop has an unchecked copy of its blocks that runs while the budget is
//! above what they can charge; the returning path of a function value it
//! calls runs inline there without budget checks, so that limit must
//! count the most a function value of the site's arity charges (it did
//! not: at 21 of the 76 slice lengths below, the two processes printed in
//! another order than with the interpreter).

mod common;

use common::Ttvm;

fn run(path: &str, args: &[&str]) -> String {
    let mut all = vec!["--no-smp"];
    all.extend_from_slice(args);
    all.push(path);
    let out = Ttvm::new().args(&all).cwd(env!("CARGO_MANIFEST_DIR")).run();
    assert!(out.status == Some(0), "{args:?}: {}", out.stderr);
    out.stdout.clone()
}

/// `value_call_preempt.ttvm` prints as the interpreter does at every
/// slice length from 5 to 80 reductions, compiled from the start on the
/// scheduler thread.
#[test]
fn value_calls_preempt_where_the_interpreter_does() {
    let path = "tests/jit_values/value_call_preempt.ttvm";
    let mut differ = Vec::new();
    for r in 5..=80 {
        let r = r.to_string();
        let want = run(path, &["--no-jit", "--reductions", &r]);
        let got = run(
            path,
            &[
                "--jit",
                "--jit-sync",
                "--jit-threshold",
                "0",
                "--reductions",
                &r,
            ],
        );
        if got != want {
            differ.push(r);
        }
    }
    assert!(
        differ.is_empty(),
        "output differs at --reductions {differ:?}"
    );
}
