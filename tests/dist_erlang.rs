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
mod dist_cluster;

use dist_cluster::programs::{ECHO, STREAM};
use dist_cluster::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

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
