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

use crate::bytecode::{Instr, Opcode, Owner};
use crate::exec::ops::{self, Arith, Cmp};
use crate::exec::vm::ModuleState;
use crate::exec::{error, Addr, Context, Control, Dpc, FrameKind, Handler, Layout, OpResult, Vm};
use std::sync::Arc;
use ttvm_runtime::{Atom, Closure, Value};

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
            ctx.need(2, name)?;
            let n = ctx.stack.len();
            if matches!(&ctx.stack[n - 2], Value::List(l) if l.len() < ops::MAX_LIST_LEN) {
                // Cannot fail now: in place when stored back.
                release_for_store(ctx, vm, at, 2);
            }
            let (list, v) = binary(ctx, name)?;
            let r = ops::append(list, v)?;
            push(ctx, r)
        }
        Instr::SetIndex(_) => {
            ctx.need(3, name)?;
            let n = ctx.stack.len();
            if let (Value::List(l), Value::Int(i)) = (&ctx.stack[n - 3], &ctx.stack[n - 2]) {
                if (0..l.len() as i64).contains(i) {
                    // Cannot fail now: in place when stored back.
                    release_for_store(ctx, vm, at, 3);
                }
            }
            let v = ctx.stack.pop().expect("checked");
            let i = ctx.stack.pop().expect("checked");
            let list = ctx.stack.pop().expect("checked");
            let r = ops::set_index(list, &i, v)?;
            push(ctx, r)
        }
        Instr::MakeObject(_) => push(ctx, ops::new_object()),
        Instr::SetField(f) => set_field(ctx, vm, at, f.0.as_ref()),
        Instr::GetField(f) => read_field(ctx, name, f.0.as_ref(), ops::get_field),
        Instr::HasField(f) => read_field(ctx, name, f.0.as_ref(), ops::has_field),
        Instr::DeleteField(f) => delete_field(ctx, vm, at, f.0.as_ref()),
        Instr::Keys(_) => unary(ctx, name, ops::keys),
        Instr::ToStr(_) => unary(ctx, name, |v| {
            Ok(match v {
                Value::Str(_) => v.clone(),
                other => Value::str(ops::text(other)?),
            })
        }),
        Instr::ToInt(_) => unary(ctx, name, ops::to_int),
        Instr::ToFloat(_) => unary(ctx, name, ops::to_float),
        // Issue 14: library operations, one arm per group (`library::call`).
        Instr::Substr(_)
        | Instr::Find(_)
        | Instr::Split(_)
        | Instr::Join(_)
        | Instr::Replace(_)
        | Instr::Trim(_)
        | Instr::Upper(_)
        | Instr::Lower(_)
        | Instr::StartsWith(_)
        | Instr::EndsWith(_)
        | Instr::Chr(_)
        | Instr::Ord(_)
        | Instr::Repeat(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
        Instr::Sqrt(_)
        | Instr::Pow(_)
        | Instr::Exp(_)
        | Instr::Log(_)
        | Instr::Sin(_)
        | Instr::Cos(_)
        | Instr::Atan2(_)
        | Instr::Floor(_)
        | Instr::Ceil(_)
        | Instr::Round(_)
        | Instr::Abs(_)
        | Instr::Min(_)
        | Instr::Max(_)
        | Instr::Format(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
        Instr::Slice(_)
        | Instr::Reverse(_)
        | Instr::Sort(_)
        | Instr::Contains(_)
        | Instr::IndexOf(_)
        | Instr::Range(_)
        | Instr::Extend(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
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
        | Instr::PrintErr(_)
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
        // Issue 14, part B: JSON, CSV, HASH, TinyTotVM's host operations.
        Instr::JsonParse(_)
        | Instr::JsonStringify(_)
        | Instr::CsvParse(_)
        | Instr::CsvWrite(_)
        | Instr::Hash(_)
        | Instr::FormatTime(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
        Instr::SetEnv(_)
        | Instr::FileSize(_)
        | Instr::ListDir(_)
        | Instr::ReadBytes(_)
        | Instr::WriteBytes(_)
        | Instr::Exec(_)
        | Instr::ExecCapture(_)
        | Instr::ReadChar(_)
        | Instr::ReadInput(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
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

/// A library operation (`library::call`) at program address `at`; when the
/// next instruction stores the result back into the variable its first
/// operand came from, that variable's reference is dropped first, so the
/// operation can change the value in place (see [`release_for_store`]).
pub(crate) fn library(ctx: &mut Context, vm: &Vm, at: u32, op: Opcode) -> OpResult {
    let n = op.info().pops as usize;
    let caps = crate::library::Caps {
        sandbox: vm.config.sandbox,
        console: Some(vm),
    };
    let released = if ctx.stack.len() >= n && n > 0 {
        release_for_store(ctx, vm, at, n)
    } else {
        None
    };
    let r = crate::library::call(op, &mut ctx.stack, &caps);
    if let (Err(_), Some(cell)) = (&r, released) {
        // The operation left its operands as they were: give the
        // variable its value back.
        let v = ctx.stack[ctx.stack.len() - n].clone();
        ctx.locals[cell] = Some(v);
    }
    r
}

/// When the instruction after `at` is `STORE x` (in the same block, so
/// nothing runs in between) and `x` holds the very heap value that is the
/// operand `depth` places from the top of the stack, drop `x`'s reference
/// (the STORE overwrites it anyway): an operation that changes that
/// operand then finds it unshared and changes it in place, so
/// `LOAD m; …; SET_FIELD; STORE m` does not copy `m`. The cell released,
/// for the caller to restore if the operation fails.
pub(crate) fn release_for_store(
    ctx: &mut Context,
    vm: &Vm,
    at: u32,
    depth: usize,
) -> Option<usize> {
    let x = store_after(&vm.program, at)?;
    let cell = ctx.frame().base as usize + x as usize;
    let v = ctx.stack.get(ctx.stack.len().checked_sub(depth)?)?;
    if !same_heap(ctx.locals[cell].as_ref()?, v) {
        return None;
    }
    ctx.locals[cell] = None;
    Some(cell)
}

/// The slot of `STORE x` right after `at` in the same block.
pub(crate) fn store_after(p: &crate::bytecode::Program, at: u32) -> Option<u32> {
    let next = at as usize + 1;
    match p.code.get(next) {
        Some(Instr::Store(x)) if !p.block_start[next] => Some(x.slot),
        _ => None,
    }
}

/// Whether `a` and `b` are the same container or string (one allocation).
fn same_heap(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::List(x), Value::List(y)) => Arc::ptr_eq(x, y),
        (Value::Object(x), Value::Object(y)) => Arc::ptr_eq(x, y),
        (Value::Str(x), Value::Str(y)) => Arc::ptr_eq(x, y),
        _ => false,
    }
}

/// The operands of a field instruction: the object `depth` from the top
/// and the key (the operand, or a Str on top of the stack).
fn key_of<'a>(ctx: &'a Context, op: &str, name: Option<&'a Atom>) -> OpResult<ops::FieldKey<'a>> {
    match name {
        Some(a) => Ok(ops::FieldKey::Name(a)),
        None => ops::field_key(op, ctx.stack.last().expect("checked")),
    }
}

/// `SET_FIELD [key]`: `obj v [key] -- obj'`, in place when the object is
/// stored back into the variable it came from (see [`release_for_store`]).
fn set_field(ctx: &mut Context, vm: &Vm, at: u32, name: Option<&Atom>) -> OpResult<Control> {
    let n = 2 + name.is_none() as usize;
    ctx.need(n, Opcode::SetField.mnemonic())?;
    let key = key_of(ctx, Opcode::SetField.mnemonic(), name)?;
    ops::can_set_field(&ctx.stack[ctx.stack.len() - n], key)?;
    release_for_store(ctx, vm, at, n);
    let key = match name {
        Some(a) => KeyHold::Name(a),
        None => KeyHold::Run(ctx.stack.pop().expect("checked")),
    };
    let v = ctx.stack.pop().expect("checked");
    let obj = ctx.stack.pop().expect("checked");
    let r = ops::set_field(obj, key.get(), v).expect("checked: an Object, a Str key, room");
    push(ctx, r)
}

/// `DELETE_FIELD [key]`: `obj [key] -- obj'`, in place like SET_FIELD.
fn delete_field(ctx: &mut Context, vm: &Vm, at: u32, name: Option<&Atom>) -> OpResult<Control> {
    let n = 1 + name.is_none() as usize;
    ctx.need(n, Opcode::DeleteField.mnemonic())?;
    let key = key_of(ctx, Opcode::DeleteField.mnemonic(), name)?;
    let obj = &ctx.stack[ctx.stack.len() - n];
    if !matches!(obj, Value::Object(_)) {
        return ops::delete_field(obj.clone(), key).map(|_| Control::Next);
    }
    release_for_store(ctx, vm, at, n);
    let key = match name {
        Some(a) => KeyHold::Name(a),
        None => KeyHold::Run(ctx.stack.pop().expect("checked")),
    };
    let obj = ctx.stack.pop().expect("checked");
    let r = ops::delete_field(obj, key.get()).expect("checked: an Object");
    push(ctx, r)
}

/// `GET_FIELD [key]`, `HAS_FIELD [key]`: `obj [key] -- v`.
fn read_field(
    ctx: &mut Context,
    op: &str,
    name: Option<&Atom>,
    f: fn(&Value, ops::FieldKey<'_>) -> OpResult<Value>,
) -> OpResult<Control> {
    let n = 1 + name.is_none() as usize;
    ctx.need(n, op)?;
    let key = key_of(ctx, op, name)?;
    let r = f(&ctx.stack[ctx.stack.len() - n], key)?;
    ctx.stack.truncate(ctx.stack.len() - n);
    push(ctx, r)
}

/// A key taken off the stack (or the operand), kept while the object is
/// changed.
enum KeyHold<'a> {
    Name(&'a Atom),
    Run(Value),
}

impl KeyHold<'_> {
    fn get(&self) -> ops::FieldKey<'_> {
        match self {
            KeyHold::Name(a) => ops::FieldKey::Name(a),
            KeyHold::Run(Value::Str(s)) => ops::FieldKey::Run(s),
            KeyHold::Run(_) => unreachable!("checked to be a Str"),
        }
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
