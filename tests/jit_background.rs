//! Background compilation (src/jit/queue.rs, B1–B5 in src/jit/README.md;
//! docs/JIT.md "Hotness"): by default a hot unit is compiled by the JIT's
//! compiler thread while the process goes on interpreting. The golden
//! programs also run in the `jit-bg` mode (tests/golden.rs).

mod common;

use common::{Captured, Ttvm};

fn ttvm(args: &[&str]) -> Captured {
    Ttvm::new().args(args).cwd(env!("CARGO_MANIFEST_DIR")).run()
}

/// The figures of `--stats`' background line (src/jit/queue.rs):
/// (compiled in the background, still queued at the end), or `None` when
/// the run had no compiler thread.
fn background_line(err: &str) -> Option<(u64, u64)> {
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("jit: compiled in the background "))?;
    let (done, rest) = line.split_once(", still queued at the end ")?;
    let left = rest.split(',').next()?;
    Some((done.parse().ok()?, left.parse().ok()?))
}

/// The `stats:` line without its time.
fn counts_of(err: &str) -> String {
    let stats = err
        .lines()
        .find(|l| l.starts_with("stats:"))
        .unwrap_or_else(|| panic!("a stats line: {err}"));
    stats.split("; time").next().expect("stats").to_string()
}

/// By default a hot unit is compiled by the compiler thread while the
/// process goes on interpreting, and entered at a header once it is
/// there: fib(30) runs long enough interpreted for fib to be compiled
/// (with its direct entry, in the same job or one of its own) in the
/// background, the output and the
/// reductions are the interpreter's, nothing is left in the queue. With
/// `--jit-sync` and with `--jit-threshold 0` there is no compiler thread
/// (and no background line).
#[test]
fn hot_units_compile_in_the_background() {
    let prog = "benches/programs/fib30.ttvm";
    let plain = ttvm(&["--no-jit", "--stats", "--no-smp", prog]);
    let out = ttvm(&["--jit", "--stats", "--no-smp", prog]);
    assert!(out.status == Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, plain.stdout);
    assert_eq!(out.stdout.as_str(), "832040\n");
    let err = out.stderr.as_str();
    assert_eq!(counts_of(err), counts_of(&plain.stderr));
    // The unit, and its direct entry either in the same job (fib's
    // calls while it was interpreted already paid for it) or in a job of
    // its own (asked for by its compiled code's calls).
    let (done, left) = background_line(err).unwrap_or_else(|| panic!("no background line: {err}"));
    assert!(left == 0 && (1..=2).contains(&done), "{err}");
    assert!(
        err.contains("jit:   compiled fib (benches/programs/fib30.ttvm:7): 16 instructions"),
        "{err}"
    );
    assert!(err.contains("jit:   direct entry for fib ("), "{err}");
    for args in [&["--jit-sync"][..], &["--jit-threshold", "0"]] {
        let mut all = vec!["--jit", "--stats", "--no-smp"];
        all.extend_from_slice(args);
        all.push(prog);
        let out = ttvm(&all);
        assert!(out.status == Some(0), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout.as_str(), "832040\n");
        assert_eq!(background_line(&out.stderr), None, "{}", out.stderr);
    }
}

/// The run ends while the compiler thread compiles (a loop of 40 parts
/// whose first part is hot after 2 entries, that runs 3 times; then HALT, or `EXIT 7`, or a
/// crash of the main process): the run ends at once with the
/// interpreter's output and status (the compile in progress is not
/// waited for), `--jit-dump`'s text of every compile finished during the
/// run is written, and `--stats` accounts for the jobs (done, one
/// unfinished, the rest still queued at the end).
#[test]
fn the_run_ends_cleanly_while_a_unit_compiles() {
    let (src, want) = common::branchy_loop(4000, 3);
    let ends = [
        ("HALT\n", 0),
        ("PUSH_INT 7\nEXIT\n", 7),
        ("PUSH_INT 1\nPUSH_INT 0\nDIV\nHALT\n", 1),
    ];
    assert_eq!(src.matches("HALT\n").count(), 1);
    for (end, status) in ends {
        let src = src.replace("HALT\n", end);
        for _ in 0..3 {
            let out = common::run_source(
                "end-while-compiling",
                &src,
                &[
                    "--jit",
                    "--jit-threshold",
                    "2",
                    "--jit-dump",
                    "--stats",
                    "--no-smp",
                ],
            );
            let err = out.stderr.as_str();
            assert_eq!(out.status, Some(status), "{end}: {err}");
            assert_eq!(out.stdout, want, "{end}");
            let (done, left) =
                background_line(err).unwrap_or_else(|| panic!("no background line: {err}"));
            let unfinished = u64::from(err.contains("one in progress at the end"));
            let compiled = err
                .lines()
                .filter(|l| l.starts_with("jit:   compiled @0 ("))
                .count() as u64;
            // The loop's part was queued (the other parts count only where
            // compiled code leaves for them). A job compiles one part (no
            // direct entries here); the one in progress at the end may have
            // got as far as its line and IR.
            assert!(done + left + unfinished >= 1, "{err}");
            assert!(compiled >= done && compiled <= done + unfinished, "{err}");
            let dumped =
                err.matches("\n; @0 (").count() as u64 + u64::from(err.starts_with("; @0 ("));
            assert!(dumped >= done && dumped <= done + unfinished, "{err}");
        }
    }
}

/// Two schedulers find one unit hot at the same time (four processes
/// running fib(27)): it is queued once and compiled once, while the
/// compiler thread competes with the schedulers for the cores; the result
/// is the interpreter's.
#[test]
fn two_schedulers_queue_a_hot_unit_once() {
    for _ in 0..3 {
        let out = ttvm(&[
            "--jit",
            "--stats",
            "-S",
            "2",
            "benches/programs/parfib.ttvm",
        ]);
        assert!(out.status == Some(0), "{}", out.stderr);
        assert_eq!(out.stdout.as_str(), "785672\n");
        let err = out.stderr.as_str();
        let fib = err
            .lines()
            .filter(|l| l.starts_with("jit:   compiled fib ("))
            .count();
        assert_eq!(fib, 1, "{err}");
        let (done, left) =
            background_line(err).unwrap_or_else(|| panic!("no background line: {err}"));
        assert_eq!(left, 0, "{err}");
        assert!(done >= 1, "{err}");
    }
}
