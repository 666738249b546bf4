//! The echo load generator (issue 16, "Benchmark"): drives an echo server
//! on 127.0.0.1 with N concurrent connections, each a closed loop (send a
//! message, wait until all of it came back, send the next), and measures
//! throughput (round trips per second) and latency (p50, p99); and the
//! server's memory per idle connection (its RSS from /proc before and
//! after holding N idle connections).
//!
//! Shared by `cargo bench --bench echo_load` (a standalone run against a
//! port) and `cargo bench --bench compare` (the `echo` workload), and
//! tested by `tests/echo_load.rs` against [`RustEchoServer`].
//!
//! The contract with the server (docs/NETWORK.md, "Benchmark"): it echoes
//! every byte it receives on a connection, in order. Messages end with a
//! newline and hold no other, so a line-framed server works too.
//!
//! Everything is bounded: connecting has a deadline, each level runs for
//! its warm-up plus its duration, and a connection that stops answering
//! is counted at the end, never waited for.

#![allow(dead_code)]

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// How a level runs.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Bytes per message, the newline included (≥ 2).
    pub msg_size: usize,
    /// Time every connection runs before measuring starts.
    pub warmup: Duration,
    /// Time measured.
    pub duration: Duration,
    /// The most time opening all the connections may take.
    pub connect_timeout: Duration,
    /// Client threads (each its own poll loop).
    pub threads: usize,
    /// Connections being opened at once (not yet accepted).
    pub connect_burst: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            msg_size: 64,
            warmup: Duration::from_millis(500),
            duration: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(30),
            threads: 1,
            connect_burst: 256,
        }
    }
}

/// What one level measured.
#[derive(Clone, Debug, Default)]
pub struct LevelResult {
    /// Connections asked for.
    pub conns: usize,
    /// Connections that were opened.
    pub opened: usize,
    /// Round trips completed in the measured window.
    pub round_trips: u64,
    /// The measured window, in seconds.
    pub secs: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Connections that failed while running (reset, closed, wrong bytes).
    pub errors: u64,
    /// Connections that had no answer outstanding at the end for longer
    /// than the whole window (a server that stopped answering some).
    pub stalled: u64,
    /// Why not every connection was opened, if so.
    pub note: Option<String>,
}

impl LevelResult {
    pub fn throughput(&self) -> f64 {
        if self.secs > 0.0 {
            self.round_trips as f64 / self.secs
        } else {
            0.0
        }
    }
}

/// Raise this process's soft limit of open files towards `want` (up to
/// the hard limit); the limit in force after, and the hard limit. Child
/// processes started later (the server) inherit it.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not everywhere
pub fn raise_nofile(want: u64) -> (u64, u64) {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return (0, 0);
        }
        if r.rlim_cur < want as libc::rlim_t {
            let target = (want as libc::rlim_t).min(r.rlim_max);
            let new = libc::rlimit {
                rlim_cur: target,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &new) == 0 {
                r.rlim_cur = target;
            }
        }
        (r.rlim_cur as u64, r.rlim_max as u64)
    }
}

/// Files this process may still open (the soft limit less those open).
pub fn free_fds() -> u64 {
    let (soft, _) = raise_nofile(0);
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    soft.saturating_sub(open)
}

/// The resident set of process `pid` in KiB (`VmRSS` of /proc/PID/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The message: `msg_size - 1` letters and a newline.
fn message(size: usize) -> Vec<u8> {
    let mut m: Vec<u8> = (0..size.max(2) - 1)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    m.push(b'\n');
    m
}

#[derive(PartialEq)]
enum State {
    Connecting,
    /// Writing the message; bytes written so far.
    Sending(usize),
    /// Waiting for the echo; bytes received so far.
    Receiving(usize),
    /// Open, not in a round trip (before the first, after the last).
    Idle,
    Dead,
}

struct Conn {
    stream: TcpStream,
    state: State,
    /// When the current message's first byte was written.
    sent_at: Instant,
}

/// What one client thread reports.
#[derive(Default)]
struct Part {
    opened: usize,
    round_trips: u64,
    lat_us: Vec<u32>,
    errors: u64,
    stalled: u64,
    note: Option<String>,
}

