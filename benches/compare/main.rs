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
//!
//! Files: `workloads.rs` (the workload table), `run.rs` (running and timing
//! a child process), `report.rs` (medians, rows, markdown), `svg.rs` (the
//! chart).

mod report;
mod run;
mod svg;
mod workloads;

use report::{machine_note, markdown, Row};
use run::{compile_erlang, have_erlang, measure, parse_stats_ms, Results};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use svg::svg;
use workloads::{Workload, WORKLOADS};

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
