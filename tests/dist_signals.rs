//! Issue 17: links, monitors, exit signals, remote SPAWN and a supervisor
//! across nodes, against real Erlang nodes and between ttvm nodes, over
//! loopback only (the harness: tests/dist_cluster/). Without `erl` the
//! tests say they are skipped (and fail under CI, which installs it).
//!
//! - monitors both ways: DOWN with the reason, `noproc`, `noconnection`;
//! - links both ways and EXIT_PROCESS;
//! - SPAWN of `[node, module, function, args]` ttvm on ttvm, ttvm on
//!   Erlang and Erlang on ttvm, with its errors;
//! - `std/supervisor` restarting its child on another node.

mod common;
mod dist_cluster;

use dist_cluster::*;

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
