//! `cargo bench --bench compare [-- OPTIONS]`: ttvm against Erlang/OTP,
//! Lua 5.4 and LuaJIT.
//!
//! Runs the same workloads on ttvm (the release binary), on Erlang/OTP
//! (when `erl` is on PATH) and on Lua 5.4 and LuaJIT (when `lua5.4` /
//! `luajit` are on PATH and the workload has a Lua version) and reports
//! medians, the time ratios and peak RSS. Criterion-free: it builds nothing itself except by running
//! `cargo build --release --bin ttvm` first.
//!
//! Options (after `--`):
//!
//! * `--quick` — about 1/10 of each size (a smoke run; see
//!   docs/PERFORMANCE.md for how long it takes).
//! * `--runs N` — runs per system and case (default 3; the median is
//!   reported).
//! * `--sched 1|2|both` — scheduler counts (default `both`; a
//!   comma-separated list such as `1,4` also works).
//! * `--only NAME` — only the workloads whose name contains NAME (case
//!   insensitive, full or quick name); repeatable.
//! * `--no-erlang` — no Erlang, even when `erl` is installed.
//! * `--no-lua` — no Lua 5.4 or LuaJIT, even when installed.
//! * `--no-pin` — pass `--no-pin` to ttvm (on a machine where other jobs
//!   keep a core busy, a pinned scheduler may land on it).
//! * `--no-echo` — skip the echo server workload (below).
//! * `--no-dist` — skip the distribution workload (below).
//!
//! The `echo` workload (`echo.rs`, issue 16) is of another kind: a server
//! (`examples/echo_server.ttvm` on ttvm, `benches/erlang/echo.erl` on
//! Erlang) driven over loopback by the load generator of
//! `benches/echo_load/`: throughput and p50/p99 latency at 1, 100 and
//! 10,000 connections, and memory per idle connection. It runs after the
//! table (`--only echo` runs it alone), once per scheduler count, and has
//! its own section in the report; a missing .ttvm server or `erl` skips
//! those rows with a note.
//!
//! The `dist` workload (`dist.rs`, issue 17) is another: two nodes on
//! loopback, ping-pong round trips and one-way streaming between them,
//! two ttvm nodes (`--no-jit` and `--jit`) and two Erlang nodes side by
//! side, with an `epmd` of its own. It runs after the echo workload
//! (`--only dist` runs it alone), `--runs` times per scheduler count, and
//! has its own section in the report; a missing `epmd` skips it, a
//! missing `erl` its Erlang rows, with a note.
//!
//! What runs:
//!
//! * Every workload × every selected scheduler count S is a *case* (a row):
//!   ttvm's interpreter (`--no-jit`) and `--jit` with `-S S`, and Erlang
//!   with `+S S:S`. A workload defined on one scheduler count (fairness:
//!   `-S 1`) runs with that count only. Lua is one thread: it runs in each
//!   workload's first case (the lowest S) only. Each run goes through the
//!   cases in order, and within a case the systems alternate (forward on
//!   even runs, backward on odd ones).
//! * A workload whose .ttvm program does not exist yet runs on the other
//!   systems only, with a note (the issue-14 workloads n-body,
//!   spectral-norm and word frequency, for now).
//! * ttvm programs: `benches/programs/*.ttvm`, plus `benches/compare/ttvm/*.ttvm`
//!   for workloads that have no program there. `--quick` substitutes the sizes
//!   textually into copies under `target/compare/`.
//! * Erlang programs: `benches/erlang/*.erl`, compiled with `erlc` into
//!   `target/compare/ebin`, run as `erl +S S:S -noshell -run MOD main N -s
//!   erlang halt`. Each times its own work with `erlang:monotonic_time` and
//!   prints `time_us N`, so BEAM start-up is excluded.
//! * Lua programs: `benches/lua/NAME.lua N`, run by `lua5.4` and `luajit`.
//!   Each times its work with `os.clock()` (CPU time: standard Lua has no
//!   finer wall clock; see benches/lua/bench.lua) and prints `time_us N`.
//! * The results (stdout less the `time_us` line) of all systems must be
//!   the same text; the report notes a difference.
//! * ttvm is timed two ways: wall time of the whole process, and the in-VM
//!   time printed by `--stats` (`... time X ms` on stderr). The ratio
//!   columns are in-VM ttvm time / self-timed Erlang or Lua time (for
//!   start-up: wall / wall).
//! * Peak RSS comes from `wait4` rusage of each child.
//!
//! Output: tables on stdout, `target/compare/report.md`, and an SVG bar
//! chart of the ratios, `target/compare/report.svg`. Exit status 1 when a run
//! failed (the report says which), 2 on a usage or set-up error.
//!
//! Files: `workloads.rs` (the workload table), `run.rs` (running and timing
//! a child process), `report.rs` (medians, rows, markdown), `svg.rs` (the
//! chart).

mod dist;
mod echo;
mod report;
mod run;
mod svg;
mod table;
mod workloads;

