//! `ttvm repl` with scripted stdin (issue 18, item 4; docs/REPL.md): the
//! stack shown after each entry, variables and functions kept across
//! entries, recovery from assembly and run-time errors and deadlocks with
//! the state intact, SPAWN and RECEIVE across entries, IMPORT of a bundled
//! module, EXIT.

mod common;

use common::Ttvm;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

/// Run `ttvm repl ARGS` with `script` on stdin: (status, stdout, stderr).
/// A session that does not end within a minute fails the test.
fn repl(args: &[&str], script: &str) -> (Option<i32>, String, String) {
    repl_paced(args, &[(script, 0)])
}

/// [`repl`] with the script written in parts, each followed by a pause
/// of so many milliseconds (a user who types slowly).
fn repl_paced(args: &[&str], parts: &[(&str, u64)]) -> (Option<i32>, String, String) {
    let runner = Ttvm::new()
        .arg("repl")
        .args(args)
        .timeout(Duration::from_secs(60))
        .hang_means("the session did not end at the end of its input");
    let mut child = runner
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ttvm repl");
    let mut stdin = child.stdin.take().expect("stdin");
    let parts: Vec<(String, u64)> = parts.iter().map(|(t, ms)| (t.to_string(), *ms)).collect();
    let writer = std::thread::spawn(move || {
        for (text, ms) in parts {
            let _ = stdin.write_all(text.as_bytes());
            let _ = stdin.flush();
            std::thread::sleep(Duration::from_millis(ms));
        }
    });
    let read = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut text);
            }
            text
        })
    };
    let out = read(child.stdout.take().map(|r| Box::new(r) as _));
    let err = read(child.stderr.take().map(|r| Box::new(r) as _));
    let status = runner.wait(&mut child).expect("wait for ttvm repl");
    let _ = writer.join();
    (
        status,
        out.join().expect("stdout"),
        err.join().expect("stderr"),
    )
}

fn lines(out: &str) -> Vec<&str> {
    out.lines().collect()
}

#[test]
fn arithmetic_shows_the_stack_after_each_entry() {
    let (code, out, err) = repl(
        &[],
        "PUSH_INT 1 | PUSH_INT 2 | ADD\nPUSH_INT 4 | MUL\nPUSH_STR hi | PUSH_FLOAT 1.5\nPOP | POP | PRINT\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines(&out),
        [
            "stack: [3]",
            "stack: [12]",
            "stack: [12, hi, 1.5]",
            "12",
            "stack: []"
        ]
    );
    assert_eq!(err, "");
}

#[test]
fn variables_stay_across_entries() {
    let (code, out, err) = repl(
        &[],
        "PUSH_INT 10 | STORE x\nLOAD x | LOAD x | MUL | STORE y\n:vars\nLOAD y | PUSH_INT 1 | ADD\nDELETE x\n:vars\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines(&out),
        [
            "stack: []",
            "stack: []",
            "x = 10",
            "y = 100",
            "stack: [101]",
            "stack: [101]",
            "y = 100"
        ]
    );
}

#[test]
fn a_function_defined_in_one_entry_is_called_in_later_ones() {
    // A definition over several lines ends at an empty line; one on a
    // single line uses `|`. A later definition calls an earlier one.
    let script = "\
LABEL square
LOAD n
LOAD n
MUL
RET

LABEL sum_squares | LOAD a | CALL square n | LOAD b | CALL square n | ADD | RET
PUSH_INT 7 | CALL square n
PUSH_INT 3 | PUSH_INT 4 | CALL sum_squares a b
PUSH_INT 5 | MAKE_FUNCTION square n | CALL_FUNCTION
";
    let (code, out, err) = repl(&[], script);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines(&out),
        [
            "defined: square",
            "defined: sum_squares",
            "stack: [49]",
            "stack: [49, 25]",
            "stack: [49, 25, 25]"
        ]
    );
}

#[test]
fn errors_leave_the_stack_and_variables_as_they_were() {
    let script = "\
PUSH_INT 5 | STORE x | PUSH_INT 1
PUSH_INT 99 | STORE x | PUSH_INT 2 | PUSH_INT 0 | DIV
LOAD x
PUSH_INTT 3
CALL nowhere
LABEL boom | PUSH_STR bad | THROW
PUSH_INT 8 | CALL boom
LOAD x | PUSH_INT 1 | ADD
";
    let (code, out, err) = repl(&[], script);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines(&out),
        [
            "stack: [1]",
            // The division failed: x is still 5, the 2 is gone.
            "stack: [1]",
            "stack: [1, 5]",
            "defined: boom",
            // The exception crossed a call frame.
            "stack: [1, 5]",
            "stack: [1, 5, 6]"
        ]
    );
    assert!(
        err.contains("error: process 1 crashed: division by zero"),
        "{err}"
    );
    assert!(err.contains("did you mean `PUSH_INT`?"), "{err}");
    assert!(err.contains("unknown label `nowhere`"), "{err}");
    assert!(err.contains("process 1 crashed: bad"), "{err}");
}

