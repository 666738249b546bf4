//! Blocking operations (the op table's `io` cost: READ_LINE, READ_CHAR,
//! READ_INPUT, the file operations, EXEC, EXEC_CAPTURE): the process hands
//! the operation to one of the node's I/O threads (`ttvm_runtime::io`) and
//! waits, like a RECEIVE, so other processes keep running on its scheduler
//! (issue 16, item 5). When the operation finished, the process runs the
//! instruction again and takes the result: its operands are replaced by
//! the results, or the error is raised.
//!
//! What runs on the I/O thread is the operation's ordinary semantics
//! (`library::call`, `library/host.rs`) on a copy of its operands, with the
//! VM's standard streams.

use super::Proc;
use crate::bytecode::Opcode;
use crate::exec::vm::Streams;
use crate::exec::{error, Context, Control, OpResult, Vm};
use crate::permissions::NetPolicy;
use ttvm_runtime::Value;

/// What an I/O thread gives back: the results that replace the operands.
type Done = OpResult<Vec<Value>>;

pub(crate) fn exec(
    ctx: &mut Context,
    vm: &Vm,
    proc: &mut Proc<'_>,
    op: Opcode,
) -> OpResult<Control> {
    let name = op.mnemonic();
    let n = op.info().pops as usize;
    ctx.need(n, name)?;
    let base = ctx.stack.len() - n;
    if let Some(done) = proc.node.take_io(proc.me) {
        let done = match done.downcast::<Done>() {
            Ok(done) => *done,
            // The operation panicked: a bug, reported as an error of the
            // process (the VM goes on).
            Err(_) => error(format!("{name}: internal error in the I/O thread")),
        };
        // On error the operands stay, as with every library operation.
        let results = done?;
        ctx.stack.truncate(base);
        ctx.stack.extend(results);
        return Ok(Control::Next);
    }
    // READ_LINE reads the VM's own stdin: allowed under --sandbox (SPEC
    // §3.10); the network operations ask the policy with the host they
    // reach (`--allow-net`, `crate::permissions`); every other blocking
    // operation touches the host.
    let net = matches!(
        op,
        Opcode::DnsResolve | Opcode::HttpGet | Opcode::HttpPost | Opcode::HttpRequest
    );
    if vm.config.sandbox && op != Opcode::ReadLine && !net {
        return error("permission denied");
    }
    let policy = net.then(|| NetPolicy::of(&vm.config));
    let mut args = ctx.stack[base..].to_vec();
    let streams = vm.streams();
    let job = Box::new(move || -> ttvm_runtime::IoResult {
        let done: Done = run(op, &mut args, &streams, policy.as_ref()).map(|()| args);
        Box::new(done)
    });
    proc.node.start_io(proc.me, job).or_else(error)?;
    Ok(Control::Waiting)
}

/// The operation itself, on its operands `stack` (on an I/O thread).
fn run(op: Opcode, stack: &mut Vec<Value>, streams: &Streams, net: Option<&NetPolicy>) -> OpResult {
    let caps = crate::library::Caps {
        sandbox: net.is_some_and(|p| p.sandbox),
        console: Some(streams),
        net,
    };
    crate::library::call(op, stack, &caps)
}
