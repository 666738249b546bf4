//! Lists, objects, strings (SPEC §3.7): MAKE_LIST, LEN, INDEX, APPEND,
//! SET_INDEX, the object operations and the conversions. An operation
//! that changes a container stored straight back into the variable it
//! came from changes it in place ([`release_for_store`]).

use super::release_for_store;
use super::{binary, push, unary};
use crate::bytecode::{Instr, Opcode};
use crate::exec::ops;
use crate::exec::{Context, Control, OpResult, Vm};
use ttvm_runtime::{Atom, Value};

#[inline]
pub(super) fn exec(
    ctx: &mut Context,
    vm: &Vm,
    instr: &Instr,
    at: u32,
    name: &str,
) -> OpResult<Control> {
    match instr {
        Instr::MakeList(n) => {
            let n = n.0 as usize;
            ctx.need(n, name)?;
            let from = ctx.stack.len() - n;
            // One allocation: the list's block, filled from the stack.
            let items: ttvm_runtime::value::List = ctx.stack.drain(from..).collect();
            push(ctx, Value::List(items))
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
        other => unreachable!("{} is not a data instruction", other.opcode().mnemonic()),
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
