//! The `dist` workload (issue 17, "Benchmark"): two nodes on loopback,
//! ping-pong round trips and one-way streaming between them, for two ttvm
//! nodes (both interpreted, `--no-jit`, and both `--jit`) and for two
//! Erlang nodes (`erl -sname`), side by side.
//!
//! The programs: `benches/compare/ttvm/dist_server.ttvm` and
//! `dist_client.ttvm` on ttvm, `benches/erlang/distbench.erl` on Erlang,
//! with the same protocol (their comments). The client node says hello to
//! the process registered as `distbench` on the server node (the
//! connection is made then, untimed), does warm-up round trips and then
//! timed ones (it sends its PID, the server answers 1), then sends the
//! Ints 1..N one way and waits for the server's sum of them (the final
//! ack): the time from the first send to the ack gives messages/s. Each
//! client times its own work and prints `ping_us` and `stream_us`; the
//! harness checks the sum.
//!
//! Set-up, all bounded: an `epmd` of this run's own on a free port
//! (`ERL_EPMD_PORT` for every node, so nothing clashes with another EPMD
//! or with the tests), node names unique to this harness process and
//! trial (`cmpd<pid>s<k>@HOST`), an explicit cookie. The server node is
//! started first and must print `ready` (it is registered with EPMD by
//! then) within [`READY`]; the client must end within a limit, then the
//! server (which ends once it has sent the ack); anything still running
//! is killed. No `epmd` skips every row, no `erl` the Erlang rows, each
//! with a note.
//!
//! Each run goes through the scheduler counts and, within each, the
//! systems in alternating order (forward on even runs, backward on odd
//! ones), so a noisy neighbour spreads over all of them; the report gives
//! medians, and every run's figures.

use crate::report::median;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The ttvm programs, relative to the repository root.
pub const TTVM_SERVER: &str = "benches/compare/ttvm/dist_server.ttvm";
pub const TTVM_CLIENT: &str = "benches/compare/ttvm/dist_client.ttvm";
/// How long a server node may take to say `ready`.
const READY: Duration = Duration::from_secs(30);
/// How long a server node may take to end after its client did.
const SERVER_END: Duration = Duration::from_secs(15);
const COOKIE: &str = "ttvm_compare_dist";

/// The sizes of a trial.
#[derive(Clone, Copy)]
pub struct Sizes {
    /// Untimed round trips first (they also get `--jit` past its
    /// threshold).
    pub warm: u64,
    /// Timed round trips.
    pub pings: u64,
    /// Streamed messages.
    pub stream: u64,
}

pub const FULL: Sizes = Sizes {
    warm: 2_000,
    pings: 50_000,
    stream: 1_000_000,
};
pub const QUICK: Sizes = Sizes {
    warm: 500,
    pings: 5_000,
    stream: 100_000,
};

/// What the dist phase needs.
pub struct DistEnv<'a> {
    pub root: &'a Path,
    pub out: &'a Path,
    pub ttvm: &'a Path,
    pub ebin: &'a Path,
    pub have_erl: bool,
    pub scheds: &'a [u32],
    pub quick: bool,
    pub no_pin: bool,
    pub runs: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum System {
    Ttvm,
    TtvmJit,
    Erlang,
}

impl System {
    fn label(self) -> &'static str {
        match self {
            System::Ttvm => "ttvm",
            System::TtvmJit => "ttvm --jit",
            System::Erlang => "erlang",
        }
    }
}

/// One trial's figures.
struct Trial {
    ping_us: f64,
    stream_us: f64,
    /// User + system CPU of both nodes' whole runs (start-up included).
    cpu_s: f64,
}

#[derive(Default)]
struct Series {
    trials: Vec<Trial>,
    err: Option<String>,
}

