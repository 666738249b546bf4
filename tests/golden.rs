//! Golden-program harness: runs every `tests/programs/**/*.ttvm` and
//! `examples/*.ttvm` through the `ttvm` binary and compares stdout, exit
//! status and stderr fragments with the expectations written inside the
//! program (or in a sidecar `NAME.expect`). See `tests/README.md`.
//!
//! Environment:
//! - `TTVM_BLESS=1` rewrites the `;>` block and `;! exit:` line of each file
//!   from the actual run (first mode only).
//! - `TTVM_GOLDEN_FILTER=substr` runs only the programs whose path (relative
//!   to the crate root) contains `substr`.

mod common;

use common::golden::{discover, lines_of, Case, Expect};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Execution modes: a name (usable in `;! modes:`) and the extra flags put
/// before the program path. Adding a mode is adding one line here.
///
/// `jit-mixed` is differential: a tiny reduction quantum and a low
/// threshold make processes move between the tiers all the time, which
/// also changes how multi-process programs interleave; so its run is
/// compared with an interpreter run of the same quantum (one scheduler
/// unless the program picks its own), not with the file's expectations.
/// It compiles on the scheduler thread (`--jit-sync`), so that where the
/// tiers change does not depend on timing. `jit-bg` is the JIT as users
/// run it: units found hot (after 2 entries) are compiled by the
/// background compiler thread and installed whenever they are ready, on
/// the default schedulers.
const MODES: &[(&str, &[&str])] = &[
    ("interp", &[]),
    ("jit-eager", &["--jit", "--jit-threshold", "0"]),
    (
        MIXED,
        &[
            "--jit",
            "--jit-sync",
            "--jit-threshold",
            "2",
            "--reductions",
            "7",
        ],
    ),
    ("jit-bg", &["--jit", "--jit-threshold", "2"]),
];

/// The differential mode, and the interpreter run it is compared with.
const MIXED: &str = "jit-mixed";

fn mode_names() -> Vec<&'static str> {
    MODES.iter().map(|m| m.0).collect()
}
const MIXED_BASELINE: &[&str] = &["--reductions", "7"];

const TIMEOUT: Duration = Duration::from_secs(30);
const THREADS: usize = 4;
/// How many lines of expected/actual output a failure report shows.
const SHOW_LINES: usize = 40;

struct Outcome {
    /// `None` when the run timed out or could not be started.
    status: Option<i32>,
    stdout: String,
    stderr: String,
    note: Option<String>,
    elapsed: Duration,
}

fn command_line(case: &Case, mode_flags: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    args.extend(case.expect.flags.iter().cloned());
    args.extend(mode_flags.iter().map(|s| s.to_string()));
    let differential = mode_flags == MIXED_BASELINE
        || Some(&mode_flags) == MODES.iter().find(|m| m.0 == MIXED).map(|m| &m.1);
    let picks_schedulers = case
        .expect
        .flags
        .iter()
        .any(|f| f == "-S" || f.starts_with("--schedulers") || f.starts_with("-S"));
    if differential && !picks_schedulers {
        args.push("--no-smp".to_string());
    }
    args.push(
        case.program
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
    );
    if case.expect.dashdash {
        args.push("--".to_string());
        args.extend(case.expect.prog_args.iter().cloned());
    }
    args
}

fn run_one(case: &Case, mode_flags: &[&str]) -> Outcome {
    let dir = case.program.parent().unwrap();
    let args = command_line(case, mode_flags);
    let r = common::run_captured(dir, &args, &[], case.expect.stdin.as_deref(), TIMEOUT);
    Outcome {
        status: r.status,
        stdout: r.stdout,
        stderr: r.stderr,
        note: r.note,
        elapsed: r.elapsed,
    }
}

