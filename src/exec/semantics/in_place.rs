//! Updates in place: an operation whose result the next instruction
//! stores back into the variable its operand came from drops that
//! variable's reference first ([`release_for_store`]), and the fused
//! `LOAD x; <operand>; APPEND|CONCAT; STORE x` changes the variable's cell
//! ([`update_in_place`], shared by the interpreter's fused op and the
//! JIT's helper).

use crate::exec::{ops, Context, Vm};
use std::sync::Arc;
use ttvm_runtime::Value;

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
        Some(crate::bytecode::Instr::Store(x)) if !p.block_start[next] => Some(x.slot),
        _ => None,
    }
}

/// Whether `a` and `b` are the same container or string (one allocation).
fn same_heap(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::List(x), Value::List(y)) => ttvm_runtime::value::List::ptr_eq(x, y),
        (Value::Object(x), Value::Object(y)) => Arc::ptr_eq(x, y),
        (Value::Str(x), Value::Str(y)) => Arc::ptr_eq(x, y),
        _ => false,
    }
}

/// `x = x APPEND operand` / `x = x CONCAT operand` on the variable's cell,
/// in place when nothing else holds the value. `false` (cell unchanged)
/// when the fast path does not apply: run the instructions one by one.
#[inline]
pub(crate) fn update_in_place(cell: &mut Option<Value>, operand: Value, concat: bool) -> bool {
    if !concat {
        // APPEND: pushed onto the list where the variable holds it (copied
        // first when shared, as `ops::append`); the cell is not taken out
        // and written back.
        return match cell {
            Some(Value::List(l)) if l.len() < ops::MAX_LIST_LEN => {
                l.push(operand);
                true
            }
            _ => false,
        };
    }
    concat_in_place(cell, operand)
}

/// `x = x CONCAT operand` on the variable's cell (`update_in_place`).
#[inline(never)]
fn concat_in_place(cell: &mut Option<Value>, operand: Value) -> bool {
    match cell.take() {
        Some(v @ Value::Str(_)) if fits_concat(&v, &operand) => {
            *cell = Some(ops::concat(v, &operand).expect("checked to fit"));
            true
        }
        old => {
            *cell = old;
            false
        }
    }
}

/// Whether CONCAT of `a` and a small `b` surely stays under the string
/// limit (else the generic path raises the error).
fn fits_concat(a: &Value, b: &Value) -> bool {
    let extra = match b {
        Value::Str(t) => t.len(),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null => 64,
        _ => return false,
    };
    matches!(a, Value::Str(s) if s.len() + extra <= ops::MAX_STR_BYTES)
}
