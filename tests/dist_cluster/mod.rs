//! The harness of the distribution tests (tests/dist_erlang.rs,
//! tests/dist_signals.rs, tests/dist_ttvm.rs): a [`Cluster`] of one `epmd` on a free port and
//! the Erlang and ttvm nodes a test starts, all killed when it is dropped,
//! and bounded waits for their lines.

#![allow(dead_code)]

pub mod programs;

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const COOKIE: &str = "ttvm_test_cookie";
/// The longest any one expected line may take to come.
pub const LINE_WAIT: Duration = Duration::from_secs(60);

/// Whether `erl` runs here; else say so (and fail under CI).
pub fn have_erlang() -> bool {
    let ok = Command::new("erl")
        .args(["-noshell", "-eval", "halt()."])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "erl is not installed, and CI must run the distribution tests (apt-get install -y erlang-base)"
        );
        eprintln!("skipped: `erl` is not installed (apt-get install -y erlang-base)");
    }
    ok
}

/// This machine's short host name, as `erl -sname` uses it.
pub fn short_host() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    h.trim()
        .split('.')
        .next()
        .unwrap_or("localhost")
        .to_string()
}

/// Lines of a child's stream, read on a thread.
pub fn lines(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Wait (bounded) for a line containing `want`; the lines seen before it
/// are returned with it.
pub fn expect(rx: &mpsc::Receiver<String>, want: &str, what: &str) -> Vec<String> {
    try_expect(rx, want).unwrap_or_else(|seen| {
        panic!(
            "{what}: no line with `{want}` came; lines seen:\n{}",
            seen.join("\n")
        )
    })
}

/// [`expect`], and on failure also what `other` (the node on the other
/// side) printed.
pub fn expect_or_show(
    rx: &mpsc::Receiver<String>,
    want: &str,
    what: &str,
    other: &Started,
) -> Vec<String> {
    try_expect(rx, want).unwrap_or_else(|seen| {
        panic!(
            "{what}: no line with `{want}` came; lines seen:\n{}\n-- the other node's stdout:\n{}\n-- its stderr:\n{}",
            seen.join("\n"),
            drain(&other.out),
            drain(&other.err)
        )
    })
}

pub fn try_expect(rx: &mpsc::Receiver<String>, want: &str) -> Result<Vec<String>, Vec<String>> {
    let deadline = Instant::now() + LINE_WAIT;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = line.contains(want);
                seen.push(line);
                if hit {
                    return Ok(seen);
                }
            }
            Err(_) => break,
        }
    }
    Err(seen)
}

/// One test's cluster: epmd, and every node started; all killed on drop.
pub struct Cluster {
    pub epmd_port: u16,
    pub dir: PathBuf,
    pub children: Vec<Child>,
}

/// A node started by a [`Cluster`]: its stdout and stderr lines.
pub struct Started {
    pub out: mpsc::Receiver<String>,
    pub err: mpsc::Receiver<String>,
    pub index: usize,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    pub fn new(name: &str) -> Cluster {
        let dir = crate::common::scratch(&format!("dist_{name}"));
        let mut c = Cluster {
            epmd_port: 0,
            dir,
            children: Vec::new(),
        };
        // A free port can be taken between the look and epmd's bind: try
        // a few.
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new("epmd")
                .args(["-port", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("epmd starts (it comes with erl)");
            c.children.push(child);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    c.epmd_port = port;
                    return c;
                }
                if let Ok(Some(_)) = c.children.last_mut().unwrap().try_wait() {
                    break; // it could not bind: another port
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("epmd did not start");
    }

    pub fn spawn(&mut self, mut cmd: Command) -> Started {
        cmd.env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the node starts");
        let out = lines(child.stdout.take().unwrap());
        let err = lines(child.stderr.take().unwrap());
        self.children.push(child);
        Started {
            out,
            err,
            index: self.children.len() - 1,
        }
    }

    /// An Erlang node `-sname name` running `code` (which ends in halt).
    pub fn erlang(&mut self, name: &str, cookie: &str, code: &str) -> Started {
        let mut cmd = Command::new("erl");
        cmd.args([
            "-sname",
            name,
            "-setcookie",
            cookie,
            "-noshell",
            "-eval",
            code,
        ]);
        self.spawn(cmd)
    }

    /// A ttvm node `--sname name` running `program` (a file in the
    /// test's folder) with `args`.
    pub fn ttvm(&mut self, name: &str, cookie: &str, program: &str, args: &[&str]) -> Started {
        self.ttvm_with(&[], name, cookie, program, args)
    }

    /// [`Cluster::ttvm`] with more flags.
    pub fn ttvm_with(
        &mut self,
        flags: &[&str],
        name: &str,
        cookie: &str,
        program: &str,
        args: &[&str],
    ) -> Started {
        let mut cmd = crate::common::Ttvm::new()
            .cwd(&self.dir)
            .args(flags)
            .args(["--sname", name, "--cookie", cookie, program, "--"])
            .args(args)
            .command();
        cmd.current_dir(&self.dir);
        self.spawn(cmd)
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.join(file), text).unwrap();
    }

    /// Wait (bounded) for a started node to end; its exit status.
    pub fn wait(&mut self, node: &Started, what: &str) -> i32 {
        let deadline = Instant::now() + LINE_WAIT;
        let child = &mut self.children[node.index];
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "{what} did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port a node's listener has, from EPMD.
    pub fn port_of(&self, name: &str) -> u16 {
        let out = Command::new("epmd")
            .arg("-names")
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            // "name t at port 4321"
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() == 5 && words[0] == "name" && words[1] == name {
                return words[4].parse().unwrap();
            }
        }
        panic!("{name} is not registered with EPMD:\n{text}");
    }
}

pub fn drain(rx: &mpsc::Receiver<String>) -> String {
    let mut all = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
        all.push(l);
    }
    all.join("\n")
}

/// A client handshake as node `name@host` with [`COOKIE`] (erl_dist).
pub fn handshake(port: u16, host: &str, name: &str) -> TcpStream {
    use erl_dist::handshake::ClientSideHandshake;
    use erl_dist::node::{Creation, LocalNode};
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let local = LocalNode::new(format!("{name}@{host}").parse().unwrap(), Creation::new(1));
    let mut hs = ClientSideHandshake::new(futures::io::AllowStdIo::new(s), local, COOKIE);
    futures::executor::block_on(async {
        hs.execute_send_name(erl_dist::LOWEST_DISTRIBUTION_PROTOCOL_VERSION)
            .await
            .unwrap();
        let (s, _peer) = hs.execute_rest(true).await.unwrap();
        s.into_inner()
    })
}

/// Wait (bounded) until EPMD knows node `name`.
pub fn wait_registered(c: &Cluster, name: &str) {
    let deadline = Instant::now() + LINE_WAIT;
    while !String::from_utf8_lossy(
        &Command::new("epmd")
            .arg("-names")
            .env("ERL_EPMD_PORT", c.epmd_port.to_string())
            .output()
            .unwrap()
            .stdout,
    )
    .contains(&format!("name {name} "))
    {
        assert!(Instant::now() < deadline, "{name} never registered");
        std::thread::sleep(Duration::from_millis(50));
    }
}
