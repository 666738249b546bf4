//! Stack and constants (SPEC §3.1): the constant pushes (the op table's
//! `konst` family), DUP, POP, SWAP and OVER (`shuffle`).

use super::push;
use crate::bytecode::Instr;
use crate::exec::{Context, Control, OpResult};

#[inline]
pub(super) fn exec(ctx: &mut Context, instr: &Instr, name: &str) -> OpResult<Control> {
    match instr {
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
        other => unreachable!("{} is not a stack instruction", other.opcode().mnemonic()),
    }
}
