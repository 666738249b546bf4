//! Two tiers (docs/JIT.md, "Two tiers"; an experiment, on with
//! `TTVM_JIT_SECOND_TIER`): units are compiled first by the cheap code
//! generator (single-pass register allocator, no optimisation) and again
//! by the optimising one when their code keeps being entered; the output
//! is the interpreter's, and `--stats` says which units the second tier
//! compiled.

mod common;

use common::{Captured, Ttvm};

const PROGRAM: &str = "benches/checks/heldout/dijkstra.ttvm";

fn ttvm(env: Option<&str>, args: &[&str]) -> Captured {
    let mut t = Ttvm::new().cwd(env!("CARGO_MANIFEST_DIR"));
    if let Some(k) = env {
        t = t.env("TTVM_JIT_SECOND_TIER", k);
    }
    t.args(args).run()
}

#[test]
fn second_tier_recompiles_hot_units_and_keeps_the_output() {
    let want = ttvm(None, &["--no-jit", PROGRAM]);
    assert_eq!(want.status, Some(0), "{}", want.stderr);
    for args in [
        &["--jit", "--jit-sync", "--stats", PROGRAM][..],
        &["--jit", "--stats", PROGRAM][..],
    ] {
        let got = ttvm(Some("1"), args);
        assert_eq!(got.status, Some(0), "{}", got.stderr);
        assert_eq!(got.stdout, want.stdout, "{args:?}");
        assert!(got.stderr.contains("jit: two tiers ("), "{}", got.stderr);
        if args.contains(&"--jit-sync") {
            // Entered at every slice: compiled again by the second tier.
            assert!(
                got.stderr.contains("jit:   second tier @0 ("),
                "{}",
                got.stderr
            );
        }
    }
}

#[test]
fn one_tier_unless_asked() {
    for env in [None, Some("0")] {
        let got = ttvm(env, &["--jit", "--jit-sync", "--stats", PROGRAM]);
        assert_eq!(got.status, Some(0), "{}", got.stderr);
        assert!(!got.stderr.contains("two tiers"), "{}", got.stderr);
        assert!(!got.stderr.contains("second tier"), "{}", got.stderr);
    }
    // Everything compiled first: one tier whatever is asked.
    let got = ttvm(
        Some("1"),
        &["--jit", "--jit-threshold", "0", "--stats", PROGRAM],
    );
    assert_eq!(got.status, Some(0), "{}", got.stderr);
    assert!(!got.stderr.contains("two tiers"), "{}", got.stderr);
}