use report::{machine_note, markdown, Row};
use run::{compile_erlang, have_erlang, lua_version, run_once, Case, Env, Results, System};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use svg::svg;
use workloads::WORKLOADS;

const USAGE: &str = "usage: cargo bench --bench compare -- [--quick] [--runs N] \
                     [--sched 1|2|both|N,M,...] [--only NAME]... [--no-erlang] [--no-lua] \
                     [--no-pin] [--no-echo] [--no-dist]";

/// The command line.
struct Options {
    quick: bool,
    runs: usize,
    scheds: Vec<u32>,
    only: Vec<String>,
    erlang: bool,
    lua: bool,
    no_pin: bool,
    echo: bool,
    dist: bool,
}

fn options() -> Options {
    let mut o = Options {
        quick: false,
        runs: 3,
        scheds: vec![1, 2],
        only: Vec::new(),
        erlang: true,
        lua: true,
        no_pin: false,
        echo: true,
        dist: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        // `--opt=value` or `--opt value`.
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| die(&format!("{flag} needs {what}")))
        };
        match flag.as_str() {
            "--quick" => o.quick = true,
            "--runs" => {
                o.runs = value("a positive number")
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| die("--runs needs a positive number"))
            }
            "--sched" => o.scheds = parse_scheds(&value("1, 2 or both")),
            "--only" => o.only.push(value("a workload name").to_lowercase()),
            "--no-erlang" => o.erlang = false,
            "--no-lua" => o.lua = false,
            "--no-pin" => o.no_pin = true,
            "--no-echo" => o.echo = false,
            "--no-dist" => o.dist = false,
            "-h" | "--help" => {
                println!("{USAGE}\n(see the doc comment of benches/compare/main.rs)");
                std::process::exit(0);
            }
            // `cargo bench` passes `--bench`; ignore it and anything else.
            _ => {}
        }
    }
    o
}

