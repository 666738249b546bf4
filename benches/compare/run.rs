//! Running and timing one child process (ttvm, erl, lua5.4 or luajit).

use crate::workloads::Workload;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One measured child process.
pub struct Sample {
    pub wall_ms: f64,
    /// ttvm: `--stats` time; Erlang and Lua: the program's own `time_us`.
    pub inner_ms: Option<f64>,
    pub rss_kb: u64,
    /// Stdout without the `time_us` line (the program's result), for a
    /// cross-check.
    pub result: String,
}

/// The systems a case runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum System {
    Interp,
    Jit,
    Erlang,
    Lua,
    LuaJit,
}

impl System {
    pub const ALL: [System; 5] = [
        System::Interp,
        System::Jit,
        System::Erlang,
        System::Lua,
        System::LuaJit,
    ];

    pub fn label(self) -> &'static str {
        match self {
            System::Interp => "ttvm",
            System::Jit => "ttvm --jit",
            System::Erlang => "erlang",
            System::Lua => "lua5.4",
            System::LuaJit => "luajit",
        }
    }
}

/// One workload at one scheduler count: a row of the report.
pub struct Case {
    pub w: &'static Workload,
    /// The workload's name at this size.
    pub name: &'static str,
    pub sched: u32,
    /// The .ttvm program with this size's substitutions; `None` when the
    /// workload has no .ttvm program yet.
    pub program: Option<PathBuf>,
    /// Run the Lua versions in this case (the workload's first).
    pub lua: bool,
}

/// What is needed to run a case.
pub struct Env {
    /// The release `ttvm` binary.
    pub ttvm: PathBuf,
    /// The compiled Erlang modules.
    pub ebin: PathBuf,
    /// `benches/lua`.
    pub lua_dir: PathBuf,
    /// Where the children's stdout and stderr go.
    pub out: PathBuf,
    pub quick: bool,
    /// Pass `--no-pin` to ttvm.
    pub no_pin: bool,
}

/// The samples of one system on one case; after a failure, no more runs.
#[derive(Default)]
pub struct Series {
    pub samples: Vec<Sample>,
    pub err: Option<String>,
}

#[derive(Default)]
pub struct Results {
    pub interp: Series,
    pub jit: Series,
    pub erl: Series,
    pub lua: Series,
    pub luajit: Series,
}

impl Results {
    pub fn get(&self, sys: System) -> &Series {
        match sys {
            System::Interp => &self.interp,
            System::Jit => &self.jit,
            System::Erlang => &self.erl,
            System::Lua => &self.lua,
            System::LuaJit => &self.luajit,
        }
    }

    pub fn get_mut(&mut self, sys: System) -> &mut Series {
        match sys {
            System::Interp => &mut self.interp,
            System::Jit => &mut self.jit,
            System::Erlang => &mut self.erl,
            System::Lua => &mut self.lua,
            System::LuaJit => &mut self.luajit,
        }
    }
}

/// Run `case` once on `sys`.
pub fn run_once(sys: System, case: &Case, env: &Env) -> Result<Sample, String> {
    let sched = case.sched.to_string();
    let arg = if env.quick {
        case.w.arg_quick
    } else {
        case.w.arg_full
    };
    match sys {
        System::Interp | System::Jit => {
            let program = case.program.as_ref().ok_or("no .ttvm program")?;
            let mut cmd = Command::new(&env.ttvm);
            cmd.arg("--stats")
                .args(["-S", &sched])
                .args(case.w.ttvm_args);
            if env.no_pin {
                cmd.arg("--no-pin");
            }
            // Both tiers named explicitly, whichever is the default.
            cmd.arg(if sys == System::Jit {
                "--jit"
            } else {
                "--no-jit"
            });
            cmd.arg(program);
            measure(cmd, &env.out, |_, stderr| parse_stats_ms(stderr))
        }
        System::Lua | System::LuaJit => {
            let name = case.w.lua.ok_or("no Lua program")?;
            let mut cmd = Command::new(lua_command(sys));
            cmd.arg(env.lua_dir.join(format!("{name}.lua"))).arg(arg);
            measure(cmd, &env.out, |stdout, _| parse_time_us(stdout))
        }
        System::Erlang => {
            let mut cmd = Command::new("erl");
            cmd.args(["+S", &format!("{sched}:{sched}")])
                .args(case.w.erl_flags)
                .arg("-noshell")
                .arg("-pa")
                .arg(&env.ebin)
                .args(["-run", case.w.erl_module, "main", arg])
                .args(ERL_STOP);
            measure(cmd, &env.out, |stdout, _| parse_time_us(stdout))
        }
    }
}

/// The `time_us N` line an Erlang or Lua program prints, in ms.
fn parse_time_us(stdout: &str) -> Option<f64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("time_us "))
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map(|us| us / 1000.0)
}

pub fn lua_command(sys: System) -> &'static str {
    if sys == System::LuaJit {
        "luajit"
    } else {
        "lua5.4"
    }
}

/// `lua5.4 -v` / `luajit -v` works: its version line, e.g. `Lua 5.4.4`.
pub fn lua_version(sys: System) -> Option<String> {
    let o = Command::new(lua_command(sys))
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    // Lua 5.4 prints its version on stdout, LuaJIT too; take either.
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    let line = text.lines().next().unwrap_or("").trim();
    // "Lua 5.4.4  Copyright ..." / "LuaJIT 2.1.0-beta3 -- Copyright ..."
    Some(
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// How `erl` ends after the workload's `main` returns: `erlang:halt()`,
/// which flushes output and exits at once, like ttvm at the end of its
/// program. (`-s init stop`, an orderly shutdown of every application,
/// adds about a second of wall time per run, which the start-up workload
/// would count and every run would wait for.)
pub const ERL_STOP: &[&str] = &["-s", "erlang", "halt"];

pub fn have_erlang() -> bool {
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

pub fn compile_erlang(src: &Path, ebin: &Path) -> bool {
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
pub fn parse_stats_ms(stderr: &str) -> Option<f64> {
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
pub fn measure(
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
    // Erlang's `~p` quotes a string result; the other lines are as printed.
    let result = stdout
        .lines()
        .filter(|l| !l.starts_with("time_us "))
        .map(|l| l.trim_end().trim_matches('"'))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Sample {
        wall_ms,
        inner_ms,
        result,
        rss_kb: ru.ru_maxrss as u64, // kilobytes on Linux
    })
}