/// Run the dist workload; the markdown section for the report, and
/// whether something failed.
pub fn run(env: &DistEnv<'_>) -> (String, bool) {
    let sizes = if env.quick { QUICK } else { FULL };
    let mut notes: Vec<String> = Vec::new();
    let mut systems = Vec::new();
    let have_programs = [TTVM_SERVER, TTVM_CLIENT]
        .iter()
        .all(|p| env.root.join(p).exists());
    if have_programs {
        systems.extend([System::Ttvm, System::TtvmJit]);
    } else {
        notes.push(format!(
            "{TTVM_SERVER} or {TTVM_CLIENT} is missing: the ttvm rows are skipped"
        ));
    }
    if env.have_erl {
        systems.push(System::Erlang);
    } else {
        notes.push("Erlang/OTP not found or skipped: the erlang rows are skipped".into());
    }
    let mut md = String::from("\n## Distribution between two nodes (issue 17)\n\n");
    let epmd = match Epmd::start() {
        Ok(e) => e,
        Err(e) => {
            let msg = format!("skipped: {e} (apt-get install -y erlang-base gives `epmd`)");
            println!("note: distribution benchmark {msg}");
            let _ = writeln!(md, "- {msg}");
            return (md, false);
        }
    };
    let host = short_host();
    notes.push(format!(
        "per trial: {} warm-up + {} timed round trips (the client sends its PID, the server answers 1), then {} Ints streamed one way with the server's sum as the final ack; an own `epmd` on port {}, node names cmpd{}s*/c*@{host}; both nodes on this machine, sharing its cores",
        sizes.warm, sizes.pings, sizes.stream, epmd.port, std::process::id()
    ));
    notes.push(
        "ttvm rows: both nodes run with the same flags (`--no-jit`, or `--jit`); the clock of a .ttvm program (NOW_MS) counts milliseconds, so the round-trip time is the mean over the timed round trips (no percentiles)".into(),
    );
    let mut results: Vec<Vec<Series>> = env
        .scheds
        .iter()
        .map(|_| systems.iter().map(|_| Series::default()).collect())
        .collect();
    let mut trial_no = 0u32;
    for run in 0..env.runs {
        for (si, &sched) in env.scheds.iter().enumerate() {
            let mut order: Vec<usize> = (0..systems.len()).collect();
            if run % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let s = systems[i];
                let series = &mut results[si][i];
                if series.err.is_some() {
                    continue;
                }
                trial_no += 1;
                let label = format!("{} -S{sched}", s.label());
                match trial(env, &epmd, &host, s, sched, sizes, trial_no) {
                    Ok(t) => {
                        eprintln!(
                            "  run {} dist {label:<14} round trip {:>7.1} µs  stream {:>9.0} msgs/s  cpu {:.2} s",
                            run + 1,
                            t.ping_us / sizes.pings as f64,
                            sizes.stream as f64 / (t.stream_us / 1e6),
                            t.cpu_s
                        );
                        series.trials.push(t);
                    }
                    Err(e) => {
                        eprintln!("  dist {label} FAILED: {e}");
                        series.err = Some(e);
                    }
                }
            }
        }
    }
    let mut failed = false;
    for n in &notes {
        let _ = writeln!(md, "- {n}");
    }
    md.push_str("\n| system | -S | round trip µs (mean) | round trips/s | stream msgs/s | RTT vs Erlang | msgs/s vs Erlang | CPU s, both nodes | runs: round trip µs; msgs/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (si, &sched) in env.scheds.iter().enumerate() {
        let erl = systems
            .iter()
            .position(|&s| s == System::Erlang)
            .map(|i| &results[si][i])
            .and_then(|s| figures(s, sizes));
        for (i, &s) in systems.iter().enumerate() {
            let series = &results[si][i];
            let label = s.label();
            if let Some(e) = &series.err {
                failed = true;
                let _ = writeln!(
                    md,
                    "| {label} | {sched} | failed: {} | | | | | | |",
                    cell(e)
                );
                continue;
            }
            let Some((rtt, tput, cpu)) = figures(series, sizes) else {
                continue;
            };
            let (vs_rtt, vs_tput) = match erl {
                Some((e_rtt, e_tput, _)) if s != System::Erlang => (
                    format!("{:.2}", rtt / e_rtt),
                    format!("{:.2}", tput / e_tput),
                ),
                _ => ("".into(), "".into()),
            };
            let all: Vec<String> = series
                .trials
                .iter()
                .map(|t| {
                    format!(
                        "{:.1}; {:.0}",
                        t.ping_us / sizes.pings as f64,
                        sizes.stream as f64 / (t.stream_us / 1e6)
                    )
                })
                .collect();
            let _ = writeln!(
                md,
                "| {label} | {sched} | {rtt:.1} | {:.0} | {tput:.0} | {vs_rtt} | {vs_tput} | {cpu:.2} | {} |",
                1e6 / rtt,
                all.join(" / ")
            );
        }
    }
    md.push_str("\n(RTT vs Erlang: ttvm's round-trip time / Erlang's, lower is better; msgs/s vs Erlang: ttvm's streaming throughput / Erlang's, higher is better. Medians over the runs.)\n");
    (md, failed)
}

