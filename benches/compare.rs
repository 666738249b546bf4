//! `cargo bench --bench compare [-- --quick] [-- --runs N]`
//!
//! Runs the same workloads on ttvm (the release binary) and on Erlang/OTP
//! (when `erl` is on PATH) and reports medians, the ttvm/Erlang time ratio
//! and peak RSS. Criterion-free: it builds nothing itself except by running
//! `cargo build --release --bin ttvm` first.
//!
//! * ttvm programs: `benches/programs/*.ttvm`, plus `benches/compare/ttvm/*.ttvm`
//!   for workloads that have no program there. `--quick` substitutes the sizes
//!   textually (about 1/10 of the work) into copies under `target/compare/`.
//! * Erlang programs: `benches/erlang/*.erl`, compiled with `erlc` into
//!   `target/compare/ebin`, run as `erl -noshell -run MOD main N -s init stop`.
//!   Each times its own work with `erlang:monotonic_time` and prints
//!   `time_us N`, so BEAM start-up is excluded.
//! * ttvm is timed two ways: wall time of the whole process, and the in-VM
//!   time printed by `--stats` (`... time X ms` on stderr). The ratio column
//!   is in-VM ttvm time / self-timed Erlang time (for start-up: wall / wall).
//! * Peak RSS comes from `wait4` rusage of each child.
//!
//! Output: a table on stdout, `target/compare/report.md`, and an SVG bar chart
//! of the ratios, `target/compare/report.svg`.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

