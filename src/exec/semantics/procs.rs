//! Process instructions (SPEC §4): SELF, YIELD, spawn, send, the receive primitives,
//! registry, links, monitors and exit signals, on top of the runtime's
//! [`Node`](ttvm_runtime::Node).

use super::{host, Proc};
use crate::bytecode::Instr;
use crate::exec::{error, Addr, Context, Control, Dpc, Layout, OpResult, Vm};
use std::time::{Duration, Instant};
use ttvm_runtime::{Atom, Got, Str, Value};

fn pid_of(v: &Value, op: &str) -> OpResult<i64> {
    match v {
        Value::Int(p) => Ok(*p),
        other => error(format!(
            "type error: {op} needs an Int PID, got {}",
            other.type_name()
        )),
    }
}

/// A process name operand: the instruction's own (an atom of the program
/// text) or a run-time Str, used as it is. (Interning a run-time string
/// as an `Atom` kept every name ever looked up for the program's life:
/// issue 12, finding 6.)
enum NameArg {
    Lit(Atom),
    Run(std::sync::Arc<Str>),
}

impl NameArg {
    fn as_str(&self) -> &str {
        match self {
            NameArg::Lit(a) => a.as_str(),
            NameArg::Run(s) => s.as_str(),
        }
    }
}

impl std::fmt::Display for NameArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn name_of(v: Value, op: &str) -> OpResult<NameArg> {
    match v {
        Value::Str(s) if !s.is_empty() => Ok(NameArg::Run(s)),
        other => error(format!(
            "type error: {op} needs a name (a non-empty Str), got {}",
            describe(&other)
        )),
    }
}

fn name_operand(ctx: &mut Context, lit: &Option<Atom>, op: &str) -> OpResult<NameArg> {
    match lit {
        Some(a) => Ok(NameArg::Lit(a.clone())),
        None => name_of(ctx.pop(op)?, op),
    }
}

/// A process of its own was killed by a signal it caused: stop now.
fn check_killed(proc: &mut Proc<'_>) -> Option<Control> {
    proc.node
        .pending_exit(proc.me)
        .map(|reason| Control::Killed(Box::new(reason)))
}

/// Whether [`exec`] runs `instr` (the §4 instructions `step` sends here;
/// compiled code's `process` helper takes the same ones).
pub(crate) fn handles(instr: &Instr) -> bool {
    matches!(
        instr,
        Instr::SelfPid(_)
            | Instr::Yield(_)
            | Instr::Spawn(_)
            | Instr::SpawnLink(_)
            | Instr::Send(_)
            | Instr::SendNamed(_)
            | Instr::Receive(_)
            | Instr::ReceiveMatch(_)
            | Instr::ReceiveAfter(_)
            | Instr::ReceiveMatchAfter(_)
            | Instr::Sleep(_)
            | Instr::Register(_)
            | Instr::Unregister(_)
            | Instr::Whereis(_)
            | Instr::Link(_)
            | Instr::Unlink(_)
            | Instr::Monitor(_)
            | Instr::Demonitor(_)
            | Instr::TrapExit(_)
            | Instr::ExitProcess(_)
            | Instr::NodeOf(_)
            | Instr::Nodes(_)
    )
}

