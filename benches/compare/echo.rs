//! The `echo` workload (issue 16, "Benchmark"): an echo server written in
//! .ttvm (`examples/echo_server.ttvm`, interpreter and `--jit`) and the
//! same server in Erlang (`benches/erlang/echo.erl`: gen_tcp, active
//! mode, one process per connection), each driven by the load generator
//! of `benches/echo_load/load.rs` over loopback: throughput and p50/p99
//! latency at 1, 100 and 10,000 concurrent connections, and the server's
//! memory per idle connection (RSS from /proc, 10,000 idle connections).
//!
//! The server contract (docs/NETWORK.md, "Benchmark"): the program takes
//! the port as its first argument (`0` here: any free port), prints
//! `listening on PORT` as the first line of its stdout once it accepts
//! connections on 127.0.0.1, echoes every byte back, and runs until it
//! is killed. A missing .ttvm program or a missing `erl` skips those rows
//! with a note.
//!
//! The load generator runs in this process on one thread; the server and
//! it share the machine's cores (noted in the report).

#[path = "../echo_load/load.rs"]
mod load;
#[path = "../echo_load/server.rs"]
mod server;

use load::{idle_memory, raise_nofile, run_level, LevelResult, LoadOptions, MemoryResult};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The .ttvm echo server, relative to the repository root.
pub const TTVM_SERVER: &str = "examples/echo_server.ttvm";
/// The concurrency levels.
pub const LEVELS: [usize; 3] = [1, 100, 10_000];
/// Idle connections for the memory figure.
pub const IDLE: usize = 10_000;

/// What the echo phase needs.
pub struct EchoEnv<'a> {
    pub root: &'a Path,
    pub out: &'a Path,
    pub ttvm: &'a Path,
    pub ebin: &'a Path,
    pub have_erl: bool,
    pub scheds: &'a [u32],
    pub quick: bool,
    pub no_pin: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Server {
    Ttvm,
    TtvmJit,
    Erlang,
}

impl Server {
    fn label(self) -> &'static str {
        match self {
            Server::Ttvm => "ttvm",
            Server::TtvmJit => "ttvm --jit",
            Server::Erlang => "erlang",
        }
    }
}

