//! Exceptions unwinding to their handler, and the fused in-place update
//! of a variable (`LOAD x; <operand>; APPEND|CONCAT; STORE x`), shared by
//! the interpreter's fused op and the JIT's helper.

use crate::exec::{ops, Context, Dpc, Raise, Vm};
use ttvm_runtime::Value;

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

/// `x = x APPEND operand` / `x = x CONCAT operand` on the variable's cell,
/// in place when nothing else holds the value. `false` (cell unchanged)
/// when the fast path does not apply: run the instructions one by one.
pub(crate) fn update_in_place(cell: &mut Option<Value>, operand: Value, concat: bool) -> bool {
    match (cell.take(), concat) {
        (Some(v @ Value::Str(_)), true) if fits_concat(&v, &operand) => {
            *cell = Some(ops::concat(v, &operand).expect("checked to fit"));
            true
        }
        (Some(v @ Value::List(_)), false) if matches!(&v, Value::List(l) if l.len() < ops::MAX_LIST_LEN) =>
        {
            *cell = Some(ops::append(v, operand).expect("a list under the limit"));
            true
        }
        (old, _) => {
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