pub(crate) fn exec(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    instr: &Instr,
    at: u32,
) -> OpResult<Control> {
    let op = instr.opcode().mnemonic();
    let pid = proc.pid;
    let next = layout.dpc(Addr(at + 1)).0;
    match instr {
        Instr::SelfPid(_) => ctx.stack.push(Value::Int(pid)),
        Instr::Yield(_) => {
            ctx.pc = Dpc(next);
            return Ok(Control::Yielded);
        }
        Instr::Spawn(_) | Instr::SpawnLink(_) => {
            let link = matches!(instr, Instr::SpawnLink(_));
            // [node, module, function, args]: by name, here or on another
            // node (issue 17).
            if super::spawn::is_by_name(ctx.stack.last()) {
                return super::spawn::by_name(ctx, layout, vm, proc, link, op);
            }
            let new = new_process(ctx, layout, vm, at, op)?;
            let link = link.then_some(pid);
            let child = proc.node.spawn(new, link).or_else(error)?;
            ctx.stack.push(Value::Int(child));
        }
        Instr::Send(lit) => {
            ctx.need(1 + lit.0.is_none() as usize, op)?;
            let to = match lit.0 {
                Some(to) => to,
                None => match ctx.stack.last() {
                    Some(&Value::Int(to)) => {
                        ctx.stack.pop();
                        to
                    }
                    // A PID of another node, or [name, node] (issue 17).
                    _ => return super::dist::send_op(ctx, proc, pid),
                },
            };
            let msg = ctx.pop(op)?;
            proc.node.send(pid, to, msg);
        }
        Instr::NodeOf(_) => {
            let v = ctx.pop(op)?;
            ctx.stack.push(super::dist::node_of(proc, &v)?);
        }
        Instr::Nodes(_) => ctx.stack.push(super::dist::nodes(proc)),
        Instr::SendNamed(lit) => {
            ctx.need(1 + lit.0.is_none() as usize, op)?;
            let name = name_operand(ctx, &lit.0, op)?;
            let to = proc.node.whereis(name.as_str());
            if to == 0 {
                return error(format!("no process registered as {name}"));
            }
            let msg = ctx.pop(op)?;
            proc.node.send(pid, to, msg);
        }
        Instr::Receive(_)
        | Instr::ReceiveMatch(_)
        | Instr::ReceiveAfter(_)
        | Instr::ReceiveMatchAfter(_) => {
            let with_pattern =
                matches!(instr, Instr::ReceiveMatch(_) | Instr::ReceiveMatchAfter(_));
            let with_timeout =
                matches!(instr, Instr::ReceiveAfter(_) | Instr::ReceiveMatchAfter(_));
            let n = with_pattern as usize + with_timeout as usize;
            ctx.need(n, op)?;
            let timeout = match with_timeout {
                true => Some(host::timeout_ms(ctx.stack.last().expect("checked"))?),
                false => None,
            };
            let pattern = with_pattern.then(|| ctx.stack[ctx.stack.len() - n].clone());
            // The operands stay on the stack until the receive completes: a
            // waiting receive runs again when the process is woken. A
            // message is pushed on top of them, then moved down.
            match proc
                .node
                .receive_to(proc.me, pattern.as_ref(), timeout, &mut ctx.stack)
            {
                Got::Message => {
                    if n > 0 {
                        let len = ctx.stack.len();
                        ctx.stack.swap(len - 1 - n, len - 1);
                        ctx.stack.truncate(len - n);
                    }
                    if with_timeout {
                        ctx.stack.push(Value::Bool(true));
                    }
                }
                Got::TimedOut => {
                    ctx.stack.truncate(ctx.stack.len() - n);
                    ctx.stack.push(Value::Null);
                    ctx.stack.push(Value::Bool(false));
                }
                Got::Wait => return Ok(Control::Waiting),
            }
        }
        Instr::Sleep(_) => {
            let ms = host::timeout_ms(&ctx.pop(op)?)?;
            proc.node
                .sleep(proc.me, Instant::now() + Duration::from_millis(ms));
            ctx.pc = Dpc(next);
            return Ok(Control::Waiting);
        }
        Instr::Register(lit) => {
            let name = name_operand(ctx, &lit.0, op)?;
            proc.node.register(pid, name.as_str()).or_else(error)?;
        }
        Instr::Unregister(lit) => {
            let name = name_operand(ctx, &lit.0, op)?;
            proc.node.unregister(name.as_str()).or_else(error)?;
        }
        Instr::Whereis(lit) => {
            let name = name_operand(ctx, &lit.0, op)?;
            ctx.stack.push(Value::Int(proc.node.whereis(name.as_str())));
        }
        Instr::Link(lit) => {
            let other = match lit.0 {
                Some(p) => p,
                None => {
                    let v = ctx.pop(op)?;
                    match super::dist::remote_of(&v, op)? {
                        Some(remote) => {
                            super::dist::link(proc, pid, remote)?;
                            return Ok(Control::Next);
                        }
                        None => pid_of(&v, op)?,
                    }
                }
            };
            proc.node.link(pid, other);
            if let Some(stop) = check_killed(proc) {
                return Ok(stop);
            }
        }
        Instr::Unlink(lit) => {
            let other = match lit.0 {
                Some(p) => p,
                None => {
                    let v = ctx.pop(op)?;
                    match super::dist::remote_of(&v, op)? {
                        Some(remote) => {
                            super::dist::unlink(proc, pid, remote);
                            return Ok(Control::Next);
                        }
                        None => pid_of(&v, op)?,
                    }
                }
            };
            proc.node.unlink(pid, other);
            // An exit signal along the link that came before the UNLINK
            // ended this process: it stops here, never past the UNLINK.
            if let Some(stop) = check_killed(proc) {
                return Ok(stop);
            }
        }
        Instr::Monitor(lit) => {
            let other = match lit.0 {
                Some(p) => Value::Int(p),
                None => ctx.pop(op)?,
            };
            let r = match other {
                Value::Int(other) => proc.node.monitor(pid, other),
                // A process of another node (issue 17).
                other => super::dist::monitor(proc, pid, &other)?,
            };
            ctx.stack.push(Value::Int(r));
        }
        Instr::Demonitor(lit) => {
            let r = match lit.0 {
                Some(r) => r,
                None => match ctx.pop(op)? {
                    Value::Int(r) => r,
                    other => {
                        return error(format!(
                            "type error: DEMONITOR needs an Int monitor reference, got {}",
                            other.type_name()
                        ))
                    }
                },
            };
            let remote = proc.node.dist().is_some_and(|d| d.demonitor(pid, r));
            if !remote {
                proc.node.demonitor(pid, r);
            }
        }
        Instr::TrapExit(_) => {
            let on = match ctx.pop(op)? {
                Value::Bool(b) => b,
                other => {
                    return error(format!(
                        "type error: TRAP_EXIT needs a Bool, got {}",
                        other.type_name()
                    ))
                }
            };
            proc.node.set_trap_exit(pid, on);
        }
        Instr::ExitProcess(_) => {
            ctx.need(2, op)?;
            let reason = ctx.pop(op)?;
            let target = ctx.pop(op)?;
            let remote = super::dist::remote_of(&target, op)?;
            if !matches!(reason, Value::Str(_)) {
                return error(format!(
                    "type error: EXIT_PROCESS needs a Str reason, got {reason}"
                ));
            }
            if let Some(remote) = remote {
                super::dist::exit_process(proc, pid, remote, &reason)?;
                return Ok(Control::Next);
            }
            let target = pid_of(&target, op)?;
            proc.node.exit_signal(pid, target, reason);
            if let Some(stop) = check_killed(proc) {
                return Ok(stop);
            }
        }
        other => unreachable!("{} is not a process instruction", other.opcode().mnemonic()),
    }
    Ok(Control::Next)
}

