//! Issue 17: ttvm nodes in an Erlang cluster, against real Erlang nodes,
//! over loopback only. Each test starts its own `epmd` on a free port
//! (`ERL_EPMD_PORT` for every node), its Erlang node(s) and ttvm node(s);
//! a guard kills every child when the test ends, also on a panic. Every
//! wait is bounded in time. Without `erl` the tests say they are skipped
//! (and fail under CI, which installs it).
//!
//! - ping-pong between a ttvm process and an Erlang process by PID and by
//!   registered name, both directions; a ttvm PID sent to Erlang comes
//!   back as the same local PID (an Int);
//! - 100,000 messages each way (4 senders on each side), order per sender
//!   kept;
//! - a wrong cookie is refused both ways, with a clear message on stderr;
//! - garbage instead of a handshake, and malformed frames after a correct
//!   handshake, close that connection only: the node keeps serving;
//! - two ttvm nodes ping-pong the same way;
//! - the distribution benchmark's programs run between two ttvm nodes,
//!   interpreted and `--jit`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const COOKIE: &str = "ttvm_test_cookie";
/// The longest any one expected line may take to come.
const LINE_WAIT: Duration = Duration::from_secs(60);

/// Whether `erl` runs here; else say so (and fail under CI).
fn have_erlang() -> bool {
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
fn short_host() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    h.trim()
        .split('.')
        .next()
        .unwrap_or("localhost")
        .to_string()
}

