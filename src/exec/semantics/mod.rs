//! The complete semantics of every instruction, run from the program's
//! instruction itself, below both tiers: the interpreter's dispatch loop
//! inlines the hot cases and comes here for everything else and every slow
//! path; compiled code reaches it through the runtime helpers
//! (`engine/helpers.rs`), without going through the interpreter.
//!
//! By op family: this file dispatches and holds the stack, arithmetic,
//! comparison, variable, jump, list/object/string, exception and module
//! families; [`calls`] calls, returns and HALT; [`host`] host I/O;
//! [`procs`] the process operations; [`unwind`] exceptions unwinding to
//! their handler, and the in-place update of a fused `LOAD; …; STORE`.
//! Decoded addresses (where a jump goes) come from the decoded program's
//! [`Layout`].

pub(crate) mod calls;
mod host;
mod procs;
mod unwind;

pub(crate) use unwind::{raise, unwind, update_in_place};

/// The process being run, and the process system it lives in.
pub struct Proc<'a> {
    pub pid: i64,
    pub node: &'a ttvm_runtime::Sched<'a, Box<Context>>,
    /// The running process itself (its mailbox, for receives).
    pub me: &'a ttvm_runtime::Process<Box<Context>>,
}

use crate::bytecode::{Instr, Owner};
use crate::exec::ops::{self, Arith, Cmp};
use crate::exec::vm::ModuleState;
use crate::exec::{error, Addr, Context, Control, Dpc, FrameKind, Handler, Layout, OpResult, Vm};
use std::sync::Arc;
use ttvm_runtime::{Closure, Value};

/// Execute the instruction at program address `at` (the decoded op at
/// `ctx.pc`) with its complete semantics. Exceptions are returned
/// (`Control::Raise`), not unwound.
pub(crate) fn exec(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    at: u32,
) -> Control {
    let instr = &vm.program.code[at as usize];
    match step(ctx, layout, vm, proc, instr, at) {
        Ok(flow) => flow,
        Err(e) => Control::Raise(e),
    }
}

fn push(ctx: &mut Context, v: Value) -> OpResult<Control> {
    ctx.stack.push(v);
    Ok(Control::Next)
}

fn binary(ctx: &mut Context, name: &str) -> OpResult<(Value, Value)> {
    ctx.need(2, name)?;
    let b = ctx.stack.pop().expect("checked");
    let a = ctx.stack.pop().expect("checked");
    Ok((a, b))
}

fn arith(ctx: &mut Context, name: &str, op: Arith, float: bool) -> OpResult<Control> {
    let (a, b) = binary(ctx, name)?;
    let r = if float {
        ops::arith_f(op, &a, &b)
    } else {
        ops::arith(op, &a, &b)
    };
    match r {
        Ok(v) => push(ctx, v),
        Err(e) => {
            ctx.stack.push(a);
            ctx.stack.push(b);
            Err(e)
        }
    }
}

fn compare(ctx: &mut Context, name: &str, op: Cmp, float: bool) -> OpResult<Control> {
    let (a, b) = binary(ctx, name)?;
    let r = if float {
        ops::compare_f(op, &a, &b)
    } else {
        ops::compare(op, &a, &b)
    };
    match r {
        Ok(r) => push(ctx, Value::Int(r as i64)),
        Err(e) => {
            ctx.stack.push(a);
            ctx.stack.push(b);
            Err(e)
        }
    }
}

fn unary(
    ctx: &mut Context,
    name: &str,
    f: impl FnOnce(&Value) -> OpResult<Value>,
) -> OpResult<Control> {
    let a = ctx.pop(name)?;
    let r = f(&a)?;
    push(ctx, r)
}

fn load(ctx: &Context, slot: u32, name: &ttvm_runtime::Atom) -> OpResult<Value> {
    let base = ctx.frame().base as usize;
    match &ctx.locals[base + slot as usize] {
        Some(v) => Ok(v.clone()),
        None => error(format!("undefined variable: {name}")),
    }
}

