//! Arithmetic (SPEC §3.2): the binary operators (the op table's `arith`
//! and `arith_f` families), NEG and CONCAT (`grow`).

use super::{binary, push, unary};
use crate::bytecode::Instr;
use crate::exec::ops::{self, Arith};
use crate::exec::{Context, Control, OpResult};

#[inline]
pub(super) fn exec(ctx: &mut Context, instr: &Instr, name: &str) -> OpResult<Control> {
    match instr {
        Instr::Add(_)
        | Instr::Sub(_)
        | Instr::Mul(_)
        | Instr::Div(_)
        | Instr::Mod(_)
        | Instr::AddF(_)
        | Instr::SubF(_)
        | Instr::MulF(_)
        | Instr::DivF(_) => {
            let (op, float) = instr.arith().expect("an operator");
            arith(ctx, name, op, float)
        }
        Instr::Neg(_) => unary(ctx, name, ops::neg),
        Instr::Concat(_) => {
            let (a, b) = binary(ctx, name)?;
            let r = ops::concat(a, &b)?;
            push(ctx, r)
        }
        other => unreachable!(
            "{} is not an arithmetic instruction",
            other.opcode().mnemonic()
        ),
    }
}

/// A binary operator; on an error the operands stay on the stack.
fn arith(ctx: &mut Context, name: &str, op: Arith, float: bool) -> OpResult<Control> {
    let (a, b) = binary(ctx, name)?;
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
