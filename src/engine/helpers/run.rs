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
    let mut env = JitEnv {
        sp: std::ptr::null_mut(),
        len: 0,
        cap: 0,
        locals: std::ptr::null_mut(),
        budget: 0,
        pc: Dpc(0),
        frames: 0,
        target_fn: 0,
        target_block: 0,
        native_depth: 0,
        lbase: std::ptr::null_mut(),
        llen: 0,
        lcap: 0,
        fptr: std::ptr::null_mut(),
        fcap: 0,
        dlimit: 0,
        hdepth: 0,
        host: &mut host as *mut Host<'_, '_> as *mut std::ffi::c_void,
        lmax: vm.config.max_frame_slots,
        pid,
    };
    // SAFETY: `host.ctx` is `ctx`, which nothing else uses until the call
    // returns.
    sync_out(&mut env, unsafe { &mut *host.ctx });
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
