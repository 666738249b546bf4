//! Comparison and logic (SPEC §3.3): the comparisons (the op table's
//! `cmp` and `cmp_f` families), NOT, AND and OR.

use super::{binary, push, unary};
use crate::bytecode::Instr;
use crate::exec::ops::{self, Cmp};
use crate::exec::{Context, Control, OpResult};
use ttvm_runtime::Value;

#[inline]
pub(super) fn exec(ctx: &mut Context, instr: &Instr, name: &str) -> OpResult<Control> {
    match instr {
        Instr::Eq(_)
        | Instr::Ne(_)
        | Instr::Gt(_)
        | Instr::Lt(_)
        | Instr::Ge(_)
        | Instr::Le(_)
        | Instr::EqF(_)
        | Instr::NeF(_)
        | Instr::GtF(_)
        | Instr::LtF(_)
        | Instr::GeF(_)
        | Instr::LeF(_) => {
            let (c, float) = instr.cmp().expect("a comparison");
            compare(ctx, name, c, float)
        }
        Instr::Not(_) => unary(ctx, name, |a| Ok(Value::Bool(!a.is_truthy()))),
        Instr::And(_) => {
            let (a, b) = binary(ctx, name)?;
            push(ctx, Value::Bool(a.is_truthy() && b.is_truthy()))
        }
        Instr::Or(_) => {
            let (a, b) = binary(ctx, name)?;
            push(ctx, Value::Bool(a.is_truthy() || b.is_truthy()))
        }
        other => unreachable!("{} is not a comparison", other.opcode().mnemonic()),
    }
}

/// A comparison; on an error the operands stay on the stack.
fn compare(ctx: &mut Context, name: &str, op: Cmp, float: bool) -> OpResult<Control> {
    let (a, b) = binary(ctx, name)?;
    let r = if float {
        ops::compare_f(op, &a, &b)
    } else {
        ops::compare(op, &a, &b)
    };
    match r {
        Ok(r) => push(ctx, Value::Int(r as i64)),
        Err(e) => {
            ctx.stack.push(a);
            ctx.stack.push(b);
            Err(e)
        }
    }
}
