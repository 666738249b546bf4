//! Running a program: today one process (PID 1) on the interpreter, slice
//! by slice, exactly as the schedulers will drive it.

use super::RunResult;
use crate::bytecode::Program;
use crate::exec::vm::{Io, RunConfig};
use crate::exec::{Context, FrameKind, Vm};
use crate::interp::{self, Code, Outcome, Proc};
use std::sync::Arc;

/// Run `program` to its end.
pub fn run(program: Arc<Program>, config: RunConfig, io: Io) -> RunResult {
    let fuse = !(config.debug || config.trace);
    let code = Code::new(&program, fuse);
    let vm = Vm::new(program.clone(), config, io);
    let size = program.layout_at(0).names.len() as u32;
    let mut ctx = Context::new(code.entry[0], 0, size);
    let proc = Proc { pid: 1 };
    let mut hit_limit = false;
    let exit_code = loop {
        ctx.budget = vm.config.reductions;
        match interp::run_slice(&mut ctx, &code, &vm, &proc) {
            Outcome::Preempted | Outcome::Yielded => {
                if vm
                    .config
                    .reduction_limit
                    .is_some_and(|limit| ctx.reductions >= limit)
                {
                    hit_limit = true;
                    break crate::EXIT_ABNORMAL;
                }
            }
            Outcome::Halted => break 0,
            Outcome::Exit(n) => break n,
            Outcome::Crashed(e) => {
                vm.eprint(&crash_report(&vm, &code, &ctx, proc.pid, None, &e.message));
                break crate::EXIT_ABNORMAL;
            }
        }
    };
    vm.flush();
    if vm.config.stats {
        vm.eprint(&format!(
            "stats: processes spawned 1, peak live 1; reductions {}; time {:.3} ms\n",
            ctx.reductions,
            vm.started.elapsed().as_secs_f64() * 1e3
        ));
    }
    RunResult {
        exit_code,
        hit_reduction_limit: hit_limit,
    }
}

/// The report of a process that ended with an uncaught exception: reason,
/// where, the failing instruction, and the call stack (innermost first).
pub(crate) fn crash_report(
    vm: &Vm,
    code: &Code,
    ctx: &Context,
    pid: i64,
    name: Option<&str>,
    reason: &str,
) -> String {
    let p = &vm.program;
    let at = code.orig.get(ctx.pc as usize).copied().unwrap_or(0);
    let who = match name {
        Some(n) => format!("process {pid} ({n})"),
        None => format!("process {pid}"),
    };
    let mut out = format!("error: {who} crashed: {reason}\n");
    let instr = p.code.get(at as usize).map(|i| {
        let ops = i.operand_text(&**p);
        if ops.is_empty() {
            i.opcode().mnemonic().to_string()
        } else {
            format!("{} {ops}", i.opcode().mnemonic())
        }
    });
    out.push_str(&format!(
        "  at {}: {}\n",
        p.location(at),
        instr.unwrap_or_default()
    ));
    out.push_str("  call stack (innermost first):\n");
    let mut here = at;
    for f in ctx.frames.iter().rev().take(20) {
        let name = match f.kind {
            FrameKind::Root => "<top level>".to_string(),
            FrameKind::Module(m) => format!(
                "<module {}>",
                p.files[p.modules[m as usize].file as usize].name
            ),
            FrameKind::Call => p.function_name(f.entry),
        };
        out.push_str(&format!("    {name:<20} {}\n", p.location(here)));
        here = f.call_site;
    }
    if ctx.frames.len() > 20 {
        out.push_str(&format!("    … {} more frames\n", ctx.frames.len() - 20));
    }
    out
}