/// Lines of a child's stream, read on a thread.
fn lines(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
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
fn expect(rx: &mpsc::Receiver<String>, want: &str, what: &str) -> Vec<String> {
    try_expect(rx, want).unwrap_or_else(|seen| {
        panic!(
            "{what}: no line with `{want}` came; lines seen:\n{}",
            seen.join("\n")
        )
    })
}

/// [`expect`], and on failure also what `other` (the node on the other
/// side) printed.
fn expect_or_show(
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

fn try_expect(rx: &mpsc::Receiver<String>, want: &str) -> Result<Vec<String>, Vec<String>> {
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
struct Cluster {
    epmd_port: u16,
    dir: PathBuf,
    children: Vec<Child>,
}

/// A node started by a [`Cluster`]: its stdout and stderr lines.
struct Started {
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    index: usize,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    fn new(name: &str) -> Cluster {
        let dir = common::scratch(&format!("dist_{name}"));
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

    fn spawn(&mut self, mut cmd: Command) -> Started {
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
    fn erlang(&mut self, name: &str, cookie: &str, code: &str) -> Started {
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
    fn ttvm(&mut self, name: &str, cookie: &str, program: &str, args: &[&str]) -> Started {
        self.ttvm_with(&[], name, cookie, program, args)
    }

    /// [`Cluster::ttvm`] with more flags.
    fn ttvm_with(
        &mut self,
        flags: &[&str],
        name: &str,
        cookie: &str,
        program: &str,
        args: &[&str],
    ) -> Started {
        let mut cmd = common::Ttvm::new()
            .cwd(&self.dir)
            .args(flags)
            .args(["--sname", name, "--cookie", cookie, program, "--"])
            .args(args)
            .command();
        cmd.current_dir(&self.dir);
        self.spawn(cmd)
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.join(file), text).unwrap();
    }

    /// Wait (bounded) for a started node to end; its exit status.
    fn wait(&mut self, node: &Started, what: &str) -> i32 {
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
    fn port_of(&self, name: &str) -> u16 {
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

fn drain(rx: &mpsc::Receiver<String>) -> String {
    let mut all = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
        all.push(l);
    }
    all.join("\n")
}

/// The ttvm side of the ping-pong: registered as `ttsrv`, it pings
/// `[shell, NODE]` (NODE: the first argument) with `{self, "ping"}`, then
/// echoes every `{From, X}` back to From as `{self, X}`, saying when X is
/// its own PID, until X is "stop".
const ECHO: &str = r#"; args: the node whose `shell` process to ping ("-": none)
GET_ARGS
PUSH_INT 0
INDEX
STORE peer
REGISTER ttsrv
LOAD peer
PUSH_STR -
EQ
JNZ loop
MAKE_OBJECT
MAKE_OBJECT
SELF
SET_FIELD $pid
PUSH_STR ping
MAKE_LIST 2
SET_FIELD $tuple
PUSH_STR shell
LOAD peer
MAKE_LIST 2
SEND
LABEL loop
RECEIVE
DUP
PRINT
GET_FIELD $tuple
STORE t
LOAD t
PUSH_INT 1
INDEX
STORE x
LOAD x
SELF
EQ
JZ reply
PUSH_STR self came back
PRINT
LABEL reply
MAKE_OBJECT
MAKE_OBJECT
SELF
SET_FIELD $pid
LOAD x
MAKE_LIST 2
SET_FIELD $tuple
LOAD t
PUSH_INT 0
INDEX
SEND
LOAD x
PUSH_STR stop
EQ
JZ loop
PUSH_STR stopped
PRINT
HALT
"#;

#[test]
fn ping_pong_with_erlang_by_pid_and_by_name() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let mut c = Cluster::new("ping_pong");
    c.write("echo.ttvm", ECHO);
    let erl = c.erlang(
        "shell1",
        COOKIE,
        r#"register(shell, self()),
io:format("ready~n"),
P = receive {Pid, <<"ping">>} when is_pid(Pid) -> Pid after 30000 -> io:format("no ping~n"), halt(1) end,
io:format("ping from ~s~n", [node(P)]),
P ! {self(), <<"pong">>},
receive {P, <<"pong">>} -> io:format("echoed by pid~n") after 30000 -> io:format("no echo by pid~n"), halt(1) end,
{ttsrv, node(P)} ! {self(), <<"by name">>},
receive {P, <<"by name">>} -> io:format("echoed by name~n") after 30000 -> io:format("no echo by name~n"), halt(1) end,
{ttsrv, node(P)} ! {self(), P},
receive {P, 1} -> io:format("pid came back as 1~n") after 30000 -> io:format("no pid echo~n"), halt(1) end,
io:format("nodes ~p~n", [nodes()]),
{ttsrv, node(P)} ! {self(), <<"stop">>},
receive {P, <<"stop">>} -> io:format("stopped~n") after 30000 -> halt(1) end,
halt(0)."#,
    );
    expect(&erl.out, "ready", "the Erlang node");
    let tt = c.ttvm("tt1", COOKIE, "echo.ttvm", &[&format!("shell1@{host}")]);
    expect(
        &erl.out,
        &format!("ping from tt1@{host}"),
        "Erlang gets the ping",
    );
    expect(&erl.out, "echoed by pid", "ttvm answers an Erlang PID");
    expect(&erl.out, "echoed by name", "ttvm's registered name");
    expect(&erl.out, "pid came back as 1", "the PID round trip");
    expect(
        &erl.out,
        &format!("nodes [tt1@{host}]"),
        "Erlang sees the ttvm node",
    );
    expect(&erl.out, "stopped", "the end");
    let out = expect(&tt.out, "stopped", "the ttvm side");
    let text = out.join("\n");
    assert!(text.contains("self came back"), "{text}");
    assert!(
        text.contains(&format!("<shell1@{host}.")),
        "a remote PID prints with its node: {text}"
    );
    assert_eq!(c.wait(&tt, "the ttvm node"), 0, "{}", drain(&tt.err));
    assert_eq!(c.wait(&erl, "the Erlang node"), 0);
}

/// 4 senders on each side, `n` messages each, `{sender, i}` with i
/// counting up: the receiver checks the order per sender.
const STREAM: &str = r#"; args: the Erlang node, n (per sender)
GET_ARGS
DUP
PUSH_INT 0
INDEX
STORE erl
PUSH_INT 1
INDEX
TO_INT
STORE n
REGISTER ttsink
; tell the Erlang side who we are
MAKE_OBJECT
MAKE_OBJECT
SELF
SET_FIELD $pid
PUSH_STR hello
MAKE_LIST 2
SET_FIELD $tuple
PUSH_STR sink
LOAD erl
MAKE_LIST 2
SEND
PUSH_INT 0
STORE s
LABEL spawning
LOAD s
PUSH_INT 4
GE
JNZ spawned
LOAD s
LOAD n
LOAD erl
MAKE_FUNCTION sender s n erl
SPAWN
POP
LOAD s
PUSH_INT 1
ADD
STORE s
JMP spawning
LABEL spawned
; receive 4n messages {s, i} from Erlang, i = 1, 2, … per sender
PUSH_INT 0
PUSH_INT 0
PUSH_INT 0
PUSH_INT 0
MAKE_LIST 4
STORE seen
LOAD n
PUSH_INT 4
MUL
STORE left
LABEL recv
LOAD left
JZ all
RECEIVE
GET_FIELD $tuple
STORE t
LOAD t
PUSH_INT 0
INDEX
STORE s
LOAD t
PUSH_INT 1
INDEX
STORE i
LOAD seen
LOAD s
INDEX
PUSH_INT 1
ADD
LOAD i
EQ
JNZ in_order
PUSH_STR out of order
PRINT
LOAD t
PRINT
PUSH_INT 1
EXIT
LABEL in_order
LOAD seen
LOAD s
LOAD i
SET_INDEX
STORE seen
LOAD left
PUSH_INT 1
SUB
STORE left
JMP recv
LABEL all
LOAD n
PUSH_INT 4
MUL
PUSH_STR "in order "
SWAP
CONCAT
PRINT
MAKE_OBJECT
MAKE_OBJECT
SELF
SET_FIELD $pid
PUSH_STR done
MAKE_LIST 2
SET_FIELD $tuple
PUSH_STR sink
LOAD erl
MAKE_LIST 2
SEND
HALT
LABEL sender
PUSH_INT 1
STORE i
LABEL sloop
LOAD i
LOAD n
GT
JNZ sdone
MAKE_OBJECT
LOAD s
LOAD i
MAKE_LIST 2
SET_FIELD $tuple
PUSH_STR sink
LOAD erl
MAKE_LIST 2
SEND
LOAD i
PUSH_INT 1
ADD
STORE i
JMP sloop
LABEL sdone
RET
"#;

#[test]
fn a_hundred_thousand_messages_each_way_keep_order_per_sender() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let n = 25_000;
    let mut c = Cluster::new("stream");
    c.write("stream.ttvm", STREAM);
    let erl = c.erlang(
        "shell2",
        COOKIE,
        &format!(
            r#"register(sink, self()),
io:format("ready~n"),
N = {n},
P = receive {{Pid, <<"hello">>}} -> Pid after 30000 -> io:format("no hello~n"), halt(1) end,
Loop = fun L(0, Seen) -> Seen;
           L(M, Seen) -> receive {{S, I}} when is_integer(S) ->
                 case maps:get(S, Seen, 0) + 1 of
                   I -> L(M - 1, Seen#{{S => I}});
                   E -> io:format("out of order ~p ~p ~p~n", [S, I, E]), halt(1)
                 end
               after 60000 -> io:format("stalled with ~p left~n", [M]), halt(1) end end,
Loop(4 * N, #{{}}),
io:format("received ~p in order~n", [4 * N]),
[spawn(fun() -> [{{ttsink, node(P)}} ! {{S, I}} || I <- lists:seq(1, N)] end) || S <- lists:seq(0, 3)],
receive {{P, <<"done">>}} -> io:format("ttvm done~n") after 60000 -> io:format("no done~n"), halt(1) end,
halt(0)."#
        ),
    );
    expect(&erl.out, "ready", "the Erlang node");
    let tt = c.ttvm(
        "tt2",
        COOKIE,
        "stream.ttvm",
        &[&format!("shell2@{host}"), &n.to_string()],
    );
    expect(&erl.out, "received 100000 in order", "ttvm -> Erlang");
    expect(&tt.out, "in order 100000", "Erlang -> ttvm");
    expect(&erl.out, "ttvm done", "the end");
    assert_eq!(c.wait(&tt, "the ttvm node"), 0, "{}", drain(&tt.err));
    assert_eq!(c.wait(&erl, "the Erlang node"), 0);
}

#[test]
fn a_wrong_cookie_is_refused_both_ways() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let mut c = Cluster::new("cookie");
    c.write(
        "lonely.ttvm",
        r#"; wait 3 s (the Erlang node tries to connect meanwhile), then
; ping [shell, NODE] and wait a while for an answer that cannot come
PUSH_INT 3000
SLEEP
GET_ARGS
PUSH_INT 0
INDEX
STORE peer
PUSH_STR hello
PUSH_STR shell
LOAD peer
MAKE_LIST 2
SEND
PUSH_INT 20000
RECEIVE_AFTER
PRINT
PRINT
"#,
    );
    let erl = c.erlang(
        "shell3",
        "the_right_cookie",
        &format!(
            r#"register(shell, self()),
io:format("ready~n"),
W = fun Wt(0) -> io:format("tt3 never registered~n"), halt(2);
        Wt(K) -> case net_adm:names() of
                   {{ok, Ns}} -> case lists:keymember("tt3", 1, Ns) of true -> ok; false -> timer:sleep(50), Wt(K - 1) end;
                   _ -> timer:sleep(50), Wt(K - 1)
                 end end,
W(400),
io:format("ping: ~p~n", [net_adm:ping('tt3@{host}')]),
receive M -> io:format("got ~p~n", [M]) after 8000 -> io:format("got nothing~n") end,
halt(0)."#
        ),
    );
    expect(&erl.out, "ready", "the Erlang node");
    let tt = c.ttvm(
        "tt3",
        "a_wrong_cookie",
        "lonely.ttvm",
        &[&format!("shell3@{host}")],
    );
    expect(&erl.out, "ping: pang", "Erlang's connection is refused");
    expect(&erl.out, "got nothing", "ttvm's message never arrives");
    let err = expect(
        &tt.err,
        "refused a connection from node shell3@",
        "ttvm says why",
    );
    let err = err.join("\n");
    assert!(err.contains("cookie differs"), "{err}");
    let mut all = err;
    all.push('\n');
    all.push_str(&drain(&tt.err));
    assert!(
        all.contains(&format!("cannot connect to node shell3@{host}")) && all.contains("cookie"),
        "ttvm's own connection attempt is refused, saying so: {all}"
    );
    assert!(all.contains("1 message(s) to it dropped"), "{all}");
    assert_eq!(c.wait(&erl, "the Erlang node"), 0);
}

/// A raw TCP client: garbage instead of a handshake, and frames ttvm must
/// refuse after a correct one; each closes its own connection only, and
/// the node goes on answering an Erlang node.
#[test]
fn malformed_input_closes_that_connection_only() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let mut c = Cluster::new("malformed");
    c.write("echo.ttvm", ECHO);
    let tt = c.ttvm("tt4", COOKIE, "echo.ttvm", &["-"]);
    // Wait until it is registered.
    let deadline = Instant::now() + LINE_WAIT;
    let port = loop {
        let out = Command::new("epmd")
            .arg("-names")
            .env("ERL_EPMD_PORT", c.epmd_port.to_string())
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("name tt4 ") {
            break c.port_of("tt4");
        }
        assert!(Instant::now() < deadline, "tt4 never registered");
        std::thread::sleep(Duration::from_millis(50));
    };

    // 1. Not a handshake at all.
    let closed = |mut s: TcpStream, what: &str| {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 256];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => continue, // a status, a challenge: read on
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(e) => panic!("{what}: the connection was not closed ({e})"),
            }
        }
    };
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"\x00\x05xyzzy").unwrap();
    closed(s, "garbage instead of a handshake");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    drop(s); // leaves mid-"handshake"

    // 2. A correct handshake, then malformed frames.
    let frames: Vec<(&str, Vec<u8>)> = vec![
        (
            "a frame longer than the limit",
            vec![0xff, 0xff, 0xff, 0xff],
        ),
        (
            "a frame without the pass-through tag",
            vec![0, 0, 0, 2, 7, 7],
        ),
        (
            "a control message that is not a term",
            vec![0, 0, 0, 4, 112, 131, 200, 1],
        ),
        (
            "a tuple cut short",
            vec![0, 0, 0, 5, 112, 131, 104, 255, 97],
        ),
        ("nesting a million deep", {
            let mut f = vec![0, 0, 0, 0, 112, 131];
            for _ in 0..1_000_000 {
                f.extend_from_slice(&[108, 0, 0, 0, 1]);
            }
            f.push(106);
            let len = (f.len() - 4) as u32;
            f[..4].copy_from_slice(&len.to_be_bytes());
            f
        }),
    ];
    for (what, frame) in frames {
        let s = handshake(port, &host, "raw");
        let mut w = s.try_clone().unwrap();
        w.write_all(&frame).unwrap();
        closed(s, what);
    }
    let err = drain(&tt.err);
    for want in [
        "not a distribution handshake",
        "closed the connection to node raw@",
    ] {
        assert!(err.contains(want), "stderr says `{want}`:\n{err}");
    }

    // 3. The node still serves.
    let erl = c.erlang(
        "shell4",
        COOKIE,
        &format!(
            r#"{{ttsrv, 'tt4@{host}'}} ! {{self(), <<"still there?">>}},
receive {{_, <<"still there?">>}} -> io:format("still served~n") after 30000 -> io:format("not served~n") end,
halt(0)."#
        ),
    );
    expect(
        &erl.out,
        "still served",
        "the node after the bad connections",
    );
    assert_eq!(c.wait(&erl, "the Erlang node"), 0);
}

/// A client handshake as node `name@host` with [`COOKIE`] (erl_dist).
fn handshake(port: u16, host: &str, name: &str) -> TcpStream {
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

#[test]
fn two_ttvm_nodes_ping_pong() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let mut c = Cluster::new("two_ttvm");
    c.write("echo.ttvm", ECHO);
    c.write(
        "client.ttvm",
        r#"; args: the echo node; sends {self, "hi"} to [ttsrv, NODE], then "stop"
GET_ARGS
PUSH_INT 0
INDEX
STORE peer
MAKE_OBJECT
MAKE_OBJECT
SELF
SET_FIELD $pid
PUSH_STR hi
MAKE_LIST 2
SET_FIELD $tuple
PUSH_STR ttsrv
LOAD peer
MAKE_LIST 2
SEND
RECEIVE
DUP
PRINT
GET_FIELD $tuple
PUSH_INT 0
INDEX
STORE server
LOAD server
NODE
PRINT
NODES
PRINT
MAKE_OBJECT
MAKE_OBJECT
SELF
SET_FIELD $pid
PUSH_STR stop
MAKE_LIST 2
SET_FIELD $tuple
LOAD server
SEND
RECEIVE
PRINT
"#,
    );
    let server = c.ttvm("tt5a", COOKIE, "echo.ttvm", &["-"]);
    let deadline = Instant::now() + LINE_WAIT;
    while !String::from_utf8_lossy(
        &Command::new("epmd")
            .arg("-names")
            .env("ERL_EPMD_PORT", c.epmd_port.to_string())
            .output()
            .unwrap()
            .stdout,
    )
    .contains("name tt5a ")
    {
        assert!(Instant::now() < deadline, "tt5a never registered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let client = c.ttvm("tt5b", COOKIE, "client.ttvm", &[&format!("tt5a@{host}")]);
    let out = expect(&client.out, "stop", "the client's second answer");
    let text = out.join("\n");
    assert!(text.contains(&format!("<tt5a@{host}.1.0>")), "{text}");
    assert!(text.contains(&format!("tt5a@{host}")), "{text}");
    assert_eq!(c.wait(&client, "the client"), 0, "{}", drain(&client.err));
    assert_eq!(c.wait(&server, "the server"), 0, "{}", drain(&server.err));
}

/// A program that sends and ends at once: its messages still go out
/// (the end of the run waits, bounded, for the queued ones).
#[test]
fn messages_sent_just_before_the_end_arrive() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let mut c = Cluster::new("send_and_end");
    let erl = c.erlang(
        "shell6",
        COOKIE,
        r#"register(shell, self()),
io:format("ready~n"),
Count = fun C(N) -> receive I when I =:= N + 1 -> C(N + 1) after 20000 -> N end end,
io:format("got ~p~n", [Count(0)]),
halt(0)."#,
    );
    expect(&erl.out, "ready", "the Erlang node");
    let program = format!(
        "PUSH_INT 1 | STORE i | LABEL l | LOAD i | PUSH_STR shell | PUSH_STR shell6@{host} | MAKE_LIST 2 | SEND | LOAD i | PUSH_INT 1 | ADD | DUP | STORE i | PUSH_INT 1000 | GT | JZ l"
    );
    let mut cmd = common::Ttvm::new()
        .args(["--sname", "tt6", "--cookie", COOKIE, "-e", &program])
        .command();
    cmd.current_dir(&c.dir);
    let tt = c.spawn(cmd);
    assert_eq!(c.wait(&tt, "the ttvm node"), 0, "{}", drain(&tt.err));
    expect(&erl.out, "got 1000", "every message sent before the end");
}

/// The flags' errors need no Erlang: each is a clear message and exit 2.
#[test]
fn bad_distribution_flags_are_usage_errors() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut t = common::Ttvm::new()
            .args(args)
            .timeout(Duration::from_secs(60));
        for (k, v) in env {
            t = t.env(k, v);
        }
        t.run()
    };
    let prog = ["-e", "PUSH_INT 1 | PRINT"];
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["--cookie", "c"],
            vec![],
            "--cookie has effect only with --sname or --name",
        ),
        (
            vec!["--dist-listen", "0.0.0.0"],
            vec![],
            "--dist-listen has effect only with --sname or --name",
        ),
        (
            vec!["--sandbox", "--sname", "x", "--cookie", "c"],
            vec![],
            "distribution is off under --sandbox: add --allow-dist",
        ),
        (
            vec!["--sname", "a b", "--cookie", "c"],
            vec![],
            "may hold only letters, digits, _ and -",
        ),
        (
            vec!["--sname", "x@a.b", "--cookie", "c"],
            vec![],
            "a short name's host has no dots",
        ),
        (
            vec!["--sname", "x", "--cookie", "c"],
            vec![("ERL_EPMD_PORT", "nope")],
            "ERL_EPMD_PORT is `nope`",
        ),
    ];
    for (flags, env, want) in cases {
        let mut args = flags.clone();
        args.extend(prog);
        let r = run(&args, &env);
        assert_eq!(r.status, Some(2), "{flags:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "{flags:?}: wanted `{want}` in:\n{}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{flags:?}: nothing ran: {}", r.stdout);
    }
    // No EPMD on the port and no `epmd` to start: it says so.
    let port = free_port().to_string();
    let r = run(
        &["--sname", "x", "--cookie", "c", "-e", "PUSH_INT 1 | PRINT"],
        &[("ERL_EPMD_PORT", &port), ("PATH", "/nonexistent")],
    );
    assert_eq!(r.status, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("no EPMD answers on port {port}"))
            && r.stderr.contains("could not be started"),
        "{}",
        r.stderr
    );
}