#[test]
fn spawned_processes_live_on_and_answer_messages() {
    // `echo` waits for a PID and sends it 42: spawned in one entry, sent
    // to in the next, answered to a RECEIVE in a third; a RECEIVE nobody
    // can answer is a deadlock the session survives.
    let script = "\
LABEL echo
RECEIVE
PUSH_INT 42
SWAP
SEND
HALT

PUSH_STR echo | SPAWN | STORE w
:procs
SELF | LOAD w | SEND
RECEIVE
RECEIVE
LOAD w
";
    let (code, out, err) = repl(&[], script);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines(&out),
        [
            "defined: echo",
            "stack: []",
            "process 2",
            "stack: []",
            "stack: [42]",
            "stack: [42]",
            "stack: [42, 2]"
        ]
    );
    assert!(
        err.contains("deadlock: process 1 waits in RECEIVE")
            && err.contains("the entry was abandoned"),
        "{err}"
    );
}

#[test]
fn a_bundled_module_is_imported_and_used() {
    let (code, out, err) = repl(
        &[],
        "IMPORT std/math\nPUSH_INT -5 | LOAD abs | CALL_FUNCTION\nPUSH_INT 2 | PUSH_INT 10 | LOAD pow | CALL_FUNCTION\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines(&out), ["stack: []", "stack: [5]", "stack: [5, 1024]"]);
}

#[test]
fn exit_ends_the_session_with_its_status() {
    let (code, out, _) = repl(&[], "PUSH_INT 1\nPUSH_INT 3 | EXIT\nPUSH_INT 2\n");
    assert_eq!(code, Some(3));
    assert_eq!(lines(&out), ["stack: [1]"]);
    let (code, out, _) = repl(&[], "PUSH_INT 1\n:quit\nPUSH_INT 2\n");
    assert_eq!((code, lines(&out)), (Some(0), vec!["stack: [1]"]));
}

#[test]
fn several_schedulers_run_the_same_session() {
    let script = "\
LABEL echo | RECEIVE | PUSH_INT 42 | SWAP | SEND | HALT
PUSH_STR echo | SPAWN | SELF | SWAP | SEND | RECEIVE
";
    let (code, out, err) = repl(&["-S", "2"], script);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines(&out), ["defined: echo", "stack: [42]"]);
}

#[test]
fn spawned_processes_run_while_the_user_types() {
    // The ticker prints 200 ms after it is spawned: between the entry that
    // spawned it and the next line, which comes 1.5 s later.
    let (code, out, err) = repl_paced(
        &[],
        &[
            (
                "LABEL ticker | PUSH_INT 200 | SLEEP | PUSH_STR tick | PRINT | HALT\nPUSH_STR ticker | SPAWN | POP\n",
                1500,
            ),
            (":procs\n:quit\n", 0),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines(&out),
        [
            "defined: ticker",
            "stack: []",
            "tick",
            "(no other processes)"
        ],
        "{err}"
    );
}

#[test]
fn a_linked_crash_ends_the_session_like_a_program() {
    let script = "\
LABEL boom | PUSH_INT 1 | PUSH_INT 0 | DIV | HALT
PUSH_STR boom | SPAWN_LINK | POP | PUSH_INT 100 | SLEEP
PUSH_INT 1
";
    let (code, out, err) = repl(&[], script);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(lines(&out), ["defined: boom"], "{err}");
    assert!(
        err.contains("process 2 crashed: division by zero")
            && err.contains("the main process (1) was ended by an exit signal"),
        "{err}"
    );
}

#[test]
fn file_operations_work_in_every_entry() {
    // Blocking operations run on the node's I/O threads, which each
    // round's end closes: the next round must have them again.
    let dir = common::scratch("repl-files");
    let file = dir.join("note.txt");
    let file = file.to_str().expect("a UTF-8 path");
    let script = format!(
        "PUSH_STR hello | PUSH_STR \"{file}\" | WRITE_FILE\nPUSH_STR \"{file}\" | READ_FILE\nPUSH_STR \"{file}\" | FILE_EXISTS\nREAD_LINE\n"
    );
    let (code, out, err) = repl(&[], &script);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines(&out),
        [
            "stack: []",
            "stack: [hello]",
            "stack: [hello, true]",
            // The session's stdin is its own: READ_LINE sees its end.
            "stack: [hello, true, null]"
        ],
        "{err}"
    );
}

/// Issue 15 (moves, `bytecode/liveness.rs`): a LOAD that would be a
/// variable's last use in an entry does not take its value out: the
/// top level's variables outlive the entry, so a later entry still sees
/// the list unchanged.
#[test]
fn a_last_load_in_an_entry_keeps_the_variable() {
    let (code, out, err) = repl(
        &[],
        "PUSH_INT 1 | MAKE_LIST 1 | STORE xs\nLOAD xs | PUSH_INT 2 | APPEND | PUSH_INT 3 | APPEND | STORE ys\nLOAD xs | PRINT | LOAD ys | PRINT\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines(&out),
        ["stack: []", "stack: []", "[1]", "[1, 2, 3]", "stack: []"],
        "{err}"
    );
}
