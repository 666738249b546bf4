//! `ttvm -e PROGRAM` and `ttvm -` (issue 18, item 4): a program given on the
//! command line, with `|` between instructions (not inside string
//! literals), or read from stdin; both run like a file (arguments after
//! `--`, load errors with exit 3 and the place, `--sandbox`).

mod common;

use common::Ttvm;

fn ttvm(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let out = Ttvm::new().args(args).stdin(stdin).run();
    (out.status, out.stdout, out.stderr)
}

#[test]
fn a_one_liner_runs_with_bars_between_instructions() {
    let (code, out, _) = ttvm(&["-e", "PUSH_INT 1 | PUSH_INT 2 | ADD | PRINT"], "");
    assert_eq!((code, out.as_str()), (Some(0), "3\n"));
    // A bar inside a string literal (escaped quotes too) is text.
    let (code, out, _) = ttvm(
        &["-e", r#"PUSH_STR "a|b" | PRINT | PUSH_STR "q\"|x" | PRINT"#],
        "",
    );
    assert_eq!((code, out.as_str()), (Some(0), "a|b\nq\"|x\n"));
    let (code, out, _) = ttvm(&["--eval", "GET_ARGS | PRINT", "--", "x", "y"], "");
    assert_eq!((code, out.as_str()), (Some(0), "[x, y]\n"));
}

#[test]
fn a_one_liner_with_a_mistake_is_a_load_error_with_its_place() {
    let (code, _, err) = ttvm(&["-e", "PUSH_INT 1 | ADDD"], "");
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("<-e>:2:"), "{err}");
    assert!(err.contains("did you mean `ADD`?"), "{err}");
}

#[test]
fn a_program_on_stdin_runs() {
    let (code, out, err) = ttvm(&["-"], "PUSH_STR \"from stdin\"\nPRINT\n");
    assert_eq!((code, out.as_str()), (Some(0), "from stdin\n"), "{err}");
    let (code, _, err) = ttvm(&["-"], "BOGUS\n");
    assert_eq!(code, Some(3));
    assert!(err.contains("<stdin>:1:"), "{err}");
}

#[test]
fn the_sandbox_holds_for_one_liners() {
    let (code, _, err) = ttvm(
        &[
            "--sandbox",
            "-e",
            r#"PUSH_STR "/etc/passwd" | READ_FILE | PRINT"#,
        ],
        "",
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("permission denied"), "{err}");
}

#[test]
fn a_program_and_a_one_liner_together_are_refused() {
    let (code, _, err) = ttvm(&["-e", "PUSH_INT 1", "prog.ttvm"], "");
    assert_eq!(code, Some(2), "{err}");
}