/// Monitors across nodes: a ttvm process monitoring an Erlang process
/// gets DOWN with its exit reason, then `noproc` for a process that is
/// gone, then `noconnection` when the Erlang node stops; an Erlang
/// process monitoring a ttvm process gets DOWN with its reason.
#[test]
fn monitors_across_nodes() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let mut c = Cluster::new("monitors");
    c.write(
        "watch.ttvm",
        r#"; args: the Erlang node
GET_ARGS
PUSH_INT 0
INDEX
STORE erl
PUSH_STR child
SPAWN
STORE kid
; {shell, erl} ! {Me, Kid}
MAKE_OBJECT
MAKE_OBJECT
SELF
SET_FIELD $pid
MAKE_OBJECT
LOAD kid
SET_FIELD $pid
MAKE_LIST 2
SET_FIELD $tuple
PUSH_STR shell
LOAD erl
MAKE_LIST 2
SEND
; the answer: {Shell, Victim}
RECEIVE
GET_FIELD $tuple
DUP
PUSH_INT 0
INDEX
STORE shell
PUSH_INT 1
INDEX
STORE victim
; 1. a process that exits with a reason
LOAD victim
MONITOR
POP
MAKE_OBJECT
PUSH_STR stop
SET_FIELD $atom
LOAD victim
SEND
PUSH_STR DOWN
NULL
NULL
NULL
MAKE_LIST 4
RECEIVE_MATCH
PRINT
; 2. a process that is gone (its DOWN and the Erlang side's next
; message may come in either order: selective receives)
LOAD victim
MONITOR
POP
PUSH_STR DOWN
NULL
NULL
NULL
MAKE_LIST 4
RECEIVE_MATCH
PRINT
; 3. the Erlang side monitors our child, then says so
PUSH_STR monitoring
RECEIVE_MATCH
PRINT
PUSH_STR die
LOAD kid
SEND
; 4. the Erlang node goes away
LOAD shell
MONITOR
POP
PUSH_STR halt
LOAD shell
SEND
RECEIVE
PRINT
HALT
LABEL child
RECEIVE
POP
PUSH_STR boom
THROW
"#,
    );
    let erl = c.erlang(
        "shell7",
        COOKIE,
        r#"register(shell, self()),
Victim = spawn(fun() -> receive stop -> exit(boom) end end),
io:format("ready~n"),
{P, Kid} = receive {A, B} when is_pid(A) -> {A, B} after 30000 -> io:format("no hello~n"), halt(1) end,
P ! {self(), Victim},
Ref = monitor(process, Kid),
P ! <<"monitoring">>,
receive {'DOWN', Ref, process, Kid, R} -> io:format("kid down: ~p~n", [R]) after 30000 -> io:format("no kid down~n") end,
receive <<"halt">> -> io:format("halting~n"), halt(0) after 30000 -> halt(1) end."#,
    );
    expect(&erl.out, "ready", "the Erlang node");
    let tt = c.ttvm("tt7", COOKIE, "watch.ttvm", &[&format!("shell7@{host}")]);
    expect_or_show(
        &erl.out,
        "kid down: boom",
        "Erlang's monitor of a ttvm process",
        &tt,
    );
    expect(&erl.out, "halting", "the Erlang node stops");
    let out = expect(&tt.out, "noconnection", "ttvm's DOWN when the node goes");
    let text = out.join("\n");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() == 4
            && lines[0].starts_with("[DOWN, ")
            && lines[0].contains(&format!("<shell7@{host}."))
            && lines[0].ends_with(", boom]")
            && lines[1].ends_with(", noproc]")
            && lines[2] == "monitoring"
            && lines[3].ends_with(", noconnection]"),
        "{text}\n{}",
        drain(&tt.err)
    );
    assert_eq!(c.wait(&tt, "the ttvm node"), 0, "{}", drain(&tt.err));
}

