//! Issue 12, finding 10: a failed write to stdout is reported on stderr
//! (`ttvm: error writing to stdout: REASON`) and gives exit status 5 where
//! the run would have ended with 0; a closed pipe (the reader went away) is
//! quiet and changes nothing. Linux: `/dev/full` fails every write with
//! ENOSPC.

mod common;

use common::{scratch, Ttvm};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const REPORT: &str = "ttvm: error writing to stdout: No space left on device";

/// Run `ttvm ARGS` in `dir` with stdout on `/dev/full`: (status, stderr).
fn to_dev_full(dir: &Path, args: &[&str]) -> Option<(Option<i32>, String)> {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .ok()?;
    let r = Ttvm::new()
        .args(args)
        .cwd(dir)
        .stdout_to(full)
        .timeout(LIMIT)
        .hang_means("hung")
        .run();
    Some((r.status, r.stderr))
}

/// Many lines (more than the 64 KiB buffer), then `tail`.
fn printer(lines: usize, tail: &str) -> String {
    format!(
        "PUSH_INT 0\nSTORE i\nLABEL l\nLOAD i\nPRINT\nLOAD i\nPUSH_INT 1\nADD\nDUP\nSTORE i\nPUSH_INT {lines}\nLT\nJNZ l\n{tail}"
    )
}

#[test]
fn a_failed_write_is_reported_once_and_gives_status_5() {
    let dir = scratch("stdout-full");
    let cases = [
        ("one.ttvm", "PUSH_STR hi\nPRINT\n".to_string(), Some(5)),
        ("many.ttvm", printer(100_000, ""), Some(5)),
        ("exit0.ttvm", printer(10, "PUSH_INT 0\nEXIT\n"), Some(5)),
        // A non-zero status says more than the write error: it is kept.
        ("exit7.ttvm", printer(10, "PUSH_INT 7\nEXIT\n"), Some(7)),
        (
            "crash.ttvm",
            printer(10, "PUSH_INT 1\nPUSH_INT 0\nDIV\n"),
            Some(1),
        ),
    ];
    for (name, src, want) in cases {
        std::fs::write(dir.join(name), src).unwrap();
        for flags in [&["--no-smp"][..], &["-S", "4"][..], &["--jit"][..]] {
            let mut args = flags.to_vec();
            args.push(name);
            let Some((status, stderr)) = to_dev_full(&dir, &args) else {
                return;
            };
            assert_eq!(status, want, "{args:?}: {stderr}");
            assert_eq!(stderr.matches(REPORT).count(), 1, "{args:?}: {stderr}");
        }
    }
}

#[test]
fn many_processes_printing_to_a_full_device_report_once() {
    let dir = scratch("stdout-full-procs");
    // 8 processes print 1,000 lines each; main waits for them.
    let src = "\
PUSH_INT 0
STORE n
LABEL spawn
MAKE_FUNCTION worker p
SELF
SWAP
SPAWN
POP
LOAD n
PUSH_INT 1
ADD
DUP
STORE n
PUSH_INT 8
LT
JNZ spawn
PUSH_INT 0
STORE n
LABEL wait
RECEIVE
POP
LOAD n
PUSH_INT 1
ADD
DUP
STORE n
PUSH_INT 8
LT
JNZ wait
HALT
LABEL worker
PUSH_INT 0
STORE i
LABEL l
LOAD i
PRINT
LOAD i
PUSH_INT 1
ADD
DUP
STORE i
PUSH_INT 1000
LT
JNZ l
PUSH_STR done
LOAD p
SEND
RET
";
    std::fs::write(dir.join("procs.ttvm"), src).unwrap();
    let Some((status, stderr)) = to_dev_full(&dir, &["-S", "4", "procs.ttvm"]) else {
        return;
    };
    assert_eq!(status, Some(5), "{stderr}");
    assert_eq!(stderr.matches(REPORT).count(), 1, "{stderr}");
}

#[test]
fn cli_commands_report_a_failed_write_instead_of_panicking() {
    let dir = scratch("stdout-full-cli");
    std::fs::write(dir.join("p.ttvm"), "PUSH_STR hi\nPRINT\n").unwrap();
    for args in [
        &["check", "p.ttvm"][..],
        &["dis", "p.ttvm"][..],
        &["--help"][..],
        &["--version"][..],
        &["test-register-whereis"][..],
    ] {
        let Some((status, stderr)) = to_dev_full(&dir, args) else {
            return;
        };
        assert_eq!(status, Some(5), "{args:?}: {stderr}");
        assert!(stderr.contains(REPORT), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_pipe_stays_quiet() {
    let dir = scratch("stdout-closed-pipe");
    std::fs::write(dir.join("many.ttvm"), printer(100_000, "")).unwrap();
    let mut labels = String::new();
    for i in 0..20_000 {
        labels.push_str(&format!("LABEL l{i}\nPUSH_INT {i}\n"));
    }
    std::fs::write(dir.join("big.ttvm"), labels).unwrap();
    for args in [
        &["many.ttvm"][..],
        &["-S", "4", "many.ttvm"][..],
        &["dis", "big.ttvm"][..],
    ] {
        let err_path = dir.join(".stderr");
        // The child itself: its stdout's reader goes away.
        let run = Ttvm::new()
            .args(args)
            .cwd(&dir)
            .timeout(LIMIT)
            .hang_means("hung");
        let mut child = run
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .expect("start ttvm");
        // The reader goes away at once: every write gets EPIPE.
        drop(child.stdout.take());
        let status = run.wait(&mut child).expect("ended");
        let stderr = std::fs::read_to_string(&err_path).unwrap();
        assert_eq!(status, Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}
