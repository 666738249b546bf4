//! Starting an echo server under test as a child process and finding its
//! port: the contract of docs/NETWORK.md, "Benchmark" — the server takes
//! the port to listen on as its first program argument (`0`: any free
//! port) and prints `listening on PORT` as the first line of its stdout
//! once it accepts connections, on 127.0.0.1.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running server; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `cmd` (its arguments ending with the port, `0`) and wait up to
/// `limit` for its `listening on PORT` line. Its stderr goes to `stderr`
/// (a file, so a failing server can be looked at).
pub fn start(
    mut cmd: Command,
    stderr: std::fs::File,
    limit: Duration,
) -> Result<ServerProcess, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let out = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(out);
        let mut first = String::new();
        let _ = r.read_line(&mut first);
        let _ = tx.send(first);
        // Keep reading so the server never blocks on a full pipe.
        let mut sink = String::new();
        while r.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    let line = match rx.recv_timeout(limit) {
        Ok(l) => l,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{shown} printed no `listening on PORT` line within {} s",
                limit.as_secs()
            ));
        }
    };
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|p| p.trim().parse::<u16>().ok());
    match port {
        Some(p) if p > 0 => Ok(ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], p)),
        }),
        _ => {
            let _ = child.kill();
            let status = child.wait().ok();
            Err(format!(
                "{shown}: the first line of stdout was {:?}, not `listening on PORT` (exit status {status:?})",
                line.trim_end()
            ))
        }
    }
}