/// Run the echo workload; the markdown section for the report, and
/// whether something failed.
pub fn run(env: &EchoEnv<'_>) -> (String, bool) {
    let want = LEVELS.iter().copied().max().unwrap_or(1).max(IDLE) as u64 + 256;
    let (soft, hard) = raise_nofile(want);
    let opts = if env.quick {
        LoadOptions {
            warmup: Duration::from_millis(200),
            duration: Duration::from_millis(500),
            ..LoadOptions::default()
        }
    } else {
        LoadOptions::default()
    };
    let mut notes: Vec<String> = Vec::new();
    let program = env.root.join(TTVM_SERVER);
    let mut servers = Vec::new();
    if program.exists() {
        servers.extend([Server::Ttvm, Server::TtvmJit]);
    } else {
        notes.push(format!(
            "{TTVM_SERVER} does not exist yet: the ttvm rows are skipped"
        ));
    }
    if env.have_erl {
        servers.push(Server::Erlang);
    } else {
        notes.push("Erlang/OTP not found or skipped: the erlang rows are skipped".into());
    }
    notes.push(format!(
        "open files: soft limit {soft}, hard {hard} (raised for this run; a level needing more is skipped)"
    ));
    notes.push(format!(
        "load: one client thread, closed loop per connection, {}-byte messages, {} ms warm-up, {} ms measured; client and server share the machine's cores",
        opts.msg_size,
        opts.warmup.as_millis(),
        opts.duration.as_millis()
    ));
    let mut levels_md = String::new();
    let mut memory_md = String::new();
    let mut failed = false;
    for &sched in env.scheds {
        for &s in &servers {
            let label = format!("{} -S{sched}", s.label());
            eprintln!("compare: echo {label}");
            let log = env.out.join(format!(
                "echo_{}_{sched}.stderr",
                s.label().replace([' ', '-'], "")
            ));
            let srv = match std::fs::File::create(&log)
                .map_err(|e| format!("{}: {e}", log.display()))
                .and_then(|f| {
                    server::start(command(env, s, sched, &program), f, Duration::from_secs(30))
                }) {
                Ok(srv) => srv,
                Err(e) => {
                    eprintln!("  {label} FAILED: {e}");
                    let _ = writeln!(
                        levels_md,
                        "| {label} | — | failed to start: {} | | | | | |",
                        cell(&e)
                    );
                    failed = true;
                    continue;
                }
            };
            // Memory first, on the fresh server: after the 10,000-connection
            // level its allocator keeps what it grew to, and holding idle
            // connections would cost it nothing new.
            if IDLE as u64 + 64 > soft {
                let _ = writeln!(memory_md, "| {label} | skipped: {IDLE} connections need more open files than {soft} | | | |");
            } else {
                let m = idle_memory(srv.addr, srv.pid(), IDLE, Duration::from_secs(1), &opts);
                eprintln!(
                    "  {label:<16} {} idle: {:.2} KiB per connection",
                    m.held,
                    m.per_conn_kib()
                );
                failed |= m.held < IDLE;
                memory_md.push_str(&memory_row(&label, &m));
                // Let the server finish with the closed connections.
                std::thread::sleep(Duration::from_secs(1));
            }
            for &n in &LEVELS {
                if n as u64 + 64 > soft {
                    let _ = writeln!(
                        levels_md,
                        "| {label} | {n} | skipped: needs {n} open files, the limit is {soft} | | | | | |"
                    );
                    continue;
                }
                let r = run_level(srv.addr, n, &opts);
                eprintln!(
                    "  {label:<16} {n:>6} conns: {:>9.0} round trips/s, p50 {:.0} µs, p99 {:.0} µs, {} errors",
                    r.throughput(),
                    r.p50_us,
                    r.p99_us,
                    r.errors + r.stalled
                );
                failed |= r.errors + r.stalled > 0 || r.opened < n;
                levels_md.push_str(&level_row(&label, &r));
            }
            // Still alive after all that?
            let mut srv = srv;
            if let Ok(Some(status)) = srv.child.try_wait() {
                notes.push(format!(
                    "{label}: the server exited during the run ({status}); see {}",
                    log.display()
                ));
                failed = true;
            }
        }
    }
    let mut md = String::from("\n## Echo server (issue 16)\n\n");
    for n in &notes {
        let _ = writeln!(md, "- {n}");
    }
    if !levels_md.is_empty() {
        md.push_str("\n| server | conns | opened | round trips/s | p50 µs | p99 µs | max µs | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        md.push_str(&levels_md);
    }
    if !memory_md.is_empty() {
        md.push_str("\nMemory per idle connection (server RSS from /proc, before and while holding the connections):\n\n| server | idle connections | RSS before (KiB) | RSS held (KiB) | KiB per connection |\n|---|---:|---:|---:|---:|\n");
        md.push_str(&memory_md);
    }
    (md, failed)
}

fn command(env: &EchoEnv<'_>, s: Server, sched: u32, program: &Path) -> Command {
    match s {
        Server::Ttvm | Server::TtvmJit => {
            let mut c = Command::new(env.ttvm);
            c.args(["-S", &sched.to_string()]);
            if env.no_pin {
                c.arg("--no-pin");
            }
            c.arg(if s == Server::TtvmJit {
                "--jit"
            } else {
                "--no-jit"
            });
            c.arg(program).args(["--", "0"]);
            c
        }
        Server::Erlang => {
            let mut c = Command::new("erl");
            c.args(["+S", &format!("{sched}:{sched}")])
                .args(["+P", "1000000", "-noshell", "-pa"])
                .arg(env.ebin)
                .args(["-run", "echo", "main", "0"]);
            c
        }
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn level_row(label: &str, r: &LevelResult) -> String {
    let mut errors = (r.errors + r.stalled).to_string();
    if let Some(n) = &r.note {
        errors.push_str(&format!(" ({})", cell(n)));
    }
    format!(
        "| {label} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {errors} |\n",
        r.conns,
        r.opened,
        r.throughput(),
        r.p50_us,
        r.p99_us,
        r.max_us
    )
}

fn memory_row(label: &str, m: &MemoryResult) -> String {
    let mut held = m.held.to_string();
    if let Some(n) = &m.note {
        held.push_str(&format!(" ({})", cell(n)));
    }
    format!(
        "| {label} | {held} | {} | {} | {:.2} |\n",
        m.before_kib,
        m.after_kib,
        m.per_conn_kib()
    )
}
