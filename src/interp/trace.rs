//! `--debug` / `--trace`: each instruction as it executes, to stderr.

use super::{Code, Proc};
use crate::exec::{Context, Vm};

pub(super) fn step(ctx: &Context, code: &Code, vm: &Vm, proc: &Proc<'_>, pc: usize) {
    let at = code.orig[pc];
    let instr = &vm.program.code[at as usize];
    let mut text = instr.opcode().mnemonic().to_string();
    let operands = instr.operand_text(&*vm.program);
    if !operands.is_empty() {
        text.push(' ');
        text.push_str(&operands);
    }
    let line = if vm.config.debug {
        let shown: Vec<String> = ctx
            .stack
            .iter()
            .rev()
            .take(8)
            .rev()
            .map(|v| v.to_string())
            .collect();
        let more = if ctx.stack.len() > 8 { "…, " } else { "" };
        format!(
            "[pid {}] {:>5} {:<24} {:<28} stack: [{more}{}]\n",
            proc.pid,
            at,
            vm.program.location(at),
            text,
            shown.join(", ")
        )
    } else {
        format!(
            "[pid {}] {:>5} {:<24} {}\n",
            proc.pid,
            at,
            vm.program.location(at),
            text
        )
    };
    vm.eprint(&line);
}