struct Workload {
    name: &'static str,
    /// The name in `--quick` mode (the sizes differ).
    quick_name: &'static str,
    /// Path of the .ttvm program, relative to the package root.
    ttvm: &'static str,
    /// Textual substitutions applied in `--quick` mode.
    quick_subs: &'static [(&'static str, &'static str)],
    /// Textual substitutions applied in full mode (a program used at two
    /// sizes).
    full_subs: &'static [(&'static str, &'static str)],
    ttvm_args: &'static [&'static str],
    erl_module: &'static str,
    erl_arg_full: &'static str,
    erl_arg_quick: &'static str,
    erl_flags: &'static [&'static str],
    /// Compare whole-process wall times instead of self-timed work.
    startup: bool,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "count 1e8",
        quick_name: "count 1e7",
        ttvm: "benches/programs/count.ttvm",
        quick_subs: &[("PUSH_INT 100000000", "PUSH_INT 10000000")],
        full_subs: &[],
        ttvm_args: &[],
        erl_module: "count",
        erl_arg_full: "100000000",
        erl_arg_quick: "10000000",
        erl_flags: &[],
        startup: false,
    },
    Workload {
        name: "fib(30)",
        quick_name: "fib(25)",
        ttvm: "benches/programs/fib30.ttvm",
        quick_subs: &[("PUSH_INT 30", "PUSH_INT 25")],
        full_subs: &[],
        ttvm_args: &[],
        erl_module: "fib",
        erl_arg_full: "30",
        erl_arg_quick: "25",
        erl_flags: &[],
        startup: false,
    },
    Workload {
        name: "fib(32)",
        quick_name: "fib(27)",
        ttvm: "benches/programs/fib32.ttvm",
        quick_subs: &[("PUSH_INT 32", "PUSH_INT 27")],
        full_subs: &[],
        ttvm_args: &[],
        erl_module: "fib",
        erl_arg_full: "32",
        erl_arg_quick: "27",
        erl_flags: &[],
        startup: false,
    },
    Workload {
        name: "ring 1000x1e6",
        quick_name: "ring 1000x1e5",
        ttvm: "benches/programs/ring.ttvm",
        quick_subs: &[("PUSH_INT 1000000", "PUSH_INT 100000")],
        full_subs: &[],
        ttvm_args: &[],
        erl_module: "ring",
        erl_arg_full: "1000000",
        erl_arg_quick: "100000",
        erl_flags: &[],
        startup: false,
    },
    Workload {
        name: "ring 1000x1e7",
        quick_name: "ring 1000x1e6",
        ttvm: "benches/programs/ring.ttvm",
        quick_subs: &[],
        full_subs: &[("PUSH_INT 1000000", "PUSH_INT 10000000")],
        ttvm_args: &[],
        erl_module: "ring",
        erl_arg_full: "10000000",
        erl_arg_quick: "1000000",
        erl_flags: &[],
        startup: false,
    },
    Workload {
        name: "pingpong 1e6",
        quick_name: "pingpong 1e5",
        ttvm: "benches/programs/pingpong.ttvm",
        quick_subs: &[("PUSH_INT 1000000", "PUSH_INT 100000")],
        full_subs: &[],
        ttvm_args: &[],
        erl_module: "pingpong",
        erl_arg_full: "1000000",
        erl_arg_quick: "100000",
        erl_flags: &[],
        startup: false,
    },
    Workload {
        name: "spawn 1e6",
        quick_name: "spawn 1e5",
        ttvm: "benches/programs/spawn.ttvm",
        quick_subs: &[("PUSH_INT 1000000", "PUSH_INT 100000")],
        full_subs: &[],
        ttvm_args: &[],
        erl_module: "spawner",
        erl_arg_full: "1000000",
        erl_arg_quick: "100000",
        erl_flags: &[],
        startup: false,
    },
    Workload {
        name: "skynet 1.1e6",
        quick_name: "skynet 1.1e5",
        ttvm: "benches/programs/skynet.ttvm",
        quick_subs: &[("PUSH_INT 1000000", "PUSH_INT 100000")],
        full_subs: &[],
        ttvm_args: &["--max-processes", "2000000"],
        erl_module: "skynet",
        erl_arg_full: "1000000",
        erl_arg_quick: "100000",
        // BEAM's default process limit is 262,144.
        erl_flags: &["+P", "4000000"],
        startup: false,
    },
    Workload {
        name: "4xfib(27) -S1",
        quick_name: "4xfib(22) -S1",
        ttvm: "benches/programs/parfib.ttvm",
        quick_subs: &[("PUSH_INT 27", "PUSH_INT 22")],
        full_subs: &[],
        ttvm_args: &["-S", "1"],
        erl_module: "parfib",
        erl_arg_full: "27",
        erl_arg_quick: "22",
        erl_flags: &["+S", "1:1"],
        startup: false,
    },
    Workload {
        name: "4xfib(27) -S2",
        quick_name: "4xfib(22) -S2",
        ttvm: "benches/programs/parfib.ttvm",
        quick_subs: &[("PUSH_INT 27", "PUSH_INT 22")],
        full_subs: &[],
        ttvm_args: &["-S", "2"],
        erl_module: "parfib",
        erl_arg_full: "27",
        erl_arg_quick: "22",
        erl_flags: &["+S", "2:2"],
        startup: false,
    },
    Workload {
        name: "fairness 1000 -S1",
        quick_name: "fairness 1000 -S1",
        ttvm: "benches/programs/fairness.ttvm",
        quick_subs: &[],
        full_subs: &[],
        ttvm_args: &["-S", "1"],
        erl_module: "fairness",
        erl_arg_full: "1000",
        erl_arg_quick: "1000",
        erl_flags: &["+S", "1:1"],
        startup: false,
    },
    Workload {
        name: "idle 1e5 (RSS)",
        quick_name: "idle 1e4 (RSS)",
        ttvm: "benches/programs/idle.ttvm",
        quick_subs: &[("PUSH_INT 100000", "PUSH_INT 10000")],
        full_subs: &[],
        ttvm_args: &[],
        erl_module: "idle",
        erl_arg_full: "100000",
        erl_arg_quick: "10000",
        erl_flags: &[],
        startup: false,
    },
    Workload {
        name: "start-up",
        quick_name: "start-up",
        ttvm: "benches/compare/ttvm/empty.ttvm",
        quick_subs: &[],
        full_subs: &[],
        ttvm_args: &[],
        erl_module: "empty",
        erl_arg_full: "0",
        erl_arg_quick: "0",
        erl_flags: &[],
        startup: true,
    },
];

