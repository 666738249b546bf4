//! `ttvm selftest` (SPEC §5): the built-in test commands run their bundled
//! programs and all pass; each command alone works too, and prints one
//! PASS line per case.

mod common;

use common::Ttvm;

fn ttvm(args: &[&str]) -> (bool, String) {
    let out = Ttvm::new().args(args).run();
    (out.status == Some(0), out.stdout)
}

#[test]
fn selftest_passes() {
    let (ok, out) = ttvm(&["selftest"]);
    assert!(ok, "ttvm selftest failed:\n{out}");
    assert!(!out.contains("FAIL"), "{out}");
    let cases: usize = ttvm::selftest::SUITES.iter().map(|s| s.cases.len()).sum();
    assert_eq!(out.matches("PASS ").count(), cases, "{out}");
}

#[test]
fn each_test_command_passes() {
    for suite in ttvm::selftest::SUITES {
        let (ok, out) = ttvm(&[suite.command]);
        assert!(ok, "ttvm {} failed:\n{out}", suite.command);
        for case in suite.cases {
            assert!(
                out.contains(&format!("PASS {}\n", case.name)),
                "{}: no PASS line for {}:\n{out}",
                suite.command,
                case.name
            );
        }
    }
}

#[test]
fn a_failing_case_is_reported_with_a_diff() {
    let case = ttvm::selftest::Case {
        name: "wrong_on_purpose",
        source: "PUSH_STR \"actual\"\nPRINT\n;> expected\n",
    };
    let outcome = ttvm::selftest::run_case(&case);
    assert!(!outcome.passed);
    assert!(outcome.report.contains("- expected"), "{}", outcome.report);
    assert!(outcome.report.contains("+ actual"), "{}", outcome.report);
}

/// Issue 18, item 2: `test-smp-concurrency` runs on several schedulers by
/// default, and flags may come before the command as well as after it.
#[test]
fn smp_suite_runs_on_several_schedulers_and_takes_flags_before_the_command() {
    let (ok, out) = ttvm(&["test-smp-concurrency"]);
    assert!(ok, "{out}");
    let first = out.lines().next().unwrap_or_default();
    let n: usize = first
        .strip_prefix("test-smp-concurrency (")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no scheduler count in {first:?}"));
    assert!(n >= ttvm::selftest::SMP_SCHEDULERS, "{first}");
    let (ok, out) = ttvm(&["-S", "3", "test-smp-concurrency"]);
    assert!(ok, "{out}");
    assert!(
        out.starts_with("test-smp-concurrency (3 schedulers)\n"),
        "{out}"
    );
    let (ok, out) = ttvm(&["--no-smp", "--jit", "test-smp-concurrency"]);
    assert!(ok, "{out}");
    assert!(
        out.starts_with("test-smp-concurrency (1 scheduler, --jit)\n"),
        "{out}"
    );
    // The deterministic suites stay on one scheduler, and say why.
    let (ok, out) = ttvm(&["--smp", "test-spawn-comprehensive"]);
    assert!(ok, "{out}");
    assert!(out.starts_with("test-spawn-comprehensive (1 scheduler: its expected output is the deterministic order of --no-smp)\n"), "{out}");
}

/// A flag a subcommand does not take is refused clearly, wherever it is.
#[test]
fn a_flag_a_subcommand_does_not_take_is_refused() {
    let out = Ttvm::new().args(["--sandbox", "check", "x.ttvm"]).run();
    assert_eq!(out.status, Some(2));
    let err = out.stderr;
    assert!(err.contains("unexpected argument '--sandbox'"), "{err}");
}
