//! The dispatch loop's paths out of line (`run.rs`): the generic path,
//! unwinding, and the out-of-line halves of calls, returns, library
//! operations and the stack's growth.
//!
//! Each takes the context (whose stack the loop has written back,
//! `sync!`) and the decoded address of the op, and returns where the loop
//! goes on ([`Go`]'s `Ok`, a decoded address) or how the slice ends
//! (`Err`). The loop then reads its registers again from the context
//! (`resume!`, `regs!`), so none of the values it keeps in registers —
//! the op pointer, the stack and slot pointers, the frame's slot count —
//! is live across these calls: the register allocator need not keep them
//! in callee-saved registers or copy them around the calls
//! (docs/PERFORMANCE.md, "i15-disp").

use super::decode::CallSite;
use super::{Code, Proc};
use crate::bytecode::Opcode;
use crate::exec::semantics::{self, calls, unwind};
use crate::exec::{Context, Control, Dpc, Raise, Vm};
use ttvm_runtime::Value;

/// Where the loop goes on: `Ok(decoded address)`, or `Err` with how the
/// slice ends (the context holds the whole state then).
pub(super) type Go = Result<usize, Control>;

/// The current frame's first slot (the frame's slots are the last ones of
/// `ctx.locals`, `push_frame`).
#[inline(always)]
pub(super) fn frame_base(ctx: &Context) -> usize {
    ctx.frames.last().map_or(0, |f| f.base as usize)
}

/// Where an op's outcome leads (as the loop did inline before).
#[inline(always)]
fn go(ctx: &mut Context, vm: &Vm, flow: Control, pc: usize) -> Go {
    match flow {
        Control::Next => Ok(pc + 1),
        Control::Jump(to) => Ok(to.ix()),
        Control::Raise(e) => raise(ctx, vm, e, pc),
        out => Err(out),
    }
}

/// The instruction at decoded address `pc` with its complete semantics
/// (`exec::semantics`): every op's slow path and error.
#[cold]
#[inline(never)]
pub(super) fn generic(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    pc: usize,
) -> Go {
    ctx.pc = Dpc(pc as u32);
    let at = code.layout.addr(Dpc(pc as u32)).0;
    let flow = semantics::exec(ctx, &code.layout, vm, proc, at);
    go(ctx, vm, flow, pc)
}

/// Unwind to a handler from the op at `pc`: its decoded address, or the
/// crash when no handler catches `e`.
#[cold]
#[inline(never)]
pub(super) fn raise(ctx: &mut Context, vm: &Vm, e: Raise, pc: usize) -> Go {
    ctx.pc = Dpc(pc as u32);
    match unwind(ctx, e, vm) {
        Ok(to) => Ok(to as usize),
        Err(e) => Err(Control::Crashed(e)),
    }
}

/// A block's `Charge` found too little room for `n` more values: over the
/// stack limit it raises `stack overflow`, else the stack grows and the
/// loop goes on after the `Charge`.
#[cold]
#[inline(never)]
pub(super) fn room(ctx: &mut Context, vm: &Vm, n: usize, pc: usize) -> Go {
    if ctx.stack.len().saturating_add(n) > vm.config.max_stack {
        return raise(ctx, vm, Value::error("stack overflow"), pc);
    }
    ctx.stack.reserve(n);
    Ok(pc + 1)
}

/// `CALL` where the inline entry does not apply (`calls::call`).
#[inline(never)]
pub(super) fn call(ctx: &mut Context, vm: &Vm, site: &CallSite, pc: usize) -> Go {
    ctx.pc = Dpc(pc as u32);
    match calls::call(
        ctx,
        vm,
        site.at,
        site.target,
        &site.param_slots,
        site.frame_size,
        site.tail,
        site.ret,
    ) {
        Ok(()) => Ok(site.entry as usize),
        Err(e) => raise(ctx, vm, e, pc),
    }
}

/// `CALL_FUNCTION` (and `CallLocal`'s) where the inline entry does not
/// apply (`calls::call_function`).
#[inline(never)]
pub(super) fn call_function(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    (tail, at, ret): (bool, u32, u32),
    pc: usize,
) -> Go {
    ctx.pc = Dpc(pc as u32);
    match calls::call_function(ctx, vm, &code.layout, at, tail, ret) {
        Ok(entry) => Ok(entry as usize),
        Err(e) => raise(ctx, vm, e, pc),
    }
}

/// `RET` where the inline return does not apply (`calls::ret`).
#[inline(never)]
pub(super) fn ret(ctx: &mut Context, code: &Code, vm: &Vm, proc: &mut Proc<'_>, pc: usize) -> Go {
    ctx.pc = Dpc(pc as u32);
    let flow = calls::ret(ctx, &code.layout, vm, proc);
    go(ctx, vm, flow, pc)
}

/// A library operation (`semantics::library`).
#[inline(never)]
pub(super) fn library(ctx: &mut Context, code: &Code, vm: &Vm, op: Opcode, pc: usize) -> Go {
    ctx.pc = Dpc(pc as u32);
    let at = code.layout.addr(Dpc(pc as u32)).0;
    match semantics::library(ctx, vm, at, op) {
        Ok(()) => Ok(pc + 1),
        Err(e) => raise(ctx, vm, e, pc),
    }
}