/// Links and exit signals across nodes: a trapping ttvm process linked
/// to an Erlang process gets `["EXIT", pid, reason]` when it exits, and
/// `noconnection` when its node stops; an Erlang process linked to a ttvm
/// process gets its exit reason; EXIT_PROCESS reaches an Erlang process.
#[test]
fn links_across_nodes() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let mut c = Cluster::new("links");
    c.write(
        "links.ttvm",
        r#"; args: the Erlang node
GET_ARGS
PUSH_INT 0
INDEX
STORE erl
TRUE
TRAP_EXIT
PUSH_STR child
SPAWN
STORE kid
; {shell, erl} ! {Me, Kid}
MAKE_OBJECT
MAKE_OBJECT
SELF
SET_FIELD $pid
MAKE_OBJECT
LOAD kid
SET_FIELD $pid
MAKE_LIST 2
SET_FIELD $tuple
PUSH_STR shell
LOAD erl
MAKE_LIST 2
SEND
; the answer: {Shell, Victim}
RECEIVE
GET_FIELD $tuple
DUP
PUSH_INT 0
INDEX
STORE shell
PUSH_INT 1
INDEX
STORE victim
; 1. linked to a process that exits with a reason
LOAD victim
LINK
MAKE_OBJECT
PUSH_STR stop
SET_FIELD $atom
LOAD victim
SEND
PUSH_STR EXIT
NULL
NULL
MAKE_LIST 3
RECEIVE_MATCH
PRINT
; 2. the Erlang side links to our child, which then crashes
PUSH_STR linked
RECEIVE_MATCH
PRINT
PUSH_STR die
LOAD kid
SEND
; 3. an exit signal to the (trapping) Erlang shell process
LOAD shell
PUSH_STR bye
EXIT_PROCESS
; 4. linked to the shell process when its node stops
LOAD shell
LINK
PUSH_STR halt
LOAD shell
SEND
PUSH_STR EXIT
NULL
NULL
MAKE_LIST 3
RECEIVE_MATCH
PRINT
HALT
LABEL child
RECEIVE
POP
PUSH_STR boom
THROW
"#,
    );
    let erl = c.erlang(
        "shell8",
        COOKIE,
        r#"register(shell, self()),
process_flag(trap_exit, true),
Victim = spawn(fun() -> receive stop -> exit(boom) end end),
io:format("ready~n"),
{P, Kid} = receive {A, B} when is_pid(A) -> {A, B} after 30000 -> io:format("no hello~n"), halt(1) end,
P ! {self(), Victim},
link(Kid),
P ! <<"linked">>,
receive {'EXIT', Kid, R} -> io:format("kid exit: ~p~n", [R]) after 30000 -> io:format("no kid exit~n") end,
receive {'EXIT', P, R2} -> io:format("exit from ttvm: ~p~n", [R2]) after 30000 -> io:format("no exit from ttvm~n") end,
receive <<"halt">> -> io:format("halting~n"), halt(0) after 30000 -> halt(1) end."#,
    );
    expect(&erl.out, "ready", "the Erlang node");
    let tt = c.ttvm("tt8", COOKIE, "links.ttvm", &[&format!("shell8@{host}")]);
    expect_or_show(
        &erl.out,
        "kid exit: boom",
        "an Erlang process linked to a ttvm one",
        &tt,
    );
    expect(
        &erl.out,
        "exit from ttvm: bye",
        "EXIT_PROCESS to an Erlang process",
    );
    expect(&erl.out, "halting", "the Erlang node stops");
    let out = expect(
        &tt.out,
        "noconnection",
        "the link's signal when the node goes",
    );
    let text = out.join("\n");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() == 3
            && lines[0].starts_with(&format!("[EXIT, <shell8@{host}."))
            && lines[0].ends_with(", boom]")
            && lines[1] == "linked"
            && lines[2].ends_with(", noconnection]"),
        "{text}\n{}",
        drain(&tt.err)
    );
    assert_eq!(c.wait(&tt, "the ttvm node"), 0, "{}", drain(&tt.err));
}