/// One measured child process.
struct Sample {
    wall_ms: f64,
    /// ttvm: `--stats` time; Erlang: the program's own `time_us`.
    inner_ms: Option<f64>,
    rss_kb: u64,
    /// First line of stdout (the program's result), for a cross-check.
    result: String,
}

#[derive(Default)]
struct Results {
    ttvm: Vec<Sample>,
    /// The same runs with `--jit`.
    jit: Vec<Sample>,
    erl: Vec<Sample>,
    ttvm_err: Option<String>,
    jit_err: Option<String>,
    erl_err: Option<String>,
}

fn main() {
    let mut quick = false;
    let mut runs = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| die("--runs needs a positive number"))
            }
            s if s.starts_with("--runs=") => {
                runs = s["--runs=".len()..]
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| die("--runs needs a positive number"))
            }
            "-h" | "--help" => {
                println!("usage: cargo bench --bench compare -- [--quick] [--runs N]");
                return;
            }
            // `cargo bench` passes `--bench`; ignore it and anything else.
            _ => {}
        }
    }

    let name = |w: &Workload| if quick { w.quick_name } else { w.name };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let out = target.join("compare");
    fs::create_dir_all(&out).unwrap_or_else(|e| die(&format!("create {}: {e}", out.display())));

    // Build the release binary.
    eprintln!("compare: cargo build --release --bin ttvm");
    let st = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "ttvm"])
        .current_dir(&root)
        .status()
        .unwrap_or_else(|e| die(&format!("cannot run cargo: {e}")));
    let ttvm = target.join("release").join("ttvm");
    if !st.success() || !ttvm.exists() {
        die(&format!(
            "{} is missing; run `cargo build --release` first",
            ttvm.display()
        ));
    }

    // Erlang, if present.
    let ebin = out.join("ebin");
    let have_erl = have_erlang() && compile_erlang(&root.join("benches/erlang"), &ebin);
    if !have_erl {
        println!("note: Erlang/OTP not found (apt-get install -y erlang-base); showing ttvm only");
    }

    // Prepare the .ttvm programs (sizes substituted in --quick mode).
    let mut programs = Vec::new();
    for w in WORKLOADS {
        let src = fs::read_to_string(root.join(w.ttvm))
            .unwrap_or_else(|e| die(&format!("read {}: {e}", w.ttvm)));
        let mut text = src.clone();
        let subs = if quick { w.quick_subs } else { w.full_subs };
        {
            for (from, to) in subs {
                if !text.contains(from) {
                    die(&format!("{}: substitution {from:?} not found", w.ttvm));
                }
                text = text.replace(from, to);
            }
        }
        let file = out.join(format!("{}.ttvm", slug(w.name)));
        fs::write(&file, text).unwrap_or_else(|e| die(&format!("write {}: {e}", file.display())));
        programs.push(file);
    }

    let mode = if quick { "quick (~1/10 sizes)" } else { "full" };
    eprintln!("compare: {mode}, {runs} run(s) each, alternating systems");
    let mut results: Vec<Results> = WORKLOADS.iter().map(|_| Results::default()).collect();
    for run in 0..runs {
        for (i, w) in WORKLOADS.iter().enumerate() {
            let r = &mut results[i];
            let erl_first = run % 2 == 1;
            for step in 0..2 {
                let do_erl = (step == 0) == erl_first;
                if do_erl {
                    if !have_erl || r.erl_err.is_some() {
                        continue;
                    }
                    let arg = if quick {
                        w.erl_arg_quick
                    } else {
                        w.erl_arg_full
                    };
                    let mut cmd = Command::new("erl");
                    cmd.args(w.erl_flags)
                        .arg("-noshell")
                        .arg("-pa")
                        .arg(&ebin)
                        .args(["-run", w.erl_module, "main", arg, "-s", "init", "stop"]);
                    match measure(cmd, &out, |stdout, _| {
                        stdout
                            .lines()
                            .find_map(|l| l.strip_prefix("time_us "))
                            .and_then(|s| s.trim().parse::<f64>().ok())
                            .map(|us| us / 1000.0)
                    }) {
                        Ok(s) => {
                            eprintln!(
                                "  run {} {:<15} erlang {:>10.1} ms (wall {:.1} ms)",
                                run + 1,
                                name(w),
                                s.inner_ms.unwrap_or(f64::NAN),
                                s.wall_ms
                            );
                            r.erl.push(s)
                        }
                        Err(e) => {
                            eprintln!("  {} erlang FAILED: {e}", name(w));
                            r.erl_err = Some(e)
                        }
                    }
                } else {
                    // The interpreter, then the JIT (`--jit`).
                    for jit in [false, true] {
                        let (samples, err, label) = if jit {
                            (&mut r.jit, &mut r.jit_err, "ttvm --jit")
                        } else {
                            (&mut r.ttvm, &mut r.ttvm_err, "ttvm")
                        };
                        if err.is_some() {
                            continue;
                        }
                        let mut cmd = Command::new(&ttvm);
                        cmd.arg("--stats").args(w.ttvm_args);
                        if jit {
                            cmd.arg("--jit");
                        }
                        cmd.arg(&programs[i]);
                        match measure(cmd, &out, |_, stderr| parse_stats_ms(stderr)) {
                            Ok(s) => {
                                eprintln!(
                                    "  run {} {:<15} {label:<10} {:>10.1} ms (wall {:.1} ms)",
                                    run + 1,
                                    name(w),
                                    s.inner_ms.unwrap_or(f64::NAN),
                                    s.wall_ms
                                );
                                samples.push(s)
                            }
                            Err(e) => {
                                eprintln!("  {} {label} FAILED: {e}", name(w));
                                *err = Some(e)
                            }
                        }
                    }
                }
            }
        }
    }

    // Report.
    let rows: Vec<Row> = WORKLOADS
        .iter()
        .zip(&results)
        .map(|(w, r)| Row::new(w, name(w), r, have_erl))
        .collect();
    let machine = machine_note();
    let md = markdown(&rows, mode, runs, have_erl, &machine);
    println!("{md}");
    let md_path = out.join("report.md");
    let svg_path = out.join("report.svg");
    fs::write(&md_path, &md).unwrap_or_else(|e| die(&format!("write {}: {e}", md_path.display())));
    fs::write(&svg_path, svg(&rows, mode))
        .unwrap_or_else(|e| die(&format!("write {}: {e}", svg_path.display())));
    eprintln!(
        "compare: wrote {} and {}",
        md_path.display(),
        svg_path.display()
    );
    if rows.iter().any(|r| r.failed) {
        std::process::exit(1);
    }
}

