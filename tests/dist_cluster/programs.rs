//! ttvm programs the distribution tests share (tests/dist_erlang.rs,
//! tests/dist_ttvm.rs).

/// The ttvm side of the ping-pong: registered as `ttsrv`, it pings
/// `[shell, NODE]` (NODE: the first argument) with `{self, "ping"}`, then
/// echoes every `{From, X}` back to From as `{self, X}`, saying when X is
/// its own PID, until X is "stop".
pub const ECHO: &str = r#"; args: the node whose `shell` process to ping ("-": none)
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

/// 4 senders on each side, `n` messages each, `{sender, i}` with i
/// counting up: the receiver checks the order per sender.
pub const STREAM: &str = r#"; args: the Erlang node, n (per sender)
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