/// Open `n` connections to `addr` on `poll`, at most `burst` pending at
/// once, within `deadline`.
fn open_conns(
    poll: &mut Poll,
    addr: SocketAddr,
    n: usize,
    burst: usize,
    deadline: Instant,
    part: &mut Part,
) -> Vec<Conn> {
    let mut conns: Vec<Conn> = Vec::with_capacity(n);
    let mut events = Events::with_capacity(1024);
    let mut pending = 0usize;
    let mut connected = 0usize;
    let mut failed: Option<String> = None;
    while connected < n {
        while failed.is_none() && conns.len() < n && pending < burst {
            match TcpStream::connect(addr) {
                Ok(mut s) => {
                    let t = Token(conns.len());
                    if let Err(e) =
                        poll.registry()
                            .register(&mut s, t, Interest::READABLE | Interest::WRITABLE)
                    {
                        failed = Some(format!("register: {e}"));
                        break;
                    }
                    conns.push(Conn {
                        stream: s,
                        state: State::Connecting,
                        sent_at: Instant::now(),
                    });
                    pending += 1;
                }
                Err(e) => {
                    failed = Some(format!("connect: {e}"));
                }
            }
        }
        if pending == 0 {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            failed.get_or_insert_with(|| "connecting took longer than the deadline".into());
            break;
        }
        if let Err(e) = poll.poll(
            &mut events,
            Some((deadline - now).min(Duration::from_millis(100))),
        ) {
            failed = Some(format!("poll: {e}"));
            break;
        }
        for ev in events.iter() {
            let c = &mut conns[ev.token().0];
            if c.state != State::Connecting || !(ev.is_writable() || ev.is_error()) {
                continue;
            }
            pending -= 1;
            match (c.stream.take_error(), c.stream.peer_addr()) {
                (Ok(None), Ok(_)) => {
                    c.state = State::Idle;
                    connected += 1;
                }
                (Ok(Some(e)) | Err(e), _) | (_, Err(e)) => {
                    c.state = State::Dead;
                    failed.get_or_insert_with(|| format!("connect: {e}"));
                }
            }
        }
    }
    // Connections still connecting at the deadline: dropped.
    for c in conns.iter_mut() {
        if c.state == State::Connecting {
            c.state = State::Dead;
            let _ = poll.registry().deregister(&mut c.stream);
        }
    }
    part.opened = connected;
    if connected < n {
        part.note = Some(format!(
            "only {connected} of {n} connections opened ({})",
            failed.unwrap_or_else(|| "unknown reason".into())
        ));
    }
    conns
}

