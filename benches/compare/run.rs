//! Running and timing one child process (ttvm or erl).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One measured child process.
pub struct Sample {
    pub wall_ms: f64,
    /// ttvm: `--stats` time; Erlang: the program's own `time_us`.
    pub inner_ms: Option<f64>,
    pub rss_kb: u64,
    /// First line of stdout (the program's result), for a cross-check.
    pub result: String,
}

#[derive(Default)]
pub struct Results {
    pub ttvm: Vec<Sample>,
    /// The same runs with `--jit`.
    pub jit: Vec<Sample>,
    pub erl: Vec<Sample>,
    pub ttvm_err: Option<String>,
    pub jit_err: Option<String>,
    pub erl_err: Option<String>,
}

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
