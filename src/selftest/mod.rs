//! The built-in test commands (`ttvm test-spawn-comprehensive`,
//! `test-send-receive-comprehensive`, `test-register-whereis`,
//! `test-smp-concurrency` and `selftest`, SPEC §5): real `.ttvm` programs
//! bundled in the binary, each run through [`crate::load_source`] and
//! [`crate::run`] with its output captured and compared with the expected
//! output written inside the program, in the golden-test format of
//! `tests/README.md`: one `;> TEXT` line per expected stdout line (`;>` alone
//! for an empty line) and an optional `;! exit: N` (default 0).

use crate::{Io, RunConfig};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// One bundled program.
pub struct Case {
    pub name: &'static str,
    pub source: &'static str,
}

/// The cases of one command.
pub struct Suite {
    /// The subcommand that runs it.
    pub command: &'static str,
    pub cases: &'static [Case],
    /// Whether the suite runs on several schedulers by default (its cases
    /// are written so their output does not depend on the interleaving).
    pub smp: bool,
}

/// The schedulers of a suite that runs on several: at least this many,
/// even on a one-core machine (more threads than cores is part of the
/// test), else one per core.
pub const SMP_SCHEDULERS: usize = 4;

/// How the built-in tests run: `None` keeps each suite's default (one
/// scheduler, or several for an `smp` suite). A suite that is not `smp`
/// always runs on one scheduler: its expected output is the deterministic
/// FIFO order of `--no-smp` (SPEC §4.6).
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub schedulers: Option<usize>,
    pub jit: bool,
}

impl Options {
    /// The scheduler threads `suite` runs with.
    pub fn schedulers_for(&self, suite: &Suite) -> usize {
        match self.schedulers {
            _ if !suite.smp => 1,
            Some(n) => n,
            None => crate::exec::vm::default_schedulers().max(SMP_SCHEDULERS),
        }
    }
}

macro_rules! case {
    ($name:literal) => {
        Case {
            name: $name,
            source: include_str!(concat!($name, ".ttvm")),
        }
    };
}

/// Every suite, in the order `selftest` runs them.
pub static SUITES: &[Suite] = &[
    Suite {
        command: "test-spawn-comprehensive",
        cases: &[
            case!("spawn_builtins"),
            case!("spawn_functions"),
            case!("spawn_closures"),
            case!("spawn_labels"),
            case!("spawn_many"),
        ],
        smp: false,
    },
    Suite {
        command: "test-send-receive-comprehensive",
        cases: &[
            case!("send_order"),
            case!("send_operands"),
            case!("selective"),
            case!("timeouts"),
            case!("request_reply"),
        ],
        smp: false,
    },
    Suite {
        command: "test-register-whereis",
        cases: &[
            case!("registry_guide"),
            case!("registry_named_server"),
            case!("registry_errors"),
        ],
        smp: false,
    },
    Suite {
        command: "test-smp-concurrency",
        cases: &[
            case!("smp_fan_out"),
            case!("smp_fan_in"),
            case!("smp_ring"),
            case!("smp_links_monitors"),
        ],
        smp: true,
    },
];

/// A `Write` that appends to a shared buffer (the run's stdout or stderr).
#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a program expects of its run.
#[derive(Debug, PartialEq, Eq)]
pub struct Expect {
    pub stdout: String,
    pub exit: i32,
}

/// Read the `;>` and `;! exit:` lines of a program.
pub fn expectations(source: &str) -> Expect {
    let mut stdout = String::new();
    let mut exit = 0;
    for line in source.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix(";>") {
            stdout.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            stdout.push('\n');
        } else if let Some(rest) = line.strip_prefix(";! exit:") {
            exit = rest.trim().parse().unwrap_or(-1);
        }
    }
    Expect { stdout, exit }
}

/// The result of one case.
pub struct Outcome {
    pub name: &'static str,
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub report: String,
}

/// A guard against a program that never ends: far more reductions than any
/// bundled program needs.
const REDUCTION_LIMIT: u64 = 200_000_000;

/// The configuration the cases run with: the defaults, on one scheduler
/// (SPEC §4.6: deterministic).
fn config(schedulers: usize, jit: bool) -> RunConfig {
    RunConfig {
        schedulers,
        jit,
        reduction_limit: Some(REDUCTION_LIMIT),
        ..RunConfig::default()
    }
}

