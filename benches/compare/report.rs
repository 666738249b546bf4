//! Medians, table rows and the markdown report.

use crate::run::{Results, Sample};
use crate::workloads::Workload;
use std::fmt::Write as _;
use std::fs;
use std::process::Command;

pub fn median(mut v: Vec<f64>) -> Option<f64> {
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

pub struct Row {
    pub name: &'static str,
    pub startup: bool,
    pub t_wall: Option<f64>,
    pub t_vm: Option<f64>,
    pub t_rss: Option<f64>,
    /// `--jit`: VM time, peak RSS, ratio to Erlang.
    pub j_vm: Option<f64>,
    pub j_rss: Option<f64>,
    pub j_ratio: Option<f64>,
    pub e_work: Option<f64>,
    pub e_wall: Option<f64>,
    pub e_rss: Option<f64>,
    pub ratio: Option<f64>,
    pub failed: bool,
    pub note: String,
}

impl Row {
    pub fn new(w: &Workload, name: &'static str, r: &Results, have_erl: bool) -> Row {
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

pub fn f(v: Option<f64>, prec: usize) -> String {
    match v {
        Some(x) => format!("{x:.prec$}"),
        None => "-".into(),
    }
}

pub fn fmt_ratio(x: f64) -> String {
    if x < 0.1 {
        format!("{x:.4}")
    } else {
        format!("{x:.2}")
    }
}

pub fn machine_note() -> String {
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

pub fn markdown(rows: &[Row], mode: &str, runs: usize, have_erl: bool, machine: &str) -> String {
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