/// Write what is left of the message; `true` when all of it went.
fn send(c: &mut Conn, msg: &[u8]) -> std::io::Result<bool> {
    let State::Sending(mut off) = c.state else {
        return Ok(true);
    };
    while off < msg.len() {
        match c.stream.write(&msg[off..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(k) => off += k,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                c.state = State::Sending(off);
                return Ok(false);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    c.state = State::Receiving(0);
    Ok(true)
}

/// One thread: open `n` connections, wait at `barrier`, then run their
/// closed loops from the common start for `warmup + duration`.
fn client_thread(
    addr: SocketAddr,
    n: usize,
    opts: &LoadOptions,
    barrier: &Barrier,
    start_at: &std::sync::Mutex<Option<Instant>>,
) -> Part {
    let mut part = Part::default();
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            part.note = Some(format!("poll: {e}"));
            barrier.wait();
            return part;
        }
    };
    let deadline = Instant::now() + opts.connect_timeout;
    let mut conns = open_conns(&mut poll, addr, n, opts.connect_burst, deadline, &mut part);
    // Every thread has opened its connections: the clock starts.
    if barrier.wait().is_leader() {
        *start_at.lock().unwrap() = Some(Instant::now());
    }
    barrier.wait();
    let start = start_at.lock().unwrap().expect("set by the leader");
    let measure_from = start + opts.warmup;
    let end = measure_from + opts.duration;
    let msg = message(opts.msg_size);
    let mut buf = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(4096);
    // Every open connection sends its first message.
    for c in conns.iter_mut().filter(|c| c.state == State::Idle) {
        c.state = State::Sending(0);
        c.sent_at = Instant::now();
        if send(c, &msg).is_err() {
            c.state = State::Dead;
            part.errors += 1;
        }
    }
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if poll
            .poll(
                &mut events,
                Some((end - now).min(Duration::from_millis(50))),
            )
            .is_err()
        {
            break;
        }
        for ev in events.iter() {
            let c = &mut conns[ev.token().0];
            if matches!(c.state, State::Dead | State::Connecting) {
                continue;
            }
            if ev.is_writable() && matches!(c.state, State::Sending(_)) && send(c, &msg).is_err() {
                c.state = State::Dead;
                part.errors += 1;
                continue;
            }
            if !(ev.is_readable() || ev.is_read_closed() || ev.is_error()) {
                continue;
            }
            // Read everything there is (edge-triggered).
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => {
                        c.state = State::Dead;
                        part.errors += 1;
                        break;
                    }
                    Ok(k) => {
                        let State::Receiving(got) = c.state else {
                            // Bytes nobody asked for: a broken echo.
                            c.state = State::Dead;
                            part.errors += 1;
                            break;
                        };
                        let got = got + k;
                        if got > msg.len() {
                            c.state = State::Dead;
                            part.errors += 1;
                            break;
                        }
                        if got < msg.len() {
                            c.state = State::Receiving(got);
                            continue;
                        }
                        let done = Instant::now();
                        if done >= measure_from && done < end {
                            part.round_trips += 1;
                            let us = done.duration_since(c.sent_at).as_micros();
                            part.lat_us.push(us.min(u32::MAX as u128) as u32);
                        }
                        if done >= end {
                            c.state = State::Idle;
                            continue;
                        }
                        c.state = State::Sending(0);
                        c.sent_at = done;
                        if send(c, &msg).is_err() {
                            c.state = State::Dead;
                            part.errors += 1;
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        c.state = State::Dead;
                        part.errors += 1;
                        break;
                    }
                }
            }
        }
    }
    // Answers still outstanding after the whole window: stalled.
    let window = opts.warmup + opts.duration;
    let now = Instant::now();
    part.stalled = conns
        .iter()
        .filter(|c| {
            matches!(c.state, State::Sending(_) | State::Receiving(_))
                && now.duration_since(c.sent_at) >= window
        })
        .count() as u64;
    part
}

/// Run `opts.threads` client threads over `conns` connections.
fn run_threads(addr: SocketAddr, conns: usize, opts: &LoadOptions) -> Vec<Part> {
    let threads = opts.threads.clamp(1, conns.max(1));
    let barrier = Arc::new(Barrier::new(threads));
    let start_at = Arc::new(std::sync::Mutex::new(None));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let n = conns / threads + usize::from(i < conns % threads);
            let (opts, barrier, start_at) = (opts.clone(), barrier.clone(), start_at.clone());
            std::thread::spawn(move || client_thread(addr, n, &opts, &barrier, &start_at))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or_default())
        .collect()
}

/// The `q` quantile (0..=1) of sorted samples.
fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64
}

/// One level: `conns` connections in closed loops against `addr`.
pub fn run_level(addr: SocketAddr, conns: usize, opts: &LoadOptions) -> LevelResult {
    let parts = run_threads(addr, conns, opts);
    let mut r = LevelResult {
        conns,
        secs: opts.duration.as_secs_f64(),
        ..LevelResult::default()
    };
    let mut lat: Vec<u32> = Vec::new();
    for p in parts {
        r.opened += p.opened;
        r.round_trips += p.round_trips;
        r.errors += p.errors;
        r.stalled += p.stalled;
        lat.extend(p.lat_us);
        if r.note.is_none() {
            r.note = p.note;
        }
    }
    lat.sort_unstable();
    r.p50_us = quantile(&lat, 0.50);
    r.p99_us = quantile(&lat, 0.99);
    r.max_us = lat.last().map_or(f64::NAN, |&m| m as f64);
    r
}