/// Median round-trip µs, median messages/s and median CPU s of a series.
fn figures(s: &Series, sizes: Sizes) -> Option<(f64, f64, f64)> {
    let rtt = median(
        s.trials
            .iter()
            .map(|t| t.ping_us / sizes.pings as f64)
            .collect(),
    )?;
    let tput = median(
        s.trials
            .iter()
            .map(|t| sizes.stream as f64 / (t.stream_us / 1e6))
            .collect(),
    )?;
    let cpu = median(s.trials.iter().map(|t| t.cpu_s).collect())?;
    Some((rtt, tput, cpu))
}

/// One trial: a server node, then a client node, both ended (or killed)
/// on return.
fn trial(
    env: &DistEnv<'_>,
    epmd: &Epmd,
    host: &str,
    s: System,
    sched: u32,
    sizes: Sizes,
    k: u32,
) -> Result<Trial, String> {
    let id = std::process::id();
    let (sname, cname) = (format!("cmpd{id}s{k}"), format!("cmpd{id}c{k}"));
    let server_node = format!("{sname}@{host}");
    let tag = s.label().replace([' ', '-'], "");
    let log = |role: &str, what: &str| env.out.join(format!("dist_{tag}_{sched}_{role}.{what}"));
    let sizes_args = [
        server_node.clone(),
        sizes.warm.to_string(),
        sizes.pings.to_string(),
        sizes.stream.to_string(),
    ];
    let (mut server_cmd, mut client_cmd) = match s {
        System::Ttvm | System::TtvmJit => {
            let node = |name: &str, program: &str| {
                let mut c = Command::new(env.ttvm);
                c.args(["-S", &sched.to_string()]);
                if env.no_pin {
                    c.arg("--no-pin");
                }
                c.arg(if s == System::TtvmJit {
                    "--jit"
                } else {
                    "--no-jit"
                });
                c.args(["--sname", name, "--cookie", COOKIE])
                    .arg(env.root.join(program));
                c
            };
            let server = node(&sname, TTVM_SERVER);
            let mut client = node(&cname, TTVM_CLIENT);
            client.arg("--").args(&sizes_args);
            (server, client)
        }
        System::Erlang => {
            let node = |name: &str| {
                let mut c = Command::new("erl");
                c.args(["+S", &format!("{sched}:{sched}")])
                    .args(["-sname", name, "-setcookie", COOKIE, "-noshell", "-pa"])
                    .arg(env.ebin);
                c
            };
            let mut server = node(&sname);
            server.args(["-run", "distbench", "server"]);
            let mut client = node(&cname);
            client
                .args(["-run", "distbench", "client"])
                .args(&sizes_args)
                .args(crate::run::ERL_STOP);
            (server, client)
        }
    };
    for c in [&mut server_cmd, &mut client_cmd] {
        c.env("ERL_EPMD_PORT", epmd.port.to_string())
            .stdin(Stdio::null());
    }
    // The server, until it says `ready`.
    let server_err = log("server", "stderr");
    server_cmd.stdout(Stdio::piped()).stderr(file(&server_err)?);
    let mut server = Node::spawn(server_cmd, "the server node")?;
    let lines = server.lines();
    let deadline = Instant::now() + READY;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(l) if l.trim() == "ready" => break,
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(format!(
                    "the server node ended before it was ready: {}",
                    tail(&server_err)
                ))
            }
            Err(mpsc::RecvTimeoutError::Timeout) if left.is_zero() => {
                return Err(format!(
                    "the server node was not ready within {} s: {}",
                    READY.as_secs(),
                    tail(&server_err)
                ))
            }
            Err(_) => {}
        }
    }
    // The client, to its end.
    let (client_out, client_err) = (log("client", "stdout"), log("client", "stderr"));
    client_cmd
        .stdout(file(&client_out)?)
        .stderr(file(&client_err)?);
    let limit = client_limit(sizes);
    let mut client = Node::spawn(client_cmd, "the client node")?;
    let (status, client_cpu) = client.wait(limit).ok_or_else(|| {
        format!(
            "the client node did not end within {} s (killed): {}",
            limit.as_secs(),
            tail(&client_err)
        )
    })?;
    if status != 0 {
        return Err(format!(
            "the client node exited with status {status}: {}",
            tail(&client_err)
        ));
    }
    let (status, server_cpu) = server.wait(SERVER_END).ok_or_else(|| {
        format!(
            "the server node did not end within {} s after the client (killed): {}",
            SERVER_END.as_secs(),
            tail(&server_err)
        )
    })?;
    if status != 0 {
        return Err(format!(
            "the server node exited with status {status}: {}",
            tail(&server_err)
        ));
    }
    let out = std::fs::read_to_string(&client_out).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_matches('"').parse::<f64>().ok())
            .ok_or_else(|| format!("the client printed no `{name}` line: {out:?}"))
    };
    let ping_us = field("ping_us ")?;
    let stream_us = field("stream_us ")?;
    let sum = out
        .lines()
        .find_map(|l| l.strip_prefix("sum "))
        .map(|v| v.trim().to_string());
    let want = (sizes.stream * (sizes.stream + 1) / 2).to_string();
    if sum.as_deref() != Some(want.as_str()) {
        return Err(format!(
            "the stream's sum is {sum:?}, not {want}: messages were lost"
        ));
    }
    Ok(Trial {
        // A zero (a ttvm clock tick not reached) counts as one tick.
        ping_us: ping_us.max(1.0),
        stream_us: stream_us.max(1.0),
        cpu_s: client_cpu + server_cpu,
    })
}

