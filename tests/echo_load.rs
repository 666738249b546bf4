//! The echo benchmark's load generator (`benches/echo_load/load.rs`,
//! issue 16 "Benchmark") against the in-process Rust reference echo
//! server, and against the Erlang echo server (`benches/erlang/echo.erl`)
//! when `erl` is installed: connections open, round trips counted,
//! latencies ordered, a server that does not echo counted as errors, the
//! memory figure read from /proc. Small levels and short windows: this
//! checks the harness, it measures nothing.

#[path = "../benches/echo_load/load.rs"]
mod load;
#[path = "../benches/echo_load/server.rs"]
mod server;

use load::{idle_memory, raise_nofile, rss_kib, run_level, LoadOptions, RustEchoServer};
use std::time::{Duration, Instant};

fn quick() -> LoadOptions {
    LoadOptions {
        warmup: Duration::from_millis(50),
        duration: Duration::from_millis(300),
        connect_timeout: Duration::from_secs(10),
        ..LoadOptions::default()
    }
}

#[test]
fn levels_run_against_the_rust_echo_server() {
    raise_nofile(1024);
    let s = RustEchoServer::start();
    for (n, threads) in [(1, 1), (50, 1), (50, 2)] {
        let opts = LoadOptions { threads, ..quick() };
        let t = Instant::now();
        let r = run_level(s.addr, n, &opts);
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "level {n} took {:?}",
            t.elapsed()
        );
        assert_eq!(r.opened, n, "{r:?}");
        assert_eq!((r.errors, r.stalled), (0, 0), "{r:?}");
        assert!(r.note.is_none(), "{r:?}");
        assert!(r.round_trips >= n as u64, "{r:?}");
        assert!(r.throughput() > 0.0, "{r:?}");
        assert!(r.p50_us <= r.p99_us && r.p99_us <= r.max_us, "{r:?}");
    }
}

#[test]
fn a_server_that_does_not_echo_is_counted_not_waited_for() {
    // Accepts and closes every connection at once.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().take(20) {
            drop(s);
        }
    });
    let t = Instant::now();
    let r = run_level(addr, 5, &quick());
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(r.round_trips, 0, "{r:?}");
    assert_eq!(r.errors, 5, "{r:?}");
    // Nothing listens: no connection opens, the level says why.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let r = run_level(closed, 3, &quick());
    assert_eq!(r.opened, 0, "{r:?}");
    assert!(
        r.note.as_deref().unwrap_or("").contains("only 0 of 3"),
        "{r:?}"
    );
}

#[test]
fn idle_memory_reads_the_servers_rss() {
    raise_nofile(1024);
    assert!(rss_kib(std::process::id()).is_some_and(|k| k > 0));
    let s = RustEchoServer::start();
    let m = idle_memory(
        s.addr,
        std::process::id(),
        100,
        Duration::from_millis(100),
        &quick(),
    );
    assert_eq!(m.held, 100, "{m:?}");
    assert!(m.before_kib > 0 && m.after_kib > 0, "{m:?}");
    assert!(m.per_conn_kib().is_finite(), "{m:?}");
}

/// The Erlang server of `cargo bench --bench compare`'s echo workload,
/// through the server contract (`listening on PORT`); skipped, saying so,
/// without `erl`.
#[test]
fn the_erlang_echo_server_keeps_the_contract() {
    let have = std::process::Command::new("erlc")
        .arg("-help")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !have {
        eprintln!("skipped: erlc not installed (apt-get install -y erlang-base)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("ttvm-echo-erl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let st = std::process::Command::new("erlc")
        .arg("-o")
        .arg(&dir)
        .arg(format!("{root}/benches/erlang/echo.erl"))
        .status()
        .unwrap();
    assert!(st.success());
    let mut cmd = std::process::Command::new("erl");
    cmd.args(["+S", "1:1", "-noshell", "-pa"])
        .arg(&dir)
        .args(["-run", "echo", "main", "0"]);
    let log = std::fs::File::create(dir.join("stderr")).unwrap();
    let srv = server::start(cmd, log, Duration::from_secs(30)).unwrap();
    // Memory on the fresh server (as the compare workload does it).
    let m = idle_memory(
        srv.addr,
        srv.pid(),
        500,
        Duration::from_millis(300),
        &quick(),
    );
    eprintln!("erlang: {m:?}, {:.2} KiB per connection", m.per_conn_kib());
    assert_eq!(m.held, 500, "{m:?}");
    assert!(m.after_kib > m.before_kib, "{m:?}");
    let r = run_level(srv.addr, 20, &quick());
    assert_eq!((r.opened, r.errors, r.stalled), (20, 0, 0), "{r:?}");
    assert!(r.round_trips >= 20, "{r:?}");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
