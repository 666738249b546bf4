//! The JIT tier's command-line face (`--jit-dump`, `--stats`, tiering,
//! direct entries; the CLIF snapshots are in tests/jit_clif.rs).
//! Equivalence with the interpreter is checked by the golden programs,
//! which all run interpreted, JIT-eager and mixed (tests/golden.rs).

mod common;

use common::{Captured, Ttvm};
use std::sync::Arc;

/// The IR of a function whose code comes after a unit that is split into
/// parts (src/jit/regions.rs) is that function's: units are found by
/// address, not by frame layout (a split layout has several).
#[test]
fn clif_of_a_function_after_a_split_unit() {
    let (src, _) = common::branchy_loop(200, 1);
    let src = src.replace(
        "HALT\n",
        "PUSH_INT 1\nCALL f x\nPRINT\nHALT\nLABEL f\nLOAD x\nPUSH_INT 1\nADD\nRET\n",
    );
    let p = ttvm::load_source("snapshot.ttvm", &src).expect("assembles");
    let at = *p
        .label_at
        .iter()
        .find(|(_, l)| &***l == "f")
        .expect("label f")
        .0;
    let p = Arc::new(p);
    let direct = ttvm::engine::direct_clif_of(p.clone(), at).expect("f's direct entry");
    assert!(direct.contains("function"), "{direct}");
    let unit = ttvm::engine::clif_of(p, at).expect("f's unit");
    // f's unit alone: its 1 block and no loop of branches.
    assert!(unit.len() < 20_000, "{} bytes of IR", unit.len());
}

fn ttvm(args: &[&str]) -> Captured {
    Ttvm::new().args(args).cwd(env!("CARGO_MANIFEST_DIR")).run()
}

#[test]
fn jit_dump_prints_the_ir_of_each_compiled_function() {
    let out = ttvm(&[
        "--jit",
        "--jit-threshold",
        "0",
        "--jit-dump",
        "--no-smp",
        "benches/programs/fib30.ttvm",
    ]);
    assert!(out.status == Some(0));
    assert_eq!(out.stdout.as_str(), "832040\n");
    let err = out.stderr.as_str();
    assert!(
        err.contains("; fib (benches/programs/fib30.ttvm:7)"),
        "{err}"
    );
    assert!(err.contains("function u0:"), "{err}");
    assert!(err.contains("call_indirect"), "{err}");
}

#[test]
fn stats_report_compiled_functions_and_fallbacks() {
    let out = ttvm(&[
        "--jit",
        "--jit-sync",
        "--stats",
        "--no-smp",
        "benches/programs/fib30.ttvm",
    ]);
    assert!(out.status == Some(0));
    let err = out.stderr.as_str();
    assert!(
        err.contains("jit: functions compiled 1, fallbacks 0"),
        "{err}"
    );
    assert!(
        err.contains("jit:   compiled fib (benches/programs/fib30.ttvm:7): 16 instructions"),
        "{err}"
    );
    assert!(
        err.contains("jit:   direct entry for fib (benches/programs/fib30.ttvm:7): "),
        "{err}"
    );
    // A hot unit that mostly sends and receives is compiled too (issue 15:
    // process operations run through helpers of their own).
    let out = ttvm(&[
        "--jit",
        "--jit-sync",
        "--stats",
        "--no-smp",
        "benches/programs/pingpong.ttvm",
    ]);
    assert!(out.status == Some(0));
    let err = out.stderr.as_str();
    assert!(
        err.contains("jit: functions compiled 2, fallbacks 0"),
        "{err}"
    );
    assert!(
        err.contains("jit:   compiled pong (benches/programs/pingpong.ttvm:30): 8 instructions"),
        "{err}"
    );
}

/// `--jit --stats` on the program `src` (written to a temporary file).
fn stats_of(name: &str, src: &str) -> String {
    run_stats(name, src, &[]).1
}

/// `--jit --stats ARGS` on the program `src`: stdout and stderr.
fn run_stats(name: &str, src: &str, args: &[&str]) -> (String, String) {
    run_stats_env(name, src, args, &[])
}

/// The cost policy with its default factor, for every unit (also the
/// cheap ones, which otherwise keep `--jit-threshold`).
const FACTOR: &[(&str, &str)] = &[
    ("TTVM_JIT_TIER_FACTOR", ""),
    ("TTVM_JIT_TIER_MIN_COST", "0"),
];