fn expected_stdout(e: &Expect) -> String {
    let mut s = String::new();
    for l in &e.stdout {
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn show(label: &str, text: &str, out: &mut String) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let _ = writeln!(out, "    --- {label} ({} lines) ---", lines.len());
    for l in lines.iter().take(SHOW_LINES) {
        let (body, nl) = match l.strip_suffix('\n') {
            Some(b) => (b, ""),
            None => (*l, "  <no newline at end>"),
        };
        let _ = writeln!(out, "    |{body}{nl}");
    }
    if lines.len() > SHOW_LINES {
        let _ = writeln!(out, "    | ... ({} more lines)", lines.len() - SHOW_LINES);
    }
}

/// How a differential run differs from its interpreter baseline.
fn differ(base: &Outcome, o: &Outcome) -> Option<String> {
    let mut d = String::new();
    if base.status != o.status {
        let _ = writeln!(
            d,
            "  exit status: interpreter {:?}, JIT {:?}",
            base.status, o.status
        );
    }
    if base.stdout != o.stdout {
        let _ = writeln!(d, "  stdout differs from the interpreter's");
        show("interpreter stdout", &base.stdout, &mut d);
        show("JIT stdout", &o.stdout, &mut d);
        show("JIT stderr", &o.stderr, &mut d);
    }
    if let Some(n) = &base.note {
        let _ = writeln!(d, "  interpreter run: {n}");
    }
    (!d.is_empty()).then(|| d.trim_start().to_string())
}

/// Compare one run with the expectations; `None` when it passes.
fn check(case: &Case, mode: &str, mode_flags: &[&str], o: &Outcome) -> Option<String> {
    let e = &case.expect;
    let mut problems = String::new();
    if let Some(n) = &o.note {
        let _ = writeln!(problems, "  {n}");
    }
    if mode == MIXED {
        if problems.is_empty() {
            return None;
        }
        let args = command_line(case, mode_flags);
        return Some(format!(
            "FAIL {} [mode {mode}] ({:.1}s)\n  command: (cd {} && ttvm {})\n{problems}",
            case.rel,
            o.elapsed.as_secs_f64(),
            case.program.parent().unwrap().display(),
            args.join(" ")
        ));
    }
    if o.status != Some(e.exit) {
        let _ = writeln!(
            problems,
            "  exit status: expected {}, got {}",
            e.exit,
            o.status.map_or("none".to_string(), |s| s.to_string())
        );
    }
    let want = expected_stdout(e);
    if !e.ignore_stdout && want != o.stdout {
        let w: Vec<&str> = want.split_inclusive('\n').collect();
        let g: Vec<&str> = o.stdout.split_inclusive('\n').collect();
        let i = w
            .iter()
            .zip(&g)
            .position(|(a, b)| a != b)
            .unwrap_or(w.len().min(g.len()));
        let _ = writeln!(
            problems,
            "  stdout differs at line {}: expected {:?}, got {:?}",
            i + 1,
            w.get(i).copied().unwrap_or("<end of output>"),
            g.get(i).copied().unwrap_or("<end of output>")
        );
        show("expected stdout", &want, &mut problems);
        show("actual stdout", &o.stdout, &mut problems);
    }
    let mut missing = false;
    for frag in &e.stderr {
        if !o.stderr.contains(frag.as_str()) {
            missing = true;
            let _ = writeln!(problems, "  stderr lacks {frag:?}");
        }
    }
    if problems.is_empty() {
        return None;
    }
    if missing || o.status != Some(e.exit) {
        show("actual stderr", &o.stderr, &mut problems);
    }
    let args = command_line(case, mode_flags);
    Some(format!(
        "FAIL {} [mode {mode}] ({:.1}s)\n  command: (cd {} && ttvm {})\n{problems}",
        case.rel,
        o.elapsed.as_secs_f64(),
        case.program.parent().unwrap().display(),
        args.join(" ")
    ))
}

/// Rewrite `;>` lines and the `;! exit:` line of `case.expect_file`.
fn bless(case: &Case, o: &Outcome) -> Result<bool, String> {
    let Some(status) = o.status else {
        return Err(format!(
            "{}: not blessed: {}",
            case.rel,
            o.note.clone().unwrap_or_default()
        ));
    };
    let bytes = std::fs::read(&case.expect_file).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{}: not blessed: expectations file is not UTF-8", case.rel))?;
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut kept: Vec<String> = Vec::new();
    let mut exit_written = false;
    for line in lines_of(text.as_bytes()) {
        let t = line.trim_start();
        if t.starts_with(";>") {
            continue;
        }
        let is_exit = t
            .strip_prefix(";!")
            .is_some_and(|r| r.trim_start().starts_with("exit:"));
        if is_exit {
            if !exit_written {
                kept.push(format!(";! exit: {status}"));
                exit_written = true;
            }
            continue;
        }
        kept.push(line);
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    if !exit_written && status != 0 {
        kept.push(format!(";! exit: {status}"));
    }
    if !case.expect.ignore_stdout {
        for l in o.stdout.split_inclusive('\n') {
            let l = l.strip_suffix('\n').unwrap_or(l);
            let l = l.strip_suffix('\r').unwrap_or(l);
            kept.push(if l.is_empty() {
                ";>".to_string()
            } else {
                format!(";> {l}")
            });
        }
    }
    let mut new_text = kept.join(nl);
    new_text.push_str(nl);
    if new_text == text {
        return Ok(false);
    }
    std::fs::write(&case.expect_file, new_text).map_err(|e| e.to_string())?;
    Ok(true)
}

#[test]
fn golden_programs() {
    let filter = std::env::var("TTVM_GOLDEN_FILTER")
        .ok()
        .filter(|s| !s.is_empty());
    let blessing = std::env::var("TTVM_BLESS").is_ok_and(|v| v == "1");
    let (cases, mut failures) = discover(filter.as_deref(), &mode_names());
    if cases.is_empty() && filter.is_none() {
        panic!("no golden programs found under tests/programs or examples");
    }

    // Work items: (case index, its mode indices). The modes of one program
    // run one after another: a program may write files beside itself.
    let mut work: VecDeque<(usize, Vec<usize>)> = VecDeque::new();
    let mut total = 0;
    for (ci, case) in cases.iter().enumerate() {
        let modes: Vec<usize> = MODES
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| {
                case.expect.modes.is_empty() || case.expect.modes.iter().any(|m| m == name)
            })
            .map(|(mi, _)| mi)
            .collect();
        total += modes.len();
        work.push_back((ci, modes));
    }
    let cases = Arc::new(cases);
    let work = Arc::new(Mutex::new(work));
    let (tx, rx) = mpsc::channel::<(usize, usize, Outcome)>();
    let threads = THREADS.min(total.max(1));
    let mut handles = Vec::new();
    for _ in 0..threads {
        let (cases, work, tx) = (Arc::clone(&cases), Arc::clone(&work), tx.clone());
        handles.push(thread::spawn(move || loop {
            let item = work.lock().unwrap().pop_front();
            let Some((ci, modes)) = item else { break };
            for mi in modes {
                let mut o = run_one(&cases[ci], MODES[mi].1);
                if MODES[mi].0 == MIXED {
                    let base = run_one(&cases[ci], MIXED_BASELINE);
                    o.note = differ(&base, &o).or(o.note);
                }
                if tx.send((ci, mi, o)).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    let mut results: Vec<(usize, usize, Outcome)> = rx.iter().collect();
    for h in handles {
        h.join().expect("golden worker panicked");
    }
    results.sort_by_key(|(ci, mi, _)| (*ci, *mi));

    let mut failed_files: Vec<String> = Vec::new();
    let mut blessed = 0;
    for (ci, mi, o) in &results {
        let case = &cases[*ci];
        let (mode, flags) = MODES[*mi];
        if blessing && *mi == first_mode(&case.expect) {
            match bless(case, o) {
                Ok(true) => {
                    blessed += 1;
                    eprintln!("blessed {}", case.rel);
                }
                Ok(false) => {}
                Err(e) => failures.push(e),
            }
            continue;
        }
        if let Some(report) = check(case, mode, flags, o) {
            failures.push(report);
            if !failed_files.contains(&case.rel) {
                failed_files.push(case.rel.clone());
            }
        }
    }

    eprintln!(
        "golden: {} programs, {} runs{}",
        cases.len(),
        total,
        if blessing {
            format!(", {blessed} files rewritten")
        } else {
            String::new()
        }
    );
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("{f}");
        }
        let mut summary = format!("{} golden failure(s)", failures.len());
        for f in &failed_files {
            let _ = write!(summary, "\n  {f}");
        }
        panic!("{summary}");
    }
}

fn first_mode(e: &Expect) -> usize {
    if e.modes.is_empty() {
        return 0;
    }
    MODES
        .iter()
        .position(|(n, _)| e.modes.iter().any(|m| m == n))
        .unwrap_or(0)
}
