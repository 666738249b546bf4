//! The complete semantics of every instruction, run from the program's
//! instruction itself. The dispatch loop inlines the hot cases; everything
//! else, and every slow path of an inlined case, comes here.

use super::{calls, host, procs, Code, Proc};
use crate::bytecode::{Instr, Opcode, Owner};
use crate::exec::ops::{self, Arith, Cmp};
use crate::exec::vm::ModuleState;
use crate::exec::{error, Addr, Context, Control, Dpc, FrameKind, Handler, OpResult, Vm};
use std::sync::Arc;
use ttvm_runtime::{Atom, Closure, Value};

/// Execute the instruction at program address `at` (the decoded op at
/// `ctx.pc`).
pub(super) fn exec(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    at: u32,
) -> Control {
    let instr = &vm.program.code[at as usize];
    match step(ctx, code, vm, proc, instr, at) {
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

fn arith(ctx: &mut Context, op: Arith, float: bool) -> OpResult<Control> {
    let (a, b) = binary(ctx, op.name(float))?;
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

fn compare(ctx: &mut Context, op: Cmp, float: bool) -> OpResult<Control> {
    let (a, b) = binary(ctx, op.name(float))?;
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
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    instr: &Instr,
    at: u32,
) -> OpResult<Control> {
    let decoded_next = code.layout.dpc(Addr(at + 1)).0;
    match instr {
        // §3.1
        Instr::PushInt(n) => push(ctx, Value::Int(*n)),
        Instr::PushFloat(f) => push(ctx, Value::Float(*f)),
        Instr::PushStr(s) => push(ctx, Value::Str(s.0.clone())),
        Instr::PushBool(b) => push(ctx, Value::Bool(*b)),
        Instr::True(_) => push(ctx, Value::Bool(true)),
        Instr::False(_) => push(ctx, Value::Bool(false)),
        Instr::Null(_) => push(ctx, Value::Null),
        Instr::Dup(_) => {
            ctx.need(1, "DUP")?;
            let v = ctx.stack.last().expect("checked").clone();
            push(ctx, v)
        }
        Instr::Pop(_) => ctx.pop("POP").map(|_| Control::Next),
        Instr::Swap(_) => {
            ctx.need(2, "SWAP")?;
            let n = ctx.stack.len();
            ctx.stack.swap(n - 1, n - 2);
            Ok(Control::Next)
        }
        Instr::Over(_) => {
            ctx.need(2, "OVER")?;
            let v = ctx.stack[ctx.stack.len() - 2].clone();
            push(ctx, v)
        }
        // §3.2
        Instr::Add(_) => arith(ctx, Arith::Add, false),
        Instr::Sub(_) => arith(ctx, Arith::Sub, false),
        Instr::Mul(_) => arith(ctx, Arith::Mul, false),
        Instr::Div(_) => arith(ctx, Arith::Div, false),
        Instr::Mod(_) => arith(ctx, Arith::Mod, false),
        Instr::AddF(_) => arith(ctx, Arith::Add, true),
        Instr::SubF(_) => arith(ctx, Arith::Sub, true),
        Instr::MulF(_) => arith(ctx, Arith::Mul, true),
        Instr::DivF(_) => arith(ctx, Arith::Div, true),
        Instr::Neg(_) => unary(ctx, "NEG", ops::neg),
        Instr::Concat(_) => {
            let (a, b) = binary(ctx, "CONCAT")?;
            let r = ops::concat(a, &b)?;
            push(ctx, r)
        }
        // §3.3
        Instr::Eq(_) => compare(ctx, Cmp::Eq, false),
        Instr::Ne(_) => compare(ctx, Cmp::Ne, false),
        Instr::Gt(_) => compare(ctx, Cmp::Gt, false),
        Instr::Lt(_) => compare(ctx, Cmp::Lt, false),
        Instr::Ge(_) => compare(ctx, Cmp::Ge, false),
        Instr::Le(_) => compare(ctx, Cmp::Le, false),
        Instr::EqF(_) => compare(ctx, Cmp::Eq, true),
        Instr::NeF(_) => compare(ctx, Cmp::Ne, true),
        Instr::GtF(_) => compare(ctx, Cmp::Gt, true),
        Instr::LtF(_) => compare(ctx, Cmp::Lt, true),
        Instr::GeF(_) => compare(ctx, Cmp::Ge, true),
        Instr::LeF(_) => compare(ctx, Cmp::Le, true),
        Instr::Not(_) => unary(ctx, "NOT", |a| Ok(Value::Bool(!a.is_truthy()))),
        Instr::And(_) => {
            let (a, b) = binary(ctx, "AND")?;
            push(ctx, Value::Bool(a.is_truthy() && b.is_truthy()))
        }
        Instr::Or(_) => {
            let (a, b) = binary(ctx, "OR")?;
            push(ctx, Value::Bool(a.is_truthy() || b.is_truthy()))
        }
        // §3.4
        Instr::Store(v) => {
            let x = ctx.pop("STORE")?;
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
        Instr::Jmp(t) => Ok(Control::Jump(code.layout.dpc(Addr(t.0)))),
        Instr::Jz(t) => {
            let v = ctx.pop("JZ")?;
            Ok(if v.is_truthy() {
                Control::Jump(Dpc(decoded_next))
            } else {
                Control::Jump(code.layout.dpc(Addr(t.0)))
            })
        }
        Instr::Jnz(t) => {
            let v = ctx.pop("JNZ")?;
            Ok(if v.is_truthy() {
                Control::Jump(code.layout.dpc(Addr(t.0)))
            } else {
                Control::Jump(Dpc(decoded_next))
            })
        }
        Instr::Halt(_) => Ok(calls::halt(ctx, code, vm)),
        // §3.6
        Instr::Call(c) => {
            let p = c.proto.as_ref().expect("resolved");
            let tail = matches!(vm.program.code.get(at as usize + 1), Some(Instr::Ret(_)));
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
            Ok(Control::Jump(code.layout.dpc(Addr(c.target))))
        }
        Instr::Ret(_) => Ok(calls::ret(ctx, code, vm, proc)),
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
            let tail = matches!(vm.program.code.get(at as usize + 1), Some(Instr::Ret(_)));
            let entry = calls::call_function(ctx, vm, code, at, tail, decoded_next)?;
            Ok(Control::Jump(Dpc(entry)))
        }
        // §3.7
        Instr::MakeList(n) => {
            let n = n.0 as usize;
            ctx.need(n, "MAKE_LIST")?;
            let from = ctx.stack.len() - n;
            let items: Vec<Value> = ctx.stack.drain(from..).collect();
            push(ctx, Value::list(items))
        }
        Instr::Len(_) => unary(ctx, "LEN", ops::len),
        Instr::Index(_) => {
            let (x, i) = binary(ctx, "INDEX")?;
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
            ctx.need(2, "APPEND")?;
            let n = ctx.stack.len();
            if matches!(&ctx.stack[n - 2], Value::List(l) if l.len() < ops::MAX_LIST_LEN) {
                // Cannot fail now: in place when stored back.
                release_for_store(ctx, vm, at, 2);
            }
            let (list, v) = binary(ctx, "APPEND")?;
            let r = ops::append(list, v)?;
            push(ctx, r)
        }
        Instr::SetIndex(_) => {
            ctx.need(3, "SET_INDEX")?;
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
        Instr::GetField(f) => read_field(ctx, "GET_FIELD", f.0.as_ref(), ops::get_field),
        Instr::HasField(f) => read_field(ctx, "HAS_FIELD", f.0.as_ref(), ops::has_field),
        Instr::DeleteField(f) => delete_field(ctx, vm, at, f.0.as_ref()),
        Instr::Keys(_) => unary(ctx, "KEYS", ops::keys),
        Instr::ToStr(_) => unary(ctx, "TO_STR", |v| {
            Ok(match v {
                Value::Str(_) => v.clone(),
                other => Value::str(ops::text(other)?),
            })
        }),
        Instr::ToInt(_) => unary(ctx, "TO_INT", ops::to_int),
        Instr::ToFloat(_) => unary(ctx, "TO_FLOAT", ops::to_float),
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
                catch: code.layout.dpc(Addr(t.0)).0,
                stack_len: ctx.stack.len() as u32,
                depth,
            });
            Ok(Control::Next)
        }
        Instr::Throw(_) => {
            let v = ctx.pop("THROW")?;
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
        Instr::Import(imp) => import(ctx, code, vm, imp.module, at, decoded_next),
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
        | Instr::ExitProcess(_) => procs::exec(ctx, code, vm, proc, instr, at),
    }
}

/// A library operation (`library::call`) at program address `at`; when the
/// next instruction stores the result back into the variable its first
/// operand came from, that variable's reference is dropped first, so the
/// operation can change the value in place (see [`release_for_store`]).
pub(super) fn library(ctx: &mut Context, vm: &Vm, at: u32, op: Opcode) -> OpResult {
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
    ctx.need(n, "SET_FIELD")?;
    let key = key_of(ctx, "SET_FIELD", name)?;
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
    ctx.need(n, "DELETE_FIELD")?;
    let key = key_of(ctx, "DELETE_FIELD", name)?;
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
    code: &Code,
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
            Ok(Control::Jump(code.layout.dpc(Addr(start))))
        }
    }
}