/// `1`, `2`, `both` (= `1,2`) or a comma-separated list of counts.
fn parse_scheds(s: &str) -> Vec<u32> {
    if s == "both" {
        return vec![1, 2];
    }
    let mut v: Vec<u32> = s
        .split(',')
        .map(|x| {
            x.trim()
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .unwrap_or_else(|| die(&format!("--sched: {x:?} is not 1, 2, both or a count")))
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn main() {
    let o = options();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let out = target.join("compare");
    fs::create_dir_all(&out).unwrap_or_else(|e| die(&format!("create {}: {e}", out.display())));

    // The cases: selected workloads × scheduler counts.
    let mut cases = Vec::new();
    for w in WORKLOADS {
        let name = if o.quick { w.quick_name } else { w.name };
        let wanted = |n: &str| o.only.iter().any(|p| n.to_lowercase().contains(p));
        if !o.only.is_empty() && !wanted(w.name) && !wanted(w.quick_name) {
            continue;
        }
        let program = root
            .join(w.ttvm)
            .exists()
            .then(|| out.join(format!("{}.ttvm", slug(name))));
        if let Some(s) = w.only_sched.filter(|s| !o.scheds.contains(s)) {
            eprintln!("compare: {name} runs with -S {s} only; skipped");
        }
        let mut first = true;
        for &sched in &o.scheds {
            if w.only_sched.is_none_or(|s| s == sched) {
                cases.push(Case {
                    w,
                    name,
                    sched,
                    program: program.clone(),
                    lua: first && w.lua.is_some(),
                });
                first = false;
            }
        }
    }
    let run_echo =
        o.echo && (o.only.is_empty() || o.only.iter().any(|p| "echo".contains(p.as_str())));
    let run_dist =
        o.dist && (o.only.is_empty() || o.only.iter().any(|p| "dist".contains(p.as_str())));
    if cases.is_empty() && !run_echo && !run_dist {
        die("no workload matches --only/--sched");
    }

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

    // Erlang, if present and wanted.
    let ebin = out.join("ebin");
    let have_erl = o.erlang && have_erlang() && compile_erlang(&root.join("benches/erlang"), &ebin);
    let erl_note = if !o.erlang {
        Some("Erlang/OTP skipped (--no-erlang)")
    } else if !have_erl {
        Some("Erlang/OTP not found (apt-get install -y erlang-base)")
    } else {
        None
    };
    if let Some(n) = erl_note {
        println!("note: {n}");
    }

    // Lua 5.4 and LuaJIT, if present and wanted.
    let lua = |sys| if o.lua { lua_version(sys) } else { None };
    let (lua54, luajit) = (lua(System::Lua), lua(System::LuaJit));
    let mut notes: Vec<String> = erl_note.iter().map(|n| n.to_string()).collect();
    for (sys, v, pkg) in [
        (System::Lua, &lua54, "lua5.4"),
        (System::LuaJit, &luajit, "luajit"),
    ] {
        let n = if !o.lua {
            format!("{} skipped (--no-lua)", sys.label())
        } else if v.is_none() {
            format!("`{}` not found (apt-get install -y {pkg})", sys.label())
        } else {
            continue;
        };
        println!("note: {n}");
        notes.push(n);
    }
    let have = |sys: System| match sys {
        System::Interp | System::Jit => true,
        System::Erlang => have_erl,
        System::Lua => lua54.is_some(),
        System::LuaJit => luajit.is_some(),
    };

    // Write the .ttvm programs (sizes substituted), once per workload.
    for (i, c) in cases.iter().enumerate() {
        // A workload's cases are adjacent and share the file.
        let Some(program) = &c.program else {
            continue;
        };
        if i > 0 && cases[i - 1].program == c.program {
            continue;
        }
        let mut text = fs::read_to_string(root.join(c.w.ttvm))
            .unwrap_or_else(|e| die(&format!("read {}: {e}", c.w.ttvm)));
        let subs = if o.quick {
            c.w.quick_subs
        } else {
            c.w.full_subs
        };
        for (from, to) in subs {
            if !text.contains(from) {
                die(&format!("{}: substitution {from:?} not found", c.w.ttvm));
            }
            text = text.replace(from, to);
        }
        fs::write(program, text)
            .unwrap_or_else(|e| die(&format!("write {}: {e}", program.display())));
    }

    let env = Env {
        ttvm,
        ebin,
        lua_dir: root.join("benches/lua"),
        out: out.clone(),
        quick: o.quick,
        no_pin: o.no_pin,
    };
    let mode = if o.quick {
        "quick (~1/10 sizes)"
    } else {
        "full"
    };
    eprintln!(
        "compare: {mode}, {} case(s), {} run(s) each, alternating systems",
        cases.len(),
        o.runs
    );
    let mut results: Vec<Results> = cases.iter().map(|_| Results::default()).collect();
    for run in 0..o.runs {
        let mut order = System::ALL;
        if run % 2 == 1 {
            order.reverse();
        }
        for (c, r) in cases.iter().zip(&mut results) {
            for sys in order {
                let applies = match sys {
                    System::Interp | System::Jit => c.program.is_some(),
                    System::Erlang => true,
                    System::Lua | System::LuaJit => c.lua,
                };
                if !have(sys) || !applies {
                    continue;
                }
                let series = r.get_mut(sys);
                if series.err.is_some() {
                    continue;
                }
                let label = format!("{} -S{}", c.name, c.sched);
                match run_once(sys, c, &env) {
                    Ok(s) => {
                        eprintln!(
                            "  run {} {label:<20} {:<10} {:>10.1} ms (wall {:.1} ms)",
                            run + 1,
                            sys.label(),
                            s.inner_ms.unwrap_or(f64::NAN),
                            s.wall_ms
                        );
                        series.samples.push(s)
                    }
                    Err(e) => {
                        eprintln!("  {label} {} FAILED: {e}", sys.label());
                        series.err = Some(e)
                    }
                }
            }
        }
    }

    // Report.
    let rows: Vec<Row> = cases
        .iter()
        .zip(&results)
        .map(|(c, r)| Row::new(c, r))
        .collect();
    let machine = machine_note(have_erl, [&lua54, &luajit]);
    let mode = if o.no_pin {
        format!("{mode}, ttvm --no-pin")
    } else {
        mode.to_string()
    };
    let mut md = if rows.is_empty() {
        format!("# ttvm echo server and distribution ({mode})\n\nMachine: {machine}.\n")
    } else {
        markdown(&rows, &mode, o.runs, &notes, &machine)
    };
    let mut echo_failed = false;
    if run_echo {
        let (section, failed) = echo::run(&echo::EchoEnv {
            root: &root,
            out: &out,
            ttvm: &env.ttvm,
            ebin: &env.ebin,
            have_erl,
            scheds: &o.scheds,
            quick: o.quick,
            no_pin: o.no_pin,
        });
        md.push_str(&section);
        echo_failed = failed;
    }
    let mut dist_failed = false;
    if run_dist {
        let (section, failed) = dist::run(&dist::DistEnv {
            root: &root,
            out: &out,
            ttvm: &env.ttvm,
            ebin: &env.ebin,
            have_erl,
            scheds: &o.scheds,
            quick: o.quick,
            no_pin: o.no_pin,
            runs: o.runs,
        });
        md.push_str(&section);
        dist_failed = failed;
    }
    println!("{md}");
    let md_path = out.join("report.md");
    let svg_path = out.join("report.svg");
    fs::write(&md_path, &md).unwrap_or_else(|e| die(&format!("write {}: {e}", md_path.display())));
    if !rows.is_empty() {
        fs::write(&svg_path, svg(&rows, &mode, erl_note))
            .unwrap_or_else(|e| die(&format!("write {}: {e}", svg_path.display())));
    }
    if rows.is_empty() {
        eprintln!("compare: wrote {}", md_path.display());
    } else {
        eprintln!(
            "compare: wrote {} and {}",
            md_path.display(),
            svg_path.display()
        );
    }
    if echo_failed || dist_failed || rows.iter().any(|r| r.failed) {
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
