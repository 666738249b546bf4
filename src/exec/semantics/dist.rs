//! Distribution instructions (issue 17; docs/DISTRIBUTION.md): SEND to a
//! PID of another node or to `[name, node]`, NODE and NODES. The protocol
//! is the runtime's (`ttvm_runtime::dist`); the term mapping is its
//! `dist::term`.

use super::Proc;
use crate::exec::{error, Context, Control, OpResult};
use ttvm_runtime::dist::term::{to_term_sized, RemotePid};
use ttvm_runtime::dist::Busy;
use ttvm_runtime::Value;

/// The node name of a node that is not distributed (as Erlang's).
pub const NO_NODE: &str = "nonode@nohost";

/// SEND whose target (on top of the stack, the message under it) is not
/// a local PID. When the connection is busy after it (its queue over
/// `dist::BUSY_LIMIT`), the sender waits with its operands on the stack
/// until the queue drains, and runs the SEND again to finish it.
pub(super) fn send_op(ctx: &mut Context, proc: &Proc<'_>, from: i64) -> OpResult<Control> {
    let n = ctx.stack.len();
    // It waited for a busy connection: its message is queued already.
    if proc.node.take_io(proc.me).is_some() {
        ctx.stack.truncate(n - 2);
        return Ok(Control::Next);
    }
    let (msg, target) = (ctx.stack[n - 2].clone(), ctx.stack[n - 1].clone());
    let busy = send(proc, from, &target, msg);
    if let (Ok(Some(_)), Some(d)) = (&busy, proc.node.dist()) {
        let d = d.clone();
        let waiter = proc.node.start_wait(proc.me);
        if let Ok(Some(busy)) = busy {
            d.wait_busy(busy, waiter);
        }
        return Ok(Control::Waiting);
    }
    ctx.stack.truncate(n - 2);
    busy.map(|_| Control::Next)
}

/// The target of a SEND, when it is not a local PID (an Int). `Some`: the
/// connection is busy now.
fn send(proc: &Proc<'_>, from: i64, target: &Value, msg: Value) -> OpResult<Option<Busy>> {
    if let Some(rp) = RemotePid::of(target) {
        let to = rp.to_term();
        let Some(d) = proc.node.dist() else {
            // Only a distributed node makes remote PIDs, but a value may
            // outlive its node's distribution (the REPL): as the BEAM, a
            // send to a node one cannot reach is dropped.
            return Ok(None);
        };
        if to.node.name == d.name() {
            if let Some(local) = ttvm_runtime::dist::term::NodeCtx::as_local(&**d, &to) {
                proc.node.send(from, local, msg);
            }
            // Else a PID of an earlier run of this node: nobody has it.
            return Ok(None);
        }
        let (term, size) =
            to_term_sized(&msg, &**d).or_else(|e| error(format!("SEND to {target}: {e}")))?;
        return d.send(from, to, term, size).or_else(error);
    }
    if let Some((name, node)) = name_at_node(target) {
        let local = match proc.node.dist() {
            Some(d) => node == d.name(),
            None => node == NO_NODE,
        };
        if local {
            let to = proc.node.whereis(name);
            if to == 0 {
                return error(format!("no process registered as {name}"));
            }
            proc.node.send(from, to, msg);
            return Ok(None);
        }
        let Some(d) = proc.node.dist() else {
            return error(format!(
                "SEND to [{name:?}, {node:?}]: this node is not distributed (start ttvm with --sname or --name to reach other nodes)"
            ));
        };
        let (term, size) = to_term_sized(&msg, &**d)
            .or_else(|e| error(format!("SEND to [{name:?}, {node:?}]: {e}")))?;
        return d.send_named(from, name, node, term, size).or_else(error);
    }
    error(format!(
        "type error: SEND needs a PID (an Int, or a PID of another node) or [name, node], got {}",
        target.type_name()
    ))
}

/// `[name, node]`: two non-empty Strs.
fn name_at_node(v: &Value) -> Option<(&str, &str)> {
    let Value::List(l) = v else { return None };
    match &l[..] {
        [Value::Str(name), Value::Str(node)] if !name.is_empty() && !node.is_empty() => {
            Some((name.as_str(), node.as_str()))
        }
        _ => None,
    }
}

/// NODE: the node a PID is on.
pub(super) fn node_of(proc: &Proc<'_>, v: &Value) -> OpResult<Value> {
    if let Value::Int(_) = v {
        return Ok(Value::str(own_name(proc)));
    }
    if let Some(rp) = RemotePid::of(v) {
        return Ok(Value::str(rp.to_term().node.name));
    }
    error(format!(
        "type error: NODE needs a PID (an Int, or a PID of another node), got {}",
        v.type_name()
    ))
}

/// NODES: the nodes connected now (sorted).
pub(super) fn nodes(proc: &Proc<'_>) -> Value {
    let names = proc.node.dist().map(|d| d.nodes()).unwrap_or_default();
    Value::list(names.into_iter().map(Value::str).collect())
}

fn own_name(proc: &Proc<'_>) -> String {
    proc.node
        .dist()
        .map_or_else(|| NO_NODE.to_string(), |d| d.name().to_string())
}

/// MONITOR of a PID of another node: a reference (an Int, as for a local
/// monitor) whose DOWN brings the remote exit reason, `noproc`, or
/// `noconnection`.
pub(super) fn monitor(proc: &Proc<'_>, me: i64, target: &Value) -> OpResult<i64> {
    let Some(rp) = RemotePid::of(target) else {
        return error(format!(
            "type error: MONITOR needs a PID (an Int, or a PID of another node), got {}",
            target.type_name()
        ));
    };
    let r = proc.node.new_ref();
    match proc.node.dist() {
        Some(d) => d.monitor(me, rp.to_term(), r).or_else(error)?,
        // A PID that outlived its node's distribution: its node cannot be
        // reached.
        None => proc.node.send(
            me,
            me,
            Value::list(vec![
                Value::str("DOWN"),
                Value::Int(r),
                target.clone(),
                Value::str("noconnection"),
            ]),
        ),
    }
    Ok(r)
}

/// A PID operand: `Ok(None)` for an Int (a local PID: the caller's own
/// path), the process of another node, or a type error.
pub(super) fn remote_of<'v>(v: &'v Value, op: &str) -> OpResult<Option<&'v RemotePid>> {
    match v {
        Value::Int(_) => Ok(None),
        other => match RemotePid::of(other) {
            Some(rp) => Ok(Some(rp)),
            None => error(format!(
                "type error: {op} needs a PID (an Int, or a PID of another node), got {}",
                other.type_name()
            )),
        },
    }
}

/// LINK, UNLINK or EXIT_PROCESS with a process of another node.
pub(super) fn link(proc: &Proc<'_>, me: i64, to: &RemotePid) -> OpResult<()> {
    match proc.node.dist() {
        Some(d) => d.link(me, to.to_term()).or_else(error),
        None => error(format!(
            "LINK to {}: this node is not distributed",
            to.clone().value()
        )),
    }
}

pub(super) fn unlink(proc: &Proc<'_>, me: i64, to: &RemotePid) {
    if let Some(d) = proc.node.dist() {
        d.unlink(me, &to.to_term());
    }
}

pub(super) fn exit_process(
    proc: &Proc<'_>,
    me: i64,
    to: &RemotePid,
    reason: &Value,
) -> OpResult<()> {
    match proc.node.dist() {
        Some(d) => d.exit_process(me, to.to_term(), reason).or_else(error),
        None => Ok(()),
    }
}
