//! `ttvm selftest` (SPEC §5): the built-in test commands run their bundled
//! programs and all pass; each command alone works too, and prints one
//! PASS line per case.

use std::process::Command;

fn ttvm(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ttvm"))
        .args(args)
        .output()
        .expect("run ttvm");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), text)
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