/// [`run_stats`] with an environment variable set.
fn run_stats_env(name: &str, src: &str, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let dir = std::env::temp_dir().join(format!("ttvm-jit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join("p.ttvm");
    std::fs::write(&path, src).expect("writes");
    // Compiled where found hot: the counts do not depend on timing.
    let mut all = vec!["--jit", "--jit-sync", "--stats", "--no-smp"];
    all.extend_from_slice(args);
    all.push(path.to_str().expect("utf-8"));
    let mut cmd = Ttvm::new().args(&all).cwd(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let out = cmd.run();
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status == Some(0), "{}", out.stderr);
    (out.stdout, out.stderr)
}

/// With the cost policy (`TTVM_JIT_TIER_FACTOR` set, no `--jit-threshold`)
/// a unit is compiled once the work interpreted in it outweighs its
/// estimated compile cost (src/jit/tier.rs): a loop
/// of 5,000 iterations stays interpreted and `--stats` says how far it
/// got, the same loop run 1,000,000 times is compiled; with
/// `--jit-threshold 1000` the short one is compiled after 1,000 entries.
#[test]
fn tier_up_by_cost() {
    let prog = |n: u32| {
        format!(
            "PUSH_INT 0\nSTORE i\nPUSH_INT 0\nSTORE acc\nLABEL loop\nLOAD acc\nLOAD i\nADD\nSTORE acc\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nLOAD i\nPUSH_INT {n}\nLT\nJNZ loop\nLOAD acc\nPRINT\nHALT\n"
        )
    };
    let (out, err) = run_stats("tier-short", &prog(5000), &[]);
    // Off by default: compiled after 1,000 entries.
    assert_eq!(out, "12497500\n");
    assert!(
        err.contains("jit: functions compiled 1, fallbacks 0"),
        "{err}"
    );
    let (out, err) = run_stats_env("tier-short", &prog(5000), &[], FACTOR);
    assert_eq!(out, "12497500\n");
    assert!(
        err.contains("jit: functions compiled 0, fallbacks 0"),
        "{err}"
    );
    let line = err
        .lines()
        .find(|l| l.starts_with("jit:   interpreted @0 ("))
        .unwrap_or_else(|| panic!("no line for the loop: {err}"));
    let (work, budget) = line
        .split_once("not run enough to pay for compiling it (work ")
        .and_then(|(_, r)| r.strip_suffix(')')?.split_once(" of "))
        .unwrap_or_else(|| panic!("{line}"));
    let (work, budget): (u64, u64) = (work.parse().unwrap(), budget.parse().unwrap());
    assert!(work > 5000 * 12 && work < budget, "{line}");
    let (out, err) = run_stats_env(
        "tier-fixed",
        &prog(5000),
        &["--jit-threshold", "1000"],
        FACTOR,
    );
    assert_eq!(out, "12497500\n");
    assert!(
        err.contains("jit: functions compiled 1, fallbacks 0"),
        "{err}"
    );
    assert!(!err.contains("not run enough"), "{err}");
    let (out, err) = run_stats_env("tier-long", &prog(1_000_000), &[], FACTOR);
    assert_eq!(out, "499999500000\n");
    assert!(
        err.contains("jit: functions compiled 1, fallbacks 0"),
        "{err}"
    );
    assert!(err.contains("jit:   compiled @0 ("), "{err}");
}

#[test]
fn tiny_units_compile_only_for_compiled_callers() {
    // A hot loop calls `inc` (4 instructions): the engine counts it where
    // compiled code leaves for it, and it is compiled too.
    let err = stats_of(
        "tiny-called",
        "PUSH_INT 0\nSTORE i\nLABEL loop\nLOAD i\nCALL inc x\nSTORE i\nLOAD i\nPUSH_INT 5000\nLT\nJNZ loop\nHALT\nLABEL inc\nLOAD x\nPUSH_INT 1\nADD\nRET\n",
    );
    assert!(
        err.contains("jit: functions compiled 2, fallbacks 0"),
        "{err}"
    );
    assert!(err.contains("compiled inc"), "{err}");
    // 5000 processes start in `child` (1 instruction) from the
    // interpreter: it is not even counted; the spawning loop is compiled.
    let err = stats_of(
        "tiny-spawned",
        "MAKE_FUNCTION child\nSTORE f\nPUSH_INT 5000\nSTORE n\nLABEL loop\nLOAD f\nSPAWN\nPOP\nLOAD n\nPUSH_INT 1\nSUB\nSTORE n\nLOAD n\nPUSH_INT 0\nGT\nJNZ loop\nHALT\nLABEL child\nRET\n",
    );
    assert!(
        err.contains("jit: functions compiled 1, fallbacks 0"),
        "{err}"
    );
    assert!(!err.contains("compiled child"), "{err}");
    // --stats says why it stays interpreted.
    assert!(
        err.contains("jit:   interpreted child (")
            && err.contains("): tiny (1 instruction, no loop, no call)"),
        "{err}"
    );
}

#[test]
fn debug_and_trace_run_interpreted() {
    let out = ttvm(&[
        "--jit",
        "--jit-threshold",
        "0",
        "--stats",
        "--trace",
        "--no-smp",
        "examples/hello.ttvm",
    ]);
    assert!(out.status == Some(0));
    let err = out.stderr.as_str();
    assert!(!err.contains("jit:"), "--trace must not compile: {err}");
}

#[test]
fn no_jit_overrides_jit() {
    let out = ttvm(&[
        "--jit",
        "--no-jit",
        "--stats",
        "--no-smp",
        "benches/programs/fib30.ttvm",
    ]);
    assert!(out.status == Some(0));
    assert!(!out.stderr.as_str().contains("jit:"));
}

/// A compiled loop header assumes its counter is an Int (the tag on every
/// compiled path into it); once a side exit makes it a Float, the engine's
/// entries fail that check and the interpreter runs the block, and after
/// 100 failures the unit is compiled again without assumptions. The
/// output is the interpreter's all along.
#[test]
fn failed_entry_checks_fall_back_then_recompile() {
    let prog = "tests/programs/jit/entry_guards.ttvm";
    let plain = ttvm(&["--no-smp", prog]);
    let out = ttvm(&["--jit", "--jit-threshold", "0", "--stats", "--no-smp", prog]);
    assert!(out.status == Some(0));
    assert_eq!(out.stdout, plain.stdout);
    assert_eq!(out.stdout.as_str(), "200\n0.5\n");
    let err = out.stderr.as_str();
    assert!(err.contains("entry checks failed 100\n"), "{err}");
    assert!(
        err.contains(
            "compiled @0 (tests/programs/jit/entry_guards.ttvm:7) again, without assumptions"
        ),
        "{err}"
    );
    // A loop whose types never change passes its checks.
    let out = ttvm(&[
        "--jit",
        "--stats",
        "--no-smp",
        "benches/programs/fib30.ttvm",
    ]);
    let err = out.stderr.as_str();
    assert!(err.contains("entry checks failed 0\n"), "{err}");
}

/// Direct entries leave compiled code whenever a slice ends inside them
/// (`--reductions 50`: thousands of times in fib(30)); the result is the
/// interpreter's, and `--stats` counts the exits. A function that cannot
/// have a direct entry is named with the reason.
#[test]
fn direct_entries_leave_and_say_why_not() {
    let out = ttvm(&[
        "--jit",
        "--jit-sync",
        "--stats",
        "--no-smp",
        "--reductions",
        "50",
        "benches/programs/fib30.ttvm",
    ]);
    assert!(out.status == Some(0));
    assert_eq!(out.stdout.as_str(), "832040\n");
    let err = out.stderr.as_str();
    let left: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("jit: direct entries 1, left compiled code "))
        .and_then(|l| l.strip_suffix(" times"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no direct-entry line: {err}"));
    assert!(left > 1000, "{err}");
    let out = ttvm(&[
        "--jit",
        "--jit-threshold",
        "0",
        "--stats",
        "--no-smp",
        "examples/exceptions.ttvm",
    ]);
    let err = out.stderr.as_str();
    assert!(
        err.contains("jit:   no direct entry for safe_div (examples/exceptions.ttvm:15): TRY at examples/exceptions.ttvm:15"),
        "{err}"
    );
}

/// Issue 15 ("`--stats` lists, per function ... without a direct entry,
/// the reason"): a function compiled for its hot loop but called once has
/// no direct entry because its calls never paid for one, and says so; the
/// same function called 20,000 times gets one.
#[test]
fn a_function_called_too_little_says_why_it_has_no_direct_entry() {
    let body = "LABEL work\nPUSH_INT 0\nSTORE s\nLABEL loop\nLOAD n\nJZ done\nLOAD s\nLOAD n\nADD\nSTORE s\nLOAD n\nPUSH_INT 1\nSUB\nSTORE n\nJMP loop\nLABEL done\nLOAD s\nRET\n";
    let once = format!("PUSH_INT 200000\nCALL work n\nPRINT\nHALT\n{body}");
    let err = stats_of("called-once", &once);
    assert!(
        err.lines()
            .any(|l| l.starts_with("jit:   no direct entry for work (")
                && l.ends_with("): not called often enough to pay for compiling one")),
        "{err}"
    );
    let often = format!(
        "PUSH_INT 0\nSTORE i\nLABEL again\nLOAD i\nPUSH_INT 20000\nGE\nJNZ out\nPUSH_INT 5\nCALL work n\nPOP\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nJMP again\nLABEL out\nHALT\n{body}"
    );
    let err = stats_of("called-often", &often);
    assert!(
        err.lines()
            .any(|l| l.starts_with("jit:   direct entry for work (")),
        "{err}"
    );
    assert!(!err.contains("no direct entry for work"), "{err}");
}

/// Issue 12, finding 8: a loop whose body has 4,000 branches (44,015
/// instructions in one unit) took 22 s and 660 MB to compile as one
/// Cranelift function, superlinear in its size. A unit too big to compile
/// as one function is split into parts (src/jit/regions.rs), each a
/// function of bounded compile cost: `--stats` says so, every part is
/// compiled (threshold 0) and none has more instructions than a part's
/// cost allows (an instruction costs at least 1 of its 1,500), and the
/// output is the interpreter's. A structural check, not a timing one.
#[test]
fn a_big_unit_is_compiled_in_parts_of_bounded_size() {
    let (src, want) = common::branchy_loop(4000, 4);
    let out = common::run_source(
        "big-unit",
        &src,
        &["--jit", "--jit-threshold", "0", "--stats", "--no-smp"],
    );
    let err = out.stderr.as_str();
    assert!(out.status == Some(0), "{err}");
    assert_eq!(out.stdout.as_str(), want);
    let split = err
        .lines()
        .find(|l| l.starts_with("jit:   split @0 ("))
        .unwrap_or_else(|| panic!("no split line: {err}"));
    let parts: usize = split
        .strip_suffix(" parts, each compiled when it is hot")
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{split}"));
    assert!(
        split.contains("44015 instructions, too big to compile as one function"),
        "{split}"
    );
    assert!(parts >= 30, "{split}");
    let sizes: Vec<usize> = err
        .lines()
        .filter(|l| {
            l.starts_with("jit:   compiled @0 (") && l.contains(&format!(" of {parts} at "))
        })
        .map(|l| {
            let (_, rest) = l.rsplit_once(": ").expect("a compiled line");
            rest.split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("instructions")
        })
        .collect();
    assert_eq!(sizes.len(), parts, "{err}");
    assert_eq!(sizes.iter().sum::<usize>(), 44015, "{err}");
    assert!(sizes.iter().all(|&n| n <= 1500), "{sizes:?}");
}

/// `ttvm ARGS` in `dir` with `env` set: stdout and exit status (`None`:
/// killed after 30 s), and stderr.
fn run_in(
    dir: &std::path::Path,
    args: &[String],
    env: Option<(&str, &str)>,
) -> ((String, Option<i32>), String) {
    let env: Vec<(&str, &str)> = env.into_iter().collect();
    let r = common::run_captured(dir, args, &env, None, std::time::Duration::from_secs(30));
    ((r.stdout, r.status), r.stderr)
}

/// The golden programs and examples that run alone, with one scheduler and
/// no stdin: (path, flags, program arguments).
fn plain_programs() -> Vec<(std::path::PathBuf, Vec<String>, Vec<String>)> {
    // Flags whose runs the JIT does not take part in, or that make the
    // output depend on more than the program (schedulers, tracing).
    let unfit = [
        "check",
        "run",
        "dis",
        "-S",
        "--smp",
        "--trace",
        "--trace-procs",
        "--debug",
        "--stats",
        "--jit",
        "--no-such-flag",
        "lots",
    ];
    // (Files with bad expectations are the golden harness's to report.)
    let (cases, _) = common::golden::discover(None, &[]);
    let mut programs = Vec::new();
    for c in cases {
        let e = &c.expect;
        // Programs with a sidecar, stdin or modes of their own, or that
        // are not UTF-8, are left to the golden harness.
        let own = c.expect_file != c.program
            || e.stdin.is_some()
            || !e.modes.is_empty()
            || std::fs::read_to_string(&c.program).is_err();
        let args = e.flags.iter().chain(&e.prog_args);
        if own || args.into_iter().any(|a| unfit.contains(&a.as_str())) {
            continue;
        }
        programs.push((c.program, e.flags.clone(), e.prog_args.clone()));
    }
    programs
}

/// The paths between the parts of a split unit (src/jit/regions.rs): every
/// golden program and example that runs alone, with its units split into
/// parts of a few instructions each (so nearly every jump, fall-through,
/// call return and long block crosses from one compiled function to
/// another, through the engine, or into a part still interpreted), prints
/// and exits exactly as interpreted: every other program all compiled at
/// once, the others mixed (compiled when hot, tiny slices); and Cranelift
/// accepts every part (its IR verifier runs in the debug build).
#[test]
fn programs_split_into_tiny_parts_run_as_interpreted() {
    // The variable is read: a 3-instruction program is split.
    let out = Ttvm::new()
        .args([
            "--jit",
            "--jit-threshold",
            "0",
            "--stats",
            "examples/hello.ttvm",
        ])
        .cwd(env!("CARGO_MANIFEST_DIR"))
        .env("TTVM_JIT_PART_COST", "3")
        .run();
    let err = out.stderr.as_str();
    assert!(err.contains("parts, each compiled when it is hot"), "{err}");
    let programs = plain_programs();
    assert!(programs.len() > 150, "{} programs", programs.len());
    // (part cost, JIT flags, the interpreter's flags to compare with)
    let modes: [(&str, &[&str], &[&str]); 2] = [
        ("3", &["--jit", "--jit-threshold", "0"], &[]),
        (
            "9",
            &[
                "--jit",
                "--jit-sync",
                "--jit-threshold",
                "2",
                "--reductions",
                "7",
            ],
            &["--reductions", "7"],
        ),
    ];
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((path, flags, rest)) = programs.get(i) else {
                    return;
                };
                let dir = path.parent().expect("a folder");
                let file = path.file_name().expect("a name").to_string_lossy().into_owned();
                {
                    let (cost, jit, base) = modes[i % 2];
                    let cmd = |extra: &[&str]| -> Vec<String> {
                        let mut a = vec!["--no-smp".to_string()];
                        a.extend(extra.iter().map(|s| s.to_string()));
                        a.extend(flags.iter().cloned());
                        a.push(file.clone());
                        a.extend(rest.iter().cloned());
                        a
                    };
                    let (want, _) = run_in(dir, &cmd(base), None);
                    let mut jit = jit.to_vec();
                    jit.push("--stats");
                    let part_cost = Some(("TTVM_JIT_PART_COST", cost));
                    let (got, err) = run_in(dir, &cmd(&jit), part_cost);
                    // Cranelift must accept every part (a failure would
                    // leave it interpreted, with the same output).
                    let failed = err.lines().find(|l| l.contains("the code generator failed"));
                    if want != got || want.1.is_none() || failed.is_some() {
                        failures.lock().unwrap().push(format!(
                            "{} (parts of cost {cost}, {jit:?}): interpreted {want:?}, compiled {got:?} {failed:?}",
                            path.display()
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Code per variable, not per instruction: a function of 300 variables
/// (all set to Ints), a chain of 100 blocks and 300 RETs. Each RET dropped
/// every variable inline and each block's entry guard checked every
/// variable's tag (the facts knew them all), so a part of 24 instructions
/// compiled to 99 KB of machine code in 80 ms and the function to 8 MB in
/// 8.5 s. Now a RET in a frame of more than 64 variables goes through the
/// helper, at most 32 slots' tags are carried across blocks (the most used
/// ones), and the other variables of such a frame are read from memory
/// where they are used. Structural: every compiled part of `f` has at most
/// 16 KB plus 400 bytes per instruction of machine code.
#[test]
fn a_frame_of_many_variables_compiles_to_code_per_instruction() {
    let vars = 300;
    let mut src = format!(
        "PUSH_INT 5\nCALL f d\nPRINT\nPUSH_INT {}\nCALL f d\nPRINT\nHALT\nLABEL f\n",
        vars - 1
    );
    for k in 0..vars {
        src.push_str(&format!("PUSH_INT {k}\nSTORE v{k}\n"));
    }
    for j in 0..100 {
        src.push_str(&format!("JMP c{j}\nLABEL c{j}\n"));
    }
    for k in 0..vars {
        src.push_str(&format!(
            "LOAD d\nPUSH_INT {k}\nEQ\nJZ s{k}\nLOAD v{k}\nRET\nLABEL s{k}\n"
        ));
    }
    src.push_str("NULL\nRET\n");
    let out = common::run_source(
        "many-vars",
        &src,
        &["--jit", "--jit-threshold", "0", "--stats", "--no-smp"],
    );
    let err = out.stderr.as_str();
    assert!(out.status == Some(0), "{err}");
    assert_eq!(out.stdout.as_str(), "5\n299\n");
    let parts: Vec<(usize, usize)> = err
        .lines()
        .filter(|l| l.starts_with("jit:   compiled f ("))
        .map(|l| {
            let (_, rest) = l.rsplit_once(": ").expect("a compiled line");
            let n: Vec<usize> = rest
                .split(' ')
                .filter_map(|w| w.trim_end_matches(',').parse().ok())
                .collect();
            (n[0], n[1])
        })
        .collect();
    assert!(!parts.is_empty(), "{err}");
    for &(instructions, bytes) in &parts {
        assert!(
            bytes <= 16 * 1024 + 400 * instructions,
            "{instructions} instructions, {bytes} bytes: {err}"
        );
    }
}

/// Issue 14: JSON, CSV and HASH in a hot loop compile with the unit (each
/// a direct call of the library helper), no fallback.
#[test]
fn data_format_ops_compile_in_a_hot_loop() {
    let src = "\
PUSH_INT 0
STORE i
LABEL loop
PUSH_STR \"{\\\"a\\\": [1, 2.5]}\"
JSON_PARSE
JSON_STRINGIFY
PUSH_STR \"x,y\"
CSV_PARSE
CSV_WRITE
CONCAT
HASH
STORE h
LOAD i
PUSH_INT 1
ADD
STORE i
LOAD i
PUSH_INT 3000
LT
JNZ loop
LOAD h
PRINT
";
    let err = stats_of("data-formats", src);
    assert!(
        err.contains("jit: functions compiled 1, fallbacks 0"),
        "{err}"
    );
}

/// Issue 14: every library operation compiles, each to one call of the
/// library helper (four arguments: env, opcode number, program and decoded
/// address — the only helper with four), not to the generic helper; but
/// for the number operations the JIT lowers itself (`library_inline`,
/// issue 15: no helper on their path, a side exit for NULL), and for
/// EXTEND, which runs through the `value` helper (lists changed in place
/// without the library's general routine, `jit/lower/data.rs`).
#[test]
fn every_library_op_is_one_helper_call() {
    let lib: Vec<_> = ttvm::bytecode::OPS
        .iter()
        .filter(|o| o.library && o.jit == ttvm::bytecode::JitClass::Library)
        .filter(|o| o.mnemonic != "EXTEND")
        .collect();
    assert!(lib.len() >= 26, "{}", lib.len());
    let mut src = String::from("LABEL top\n");
    for op in &lib {
        for _ in 0..op.pops {
            src.push_str("NULL\n");
        }
        src.push_str(op.mnemonic);
        src.push_str("\nPOP\n");
    }
    src.push_str("JMP top\n");
    let p =
        Arc::new(ttvm::load_source("lib.ttvm", &src).unwrap_or_else(|e| panic!("{}", e.render())));
    let clif = ttvm::engine::clif_of(p, 0).expect("the unit compiles");
    let calls = regex::Regex::new(r"call fn\d+\(v\d+, v\d+, v\d+, v\d+\)").unwrap();
    assert_eq!(calls.find_iter(&clif).count(), lib.len(), "{clif}");
}

/// Issue 15, item 2: the process benchmarks (smaller) run compiled with
/// exactly the interpreter's reductions, messages and output — on one
/// scheduler, a process is preempted and waits at the same points in
/// either tier — and their units are compiled (none is left out).
#[test]
fn process_bodies_compile_with_the_interpreters_reductions() {
    let dir = std::env::temp_dir().join(format!("ttvm-jit-procs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    for (name, from, to) in [
        ("ring", "PUSH_INT 1000000", "PUSH_INT 20000"),
        ("pingpong", "PUSH_INT 1000000", "PUSH_INT 20000"),
        ("spawn", "PUSH_INT 1000000", "PUSH_INT 20000"),
        ("skynet", "PUSH_INT 1000000", "PUSH_INT 10000"),
    ] {
        let src = std::fs::read_to_string(format!("benches/programs/{name}.ttvm")).expect("reads");
        assert!(src.contains(from), "{name}");
        let path = dir.join(format!("{name}.ttvm"));
        std::fs::write(&path, src.replace(from, to)).expect("writes");
        let path = path.to_str().expect("utf-8");
        let counts = |args: &[&str]| {
            let mut all = vec!["--no-smp", "--stats"];
            all.extend_from_slice(args);
            all.push(path);
            let out = ttvm(&all);
            assert!(out.status == Some(0), "{name} {args:?}: {}", out.stderr);
            let stats = out
                .stderr
                .lines()
                .find(|l| l.starts_with("stats:"))
                .expect("a stats line")
                .to_string();
            // Everything but the time.
            let stats = stats.split("; time").next().expect("stats").to_string();
            (out.stdout.clone(), stats, out.stderr.clone())
        };
        let (out, stats, _) = counts(&["--no-jit"]);
        for args in [
            &["--jit"][..],
            &["--jit", "--jit-threshold", "0"],
            &["--jit", "--jit-threshold", "2", "--reductions", "7"],
        ] {
            let (o, s, err) = counts(args);
            let base = if args.contains(&"--reductions") {
                counts(&["--no-jit", "--reductions", "7"]).1
            } else {
                stats.clone()
            };
            assert_eq!(o, out, "{name} {args:?}");
            assert_eq!(s, base, "{name} {args:?}");
            assert!(err.contains("fallbacks 0"), "{name} {args:?}: {err}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Functions using the library's string and list operations get direct
/// entries (issue 15, item 1: SLICE kept `tokenize`'s `eval` and `apply`
/// out), and a CALL_FUNCTION site of eight kinds of function value calls
/// every kind directly: none of its callees is left to the call helper
/// (docs/JIT.md "Library operations", "Function values"); every unit
/// compiled first, so that entries do not wait for heat.
#[test]
fn library_operations_and_megamorphic_sites_get_direct_entries() {
    let out = ttvm(&[
        "--jit",
        "--jit-threshold",
        "0",
        "--stats",
        "--no-smp",
        "tests/programs/jit/library_ops.ttvm",
    ]);
    assert!(out.status == Some(0), "{}", out.stderr);
    let err = out.stderr.as_str();
    for f in ["pop_sum", "codes"] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("jit:   direct entry for {f} ("))),
            "{f}: {err}"
        );
    }
    assert!(!err.contains("no direct entry"), "{err}");
    let out = ttvm(&[
        "--jit",
        "--jit-threshold",
        "0",
        "--stats",
        "--no-smp",
        "benches/checks/heldout/tokenize.ttvm",
    ]);
    assert!(out.status == Some(0), "{}", out.stderr);
    let err = out.stderr.as_str();
    for f in ["eval", "apply"] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("jit:   direct entry for {f} ("))),
            "{f}: {err}"
        );
    }
    // Every kind of the eight-way site has its direct entry, called
    // from the direct entry of apply_all (every function compiled when
    // first called: the tiny ones are not compiled before a call from
    // compiled code otherwise).
    let out = ttvm(&[
        "--jit",
        "--jit-threshold",
        "0",
        "--stats",
        "--no-smp",
        "tests/programs/jit/megamorphic_calls.ttvm",
    ]);
    assert!(out.status == Some(0), "{}", out.stderr);
    let err = out.stderr.as_str();
    for f in ["apply_all", "double", "sq", "add_n", "lin", "sub_n"] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("jit:   direct entry for {f} ("))),
            "{f}: {err}"
        );
    }
}
