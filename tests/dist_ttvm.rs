//! Issue 17: two ttvm nodes in one cluster (an `epmd` of their own on a
//! free port, over loopback only; the harness is tests/dist_cluster/):
//!
//! - two ttvm nodes ping-pong with NODE and NODES;
//! - they stream 100,000 messages each way, in order per sender;
//! - two started at the same moment, each sending first, end up with one
//!   connection (three rounds);
//! - the distribution benchmark's programs run between two ttvm nodes,
//!   interpreted and `--jit`.
//!
//! `epmd` comes with Erlang: without `erl` the tests say they are skipped
//! (and fail under CI, which installs it).

mod common;
mod dist_cluster;

use dist_cluster::programs::{ECHO, STREAM};
use dist_cluster::*;
use std::path::PathBuf;

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
    wait_registered(&c, "tt5a");
    let client = c.ttvm("tt5b", COOKIE, "client.ttvm", &[&format!("tt5a@{host}")]);
    let out = expect(&client.out, "stop", "the client's second answer");
    let text = out.join("\n");
    assert!(text.contains(&format!("<tt5a@{host}.1.0>")), "{text}");
    assert!(text.contains(&format!("tt5a@{host}")), "{text}");
    assert_eq!(c.wait(&client, "the client"), 0, "{}", drain(&client.err));
    assert_eq!(c.wait(&server, "the server"), 0, "{}", drain(&server.err));
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
    wait_registered(&c, "ttsinka");
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
