//! `cargo bench --bench echo_load -- [OPTIONS]`: the echo load generator
//! on its own (`load.rs`), against a server already running on a port, a
//! server command it starts, or the in-process Rust reference server.
//!
//! * `--port N` — a server listening on 127.0.0.1:N (memory is measured
//!   only with `--pid PID`, the server's process id);
//! * `--server CMD ARGS…` (the rest of the line) — start the server:
//!   `CMD ARGS… 0`, reading its `listening on PORT` line
//!   (docs/NETWORK.md, "Benchmark");
//! * `--rust` — the in-process reference server (thread per connection);
//! * `--levels 1,100,10000` (default), `--duration-ms 3000`,
//!   `--warmup-ms 500`, `--size 64` (bytes per message), `--threads 1`,
//!   `--idle 10000` (idle connections for the memory figure; 0: none).
//!
//! Every level is bounded: connecting (30 s at most), warm-up, duration.

mod load;
mod server;

use load::{idle_memory, raise_nofile, run_level, LoadOptions, RustEchoServer};
use std::net::SocketAddr;
use std::time::Duration;

fn die(msg: &str) -> ! {
    eprintln!("echo_load: {msg}");
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut opts = LoadOptions::default();
    let mut levels = vec![1usize, 100, 10_000];
    let mut idle = 10_000usize;
    let (mut port, mut pid, mut server_cmd, mut rust) = (None, None, None::<Vec<String>>, false);
    let num = |v: Option<String>, what: &str| -> u64 {
        v.and_then(|s| s.parse().ok())
            .unwrap_or_else(|| die(&format!("{what} needs a number")))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = Some(num(args.next(), "--port") as u16),
            "--pid" => pid = Some(num(args.next(), "--pid") as u32),
            "--server" => server_cmd = Some(args.by_ref().collect()),
            "--rust" => rust = true,
            "--levels" => {
                levels = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|x| {
                        x.trim()
                            .parse()
                            .unwrap_or_else(|_| die("--levels: 1,100,…"))
                    })
                    .collect()
            }
            "--duration-ms" => opts.duration = Duration::from_millis(num(args.next(), &a)),
            "--warmup-ms" => opts.warmup = Duration::from_millis(num(args.next(), &a)),
            "--size" => opts.msg_size = num(args.next(), &a).max(2) as usize,
            "--threads" => opts.threads = num(args.next(), &a).max(1) as usize,
            "--idle" => idle = num(args.next(), &a) as usize,
            "--bench" => {}
            "-h" | "--help" => {
                println!("see the doc comment of benches/echo_load/main.rs");
                return;
            }
            other => die(&format!("unknown option {other:?}")),
        }
    }
    let want = levels.iter().copied().max().unwrap_or(1).max(idle) as u64 + 64;
    let (soft, hard) = raise_nofile(want);
    println!("open files: soft limit {soft}, hard {hard}");
    let rust_server;
    let child;
    let (addr, pid): (SocketAddr, Option<u32>) = if rust {
        rust_server = RustEchoServer::start();
        (rust_server.addr, Some(std::process::id()))
    } else if let Some(cmd) = server_cmd {
        let (prog, rest) = cmd
            .split_first()
            .unwrap_or_else(|| die("--server needs a command"));
        let mut c = std::process::Command::new(prog);
        c.args(rest).arg("0");
        let log = std::env::temp_dir().join("echo_load_server.stderr");
        let f = std::fs::File::create(&log).unwrap_or_else(|e| die(&e.to_string()));
        child = server::start(c, f, Duration::from_secs(30)).unwrap_or_else(|e| die(&e));
        (child.addr, Some(child.pid()))
    } else if let Some(p) = port {
        (SocketAddr::from(([127, 0, 0, 1], p)), pid)
    } else {
        die("give --port N, --server CMD… or --rust")
    };
    println!("server {addr}");
    // Memory first, while the server is fresh (after a big level its
    // allocator keeps what it grew to).
    if let (Some(pid), true) = (pid, idle > 0) {
        if (idle as u64) + 32 > soft {
            println!("memory: skipped, {idle} connections need more open files than {soft}");
        } else {
            let m = idle_memory(addr, pid, idle, Duration::from_secs(1), &opts);
            println!(
                "memory: {} idle connections held; server RSS {} KiB -> {} KiB: {:.2} KiB per connection{}",
                m.held,
                m.before_kib,
                m.after_kib,
                m.per_conn_kib(),
                m.note.map(|n| format!(" ({n})")).unwrap_or_default()
            );
        }
    }
    println!(
        "{:>8} {:>8} {:>14} {:>10} {:>10} {:>7}",
        "conns", "opened", "round trips/s", "p50 µs", "p99 µs", "errors"
    );
    for &n in &levels {
        if (n as u64) + 32 > soft {
            println!("{n:>8}  skipped: needs {n} open files, the limit is {soft} (ulimit -n)");
            continue;
        }
        let r = run_level(addr, n, &opts);
        println!(
            "{:>8} {:>8} {:>14.0} {:>10.0} {:>10.0} {:>7}{}",
            n,
            r.opened,
            r.throughput(),
            r.p50_us,
            r.p99_us,
            r.errors + r.stalled,
            r.note.map(|n| format!("  ({n})")).unwrap_or_default()
        );
    }
}
