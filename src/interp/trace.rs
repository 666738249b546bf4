//! `--debug` / `--trace`: each instruction as it executes, to stderr.

use super::{Code, Proc};
use crate::exec::{Context, Dpc, Vm};

/// The most bytes of each stack value a `--debug` line shows (then `…`),
/// and of an instruction's operands in `--debug`/`--trace` lines: a line
/// per instruction with up to eight values stays readable, and a value
/// that shares itself into 2^40 elements costs no more than this.
pub(crate) const DEBUG_VALUE_BYTES: usize = 1024;

pub(super) fn step(ctx: &Context, code: &Code, vm: &Vm, proc: &Proc<'_>, pc: usize) {
    let at = code.layout.addr(Dpc(pc as u32)).0;
    let instr = &vm.program.code[at as usize];
    let mut text = instr.opcode().mnemonic().to_string();
    let operands = instr.operand_text(&*vm.program);
    if !operands.is_empty() {
        // A string literal can be as long as the program: cut like a value.
        let operands = ttvm_runtime::value::shown_text(&operands, DEBUG_VALUE_BYTES);
        text.push(' ');
        text.push_str(&operands.to_string());
    }
    let line = if vm.config.debug {
        let shown: Vec<String> = ctx
            .stack
            .iter()
            .rev()
            .take(8)
            .rev()
            .map(|v| v.shown(DEBUG_VALUE_BYTES).to_string())
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