/// Run one case and compare its stdout and exit status with its
/// expectations.
pub fn run_case(case: &Case) -> Outcome {
    run_case_with(case, 1, false)
}

/// Run one case with `schedulers` scheduler threads (and the JIT).
pub fn run_case_with(case: &Case, schedulers: usize, jit: bool) -> Outcome {
    let expect = expectations(case.source);
    let stdout = SharedBuf::default();
    let stderr = SharedBuf::default();
    let mut report = String::new();
    match crate::load_source(&format!("{}.ttvm", case.name), case.source) {
        Err(e) => {
            let _ = writeln!(report, "  does not assemble:\n{}", indent(&e.render()));
        }
        Ok(program) => {
            let io = Io {
                stdout: Box::new(stdout.clone()),
                stderr: Box::new(stderr.clone()),
                stdin: Box::new(std::io::empty()),
            };
            let result = crate::run(Arc::new(program), config(schedulers, jit), io);
            let out = stdout.text();
            if result.hit_reduction_limit {
                let _ = writeln!(
                    report,
                    "  stopped after {REDUCTION_LIMIT} reductions (runs forever?)"
                );
            } else if result.exit_code != expect.exit {
                let _ = writeln!(
                    report,
                    "  exit status: expected {}, got {}",
                    expect.exit, result.exit_code
                );
            }
            if out != expect.stdout {
                let _ = writeln!(report, "  stdout (- expected, + actual):");
                report.push_str(&diff(&expect.stdout, &out));
            }
            if !report.is_empty() {
                let err = stderr.text();
                if !err.is_empty() {
                    let _ = writeln!(report, "  stderr:\n{}", indent(&err));
                }
            }
        }
    }
    Outcome {
        name: case.name,
        passed: report.is_empty(),
        report,
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// A line diff of two texts (longest common subsequence): unchanged lines
/// with two spaces, missing ones with `-`, unexpected ones with `+`.
pub fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: the LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "      {}", a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "    + {}", b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "    - {}", a[i]);
            i += 1;
        }
    }
    out
}

/// Run the suites (`command` names one, `None` runs all), writing
/// `PASS name` / `FAIL name` lines and failure details to `out`. True when
/// every case passed.
pub fn run(command: Option<&str>, options: Options, out: &mut dyn Write) -> bool {
    let mut passed = 0;
    let mut failed = Vec::new();
    for suite in SUITES
        .iter()
        .filter(|s| command.is_none_or(|c| c == s.command))
    {
        let schedulers = options.schedulers_for(suite);
        let plural = if schedulers == 1 { "" } else { "s" };
        let jit = if options.jit { ", --jit" } else { "" };
        let note = match options.schedulers {
            Some(n) if n > 1 && !suite.smp => {
                ": its expected output is the deterministic order of --no-smp"
            }
            _ => "",
        };
        let _ = writeln!(
            out,
            "{} ({schedulers} scheduler{plural}{jit}{note})",
            suite.command
        );
        for case in suite.cases {
            let outcome = run_case_with(case, schedulers, options.jit);
            if outcome.passed {
                passed += 1;
                let _ = writeln!(out, "PASS {}", outcome.name);
            } else {
                failed.push(outcome.name);
                let _ = write!(out, "FAIL {}\n{}", outcome.name, outcome.report);
            }
            let _ = out.flush();
        }
    }
    if failed.is_empty() {
        let _ = writeln!(out, "{passed} passed");
    } else {
        let _ = writeln!(
            out,
            "{passed} passed, {} failed: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    failed.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_are_read_from_comments() {
        let e = expectations("PRINT\n;> a\n;>\n;>  b\n;! exit: 4\n");
        assert_eq!(
            e,
            Expect {
                stdout: "a\n\n b\n".to_string(),
                exit: 4
            }
        );
    }

    #[test]
    fn diff_marks_missing_and_extra_lines() {
        let d = diff("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(d, "      a\n    + x\n    - b\n      c\n");
    }

    #[test]
    fn every_case_has_expectations() {
        for suite in SUITES {
            for case in suite.cases {
                assert!(
                    case.source.contains(";>"),
                    "{} has no expected output",
                    case.name
                );
            }
        }
    }
}