fn die(msg: &str) -> ! {
    eprintln!("compare: error: {msg}");
    std::process::exit(2)
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn have_erlang() -> bool {
    let ok = |p: &str| {
        Command::new(p)
            .args(["-noshell", "-eval", "init:stop()."])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    ok("erl")
}

fn compile_erlang(src: &Path, ebin: &Path) -> bool {
    let _ = fs::create_dir_all(ebin);
    let mut files: Vec<PathBuf> = match fs::read_dir(src) {
        Ok(d) => d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "erl"))
            .collect(),
        Err(e) => {
            eprintln!("compare: read {}: {e}", src.display());
            return false;
        }
    };
    files.sort();
    match Command::new("erlc")
        .arg("-o")
        .arg(ebin)
        .args(&files)
        .status()
    {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("compare: erlc failed ({s})");
            false
        }
        Err(e) => {
            eprintln!("compare: cannot run erlc: {e}");
            false
        }
    }
}

/// `stats: ...; time 467.963 ms` -> 467.963
fn parse_stats_ms(stderr: &str) -> Option<f64> {
    let line = stderr.lines().rev().find(|l| l.starts_with("stats:"))?;
    let i = line.rfind("time ")?;
    let rest = line[i + 5..].trim();
    let (num, unit) = rest.split_once(' ').unwrap_or((rest, "ms"));
    let v: f64 = num.parse().ok()?;
    Some(match unit.trim() {
        "s" => v * 1000.0,
        "us" | "µs" => v / 1000.0,
        "ns" => v / 1e6,
        _ => v,
    })
}

