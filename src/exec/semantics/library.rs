//! Library operations (the op table's `library` jit class: its Strings,
//! Numbers, Lists, "JSON, CSV, hashing, time" and "Host operations from
//! TinyTotVM" sections), run by `crate::library::call`.

use super::release_for_store;
use crate::bytecode::Opcode;
use crate::exec::{Context, OpResult, Vm};

/// A library operation (`library::call`) at program address `at`; when the
/// next instruction stores the result back into the variable its first
/// operand came from, that variable's reference is dropped first, so the
/// operation can change the value in place (see [`release_for_store`]).
pub(crate) fn library(ctx: &mut Context, vm: &Vm, at: u32, op: Opcode) -> OpResult {
    let n = op.info().pops as usize;
    let caps = crate::library::Caps {
        sandbox: vm.config.sandbox,
        console: Some(vm),
        net: None,
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