/// Two ttvm nodes started at the same moment, each sending to the other
/// first (retrying until the other is registered): both directions get
/// through whichever connection wins — the simultaneous-connect rule
/// (the greater name's attempt wins) or one attempt before the other.
#[test]
fn two_ttvm_nodes_connecting_at_once() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let mut c = Cluster::new("at_once");
    c.write(
        "mutual.ttvm",
        r#"; args: the other node; say hi until it acks, ack its hi
GET_ARGS
PUSH_INT 0
INDEX
STORE peer
REGISTER mutual
FALSE
STORE got_hi
FALSE
STORE got_ack
PUSH_INT 0
STORE n
LABEL loop
LOAD got_hi
LOAD got_ack
AND
JNZ done
LOAD n
PUSH_INT 200
GE
JNZ gaveup
LOAD n
PUSH_INT 1
ADD
STORE n
LOAD got_ack
JNZ wait
PUSH_STR hi
PUSH_STR mutual
LOAD peer
MAKE_LIST 2
SEND
LABEL wait
PUSH_INT 100
RECEIVE_AFTER
JZ timeout
DUP
PUSH_STR hi
EQ
JZ not_hi
POP
TRUE
STORE got_hi
PUSH_STR ack
PUSH_STR mutual
LOAD peer
MAKE_LIST 2
SEND
JMP loop
LABEL not_hi
PUSH_STR ack
EQ
JZ loop
TRUE
STORE got_ack
JMP loop
LABEL timeout
POP
JMP loop
LABEL done
PUSH_STR both ways
PRINT
HALT
LABEL gaveup
PUSH_STR gave up
PRINT
PUSH_INT 1
EXIT
"#,
    );
    for round in 0..3 {
        let (a, b) = (format!("mut{round}a"), format!("mut{round}b"));
        let trace = ["--trace-procs"];
        let na = c.ttvm_with(&trace, &a, COOKIE, "mutual.ttvm", &[&format!("{b}@{host}")]);
        let nb = c.ttvm_with(&trace, &b, COOKIE, "mutual.ttvm", &[&format!("{a}@{host}")]);
        expect(&na.out, "both ways", &format!("round {round}, node a"));
        expect(&nb.out, "both ways", &format!("round {round}, node b"));
        assert_eq!(c.wait(&na, "node a"), 0);
        assert_eq!(c.wait(&nb, "node b"), 0);
        // One connection between them, not one each way (nor one
        // replacing the other).
        for (node, err) in [(&a, drain(&na.err)), (&b, drain(&nb.err))] {
            let connected = err.matches("dist: connected to").count();
            assert_eq!(connected, 1, "round {round}, node {node}:\n{err}");
        }
    }
}

