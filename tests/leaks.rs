//! Nothing leaks: after a run, every process context is gone — processes
//! that ended, processes killed by signals, and processes blocked forever
//! with messages still in their mailboxes (one test per binary, so no other
//! VM runs at the same time).

use std::sync::Arc;
use ttvm::{Io, RunConfig};

const PROGRAM: &str = r#"
; 200 linked workers crash together; 100 block forever with full mailboxes;
; 100 monitored processes end normally. (Main traps exits from the start:
; set after the spawns, a crasher that woke before it killed main.)
TRUE
TRAP_EXIT
PUSH_INT 0
STORE i
LABEL crashers
MAKE_FUNCTION crash
SPAWN
LINK
LOAD i
PUSH_INT 1
ADD
STORE i
LOAD i
PUSH_INT 200
LT
JNZ crashers
PUSH_INT 0
STORE i
LABEL blockers
MAKE_FUNCTION block
SPAWN
DUP
STORE b
PUSH_STR "unread"
LOAD b
SEND
PUSH_STR "unread too"
SWAP
SEND
MAKE_FUNCTION quick
SPAWN
MONITOR
POP
LOAD i
PUSH_INT 1
ADD
STORE i
LOAD i
PUSH_INT 100
LT
JNZ blockers
PUSH_INT 0
STORE n
LABEL collect
RECEIVE
POP
LOAD n
PUSH_INT 1
ADD
STORE n
LOAD n
PUSH_INT 300
LT
JNZ collect
PUSH_STR "collected"
PRINT
HALT
LABEL crash
PUSH_INT 5
SLEEP
PUSH_INT 1
PUSH_INT 0
DIV
LABEL block
PUSH_STR "never"
RECEIVE_MATCH
LABEL quick
RET
"#;

#[test]
fn every_process_context_is_freed_after_a_run() {
    let program = Arc::new(
        ttvm::load_source("leaks.ttvm", PROGRAM).unwrap_or_else(|e| panic!("{}", e.render())),
    );
    assert_eq!(ttvm::exec::live_contexts(), 0);
    for _ in 0..3 {
        let io = Io {
            stdout: Box::new(std::io::sink()),
            stderr: Box::new(std::io::sink()),
            stdin: Box::new(std::io::empty()),
        };
        let config = RunConfig {
            trace_procs: false,
            ..RunConfig::default()
        };
        let r = ttvm::run(program.clone(), config, io);
        assert_eq!(r.exit_code, 0);
        assert_eq!(ttvm::exec::live_contexts(), 0, "process contexts leaked");
    }
}
