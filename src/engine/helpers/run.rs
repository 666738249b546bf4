//! The engine's side of running compiled code.

use super::*;

/// Run compiled code `f` from entry `block` until it leaves: the slice
/// ended (a slice end), or the state is in `ctx` for the engine to go on
/// at `ctx.pc` (`Continue`, or `Interpret` when the interpreter must run
/// that block first).
pub(in crate::engine) fn run_compiled(
    f: usize,
    block: u32,
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    jit: &Jit,
) -> Control {
    let budget0 = ctx.budget;
    let pid = proc.pid;
    let mut host = Host {
        ctx: ctx as *mut Context,
        layout,
        vm,
        proc: proc as *mut Proc<'_>,
        jit,
        outcome: None,
    };
    let mut env = host.published_env(pid);
    // One pointer for compiled code, whether it is passed or (direct
    // entries) read back from `ENV`.
    let envp: *mut JitEnv = &mut env;
    let prev = ENV.with(|e| e.replace(envp));
    let st = crate::jit::enter(f, envp, block);
    ENV.with(|e| e.set(prev));
    // SAFETY: as above; compiled code has returned.
    let ctx = unsafe { &mut *host.ctx };
    sync_in(&env, ctx);
    ctx.pc = env.pc;
    ctx.reductions += (budget0 - ctx.budget).max(0) as u64;
    match st {
        status::CONTINUE => Control::Continue,
        status::INTERPRET => Control::Interpret,
        status::PREEMPT => Control::Preempted,
        status::WAIT => Control::Waiting,
        _ => host.outcome.take().unwrap_or(Control::Halted),
    }
}
