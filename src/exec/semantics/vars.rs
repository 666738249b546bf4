//! Variables (SPEC §3.4): STORE, LOAD (the op table's `var` family),
//! DELETE and DUMP_SCOPE, and reading a variable for the other families
//! (CAPTURE, EXPORT).

use super::{host, push};
use crate::bytecode::Instr;
use crate::exec::{error, Context, Control, OpResult, Vm};
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
        Instr::Store(v) => {
            let x = ctx.pop(name)?;
            let base = ctx.frame().base as usize;
            ctx.locals[base + v.slot as usize] = Some(x);
            Ok(Control::Next)
        }
        Instr::Load(v) => {
            let x = if vm.program.moves_at(at) {
                move_out(ctx, v.slot, &v.name)?
            } else {
                load(ctx, v.slot, &v.name)?
            };
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
        other => unreachable!(
            "{} is not a variable instruction",
            other.opcode().mnemonic()
        ),
    }
}

/// The value of the current frame's variable in `slot` (called `name`).
pub(super) fn load(ctx: &Context, slot: u32, name: &Atom) -> OpResult<Value> {
    let base = ctx.frame().base as usize;
    match &ctx.locals[base + slot as usize] {
        Some(v) => Ok(v.clone()),
        None => error(format!("undefined variable: {name}")),
    }
}

/// A LOAD that is its variable's last use (`Program::moves`): a heap value
/// leaves the variable (which is then unset), so the stack holds it once
/// and an update changes it in place; an unboxed one is copied.
pub(crate) fn move_out(ctx: &mut Context, slot: u32, name: &Atom) -> OpResult<Value> {
    let base = ctx.frame().base as usize;
    match take_heap(&mut ctx.locals[base + slot as usize]) {
        Some(v) => Ok(v),
        None => error(format!("undefined variable: {name}")),
    }
}

/// The value of `cell`, taken out of it when it is a heap value (see
/// [`move_out`]); `None` when the cell is unset.
#[inline]
pub(crate) fn take_heap(cell: &mut Option<Value>) -> Option<Value> {
    match cell {
        Some(Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null) => cell.clone(),
        Some(_) => cell.take(),
        None => None,
    }
}