/// The Erlang side of [`STREAM`] as a ttvm program: registered as
/// `sink`, it takes the hello, checks 4n messages in order per sender,
/// then sends 4n to `[ttsink, node]` from 4 processes and waits for done.
const SINK: &str = r#"; args: n (per sender)
GET_ARGS
PUSH_INT 0
INDEX
TO_INT
STORE n
REGISTER sink
RECEIVE
GET_FIELD $tuple
PUSH_INT 0
INDEX
NODE
STORE peer
PUSH_INT 0
PUSH_INT 0
PUSH_INT 0
PUSH_INT 0
MAKE_LIST 4
STORE seen
LOAD n
PUSH_INT 4
MUL
STORE left
LABEL recv
LOAD left
JZ all
RECEIVE
GET_FIELD $tuple
STORE t
LOAD t
PUSH_INT 0
INDEX
STORE s
LOAD t
PUSH_INT 1
INDEX
STORE i
LOAD seen
LOAD s
INDEX
PUSH_INT 1
ADD
LOAD i
EQ
JNZ in_order
PUSH_STR out of order
PRINT
PUSH_INT 1
EXIT
LABEL in_order
LOAD seen
LOAD s
LOAD i
SET_INDEX
STORE seen
LOAD left
PUSH_INT 1
SUB
STORE left
JMP recv
LABEL all
LOAD n
PUSH_INT 4
MUL
PUSH_STR "received "
SWAP
CONCAT
PUSH_STR " in order"
CONCAT
PRINT
PUSH_INT 0
STORE s
LABEL spawning
LOAD s
PUSH_INT 4
GE
JNZ spawned
LOAD s
LOAD n
LOAD peer
MAKE_FUNCTION sender s n peer
SPAWN
POP
LOAD s
PUSH_INT 1
ADD
STORE s
JMP spawning
LABEL spawned
RECEIVE
GET_FIELD $tuple
PUSH_INT 1
INDEX
PRINT
HALT
LABEL sender
PUSH_INT 1
STORE i
LABEL sloop
LOAD i
LOAD n
GT
JNZ sdone
MAKE_OBJECT
LOAD s
LOAD i
MAKE_LIST 2
SET_FIELD $tuple
PUSH_STR ttsink
LOAD peer
MAKE_LIST 2
SEND
LOAD i
PUSH_INT 1
ADD
STORE i
JMP sloop
LABEL sdone
RET
"#;

#[test]
fn two_ttvm_nodes_stream_a_hundred_thousand_each_way_in_order() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let n = 25_000;
    let mut c = Cluster::new("two_ttvm_stream");
    c.write("stream.ttvm", STREAM);
    c.write("sink.ttvm", SINK);
    let sink = c.ttvm("ttsinka", COOKIE, "sink.ttvm", &[&n.to_string()]);
    let deadline = Instant::now() + LINE_WAIT;
    while !String::from_utf8_lossy(
        &Command::new("epmd")
            .arg("-names")
            .env("ERL_EPMD_PORT", c.epmd_port.to_string())
            .output()
            .unwrap()
            .stdout,
    )
    .contains("name ttsinka ")
    {
        assert!(Instant::now() < deadline, "ttsinka never registered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stream = c.ttvm(
        "ttstreamb",
        COOKIE,
        "stream.ttvm",
        &[&format!("ttsinka@{host}"), &n.to_string()],
    );
    expect(&sink.out, "received 100000 in order", "b -> a");
    expect(&stream.out, "in order 100000", "a -> b");
    expect(&sink.out, "done", "the end");
    assert_eq!(c.wait(&stream, "node b"), 0, "{}", drain(&stream.err));
    assert_eq!(c.wait(&sink, "node a"), 0, "{}", drain(&sink.err));
}