/// Run `cmd` with stdout/stderr captured to files, wait for it with `wait4`
/// (for the peak RSS), and extract the inner time with `inner`.
fn measure(
    mut cmd: Command,
    dir: &Path,
    inner: impl Fn(&str, &str) -> Option<f64>,
) -> Result<Sample, String> {
    let out_path = dir.join("child.stdout");
    let err_path = dir.join("child.stderr");
    let so = File::create(&out_path).map_err(|e| e.to_string())?;
    let se = File::create(&err_path).map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(so).stderr(se);
    let start = Instant::now();
    let child = cmd.spawn().map_err(|e| format!("spawn {cmd:?}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        // SAFETY: pid is our own child, pointers are valid for the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    // The child is reaped; don't let `Child` try again.
    std::mem::forget(child);
    if r != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !ok {
        let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        return Err(format!("{cmd:?} exited with status {status:#x}: {tail}"));
    }
    let inner_ms = inner(&stdout, &stderr);
    if inner_ms.is_none() {
        return Err(format!("{cmd:?}: no timing in output"));
    }
    let result = stdout
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"')
        .to_string();
    Ok(Sample {
        wall_ms,
        inner_ms,
        result,
        rss_kb: ru.ru_maxrss as u64, // kilobytes on Linux
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

struct Row {
    name: &'static str,
    startup: bool,
    t_wall: Option<f64>,
    t_vm: Option<f64>,
    t_rss: Option<f64>,
    /// `--jit`: VM time, peak RSS, ratio to Erlang.
    j_vm: Option<f64>,
    j_rss: Option<f64>,
    j_ratio: Option<f64>,
    e_work: Option<f64>,
    e_wall: Option<f64>,
    e_rss: Option<f64>,
    ratio: Option<f64>,
    failed: bool,
    note: String,
}

impl Row {
    fn new(w: &Workload, name: &'static str, r: &Results, have_erl: bool) -> Row {
        let m =
            |v: &[Sample], f: fn(&Sample) -> Option<f64>| median(v.iter().filter_map(f).collect());
        let t_wall = m(&r.ttvm, |s| Some(s.wall_ms));
        let t_vm = m(&r.ttvm, |s| s.inner_ms);
        let t_rss = m(&r.ttvm, |s| Some(s.rss_kb as f64 / 1024.0));
        let j_wall = m(&r.jit, |s| Some(s.wall_ms));
        let j_vm = m(&r.jit, |s| s.inner_ms);
        let j_rss = m(&r.jit, |s| Some(s.rss_kb as f64 / 1024.0));
        let e_work = m(&r.erl, |s| s.inner_ms);
        let e_wall = m(&r.erl, |s| Some(s.wall_ms));
        let e_rss = m(&r.erl, |s| Some(s.rss_kb as f64 / 1024.0));
        let ratio = if w.startup {
            t_wall.zip(e_wall).map(|(a, b)| a / b)
        } else {
            t_vm.zip(e_work)
                .filter(|&(_, b)| b > 0.0)
                .map(|(a, b)| a / b)
        };
        let j_ratio = if w.startup {
            j_wall.zip(e_wall).map(|(a, b)| a / b)
        } else {
            j_vm.zip(e_work)
                .filter(|&(_, b)| b > 0.0)
                .map(|(a, b)| a / b)
        };
        let mut note = String::new();
        if let Some(e) = &r.ttvm_err {
            note.push_str(&format!("ttvm failed: {e}. "));
        }
        if let Some(e) = &r.jit_err {
            note.push_str(&format!("ttvm --jit failed: {e}. "));
        }
        if let Some(e) = &r.erl_err {
            note.push_str(&format!("erlang failed: {e}. "));
        }
        if !w.startup {
            let mut results: Vec<&str> = r
                .ttvm
                .iter()
                .chain(&r.jit)
                .chain(&r.erl)
                .map(|s| s.result.as_str())
                .collect();
            results.sort_unstable();
            results.dedup();
            if results.len() > 1 {
                note.push_str(&format!("results differ: {results:?}. "));
            }
        }
        Row {
            name,
            startup: w.startup,
            t_wall,
            t_vm,
            t_rss,
            j_vm,
            j_rss,
            j_ratio,
            e_work,
            e_wall,
            e_rss,
            ratio,
            failed: r.ttvm_err.is_some()
                || r.jit_err.is_some()
                || (have_erl && r.erl_err.is_some()),
            note,
        }
    }
}

fn f(v: Option<f64>, prec: usize) -> String {
    match v {
        Some(x) => format!("{x:.prec$}"),
        None => "-".into(),
    }
}

fn fmt_ratio(x: f64) -> String {
    if x < 0.1 {
        format!("{x:.4}")
    } else {
        format!("{x:.2}")
    }
}

fn machine_note() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    let otp = Command::new("erl")
        .args([
            "-noshell",
            "-eval",
            "io:format(\"~s\",[erlang:system_info(otp_release)]), init:stop().",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|| "-".into());
    format!("{cpus} CPUs, load average (1 min) {load} at the end, OTP {otp}")
}

fn markdown(rows: &[Row], mode: &str, runs: usize, have_erl: bool, machine: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# ttvm vs Erlang/OTP ({mode}, median of {runs} run(s))\n"
    );
    let _ = writeln!(s, "Machine: {machine}.\n");
    if !have_erl {
        let _ = writeln!(
            s,
            "Erlang/OTP not found (apt-get install -y erlang-base); showing ttvm only.\n"
        );
    }
    let _ = writeln!(
        s,
        "| workload | ttvm wall ms | ttvm VM ms | ttvm RSS MB | --jit VM ms | --jit RSS MB | erl work ms | erl wall ms | erl RSS MB | ttvm/erl | --jit/erl | --jit/ttvm |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let show = |ratio: Option<f64>| match ratio {
            Some(x) if r.startup => format!("{} (wall)", fmt_ratio(x)),
            Some(x) => fmt_ratio(x),
            None => "-".into(),
        };
        let speedup = if r.startup {
            None
        } else {
            r.j_vm
                .zip(r.t_vm)
                .filter(|&(_, b)| b > 0.0)
                .map(|(a, b)| a / b)
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            f(r.t_wall, 1),
            f(r.t_vm, 1),
            f(r.t_rss, 1),
            f(r.j_vm, 1),
            f(r.j_rss, 1),
            f(r.e_work, 1),
            f(r.e_wall, 1),
            f(r.e_rss, 1),
            show(r.ratio),
            show(r.j_ratio),
            speedup.map_or("-".into(), fmt_ratio)
        );
    }
    let _ = writeln!(
        s,
        "\nttvm VM ms = the `--stats` time; erl work ms = the program's own \
         `erlang:monotonic_time` measurement (BEAM boot excluded); wall = whole \
         process. ttvm/erl = ttvm VM ms / erl work ms (start-up: wall / wall); \
         below 1 means ttvm is faster; --jit columns are the same runs with \
         `--jit` (default threshold), --jit/ttvm below 1 means the JIT is \
         faster than the interpreter. RSS = peak resident set (wait4)."
    );
    for r in rows.iter().filter(|r| !r.note.is_empty()) {
        let _ = writeln!(s, "\n* {}: {}", r.name, r.note);
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal bar chart of the ratios on a log2 axis, with a line at 1.0.
fn svg(rows: &[Row], mode: &str) -> String {
    let left = 150.0;
    let width = 560.0;
    let bar_h = 22.0;
    let gap = 8.0;
    let top = 50.0;
    let h = top + rows.len() as f64 * (bar_h + gap) + 50.0;
    let total_w = left + width + 90.0;
    let ratios: Vec<f64> = rows
        .iter()
        .flat_map(|r| [r.ratio, r.j_ratio])
        .flatten()
        .filter(|x| *x > 0.0)
        .collect();
    let lo = ratios
        .iter()
        .cloned()
        .fold(1.0f64, f64::min)
        .log2()
        .floor()
        .min(-1.0);
    let hi = ratios
        .iter()
        .cloned()
        .fold(1.0f64, f64::max)
        .log2()
        .ceil()
        .max(1.0);
    let x = |r: f64| left + (r.log2() - lo) / (hi - lo) * width;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">ttvm time / Erlang time ({}; log scale, &lt;1 = ttvm faster)</text>"#,
        total_w / 2.0,
        esc(mode)
    );
    // Grid and axis labels at powers of two.
    let axis_y = top + rows.len() as f64 * (bar_h + gap);
    let step = ((hi - lo) / 10.0).ceil().max(1.0) as i32;
    let mut e = (lo as i32).div_euclid(step) * step;
    while e <= hi as i32 {
        let r = 2f64.powi(e);
        let gx = x(r);
        if gx < left - 0.5 {
            e += step;
            continue;
        }
        let label = if e >= 0 {
            format!("{}", 1u64 << e)
        } else {
            format!("1/{}", 1u64 << -e)
        };
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{top}" x2="{gx:.1}" y2="{axis_y}" stroke="#ddd"/><text x="{gx:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            axis_y + 16.0
        );
        e += step;
    }
    let x1 = x(1.0);
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * (bar_h + gap);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + bar_h * 0.7,
            esc(r.name)
        );
        // Two bars: the interpreter (top, light) and --jit (bottom, dark).
        for (k, ratio) in [r.ratio, r.j_ratio].into_iter().enumerate() {
            let yb = y + k as f64 * bar_h / 2.0;
            let hb = bar_h / 2.0 - 1.0;
            match ratio {
                Some(v) if v > 0.0 => {
                    let xv = x(v);
                    let (a, b) = if xv >= x1 { (x1, xv) } else { (xv, x1) };
                    let color = match (v > 1.0, k) {
                        (true, 0) => "#e8908d",
                        (true, _) => "#c9302c",
                        (false, 0) => "#92d292",
                        (false, _) => "#3d8b3d",
                    };
                    let _ = writeln!(
                        s,
                        r#"<rect x="{a:.1}" y="{yb:.1}" width="{:.1}" height="{hb}" fill="{color}"/>"#,
                        (b - a).max(1.0)
                    );
                    let _ = writeln!(
                        s,
                        r#"<text x="{:.1}" y="{:.1}" font-size="10">{}× {}</text>"#,
                        b.max(x1) + 4.0,
                        yb + hb * 0.85,
                        fmt_ratio(v),
                        if k == 0 { "interp" } else { "jit" }
                    );
                }
                _ => {
                    let _ = writeln!(
                        s,
                        r##"<text x="{:.1}" y="{:.1}" fill="#888" font-size="10">n/a</text>"##,
                        x1 + 4.0,
                        yb + hb * 0.85
                    );
                }
            }
        }
    }
    let _ = writeln!(
        s,
        r#"<line x1="{x1:.1}" y1="{:.1}" x2="{x1:.1}" y2="{axis_y}" stroke="black" stroke-width="2"/>"#,
        top - 6.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{x1:.1}" y="{:.1}" text-anchor="middle">1.0</text>"#,
        top - 10.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">ratio (ttvm --stats time / Erlang self-timed; start-up: wall / wall)</text>"#,
        left + width / 2.0,
        axis_y + 36.0
    );
    s.push_str("</svg>\n");
    s
}