/// A generous bound on a client's run: a second per 2,000 round trips
/// and per 20,000 messages (10 and 50 times slower than Erlang on a
/// quiet machine), plus start-up.
fn client_limit(s: Sizes) -> Duration {
    Duration::from_secs(30 + (s.warm + s.pings) / 2_000 + s.stream / 20_000)
}

fn file(p: &Path) -> Result<File, String> {
    File::create(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// The last lines of a log, for an error message.
fn tail(p: &PathBuf) -> String {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(4).collect();
    if lines.is_empty() {
        format!("(nothing on stderr, {})", p.display())
    } else {
        format!(
            "{} ({})",
            lines.into_iter().rev().collect::<Vec<_>>().join(" | "),
            p.display()
        )
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A node's process; killed and reaped when dropped unless it ended.
struct Node {
    child: Child,
    reaped: bool,
}

impl Node {
    fn spawn(mut cmd: Command, what: &str) -> Result<Node, String> {
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {what} ({:?}): {e}", cmd.get_program()))?;
        Ok(Node {
            child,
            reaped: false,
        })
    }

    /// Its stdout's lines, read on a thread (which also keeps the pipe
    /// drained).
    fn lines(&mut self) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel();
        if let Some(out) = self.child.stdout.take() {
            std::thread::spawn(move || {
                for l in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(l);
                }
            });
        }
        rx
    }

    /// Wait up to `limit` for it to end: its exit status (-1 when killed
    /// by a signal) and its CPU time (user + system, s); `None` when it
    /// did not end in time (it is killed then).
    fn wait(&mut self, limit: Duration) -> Option<(i32, f64)> {
        let deadline = Instant::now() + limit;
        let pid = self.child.id() as libc::pid_t;
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: rusage is plain data; wait4 fills it in.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: pid is our own child, not yet reaped; the pointers
            // are valid for the call.
            let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
            if r == pid {
                self.reaped = true;
                let code = if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    -1
                };
                let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
                return Some((code, secs(ru.ru_utime) + secs(ru.ru_stime)));
            }
            if r == -1 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                self.reaped = true; // not ours to wait for any more
                return Some((-1, 0.0));
            }
            if Instant::now() >= deadline {
                return None; // Drop kills it
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// This run's own `epmd`, on a free port; killed when dropped.
struct Epmd {
    child: Child,
    port: u16,
}

impl Epmd {
    fn start() -> Result<Epmd, String> {
        // A free port can be taken between the look and epmd's bind: try
        // a few.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port: {e}"))?
                .port();
            let mut child = Command::new("epmd")
                .args(["-port", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start `epmd` ({e})"))?;
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(Epmd { child, port });
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // it could not bind: another port
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        Err("`epmd` did not start on a free port".into())
    }
}

impl Drop for Epmd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This machine's short host name, as `erl -sname` (and `ttvm --sname`)
/// use it.
fn short_host() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    h.trim()
        .split('.')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("localhost")
        .to_string()
}
