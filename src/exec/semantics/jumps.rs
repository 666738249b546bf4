//! Control flow (SPEC §3.5): JMP (the op table's `jump` family), JZ and
//! JNZ (`branch`), and HALT (whose frame handling is [`calls::halt`]'s).

use super::calls;
use crate::bytecode::Instr;
use crate::exec::{Addr, Context, Control, Dpc, Layout, OpResult, Vm};

#[inline]
pub(super) fn exec(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    instr: &Instr,
    decoded_next: u32,
    name: &str,
) -> OpResult<Control> {
    match instr {
        Instr::Jmp(t) => Ok(Control::Jump(layout.dpc(Addr(t.0)))),
        Instr::Jz(t) => {
            let v = ctx.pop(name)?;
            Ok(if v.is_truthy() {
                Control::Jump(Dpc(decoded_next))
            } else {
                Control::Jump(layout.dpc(Addr(t.0)))
            })
        }
        Instr::Jnz(t) => {
            let v = ctx.pop(name)?;
            Ok(if v.is_truthy() {
                Control::Jump(layout.dpc(Addr(t.0)))
            } else {
                Control::Jump(Dpc(decoded_next))
            })
        }
        Instr::Halt(_) => Ok(calls::halt(ctx, layout, vm)),
        other => unreachable!("{} is not a jump", other.opcode().mnemonic()),
    }
}
