//! Preempted direct frames resume in direct code (docs/JIT.md,
//! "Resuming", "Loop headers of direct entries"): a frame of a function
//! with a direct entry that a slice ends in goes on, in the next slice,
//! at a loop header of its direct entry. Each program's output and
//! reductions must be the interpreter's, and `--stats` must count many
//! frames resumed in direct code.

mod common;

use common::Ttvm;

/// `ttvm --no-smp --stats ARGS PATH`: its stdout, its `stats:` line
/// without the time, and how many frames `--stats` says were resumed in
/// direct code.
fn run(path: &str, args: &[&str]) -> (String, String, u64) {
    let mut all = vec!["--no-smp", "--stats"];
    all.extend_from_slice(args);
    all.push(path);
    let out = Ttvm::new().args(&all).cwd(env!("CARGO_MANIFEST_DIR")).run();
    assert!(out.status == Some(0), "{args:?}: {}", out.stderr);
    let stats = out
        .stderr
        .lines()
        .find(|l| l.starts_with("stats:"))
        .expect("a stats line");
    let stats = stats.split("; time").next().expect("stats").to_string();
    let resumed: u64 = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("jit: direct frames resumed in direct code "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (out.stdout.clone(), stats, resumed)
}

/// Run `path` interpreted and with `jit` (plus `--reductions R`) for each
/// `(R, least)`: same output and reductions, at least `least` frames
/// resumed in direct code.
fn resumes_like_the_interpreter(path: &str, jit: &[&str], cases: &[(&str, u64)]) {
    for &(reductions, least) in cases {
        let (out, stats, _) = run(path, &["--no-jit", "--reductions", reductions]);
        let mut args = jit.to_vec();
        args.extend_from_slice(&["--reductions", reductions]);
        let (o, s, resumed) = run(path, &args);
        assert_eq!(o, out, "{path} --reductions {reductions}");
        assert_eq!(s, stats, "{path} --reductions {reductions}");
        assert!(
            resumed >= least,
            "{path} --reductions {reductions}: {resumed} frames resumed in direct code"
        );
    }
}

/// The functions of `resume_direct.ttvm` loop for thousands of iterations
/// and call in each, so every slice ends inside them; most of those
/// slices must resume in direct code, also at 50 reductions a slice.
/// Compiled from the start (`--jit-threshold 0`, on the scheduler
/// thread): its functions are called a few times each, too few for
/// direct entries on heat, and the count must not depend on when the
/// background compiler's code arrives.
#[test]
fn preempted_direct_frames_resume_in_direct_code() {
    resumes_like_the_interpreter(
        "tests/programs/jit/resume_direct.ttvm",
        &["--jit", "--jit-threshold", "0"],
        &[("4000", 200), ("50", 10_000)],
    );
}

/// Loops without calls resume in direct code too (before the direct
/// entry knew the tags at its loop headers, none did): Float sums, a
/// variable whose tag changes inside the loop, nested loops, a variable
/// set late. Compiled from the start, so that their callers call the
/// direct entries.
#[test]
fn loops_without_calls_resume_in_direct_code() {
    resumes_like_the_interpreter(
        "tests/programs/jit/resume_loops.ttvm",
        &["--jit", "--jit-threshold", "0"],
        &[("4000", 150), ("50", 10_000)],
    );
}