/// Wait (bounded) until EPMD knows node `name`.
fn wait_registered(c: &Cluster, name: &str) {
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

/// A node whose program EXPORTs `worker`: a process that says where it
/// runs, then crashes with `boom` when it gets "crash". The main process
/// (`bmain`) ends the node (EXIT 0) when it gets a message.
const WORKER_NODE: &str = r#"MAKE_FUNCTION worker_body tag
STORE worker
EXPORT worker
REGISTER bmain
RECEIVE
PUSH_INT 0
EXIT
LABEL worker_body
PUSH_STR "worker "
LOAD tag
CONCAT
PUSH_STR " started on "
CONCAT
SELF
NODE
CONCAT
PRINT
LABEL worker_loop
RECEIVE
PUSH_STR crash
EQ
JZ worker_loop
PUSH_STR boom
THROW
"#;

/// SPAWN of [node, module, function, args] (issue 17, item 4): ttvm on
/// ttvm, ttvm on Erlang and Erlang on ttvm, with the errors of an unknown
/// function, an unknown module and a node that cannot be reached.
#[test]
fn spawn_on_another_node() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let (b, e) = (format!("tt7b@{host}"), format!("erl7@{host}"));
    let mut c = Cluster::new("spawn");
    c.write("worker_node.ttvm", WORKER_NODE);
    let tb = c.ttvm("tt7b", COOKIE, "worker_node.ttvm", &[]);
    wait_registered(&c, "tt7b");
    let erl = c.erlang(
        "erl7",
        COOKIE,
        &format!(
            r#"register(shell, self()),
B = 'tt7b@{host}',
P = spawn(B, worker_node, worker, [<<"erl">>]),
io:format("spawned on ~p~n", [node(P)]),
{{P2, R}} = spawn_monitor(B, worker_node, worker, [<<"mon">>]),
P2 ! <<"crash">>,
receive {{'DOWN', R, process, P2, Why}} -> io:format("down ~p~n", [Why]) after 20000 -> io:format("no down~n") end,
case catch spawn(B, worker_node, nothere, [1, 2]) of
    {{'EXIT', {{undef, _}}}} -> io:format("nothere: undef~n");
    Other -> io:format("nothere: ~p~n", [Other])
end,
io:format("ready~n"),
receive {{from_tt, X}} -> io:format("tt said ~p~n", [X]) after 30000 -> io:format("tt said nothing~n") end,
receive <<"done">> -> ok after 30000 -> ok end,
halt()."#
        ),
    );
    let seen = expect_or_show(&erl.out, "ready", "the Erlang node's spawns", &tb).join("\n");
    for want in [
        format!("spawned on {b}"),
        "down boom".to_string(),
        "nothere: undef".to_string(),
    ] {
        assert!(seen.contains(&want), "{want}:\n{seen}");
    }
    c.write(
        "spawner.ttvm",
        r#"; args: the worker node, the Erlang node, a node that does not run
GET_ARGS
DUP
DUP
PUSH_INT 0
INDEX
STORE b
PUSH_INT 1
INDEX
STORE e
PUSH_INT 2
INDEX
STORE nobody
TRUE
TRAP_EXIT
LOAD b
PUSH_STR worker_node
PUSH_STR worker
PUSH_STR tt
MAKE_LIST 1
MAKE_LIST 4
SPAWN
NODE
PRINT
TRY e1
LOAD b
PUSH_STR worker_node
PUSH_STR nothere
MAKE_LIST 0
MAKE_LIST 4
SPAWN
END_TRY
LABEL e1
CATCH
PRINT
TRY e2
LOAD b
PUSH_STR nomodule
PUSH_STR worker
PUSH_STR x
MAKE_LIST 1
MAKE_LIST 4
SPAWN
END_TRY
LABEL e2
CATCH
PRINT
TRY e3
LOAD nobody
PUSH_STR worker_node
PUSH_STR worker
MAKE_LIST 0
MAKE_LIST 4
SPAWN
END_TRY
LABEL e3
CATCH
PRINT
; erlang:send(shell, {from_tt, <<"hi">>}), run on the Erlang node
LOAD e
PUSH_STR erlang
PUSH_STR send
MAKE_OBJECT
PUSH_STR shell
SET_FIELD $atom
MAKE_OBJECT
MAKE_OBJECT
PUSH_STR from_tt
SET_FIELD $atom
PUSH_STR hi
MAKE_LIST 2
SET_FIELD $tuple
MAKE_LIST 2
MAKE_LIST 4
SPAWN
NODE
PRINT
; erlang:exit(<<"boom">>) on the Erlang node, linked
LOAD e
PUSH_STR erlang
PUSH_STR exit
PUSH_STR boom
MAKE_LIST 1
MAKE_LIST 4
SPAWN_LINK
STORE p
PUSH_STR EXIT
LOAD p
NULL
MAKE_LIST 3
RECEIVE_MATCH
PRINT
PUSH_STR stop
PUSH_STR bmain
LOAD b
MAKE_LIST 2
SEND
PUSH_STR done
PUSH_STR shell
LOAD e
MAKE_LIST 2
SEND
"#,
    );
    let nobody = format!("nobody7@{host}");
    let ta = c.ttvm("tt7a", COOKIE, "spawner.ttvm", &[&b, &e, &nobody]);
    let out = expect_or_show(&ta.out, "EXIT", "the spawner", &tb);
    let text = out.join("\n");
    assert_eq!(out[0], b, "{text}");
    assert!(
        out[1].contains(&format!(
            "SPAWN on node {b}: the node refused to spawn worker_node:nothere/0: undef"
        )),
        "{text}"
    );
    assert!(
        out[2].contains("worker_node") || out[2].contains("nomodule"),
        "{text}"
    );
    assert!(out[2].contains("undef"), "{text}");
    assert!(
        out[3].contains(&format!(
            "SPAWN on node {nobody}: the node cannot be reached (noconnection)"
        )),
        "{text}"
    );
    assert_eq!(out[4], e, "{text}");
    assert!(
        out[5].starts_with(&format!("[EXIT, <{e}.")) && out[5].ends_with(", boom]"),
        "{text}"
    );
    assert_eq!(c.wait(&ta, "the spawner"), 0, "{}", drain(&ta.err));
    expect(&erl.out, "tt said <<\"hi\">>", "the Erlang node");
    assert_eq!(c.wait(&tb, "the worker node"), 0, "{}", drain(&tb.err));
    let b_out = drain(&tb.out);
    for tag in ["erl", "mon", "tt"] {
        assert!(
            b_out.contains(&format!("worker {tag} started on {b}")),
            "{tag}:\n{b_out}"
        );
    }
    let b_err = drain(&tb.err);
    assert!(
        b_err.contains("refused to spawn worker_node:nothere/2")
            && b_err.contains("does not EXPORT `nothere`")
            && b_err.contains("no module `nomodule`"),
        "{b_err}"
    );
}

/// std/supervisor on node A supervises a child on node B (a start by
/// name, [node, module, function, args]): the child crashes, then is
/// killed, and each time the supervisor starts it again on B; stopping
/// the supervisor stops the child there.
#[test]
fn a_supervisor_restarts_its_child_on_another_node() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let b = format!("tt8b@{host}");
    let mut c = Cluster::new("remote_child");
    c.write("worker_node.ttvm", WORKER_NODE);
    c.write(
        "sup_node.ttvm",
        r#"; args: the node the child runs on
IMPORT std/supervisor
GET_ARGS
PUSH_INT 0
INDEX
STORE b
MAKE_OBJECT
PUSH_STR w
SET_FIELD id
LOAD b
PUSH_STR worker_node
PUSH_STR worker
PUSH_STR w
MAKE_LIST 1
MAKE_LIST 4
SET_FIELD start
MAKE_LIST 1
STORE children
PUSH_STR one_for_one
PUSH_INT 5
PUSH_INT 60000
LOAD children
LOAD supervisor_start
CALL_FUNCTION
STORE sup
LOAD sup
LOAD supervisor_which_children
CALL_FUNCTION
PUSH_INT 0
INDEX
GET_FIELD pid
STORE first
PUSH_STR "child on "
LOAD first
NODE
CONCAT
PRINT
; it crashes: the supervisor starts it again, on b
PUSH_STR crash
LOAD first
SEND
LOAD sup
LOAD first
LOAD supervisor_which_children
CALL await_new sup old wc
STORE second
PUSH_STR "restarted on "
LOAD second
NODE
CONCAT
PRINT
; it is killed: again
LOAD second
PUSH_STR kill
EXIT_PROCESS
LOAD sup
LOAD second
LOAD supervisor_which_children
CALL await_new sup old wc
STORE third
PUSH_STR "restarted on "
LOAD third
NODE
CONCAT
PRINT
PUSH_STR "restarts: "
LOAD sup
LOAD supervisor_restarts
CALL_FUNCTION
CONCAT
PRINT
LOAD sup
LOAD supervisor_stop
CALL_FUNCTION
PRINT
PUSH_STR stop
PUSH_STR bmain
LOAD b
MAKE_LIST 2
SEND
HALT

; await_new(sup, old, wc) -> the child's PID once it is not `old` (bounded)
LABEL await_new
PUSH_INT 0
STORE n
LABEL await_loop
LOAD sup
LOAD wc
CALL_FUNCTION
PUSH_INT 0
INDEX
GET_FIELD pid
STORE now
LOAD now
LOAD old
EQ
JZ await_done
LOAD n
PUSH_INT 1
ADD
STORE n
LOAD n
PUSH_INT 400
GT
JNZ await_fail
PUSH_INT 25
SLEEP
JMP await_loop
LABEL await_done
LOAD now
RET
LABEL await_fail
PUSH_STR "the child was not restarted within 10 s"
THROW
"#,
    );
    let tb = c.ttvm("tt8b", COOKIE, "worker_node.ttvm", &[]);
    wait_registered(&c, "tt8b");
    let ta = c.ttvm("tt8a", COOKIE, "sup_node.ttvm", &[&b]);
    let out = expect_or_show(&ta.out, "ok", "the supervising node", &tb);
    assert_eq!(
        out,
        vec![
            format!("child on {b}"),
            format!("restarted on {b}"),
            format!("restarted on {b}"),
            "restarts: 2".to_string(),
            "ok".to_string(),
        ],
        "{}",
        drain(&ta.err)
    );
    assert_eq!(c.wait(&ta, "the supervising node"), 0, "{}", drain(&ta.err));
    assert_eq!(c.wait(&tb, "the worker node"), 0, "{}", drain(&tb.err));
    let b_out = drain(&tb.out);
    assert_eq!(
        b_out.matches(&format!("worker w started on {b}")).count(),
        3,
        "{b_out}"
    );
}

