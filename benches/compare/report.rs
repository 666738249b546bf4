//! Medians, table rows and the markdown report.

use crate::run::{Case, Results, Sample, Series, System};
use crate::table::Table;
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
    pub lua: Stats,
    pub luajit: Stats,
    pub failed: bool,
    pub note: String,
}

impl Row {
    pub fn new(c: &Case, r: &Results) -> Row {
        let mut note = String::new();
        if c.program.is_none() {
            let _ = write!(note, "no ttvm program yet (`{}` is missing). ", c.w.ttvm);
        }
        for sys in System::ALL {
            if let Some(e) = &r.get(sys).err {
                let _ = write!(note, "{} failed: {e}. ", sys.label());
            }
        }
        if !c.w.startup {
            if let Some(d) = differing_results(r) {
                let _ = write!(note, "results differ: {d}. ");
            }
        }
        let note = note.trim_end().to_string();
        Row {
            name: c.name,
            sched: c.sched,
            startup: c.w.startup,
            interp: Stats::of(&r.interp),
            jit: Stats::of(&r.jit),
            erl: Stats::of(&r.erl),
            lua: Stats::of(&r.lua),
            luajit: Stats::of(&r.luajit),
            failed: System::ALL.iter().any(|&s| r.get(s).err.is_some()),
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

    /// Interpreter time / Lua 5.4 time.
    pub fn lua_ratio(&self) -> Option<f64> {
        self.ratio_of(&self.interp, &self.lua)
    }

    /// `--jit` time / LuaJIT time.
    pub fn luajit_ratio(&self) -> Option<f64> {
        self.ratio_of(&self.jit, &self.luajit)
    }

    /// "name -S n", the row's label in the chart.
    pub fn label(&self) -> String {
        format!("{} -S{}", self.name, self.sched)
    }
}

/// When the systems' results are not all the same text: which system gave
/// which, at the first line where they differ.
fn differing_results(r: &Results) -> Option<String> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for sys in System::ALL {
        for s in &r.get(sys).samples {
            if !seen.iter().any(|&(_, t)| t == s.result) {
                seen.push((sys.label(), &s.result));
            }
        }
    }
    if seen.len() < 2 {
        return None;
    }
    let (first, base) = seen[0];
    let parts: Vec<String> = seen[1..]
        .iter()
        .map(|&(label, text)| {
            let (n, a, b) = base
                .lines()
                .chain(std::iter::repeat(""))
                .zip(text.lines().chain(std::iter::repeat("")))
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .map(|(n, (a, b))| (n + 1, a, b))
                .unwrap_or((0, "", ""));
            format!("{first} {a:?} vs {label} {b:?} (line {n})")
        })
        .collect();
    Some(parts.join("; "))
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

pub fn machine_note(have_erl: bool, lua: [&Option<String>; 2]) -> String {
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
    let lua: Vec<&str> = lua.iter().filter_map(|v| v.as_deref()).collect();
    let lua = if lua.is_empty() {
        String::new()
    } else {
        format!(", {}", lua.join(", "))
    };
    format!("{cpus} CPUs, load average (1 min) {load} at the end, OTP {otp}{lua}")
}

pub fn markdown(rows: &[Row], mode: &str, runs: usize, notes: &[String], machine: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# ttvm vs Erlang/OTP, Lua 5.4 and LuaJIT ({mode}, median of {runs} run(s))\n"
    );
    let _ = writeln!(s, "Machine: {machine}.\n");
    for n in notes {
        let _ = writeln!(s, "{n}.\n");
    }
    let mut t = Table::new(&[
        "workload",
        "S",
        "interp ms",
        "jit ms",
        "erl ms",
        "lua ms",
        "luajit ms",
        "interp/erl",
        "jit/erl",
        "jit/interp",
        "interp/lua",
        "jit/luajit",
    ]);
    for r in rows {
        t.push(vec![
            if r.startup {
                format!("{} (wall)", r.name)
            } else {
                r.name.to_string()
            },
            r.sched.to_string(),
            f(r.time(&r.interp), 1),
            f(r.time(&r.jit), 1),
            f(r.time(&r.erl), 1),
            f(r.time(&r.lua), 1),
            f(r.time(&r.luajit), 1),
            ratio_cell(r.ratio()),
            ratio_cell(r.j_ratio()),
            ratio_cell(r.speedup()),
            ratio_cell(r.lua_ratio()),
            ratio_cell(r.luajit_ratio()),
        ]);
    }
    t.render(&mut s);
    let _ = writeln!(
        s,
        "\nS = scheduler threads (ttvm `-S S`, Erlang `+S S:S`; Lua is one \
         thread and runs in each workload's first row only). interp ms / \
         jit ms = ttvm's in-VM time (`--stats`) with `--no-jit` and `--jit`; \
         erl ms = the Erlang program's own `erlang:monotonic_time` \
         measurement (BEAM start-up excluded); lua ms / luajit ms = the Lua \
         program's own `os.clock()` measurement (CPU time, see \
         benches/lua/bench.lua). Ratios divide those times (rows marked \
         (wall): the whole process, wall / wall); below 1 the first is \
         faster. `-` = not run (no program for that system, or not \
         installed)."
    );

    let mut whole = Table::new(&[
        "workload",
        "S",
        "interp wall",
        "jit wall",
        "erl wall",
        "lua wall",
        "luajit wall",
        "interp MB",
        "jit MB",
        "erl MB",
        "lua MB",
        "luajit MB",
    ]);
    for r in rows {
        let (w, m): (Vec<String>, Vec<String>) = [&r.interp, &r.jit, &r.erl, &r.lua, &r.luajit]
            .into_iter()
            .map(|st| (f(st.wall, 1), f(st.rss, 1)))
            .unzip();
        let mut cells = vec![r.name.to_string(), r.sched.to_string()];
        cells.extend(w);
        cells.extend(m);
        whole.push(cells);
    }
    let _ = writeln!(
        s,
        "\n## Whole process: wall time (ms) and peak resident set (MB, wait4)\n"
    );
    whole.render(&mut s);

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
