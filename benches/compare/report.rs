//! Medians, table rows and the markdown report.

use crate::run::{Case, Results, Sample, Series};
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

/// Medians of one system's runs on one case.
#[derive(Default)]
pub struct Stats {
    pub wall: Option<f64>,
    /// ttvm: the `--stats` time; Erlang: the self-timed work.
    pub inner: Option<f64>,
    /// Peak RSS, MB.
    pub rss: Option<f64>,
}

impl Stats {
    fn of(s: &Series) -> Stats {
        let m = |f: fn(&Sample) -> Option<f64>| median(s.samples.iter().filter_map(f).collect());
        Stats {
            wall: m(|s| Some(s.wall_ms)),
            inner: m(|s| s.inner_ms),
            rss: m(|s| Some(s.rss_kb as f64 / 1024.0)),
        }
    }
}

/// One case (workload × scheduler count) of the report.
pub struct Row {
    pub name: &'static str,
    pub sched: u32,
    pub startup: bool,
    pub interp: Stats,
    pub jit: Stats,
    pub erl: Stats,
    pub failed: bool,
    pub note: String,
}

impl Row {
    pub fn new(c: &Case, r: &Results, have_erl: bool) -> Row {
        let mut note = String::new();
        for (label, s) in [
            ("ttvm", &r.interp),
            ("ttvm --jit", &r.jit),
            ("erlang", &r.erl),
        ] {
            if let Some(e) = &s.err {
                let _ = write!(note, "{label} failed: {e}. ");
            }
        }
        if !c.w.startup {
            let mut results: Vec<&str> = [&r.interp, &r.jit, &r.erl]
                .into_iter()
                .flat_map(|s| &s.samples)
                .map(|s| s.result.as_str())
                .collect();
            results.sort_unstable();
            results.dedup();
            if results.len() > 1 {
                let _ = write!(note, "results differ: {results:?}. ");
            }
        }
        Row {
            name: c.name,
            sched: c.sched,
            startup: c.w.startup,
            interp: Stats::of(&r.interp),
            jit: Stats::of(&r.jit),
            erl: Stats::of(&r.erl),
            failed: r.interp.err.is_some()
                || r.jit.err.is_some()
                || (have_erl && r.erl.err.is_some()),
            note,
        }
    }

    /// The time the ratios compare: in-VM / self-timed work, or for the
    /// start-up workload the whole process.
    pub fn time(&self, s: &Stats) -> Option<f64> {
        if self.startup {
            s.wall
        } else {
            s.inner
        }
    }

    fn ratio_of(&self, a: &Stats, b: &Stats) -> Option<f64> {
        self.time(a)
            .zip(self.time(b))
            .filter(|&(_, b)| b > 0.0)
            .map(|(a, b)| a / b)
    }

    /// Interpreter time / Erlang time.
    pub fn ratio(&self) -> Option<f64> {
        self.ratio_of(&self.interp, &self.erl)
    }

    /// `--jit` time / Erlang time.
    pub fn j_ratio(&self) -> Option<f64> {
        self.ratio_of(&self.jit, &self.erl)
    }

    /// `--jit` time / interpreter time.
    pub fn speedup(&self) -> Option<f64> {
        self.ratio_of(&self.jit, &self.interp)
    }

    /// "name -S n", the row's label in the chart.
    pub fn label(&self) -> String {
        format!("{} -S{}", self.name, self.sched)
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

fn ratio_cell(x: Option<f64>) -> String {
    x.map_or("-".into(), fmt_ratio)
}

pub fn machine_note(have_erl: bool) -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    let otp = have_erl
        .then(|| {
            Command::new("erl")
                .args([
                    "-noshell",
                    "-eval",
                    "io:format(\"~s\",[erlang:system_info(otp_release)]), init:stop().",
                ])
                .output()
                .ok()
        })
        .flatten()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|| "-".into());
    format!("{cpus} CPUs, load average (1 min) {load} at the end, OTP {otp}")
}

