//! Exceptions (SPEC §3.8): TRY, THROW, CATCH and END_TRY, and unwinding
//! an exception to its handler ([`unwind`], [`raise`]) for both tiers.

use crate::bytecode::{Instr, Owner};
use crate::exec::{Addr, Context, Control, Dpc, Handler, Layout, OpResult, Raise, Vm};
use ttvm_runtime::Value;

#[inline]
pub(super) fn exec(
    ctx: &mut Context,
    layout: &Layout,
    instr: &Instr,
    at: u32,
    name: &str,
) -> OpResult<Control> {
    match instr {
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
        other => unreachable!(
            "{} is not an exception instruction",
            other.opcode().mnemonic()
        ),
    }
}

/// Unwind to the innermost handler (see [`unwind`]): the catch block's
/// decoded address, or the exception when no handler is in force.
pub(crate) fn raise(ctx: &mut Context, e: Raise, vm: &Vm) -> Result<Dpc, Raise> {
    unwind(ctx, e, vm).map(Dpc)
}

/// Unwind to the innermost handler: cut frames and operand stack back to
/// where its TRY ran, push the exception, continue at the catch label.
/// Without a handler the context is left untouched and the exception
/// returned.
pub(crate) fn unwind(ctx: &mut Context, e: Raise, vm: &Vm) -> Result<u32, Raise> {
    let Some(h) = ctx.handlers.pop() else {
        return Err(e);
    };
    while ctx.frames.len() > h.depth as usize {
        let f = ctx.pop_frame();
        if let crate::exec::FrameKind::Module(m) = f.kind {
            // The module's run failed: it may run again on a later import.
            ctx.exports.pop();
            vm.modules.lock().unwrap_or_else(|p| p.into_inner())[m as usize] =
                crate::exec::vm::ModuleState::NotRun;
        }
    }
    ctx.stack.truncate(h.stack_len as usize);
    ctx.stack.push(Value::Exception(e));
    Ok(h.catch)
}
