//! Functions and closures (SPEC §3.6): CALL, CALL_FUNCTION (functions and
//! closures), RET, tail calls, the call-depth and frame-slot limits,
//! MAKE_FUNCTION, CAPTURE and MAKE_LAMBDA; HALT's frame handling and the
//! end of a module's run.

use super::{push, vars, Proc};
use crate::bytecode::Instr;
use crate::exec::vm::ModuleState;
use crate::exec::{error, Addr, Context, Control, Dpc, FrameKind, Layout, OpResult, Vm};
use std::sync::Arc;
use ttvm_runtime::{Closure, Value};

#[inline]
pub(super) fn exec(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    instr: &Instr,
    at: u32,
    decoded_next: u32,
) -> OpResult<Control> {
    match instr {
        Instr::Call(c) => {
            let p = c.proto.as_ref().expect("resolved");
            let tail = vm.program.tail_call(at);
            call(
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
        Instr::Ret(_) => Ok(ret(ctx, layout, vm, proc)),
        Instr::MakeFunction(c) => push(ctx, Value::Function(c.proto.clone().expect("resolved"))),
        Instr::Capture(v) => {
            let x = vars::load(ctx, v.slot, &v.name)?;
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
            let entry = call_function(ctx, vm, layout, at, tail, decoded_next)?;
            Ok(Control::Jump(Dpc(entry)))
        }
        other => unreachable!("{} is not a call instruction", other.opcode().mnemonic()),
    }
}

/// Enter a function: check the depth, make (or, for a tail call, replace)
/// the frame and bind the parameters from the stack.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn call(
    ctx: &mut Context,
    vm: &Vm,
    call_site: u32,
    target: u32,
    param_slots: &[u32],
    frame_size: u32,
    tail: bool,
    ret: u32,
) -> OpResult {
    let n = param_slots.len();
    if ctx.stack.len() < n {
        return error(format!(
            "stack underflow in {}",
            vm.program.code[call_site as usize].opcode().mnemonic()
        ));
    }
    // A call inside a TRY of this frame is not a tail call: the handler
    // must stay in force while the callee runs (as in Erlang).
    let depth = ctx.frames.len() as u32;
    let guarded = ctx.handlers.last().is_some_and(|h| h.depth == depth);
    let slot_limit = vm.config.max_frame_slots;
    if tail && depth > 1 && ctx.frame().kind == FrameKind::Call && !guarded {
        // The callee's slots replace the caller's.
        if ctx.frame().base as usize + frame_size as usize > slot_limit {
            return error("stack overflow");
        }
        let old = ctx.pop_frame();
        ctx.push_frame(
            old.ret,
            old.call_site,
            target,
            frame_size,
            FrameKind::Call,
            slot_limit,
        );
    } else {
        if ctx.frames.len() >= vm.config.max_call_depth
            || ctx.slots_exceeded(frame_size, slot_limit)
        {
            return error("stack overflow");
        }
        ctx.push_frame(
            ret,
            call_site,
            target,
            frame_size,
            FrameKind::Call,
            slot_limit,
        );
    }
    let base = ctx.frame().base as usize;
    let from = ctx.stack.len() - n;
    // The arguments move from the stack to their slots, without a `Drain`
    // and its bookkeeping.
    let slots = &mut ctx.locals[base..];
    // SAFETY: `from + n` is the stack's length; the stack forgets the
    // arguments before they are moved, so each is owned once (a panic
    // below would leak the rest, not drop them twice).
    unsafe {
        ctx.stack.set_len(from);
        let args = ctx.stack.as_ptr().add(from);
        for (i, &slot) in param_slots.iter().enumerate() {
            slots[slot as usize] = Some(args.add(i).read());
        }
    }
    Ok(())
}

/// CALL_FUNCTION: pop a Function or Closure and call it. Returns the
/// decoded entry address.
pub(crate) fn call_function(
    ctx: &mut Context,
    vm: &Vm,
    layout: &Layout,
    call_site: u32,
    tail: bool,
    ret: u32,
) -> OpResult<u32> {
    let f = ctx.pop(vm.program.code[call_site as usize].opcode().mnemonic())?;
    let (p, closure) = match &f {
        Value::Function(p) => (p, None),
        Value::Closure(c) => (&c.proto, Some(c)),
        other => {
            let msg = format!(
                "type error: CALL_FUNCTION needs a Function or Closure, got {}",
                other.type_name()
            );
            ctx.stack.push(f);
            return error(msg);
        }
    };
    if let Err(e) = call(
        ctx,
        vm,
        call_site,
        p.entry,
        &p.param_slots,
        p.frame_size,
        tail,
        ret,
    ) {
        ctx.stack.push(f.clone());
        return Err(e);
    }
    if let Some(c) = closure {
        let base = ctx.frame().base as usize;
        crate::exec::bind_captures(&mut ctx.locals[base..], c);
    }
    Ok(layout.dpc(Addr(p.entry)).0)
}

/// RET: leave the frame. From a process's bottom frame the process ends
/// (PID 1 raises `RET outside a function`); from a module's top level the
/// module's run ends.
pub(crate) fn ret(ctx: &mut Context, layout: &Layout, vm: &Vm, proc: &Proc<'_>) -> Control {
    match ctx.frame().kind {
        FrameKind::Root => {
            if proc.pid == 1 {
                Control::Raise(Value::error("RET outside a function"))
            } else {
                Control::Halted
            }
        }
        FrameKind::Module(_) => end_module(ctx, layout, vm),
        FrameKind::Call => {
            let f = ctx.pop_frame();
            Control::Jump(Dpc(f.ret))
        }
    }
}

/// HALT: end the process, or the module's run when in its top level.
pub(crate) fn halt(ctx: &mut Context, layout: &Layout, vm: &Vm) -> Control {
    match ctx.frame().kind {
        FrameKind::Module(_) => end_module(ctx, layout, vm),
        _ => Control::Halted,
    }
}

/// A module's run is over: record its exports and bind them in the
/// importer's frame.
fn end_module(ctx: &mut Context, _layout: &Layout, vm: &Vm) -> Control {
    let f = ctx.pop_frame();
    let FrameKind::Module(m) = f.kind else {
        unreachable!("end_module outside a module frame")
    };
    // The module ran in a frame of its own: what it left on the operand
    // stack goes with it.
    ctx.stack.truncate(f.stack_base as usize);
    let exports: std::sync::Arc<[_]> = ctx.exports.pop().map(|(_, v)| v).unwrap_or_default().into();
    vm.modules.lock().unwrap_or_else(|e| e.into_inner())[m as usize] =
        ModuleState::Done(exports.clone());
    bind_exports(ctx, vm, f.call_site, &exports);
    Control::Jump(Dpc(f.ret))
}

/// Put a module's exports into the current frame, by the IMPORT's binds.
pub(crate) fn bind_exports(ctx: &mut Context, vm: &Vm, import_pc: u32, exports: &[Option<Value>]) {
    let Instr::Import(imp) = &vm.program.code[import_pc as usize] else {
        return;
    };
    let base = ctx.frame().base as usize;
    // The binds are in the module's export order, like `exports`.
    for ((_, slot), value) in imp.binds.iter().zip(exports) {
        if let Some(value) = value {
            ctx.locals[base + *slot as usize] = Some(value.clone());
        }
    }
}
