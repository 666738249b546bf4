//! `ttvm check`'s stack-depth warnings (src/bytecode/depth.rs): a sure
//! underflow in the main program's top level and top-level code falling
//! into a function's entry are reported with file:line; programs that are
//! fine get neither, and no golden program or example gets an underflow
//! warning it does not deserve.

mod common;

use std::path::Path;
use std::time::Duration;

/// `ttvm check FILE` in `dir`: (exit status, the `warning:` lines).
fn check(dir: &Path, file: &str) -> (Option<i32>, Vec<String>) {
    let args = ["check".to_string(), file.to_string()];
    let r = common::run_captured(dir, &args, &[], None, Duration::from_secs(60));
    let warnings = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .map(str::to_string)
        .collect();
    (r.status, warnings)
}

fn check_source(name: &str, src: &str) -> Vec<String> {
    let dir = common::scratch(name);
    std::fs::write(dir.join("prog.ttvm"), src).unwrap();
    let (status, warnings) = check(&dir, "prog.ttvm");
    assert_eq!(status, Some(0), "{warnings:?}");
    warnings
}

#[test]
fn a_sure_underflow_is_reported_with_its_line() {
    let w = check_source(
        "depth_underflow",
        "PUSH_INT 1\nPUSH_INT 2\nADD\nADD\nPRINT\n",
    );
    assert_eq!(
        w,
        ["warning: prog.ttvm:4: stack underflow: ADD pops 2 values but at most 1 is on the stack here"]
    );
    // After a join of paths that disagree, only the most there can be
    // counts: one path leaves 1 value, the other 2; POP POP POP surely
    // fails at the third.
    let w = check_source(
        "depth_underflow_join",
        "PUSH_INT 1\nREAD_LINE\nJZ two\nPUSH_INT 2\nLABEL two\nPOP\nPOP\nPOP\nHALT\n",
    );
    assert_eq!(
        w,
        ["warning: prog.ttvm:8: stack underflow: POP pops 1 value but at most 0 are on the stack here"]
    );
    // A callee's net effect counts: `one` leaves one value.
    let w = check_source(
        "depth_underflow_call",
        "CALL one\nADD\nHALT\nLABEL one\nPUSH_INT 1\nRET\n",
    );
    assert_eq!(
        w,
        ["warning: prog.ttvm:2: stack underflow: ADD pops 2 values but at most 1 is on the stack here"]
    );
}

#[test]
fn falling_into_a_function_is_reported() {
    let w = check_source(
        "depth_fall",
        "PUSH_INT 5\nCALL double n\nPRINT\nLABEL double\nLOAD n\nPUSH_INT 2\nMUL\nRET\n",
    );
    assert_eq!(
        w,
        ["warning: prog.ttvm:5: top-level code falls through into function `double`: end it with HALT or jump over the function"]
    );
}

#[test]
fn good_programs_get_no_depth_warning() {
    for (name, src) in [
        (
            "depth_ok_halt",
            "PUSH_INT 5\nCALL double n\nPRINT\nHALT\nLABEL double\nLOAD n\nPUSH_INT 2\nMUL\nRET\n",
        ),
        // A function may take its caller's operands: not an underflow.
        (
            "depth_ok_callers_operands",
            "PUSH_INT 1\nPUSH_INT 2\nCALL add\nPRINT\nHALT\nLABEL add\nADD\nRET\n",
        ),
        // Loops that grow and shrink the stack, and CALL_FUNCTION of
        // unknown arity.
        (
            "depth_ok_loop",
            "PUSH_INT 0\nSTORE i\nLABEL l\nLOAD i\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nLOAD i\nPUSH_INT 3\nLT\nJNZ l\nADD\nADD\nPRINT\nMAKE_FUNCTION f x\nPUSH_INT 1\nSWAP\nCALL_FUNCTION\nPRINT\nHALT\nLABEL f\nLOAD x\nRET\n",
        ),
        // A catch label has the exception on the stack.
        (
            "depth_ok_catch",
            "TRY c\nPUSH_STR boom\nTHROW\nLABEL c\nPRINT\nHALT\n",
        ),
    ] {
        assert_eq!(check_source(name, src), Vec::<String>::new(), "{name}");
    }
}

/// `ttvm check` over every golden program and example: an underflow
/// warning only where the program's expectations say it underflows.
#[test]
fn no_false_underflow_warnings_in_the_golden_programs() {
    let (cases, _) = common::golden::discover(None, &[]);
    assert!(cases.len() > 100, "{} programs", cases.len());
    let mut wrong = Vec::new();
    let mut underflows = 0;
    for c in &cases {
        let dir = c.program.parent().unwrap();
        let file = c.program.file_name().unwrap().to_string_lossy();
        let (_, warnings) = check(dir, &file);
        let expected =
            (c.expect.stderr.iter().chain(&c.expect.stdout)).any(|s| s.contains("stack underflow"));
        for w in warnings.iter().filter(|w| w.contains("stack underflow:")) {
            underflows += 1;
            if !expected {
                wrong.push(format!("{}: {w}", c.rel));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "false underflow warnings:\n{}",
        wrong.join("\n")
    );
    // Some golden programs underflow on purpose, and are found.
    assert!(underflows > 0);
}
