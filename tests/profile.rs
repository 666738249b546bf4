//! `--profile` (issue 18, item 5; docs/PROFILING.md): the function table's
//! names and call counts on a known program, the process table's messages
//! and peak mailbox, the folded stacks' form and totals, `--jit`'s tier
//! column, and a bad form.

mod common;

use common::Ttvm;

/// fib(15) by plain recursion (1973 calls of `fib`), then a worker that
/// gets three messages, all sent before it first runs (one scheduler).
const PROGRAM: &str = "\
PUSH_INT 15
CALL fib n
PRINT
PUSH_STR worker
SPAWN
STORE w
PUSH_INT 1
LOAD w
SEND
PUSH_INT 2
LOAD w
SEND
PUSH_INT 3
LOAD w
SEND
HALT
LABEL fib
LOAD n
PUSH_INT 2
LT
JZ rec
LOAD n
RET
LABEL rec
LOAD n
PUSH_INT 1
SUB
CALL fib n
LOAD n
PUSH_INT 2
SUB
CALL fib n
ADD
RET
LABEL worker
RECEIVE
POP
RECEIVE
POP
RECEIVE
POP
HALT
";

/// `ttvm ARGS -` with PROGRAM on stdin: (status, stdout, stderr).
fn ttvm(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Ttvm::new().args(args).arg("-").stdin(PROGRAM).run();
    (out.status, out.stdout, out.stderr)
}

/// The row of the table whose first column is `name`, split in columns.
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| {
            // `<top level>` is two words.
            let joined = cols.join(" ");
            joined.starts_with(&format!("{name} "))
        })
        .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"))
}

#[test]
fn the_table_names_each_function_with_its_calls() {
    let (code, out, err) = ttvm(&["--no-smp", "--profile"]);
    assert_eq!((code, out.as_str()), (Some(0), "610\n"), "{err}");
    let functions = err
        .split("profile: processes")
        .next()
        .expect("the function table");
    assert!(
        functions.starts_with("profile: functions by self time"),
        "{err}"
    );
    // function, calls, reductions, time, self time, tier
    let fib = row(functions, "fib");
    assert_eq!((fib[1], fib[5]), ("1973", "interpreted"), "{err}");
    let top = row(functions, "<top level>");
    assert_eq!(top[2], "1", "{err}");
    let worker = row(functions, "worker");
    assert_eq!(worker[1], "1", "{err}");
    // Sorted by self time: fib's thousands of calls come first.
    let first = functions.lines().nth(2).expect("a first row");
    assert!(first.trim_start().starts_with("fib "), "{err}");
    // Processes: pid, started in, reductions, msgs in, msgs out, peak.
    let procs = err
        .split("profile: processes")
        .nth(1)
        .expect("the process table");
    let main = row(procs, "1");
    // `<top level>` is two columns.
    assert_eq!((main[4], main[5], main[6]), ("0", "3", "0"), "{err}");
    let w = row(procs, "2");
    assert_eq!(
        (w[1], w[2], w[3], w[4], w[5]),
        ("worker", "8", "3", "0", "3"),
        "{err}"
    );
}

#[test]
fn folded_stacks_parse_and_add_up_to_the_reductions() {
    let dir = common::scratch("profile-folded");
    let file = dir.join("out.folded");
    let form = format!("--profile=folded={}", file.display());
    let (code, _, err) = ttvm(&["--no-smp", "--stats", &form]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("stacks written to"), "{err}");
    let text = std::fs::read_to_string(&file).expect("the folded file");
    let mut total = 0u64;
    let mut deepest = 0;
    for line in text.lines() {
        let (frames, count) = line.rsplit_once(' ').expect("`frames count`");
        let count: u64 = count.parse().expect("a count");
        assert!(count > 0, "{line}");
        let frames: Vec<&str> = frames.split(';').collect();
        assert!(frames.iter().all(|f| !f.is_empty()), "{line}");
        assert!(
            frames[0] == "<top level>" || frames[0] == "worker",
            "{line}"
        );
        deepest = deepest.max(frames.iter().filter(|f| **f == "fib").count());
        total += count;
    }
    // fib(15) recurses 15 deep (fib(15) … fib(1)).
    assert_eq!(deepest, 15, "{text}");
    // Every reduction of every process is in one stack.
    let stats = err
        .lines()
        .find(|l| l.starts_with("stats:"))
        .expect("--stats");
    let reductions: u64 = stats
        .split("reductions ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|r| r.trim().parse().ok())
        .expect("the reductions in --stats");
    assert_eq!(total, reductions, "{text}\n{err}");
}

#[test]
fn with_the_jit_compiled_functions_are_marked() {
    let (code, out, err) = ttvm(&["--no-smp", "--profile", "--jit", "--jit-threshold", "0"]);
    assert_eq!((code, out.as_str()), (Some(0), "610\n"), "{err}");
    let fib = row(&err, "fib");
    assert_eq!(fib[5], "compiled", "{err}");
    // Entered from interpreted code at least once; calls inside compiled
    // code are not seen (docs/PROFILING.md).
    let calls: u64 = fib[1].parse().expect("calls");
    assert!((1..=1973).contains(&calls), "{err}");
}

#[test]
fn a_bad_form_is_a_usage_error() {
    let (code, _, err) = ttvm(&["--profile=flame"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--profile=folded=FILE"), "{err}");
}