/// A markdown table whose columns are padded, so it reads as well on a
/// terminal as rendered.
struct Table {
    rows: Vec<Vec<String>>,
    /// Right-aligned columns (numbers).
    right: Vec<bool>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|h| h.to_string()).collect()],
            // Every column but the first holds numbers.
            right: (0..header.len()).map(|i| i > 0).collect(),
        }
    }

    fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    fn render(&self, out: &mut String) {
        let n = self.right.len();
        let width: Vec<usize> = (0..n)
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(3)
            })
            .collect();
        let line = |out: &mut String, cells: &[String]| {
            out.push('|');
            for (i, c) in cells.iter().enumerate() {
                let w = width[i];
                let _ = if self.right[i] {
                    write!(out, " {c:>w$} |")
                } else {
                    write!(out, " {c:<w$} |")
                };
            }
            out.push('\n');
        };
        line(out, &self.rows[0]);
        out.push('|');
        for (w, &right) in width.iter().zip(&self.right) {
            out.push_str(&"-".repeat(w + if right { 1 } else { 2 }));
            out.push_str(if right { ":|" } else { "|" });
        }
        out.push('\n');
        for r in &self.rows[1..] {
            line(out, r);
        }
    }
}

pub fn markdown(
    rows: &[Row],
    mode: &str,
    runs: usize,
    erl_note: Option<&str>,
    machine: &str,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# ttvm vs Erlang/OTP ({mode}, median of {runs} run(s))\n"
    );
    let _ = writeln!(s, "Machine: {machine}.\n");
    if let Some(n) = erl_note {
        let _ = writeln!(s, "{n}.\n");
    }
    let mut t = Table::new(&[
        "workload",
        "S",
        "interp ms",
        "jit ms",
        "erl ms",
        "interp/erl",
        "jit/erl",
        "jit/interp",
        "interp wall",
        "jit wall",
        "erl wall",
        "interp MB",
        "jit MB",
        "erl MB",
    ]);
    for r in rows {
        t.push(vec![
            if r.startup {
                format!("{} (wall)", r.name)
            } else {
                r.name.to_string()
            },
            r.sched.to_string(),
            f(r.interp.inner, 1),
            f(r.jit.inner, 1),
            f(r.erl.inner, 1),
            ratio_cell(r.ratio()),
            ratio_cell(r.j_ratio()),
            ratio_cell(r.speedup()),
            f(r.interp.wall, 1),
            f(r.jit.wall, 1),
            f(r.erl.wall, 1),
            f(r.interp.rss, 1),
            f(r.jit.rss, 1),
            f(r.erl.rss, 1),
        ]);
    }
    t.render(&mut s);
    let _ = writeln!(
        s,
        "\nS = scheduler threads (ttvm `-S S`, Erlang `+S S:S`). interp ms / \
         jit ms = ttvm's in-VM time (`--stats`) without and with `--jit`; \
         erl ms = the Erlang program's own `erlang:monotonic_time` measurement \
         (BEAM start-up excluded). Ratios divide those times (rows marked \
         (wall): the whole process, wall / wall); below 1 the first is faster. wall = the \
         whole process, ms; MB = peak resident set (wait4)."
    );

    // Scaling: each count against -S 1, where a workload has both.
    let mut scaling = Table::new(&["workload", "S", "interp", "jit", "erl"]);
    for r in rows.iter().filter(|r| r.sched != 1) {
        let Some(one) = rows.iter().find(|o| o.name == r.name && o.sched == 1) else {
            continue;
        };
        let by = |a: &Stats, b: &Stats| {
            ratio_cell(
                r.time(a)
                    .zip(one.time(b))
                    .filter(|&(_, b)| b > 0.0)
                    .map(|(a, b)| a / b),
            )
        };
        scaling.push(vec![
            r.name.to_string(),
            r.sched.to_string(),
            by(&r.interp, &one.interp),
            by(&r.jit, &one.jit),
            by(&r.erl, &one.erl),
        ]);
    }
    if scaling.rows.len() > 1 {
        let _ = writeln!(
            s,
            "\n## Scaling: time with S schedulers / time with 1\n\nBelow 1 = \
             faster with more schedulers (on this machine's {} CPUs).\n",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        scaling.render(&mut s);
    }
    for r in rows.iter().filter(|r| !r.note.is_empty()) {
        let _ = writeln!(s, "\n* {}: {}", r.label(), r.note);
    }
    s
}