fn step(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    instr: &Instr,
    at: u32,
) -> OpResult<Control> {
    let decoded_next = layout.dpc(Addr(at + 1)).0;
    // Error texts name the instruction by its mnemonic.
    let name = instr.opcode().mnemonic();
    match instr {
        // §3.1
        Instr::PushInt(_)
        | Instr::PushFloat(_)
        | Instr::PushStr(_)
        | Instr::PushBool(_)
        | Instr::True(_)
        | Instr::False(_)
        | Instr::Null(_) => push(ctx, instr.constant().expect("a constant push")),
        Instr::Dup(_) => {
            ctx.need(1, name)?;
            let v = ctx.stack.last().expect("checked").clone();
            push(ctx, v)
        }
        Instr::Pop(_) => ctx.pop(name).map(|_| Control::Next),
        Instr::Swap(_) => {
            ctx.need(2, name)?;
            let n = ctx.stack.len();
            ctx.stack.swap(n - 1, n - 2);
            Ok(Control::Next)
        }
        Instr::Over(_) => {
            ctx.need(2, name)?;
            let v = ctx.stack[ctx.stack.len() - 2].clone();
            push(ctx, v)
        }
        // §3.2
        Instr::Add(_)
        | Instr::Sub(_)
        | Instr::Mul(_)
        | Instr::Div(_)
        | Instr::Mod(_)
        | Instr::AddF(_)
        | Instr::SubF(_)
        | Instr::MulF(_)
        | Instr::DivF(_) => {
            let (op, float) = instr.arith().expect("an operator");
            arith(ctx, name, op, float)
        }
        Instr::Neg(_) => unary(ctx, name, ops::neg),
        Instr::Concat(_) => {
            let (a, b) = binary(ctx, name)?;
            let r = ops::concat(a, &b)?;
            push(ctx, r)
        }
        // §3.3
        Instr::Eq(_)
        | Instr::Ne(_)
        | Instr::Gt(_)
        | Instr::Lt(_)
        | Instr::Ge(_)
        | Instr::Le(_)
        | Instr::EqF(_)
        | Instr::NeF(_)
        | Instr::GtF(_)
        | Instr::LtF(_)
        | Instr::GeF(_)
        | Instr::LeF(_) => {
            let (c, float) = instr.cmp().expect("a comparison");
            compare(ctx, name, c, float)
        }
        Instr::Not(_) => unary(ctx, name, |a| Ok(Value::Bool(!a.is_truthy()))),
        Instr::And(_) => {
            let (a, b) = binary(ctx, name)?;
            push(ctx, Value::Bool(a.is_truthy() && b.is_truthy()))
        }
        Instr::Or(_) => {
            let (a, b) = binary(ctx, name)?;
            push(ctx, Value::Bool(a.is_truthy() || b.is_truthy()))
        }
        // §3.4
        Instr::Store(v) => {
            let x = ctx.pop(name)?;
            let base = ctx.frame().base as usize;
            ctx.locals[base + v.slot as usize] = Some(x);
            Ok(Control::Next)
        }
        Instr::Load(v) => {
            let x = load(ctx, v.slot, &v.name)?;
            push(ctx, x)
        }
        Instr::Delete(v) => {
            let base = ctx.frame().base as usize;
            ctx.locals[base + v.slot as usize] = None;
            Ok(Control::Next)
        }
        Instr::DumpScope(_) => {
            host::dump_scope(ctx, vm, at);
            Ok(Control::Next)
        }
        // §3.5
        Instr::Jmp(t) => Ok(Control::Jump(layout.dpc(Addr(t.0)))),
        Instr::Jz(t) => {
            let v = ctx.pop(name)?;
            Ok(if v.is_truthy() {
                Control::Jump(Dpc(decoded_next))
            } else {
                Control::Jump(layout.dpc(Addr(t.0)))
            })
        }
        Instr::Jnz(t) => {
            let v = ctx.pop(name)?;
            Ok(if v.is_truthy() {
                Control::Jump(layout.dpc(Addr(t.0)))
            } else {
                Control::Jump(Dpc(decoded_next))
            })
        }
        Instr::Halt(_) => Ok(calls::halt(ctx, layout, vm)),
        // §3.6
        Instr::Call(c) => {
            let p = c.proto.as_ref().expect("resolved");
            let tail = vm.program.tail_call(at);
            calls::call(
                ctx,
                vm,
                at,
                c.target,
                &c.param_slots,
                p.frame_size,
                tail,
                decoded_next,
            )?;
            Ok(Control::Jump(layout.dpc(Addr(c.target))))
        }
        Instr::Ret(_) => Ok(calls::ret(ctx, layout, vm, proc)),
        Instr::MakeFunction(c) => push(ctx, Value::Function(c.proto.clone().expect("resolved"))),
        Instr::Capture(v) => {
            let x = load(ctx, v.slot, &v.name)?;
            let depth = ctx.frames.len() as u32;
            ctx.captures.push((depth, v.name.clone(), x));
            Ok(Control::Next)
        }
        Instr::MakeLambda(c) => {
            let proto = c.proto.clone().expect("resolved");
            let depth = ctx.frames.len() as u32;
            let from = ctx
                .captures
                .iter()
                .position(|c| c.0 == depth)
                .unwrap_or(ctx.captures.len());
            let captured: Vec<_> = ctx.captures.drain(from..).map(|(_, n, v)| (n, v)).collect();
            let layout = vm.program.layout_at(proto.entry);
            let capture_slots = captured
                .iter()
                .map(|(n, _)| layout.slot_of(n).unwrap_or(u32::MAX))
                .collect();
            push(
                ctx,
                Value::Closure(Arc::new(Closure {
                    proto,
                    captured: captured.into(),
                    capture_slots,
                })),
            )
        }
        Instr::CallFunction(_) => {
            let tail = vm.program.tail_call(at);
            let entry = calls::call_function(ctx, vm, layout, at, tail, decoded_next)?;
            Ok(Control::Jump(Dpc(entry)))
        }
        // §3.7
        Instr::MakeList(n) => {
            let n = n.0 as usize;
            ctx.need(n, name)?;
            let from = ctx.stack.len() - n;
            let items: Vec<Value> = ctx.stack.drain(from..).collect();
            push(ctx, Value::list(items))
        }
        Instr::Len(_) => unary(ctx, name, ops::len),
        Instr::Index(_) => {
            let (x, i) = binary(ctx, name)?;
            match ops::index(&x, &i) {
                Ok(v) => push(ctx, v),
                Err(e) => {
                    ctx.stack.push(x);
                    ctx.stack.push(i);
                    Err(e)
                }
            }
        }
        Instr::Append(_) => {
            let (list, v) = binary(ctx, name)?;
            let r = ops::append(list, v)?;
            push(ctx, r)
        }
        Instr::SetIndex(_) => {
            ctx.need(3, name)?;
            let v = ctx.stack.pop().expect("checked");
            let i = ctx.stack.pop().expect("checked");
            let list = ctx.stack.pop().expect("checked");
            let r = ops::set_index(list, &i, v)?;
            push(ctx, r)
        }
        Instr::MakeObject(_) => push(ctx, ops::new_object()),
        Instr::SetField(f) => {
            let (obj, v) = binary(ctx, name)?;
            let r = ops::set_field(obj, &f.0, v)?;
            push(ctx, r)
        }
        Instr::GetField(f) => unary(ctx, name, |o| ops::get_field(o, &f.0)),
        Instr::HasField(f) => unary(ctx, name, |o| ops::has_field(o, &f.0)),
        Instr::DeleteField(f) => {
            let obj = ctx.pop(name)?;
            let r = ops::delete_field(obj, &f.0)?;
            push(ctx, r)
        }
        Instr::Keys(_) => unary(ctx, name, ops::keys),
        Instr::ToStr(_) => unary(ctx, name, |v| {
            Ok(match v {
                Value::Str(_) => v.clone(),
                other => Value::str(ops::text(other)?),
            })
        }),
        Instr::ToInt(_) => unary(ctx, name, ops::to_int),
        Instr::ToFloat(_) => unary(ctx, name, ops::to_float),
        // §3.8
        Instr::Try(t) => {
            let depth = ctx.frames.len() as u32;
            ctx.handlers.install(Handler {
                try_pc: at,
                catch: layout.dpc(Addr(t.0)).0,
                stack_len: ctx.stack.len() as u32,
                depth,
            });
            Ok(Control::Next)
        }
        Instr::Throw(_) => {
            let v = ctx.pop(name)?;
            Err(v.into_exception())
        }
        Instr::Catch(_) => Ok(Control::Next),
        Instr::EndTry(Owner(owner)) => {
            if let Some(t) = owner {
                ctx.handlers.end(ctx.frames.len() as u32, *t);
            }
            Ok(Control::Next)
        }
        // §3.9
        Instr::Import(imp) => import(ctx, layout, vm, imp.module, at, decoded_next),
        Instr::Export(v) => {
            let x = load(ctx, v.slot, &v.name)?;
            // A name the running module does not export (an EXPORT in a
            // function of another module, run during this one) binds nothing.
            if let Some((m, values)) = ctx.exports.last_mut() {
                let module = &vm.program.modules[*m as usize];
                if let Some(&i) = module.export_index.get(&v.name) {
                    values[i as usize] = Some(x);
                }
            }
            Ok(Control::Next)
        }
        // §3.10
        Instr::Print(_)
        | Instr::ReadLine(_)
        | Instr::ReadFile(_)
        | Instr::WriteFile(_)
        | Instr::AppendFile(_)
        | Instr::FileExists(_)
        | Instr::DeleteFile(_)
        | Instr::GetEnv(_)
        | Instr::GetArgs(_)
        | Instr::GetTime(_)
        | Instr::NowMs(_)
        | Instr::Exit(_) => host::exec(ctx, vm, instr),
        // §4
        Instr::SelfPid(_) => push(ctx, Value::Int(proc.pid)),
        Instr::Yield(_) => {
            ctx.pc = Dpc(decoded_next);
            Ok(Control::Yielded)
        }
        Instr::Spawn(_)
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
        | Instr::ExitProcess(_) => procs::exec(ctx, layout, vm, proc, instr, at),
    }
}