/// A value as an error message shows it: its type, and the empty string
/// as such.
fn describe(v: &Value) -> String {
    match v {
        Value::Str(s) if s.is_empty() => "an empty Str".to_string(),
        other => other.type_name().to_string(),
    }
}

/// The execution context of a process started by SPAWN (SPEC §4.3).
///
/// Boxed from the start: a context is 192 bytes, and moving it through
/// `Result`s and into its box cost a fifth of a spawn in memory copies.
fn new_process(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    at: u32,
    op: &str,
) -> OpResult<Box<Context>> {
    let p = &vm.program;
    let v = ctx.pop(op)?;
    let start = |entry: u32| {
        let size = p.layout_at(entry).names.len() as u32;
        Context::boxed(layout.dpc(Addr(entry)), Addr(entry), size)
    };
    match &v {
        Value::Function(f) => bind(ctx, start(f.entry), &f.param_slots, None, v.clone(), op),
        Value::Closure(c) => bind(
            ctx,
            start(c.proto.entry),
            &c.proto.param_slots,
            Some(c),
            v.clone(),
            op,
        ),
        Value::Str(s) => {
            if let Some(label) = p.find_label(at, s) {
                return Ok(start(label));
            }
            if let Some(&m) = p.spawn_files.get(s.as_str()) {
                return Ok(start(p.modules[m as usize].start));
            }
            let builtins = &p.modules[p.builtin_module as usize].labels;
            let body = match s.as_str() {
                "hello_world" | "counter" => s.as_str(),
                _ => "default",
            };
            let mut c = start(builtins[body]);
            c.stack.push(v.clone());
            Ok(c)
        }
        other => {
            let msg = format!(
                "type error: {op} needs a Function, Closure, Str or [node, module, function, args], got {}",
                other.type_name()
            );
            ctx.stack.push(v);
            error(msg)
        }
    }
}

/// Pop a function's arguments into the new process's bottom frame (after
/// a closure's captured variables, as a call does).
fn bind(
    ctx: &mut Context,
    mut new: Box<Context>,
    param_slots: &[u32],
    closure: Option<&ttvm_runtime::Closure>,
    f: Value,
    op: &str,
) -> OpResult<Box<Context>> {
    let n = param_slots.len();
    if ctx.stack.len() < n {
        ctx.stack.push(f);
        return error(format!("stack underflow in {op}"));
    }
    let from = ctx.stack.len() - n;
    for (&slot, v) in param_slots.iter().zip(ctx.stack.drain(from..)) {
        new.locals[slot as usize] = Some(v);
    }
    if let Some(c) = closure {
        crate::exec::bind_captures(&mut new.locals, c);
    }
    Ok(new)
}