/// What holding idle connections cost the server.
#[derive(Clone, Debug, Default)]
pub struct MemoryResult {
    /// Idle connections held when the server's RSS was read.
    pub held: usize,
    pub before_kib: u64,
    pub after_kib: u64,
    pub note: Option<String>,
}

impl MemoryResult {
    /// KiB of server RSS per idle connection.
    pub fn per_conn_kib(&self) -> f64 {
        if self.held == 0 {
            return f64::NAN;
        }
        (self.after_kib as f64 - self.before_kib as f64) / self.held as f64
    }
}

/// Open `n` connections to the server (process `pid`) at `addr`, make one
/// round trip on each (so the server has accepted it and whatever serves
/// it is running), let them sit for `settle`, and read the server's RSS
/// while they are held; "before" is the RSS after a warm-up round trip on
/// a connection that was then closed.
pub fn idle_memory(
    addr: SocketAddr,
    pid: u32,
    n: usize,
    settle: Duration,
    opts: &LoadOptions,
) -> MemoryResult {
    let warm = LoadOptions {
        warmup: Duration::ZERO,
        duration: Duration::from_millis(100),
        ..opts.clone()
    };
    let _ = run_level(addr, 1, &warm);
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib(pid).unwrap_or(0);
    let mut part = Part::default();
    let mut r = MemoryResult {
        before_kib: before,
        ..MemoryResult::default()
    };
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            r.note = Some(format!("poll: {e}"));
            return r;
        }
    };
    let deadline = Instant::now() + opts.connect_timeout;
    let mut conns = open_conns(&mut poll, addr, n, opts.connect_burst, deadline, &mut part);
    let msg = message(opts.msg_size);
    let mut waiting = 0usize;
    for c in conns.iter_mut().filter(|c| c.state == State::Idle) {
        c.state = State::Sending(0);
        match send(c, &msg) {
            Ok(_) => waiting += 1,
            Err(_) => c.state = State::Dead,
        }
    }
    // Every echo back, within the connect deadline.
    let mut events = Events::with_capacity(4096);
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + opts.connect_timeout;
    while waiting > 0 && Instant::now() < deadline {
        if poll
            .poll(&mut events, Some(Duration::from_millis(100)))
            .is_err()
        {
            break;
        }
        for ev in events.iter() {
            let c = &mut conns[ev.token().0];
            if ev.is_writable() && matches!(c.state, State::Sending(_)) && send(c, &msg).is_err() {
                c.state = State::Dead;
                waiting -= 1;
                continue;
            }
            while let State::Receiving(got) = c.state {
                match c.stream.read(&mut buf) {
                    Ok(0) => c.state = State::Dead,
                    Ok(k) if got + k >= msg.len() => c.state = State::Idle,
                    Ok(k) => c.state = State::Receiving(got + k),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => c.state = State::Dead,
                }
                if !matches!(c.state, State::Receiving(_)) {
                    waiting -= 1;
                }
            }
        }
    }
    std::thread::sleep(settle);
    r.after_kib = rss_kib(pid).unwrap_or(before);
    r.held = conns.iter().filter(|c| c.state == State::Idle).count();
    r.note = part.note;
    if r.held < n && r.note.is_none() {
        r.note = Some(format!(
            "{} of {n} connections made their round trip",
            r.held
        ));
    }
    drop(conns);
    r
}

/// A reference echo server in this process: one thread per connection
/// (std::net, blocking), on 127.0.0.1 at an ephemeral port. It stops
/// accepting when dropped; connections end when their clients close.
pub struct RustEchoServer {
    pub addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl RustEchoServer {
    pub fn start() -> RustEchoServer {
        use std::sync::atomic::{AtomicBool, Ordering};
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_nodelay(true);
                        let _ =
                            std::thread::Builder::new()
                                .stack_size(64 * 1024)
                                .spawn(move || {
                                    let mut buf = [0u8; 4096];
                                    loop {
                                        match s.read(&mut buf) {
                                            Ok(0) | Err(_) => return,
                                            Ok(k) => {
                                                if s.write_all(&buf[..k]).is_err() {
                                                    return;
                                                }
                                            }
                                        }
                                    }
                                });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        RustEchoServer { addr, stop }
    }
}

impl Drop for RustEchoServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