/// A connection's queue is bounded (dist/busy.rs): a sender of 1,500
/// messages of 64 KiB (96 MiB) to an Erlang node that does not read (it
/// is stopped with SIGSTOP) waits once the queue passes 1 MiB, and the
/// node's memory stays bounded; when the peer reads again, every message
/// arrives and the sender finishes.
#[test]
fn a_busy_connection_suspends_its_sender() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let mut c = Cluster::new("busy");
    let erl = c.erlang(
        "erl9",
        COOKIE,
        r#"register(sink, self()),
io:format("ready~n"),
L = fun L(0) -> io:format("got all~n"), halt(); L(N) -> receive _ -> L(N - 1) after 30000 -> io:format("got ~p too few~n", [N]), halt() end end,
L(1500)."#,
    );
    expect(&erl.out, "ready", "the Erlang node");
    let beam = c.children[erl.index].id();
    let stop = |sig: &str| {
        let ok = Command::new("kill")
            .args([sig, &beam.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {beam}");
    };
    stop("-STOP");
    c.write(
        "flood.ttvm",
        r#"; args: the node of `sink`; sends it 1,500 Strs of 64 KiB
GET_ARGS
PUSH_INT 0
INDEX
STORE e
PUSH_STR xxxxxxxx
STORE s
PUSH_INT 0
STORE i
LABEL grow
LOAD s
LOAD s
CONCAT
STORE s
LOAD i
PUSH_INT 1
ADD
STORE i
LOAD i
PUSH_INT 13
LT
JNZ grow
PUSH_STR sending
PRINT
PUSH_INT 0
STORE i
LABEL loop
LOAD s
PUSH_STR sink
LOAD e
MAKE_LIST 2
SEND
LOAD i
PUSH_INT 1
ADD
STORE i
LOAD i
PUSH_INT 1500
LT
JNZ loop
PUSH_STR done
PRINT
"#,
    );
    let tt = c.ttvm("tt9", COOKIE, "flood.ttvm", &[&format!("erl9@{host}")]);
    expect(&tt.out, "sending", "the sender");
    let pid = c.children[tt.index].id();
    // While the peer reads nothing, the sender stops at the limit.
    let mut peak = 0;
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(100));
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        peak = peak.max(rss);
    }
    let early = tt.out.try_recv();
    stop("-CONT");
    assert!(
        early.is_err(),
        "the sender finished while its peer read nothing: {early:?}"
    );
    assert!(
        peak < 64 * 1024,
        "the sender's memory grew to {peak} kB while its peer read nothing"
    );
    expect(&erl.out, "got all", "the Erlang node, once it reads again");
    expect(&tt.out, "done", "the sender, once its peer reads again");
    assert_eq!(c.wait(&tt, "the sender"), 0, "{}", drain(&tt.err));
}

/// The distribution benchmark's programs (`cargo bench --bench compare --
/// --only dist`: benches/compare/ttvm/dist_server.ttvm and
/// dist_client.ttvm) at a small size, both nodes interpreted and both
/// `--jit` (compiled from the first call): the round trips complete and
/// the streamed messages all arrive (their sum): the distribution path
/// under both tiers, with a stream large enough to fill the socket.
#[test]
fn the_benchmark_programs_run_between_two_ttvm_nodes() {
    if !have_erlang() {
        return;
    }
    let host = short_host();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let server = root.join("benches/compare/ttvm/dist_server.ttvm");
    let client = root.join("benches/compare/ttvm/dist_client.ttvm");
    let mut c = Cluster::new("bench_programs");
    for (k, flags) in [
        &["--no-jit", "-S", "1"][..],
        &["--jit", "--jit-threshold", "0", "-S", "2"][..],
    ]
    .iter()
    .enumerate()
    {
        let (sname, cname) = (format!("ttbs{k}"), format!("ttbc{k}"));
        let s = c.ttvm_with(flags, &sname, COOKIE, server.to_str().unwrap(), &[]);
        expect(&s.out, "ready", "the benchmark's server node");
        let cl = c.ttvm_with(
            flags,
            &cname,
            COOKIE,
            client.to_str().unwrap(),
            &[&format!("{sname}@{host}"), "20", "200", "50000"],
        );
        expect_or_show(&cl.out, "ping_us", "the round trips", &s);
        expect_or_show(&cl.out, "stream_us", "the stream", &s);
        // 1 + 2 + … + 50,000
        expect_or_show(&cl.out, "sum 1250025000", "every message", &s);
        assert_eq!(
            c.wait(&cl, "the client"),
            0,
            "{flags:?}: {}",
            drain(&cl.err)
        );
        assert_eq!(c.wait(&s, "the server"), 0, "{flags:?}: {}", drain(&s.err));
    }
}