/// IMPORT: run the module once (in a frame of its own), then bind its
/// exports here.
fn import(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    m: u32,
    at: u32,
    next: u32,
) -> OpResult<Control> {
    let state = vm.modules.lock().unwrap_or_else(|e| e.into_inner())[m as usize].clone();
    match state {
        ModuleState::Done(exports) => {
            calls::bind_exports(ctx, vm, at, &exports);
            Ok(Control::Jump(Dpc(next)))
        }
        ModuleState::Running => error(format!(
            "module {} is still being loaded",
            vm.program.files[vm.program.modules[m as usize].file as usize].name
        )),
        ModuleState::NotRun => {
            let start = vm.program.modules[m as usize].start;
            let size = vm.program.layout_at(start).names.len() as u32;
            let slot_limit = vm.config.max_frame_slots;
            if ctx.frames.len() >= vm.config.max_call_depth || ctx.slots_exceeded(size, slot_limit)
            {
                return error("stack overflow");
            }
            vm.modules.lock().unwrap_or_else(|e| e.into_inner())[m as usize] = ModuleState::Running;
            let n = vm.program.modules[m as usize].exports.len();
            ctx.exports.push((m, vec![None; n]));
            ctx.push_frame(next, at, start, size, FrameKind::Module(m), slot_limit);
            Ok(Control::Jump(layout.dpc(Addr(start))))
        }
    }
}
