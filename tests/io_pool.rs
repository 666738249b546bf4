//! Issue 16, item 5: blocking operations run on the node's I/O threads
//! while their process waits, so other processes keep running — on one
//! scheduler too; a process waiting for I/O is not a deadlock; a process
//! killed while its operation is on its way does not hold the run.
//!
//! Each test keeps the child's stdin open without writing (the unfixed VM
//! blocked its only scheduler thread in READ_LINE there), reads its stdout
//! line by line with a time limit, and only then writes or closes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

/// Lines of a child's stdout, read on a thread so the test can wait for
/// one with a time limit.
fn lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The run started with stdin, stdout and stderr on pipes.
fn spawn_piped(run: &common::Ttvm) -> std::process::Child {
    run.command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn program(name: &str, src: &str) -> std::path::PathBuf {
    let dir = common::scratch(&format!("io-pool-{name}"));
    let path = dir.join(format!("{name}.ttvm"));
    std::fs::write(&path, src).unwrap();
    path
}

/// A process that counts to 200,000, then prints `counted`.
macro_rules! counter_fn {
    () => {
        "\
LABEL counter
PUSH_INT 0
STORE i
LABEL loop
LOAD i
PUSH_INT 1
ADD
STORE i
LOAD i
PUSH_INT 200000
LT
JNZ loop
PUSH_STR \"counted\"
PRINT
RET
"
    };
}

/// Main waits in READ_LINE; a spawned process counts to 200,000 and says
/// so. With stdin open and silent, the count must finish.
const COUNTER: &str = concat!(
    "\
MAKE_FUNCTION counter
SPAWN
POP
READ_LINE
PUSH_STR \"main read: \"
SWAP
CONCAT
PRINT
HALT
",
    counter_fn!()
);

#[test]
fn read_line_on_a_silent_pipe_does_not_stop_other_processes() {
    let path = program("counter", COUNTER);
    for flags in [
        &["-S", "1"][..],
        &["--no-smp"][..],
        &["-S", "2"][..],
        &["-S", "1", "--jit", "--jit-threshold", "0"][..],
    ] {
        let run = common::Ttvm::new()
            .args(flags)
            .arg(&path)
            .timeout(Duration::from_secs(60));
        let mut child = spawn_piped(&run);
        let rx = lines(&mut child);
        let first = rx.recv_timeout(Duration::from_secs(30));
        assert_eq!(
            first.as_deref(),
            Ok("counted"),
            "{flags:?}: the counting process did not run while main waited in READ_LINE"
        );
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hello\n").unwrap();
        drop(stdin);
        let second = rx.recv_timeout(Duration::from_secs(30));
        assert_eq!(second.as_deref(), Ok("main read: hello"), "{flags:?}");
        assert_eq!(run.wait(&mut child), Ok(Some(0)), "{flags:?}");
    }
}

/// EXEC of a slow program (`sleep 1`) in one process while another counts:
/// the count finishes first.
const EXEC: &str = concat!(
    "\
MAKE_FUNCTION counter
SPAWN
POP
PUSH_STR \"sleep\"
PUSH_STR \"1\"
MAKE_LIST 1
EXEC
PUSH_STR \"sleep ended: \"
SWAP
CONCAT
PRINT
HALT
",
    counter_fn!()
);

#[test]
fn exec_of_a_slow_program_does_not_stop_other_processes() {
    if std::process::Command::new("sleep")
        .arg("0")
        .status()
        .is_err()
    {
        eprintln!("skipped: no `sleep` program");
        return;
    }
    let path = program("exec", EXEC);
    let out = common::Ttvm::new()
        .args(["-S", "1"])
        .arg(&path)
        .timeout(Duration::from_secs(60))
        .run();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "counted\nsleep ended: 0\n");
}

/// A process waiting for stdin is killed; main then waits in RECEIVE with
/// nothing to wake it: a deadlock, reported at once — the reader's
/// operation, still on its way, does not keep the run going.
const KILLED: &str = "\
MAKE_FUNCTION reader
SPAWN
STORE r
PUSH_INT 50
SLEEP
LOAD r
PUSH_STR \"stop\"
EXIT_PROCESS
PUSH_STR \"killed the reader\"
PRINT
RECEIVE
HALT
LABEL reader
READ_LINE
PRINT
RET
";

#[test]
fn a_reader_killed_while_waiting_does_not_hold_the_run() {
    let path = program("killed", KILLED);
    for flags in [&["-S", "1"][..], &["-S", "2"][..]] {
        let run = common::Ttvm::new()
            .args(flags)
            .arg(&path)
            .timeout(Duration::from_secs(30))
            .hang_means("the run waited for the killed reader's READ_LINE");
        let mut child = spawn_piped(&run);
        // Stdin stays open (and silent) until the run has ended.
        let stdin = child.stdin.take();
        let rx = lines(&mut child);
        let status = run.wait(&mut child);
        drop(stdin);
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            e.read_to_string(&mut err).unwrap();
        }
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).as_deref(),
            Ok("killed the reader")
        );
        assert_eq!(status, Ok(Some(4)), "{flags:?}: {err}");
        assert!(
            err.contains("deadlock: process 1 waits in RECEIVE"),
            "{flags:?}: {err}"
        );
    }
}

/// A process alone, waiting for input that comes late, is not a deadlock
/// (the unfixed VM passed this by blocking its scheduler; now I5, the
/// pending count, is what keeps it from being reported).
#[test]
fn waiting_for_input_is_not_a_deadlock() {
    let path = program("late", "READ_LINE\nPRINT\n");
    let run = common::Ttvm::new()
        .args(["-S", "1"])
        .arg(&path)
        .timeout(Duration::from_secs(30));
    let mut child = spawn_piped(&run);
    let rx = lines(&mut child);
    std::thread::sleep(Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"late\n").unwrap();
    drop(stdin);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(20)).as_deref(),
        Ok("late")
    );
    assert_eq!(run.wait(&mut child), Ok(Some(0)));
}
